//! Benchmark of the connection core: stanzas per second through a logged-in
//! `Client` (bytes in -> typed events out), beside raw `xmlparser`
//! tokenization of the same bytes and the `StreamReader` alone, in the same
//! run, for the messages corpus and for plain chat messages; allocations
//! per stanza; the same with XEP-0198 stream management on (every stanza
//! counted); sending (`Client::send` to bytes) with stream management off
//! and on (every stanza kept until acknowledged); and the heap held by an
//! idle logged-in connection.
//!
//! `cargo bench -p xmpp-proto --bench client [-- --quick | --rounds N]
//! | --ratio | --profile-b messages|plain]`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use xmpp_proto::messages::Messages;
use xmpp_proto::presence::Presence;
use xmpp_proto::roster::Roster;
use xmpp_proto::sasl::{Credentials, SaslPolicy};
use xmpp_proto::stanza::{Jid, Message};
use xmpp_proto::testing::{pump, ScriptedServer};
use xmpp_proto::xml::{ReaderLimits, StreamEvent, StreamReader};
use xmpp_proto::{Client, Config, Event, Input, Mechanism, Output};

use xmpp_test_support::corpus;

struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
/// Whether the allocator counts. Off while a throughput round is timed: the
/// counters' atomic read-modify-writes (two or three per allocation) would
/// be charged to the allocating lines and not to (a), which allocates
/// nothing. Allocations are counted in a separate, untimed pass.
static COUNTING: AtomicBool = AtomicBool::new(true);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Which modules a benchmarked client has.
#[derive(Clone, Copy, PartialEq)]
enum Modules {
    /// None but the ping module every core has.
    None,
    /// The built-in roster and presence modules (as an IM client has them).
    RosterPresence,
    /// The messages module: every message decoded into `Event::ChatMessage`.
    Messages,
}

/// Logged in, with `modules` registered.
fn logged_in_with(now: Instant, modules: Modules) -> Client {
    logged_in(now, modules, false)
}

/// Logged in, with `modules` registered, and stream management on (`sm`).
fn logged_in(now: Instant, modules: Modules, sm: bool) -> Client {
    let config = Config::builder(
        "juliet@example.com".parse().expect("jid"),
        Credentials::Password("pencil".into()),
        [9; 32],
    )
    .sasl(SaslPolicy {
        allowed: vec![Mechanism::Plain],
        ..SaslPolicy::default()
    })
    .build();
    let mut client = Client::new(config, now);
    match modules {
        Modules::None => {}
        Modules::RosterPresence => {
            client.register(Roster::new()).expect("register");
            client.register(Presence::new()).expect("register");
        }
        Modules::Messages => client.register(Messages::new()).expect("register"),
    }
    let mut server = if sm {
        ScriptedServer::login_plain_with_sm("example.com", "juliet", "balcony")
    } else {
        ScriptedServer::login_plain("example.com", "juliet", "balcony")
    };
    let events = pump(&mut client, &mut server, now);
    assert!(events.iter().any(|e| matches!(e, Event::Online { .. })));
    assert_eq!(client.resumption_state().is_some(), sm);
    client
}

/// A corpus without its stream header, every `to` rewritten to our bound
/// JID (the client drops stanzas addressed to someone else).
fn stanzas((bytes, n): (Vec<u8>, usize)) -> (Vec<u8>, usize) {
    let body = &bytes[corpus::header_len()..];
    let text = String::from_utf8(body.to_vec()).expect("utf8");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(i) = rest.find(" to='") {
        out.push_str(&rest[..i]);
        out.push_str(" to='juliet@example.com/balcony'");
        let after = &rest[i + 5..];
        rest = &after[after.find('\'').map_or(after.len(), |j| j + 1)..];
    }
    out.push_str(rest);
    (out.into_bytes(), n)
}

/// A clock for one thread's work: the thread's CPU time where the system
/// has one (Linux), so that the time other processes on this shared 2-core
/// machine take from it does not count; elsewhere the wall clock.
#[derive(Clone, Copy)]
struct Clock(Duration);

impl Clock {
    fn now() -> Clock {
        Clock(thread_cpu_time().unwrap_or_else(|| {
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            START.get_or_init(Instant::now).elapsed()
        }))
    }

    fn elapsed(self) -> Duration {
        Clock::now().0.saturating_sub(self.0)
    }
}

#[cfg(target_os = "linux")]
fn thread_cpu_time() -> Option<Duration> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut t = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec (64-bit Linux layout) to write to.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    (rc == 0).then(|| Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = match args.iter().position(|a| a == "--rounds") {
        Some(i) => args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .expect("--rounds N"),
        None if quick => 1,
        None => 5,
    };
    // `--profile-b messages|plain`: only line (b) on that corpus, `rounds`
    // times, for a profiler (`perf record`) to see nothing else.
    if let Some(i) = args.iter().position(|a| a == "--profile-b") {
        let (bytes, n) = match args.get(i + 1).map(String::as_str) {
            Some("plain") => stanzas(corpus::plain_messages(100_000)),
            _ => stanzas(corpus::messages(100_000)),
        };
        let mut best = Duration::MAX;
        for _ in 0..rounds {
            best = best.min(through_client(&bytes, n, Modules::None, false).0);
        }
        println!(
            "(b): {:.1} MB/s",
            bytes.len() as f64 / 1e6 / best.as_secs_f64()
        );
        return;
    }
    // `--ratio`: only the interleaved (b)/(a) of each corpus.
    if args.iter().any(|a| a == "--ratio") {
        for (corpus_name, (bytes, n)) in [
            ("messages", stanzas(corpus::messages(100_000))),
            ("plain messages", stanzas(corpus::plain_messages(100_000))),
        ] {
            let (ia, ib) = interleaved(&bytes, n, 500, rounds);
            println!(
                "{corpus_name}: (b)/(a) interleaved, {rounds} rounds: {:.1}%",
                100.0 * ia.as_secs_f64() / ib.as_secs_f64()
            );
        }
        return;
    }
    for (corpus_name, (bytes, n)) in [
        ("messages", stanzas(corpus::messages(100_000))),
        ("plain messages", stanzas(corpus::plain_messages(100_000))),
    ] {
        let mb = bytes.len() as f64 / 1e6;
        let text = std::str::from_utf8(&bytes).expect("utf8");
        // (a) raw xmlparser over the same bytes (as a fragment: stanzas
        // only); (b) through a logged-in client, fed in 4 KiB reads, events
        // drained; (c) the same with the roster and presence modules
        // registered. The three take turns, so that each sees the same
        // machine (this VM's speed drifts by several percent over
        // minutes); each figure is the best of `rounds`. (r), the reader
        // alone in the same reads (trees built and dropped), is the floor
        // of (b): what is left is the typed stanza and its routing.
        let mut stream = corpus::header("0123456789abcdef").into_bytes();
        stream.extend_from_slice(&bytes);
        let (mut ta, mut tr, mut tb, mut tc, mut td) = (
            Duration::MAX,
            Duration::MAX,
            Duration::MAX,
            Duration::MAX,
            Duration::MAX,
        );
        let mut tokens = 0;
        let mut te = Duration::MAX;
        // (b)/(a) of each round, (a) and (b) timed moments apart: the
        // speed of this VM drifts over minutes, which a ratio of two
        // best-of figures taken at different moments does not cancel.
        let mut ratios: Vec<f64> = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Clock::now();
            tokens = 0;
            for token in xmlparser::Tokenizer::from_fragment(text, 0..text.len()) {
                black_box(token.expect("corpus tokenizes"));
                tokens += 1;
            }
            let a = t.elapsed();
            ta = ta.min(a);
            tr = tr.min(through_reader(&stream, n, false).0);
            let b = through_client(&bytes, n, Modules::None, false).0;
            tb = tb.min(b);
            ratios.push(100.0 * a.as_secs_f64() / b.as_secs_f64());
            tc = tc.min(through_client(&bytes, n, Modules::RosterPresence, false).0);
            td = td.min(through_client(&bytes, n, Modules::Messages, false).0);
            te = te.min(through_client_sm(&bytes, n, true, false).0);
        }
        // Allocations, in one more untimed pass of each.
        let allocs_r = through_reader(&stream, n, true).1;
        let allocs_b = through_client(&bytes, n, Modules::None, true).1;
        let allocs_c = through_client(&bytes, n, Modules::RosterPresence, true).1;
        let allocs_d = through_client(&bytes, n, Modules::Messages, true).1;
        let allocs_e = through_client_sm(&bytes, n, true, true).1;

        let (ia, ib) = interleaved(&bytes, n, 500, rounds);
        println!("connection throughput, {corpus_name} corpus ({n} stanzas, {mb:.1} MB, {tokens} tokens), best of {rounds}:");
        println!(
            "  (a) raw xmlparser tokenization     {:8.1} MB/s {:10.0} stanzas/s",
            mb / ta.as_secs_f64(),
            n as f64 / ta.as_secs_f64()
        );
        for (name, t, allocs) in [
            ("(r) StreamReader alone            ", tr, allocs_r),
            ("(b) logged-in Client -> Event     ", tb, allocs_b),
            ("(c) with roster + presence modules", tc, allocs_c),
            ("(d) with the messages module      ", td, allocs_d),
            ("(e) (b) with stream management on ", te, allocs_e),
        ] {
            println!(
                "  {name} {:8.1} MB/s {:10.0} stanzas/s  {:.2} allocations/stanza",
                mb / t.as_secs_f64(),
                n as f64 / t.as_secs_f64(),
                allocs as f64 / n as f64
            );
        }
        println!(
            "  (r)/(a) = {:.0}%   (b)/(a) = {:.0}% (target >= 40%)   (c)/(b) = {:.0}% (target >= 90%)",
            100.0 * ta.as_secs_f64() / tr.as_secs_f64(),
            100.0 * ta.as_secs_f64() / tb.as_secs_f64(),
            100.0 * tb.as_secs_f64() / tc.as_secs_f64()
        );
        println!(
            "  (b)/(a) interleaved in slices of 500 stanzas, all {rounds} rounds summed: {:.1}% ((a) {:.1} MB/s, (b) {:.1} MB/s)",
            100.0 * ia.as_secs_f64() / ib.as_secs_f64(),
            mb * rounds as f64 / ia.as_secs_f64(),
            mb * rounds as f64 / ib.as_secs_f64()
        );
        ratios.sort_by(f64::total_cmp);
        println!(
            "  (b)/(a) per round: min {:.1}%, median {:.1}%, max {:.1}%",
            ratios[0],
            ratios[ratios.len() / 2],
            ratios[ratios.len() - 1]
        );
    }

    // Sending: Client::send to transmitted bytes, stream management off
    // and on (each stanza kept until the server's ack, an <r/> every 5,
    // the server's <a/> fed back every 100 messages).
    let sends = 100_000;
    let (mut off, mut on) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        off = off.min(sending(sends, false, false).0);
        on = on.min(sending(sends, true, false).0);
    }
    let allocs_off = sending(sends, false, true).1;
    let allocs_on = sending(sends, true, true).1;
    println!("sending {sends} chat messages (Client::send -> Transmit), best of {rounds}:");
    for (name, t, allocs) in [
        ("stream management off", off, allocs_off),
        ("stream management on ", on, allocs_on),
    ] {
        println!(
            "  {name} {:10.0} messages/s  {:.2} allocations/message",
            sends as f64 / t.as_secs_f64(),
            allocs as f64 / sends as f64
        );
    }
    println!(
        "  on/off = {:.0}%",
        100.0 * off.as_secs_f64() / on.as_secs_f64()
    );

    // Heap of an idle logged-in connection: everything else is dropped.
    for modules in [false, true] {
        let base = LIVE.load(Ordering::Relaxed);
        let which = if modules {
            Modules::RosterPresence
        } else {
            Modules::None
        };
        let client = logged_in_with(Instant::now(), which);
        let held = LIVE.load(Ordering::Relaxed) - base;
        black_box(&client);
        println!(
            "idle logged-in Client{}: {} bytes on the heap (+ {} bytes inline); target < 16384",
            if modules {
                " with roster + presence (empty)"
            } else {
                ""
            },
            held,
            std::mem::size_of::<Client>()
        );
        assert!(held < 16 * 1024, "idle connection holds {held} bytes");
    }
}

/// The time for a `StreamReader` alone to read `stream` (header and
/// stanzas) in 4 KiB reads, dropping each element, and its allocations.
fn through_reader(stream: &[u8], n: usize, count: bool) -> (Duration, u64) {
    let mut reader = StreamReader::new(ReaderLimits::default());
    COUNTING.store(count, Ordering::Relaxed);
    let before = ALLOCS.load(Ordering::Relaxed);
    let t = Clock::now();
    let mut elements = 0;
    for chunk in stream.chunks(4096) {
        reader.feed(chunk);
        while let Some(event) = reader.next_event() {
            if let StreamEvent::Element(e) = event.expect("corpus parses") {
                black_box(&e);
                elements += 1;
            }
        }
    }
    let elapsed = t.elapsed();
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    COUNTING.store(true, Ordering::Relaxed);
    assert_eq!(elements, n, "every stanza is read");
    (elapsed, allocs)
}

/// The time to push `bytes` through a freshly logged-in client (the login
/// is not timed), and the allocations it took.
fn through_client(bytes: &[u8], n: usize, modules: Modules, count: bool) -> (Duration, u64) {
    let now = Instant::now();
    let mut client = logged_in_with(now, modules);
    COUNTING.store(count, Ordering::Relaxed);
    let before = ALLOCS.load(Ordering::Relaxed);
    let t = Clock::now();
    let messages = feed_and_drain(&mut client, now, bytes);
    let elapsed = t.elapsed();
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    COUNTING.store(true, Ordering::Relaxed);
    assert_eq!(messages, n, "every message reaches the application");
    (elapsed, allocs)
}

/// As [`through_client`] without modules, on a session whose server
/// enabled stream management (`sm`): every stanza received is counted.
fn through_client_sm(bytes: &[u8], n: usize, sm: bool, count: bool) -> (Duration, u64) {
    let now = Instant::now();
    let mut client = logged_in(now, Modules::None, sm);
    COUNTING.store(count, Ordering::Relaxed);
    let before = ALLOCS.load(Ordering::Relaxed);
    let t = Clock::now();
    let messages = feed_and_drain(&mut client, now, bytes);
    let elapsed = t.elapsed();
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    COUNTING.store(true, Ordering::Relaxed);
    assert_eq!(messages, n, "every message reaches the application");
    (elapsed, allocs)
}

/// The time to send `n` chat messages and drain their bytes, with stream
/// management on or off, and the allocations it took.
fn sending(n: usize, sm: bool, count: bool) -> (Duration, u64) {
    let now = Instant::now();
    let mut client = logged_in(now, Modules::None, sm);
    let to: Jid = "romeo@example.net".parse().expect("jid");
    let message = Message::chat(to, "Wherefore art thou, Romeo?");
    COUNTING.store(count, Ordering::Relaxed);
    let before = ALLOCS.load(Ordering::Relaxed);
    let t = Clock::now();
    let mut written = 0;
    for i in 1..=n {
        client.send(now, message.clone()).expect("sent");
        if sm && i % 100 == 0 {
            let ack = format!("<a xmlns='urn:xmpp:sm:3' h='{i}'/>");
            client.handle_input(Input::Received(now, ack.as_bytes()));
        }
        loop {
            match client.poll_output() {
                Output::Transmit(t) => written += t.bytes.len(),
                Output::Event(Event::Disconnected { reason }) => panic!("{reason}"),
                Output::Timeout(_) => break,
                other => {
                    black_box(other);
                }
            }
        }
    }
    let elapsed = t.elapsed();
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    COUNTING.store(true, Ordering::Relaxed);
    black_box(written);
    if sm {
        assert_eq!(client.resumption_state().map(|s| s.acked()), Some(n as u32));
    }
    (elapsed, allocs)
}

/// Where each top-level stanza of `bytes` starts (a corpus of messages,
/// whitespace between some of them; an inner, forwarded message is
/// preceded by its wrapper's tag, not by `</message>`).
fn stanza_starts(bytes: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    let end_tag = b"</message>";
    let mut i = 0;
    while let Some(k) = memchr::memmem::find(&bytes[i..], end_tag) {
        let mut j = i + k + end_tag.len();
        while bytes.get(j) == Some(&b' ') {
            j += 1;
        }
        if bytes[j..].starts_with(b"<message") {
            starts.push(j);
        }
        i = j;
    }
    starts
}

/// (a) and (b) timed in turns over the same slices of `slice` stanzas, the
/// sums over `rounds` rounds: a drift of this VM's speed (it moves by 2x
/// over minutes on a busy host) touches both alike, which best-of figures
/// timed seconds apart do not guarantee. Each round logs in a new client
/// (untimed) and feeds it every slice in 4 KiB reads.
fn interleaved(bytes: &[u8], n: usize, slice: usize, rounds: usize) -> (Duration, Duration) {
    let text = std::str::from_utf8(bytes).expect("utf8");
    let starts = stanza_starts(bytes);
    assert_eq!(starts.len(), n, "one start per stanza");
    let mut bounds: Vec<usize> = starts.iter().step_by(slice).copied().collect();
    bounds.push(bytes.len());
    let (mut ta, mut tb) = (Duration::ZERO, Duration::ZERO);
    COUNTING.store(false, Ordering::Relaxed);
    for _ in 0..rounds {
        let now = Instant::now();
        let mut client = logged_in_with(now, Modules::None);
        let mut messages = 0;
        for w in bounds.windows(2) {
            let t = Clock::now();
            for token in xmlparser::Tokenizer::from_fragment(text, w[0]..w[1]) {
                black_box(token.expect("corpus tokenizes"));
            }
            ta += t.elapsed();
            let t = Clock::now();
            messages += feed_and_drain(&mut client, now, &bytes[w[0]..w[1]]);
            tb += t.elapsed();
        }
        assert_eq!(messages, n, "every message reaches the application");
    }
    COUNTING.store(true, Ordering::Relaxed);
    (ta, tb)
}

/// Feeds `bytes` to `client` in 4 KiB reads, draining its output after
/// each; returns the messages delivered (`Event::Message`, or
/// `Event::ChatMessage` with the messages module).
fn feed_and_drain(client: &mut Client, now: Instant, bytes: &[u8]) -> usize {
    let mut messages = 0;
    for chunk in bytes.chunks(4096) {
        client.handle_input(Input::Received(now, chunk));
        loop {
            match client.poll_output() {
                Output::Event(Event::Message(m)) => {
                    black_box(&m);
                    messages += 1;
                }
                // With the messages module; a carbon copy in the corpus
                // (its wrapper not from our account) stays Event::Message.
                Output::Event(Event::ChatMessage(m)) => {
                    black_box(&m);
                    messages += 1;
                }
                Output::Event(Event::Disconnected { reason }) => panic!("{reason}"),
                Output::Timeout(_) => break,
                other => {
                    black_box(other);
                }
            }
        }
    }
    messages
}

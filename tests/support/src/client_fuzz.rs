//! Fuzz checks for the client connection, shared by the fuzz targets
//! (`fuzz/fuzz_targets/{negotiation,online}.rs`) and the corpus replay test
//! (`xmpp-proto/tests/client_fuzz_corpus.rs`).
//!
//! Invariants, for any server bytes:
//! - nothing panics;
//! - `Disconnected` is emitted at most once, and nothing follows it;
//! - with TLS required, no `<auth` leaves the client before the driver
//!   reported TLS up (no credential in plaintext);
//! - once online, the outcome (events and client bytes) is the same whether
//!   the server bytes arrive whole or split into chunks. During negotiation
//!   it may not be: bytes that share a read with `<proceed/>` or
//!   `<success/>` are discarded by design (STARTTLS injection defence).
//!
//! Negotiation inputs are split into reads at NUL bytes (NUL is never valid
//! XML, so this loses nothing): each piece is one read of the transport.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use xmpp_proto::sasl::Credentials;
use xmpp_proto::testing::{pump, ScriptedServer};
use xmpp_proto::{Client, Config, Event, Input, Mechanism, Output};

fn config() -> Config {
    Config::builder(
        "juliet@example.com".parse().expect("jid"),
        Credentials::Password("pencil".into()),
        [3; 32],
    )
    .build()
}

/// Everything one run produced.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct Run {
    /// Events, rendered with `Debug`.
    pub events: Vec<String>,
    /// Bytes the client wrote.
    pub sent: Vec<u8>,
}

/// Drains the client; answers StartTls at once (as a driver would after a
/// successful handshake) and checks the invariants as it goes.
fn drain(client: &mut Client, now: Instant, run: &mut Run, tls_up: &mut bool) {
    for _ in 0..10_000 {
        match client.poll_output() {
            Output::Transmit(t) => {
                let text = String::from_utf8_lossy(&t.bytes);
                assert!(
                    *tls_up || !text.contains("<auth"),
                    "credentials offered before TLS: {text}"
                );
                run.sent.extend_from_slice(&t.bytes);
            }
            Output::StartTls { .. } => {
                *tls_up = true;
                client.handle_input(Input::TlsEstablished(now, None));
            }
            Output::Event(e) => {
                let done = run.events.iter().any(|x| x.starts_with("Disconnected"));
                assert!(!done, "event after Disconnected: {e:?}");
                run.events.push(format!("{e:?}"));
            }
            // Checked through the events: nothing follows `Disconnected`.
            Output::CloseTransport => {}
            // The fuzzed configuration has no reconnect policy.
            Output::Connect => panic!("a new transport asked for without a reconnect policy"),
            Output::Timeout(_) => return,
        }
    }
    panic!("the client produced output endlessly");
}

/// Feeds `data` as the server's bytes from the first byte of negotiation:
/// one read per NUL-separated piece, each piece further split at `cuts`
/// (cycled; empty = whole).
pub fn negotiation_run(data: &[u8], cuts: &[usize]) -> Run {
    let now = Instant::now();
    let mut client = Client::new(config(), now);
    let mut run = Run::default();
    let mut tls_up = false;
    drain(&mut client, now, &mut run, &mut tls_up);
    for read in data.split(|b| *b == 0) {
        feed(&mut client, read, cuts, now, &mut run, &mut tls_up);
    }
    client.handle_input(Input::Timeout(now + Duration::from_secs(3600)));
    drain(&mut client, now, &mut run, &mut tls_up);
    run
}

fn feed(
    client: &mut Client,
    data: &[u8],
    cuts: &[usize],
    now: Instant,
    run: &mut Run,
    tls_up: &mut bool,
) {
    let mut i = 0;
    let mut k = 0;
    while i < data.len() {
        let n = if cuts.is_empty() {
            data.len()
        } else {
            cuts[k % cuts.len()].max(1)
        };
        k += 1;
        let end = (i + n).min(data.len());
        client.handle_input(Input::Received(now, &data[i..end]));
        drain(client, now, run, tls_up);
        i = end;
    }
}

/// A client logged in over a scripted STARTTLS + PLAIN login, with the
/// built-in modules registered (so hostile bytes reach them too) and
/// XEP-0198 stream management enabled.
fn online_client(now: Instant) -> Client {
    let cfg = Config {
        sasl: xmpp_proto::sasl::SaslPolicy {
            allowed: vec![Mechanism::Plain],
            ..Default::default()
        },
        ..config()
    };
    let mut client = Client::new(cfg, now);
    let registered = [
        client.register(xmpp_proto::roster::Roster::new()),
        client.register(xmpp_proto::presence::Presence::new()),
        client.register(xmpp_proto::vcard::VCards::new()),
        client.register(xmpp_proto::avatar::Avatars::new()),
        client.register(xmpp_proto::bookmarks::Bookmarks::new()),
        client.register(xmpp_proto::messages::Carbons::new()),
        client.register(xmpp_proto::messages::Messages::new()),
        client.register(xmpp_proto::blocking::Blocking::new()),
        client.register(xmpp_proto::version::Version::new("fuzz", "0")),
        client.register(xmpp_proto::disco::Disco::new()),
        client.register(xmpp_proto::disco::Caps::new("urn:example:fuzz")),
        // With catch-up on: its queries, pages and follow-up meet hostile bytes.
        client.register(xmpp_proto::mam::Mam::new().catch_up(Some("a0".into()))),
        client.register(xmpp_proto::muc::Muc::new()),
    ];
    assert!(registered.iter().all(Result::is_ok), "{registered:?}");
    // Stream management on: hostile bytes meet the counters and the queue.
    let mut server = ScriptedServer::login_plain_with_sm("example.com", "juliet", "balcony");
    let events = pump(&mut client, &mut server, now);
    assert!(events.iter().any(|e| matches!(e, Event::Online { .. })));
    assert!(client.resumption_state().is_some(), "stream management on");
    client
}

/// Feeds `data` to a logged-in session, split at `cuts`.
pub fn online_run(data: &[u8], cuts: &[usize]) -> Run {
    let now = Instant::now();
    let mut client = online_client(now);
    let mut run = Run::default();
    let mut tls_up = true;
    feed(&mut client, data, cuts, now, &mut run, &mut tls_up);
    client.handle_input(Input::Timeout(now + Duration::from_secs(3600)));
    drain(&mut client, now, &mut run, &mut tls_up);
    run
}

/// Negotiation: the invariants hold for every chunking (checked inside
/// the runs).
pub fn check_negotiation(data: &[u8]) {
    for cuts in [&[][..], &[1usize], &[7], &[3, 11, 64]] {
        negotiation_run(data, cuts);
    }
}

/// Online: the invariants, and the same session for every chunking.
pub fn check_online(data: &[u8]) {
    let whole = online_run(data, &[]);
    for cuts in [&[1usize][..], &[7], &[3, 11, 64]] {
        let split = online_run(data, cuts);
        assert_eq!(whole, split, "chunking {cuts:?} changed the session");
    }
}

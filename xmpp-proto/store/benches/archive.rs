//! Benchmark of archive pages parsed and stored: XEP-0313 result pages of
//! 50 messages each, fed as bytes to a logged-in core `Client` with the
//! archive and messages modules (the query sent first, so its results are
//! accepted), the events applied to a file-backed store in a temporary
//! directory. In the same run, as baseline: the pages parsed only; then
//! parsed and stored with one transaction per page (`apply_all`), with one
//! transaction per event (`apply`), and in memory.
//!
//! `cargo bench -p xmpp-store --bench archive [-- --quick | --rounds N | --pages N]`

use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

use common::{account, fin, result, Session};
use xmpp_proto::Event;
use xmpp_store::{Applied, Store};

const PER_PAGE: usize = 50;

/// How the events of a page are handled.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Dropped: the cost of parsing alone.
    ParseOnly,
    /// One `apply_all` (one transaction) per page, file-backed.
    PerPage,
    /// One `apply` (one transaction) per event, file-backed.
    PerEvent,
    /// One `apply_all` per page, in memory.
    Memory,
}

/// The bytes of page `p` of query (`id`, `query_id`): 50 archived chat
/// messages, then the query's end.
fn page_bytes(p: usize, id: &str, query_id: &str) -> Vec<u8> {
    let mut s = String::with_capacity(PER_PAGE * 700);
    for i in 0..PER_PAGE {
        let n = p * PER_PAGE + i;
        let (from, to) = if n.is_multiple_of(3) {
            ("juliet@example.com/balcony", "romeo@montague.lit/orchard")
        } else {
            ("romeo@montague.lit/orchard", "juliet@example.com/balcony")
        };
        let inner = format!(
            "<message xmlns='jabber:client' from='{from}' to='{to}' type='chat' id='msg-{n}'>\
             <body>Message {n}: but soft, what light through yonder window breaks?</body>\
             <origin-id xmlns='urn:xmpp:sid:0' id='origin-{n}'/>\
             <active xmlns='http://jabber.org/protocol/chatstates'/></message>"
        );
        s.push_str(&result(
            query_id,
            &format!("arch-{n}"),
            n as u32,
            &inner,
            None,
        ));
    }
    let first = format!("arch-{}", p * PER_PAGE);
    let last = format!("arch-{}", p * PER_PAGE + PER_PAGE - 1);
    s.push_str(&fin(id, &first, &last, false, None));
    s.into_bytes()
}

/// Parses `pages` pages and handles their events per `mode`; returns the
/// time of parsing and storing (query and byte building excluded), and
/// the store's file size afterwards.
fn run(pages: usize, mode: Mode) -> (Duration, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.db");
    let mut store = match mode {
        Mode::Memory | Mode::ParseOnly => Store::in_memory().expect("store"),
        Mode::PerPage | Mode::PerEvent => Store::open(&path).expect("store"),
    };
    let me = account();
    let mut session = Session::online();
    let mut total = Duration::ZERO;
    let mut stored = 0;
    for p in 0..pages {
        let q = session.query(None);
        let bytes = page_bytes(p, &q.id, &q.query_id);
        let t = Instant::now();
        let events: Vec<Event> = session.feed(&bytes);
        match mode {
            Mode::ParseOnly => {
                black_box(&events);
            }
            Mode::PerPage | Mode::Memory => {
                let applied = store.apply_all(&me, &events).expect("apply");
                stored += applied.iter().filter(|a| **a == Applied::Stored).count();
            }
            Mode::PerEvent => {
                for e in &events {
                    if store.apply(&me, e).expect("apply") == Applied::Stored {
                        stored += 1;
                    }
                }
            }
        }
        total += t.elapsed();
        assert!(events.len() > PER_PAGE, "every result and the end arrived");
    }
    if mode != Mode::ParseOnly {
        assert_eq!(stored, pages * PER_PAGE, "every message stored once");
    }
    drop(store);
    let size = ["", "-wal"]
        .iter()
        .map(|s| {
            let mut p = path.as_os_str().to_owned();
            p.push(s);
            std::fs::metadata(p).map_or(0, |m| m.len())
        })
        .sum();
    (total, size)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let number = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .map(|i| args.get(i + 1).and_then(|n| n.parse().ok()).expect(flag))
    };
    let rounds = number("--rounds").unwrap_or(if quick { 1 } else { 5 });
    let pages = number("--pages").unwrap_or(if quick { 20 } else { 200 });
    let modes = [
        (
            Mode::ParseOnly,
            "(a) parsed only (Client -> events)            ",
        ),
        (
            Mode::PerPage,
            "(b) parsed + stored, file, 1 transaction/page",
        ),
        (
            Mode::PerEvent,
            "(c) parsed + stored, file, 1 transaction/event",
        ),
        (
            Mode::Memory,
            "(d) parsed + stored, in memory, 1 tx/page    ",
        ),
    ];
    let mut best = [Duration::MAX; 4];
    let mut size = 0;
    // The modes take turns, so that each sees the same machine; each
    // figure is the best of `rounds`.
    for _ in 0..rounds {
        for (i, (mode, _)) in modes.iter().enumerate() {
            let (t, s) = run(pages, *mode);
            best[i] = best[i].min(t);
            if *mode == Mode::PerPage {
                size = s;
            }
        }
    }
    let messages = pages * PER_PAGE;
    println!(
        "archive pages parsed and stored: {pages} pages of {PER_PAGE} results \
         ({messages} messages), best of {rounds} (wall clock):"
    );
    for (i, (_, name)) in modes.iter().enumerate() {
        let secs = best[i].as_secs_f64();
        println!(
            "  {name} {:8.0} pages/s {:9.0} messages/s {:7.1} µs/page",
            pages as f64 / secs,
            messages as f64 / secs,
            1e6 * secs / pages as f64
        );
    }
    let store_page = best[1].saturating_sub(best[0]).as_secs_f64();
    let store_event = best[2].saturating_sub(best[0]).as_secs_f64();
    println!(
        "  storing alone: {:.1} µs/page with one transaction per page, {:.1} µs/page with one per event",
        1e6 * store_page / pages as f64,
        1e6 * store_event / pages as f64
    );
    println!(
        "  file after (b): {size} bytes with its WAL ({:.0} bytes/message)",
        size as f64 / messages as f64
    );
}

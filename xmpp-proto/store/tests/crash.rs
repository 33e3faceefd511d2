//! Crash safety: a writer process is killed (SIGKILL on Unix) at several
//! points while it commits batches without pause; after each kill the
//! file opens cleanly, passes `PRAGMA integrity_check`, and holds every
//! batch the writer reported committed, each batch wholly or not at all.
//!
//! The writer is this test binary itself, started again on its ignored
//! `writer` test with the store's path in an environment variable. Each
//! batch is one `apply_all`: 20 live messages and a roster push whose
//! version is the batch number, so a batch spans three tables.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{account, live, Session};
use xmpp_proto::roster::{RosterChange, RosterEvent, RosterItem};
use xmpp_proto::Event;
use xmpp_store::{Applied, ArchiveQuery, Store};

const WRITER_ENV: &str = "XMPP_STORE_CRASH_WRITER";
const BATCH: usize = 20;
/// The writer stops by itself after this many batches (it is killed long
/// before).
const MAX_BATCHES: u32 = 100_000;

#[test]
#[ignore = "the writer process of killing_a_writer_leaves_whole_batches; started by it"]
fn writer() {
    let Some(path) = std::env::var_os(WRITER_ENV) else {
        return;
    };
    let mut store = Store::open(path).expect("open");
    let me = account();
    let start = store
        .load(&me)
        .expect("load")
        .roster_ver
        .map_or(0, |v| v.parse::<u32>().expect("a batch number") + 1);
    let mut session = Session::online();
    for batch in start..start + MAX_BATCHES {
        let mut bytes = String::new();
        for i in 0..BATCH {
            let id = format!("b{batch}-{i}");
            bytes.push_str(&live("romeo@montague.lit/orchard", &id, "a line", None));
        }
        let mut events = session.feed(bytes.as_bytes());
        let contact = format!("c{batch}@example.net").parse().expect("jid");
        events.push(Event::Roster(RosterEvent::Changed {
            change: RosterChange::Set(RosterItem::new(contact)),
            ver: Some(batch.to_string()),
        }));
        let applied = store.apply_all(&me, &events).expect("apply");
        assert_eq!(applied, [Applied::Stored; BATCH + 1]);
        println!("committed {batch}");
    }
}

/// Kills the writer when dropped, so that a failing test leaves no process.
struct Writer(Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn killing_a_writer_leaves_whole_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.db");
    let exe = std::env::current_exe().expect("this test binary");
    let me = account();
    let mut reported: Option<u32> = None;
    // 0: killed as soon as it starts (opening, creating the schema).
    for kill_after in [0, 1, 3, 10, 25] {
        let child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "writer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(WRITER_ENV, &path)
            .stdout(Stdio::piped())
            // A writer that fails says why on the test's stderr.
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the writer");
        let mut writer = Writer(child);
        let out = writer.0.stdout.take().expect("piped");
        let mut seen = 0;
        if kill_after > 0 {
            for line in BufReader::new(out).lines() {
                let line = line.expect("read the writer");
                if let Some(n) = line.strip_prefix("committed ") {
                    reported = Some(n.parse().expect("a batch number"));
                    seen += 1;
                    if seen == kill_after {
                        break;
                    }
                }
            }
            assert_eq!(seen, kill_after, "the writer stopped by itself");
        }
        // SIGKILL, wherever the writer is (most likely inside a batch).
        drop(writer);

        let store = Store::open(&path).expect("a killed writer's store opens");
        assert!(store.integrity_check().expect("check"), "integrity_check");
        let stored = store.load(&me).expect("load");
        let last: Option<u32> = stored
            .roster_ver
            .map(|v| v.parse().expect("a batch number"));
        assert!(
            last >= reported,
            "committed batch {reported:?} lost ({last:?} stored)"
        );
        let batches = last.map_or(0, |l| l as usize + 1);
        // The roster push of each batch, and its 20 messages: whole batches.
        assert_eq!(stored.roster.len(), batches);
        assert_eq!(store.archive_len(&me).expect("len"), batches * BATCH);
        let page = store
            .archive_page(&me, &ArchiveQuery::earliest(batches * BATCH + 1))
            .expect("page");
        assert!(page.complete);
        // As sets: live messages are ordered by the wall clock, which may
        // step back between two writers.
        let mut expected: Vec<String> = (0..batches)
            .flat_map(|b| (0..BATCH).map(move |i| format!("b{b}-{i}")))
            .collect();
        let mut ids: Vec<String> = page.messages.into_iter().map(|m| m.stanza_id).collect();
        expected.sort();
        ids.sort();
        assert_eq!(ids, expected);
    }
    assert!(
        reported >= Some(38),
        "the writer ran through the rounds: {reported:?}"
    );
}

//! `--store` against the real server, through both CLIs: a second run with
//! the same store file sends the stored roster version (the server answers
//! "unchanged" and the roster printed is the stored one), logs in with the
//! stored salted key (proved by a wrong password beside it), and catches up
//! from the stored cursor: every message that came while it was away is
//! printed exactly once (the server also delivers them from offline
//! storage), nothing from before the cursor again. The file is owner-only.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::cli::{Cli, Driver, Server};
use super::each_driver;

const T: Duration = Duration::from_secs(20);

fn start(d: &Driver, s: &Server, password: &str, db: &str) -> Cli {
    let mut c = Cli::start(
        d,
        s,
        "alice",
        password,
        &["--ca-file", &s.ca, "--store", db],
    );
    c.online();
    c.send(json!({"cmd": "presence", "tag": "p"}));
    c.expect("presence result", T, |v| {
        v["event"] == "result" && v["tag"] == "p"
    });
    c
}

fn roster(c: &mut Cli) -> Value {
    c.send(json!({"cmd": "roster", "tag": "r"}));
    let roster = c.expect("roster", T, |v| v["event"] == "roster");
    c.expect("roster result", T, |v| {
        v["event"] == "result" && v["tag"] == "r"
    });
    roster
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_second_run_with_the_store_reuses_roster_keys_and_cursor() {
    each_driver(|d, s| {
        let dir =
            std::env::temp_dir().join(format!("xmpp-store-{}-{}", d.name, std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let db = dir.join("alice.db");
        let db = db.to_str().expect("utf-8 path");
        let alice_bare = format!("alice@{}", s.domain);
        let tag = format!("{}-{}", d.name, std::process::id());

        // First run: a versioned roster, a message live (the cursor).
        let mut first = start(d, s, "alice-pass", db);
        first.send(
            json!({"cmd": "roster-set", "jid": format!("store-{tag}@{}", s.domain),
                          "name": "Stored", "tag": "rs"}),
        );
        let set = first.expect("roster-set result", T, |v| {
            v["event"] == "result" && v["tag"] == "rs"
        });
        assert_eq!(set["ok"], true, "{set}");
        let before = roster(&mut first);
        assert!(
            before["ver"].is_string(),
            "Prosody versions rosters: {before}"
        );
        let mut bob = Cli::start(d, s, "bob", "bob-pass", &["--ca-file", &s.ca]);
        bob.online();
        bob.send(json!({"cmd": "send", "to": alice_bare, "body": format!("{tag} live")}));
        first.expect("the live message", T, |v| {
            v["event"] == "message" && v["body"] == format!("{tag} live").as_str()
        });
        let (status, _) = first.finish();
        assert_eq!(status, 0);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(db).expect("the store file").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "owner-only");

        // Away: ten messages.
        let missed: Vec<String> = (0..10).map(|i| format!("{tag} missed {i}")).collect();
        for body in &missed {
            bob.send(json!({"cmd": "send", "to": alice_bare, "body": body}));
        }
        bob.send(json!({"cmd": "ping", "tag": "sync"}));
        bob.expect("ping", T, |v| v["event"] == "result" && v["tag"] == "sync");

        // Second run: a wrong password, so only the stored key can log in.
        let mut second = start(d, s, "not-alice-pass", db);
        let last = missed.last().cloned().unwrap_or_default();
        second.expect("the last missed message", T, |v| {
            v["event"] == "message" && v["body"] == last.as_str()
        });
        let after = roster(&mut second);
        assert_eq!(
            after["unchanged"], true,
            "the stored version was current: {after}"
        );
        assert_eq!(after["ver"], before["ver"]);
        let sorted = |v: &Value| {
            let mut items = v["items"].as_array().cloned().unwrap_or_default();
            items.sort_by_key(|i| i["jid"].to_string());
            items
        };
        assert_eq!(sorted(&after), sorted(&before), "the stored roster");
        // Leave the account's roster as it was.
        second.send(
            json!({"cmd": "roster-remove", "jid": format!("store-{tag}@{}", s.domain),
                           "tag": "rm"}),
        );
        second.expect("roster-remove result", T, |v| {
            v["event"] == "result" && v["tag"] == "rm"
        });
        std::thread::sleep(Duration::from_secs(2));
        let (status, seen) = second.finish();
        assert_eq!(status, 0);
        let mut counts: HashMap<String, usize> = HashMap::new();
        for v in seen.iter().filter(|v| v["event"] == "message") {
            if let Some(b) = v["body"].as_str() {
                *counts.entry(b.to_string()).or_default() += 1;
            }
        }
        for body in &missed {
            assert_eq!(counts.get(body), Some(&1), "{body}: {counts:?}");
        }
        assert_eq!(
            counts.get(&format!("{tag} live")),
            None,
            "before the cursor: {counts:?}"
        );
        bob.finish();
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_killed_run_is_resumed_by_the_next_with_the_store() {
    each_driver(|d, s| {
        let dir =
            std::env::temp_dir().join(format!("xmpp-resume-{}-{}", d.name, std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let db = dir.join("alice.db");
        let db = db.to_str().expect("utf-8 path");
        let mut first = start(d, s, "alice-pass", db);
        let jid = first.seen[0]["jid"].clone();
        // A ping answered: stream management is enabled and its state kept
        // (saved after each stream-management event: give the save of the
        // last ack a moment, as a process that runs for more than an
        // instant has; a state older than the last `<a h/>` sent is refused
        // by Prosody, and the next login is a fresh one).
        first.send(json!({"cmd": "ping", "tag": "sync"}));
        first.expect("ping", T, |v| v["event"] == "result" && v["tag"] == "sync");
        std::thread::sleep(Duration::from_millis(500));
        let killed = std::process::Command::new("kill")
            .args(["-9", &first.pid().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        std::thread::sleep(Duration::from_millis(300));
        let mut second = Cli::start(
            d,
            s,
            "alice",
            "alice-pass",
            &["--ca-file", &s.ca, "--store", db],
        );
        let online = second.online();
        assert_eq!(online["resumed"], true, "{online}");
        assert_eq!(online["jid"], jid, "the same session");
        let (status, _) = second.finish();
        assert_eq!(status, 0);
        // A clean quit ended the session: the next run starts afresh.
        let mut third = Cli::start(
            d,
            s,
            "alice",
            "alice-pass",
            &["--ca-file", &s.ca, "--store", db],
        );
        assert_eq!(third.online()["resumed"], false);
        third.finish();
        drop(first);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

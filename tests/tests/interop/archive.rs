//! The message archive (XEP-0313) against the real server, through both
//! CLIs: 500 messages archived and read back in pages of 50 forwards and
//! backwards, with and without a `with` filter, on the sender's archive and
//! the recipient's; a room's archive; and a connection cut under the client
//! by a proxy: the stream is resumed (XEP-0198) and each message sent
//! meanwhile reaches the application exactly once. (Catch-up after a
//! reconnect that is not a resumption: `archive_catch_up.rs`.)

use std::collections::HashMap;
use std::net::ToSocketAddrs;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use xmpp_test_support::proxy::{utc_stamp, Proxy};

use super::cli::{assert_contract_fields, Cli, Driver, Server};
use super::each_driver;

const T: Duration = Duration::from_secs(20);

fn client(d: &Driver, s: &Server, user: &str, extra: &[&str]) -> Cli {
    let mut flags = vec!["--ca-file", s.ca.as_str()];
    flags.extend_from_slice(extra);
    let mut c = Cli::start(d, s, user, &format!("{user}-pass"), &flags);
    c.online();
    c.send(json!({"cmd": "presence", "tag": "p"}));
    c.expect("presence result", T, |v| {
        v["event"] == "result" && v["tag"] == "p"
    });
    c
}

/// Runs one `mam` command; returns the archived messages it printed and
/// its `mam-done`.
fn page(c: &mut Cli, mut query: Value, tag: &str) -> (Vec<Value>, Value) {
    query["cmd"] = json!("mam");
    query["tag"] = json!(tag);
    let from = c.seen.len();
    c.send(query);
    let done = c.expect("mam-done", T, |v| v["event"] == "mam-done");
    let result = c.expect("mam result", T, |v| {
        v["event"] == "result" && v["tag"] == tag
    });
    assert_eq!(result["ok"], true, "{result}");
    assert_contract_fields(&done);
    let messages = c.seen[from..]
        .iter()
        .filter(|v| v["event"] == "message" && v["archived"] == true)
        .cloned()
        .collect();
    (messages, done)
}

/// Pages through the archive `filter` selects, 50 at a time, forwards
/// (`after` the last) or backwards (`before` the first); returns the bodies
/// in archive order and the number of pages.
fn read_all(c: &mut Cli, filter: &Value, forwards: bool) -> (Vec<String>, usize) {
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut cursor: Option<String> = None;
    for n in 0..20 {
        let mut q = filter.clone();
        q["max"] = json!(50);
        match (&cursor, forwards) {
            (Some(c), true) => q["after"] = json!(c),
            (Some(c), false) => q["before"] = json!(c),
            (None, false) => q["before"] = json!(""),
            (None, true) => {}
        }
        let (messages, done) = page(c, q, &format!("page{n}"));
        assert!(messages.len() <= 50, "a page of {}", messages.len());
        for m in &messages {
            assert!(m["stanza_id"].is_string(), "the archive id: {m}");
            assert!(m["delay"].is_string(), "the archive's stamp: {m}");
        }
        pages.push(
            messages
                .iter()
                .map(|m| m["body"].as_str().unwrap_or("").to_string())
                .collect(),
        );
        if done["complete"] == true {
            break;
        }
        cursor = done[if forwards { "last" } else { "first" }]
            .as_str()
            .map(str::to_string);
        assert!(
            cursor.is_some(),
            "an incomplete page names its cursor: {done}"
        );
    }
    let n = pages.len();
    if !forwards {
        pages.reverse();
    }
    (pages.concat(), n)
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn five_hundred_messages_are_read_back_in_pages_of_fifty_both_ways() {
    each_driver(|d, s| {
        let alice_bare = format!("alice@{}", s.domain);
        let bob_bare = format!("bob@{}", s.domain);
        let mut alice = client(d, s, "alice", &[]);
        let mut bob = client(d, s, "bob", &[]);
        // Only this run's messages: the archive's stamps have seconds.
        std::thread::sleep(Duration::from_millis(1100));
        let start = utc_stamp(SystemTime::now());
        std::thread::sleep(Duration::from_millis(1100));
        let expected: Vec<String> = (0..500)
            .map(|i| format!("{}-arch-{i:03}", d.name))
            .collect();
        let lines: String = expected
            .iter()
            .map(|b| format!("{}\n", json!({"cmd": "send", "to": bob_bare, "body": b})))
            .collect();
        alice.send_raw(&lines);
        let last = expected.last().cloned().unwrap_or_default();
        bob.expect("the last message", Duration::from_secs(60), |v| {
            v["event"] == "message" && v["body"] == last.as_str()
        });

        let everything = json!({"start": start});
        let (forwards, pages) = read_all(&mut alice, &everything, true);
        assert_eq!(forwards, expected, "forwards, without `with`");
        assert!(pages >= 10, "{pages} pages");
        let (backwards, _) = read_all(&mut alice, &everything, false);
        assert_eq!(backwards, expected, "backwards, without `with`");
        let with_bob = json!({"start": start, "with": bob_bare});
        assert_eq!(
            read_all(&mut alice, &with_bob, true).0,
            expected,
            "with bob"
        );
        assert_eq!(
            read_all(&mut alice, &with_bob, false).0,
            expected,
            "with bob, backwards"
        );
        // The recipient's own archive holds them too.
        let with_alice = json!({"start": start, "with": alice_bare});
        assert_eq!(
            read_all(&mut bob, &with_alice, true).0,
            expected,
            "bob's archive"
        );
        // Nobody else was written to.
        let (none, done) = page(
            &mut alice,
            json!({"start": start, "with": format!("nobody@{}", s.domain)}),
            "none",
        );
        assert!(none.is_empty());
        assert_eq!(done["complete"], true, "{done}");
        alice.finish();
        bob.finish();
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_rooms_archive_is_read_from_the_room() {
    each_driver(|d, s| {
        let room = super::muc::fresh_room(s, &format!("archive-{}", d.name)).to_string();
        let mut alice = client(d, s, "alice", &[]);
        alice.send(json!({"cmd": "join", "room": room, "nick": "al", "tag": "j"}));
        let joined = alice.expect("join result", T, |v| {
            v["event"] == "result" && v["tag"] == "j"
        });
        assert_eq!(joined["ok"], true, "{joined}");
        let start = {
            std::thread::sleep(Duration::from_millis(1100));
            let s = utc_stamp(SystemTime::now());
            std::thread::sleep(Duration::from_millis(1100));
            s
        };
        for i in 0..5 {
            let body = format!("room line {i}");
            alice.send(json!({"cmd": "send", "to": room, "type": "groupchat", "body": body}));
            alice.expect("the room's echo", T, |v| {
                v["event"] == "message" && v["body"] == body.as_str()
            });
        }
        let (messages, done) = page(&mut alice, json!({"room": room, "start": start}), "room");
        assert_eq!(done["complete"], true, "{done}");
        let bodies: Vec<_> = messages.iter().map(|m| m["body"].clone()).collect();
        assert_eq!(
            bodies,
            (0..5)
                .map(|i| json!(format!("room line {i}")))
                .collect::<Vec<_>>()
        );
        for m in &messages {
            assert_eq!(m["type"], "groupchat");
            assert_eq!(m["from"], format!("{room}/al"));
            assert!(m["stanza_id"].is_string(), "{m}");
        }
        alice.finish();
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_cut_is_resumed_and_each_message_sent_meanwhile_arrives_once() {
    each_driver(|d, s| {
        let bob_bare = format!("bob@{}", s.domain);
        let target = (s.host.as_str(), s.c2s_port.parse::<u16>().expect("port"))
            .to_socket_addrs()
            .expect("address")
            .next()
            .expect("an address");
        let proxy = Proxy::start(target).expect("proxy");
        let port = proxy.port().to_string();
        let mut bob = client(d, s, "bob", &["--reconnect", "--port", &port]);
        let mut alice = client(d, s, "alice", &[]);
        let tag = format!("{}-{}", d.name, std::process::id());
        alice.send(json!({"cmd": "send", "to": bob_bare, "body": format!("{tag} before")}));
        let before = bob.expect("the message before the cut", T, |v| {
            v["event"] == "message" && v["body"] == format!("{tag} before").as_str()
        });
        assert!(before["stanza_id"].is_string(), "{before}");
        assert_eq!(proxy.cut(), 1);
        let missed: Vec<String> = (0..20).map(|i| format!("{tag} missed {i}")).collect();
        for body in &missed {
            alice.send(json!({"cmd": "send", "to": bob_bare, "body": body}));
        }
        let reconnected = bob.expect("reconnected", Duration::from_secs(60), |v| {
            v["event"] == "reconnected"
        });
        assert_eq!(
            reconnected["resumed"], true,
            "Prosody has mod_smacks: {reconnected}"
        );
        let last = missed.last().cloned().unwrap_or_default();
        bob.expect("the last missed message", T, |v| {
            v["event"] == "message" && v["body"] == last.as_str()
        });
        // Wait for what else may come (a resend, a copy), then count.
        alice.send(json!({"cmd": "send", "to": bob_bare, "body": format!("{tag} after")}));
        bob.expect("a message after", T, |v| {
            v["event"] == "message" && v["body"] == format!("{tag} after").as_str()
        });
        std::thread::sleep(Duration::from_secs(2));
        let (_, seen) = bob.finish();
        let mut counts: HashMap<String, usize> = HashMap::new();
        for v in seen.iter().filter(|v| v["event"] == "message") {
            if let Some(b) = v["body"].as_str() {
                *counts.entry(b.to_string()).or_default() += 1;
            }
        }
        for body in missed
            .iter()
            .chain([&format!("{tag} before"), &format!("{tag} after")])
        {
            assert_eq!(counts.get(body), Some(&1), "{body}: {counts:?}");
        }
        assert!(
            proxy.accepted() >= 2,
            "bob connected again through the proxy"
        );
        alice.finish();
    });
}

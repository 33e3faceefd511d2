//! Roster and presence against the real server, through both CLIs, as a
//! real client does it: a resource that fetched the roster gets the pushes
//! of another resource's changes; two accounts subscribe to each other
//! (each having sent initial presence) and see each other's changes.
//! Each test leaves the accounts' rosters as it found them, so the next
//! driver starts from the same state.

use std::time::Duration;

use serde_json::json;

use super::cli::{assert_contract_fields, Cli};
use super::each_driver;

const T: Duration = Duration::from_secs(10);

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_roster_change_on_one_resource_is_pushed_to_another() {
    each_driver(|d, s| {
        let carol = format!("carol@{}", s.domain);
        let ca = ["--ca-file", s.ca.as_str()];
        let mut a = Cli::start(
            d,
            s,
            "alice",
            "alice-pass",
            &[&ca[..], &["--resource", "ra"]].concat(),
        );
        let mut b = Cli::start(
            d,
            s,
            "alice",
            "alice-pass",
            &[&ca[..], &["--resource", "rb"]].concat(),
        );
        a.online();
        b.online();
        // b fetches the roster (RFC 6121 §2.1.6: pushes go to such resources).
        b.send(json!({"cmd": "roster", "tag": "b1"}));
        let roster = b.expect("roster", T, |v| v["event"] == "roster");
        assert_contract_fields(&roster);
        b.expect("roster result", T, |v| {
            v["event"] == "result" && v["tag"] == "b1"
        });

        a.send(json!({"cmd": "roster-set", "jid": carol, "name": "Carol", "groups": ["Friends"], "tag": "s"}));
        let r = a.expect("roster-set result", T, |v| {
            v["event"] == "result" && v["tag"] == "s"
        });
        assert_eq!(r["ok"], true, "{r}");
        let push = b.expect("the push", T, |v| {
            v["event"] == "roster-push" && v["item"]["jid"] == carol.as_str()
        });
        assert_contract_fields(&push);
        assert_eq!(push["item"]["name"], "Carol");
        assert_eq!(push["item"]["groups"], json!(["Friends"]));
        assert_eq!(push["item"]["subscription"], "none");

        a.send(json!({"cmd": "roster-remove", "jid": carol, "tag": "r"}));
        let r = a.expect("roster-remove result", T, |v| {
            v["event"] == "result" && v["tag"] == "r"
        });
        assert_eq!(r["ok"], true, "{r}");
        let push = b.expect("the removal", T, |v| {
            v["event"] == "roster-push" && v["item"]["jid"] == carol.as_str()
        });
        assert_eq!(push["item"]["subscription"], "remove");
        b.send(json!({"cmd": "roster", "tag": "b2"}));
        let roster = b.expect("roster again", T, |v| v["event"] == "roster");
        let jids: Vec<&str> = roster["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["jid"].as_str())
            .collect();
        assert!(!jids.contains(&carol.as_str()), "{jids:?}");
        assert_eq!(a.finish().0, 0);
        assert_eq!(b.finish().0, 0);
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn two_accounts_subscribe_to_each_other_and_see_presence_changes() {
    each_driver(|d, s| {
        let alice_jid = format!("alice@{}", s.domain);
        let bob_jid = format!("bob@{}", s.domain);
        let args = ["--ca-file", s.ca.as_str(), "--resource", "pres"];
        let mut alice = Cli::start(d, s, "alice", "alice-pass", &args);
        let mut bob = Cli::start(d, s, "bob", "bob-pass", &args);
        alice.online();
        bob.online();
        for c in [&mut alice, &mut bob] {
            c.send(json!({"cmd": "presence", "tag": "p0"}));
            c.expect("initial presence", T, |v| {
                v["event"] == "result" && v["tag"] == "p0"
            });
        }
        let from = |jid: &str| {
            let jid = jid.to_string();
            move |v: &serde_json::Value| {
                v["from"]
                    .as_str()
                    .is_some_and(|f| f == jid || f.starts_with(&format!("{jid}/")))
            }
        };

        // alice -> bob: request, approval, then bob's presence reaches alice.
        alice.send(json!({"cmd": "subscribe", "to": bob_jid}));
        let is_alice = from(&alice_jid);
        let req = bob.expect("alice's request", T, |v| {
            v["event"] == "presence" && v["type"] == "subscribe" && is_alice(v)
        });
        assert_contract_fields(&req);
        bob.send(json!({"cmd": "approve", "to": alice_jid}));
        let is_bob = from(&bob_jid);
        alice.expect("bob available", T, |v| {
            v["event"] == "presence" && v["type"] == "available" && is_bob(v)
        });

        // bob -> alice, the same way.
        bob.send(json!({"cmd": "subscribe", "to": alice_jid}));
        alice.expect("bob's request", T, |v| {
            v["event"] == "presence" && v["type"] == "subscribe" && is_bob(v)
        });
        alice.send(json!({"cmd": "approve", "to": bob_jid}));
        bob.expect("alice available", T, |v| {
            v["event"] == "presence" && v["type"] == "available" && is_alice(v)
        });

        // A change of show and status reaches the other side.
        alice.send(json!({"cmd": "presence", "show": "away", "status": "at lunch"}));
        let p = bob.expect("alice away", T, |v| {
            v["event"] == "presence" && is_alice(v) && v["show"] == "away"
        });
        assert_eq!(p["status"], "at lunch");
        bob.send(json!({"cmd": "presence", "show": "dnd", "status": "in a meeting"}));
        let p = alice.expect("bob dnd", T, |v| {
            v["event"] == "presence" && is_bob(v) && v["show"] == "dnd"
        });
        assert_eq!(p["status"], "in a meeting");
        // Going offline is seen too.
        bob.send(json!({"cmd": "presence", "type": "unavailable"}));
        alice.expect("bob unavailable", T, |v| {
            v["event"] == "presence" && is_bob(v) && v["type"] == "unavailable"
        });

        // Leave the rosters as they were (removing cancels both subscriptions).
        alice.send(json!({"cmd": "roster-remove", "jid": bob_jid, "tag": "c"}));
        alice.expect("cleanup", T, |v| v["event"] == "result" && v["tag"] == "c");
        bob.send(json!({"cmd": "roster-remove", "jid": alice_jid, "tag": "c"}));
        bob.expect("cleanup", T, |v| v["event"] == "result" && v["tag"] == "c");
        assert_eq!(alice.finish().0, 0);
        assert_eq!(bob.finish().0, 0);
    });
}

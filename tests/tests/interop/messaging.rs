//! Messaging against the real server, through both CLIs: carbons (XEP-0280)
//! of a message one resource received and of one it sent reach the
//! account's other resource marked as such; a delivery receipt (XEP-0184)
//! comes back for a message that asked for one; a correction (XEP-0308)
//! from the sender of the corrected message is shown as a replacement, on
//! the recipient and on the sender's other resource; the server's
//! stanza-id (XEP-0359, Prosody's mod_mam) is read.

use std::time::Duration;

use serde_json::{json, Value};

use super::cli::{assert_contract_fields, Cli, Driver, Server};
use super::each_driver;

const T: Duration = Duration::from_secs(10);

/// A client of `user` on `resource`, online, having sent presence and
/// pinged the server (so the carbons enabled at login are in effect).
fn client(d: &Driver, s: &Server, user: &str, resource: &str) -> Cli {
    let mut c = Cli::start(
        d,
        s,
        user,
        &format!("{user}-pass"),
        &["--ca-file", &s.ca, "--resource", resource],
    );
    c.online();
    c.send(json!({"cmd": "presence", "tag": "p"}));
    c.expect("presence result", T, |v| {
        v["event"] == "result" && v["tag"] == "p"
    });
    c.send(json!({"cmd": "ping", "tag": "ping"}));
    let r = c.expect("ping result", T, |v| {
        v["event"] == "result" && v["tag"] == "ping"
    });
    assert_eq!(r["ok"], true, "{r}");
    c
}

fn message_with_body<'a>(body: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |v: &Value| v["event"] == "message" && v["body"] == body
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn carbons_receipts_and_corrections() {
    each_driver(|d, s| {
        let alice = format!("alice@{}", s.domain);
        let bob = format!("bob@{}", s.domain);
        let mut a1 = client(d, s, "alice", "a1");
        let mut a2 = client(d, s, "alice", "a2");
        let mut b = client(d, s, "bob", "b1");

        // Bob writes to alice/a1 and asks for a receipt.
        b.send(
            json!({"cmd": "send", "to": format!("{alice}/a1"), "body": "to a1",
                      "id": "r1", "receipt": true, "tag": "s1"}),
        );
        let sent = b.expect("send result", T, |v| {
            v["event"] == "result" && v["tag"] == "s1"
        });
        assert_eq!(
            (&sent["ok"], &sent["id"]),
            (&json!(true), &json!("r1")),
            "{sent}"
        );
        let live = a1.expect("the message", T, message_with_body("to a1"));
        assert_contract_fields(&live);
        assert_eq!(live["carbon"], Value::Null);
        assert_eq!(live["id"], "r1");
        assert!(live["stanza_id"].is_string(), "mod_mam's stanza-id: {live}");
        let copy = a2.expect("the received carbon", T, message_with_body("to a1"));
        assert_contract_fields(&copy);
        assert_eq!(copy["carbon"], "received", "{copy}");
        assert_eq!(copy["to"], format!("{alice}/a1"));
        // a1 answered the receipt request (a2 saw only a copy: it does not).
        let receipt = b.expect("the receipt", T, |v| {
            v["event"] == "message" && v["receipt_for"] == "r1"
        });
        assert_eq!(receipt["from"], format!("{alice}/a1"), "{receipt}");

        // alice/a1 writes to Bob, then corrects it.
        a1.send(json!({"cmd": "send", "to": format!("{bob}/b1"), "body": "helo", "id": "f1"}));
        let got = b.expect("a1's message", T, message_with_body("helo"));
        assert_eq!(got["from"], format!("{alice}/a1"));
        let copy = a2.expect("the sent carbon", T, message_with_body("helo"));
        assert_eq!(copy["carbon"], "sent", "{copy}");
        assert_eq!(copy["from"], format!("{alice}/a1"));
        a1.send(
            json!({"cmd": "send", "to": format!("{bob}/b1"), "body": "hello",
                       "replaces": "f1"}),
        );
        let fixed = b.expect("the correction", T, message_with_body("hello"));
        assert_eq!(fixed["replaces"], "f1", "{fixed}");
        let copy = a2.expect("the correction's carbon", T, message_with_body("hello"));
        assert_eq!(
            (&copy["carbon"], &copy["replaces"]),
            (&json!("sent"), &json!("f1"))
        );

        for c in [a1, a2, b] {
            let (status, _) = c.finish();
            assert_eq!(status, 0);
        }
    });
}

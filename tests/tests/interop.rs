//! Interop against a real server: the private Prosody of `scripts/prosody`,
//! driven through each adapter's `xmpp-cli` (one test body, every driver).
//! Ignored in a plain `cargo test`; `scripts/test` starts Prosody, builds the
//! CLIs and runs these with `--ignored`.

#[path = "interop/cli.rs"]
mod cli;

use std::time::Duration;

use cli::{drivers, Cli, Server};
use serde_json::json;

fn each_driver(test: impl Fn(&cli::Driver, &Server)) {
    let server = Server::from_env();
    for d in drivers() {
        eprintln!("--- driver: {}", d.name);
        test(&d, &server);
    }
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn login_over_starttls_with_the_strongest_mechanism_offered() {
    each_driver(|d, s| {
        let mut c = Cli::start(
            d,
            s,
            "alice",
            "alice-pass",
            &["--ca-file", &s.ca, "--resource", "interop"],
        );
        let online = c.online();
        assert_eq!(online["jid"], "alice@localhost/interop");
        assert_eq!(online["tls"], true);
        // Prosody 0.12 over TLS 1.3 offers SCRAM-SHA-1 and PLAIN only.
        assert_eq!(online["mechanism"], "SCRAM-SHA-1");
        assert_eq!(online["resumed"], false);
        c.send(json!({"cmd": "quit"}));
        assert_eq!(c.wait(Duration::from_secs(20)), 0, "clean quit exits 0");
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn login_over_direct_tls() {
    each_driver(|d, s| {
        let mut c = Cli::start(
            d,
            s,
            "bob",
            "bob-pass",
            &["--ca-file", &s.ca, "--direct-tls", "--port", &s.tls_port],
        );
        let online = c.online();
        assert_eq!(online["tls"], true);
        assert_eq!(online["mechanism"], "SCRAM-SHA-1");
        let (status, _) = c.finish();
        assert_eq!(status, 0, "end of stdin means quit");
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn wrong_password_exits_3() {
    each_driver(|d, s| {
        let mut c = Cli::start(d, s, "alice", "not-the-password", &["--ca-file", &s.ca]);
        assert_eq!(c.wait(Duration::from_secs(20)), 3);
        assert!(!c.seen.iter().any(|v| v["event"] == "online"));
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn untrusted_certificate_exits_4_before_any_credential() {
    each_driver(|d, s| {
        // No --ca-file: the private CA is not trusted.
        let mut c = Cli::start(d, s, "alice", "alice-pass", &[]);
        assert_eq!(c.wait(Duration::from_secs(20)), 4);
        assert!(!c.seen.iter().any(|v| v["event"] == "online"));
        let mut c = Cli::start(
            d,
            s,
            "alice",
            "alice-pass",
            &["--direct-tls", "--port", &s.tls_port],
        );
        assert_eq!(c.wait(Duration::from_secs(20)), 4);
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_thousand_messages_arrive_complete_and_in_order() {
    each_driver(|d, s| {
        let mut bob = Cli::start(
            d,
            s,
            "bob",
            "bob-pass",
            &["--ca-file", &s.ca, "--resource", "b1"],
        );
        bob.online();
        // Bare-JID messages reach only resources that sent presence.
        bob.send(json!({"cmd": "presence", "tag": "p"}));
        bob.expect("presence result", Duration::from_secs(10), |v| {
            v["event"] == "result" && v["tag"] == "p"
        });
        let mut alice = Cli::start(d, s, "alice", "alice-pass", &["--ca-file", &s.ca]);
        alice.online();
        let n = 1000;
        for i in 0..n {
            alice
                .send(json!({"cmd": "send", "to": "bob@localhost", "body": format!("msg {i} é✓")}));
        }
        for i in 0..n {
            let want = format!("msg {i} é✓");
            let m = bob.expect(&format!("message {i}"), Duration::from_secs(30), |v| {
                v["event"] == "message" && v["body"].is_string()
            });
            assert_eq!(m["body"], want.as_str(), "[{}] lost or reordered", d.name);
            assert_eq!(
                m["from"].as_str().map(|f| f.starts_with("alice@localhost")),
                Some(true)
            );
        }
        alice.send(json!({"cmd": "quit"}));
        assert_eq!(alice.wait(Duration::from_secs(20)), 0);
        let (status, _) = bob.finish();
        assert_eq!(status, 0);
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn roster_ping_and_disco_info() {
    each_driver(|d, s| {
        let mut c = Cli::start(d, s, "alice", "alice-pass", &["--ca-file", &s.ca]);
        c.online();
        c.send(json!({"cmd": "ping", "tag": "p1"}));
        let r = c.expect("ping result", Duration::from_secs(10), |v| {
            v["event"] == "result" && v["tag"] == "p1"
        });
        assert_eq!(r["ok"], true);
        c.send(json!({"cmd": "disco-info", "jid": "localhost"}));
        let info = c.expect("disco-info", Duration::from_secs(10), |v| {
            v["event"] == "disco-info"
        });
        let features: Vec<&str> = info["features"]
            .as_array()
            .expect("features")
            .iter()
            .filter_map(|f| f.as_str())
            .collect();
        assert!(features.contains(&"urn:xmpp:ping"), "{features:?}");
        c.send(json!({"cmd": "roster"}));
        let roster = c.expect("roster", Duration::from_secs(10), |v| {
            v["event"] == "roster"
        });
        assert!(roster["items"].is_array());
        c.send(json!({"cmd": "bogus", "tag": "bad"}));
        let bad = c.expect("result for a bad command", Duration::from_secs(5), |v| {
            v["event"] == "result" && v["tag"] == "bad"
        });
        assert_eq!(
            bad["ok"], false,
            "a bad command line answers ok:false and the client goes on"
        );
        c.send(json!({"cmd": "ping", "tag": "p2"}));
        c.expect("second ping", Duration::from_secs(10), |v| {
            v["event"] == "result" && v["tag"] == "p2"
        });
        let (status, _) = c.finish();
        assert_eq!(status, 0);
    });
}

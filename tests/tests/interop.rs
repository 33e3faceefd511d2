//! Interop against a real server: the private Prosody of `scripts/prosody`,
//! driven through each adapter's `xmpp-cli` (one test body, every driver).
//! Ignored in a plain `cargo test`; `scripts/test` starts Prosody, builds the
//! CLIs and runs these with `--ignored`.

use xmpp_test_support::cli;
#[path = "interop/archive.rs"]
mod archive;
#[path = "interop/archive_catch_up.rs"]
mod archive_catch_up;
#[path = "interop/archive_prefs.rs"]
mod archive_prefs;
#[path = "interop/disco.rs"]
mod disco;
#[path = "interop/faults.rs"]
mod faults;
#[path = "interop/library.rs"]
mod library;
#[path = "interop/messaging.rs"]
mod messaging;
#[path = "interop/muc.rs"]
mod muc;
#[path = "interop/profiles.rs"]
mod profiles;
#[path = "interop/roster_presence.rs"]
mod roster_presence;
#[path = "interop/round_trips.rs"]
mod round_trips;
#[path = "interop/services.rs"]
mod services;
#[path = "interop/store.rs"]
mod store;

use std::time::Duration;

use cli::{assert_contract_fields, drivers, run_to_end, Cli, Server};
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
        assert_contract_fields(&online);
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
fn a_full_jid_asks_for_its_resource() {
    each_driver(|d, s| {
        let jid = format!("alice@{}/phone", s.domain);
        let mut c = Cli::start_jid(d, s, &jid, "alice-pass", &["--ca-file", &s.ca]);
        let online = c.online();
        assert_eq!(online["jid"], jid.as_str());
        let (status, _) = c.finish();
        assert_eq!(status, 0);
        // The same resource again is fine; a different one is a usage error.
        let mut c = Cli::start_jid(
            d,
            s,
            &jid,
            "alice-pass",
            &["--ca-file", &s.ca, "--resource", "phone"],
        );
        assert_eq!(c.online()["jid"], jid.as_str());
        c.finish();
        let out = run_to_end(
            d,
            s,
            &jid,
            "alice-pass",
            &["--ca-file", &s.ca, "--resource", "desk"],
        );
        assert_eq!(out.status.code(), Some(2), "[{}] {out:?}", d.name);
        assert!(out.stdout.is_empty(), "[{}] {out:?}", d.name);
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn wrong_password_exits_3_and_prints_no_event() {
    each_driver(|d, s| {
        let jid = format!("alice@{}", s.domain);
        let out = run_to_end(d, s, &jid, "not-the-password", &["--ca-file", &s.ca]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "[{}] {stderr}", d.name);
        // Never online: no `disconnected` (nor any other) event.
        assert!(
            out.stdout.is_empty(),
            "[{}] stdout: {}",
            d.name,
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(stderr.contains("not-authorized"), "[{}] {stderr}", d.name);
        // The advice is given once.
        let advice = stderr.matches("and password").count();
        assert_eq!(advice, 1, "[{}] {stderr}", d.name);
        assert!(
            !stderr.contains("not-the-password"),
            "[{}] {stderr}",
            d.name
        );
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn an_unusable_ca_file_exits_2_naming_the_file() {
    each_driver(|d, s| {
        let jid = format!("alice@{}", s.domain);
        let missing = format!("{}.missing", s.ca);
        let out = run_to_end(d, s, &jid, "alice-pass", &["--ca-file", &missing]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "[{}] {stderr}", d.name);
        assert!(out.stdout.is_empty(), "[{}] {out:?}", d.name);
        assert!(
            stderr.contains(&format!("--ca-file {missing:?}")),
            "[{}] {stderr}",
            d.name
        );
        assert!(stderr.contains("No such file"), "[{}] {stderr}", d.name);
        // An unset variable: refused as a flag, before any connection.
        let out = run_to_end(d, s, &jid, "alice-pass", &["--ca-file", ""]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "[{}] {stderr}", d.name);
        assert!(out.stdout.is_empty(), "[{}] {out:?}", d.name);
        assert!(
            stderr.contains("--ca-file is empty"),
            "[{}] {stderr}",
            d.name
        );
    });
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn untrusted_certificate_exits_4_before_any_credential() {
    each_driver(|d, s| {
        // No --ca-file: the private CA is not trusted. Never online: no
        // event at all on stdout.
        let jid = format!("alice@{}", s.domain);
        let out = run_to_end(d, s, &jid, "alice-pass", &[]);
        assert_eq!(out.status.code(), Some(4), "[{}] {out:?}", d.name);
        assert!(out.stdout.is_empty(), "[{}] {out:?}", d.name);
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
        assert_contract_fields(&info);
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
        assert_contract_fields(&roster);
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

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn the_wrong_kind_of_port_says_which_to_use() {
    each_driver(|d, s| {
        let jid = format!("alice@{}", s.domain);
        // STARTTLS against the direct-TLS port: Prosody's TLS closes on
        // our stream header without a word.
        let out = run_to_end(
            d,
            s,
            &jid,
            "alice-pass",
            &["--ca-file", &s.ca, "--port", &s.tls_port],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "[{}] {stderr}", d.name);
        assert!(out.stdout.is_empty(), "[{}] {out:?}", d.name);
        assert!(
            stderr.contains("expected an XMPP stream (STARTTLS)"),
            "[{}] {stderr}",
            d.name
        );
        assert!(stderr.contains("--direct-tls"), "[{}] {stderr}", d.name);
        // Direct TLS against the STARTTLS port: Prosody answers our
        // ClientHello in XML.
        let out = run_to_end(
            d,
            s,
            &jid,
            "alice-pass",
            &["--ca-file", &s.ca, "--direct-tls", "--port", &s.c2s_port],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "[{}] {stderr}", d.name);
        assert!(out.stdout.is_empty(), "[{}] {out:?}", d.name);
        assert!(
            stderr.contains("answered in plain XML"),
            "[{}] {stderr}",
            d.name
        );
        assert!(
            stderr.contains("without --direct-tls"),
            "[{}] {stderr}",
            d.name
        );
        assert!(!stderr.contains("alice-pass"), "[{}] {stderr}", d.name);
    });
}

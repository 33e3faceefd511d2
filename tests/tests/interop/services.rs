//! The ping (XEP-0199), blocking (XEP-0191) and software-version
//! (XEP-0092) modules against the real server: through both CLIs, pings of
//! the server and of another client of ours (answered by its ping module),
//! and a contact blocked then unblocked, whose messages stop and resume;
//! through the library (the Tokio adapter), the software version and a
//! ping of each CLI. Each test leaves the block list as it found it.

use std::time::Duration;

use serde_json::json;
use xmpp_io_tokio::{connect, ConnectOptions, Event, Events, Handle};
use xmpp_proto::ping::{Ping, PingEvent};
use xmpp_proto::stanza::Jid;
use xmpp_proto::version::{Version, VersionEvent};

use super::cli::{assert_contract_fields, Cli, Server};
use super::each_driver;

const WAIT: Duration = Duration::from_secs(10);

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn ping_the_server_and_another_client_of_ours() {
    each_driver(|d, s| {
        let ca = ["--ca-file", s.ca.as_str()];
        let mut bob = Cli::start(
            d,
            s,
            "bob",
            "bob-pass",
            &[&ca[..], &["--resource", "pb"]].concat(),
        );
        bob.online();
        let mut alice = Cli::start(d, s, "alice", "alice-pass", &ca);
        alice.online();

        // Our server (no jid).
        alice.send(json!({"cmd": "ping", "tag": "server"}));
        let r = alice.expect("server ping", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "server"
        });
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);
        assert!(r["rtt_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{r}");

        // Another client of ours: its ping module answers.
        let bob_jid = format!("bob@{}/pb", s.domain);
        alice.send(json!({"cmd": "ping", "jid": bob_jid, "tag": "bob"}));
        let r = alice.expect("bob's answer", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "bob"
        });
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);

        // A resource that is not there: the server answers for it.
        let gone = format!("bob@{}/nobody", s.domain);
        alice.send(json!({"cmd": "ping", "jid": gone, "tag": "gone"}));
        let r = alice.expect("an error", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "gone"
        });
        assert_eq!(r["ok"], false, "[{}] {r}", d.name);
        assert_eq!(r["error"], "service-unavailable", "[{}] {r}", d.name);

        assert_eq!(alice.finish().0, 0);
        assert_eq!(bob.finish().0, 0);
    });
}

/// The JIDs of a `blocklist` event.
fn items(v: &serde_json::Value) -> Vec<String> {
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i.as_str().map(str::to_string))
        .collect()
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn a_blocked_contact_is_not_heard_until_unblocked() {
    each_driver(|d, s| {
        let ca = ["--ca-file", s.ca.as_str()];
        let alice_jid = format!("alice@{}", s.domain);
        let bob_jid = format!("bob@{}", s.domain);
        let mut alice = Cli::start(
            d,
            s,
            "alice",
            "alice-pass",
            &[&ca[..], &["--resource", "blk"]].concat(),
        );
        alice.online();
        // Bare-JID messages reach only resources that sent presence.
        alice.send(json!({"cmd": "presence", "tag": "p"}));
        alice.expect("presence result", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "p"
        });
        let mut bob = Cli::start(d, s, "bob", "bob-pass", &ca);
        bob.online();

        alice.send(json!({"cmd": "blocklist", "tag": "l0"}));
        let list = alice.expect("the block list", WAIT, |v| v["event"] == "blocklist");
        assert_contract_fields(&list);
        assert!(
            !items(&list).contains(&bob_jid),
            "[{}] left blocked: {list}",
            d.name
        );
        let r = alice.expect("blocklist result", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "l0"
        });
        assert_eq!(r["ok"], true, "{r}");

        // Block bob: the result, then the server's push as a blocklist event.
        alice.send(json!({"cmd": "block", "jid": bob_jid, "tag": "b"}));
        let r = alice.expect("block result", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "b"
        });
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);
        let pushed = alice.expect("the push", WAIT, |v| v["event"] == "blocklist");
        assert!(items(&pushed).contains(&bob_jid), "[{}] {pushed}", d.name);

        // Bob writes: the server bounces it, alice hears nothing.
        bob.send(json!({"cmd": "send", "to": alice_jid, "body": "while blocked"}));
        let bounce = bob.expect("the bounce", WAIT, |v| {
            v["event"] == "message" && v["type"] == "error"
        });
        assert_eq!(bounce["from"], alice_jid.as_str(), "[{}] {bounce}", d.name);

        // Unblock: the push empties bob's entry, and his next message arrives.
        alice.send(json!({"cmd": "unblock", "jid": bob_jid, "tag": "u"}));
        let r = alice.expect("unblock result", WAIT, |v| {
            v["event"] == "result" && v["tag"] == "u"
        });
        assert_eq!(r["ok"], true, "[{}] {r}", d.name);
        let pushed = alice.expect("the push", WAIT, |v| v["event"] == "blocklist");
        assert!(!items(&pushed).contains(&bob_jid), "[{}] {pushed}", d.name);
        bob.send(json!({"cmd": "send", "to": alice_jid, "body": "unblocked"}));
        let m = alice.expect("bob's message", WAIT, |v| {
            v["event"] == "message" && v["from"].as_str().is_some_and(|f| f.starts_with(&bob_jid))
        });
        assert_eq!(
            m["body"], "unblocked",
            "[{}] the blocked message arrived: {m}",
            d.name
        );

        assert_eq!(alice.finish().0, 0);
        assert_eq!(bob.finish().0, 0);
    });
}

/// The next event `pick` accepts, within 10 s.
async fn next<T>(events: &mut Events, pick: impl Fn(xmpp_proto::Event) -> Option<T>) -> T {
    loop {
        let event = tokio::time::timeout(WAIT, events.next())
            .await
            .expect("the event within 10 s")
            .expect("the session goes on");
        if let Event::Core(e) = event {
            if let Some(t) = pick(e) {
                return t;
            }
        }
    }
}

async fn query_version(handle: &Handle, to: Jid) -> String {
    handle
        .with(move |c, now| c.with_module(now, |v: &mut Version, cx| v.query(cx, to)))
        .await
        .expect("online")
        .expect("registered")
        .expect("sent")
}

async fn ping(handle: &Handle, to: Jid) -> String {
    handle
        .with(move |c, now| c.with_module(now, |p: &mut Ping, cx| p.ping(cx, Some(to))))
        .await
        .expect("online")
        .expect("registered by Client::new")
        .expect("sent")
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn the_software_version_of_another_client_of_ours() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    each_driver(|d, s: &Server| {
        let mut bob = Cli::start(
            d,
            s,
            "bob",
            "bob-pass",
            &["--ca-file", &s.ca, "--resource", "vb"],
        );
        bob.online();
        let bob_jid: Jid = format!("bob@{}/vb", s.domain).parse().expect("jid");
        rt.block_on(async {
            let jid = format!("alice@{}", s.domain).parse().expect("jid");
            let options = ConnectOptions::new(jid, "alice-pass")
                .server(s.host.clone(), s.c2s_port.parse().expect("port"))
                .ca_file(s.ca.clone())
                .resource("version")
                .on_client(|c| c.register(Version::new("interop", "1")).expect("register"));
            let (handle, mut events) = connect(options).await.expect("online");

            let id = query_version(&handle, bob_jid.clone()).await;
            let answer = next(&mut events, |e| match e {
                xmpp_proto::Event::Version(v) => Some(v),
                _ => None,
            })
            .await;
            let VersionEvent {
                id: got,
                jid,
                result,
            } = answer;
            assert_eq!((got, jid), (id, bob_jid.clone()));
            let info = result.unwrap_or_else(|e| panic!("[{}] {e}", d.name));
            assert_eq!(info.name.as_deref(), Some("xmpp-cli"), "[{}]", d.name);
            // Its crate's version.
            assert!(
                info.version.as_deref().is_some_and(|v| v.starts_with("0.")),
                "[{}] {info:?}",
                d.name
            );
            assert_eq!(info.os, None, "the CLI does not tell its OS");

            // And its ping module answers ours, with a round trip.
            let id = ping(&handle, bob_jid.clone()).await;
            let PingEvent {
                id: got, result, ..
            } = next(&mut events, |e| match e {
                xmpp_proto::Event::Ping(p) => Some(p),
                _ => None,
            })
            .await;
            assert_eq!(got, id);
            let rtt = result.unwrap_or_else(|e| panic!("[{}] {e}", d.name));
            assert!(rtt < WAIT, "{rtt:?}");
            handle.close().await;
        });
        assert_eq!(bob.finish().0, 0);
    });
}

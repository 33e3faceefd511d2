//! Service discovery (XEP-0030) and entity capabilities (XEP-0115) against
//! the real server: the server's disco#info and another client's, through
//! both CLIs; and our caps `ver` checked by two implementations that are
//! not ours, through the library:
//!
//! - Prosody 0.12's own (`util/caps.lua`, used by `mod_pep`): on a
//!   resource's presence with an unknown `ver` the server asks that
//!   resource for `node#ver` and files the answer under the hash *it*
//!   computes. A second resource advertising the same `ver` is asked again
//!   only if Prosody's hash differs from ours. So "the second resource is
//!   not asked" (with a control: a changed `ver` is asked) says Prosody
//!   computed our `ver` from our answer.
//! - A small Python script (hashlib, base64, xml.etree), when `python3` is
//!   there: it reads our disco#info answer as XML and follows XEP-0115 §5.1.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use xmpp_io_tokio::{connect, ConnectOptions, Event, Events, Handle};
use xmpp_proto::disco::{Caps, Disco, DiscoEvent, NS_CAPS};
use xmpp_proto::presence::{Availability, Presence};
use xmpp_proto::stanza::{Iq, Jid, Stanza};
use xmpp_proto::xml::Element;
use xmpp_proto::{Module, ModuleContext};

use super::cli::{assert_contract_fields, Cli, Server};
use super::each_driver;

const T: Duration = Duration::from_secs(10);
const NODE: &str = "urn:xmpp-proto:interop";
const DISCO_INFO: &str = "http://jabber.org/protocol/disco#info";

fn features(info: &serde_json::Value) -> Vec<&str> {
    info["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f.as_str())
        .collect()
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn disco_info_of_the_server_and_of_another_client() {
    each_driver(|d, s| {
        let ca = ["--ca-file", s.ca.as_str()];
        let mut alice = Cli::start(d, s, "alice", "alice-pass", &ca);
        let mut bob = Cli::start(
            d,
            s,
            "bob",
            "bob-pass",
            &[&ca[..], &["--resource", "disco"]].concat(),
        );
        alice.online();
        bob.online();

        alice.send(json!({"cmd": "disco-info", "jid": s.domain, "tag": "server"}));
        let info = alice.expect("the server's disco-info", T, |v| v["event"] == "disco-info");
        assert_contract_fields(&info);
        assert_eq!(info["jid"], s.domain.as_str());
        let server = features(&info);
        for f in [
            DISCO_INFO,
            "urn:xmpp:ping",
            "http://jabber.org/protocol/disco#items",
        ] {
            assert!(server.contains(&f), "[{}] {server:?}", d.name);
        }
        assert!(
            info["identities"]
                .as_array()
                .expect("identities")
                .iter()
                .any(|i| i["category"] == "server" && i["type"] == "im"),
            "[{}] {info}",
            d.name
        );
        let r = alice.expect("result", T, |v| {
            v["event"] == "result" && v["tag"] == "server"
        });
        assert_eq!(r["ok"], true);

        // Another client: exactly the core's features and its modules'
        // (the CLI registers roster, presence, disco, caps, vcard, avatar,
        // bookmarks, muc, carbons, messages, version and blocking; ping
        // comes with every core).
        let bob_jid = format!("bob@{}/disco", s.domain);
        alice.send(json!({"cmd": "disco-info", "jid": bob_jid, "tag": "bob"}));
        let info = alice.expect("bob's disco-info", T, |v| v["event"] == "disco-info");
        assert_eq!(info["jid"], bob_jid.as_str());
        assert_eq!(
            info["identities"],
            json!([{"category": "client", "type": "pc", "name": null}]),
            "[{}]",
            d.name
        );
        assert_eq!(
            features(&info),
            [
                NS_CAPS,
                "http://jabber.org/protocol/chatstates",
                DISCO_INFO,
                "http://jabber.org/protocol/disco#items",
                "http://jabber.org/protocol/muc",
                "jabber:iq:version",
                "jabber:x:conference",
                "urn:xmpp:avatar:metadata+notify",
                "urn:xmpp:bookmarks:1+notify",
                "urn:xmpp:chat-markers:0",
                "urn:xmpp:message-correct:0",
                "urn:xmpp:ping",
                "urn:xmpp:receipts",
                "urn:xmpp:sid:0",
            ],
            "[{}]",
            d.name
        );
        let r = alice.expect("result", T, |v| v["event"] == "result" && v["tag"] == "bob");
        assert_eq!(r["ok"], true);

        // Nobody there: the server's error is the result.
        alice.send(
            json!({"cmd": "disco-info", "jid": format!("bob@{}/gone", s.domain), "tag": "gone"}),
        );
        let r = alice.expect("result", T, |v| {
            v["event"] == "result" && v["tag"] == "gone"
        });
        assert_eq!(r["ok"], false, "[{}] {r}", d.name);
        assert_eq!(r["error"], "service-unavailable", "[{}] {r}", d.name);
        assert_eq!(alice.finish().0, 0);
        assert_eq!(bob.finish().0, 0);
    });
}

/// The disco#info requests a session received: (from, node).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Records every disco#info request that reaches the session.
struct Probe(Seen);

impl Module for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn observe_stanza(&mut self, _cx: &mut ModuleContext<'_>, stanza: &Stanza) {
        if let Stanza::Iq(iq) = stanza {
            if let Some(q) = iq.payload_element().filter(|_| iq.is_request()) {
                if q.is(DISCO_INFO, "query") {
                    let from = iq.from.as_ref().map(|j| j.to_string()).unwrap_or_default();
                    let node = q.attr("node").map(str::to_string);
                    self.0.lock().expect("lock").push((from, node));
                }
            }
        }
    }
}

/// A module whose only purpose is one more feature (a new `ver`).
struct Extra;

impl Module for Extra {
    fn name(&self) -> &'static str {
        "extra"
    }

    fn features(&self) -> &[&'static str] {
        &["urn:xmpp-proto:interop:extra"]
    }
}

/// A session of alice on `resource` named `name`, with the presence, disco
/// and caps modules and a probe.
async fn session(s: &Server, resource: &str, name: String, seen: Seen) -> (Handle, Events) {
    let jid = format!("alice@{}", s.domain).parse().expect("jid");
    let port = s.c2s_port.parse().expect("port");
    let options = ConnectOptions::new(jid, "alice-pass")
        .server(s.host.clone(), port)
        .ca_file(s.ca.clone())
        .resource(resource)
        .configure(move |c| c.identity("client", "bot", Some(name.clone())))
        .on_client(move |client| {
            client.register(Presence::new()).expect("register");
            client.register(Disco::new()).expect("register");
            client.register(Caps::new(NODE)).expect("register");
            client.register(Probe(seen.clone())).expect("register");
        });
    connect(options).await.expect("online")
}

async fn available(handle: &Handle) {
    handle
        .with(|c, now| {
            c.with_module(now, |p: &mut Presence, cx| {
                p.available(cx, Availability::new())
            })
        })
        .await
        .expect("online")
        .expect("registered")
        .expect("sent");
}

async fn own_ver(handle: &Handle) -> String {
    handle
        .with(|c, _| {
            c.module::<Caps>()
                .and_then(|m| m.own_ver().map(str::to_string))
        })
        .await
        .expect("online")
        .expect("our ver, once online")
}

/// A ping round trip: the server has handled everything sent before it
/// (and sent us what that caused) once the answer is here.
async fn round_trip(handle: &Handle, domain: &str) {
    let ping = Iq::get(
        Some(domain.parse().expect("jid")),
        "",
        Element::new("urn:xmpp:ping", "ping"),
    );
    handle.send_iq(ping).await.expect("pong");
}

/// Waits (at most `T`) until `seen` holds a request for `node`.
async fn asked(seen: &Seen, node: &str) -> String {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let found = seen
            .lock()
            .expect("lock")
            .iter()
            .find(|(_, n)| n.as_deref() == Some(node))
            .map(|(from, _)| from.clone());
        if let Some(from) = found {
            return from;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nobody asked for {node} within {T:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// XEP-0115 §5.1, written apart from the library: Python reads the
/// disco#info `<query/>` as XML. `None` without python3.
fn python_ver(query_xml: &str) -> Option<String> {
    const SCRIPT: &str = r#"
import base64, hashlib, sys
import xml.etree.ElementTree as ET
D = "{http://jabber.org/protocol/disco#info}"
X = "{jabber:x:data}"
L = "{http://www.w3.org/XML/1998/namespace}lang"
q = ET.fromstring(sys.stdin.read())
ids = sorted((i.get("category"), i.get("type"), i.get(L) or "", i.get("name") or "")
             for i in q.findall(D + "identity"))
s = "".join("/".join(i) + "<" for i in ids)
s += "".join(f + "<" for f in sorted(f.get("var") for f in q.findall(D + "feature")))
forms = []
for x in q.findall(X + "x"):
    fields = {f.get("var"): f for f in x.findall(X + "field")}
    ft = fields.pop("FORM_TYPE", None)
    if ft is None or ft.get("type") != "hidden":
        continue
    out = ft.find(X + "value").text + "<"
    for var in sorted(fields):
        out += var + "<" + "".join(v + "<" for v in sorted(v.text or "" for v in fields[var].findall(X + "value")))
    forms.append((ft.find(X + "value").text, out))
s += "".join(out for _, out in sorted(forms))
print(base64.b64encode(hashlib.sha1(s.encode("utf-8")).digest()).decode())
"#;
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = match Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("no python3 ({e}): the Python check is skipped");
            return None;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(query_xml.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("python3 runs");
    assert!(out.status.success(), "python3: {out:?}");
    Some(
        String::from_utf8(out.stdout)
            .expect("UTF-8")
            .trim()
            .to_string(),
    )
}

/// The next `CapsLearned` event, within `T`.
async fn learned(events: &mut Events) -> (String, xmpp_proto::disco::DiscoInfo) {
    loop {
        let event = tokio::time::timeout(T, events.next())
            .await
            .expect("a verified caps answer within 10 s")
            .expect("the session goes on");
        if let Event::Core(xmpp_proto::Event::Disco(DiscoEvent::CapsLearned {
            ver, info, ..
        })) = event
        {
            return (ver, info);
        }
    }
}

#[test]
#[ignore = "needs the private Prosody: run through scripts/test"]
fn our_caps_ver_is_the_hash_prosody_and_python_compute() {
    let s = Server::from_env();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        // A name no earlier run used: a ver Prosody has never seen.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("time")
            .as_nanos();
        let name = format!("interop caps {nanos}");
        let (seen_a, seen_b, seen_c) = (Seen::default(), Seen::default(), Seen::default());

        // A: its presence makes mod_pep ask it for NODE#VER, from our bare JID.
        let (a, _a_events) = session(&s, "caps-a", name.clone(), seen_a.clone()).await;
        let ver = own_ver(&a).await;
        available(&a).await;
        let from = asked(&seen_a, &format!("{NODE}#{ver}")).await;
        assert_eq!(from, format!("alice@{}", s.domain), "mod_pep asks as the account");
        round_trip(&a, &s.domain).await; // our answer has been handled

        // B, the same client: Prosody knows this ver (under its own hash of
        // A's answer), so B is not asked.
        let (b, _b_events) = session(&s, "caps-b", name.clone(), seen_b.clone()).await;
        assert_eq!(own_ver(&b).await, ver);
        available(&b).await;
        round_trip(&b, &s.domain).await;
        assert!(
            seen_b.lock().expect("lock").is_empty(),
            "Prosody asked again for a ver it was told: its hash of our answer is not our ver ({ver}): {:?}",
            seen_b.lock().expect("lock")
        );
        // Control: a new feature, a new ver, and B is asked.
        b.with(|c, _| c.register(Extra)).await.expect("online").expect("register");
        let changed = own_ver(&b).await;
        assert_ne!(changed, ver);
        available(&b).await;
        asked(&seen_b, &format!("{NODE}#{changed}")).await;

        // C, another client name: it receives A's (and B's) presence, asks
        // for A's ver and verifies the answer Prosody routed.
        let (c, mut c_events) = session(&s, "caps-c", format!("{name} (c)"), seen_c).await;
        available(&c).await;
        let mut vers = Vec::new();
        for _ in 0..2 {
            let (v, info) = learned(&mut c_events).await;
            assert!(info.has_feature(NS_CAPS));
            vers.push(v);
        }
        vers.sort();
        let mut want = vec![ver.clone(), changed.clone()];
        want.sort();
        assert_eq!(vers, want, "C verified A's and B's answers");
        let a_jid: Jid = format!("alice@{}/caps-a", s.domain).parse().expect("jid");
        let supports = c
            .with(move |c, _| c.module::<Caps>().map(|m| m.supports(&a_jid, NS_CAPS)))
            .await
            .expect("online");
        assert_eq!(supports, Some(true));

        // Python reads A's answer for NODE#VER and computes the same ver.
        let query = Element::new(DISCO_INFO, "query").with_attr("node", format!("{NODE}#{ver}"));
        let a_full = format!("alice@{}/caps-a", s.domain).parse().expect("jid");
        let answer = c.send_iq(Iq::get(Some(a_full), "", query)).await.expect("answer");
        let xml = answer.payload_element().expect("a query").to_xml();
        if let Some(python) = python_ver(&xml) {
            assert_eq!(python, ver, "Python's §5.1 of {xml}");
        }
        for h in [a, b, c] {
            h.close().await;
        }
    });
}

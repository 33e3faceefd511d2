//! Service discovery (XEP-0030) and entity capabilities (XEP-0115) as
//! transcripts: what the core answers about us, what the Disco module asks
//! and reports, our `<c/>` on presence (and that its `ver` is the hash of
//! what we answer), and the caps cache, which takes an answer only when it
//! hashes to the advertised `ver` (the attacker plays byte for byte) and
//! stays bounded.

use xmpp_test_support::session;

use base64::Engine as _;
use session::{config, Session};
use sha1::{Digest as _, Sha1};
use xmpp_proto::disco::{
    verification_string, Caps, CapsHash, CapsLimits, Disco, DiscoError, DiscoEvent, DiscoInfo,
    DiscoItem, DiscoItems, DiscoParseError, Identity,
};
use xmpp_proto::stanza::{DefinedCondition, Jid, Presence};
use xmpp_proto::xml::{Element, StreamEvent, StreamReader};
use xmpp_proto::{Event, IqFailure, Module, ModuleContext, WarningKind};

const NODE: &str = "https://example.org/juliet-client";
const CAPS: &str = "http://jabber.org/protocol/caps";
const INFO: &str = "http://jabber.org/protocol/disco#info";
const ITEMS: &str = "http://jabber.org/protocol/disco#items";
const MUC: &str = "http://jabber.org/protocol/muc";
/// XEP-0115 §5.2's Exodus 0.9.1 and its `ver`.
const EXODUS_VER: &str = "QgayPKawpkPSDYmwT/WM94uAlu0=";
const EXODUS: &str = "<query xmlns='http://jabber.org/protocol/disco#info' \
     node='http://code.google.com/p/exodus#QgayPKawpkPSDYmwT/WM94uAlu0='>\
     <identity category='client' name='Exodus 0.9.1' type='pc'/>\
     <feature var='http://jabber.org/protocol/caps'/>\
     <feature var='http://jabber.org/protocol/disco#info'/>\
     <feature var='http://jabber.org/protocol/disco#items'/>\
     <feature var='http://jabber.org/protocol/muc'/></query>";

fn online(setup: impl FnOnce(&mut xmpp_proto::Client)) -> Session {
    Session::login_with(config().build(), "", setup)
}

fn with_caps(caps: Caps) -> Session {
    online(|c| {
        c.register(xmpp_proto::presence::Presence::new())
            .expect("register");
        c.register(Disco::new()).expect("register");
        c.register(caps).expect("register");
    })
}

fn jid(s: &str) -> Jid {
    s.parse().expect("jid")
}

/// Every element of `xml` (stanzas as the client wrote them).
fn elements(xml: &str) -> Vec<Element> {
    let mut reader = StreamReader::new(Default::default());
    reader.feed(format!("<stream xmlns='jabber:client'>{xml}").as_bytes());
    let mut out = Vec::new();
    while let Some(event) = reader.next_event() {
        if let StreamEvent::Element(e) = event.expect("well-formed") {
            out.push(e);
        }
    }
    out
}

/// The payload of the one IQ in `xml`.
fn iq_payload(xml: &str) -> Element {
    let iqs: Vec<Element> = elements(xml)
        .into_iter()
        .filter(|e| e.local_name() == "iq")
        .collect();
    assert_eq!(iqs.len(), 1, "{xml}");
    let payload = iqs[0].children().next().expect("a payload").clone();
    payload
}

/// The value of `attr` in the first `<tag` of `xml`.
fn attr(xml: &str, tag: &str, attr: &str) -> String {
    xmpp_proto::testing::attr_after(xml, tag, attr).unwrap_or_else(|| panic!("{attr} in {xml}"))
}

fn disco_events(s: &mut Session) -> Vec<DiscoEvent> {
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::Disco(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn caps(s: &Session) -> &Caps {
    s.client.module::<Caps>().expect("registered")
}

/// An independent check of §5.1 for an info with one identity without
/// lang and no forms: sorted features, SHA-1, Base64.
fn simple_ver(category: &str, kind: &str, name: &str, features: &[&str]) -> String {
    let mut features = features.to_vec();
    features.sort();
    let mut s = format!("{category}/{kind}//{name}<");
    for f in features {
        s.push_str(f);
        s.push('<');
    }
    base64::engine::general_purpose::STANDARD.encode(Sha1::digest(s.as_bytes()))
}

/// The server plays `from` sending available presence with caps.
fn presence_with_caps(s: &mut Session, from: &str, node: &str, ver: &str) {
    s.server(&format!(
        "<presence from='{from}'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' \
         node='{node}' ver='{ver}'/></presence>"
    ));
}

// ===== what the core answers about us =====

#[test]
fn disco_info_and_items_about_us() {
    let mut s = with_caps(Caps::new(NODE));
    s.server("<iq from='romeo@example.net/orchard' id='i1' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert_eq!(
        s.sent(),
        "<iq to='romeo@example.net/orchard' id='i1' type='result'>\
         <query xmlns='http://jabber.org/protocol/disco#info'>\
         <identity category='client' type='pc'/>\
         <feature var='http://jabber.org/protocol/caps'/>\
         <feature var='http://jabber.org/protocol/disco#info'/>\
         <feature var='http://jabber.org/protocol/disco#items'/>\
         <feature var='urn:xmpp:ping'/></query></iq>"
    );
    // No module lists items: an empty result, not an error (XEP-0030 §7).
    s.server("<iq from='romeo@example.net/orchard' id='i2' type='get'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
    assert_eq!(
        s.sent(),
        "<iq to='romeo@example.net/orchard' id='i2' type='result'>\
         <query xmlns='http://jabber.org/protocol/disco#items'/></iq>"
    );
    // Nodes nobody publishes.
    for ns in [INFO, ITEMS] {
        s.server(&format!(
            "<iq from='romeo@example.net/orchard' id='n' type='get'><query xmlns='{ns}' node='{NODE}#nope'/></iq>"
        ));
        let reply = s.sent();
        assert!(
            reply.contains("type='error'") && reply.contains("<item-not-found"),
            "{reply}"
        );
    }
    // A set is not allowed.
    s.server("<iq from='romeo@example.net/orchard' id='s' type='set'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
    assert!(s.sent().contains("<not-allowed"));
}

/// A module that publishes items and a node.
struct Shelf;

impl Module for Shelf {
    fn name(&self) -> &'static str {
        "shelf"
    }

    fn disco_items(&self, node: Option<&str>) -> Option<Vec<DiscoItem>> {
        let here = jid("juliet@example.com/balcony");
        match node {
            None => Some(vec![DiscoItem::new(here)
                .with_node("books")
                .with_name("Books")]),
            Some("books") => Some(vec![DiscoItem::new(jid("library.example.com"))]),
            Some(_) => None,
        }
    }

    fn disco_node_info(&self, node: &str) -> Option<DiscoInfo> {
        (node == "books").then(|| {
            DiscoInfo::new(
                [Identity::new("hierarchy", "branch")],
                ["http://jabber.org/protocol/disco#items"],
            )
        })
    }
}

#[test]
fn modules_list_items_and_answer_for_their_nodes() {
    let mut s = online(|c| c.register(Shelf).expect("register"));
    s.server("<iq from='romeo@example.net/orchard' id='i' type='get'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
    assert_eq!(
        s.sent(),
        "<iq to='romeo@example.net/orchard' id='i' type='result'>\
         <query xmlns='http://jabber.org/protocol/disco#items'>\
         <item jid='juliet@example.com/balcony' node='books' name='Books'/></query></iq>"
    );
    s.server("<iq from='romeo@example.net/orchard' id='b' type='get'><query xmlns='http://jabber.org/protocol/disco#items' node='books'/></iq>");
    assert_eq!(
        s.sent(),
        "<iq to='romeo@example.net/orchard' id='b' type='result'>\
         <query xmlns='http://jabber.org/protocol/disco#items' node='books'>\
         <item jid='library.example.com'/></query></iq>"
    );
    // §3.2: the answer for a node mirrors it.
    s.server("<iq from='romeo@example.net/orchard' id='c' type='get'><query xmlns='http://jabber.org/protocol/disco#info' node='books'/></iq>");
    assert_eq!(
        s.sent(),
        "<iq to='romeo@example.net/orchard' id='c' type='result'>\
         <query xmlns='http://jabber.org/protocol/disco#info' node='books'>\
         <identity category='hierarchy' type='branch'/>\
         <feature var='http://jabber.org/protocol/disco#items'/></query></iq>"
    );
}

// ===== the Disco module asks others =====

fn run<R>(s: &mut Session, f: impl FnOnce(&mut Disco, &mut ModuleContext<'_>) -> R) -> R {
    let now = s.now;
    let r = s.client.with_module(now, f).expect("registered");
    s.drain();
    r
}

#[test]
fn the_disco_module_reports_typed_answers() {
    let mut s = online(|c| c.register(Disco::new()).expect("register"));
    let server = jid("example.com");
    let id = run(&mut s, |d, cx| d.query_info(cx, server.clone(), None)).expect("sent");
    assert_eq!(
        s.sent(),
        format!("<iq to='example.com' id='{id}' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>")
    );
    s.server(&format!(
        "<iq from='example.com' id='{id}' type='result'><query xmlns='http://jabber.org/protocol/disco#info'>\
         <identity category='server' type='im' name='Prosody'/><feature var='urn:xmpp:ping'/>\
         <x xmlns='jabber:x:data' type='result'><field var='FORM_TYPE' type='hidden'>\
         <value>http://jabber.org/network/serverinfo</value></field>\
         <field var='abuse-addresses' type='list-multi'><value>mailto:abuse@example.com</value></field></x>\
         </query></iq>"
    ));
    let events = disco_events(&mut s);
    let [DiscoEvent::Info {
        id: got,
        jid: to,
        node: None,
        result: Ok(info),
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!((got, to), (&id, &server));
    assert_eq!(
        info.identities,
        [Identity::new("server", "im").with_name("Prosody")]
    );
    assert!(info.has_feature("urn:xmpp:ping"));
    let form = info
        .extension("http://jabber.org/network/serverinfo")
        .expect("the serverinfo form");
    assert_eq!(
        form.field("abuse-addresses").map(|f| f.values.clone()),
        Some(vec!["mailto:abuse@example.com".to_string()])
    );

    // Items of a node, then an error, then a result that is not disco.
    let id = run(&mut s, |d, cx| {
        d.query_items(cx, server.clone(), Some("music"))
    })
    .expect("sent");
    assert!(s
        .sent()
        .contains("<query xmlns='http://jabber.org/protocol/disco#items' node='music'/>"));
    s.server(&format!(
        "<iq from='example.com' id='{id}' type='result'><query xmlns='http://jabber.org/protocol/disco#items' node='music'>\
         <item jid='example.com' node='music/a' name='A'/></query></iq>"
    ));
    assert_eq!(
        disco_events(&mut s),
        [DiscoEvent::Items {
            id,
            jid: server.clone(),
            node: Some("music".into()),
            result: Ok(DiscoItems::new([DiscoItem::new(server.clone())
                .with_node("music/a")
                .with_name("A")])),
        }]
    );
    let id = run(&mut s, |d, cx| {
        d.query_info(cx, jid("nobody@example.com"), None)
    })
    .expect("sent");
    s.sent();
    s.server(&format!(
        "<iq from='nobody@example.com' id='{id}' type='error'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let events = disco_events(&mut s);
    assert!(
        matches!(events.as_slice(), [DiscoEvent::Info { result: Err(DiscoError::Iq(IqFailure::Error(e))), .. }]
            if e.condition == DefinedCondition::ServiceUnavailable),
        "{events:?}"
    );
    let id = run(&mut s, |d, cx| d.query_info(cx, server.clone(), None)).expect("sent");
    s.sent();
    s.server(&format!(
        "<iq from='example.com' id='{id}' type='result'><query xmlns='http://jabber.org/protocol/disco#info'>\
         <feature/></query></iq>"
    ));
    let events = disco_events(&mut s);
    assert!(
        matches!(
            events.as_slice(),
            [DiscoEvent::Info {
                result: Err(DiscoError::Invalid(
                    DiscoParseError::MissingAttribute { .. }
                )),
                ..
            }]
        ),
        "{events:?}"
    );
}

// ===== our capabilities =====

#[test]
fn our_caps_are_on_available_presence_and_hash_to_our_disco_info() {
    let mut s = with_caps(Caps::new(NODE));
    let now = s.now;
    s.client.send(now, Presence::available()).expect("online");
    let sent = s.sent();
    let (id, ver) = (attr(&sent, "<presence", "id"), attr(&sent, "<c ", "ver"));
    assert_eq!(
        sent,
        format!(
            "<presence id='{id}'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' \
             node='{NODE}' ver='{ver}'/></presence>"
        )
    );
    assert_eq!(caps(&s).own_ver(), Some(ver.as_str()));
    // Directed presence carries it too; unavailable presence does not.
    s.client
        .send(
            now,
            Presence::available().with_to(jid("room@muc.example.com/juliet")),
        )
        .expect("online");
    assert!(s.sent().contains(&format!("ver='{ver}'")));
    s.client.send(now, Presence::unavailable()).expect("online");
    let sent = s.sent();
    assert!(
        sent.starts_with("<presence id=")
            && sent.contains(" type='unavailable'")
            && !sent.contains("caps"),
        "{sent}"
    );

    // What we answer, with and without the caps node, hashes to that ver.
    s.server("<iq from='romeo@example.net/orchard' id='d1' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    let plain = DiscoInfo::parse(&iq_payload(&s.sent())).expect("disco#info");
    s.server(&format!(
        "<iq from='romeo@example.net/orchard' id='d2' type='get'>\
         <query xmlns='http://jabber.org/protocol/disco#info' node='{NODE}#{ver}'/></iq>"
    ));
    let answer = iq_payload(&s.sent());
    assert_eq!(answer.attr("node"), Some(format!("{NODE}#{ver}").as_str()));
    let for_node = DiscoInfo::parse(&answer).expect("disco#info");
    assert_eq!(for_node, plain);
    assert_eq!(verification_string(&plain, CapsHash::Sha1), ver);
    let features: Vec<&str> = plain.features.iter().map(String::as_str).collect();
    assert_eq!(simple_ver("client", "pc", "", &features), ver);
    assert_eq!(plain, s.client.disco_info());
    // A stale ver of our node is not ours.
    s.server(&format!(
        "<iq from='romeo@example.net/orchard' id='d3' type='get'>\
         <query xmlns='http://jabber.org/protocol/disco#info' node='{NODE}#{EXODUS_VER}'/></iq>"
    ));
    assert!(s.sent().contains("<item-not-found"));
}

#[test]
fn a_named_identity_and_a_module_registered_later_change_the_ver() {
    let config = config()
        .identity("client", "bot", Some("Nurse 1.0".into()))
        .build();
    let mut s = Session::login_with(config, "", |c| {
        c.register(Caps::new(NODE)).expect("register")
    });
    let before = caps(&s).own_ver().expect("online").to_string();
    assert_eq!(
        before,
        simple_ver(
            "client",
            "bot",
            "Nurse 1.0",
            &[CAPS, INFO, ITEMS, "urn:xmpp:ping"]
        )
    );
    s.client.register(Disco::new()).expect("register");
    s.client.register(Shelf).expect("register");
    // Neither lists a feature: the same ver.
    assert_eq!(caps(&s).own_ver(), Some(before.as_str()));
    struct Muc;
    impl Module for Muc {
        fn name(&self) -> &'static str {
            "muc"
        }
        fn features(&self) -> &[&'static str] {
            &[MUC]
        }
    }
    s.client.register(Muc).expect("register");
    let after = caps(&s).own_ver().expect("online");
    assert_eq!(
        after,
        simple_ver(
            "client",
            "bot",
            "Nurse 1.0",
            &[CAPS, INFO, ITEMS, MUC, "urn:xmpp:ping"]
        )
    );
}

// ===== others' capabilities =====

#[test]
fn others_caps_are_asked_once_verified_and_cached() {
    let mut s = with_caps(Caps::new(NODE));
    let romeo = jid("romeo@montague.lit/orchard");
    presence_with_caps(
        &mut s,
        romeo.as_str(),
        "http://code.google.com/p/exodus",
        EXODUS_VER,
    );
    let sent = s.sent();
    let id = attr(&sent, "<iq", "id");
    assert_eq!(
        sent,
        format!(
            "<iq to='romeo@montague.lit/orchard' id='{id}' type='get'>\
             <query xmlns='http://jabber.org/protocol/disco#info' \
             node='http://code.google.com/p/exodus#{EXODUS_VER}'/></iq>"
        )
    );
    // Another entity with the same ver while the query is in flight: not asked.
    presence_with_caps(
        &mut s,
        "benvolio@montague.lit/home",
        "http://code.google.com/p/exodus",
        EXODUS_VER,
    );
    assert_eq!(s.sent(), "");
    assert_eq!(caps(&s).info_for(&romeo), None, "unknown until verified");
    assert!(!caps(&s).supports(&romeo, MUC));
    s.server(&format!(
        "<iq from='romeo@montague.lit/orchard' id='{id}' type='result'>{EXODUS}</iq>"
    ));
    let events = disco_events(&mut s);
    let [DiscoEvent::CapsLearned {
        hash: CapsHash::Sha1,
        ver,
        info,
    }] = events.as_slice()
    else {
        panic!("{events:?}")
    };
    assert_eq!(ver, EXODUS_VER);
    assert!(info.has_feature(MUC));
    assert!(caps(&s).supports(&romeo, MUC));
    assert!(caps(&s).supports(&jid("benvolio@montague.lit/home"), MUC));
    assert!(!caps(&s).supports(&romeo, "urn:xmpp:jingle:1"));
    assert_eq!(s.sent(), "", "benvolio is not asked: the ver is known");
    // A known ver is never asked again.
    presence_with_caps(
        &mut s,
        "mercutio@verona.lit/x",
        "http://code.google.com/p/exodus",
        EXODUS_VER,
    );
    assert_eq!(s.sent(), "");
    assert!(caps(&s).supports(&jid("mercutio@verona.lit/x"), MUC));
    // Going offline forgets the entity, not the ver.
    s.server("<presence from='romeo@montague.lit/orchard' type='unavailable'/>");
    assert_eq!(caps(&s).info_for(&romeo), None);
    assert!(caps(&s).cached(CapsHash::Sha1, EXODUS_VER).is_some());
    // A bare JID's unavailable presence: every resource.
    s.server("<presence from='mercutio@verona.lit' type='unavailable'/>");
    assert_eq!(caps(&s).ver_of(&jid("mercutio@verona.lit/x")), None);
}

#[test]
fn an_answer_that_does_not_hash_to_the_ver_is_refused_and_not_cached() {
    let mut s = with_caps(Caps::new(NODE));
    // Mallory advertises Exodus's ver, then claims it means a feature more.
    presence_with_caps(
        &mut s,
        "mallory@evil.example/x",
        "http://code.google.com/p/exodus",
        EXODUS_VER,
    );
    let id = attr(&s.sent(), "<iq", "id");
    // Meanwhile the real Exodus user advertises the same ver.
    presence_with_caps(
        &mut s,
        "romeo@montague.lit/orchard",
        "http://code.google.com/p/exodus",
        EXODUS_VER,
    );
    assert_eq!(s.sent(), "", "one query per ver");
    s.events.clear();
    s.server(&format!(
        "<iq from='mallory@evil.example/x' id='{id}' type='result'>\
         <query xmlns='http://jabber.org/protocol/disco#info' \
         node='http://code.google.com/p/exodus#{EXODUS_VER}'>\
         <identity category='client' name='Exodus 0.9.1' type='pc'/>\
         <feature var='http://jabber.org/protocol/caps'/>\
         <feature var='http://jabber.org/protocol/disco#info'/>\
         <feature var='http://jabber.org/protocol/disco#items'/>\
         <feature var='http://jabber.org/protocol/muc'/>\
         <feature var='urn:xmpp:jingle:1'/></query></iq>"
    ));
    let warnings = s.module_warnings();
    assert_eq!(warnings.len(), 1, "{:?}", s.events);
    assert!(
        warnings[0].contains("mallory@evil.example/x") && warnings[0].contains("nothing cached"),
        "{warnings:?}"
    );
    assert!(disco_events(&mut s).is_empty(), "nothing learned");
    assert_eq!(caps(&s).cached(CapsHash::Sha1, EXODUS_VER), None);
    assert!(!caps(&s).supports(&jid("mallory@evil.example/x"), "urn:xmpp:jingle:1"));
    // §5.4 3.9: another entity advertising that ver is asked, and its
    // honest answer is cached.
    let sent = s.sent();
    assert!(sent.contains("to='romeo@montague.lit/orchard'"), "{sent}");
    let id = attr(&sent, "<iq", "id");
    s.server(&format!(
        "<iq from='romeo@montague.lit/orchard' id='{id}' type='result'>{EXODUS}</iq>"
    ));
    assert_eq!(disco_events(&mut s).len(), 1);
    assert!(caps(&s).supports(&jid("mallory@evil.example/x"), MUC));
    assert!(!caps(&s).supports(&jid("mallory@evil.example/x"), "urn:xmpp:jingle:1"));
    // Mallory's same ver again: not asked (known), and no second warning.
    presence_with_caps(
        &mut s,
        "mallory@evil.example/x",
        "http://code.google.com/p/exodus",
        EXODUS_VER,
    );
    assert_eq!(s.sent(), "");
}

#[test]
fn ill_formed_spoofed_and_foreign_answers_are_not_cached() {
    let mut s = with_caps(Caps::new(NODE));
    // The preimage trick: "a<b" hashes like "a" and "b". An answer that
    // hashes right but uses the separator inside a feature is refused.
    let split = DiscoInfo::new([Identity::default()], ["a", "b"]);
    let ver = verification_string(&split, CapsHash::Sha1);
    presence_with_caps(&mut s, "mallory@evil.example/x", "urn:evil", &ver);
    let id = attr(&s.sent(), "<iq", "id");
    s.events.clear();
    s.server(&format!(
        "<iq from='mallory@evil.example/x' id='{id}' type='result'>\
         <query xmlns='http://jabber.org/protocol/disco#info'>\
         <identity category='client' type='pc'/><feature var='a&lt;b'/></query></iq>"
    ));
    assert_eq!(s.module_warnings().len(), 1, "{:?}", s.events);
    assert_eq!(caps(&s).cached(CapsHash::Sha1, &ver), None);

    // An answer from another address than the one asked: the core drops it.
    presence_with_caps(
        &mut s,
        "romeo@montague.lit/orchard",
        "http://code.google.com/p/exodus",
        EXODUS_VER,
    );
    let id = attr(&s.sent(), "<iq", "id");
    s.events.clear();
    s.server(&format!(
        "<iq from='mallory@evil.example/x' id='{id}' type='result'>{EXODUS}</iq>"
    ));
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::Warning(w) if w.kind == WarningKind::SpoofedIqResponse)));
    assert_eq!(caps(&s).cached(CapsHash::Sha1, EXODUS_VER), None);

    // Legacy caps (no hash) and hashes other than SHA-1: not asked.
    s.server("<presence from='old@example.net/x'><c xmlns='http://jabber.org/protocol/caps' node='http://old' ver='1.0'/></presence>");
    s.server("<presence from='new@example.net/x'><c xmlns='http://jabber.org/protocol/caps' hash='sha-256' node='http://new' ver='abc='/></presence>");
    assert_eq!(s.sent(), "");
    // No ver: a warning, nothing asked.
    s.events.clear();
    s.server("<presence from='odd@example.net/x'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='http://odd'/></presence>");
    assert_eq!((s.sent(), s.module_warnings().len()), (String::new(), 1));
}

#[test]
fn queries_are_bounded_and_the_waiting_get_their_turn() {
    let limits = CapsLimits {
        queries: 2,
        ..CapsLimits::default()
    };
    let mut s = with_caps(Caps::new(NODE).limits(limits));
    for i in 0..5 {
        presence_with_caps(
            &mut s,
            &format!("c{i}@example.net/x"),
            "urn:n",
            &format!("v{i}"),
        );
    }
    let mut sent = s.sent();
    assert_eq!(sent.matches("<iq").count(), 2, "{sent}");
    assert!(
        sent.contains("to='c0@") && sent.contains("to='c1@"),
        "{sent}"
    );
    // Each answer (here errors) frees a slot for the next, in turn.
    for i in 0..5 {
        sent.push_str(&s.sent());
        assert_eq!(sent.matches("<iq").count(), (i + 2).min(5), "{sent}");
        let at = sent
            .find(&format!("to='c{i}@example.net/x'"))
            .expect("asked in turn");
        let id = attr(&sent[at - 4..], "<iq", "id");
        s.server(&format!(
            "<iq from='c{i}@example.net/x' id='{id}' type='error'><error type='cancel'>\
             <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        ));
    }
    assert_eq!(s.sent(), "", "nothing left to ask");
    assert_eq!(caps(&s).entities_len(), 5);
}

#[test]
fn the_cache_and_the_table_of_entities_are_bounded() {
    let limits = CapsLimits {
        cache: 3,
        entities: 4,
        ..CapsLimits::default()
    };
    let mut s = with_caps(Caps::new(NODE).limits(limits));
    // Five entities, each with its own honest ver.
    let mut learned = Vec::new();
    for i in 0..5 {
        let info = DiscoInfo::new([Identity::new("client", "pc")], [format!("urn:f{i}")]);
        let ver = verification_string(&info, CapsHash::Sha1);
        let who = format!("c{i}@example.net/x");
        presence_with_caps(&mut s, &who, "urn:n", &ver);
        let id = attr(&s.sent(), "<iq", "id");
        s.server(&format!(
            "<iq from='{who}' id='{id}' type='result'>{}</iq>",
            info.to_element(None).to_xml()
        ));
        learned.extend(disco_events(&mut s));
        assert!(caps(&s).cache_len() <= 3);
        assert!(caps(&s).entities_len() <= 4);
    }
    assert_eq!(learned.len(), 5, "each was verified and reported");
    assert_eq!((caps(&s).cache_len(), caps(&s).entities_len()), (3, 4));
    // The least recently seen went first: our own ver and c0's and c1's.
    assert_eq!(caps(&s).ver_of(&jid("c0@example.net/x")), None);
    assert!(caps(&s).supports(&jid("c4@example.net/x"), "urn:f4"));
    assert!(!caps(&s).supports(&jid("c1@example.net/x"), "urn:f1"));
    // A huge (but honest) answer is not cached.
    let big = DiscoInfo::new(
        [Identity::new("client", "pc")],
        (0..1000).map(|i| format!("urn:xmpp:feature:with:a:rather:long:name:{i}")),
    );
    let ver = verification_string(&big, CapsHash::Sha1);
    presence_with_caps(&mut s, "big@example.net/x", "urn:n", &ver);
    let id = attr(&s.sent(), "<iq", "id");
    s.events.clear();
    s.server(&format!(
        "<iq from='big@example.net/x' id='{id}' type='result'>{}</iq>",
        big.to_element(None).to_xml()
    ));
    assert_eq!(s.module_warnings().len(), 1);
    assert_eq!(caps(&s).cached(CapsHash::Sha1, &ver), None);
}

#[test]
fn a_stored_cache_is_verified_and_answers_without_asking() {
    let exodus = DiscoInfo::new(
        [Identity::new("client", "pc").with_name("Exodus 0.9.1")],
        [CAPS, INFO, ITEMS, MUC],
    );
    let forged = DiscoInfo::new([Identity::new("client", "pc")], ["urn:xmpp:jingle:1"]);
    let stored = [
        (CapsHash::Sha1, EXODUS_VER.to_string(), exodus.clone()),
        (CapsHash::Sha1, "forged=".to_string(), forged),
    ];
    let mut s = with_caps(Caps::with_cache(NODE, stored));
    assert_eq!(caps(&s).cached(CapsHash::Sha1, EXODUS_VER), Some(&exodus));
    assert_eq!(caps(&s).cached(CapsHash::Sha1, "forged="), None);
    presence_with_caps(
        &mut s,
        "romeo@montague.lit/orchard",
        "http://code.google.com/p/exodus",
        EXODUS_VER,
    );
    assert_eq!(s.sent(), "", "known from the stored cache");
    assert!(caps(&s).supports(&jid("romeo@montague.lit/orchard"), MUC));
    // What an application stores: every entry, ours included.
    let own = caps(&s).own_ver().expect("online").to_string();
    let mut vers: Vec<&str> = caps(&s).cache_entries().map(|(_, v, _)| v).collect();
    vers.sort_unstable();
    let mut want = vec![EXODUS_VER, own.as_str()];
    want.sort_unstable();
    assert_eq!(vers, want);
}

/// A module that unwraps `<wrapped/>` presences from messages.
struct Unwrapper;

impl Module for Unwrapper {
    fn name(&self) -> &'static str {
        "unwrapper"
    }

    fn handle_stanza(
        &mut self,
        cx: &mut ModuleContext<'_>,
        stanza: &xmpp_proto::stanza::Stanza,
    ) -> xmpp_proto::Handled {
        use xmpp_proto::stanza::Stanza;
        let Stanza::Message(m) = stanza else {
            return xmpp_proto::Handled::No;
        };
        let Some(inner) = m
            .payload("urn:example:wrap", "wrapped")
            .and_then(|w| w.children().next())
        else {
            return xmpp_proto::Handled::No;
        };
        if let Ok(inner) = Stanza::parse(inner.clone()) {
            cx.dispatch(inner, xmpp_proto::Provenance::Forwarded("unwrapper"));
        }
        xmpp_proto::Handled::Yes
    }
}

#[test]
fn caps_in_a_presence_unwrapped_from_another_stanza_are_not_read() {
    let mut s = online(|c| {
        c.register(Unwrapper).expect("register");
        c.register(Caps::new(NODE)).expect("register");
    });
    s.server(&format!(
        "<message from='mallory@evil.example/x'><wrapped xmlns='urn:example:wrap'>\
         <presence xmlns='jabber:client' from='romeo@montague.lit/orchard'>\
         <c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='urn:n' ver='{EXODUS_VER}'/>\
         </presence></wrapped></message>"
    ));
    assert_eq!(s.sent(), "", "nothing asked");
    assert_eq!(caps(&s).ver_of(&jid("romeo@montague.lit/orchard")), None);
}

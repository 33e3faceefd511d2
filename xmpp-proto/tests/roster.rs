//! The roster module (RFC 6121 §2) as transcripts: what the server sends,
//! what the client answers, what the application is told. Pushes from
//! anyone but our server are refused byte for byte.

use xmpp_test_support::session;

use std::collections::BTreeMap;

use proptest::prelude::*;
use session::{config, Session};
use xmpp_proto::roster::{Roster, RosterChange, RosterEvent, RosterItem, Subscription};
use xmpp_proto::stanza::BareJid;
use xmpp_proto::{Event, WarningKind};

const VER: &str = "<ver xmlns='urn:xmpp:features:rosterver'/>";

fn online(roster: Roster, features: &str) -> Session {
    let mut s = Session::login_with(config().build(), features, |c| {
        c.register(roster).expect("register")
    });
    s.events.clear();
    s
}

fn jid(s: &str) -> BareJid {
    s.parse().expect("jid")
}

/// The id of the last IQ the client sent.
fn last_id(sent: &str) -> String {
    let at = sent.rfind("<iq").expect("an iq");
    let rest = &sent[at..];
    let start = rest.find("id='").expect("id") + 4;
    rest[start..start + rest[start..].find('\'').expect("end")].to_string()
}

fn roster_events(s: &mut Session) -> Vec<RosterEvent> {
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::Roster(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn warnings(s: &Session) -> usize {
    s.events
        .iter()
        .filter(|e| matches!(e, Event::Warning(w) if w.kind == WarningKind::Module))
        .count()
}

fn items(s: &Session) -> Vec<RosterItem> {
    s.client
        .module::<Roster>()
        .expect("registered")
        .items()
        .cloned()
        .collect()
}

#[test]
fn a_new_session_fetches_the_roster_and_loads_it() {
    let mut s = online(Roster::new(), "");
    let sent = s.sent();
    assert!(
        sent.contains("<query xmlns='jabber:iq:roster'/>"),
        "no version without the feature: {sent}"
    );
    let id = last_id(&sent);
    s.server(&format!(
        "<iq type='result' id='{id}'><query xmlns='jabber:iq:roster'>\
         <item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group><group>Friends</group></item>\
         <item jid='nurse@example.com' subscription='none' ask='subscribe'/>\
         <item jid='bad@example.com/resource'/>\
         </query></iq>"
    ));
    let events = roster_events(&mut s);
    let romeo = RosterItem::new(jid("romeo@example.net"))
        .with_name("Romeo")
        .with_groups(["Friends"]);
    let romeo = RosterItem {
        subscription: Subscription::Both,
        ..romeo
    };
    let nurse = RosterItem {
        ask: true,
        ..RosterItem::new(jid("nurse@example.com"))
    };
    assert_eq!(
        events,
        [
            RosterEvent::Loaded {
                ver: None,
                items: vec![nurse.clone(), romeo.clone()],
            },
            RosterEvent::Done { id, result: Ok(()) },
        ]
    );
    assert_eq!(items(&s), [nurse, romeo]);
}

#[test]
fn a_stored_version_that_is_current_gets_unchanged_and_keeps_the_items() {
    let stored = vec![RosterItem::new(jid("romeo@example.net")).with_name("Romeo")];
    let mut s = online(Roster::with_stored(Some("v7".into()), stored.clone()), VER);
    let sent = s.sent();
    assert!(
        sent.contains("<query xmlns='jabber:iq:roster' ver='v7'/>"),
        "{sent}"
    );
    let id = last_id(&sent);
    s.server(&format!("<iq type='result' id='{id}'/>"));
    assert_eq!(
        roster_events(&mut s),
        [
            RosterEvent::Unchanged {
                ver: Some("v7".into())
            },
            RosterEvent::Done { id, result: Ok(()) },
        ]
    );
    assert_eq!(items(&s), stored);
    // Then a push with the next version.
    s.server(
        "<iq type='set' id='p1'><query xmlns='jabber:iq:roster' ver='v8'>\
         <item jid='romeo@example.net' subscription='remove'/></query></iq>",
    );
    assert!(s.sent().contains("id='p1' type='result'"));
    assert_eq!(
        roster_events(&mut s),
        [RosterEvent::Changed {
            change: RosterChange::Removed(jid("romeo@example.net")),
            ver: Some("v8".into())
        }]
    );
    assert_eq!(
        s.client.module::<Roster>().expect("registered").version(),
        Some("v8")
    );
}

#[test]
fn versioning_without_a_copy_starts_with_an_empty_version() {
    let mut s = online(Roster::new(), VER);
    let sent = s.sent();
    assert!(
        sent.contains("<query xmlns='jabber:iq:roster' ver=''/>"),
        "{sent}"
    );
}

#[test]
fn pushes_from_our_server_are_applied_and_answered() {
    let mut s = online(Roster::new().fetch_on_online(false), "");
    assert!(s.sent().is_empty(), "no fetch asked for");
    for from in ["", " from='juliet@example.com'"] {
        s.server(&format!(
            "<iq type='set' id='p'{from}><query xmlns='jabber:iq:roster'>\
             <item jid='romeo@example.net' name='R'/></query></iq>"
        ));
        let reply = s.sent();
        assert!(
            reply.contains("type='result'") && reply.contains("id='p'"),
            "{reply}"
        );
        assert_eq!(items(&s).len(), 1);
    }
    assert_eq!(roster_events(&mut s).len(), 2);
}

#[test]
fn pushes_from_anyone_else_are_refused_and_change_nothing() {
    let mut s = online(Roster::new().fetch_on_online(false), "");
    for from in [
        "juliet@example.com/other",   // another resource of our account
        "juliet@example.com/balcony", // our own full JID: a client, not the server
        "romeo@example.net",
        "example.com",
    ] {
        s.events.clear();
        s.server(&format!(
            "<iq type='set' id='evil' from='{from}'><query xmlns='jabber:iq:roster'>\
             <item jid='mallory@evil.example' name='trust me'/></query></iq>"
        ));
        let reply = s.sent();
        assert!(
            reply.contains("type='error'") && reply.contains("<service-unavailable"),
            "{from}: {reply}"
        );
        assert_eq!(warnings(&s), 1, "{from}");
        assert!(items(&s).is_empty(), "{from}: the roster changed");
        assert!(roster_events(&mut s).is_empty());
    }
}

#[test]
fn malformed_pushes_are_bad_requests() {
    let mut s = online(Roster::new().fetch_on_online(false), "");
    for body in [
        "",
        "<item jid='a@example.net'/><item jid='b@example.net'/>",
        "<item/>",
        "<item jid='a@example.net/phone'/>",
        "<item jid='@@'/>",
        "<item jid='a@example.net' subscription='sideways'/>",
    ] {
        s.events.clear();
        s.server(&format!(
            "<iq type='set' id='m'><query xmlns='jabber:iq:roster'>{body}</query></iq>"
        ));
        let reply = s.sent();
        assert!(reply.contains("<bad-request"), "{body}: {reply}");
        assert!(items(&s).is_empty(), "{body}");
        assert_eq!(warnings(&s), 1, "{body}");
    }
}

#[test]
fn set_and_remove_send_what_rfc_6121_says_and_report_their_outcome() {
    let mut s = online(Roster::new().fetch_on_online(false), "");
    let now = s.now;
    let item = RosterItem {
        subscription: Subscription::Both, // never sent by a client
        ask: true,
        ..RosterItem::new(jid("romeo@example.net"))
            .with_name("Romeo")
            .with_groups(["Friends", "Verona"])
    };
    let id = s
        .client
        .with_module(now, |r: &mut Roster, cx| r.set(cx, item))
        .expect("registered")
        .expect("online");
    let sent = s.sent();
    assert!(
        sent.contains(&format!("<iq id='{id}' type='set'><query xmlns='jabber:iq:roster'><item jid='romeo@example.net' name='Romeo'><group>Friends</group><group>Verona</group></item></query></iq>")),
        "{sent}"
    );
    s.server(&format!("<iq type='result' id='{id}'/>"));
    assert_eq!(
        roster_events(&mut s),
        [RosterEvent::Done { id, result: Ok(()) }]
    );
    let id = s
        .client
        .with_module(now, |r: &mut Roster, cx| {
            r.remove(cx, &jid("romeo@example.net"))
        })
        .expect("registered")
        .expect("online");
    assert!(s
        .sent()
        .contains("<item jid='romeo@example.net' subscription='remove'/>"));
    s.server(&format!(
        "<iq type='error' id='{id}'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let events = roster_events(&mut s);
    assert!(
        matches!(&events[..], [RosterEvent::Done { id: got, result: Err(_) }] if *got == id),
        "{events:?}"
    );
}

#[test]
fn a_server_cannot_grow_the_roster_without_bound() {
    let mut s = online(Roster::new().max_items(2), "");
    let id = last_id(&s.sent());
    s.server(&format!(
        "<iq type='result' id='{id}'><query xmlns='jabber:iq:roster'>\
         <item jid='a@example.net'/><item jid='b@example.net'/><item jid='c@example.net'/>\
         </query></iq>"
    ));
    assert_eq!(items(&s).len(), 2, "the roster kept up to the limit");
    assert_eq!(warnings(&s), 1);
    s.events.clear();
    // A push of a new item past the limit is refused and changes nothing...
    s.server("<iq type='set' id='p1'><query xmlns='jabber:iq:roster'><item jid='d@example.net'/></query></iq>");
    let reply = s.sent();
    assert!(reply.contains("<resource-constraint"), "{reply}");
    assert_eq!(items(&s).len(), 2);
    assert_eq!(warnings(&s), 1);
    // ...while updates and removals of kept items go on.
    s.server("<iq type='set' id='p2'><query xmlns='jabber:iq:roster'><item jid='a@example.net' name='A'/></query></iq>");
    assert!(s.sent().contains("id='p2' type='result'"));
    s.server("<iq type='set' id='p3'><query xmlns='jabber:iq:roster'><item jid='b@example.net' subscription='remove'/></query></iq>");
    assert!(s.sent().contains("id='p3' type='result'"));
    assert_eq!(items(&s).len(), 1);
    assert_eq!(items(&s)[0].name.as_deref(), Some("A"));
}

#[derive(Clone, Debug)]
enum Op {
    Set(usize, Option<String>, Vec<String>),
    Remove(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..5usize, proptest::option::of("[a-z]{1,6}"), proptest::collection::vec("[a-z]{1,3}", 0..3))
            .prop_map(|(i, n, g)| Op::Set(i, n, g)),
        1 => (0..5usize).prop_map(Op::Remove),
    ]
}

proptest! {
    // Each case logs in (SCRAM in a debug build): a few dozen cases.
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Any sequence of pushes leaves the module's roster equal to a plain
    /// map updated by the same pushes, and each push is answered.
    #[test]
    fn random_pushes_match_a_simple_model(ops in proptest::collection::vec(op(), 1..30)) {
        let mut s = online(Roster::new().fetch_on_online(false), VER);
        let mut model: BTreeMap<BareJid, RosterItem> = BTreeMap::new();
        for (n, op) in ops.iter().enumerate() {
            let body = match op {
                Op::Set(i, name, groups) => {
                    let j = jid(&format!("c{i}@example.net"));
                    let item = RosterItem::new(j.clone()).with_groups(groups.clone());
                    let item = RosterItem { name: name.clone(), ..item };
                    let mut xml = format!("<item jid='{j}'");
                    if let Some(n) = name {
                        xml.push_str(&format!(" name='{n}'"));
                    }
                    xml.push('>');
                    for g in groups {
                        xml.push_str(&format!("<group>{g}</group>"));
                    }
                    xml.push_str("</item>");
                    model.insert(j, item);
                    xml
                }
                Op::Remove(i) => {
                    let j = jid(&format!("c{i}@example.net"));
                    model.remove(&j);
                    format!("<item jid='{j}' subscription='remove'/>")
                }
            };
            s.server(&format!(
                "<iq type='set' id='p{n}'><query xmlns='jabber:iq:roster' ver='v{n}'>{body}</query></iq>"
            ));
            let reply = s.sent();
            let answered = reply.contains(&format!("id='p{n}'")) && reply.contains("type='result'");
            prop_assert!(answered, "{}", reply);
        }
        let got: Vec<RosterItem> = items(&s);
        let want: Vec<RosterItem> = model.into_values().collect();
        prop_assert_eq!(got, want);
        let ver = s.client.module::<Roster>().expect("registered").version().map(str::to_string);
        prop_assert_eq!(ver, Some(format!("v{}", ops.len() - 1)));
    }
}

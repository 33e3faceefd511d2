//! The blocking module (XEP-0191) as transcripts: the list fetched at
//! login, block and unblock requests, the server's pushes, and the attacker
//! who is not our server: a push from anyone else is refused byte for byte
//! and changes nothing. The list is bounded.

use xmpp_test_support::session;

use session::{config, Session};
use xmpp_proto::blocking::{BlockError, Blocking, BlockingEvent};
use xmpp_proto::stanza::{DefinedCondition, Jid};
use xmpp_proto::testing::attr_after;
use xmpp_proto::{Event, IqFailure, WarningKind};

const NS: &str = "urn:xmpp:blocking";

fn jid(s: &str) -> Jid {
    s.parse().expect("jid")
}

/// Online with `blocking` registered; the login's list request, if any,
/// is answered with `items` (JIDs).
fn online(blocking: Blocking, items: &[&str]) -> Session {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(blocking).expect("register")
    });
    let sent = s.sent();
    if let Some(id) = attr_after(&sent, "<iq", "id") {
        let items: String = items.iter().map(|j| format!("<item jid='{j}'/>")).collect();
        s.server(&format!(
            "<iq type='result' id='{id}'><blocklist xmlns='{NS}'>{items}</blocklist></iq>"
        ));
    }
    s.events.clear();
    s
}

fn blocking_events(s: &mut Session) -> Vec<BlockingEvent> {
    s.drain();
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::Blocking(b) => Some(b),
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

fn items(s: &Session) -> Vec<String> {
    s.client
        .module::<Blocking>()
        .expect("registered")
        .items()
        .map(|j| j.to_string())
        .collect()
}

#[test]
fn a_new_session_fetches_the_block_list() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Blocking::new()).expect("register")
    });
    let sent = s.sent();
    let id = attr_after(&sent, "<iq", "id").expect("a request");
    assert_eq!(
        sent,
        format!("<iq id='{id}' type='get'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
    );
    assert_eq!(
        s.client
            .module::<Blocking>()
            .expect("registered")
            .is_supported(),
        None
    );
    s.server(&format!(
        "<iq type='result' id='{id}'><blocklist xmlns='urn:xmpp:blocking'>\
         <item jid='romeo@montague.net'/><item jid='iago@shakespeare.lit'/>\
         <item jid='romeo@montague.net'/><item jid='not a jid@@'/></blocklist></iq>"
    ));
    assert_eq!(warnings(&s), 1, "the invalid item: {:?}", s.events);
    assert_eq!(
        blocking_events(&mut s),
        [
            BlockingEvent::List(vec![jid("iago@shakespeare.lit"), jid("romeo@montague.net")]),
            BlockingEvent::Done { id, result: Ok(()) },
        ]
    );
    assert_eq!(items(&s), ["iago@shakespeare.lit", "romeo@montague.net"]);
    let module = s.client.module::<Blocking>().expect("registered");
    assert_eq!(module.is_supported(), Some(true));
    assert!(module.contains(&jid("romeo@montague.net")));
}

#[test]
fn a_server_without_blocking_answers_with_an_error() {
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Blocking::new()).expect("register")
    });
    let id = attr_after(&s.sent(), "<iq", "id").expect("a request");
    s.server(&format!(
        "<iq type='error' id='{id}'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let events = blocking_events(&mut s);
    assert!(
        matches!(
            &events[..],
            [BlockingEvent::Done { result: Err(IqFailure::Error(e)), .. }]
                if e.condition == DefinedCondition::ServiceUnavailable
        ),
        "{events:?}"
    );
    assert_eq!(
        s.client
            .module::<Blocking>()
            .expect("registered")
            .is_supported(),
        Some(false)
    );
    assert_eq!(warnings(&s), 0, "not supporting it is no offence");
}

#[test]
fn block_and_unblock_requests_and_the_pushes_that_change_the_list() {
    let mut s = online(Blocking::new(), &[]);
    let romeo = jid("romeo@montague.net");
    let id = s
        .client
        .with_module(s.now, |b: &mut Blocking, cx| b.block(cx, [romeo.clone()]))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq id='{id}' type='set'><block xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></block></iq>"
        )
    );
    s.server(&format!("<iq type='result' id='{id}'/>"));
    assert_eq!(
        blocking_events(&mut s),
        [BlockingEvent::Done { id, result: Ok(()) }]
    );
    assert!(items(&s).is_empty(), "the change comes with the push");

    // §3.3: the server pushes the change, without 'from'.
    s.server(
        "<iq type='set' id='push1' to='juliet@example.com/balcony'><block xmlns='urn:xmpp:blocking'>\
         <item jid='romeo@montague.net'/></block></iq>",
    );
    assert_eq!(s.sent(), "<iq id='push1' type='result'/>");
    assert_eq!(
        blocking_events(&mut s),
        [BlockingEvent::Blocked(vec![romeo.clone()])]
    );
    assert_eq!(items(&s), ["romeo@montague.net"]);

    // §3.4: unblock, and its push, from our bare JID this time.
    let id = s
        .client
        .with_module(s.now, |b: &mut Blocking, cx| b.unblock(cx, [romeo.clone()]))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!(
            "<iq id='{id}' type='set'><unblock xmlns='urn:xmpp:blocking'><item jid='romeo@montague.net'/></unblock></iq>"
        )
    );
    s.server(
        "<iq type='set' id='push2' from='juliet@example.com'><unblock xmlns='urn:xmpp:blocking'>\
         <item jid='romeo@montague.net'/></unblock></iq>",
    );
    assert_eq!(
        s.sent(),
        "<iq to='juliet@example.com' id='push2' type='result'/>"
    );
    assert_eq!(
        blocking_events(&mut s),
        [BlockingEvent::Unblocked(vec![romeo])]
    );
    assert!(items(&s).is_empty());
}

#[test]
fn unblocking_everything() {
    let mut s = online(Blocking::new(), &["a@example.net", "b@example.net"]);
    let id = s
        .client
        .with_module(s.now, |b: &mut Blocking, cx| b.unblock(cx, []))
        .expect("registered")
        .expect("sent");
    // §3.5: an empty unblock.
    assert_eq!(
        s.sent(),
        format!("<iq id='{id}' type='set'><unblock xmlns='urn:xmpp:blocking'/></iq>")
    );
    s.server("<iq type='set' id='push3'><unblock xmlns='urn:xmpp:blocking'/></iq>");
    assert_eq!(s.sent(), "<iq id='push3' type='result'/>");
    assert_eq!(blocking_events(&mut s), [BlockingEvent::UnblockedAll]);
    assert!(items(&s).is_empty());
    // Blocking nobody is not a request: refused before anything is sent.
    let refused = s
        .client
        .with_module(s.now, |b: &mut Blocking, cx| b.block(cx, []))
        .expect("registered");
    assert_eq!(refused, Err(BlockError::NoJid));
    assert_eq!(s.sent(), "");
}

#[test]
fn pushes_from_anyone_but_our_server_are_refused_and_change_nothing() {
    let mut s = online(Blocking::new(), &["romeo@montague.net"]);
    for from in [
        "juliet@example.com/other",   // another resource of our account
        "juliet@example.com/balcony", // our own full JID: a client, not the server
        "mallory@evil.example",       // another account
        "example.com",                // not the account either
    ] {
        for push in [
            // Unblock everything: Mallory could then write to us.
            format!("<unblock xmlns='{NS}'/>"),
            // Block someone we want to hear from.
            format!("<block xmlns='{NS}'><item jid='nurse@example.com'/></block>"),
        ] {
            s.events.clear();
            s.server(&format!(
                "<iq type='set' id='evil' from='{from}' to='juliet@example.com/balcony'>{push}</iq>"
            ));
            assert_eq!(
                s.sent(),
                format!(
                    "<iq to='{from}' id='evil' type='error'><error type='cancel'>\
                     <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
                ),
                "{from}"
            );
            assert_eq!(warnings(&s), 1, "{from}");
            assert!(blocking_events(&mut s).is_empty(), "{from}");
            assert_eq!(
                items(&s),
                ["romeo@montague.net"],
                "{from}: the list changed"
            );
        }
    }
}

#[test]
fn the_list_is_bounded() {
    // A fetched list past the limit is cut, with a warning.
    let mut s = Session::login_with(config().build(), "", |c| {
        c.register(Blocking::new().max_items(2)).expect("register")
    });
    let id = attr_after(&s.sent(), "<iq", "id").expect("a request");
    s.server(&format!(
        "<iq type='result' id='{id}'><blocklist xmlns='{NS}'>\
         <item jid='a@example.net'/><item jid='b@example.net'/><item jid='c@example.net'/>\
         </blocklist></iq>"
    ));
    assert_eq!(warnings(&s), 1);
    assert_eq!(items(&s).len(), 2);
    s.events.clear();

    // A push of a new JID past it is refused whole, and changes nothing.
    let kept = items(&s);
    s.server(&format!(
        "<iq type='set' id='full'><block xmlns='{NS}'><item jid='{}'/><item jid='z@example.net'/></block></iq>",
        kept[0]
    ));
    assert_eq!(
        s.sent(),
        "<iq id='full' type='error'><error type='wait'>\
         <resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    );
    assert_eq!(warnings(&s), 1);
    assert!(blocking_events(&mut s).is_empty());
    assert_eq!(items(&s), kept);

    // Blocking what is blocked already grows nothing: accepted.
    s.server(&format!(
        "<iq type='set' id='again'><block xmlns='{NS}'><item jid='{}'/></block></iq>",
        kept[1]
    ));
    assert_eq!(s.sent(), "<iq id='again' type='result'/>");
    assert_eq!(items(&s), kept);
}

#[test]
fn malformed_pushes_are_bad_requests_and_change_nothing() {
    let mut s = online(Blocking::new(), &["romeo@montague.net"]);
    for (id, push) in [
        // One invalid item spoils the push: nothing of it is applied.
        (
            "p1",
            format!("<iq type='set' id='p1'><block xmlns='{NS}'><item jid='ok@example.net'/><item jid='@@'/></block></iq>"),
        ),
        (
            "p2",
            format!("<iq type='set' id='p2'><unblock xmlns='{NS}'><item/></unblock></iq>"),
        ),
        // A block of nothing.
        ("p3", format!("<iq type='set' id='p3'><block xmlns='{NS}'/></iq>")),
        // Pushes are sets.
        ("p4", format!("<iq type='get' id='p4'><unblock xmlns='{NS}'/></iq>")),
    ] {
        s.events.clear();
        s.server(&push);
        assert_eq!(
            s.sent(),
            format!(
                "<iq id='{id}' type='error'><error type='modify'>\
                 <bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
            )
        );
        assert!(blocking_events(&mut s).is_empty(), "{id}");
        assert_eq!(items(&s), ["romeo@montague.net"], "{id}");
    }
}

#[test]
fn fetching_can_be_left_to_the_application() {
    let mut s = online(Blocking::new().fetch_on_online(false), &[]);
    assert_eq!(s.sent(), "", "no request");
    let id = s
        .client
        .with_module(s.now, |b: &mut Blocking, cx| b.request_list(cx))
        .expect("registered")
        .expect("sent");
    assert_eq!(
        s.sent(),
        format!("<iq id='{id}' type='get'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
    );
    s.server(&format!(
        "<iq type='result' id='{id}'><blocklist xmlns='{NS}'/></iq>"
    ));
    assert_eq!(
        blocking_events(&mut s),
        [
            BlockingEvent::List(Vec::new()),
            BlockingEvent::Done { id, result: Ok(()) }
        ]
    );
}

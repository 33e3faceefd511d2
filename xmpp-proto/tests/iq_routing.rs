//! IQ routing while online: responses accepted only from the address the
//! request went to (RFC 6120 §8.2.3 — response spoofing), timeouts,
//! `service-unavailable` for unhandled requests (§8.4), pings (XEP-0199),
//! and stanzas with invalid addresses dropped with a warning.

use xmpp_test_support::session;

use std::time::Duration;

use session::{config, Session};
use xmpp_proto::stanza::{Iq, Jid};
use xmpp_proto::xml::Element;
use xmpp_proto::{Event, IqFailure, WarningKind};

fn warnings(s: &Session, kind: WarningKind) -> usize {
    s.events
        .iter()
        .filter(|e| matches!(e, Event::Warning(w) if w.kind == kind))
        .count()
}

fn responses(s: &Session) -> Vec<(String, bool)> {
    s.events
        .iter()
        .filter_map(|e| match e {
            Event::IqResponse { id, result } => Some((id.clone(), result.is_ok())),
            _ => None,
        })
        .collect()
}

fn version_query() -> Element {
    Element::new("jabber:iq:version", "query")
}

#[test]
fn response_from_the_queried_entity_is_accepted() {
    let mut s = Session::login(config().build());
    let romeo: Jid = "romeo@example.net/orchard".parse().unwrap();
    let id = s
        .client
        .send_iq(s.now, Iq::get(Some(romeo), "v1", version_query()))
        .unwrap();
    assert_eq!(id, "v1");
    assert!(s
        .sent()
        .contains("<iq to='romeo@example.net/orchard' id='v1' type='get'>"));
    s.server("<iq from='romeo@example.net/orchard' to='juliet@example.com/balcony' id='v1' type='result'><query xmlns='jabber:iq:version'><name>x</name></query></iq>");
    assert_eq!(responses(&s), [("v1".to_string(), true)]);
}

#[test]
fn spoofed_response_is_refused_and_the_request_stays_pending() {
    let mut s = Session::login(config().build());
    let romeo: Jid = "romeo@example.net/orchard".parse().unwrap();
    s.client
        .send_iq(s.now, Iq::get(Some(romeo), "v1", version_query()))
        .unwrap();
    s.sent();
    // Mallory guesses the id.
    s.server("<iq from='mallory@evil.example/x' id='v1' type='result'/>");
    // The server itself may not answer for romeo either.
    s.server("<iq id='v1' type='result'/>");
    assert_eq!(warnings(&s, WarningKind::SpoofedIqResponse), 2);
    assert!(responses(&s).is_empty());
    s.server("<iq from='romeo@example.net/orchard' id='v1' type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    let got = s.events.iter().find_map(|e| match e {
        Event::IqResponse {
            result: Err(IqFailure::Error(err)),
            ..
        } => Some(err.condition.name()),
        _ => None,
    });
    assert_eq!(got, Some("item-not-found"));
}

#[test]
fn request_to_our_account_accepts_the_server_answering() {
    let mut s = Session::login(config().build());
    s.client
        .send_iq(
            s.now,
            Iq::get(None, "r1", Element::new("jabber:iq:roster", "query")),
        )
        .unwrap();
    s.server("<iq id='r1' type='result'/>");
    s.client
        .send_iq(
            s.now,
            Iq::get(None, "r2", Element::new("jabber:iq:roster", "query")),
        )
        .unwrap();
    s.server("<iq from='juliet@example.com' id='r2' type='result'/>");
    s.client
        .send_iq(
            s.now,
            Iq::get(None, "r3", Element::new("jabber:iq:roster", "query")),
        )
        .unwrap();
    s.server("<iq from='romeo@example.net' id='r3' type='result'/>");
    assert_eq!(responses(&s), [("r1".into(), true), ("r2".into(), true)]);
    assert_eq!(warnings(&s, WarningKind::SpoofedIqResponse), 1);
}

#[test]
fn unknown_response_ids_are_ignored_never_answered() {
    let mut s = Session::login(config().build());
    s.server("<iq from='example.com' id='nope' type='result'/>");
    s.server("<iq from='example.com' id='nope2' type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
    assert_eq!(warnings(&s, WarningKind::UnknownIqResponse), 2);
    assert_eq!(s.sent(), "", "error and result IQs are never answered");
}

#[test]
fn requests_time_out() {
    let mut s = Session::login(config().build());
    let romeo: Jid = "romeo@example.net/orchard".parse().unwrap();
    s.client
        .send_iq(s.now, Iq::get(Some(romeo), "t1", version_query()))
        .unwrap();
    assert!(s.deadline.is_some());
    s.advance(Duration::from_secs(31));
    assert!(s.events.iter().any(
        |e| matches!(e, Event::IqResponse { id, result: Err(IqFailure::Timeout) } if id == "t1")
    ));
    s.events.clear();
    s.server("<iq from='romeo@example.net/orchard' id='t1' type='result'/>");
    assert_eq!(
        warnings(&s, WarningKind::UnknownIqResponse),
        1,
        "a late answer is not delivered"
    );
}

#[test]
fn unhandled_requests_get_service_unavailable() {
    let mut s = Session::login(config().build());
    s.server("<iq from='romeo@example.net/orchard' to='juliet@example.com/balcony' id='q1' type='get'><query xmlns='urn:example:unknown'/></iq>");
    let reply = s.sent();
    assert!(
        reply.contains("to='romeo@example.net/orchard'")
            && reply.contains("id='q1'")
            && reply.contains("type='error'"),
        "{reply}"
    );
    assert!(
        reply.contains("<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"),
        "{reply}"
    );
}

#[test]
fn pings_are_answered() {
    let mut s = Session::login(config().build());
    s.server("<iq from='example.com' to='juliet@example.com/balcony' id='p1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
    let reply = s.sent();
    assert!(
        reply.contains("id='p1'") && reply.contains("type='result'"),
        "{reply}"
    );
}

#[test]
fn stanzas_with_invalid_addresses_are_dropped_with_a_warning() {
    let mut s = Session::login(config().build());
    s.server("<message from='a@b@c' to='juliet@example.com'><body>x</body></message>");
    s.server(
        "<message from='romeo@example.net' to='someone@else.example'><body>x</body></message>",
    );
    s.server("<iq from='@example.com' id='x' type='get'><query xmlns='jabber:iq:version'/></iq>");
    assert_eq!(
        warnings(&s, WarningKind::InvalidStanza),
        3,
        "{:?}",
        s.events
    );
    assert!(!s.events.iter().any(|e| matches!(e, Event::Message(_))));
    assert_eq!(s.sent(), "");
}

#[test]
fn a_message_with_two_bodies_in_one_language_keeps_the_first_with_a_warning() {
    // RFC 6121 §5.2.3 forbids it; dropping the whole message would lose it.
    let mut s = Session::login(config().build());
    s.server(
        "<message from='romeo@example.net/orchard' type='chat'>\
         <body>Art thou not Romeo?</body><body>and a Montague?</body></message>",
    );
    let bodies: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.body.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, [Some("Art thou not Romeo?".to_string())]);
    assert_eq!(
        warnings(&s, WarningKind::InvalidStanza),
        1,
        "{:?}",
        s.events
    );
    let warned_first = s.events.iter().position(|e| matches!(e, Event::Warning(_)))
        < s.events.iter().position(|e| matches!(e, Event::Message(_)));
    assert!(warned_first, "the warning, then the message it is about");
}

#[test]
fn messages_and_presences_become_events() {
    let mut s = Session::login(config().build());
    s.server("<message from='romeo@example.net/orchard' to='juliet@example.com/balcony' type='chat' id='m1'><body>Art thou not Romeo?</body></message><presence from='romeo@example.net/orchard'><show>away</show></presence>");
    let body = s.events.iter().find_map(|e| match e {
        Event::Message(m) => m.body.clone(),
        _ => None,
    });
    assert_eq!(body.as_deref(), Some("Art thou not Romeo?"));
    assert!(s.events.iter().any(|e| matches!(e, Event::Presence(_))));
}

#[test]
fn sending_before_online_is_refused() {
    let mut s = Session::new(config().build());
    let err = s
        .client
        .send(s.now, xmpp_proto::stanza::Presence::available());
    assert_eq!(err, Err(xmpp_proto::SendError::NotOnline));
}

#[test]
fn a_stanza_is_ours_when_addressed_to_our_bare_or_full_jid_in_any_spelling() {
    // RFC 6120 §10.5; the connection recognizes our JID byte for byte
    // without parsing it again, and compares parts, not strings.
    let mut s = Session::login(config().build());
    let ours = [
        "juliet@example.com/balcony",
        "juliet@example.com",
        "Juliet@EXAMPLE.com/balcony",
        "JULIET@example.com.",
    ];
    let not_ours = [
        "juliet@example.com/Balcony",
        "juliet@example.com/other",
        "romeo@example.com/balcony",
        "juliet@example.net/balcony",
        "example.com/balcony",
        "example.com",
        "juliet@example.com/balcony/x",
    ];
    for to in ours.iter().chain(&not_ours) {
        s.server(&format!(
            "<message from='romeo@example.net/orchard' to='{to}'><body>{to}</body></message>"
        ));
    }
    let bodies: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => m.body.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(bodies, ours);
    assert_eq!(
        warnings(&s, WarningKind::InvalidStanza),
        not_ours.len(),
        "{:?}",
        s.events
    );
}

#[test]
fn addresses_seen_again_parse_as_the_first_time() {
    // Non-ASCII senders go through the connection's cache of bare JIDs the
    // second time: the same addresses, parts included, and the same refusals.
    let mut s = Session::login(config().build());
    let froms = [
        "zoë@example.net/orchard",
        "zoë@example.net/orchard",
        "zoë@example.net/phone",
        "zoë@example.net",
        "Zoë@example.net/orchard",
        "zoë@example.net/",
        "李雷@capulet.lit/Dino.4fa1c2",
        "李雷@capulet.lit/Dino.4fa1c2",
    ];
    for from in froms {
        s.server(&format!(
            "<message from='{from}' to='juliet@example.com/balcony'><body>x</body></message>"
        ));
    }
    let got: Vec<Jid> = s
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => m.from.clone(),
            _ => None,
        })
        .collect();
    let expected: Vec<Jid> = froms.iter().filter_map(|f| f.parse().ok()).collect();
    assert_eq!(got, expected);
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(
            (g.node(), g.domain(), g.resource()),
            (e.node(), e.domain(), e.resource())
        );
    }
    assert_eq!(
        warnings(&s, WarningKind::InvalidStanza),
        1,
        "the empty resource"
    );
}

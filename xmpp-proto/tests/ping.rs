//! The ping module (XEP-0199) as transcripts: pings answered byte for byte,
//! pings asked for and their round trips, and the liveness check of the
//! connection with virtual time: a server that stops answering ends the
//! connection as a timeout (and a reconnect policy then reconnects).

use xmpp_test_support::session;

use std::time::Duration;

use session::{config, Session};
use xmpp_proto::ping::{Ping, PingEvent};
use xmpp_proto::stanza::{DefinedCondition, Jid};
use xmpp_proto::testing::attr_after;
use xmpp_proto::{DisconnectReason, Event, IqFailure, ReconnectPolicy, Timeouts, WarningKind};

fn timeouts() -> Timeouts {
    Timeouts {
        idle: Duration::from_secs(90),
        iq: Duration::from_secs(20),
        // Out of the way: these tests look at pings, not at whitespace.
        keepalive: Duration::from_secs(3600),
        ..Timeouts::default()
    }
}

fn online() -> Session {
    Session::login(config().timeouts(timeouts()).build())
}

fn jid(s: &str) -> Jid {
    s.parse().expect("jid")
}

fn pings(s: &mut Session) -> Vec<PingEvent> {
    s.drain();
    s.events
        .drain(..)
        .filter_map(|e| match e {
            Event::Ping(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// Runs `Ping::ping` at the session's time; returns the id and what left.
fn ping(s: &mut Session, to: Option<Jid>) -> (String, String) {
    let id = s
        .client
        .with_module(s.now, |p: &mut Ping, cx| p.ping(cx, to))
        .expect("registered by Client::new")
        .expect("online");
    (id, s.sent())
}

#[test]
fn a_ping_is_answered_with_an_empty_result() {
    let mut s = online();
    s.server("<iq from='romeo@example.net/orchard' to='juliet@example.com/balcony' id='p1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert_eq!(
        s.sent(),
        "<iq to='romeo@example.net/orchard' id='p1' type='result'/>"
    );
    // From the server (§4.1), which may leave out our address.
    s.server("<iq from='example.com' id='s2c' type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert_eq!(s.sent(), "<iq to='example.com' id='s2c' type='result'/>");
    // A ping is a get: a set is a bad request.
    s.server("<iq from='romeo@example.net/orchard' id='p2' type='set'><ping xmlns='urn:xmpp:ping'/></iq>");
    let reply = s.sent();
    assert!(
        reply.contains("id='p2' type='error'") && reply.contains("<bad-request"),
        "{reply}"
    );
    assert!(pings(&mut s).is_empty(), "answering reports nothing");
}

#[test]
fn pinging_our_server_reports_the_round_trip() {
    let mut s = online();
    let (id, sent) = ping(&mut s, None);
    assert_eq!(
        sent,
        format!("<iq to='example.com' id='{id}' type='get'><ping xmlns='urn:xmpp:ping'/></iq>")
    );
    s.now += Duration::from_millis(250);
    s.server(&format!(
        "<iq from='example.com' to='juliet@example.com/balcony' id='{id}' type='result'/>"
    ));
    assert_eq!(
        pings(&mut s),
        [PingEvent {
            id,
            jid: jid("example.com"),
            result: Ok(Duration::from_millis(250)),
        }]
    );
}

#[test]
fn pinging_a_contact_reports_its_error_or_the_timeout() {
    let mut s = online();
    let romeo = jid("romeo@example.net/orchard");
    let (id, sent) = ping(&mut s, Some(romeo.clone()));
    assert!(
        sent.contains("<iq to='romeo@example.net/orchard'"),
        "{sent}"
    );
    // Someone else answering for romeo is not his answer.
    s.server(&format!(
        "<iq from='mallory@evil.example/x' id='{id}' type='result'/>"
    ));
    assert!(pings(&mut s).is_empty());
    // §4.3: a client without XEP-0199 answers service-unavailable.
    s.server(&format!(
        "<iq from='romeo@example.net/orchard' id='{id}' type='error'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let events = pings(&mut s);
    assert_eq!(events.len(), 1);
    assert_eq!((&events[0].id, &events[0].jid), (&id, &romeo));
    assert!(
        matches!(&events[0].result, Err(IqFailure::Error(e)) if e.condition == DefinedCondition::ServiceUnavailable),
        "{events:?}"
    );
    // No answer at all: a timeout, and the session goes on.
    let (id, _) = ping(&mut s, Some(romeo.clone()));
    s.advance(Duration::from_secs(20));
    assert_eq!(
        pings(&mut s),
        [PingEvent {
            id,
            jid: romeo,
            result: Err(IqFailure::Timeout),
        }]
    );
    assert!(s.client.is_online());
}

#[test]
fn an_idle_connection_is_pinged_and_an_answer_keeps_it_up() {
    let mut s = online();
    assert_eq!(s.deadline, Some(s.now + Duration::from_secs(90)));
    s.advance(Duration::from_secs(90));
    let sent = s.sent();
    let id = attr_after(&sent, "<iq", "id").expect("an id");
    assert_eq!(
        sent,
        format!("<iq id='{id}' type='get'><ping xmlns='urn:xmpp:ping'/></iq>")
    );
    // No new ping while one is in flight.
    s.advance(Duration::from_secs(10));
    assert_eq!(s.sent(), "");
    s.server(&format!("<iq id='{id}' type='result'/>"));
    s.advance(Duration::from_secs(60));
    assert_eq!(s.sent(), "");
    assert!(s.client.is_online());
    assert!(
        pings(&mut s).is_empty(),
        "the liveness ping reports no event"
    );
    // The next check comes `idle` after the answer.
    assert_eq!(s.deadline, Some(s.now + Duration::from_secs(30)));
}

#[test]
fn a_server_that_stops_answering_is_a_timeout() {
    let mut s = online();
    s.advance(Duration::from_secs(90));
    assert!(s.sent().contains("<ping xmlns='urn:xmpp:ping'/>"));
    s.advance(Duration::from_secs(19));
    assert!(s.disconnect_reason().is_none());
    s.advance(Duration::from_secs(1));
    assert_eq!(
        s.disconnect_reason(),
        Some(&DisconnectReason::Timeout(
            "the server stopped answering pings"
        ))
    );
    assert_eq!(s.sent(), "</stream:stream>");
    assert!(s.close_transport);
    assert_eq!(s.deadline, None);
}

#[test]
fn with_a_reconnect_policy_the_dead_connection_is_replaced() {
    let mut s = Session::login(
        config()
            .timeouts(timeouts())
            .reconnect(ReconnectPolicy::new())
            .build(),
    );
    s.advance(Duration::from_secs(90));
    s.advance(Duration::from_secs(20));
    let reason = s.events.iter().find_map(|e| match e {
        Event::Reconnecting {
            attempt, reason, ..
        } => Some((*attempt, reason.clone())),
        _ => None,
    });
    assert_eq!(
        reason,
        Some((
            1,
            DisconnectReason::Timeout("the server stopped answering pings")
        ))
    );
    assert!(s.disconnect_reason().is_none(), "the session goes on");
    assert!(s.close_transport);
}

#[test]
fn anything_from_the_server_postpones_the_check() {
    let mut s = online();
    // A stanza, a non-stanza element, whitespace: each is a sign of life.
    for bytes in [
        "<message from='romeo@example.net/orchard'><body>hi</body></message>",
        "<r xmlns='urn:xmpp:sm:3'/>",
        " ",
        "\n",
    ] {
        s.advance(Duration::from_secs(60));
        s.server(bytes);
    }
    assert!(!s.sent().contains("urn:xmpp:ping"));
    // Then silence: `idle` after the last byte.
    s.advance(Duration::from_secs(89));
    assert_eq!(s.sent(), "");
    s.advance(Duration::from_secs(1));
    assert!(s.sent().contains("<ping xmlns='urn:xmpp:ping'/>"));
}

#[test]
fn the_check_can_be_turned_off() {
    let mut s = Session::login_with(config().timeouts(timeouts()).build(), "", |c| {
        c.module_mut::<Ping>()
            .expect("registered by Client::new")
            .set_idle(None)
    });
    // Only the whitespace keepalive's deadline is left.
    assert_eq!(s.deadline, Some(s.now + Duration::from_secs(3600)));
    s.advance(Duration::from_secs(3000));
    assert_eq!(s.sent(), "");
    assert!(s.client.is_online());
}

#[test]
fn ping_is_in_our_disco_info_and_cannot_be_registered_twice() {
    let mut s = online();
    s.server("<iq from='romeo@example.net/orchard' id='d1' type='get'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
    assert!(s.sent().contains("<feature var='urn:xmpp:ping'/>"));
    assert!(s.client.register(Ping::without_liveness()).is_err());
    assert!(!s
        .events
        .iter()
        .any(|e| matches!(e, Event::Warning(w) if w.kind == WarningKind::Module)));
}

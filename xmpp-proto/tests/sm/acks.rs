//! Enabling, the counters both ways, requests by count and by time, the
//! bounded queue, the hostile `h` and the clean close.

use std::time::Duration;

use super::*;
use xmpp_proto::sm::SmError;
use xmpp_proto::stanza::Iq;
use xmpp_proto::xml::Element;
use xmpp_proto::{DisconnectReason, SendError, WarningKind};

#[test]
fn enable_follows_the_bind_and_enabled_makes_the_session_resumable() {
    let mut s = Session::login_with(config().timeouts(timeouts()).build(), SM, |_| {});
    assert_eq!(s.sent(), ENABLE);
    assert!(
        s.client.resumption_state().is_none(),
        "nothing to resume yet"
    );
    s.server(
        "<enabled xmlns='urn:xmpp:sm:3' id='sm-1' resume='1' location='[2001:db8::1]:5222' max='300'/>",
    );
    assert_eq!(
        sm_events(&mut s),
        [SmEvent::Enabled {
            resumable: true,
            location: Some("[2001:db8::1]:5222".into())
        }]
    );
    let state = s.client.resumption_state().expect("resumable");
    assert_eq!(state.id(), "sm-1");
    assert_eq!(state.location(), Some("[2001:db8::1]:5222"));
    assert_eq!(state.jid().to_string(), OWN);
    assert_eq!((state.handled(), state.acked()), (0, 0));
}

#[test]
fn no_enable_when_not_offered_or_turned_off_and_no_requests_then() {
    let off = SmConfig {
        enable: false,
        ..SmConfig::default()
    };
    for (features, sm) in [("", SmConfig::default()), (SM, off)] {
        let mut s = Session::login_with(config().stream_management(sm).build(), features, |_| {});
        assert_eq!(s.sent(), "");
        assert_eq!(send(&mut s, &["m1"]), message_bytes("m1"));
        s.advance(Duration::from_secs(10));
        assert!(!s.sent().contains("urn:xmpp:sm"));
        // The server's <r/> is then only a nonza for the application.
        s.server(R);
        assert_eq!(s.sent(), "");
        assert!(s.take_events().iter().any(|e| matches!(e, Event::Nonza(_))));
        assert!(s.client.resumption_state().is_none());
    }
    // Without resumption: `<enable/>` alone, and a session not resumable.
    let mut s = Session::login_with(
        config()
            .stream_management(SmConfig {
                resume: false,
                ..SmConfig::default()
            })
            .build(),
        SM,
        |_| {},
    );
    assert_eq!(s.sent(), "<enable xmlns='urn:xmpp:sm:3'/>");
    s.server("<enabled xmlns='urn:xmpp:sm:3'/>");
    assert_eq!(
        sm_events(&mut s),
        [SmEvent::Enabled {
            resumable: false,
            location: None
        }]
    );
    assert!(s.client.resumption_state().is_none());
}

#[test]
fn the_servers_requests_are_answered_with_the_stanzas_received_since_enabled() {
    let mut s = Session::login_with(config().timeouts(timeouts()).build(), SM, |_| {});
    s.sent();
    // Sent before <enabled/>: not counted (the server counts from it on).
    s.server("<message from='romeo@example.net/orchard' id='x0'><body>early</body></message>");
    s.server(ENABLED);
    s.server(R);
    assert_eq!(s.sent(), a(0));
    s.server(
        "<message from='romeo@example.net/orchard' id='x1'><body>one</body></message>\
         <presence from='romeo@example.net/orchard'/>\
         <message from='romeo@example.net/orchard' to='someone@else.example/x'><body>not ours</body></message>\
         <r xmlns='urn:xmpp:sm:3'/>\
         <iq from='example.com' id='v1' type='result'/>\
         <r xmlns='urn:xmpp:sm:3'/>",
    );
    // A stanza dropped as invalid was still received: it counts.
    assert_eq!(s.sent(), a(3) + &a(4));
    // Requests are not stanzas: they count for nothing.
    s.server(R);
    assert_eq!(s.sent(), a(4));
}

#[test]
fn acks_are_requested_every_n_stanzas_and_report_the_ids_acknowledged() {
    let mut s = online(sm_config(3), false);
    assert_eq!(
        send(&mut s, &["m1", "m2", "m3", "m4"]),
        message_bytes("m1")
            + &message_bytes("m2")
            + &message_bytes("m3")
            + R
            + &message_bytes("m4")
    );
    s.server(&a(2));
    assert_eq!(sm_events(&mut s), [acked(&["m1", "m2"])]);
    // The same h again acknowledges nothing new.
    s.server(&a(2));
    assert_eq!(sm_events(&mut s), []);
    s.server(&a(4));
    assert_eq!(sm_events(&mut s), [acked(&["m3", "m4"])]);
    // IQs (the application's, the core's answers) count as stanzas too.
    let id = s
        .client
        .send_iq(s.now, Iq::get(None, "q1", Element::new("urn:x", "q")))
        .unwrap();
    s.server("<iq from='example.com' id='d1' type='get'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
    s.client
        .send_raw(s.now, &Element::new("jabber:client", "presence"))
        .unwrap();
    let sent = s.sent();
    assert!(sent.starts_with("<iq id='q1' type='get'>"), "{sent}");
    assert!(sent.ends_with(&format!("{R}<presence/>")), "{sent}");
    assert_eq!(sent.matches(R).count(), 1, "{sent}");
    s.server(&a(7));
    assert_eq!(
        sm_events(&mut s),
        [acked(&[&id, "d1"])],
        "a raw stanza without id is not listed"
    );
    // A nonza is not counted.
    s.client
        .send_raw(s.now, &Element::new("urn:example:nonza", "x"))
        .unwrap();
    s.server(&a(8));
    assert!(matches!(
        s.disconnect_reason(),
        Some(DisconnectReason::StreamManagement(
            SmError::HandledCountTooHigh { h: 8, sent: 7 }
        ))
    ));
}

#[test]
fn an_ack_is_requested_after_a_quiet_time_for_a_stanza_no_request_covers() {
    let sm = SmConfig {
        ack_every: 5,
        ack_after: Duration::from_secs(2),
        ..SmConfig::default()
    };
    let mut s = online(sm, false);
    let start = s.now;
    assert_eq!(
        s.deadline.map(|d| d > start + Duration::from_secs(2)),
        Some(true)
    );
    s.advance(Duration::from_secs(1));
    assert_eq!(send(&mut s, &["m1"]), message_bytes("m1"));
    assert_eq!(s.deadline, Some(s.now + Duration::from_secs(2)));
    // A second stanza does not push the request back.
    s.advance(Duration::from_secs(1));
    assert_eq!(send(&mut s, &["m2"]), message_bytes("m2"));
    assert_eq!(s.deadline, Some(s.now + Duration::from_secs(1)));
    s.advance(Duration::from_millis(999));
    assert_eq!(s.sent(), "");
    s.advance(Duration::from_millis(1));
    assert_eq!(s.sent(), R);
    // Covered: nothing more to ask until the next stanza.
    assert!(s
        .deadline
        .is_none_or(|d| d > s.now + Duration::from_secs(100)));
    s.advance(Duration::from_secs(10));
    assert_eq!(s.sent(), "");
    // Requested by count: the timer is not needed.
    let sm = SmConfig {
        ack_every: 1,
        ack_after: Duration::from_secs(2),
        ..SmConfig::default()
    };
    let mut s = online(sm, false);
    assert_eq!(send(&mut s, &["m1"]), message_bytes("m1") + R);
    s.advance(Duration::from_secs(2));
    assert_eq!(s.sent(), "");
}

#[test]
fn an_h_beyond_what_was_sent_ends_the_connection_with_handled_count_too_high() {
    let mut s = online(sm_config(10), true);
    send(&mut s, &["m1", "m2"]);
    // Behind an earlier h: ignored with a warning.
    s.server(&a(1));
    s.server(&a(0));
    let events = s.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Warning(w) if w.kind == WarningKind::UnexpectedInput)),
        "{events:?}"
    );
    s.server(&a(3));
    assert_eq!(
        s.sent(),
        "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         <handled-count-too-high xmlns='urn:xmpp:sm:3' h='3' send-count='2'/></stream:error>\
         </stream:stream>"
    );
    let events = s.take_events();
    let reason = events.iter().find_map(|e| match e {
        Event::Reconnecting { reason, .. } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(
        reason,
        Some(DisconnectReason::StreamManagement(
            SmError::HandledCountTooHigh { h: 3, sent: 2 }
        ))
    );
    assert!(s.close_transport);
    assert!(
        s.client.resumption_state().is_none(),
        "a server that claims what it never got is not resumed"
    );
    // Garbage h: ignored with a warning, never a panic or a wrap.
    let mut s = online(sm_config(10), false);
    send(&mut s, &["m1"]);
    for h in ["-1", "4294967296", "", "0x1", "1.0", " 1"] {
        s.server(&format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>"));
    }
    s.server("<a xmlns='urn:xmpp:sm:3'/>");
    assert!(s.disconnect_reason().is_none());
    assert_eq!(sm_events(&mut s), []);
}

#[test]
fn the_queue_is_bounded_sends_are_refused_not_lost_and_a_silent_server_is_cut() {
    let sm = SmConfig {
        max_unacked: 2,
        ..sm_config(100)
    };
    let mut s = online(sm, false);
    send(&mut s, &["m1", "m2"]);
    assert_eq!(
        s.client.send(s.now, message("m3")),
        Err(SendError::QueueFull(2))
    );
    assert_eq!(
        s.client
            .send_raw(s.now, &Element::new("jabber:client", "message")),
        Err(SendError::QueueFull(2))
    );
    assert_eq!(s.sent(), "", "nothing refused went out");
    s.server(&a(1));
    assert_eq!(sm_events(&mut s), [acked(&["m1"])]);
    assert_eq!(send(&mut s, &["m3"]), message_bytes("m3"));
    // The core still answers the server's requests past the bound...
    s.server("<iq from='example.com' id='p1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
    s.server("<iq from='example.com' id='p2' type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert_eq!(
        s.sent(),
        "<iq to='example.com' id='p1' type='result'/><iq to='example.com' id='p2' type='result'/>"
    );
    assert!(s.disconnect_reason().is_none());
    // ...but not past twice the bound: a server that acknowledges nothing
    // loses the connection, and what waited is given up.
    s.server("<iq from='example.com' id='p3' type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert_eq!(
        s.disconnect_reason(),
        Some(&DisconnectReason::StreamManagement(
            SmError::TooManyUnacked { limit: 4 }
        ))
    );
    let given_up = unacked(&["m2", "m3", "p1", "p2", "p3"]);
    assert!(
        s.events
            .iter()
            .any(|e| matches!(e, Event::StreamManagement(u) if *u == given_up)),
        "{:?}",
        s.events
    );
}

#[test]
fn a_refused_enable_gives_up_what_was_sent_since() {
    let mut s = Session::login_with(config().timeouts(timeouts()).build(), SM, |_| {});
    s.sent();
    send(&mut s, &["m1"]);
    s.server(
        "<failed xmlns='urn:xmpp:sm:3'><unexpected-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>",
    );
    assert_eq!(
        sm_events(&mut s),
        [
            SmEvent::EnableFailed {
                condition: Some("unexpected-request".into())
            },
            unacked(&["m1"])
        ]
    );
    assert_eq!(send(&mut s, &["m2"]), message_bytes("m2"));
    s.advance(Duration::from_secs(5));
    assert_eq!(s.sent(), "", "no requests without stream management");
}

#[test]
fn a_clean_close_acks_requests_and_ends_the_session_unresumable() {
    let mut s = online(sm_config(10), true);
    s.server("<message from='romeo@example.net/orchard' id='x1'><body>one</body></message>");
    send(&mut s, &["m1", "m2"]);
    s.client.close(s.now);
    assert_eq!(s.sent(), a(1) + R + "</stream:stream>");
    assert!(s.client.resumption_state().is_none());
    s.server(&(a(1) + "</stream:stream>"));
    assert_eq!(s.disconnect_reason(), Some(&DisconnectReason::Closed));
    assert_eq!(sm_events(&mut s), [acked(&["m1"]), unacked(&["m2"])]);
    assert!(s.client.resumption_state().is_none());
}

#[test]
fn each_h_told_to_the_server_is_reported_when_asked_for() {
    let sm = SmConfig {
        report_handled: true,
        ..sm_config(5)
    };
    let mut s = online(sm, false);
    s.server("<message from='romeo@example.net/orchard' id='x1'><body>one</body></message>");
    s.server(R);
    assert_eq!(s.sent(), a(1));
    assert_eq!(sm_events(&mut s), [SmEvent::Handled { h: 1 }]);
    // Off by default: no such event.
    let mut s = online(sm_config(5), false);
    s.server(R);
    assert_eq!(s.sent(), a(0));
    assert!(sm_events(&mut s).is_empty());
}

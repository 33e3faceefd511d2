//! Stream errors, invalid XML from the server, clean close in both
//! directions, transport loss.

use xmpp_test_support::session;

use std::time::Duration;

use session::{config, Session, DOMAIN};
use xmpp_proto::testing::server_header;
use xmpp_proto::xml::XmlErrorKind;
use xmpp_proto::{DisconnectReason, Event, Input, StreamErrorCondition};

fn disconnects(s: &Session) -> usize {
    s.events
        .iter()
        .filter(|e| matches!(e, Event::Disconnected { .. }))
        .count()
}

#[test]
fn see_other_host_is_reported_not_followed() {
    let mut s = Session::new(config().build());
    s.sent();
    s.server(&(server_header(DOMAIN, "s1")
        + "<stream:error><see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>[2001:db8::1]:5222</see-other-host></stream:error>"));
    match s.disconnect_reason() {
        Some(DisconnectReason::StreamError(e)) => {
            assert_eq!(
                e.condition,
                StreamErrorCondition::SeeOtherHost("[2001:db8::1]:5222".into())
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(s.sent().ends_with("</stream:stream>"));
    assert!(s.close_transport);
    assert!(s.start_tls.is_empty());
}

#[test]
fn stream_error_carries_the_servers_text() {
    let mut s = Session::login(config().build());
    s.server("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Replaced by new connection</text></stream:error>");
    match s.disconnect_reason() {
        Some(DisconnectReason::StreamError(e)) => {
            assert_eq!(e.condition, StreamErrorCondition::Conflict);
            assert_eq!(e.text.as_deref(), Some("Replaced by new connection"));
        }
        other => panic!("{other:?}"),
    }
    assert!(s.disconnect_reason().is_some_and(|r| r.is_final()));
}

#[test]
fn every_stream_error_condition_is_typed() {
    for name in [
        "bad-format",
        "bad-namespace-prefix",
        "conflict",
        "connection-timeout",
        "host-gone",
        "host-unknown",
        "improper-addressing",
        "internal-server-error",
        "invalid-from",
        "invalid-namespace",
        "invalid-xml",
        "not-authorized",
        "not-well-formed",
        "policy-violation",
        "remote-connection-failed",
        "reset",
        "resource-constraint",
        "restricted-xml",
        "see-other-host",
        "system-shutdown",
        "undefined-condition",
        "unsupported-encoding",
        "unsupported-feature",
        "unsupported-stanza-type",
        "unsupported-version",
    ] {
        let c = StreamErrorCondition::from_name(name, "x");
        assert_eq!(c.as_str(), name);
    }
    assert_eq!(
        StreamErrorCondition::from_name("made-up", ""),
        StreamErrorCondition::UndefinedCondition
    );
}

#[test]
fn invalid_xml_gets_a_stream_error_and_earlier_stanzas_are_kept() {
    let mut s = Session::login(config().build());
    s.server("<message from='romeo@example.net/x' to='juliet@example.com/balcony'><body>one</body></message><!DOCTYPE x>");
    assert!(s.events.iter().any(|e| matches!(e, Event::Message(_))));
    match s.disconnect_reason() {
        Some(DisconnectReason::InvalidXml(e)) => assert_eq!(e.kind, XmlErrorKind::Doctype),
        other => panic!("{other:?}"),
    }
    let sent = s.sent();
    assert!(sent.contains("<stream:error><restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>"), "{sent}");
    assert!(s.close_transport);
}

#[test]
fn not_well_formed_and_limits_map_to_their_conditions() {
    let mut s = Session::login(config().build());
    s.server("<message></presence>");
    assert!(s.sent().contains("<not-well-formed"));
    let mut s = Session::login(config().build());
    s.server(&format!("<message>{}", "<a>".repeat(100)));
    assert!(s.sent().contains("<policy-violation"));
}

#[test]
fn client_close_waits_for_the_servers_close() {
    let mut s = Session::login(config().build());
    s.client.close(s.now);
    assert_eq!(s.sent(), "</stream:stream>");
    assert!(!s.close_transport);
    assert!(s
        .client
        .send(s.now, xmpp_proto::stanza::Presence::available())
        .is_err());
    s.server("</stream:stream>");
    assert!(s.close_transport);
    assert_eq!(s.disconnect_reason(), Some(&DisconnectReason::Closed));
    assert_eq!(disconnects(&s), 1);
}

#[test]
fn client_close_times_out_if_the_server_stays_silent() {
    let mut s = Session::login(config().build());
    s.client.close(s.now);
    s.sent();
    s.advance(Duration::from_secs(6));
    assert!(s.close_transport);
    assert_eq!(s.disconnect_reason(), Some(&DisconnectReason::Closed));
}

#[test]
fn server_close_is_answered_and_reported_once() {
    let mut s = Session::login(config().build());
    s.server("</stream:stream>");
    assert_eq!(s.sent(), "</stream:stream>");
    assert_eq!(
        s.disconnect_reason(),
        Some(&DisconnectReason::ClosedByServer)
    );
    s.server("<message/>");
    s.client.handle_input(Input::TransportClosed(s.now));
    s.drain();
    assert_eq!(disconnects(&s), 1, "the first cause is reported once");
}

#[test]
fn transport_loss_ends_the_session_and_fails_pending_iqs() {
    let mut s = Session::login(config().build());
    let iq = xmpp_proto::stanza::Iq::get(
        None,
        "",
        xmpp_proto::xml::Element::new("jabber:iq:roster", "query"),
    );
    let id = s.client.send_iq(s.now, iq).expect("online");
    s.client.handle_input(Input::TransportClosed(s.now));
    s.drain();
    assert!(s.events.iter().any(|e| matches!(e, Event::IqResponse { id: i, result: Err(xmpp_proto::IqFailure::Disconnected) } if *i == id)));
    assert_eq!(
        s.disconnect_reason(),
        Some(&DisconnectReason::TransportClosed)
    );
}

#[test]
fn login_must_finish_in_time() {
    let mut s = Session::new(config().build());
    s.sent();
    s.advance(Duration::from_secs(31));
    assert!(matches!(
        s.disconnect_reason(),
        Some(DisconnectReason::Timeout(_))
    ));
}

/// Everything `poll_output` hands out until the deadline, by kind, in order.
fn output_kinds(client: &mut xmpp_proto::Client) -> Vec<String> {
    let mut kinds = Vec::new();
    loop {
        let kind = match client.poll_output() {
            xmpp_proto::Output::Transmit(t) => {
                format!("transmit {}", String::from_utf8_lossy(&t.bytes))
            }
            xmpp_proto::Output::Event(Event::Disconnected { reason }) => {
                format!("disconnected {reason:?}")
            }
            xmpp_proto::Output::Event(e) => format!("event {e:?}"),
            xmpp_proto::Output::CloseTransport => "close-transport".into(),
            xmpp_proto::Output::Timeout(deadline) => {
                kinds.push(format!("timeout {}", deadline.is_some()));
                return kinds;
            }
            other => format!("{other:?}"),
        };
        kinds.push(kind);
    }
}

#[test]
fn the_last_event_comes_before_close_transport() {
    // A clean close: the server's close, then Disconnected, then the close.
    let mut s = Session::login(config().build());
    s.client.close(s.now);
    assert_eq!(s.sent(), "</stream:stream>");
    s.client
        .handle_input(Input::Received(s.now, b"</stream:stream>"));
    assert_eq!(
        output_kinds(&mut s.client),
        ["disconnected Closed", "close-transport", "timeout false"]
    );

    // A failure: the bytes (our stream error and close) first, then the
    // events in order ending with Disconnected, then the close.
    let mut s = Session::login(config().build());
    s.client.handle_input(Input::Received(
        s.now,
        b"<message from='romeo@example.net/x' to='juliet@example.com/balcony'><body>hi</body></message><!DOCTYPE x>",
    ));
    let kinds = output_kinds(&mut s.client);
    assert_eq!(kinds.len(), 5, "{kinds:?}");
    assert!(kinds[0].starts_with("transmit <stream:error>"), "{kinds:?}");
    assert!(kinds[1].starts_with("event Message"), "{kinds:?}");
    assert!(kinds[2].starts_with("disconnected InvalidXml"), "{kinds:?}");
    assert_eq!(kinds[3..], ["close-transport", "timeout false"]);
}

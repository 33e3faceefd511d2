//! Resumption on a new transport after a cut (XEP-0198 §5), the failed
//! resumption with and without `h`, no stream management on the new
//! stream, the hostile `h` of `<resumed/>` and `<failed/>`, and the end of
//! a session without reconnection.

use super::*;
use xmpp_proto::sm::SmError;
use xmpp_proto::stanza::Iq;
use xmpp_proto::xml::Element;
use xmpp_proto::{DisconnectReason, IqFailure, Module, ModuleContext};

/// Records the modules' `online` / `offline` hooks.
#[derive(Default)]
struct Recorder(Vec<String>);

impl Module for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }
    fn online(&mut self, _: &mut ModuleContext<'_>, resumed: bool) {
        self.0.push(format!("online({resumed})"));
    }
    fn offline(&mut self, resumable: bool) {
        self.0.push(format!("offline({resumable})"));
    }
}

fn hooks(s: &Session) -> Vec<String> {
    s.client.module::<Recorder>().expect("registered").0.clone()
}

/// Online with a reconnect policy and the recorder; m1, m2, m3, a raw
/// presence `p1` and the IQ `q1` sent and unacknowledged. Returns the
/// bytes of the presence and the IQ.
fn five_unacked() -> (Session, String) {
    let builder = config()
        .stream_management(sm_config(10))
        .timeouts(timeouts())
        .reconnect(policy());
    let mut s = Session::login_with(builder.build(), SM, |c| {
        c.register(Recorder::default()).unwrap();
    });
    assert_eq!(s.sent(), ENABLE);
    s.server(ENABLED);
    send(&mut s, &["m1", "m2", "m3"]);
    let presence = Element::new("jabber:client", "presence").with_attr("id", "p1");
    s.client.send_raw(s.now, &presence).unwrap();
    s.client
        .send_iq(s.now, Iq::get(None, "q1", Element::new("urn:x", "q")))
        .unwrap();
    let rest = s.sent();
    assert_eq!(
        rest,
        "<presence id='p1'/><iq id='q1' type='get'><q xmlns='urn:x'/></iq>"
    );
    s.take_events();
    (s, rest)
}

const RESUME: &str = "<resume xmlns='urn:xmpp:sm:3' previd='sm-1' h='0'/>";

#[test]
fn a_cut_connection_is_resumed_and_only_what_the_server_missed_is_sent_again() {
    let (mut s, rest) = five_unacked();
    s.server(&a(1));
    s.server("<message from='romeo@example.net/orchard' id='x1'><body>one</body></message>");
    s.server("<message from='romeo@example.net/orchard' id='x2'><body>two</body></message>");
    assert_eq!(sm_events(&mut s), [acked(&["m1"])]);
    let restart = cut_and_authenticate(&mut s);
    // The IQ in flight is kept for the resumption; the modules know it.
    assert!(!s
        .events
        .iter()
        .any(|e| matches!(e, Event::IqResponse { .. })));
    assert_eq!(hooks(&s), ["online(false)", "offline(true)"]);
    let features = format!("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{SM}");
    assert_eq!(
        restart_features(&mut s, &restart, &features),
        "<resume xmlns='urn:xmpp:sm:3' previd='sm-1' h='2'/>"
    );
    s.events.clear();
    s.server("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='2'/>");
    // What the server did not handle, byte for byte as it first went out,
    // then a request for its ack.
    assert_eq!(s.sent(), message_bytes("m3") + &rest + R);
    let events = s.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::StreamManagement(SmEvent::Acked { ids }),
                Event::Reconnected { jid, resumed: true, .. },
            ] if ids == &["m2"] && jid.to_string() == OWN
        ),
        "{events:?}"
    );
    assert_eq!(
        hooks(&s),
        ["online(false)", "offline(true)", "online(true)"]
    );
    assert_eq!(
        s.client.bound_jid().map(|j| j.to_string()).as_deref(),
        Some(OWN)
    );
    // The IQ's answer reaches the application; the counters went on.
    s.server("<iq id='q1' type='result'/>");
    assert!(s
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::IqResponse { id, result: Ok(_) } if id == "q1")));
    s.server(R);
    assert_eq!(s.sent(), a(3));
    s.server(&a(5));
    assert_eq!(sm_events(&mut s), [acked(&["m3", "p1", "q1"])]);
}

#[test]
fn a_failed_resumption_with_h_drops_what_the_server_handled_and_sends_only_the_rest() {
    let (mut s, _) = five_unacked();
    let restart = cut_and_authenticate(&mut s);
    s.take_events();
    let features = format!("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{SM}");
    assert_eq!(restart_features(&mut s, &restart, &features), RESUME);
    s.server(
        "<failed xmlns='urn:xmpp:sm:3' h='2'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>",
    );
    // A new session is bound on the same stream.
    let bind = s.sent();
    assert!(
        bind.starts_with("<iq type='set' id='")
            && bind.contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"),
        "{bind}"
    );
    let events = s.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::StreamManagement(SmEvent::Acked { ids }),
                Event::StreamManagement(SmEvent::ResumeFailed { condition: Some(c), h: Some(2) }),
                Event::IqResponse { id, result: Err(IqFailure::Disconnected) },
            ] if ids == &["m1", "m2"] && c == "item-not-found" && id == "q1"
        ),
        "{events:?}"
    );
    assert_eq!(
        hooks(&s),
        ["online(false)", "offline(true)", "offline(false)"]
    );
    s.server(&bound(&bind, "again"));
    // Enabled anew first, then the modules' online, then the one message
    // the server did not handle, as it was (same id).
    assert_eq!(s.sent(), ENABLE.to_string() + &message_bytes("m3"));
    let events = s.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::Reconnected { resumed: false, .. },
                Event::StreamManagement(SmEvent::Unacked { ids }),
            ] if ids == &["p1", "q1"]
        ),
        "{events:?}"
    );
    assert_eq!(
        hooks(&s),
        [
            "online(false)",
            "offline(true)",
            "offline(false)",
            "online(false)"
        ]
    );
    s.server(ENABLED);
    s.server(&a(1));
    assert_eq!(
        sm_events(&mut s),
        [
            SmEvent::Enabled {
                resumable: true,
                location: None
            },
            acked(&["m3"])
        ]
    );
}

#[test]
fn a_failed_resumption_without_h_sends_every_unacknowledged_message_again() {
    let (mut s, _) = five_unacked();
    s.server(&a(1));
    s.take_events();
    let restart = cut_and_authenticate(&mut s);
    let features = format!("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{SM}");
    assert_eq!(
        restart_features(&mut s, &restart, &features),
        "<resume xmlns='urn:xmpp:sm:3' previd='sm-1' h='0'/>"
    );
    s.server(
        "<failed xmlns='urn:xmpp:sm:3'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>",
    );
    let bind = s.sent();
    s.server(&bound(&bind, "again"));
    assert_eq!(
        s.sent(),
        ENABLE.to_string() + &message_bytes("m2") + &message_bytes("m3")
    );
    let events = sm_events(&mut s);
    assert_eq!(
        events,
        [
            SmEvent::ResumeFailed {
                condition: Some("item-not-found".into()),
                h: None
            },
            unacked(&["p1", "q1"])
        ]
    );
}

#[test]
fn no_stream_management_on_the_new_stream_binds_and_gives_up_what_waited() {
    let (mut s, _) = five_unacked();
    let restart = cut_and_authenticate(&mut s);
    s.take_events();
    let bind = restart_features(
        &mut s,
        &restart,
        "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>",
    );
    assert!(
        bind.contains("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"),
        "{bind}"
    );
    s.server(&bound(&bind, "again"));
    assert_eq!(
        s.sent(),
        "",
        "nothing sent again without acks to confirm it"
    );
    assert_eq!(
        sm_events(&mut s),
        [unacked(&["m1", "m2", "m3", "p1", "q1"])]
    );
    assert!(s.client.resumption_state().is_none());
}

#[test]
fn a_hostile_h_in_resumed_or_failed_ends_the_connection() {
    for answer in [
        "<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='6'/>",
        "<failed xmlns='urn:xmpp:sm:3' h='6'/>",
    ] {
        let (mut s, _) = five_unacked();
        let restart = cut_and_authenticate(&mut s);
        s.take_events();
        assert_eq!(restart_features(&mut s, &restart, SM), RESUME);
        s.server(answer);
        assert_eq!(
            s.sent(),
            "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
             <handled-count-too-high xmlns='urn:xmpp:sm:3' h='6' send-count='5'/></stream:error>\
             </stream:stream>",
            "{answer}"
        );
        let reason = s.take_events().into_iter().find_map(|e| match e {
            Event::Reconnecting { reason, .. } => Some(reason),
            _ => None,
        });
        assert_eq!(
            reason,
            Some(DisconnectReason::StreamManagement(
                SmError::HandledCountTooHigh { h: 6, sent: 5 }
            ))
        );
        assert!(s.client.resumption_state().is_none());
    }
    // Another session than the one asked for.
    let (mut s, _) = five_unacked();
    let restart = cut_and_authenticate(&mut s);
    restart_features(&mut s, &restart, SM);
    s.server("<resumed xmlns='urn:xmpp:sm:3' previd='sm-2' h='0'/>");
    assert!(s.take_events().iter().any(|e| matches!(
        e,
        Event::Reconnecting {
            reason: DisconnectReason::StreamManagement(SmError::WrongSession),
            ..
        }
    )));
}

#[test]
fn without_reconnection_the_unacknowledged_come_back_and_the_state_stays_exportable() {
    let mut s = online(sm_config(10), false);
    s.server("<message from='romeo@example.net/orchard' id='x1'><body>one</body></message>");
    send(&mut s, &["m1", "m2"]);
    s.server(&a(1));
    s.take_events();
    s.client.handle_input(Input::TransportClosed(s.now));
    let events = s.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::StreamManagement(SmEvent::Unacked { ids }),
                Event::Disconnected { reason: DisconnectReason::TransportClosed },
            ] if ids == &["m2"]
        ),
        "{events:?}"
    );
    let state = s
        .client
        .resumption_state()
        .expect("kept for a later process");
    assert_eq!((state.handled(), state.acked()), (1, 1));
    assert_eq!(state.unacked_ids().collect::<Vec<_>>(), [Some("m2")]);
}

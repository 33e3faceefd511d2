//! The resumption state as data: the counters across 2^32 through an
//! imported state, and a session carried from one client (process) to
//! another through bytes.

use super::*;
use xmpp_proto::sm::{ResumptionState, SmError};
use xmpp_proto::{DisconnectReason, WarningKind};

/// A new client from `state` authenticates; returns what it sends once
/// the restarted stream's features (offering stream management) came.
fn resuming_client(state: ResumptionState, every: u32) -> (Session, String) {
    let c = config()
        .stream_management(sm_config(every))
        .timeouts(timeouts())
        .resume_from(state)
        .build();
    let mut s = Session::new(c);
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, session::PASSWORD);
    s.scram(&mut scram);
    let restart = s.sent();
    let features = format!("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{SM}");
    let resume = restart_features(&mut s, &restart, &features);
    s.events.clear();
    (s, resume)
}

#[test]
fn both_counters_wrap_at_2_32_and_h_is_judged_modulo_2_32() {
    let near = u32::MAX - 1;
    let state = ResumptionState::new("sm-9", OWN.parse().unwrap(), near, near).unwrap();
    let (mut s, resume) = resuming_client(state, 3);
    assert_eq!(
        resume,
        "<resume xmlns='urn:xmpp:sm:3' previd='sm-9' h='4294967294'/>"
    );
    s.server("<resumed xmlns='urn:xmpp:sm:3' previd='sm-9' h='4294967294'/>");
    assert_eq!(s.sent(), "", "nothing was left to send again");
    let events = s.take_events();
    assert!(
        matches!(events.as_slice(), [Event::Online { resumed: true, jid, .. }] if jid.to_string() == OWN),
        "{events:?}"
    );
    // Three stanzas out: 2^32 - 1, 0, 1.
    assert_eq!(
        send(&mut s, &["m1", "m2", "m3"]),
        message_bytes("m1") + &message_bytes("m2") + &message_bytes("m3") + R
    );
    s.server(&a(u32::MAX));
    assert_eq!(sm_events(&mut s), [acked(&["m1"])]);
    s.server(&a(1));
    assert_eq!(sm_events(&mut s), [acked(&["m2", "m3"])]);
    // Three stanzas in: our h goes 2^32 - 1, 0, 1.
    for id in ["x1", "x2", "x3"] {
        s.server(&format!(
            "<message from='romeo@example.net/orchard' id='{id}'><body>{id}</body></message>"
        ));
        if id == "x1" {
            s.server(R);
            assert_eq!(s.sent(), a(u32::MAX));
        }
    }
    s.server(R);
    assert_eq!(s.sent(), a(1));
    let state = s.client.resumption_state().unwrap();
    assert_eq!((state.handled(), state.acked()), (1, 1));
    // One past what was sent, across the wrap: refused, not wrapped.
    s.server(&a(2));
    assert_eq!(
        s.sent(),
        "<stream:error><undefined-condition xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         <handled-count-too-high xmlns='urn:xmpp:sm:3' h='2' send-count='1'/></stream:error>\
         </stream:stream>"
    );
    assert_eq!(
        s.disconnect_reason(),
        Some(&DisconnectReason::StreamManagement(
            SmError::HandledCountTooHigh { h: 2, sent: 1 }
        ))
    );
}

/// A first client: enabled, a stanza received, m1 and m2 sent, m1
/// acknowledged, then the connection lost (no reconnect policy). Returns
/// its state as bytes and the bytes m2 went out as.
fn first_process() -> Vec<u8> {
    let mut s = online(sm_config(10), false);
    s.server("<message from='romeo@example.net/orchard' id='x1'><body>one</body></message>");
    send(&mut s, &["m1", "m2"]);
    s.server(&a(1));
    s.client.handle_input(Input::TransportClosed(s.now));
    s.drain();
    s.client.resumption_state().expect("resumable").to_bytes()
}

#[test]
fn a_state_kept_as_bytes_resumes_the_session_in_another_client() {
    let bytes = first_process();
    let state = ResumptionState::from_bytes(&bytes).expect("reads back");
    assert_eq!(state.unacked_ids().collect::<Vec<_>>(), [Some("m2")]);
    // The server missed m2: it is sent again as it was, and acknowledged.
    let (mut s, resume) = resuming_client(state.clone(), 10);
    assert_eq!(
        resume,
        "<resume xmlns='urn:xmpp:sm:3' previd='sm-1' h='1'/>"
    );
    s.server("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='1'/>");
    assert_eq!(s.sent(), message_bytes("m2") + R);
    s.server(&a(2));
    assert_eq!(sm_events(&mut s), [acked(&["m2"])]);
    // The server had it: reported at once, nothing sent again.
    let (mut s, _) = resuming_client(state, 10);
    s.server("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='2'/>");
    assert_eq!(s.sent(), "");
    let events = s.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [
                Event::StreamManagement(SmEvent::Acked { ids }),
                Event::Online { resumed: true, .. }
            ] if ids == &["m2"]
        ),
        "{events:?}"
    );
}

#[test]
fn a_state_of_another_account_is_ignored_with_a_warning() {
    let state =
        ResumptionState::new("sm-9", "romeo@example.net/orchard".parse().unwrap(), 0, 0).unwrap();
    let c = config().resume_from(state).build();
    let mut s = Session::new(c);
    assert!(s
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::Warning(w) if w.kind == WarningKind::UnexpectedInput)));
    assert!(s.client.resumption_state().is_none());
    // An ordinary login: bind pipelined with the restart.
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, session::PASSWORD);
    s.scram(&mut scram);
    s.bind("balcony");
    assert!(s.is_online());
}

#[test]
fn an_imported_state_believes_one_h_beyond_its_count_then_no_more() {
    // Saved with m2 unacknowledged (2 sent); the process sent two more
    // stanzas before it was killed, so the server handled 4.
    let state = ResumptionState::from_bytes(&first_process()).expect("reads back");
    let (mut s, _) = resuming_client(state, 10);
    s.server("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='4'/>");
    assert_eq!(s.sent(), "", "nothing sent again: the server has it all");
    let events = s.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Warning(w) if w.kind == WarningKind::UnexpectedInput)),
        "{events:?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, Event::StreamManagement(SmEvent::Acked { ids }) if ids == &["m2"])
        ),
        "{events:?}"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Online { resumed: true, .. })));
    // From now on the counts are live: an h beyond them is hostile.
    s.server(&a(5));
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(DisconnectReason::StreamManagement(
                SmError::HandledCountTooHigh { h: 5, sent: 4 }
            ))
        ),
        "{:?}",
        s.events
    );
}

//! One session across transports: the core decides every reconnection
//! (retry or not, the attempt, the delay with jitter from its seed, at
//! least 1 s), asks its driver for a new transport, resets what belongs to
//! one connection and keeps its modules. Virtual time, no sockets.

use xmpp_test_support::{scram_server, session};

use std::time::Duration;

use scram_server::{Hash, ScramServer};
use session::{config, Session, DOMAIN};
use xmpp_proto::connect::Security;
use xmpp_proto::stanza::{Iq, Stanza};
use xmpp_proto::xml::Element;
use xmpp_proto::{
    DisconnectReason, Event, Handled, Input, IqFailure, Module, ModuleContext, Output,
    ReconnectPolicy, StreamErrorCondition, MIN_RECONNECT_DELAY,
};

/// A backoff far above the 1 s floor, so the jitter shows.
fn policy() -> ReconnectPolicy {
    ReconnectPolicy::new().backoff(Duration::from_secs(100), Duration::from_secs(100), 1)
}

fn online_with(policy: ReconnectPolicy, seed: u8) -> Session {
    let mut c = config().reconnect(policy).build();
    c.seed = [seed; 32];
    Session::login(c)
}

/// The core's `Reconnecting`, checked; returns its delay.
fn reconnecting(event: &Event, attempt: u32) -> (Duration, DisconnectReason) {
    match event {
        Event::Reconnecting {
            attempt: n,
            delay,
            reason,
        } if *n == attempt => {
            assert!(*delay >= MIN_RECONNECT_DELAY, "{delay:?}");
            (*delay, reason.clone())
        }
        other => panic!("expected Reconnecting {attempt}, got {other:?}"),
    }
}

/// The transport drops; returns the delay announced.
fn drop_transport(s: &mut Session, attempt: u32) -> Duration {
    s.client.handle_input(Input::TransportClosed(s.now));
    let events = s.take_events();
    let last = events.last().expect("an event");
    let (delay, reason) = reconnecting(last, attempt);
    assert_eq!(reason, DisconnectReason::TransportClosed);
    delay
}

/// Waits the delay out (not a millisecond before it, the core asks for
/// nothing) and checks the core asks for a transport.
fn wait_for_connect(s: &mut Session, delay: Duration) {
    let asked = s.connect_requests;
    assert_eq!(s.deadline, Some(s.now + delay));
    s.advance(delay - Duration::from_millis(1));
    assert_eq!(s.connect_requests, asked, "asked for a transport too early");
    s.advance(Duration::from_millis(1));
    assert_eq!(s.connect_requests, asked + 1);
    assert!(s.client.is_connecting());
    assert_eq!(
        s.deadline, None,
        "nothing to time while the driver connects"
    );
}

/// A new STARTTLS transport and a whole login on it, as `resource`;
/// returns the events of the login.
fn relogin(s: &mut Session, resource: &str) -> Vec<Event> {
    s.close_transport = false;
    s.start_tls.clear();
    s.client
        .handle_input(Input::Connected(s.now, Security::StartTls));
    s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, session::PASSWORD);
    s.scram(&mut scram);
    s.bind(resource);
    s.take_events()
}

#[test]
fn a_dropped_transport_is_replaced_after_the_delay_and_the_login_reported_as_reconnected() {
    let mut s = online_with(policy(), 7);
    assert!(s.client.is_online());
    let delay = drop_transport(&mut s, 1);
    assert!(s.close_transport, "the dead transport is closed");
    assert!(!s.client.is_online());
    assert_eq!(s.client.state_name(), "reconnecting");
    // Stale bytes of the dead transport, and its late close, change nothing.
    s.server("<message/>");
    s.client.handle_input(Input::TransportClosed(s.now));
    assert!(s.take_events().is_empty());
    wait_for_connect(&mut s, delay);
    let events = relogin(&mut s, "again");
    let jid = events.iter().find_map(|e| match e {
        Event::Reconnected { jid, tls, .. } => {
            assert!(*tls);
            Some(jid.to_string())
        }
        Event::Online { .. } => panic!("a reconnection is not reported as Online"),
        _ => None,
    });
    assert_eq!(jid.as_deref(), Some("juliet@example.com/again"));
    assert!(s.client.is_online());
    assert_eq!(
        s.client.bound_jid().unwrap().to_string(),
        "juliet@example.com/again"
    );
}

#[test]
fn each_connection_negotiates_afresh_with_new_nonces_and_ids() {
    let mut s = Session::new(config().reconnect(policy()).build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let first_auth = s.sent();
    let mut scram = ScramServer::new(Hash::Sha1, session::PASSWORD);
    s.server(&scram.challenge(&first_auth));
    let response = s.sent();
    s.server(&scram.outcome(&response));
    s.bind("one");
    let id1 = s
        .client
        .send_iq(s.now, Iq::get(None, "", Element::new("urn:x", "q")))
        .unwrap();
    s.sent();
    let delay = drop_transport(&mut s, 1);
    wait_for_connect(&mut s, delay);
    s.close_transport = false;
    s.start_tls.clear();
    s.client
        .handle_input(Input::Connected(s.now, Security::StartTls));
    let header = s.sent();
    assert!(
        header.starts_with("<?xml") || header.contains("<stream:stream"),
        "{header}"
    );
    assert!(!header.contains(" from="), "a new plain stream: {header}");
    assert!(
        header.contains("<starttls"),
        "TLS again on the new transport"
    );
    s.server(
        &(xmpp_proto::testing::server_header(DOMAIN, "t1")
            + xmpp_proto::testing::FEATURES_STARTTLS),
    );
    s.server("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    assert_eq!(s.start_tls, [DOMAIN]);
    s.tls_up(None);
    // A returning client: its SCRAM <auth/> leaves with the header,
    // betting on the offer of the first login.
    let second_auth = s.sent();
    assert!(second_auth.contains(" from='juliet@example.com'"));
    assert!(second_auth.contains("<auth"), "{second_auth}");
    let second_auth = second_auth[second_auth.find("<auth").unwrap_or(0)..].to_string();
    s.server(
        &(xmpp_proto::testing::server_header(DOMAIN, "t2")
            + &xmpp_proto::testing::features_sasl(&["SCRAM-SHA-1"])),
    );
    assert_eq!(s.sent(), "", "the same offer: the attempt goes on");
    assert_ne!(first_auth, second_auth, "a fresh SCRAM nonce");
    let mut scram = ScramServer::new(Hash::Sha1, session::PASSWORD);
    s.server(&scram.challenge(&second_auth));
    let response = s.sent();
    s.server(&scram.outcome(&response));
    s.bind("two");
    let id2 = s
        .client
        .send_iq(s.now, Iq::get(None, "", Element::new("urn:x", "q")))
        .unwrap();
    assert_ne!(id1, id2, "the id stream goes on");
}

#[test]
fn iqs_in_flight_fail_then_reconnecting_then_the_close_then_the_delay() {
    let mut s = online_with(policy(), 7);
    let id = s
        .client
        .send_iq(s.now, Iq::get(None, "", Element::new("urn:x", "q")))
        .unwrap();
    s.sent();
    s.client.handle_input(Input::TransportClosed(s.now));
    let mut outputs = Vec::new();
    loop {
        match s.client.poll_output() {
            Output::Transmit(_) => outputs.push("transmit".to_string()),
            Output::StartTls { .. } => outputs.push("starttls".into()),
            Output::Event(Event::IqResponse { id: got, result }) => {
                assert_eq!(got, id);
                assert_eq!(result.unwrap_err(), IqFailure::Disconnected);
                outputs.push("iq-failed".into());
            }
            Output::Event(e @ Event::Reconnecting { .. }) => {
                reconnecting(&e, 1);
                outputs.push("reconnecting".into());
            }
            Output::Event(e) => outputs.push(format!("{e:?}")),
            Output::CloseTransport => outputs.push("close".into()),
            Output::Connect => outputs.push("connect".into()),
            Output::Timeout(t) => {
                assert!(t.is_some());
                outputs.push("timeout".into());
                break;
            }
        }
    }
    assert_eq!(outputs, ["iq-failed", "reconnecting", "close", "timeout"]);
}

#[test]
fn a_final_reason_ends_the_session() {
    let mut s = online_with(policy(), 7);
    s.server(
        "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    );
    let events = s.take_events();
    assert!(
        matches!(
            events.last(),
            Some(Event::Disconnected {
                reason: DisconnectReason::StreamError(e)
            }) if e.condition == StreamErrorCondition::Conflict
        ),
        "{events:?}"
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::Reconnecting { .. })));
    assert_eq!(s.deadline, None);
}

#[test]
fn nothing_is_retried_after_the_applications_close() {
    // Closed while online: the server's error during the close is not retried.
    let mut s = online_with(policy(), 7);
    s.client.close(s.now);
    s.sent();
    s.client.handle_input(Input::TransportClosed(s.now));
    assert!(matches!(
        s.take_events().last(),
        Some(Event::Disconnected {
            reason: DisconnectReason::Closed
        })
    ));
    s.advance(Duration::from_secs(1000));
    assert_eq!(s.connect_requests, 0);

    // Closed while waiting to reconnect: over at once, no new transport.
    let mut s = online_with(policy(), 7);
    drop_transport(&mut s, 1);
    s.client.close(s.now);
    assert!(matches!(
        s.take_events().last(),
        Some(Event::Disconnected {
            reason: DisconnectReason::Closed
        })
    ));
    assert_eq!(s.deadline, None);
    s.advance(Duration::from_secs(1000));
    assert_eq!(s.connect_requests, 0);

    // Closed while the driver connects: its late report changes nothing.
    let mut s = online_with(policy(), 7);
    let delay = drop_transport(&mut s, 1);
    wait_for_connect(&mut s, delay);
    s.client.close(s.now);
    assert!(!s.client.is_connecting(), "the driver abandons its attempt");
    assert!(matches!(
        s.take_events().last(),
        Some(Event::Disconnected {
            reason: DisconnectReason::Closed
        })
    ));
    s.client
        .handle_input(Input::Connected(s.now, Security::StartTls));
    assert_eq!(s.sent(), "");
    assert!(s.take_events().is_empty());
}

#[test]
fn a_session_that_never_got_online_is_not_retried() {
    let mut s = Session::new(config().reconnect(policy()).build());
    s.sent();
    s.client.handle_input(Input::TransportClosed(s.now));
    assert!(matches!(
        s.take_events().last(),
        Some(Event::Disconnected { .. })
    ));
    assert_eq!(s.deadline, None);
}

#[test]
fn failed_attempts_count_up_to_the_policys_cap_and_a_final_one_stops_at_once() {
    let mut s = online_with(policy().max_attempts(2), 7);
    let delay = drop_transport(&mut s, 1);
    wait_for_connect(&mut s, delay);
    s.client.handle_input(Input::ConnectFailed(s.now, false));
    let events = s.take_events();
    let (delay, reason) = reconnecting(events.last().unwrap(), 2);
    assert_eq!(reason, DisconnectReason::ConnectFailed { is_final: false });
    wait_for_connect(&mut s, delay);
    s.client.handle_input(Input::ConnectFailed(s.now, false));
    assert!(matches!(
        s.take_events().last(),
        Some(Event::Disconnected {
            reason: DisconnectReason::ConnectFailed { is_final: false }
        })
    ));
    assert_eq!(s.deadline, None);

    // A failure the driver calls final (a refused certificate, say).
    let mut s = online_with(policy(), 7);
    let delay = drop_transport(&mut s, 1);
    wait_for_connect(&mut s, delay);
    s.client.handle_input(Input::ConnectFailed(s.now, true));
    assert!(matches!(
        s.take_events().last(),
        Some(Event::Disconnected {
            reason: DisconnectReason::ConnectFailed { is_final: true }
        })
    ));

    // A success resets the count.
    let mut s = online_with(policy().max_attempts(1), 7);
    let delay = drop_transport(&mut s, 1);
    wait_for_connect(&mut s, delay);
    relogin(&mut s, "two");
    let delay = drop_transport(&mut s, 1);
    wait_for_connect(&mut s, delay);
}

#[test]
fn a_login_that_stalls_on_the_new_transport_is_another_failed_attempt() {
    let mut s = online_with(policy(), 7);
    let delay = drop_transport(&mut s, 1);
    wait_for_connect(&mut s, delay);
    s.client
        .handle_input(Input::Connected(s.now, Security::StartTls));
    s.sent();
    s.advance(Duration::from_secs(30)); // the default login timeout
    let events = s.take_events();
    let (_, reason) = reconnecting(events.last().unwrap(), 2);
    assert!(matches!(reason, DisconnectReason::Timeout(_)), "{reason:?}");
}

#[test]
fn never_less_than_a_second_between_attempts() {
    let quick =
        ReconnectPolicy::new().backoff(Duration::from_millis(10), Duration::from_millis(40), 2);
    let mut s = online_with(quick, 7);
    let delay = drop_transport(&mut s, 1);
    assert_eq!(delay, MIN_RECONNECT_DELAY);
    wait_for_connect(&mut s, delay);
    s.client.handle_input(Input::ConnectFailed(s.now, false));
    let events = s.take_events();
    let (delay, _) = reconnecting(events.last().unwrap(), 2);
    assert_eq!(delay, MIN_RECONNECT_DELAY);
}

#[test]
fn the_jitter_comes_from_the_seed() {
    fn delays(seed: u8) -> Vec<Duration> {
        let mut s = online_with(policy(), seed);
        let mut delays = vec![drop_transport(&mut s, 1)];
        for attempt in 2..=4 {
            wait_for_connect(&mut s, *delays.last().unwrap());
            s.client.handle_input(Input::ConnectFailed(s.now, false));
            let events = s.take_events();
            delays.push(reconnecting(events.last().unwrap(), attempt).0);
        }
        delays
    }
    let a = delays(7);
    assert_eq!(a, delays(7), "same seed, same delays");
    assert_ne!(a, delays(8), "another seed, other delays");
    assert!(a.iter().all(|d| *d <= Duration::from_secs(100)));
    assert!(a.windows(2).any(|w| w[0] != w[1]), "jittered: {a:?}");
}

/// Counts what happens to it; keeps its state across connections.
#[derive(Default)]
struct Tally {
    online: usize,
    offline: usize,
    messages: usize,
}

impl Module for Tally {
    fn name(&self) -> &'static str {
        "tally"
    }

    fn handle_stanza(&mut self, _ctx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        if let Stanza::Message(_) = stanza {
            self.messages += 1;
            return Handled::Yes;
        }
        Handled::No
    }

    fn online(&mut self, _ctx: &mut ModuleContext<'_>, _resumed: bool) {
        self.online += 1;
    }

    fn offline(&mut self, _resumable: bool) {
        self.offline += 1;
    }
}

#[test]
fn a_registered_module_keeps_its_state_across_a_reconnection() {
    let mut s = Session::new(config().reconnect(policy()).build());
    s.client.register(Tally::default()).expect("register");
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, session::PASSWORD);
    s.scram(&mut scram);
    s.bind("one");
    s.server("<message from='romeo@example.net/a' type='chat'><body>1</body></message>");
    let tally = s.client.module::<Tally>().unwrap();
    assert_eq!((tally.online, tally.offline, tally.messages), (1, 0, 1));

    let delay = drop_transport(&mut s, 1);
    assert_eq!(s.client.module::<Tally>().unwrap().offline, 1);
    wait_for_connect(&mut s, delay);
    relogin(&mut s, "two");
    s.server("<message from='romeo@example.net/a' type='chat'><body>2</body></message>");
    let tally = s.client.module::<Tally>().unwrap();
    assert_eq!((tally.online, tally.offline, tally.messages), (2, 1, 2));
}

#[test]
fn a_close_before_the_connect_is_handed_out_leaves_no_connect() {
    let mut s = online_with(policy(), 7);
    let delay = drop_transport(&mut s, 1);
    s.now += delay;
    s.client.handle_input(Input::Timeout(s.now));
    s.client.close(s.now); // before polling: the Connect is queued
    let mut outputs = Vec::new();
    loop {
        match s.client.poll_output() {
            Output::Event(Event::Disconnected { reason }) => {
                assert_eq!(reason, DisconnectReason::Closed);
                outputs.push("disconnected");
            }
            Output::Event(e) => panic!("{e:?}"),
            Output::Transmit(_) => outputs.push("transmit"),
            Output::StartTls { .. } => outputs.push("starttls"),
            Output::CloseTransport => outputs.push("close"),
            Output::Connect => outputs.push("connect"),
            Output::Timeout(t) => {
                assert_eq!(t, None);
                break;
            }
        }
    }
    assert_eq!(outputs, ["disconnected", "close"]);
}

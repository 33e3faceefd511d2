//! Keepalive and liveness through the deadline mechanism: whitespace after
//! quiet sending, a ping after quiet receiving, and the end of the session
//! when the ping goes unanswered.

use xmpp_test_support::session;

use std::time::Duration;

use session::{config, Session};
use xmpp_proto::{DisconnectReason, Timeouts};

fn timeouts() -> Timeouts {
    Timeouts {
        keepalive: Duration::from_secs(60),
        idle: Duration::from_secs(90),
        iq: Duration::from_secs(20),
        ..Timeouts::default()
    }
}

#[test]
fn whitespace_keepalive_after_a_quiet_minute() {
    let mut s = Session::login(config().timeouts(timeouts()).build());
    s.sent();
    let deadline = s.deadline.expect("a deadline while online");
    assert_eq!(deadline, s.now + Duration::from_secs(60));
    s.advance(Duration::from_secs(60));
    assert_eq!(s.sent(), " ");
    // Next comes the idle check (90 s after the last byte received), before
    // the next keepalive (60 s after this write).
    assert_eq!(s.deadline, Some(s.now + Duration::from_secs(30)));
}

#[test]
fn idle_link_is_pinged_and_an_answer_keeps_it_up() {
    let mut s = Session::login(config().timeouts(timeouts()).build());
    s.sent();
    s.advance(Duration::from_secs(60));
    s.sent();
    s.advance(Duration::from_secs(30));
    let ping = s.sent();
    assert!(ping.contains("<ping xmlns='urn:xmpp:ping'/>"), "{ping:?}");
    let id = xmpp_proto::testing::attr_after(&ping, "<iq", "id").unwrap();
    s.server(&format!("<iq from='example.com' id='{id}' type='result'/>"));
    s.advance(Duration::from_secs(25));
    assert!(s.disconnect_reason().is_none(), "{:?}", s.events);
}

#[test]
fn unanswered_ping_ends_the_session() {
    let mut s = Session::login(config().timeouts(timeouts()).build());
    s.advance(Duration::from_secs(90));
    assert!(s.sent().contains("urn:xmpp:ping"));
    s.advance(Duration::from_secs(21));
    assert!(
        matches!(s.disconnect_reason(), Some(DisconnectReason::Timeout(_))),
        "{:?}",
        s.events
    );
    assert!(s.close_transport);
}

#[test]
fn received_data_postpones_the_idle_ping() {
    let mut s = Session::login(config().timeouts(timeouts()).build());
    for _ in 0..5 {
        s.advance(Duration::from_secs(50));
        s.server(" ");
    }
    assert!(!s.sent().contains("urn:xmpp:ping"));
}

//! STARTTLS plaintext injection: bytes that arrive after `<proceed/>` in
//! the same read were sent in plaintext by whoever sits on the wire; they
//! must be discarded, never parsed as if they came over TLS.

use xmpp_test_support::scram_server;
use xmpp_test_support::session;

use scram_server::{Hash, ScramServer};
use session::{config, Session, DOMAIN, PASSWORD};
use xmpp_proto::testing::{features_sasl, server_header, FEATURES_STARTTLS};
use xmpp_proto::Event;

#[test]
fn bytes_after_proceed_in_the_same_read_are_discarded() {
    let mut s = Session::new(config().build());
    assert!(s.sent().contains("<starttls"), "with the header");
    s.server(&(server_header(DOMAIN, "s1") + FEATURES_STARTTLS));
    // The attacker appends a fake stream, fake features offering PLAIN, and
    // a message, in the same TCP segment as <proceed/>.
    let injected = format!(
        "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>{}{}<message from='mallory@evil.example' to='juliet@example.com'><body>hi</body></message>",
        server_header(DOMAIN, "evil"),
        features_sasl(&["PLAIN"])
    );
    s.server(&injected);
    assert_eq!(s.start_tls, [DOMAIN]);
    assert_eq!(s.client.state_name(), "awaiting-tls");
    assert_eq!(s.sent(), "", "nothing sent before TLS is up");
    assert!(s.events.is_empty(), "{:?}", s.events);
    s.tls_up(None);
    let header = s.sent();
    assert!(
        header.starts_with("<?xml version='1.0'?><stream:stream"),
        "{header}"
    );
    assert!(
        !header.contains("<auth"),
        "the injected features were never read: {header}"
    );
    // The real server's features after TLS decide the mechanism.
    s.server(&(server_header(DOMAIN, "s2") + &features_sasl(&["SCRAM-SHA-1", "PLAIN"])));
    let auth = s.sent();
    assert!(auth.contains("mechanism='SCRAM-SHA-1'"), "{auth}");
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    s.server(&scram.challenge(&auth));
    let resp = s.sent();
    s.server(&scram.outcome(&resp));
    s.bind("x");
    assert!(s.is_online());
    assert!(!s.events.iter().any(|e| matches!(e, Event::Message(_))));
}

#[test]
fn bytes_while_tls_is_being_set_up_are_refused_with_a_warning() {
    let mut s = Session::new(config().build());
    s.sent();
    s.server(&(server_header(DOMAIN, "s1") + FEATURES_STARTTLS));
    s.sent();
    s.server("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    s.server("<message><body>plaintext</body></message>");
    assert!(s.events.iter().any(
        |e| matches!(e, Event::Warning(w) if w.kind == xmpp_proto::WarningKind::UnexpectedInput)
    ));
    assert!(!s.events.iter().any(|e| matches!(e, Event::Message(_))));
}

//! TLS is required by default: a server (or an attacker stripping
//! `<starttls/>`) that offers no STARTTLS gets no credential.

use xmpp_test_support::session;

use session::{config, Session, DOMAIN};
use xmpp_proto::sasl::Mechanism;
use xmpp_proto::testing::{features_sasl, server_header};
use xmpp_proto::{DisconnectReason, TlsPolicy};

#[test]
fn no_starttls_offered_fails_before_any_credential() {
    let mut s = Session::new(config().build());
    s.sent();
    s.server(&(server_header(DOMAIN, "s1") + &features_sasl(&["PLAIN", "SCRAM-SHA-1"])));
    let sent = s.sent();
    assert!(!sent.contains("<auth"), "{sent}");
    assert!(sent.contains("</stream:stream>"));
    assert_eq!(s.disconnect_reason(), Some(&DisconnectReason::TlsRequired));
    assert!(s.close_transport);
    assert!(s.disconnect_reason().is_some_and(|r| r.is_final()));
}

#[test]
fn starttls_failure_is_final() {
    let mut s = Session::new(config().build());
    s.sent();
    s.server(&(server_header(DOMAIN, "s1") + xmpp_proto::testing::FEATURES_STARTTLS));
    s.sent();
    s.server("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    assert_eq!(s.disconnect_reason(), Some(&DisconnectReason::TlsRefused));
    assert!(!s.sent().contains("<auth"));
}

#[test]
fn plain_is_refused_without_tls_even_when_plaintext_is_allowed() {
    let cfg = config().tls(TlsPolicy::AllowPlaintext).build();
    let mut s = Session::new(cfg);
    s.sent();
    s.server(&(server_header(DOMAIN, "s1") + &features_sasl(&["PLAIN"])));
    let sent = s.sent();
    assert!(!sent.contains("<auth"), "{sent}");
    assert!(matches!(
        s.disconnect_reason(),
        Some(DisconnectReason::NoMechanism { .. })
    ));
}

#[test]
fn plaintext_session_with_scram_when_explicitly_allowed() {
    let cfg = config()
        .tls(TlsPolicy::AllowPlaintext)
        .mechanisms(&[Mechanism::ScramSha1])
        .build();
    let mut s = Session::new(cfg);
    s.sent();
    s.server(&(server_header(DOMAIN, "s1") + &features_sasl(&["SCRAM-SHA-1"])));
    let auth = s.sent();
    assert!(auth.contains("mechanism='SCRAM-SHA-1'"), "{auth}");
}

#[test]
fn a_direct_tls_port_answering_our_header_with_tls_is_named() {
    // What rustls sends a client that does not speak TLS: a fatal alert.
    let alert = [0x15u8, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32];
    for whole in [true, false] {
        let mut s = Session::new(config().build());
        assert!(s.sent().contains("<stream:stream"));
        if whole {
            s.client
                .handle_input(xmpp_proto::Input::Received(s.now, &alert));
        } else {
            for byte in alert.chunks(1) {
                s.client
                    .handle_input(xmpp_proto::Input::Received(s.now, byte));
            }
        }
        s.drain();
        let reason = s.disconnect_reason().cloned();
        assert_eq!(
            reason,
            Some(DisconnectReason::NoStreamHeader { tls: true }),
            "whole: {whole}"
        );
        let reason = reason.unwrap();
        assert!(reason.is_final());
        let text = reason.to_string();
        assert!(
            text.contains("direct TLS") && text.contains("TlsPolicy::DirectTls"),
            "{text}"
        );
        assert_eq!(s.sent(), "", "no stream error written to a TLS server");
        assert!(s.close_transport);
    }
}

#[test]
fn a_connection_closed_before_the_servers_first_byte_is_named() {
    let mut s = Session::new(config().build());
    s.sent();
    s.client
        .handle_input(xmpp_proto::Input::TransportClosed(s.now));
    s.drain();
    let reason = s.disconnect_reason().unwrap().clone();
    assert_eq!(reason, DisconnectReason::NoStreamHeader { tls: false });
    assert!(!reason.is_final(), "a silent close may pass");
    assert!(reason.to_string().contains("TlsPolicy::DirectTls"));

    // Once the server has said anything, a close is just a lost connection.
    let mut s = Session::new(config().build());
    s.sent();
    s.server(&server_header(DOMAIN, "s1"));
    s.client
        .handle_input(xmpp_proto::Input::TransportClosed(s.now));
    s.drain();
    assert_eq!(
        s.disconnect_reason(),
        Some(&DisconnectReason::TransportClosed)
    );

    // And a direct-TLS connection's first bytes are TLS's business.
    let mut s = Session::new(config().tls(TlsPolicy::DirectTls).build());
    s.client
        .handle_input(xmpp_proto::Input::TransportClosed(s.now));
    s.drain();
    assert_eq!(
        s.disconnect_reason(),
        Some(&DisconnectReason::TransportClosed)
    );
}

#[test]
fn starttls_leaves_with_the_header_only_when_tls_is_required() {
    let mut s = Session::new(config().build());
    let first = s.sent();
    assert_eq!(s.flushes, 1, "one flush: {first}");
    assert!(
        first.contains("<stream:stream")
            && first.ends_with("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
        "{first}"
    );
    // Features that say nothing of STARTTLS, and a <proceed/> an attacker
    // slips in after them: the session ends at the features, no credential.
    s.server(
        &(server_header(DOMAIN, "s1")
            + &features_sasl(&["PLAIN"])
            + "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
    );
    assert_eq!(s.disconnect_reason(), Some(&DisconnectReason::TlsRequired));
    assert!(s.start_tls.is_empty(), "no TLS on the attacker's word");
    assert!(!s.sent().contains("<auth"));

    let mut s = Session::new(config().tls(TlsPolicy::AllowPlaintext).build());
    let first = s.sent();
    assert!(
        !first.contains("starttls"),
        "plaintext allowed: waits for the features: {first}"
    );
}

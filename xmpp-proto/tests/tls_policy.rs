//! TLS is required by default: a server (or an attacker stripping
//! `<starttls/>`) that offers no STARTTLS gets no credential.

#[path = "support/scram_server.rs"]
mod scram_server;
#[path = "support/session.rs"]
mod session;

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

//! A server (or a man in the middle) that lies during SCRAM: every lie ends
//! the session with a final, typed error; a wrong password is reported as
//! the server's failure with its text.

use xmpp_test_support::scram_server;
use xmpp_test_support::session;

use scram_server::{Hash, ScramServer, Tamper};
use session::{config, Session, PASSWORD};
use xmpp_proto::sasl::{SaslError, SaslFailureCondition};
use xmpp_proto::DisconnectReason;

fn run(tamper: Tamper, password: &str) -> Session {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, password);
    scram.tamper = tamper;
    s.scram(&mut scram);
    s
}

#[test]
fn wrong_password_is_an_authentication_failure_with_the_servers_text() {
    let s = run(Tamper::None, "not-the-password");
    match s.disconnect_reason() {
        Some(DisconnectReason::AuthFailed(f)) => {
            assert_eq!(f.condition, SaslFailureCondition::NotAuthorized);
            assert_eq!(f.text.as_deref(), Some("Invalid username or password"));
        }
        other => panic!("{other:?}"),
    }
    assert!(s.disconnect_reason().is_some_and(|r| r.is_final()));
    assert!(!s.is_online());
}

#[test]
fn wrong_server_signature_is_rejected_and_the_session_closed() {
    let mut s = run(Tamper::WrongSignature, PASSWORD);
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(DisconnectReason::AuthRejected(
                SaslError::ServerSignatureMismatch
            ))
        ),
        "{:?}",
        s.events
    );
    assert!(!s.is_online());
    assert!(s.close_transport);
    let after = s.sent();
    assert!(
        !after.contains("<bind"),
        "no bind after a bad signature: {after}"
    );
}

#[test]
fn success_without_server_signature_is_rejected() {
    let s = run(Tamper::NoSignature, PASSWORD);
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(DisconnectReason::AuthRejected(
                SaslError::MissingServerSignature
            ))
        ),
        "{:?}",
        s.events
    );
}

#[test]
fn server_nonce_not_extending_ours_is_rejected_before_any_proof() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    scram.tamper = Tamper::ForeignNonce;
    let auth = s.sent();
    s.server(&scram.challenge(&auth));
    let after = s.sent();
    assert!(
        !after.contains("<response"),
        "no proof for a foreign nonce: {after}"
    );
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(DisconnectReason::AuthRejected(SaslError::NonceMismatch))
        ),
        "{:?}",
        s.events
    );
}

#[test]
fn absurd_iteration_count_fails_fast() {
    // u32::MAX PBKDF2 rounds would take hours; the bound check comes first.
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    scram.tamper = Tamper::HugeIterations;
    let auth = s.sent();
    s.server(&scram.challenge(&auth));
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(DisconnectReason::AuthRejected(_))
        ),
        "{:?}",
        s.events
    );
}

#[test]
fn success_before_the_challenge_is_rejected() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    s.sent();
    s.server("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(DisconnectReason::AuthRejected(_))
        ),
        "{:?}",
        s.events
    );
    assert!(!s.is_online());
}

#[test]
fn garbage_sasl_payload_is_a_protocol_violation() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    s.sent();
    s.server("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>!!!not base64!!!</challenge>");
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(DisconnectReason::ProtocolViolation(_))
        ),
        "{:?}",
        s.events
    );
}

#[test]
fn downgrade_protection_hash_mismatch_is_detected() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1", "SCRAM-SHA-256"], "", None);
    // The client picked SCRAM-SHA-256; the server's (honest) list had more
    // mechanisms than what reached the client: an attacker removed one.
    let mut scram = ScramServer::new(Hash::Sha256, PASSWORD);
    scram.advertise_mechanisms(&[
        "PLAIN",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
        "SCRAM-SHA-256-PLUS",
    ]);
    let auth = s.sent();
    s.server(&scram.challenge(&auth));
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(DisconnectReason::AuthRejected(SaslError::DowngradeDetected))
        ),
        "{:?}",
        s.events
    );
}

#[test]
fn downgrade_protection_hash_match_logs_in() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-256", "SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha256, PASSWORD);
    scram.advertise_mechanisms(&["SCRAM-SHA-1", "SCRAM-SHA-256"]);
    s.scram(&mut scram);
    s.bind("r");
    assert!(s.is_online(), "{:?}", s.events);
}

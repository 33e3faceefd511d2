//! Optimistic authentication (issue #15), byte for byte: a returning client
//! (the same session after a reconnection, or stored SCRAM keys) sends its
//! `<auth/>` with the stream header after TLS, and a STARTTLS login takes 4
//! client flushes (5 round trips with the TLS handshake) instead of 5. It is
//! never weaker than waiting: features that lead to another choice (a
//! stronger mechanism, `-PLUS` now possible) abandon the attempt with
//! `<abort/>`; answers to the abandoned attempt are dropped; XEP-0474 is
//! checked against the mechanisms the server really offered.

use xmpp_test_support::{scram_server, session};

use scram_server::{Hash, ScramServer};
use session::{config, Session, PASSWORD};
use xmpp_proto::sasl::{ChannelBinding, ChannelBindingType, Credentials, ScramKeys};
use xmpp_proto::testing::server_header;
use xmpp_proto::{Config, DisconnectReason, Mechanism};

fn keys() -> ScramKeys {
    ScramServer::new(Hash::Sha1, PASSWORD).keys(PASSWORD)
}

fn returning() -> Session {
    Session::new(Config {
        credentials: Credentials::PasswordAndKeys(PASSWORD.into(), keys()),
        ..config().build()
    })
}

fn exporter() -> ChannelBinding {
    ChannelBinding {
        kind: ChannelBindingType::TlsExporter,
        data: vec![7; 32],
    }
}

#[test]
fn a_returning_client_logs_in_with_four_flushes() {
    let mut s = returning();
    s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
    // 1: header + starttls; 2: header + auth (the features did not wait).
    assert_eq!(s.flushes, 2);
    let outcome = s.scram(&mut ScramServer::new(Hash::Sha1, PASSWORD));
    assert!(outcome.starts_with("<success"), "{outcome}");
    s.bind("b");
    assert!(s.is_online(), "{:?}", s.events);
    assert_eq!(
        s.flushes, 4,
        "header+starttls, header+auth, response, restart+bind"
    );
}

#[test]
fn a_first_login_waits_for_the_features() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    assert_eq!(s.flushes, 3, "header+starttls, the header alone, the auth");
    let auth = s.sent();
    assert!(auth.starts_with("<auth"), "after the features: {auth}");
}

#[test]
fn plus_now_possible_abandons_the_attempt_for_the_bound_mechanism() {
    let mut s = returning();
    s.starttls_to_sasl(
        &["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"],
        "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding>",
        Some(exporter()),
    );
    let sent = s.sent();
    assert!(sent.contains("mechanism='SCRAM-SHA-1'"), "the bet: {sent}");
    assert!(
        sent.ends_with("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
        "{sent}"
    );
    // The server answered the abandoned attempt before it read the abort:
    // dropped, then its failure.
    let mut stale = ScramServer::new(Hash::Sha1, PASSWORD);
    s.server(&stale.challenge(&sent));
    assert_eq!(s.sent(), "", "no response to the abandoned attempt");
    s.server("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/></failure>");
    let auth = s.sent();
    assert!(auth.contains("mechanism='SCRAM-SHA-1-PLUS'"), "{auth}");
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    s.server(&scram.challenge(&auth));
    assert!(
        scram.gs2_header.starts_with("p=tls-exporter"),
        "{}",
        scram.gs2_header
    );
    let response = s.sent();
    s.server(&scram.outcome(&response));
    s.bind("b");
    assert!(s.is_online(), "{:?}", s.events);
}

#[test]
fn the_same_choice_goes_on_and_xep_0474_checks_the_real_offer() {
    // The bet was made on SCRAM-SHA-1 alone (the keys); the server offers
    // PLAIN too and signs that list: the signature matches what it sent.
    let mut s = returning();
    s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    scram.advertise_mechanisms(&["PLAIN", "SCRAM-SHA-1"]);
    let outcome = s.scram(&mut scram);
    assert!(outcome.starts_with("<success"), "{outcome}");
    s.bind("b");
    assert!(s.is_online(), "{:?}", s.events);

    // A signed list that is not what the server offered: a downgrade.
    let mut s = returning();
    s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    scram.advertise_mechanisms(&["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"]);
    let auth = s.sent();
    s.server(&scram.challenge(&auth));
    assert!(
        !s.sent().contains("<response"),
        "no proof for a downgraded list"
    );
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
fn a_sasl_answer_before_the_features_is_a_protocol_violation() {
    let mut s = returning();
    s.sent();
    s.server(&(server_header(session::DOMAIN, "s1") + xmpp_proto::testing::FEATURES_STARTTLS));
    s.server("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    s.tls_up(None);
    let sent = s.sent();
    assert!(sent.contains("<auth"), "{sent}");
    s.server(&server_header(session::DOMAIN, "s2"));
    s.server("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(DisconnectReason::ProtocolViolation(_))
        ),
        "{:?}",
        s.events
    );
    assert!(!s.is_online());
}

#[test]
fn plain_is_never_sent_optimistically() {
    // Keys say SCRAM-SHA-1, but the policy allows PLAIN only: no bet.
    let mut s = Session::new(Config {
        credentials: Credentials::PasswordAndKeys(PASSWORD.into(), keys()),
        ..config().mechanisms(&[Mechanism::Plain]).build()
    });
    s.starttls_to_sasl(&["PLAIN"], "", None);
    assert_eq!(s.flushes, 3, "the auth waited for the features");
    let auth = s.sent();
    assert!(auth.contains("mechanism='PLAIN'"), "{auth}");
    s.server("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
    s.bind("b");
    assert!(s.is_online());
}

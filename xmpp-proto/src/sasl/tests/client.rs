//! `SaslClient::new` validation and PLAIN (RFC 4616).

use super::*;

#[test]
fn selection_must_fit_policy_offer_and_binding() {
    let offer = offer(&["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]);
    let exporter = ChannelBinding::new(ChannelBindingType::TlsExporter, vec![1; 32]);
    let unique = ChannelBinding::new(ChannelBindingType::TlsUnique, vec![1; 12]);
    let plus = selection(
        Mechanism::ScramSha256Plus,
        Gs2Flag::P(ChannelBindingType::TlsExporter),
    );
    assert!(new_client(&plus, &password(), Some(&exporter), &offer).is_ok());
    for cb in [None, Some(&unique)] {
        assert_eq!(
            new_client(&plus, &password(), cb, &offer).unwrap_err(),
            SaslError::ChannelBindingUnavailable {
                kind: "tls-exporter"
            }
        );
    }
    let no_tls = Selection { tls: false, ..plus };
    assert!(new_client(&no_tls, &password(), Some(&exporter), &offer).is_err());

    let plus_n = selection(Mechanism::ScramSha256Plus, Gs2Flag::N);
    let plain_p = selection(
        Mechanism::ScramSha256,
        Gs2Flag::P(ChannelBindingType::TlsExporter),
    );
    for bad in [plus_n, plain_p] {
        let err = new_client(&bad, &password(), Some(&exporter), &offer).unwrap_err();
        assert!(
            matches!(err, SaslError::InconsistentSelection { .. }),
            "{err}"
        );
    }
    let sha1 = selection(Mechanism::ScramSha1, Gs2Flag::N);
    assert_eq!(
        new_client(&sha1, &password(), None, &offer).unwrap_err(),
        SaslError::MechanismNotOffered {
            mechanism: "SCRAM-SHA-1"
        }
    );
    let strict = SaslPolicy {
        allowed: vec![Mechanism::ScramSha256Plus],
        ..fast_policy()
    };
    let sel = selection(Mechanism::ScramSha256, Gs2Flag::N);
    let err =
        SaslClient::new(&sel, "user", &password(), None, &ENTROPY, &strict, &offer).unwrap_err();
    assert_eq!(
        err,
        SaslError::MechanismNotAllowed {
            mechanism: "SCRAM-SHA-256"
        }
    );
}

#[test]
fn nonce_entropy_and_identity_checks() {
    let offer = offer(&["SCRAM-SHA-256"]);
    let sel = selection(Mechanism::ScramSha256, Gs2Flag::N);
    let policy = fast_policy();
    let err =
        SaslClient::new(&sel, "user", &password(), None, &[0; 17], &policy, &offer).unwrap_err();
    assert_eq!(err, SaslError::InsufficientEntropy { got: 17, min: 18 });
    for name in ["", "a\0b"] {
        let err =
            SaslClient::new(&sel, name, &password(), None, &ENTROPY, &policy, &offer).unwrap_err();
        assert!(matches!(err, SaslError::InvalidUsername { .. }));
    }
    let empty = Credentials::Password(String::new());
    assert!(matches!(
        new_client(&sel, &empty, None, &offer).unwrap_err(),
        SaslError::InvalidPassword { .. }
    ));
}

#[test]
fn plain_message_and_exchange() {
    let offer = offer(&["PLAIN"]);
    let sel = selection(Mechanism::Plain, Gs2Flag::N);
    // PLAIN ignores the nonce entropy.
    let mut c = SaslClient::new(
        &sel,
        "juliet",
        &password(),
        None,
        &[],
        &fast_policy(),
        &offer,
    )
    .unwrap();
    assert_eq!(c.mechanism(), Mechanism::Plain);
    assert_eq!(c.initial_response(), b"\0juliet\0pencil");
    assert_eq!(c.initial_response(), b"\0juliet\0pencil");
    assert_eq!(c.success(b""), Ok(None));
    assert!(c.success(b"").is_err());
    assert!(!c.downgrade_protection_verified());
    assert!(!format!("{c:?}").contains(PASSWORD));
}

#[test]
fn plain_refusals() {
    let offer = offer(&["PLAIN"]);
    let clear = Selection {
        tls: false,
        ..selection(Mechanism::Plain, Gs2Flag::N)
    };
    assert_eq!(
        new_client(&clear, &password(), None, &offer).unwrap_err(),
        SaslError::PlainWithoutTls
    );
    let lax = SaslPolicy {
        allow_plain_without_tls: true,
        ..fast_policy()
    };
    assert!(SaslClient::new(&clear, "user", &password(), None, &[], &lax, &offer).is_ok());

    let sel = selection(Mechanism::Plain, Gs2Flag::N);
    let keys = ScramKeys::derive(ScramHash::Sha1, PASSWORD, SALT, 2).unwrap();
    assert_eq!(
        new_client(&sel, &Credentials::Salted(keys), None, &offer).unwrap_err(),
        SaslError::PasswordRequired { mechanism: "PLAIN" }
    );
    let nul = Credentials::Password("pen\0cil".into());
    let err = new_client(&sel, &nul, None, &offer).unwrap_err();
    assert!(matches!(err, SaslError::InvalidPassword { .. }));
    assert!(!err.to_string().contains("pen"));

    // A challenge, or a success before the message went out, is refused.
    let mut c = new_client(&sel, &password(), None, &offer).unwrap();
    assert!(c.success(b"").is_err());
    let mut c = new_client(&sel, &password(), None, &offer).unwrap();
    c.initial_response();
    assert!(matches!(
        c.challenge(b"").unwrap_err(),
        SaslError::UnexpectedMessage { .. }
    ));
    assert!(c.success(b"").is_err());
}

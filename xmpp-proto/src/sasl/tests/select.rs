//! Mechanism and GS2-flag selection (RFC 6120 §6.3.3, RFC 5802 §6,
//! XEP-0440, XEP-0474 §6) and the guessed-type fallback.

use super::*;

const ALL: [&str; 5] = [
    "PLAIN",
    "SCRAM-SHA-1",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-256-PLUS",
];

fn exporter() -> ChannelBinding {
    ChannelBinding::new(ChannelBindingType::TlsExporter, vec![9; 32])
}

fn pick(offer: &Offer, tls: bool, cb: Option<&ChannelBinding>, avoid_plus: bool) -> Selection {
    select(offer, tls, cb, &SaslPolicy::default(), avoid_plus).unwrap()
}

#[test]
fn mechanism_names_order_and_plus() {
    let mut all = Mechanism::ALL.to_vec();
    all.reverse();
    all.sort();
    assert_eq!(all, Mechanism::ALL);
    assert!(Mechanism::ScramSha256Plus < Mechanism::ScramSha1Plus);
    assert!(Mechanism::ScramSha1Plus < Mechanism::ScramSha256);
    assert!(Mechanism::ScramSha1 < Mechanism::Plain);
    for m in Mechanism::ALL {
        assert_eq!(Mechanism::from_name(m.name()), Some(m));
        assert_eq!(m.is_plus(), m.name().ends_with("-PLUS"));
    }
    assert_eq!(Mechanism::from_name("scram-sha-1"), None);
    assert_eq!(Mechanism::from_name("SCRAM-SHA-512"), None);
    assert_eq!(Mechanism::Plain.scram_hash(), None);
}

#[test]
fn strongest_plus_with_an_advertised_type() {
    let offer = Offer::new(
        &ALL[..],
        Some(&["tls-server-end-point", "tls-exporter"][..]),
    );
    let sel = pick(&offer, true, Some(&exporter()), false);
    assert_eq!(sel.mechanism, Mechanism::ScramSha256Plus);
    assert_eq!(sel.gs2, Gs2Flag::P(ChannelBindingType::TlsExporter));
    assert!(!sel.cb_guessed && sel.tls);
}

#[test]
fn unadvertised_type_means_no_plus_and_flag_n() {
    // XEP-0474 §6 rule 6: our type is not listed, continue with "n".
    let offer = Offer::new(&ALL[..], Some(&["tls-server-end-point"][..]));
    let sel = pick(&offer, true, Some(&exporter()), false);
    assert_eq!(
        (sel.mechanism, sel.gs2),
        (Mechanism::ScramSha256, Gs2Flag::N)
    );
}

#[test]
fn no_advertised_types_means_a_guess() {
    let offer = offer(&ALL);
    for kind in [
        ChannelBindingType::TlsExporter,
        ChannelBindingType::TlsUnique,
    ] {
        let cb = ChannelBinding::new(kind, vec![1; 12]);
        let sel = pick(&offer, true, Some(&cb), false);
        assert_eq!(sel.mechanism, Mechanism::ScramSha256Plus);
        assert_eq!(sel.gs2, Gs2Flag::P(kind));
        assert!(sel.cb_guessed);
    }
}

#[test]
fn flag_y_when_we_could_bind_but_no_plus_is_offered() {
    let offer = offer(&["SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"]);
    let sel = pick(&offer, true, Some(&exporter()), false);
    assert_eq!(
        (sel.mechanism, sel.gs2),
        (Mechanism::ScramSha256, Gs2Flag::Y)
    );
}

#[test]
fn flag_n_without_usable_binding_data() {
    let offer = offer(&ALL);
    let sel = pick(&offer, true, None, false);
    assert_eq!(
        (sel.mechanism, sel.gs2),
        (Mechanism::ScramSha256, Gs2Flag::N)
    );
    let empty = ChannelBinding::new(ChannelBindingType::TlsExporter, Vec::new());
    let sel = pick(&offer, true, Some(&empty), false);
    assert_eq!(
        (sel.mechanism, sel.gs2),
        (Mechanism::ScramSha256, Gs2Flag::N)
    );
    // Binding data without TLS cannot be real: ignored.
    let sel = pick(&offer, false, Some(&exporter()), false);
    assert_eq!(
        (sel.mechanism, sel.gs2),
        (Mechanism::ScramSha256, Gs2Flag::N)
    );
}

#[test]
fn unknown_plus_mechanism_counts_as_server_binding_support() {
    // The server binds (SCRAM-SHA-512-PLUS), so "y" would make it fail us.
    let offer = offer(&["SCRAM-SHA-512-PLUS", "SCRAM-SHA-256"]);
    let sel = pick(&offer, true, Some(&exporter()), false);
    assert_eq!(
        (sel.mechanism, sel.gs2),
        (Mechanism::ScramSha256, Gs2Flag::N)
    );
}

#[test]
fn policy_limits_the_choice() {
    let offer = offer(&ALL);
    let no_plus = SaslPolicy {
        allowed: vec![Mechanism::ScramSha256, Mechanism::ScramSha1],
        ..SaslPolicy::default()
    };
    let sel = select(&offer, true, Some(&exporter()), &no_plus, false).unwrap();
    assert_eq!(
        (sel.mechanism, sel.gs2),
        (Mechanism::ScramSha256, Gs2Flag::N)
    );
    let sha1 = SaslPolicy {
        allowed: vec![Mechanism::ScramSha1Plus, Mechanism::ScramSha1],
        ..SaslPolicy::default()
    };
    let sel = select(&offer, true, Some(&exporter()), &sha1, false).unwrap();
    assert_eq!(sel.mechanism, Mechanism::ScramSha1Plus);
}

#[test]
fn plain_only_inside_tls_unless_allowed() {
    let offer = offer(&["PLAIN", "X-OAUTH2"]);
    let sel = pick(&offer, true, None, false);
    assert_eq!((sel.mechanism, sel.gs2), (Mechanism::Plain, Gs2Flag::N));
    let err = select(&offer, false, None, &SaslPolicy::default(), false).unwrap_err();
    assert!(
        matches!(err, SaslError::NoAcceptableMechanism { ref offered } if offered == "PLAIN,X-OAUTH2")
    );
    assert!(err.to_string().contains("TLS"));
    let lax = SaslPolicy {
        allow_plain_without_tls: true,
        ..SaslPolicy::default()
    };
    let sel = select(&offer, false, None, &lax, false).unwrap();
    assert!(!sel.tls && sel.mechanism == Mechanism::Plain);
    // PLAIN with binding data still has no GS2 flag.
    let sel = pick(&offer, true, Some(&exporter()), false);
    assert_eq!(sel.gs2, Gs2Flag::N);
}

#[test]
fn nothing_acceptable() {
    let offer = offer(&["EXTERNAL", "SCRAM-SHA-512"]);
    let err = select(&offer, true, None, &SaslPolicy::default(), false).unwrap_err();
    assert_eq!(
        err,
        SaslError::NoAcceptableMechanism {
            offered: "EXTERNAL,SCRAM-SHA-512".into()
        }
    );
    let err = select(&Offer::default(), true, None, &SaslPolicy::default(), false).unwrap_err();
    assert!(matches!(err, SaslError::NoAcceptableMechanism { .. }));
}

#[test]
fn fallback_after_a_guessed_type_uses_n() {
    let offer = offer(&ALL);
    let cb = exporter();
    let first = pick(&offer, true, Some(&cb), false);
    assert!(first.cb_guessed);
    let retry = pick(&offer, true, Some(&cb), true);
    // `y` would make a server that offered -PLUS fail us (RFC 5802 §6).
    assert_eq!(
        (retry.mechanism, retry.gs2),
        (Mechanism::ScramSha256, Gs2Flag::N)
    );
    assert!(!retry.cb_guessed);
    // Without binding data the retry says "n".
    let retry = pick(&offer, true, None, true);
    assert_eq!(retry.gs2, Gs2Flag::N);
}

#[test]
fn an_advertised_type_never_falls_back() {
    let offer = Offer::new(&ALL[..], Some(&["tls-exporter"][..]));
    let sel = pick(&offer, true, Some(&exporter()), true);
    assert_eq!(sel.mechanism, Mechanism::ScramSha256Plus);
    assert_eq!(sel.gs2, Gs2Flag::P(ChannelBindingType::TlsExporter));
    assert!(!sel.cb_guessed);
}

#[test]
fn guessed_plus_failure_then_fallback_end_to_end() {
    use super::reference;
    let offer = offer(&["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]);
    let policy = fast_policy();
    let cb = exporter();
    // Attempt 1: guessed tls-exporter; the server does not support it.
    let sel = select(&offer, true, Some(&cb), &policy, false).unwrap();
    assert!(sel.cb_guessed);
    let (mut c, _) = start(&sel, &password(), Some(&cb), &policy, &offer);
    assert!(c.initial_response().starts_with(b"p=tls-exporter,,"));
    let failure = SaslFailure::new("malformed-request", None);
    assert_eq!(failure.condition, SaslFailureCondition::MalformedRequest);
    // Attempt 2 (cb_guessed was set): avoid_plus, flag n, c=biws.
    let sel = select(&offer, true, Some(&cb), &policy, true).unwrap();
    assert_eq!(
        (sel.mechanism, sel.gs2),
        (Mechanism::ScramSha256, Gs2Flag::N)
    );
    let (mut c, initial) = start(&sel, &password(), Some(&cb), &policy, &offer);
    assert!(initial.starts_with(b"n,,n=user,r="));
    let sf = reference::server_first(&initial, "srv", SALT, 64, "");
    let exp = reference::expected(ScramHash::Sha256, PASSWORD, &initial, &sf, b"n,,");
    let cf = c.challenge(sf.as_bytes()).unwrap();
    assert!(cf.starts_with(b"c=biws,"));
    assert_eq!(cf, exp.client_final.as_bytes());
    assert!(c.success(exp.server_final.as_bytes()).unwrap().is_some());
}

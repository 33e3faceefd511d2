//! Hostile or broken scripted servers: every check on the server's SCRAM
//! messages (RFC 5802 §5, §7, §9) and on the order of the exchange.

use super::reference::{self, b64};
use super::*;

/// Feeds `server_first` (built from the client's initial response) and
/// returns the error.
fn first_error(policy: &SaslPolicy, make: impl Fn(&[u8]) -> String) -> SaslError {
    let (mut c, initial) = sha256_client(policy);
    let err = c.challenge(make(&initial).as_bytes()).unwrap_err();
    // Any error ends the attempt.
    assert!(matches!(
        c.success(b"v=AAAA").unwrap_err(),
        SaslError::UnexpectedMessage { .. }
    ));
    err
}

#[test]
fn server_nonce_must_extend_the_client_nonce() {
    let p = fast_policy();
    let salt = b64(SALT);
    let cases = [
        format!("r=someone-elses-nonce,s={salt},i=64"),
        // Exactly our nonce: the server added nothing.
        String::new(),
        // Our nonce with its first character changed.
        String::from("x"),
    ];
    for case in cases {
        let err = first_error(&p, |initial| {
            let ours = reference::nonce(initial);
            match case.as_str() {
                "" => format!("r={ours},s={salt},i=64"),
                "x" => format!("r=x{}srv,s={salt},i=64", &ours[1..]),
                other => other.to_owned(),
            }
        });
        assert_eq!(err, SaslError::NonceMismatch);
    }
}

#[test]
fn iteration_count_bounds() {
    let p = SaslPolicy::default();
    let err = first_error(&p, |i| reference::server_first(i, "s", SALT, 4095, ""));
    assert_eq!(
        err,
        SaslError::IterationsTooLow {
            got: 4095,
            min: 4096
        }
    );
    let err = first_error(&p, |i| reference::server_first(i, "s", SALT, 600_001, ""));
    assert_eq!(
        err,
        SaslError::IterationsTooHigh {
            got: 600_001,
            max: 600_000
        }
    );
}

#[test]
fn absurd_iteration_counts_fail_before_any_pbkdf2_work() {
    // Would take hours if PBKDF2 ran; the test finishing at all is the check.
    let p = SaslPolicy::default();
    for (count, got) in [
        ("10000000000", 10_000_000_000),
        ("4294967295", u64::from(u32::MAX)),
        ("123456789012345678901234567890", u64::MAX),
    ] {
        let err = first_error(&p, |i| {
            format!("r={}s,s={},i={count}", reference::nonce(i), b64(SALT))
        });
        assert_eq!(err, SaslError::IterationsTooHigh { got, max: 600_000 });
    }
}

#[test]
fn max_iterations_is_configurable() {
    let p = SaslPolicy {
        min_iterations: 1,
        max_iterations: 10,
        ..SaslPolicy::default()
    };
    let err = first_error(&p, |i| reference::server_first(i, "s", SALT, 11, ""));
    assert_eq!(err, SaslError::IterationsTooHigh { got: 11, max: 10 });
    let (mut c, initial) = sha256_client(&p);
    let sf = reference::server_first(&initial, "s", SALT, 10, "");
    assert!(c.challenge(sf.as_bytes()).is_ok());
}

#[test]
fn salt_must_be_non_empty_base64() {
    let p = fast_policy();
    for (salt, expected_invalid) in [("not*base64", true), ("QUJD", false), ("QUJ", true)] {
        let result = {
            let (mut c, initial) = sha256_client(&p);
            let sf = format!("r={}s,s={salt},i=64", reference::nonce(&initial));
            c.challenge(sf.as_bytes())
        };
        if expected_invalid {
            assert!(
                matches!(result, Err(SaslError::InvalidSalt { .. })),
                "{salt}"
            );
        } else {
            assert!(result.is_ok());
        }
    }
    let err = first_error(&p, |i| format!("r={}s,s=,i=64", reference::nonce(i)));
    assert!(matches!(err, SaslError::MalformedServerMessage { .. }));
}

#[test]
fn malformed_server_first_messages() {
    let p = fast_policy();
    let salt = b64(SALT);
    let shapes: [fn(&str, &str) -> String; 6] = [
        |n, _| format!("r={n}s,i=64"),
        |_, s| format!("s={s},i=64"),
        |n, s| format!("r={n}s,s={s}"),
        |n, s| format!("r={n}s,s={s},i=sixty-four"),
        |n, s| format!("r={n}s,s={s},i=64,"),
        |n, s| format!("garbage r={n}s,s={s},i=64"),
    ];
    for shape in shapes {
        let err = first_error(&p, |i| shape(&reference::nonce(i), &salt));
        assert!(
            matches!(err, SaslError::MalformedServerMessage { .. }),
            "{err:?}"
        );
    }
    let err = first_error(&p, |i| {
        format!("m=foo,r={}s,s={salt},i=64", reference::nonce(i))
    });
    assert_eq!(err, SaslError::MandatoryExtension);
    let (mut c, _) = sha256_client(&p);
    let err = c.challenge(b"r=\xff\xfe,s=QUJD,i=64").unwrap_err();
    assert!(matches!(err, SaslError::MalformedServerMessage { .. }));
}

/// A client that has sent its client-final-message.
fn finished_client() -> (SaslClient, reference::Expected) {
    let (mut c, initial) = sha256_client(&fast_policy());
    let sf = reference::server_first(&initial, "srv", SALT, 64, "");
    let exp = reference::expected(ScramHash::Sha256, PASSWORD, &initial, &sf, b"n,,");
    c.challenge(sf.as_bytes()).unwrap();
    (c, exp)
}

#[test]
fn server_error_attribute_is_surfaced() {
    let (mut c, _) = finished_client();
    assert_eq!(
        c.success(b"e=invalid-proof").unwrap_err(),
        SaslError::ServerError(ScramServerError::InvalidProof)
    );
    let (mut c, _) = finished_client();
    let err = c.challenge(b"e=channel-bindings-dont-match").unwrap_err();
    assert_eq!(
        err,
        SaslError::ServerError(ScramServerError::ChannelBindingsDontMatch)
    );
    let (mut c, _) = finished_client();
    let err = c.success(b"e=some-new-error,x=1").unwrap_err();
    assert_eq!(
        err,
        SaslError::ServerError(ScramServerError::Other("some-new-error".into()))
    );
    assert!(err.to_string().contains("e=some-new-error"));
}

#[test]
fn server_signature_must_be_present_and_right() {
    let (mut c, exp) = finished_client();
    assert_eq!(
        c.success(b"").unwrap_err(),
        SaslError::MissingServerSignature
    );
    // The attempt is over, even with the right signature afterwards.
    assert!(c.success(exp.server_final.as_bytes()).is_err());

    let (mut c, _) = finished_client();
    let wrong = format!("v={}", b64(&[7; 32]));
    assert_eq!(
        c.success(wrong.as_bytes()).unwrap_err(),
        SaslError::ServerSignatureMismatch
    );
    let (mut c, exp) = finished_client();
    let truncated = &exp.server_final[..exp.server_final.len() - 4];
    assert!(c.success(truncated.as_bytes()).is_err());
    for junk in [&b"v=***"[..], b"x=abc", b"garbage", b"v="] {
        let (mut c, _) = finished_client();
        let err = c.success(junk).unwrap_err();
        assert!(
            matches!(err, SaslError::MalformedServerMessage { .. }),
            "{err:?}"
        );
    }
    let (mut c, exp) = finished_client();
    let keys = c.success(exp.server_final.as_bytes()).unwrap();
    assert!(keys.is_some());
    // Nothing is accepted after the end.
    assert!(c.success(exp.server_final.as_bytes()).is_err());
    assert!(c.challenge(b"r=x").is_err());
}

#[test]
fn early_success_is_refused() {
    // <success/> right after <auth/>: the server skipped the challenge.
    let (mut c, _) = sha256_client(&fast_policy());
    let err = c.success(b"").unwrap_err();
    assert!(matches!(
        err,
        SaslError::UnexpectedMessage { got: "success", .. }
    ));
    // Even with plausible-looking data.
    let (mut c, _) = sha256_client(&fast_policy());
    assert!(c
        .success(format!("v={}", b64(&[0; 32])).as_bytes())
        .is_err());
    // Before the initial response was even produced.
    let sel = selection(Mechanism::ScramSha256, Gs2Flag::N);
    let offer = offer(&["SCRAM-SHA-256"]);
    let mut c = new_client(&sel, &password(), None, &offer).unwrap();
    assert!(c.success(b"").is_err());
    let mut c = new_client(&sel, &password(), None, &offer).unwrap();
    assert!(matches!(
        c.challenge(b"r=x,s=QUJD,i=64").unwrap_err(),
        SaslError::UnexpectedMessage {
            got: "challenge",
            ..
        }
    ));
}

#[test]
fn initial_response_is_idempotent_and_escapes_the_username() {
    let sel = selection(Mechanism::ScramSha1, Gs2Flag::N);
    let offer = offer(&["SCRAM-SHA-1"]);
    let mut c = SaslClient::new(
        &sel,
        "a=b,c",
        &password(),
        None,
        &ENTROPY,
        &fast_policy(),
        &offer,
    )
    .unwrap();
    let first = c.initial_response();
    assert_eq!(first, c.initial_response());
    let expected = format!("n,,n=a=3Db=2Cc,r={}", b64(&ENTROPY));
    assert_eq!(String::from_utf8(first).unwrap(), expected);
}

#[test]
fn errors_and_debug_output_never_leak_secrets() {
    let (mut c, initial) = sha256_client(&fast_policy());
    let nonce = reference::nonce(&initial);
    let sf = reference::server_first(&initial, "srv", SALT, 64, "");
    let exp = reference::expected(ScramHash::Sha256, PASSWORD, &initial, &sf, b"n,,");
    let debug_mid = format!("{c:?}");
    c.challenge(sf.as_bytes()).unwrap();
    let keys = c.success(exp.server_final.as_bytes()).unwrap().unwrap();
    let salted_b64 = b64(&keys.salted_password);
    let texts = [
        debug_mid,
        format!("{c:?}"),
        format!("{keys:?}"),
        format!("{:?}", password()),
        format!("{:?}", Credentials::Salted(keys.clone())),
        format!("{:?}", c.success(b"v=AAAA").unwrap_err()),
        c.success(b"v=AAAA").unwrap_err().to_string(),
    ];
    for text in texts {
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains(&nonce), "{text}");
        assert!(!text.contains(&salted_b64), "{text}");
        assert!(
            !text.contains(&format!("{:?}", keys.salted_password)),
            "{text}"
        );
    }
}

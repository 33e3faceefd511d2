//! Whole SCRAM exchanges: the RFC 5802 §5 and RFC 7677 §3 test vectors, the
//! XEP-0474 §5.3 example, stored keys, and the `c=` value of each GS2 flag.

use super::reference::{self, b64, unb64};
use super::*;

const RFC5802_NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
const RFC5802_SERVER_FIRST: &str =
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";
const RFC5802_CLIENT_FINAL: &str =
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=";
const RFC5802_SERVER_FINAL: &str = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=";

#[test]
fn rfc_5802_scram_sha_1_vector() {
    let sel = selection(Mechanism::ScramSha1, Gs2Flag::N);
    let policy = SaslPolicy::default();
    let offer = offer(&["SCRAM-SHA-1"]);
    let mut c =
        SaslClient::with_nonce(&sel, &password(), None, RFC5802_NONCE, &policy, &offer).unwrap();
    assert_eq!(c.mechanism(), Mechanism::ScramSha1);
    let initial = c.initial_response();
    assert_eq!(initial, b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    let client_final = c.challenge(RFC5802_SERVER_FIRST.as_bytes()).unwrap();
    assert_eq!(
        String::from_utf8(client_final).unwrap(),
        RFC5802_CLIENT_FINAL
    );
    let keys = c.success(RFC5802_SERVER_FINAL.as_bytes()).unwrap().unwrap();
    assert_eq!(keys.mechanism_hash, ScramHash::Sha1);
    assert_eq!(
        (keys.salt.clone(), keys.iterations),
        (unb64("QSXCR+Q6sek8bf92"), 4096)
    );
    let salt = unb64("QSXCR+Q6sek8bf92");
    assert_eq!(
        keys.salted_password,
        reference::hi(ScramHash::Sha1, PASSWORD, &salt, 4096)
    );
    assert!(!c.downgrade_protection_verified());
}

#[test]
fn rfc_5802_vector_through_the_public_constructor() {
    // The RFC nonce is exactly the base64 of 18 bytes, so `new` reproduces it.
    let entropy = unb64(RFC5802_NONCE);
    assert_eq!(entropy.len(), MIN_NONCE_ENTROPY);
    let sel = selection(Mechanism::ScramSha1, Gs2Flag::N);
    let (policy, offer) = (SaslPolicy::default(), offer(&["SCRAM-SHA-1"]));
    let mut c =
        SaslClient::new(&sel, "user", &password(), None, &entropy, &policy, &offer).unwrap();
    assert_eq!(
        c.initial_response(),
        b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
    );
    let client_final = c.challenge(RFC5802_SERVER_FIRST.as_bytes()).unwrap();
    assert_eq!(client_final, RFC5802_CLIENT_FINAL.as_bytes());
    assert!(c
        .success(RFC5802_SERVER_FINAL.as_bytes())
        .unwrap()
        .is_some());
}

#[test]
fn rfc_7677_scram_sha_256_vector() {
    let sel = selection(Mechanism::ScramSha256, Gs2Flag::N);
    let policy = SaslPolicy::default();
    let offer = offer(&["SCRAM-SHA-256"]);
    let mut c = SaslClient::with_nonce(
        &sel,
        &password(),
        None,
        "rOprNGfwEbeRWgbNEkqO",
        &policy,
        &offer,
    )
    .unwrap();
    assert_eq!(c.initial_response(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
                        s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    let client_final = c.challenge(server_first.as_bytes()).unwrap();
    assert_eq!(
        String::from_utf8(client_final).unwrap(),
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
         p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    );
    let keys = c
        .success(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        .unwrap()
        .unwrap();
    assert_eq!(keys.mechanism_hash, ScramHash::Sha256);
    assert_eq!(keys.salted_password.len(), 32);
}

/// XEP-0474 §5.3: SCRAM-SHA-1-PLUS with tls-exporter and `h=` in the
/// server-first-message. (The example's client-final also carries an
/// `x=` extension we do not send, so its `p=` differs; ours is checked
/// against the independent reference instead.)
#[test]
fn xep_0474_example_exchange() {
    let cb = ChannelBinding::new(
        ChannelBindingType::TlsExporter,
        b"THIS IS FAKE CB DATA".to_vec(),
    );
    let offer = Offer::new(
        &["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"],
        Some(&["tls-server-end-point", "tls-exporter"]),
    );
    let policy = SaslPolicy::default();
    let sel = select(&offer, true, Some(&cb), &policy, false).unwrap();
    assert_eq!(sel.mechanism, Mechanism::ScramSha1Plus);
    assert_eq!(sel.gs2, Gs2Flag::P(ChannelBindingType::TlsExporter));
    assert!(!sel.cb_guessed);
    let nonce = "12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6";
    let mut c =
        SaslClient::with_nonce(&sel, &password(), Some(&cb), nonce, &policy, &offer).unwrap();
    let initial = c.initial_response();
    assert_eq!(
        b64(&initial),
        "cD10bHMtZXhwb3J0ZXIsLG49dXNlcixyPTEyQzRDRDVDLUUzOEUtNEE5OC04RjZELTE1QzM4RjUxQ0NDNg=="
    );
    let server_first =
        "r=12C4CD5C-E38E-4A98-8F6D-15C38F51CCC6a09117a6-ac50-4f2f-93f1-93799c2bddf6,\
                        s=QSXCR+Q6sek8bf92,i=4096,h=G6k/rBLDqgOhRRaCuuatSDFkJ08=";
    let client_final = String::from_utf8(c.challenge(server_first.as_bytes()).unwrap()).unwrap();
    assert!(client_final.starts_with("c=cD10bHMtZXhwb3J0ZXIsLFRISVMgSVMgRkFLRSBDQiBEQVRB,r="));
    assert!(c.downgrade_protection_verified());
    let exp = reference::expected(
        ScramHash::Sha1,
        PASSWORD,
        &initial,
        server_first,
        b"p=tls-exporter,,THIS IS FAKE CB DATA",
    );
    assert_eq!(client_final, exp.client_final);
    assert!(c.success(exp.server_final.as_bytes()).unwrap().is_some());
}

/// Runs one exchange against the reference server and returns the
/// client-final message.
fn exchange(
    mechanism: Mechanism,
    gs2: Gs2Flag,
    cb: Option<&ChannelBinding>,
    cbind_input: &[u8],
) -> String {
    let h = mechanism.scram_hash().unwrap();
    let offer = offer(&[mechanism.name()]);
    let (mut c, initial) = start(
        &selection(mechanism, gs2),
        &password(),
        cb,
        &fast_policy(),
        &offer,
    );
    assert!(initial.starts_with(gs2.header().as_bytes()));
    let sf = reference::server_first(&initial, "srv", SALT, 64, "");
    let exp = reference::expected(h, PASSWORD, &initial, &sf, cbind_input);
    let cf = String::from_utf8(c.challenge(sf.as_bytes()).unwrap()).unwrap();
    assert_eq!(cf, exp.client_final);
    let keys = c.success(exp.server_final.as_bytes()).unwrap().unwrap();
    assert_eq!(keys.salted_password, exp.salted_password);
    cf
}

#[test]
fn c_attribute_for_p_flag_carries_header_and_binding_data() {
    for (mechanism, kind) in [
        (Mechanism::ScramSha256Plus, ChannelBindingType::TlsExporter),
        (Mechanism::ScramSha1Plus, ChannelBindingType::TlsUnique),
        (
            Mechanism::ScramSha256Plus,
            ChannelBindingType::TlsServerEndPoint,
        ),
    ] {
        let data = vec![0x5A, 0x00, 0xFF, 0x13];
        let cb = ChannelBinding::new(kind, data.clone());
        let mut input = format!("p={},,", kind.name()).into_bytes();
        input.extend_from_slice(&data);
        let cf = exchange(mechanism, Gs2Flag::P(kind), Some(&cb), &input);
        assert!(cf.starts_with(&format!("c={},", b64(&input))));
    }
}

#[test]
fn c_attribute_for_y_and_n_flags() {
    let cb = ChannelBinding::new(ChannelBindingType::TlsExporter, vec![1; 32]);
    let cf = exchange(Mechanism::ScramSha256, Gs2Flag::Y, Some(&cb), b"y,,");
    assert!(cf.starts_with("c=eSws,"), "{cf}");
    let cf = exchange(Mechanism::ScramSha1, Gs2Flag::N, None, b"n,,");
    assert!(cf.starts_with("c=biws,"), "{cf}");
}

#[test]
fn stored_keys_log_in_without_the_password() {
    let cf = exchange(Mechanism::ScramSha256, Gs2Flag::N, None, b"n,,");
    assert!(!cf.is_empty());
    // First login with the password yields keys; the second uses only them.
    let (mut c, initial) = sha256_client(&fast_policy());
    let sf = reference::server_first(&initial, "one", SALT, 64, "");
    let exp = reference::expected(ScramHash::Sha256, PASSWORD, &initial, &sf, b"n,,");
    c.challenge(sf.as_bytes()).unwrap();
    let keys = c.success(exp.server_final.as_bytes()).unwrap().unwrap();

    let sel = selection(Mechanism::ScramSha256, Gs2Flag::N);
    let offer = offer(&["SCRAM-SHA-256"]);
    let salted = Credentials::Salted(keys.clone());
    let (mut c, initial) = start(&sel, &salted, None, &fast_policy(), &offer);
    let sf = reference::server_first(&initial, "two", SALT, 64, "");
    let exp = reference::expected(ScramHash::Sha256, PASSWORD, &initial, &sf, b"n,,");
    assert_eq!(
        c.challenge(sf.as_bytes()).unwrap(),
        exp.client_final.as_bytes()
    );
    assert_eq!(c.success(exp.server_final.as_bytes()).unwrap(), Some(keys));
}

#[test]
fn stored_keys_that_no_longer_fit_ask_for_the_password() {
    let keys = ScramKeys::derive(ScramHash::Sha256, PASSWORD, SALT, 64).unwrap();
    let sel = selection(Mechanism::ScramSha256, Gs2Flag::N);
    let sha256_offer = offer(&["SCRAM-SHA-256"]);
    let salted = Credentials::Salted(keys.clone());
    for (salt, count) in [(&b"another salt"[..], 64), (SALT, 65)] {
        let (mut c, initial) = start(&sel, &salted, None, &fast_policy(), &sha256_offer);
        let sf = reference::server_first(&initial, "x", salt, count, "");
        let err = c.challenge(sf.as_bytes()).unwrap_err();
        assert!(matches!(err, SaslError::SaltedKeysMismatch { .. }), "{err}");
        assert!(err.to_string().contains("password again"));
    }
    // Keys for the other hash, or of the wrong length, are refused up front.
    let sha1 = selection(Mechanism::ScramSha1, Gs2Flag::N);
    let err = SaslClient::new(
        &sha1,
        "user",
        &salted,
        None,
        &ENTROPY,
        &fast_policy(),
        &offer(&["SCRAM-SHA-1"]),
    )
    .unwrap_err();
    assert!(matches!(err, SaslError::SaltedKeysMismatch { .. }));
    let mut short = keys;
    short.salted_password.truncate(20);
    let err = SaslClient::new(
        &sel,
        "user",
        &Credentials::Salted(short),
        None,
        &ENTROPY,
        &fast_policy(),
        &sha256_offer,
    )
    .unwrap_err();
    assert!(matches!(err, SaslError::SaltedKeysMismatch { .. }));
}

#[test]
fn server_final_may_come_as_a_challenge() {
    let (mut c, initial) = sha256_client(&fast_policy());
    let sf = reference::server_first(&initial, "srv", SALT, 64, "");
    let exp = reference::expected(ScramHash::Sha256, PASSWORD, &initial, &sf, b"n,,");
    c.challenge(sf.as_bytes()).unwrap();
    assert_eq!(c.challenge(exp.server_final.as_bytes()).unwrap(), b"");
    assert!(c.success(b"").unwrap().is_some());

    // The same v= repeated in <success/> is fine; a wrong one is not.
    let (mut c, initial) = sha256_client(&fast_policy());
    let sf = reference::server_first(&initial, "srv", SALT, 64, "");
    let exp = reference::expected(ScramHash::Sha256, PASSWORD, &initial, &sf, b"n,,");
    c.challenge(sf.as_bytes()).unwrap();
    c.challenge(exp.server_final.as_bytes()).unwrap();
    assert!(c.success(exp.server_final.as_bytes()).unwrap().is_some());

    let (mut c, initial) = sha256_client(&fast_policy());
    let sf = reference::server_first(&initial, "srv", SALT, 64, "");
    c.challenge(sf.as_bytes()).unwrap();
    let err = c
        .challenge(format!("v={}", b64(&[0; 32])).as_bytes())
        .unwrap_err();
    assert_eq!(err, SaslError::ServerSignatureMismatch);
}

#[test]
fn xep_0474_hash_is_checked_against_the_offer() {
    let mechs = ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN"];
    let types = ["tls-exporter", "tls-server-end-point"];
    let server_h = reference::ssdp_h(ScramHash::Sha256, &mechs, Some(&types));
    let run = |offer: &Offer| {
        let sel = selection(Mechanism::ScramSha256, Gs2Flag::N);
        let (mut c, initial) = start(&sel, &password(), None, &fast_policy(), offer);
        let sf = reference::server_first(&initial, "srv", SALT, 64, &format!(",h={server_h}"));
        let result = c.challenge(sf.as_bytes()).map(|_| ());
        (result, c.downgrade_protection_verified())
    };
    // Unaltered offer, in another order: verified.
    assert_eq!(
        run(&Offer::new(
            &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"],
            Some(&types[..])
        )),
        (Ok(()), true)
    );
    // -PLUS stripped, a cb type removed, or the whole XEP-0440 feature removed.
    for altered in [
        Offer::new(&["SCRAM-SHA-256", "PLAIN"], Some(&types[..])),
        Offer::new(&mechs[..], Some(&["tls-server-end-point"][..])),
        Offer::new(&mechs[..], None),
    ] {
        assert_eq!(run(&altered), (Err(SaslError::DowngradeDetected), false));
    }
}

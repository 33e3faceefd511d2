//! Logins with stored SCRAM keys, byte for byte: keys and password together
//! use the keys when they fit the server's challenge (proved by a wrong
//! password beside them: no PBKDF2 over it runs) and the password when the
//! server changed its salt; keys alone pick the SCRAM of their hash even
//! when a stronger one is offered.

use xmpp_test_support::scram_server;
use xmpp_test_support::session;

use scram_server::{Hash, ScramServer};
use session::{config, Session, PASSWORD};
use xmpp_proto::sasl::{Credentials, ScramHash, ScramKeys};
use xmpp_proto::{Config, Event};

/// Keys as a first SCRAM-SHA-1 login against the scripted server hands out.
fn sha1_keys() -> ScramKeys {
    ScramServer::new(Hash::Sha1, PASSWORD).keys(PASSWORD)
}

fn with(credentials: Credentials) -> Config {
    Config {
        credentials,
        ..config().build()
    }
}

fn keys_event(s: &Session) -> Option<ScramKeys> {
    s.events.iter().find_map(|e| match e {
        Event::ScramKeys(k) => Some(k.clone()),
        _ => None,
    })
}

#[test]
fn stored_keys_that_fit_are_used_instead_of_the_password() {
    let wrong = "not the password";
    let mut s = Session::new(with(Credentials::PasswordAndKeys(
        wrong.into(),
        sha1_keys(),
    )));
    s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
    let outcome = s.scram(&mut ScramServer::new(Hash::Sha1, PASSWORD));
    assert!(
        outcome.starts_with("<success"),
        "the keys, not the wrong password, made the proof: {outcome}"
    );
    s.bind("b");
    assert!(s.is_online());
    assert_eq!(
        keys_event(&s),
        Some(sha1_keys()),
        "the same keys, still good"
    );
}

#[test]
fn stored_keys_for_another_salt_fall_back_to_the_password() {
    let mut stale = sha1_keys();
    stale.salt = b"an old salt".to_vec();
    stale.salted_password = vec![7; 20];
    let mut s = Session::new(with(Credentials::PasswordAndKeys(PASSWORD.into(), stale)));
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let outcome = s.scram(&mut ScramServer::new(Hash::Sha1, PASSWORD));
    assert!(outcome.starts_with("<success"), "{outcome}");
    s.bind("b");
    assert!(s.is_online());
    assert_eq!(
        keys_event(&s),
        Some(sha1_keys()),
        "fresh keys for the server's salt, to store in place of the stale ones"
    );
}

#[test]
fn stored_keys_alone_choose_the_scram_of_their_hash() {
    let mut s = Session::new(with(Credentials::Salted(sha1_keys())));
    s.starttls_to_sasl(&["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"], "", None);
    let auth = s.sent();
    assert!(auth.contains("mechanism='SCRAM-SHA-1'"), "{auth}");
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    s.server(&scram.challenge(&auth));
    let response = s.sent();
    s.server(&scram.outcome(&response));
    s.bind("b");
    assert!(s.is_online(), "{:?}", s.events);
}

#[test]
fn keys_and_password_take_the_strongest_mechanism_and_derive_for_it() {
    let mut s = Session::new(with(Credentials::PasswordAndKeys(
        PASSWORD.into(),
        sha1_keys(),
    )));
    // The keys' SCRAM-SHA-1 goes out optimistically with the header; the
    // features offer SCRAM-SHA-256: abandoned, and the stronger one chosen.
    s.starttls_to_sasl(&["SCRAM-SHA-1", "SCRAM-SHA-256"], "", None);
    let sent = s.sent();
    assert!(
        sent.contains("mechanism='SCRAM-SHA-1'")
            && sent.ends_with("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"),
        "{sent}"
    );
    s.server("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted/></failure>");
    let auth = s.sent();
    assert!(auth.contains("mechanism='SCRAM-SHA-256'"), "{auth}");
    let mut scram = ScramServer::new(Hash::Sha256, PASSWORD);
    s.server(&scram.challenge(&auth));
    let response = s.sent();
    s.server(&scram.outcome(&response));
    s.bind("b");
    assert!(s.is_online(), "{:?}", s.events);
    assert_eq!(
        keys_event(&s).map(|k| k.mechanism_hash),
        Some(ScramHash::Sha256)
    );
}

#[test]
fn debug_output_of_credentials_never_shows_a_secret() {
    let keys = sha1_keys();
    let text = format!(
        "{:?}",
        Credentials::PasswordAndKeys(PASSWORD.into(), keys.clone())
    );
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(
        !text.contains(&format!("{:?}", keys.salted_password)),
        "{text}"
    );
}

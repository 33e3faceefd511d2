//! A complete login over STARTTLS with SCRAM, played byte for byte, with
//! the round trips counted.

use xmpp_test_support::scram_server;
use xmpp_test_support::session;

use scram_server::{Hash, ScramServer};
use session::{config, Session, PASSWORD};
use xmpp_proto::sasl::Mechanism;
use xmpp_proto::Event;

#[test]
fn scram_sha1_over_starttls_is_online_after_five_round_trips() {
    let mut s = Session::new(config().build());
    // 1: stream header + starttls (together: TLS is required) -> header +
    // features(starttls) + proceed; 2: header -> header + features(sasl)
    s.starttls_to_sasl(&["SCRAM-SHA-1", "PLAIN"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    // 3: auth -> challenge; 4: response -> success
    let outcome = s.scram(&mut scram);
    assert!(outcome.starts_with("<success"), "{outcome}");
    assert_eq!(scram.gs2_header, "n,,", "no channel binding data: flag n");
    // 5: restart + bind (one flush) -> header + features + bind result
    s.bind("balcony");
    assert!(s.is_online());
    let online = s.events.iter().find_map(|e| match e {
        Event::Online {
            jid,
            tls,
            mechanism,
            resumed,
        } => Some((jid.to_string(), *tls, *mechanism, *resumed)),
        _ => None,
    });
    assert_eq!(
        online,
        Some((
            "juliet@example.com/balcony".into(),
            true,
            Mechanism::ScramSha1,
            false
        ))
    );
    // The client's flushes are the round trips: each one waited for the server.
    assert_eq!(s.flushes, 5, "round trips of a STARTTLS + SCRAM login");
    let keys = s.events.iter().find_map(|e| match e {
        Event::ScramKeys(k) => Some(k.clone()),
        _ => None,
    });
    let keys = keys.expect("salted keys handed to the application");
    assert_eq!(keys.iterations, 4096);
    assert_eq!(keys.salt, scram.salt);
    assert_eq!(
        keys.salted_password,
        scram_server::salted_password(Hash::Sha1, PASSWORD, &scram.salt, 4096)
    );
}

#[test]
fn strongest_mechanism_is_chosen() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"], "", None);
    let auth = s.sent();
    assert!(auth.contains("mechanism='SCRAM-SHA-256'"), "{auth}");
    let mut scram = ScramServer::new(Hash::Sha256, PASSWORD);
    s.server(&scram.challenge(&auth));
    let resp = s.sent();
    s.server(&scram.outcome(&resp));
    s.bind("r");
    assert!(s.is_online(), "{:?}", s.events);
}

#[test]
fn password_never_appears_on_the_wire_with_scram() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut all = String::new();
    let auth = s.sent();
    all.push_str(&auth);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    s.server(&scram.challenge(&auth));
    let resp = s.sent();
    all.push_str(&resp);
    assert!(!all.contains(PASSWORD));
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD.encode(PASSWORD);
    assert!(!all.contains(&decoded));
}

#[test]
fn pre_salted_keys_log_in_without_the_password() {
    // Take the keys from a first login, then log in with them alone.
    let mut first = Session::new(config().build());
    first.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    first.scram(&mut scram);
    let keys = first
        .events
        .iter()
        .find_map(|e| match e {
            Event::ScramKeys(k) => Some(k.clone()),
            _ => None,
        })
        .expect("keys");
    let cfg = config().build();
    let cfg = xmpp_proto::Config {
        credentials: xmpp_proto::sasl::Credentials::Salted(keys),
        ..cfg
    };
    let mut second = Session::new(cfg);
    second.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram2 = ScramServer::new(Hash::Sha1, PASSWORD);
    let outcome = second.scram(&mut scram2);
    assert!(outcome.starts_with("<success"), "{outcome}");
    second.bind("b");
    assert!(second.is_online());
}

#[test]
fn legacy_session_is_negotiated_only_when_required() {
    use xmpp_proto::testing::{bind_reply, server_header};
    let mut s = Session::new(config().resource("balcony").build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    s.scram(&mut scram);
    let restart = s.sent();
    assert!(
        restart.contains("<resource>balcony</resource>"),
        "{restart}"
    );
    let features = "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
        <session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></stream:features>";
    s.server(
        &(server_header("example.com", "s3")
            + features
            + &bind_reply(&restart, "juliet@example.com/balcony")),
    );
    assert!(!s.is_online(), "waits for the required session");
    let session = s.sent();
    assert!(
        session.contains("<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>"),
        "{session}"
    );
    let id = xmpp_proto::testing::attr_after(&session, "<iq", "id").unwrap();
    s.server(&format!("<iq type='result' id='{id}'/>"));
    assert!(s.is_online());

    // Marked optional: no session request.
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    s.scram(&mut scram);
    let restart = s.sent();
    let features = "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>\
        <session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session></stream:features>";
    s.server(
        &(server_header("example.com", "s3")
            + features
            + &bind_reply(&restart, "juliet@example.com/x")),
    );
    assert!(s.is_online());
    assert_eq!(s.sent(), "");
}

#[test]
fn bind_to_another_account_is_refused() {
    use xmpp_proto::testing::{bind_reply, server_header, FEATURES_BIND};
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    s.scram(&mut scram);
    let restart = s.sent();
    s.server(
        &(server_header("example.com", "s3")
            + FEATURES_BIND
            + &bind_reply(&restart, "romeo@example.com/x")),
    );
    assert!(!s.is_online());
    assert!(matches!(
        s.disconnect_reason(),
        Some(xmpp_proto::DisconnectReason::BindFailed(_))
    ));
}

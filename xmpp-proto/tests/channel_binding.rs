//! SCRAM-*-PLUS and the GS2 flag (RFC 5802 §6, XEP-0440): `p=` when
//! binding, `y` when we could bind but the server offered no -PLUS, `n`
//! when we cannot bind; and the fallback after a guessed type fails.

use xmpp_test_support::scram_server;
use xmpp_test_support::session;

use scram_server::{Hash, ScramServer};
use session::{config, Session, PASSWORD};
use xmpp_proto::sasl::{ChannelBinding, ChannelBindingType, Mechanism};
use xmpp_proto::{Event, WarningKind};

const CB_TYPES: &str = "<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-exporter'/></sasl-channel-binding>";

fn exporter() -> ChannelBinding {
    ChannelBinding::new(ChannelBindingType::TlsExporter, vec![0xAB; 32])
}

fn mechanism_of(s: &Session) -> Option<Mechanism> {
    s.events.iter().find_map(|e| match e {
        Event::Online { mechanism, .. } => Some(*mechanism),
        _ => None,
    })
}

#[test]
fn binds_with_tls_exporter_when_advertised() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(
        &[
            "SCRAM-SHA-1",
            "SCRAM-SHA-1-PLUS",
            "SCRAM-SHA-256",
            "SCRAM-SHA-256-PLUS",
        ],
        CB_TYPES,
        Some(exporter()),
    );
    let mut scram = ScramServer::new(Hash::Sha256, PASSWORD);
    let auth = s.sent();
    assert!(auth.contains("mechanism='SCRAM-SHA-256-PLUS'"), "{auth}");
    s.server(&scram.challenge(&auth));
    assert_eq!(scram.gs2_header, "p=tls-exporter,,");
    let resp = s.sent();
    s.server(&scram.outcome(&resp));
    let mut expected = b"p=tls-exporter,,".to_vec();
    expected.extend_from_slice(&[0xAB; 32]);
    assert_eq!(
        scram.cbind_input, expected,
        "c= carries the GS2 header and the binding data"
    );
    s.bind("r");
    assert_eq!(mechanism_of(&s), Some(Mechanism::ScramSha256Plus));
}

#[test]
fn flag_y_when_we_could_bind_but_no_plus_is_offered() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", Some(exporter()));
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    s.scram(&mut scram);
    assert_eq!(scram.gs2_header, "y,,");
    assert_eq!(scram.cbind_input, b"y,,");
    s.bind("r");
    assert_eq!(mechanism_of(&s), Some(Mechanism::ScramSha1));
}

#[test]
fn flag_n_when_we_cannot_bind() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"], CB_TYPES, None);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    let auth = s.sent();
    assert!(auth.contains("mechanism='SCRAM-SHA-1'"), "{auth}");
    s.server(&scram.challenge(&auth));
    assert_eq!(scram.gs2_header, "n,,");
}

#[test]
fn guessed_binding_type_refused_falls_back_once_and_gets_online() {
    // -PLUS offered, no XEP-0440 types advertised (seen on TLS 1.3 servers
    // whose -PLUS only knows tls-unique): the guess fails, we retry without.
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"], "", Some(exporter()));
    let auth = s.sent();
    assert!(auth.contains("mechanism='SCRAM-SHA-1-PLUS'"), "{auth}");
    let mut plus = ScramServer::new(Hash::Sha1, PASSWORD);
    s.server(&plus.challenge(&auth));
    s.sent();
    s.server("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>");
    assert!(
        s.events.iter().any(
            |e| matches!(e, Event::Warning(w) if w.kind == WarningKind::ChannelBindingFallback)
        ),
        "{:?}",
        s.events
    );
    assert!(s.disconnect_reason().is_none());
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    let auth2 = s.sent();
    assert!(auth2.contains("mechanism='SCRAM-SHA-1'"), "{auth2}");
    s.server(&scram.challenge(&auth2));
    // RFC 5802 §6: `y` to a server that supports binding fails the exchange;
    // after the refused guess no binding type is usable, which `n` states.
    assert_eq!(scram.gs2_header, "n,,");
    let resp = s.sent();
    s.server(&scram.outcome(&resp));
    s.bind("r");
    assert!(s.is_online(), "{:?}", s.events);
}

#[test]
fn a_second_failure_after_fallback_is_final() {
    let mut s = Session::new(config().build());
    s.starttls_to_sasl(&["SCRAM-SHA-1", "SCRAM-SHA-1-PLUS"], "", Some(exporter()));
    s.sent();
    s.server("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>");
    s.sent();
    s.server("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>");
    assert!(
        matches!(
            s.disconnect_reason(),
            Some(xmpp_proto::DisconnectReason::AuthFailed(_))
        ),
        "{:?}",
        s.events
    );
}

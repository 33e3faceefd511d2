//! Direct TLS (XEP-0368): nothing is sent before the driver's handshake;
//! the login then takes 4 round trips.

use xmpp_test_support::scram_server;
use xmpp_test_support::session;

use scram_server::{Hash, ScramServer};
use session::{config, Session, DOMAIN, PASSWORD};
use xmpp_proto::testing::{features_sasl, server_header};
use xmpp_proto::{Event, TlsPolicy};

#[test]
fn direct_tls_login_takes_four_round_trips() {
    let mut s = Session::new(config().tls(TlsPolicy::DirectTls).build());
    assert_eq!(s.sent(), "", "waits for the TLS handshake");
    assert_eq!(s.client.state_name(), "awaiting-direct-tls");
    s.tls_up(None);
    let header = s.sent();
    assert!(header.contains("<stream:stream") && header.contains("from='juliet@example.com'"));
    s.server(&(server_header(DOMAIN, "s1") + &features_sasl(&["SCRAM-SHA-1", "PLAIN"])));
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    s.scram(&mut scram);
    s.bind("r");
    assert!(s
        .events
        .iter()
        .any(|e| matches!(e, Event::Online { tls: true, .. })));
    assert_eq!(s.flushes, 4);
}

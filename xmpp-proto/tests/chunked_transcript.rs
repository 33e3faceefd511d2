//! The whole server side of a login and a chat, cut into arbitrary chunks,
//! must give the same events and the same client bytes as sent whole.

use xmpp_test_support::scram_server;
use xmpp_test_support::session;

use proptest::prelude::*;
use scram_server::{Hash, ScramServer};
use session::{config, Session, DOMAIN, PASSWORD};
use xmpp_proto::testing::{
    bind_reply, features_sasl, server_header, FEATURES_BIND, FEATURES_STARTTLS,
};
use xmpp_proto::Input;

/// Plays the login with each server flight split at `cuts`; returns the
/// debug rendering of all events and everything the client sent.
fn play(cuts: &[usize]) -> (Vec<String>, String) {
    let mut s = Session::new(config().build());
    let mut wire = String::new();
    let mut cut_iter = cuts.iter().copied().cycle();
    let mut send = |s: &mut Session, xml: &str| {
        let bytes = xml.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let n = cut_iter
                .next()
                .unwrap_or(bytes.len())
                .clamp(1, bytes.len() - i);
            s.client
                .handle_input(Input::Received(s.now, &bytes[i..i + n]));
            i += n;
        }
        s.drain();
    };
    wire.push_str(&s.sent());
    send(&mut s, &(server_header(DOMAIN, "s1") + FEATURES_STARTTLS));
    wire.push_str(&s.sent());
    send(&mut s, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    s.tls_up(None);
    wire.push_str(&s.sent());
    send(
        &mut s,
        &(server_header(DOMAIN, "s2") + &features_sasl(&["SCRAM-SHA-1"])),
    );
    let auth = s.sent();
    wire.push_str(&auth);
    let mut scram = ScramServer::new(Hash::Sha1, PASSWORD);
    send(&mut s, &scram.challenge(&auth));
    let resp = s.sent();
    wire.push_str(&resp);
    send(&mut s, &scram.outcome(&resp));
    let restart = s.sent();
    wire.push_str(&restart);
    send(
        &mut s,
        &(server_header(DOMAIN, "s3")
            + FEATURES_BIND
            + &bind_reply(&restart, "juliet@example.com/r")),
    );
    send(&mut s, "<message from='romeo@example.net/o' type='chat'><body>é &amp; 漢字 😀</body></message> <presence from='romeo@example.net/o'/><iq from='example.com' id='p' type='get'><ping xmlns='urn:xmpp:ping'/></iq></stream:stream>");
    wire.push_str(&s.sent());
    (s.events.iter().map(|e| format!("{e:?}")).collect(), wire)
}

#[test]
fn whole_and_byte_by_byte_agree() {
    let whole = play(&[usize::MAX]);
    assert!(
        whole.0.iter().any(|e| e.starts_with("Online")),
        "{:?}",
        whole.0
    );
    assert!(whole.0.iter().any(|e| e.contains("😀")));
    assert_eq!(play(&[1]), whole);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_chunking_gives_the_same_session(cuts in proptest::collection::vec(1usize..64, 1..16)) {
        prop_assert_eq!(play(&cuts), play(&[usize::MAX]));
    }
}

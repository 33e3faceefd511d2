//! XEP-0352 client state indication: sent only to a server that
//! advertises it, only on a change, and again after every login.

use super::*;
use xmpp_proto::sm::ClientState;
use xmpp_proto::SendError;

const CSI: &str = "<csi xmlns='urn:xmpp:csi:0'/>";
const INACTIVE: &str = "<inactive xmlns='urn:xmpp:csi:0'/>";
const ACTIVE: &str = "<active xmlns='urn:xmpp:csi:0'/>";

#[test]
fn the_state_is_sent_only_when_offered_and_only_when_it_changes() {
    let mut s = Session::login_with(config().build(), CSI, |_| {});
    assert_eq!(s.client.client_state(), ClientState::Active);
    assert_eq!(
        s.client.set_client_state(s.now, ClientState::Active),
        Ok(())
    );
    assert_eq!(s.sent(), "", "every stream begins active");
    s.client
        .set_client_state(s.now, ClientState::Inactive)
        .unwrap();
    assert_eq!(s.sent(), INACTIVE);
    s.client
        .set_client_state(s.now, ClientState::Inactive)
        .unwrap();
    assert_eq!(s.sent(), "");
    s.client
        .set_client_state(s.now, ClientState::Active)
        .unwrap();
    assert_eq!(s.sent(), ACTIVE);

    let mut s = Session::login(config().build());
    assert_eq!(
        s.client.set_client_state(s.now, ClientState::Inactive),
        Err(SendError::NotOffered("urn:xmpp:csi:0"))
    );
    assert_eq!(s.sent(), "");
    assert_eq!(s.client.client_state(), ClientState::Inactive, "remembered");
}

#[test]
fn inactive_is_told_again_after_a_new_session_and_after_a_resumption() {
    let builder = config()
        .stream_management(sm_config(10))
        .timeouts(timeouts())
        .reconnect(policy());
    let extra = format!("{SM}{CSI}");
    let mut s = Session::login_with(builder.build(), &extra, |_| {});
    s.sent();
    s.server(ENABLED);
    s.client
        .set_client_state(s.now, ClientState::Inactive)
        .unwrap();
    assert_eq!(s.sent(), INACTIVE);
    // Resumed: the stream begins active again (XEP-0352 §5.2).
    let restart = cut_and_authenticate(&mut s);
    restart_features(&mut s, &restart, &extra);
    // Remembered while offline.
    s.client
        .set_client_state(s.now, ClientState::Inactive)
        .unwrap();
    s.server("<resumed xmlns='urn:xmpp:sm:3' previd='sm-1' h='0'/>");
    assert_eq!(s.sent(), INACTIVE);
    // A new session after a failed resumption: after the modules' online.
    s.connect_requests = 0;
    let restart = cut_and_authenticate(&mut s);
    restart_features(
        &mut s,
        &restart,
        &format!("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>{extra}"),
    );
    s.server("<failed xmlns='urn:xmpp:sm:3'/>");
    let bind = s.sent();
    s.server(&bound(&bind, "again"));
    assert_eq!(s.sent(), ENABLE.to_string() + INACTIVE);
}

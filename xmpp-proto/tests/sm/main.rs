//! XEP-0198 stream management and XEP-0352 client state indication as
//! transcripts: the server sends these bytes, the client must send exactly
//! those and report this. The counter rules (requests by count and by
//! time, answers, `h` modulo 2^32 across the wrap), the bounded queue, a
//! resumption on a new transport after a cut, a failed resumption with
//! and without `h`, the hostile `h`, and the resumption state carried to
//! another client.

use xmpp_test_support::{scram_server, session};

mod acks;
mod csi;
mod proptests;
mod resume;
mod state;

use std::time::Duration;

use scram_server::{Hash, ScramServer};
use session::{config, Session, DOMAIN};
use xmpp_proto::connect::Security;
use xmpp_proto::sm::{SmConfig, SmEvent};
use xmpp_proto::stanza::Message;
use xmpp_proto::testing::{bind_reply, features_sasl, server_header};
use xmpp_proto::{Event, Input, ReconnectPolicy, Timeouts};

pub const SM: &str = "<sm xmlns='urn:xmpp:sm:3'/>";
pub const ENABLE: &str = "<enable xmlns='urn:xmpp:sm:3' resume='true'/>";
pub const R: &str = "<r xmlns='urn:xmpp:sm:3'/>";
pub const OWN: &str = "juliet@example.com/balcony";

pub fn a(h: u32) -> String {
    format!("<a xmlns='urn:xmpp:sm:3' h='{h}'/>")
}

/// `<enabled/>` with resumption, SM-ID `sm-1`.
pub const ENABLED: &str = "<enabled xmlns='urn:xmpp:sm:3' id='sm-1' resume='true'/>";

/// Quiet timers (no keepalive, no ping in the way) and a config whose
/// stream management asks for acks every `every` stanzas (never by time).
pub fn sm_config(every: u32) -> SmConfig {
    SmConfig {
        ack_every: every,
        ack_after: Duration::from_secs(3600),
        ..SmConfig::default()
    }
}

pub fn timeouts() -> Timeouts {
    Timeouts {
        keepalive: Duration::from_secs(7200),
        idle: Duration::from_secs(7200),
        ..Timeouts::default()
    }
}

/// A policy that reconnects after exactly 1 s.
pub fn policy() -> ReconnectPolicy {
    ReconnectPolicy::new().backoff(Duration::from_secs(1), Duration::from_secs(1), 1)
}

/// Logged in, the server offering stream management; the client's
/// `<enable/>` checked, `<enabled/>` (resumable) answered.
pub fn online(sm: SmConfig, reconnect: bool) -> Session {
    let mut builder = config().stream_management(sm).timeouts(timeouts());
    if reconnect {
        builder = builder.reconnect(policy());
    }
    let mut s = Session::login_with(builder.build(), SM, |_| {});
    assert_eq!(s.sent(), ENABLE);
    s.server(ENABLED);
    let events = s.take_events();
    assert!(
        matches!(
            events.as_slice(),
            [Event::StreamManagement(SmEvent::Enabled {
                resumable: true,
                location: None
            })]
        ),
        "{events:?}"
    );
    s
}

/// A chat message to Romeo with id `id`, as the client writes it.
pub fn message(id: &str) -> Message {
    Message::chat(
        "romeo@example.net"
            .parse::<xmpp_proto::stanza::Jid>()
            .unwrap(),
        id,
    )
    .with_id(id)
}

pub fn message_bytes(id: &str) -> String {
    format!("<message to='romeo@example.net' id='{id}' type='chat'><body>{id}</body></message>")
}

/// Sends messages with these ids; returns what the client wrote.
pub fn send(s: &mut Session, ids: &[&str]) -> String {
    for id in ids {
        assert_eq!(s.client.send(s.now, message(id)).as_deref(), Ok(*id));
    }
    s.sent()
}

/// The stream management events so far (taken).
pub fn sm_events(s: &mut Session) -> Vec<SmEvent> {
    s.take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StreamManagement(e) => Some(e),
            _ => None,
        })
        .collect()
}

pub fn acked(ids: &[&str]) -> SmEvent {
    SmEvent::Acked {
        ids: ids.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn unacked(ids: &[&str]) -> SmEvent {
    SmEvent::Unacked {
        ids: ids.iter().map(|s| s.to_string()).collect(),
    }
}

/// The transport drops; the reconnection delay passes; the core asks for
/// and gets a new transport; STARTTLS and SCRAM again. Returns the
/// client's restart after `<success/>`.
pub fn cut_and_authenticate(s: &mut Session) -> String {
    s.client.handle_input(Input::TransportClosed(s.now));
    s.drain();
    s.advance(Duration::from_secs(1));
    assert_eq!(s.connect_requests, 1);
    s.close_transport = false;
    s.start_tls.clear();
    s.client
        .handle_input(Input::Connected(s.now, Security::StartTls));
    s.starttls_to_sasl(&["SCRAM-SHA-1"], "", None);
    let mut scram = ScramServer::new(Hash::Sha1, session::PASSWORD);
    s.scram(&mut scram);
    s.sent()
}

/// After `<success/>` with a session to resume: only the restart goes
/// out (no bind); the server's features (offering `features`) come back;
/// returns what the client sends then.
pub fn restart_features(s: &mut Session, restart: &str, features: &str) -> String {
    assert!(restart.contains("<stream:stream"), "{restart}");
    assert!(
        !restart.contains("<iq"),
        "no bind before the resume: {restart}"
    );
    s.server(
        &(server_header(DOMAIN, "s4") + &format!("<stream:features>{features}</stream:features>")),
    );
    s.sent()
}

/// A bind result for the bind request in `sent`.
pub fn bound(sent: &str, resource: &str) -> String {
    bind_reply(sent, &format!("juliet@example.com/{resource}"))
}

pub fn sasl_features() -> String {
    features_sasl(&["SCRAM-SHA-1"])
}

//! What an adapter reports about a session: its [`Event`]s, why it ended
//! ([`Disconnect`]), and the connection it uses ([`ConnectionInfo`]).

use core::net::SocketAddr;
use std::time::Duration;

use crate::connect::Security;
use crate::sasl::ChannelBindingType;
use crate::stanza::FullJid;

use super::ConnectError;

/// News from a session.
#[derive(Debug)]
#[non_exhaustive]
// Mostly `Core` events, moved once each; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// An event of the core, in order. The login's events (warnings,
    /// `ScramKeys`, then `Online`) are all queued when the adapter's
    /// `connect` returns. The core's `Disconnected` is never passed on (see
    /// [`Event::Disconnected`] and [`Event::Reconnecting`]), nor are the
    /// answers to IQs the adapter's `send_iq` waits for (that call returns
    /// them).
    Core(crate::Event),
    /// The connection was lost; the next attempt starts after `delay`.
    Reconnecting {
        /// 1 for the first attempt after a loss, counting failed attempts.
        attempt: u32,
        /// How long the session waits before this attempt.
        delay: Duration,
        /// Why the connection was lost, or why the previous attempt failed.
        error: ConnectError,
    },
    /// Online again after [`Event::Reconnecting`] (instead of the core's `Online`).
    Reconnected {
        /// The full JID bound this time.
        jid: FullJid,
        /// Whether the previous session was resumed (XEP-0198), so nothing
        /// needs re-sending by hand.
        resumed: bool,
    },
    /// The session is over; the last event.
    Disconnected {
        /// Why.
        reason: Disconnect,
    },
}

impl Event {
    /// The adapter's event for a core event seen while logging in: the
    /// core's `Online` becomes [`Event::Reconnected`] on a reconnection.
    /// Returns the event and whether the session is now online. The core's
    /// `Disconnected` is the caller's to handle (it ends the attempt).
    pub fn from_login(event: crate::Event, reconnecting: bool) -> (Event, bool) {
        match event {
            crate::Event::Online { jid, resumed, .. } if reconnecting => {
                (Event::Reconnected { jid, resumed }, true)
            }
            online @ crate::Event::Online { .. } => (Event::Core(online), true),
            other => (Event::Core(other), false),
        }
    }
}

/// Why a session ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum Disconnect {
    /// Closed cleanly by the application (its `close`, or it dropped every
    /// handle on the session).
    Closed,
    /// Lost, and not (or no longer) reconnecting.
    Error(ConnectError),
}

/// The connection a session currently uses.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// The host connected to (SRV target, explicit host, or the domain).
    pub host: String,
    /// Direct TLS or STARTTLS.
    pub security: Security,
    /// The server's address.
    pub peer: Option<SocketAddr>,
    /// Our address.
    pub local: Option<SocketAddr>,
    /// Whether TCP_NODELAY is set on the socket (it always should be).
    pub nodelay: bool,
    /// Whether the stream is encrypted.
    pub tls: bool,
    /// The negotiated TLS version (`"TLSv1_3"`) when the TLS library tells
    /// it (rustls does, native-tls does not).
    pub tls_version: Option<String>,
    /// The negotiated ALPN protocol (`xmpp-client` for direct TLS).
    pub alpn: Option<Vec<u8>>,
    /// The channel binding handed to the core, if the TLS library could
    /// compute one (`tls-exporter` with rustls over TLS 1.3,
    /// `tls-server-end-point` with native-tls).
    pub channel_binding: Option<ChannelBindingType>,
}

impl ConnectionInfo {
    /// A plain TCP connection to `host`, secured as `security` says once
    /// TLS is up; the adapter fills in the rest.
    pub fn new(host: impl Into<String>, security: Security) -> Self {
        ConnectionInfo {
            host: host.into(),
            security,
            peer: None,
            local: None,
            nodelay: false,
            tls: false,
            tls_version: None,
            alpn: None,
            channel_binding: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn online_becomes_reconnected_only_on_a_reconnection() {
        let jid: FullJid = "a@b/c".parse().unwrap();
        let online = || crate::Event::Online {
            jid: jid.clone(),
            tls: true,
            mechanism: crate::Mechanism::Plain,
            resumed: false,
        };
        assert!(matches!(
            Event::from_login(online(), false),
            (Event::Core(_), true)
        ));
        assert!(matches!(
            Event::from_login(online(), true),
            (Event::Reconnected { resumed: false, .. }, true)
        ));
    }
}

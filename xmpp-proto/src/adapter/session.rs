//! What an adapter reports about a session: its [`Event`]s, why it ended
//! ([`Disconnect`]), and the connection it uses ([`ConnectionInfo`]).

use core::net::SocketAddr;
use std::fmt;
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
    /// `connect` returns. The core's `Disconnected`, `Reconnecting` and
    /// `Reconnected` are never passed on (see [`Event::Disconnected`],
    /// [`Event::Reconnecting`] and [`Event::Reconnected`]), nor are the
    /// answers to IQs the adapter's `send_iq` waits for (that call returns
    /// them).
    Core(crate::Event),
    /// The connection was lost; the next attempt starts after `delay`
    /// (the core decided both, from the reconnect policy).
    Reconnecting {
        /// 1 for the first attempt after a loss, counting failed attempts.
        attempt: u32,
        /// How long the session waits before this attempt (at least 1 s).
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

/// Why a session ended.
///
/// Its `Display` says what happened and what to do about it, in one line
/// for a log or a person; like every error of the adapters it never
/// contains a password or a SASL payload.
///
/// ```
/// use xmpp_proto::adapter::{ConnectError, Disconnect};
/// use xmpp_proto::DisconnectReason;
///
/// assert_eq!(
///     Disconnect::Closed.to_string(),
///     "the session was closed by the application; connect again for a new one"
/// );
/// let lost = Disconnect::Error(ConnectError::Stream(DisconnectReason::TransportClosed));
/// assert_eq!(
///     lost.to_string(),
///     "the session ended: the connection was lost; this may pass: connect again later \
///      (ConnectOptions::reconnect does that automatically)"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Disconnect {
    /// Closed cleanly by the application (its `close`, or it dropped every
    /// handle on the session).
    Closed,
    /// Lost, and not (or no longer) reconnecting.
    Error(ConnectError),
}

impl fmt::Display for Disconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Disconnect::Closed => f.write_str(
                "the session was closed by the application; connect again for a new one",
            ),
            Disconnect::Error(error) if error.is_final() => write!(
                f,
                "the session ended: {error}; not retried: trying again would fail \
                 the same way until the cause is fixed"
            ),
            Disconnect::Error(error) => write!(
                f,
                "the session ended: {error}; this may pass: connect again later \
                 (ConnectOptions::reconnect does that automatically)"
            ),
        }
    }
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
    use crate::sasl::SaslFailure;
    use crate::DisconnectReason;

    #[test]
    fn disconnect_says_what_happened_and_what_to_do() {
        let closed = Disconnect::Closed.to_string();
        assert!(closed.contains("closed by the application"), "{closed}");

        // Final: the cause and the advice of the error itself, and no retry.
        let failure = SaslFailure::new("not-authorized", Some("Invalid username or password"));
        let auth = Disconnect::Error(ConnectError::Auth(DisconnectReason::AuthFailed(failure)));
        let text = auth.to_string();
        assert!(
            text.starts_with("the session ended: authentication failed"),
            "{text}"
        );
        assert!(text.contains("check the username and password"), "{text}");
        assert!(text.contains("not retried"), "{text}");

        // Not final: connecting again may help.
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let lost = Disconnect::Error(ConnectError::Io(io)).to_string();
        assert!(lost.starts_with("the session ended: I/O error"), "{lost}");
        assert!(lost.contains("connect again"), "{lost}");
        assert!(!lost.contains("not retried"), "{lost}");

        // One line, whatever the cause.
        for text in [closed, text, lost] {
            assert!(!text.contains('\n'), "{text}");
        }
    }

    #[test]
    fn disconnect_never_shows_a_password() {
        // The options hold the password; nothing that reports an end does.
        let options = super::super::ConnectOptions::new("a@b".parse().unwrap(), "hunter2");
        let reasons = [
            Disconnect::Closed,
            Disconnect::Error(ConnectError::TlsNotOffered),
            Disconnect::Error(ConnectError::Auth(DisconnectReason::AuthFailed(
                SaslFailure::new("not-authorized", None),
            ))),
        ];
        for reason in reasons {
            let shown = format!("{reason} {reason:?} {options:?}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }
}

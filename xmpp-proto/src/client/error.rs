//! Why a session ended: stream errors (RFC 6120 §4.9), authentication and
//! TLS-policy failures, XML errors, timeouts and transport loss.

use crate::sasl::{SaslError, SaslFailure};
use crate::xml::XmlError;

/// The defined stream error conditions of RFC 6120 §4.9.3.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamErrorCondition {
    /// §4.9.3.1
    BadFormat,
    /// §4.9.3.2
    BadNamespacePrefix,
    /// §4.9.3.3: another session with the same resource replaced this one.
    Conflict,
    /// §4.9.3.4
    ConnectionTimeout,
    /// §4.9.3.5
    HostGone,
    /// §4.9.3.6
    HostUnknown,
    /// §4.9.3.7
    ImproperAddressing,
    /// §4.9.3.8
    InternalServerError,
    /// §4.9.3.9
    InvalidFrom,
    /// §4.9.3.10
    InvalidNamespace,
    /// §4.9.3.11
    InvalidXml,
    /// §4.9.3.12
    NotAuthorized,
    /// §4.9.3.13
    NotWellFormed,
    /// §4.9.3.14
    PolicyViolation,
    /// §4.9.3.15
    RemoteConnectionFailed,
    /// §4.9.3.16
    Reset,
    /// §4.9.3.17
    ResourceConstraint,
    /// §4.9.3.18
    RestrictedXml,
    /// §4.9.3.19: the server asks the client to connect to another host.
    /// Reported to the application, never followed automatically.
    SeeOtherHost(String),
    /// §4.9.3.20
    SystemShutdown,
    /// §4.9.3.21
    UndefinedCondition,
    /// §4.9.3.22
    UnsupportedEncoding,
    /// §4.9.3.23
    UnsupportedFeature,
    /// §4.9.3.24
    UnsupportedStanzaType,
    /// §4.9.3.25
    UnsupportedVersion,
}

impl StreamErrorCondition {
    /// The condition's element name (`"not-well-formed"`).
    pub fn as_str(&self) -> &'static str {
        use StreamErrorCondition::*;
        match self {
            BadFormat => "bad-format",
            BadNamespacePrefix => "bad-namespace-prefix",
            Conflict => "conflict",
            ConnectionTimeout => "connection-timeout",
            HostGone => "host-gone",
            HostUnknown => "host-unknown",
            ImproperAddressing => "improper-addressing",
            InternalServerError => "internal-server-error",
            InvalidFrom => "invalid-from",
            InvalidNamespace => "invalid-namespace",
            InvalidXml => "invalid-xml",
            NotAuthorized => "not-authorized",
            NotWellFormed => "not-well-formed",
            PolicyViolation => "policy-violation",
            RemoteConnectionFailed => "remote-connection-failed",
            Reset => "reset",
            ResourceConstraint => "resource-constraint",
            RestrictedXml => "restricted-xml",
            SeeOtherHost(_) => "see-other-host",
            SystemShutdown => "system-shutdown",
            UndefinedCondition => "undefined-condition",
            UnsupportedEncoding => "unsupported-encoding",
            UnsupportedFeature => "unsupported-feature",
            UnsupportedStanzaType => "unsupported-stanza-type",
            UnsupportedVersion => "unsupported-version",
        }
    }

    /// Parses a condition element's name (and, for see-other-host, its text).
    /// Unknown names map to `UndefinedCondition` as RFC 6120 §4.9.3.21 advises.
    pub fn from_name(name: &str, text: &str) -> Self {
        use StreamErrorCondition::*;
        match name {
            "bad-format" => BadFormat,
            "bad-namespace-prefix" => BadNamespacePrefix,
            "conflict" => Conflict,
            "connection-timeout" => ConnectionTimeout,
            "host-gone" => HostGone,
            "host-unknown" => HostUnknown,
            "improper-addressing" => ImproperAddressing,
            "internal-server-error" => InternalServerError,
            "invalid-from" => InvalidFrom,
            "invalid-namespace" => InvalidNamespace,
            "invalid-xml" => InvalidXml,
            "not-authorized" => NotAuthorized,
            "not-well-formed" => NotWellFormed,
            "policy-violation" => PolicyViolation,
            "remote-connection-failed" => RemoteConnectionFailed,
            "reset" => Reset,
            "resource-constraint" => ResourceConstraint,
            "restricted-xml" => RestrictedXml,
            "see-other-host" => SeeOtherHost(text.trim().to_string()),
            "system-shutdown" => SystemShutdown,
            "unsupported-encoding" => UnsupportedEncoding,
            "unsupported-feature" => UnsupportedFeature,
            "unsupported-stanza-type" => UnsupportedStanzaType,
            "unsupported-version" => UnsupportedVersion,
            _ => UndefinedCondition,
        }
    }
}

/// A stream error: the condition and the peer's optional human text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamError {
    /// The defined condition.
    pub condition: StreamErrorCondition,
    /// The `<text/>` the peer sent, if any.
    pub text: Option<String>,
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.condition.as_str())?;
        if let StreamErrorCondition::SeeOtherHost(host) = &self.condition {
            write!(f, " ({host})")?;
        }
        if let Some(t) = &self.text {
            write!(f, ": {t}")?;
        }
        Ok(())
    }
}

/// Why the session ended. Delivered once, in [`Event::Disconnected`](crate::Event::Disconnected).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The application asked to close and the stream closed cleanly.
    #[error("closed by the application")]
    Closed,
    /// The server closed the stream (`</stream:stream>`) without an error.
    #[error("the server closed the stream")]
    ClosedByServer,
    /// The server sent a stream error.
    #[error("stream error from the server: {0}")]
    StreamError(StreamError),
    /// The server sent XML we must refuse; we sent a stream error and closed.
    #[error("the server sent invalid XML: {0}")]
    InvalidXml(XmlError),
    /// The server broke the protocol in a way that is not an XML error.
    #[error("protocol violation by the server: {0}")]
    ProtocolViolation(String),
    /// The server refused the credentials (a `<failure/>`). Final: retrying
    /// with the same credentials will fail again.
    #[error("authentication failed: {0}")]
    AuthFailed(SaslFailure),
    /// The client refused the server's authentication exchange (bad server
    /// signature, too many iterations, nonce mismatch, downgrade detected).
    /// Final: do not retry automatically.
    #[error("authentication aborted by the client: {0}")]
    AuthRejected(SaslError),
    /// No mechanism both sides accept under the configured policy.
    #[error("no acceptable SASL mechanism: the server offered {offered:?}; allow one of them in the configuration if it is safe")]
    NoMechanism {
        /// The mechanisms the server offered.
        offered: Vec<String>,
    },
    /// TLS is required but the server did not offer STARTTLS; no credential was sent.
    #[error(
        "the server does not offer STARTTLS and plaintext is not allowed; no credential was sent"
    )]
    TlsRequired,
    /// The server refused STARTTLS (`<failure/>` in the TLS namespace).
    #[error("the server refused STARTTLS")]
    TlsRefused,
    /// The transport was lost (the adapter reported it closed).
    #[error("the connection was lost")]
    TransportClosed,
    /// The server never answered our stream header on a connection without
    /// TLS: it answered with TLS (`tls`: its first byte was a TLS record,
    /// see [`connect::greeting`](crate::connect::greeting)), or closed the
    /// connection without sending a byte. A port that expects TLS from the
    /// first byte (XEP-0368 direct TLS, usually 5223) does either; connect
    /// to it with [`TlsPolicy::DirectTls`](crate::TlsPolicy::DirectTls).
    /// Final when the server spoke TLS (trying again would meet the same
    /// port); a silent close may also be a passing failure.
    #[error("{}", no_stream_header(*tls))]
    NoStreamHeader {
        /// The server answered with TLS (else it closed without a byte).
        tls: bool,
    },
    /// The session did not come online in time, or the server stopped answering.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// Resource binding failed.
    #[error("resource binding failed: {0}")]
    BindFailed(String),
    /// The driver could not open or secure a transport
    /// ([`Input::ConnectFailed`](crate::Input::ConnectFailed)); it knows
    /// the details.
    #[error("the connection could not be made")]
    ConnectFailed {
        /// The driver's verdict: trying again would fail the same way.
        is_final: bool,
    },
    /// The server broke XEP-0198 stream management (an `h` beyond what was
    /// sent, no ack while the queue overflowed): the connection ended and
    /// the session is not resumed.
    #[error("stream management failure: {0}")]
    StreamManagement(super::sm::SmError),
}

fn no_stream_header(tls: bool) -> &'static str {
    if tls {
        "the server answered our XMPP stream header with TLS: the port expects direct TLS \
         (XEP-0368), not STARTTLS; connect to it with TlsPolicy::DirectTls"
    } else {
        "the server closed the connection without answering our XMPP stream header, as a \
         port that expects direct TLS (XEP-0368) does: if it is one, connect to it with \
         TlsPolicy::DirectTls"
    }
}

impl DisconnectReason {
    /// True when reconnecting automatically would repeat the same failure
    /// (authentication, TLS policy, a deliberate close): adapters must not retry.
    pub fn is_final(&self) -> bool {
        match self {
            DisconnectReason::AuthFailed(_)
            | DisconnectReason::AuthRejected(_)
            | DisconnectReason::NoMechanism { .. }
            | DisconnectReason::TlsRequired
            | DisconnectReason::TlsRefused
            | DisconnectReason::NoStreamHeader { tls: true }
            | DisconnectReason::Closed => true,
            DisconnectReason::ConnectFailed { is_final } => *is_final,
            DisconnectReason::StreamError(e) => matches!(
                e.condition,
                StreamErrorCondition::Conflict
                    | StreamErrorCondition::NotAuthorized
                    | StreamErrorCondition::SeeOtherHost(_)
                    | StreamErrorCondition::HostUnknown
            ),
            _ => false,
        }
    }
}

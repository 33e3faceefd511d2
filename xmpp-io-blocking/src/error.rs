//! Typed errors: why a connection could not be made or was lost, why a
//! command did not succeed, and that a session is over. The same variants
//! as the Tokio adapter's, so code can move between the two.
//!
//! No message here ever contains a password or a SASL payload: the core's
//! reasons carry only conditions and the server's text, and the adapter adds
//! host names, addresses and the TLS library's descriptions.

use std::io;
use std::path::PathBuf;

use xmpp_proto::connect::NoService;
use xmpp_proto::{DisconnectReason, IqFailure, SendError};

/// Why [`connect`](crate::connect) failed, why a session ended, or why a
/// reconnection attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// An extra CA file could not be read or held no certificate.
    #[error("cannot use the CA file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// No address could be found for any candidate host.
    #[error("DNS resolution of {host} failed: {reason}")]
    Dns {
        /// The last host name that failed to resolve.
        host: String,
        /// The resolver's description.
        reason: String,
    },
    /// The domain's SRV records say it offers no client service.
    #[error(transparent)]
    NoService(#[from] NoService),
    /// Every TCP connection attempt failed; the last error is kept.
    #[error("could not connect to {target} ({attempts} address(es) tried): {source}")]
    Tcp {
        /// The last `host:port (address)` tried.
        target: String,
        /// How many addresses were tried in all.
        attempts: usize,
        /// The last attempt's error.
        #[source]
        source: io::Error,
    },
    /// TLS failed: the certificate, the name, or the handshake.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// TLS is required, but the server did not offer STARTTLS. No credential
    /// was sent.
    #[error(
        "the server does not offer STARTTLS and plaintext is not allowed; no credential was sent"
    )]
    TlsNotOffered,
    /// Authentication failed: the server refused the credentials, the
    /// client refused the server's proof, or no mechanism was acceptable.
    #[error("{0}")]
    Auth(DisconnectReason),
    /// The stream ended for another reason the core reported: a stream error
    /// from the server, invalid XML, a protocol violation, the server
    /// closing, the connection being lost, a failed bind.
    #[error("{0}")]
    Stream(DisconnectReason),
    /// Not online in time, or the server stopped answering.
    #[error("timed out: {0}")]
    Timeout(String),
    /// Reading or writing the connection failed.
    #[error("I/O error on the connection: {0}")]
    Io(#[source] io::Error),
}

impl ConnectError {
    /// Maps the core's reason for ending a session.
    pub(crate) fn from_reason(reason: DisconnectReason) -> Self {
        match reason {
            DisconnectReason::AuthFailed(_)
            | DisconnectReason::AuthRejected(_)
            | DisconnectReason::NoMechanism { .. } => ConnectError::Auth(reason),
            DisconnectReason::TlsRequired => ConnectError::TlsNotOffered,
            DisconnectReason::TlsRefused => ConnectError::Tls(TlsError::Refused),
            DisconnectReason::Timeout(what) => ConnectError::Timeout(what.to_string()),
            other => ConnectError::Stream(other),
        }
    }

    /// True when trying again automatically would repeat the failure:
    /// authentication, a certificate or TLS protocol failure, a refused or
    /// missing STARTTLS, a domain without service, an unusable CA file, or
    /// a core reason that [`DisconnectReason::is_final`] calls final.
    /// Reconnection stops here. A handshake cut short by the network (the
    /// socket closed or reset before the TLS library reported an error of
    /// its own) is not final.
    pub fn is_final(&self) -> bool {
        match self {
            ConnectError::Tls(TlsError::Other { source, .. }) => !is_network_cut(source.kind()),
            ConnectError::CaFile { .. }
            | ConnectError::NoService(_)
            | ConnectError::Tls(_)
            | ConnectError::TlsNotOffered
            | ConnectError::Auth(_) => true,
            ConnectError::Stream(reason) => reason.is_final(),
            ConnectError::Dns { .. }
            | ConnectError::Tcp { .. }
            | ConnectError::Timeout(_)
            | ConnectError::Io(_) => false,
        }
    }
}

/// The I/O error kinds of a connection cut by the network, not refused by
/// the peer's TLS library.
pub(crate) fn is_network_cut(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::NotConnected
            | io::ErrorKind::TimedOut
    )
}

/// How TLS failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate chain does not lead to a trusted root (unknown
    /// issuer, self-signed, expired, revoked, wrong purpose, ...).
    #[error("the certificate presented for {domain} is not trusted: {detail}")]
    CertificateNotTrusted {
        /// The name the certificate was checked for (the JID's domain).
        domain: String,
        /// The TLS library's description.
        detail: String,
    },
    /// The certificate is trusted but not valid for the JID's domain.
    #[error("the certificate presented is not valid for {domain}: {detail}")]
    NameMismatch {
        /// The name the certificate was checked for (the JID's domain).
        domain: String,
        /// The TLS library's description.
        detail: String,
    },
    /// The server answered `<starttls/>` with `<failure/>`.
    #[error("the server refused STARTTLS")]
    Refused,
    /// Any other handshake failure (protocol error, alert, closed socket).
    #[error("the TLS handshake with {domain} failed: {source}")]
    Other {
        /// The name the certificate was to be checked for.
        domain: String,
        /// The underlying error (a `native_tls::Error` inside, or the
        /// network's error when the connection was cut).
        #[source]
        source: io::Error,
    },
}

/// Why a command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The core refused the command (e.g. not online while reconnecting).
    #[error(transparent)]
    Rejected(#[from] SendError),
    /// The IQ was sent but produced no result: an error answer, no answer in
    /// time, or the session ended first.
    #[error(transparent)]
    Iq(#[from] IqFailure),
    /// The session has ended; nothing can be sent any more.
    #[error("the session has ended")]
    Ended,
}

/// [`Reader::next_event`](crate::Reader::next_event) after the last event
/// ([`Event::Disconnected`](crate::Event::Disconnected)) was returned: the
/// session is over (as `std::sync::mpsc::RecvError` for a closed channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session has ended; no more events")]
pub struct SessionEnded;

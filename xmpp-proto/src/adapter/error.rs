//! Typed errors of the adapters: why a connection could not be made or was
//! lost, and why a command did not succeed. One set of types for both
//! adapters, so code moves between them unchanged.
//!
//! No message here ever contains a password or a SASL payload: the core's
//! reasons carry only conditions and the server's text, and the adapters
//! add host names, addresses and the TLS library's descriptions.

use std::io;
use std::path::PathBuf;

use crate::connect::{Greeting, NoService, Security};
use crate::{DisconnectReason, IqFailure, SendError};

/// Why `connect` failed, why a session ended, or why a reconnection
/// attempt failed.
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
    /// An extra CA certificate given as DER was not accepted.
    #[error("cannot use the extra CA certificate #{index}: {reason}")]
    CaCertificate {
        /// Its position among `ConnectOptions::add_ca_certificate` calls, from 0.
        index: usize,
        /// The TLS library's description.
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
    /// The server's port seems to expect the other way of starting a
    /// connection, so nothing was said: a STARTTLS attempt (an XMPP stream
    /// in plain text first) was answered with TLS, or with nothing at all
    /// (a direct-TLS port, XEP-0368), or a direct-TLS handshake was answered
    /// with XML (a STARTTLS port). The message says which, and which
    /// [`TlsMode`](super::TlsMode) to use. Final when the server answered
    /// (trying again would meet the same port); a silent close may also be
    /// a passing failure. No credential was sent.
    #[error("{}", wrong_port(*tried, *answer, source.as_ref()))]
    WrongPort {
        /// How the connection was started.
        tried: Security,
        /// What the server sent first instead: TLS, XML, or (`None`)
        /// nothing before the connection closed.
        answer: Option<Greeting>,
        /// The error the transport or the TLS library reported, if any.
        #[source]
        source: Option<io::Error>,
    },
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
    /// The operating system's random source failed. Without it the stanza
    /// ids and SCRAM nonces would be predictable, so no connection is made.
    #[error("the OS random source failed: {0}; no connection was made")]
    Entropy(String),
}

impl ConnectError {
    /// Maps the core's reason for ending a session.
    pub fn from_reason(reason: DisconnectReason) -> Self {
        match reason {
            DisconnectReason::AuthFailed(_)
            | DisconnectReason::AuthRejected(_)
            | DisconnectReason::NoMechanism { .. } => ConnectError::Auth(reason),
            DisconnectReason::TlsRequired => ConnectError::TlsNotOffered,
            DisconnectReason::TlsRefused => ConnectError::Tls(TlsError::Refused),
            DisconnectReason::Timeout(what) => ConnectError::Timeout(what.to_string()),
            DisconnectReason::NoStreamHeader { tls } => ConnectError::WrongPort {
                tried: Security::StartTls,
                answer: tls.then_some(Greeting::Tls),
                source: None,
            },
            other => ConnectError::Stream(other),
        }
    }

    /// True when trying again automatically would repeat the failure:
    /// authentication, a certificate or TLS protocol failure, a refused or
    /// missing STARTTLS, a port that answered in the other way of starting
    /// a connection, a domain without service, an unusable CA, a failed
    /// random source, or a core reason that `DisconnectReason::is_final`
    /// calls final. Reconnection stops here. A handshake cut short by the
    /// network ([`TlsError::Interrupted`]) is not final.
    pub fn is_final(&self) -> bool {
        match self {
            ConnectError::Tls(TlsError::Interrupted { .. }) => false,
            ConnectError::CaFile { .. }
            | ConnectError::CaCertificate { .. }
            | ConnectError::NoService(_)
            | ConnectError::Tls(_)
            | ConnectError::TlsNotOffered
            | ConnectError::Auth(_)
            | ConnectError::Entropy(_) => true,
            ConnectError::WrongPort { answer, .. } => answer.is_some(),
            ConnectError::Stream(reason) => reason.is_final(),
            ConnectError::Dns { .. }
            | ConnectError::Tcp { .. }
            | ConnectError::Timeout(_)
            | ConnectError::Io(_) => false,
        }
    }
}

/// The text of [`ConnectError::WrongPort`]: what was expected, what came,
/// and what to use instead (in the adapters' terms, and the command-line
/// client's flag).
fn wrong_port(tried: Security, answer: Option<Greeting>, source: Option<&io::Error>) -> String {
    let cause = source.map(|e| format!(" ({e})")).unwrap_or_default();
    match (tried, answer) {
        (Security::StartTls, Some(Greeting::Tls)) => format!(
            "expected an XMPP stream (STARTTLS) but the server answered with TLS{cause}: \
             the port expects direct TLS (XEP-0368, usually port 5223); \
             use TlsMode::DirectTls (xmpp-cli: --direct-tls)"
        ),
        (Security::StartTls, _) => format!(
            "expected an XMPP stream (STARTTLS) but the server closed the connection \
             without a byte{cause}, as a port that expects direct TLS (XEP-0368, usually \
             port 5223) does; if it is one, use TlsMode::DirectTls (xmpp-cli: --direct-tls)"
        ),
        (Security::DirectTls, _) => format!(
            "the TLS handshake failed: the server answered in plain XML{cause}, so the \
             port expects STARTTLS (usually port 5222), not direct TLS; \
             use TlsMode::StartTls (xmpp-cli: without --direct-tls)"
        ),
    }
}

/// How TLS failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate chain does not lead to a trusted root (unknown
    /// issuer, self-signed, bad signature, expired, revoked, wrong purpose, ...).
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
    /// The handshake failed in the TLS library (protocol error, alert,
    /// unsupported parameters). Final: trying again would fail the same way.
    #[error("the TLS handshake with {domain} failed: {source}")]
    Other {
        /// The name the certificate was to be checked for.
        domain: String,
        /// The underlying error (the TLS library's error inside).
        #[source]
        source: io::Error,
    },
    /// The network cut the handshake short (the socket closed, reset or
    /// timed out before the TLS library reported an error of its own). Not
    /// final: a reconnection may succeed.
    #[error("the TLS handshake with {domain} was cut short: {source}")]
    Interrupted {
        /// The name the certificate was to be checked for.
        domain: String,
        /// The network's error.
        #[source]
        source: io::Error,
    },
}

/// The I/O error kinds of a connection cut by the network, not refused by
/// the peer's TLS library.
pub fn is_network_cut(kind: io::ErrorKind) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::driver::tls_handshake_error;

    fn cut(kind: io::ErrorKind) -> ConnectError {
        tls_handshake_error("example.com", io::Error::new(kind, "x"), false).into()
    }

    #[test]
    fn a_handshake_cut_by_the_network_may_be_retried_a_refused_one_not() {
        assert!(!cut(io::ErrorKind::UnexpectedEof).is_final());
        assert!(!cut(io::ErrorKind::ConnectionReset).is_final());
        assert!(cut(io::ErrorKind::InvalidData).is_final());
        let library = tls_handshake_error(
            "example.com",
            io::Error::new(io::ErrorKind::UnexpectedEof, "alert"),
            true,
        );
        assert!(matches!(library, TlsError::Other { .. }));
        assert!(ConnectError::from(library).is_final());
    }

    #[test]
    fn core_reasons_map_to_the_matching_variant() {
        assert!(matches!(
            ConnectError::from_reason(DisconnectReason::TlsRequired),
            ConnectError::TlsNotOffered
        ));
        let refused = ConnectError::from_reason(DisconnectReason::TlsRefused);
        assert!(matches!(refused, ConnectError::Tls(TlsError::Refused)));
        assert!(refused.is_final());
        assert!(!ConnectError::Timeout("login".into()).is_final());
        assert!(ConnectError::Entropy("no device".into()).is_final());
    }
}

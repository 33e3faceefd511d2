//! **For adapter writers**: the steps every adapter takes between an
//! application's [`ConnectOptions`] and a running core [`Client`], as
//! plain functions, so that no adapter decides them on its own.
//!
//! Applications never need this module: they hand [`ConnectOptions`] to an
//! adapter's `connect` and read its [`Event`]s. An adapter (or a driver
//! of your own) goes through these steps (1-3 for each transport, 4 once
//! per session):
//!
//! 1. where to connect: [`wants_srv`] says whether to look up the
//!    domain's SRV records, [`candidates`] orders the answers (or gives
//!    the explicit server, [`explicit_candidate`]);
//! 2. TCP: [`TcpAttempts`] keeps the bookkeeping of the loop over
//!    candidates and addresses, each bounded by [`ATTEMPT_TIMEOUT`], and
//!    turns its failures into one [`ConnectError`];
//! 3. TLS: a failed handshake becomes a [`TlsError`] with
//!    [`tls_handshake_error`] (using [`is_network_cut`] to tell a cut
//!    connection from a refusal) when it is not about the certificate, and
//!    [`tls_failure`] turns that into the session's error, naming a
//!    STARTTLS port met with direct TLS;
//! 4. the core: [`new_client`] builds it from the options (through
//!    [`core_config`]), with 32 bytes of OS entropy;
//! 5. logging in: [`login_event`] turns each core event into the
//!    adapter's (the core's `Reconnected` becomes [`Event::Reconnected`])
//!    and says when the session is online;
//! 6. reconnecting: the core decides (its `Config::reconnect`, from
//!    [`ConnectOptions::reconnect`]); it reports `Reconnecting`, hands
//!    out `Output::Connect` after the delay, and the adapter opens a
//!    transport exactly as in steps 1-3 and feeds `Input::Connected`, or
//!    `Input::ConnectFailed` with [`ConnectError::is_final`] of its
//!    failure; [`reconnecting_event`] makes the adapter's event;
//! 7. the end: [`end_error`] maps the core's reason, with the transport's
//!    own failure when there was one (a STARTTLS attempt closed before
//!    the server's first byte is named as a likely direct-TLS port).
//!
//! The knowledge of what the wrong kind of port looks like lives in one
//! place: [`connect::greeting`](crate::connect::greeting) reads a server's
//! first bytes; the core applies it to a plain connection (its
//! `DisconnectReason::NoStreamHeader`), [`tls_failure`] to a failed
//! direct-TLS handshake, and [`ConnectError::WrongPort`] says what to do.
//!
//! Nothing here does I/O: the adapter resolves names, opens sockets, runs
//! the TLS library, reads the clock and draws the entropy.
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::adapter::{driver, ConnectOptions};
//! use xmpp_proto::connect::Security;
//!
//! let options = ConnectOptions::new("alice@localhost".parse().unwrap(), "alice-pass")
//!     .server("127.0.0.1", 5222)
//!     .resource("desk");
//! assert!(!driver::wants_srv(&options)); // an explicit server: no SRV lookup
//! let list = driver::candidates(&options, &[], &[], None).unwrap();
//! assert_eq!(list.len(), 1);
//! assert_eq!(list[0].security, Security::StartTls);
//! let seed = [9u8; 32]; // from the OS in a real adapter
//! let client = driver::new_client(&options, list[0].security, seed, Instant::now());
//! assert!(!client.is_online());
//! ```

use std::time::Instant;

use crate::connect::{greeting, Candidate, Greeting, NoService, Security, SrvRecord};
use crate::{Client, Config, DisconnectReason};

use super::{ConnectError, ConnectOptions, Event, TlsError};

pub use super::attempts::{TcpAttempts, ATTEMPT_TIMEOUT};
pub use super::error::is_network_cut;

/// Whether to look up the domain's SRV records: there is no explicit
/// [`server`](ConnectOptions::server) and the domain is not one that
/// [`connect::skips_srv`](crate::connect::skips_srv) (localhost, IP
/// literals). Which of the two services to ask for follows
/// [`TlsMode::wants_direct_tls`](super::TlsMode::wants_direct_tls) and
/// [`TlsMode::wants_starttls`](super::TlsMode::wants_starttls).
pub fn wants_srv(options: &ConnectOptions) -> bool {
    options.wants_srv()
}

/// The single candidate of an explicit [`server`](ConnectOptions::server):
/// direct TLS when the mode is [`TlsMode::DirectTls`](super::TlsMode::DirectTls),
/// STARTTLS otherwise. `None` when the domain's SRV records are to be
/// resolved.
pub fn explicit_candidate(options: &ConnectOptions) -> Option<Candidate> {
    options.explicit_candidate()
}

/// The hosts to try, in order: the explicit server if one was given, else
/// [`connect::candidates`](crate::connect::candidates) from the SRV answers
/// (empty slices when not looked up, or a lookup failed), keeping only
/// direct-TLS targets in [`TlsMode::DirectTls`](super::TlsMode::DirectTls).
/// `random`, from the OS (`None` if its source failed), seeds the RFC 2782
/// weighted order.
pub fn candidates(
    options: &ConnectOptions,
    direct_tls: &[SrvRecord],
    starttls: &[SrvRecord],
    random: Option<u64>,
) -> Result<Vec<Candidate>, NoService> {
    options.candidates(direct_tls, starttls, random)
}

/// The core's configuration for a session whose first connection is
/// secured as `security`, with 32 fresh bytes of OS entropy (every stanza
/// id, SCRAM nonce and reconnection delay of the session derives from
/// them): the account, the TLS policy that `security` and
/// [`ConnectOptions::allow_plaintext`] call for, the resource, the login
/// timeout, the reconnect policy; the [`configure`](ConnectOptions::configure)
/// hook runs last.
pub fn core_config(options: &ConnectOptions, security: Security, seed: [u8; 32]) -> Config {
    options.core_config(security, seed)
}

/// The core [`Client`] of a session ([`core_config`]), the
/// [`on_client`](ConnectOptions::on_client) hook already run on it: made
/// once, for the first connection; every reconnection reuses it.
pub fn new_client(
    options: &ConnectOptions,
    security: Security,
    seed: [u8; 32],
    now: Instant,
) -> Client {
    options.new_client(security, seed, now)
}

/// The adapter's event for a core event: the core's `Reconnected` becomes
/// [`Event::Reconnected`], anything else is passed on as [`Event::Core`].
/// Returns the event and whether the session is now online (`Online` or
/// `Reconnected`). The core's `Disconnected` and `Reconnecting` are the
/// caller's to handle first (with [`end_error`] and
/// [`reconnecting_event`]); they are never passed on as `Core`.
pub fn login_event(event: crate::Event) -> (Event, bool) {
    match event {
        crate::Event::Reconnected { jid, resumed, .. } => {
            (Event::Reconnected { jid, resumed }, true)
        }
        online @ crate::Event::Online { .. } => (Event::Core(online), true),
        other => (Event::Core(other), false),
    }
}

/// The adapter's [`Event::Reconnecting`] for the core's: the same attempt
/// and delay, and the error of [`end_error`] (the core's reason with the
/// transport's own failure, if the adapter had one).
pub fn reconnecting_event(
    attempt: u32,
    delay: std::time::Duration,
    reason: DisconnectReason,
    transport_failure: Option<ConnectError>,
) -> Event {
    Event::Reconnecting {
        attempt,
        delay,
        error: end_error(reason, transport_failure),
    }
}

/// A TLS handshake failure that is not about the certificate:
/// [`TlsError::Interrupted`] when `source` is the network's doing (its kind
/// is one of a cut connection, [`is_network_cut`], and `from_tls_library`
/// is false), [`TlsError::Other`] otherwise.
pub fn tls_handshake_error(
    domain: &str,
    source: std::io::Error,
    from_tls_library: bool,
) -> TlsError {
    let domain = domain.to_string();
    if !from_tls_library && is_network_cut(source.kind()) {
        TlsError::Interrupted { domain, source }
    } else {
        TlsError::Other { domain, source }
    }
}

/// The error for a failed TLS handshake of a connection secured as
/// `security`, whose server sent `first_bytes` first (whatever the adapter
/// kept of its first reads; a few bytes suffice, none if it sent nothing):
/// a direct-TLS handshake answered with XML met a port that expects
/// STARTTLS ([`ConnectError::WrongPort`], with the TLS library's error as
/// its source); any other failure is `error` itself.
pub fn tls_failure(security: Security, error: TlsError, first_bytes: &[u8]) -> ConnectError {
    if security != Security::DirectTls || greeting(first_bytes) != Some(Greeting::Xml) {
        return ConnectError::Tls(error);
    }
    match error {
        TlsError::Other { source, .. } | TlsError::Interrupted { source, .. } => {
            ConnectError::WrongPort {
                tried: Security::DirectTls,
                answer: Some(Greeting::Xml),
                source: Some(source),
            }
        }
        other => ConnectError::Tls(other),
    }
}

/// The error that ends a connection, from the core's `reason` (of its
/// `Event::Disconnected`) and `transport_failure`, the I/O or TLS error
/// that made the adapter report the transport closed, if one did:
///
/// * the core only knows that the transport closed, or that a connection
///   attempt failed: the adapter's failure says more, and is the error;
/// * the core saw the connection close before the server's first byte on
///   a STARTTLS attempt: [`ConnectError::WrongPort`], with the I/O error
///   (a reset, say) as its source;
/// * otherwise [`ConnectError::from_reason`].
pub fn end_error(
    reason: DisconnectReason,
    transport_failure: Option<ConnectError>,
) -> ConnectError {
    match (reason, transport_failure) {
        (
            DisconnectReason::TransportClosed | DisconnectReason::ConnectFailed { .. },
            Some(failure),
        ) => failure,
        (DisconnectReason::NoStreamHeader { tls: false }, Some(ConnectError::Io(source))) => {
            ConnectError::WrongPort {
                tried: Security::StartTls,
                answer: None,
                source: Some(source),
            }
        }
        (reason, _) => ConnectError::from_reason(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stanza::FullJid;

    #[test]
    fn the_cores_reconnected_becomes_the_adapters() {
        let jid: FullJid = "a@b/c".parse().unwrap();
        let online = crate::Event::Online {
            jid: jid.clone(),
            tls: true,
            mechanism: crate::Mechanism::Plain,
            resumed: false,
        };
        assert!(matches!(login_event(online), (Event::Core(_), true)));
        let again = crate::Event::Reconnected {
            jid,
            tls: true,
            mechanism: crate::Mechanism::Plain,
            resumed: false,
        };
        assert!(matches!(
            login_event(again),
            (Event::Reconnected { resumed: false, .. }, true)
        ));
        let failed = reconnecting_event(
            2,
            std::time::Duration::from_secs(1),
            DisconnectReason::ConnectFailed { is_final: false },
            Some(ConnectError::Dns {
                host: "h".into(),
                reason: "no".into(),
            }),
        );
        assert!(matches!(
            failed,
            Event::Reconnecting {
                attempt: 2,
                error: ConnectError::Dns { .. },
                ..
            }
        ));
    }

    #[test]
    fn direct_tls_answered_with_xml_names_a_starttls_port() {
        let refused = || {
            let e = std::io::Error::other("received corrupt message of type InvalidContentType");
            tls_handshake_error("example.com", e, true)
        };
        let xml = b"<?xml version='1.0'?><stream:stream xmlns='jabber:client'";
        let error = tls_failure(Security::DirectTls, refused(), xml);
        assert!(
            matches!(
                &error,
                ConnectError::WrongPort {
                    tried: Security::DirectTls,
                    answer: Some(Greeting::Xml),
                    source: Some(_),
                }
            ),
            "{error:?}"
        );
        assert!(error.is_final());
        let text = error.to_string();
        assert!(text.contains("expects STARTTLS"), "{text}");
        assert!(text.contains("TlsMode::StartTls"), "{text}");
        assert!(
            text.contains("InvalidContentType"),
            "the TLS library's words: {text}"
        );

        // Not XML, or not direct TLS: the TLS error as it was.
        let other = tls_failure(Security::DirectTls, refused(), b"\x15\x03\x03");
        assert!(matches!(other, ConnectError::Tls(TlsError::Other { .. })));
        let starttls = tls_failure(Security::StartTls, refused(), xml);
        assert!(matches!(
            starttls,
            ConnectError::Tls(TlsError::Other { .. })
        ));
        let nothing = tls_failure(Security::DirectTls, refused(), b"");
        assert!(matches!(nothing, ConnectError::Tls(_)));
    }

    #[test]
    fn a_starttls_attempt_met_by_tls_or_silence_names_a_direct_tls_port() {
        let tls = end_error(DisconnectReason::NoStreamHeader { tls: true }, None);
        assert!(
            matches!(
                tls,
                ConnectError::WrongPort {
                    tried: Security::StartTls,
                    answer: Some(Greeting::Tls),
                    source: None,
                }
            ),
            "{tls:?}"
        );
        assert!(tls.is_final());
        let text = tls.to_string();
        assert!(
            text.contains("expected an XMPP stream (STARTTLS)"),
            "{text}"
        );
        assert!(text.contains("answered with TLS"), "{text}");
        assert!(
            text.contains("TlsMode::DirectTls") && text.contains("--direct-tls"),
            "{text}"
        );

        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let silent = end_error(
            DisconnectReason::NoStreamHeader { tls: false },
            Some(ConnectError::Io(reset)),
        );
        assert!(
            matches!(
                &silent,
                ConnectError::WrongPort {
                    tried: Security::StartTls,
                    answer: None,
                    source: Some(e),
                } if e.kind() == std::io::ErrorKind::ConnectionReset
            ),
            "{silent:?}"
        );
        assert!(!silent.is_final(), "a silent close may pass");
        let text = silent.to_string();
        assert!(
            text.contains("closed the connection without a byte"),
            "{text}"
        );
        assert!(text.contains("--direct-tls"), "{text}");

        // The transport's failure stands for a plain loss.
        let lost = end_error(
            DisconnectReason::TransportClosed,
            Some(ConnectError::Io(std::io::ErrorKind::BrokenPipe.into())),
        );
        assert!(matches!(lost, ConnectError::Io(_)));
        assert!(matches!(
            end_error(DisconnectReason::TransportClosed, None),
            ConnectError::Stream(DisconnectReason::TransportClosed)
        ));
    }

    #[test]
    fn a_cut_handshake_is_interrupted_unless_the_tls_library_refused() {
        let cut = || std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert!(matches!(
            tls_handshake_error("example.com", cut(), false),
            TlsError::Interrupted { .. }
        ));
        assert!(matches!(
            tls_handshake_error("example.com", cut(), true),
            TlsError::Other { .. }
        ));
    }
}

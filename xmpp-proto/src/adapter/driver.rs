//! **For adapter writers**: the steps every adapter takes between an
//! application's [`ConnectOptions`] and a running core [`Client`], as
//! plain functions, so that no adapter decides them on its own.
//!
//! Applications never need this module: they hand [`ConnectOptions`] to an
//! adapter's `connect` and read its [`Event`]s. An adapter (or a driver
//! of your own) goes through these steps for each connection attempt:
//!
//! 1. where to connect: [`wants_srv`] says whether to look up the
//!    domain's SRV records, [`candidates`] orders the answers (or gives
//!    the explicit server, [`explicit_candidate`]);
//! 2. TCP: [`TcpAttempts`] keeps the bookkeeping of the loop over
//!    candidates and addresses, each bounded by [`ATTEMPT_TIMEOUT`], and
//!    turns its failures into one [`ConnectError`](super::ConnectError);
//! 3. TLS: a failed handshake becomes a [`TlsError`] with
//!    [`tls_handshake_error`] (using [`is_network_cut`] to tell a cut
//!    connection from a refusal) when it is not about the certificate;
//! 4. the core: [`new_client`] builds it from the options (through
//!    [`core_config`]), with 32 bytes of OS entropy;
//! 5. logging in: [`login_event`] turns each core event into the
//!    adapter's (the core's `Online` becomes [`Event::Reconnected`] on a
//!    reconnection) and says when the session is online;
//! 6. the end: [`ConnectError::from_reason`](super::ConnectError::from_reason)
//!    maps the core's reason.
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

use crate::connect::{Candidate, NoService, Security, SrvRecord};
use crate::{Client, Config};

use super::{ConnectOptions, Event, TlsError};

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

/// The core's configuration for one connection secured as `security`,
/// with 32 fresh bytes of OS entropy (every stanza id and SCRAM nonce of
/// the connection derives from them): the account, the TLS policy that
/// `security` and [`ConnectOptions::allow_plaintext`] call for, the
/// resource, the login timeout; the [`configure`](ConnectOptions::configure)
/// hook runs last.
pub fn core_config(options: &ConnectOptions, security: Security, seed: [u8; 32]) -> Config {
    options.core_config(security, seed)
}

/// A new core [`Client`] for one connection ([`core_config`]), the
/// [`on_client`](ConnectOptions::on_client) hook already run on it.
pub fn new_client(
    options: &ConnectOptions,
    security: Security,
    seed: [u8; 32],
    now: Instant,
) -> Client {
    options.new_client(security, seed, now)
}

/// The adapter's event for a core event seen while logging in (or later:
/// after `Online` it is passed on as is): the core's `Online` becomes
/// [`Event::Reconnected`] when `reconnecting`. Returns the event and
/// whether the session is now online. The core's `Disconnected` is the
/// caller's to handle first (it ends the attempt, and is never passed on).
pub fn login_event(event: crate::Event, reconnecting: bool) -> (Event, bool) {
    match event {
        crate::Event::Online { jid, resumed, .. } if reconnecting => {
            (Event::Reconnected { jid, resumed }, true)
        }
        online @ crate::Event::Online { .. } => (Event::Core(online), true),
        other => (Event::Core(other), false),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stanza::FullJid;

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
            login_event(online(), false),
            (Event::Core(_), true)
        ));
        assert!(matches!(
            login_event(online(), true),
            (Event::Reconnected { resumed: false, .. }, true)
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

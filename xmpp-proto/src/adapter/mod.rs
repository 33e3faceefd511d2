//! What every I/O adapter shares: the pure vocabulary of a session, so
//! that `xmpp-io-tokio`, `xmpp-io-blocking` and your own driver offer the
//! same options, events and errors, and no adapter repeats the logic.
//!
//! - [`ConnectOptions`]: the account, where to connect, how to secure it,
//!   reconnection; and how they become the core's [`Config`](crate::Config)
//!   for each connection ([`ConnectOptions::new_client`]);
//! - [`ConnectError`], [`TlsError`], [`CommandError`]: typed failures,
//!   with [`ConnectError::is_final`] deciding whether reconnecting helps;
//! - [`Event`], [`Disconnect`], [`ConnectionInfo`]: what a session reports;
//! - [`ReconnectPolicy`]: when to try again;
//! - [`TcpAttempts`]: the error of a TCP connection loop that failed.
//!
//! Nothing here does I/O: the adapters read files and sockets, resolve
//! names, and hand in time and entropy.
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::adapter::{ConnectOptions, Event};
//! use xmpp_proto::connect::Security;
//!
//! let options = ConnectOptions::new("alice@localhost".parse().unwrap(), "alice-pass")
//!     .server("127.0.0.1", 5222)
//!     .resource("desk");
//! let candidate = options.explicit_candidate().unwrap(); // no SRV lookup
//! assert_eq!(candidate.security, Security::StartTls);
//! let seed = [9u8; 32]; // from the OS in a real adapter
//! let client = options.new_client(candidate.security, seed, Instant::now());
//! assert!(!client.is_online());
//! ```

mod attempts;
mod error;
mod options;
mod reconnect;
mod session;

pub use attempts::{TcpAttempts, ATTEMPT_TIMEOUT};
pub use error::{is_network_cut, CommandError, ConnectError, TlsError};
pub use options::{ClientSetup, ConfigHook, ConnectOptions, TlsMode};
pub use reconnect::ReconnectPolicy;
pub use session::{ConnectionInfo, Disconnect, Event};

/// The random bits for a choice that needs no secrecy (SRV weights, backoff
/// jitter), from the adapter's OS source: `None` when that source failed,
/// and the middle of the range is used instead (the choice is then merely
/// predictable, which these choices may be).
fn jitter_bits(random: Option<u64>) -> u64 {
    random.unwrap_or(u64::MAX / 2)
}

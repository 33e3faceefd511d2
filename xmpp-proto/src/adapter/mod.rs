//! What every I/O adapter shares: the pure vocabulary of a session, so
//! that `xmpp-io-tokio`, `xmpp-io-blocking` and your own driver offer the
//! same options, events and errors, and no adapter repeats the logic.
//!
//! For applications (each adapter re-exports these under its own name):
//!
//! - [`ConnectOptions`]: the account, where to connect, how to secure it,
//!   reconnection, and hooks into the core's [`Config`](crate::Config) and
//!   [`Client`](crate::Client) of a session (one for all its connections);
//! - [`ConnectError`], [`TlsError`], [`CommandError`]: typed failures,
//!   with [`ConnectError::is_final`] deciding whether reconnecting helps;
//! - [`Event`], [`Disconnect`], [`ConnectionInfo`]: what a session reports;
//! - [`ReconnectPolicy`]: when to try again (the core's, re-exported:
//!   the core decides every reconnection).
//!
//! For adapter writers: [`driver`], the steps from options to a running
//! core (candidates, the TCP loop's errors, TLS failures, the core's
//! configuration, login events).
//!
//! Nothing here does I/O: the adapters read files and sockets, resolve
//! names, and hand in time and entropy.
//!
//! ```
//! use std::time::Duration;
//! use xmpp_proto::adapter::{ConnectOptions, ReconnectPolicy, TlsMode};
//!
//! let options = ConnectOptions::new("alice@localhost".parse().unwrap(), "alice-pass")
//!     .server("127.0.0.1", 5223)
//!     .tls_mode(TlsMode::DirectTls)
//!     .resource("desk")
//!     .reconnect(ReconnectPolicy::new().max_attempts(5));
//! assert_eq!(options.mode(), TlsMode::DirectTls);
//! assert_eq!(options.reconnect_policy().unwrap().max_attempts, Some(5));
//! assert_eq!(options.login_timeout(), Duration::from_secs(30)); // the default
//! ```

// The adapters re-export (and so show on their own pages) `ConnectOptions`,
// its hooks, `TlsMode`, the errors, `Event`, `Disconnect`, `ConnectionInfo`
// and `ReconnectPolicy`. Their docs link only to one another: a link to
// any other item of this crate may not resolve on an adapter's page
// (`cargo doc --no-deps` documents the crates in parallel), so other items
// are named in plain code (`xmpp_proto::Client`).
mod attempts;
pub mod driver;
mod error;
mod options;
mod session;

pub use crate::client::ReconnectPolicy;
pub use error::{CommandError, ConnectError, TlsError};
pub use options::{ClientSetup, ConfigHook, ConnectOptions, TlsMode};
pub use session::{ConnectionInfo, Disconnect, Event};

/// The random bits for a choice that needs no secrecy (SRV weights, backoff
/// jitter), from the adapter's OS source: `None` when that source failed,
/// and the middle of the range is used instead (the choice is then merely
/// predictable, which these choices may be).
fn jitter_bits(random: Option<u64>) -> u64 {
    random.unwrap_or(u64::MAX / 2)
}

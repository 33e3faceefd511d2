//! # xmpp-io-tokio: the Tokio + rustls adapter for `xmpp-proto`
//!
//! Connects an XMPP account and runs its session on a Tokio runtime. The
//! sans-IO core (`xmpp_proto::Client`, from the `xmpp-proto` crate,
//! re-exported here as `xmpp_io_tokio::xmpp_proto`) decides everything
//! about the protocol; this crate moves bytes, time and TLS between a
//! socket and it:
//!
//! * resolution: SRV records for `_xmpps-client._tcp` (direct TLS) and
//!   `_xmpp-client._tcp` (STARTTLS), merged and ordered by the core's rules
//!   (`xmpp_proto::connect`: RFC 6120 §3.2, XEP-0368), with the domain on
//!   port 5222 as fallback — or an explicit host and port
//!   ([`ConnectOptions::server`]);
//! * TCP with `TCP_NODELAY`; everything the core queues between two polls
//!   goes out in one `write_all`;
//! * TLS with rustls and its `ring` provider (which builds in a fraction
//!   of the time of the default one): the certificate must be valid for
//!   the JID's domain (never for the SRV target or the explicit host) and
//!   chain to Mozilla's roots or to a CA given with
//!   [`ConnectOptions::ca_file`] or [`ConnectOptions::add_ca_certificate`];
//!   there is deliberately no way to accept any certificate. STARTTLS or
//!   direct TLS (ALPN [`ALPN_XMPP_CLIENT`]), TLS 1.3 and 1.2;
//!   `tls-exporter` channel binding (RFC 9266) on TLS 1.3 for SCRAM-PLUS
//!   (rustls offers none for TLS 1.2, where SCRAM runs without `-PLUS`);
//! * timers: the core's deadline becomes a `sleep_until`;
//! * entropy: 32 bytes from the OS for the session's core;
//! * optional reconnection ([`ConnectOptions::reconnect`]): the core
//!   decides it (whether to retry, the attempt, the delay: backoff with
//!   full jitter from its seeded entropy, at least 1 s) and keeps one
//!   `xmpp_proto::Client`, with its modules and their state, for the whole
//!   session; this adapter only opens a new transport (resolution, TCP,
//!   TLS) when the core asks for one, as for the first.
//!
//! [`connect()`] resolves once the session is online. It returns a
//! [`Handle`] (cloneable; send stanzas, IQs, raw elements; close) and
//! [`Events`] (the core's events plus reconnection news, ending with
//! [`Event::Disconnected`]). A task spawned on the current Tokio runtime
//! drives the connection; it ends when the session is closed, fails for
//! good, or every `Handle` is dropped (it then closes the stream cleanly).
//!
//! ```no_run
//! use xmpp_io_tokio::{connect, ConnectOptions, Event};
//! use xmpp_proto::stanza::{Iq, Message, Presence};
//! use xmpp_proto::xml::Element;
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let options = ConnectOptions::new("alice@example.com".parse()?, "secret")
//!         .ca_file("/etc/my-private-ca.pem"); // only for a server with a private CA
//!     let (handle, mut events) = connect(options).await?;
//!
//!     handle.send(Presence::available()).await?;
//!     handle.send(Message::chat("bob@example.com".parse::<xmpp_proto::stanza::Jid>()?, "Hi!")).await?;
//!     // An IQ resolves to its answer.
//!     let roster = handle
//!         .send_iq(Iq::get(None, "", Element::new("jabber:iq:roster", "query")))
//!         .await?;
//!     println!("roster: {:?}", roster.payload_element());
//!
//!     while let Some(event) = events.next().await {
//!         match event {
//!             Event::Core(xmpp_proto::Event::Message(m)) => {
//!                 println!("{:?}: {:?}", m.from, m.body);
//!                 if m.body.as_deref() == Some("bye") {
//!                     handle.close().await;
//!                 }
//!             }
//!             Event::Disconnected { reason } => println!("over: {reason}"),
//!             _ => {}
//!         }
//!     }
//!     Ok(())
//! }
//! ```
//!
//! ## Many sessions in one process
//!
//! Sessions are tasks, not threads: bots, bridges and load tools can run
//! hundreds on one runtime. What they share and what each keeps:
//!
//! * the TLS configurations (Mozilla's roots in a root store, the
//!   verifier, the crypto provider) are built once per set of trust
//!   settings and shared by every session with the same settings (the same
//!   extra CA certificates): a process-wide cache of the last four sets.
//!   Each session keeps only its own copy of the small configuration
//!   structs and its own TLS session store (its reconnections may resume;
//!   no session offers another's ticket);
//! * an idle session holds no read buffer of this crate's (bytes are read
//!   from rustls' own buffer when they arrive, or into a stack buffer
//!   before TLS) and no room in its task for the states of a handshake or
//!   a reconnection; events and commands wait in their channels boxed.
//!
//! Measured with 200 idle logged-in sessions in one process against a
//! local Prosody (`scripts/bench-interop`, docs/performance.md): ~35 KiB
//! resident per session, ~15 KiB of it the core's connection state.
//!
//! Logging goes through `tracing` (no subscriber is installed here). Logs
//! never contain a password or a SASL payload: only states, lengths,
//! addresses and errors.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connect;
mod dns;
mod driver;
mod handle;
mod tls;
mod transport;

use std::sync::Arc;

use tokio::sync::mpsc;
use tracing::Instrument as _;

pub use handle::{Events, Handle};
pub use rustls::pki_types::CertificateDer;
pub use tls::ALPN_XMPP_CLIENT;
pub use xmpp_proto;
pub use xmpp_proto::adapter::{
    ClientSetup, CommandError, ConfigHook, ConnectError, ConnectOptions, ConnectionInfo,
    Disconnect, Event, ReconnectPolicy, TlsError, TlsMode,
};
pub use xmpp_proto::connect::Backoff;

/// How many commands may wait for the driver before `Handle` calls wait too.
const COMMAND_QUEUE: usize = 64;

/// Connects and logs in; resolves once the session is online (or failed).
///
/// The events of the login (warnings, `ScramKeys` after a SCRAM login, and
/// last the core's `Online`) are already queued in [`Events`]. Must be called
/// within a Tokio runtime: the driver task is spawned on it. The whole
/// attempt (DNS, TCP, TLS, login) is bounded by
/// [`ConnectOptions::timeout`]. A failure here is never retried, whatever
/// the reconnect policy: that applies to sessions that were online.
pub async fn connect(options: ConnectOptions) -> Result<(Handle, Events), ConnectError> {
    let span = tracing::info_span!("xmpp", jid = %options.jid());
    let tls = tls::Tls::shared(&options)?.for_session();
    let shared = Arc::new(driver::Shared { opts: options, tls });
    let (sink, events) = mpsc::unbounded_channel();
    let conn = driver::establish(&shared, &sink)
        .instrument(span.clone())
        .await?;
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    tokio::spawn(driver::run(shared, conn, rx, sink).instrument(span));
    Ok((Handle { tx }, Events { rx: events }))
}

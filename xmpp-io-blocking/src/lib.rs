//! # xmpp-io-blocking: the blocking `std::net` + native-tls adapter for `xmpp-proto`
//!
//! For programs without an async runtime. The sans-IO core
//! (`xmpp_proto::Client`, from the `xmpp-proto` crate, re-exported here as
//! `xmpp_io_blocking::xmpp_proto`) decides everything about the protocol;
//! this crate moves bytes, time and TLS between a socket and it, and offers
//! what the Tokio adapter (`xmpp-io-tokio`) offers, with the same options,
//! events and errors, behind a blocking API in the style of std:
//!
//! * resolution: SRV records for `_xmpps-client._tcp` (direct TLS) and
//!   `_xmpp-client._tcp` (STARTTLS), asked of the name servers in
//!   `/etc/resolv.conf` by a pure-Rust blocking DNS client (`rsdns`; no
//!   runtime, no C library), merged and ordered by the core's rules
//!   (`xmpp_proto::connect`: RFC 6120 §3.2, XEP-0368), with the domain on
//!   port 5222 as fallback — or an explicit host and port
//!   ([`ConnectOptions::server`]);
//! * TCP with `TCP_NODELAY`; everything the core queues between two polls
//!   goes out in one `write_all`;
//! * TLS with native-tls (the platform's library: OpenSSL on Linux): the
//!   certificate must be valid for the JID's domain (never for the SRV
//!   target or the explicit host) and chain to the system's roots or to a
//!   CA given with [`ConnectOptions::ca_file`] or
//!   [`ConnectOptions::add_ca_certificate`]; STARTTLS or direct TLS (ALPN
//!   [`ALPN_XMPP_CLIENT`]); `tls-server-end-point` channel binding
//!   (RFC 5929) for SCRAM-PLUS;
//! * timers: the core's deadline becomes the timeout of the loop's wait,
//!   so deadlines fire on time and an idle session uses no CPU;
//! * entropy: 32 bytes from the OS for the session's core;
//! * optional reconnection ([`ConnectOptions::reconnect`]): the core
//!   decides it (whether to retry, the attempt, the delay: backoff with
//!   full jitter from its seeded entropy, at least 1 s) and keeps one
//!   `xmpp_proto::Client`, with its modules and their state, for the whole
//!   session; this adapter only opens a new transport (resolution, TCP,
//!   TLS) when the core asks for one, as for the first.
//!
//! [`connect`] blocks until the session is online. The [`Client`] it
//! returns sends commands ([`send`](Client::send),
//! [`send_iq`](Client::send_iq), [`send_raw`](Client::send_raw),
//! [`close`](Client::close)) and hands out events with
//! [`next_event`](Client::next_event), which also runs the session (reads,
//! timers, reconnection). To read and write on different threads,
//! [`split`](Client::split) it into a [`Reader`] for the loop and a
//! [`Sender`] (`Clone + Send`) for the commands: a command is written on the
//! sender's thread at once, then wakes the reader, which waits on one
//! channel fed by the connection's reading thread, the senders and the
//! clock (the core's next deadline).
//!
//! ```no_run
//! use std::time::Duration;
//! use xmpp_io_blocking::{connect, ConnectOptions, Event};
//! use xmpp_proto::stanza::{Iq, Jid, Message, Presence};
//! use xmpp_proto::xml::Element;
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let options = ConnectOptions::new("alice@example.com".parse()?, "secret")
//!         .ca_file("/etc/my-private-ca.pem"); // only for a server with a private CA
//!     let mut client = connect(options)?;
//!
//!     client.send(Presence::available())?;
//!     client.send(Message::chat("bob@example.com".parse::<Jid>()?, "Hi!"))?;
//!     // An IQ returns its answer (other events wait in the queue).
//!     let roster = client.send_iq(Iq::get(None, "", Element::new("jabber:iq:roster", "query")))?;
//!     println!("roster: {:?}", roster.payload_element());
//!
//!     // Reading on one thread, writing from others.
//!     let (mut reader, sender) = client.split();
//!     let ticker = std::thread::spawn(move || {
//!         std::thread::sleep(Duration::from_secs(60));
//!         let _ = sender.send(Message::chat("bob@example.com".parse::<Jid>().unwrap(), "still here"));
//!         sender.close();
//!     });
//!     for event in reader.iter() {
//!         match event {
//!             Event::Core(xmpp_proto::Event::Message(m)) => println!("{:?}: {:?}", m.from, m.body),
//!             Event::Disconnected { reason } => println!("over: {reason}"),
//!             _ => {}
//!         }
//!     }
//!     ticker.join().unwrap();
//!     Ok(())
//! }
//! ```
//!
//! ## What a session costs
//!
//! * **The first login of a process** builds the TLS configuration, and
//!   OpenSSL reads and parses the whole system root store for it (twice,
//!   through native-tls: ~90-120 ms of CPU on a small VM). It is built once
//!   per set of trust settings (the system's roots plus the same extra CA
//!   certificates) and shared by every later connection and reconnection
//!   of the process: a later login costs ~4-5 ms of CPU, under twice the
//!   Tokio adapter's (docs/performance.md, `scripts/bench-interop`). A
//!   program that logs in once per process pays the first cost every time.
//! * **Threads: one per connection, plus the application's.** Each
//!   connection has a thread that waits in a blocking read of its socket
//!   (the default stack: 2 MiB of address space, ~10 KiB resident while
//!   idle), and each attempt to connect a short-lived dialing thread. The
//!   session's loop runs on the application's thread
//!   ([`Reader::next_event`]); an application with one such thread per
//!   session pays for a second thread per session.
//! * **Memory:** an idle logged-in session with one application thread of
//!   its own costs ~126 KiB resident (200 sessions, one process): ~26 KiB
//!   of Rust heap (the core, the session's state), ~58 KiB that OpenSSL
//!   keeps per connection (its read and write buffers among them:
//!   native-tls gives no way to let OpenSSL release them while idle), the
//!   two threads' ~20 KiB, and the allocator's own. The Tokio adapter's
//!   idle session costs ~35 KiB and no thread: for hundreds of sessions in
//!   one process, use it. Neither adapter holds a read buffer of its own
//!   while idle: the reading thread waits in a one-byte `peek`.
//!
//! Logging goes through `tracing` (no subscriber is installed here). Logs
//! never contain a password or a SASL payload: only states, lengths,
//! addresses and errors.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod conn;
mod dns;
mod error;
mod handle;
mod session;
mod tcp;
mod tls;
mod transport;

use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;

pub use error::SessionEnded;
pub use handle::{Client, Sender};
pub use native_tls::Certificate;
pub use session::{Iter, Reader};
pub use tls::ALPN_XMPP_CLIENT;
pub use xmpp_proto;
pub use xmpp_proto::adapter::{
    ClientSetup, CommandError, ConfigHook, ConnectError, ConnectOptions, ConnectionInfo,
    Disconnect, Event, ReconnectPolicy, TlsError, TlsMode,
};
pub use xmpp_proto::connect::Backoff;

use session::{Shared, State, Turn};

/// Connects and logs in; returns once the session is online (or failed).
///
/// The events of the login (warnings, `ScramKeys` after a SCRAM login, and
/// last the core's `Online`) are already queued for
/// [`Client::next_event`]. The whole attempt (DNS, TCP, TLS, login) is
/// bounded by [`ConnectOptions::timeout`]. A failure here is never retried,
/// whatever the reconnect policy: that applies to sessions that were online.
pub fn connect(options: ConnectOptions) -> Result<Client, ConnectError> {
    let tls = tls::Tls::shared(&options)?;
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared {
        opts: options,
        tls,
        state: Mutex::new(State::default()),
        tx,
        wake_pending: Default::default(),
    });
    let mut reader = Reader::new(shared.clone(), rx);
    reader.start_attempt(Instant::now());
    loop {
        match reader.turn(None) {
            Turn::Online => break,
            Turn::Failed(error) => return Err(error),
            Turn::Continue | Turn::TimedOut => {}
        }
    }
    Ok(Client {
        reader,
        sender: Sender { shared },
    })
}

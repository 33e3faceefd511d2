//! # xmpp-proto: a sans-IO XMPP client core
//!
//! Bytes in, events and bytes out. This crate never touches a socket, a
//! clock, a thread or a random source: a driver (the `xmpp-io-tokio` and
//! `xmpp-io-blocking` adapters, or your own loop) moves bytes and time
//! between the network and a [`Client`], which makes every protocol path
//! testable with byte slices and virtual time.
//!
//! ## The driver loop
//!
//! Feed input with [`Client::handle_input`]; drain [`Client::poll_output`]
//! until it returns [`Output::Timeout`]; wait for the socket or that
//! deadline; repeat. The output comes in a fixed order: bytes to write,
//! TLS to start, events, closing the transport, opening a new one, the
//! next deadline. So a session's last event, [`Event::Disconnected`], is
//! handed out before [`Output::CloseTransport`], and a driver that stops at
//! the close has seen every event. With a reconnect policy
//! ([`Config::reconnect`]) a [`Client`] is a session that outlives its
//! transports: the core decides each reconnection, announces it with
//! [`Event::Reconnecting`] instead of `Disconnected`, and after the delay
//! asks for a new transport with [`Output::Connect`]. Here the "network" is
//! an in-memory scripted server:
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::{Client, Config, DisconnectReason, Event, Input, Mechanism, Output};
//! use xmpp_proto::sasl::Credentials;
//! use xmpp_proto::stanza::{Jid, Message};
//! use xmpp_proto::testing::ScriptedServer;
//!
//! let jid = "juliet@example.com".parse().unwrap();
//! let seed = [7u8; 32]; // in a real driver: 32 bytes from the OS (getrandom)
//! let config = Config::builder(jid, Credentials::Password("secret".into()), seed)
//!     .mechanisms(&[Mechanism::Plain]) // the scripted server speaks PLAIN
//!     .build();
//! let mut server = ScriptedServer::login_plain("example.com", "juliet", "balcony")
//!     .then("</stream:stream>", "</stream:stream>"); // answers our close with its own
//! let mut client = Client::new(config, Instant::now());
//! let mut inbox: Vec<u8> = Vec::new(); // bytes "read from the socket"
//! let mut events = Vec::new();
//!
//! 'session: for _round in 0..20 {
//!     let now = Instant::now();
//!     if !inbox.is_empty() {
//!         client.handle_input(Input::Received(now, &inbox));
//!         inbox.clear();
//!     }
//!     loop {
//!         match client.poll_output() {
//!             // One write per transmit: the whole flush at once.
//!             Output::Transmit(t) => inbox.extend(server.receive(&t.bytes)),
//!             // A real driver runs the TLS handshake here, verifying the
//!             // certificate for `server_name`, then reports it done.
//!             Output::StartTls { server_name } => {
//!                 assert_eq!(server_name, "example.com");
//!                 client.handle_input(Input::TlsEstablished(now, None));
//!             }
//!             Output::Event(event) => {
//!                 if let Event::Online { jid, .. } = &event {
//!                     assert_eq!(jid.to_string(), "juliet@example.com/balcony");
//!                     let to: Jid = "romeo@example.net".parse().unwrap();
//!                     client.send(now, Message::chat(to, "Wherefore art thou?")).unwrap();
//!                     client.close(now); // `</stream:stream>`, after the message
//!                 }
//!                 events.push(event);
//!             }
//!             // The session is over and every event was handed out.
//!             Output::CloseTransport => break 'session,
//!             // Only with a reconnect policy (`Config::reconnect`): open a
//!             // new transport, then feed Input::Connected (or ConnectFailed).
//!             Output::Connect => unreachable!("no reconnect policy here"),
//!             // Nothing more now: sleep until the deadline or until the
//!             // socket is readable, then feed Input::Timeout / Received.
//!             Output::Timeout(_deadline) => break,
//!             // No catch-all arm: a new kind of output is a compile error
//!             // here, never silently dropped.
//!         }
//!     }
//! }
//! assert!(server.sent_by_client.iter().any(|sent| sent.contains("Wherefore art thou?")));
//! // The last event, received before the transport was closed.
//! assert!(matches!(
//!     events.last(),
//!     Some(Event::Disconnected { reason: DisconnectReason::Closed })
//! ));
//! ```
//!
//! ## Layers
//!
//! - [`xml`]: the incremental stream reader (RFC 6120 restricted XML) and writer;
//! - [`Client`]: stream negotiation, STARTTLS handoff, SASL ([`sasl`]),
//!   resource binding, routing, IQ tracking ([`iq_tracker`]), timers;
//! - [`stanza`]: typed `Message`, `Presence`, `Iq` with JIDs;
//! - [`Module`]: how extensions plug in; the built-in modules [`roster`],
//!   [`presence`], [`ping`] (registered by [`Client::new`]), [`version`],
//!   [`blocking`], [`muc`], [`mam`] (message archives), and the profile
//!   modules [`vcard`] (with vCard-based avatars), [`avatar`] and
//!   [`bookmarks`] (on the PEP plumbing of [`pep`]);
//! - [`connect`] and [`adapter`]: what the I/O adapters share (where to
//!   connect, options, errors, session events), pure like the rest;
//! - [`testing`]: the scripted server used above, for your own tests.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod adapter;
pub mod avatar;
pub mod blocking;
pub mod bookmarks;
mod client;
pub mod connect;
pub mod disco;
mod entropy;
pub mod iq_tracker;
pub mod mam;
pub mod messages;
pub mod muc;
pub mod pep;
pub mod ping;
pub mod presence;
pub mod roster;
pub mod sasl;
pub mod stanza;
pub mod testing;
pub mod vcard;
pub mod version;
pub mod xml;

pub use client::{
    from_own_account, Carbon, Client, Config, ConfigBuilder, DisconnectReason, Event,
    ExtensionEvent, Handled, Identity, Input, IqAnswer, IqFailure, Module, ModuleContext,
    ModuleError, Output, Provenance, ReconnectPolicy, RegisterError, SendError, StreamError,
    StreamErrorCondition, StreamFeatures, Timeouts, TlsPolicy, Transmit, Warning, WarningKind,
    MIN_RECONNECT_DELAY,
};
pub use sasl::Mechanism;

/// XEP-0198 stream management (acks, resumption, the resumption state as
/// data) and XEP-0352 client state indication, which the connection
/// machine runs itself: see [`SmConfig`](sm::SmConfig),
/// [`Event::StreamManagement`], [`Client::resumption_state`] and
/// [`Client::set_client_state`].
pub mod sm {
    pub use crate::client::{
        ClientState, ResumptionState, ResumptionStateError, SmConfig, SmError, SmEvent, NS_CSI,
    };
}

/// XML namespaces of the protocols this crate speaks.
pub mod ns {
    pub use crate::client::{
        NS_BIND, NS_CSI, NS_DISCO_INFO, NS_PING, NS_SASL, NS_SASL_CB, NS_SESSION, NS_SM,
        NS_STREAM_ERRORS, NS_TLS,
    };
    pub use crate::disco::{NS_CAPS, NS_DISCO_ITEMS};
    pub use crate::stanza::{NS_CLIENT, NS_STANZAS};
    pub use crate::xml::{NS_STREAMS, NS_XML};
}

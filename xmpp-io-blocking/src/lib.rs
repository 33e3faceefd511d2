//! Blocking `std::net` + native-tls adapter for the sans-IO `xmpp-proto` core.
//!
//! **Not implemented yet: this crate is an empty shell.** It will drive the
//! core over a blocking `std::net::TcpStream` secured with native-tls:
//! resolve and connect, move bytes between the socket and the core, and run
//! the core's timers.
//!
//! Until then, use the core directly, for example its XML stream reader:
//!
//! ```
//! use xmpp_proto::xml::{StreamEvent, StreamReader};
//!
//! let mut reader = StreamReader::new(Default::default());
//! reader.feed(b"<stream><message/></stream>");
//! reader.finish();
//! let mut events = Vec::new();
//! while let Some(event) = reader.next_event() {
//!     events.push(event.expect("well-formed input"));
//! }
//! assert!(matches!(events.last(), Some(StreamEvent::End)));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

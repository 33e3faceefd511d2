//! # xmpp-proto: a sans-IO XMPP client core
//!
//! Bytes in, events and bytes out. This crate never touches a socket, a
//! clock, a thread or a random source: the adapters (`xmpp-io-tokio`,
//! `xmpp-io-blocking`) move bytes and time between the network and this
//! core, which makes every protocol path testable with byte slices.
//!
//! Today it holds the XML layer every received byte passes through first:
//! an incremental stream reader under RFC 6120's restricted-XML profile and
//! the element writer.
//!
//! ```
//! use xmpp_proto::xml::{Element, StreamEvent, StreamReader};
//!
//! let mut reader = StreamReader::new(Default::default());
//! for chunk in [&b"<stream:stream xmlns='jabber:client' xmlns:stream='http://ether"[..],
//!               b"x.jabber.org/streams'><message to='a@b'><body>h\xC3", b"\xA9</body></message>"] {
//!     reader.feed(chunk);
//! }
//! let mut stanzas = Vec::new();
//! while let Some(event) = reader.next_event() {
//!     if let StreamEvent::Element(e) = event.expect("well-formed") {
//!         stanzas.push(e);
//!     }
//! }
//! let body = stanzas[0].child("jabber:client", "body").unwrap();
//! assert_eq!(&*body.text(), "hé");
//!
//! let reply = Element::new("jabber:client", "message")
//!     .with_attr("to", "a@b")
//!     .with_child(Element::new("jabber:client", "body").with_text("1 < 2"));
//! let mut out = Vec::new();
//! reply.write_in_stream(&mut out, "jabber:client");
//! assert_eq!(out, b"<message to='a@b'><body>1 &lt; 2</body></message>");
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod xml;

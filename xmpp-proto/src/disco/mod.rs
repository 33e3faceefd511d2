//! Service discovery (XEP-0030) and entity capabilities (XEP-0115): typed
//! disco results, the [`Disco`] module that asks others, and the [`Caps`]
//! module that advertises our capabilities and learns others'.
//!
//! The model, reusable by any module: [`DiscoInfo`] (§3.1: identities,
//! features, and XEP-0128 extension forms, [`DataForm`]) and [`DiscoItems`]
//! (§4), each parsed from and written to its `<query/>`. Parsing never
//! panics: a malformed result or a list past its bound ([`limits`]) is a
//! typed [`DiscoParseError`].
//!
//! Answering is the core's: it answers disco#info about this client (the
//! configured [`Identity`] and the features of the core
//! and of every registered module, [`Client::disco_info`](crate::Client::disco_info))
//! and disco#items (empty unless a module lists items,
//! [`Module::disco_items`]); a query for a node
//! goes to the module that publishes it
//! ([`Module::disco_node_info`]), else it
//! gets `item-not-found`. Modules learn the session's own disco#info
//! through [`Module::own_disco_info`], before
//! each `online` and whenever a registration changes it.
//!
//! Asking: [`Disco::query_info`] and [`Disco::query_items`] return the
//! request's id; the answer comes back as [`Event::Disco`] with
//! [`DiscoEvent::Info`] or [`DiscoEvent::Items`] and that id.
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::disco::{Caps, Disco};
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! client.register(Disco::new()).unwrap();
//! client.register(Caps::new("https://example.org/my-client")).unwrap();
//! // Online: ask the server what it supports. The answer comes back as
//! // Event::Disco(DiscoEvent::Info { id, result, .. }) with this id.
//! let server = "example.com".parse().unwrap();
//! let sent = client.with_module(Instant::now(), |d: &mut Disco, cx| d.query_info(cx, server, None));
//! assert!(sent.unwrap().is_err(), "not online yet");
//! ```

mod caps;
mod error;
pub mod form;
mod info;
mod items;
pub(crate) mod lru;
mod ver;

use std::collections::BTreeMap;

use crate::client::{Event, IqFailure, Module, ModuleContext, SendError};
use crate::stanza::{Iq, Jid};
use crate::xml::Element;

pub use crate::client::NS_DISCO_INFO;
pub use caps::{Caps, CapsLimits, NS_CAPS};
pub use error::{DiscoError, DiscoParseError};
pub use form::{DataForm, FieldType, FormField, FormKind, FormOption};
pub use info::{DiscoInfo, Identity};
pub use items::{DiscoItem, DiscoItems};
pub use ver::{check_well_formed, hash_input, verification_string, verify, CapsError, CapsHash};

/// The XEP-0030 disco#items namespace.
pub const NS_DISCO_ITEMS: &str = "http://jabber.org/protocol/disco#items";

/// Bounds on what one parsed result may hold; past one, the whole result
/// is refused ([`DiscoParseError::TooMany`]). Far above what real entities
/// send (Prosody's disco#info has about 30 features), and bounded anyway
/// by the reader's stanza size (256 KiB by default).
pub mod limits {
    /// Identities in one disco#info result.
    pub const MAX_IDENTITIES: usize = 64;
    /// Features in one disco#info result.
    pub const MAX_FEATURES: usize = 1024;
    /// Extension forms in one disco#info result.
    pub const MAX_EXTENSIONS: usize = 16;
    /// Fields in one data form.
    pub const MAX_FIELDS: usize = 256;
    /// Values in one field.
    pub const MAX_VALUES: usize = 256;
    /// Items in one disco#items result.
    pub const MAX_ITEMS: usize = 10_000;
}

/// What the disco and caps modules report ([`Event::Disco`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DiscoEvent {
    /// The answer to [`Disco::query_info`].
    Info {
        /// The request's id.
        id: String,
        /// Whom it was sent to.
        jid: Jid,
        /// The node asked about, if any.
        node: Option<String>,
        /// The result, or why there is none.
        result: Result<DiscoInfo, DiscoError>,
    },
    /// The answer to [`Disco::query_items`].
    Items {
        /// The request's id.
        id: String,
        /// Whom it was sent to.
        jid: Jid,
        /// The node asked about, if any.
        node: Option<String>,
        /// The result, or why there is none.
        result: Result<DiscoItems, DiscoError>,
    },
    /// The caps module verified an answer for a `ver` it did not know and
    /// cached it: what an application stores to hand back next time
    /// ([`Caps::with_cache`]). Every entity advertising `ver` now resolves
    /// to `info` ([`Caps::info_for`]).
    CapsLearned {
        /// The hash function of `ver`.
        hash: CapsHash,
        /// The verification string.
        ver: String,
        /// What it stands for.
        info: DiscoInfo,
    },
}

/// A query in flight.
#[derive(Clone, Debug)]
struct Query {
    items: bool,
    jid: Jid,
    node: Option<String>,
}

/// The disco module: asks other entities what they are and what they
/// hold (XEP-0030 §3, §4). Answering is the core's (see the [module
/// documentation](self)). Its requests in flight are bounded by the
/// session's (`Config::max_pending_iqs`).
#[derive(Clone, Debug, Default)]
pub struct Disco {
    pending: BTreeMap<String, Query>,
}

impl Disco {
    /// A disco module.
    pub fn new() -> Self {
        Disco::default()
    }

    /// Asks `jid` (and `node`, if any) for its disco#info (§3.1, §3.2).
    /// Returns the request's id; the answer comes as [`DiscoEvent::Info`].
    pub fn query_info(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: Jid,
        node: Option<&str>,
    ) -> Result<String, SendError> {
        self.query(cx, jid, node, false)
    }

    /// Asks `jid` (and `node`, if any) for its disco#items (§4.1, §4.2).
    /// Returns the request's id; the answer comes as [`DiscoEvent::Items`].
    pub fn query_items(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: Jid,
        node: Option<&str>,
    ) -> Result<String, SendError> {
        self.query(cx, jid, node, true)
    }

    fn query(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: Jid,
        node: Option<&str>,
        items: bool,
    ) -> Result<String, SendError> {
        let ns = if items { NS_DISCO_ITEMS } else { NS_DISCO_INFO };
        let mut query = Element::new(ns, "query");
        if let Some(node) = node {
            query.set_attr("node", node.to_string());
        }
        let id = cx.send_iq(Iq::get(Some(jid.clone()), "", query))?;
        self.pending.insert(
            id.clone(),
            Query {
                items,
                jid,
                node: node.map(str::to_string),
            },
        );
        Ok(id)
    }
}

impl Module for Disco {
    fn name(&self) -> &'static str {
        "disco"
    }

    fn offline(&mut self, _resumable: bool) {
        // The core failed every request in flight before this.
        self.pending.clear();
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let Some(q) = self.pending.remove(id) else {
            return;
        };
        let id = id.to_string();
        let (jid, node) = (q.jid, q.node);
        let event = if q.items {
            DiscoEvent::Items {
                id,
                jid,
                node,
                result: answer(result, NS_DISCO_ITEMS, DiscoItems::parse),
            }
        } else {
            DiscoEvent::Info {
                id,
                jid,
                node,
                result: answer(result, NS_DISCO_INFO, DiscoInfo::parse),
            }
        };
        cx.emit(Event::Disco(event));
    }
}

/// The typed result of an IQ answer whose payload `parse` reads.
// The result goes straight into the event, which holds it as it is.
#[allow(clippy::result_large_err)]
fn answer<T>(
    result: Result<Iq, IqFailure>,
    ns: &'static str,
    parse: impl FnOnce(&Element) -> Result<T, DiscoParseError>,
) -> Result<T, DiscoError> {
    let iq = result?;
    let query = iq.payload_element().ok_or(DiscoParseError::WrongElement {
        ns,
        element: "query",
    })?;
    Ok(parse(query)?)
}

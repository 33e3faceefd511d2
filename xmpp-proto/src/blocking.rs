//! Blocking command (XEP-0191): the block list (§3.2, retrieved when the
//! session comes online, as §3.2 recommends), blocking (§3.3), unblocking
//! (§3.4) and unblocking everything (§3.5), and the server's pushes of
//! every change (§3.3-§3.5), whichever of the account's clients made it.
//!
//! The module keeps a copy of the list and reports every change as a typed
//! [`BlockingEvent`]. Changes arrive only as pushes (or a fetched list):
//! the answer to our own [`Blocking::block`] says only that the server
//! took the request ([`BlockingEvent::Done`]); its push follows.
//!
//! Support (§3.1): a server without XEP-0191 answers the list request with
//! an error; [`Blocking::is_supported`] then says `Some(false)`.
//!
//! Security: a push is accepted only with no `from` or `from` equal to the
//! account's bare JID ([`from_own_account`], the
//! rule of roster pushes, RFC 6121 §2.1.6); anyone else, another resource
//! of the same account included, gets `service-unavailable` and a warning,
//! and the list does not change. The list holds at most
//! [`Blocking::max_items`] JIDs: past it a fetched list is cut with a
//! warning and a push of new JIDs is refused with `resource-constraint`,
//! so a hostile server cannot grow the copy without bound. A push with an
//! invalid item is refused whole (`bad-request`).
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::blocking::Blocking;
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! client.register(Blocking::new()).unwrap();
//! // Later, online: block someone; the request's outcome comes back as
//! // Event::Blocking(BlockingEvent::Done { id, .. }), the change itself as
//! // Event::Blocking(BlockingEvent::Blocked(..)) when the server pushes it.
//! let mallory = "mallory@evil.example".parse().unwrap();
//! let sent = client.with_module(Instant::now(), |b: &mut Blocking, cx| b.block(cx, [mallory]));
//! assert!(sent.unwrap().is_err(), "not online yet");
//! ```

use std::collections::BTreeSet;

use crate::client::{
    from_own_account, Event, IqAnswer, IqFailure, Module, ModuleContext, SendError,
};
use crate::stanza::{DefinedCondition, ErrorType, Iq, IqPayload, Jid};
use crate::xml::Element;

/// The XEP-0191 namespace.
pub const NS_BLOCKING: &str = "urn:xmpp:blocking";

/// The most JIDs kept by default ([`Blocking::max_items`]): far above what
/// people block, far below what would exhaust memory.
pub const DEFAULT_MAX_ITEMS: usize = 10_000;

/// What the blocking module reports ([`Event::Blocking`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockingEvent {
    /// The server's block list (§3.2): it replaces the copy.
    List(Vec<Jid>),
    /// A push (§3.3): these JIDs are blocked now.
    Blocked(Vec<Jid>),
    /// A push (§3.4): these JIDs are no longer blocked.
    Unblocked(Vec<Jid>),
    /// A push (§3.5): nothing is blocked any more.
    UnblockedAll,
    /// A request of ours ([`Blocking::request_list`], [`Blocking::block`],
    /// [`Blocking::unblock`]) finished; `id` is what the command returned.
    Done {
        /// The request's id.
        id: String,
        /// `Ok`, or why the server did not do it.
        result: Result<(), IqFailure>,
    },
}

/// A blocking command that could not be sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// [`Blocking::block`] needs at least one JID (§3.3; an empty
    /// [`Blocking::unblock`] is the one that means "all").
    #[error("block needs at least one JID")]
    NoJid,
    /// The session refused the request.
    #[error(transparent)]
    Send(#[from] SendError),
}

/// The blocking module. See the [module documentation](self).
#[derive(Debug)]
pub struct Blocking {
    items: BTreeSet<Jid>,
    max_items: usize,
    fetch_on_online: bool,
    /// List requests in flight.
    fetching: Vec<String>,
    supported: Option<bool>,
}

impl Default for Blocking {
    fn default() -> Self {
        Blocking::new()
    }
}

impl Blocking {
    /// An empty list, fetched when the session comes online.
    pub fn new() -> Self {
        Blocking {
            items: BTreeSet::new(),
            max_items: DEFAULT_MAX_ITEMS,
            fetch_on_online: true,
            fetching: Vec::new(),
            supported: None,
        }
    }

    /// Keep at most `max` JIDs (default [`DEFAULT_MAX_ITEMS`]).
    pub fn max_items(mut self, max: usize) -> Self {
        self.max_items = max;
        self
    }

    /// Whether to fetch the list as soon as the session is online (default:
    /// yes; the server pushes changes only to clients that fetched it).
    pub fn fetch_on_online(mut self, fetch: bool) -> Self {
        self.fetch_on_online = fetch;
        self
    }

    /// The blocked JIDs, in order.
    pub fn items(&self) -> impl Iterator<Item = &Jid> {
        self.items.iter()
    }

    /// True when exactly this JID is on the list. (The server's JID
    /// matching, after XEP-0016, also blocks a blocked domain's users, or
    /// every resource of a blocked bare JID: not applied here.)
    pub fn contains(&self, jid: &Jid) -> bool {
        self.items.contains(jid)
    }

    /// The number of blocked JIDs.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is blocked.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the server supports XEP-0191: `None` until a list request
    /// was answered, `Some(false)` when it was answered with an error.
    pub fn is_supported(&self) -> Option<bool> {
        self.supported
    }

    /// Asks the server for the block list (§3.2). Returns the request's id.
    pub fn request_list(&mut self, cx: &mut ModuleContext<'_>) -> Result<String, SendError> {
        let id = cx.send_iq(Iq::get(None, "", Element::new(NS_BLOCKING, "blocklist")))?;
        self.fetching.push(id.clone());
        Ok(id)
    }

    /// Blocks these JIDs (§3.3): at least one. Returns the request's id.
    pub fn block(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jids: impl IntoIterator<Item = Jid>,
    ) -> Result<String, BlockError> {
        let block = with_items(Element::new(NS_BLOCKING, "block"), jids);
        if block.children().next().is_none() {
            return Err(BlockError::NoJid);
        }
        Ok(cx.send_iq(Iq::set(None, "", block))?)
    }

    /// Unblocks these JIDs (§3.4), or every JID when there is none (§3.5).
    /// Returns the request's id.
    pub fn unblock(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jids: impl IntoIterator<Item = Jid>,
    ) -> Result<String, SendError> {
        let unblock = with_items(Element::new(NS_BLOCKING, "unblock"), jids);
        cx.send_iq(Iq::set(None, "", unblock))
    }

    /// A fetched list (§3.2) replaces the copy, cut at the limit.
    fn loaded(&mut self, cx: &mut ModuleContext<'_>, list: Option<&Element>) {
        let mut items = BTreeSet::new();
        let (mut bad, mut over) = (0, 0);
        for el in list
            .into_iter()
            .flat_map(Element::children)
            .filter(|c| c.is(NS_BLOCKING, "item"))
        {
            match item_jid(el) {
                Some(jid) if items.contains(&jid) => {}
                Some(_) if items.len() >= self.max_items => over += 1,
                Some(jid) => {
                    items.insert(jid);
                }
                None => bad += 1,
            }
        }
        if bad > 0 {
            cx.warn(format!("ignored {bad} invalid items in the block list"));
        }
        if over > 0 {
            cx.warn(format!(
                "ignored {over} blocked JIDs past the limit of {} (Blocking::max_items)",
                self.max_items
            ));
        }
        self.items = items;
        cx.emit(Event::Blocking(BlockingEvent::List(
            self.items.iter().cloned().collect(),
        )));
    }

    /// A push (§3.3-§3.5), from our server only.
    fn push(&mut self, cx: &mut ModuleContext<'_>, iq: &Iq) -> IqAnswer {
        let IqPayload::Set(payload) = &iq.payload else {
            return IqAnswer::error(ErrorType::Modify, DefinedCondition::BadRequest);
        };
        if !from_own_account(iq.from.as_ref(), cx.account()) {
            let from = iq.from.as_ref().map_or("", |j| j.as_str());
            cx.warn(format!(
                "refused a block list push from {from}: only our server (no 'from' or our bare JID) may change the block list"
            ));
            return IqAnswer::error(ErrorType::Cancel, DefinedCondition::ServiceUnavailable);
        }
        let mut jids = BTreeSet::new();
        for el in payload.children().filter(|c| c.is(NS_BLOCKING, "item")) {
            let Some(jid) = item_jid(el) else {
                cx.warn("refused a block list push with an invalid item");
                return IqAnswer::error(ErrorType::Modify, DefinedCondition::BadRequest);
            };
            jids.insert(jid);
        }
        let event = if payload.local_name() == "block" {
            if jids.is_empty() {
                cx.warn("refused a block push without an item");
                return IqAnswer::error(ErrorType::Modify, DefinedCondition::BadRequest);
            }
            let new = jids.iter().filter(|j| !self.items.contains(*j)).count();
            if self.items.len().saturating_add(new) > self.max_items {
                cx.warn(format!(
                    "refused a block push past the limit of {} JIDs (Blocking::max_items)",
                    self.max_items
                ));
                return IqAnswer::error(ErrorType::Wait, DefinedCondition::ResourceConstraint);
            }
            self.items.extend(jids.iter().cloned());
            BlockingEvent::Blocked(jids.into_iter().collect())
        } else if jids.is_empty() {
            self.items.clear();
            BlockingEvent::UnblockedAll
        } else {
            for jid in &jids {
                self.items.remove(jid);
            }
            BlockingEvent::Unblocked(jids.into_iter().collect())
        };
        cx.emit(Event::Blocking(event));
        IqAnswer::Result(None)
    }
}

/// `element` with one `<item jid='...'/>` per JID, each once.
fn with_items(mut element: Element, jids: impl IntoIterator<Item = Jid>) -> Element {
    let jids: BTreeSet<Jid> = jids.into_iter().collect();
    for jid in jids {
        element.push_child(Element::new(NS_BLOCKING, "item").with_attr("jid", jid.to_string()));
    }
    element
}

/// The JID of an `<item/>`, if valid.
fn item_jid(item: &Element) -> Option<Jid> {
    Jid::new(item.attr("jid")?).ok()
}

impl Module for Blocking {
    fn name(&self) -> &'static str {
        "blocking"
    }

    fn iq_requests(&self) -> &[(&'static str, &'static str)] {
        &[(NS_BLOCKING, "block"), (NS_BLOCKING, "unblock")]
    }

    fn online(&mut self, cx: &mut ModuleContext<'_>, resumed: bool) {
        // A resumed stream missed no push; a new one fetches the list.
        if self.fetch_on_online && !resumed && self.request_list(cx).is_err() {
            cx.warn("could not ask for the block list");
        }
    }

    fn offline(&mut self, _resumable: bool) {
        self.fetching.clear();
    }

    fn handle_iq_request(&mut self, cx: &mut ModuleContext<'_>, iq: &Iq) -> IqAnswer {
        self.push(cx, iq)
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        if let Some(i) = self.fetching.iter().position(|f| f == id) {
            self.fetching.swap_remove(i);
            match &result {
                Ok(iq) => {
                    self.supported = Some(true);
                    let list = iq
                        .payload_element()
                        .filter(|l| l.is(NS_BLOCKING, "blocklist"));
                    self.loaded(cx, list);
                }
                // §3.1: a server without the protocol answers with an error.
                Err(IqFailure::Error(_)) => self.supported = Some(false),
                Err(_) => {}
            }
        }
        cx.emit(Event::Blocking(BlockingEvent::Done {
            id: id.to_string(),
            result: result.map(|_| ()),
        }));
    }
}

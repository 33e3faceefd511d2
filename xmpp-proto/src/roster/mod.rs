//! The roster (RFC 6121 §2): fetch, add or update, remove, the server's
//! pushes, and versioning (§2.6).
//!
//! The module keeps a copy of the roster and reports every change as a
//! typed [`RosterEvent`]. Nothing is stored here: an application that keeps
//! the roster hands its copy and version in ([`Roster::with_stored`]) and
//! applies the events it gets out. With versioning offered by the server
//! (`<ver xmlns='urn:xmpp:features:rosterver'/>`), the fetch carries that
//! version, and an empty answer means the copy is current.
//!
//! Security (§2.1.6): a push is accepted only with no `from` or `from` equal
//! to the account's bare JID; any other sender, another resource of the
//! same account included, is refused with a warning and an error reply, and
//! the roster does not change. A push carries exactly one valid item.
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::roster::{Roster, RosterItem};
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! client.register(Roster::new()).unwrap();
//! // Later, online: add a contact; the outcome comes back as
//! // Event::Roster(RosterEvent::Done { id, .. }) with this id.
//! let item = RosterItem::new("romeo@example.net".parse().unwrap()).with_name("Romeo");
//! let sent = client.with_module(Instant::now(), |r: &mut Roster, cx| r.set(cx, item));
//! assert!(sent.unwrap().is_err(), "not online yet");
//! ```

mod item;

use std::collections::BTreeMap;

use crate::client::{Event, IqAnswer, IqFailure, Module, ModuleContext, SendError, StreamFeatures};
use crate::stanza::{BareJid, DefinedCondition, ErrorType, Iq, IqPayload};
use crate::xml::Element;

pub use item::{RosterItem, Subscription};

/// The roster namespace.
pub const NS_ROSTER: &str = "jabber:iq:roster";
/// The stream feature announcing roster versioning (RFC 6121 §2.6.1).
pub const NS_ROSTER_VER: &str = "urn:xmpp:features:rosterver";

/// The most items kept by default ([`Roster::max_items`]): far above what
/// servers allow a user, far below what would exhaust memory.
pub const DEFAULT_MAX_ITEMS: usize = 10_000;

/// A change to one item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RosterChange {
    /// The item was added or updated.
    Set(RosterItem),
    /// The item was removed.
    Removed(BareJid),
}

/// What the roster module reports ([`Event::Roster`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RosterEvent {
    /// The whole roster, as the server sent it: it replaces the copy.
    Loaded {
        /// The version, when the server uses versioning.
        ver: Option<String>,
        /// Every item.
        items: Vec<RosterItem>,
    },
    /// The server answered a versioned fetch with "unchanged": the copy
    /// handed in is current (changes since then, if any, come as pushes).
    Unchanged {
        /// The version the copy has.
        ver: Option<String>,
    },
    /// A push from the server changed one item.
    Changed {
        /// What changed.
        change: RosterChange,
        /// The roster's new version, if versioned.
        ver: Option<String>,
    },
    /// A request of ours ([`Roster::fetch`], [`Roster::set`],
    /// [`Roster::remove`]) finished; `id` is what the command returned.
    Done {
        /// The request's id.
        id: String,
        /// `Ok`, or why the server did not do it.
        result: Result<(), IqFailure>,
    },
}

/// The roster module. See the [module documentation](self).
#[derive(Debug, Default)]
pub struct Roster {
    items: BTreeMap<BareJid, RosterItem>,
    ver: Option<String>,
    /// The server offers versioning on this stream.
    versioning: bool,
    /// Fetch when the session comes online (what a client normally does).
    auto_fetch: bool,
    /// Fetch requests in flight.
    fetching: Vec<String>,
    /// The most items kept (0 in a `Default` value means the default).
    max_items: usize,
}

impl Roster {
    /// An empty roster, fetched when the session comes online.
    pub fn new() -> Self {
        Roster {
            auto_fetch: true,
            max_items: DEFAULT_MAX_ITEMS,
            ..Roster::default()
        }
    }

    /// Keep at most `max` items (default [`DEFAULT_MAX_ITEMS`]): a server
    /// that sends more, in a roster or in pushes, gets the rest refused
    /// with a warning, so a hostile server cannot grow the copy without
    /// bound.
    pub fn max_items(mut self, max: usize) -> Self {
        self.max_items = max;
        self
    }

    /// A roster with a stored copy and its version (state in as data):
    /// with versioning, the server then sends only what changed since.
    pub fn with_stored(ver: Option<String>, items: impl IntoIterator<Item = RosterItem>) -> Self {
        Roster {
            items: items.into_iter().map(|i| (i.jid.clone(), i)).collect(),
            ver,
            ..Roster::new()
        }
    }

    /// Whether to fetch the roster as soon as the session is online
    /// (default: yes; RFC 6121 §2.1.6 sends pushes only to resources that
    /// fetched it).
    pub fn fetch_on_online(mut self, fetch: bool) -> Self {
        self.auto_fetch = fetch;
        self
    }

    /// The items, by JID.
    pub fn items(&self) -> impl Iterator<Item = &RosterItem> {
        self.items.values()
    }

    /// The item for `jid`, if any.
    pub fn get(&self, jid: &BareJid) -> Option<&RosterItem> {
        self.items.get(jid)
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the roster has no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The version of the copy, if any.
    pub fn version(&self) -> Option<&str> {
        self.ver.as_deref()
    }

    /// Asks the server for the roster (§2.1.3), with the copy's version
    /// when the server offers versioning. Returns the request's id.
    pub fn fetch(&mut self, cx: &mut ModuleContext<'_>) -> Result<String, SendError> {
        let mut query = Element::new(NS_ROSTER, "query");
        if self.versioning {
            // §2.6.2: the empty string asks to start versioning.
            query.set_attr("ver", self.ver.clone().unwrap_or_default());
        }
        let id = cx.send_iq(Iq::get(None, "", query))?;
        self.fetching.push(id.clone());
        Ok(id)
    }

    /// Adds or updates an item (§2.3): its name and groups. The change
    /// itself arrives as a push. Returns the request's id.
    pub fn set(
        &mut self,
        cx: &mut ModuleContext<'_>,
        item: RosterItem,
    ) -> Result<String, SendError> {
        let query = Element::new(NS_ROSTER, "query").with_child(item.to_set_element());
        cx.send_iq(Iq::set(None, "", query))
    }

    /// Removes an item (§2.5), which also cancels both subscriptions.
    /// Returns the request's id.
    pub fn remove(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: &BareJid,
    ) -> Result<String, SendError> {
        let item = Element::new(NS_ROSTER, "item")
            .with_attr("jid", jid.to_string())
            .with_attr("subscription", "remove");
        let query = Element::new(NS_ROSTER, "query").with_child(item);
        cx.send_iq(Iq::set(None, "", query))
    }

    fn loaded(&mut self, cx: &mut ModuleContext<'_>, query: &Element) {
        let mut items = BTreeMap::new();
        let mut bad = 0;
        let mut over = 0;
        for el in query.children().filter(|c| c.is(NS_ROSTER, "item")) {
            match item::parse(el) {
                Some(item::Parsed::Item(_)) if items.len() >= self.max_items => over += 1,
                Some(item::Parsed::Item(i)) => {
                    items.insert(i.jid.clone(), i);
                }
                // A removal has no place in a full roster.
                Some(item::Parsed::Removed(_)) | None => bad += 1,
            }
        }
        if bad > 0 {
            cx.warn(format!("ignored {bad} invalid items in the roster"));
        }
        if over > 0 {
            cx.warn(format!(
                "ignored {over} roster items past the limit of {} (Roster::max_items)",
                self.max_items
            ));
        }
        self.items = items;
        self.ver = if self.versioning {
            query.attr("ver").map(str::to_string)
        } else {
            None
        };
        cx.emit(Event::Roster(RosterEvent::Loaded {
            ver: self.ver.clone(),
            items: self.items.values().cloned().collect(),
        }));
    }

    fn push(&mut self, cx: &mut ModuleContext<'_>, iq: &Iq) -> IqAnswer {
        let IqPayload::Set(query) = &iq.payload else {
            return IqAnswer::error(ErrorType::Cancel, DefinedCondition::BadRequest);
        };
        if !crate::client::from_own_account(iq.from.as_ref(), cx.account()) {
            let from = iq.from.as_ref().map_or("", |j| j.as_str());
            cx.warn(format!(
                "refused a roster push from {from}: only our server (no 'from' or our bare JID) may change the roster"
            ));
            return IqAnswer::error(ErrorType::Cancel, DefinedCondition::ServiceUnavailable);
        }
        let mut items = query.children().filter(|c| c.is(NS_ROSTER, "item"));
        let (Some(el), None) = (items.next(), items.next()) else {
            cx.warn("refused a roster push without exactly one item");
            return IqAnswer::error(ErrorType::Modify, DefinedCondition::BadRequest);
        };
        let Some(parsed) = item::parse(el) else {
            cx.warn("refused a roster push with an invalid item");
            return IqAnswer::error(ErrorType::Modify, DefinedCondition::BadRequest);
        };
        let change = match parsed {
            item::Parsed::Item(i)
                if !self.items.contains_key(&i.jid) && self.items.len() >= self.max_items =>
            {
                cx.warn(format!(
                    "refused a roster push past the limit of {} items (Roster::max_items)",
                    self.max_items
                ));
                return IqAnswer::error(ErrorType::Wait, DefinedCondition::ResourceConstraint);
            }
            item::Parsed::Item(i) => {
                self.items.insert(i.jid.clone(), i.clone());
                RosterChange::Set(i)
            }
            item::Parsed::Removed(jid) => {
                self.items.remove(&jid);
                RosterChange::Removed(jid)
            }
        };
        if let Some(ver) = query.attr("ver") {
            self.ver = Some(ver.to_string());
        }
        cx.emit(Event::Roster(RosterEvent::Changed {
            change,
            ver: self.ver.clone(),
        }));
        IqAnswer::Result(None)
    }
}

impl Module for Roster {
    fn name(&self) -> &'static str {
        "roster"
    }

    fn iq_requests(&self) -> &[(&'static str, &'static str)] {
        &[(NS_ROSTER, "query")]
    }

    fn stream_features(&mut self, features: &StreamFeatures) {
        self.versioning = features.has(NS_ROSTER_VER, "ver");
    }

    fn online(&mut self, cx: &mut ModuleContext<'_>, resumed: bool) {
        // A resumed stream still has its roster; a new one fetches it.
        if self.auto_fetch && !resumed && self.fetch(cx).is_err() {
            cx.warn("could not ask for the roster");
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
        let was_fetch = match self.fetching.iter().position(|f| f == id) {
            Some(i) => {
                self.fetching.swap_remove(i);
                true
            }
            None => false,
        };
        if was_fetch {
            if let Ok(iq) = &result {
                match iq.payload_element() {
                    Some(q) if q.is(NS_ROSTER, "query") => self.loaded(cx, q),
                    // §2.6.3: an empty result: the copy is current.
                    _ => cx.emit(Event::Roster(RosterEvent::Unchanged {
                        ver: self.ver.clone(),
                    })),
                }
            }
        }
        cx.emit(Event::Roster(RosterEvent::Done {
            id: id.to_string(),
            result: result.map(|_| ()),
        }));
    }
}

//! PEP native bookmarks (XEP-0402): the chat rooms an account keeps,
//! stored as items of the `urn:xmpp:bookmarks:1` node of its own PEP
//! service (XEP-0163, with XEP-0223's private storage).
//!
//! The list is fetched when the session comes online (§3, "retrieving all
//! bookmarks"); [`Bookmarks::set`] adds or updates one (§3.2, published
//! with the publish-options §3.2 and XEP-0223 name: `persist_items`,
//! `max_items=max`, `send_last_published_item=never`,
//! `access_model=whitelist`), [`Bookmarks::remove`] retracts one (§3.3,
//! with `notify`), and the notifications of §4 (our feature
//! `urn:xmpp:bookmarks:1+notify` asks for them) keep the copy current,
//! whichever of the account's clients made the change. A change our own
//! request made is applied when the server confirms it; its notification
//! then repeats it and is not reported twice.
//!
//! Joining is not done here: [`BookmarksEvent::Loaded`] and
//! [`BookmarksEvent::Changed`] carry the bookmarks, and
//! [`BookmarksEvent::rooms_to_join`] says which rooms to join now
//! (`autojoin`, §3.1), for a multi-user chat module or the application.
//!
//! Security: bookmarks are the account's private data, so a notification
//! counts only from the account's bare JID (or without `from`, which is
//! the account too): one from a full JID (another resource of ours
//! included), from a contact's bare JID (a contact publishing an open node
//! of that name) or from anyone else is refused with a warning and changes
//! nothing. The copy holds at most [`Bookmarks::max_items`] bookmarks (a
//! longer list is cut with a warning, new ones past it are refused with a
//! warning); items whose id is not a bare JID or whose payload is not a
//! `<conference/>` are skipped with a warning.
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::bookmarks::{Bookmark, Bookmarks};
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! client.register(Bookmarks::new()).unwrap();
//! // Online: bookmark a room to join at every login; the outcome comes back
//! // as Event::Bookmarks(BookmarksEvent::Done { id, .. }).
//! let room = Bookmark::new("orchard@conference.example.com".parse().unwrap())
//!     .with_nick("Jules")
//!     .with_autojoin(true);
//! let sent = client.with_module(Instant::now(), |b: &mut Bookmarks, cx| b.set(cx, room));
//! assert!(sent.unwrap().is_err(), "not online yet");
//! ```

use std::collections::BTreeMap;

use crate::client::{
    from_own_account, Event, Handled, IqFailure, Module, ModuleContext, SendError,
};
use crate::pep::{self, AccessModel, NodeChange, Notification, PepError, PepItem};
use crate::stanza::{BareJid, DefinedCondition, Iq, Stanza};
use crate::xml::Element;

/// The XEP-0402 namespace: the node and its payload's.
pub const NS_BOOKMARKS: &str = "urn:xmpp:bookmarks:1";
/// The feature asking for bookmark notifications (§2, XEP-0163 §4.3).
pub const NS_BOOKMARKS_NOTIFY: &str = "urn:xmpp:bookmarks:1+notify";

/// The most bookmarks kept by default ([`Bookmarks::max_items`]).
pub const DEFAULT_MAX_ITEMS: usize = 10_000;

/// One bookmarked room (§3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bookmark {
    /// The room's JID (the item's id).
    pub jid: BareJid,
    /// A name for people (`name`).
    pub name: Option<String>,
    /// Join it when the session starts (`autojoin`).
    pub autojoin: bool,
    /// The nickname to join with (`<nick/>`).
    pub nick: Option<String>,
    /// The room's password (`<password/>`; not secure storage, §3.1).
    pub password: Option<String>,
    /// Other clients' data (`<extensions/>`), kept as it came so that
    /// editing the bookmark keeps it (§3.1).
    pub extensions: Option<Element>,
}

impl Bookmark {
    /// A bookmark of `jid`, not joined automatically.
    pub fn new(jid: BareJid) -> Self {
        Bookmark {
            jid,
            name: None,
            autojoin: false,
            nick: None,
            password: None,
            extensions: None,
        }
    }

    /// With a name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// With a nickname.
    pub fn with_nick(mut self, nick: impl Into<String>) -> Self {
        self.nick = Some(nick.into());
        self
    }

    /// Joined automatically, or not.
    pub fn with_autojoin(mut self, autojoin: bool) -> Self {
        self.autojoin = autojoin;
        self
    }

    /// With a password.
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Reads an item: its id the room, its payload a `<conference/>`.
    pub fn parse(item: &PepItem) -> Result<Bookmark, BookmarkError> {
        let id = item.id.as_deref().ok_or(BookmarkError::NoId)?;
        let jid: BareJid = id
            .parse()
            .map_err(|_| BookmarkError::NotABareJid(id.to_string()))?;
        let conference = item
            .payload
            .as_ref()
            .filter(|p| p.is(NS_BOOKMARKS, "conference"))
            .ok_or(BookmarkError::NoConference)?;
        let text = |name: &str| {
            conference
                .child(NS_BOOKMARKS, name)
                .map(|c| c.text().to_string())
        };
        Ok(Bookmark {
            jid,
            name: conference.attr("name").map(str::to_string),
            // xs:boolean: "true" or "1".
            autojoin: matches!(conference.attr("autojoin"), Some("true" | "1")),
            nick: text("nick"),
            password: text("password"),
            extensions: conference.child(NS_BOOKMARKS, "extensions").cloned(),
        })
    }

    /// The `<conference/>` payload.
    pub fn to_element(&self) -> Element {
        let mut c = Element::new(NS_BOOKMARKS, "conference");
        if let Some(name) = &self.name {
            c.set_attr("name", name.clone());
        }
        if self.autojoin {
            c.set_attr("autojoin", "true");
        }
        if let Some(nick) = &self.nick {
            c.push_child(Element::new(NS_BOOKMARKS, "nick").with_text(nick.clone()));
        }
        if let Some(password) = &self.password {
            c.push_child(Element::new(NS_BOOKMARKS, "password").with_text(password.clone()));
        }
        if let Some(extensions) = &self.extensions {
            c.push_child(extensions.clone());
        }
        c
    }
}

/// Why an item is not a bookmark.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BookmarkError {
    /// The item has no id.
    #[error("a bookmark item without id")]
    NoId,
    /// The id is not a bare JID.
    #[error("a bookmark item whose id {0:?} is not a bare JID")]
    NotABareJid(String),
    /// The payload is not `<conference xmlns='urn:xmpp:bookmarks:1'/>`.
    #[error("a bookmark item without <conference xmlns='urn:xmpp:bookmarks:1'/>")]
    NoConference,
}

/// Why a bookmarks request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BookmarksError {
    /// The server answered with an error, or none came.
    #[error(transparent)]
    Iq(#[from] IqFailure),
    /// The answer is not a valid pubsub result.
    #[error(transparent)]
    Pubsub(#[from] PepError),
}

/// What the bookmarks module reports ([`Event::Bookmarks`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BookmarksEvent {
    /// The whole list (at login, or [`Bookmarks::fetch`]): it replaces the
    /// copy.
    Loaded(Vec<Bookmark>),
    /// A bookmark was added or changed (a notification, or our own request
    /// confirmed).
    Changed(Bookmark),
    /// A bookmark was removed.
    Removed(BareJid),
    /// Every bookmark was removed (the node purged or deleted).
    Cleared,
    /// A request of ours finished; `id` is what the command returned (the
    /// login's fetch has one too).
    Done {
        /// The request's id.
        id: String,
        /// `Ok`, or why the server did not do it.
        result: Result<(), BookmarksError>,
    },
}

impl BookmarksEvent {
    /// The rooms this event says to join now: the `autojoin` bookmarks of
    /// a loaded list, or a changed bookmark that is `autojoin`.
    pub fn rooms_to_join(&self) -> Vec<&Bookmark> {
        match self {
            BookmarksEvent::Loaded(list) => list.iter().filter(|b| b.autojoin).collect(),
            BookmarksEvent::Changed(b) if b.autojoin => vec![b],
            _ => Vec::new(),
        }
    }
}

/// A request in flight.
#[derive(Clone, Debug)]
enum Pending {
    Fetch,
    Set(Box<Bookmark>),
    Remove(BareJid),
}

/// The bookmarks module (XEP-0402). See the [module documentation](self).
#[derive(Debug)]
pub struct Bookmarks {
    items: BTreeMap<BareJid, Bookmark>,
    max_items: usize,
    fetch_on_online: bool,
    pending: BTreeMap<String, Pending>,
}

impl Default for Bookmarks {
    fn default() -> Self {
        Bookmarks::new()
    }
}

impl Bookmarks {
    /// An empty list, fetched when the session comes online.
    pub fn new() -> Self {
        Bookmarks {
            items: BTreeMap::new(),
            max_items: DEFAULT_MAX_ITEMS,
            fetch_on_online: true,
            pending: BTreeMap::new(),
        }
    }

    /// Keep at most `max` bookmarks (default [`DEFAULT_MAX_ITEMS`]).
    pub fn max_items(mut self, max: usize) -> Self {
        self.max_items = max;
        self
    }

    /// Whether to fetch the list when the session comes online (default yes).
    pub fn fetch_on_online(mut self, fetch: bool) -> Self {
        self.fetch_on_online = fetch;
        self
    }

    /// The bookmarks, by room.
    pub fn iter(&self) -> impl Iterator<Item = &Bookmark> {
        self.items.values()
    }

    /// The bookmarks to join automatically.
    pub fn autojoin(&self) -> impl Iterator<Item = &Bookmark> {
        self.items.values().filter(|b| b.autojoin)
    }

    /// The bookmark of `room`, if any.
    pub fn get(&self, room: &BareJid) -> Option<&Bookmark> {
        self.items.get(room)
    }

    /// The number of bookmarks.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there is none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Asks for the whole list. Returns the request's id; the list comes
    /// as [`BookmarksEvent::Loaded`], then [`BookmarksEvent::Done`].
    pub fn fetch(&mut self, cx: &mut ModuleContext<'_>) -> Result<String, SendError> {
        let request = pep::items_request(NS_BOOKMARKS, &[], None);
        let id = cx.send_iq(Iq::get(None, "", request))?;
        self.pending.insert(id.clone(), Pending::Fetch);
        Ok(id)
    }

    /// Adds or updates a bookmark (§3.2). Returns the request's id.
    pub fn set(
        &mut self,
        cx: &mut ModuleContext<'_>,
        bookmark: Bookmark,
    ) -> Result<String, SendError> {
        let options = pep::publish_options([
            ("pubsub#persist_items", "true"),
            ("pubsub#max_items", "max"),
            ("pubsub#send_last_published_item", "never"),
            ("pubsub#access_model", AccessModel::Whitelist.as_str()),
        ]);
        let item = PepItem::new(bookmark.jid.to_string(), bookmark.to_element());
        let request = pep::publish_request(NS_BOOKMARKS, item, Some(&options));
        let id = cx.send_iq(Iq::set(None, "", request))?;
        self.pending
            .insert(id.clone(), Pending::Set(Box::new(bookmark)));
        Ok(id)
    }

    /// Removes the bookmark of `room` (§3.3). Returns the request's id.
    pub fn remove(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
    ) -> Result<String, SendError> {
        let request = pep::retract_request(NS_BOOKMARKS, room.as_str(), true);
        let id = cx.send_iq(Iq::set(None, "", request))?;
        self.pending
            .insert(id.clone(), Pending::Remove(room.clone()));
        Ok(id)
    }

    /// A fetched list replaces the copy, cut at the limit.
    fn loaded(&mut self, cx: &mut ModuleContext<'_>, items: Vec<PepItem>) {
        let mut list = BTreeMap::new();
        let mut over = 0;
        for item in &items {
            match Bookmark::parse(item) {
                Ok(b) if list.len() >= self.max_items && !list.contains_key(&b.jid) => over += 1,
                Ok(b) => {
                    list.insert(b.jid.clone(), b);
                }
                Err(e) => cx.warn(format!("skipped a bookmark: {e}")),
            }
        }
        if over > 0 {
            cx.warn(format!(
                "ignored {over} bookmarks past the limit of {} (Bookmarks::max_items)",
                self.max_items
            ));
        }
        self.items = list;
        cx.emit(Event::Bookmarks(BookmarksEvent::Loaded(
            self.items.values().cloned().collect(),
        )));
    }

    /// Stores `b`; reports it when it is new or different.
    fn changed(&mut self, cx: &mut ModuleContext<'_>, b: Bookmark) {
        if self.items.get(&b.jid) == Some(&b) {
            return;
        }
        if !self.items.contains_key(&b.jid) && self.items.len() >= self.max_items {
            return cx.warn(format!(
                "refused the bookmark of {} past the limit of {} (Bookmarks::max_items)",
                b.jid, self.max_items
            ));
        }
        self.items.insert(b.jid.clone(), b.clone());
        cx.emit(Event::Bookmarks(BookmarksEvent::Changed(b)));
    }

    /// Forgets `room`; reports it when it was there.
    fn removed(&mut self, cx: &mut ModuleContext<'_>, room: BareJid) {
        if self.items.remove(&room).is_some() {
            cx.emit(Event::Bookmarks(BookmarksEvent::Removed(room)));
        }
    }

    /// A notification (§4), from our own account only.
    fn notified(&mut self, cx: &mut ModuleContext<'_>, n: Notification) {
        match n.change {
            NodeChange::Items {
                published,
                retracted,
            } => {
                for item in &published {
                    match Bookmark::parse(item) {
                        Ok(b) => self.changed(cx, b),
                        Err(e) => cx.warn(format!("ignored a bookmark notification: {e}")),
                    }
                }
                for id in retracted {
                    match id.parse::<BareJid>() {
                        Ok(room) => self.removed(cx, room),
                        Err(_) => cx.warn(format!(
                            "ignored the retraction of bookmark {id:?}: not a bare JID"
                        )),
                    }
                }
            }
            NodeChange::Purged | NodeChange::Deleted => {
                if !self.items.is_empty() {
                    self.items.clear();
                    cx.emit(Event::Bookmarks(BookmarksEvent::Cleared));
                }
            }
        }
    }
}

impl Module for Bookmarks {
    fn name(&self) -> &'static str {
        "bookmarks"
    }

    fn features(&self) -> &[&'static str] {
        &[NS_BOOKMARKS_NOTIFY]
    }

    fn online(&mut self, cx: &mut ModuleContext<'_>, resumed: bool) {
        // A resumed stream missed no notification; a new one fetches.
        if self.fetch_on_online && !resumed && self.fetch(cx).is_err() {
            cx.warn("could not ask for the bookmarks");
        }
    }

    fn offline(&mut self, _resumable: bool) {
        // The core failed the requests in flight before this.
        self.pending.clear();
    }

    fn observe_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) {
        let Stanza::Message(m) = stanza else { return };
        if cx.is_redispatched() {
            return;
        }
        let account = cx.account().clone();
        match Notification::read(m, &account, &[NS_BOOKMARKS], self.max_items) {
            None => {}
            Some(Ok(n)) if from_own_account(m.from.as_ref(), &account) => self.notified(cx, n),
            Some(Ok(n)) => cx.warn(format!(
                "refused a bookmarks notification from {}: only our own account may change our bookmarks",
                n.jid
            )),
            Some(Err(e)) => cx.warn(format!("refused a bookmarks notification: {e}")),
        }
    }

    fn handle_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        // Read in observe_stanza; consumed here so it is no chat message.
        match stanza {
            Stanza::Message(m)
                if !cx.is_redispatched() && Notification::is_about(m, &[NS_BOOKMARKS]) =>
            {
                Handled::Yes
            }
            _ => Handled::No,
        }
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        let Some(pending) = self.pending.remove(id) else {
            return;
        };
        let result: Result<(), BookmarksError> = match (pending, result) {
            (Pending::Fetch, Ok(iq)) => {
                match pep::parse_items(iq.payload_element(), NS_BOOKMARKS, self.max_items) {
                    Ok(items) => {
                        self.loaded(cx, items);
                        Ok(())
                    }
                    Err(e) => {
                        cx.warn(format!("the bookmarks are not a valid pubsub result: {e}"));
                        Err(e.into())
                    }
                }
            }
            // No node yet: no bookmarks.
            (Pending::Fetch, Err(IqFailure::Error(e)))
                if e.condition == DefinedCondition::ItemNotFound =>
            {
                self.loaded(cx, Vec::new());
                Ok(())
            }
            (Pending::Set(b), Ok(_)) => {
                self.changed(cx, *b);
                Ok(())
            }
            (Pending::Remove(room), Ok(_)) => {
                self.removed(cx, room);
                Ok(())
            }
            (_, Err(f)) => Err(f.into()),
        };
        cx.emit(Event::Bookmarks(BookmarksEvent::Done {
            id: id.to_string(),
            result,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bookmark_round_trips_with_its_extensions() {
        let ext = Element::new(NS_BOOKMARKS, "extensions")
            .with_child(Element::new("urn:example:client", "state").with_attr("x", "1"));
        let mut b = Bookmark::new("orchard@conference.example.com".parse().expect("jid"))
            .with_name("The Orchard")
            .with_nick("JC")
            .with_password("secret")
            .with_autojoin(true);
        b.extensions = Some(ext);
        let item = PepItem::new(b.jid.to_string(), b.to_element());
        assert_eq!(Bookmark::parse(&item), Ok(b));
    }

    #[test]
    fn malformed_items_are_typed_errors() {
        let conference = Element::new(NS_BOOKMARKS, "conference").with_attr("autojoin", "1");
        let ok =
            Bookmark::parse(&PepItem::new("room@muc.example", conference.clone())).expect("valid");
        assert!(ok.autojoin, "xs:boolean 1");
        assert_eq!(
            Bookmark::parse(&PepItem::new("room@muc.example/nick", conference.clone())),
            Err(BookmarkError::NotABareJid("room@muc.example/nick".into()))
        );
        assert_eq!(
            Bookmark::parse(&PepItem {
                id: None,
                payload: Some(conference)
            }),
            Err(BookmarkError::NoId)
        );
        assert_eq!(
            Bookmark::parse(&PepItem::new(
                "room@muc.example",
                Element::new("urn:x", "y")
            )),
            Err(BookmarkError::NoConference)
        );
    }
}

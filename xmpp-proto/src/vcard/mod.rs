//! vcard-temp (XEP-0054) and vCard-based avatars (XEP-0153), a built-in
//! module: fetch our own card (§3.1) or another's (§3.3), set ours (§3.2),
//! and edit it without losing what other clients stored
//! ([`VCards::update`]: fetch, change, set); the typed card is
//! [`VCard`] (every property it does not type is kept raw).
//!
//! vCard-based avatars (XEP-0153, on unless
//! [`VCards::without_avatar_updates`]): every available presence we send
//! carries `<x xmlns='vcard-temp:x:update'/>` (§4.1): with
//! `<photo>SHA-1</photo>` of our photo, `<photo/>` when we have none, and
//! no `<photo/>` at all until we know (§4.1 rule 2: our card is fetched
//! when the session comes online, §4.2 rule 1; the last broadcast presence
//! is sent again once we know, and whenever our photo changes, §4.1 rule
//! 3). Contacts' hashes are read from their available presences
//! (observed, not consumed): a changed hash triggers one fetch of the
//! contact's card (to the bare JID, §3.2), an unchanged hash none, a
//! `<photo/>` means no avatar; the outcome is
//! [`VCardEvent::Avatar`]. A hash from one of our own other resources that
//! differs from ours makes us fetch our card and adopt what it holds
//! (§4.3, §4.4).
//!
//! Bounds and checks. At most one avatar fetch per contact is in flight,
//! and [`AvatarLimits::fetches`] in all (the rest wait their turn in a
//! queue as bounded as the table of contacts, [`AvatarLimits::contacts`],
//! least recently seen dropped first). A photo is measured as base64
//! before it is decoded ([`VCardLimits::max_photo_bytes`], 64 KiB by
//! default): a larger one is never decoded. A decoded photo that does not
//! hash to the advertised SHA-1 is reported as
//! [`VCardAvatar::Mismatch`], with a warning: the image is carried (the
//! card is the source of truth, §4.3, and a race with a newer card is
//! ordinary), with both hashes, for the application to decide; the
//! advertised hash counts as fetched, so that presence does not trigger
//! another fetch. Presences of room occupants (XEP-0045) and presences a
//! module unwrapped from another stanza are not read.
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::vcard::VCards;
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! client.register(VCards::new()).unwrap();
//! // Online: change our nickname, keeping the rest of our card; the
//! // outcome comes back as Event::VCard(VCardEvent::Done { id, .. }).
//! let sent = client.with_module(Instant::now(), |v: &mut VCards, cx| {
//!     v.update(cx, |card| card.nickname = Some("Jules".into()))
//! });
//! assert!(sent.unwrap().is_err(), "not online yet");
//! ```

mod avatars;
mod card;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::client::{Event, IqFailure, Module, ModuleContext, SendError};
use crate::disco::lru::Lru;
use crate::stanza::{BareJid, DefinedCondition, Iq, Jid, Presence, Stanza};
use crate::xml::Element;

pub use avatars::{AdvertisedPhoto, AvatarLimits, AvatarUnavailable, VCardAvatar, NS_VCARD_UPDATE};
pub use card::{
    Address, AddressType, Email, EmailType, Name, Organization, Photo, TelType, Telephone, VCard,
    VCardLimits, VCardParseError, NS_VCARD,
};

use avatars::Seen;

/// Why a vCard request produced no card.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VCardError {
    /// The server answered with an error (`item-not-found` or
    /// `service-unavailable` for no card, XEP-0054 §3.1, §3.3), or none came.
    #[error(transparent)]
    Iq(#[from] IqFailure),
    /// The answer is not a card this crate accepts.
    #[error("the answer is not a valid vCard: {0}")]
    Invalid(#[from] VCardParseError),
}

/// What the vCard module reports ([`Event::VCard`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VCardEvent {
    /// The answer to [`VCards::fetch`].
    Fetched {
        /// The request's id.
        id: String,
        /// Whose card (our account's bare JID for our own).
        jid: BareJid,
        /// The card (boxed: events stay small), or why there is none.
        result: Result<Box<VCard>, VCardError>,
    },
    /// [`VCards::set`] or [`VCards::update`] finished.
    Done {
        /// The id the command returned.
        id: String,
        /// `Ok`, or why the card was not stored.
        result: Result<(), VCardError>,
    },
    /// An avatar changed (XEP-0153): a contact's, after its presence
    /// advertised a new hash (or none), or our own, after our card was
    /// fetched or set.
    Avatar {
        /// Whose.
        jid: BareJid,
        /// The SHA-1 (lowercase hex) advertised, `None` for no avatar.
        advertised: Option<String>,
        /// What the card holds.
        avatar: VCardAvatar,
    },
}

/// An edit of our card ([`VCards::update`]).
struct Edit(Box<dyn FnOnce(&mut VCard) + Send>);

impl std::fmt::Debug for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Edit(..)")
    }
}

/// A request in flight.
#[derive(Debug)]
enum Pending {
    /// [`VCards::fetch`].
    Fetch { jid: BareJid },
    /// [`VCards::set`], or the set of an update (`id` its command's), with
    /// what our photo becomes.
    Set {
        id: String,
        photo: AdvertisedPhoto,
        avatar: VCardAvatar,
    },
    /// The fetch of an update.
    Update { id: String, edit: Edit },
    /// A contact's card, for the photo that hashes to `hash`.
    Avatar { jid: BareJid, hash: String },
    /// Our own card, for our photo's hash (XEP-0153 §4.2, §4.4).
    Own,
}

/// The vCard module (XEP-0054, with XEP-0153 avatars). See the [module
/// documentation](self).
#[derive(Debug)]
pub struct VCards {
    limits: VCardLimits,
    avatar_limits: AvatarLimits,
    updates: bool,
    pending: BTreeMap<String, Pending>,
    /// Our photo's hash, as far as we know.
    own: AdvertisedPhoto,
    /// Our last broadcast available presence (without our `<x/>`) and what
    /// it carried: sent again when `own` changes.
    broadcast: Option<(Presence, AdvertisedPhoto)>,
    /// Contacts' advertised and fetched hashes.
    contacts: Lru<BareJid, Seen>,
    /// Contacts waiting for a fetch slot, each once.
    waiting: VecDeque<BareJid>,
    queued: BTreeSet<BareJid>,
}

impl Default for VCards {
    fn default() -> Self {
        VCards::new()
    }
}

impl VCards {
    /// A vCard module with XEP-0153 avatar updates and the default limits.
    pub fn new() -> Self {
        let avatar_limits = AvatarLimits::default();
        VCards {
            limits: VCardLimits::default(),
            avatar_limits,
            updates: true,
            pending: BTreeMap::new(),
            own: AdvertisedPhoto::Unknown,
            broadcast: None,
            contacts: Lru::new(avatar_limits.contacts),
            waiting: VecDeque::new(),
            queued: BTreeSet::new(),
        }
    }

    /// Only vcard-temp: no `<x xmlns='vcard-temp:x:update'/>` on our
    /// presence, no fetch of our card at login, contacts' hashes not read.
    pub fn without_avatar_updates(mut self) -> Self {
        self.updates = false;
        self
    }

    /// With these limits on parsed cards (the photo size among them).
    pub fn limits(mut self, limits: VCardLimits) -> Self {
        self.limits = limits;
        self
    }

    /// With these limits on avatar fetches (the table of contacts starts
    /// empty).
    pub fn avatar_limits(mut self, limits: AvatarLimits) -> Self {
        self.avatar_limits = limits;
        self.contacts = Lru::new(limits.contacts);
        self
    }

    /// With the hashes of the avatars the application has already (state
    /// in as data, XEP-0153 §3.2: "if it already has a cached copy"): a
    /// contact advertising one of these triggers no fetch.
    pub fn with_avatar_hashes(
        mut self,
        known: impl IntoIterator<Item = (BareJid, String)>,
    ) -> Self {
        for (jid, hash) in known {
            let hash = hash.to_ascii_lowercase();
            self.contacts.insert(
                jid,
                Seen {
                    advertised: Some(hash.clone()),
                    fetched: Some(hash),
                },
            );
        }
        self
    }

    /// The limits on parsed cards.
    pub fn card_limits(&self) -> &VCardLimits {
        &self.limits
    }

    /// What our presence advertises (XEP-0153).
    pub fn own_photo(&self) -> &AdvertisedPhoto {
        &self.own
    }

    /// The hash `jid` advertised last: `Some(None)` for "no avatar",
    /// `None` when unknown.
    pub fn advertised(&self, jid: &BareJid) -> Option<Option<&str>> {
        self.contacts.get(jid).map(|s| s.advertised.as_deref())
    }

    /// Avatar fetches in flight.
    pub fn avatar_fetches(&self) -> usize {
        self.pending
            .values()
            .filter(|p| matches!(p, Pending::Avatar { .. }))
            .count()
    }

    /// Asks for a card: `jid`'s (its bare JID, §3.3), or ours for `None`
    /// (§3.1). Returns the request's id; the answer comes as
    /// [`VCardEvent::Fetched`].
    pub fn fetch(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: Option<BareJid>,
    ) -> Result<String, SendError> {
        let id = cx.send_iq(get_card(jid.clone()))?;
        let jid = jid.unwrap_or_else(|| cx.account().clone());
        self.pending.insert(id.clone(), Pending::Fetch { jid });
        Ok(id)
    }

    /// Stores `card` as ours (§3.2: the whole card replaces the stored
    /// one). Returns the request's id; the outcome comes as
    /// [`VCardEvent::Done`]. With avatar updates, our presence then
    /// advertises its photo.
    pub fn set(&mut self, cx: &mut ModuleContext<'_>, card: VCard) -> Result<String, SendError> {
        let (photo, avatar) = avatars::own_state(&card, &self.limits);
        let id = cx.send_iq(Iq::set(None, "", card.to_element()))?;
        let pending = Pending::Set {
            id: id.clone(),
            photo,
            avatar,
        };
        self.pending.insert(id.clone(), pending);
        Ok(id)
    }

    /// Edits our card: fetches it (an absent card is an empty one), applies
    /// `edit`, and stores the result, so what this client does not know
    /// (other clients' properties, a photo past the limit) is kept.
    /// Returns the id [`VCardEvent::Done`] reports with; a card that cannot
    /// be read is not overwritten (`Done` with the error).
    pub fn update(
        &mut self,
        cx: &mut ModuleContext<'_>,
        edit: impl FnOnce(&mut VCard) + Send + 'static,
    ) -> Result<String, SendError> {
        let id = cx.send_iq(get_card(None))?;
        let pending = Pending::Update {
            id: id.clone(),
            edit: Edit(Box::new(edit)),
        };
        self.pending.insert(id.clone(), pending);
        Ok(id)
    }

    /// The card of an answer (none: an empty card, XEP-0054 §3.1).
    fn card_of(&self, iq: &Iq) -> Result<VCard, VCardParseError> {
        match iq.payload_element() {
            Some(el) => VCard::parse_with(el, &self.limits),
            None => Ok(VCard::new()),
        }
    }

    /// The second step of an update: the fetched card, edited, stored.
    fn edited(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: String,
        edit: Edit,
        result: Result<Iq, IqFailure>,
    ) {
        let card = match result {
            Ok(iq) => self.card_of(&iq).map_err(VCardError::from),
            // No card yet.
            Err(IqFailure::Error(e)) if e.condition == DefinedCondition::ItemNotFound => {
                Ok(VCard::new())
            }
            Err(f) => Err(f.into()),
        };
        let mut card = match card {
            Ok(card) => card,
            Err(e) => return cx.emit(Event::VCard(VCardEvent::Done { id, result: Err(e) })),
        };
        (edit.0)(&mut card);
        let (photo, avatar) = avatars::own_state(&card, &self.limits);
        match cx.send_iq(Iq::set(None, "", card.to_element())) {
            Ok(next) => {
                self.pending
                    .insert(next, Pending::Set { id, photo, avatar });
            }
            Err(_) => cx.emit(Event::VCard(VCardEvent::Done {
                id,
                result: Err(IqFailure::Disconnected.into()),
            })),
        }
    }
}

/// `<iq type='get'><vCard xmlns='vcard-temp'/></iq>` to `jid` (none: ours).
fn get_card(jid: Option<BareJid>) -> Iq {
    Iq::get(jid.map(Jid::from), "", Element::new(NS_VCARD, "vCard"))
}

impl Module for VCards {
    fn name(&self) -> &'static str {
        "vcard"
    }

    fn online(&mut self, cx: &mut ModuleContext<'_>, resumed: bool) {
        // §4.2 rule 1: our hash only after our card was downloaded.
        if self.updates && !resumed {
            self.refresh_own(cx);
        }
    }

    fn offline(&mut self, resumable: bool) {
        // The core failed the requests in flight before this.
        self.pending.clear();
        self.waiting.clear();
        self.queued.clear();
        if !resumable {
            // The next session announces itself anew.
            self.broadcast = None;
        }
    }

    fn observe_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) {
        if !self.updates || cx.is_redispatched() {
            return;
        }
        if let Stanza::Presence(p) = stanza {
            self.observe_presence(cx, p);
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
        let id = id.to_string();
        match pending {
            Pending::Fetch { jid } => {
                let result = match result {
                    Ok(iq) => self.card_of(&iq).map(Box::new).map_err(VCardError::from),
                    Err(f) => Err(f.into()),
                };
                if self.updates && jid == *cx.account() {
                    if let Ok(card) = &result {
                        let (photo, avatar) = avatars::own_state(card, &self.limits);
                        self.adopt(cx, photo, avatar);
                    }
                }
                cx.emit(Event::VCard(VCardEvent::Fetched { id, jid, result }));
            }
            Pending::Set { id, photo, avatar } => {
                let ok = result.is_ok();
                cx.emit(Event::VCard(VCardEvent::Done {
                    id,
                    result: result.map(|_| ()).map_err(VCardError::from),
                }));
                // §4.2 rule 1: a card just stored is advertised.
                if ok && self.updates {
                    self.adopt(cx, photo, avatar);
                }
            }
            Pending::Update { id, edit } => self.edited(cx, id, edit, result),
            Pending::Avatar { jid, hash } => self.avatar_fetched(cx, jid, hash, result),
            Pending::Own => self.own_fetched(cx, result),
        }
    }

    fn on_outgoing(&mut self, stanza: &mut Stanza) {
        if self.updates {
            if let Stanza::Presence(p) = stanza {
                self.annotate(p);
            }
        }
    }
}

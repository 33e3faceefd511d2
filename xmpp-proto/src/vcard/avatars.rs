//! vCard-based avatars (XEP-0153): our hash on outgoing presence (§3.1,
//! §4.1), contacts' hashes read from theirs and their cards fetched once
//! per change (§3.2), our own other resources deferred to (§4.3, §4.4);
//! bounded as the [module documentation](super) says.

use crate::avatar::{is_sha1_hex, AvatarImage};
use crate::client::{Event, IqFailure, ModuleContext};
use crate::presence::NS_MUC_USER;
use crate::stanza::{BareJid, DefinedCondition, Iq, Presence, PresenceType};
use crate::xml::Element;

use super::card::{Photo, VCard, VCardLimits};
use super::{get_card, Pending, VCardError, VCardEvent, VCards};

/// The XEP-0153 namespace of the `<x/>` in presence.
pub const NS_VCARD_UPDATE: &str = "vcard-temp:x:update";

/// How much the avatar part keeps and asks, at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AvatarLimits {
    /// Contacts whose hashes are remembered (least recently seen dropped
    /// first). Default 10,000.
    pub contacts: usize,
    /// Avatar fetches in flight at once. Default 4.
    pub fetches: usize,
}

impl Default for AvatarLimits {
    fn default() -> Self {
        AvatarLimits {
            contacts: 10_000,
            fetches: 4,
        }
    }
}

/// What our presence advertises (XEP-0153 §4.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AdvertisedPhoto {
    /// Not known yet (our card not fetched, or its photo is external or
    /// past the limit): `<x/>` without `<photo/>` ("not ready", rule 2).
    #[default]
    Unknown,
    /// No photo: an empty `<photo/>` (rule 3).
    None,
    /// The SHA-1 (lowercase hex) of our photo.
    Hash(String),
}

impl AdvertisedPhoto {
    /// The `<x xmlns='vcard-temp:x:update'/>` for our presence.
    pub fn to_element(&self) -> Element {
        let x = Element::new(NS_VCARD_UPDATE, "x");
        match self {
            AdvertisedPhoto::Unknown => x,
            AdvertisedPhoto::None => x.with_child(Element::new(NS_VCARD_UPDATE, "photo")),
            AdvertisedPhoto::Hash(h) => {
                x.with_child(Element::new(NS_VCARD_UPDATE, "photo").with_text(h.clone()))
            }
        }
    }

    fn hash(&self) -> Option<String> {
        match self {
            AdvertisedPhoto::Hash(h) => Some(h.clone()),
            _ => None,
        }
    }
}

/// What a card holds for an avatar ([`VCardEvent::Avatar`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VCardAvatar {
    /// No avatar: none advertised (`<photo/>`), or the card has no photo.
    None,
    /// The card's photo, which hashes to the advertised SHA-1.
    Image(AvatarImage),
    /// The card's photo, which does not hash to the advertised SHA-1 (a
    /// warning was emitted too): carried as fetched, with the hash it has,
    /// for the application to decide. The card is what the contact stored
    /// (the hash may be stale: they changed it again meanwhile).
    Mismatch {
        /// The photo.
        image: AvatarImage,
        /// What it hashes to.
        actual: String,
    },
    /// The photo could not be had.
    Unavailable(AvatarUnavailable),
}

/// Why a card gave no avatar image.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AvatarUnavailable {
    /// The card could not be fetched or read.
    Fetch(VCardError),
    /// The photo passes [`VCardLimits::max_photo_bytes`]: measured as
    /// base64, never decoded.
    TooLarge {
        /// Its length as base64 (whitespace not counted).
        encoded_len: usize,
        /// The limit, decoded.
        max: usize,
    },
    /// The card points to the photo elsewhere (EXTVAL), not fetched here.
    External(String),
}

/// A contact's hashes.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    /// The hash advertised last (`None`: no avatar).
    pub(super) advertised: Option<String>,
    /// The hash the last fetch was for, whatever its outcome.
    pub(super) fetched: Option<String>,
}

/// What our presence advertises for `card`, and what it holds.
pub(super) fn own_state(card: &VCard, limits: &VCardLimits) -> (AdvertisedPhoto, VCardAvatar) {
    match &card.photo {
        None => (AdvertisedPhoto::None, VCardAvatar::None),
        Some(Photo::Binary(image)) => (
            AdvertisedPhoto::Hash(image.sha1_hex()),
            VCardAvatar::Image(image.clone()),
        ),
        Some(Photo::Oversized { encoded, .. }) => (
            AdvertisedPhoto::Unknown,
            VCardAvatar::Unavailable(AvatarUnavailable::TooLarge {
                encoded_len: crate::avatar::encoded_len(encoded),
                max: limits.max_photo_bytes,
            }),
        ),
        Some(Photo::External(uri)) => (
            AdvertisedPhoto::Unknown,
            VCardAvatar::Unavailable(AvatarUnavailable::External(uri.clone())),
        ),
    }
}

impl VCards {
    /// Adds our `<x/>` to an available presence (unless the application put
    /// one), and remembers a broadcast to send it again when our photo
    /// changes. An unavailable broadcast forgets it.
    pub(super) fn annotate(&mut self, p: &mut Presence) {
        match p.type_ {
            PresenceType::Available => {}
            PresenceType::Unavailable if p.to.is_none() => {
                self.broadcast = None;
                return;
            }
            _ => return,
        }
        if p.payload(NS_VCARD_UPDATE, "x").is_some() {
            return;
        }
        if p.to.is_none() {
            self.broadcast = Some((p.clone(), self.own.clone()));
        }
        p.payloads.push(self.own.to_element());
    }

    /// A presence received: a contact's hash, or one of our own resources'.
    pub(super) fn observe_presence(&mut self, cx: &mut ModuleContext<'_>, p: &Presence) {
        if p.type_ != PresenceType::Available || p.payload(NS_MUC_USER, "x").is_some() {
            return;
        }
        let (Some(from), Some(x)) = (&p.from, p.payload(NS_VCARD_UPDATE, "x")) else {
            return;
        };
        // No <photo/>: "not ready" (§4.1 rule 2), nothing to learn.
        let Some(photo) = x.child(NS_VCARD_UPDATE, "photo") else {
            return;
        };
        let text = photo.text();
        let text = text.trim();
        let advertised = if text.is_empty() {
            None
        } else if is_sha1_hex(text) {
            Some(text.to_ascii_lowercase())
        } else {
            return cx.warn(format!(
                "ignored the avatar hash of {from}: not a SHA-1 in hex"
            ));
        };
        let bare = from.to_bare();
        if bare == *cx.account() {
            // Our own broadcast, echoed back, says nothing new.
            if cx
                .own_jid()
                .is_some_and(|own| own.as_str() == from.as_str())
            {
                return;
            }
            return self.other_resource(cx, advertised);
        }
        self.contact_advertised(cx, bare, advertised);
    }

    /// §4.3: another resource of ours advertises another hash (or none):
    /// the card decides.
    fn other_resource(&mut self, cx: &mut ModuleContext<'_>, advertised: Option<String>) {
        let same = match (&advertised, &self.own) {
            (Some(h), AdvertisedPhoto::Hash(ours)) => h == ours,
            (None, AdvertisedPhoto::None) => true,
            _ => false,
        };
        if !same {
            self.refresh_own(cx);
        }
    }

    /// Fetches our own card for its photo's hash, unless already asked.
    pub(super) fn refresh_own(&mut self, cx: &mut ModuleContext<'_>) {
        if self.pending.values().any(|p| matches!(p, Pending::Own)) {
            return;
        }
        match cx.send_iq(get_card(None)) {
            Ok(id) => {
                self.pending.insert(id, Pending::Own);
            }
            Err(_) => cx.warn("could not ask for our own vCard"),
        }
    }

    /// Our card, fetched for its photo.
    pub(super) fn own_fetched(
        &mut self,
        cx: &mut ModuleContext<'_>,
        result: Result<Iq, IqFailure>,
    ) {
        let card = match result {
            Ok(iq) => match self.card_of(&iq) {
                Ok(card) => card,
                Err(e) => return cx.warn(format!("our own vCard is not valid: {e}")),
            },
            // No card: no photo.
            Err(IqFailure::Error(e)) if e.condition == DefinedCondition::ItemNotFound => {
                VCard::new()
            }
            // Nothing learned; the next session asks again.
            Err(_) => return,
        };
        let (photo, avatar) = own_state(&card, &self.limits);
        self.adopt(cx, photo, avatar);
    }

    /// Our photo is now `photo`: reported when it changed, and the last
    /// broadcast sent again when it advertised something else.
    pub(super) fn adopt(
        &mut self,
        cx: &mut ModuleContext<'_>,
        photo: AdvertisedPhoto,
        avatar: VCardAvatar,
    ) {
        if photo != self.own {
            self.own = photo;
            cx.emit(Event::VCard(VCardEvent::Avatar {
                jid: cx.account().clone(),
                advertised: self.own.hash(),
                avatar,
            }));
        }
        if let Some((presence, carried)) = &self.broadcast {
            if *carried != self.own && cx.is_online() {
                let presence = presence.clone();
                let _ = cx.send(presence);
            }
        }
    }

    /// A contact advertised `advertised`: a change triggers one fetch.
    fn contact_advertised(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: BareJid,
        advertised: Option<String>,
    ) {
        let before = self.contacts.get(&jid).cloned();
        let fetched = before.as_ref().and_then(|s| s.fetched.clone());
        let previous = before.as_ref().map(|s| s.advertised.clone());
        if previous.as_ref() == Some(&advertised) {
            // Unchanged: nothing to fetch.
            self.contacts.touch(&jid);
            return;
        }
        self.contacts.insert(
            jid.clone(),
            Seen {
                advertised: advertised.clone(),
                fetched,
            },
        );
        match advertised {
            // No avatar now: news only if there was one.
            None => {
                if matches!(previous, Some(Some(_))) {
                    cx.emit(Event::VCard(VCardEvent::Avatar {
                        jid,
                        advertised: None,
                        avatar: VCardAvatar::None,
                    }));
                }
            }
            Some(_) => self.request_avatar(cx, jid),
        }
    }

    /// Fetches `jid`'s card if its advertised hash was not fetched yet and
    /// none is in flight for it; waits for a slot when the most are.
    fn request_avatar(&mut self, cx: &mut ModuleContext<'_>, jid: BareJid) {
        let Some(seen) = self.contacts.get(&jid) else {
            return;
        };
        let Some(hash) = seen.advertised.clone() else {
            return;
        };
        if seen.fetched.as_ref() == Some(&hash) {
            return;
        }
        let in_flight = self
            .pending
            .values()
            .any(|p| matches!(p, Pending::Avatar { jid: j, .. } if *j == jid));
        if in_flight {
            // Looked at again when that fetch ends.
            return;
        }
        if self.avatar_fetches() >= self.avatar_limits.fetches {
            if self.queued.len() < self.avatar_limits.contacts && self.queued.insert(jid.clone()) {
                self.waiting.push_back(jid);
            }
            return;
        }
        match cx.send_iq(get_card(Some(jid.clone()))) {
            Ok(id) => {
                self.pending.insert(id, Pending::Avatar { jid, hash });
            }
            Err(_) => cx.warn(format!("could not ask for the vCard of {jid}")),
        }
    }

    /// A contact's card, fetched for the photo hashing to `hash`.
    pub(super) fn avatar_fetched(
        &mut self,
        cx: &mut ModuleContext<'_>,
        jid: BareJid,
        hash: String,
        result: Result<Iq, IqFailure>,
    ) {
        if let Some(seen) = self.contacts.get_mut(&jid) {
            seen.fetched = Some(hash.clone());
        }
        let card = match result {
            Ok(iq) => self.card_of(&iq).map_err(VCardError::from),
            Err(f) => Err(f.into()),
        };
        let avatar = match card {
            Err(e) => VCardAvatar::Unavailable(AvatarUnavailable::Fetch(e)),
            Ok(card) => match own_state(&card, &self.limits) {
                (_, VCardAvatar::Image(image)) => {
                    let actual = image.sha1_hex();
                    if actual == hash {
                        VCardAvatar::Image(image)
                    } else {
                        cx.warn(format!(
                            "the photo of {jid}'s vCard hashes to {actual}, not to the advertised {hash}"
                        ));
                        VCardAvatar::Mismatch { image, actual }
                    }
                }
                (_, VCardAvatar::None) => {
                    cx.warn(format!(
                        "{jid} advertised the avatar {hash}, but its vCard has no photo"
                    ));
                    VCardAvatar::None
                }
                (_, other) => {
                    if let VCardAvatar::Unavailable(AvatarUnavailable::TooLarge { .. }) = &other {
                        cx.warn(format!(
                            "refused the photo of {jid}'s vCard: larger than VCardLimits::max_photo_bytes ({}), not decoded",
                            self.limits.max_photo_bytes
                        ));
                    }
                    other
                }
            },
        };
        cx.emit(Event::VCard(VCardEvent::Avatar {
            jid: jid.clone(),
            advertised: Some(hash),
            avatar,
        }));
        // It may have advertised another meanwhile; then the others' turn.
        self.request_avatar(cx, jid);
        self.next_waiting(cx);
    }

    /// Gives free fetch slots to those waiting (each looked at once).
    fn next_waiting(&mut self, cx: &mut ModuleContext<'_>) {
        for _ in 0..self.waiting.len() {
            if self.avatar_fetches() >= self.avatar_limits.fetches {
                return;
            }
            let Some(jid) = self.waiting.pop_front() else {
                return;
            };
            self.queued.remove(&jid);
            self.request_avatar(cx, jid);
        }
    }
}

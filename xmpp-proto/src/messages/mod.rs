//! Messaging extensions a modern client exchanges on (almost) every
//! message, read and written as types, and the rules that make them safe:
//!
//! - XEP-0085 chat states ([`ChatState`]);
//! - XEP-0184 delivery receipts ([`Receipt`]), answered automatically by
//!   the [`Messages`] module when enabled: never to an error or groupchat
//!   message, never for a carbon or archived copy, never twice for one
//!   (sender, id);
//! - XEP-0359 ids: an [`OriginId`] on every outgoing message, and a
//!   [`StanzaId`] read only when its `by` is the account's bare JID (the
//!   room's, for a groupchat message);
//! - XEP-0203 delayed delivery ([`Delay`], with a validated [`Stamp`]);
//! - XEP-0308 corrections ([`Replace`]), accepted only from the full JID
//!   that sent the corrected message ([`correction`]);
//! - XEP-0333 chat markers ([`Marker`]);
//! - XEP-0280 carbons ([`Carbons`], its own module): the copies are
//!   unwrapped and routed again, so this module sees them as messages
//!   marked [`Provenance::Carbon`].
//!
//! Register [`Messages`] (and [`Carbons`] if wanted): every message then
//! arrives as [`Event::ChatMessage`] with these fields decoded.
//!
//! ```
//! use xmpp_proto::messages::{ChatState, Messages, Carbons};
//! use xmpp_proto::stanza::{Jid, Message};
//! # use xmpp_proto::{Client, Config, sasl::Credentials};
//! # let config = Config::builder("juliet@capulet.lit".parse().unwrap(),
//! #     Credentials::Password("x".into()), [1; 32]).build();
//! # let mut client = Client::new(config, std::time::Instant::now());
//! client.register(Carbons::new()).unwrap();
//! client.register(Messages::new()).unwrap();
//! // Outgoing: typed payloads on a plain message; an origin-id is added.
//! let romeo: Jid = "romeo@montague.lit".parse().unwrap();
//! let hello = Message::chat(romeo, "Hello")
//!     .with_chat_state(ChatState::Active)
//!     .with_receipt_request()
//!     .with_markable();
//! # let _ = hello;
//! ```

pub mod carbons;
mod chat_state;
pub mod correction;
mod delay;
mod ids;
mod markers;
mod receipts;
pub(crate) mod recent;

pub use carbons::{Carbons, CarbonsEvent, NS_CARBONS, NS_FORWARD};
pub use chat_state::{ChatState, NS_CHAT_STATES};
pub use correction::{Replace, NS_CORRECT};
pub use delay::{Delay, Stamp, StampError, NS_DELAY};
pub use ids::{OriginId, StanzaId, NS_SID};
pub use markers::{Marker, MarkerKind, NS_MARKERS};
pub use receipts::{Receipt, NS_RECEIPTS};

use crate::client::{Carbon, Event, Handled, Module, ModuleContext, Provenance, SendError};
use crate::stanza::{BareJid, Jid, Message, MessageType, Stanza};

use recent::Recent;

/// XEP-0334 message processing hints, for chat states that need no storing.
pub const NS_HINTS: &str = "urn:xmpp:hints";

/// How many (sender, id) pairs are remembered for corrections and for
/// receipts already sent, by default.
pub const DEFAULT_MEMORY: usize = 1_000;

/// A received message with the messaging extensions it carries, decoded
/// and checked ([`Event::ChatMessage`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChatMessage {
    /// The message as received (for a carbon: the copy it carried). Its
    /// `payloads` still hold every extension element, decoded or not.
    pub message: Message,
    /// Received as it is, as a carbon copy, or from an archive.
    pub provenance: Provenance,
    /// The sender's chat state (XEP-0085).
    pub chat_state: Option<ChatState>,
    /// The sender asks for a delivery receipt (XEP-0184).
    pub receipt_requested: bool,
    /// This message is a delivery receipt for the message with this id.
    pub receipt_for: Option<String>,
    /// The id the sender chose (XEP-0359 origin-id).
    pub origin_id: Option<String>,
    /// The id our archive (or the room's, for groupchat) gave it
    /// (XEP-0359); stanza-ids stamped by anyone else are ignored. For an
    /// archive result, the id the queried archive gave it (XEP-0313).
    pub stanza_id: Option<String>,
    /// When it was first sent, if it was delayed (XEP-0203).
    pub delay: Option<Delay>,
    /// The id of the message this one replaces (XEP-0308): set only when
    /// the correction comes from the full JID that sent that message.
    pub replaces: Option<String>,
    /// The sender accepts chat markers for it (XEP-0333).
    pub markable: bool,
    /// A chat marker about one of our messages (XEP-0333).
    pub marker: Option<Marker>,
}

impl ChatMessage {
    /// Which carbon copy this is, if it is one.
    pub fn carbon(&self) -> Option<Carbon> {
        match self.provenance {
            Provenance::Carbon(c) => Some(c),
            _ => None,
        }
    }

    /// True when it came from a message archive query.
    pub fn is_archived(&self) -> bool {
        matches!(self.provenance, Provenance::Archive { .. })
    }
}

/// Builders for the payloads of this module on an outgoing message.
impl Message {
    /// Adds a XEP-0085 chat state.
    pub fn with_chat_state(self, state: ChatState) -> Message {
        self.with_payload(state.into())
    }

    /// Asks for a XEP-0184 delivery receipt.
    pub fn with_receipt_request(self) -> Message {
        self.with_payload(Receipt::Request.into())
    }

    /// Marks the message `<markable/>` (XEP-0333).
    pub fn with_markable(self) -> Message {
        self.with_payload(Marker::markable_element())
    }

    /// Makes the message a XEP-0308 correction of our message `id`.
    pub fn with_replace(self, id: impl Into<String>) -> Message {
        self.with_payload(Replace(id.into()).into())
    }
}

/// The messaging module: decodes the extensions of every received message
/// into an [`Event::ChatMessage`], applies the correction and stanza-id
/// rules, answers receipt requests (unless told not to), and puts an
/// origin-id on every message sent.
#[derive(Debug)]
pub struct Messages {
    auto_receipts: bool,
    origin_ids: bool,
    /// (sender, id) of recent messages with a body: what may be corrected.
    sent_by: Recent,
    /// (sender, id) of the messages we sent receipts for.
    acknowledged: Recent,
    /// (recipient's bare JID, id) of the messages the account sent (this
    /// client, or another one seen through a sent carbon): the only ones
    /// a receipt or a chat marker may acknowledge.
    ours: Recent,
    /// (archive's JID, stanza-id) of the messages delivered: a copy that
    /// comes again (a resumed stream's resend, a catch-up, an offline
    /// message also in the archive) is dropped.
    seen_stanza_ids: Recent,
    /// (sender, origin-id) of the messages delivered: a message its sender
    /// sent again after a failed resumption keeps its origin-id.
    seen_origin_ids: Recent,
}

impl Default for Messages {
    fn default() -> Self {
        Messages::new()
    }
}

impl Messages {
    /// Receipts answered automatically, origin-ids on, the last
    /// [`DEFAULT_MEMORY`] messages remembered.
    pub fn new() -> Self {
        Messages {
            auto_receipts: true,
            origin_ids: true,
            sent_by: Recent::new(DEFAULT_MEMORY),
            acknowledged: Recent::new(DEFAULT_MEMORY),
            ours: Recent::new(DEFAULT_MEMORY),
            seen_stanza_ids: Recent::new(DEFAULT_MEMORY),
            seen_origin_ids: Recent::new(DEFAULT_MEMORY),
        }
    }

    /// Whether receipt requests are answered automatically (on by default).
    /// XEP-0184 §8: a receipt tells the sender we are online; turn this off
    /// and call [`Messages::acknowledge`] to answer only trusted contacts.
    pub fn auto_receipts(mut self, on: bool) -> Self {
        self.auto_receipts = on;
        self
    }

    /// Whether an origin-id is added to every message sent (on by default).
    pub fn origin_ids(mut self, on: bool) -> Self {
        self.origin_ids = on;
        self
    }

    /// How many recent (sender, id) pairs are remembered for corrections,
    /// for receipts already sent and for our own messages that receipts
    /// and markers may acknowledge (each list; [`DEFAULT_MEMORY`] by
    /// default). A correction of an older message is shown as a new one.
    pub fn memory(mut self, pairs: usize) -> Self {
        self.sent_by = Recent::new(pairs);
        self.acknowledged = Recent::new(pairs);
        self.ours = Recent::new(pairs);
        self.seen_stanza_ids = Recent::new(pairs);
        self.seen_origin_ids = Recent::new(pairs);
        self
    }

    /// Sends a standalone chat state notification (XEP-0085 §5.5) to `to`,
    /// with a no-store hint (it is worth nothing later). Returns its id.
    pub fn send_chat_state(
        &mut self,
        cx: &mut ModuleContext<'_>,
        to: Jid,
        state: ChatState,
    ) -> Result<String, SendError> {
        let message = Message::new(MessageType::Chat)
            .with_to(to)
            .with_chat_state(state)
            .with_payload(crate::xml::Element::new(NS_HINTS, "no-store"));
        cx.send(message)
    }

    /// Sends the delivery receipt `message` asks for, if one is due: it
    /// asks for one, has an id and a sender, is no error or groupchat
    /// message, is live (not a carbon or archived copy), and was not
    /// acknowledged before. Returns the receipt's id, or `None` when none
    /// is due. With automatic receipts on, this has been done already.
    pub fn acknowledge(
        &mut self,
        cx: &mut ModuleContext<'_>,
        message: &ChatMessage,
    ) -> Result<Option<String>, SendError> {
        if !message.receipt_requested || message.provenance != Provenance::Live {
            return Ok(None);
        }
        let m = &message.message;
        if matches!(m.type_, MessageType::Error | MessageType::Groupchat) {
            return Ok(None);
        }
        let (Some(from), Some(id)) = (&m.from, &m.id) else {
            return Ok(None);
        };
        if cx
            .own_jid()
            .is_some_and(|own| own.as_str() == from.as_str())
        {
            return Ok(None);
        }
        if self.acknowledged.contains(from.as_str(), id) {
            return Ok(None);
        }
        let type_ = match m.type_ {
            MessageType::Chat => MessageType::Chat,
            _ => MessageType::Normal,
        };
        let receipt = Message::new(type_)
            .with_to(from.clone())
            .with_payload(Receipt::Received(id.clone()).into());
        let sent = cx.send(receipt)?;
        self.acknowledged.insert(from.as_str(), id);
        Ok(Some(sent))
    }

    /// Sends a chat marker (XEP-0333) for `message`, if it is markable:
    /// to the sender with the message's id, or in a groupchat to the room
    /// with the id the room gave it. Returns the marker's id, or `None`
    /// when the message cannot be marked.
    pub fn mark(
        &mut self,
        cx: &mut ModuleContext<'_>,
        message: &ChatMessage,
        kind: MarkerKind,
    ) -> Result<Option<String>, SendError> {
        let m = &message.message;
        if !message.markable || message.provenance != Provenance::Live {
            return Ok(None);
        }
        let Some(from) = &m.from else { return Ok(None) };
        let (to, id, type_) = match m.type_ {
            MessageType::Groupchat => (
                Jid::from(from.to_bare()),
                message.stanza_id.clone(),
                MessageType::Groupchat,
            ),
            MessageType::Error => return Ok(None),
            _ => (from.clone(), m.id.clone(), MessageType::Chat),
        };
        let Some(id) = id else { return Ok(None) };
        let marker = Message::new(type_)
            .with_to(to)
            .with_payload(Marker { kind, id }.into());
        cx.send(marker).map(Some)
    }

    /// True when a receipt or marker in `m` for our message `id` may be
    /// believed: it comes from the address the message went to. Checked
    /// for live messages and received carbons of one-to-one messages (a
    /// sent carbon's receipt is ours, an archive's is history, and room
    /// markers name the room's ids); anything else is dropped with a warning.
    fn acknowledges_ours(
        &self,
        cx: &mut ModuleContext<'_>,
        m: &Message,
        id: &str,
        what: &str,
    ) -> bool {
        let checked = matches!(
            cx.provenance(),
            Provenance::Live | Provenance::Carbon(Carbon::Received)
        ) && m.type_ != MessageType::Groupchat;
        if !checked {
            return true;
        }
        let from = m.from.as_ref().map(Jid::to_bare);
        let ok = from
            .as_ref()
            .is_some_and(|f| self.ours.contains(f.as_str(), id));
        if !ok {
            cx.warn(format!(
                "ignored a {what} from {} for message {id:?}, which the account did not send                  to that address (or too long ago)",
                m.from.as_ref().map_or("(no from)", Jid::as_str)
            ));
        }
        ok
    }

    /// True when `chat` was delivered already (same archive id, or same
    /// sender and origin-id) and may be dropped: a live message, a carbon
    /// or a catch-up result, never an error or an application's own
    /// archive query (history asked for is delivered whole). Remembers it
    /// otherwise.
    fn seen_before(&mut self, cx: &ModuleContext<'_>, chat: &ChatMessage) -> bool {
        let m = &chat.message;
        if m.type_ == MessageType::Error {
            return false;
        }
        let droppable = match &chat.provenance {
            Provenance::Live | Provenance::Carbon(_) => true,
            Provenance::Archive { catch_up, .. } => *catch_up,
            _ => false,
        };
        let groupchat = m.type_ == MessageType::Groupchat;
        let mut seen = false;
        if let Some(sid) = &chat.stanza_id {
            // Whose id it is: the room's for groupchat, else our archive's.
            let room;
            let by = if groupchat {
                room = m.from.as_ref().map(Jid::to_bare);
                room.as_ref().map_or("", |r| r.as_str())
            } else {
                cx.account().as_str()
            };
            seen |= !self.seen_stanza_ids.insert(by, sid);
        }
        if let (Some(oid), Some(from)) = (&chat.origin_id, &m.from) {
            // An occupant is its room JID; a contact, any of its resources.
            let bare;
            let sender = if groupchat {
                from.as_str()
            } else {
                bare = from.to_bare();
                bare.as_str()
            };
            seen |= !self.seen_origin_ids.insert(sender, oid);
        }
        droppable && seen
    }

    /// Decodes `m` and applies the rules; warnings go out through `cx`.
    fn decode(&mut self, cx: &mut ModuleContext<'_>, message: Message) -> ChatMessage {
        let m = &message;
        let provenance = cx.provenance().clone();
        let sender = m.from.as_ref().map_or("", Jid::as_str);
        // Whose stanza-id we trust: the room's for groupchat, else ours.
        // (Looked for only when there is one: most messages carry none.)
        let has_stanza_id = m.payloads.iter().any(|p| p.is(NS_SID, "stanza-id"));
        let trusted: Option<BareJid> = match m.type_ {
            _ if !has_stanza_id => None,
            MessageType::Groupchat => m.from.as_ref().map(Jid::to_bare),
            _ => Some(cx.account().clone()),
        };
        let stanza_id = match (&provenance, &trusted) {
            // An archive result: the id is the one the archive gave it in
            // the result wrapper the archive module checked (XEP-0313 §5.2).
            (Provenance::Archive { archive_id, .. }, _) => Some(archive_id.clone()),
            (_, Some(by)) => {
                let (ours, foreign) = StanzaId::read(m, by);
                if foreign {
                    cx.warn(format!(
                        "ignored a stanza-id on a message from {sender} not stamped by {by}"
                    ));
                }
                ours.map(str::to_string)
            }
            (_, None) => None,
        };
        let replaces = match Replace::of(m) {
            None => None,
            Some(id) if self.sent_by.contains(sender, id) => Some(id.to_string()),
            Some(id) => {
                cx.warn(format!(
                    "a message from {sender} claims to correct message {id:?}, which that \
                     address did not send (or too long ago): shown as a new message"
                ));
                None
            }
        };
        if m.body.is_some() {
            if let Some(id) = &m.id {
                self.sent_by.insert(sender, id);
                // Another client of the account sent it: receipts and
                // markers for it may come back in received carbons.
                if provenance == Provenance::Carbon(Carbon::Sent) {
                    if let Some(to) = &m.to {
                        self.ours.insert(to.to_bare().as_str(), id);
                    }
                }
            }
        }
        let receipt_for =
            Receipt::received_id(m).filter(|id| self.acknowledges_ours(cx, m, id, "receipt"));
        let marker =
            Marker::of(m).filter(|mk| self.acknowledges_ours(cx, m, &mk.id, "chat marker"));
        ChatMessage {
            chat_state: ChatState::of(m),
            receipt_requested: Receipt::requested(m),
            receipt_for: receipt_for.map(str::to_string),
            origin_id: OriginId::of(m).map(str::to_string),
            stanza_id,
            delay: Delay::of(m),
            replaces,
            markable: Marker::markable(m),
            marker,
            provenance,
            message,
        }
    }
}

impl Module for Messages {
    fn name(&self) -> &'static str {
        "messages"
    }

    fn features(&self) -> &[&'static str] {
        &[NS_CHAT_STATES, NS_RECEIPTS, NS_CORRECT, NS_MARKERS, NS_SID]
    }

    fn handle_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        let Stanza::Message(m) = stanza else {
            return Handled::No;
        };
        // A carbon wrapper is the carbons module's (or the application's),
        // whichever order the modules were registered in.
        if !cx.is_redispatched() && carbons::wrapped(m).is_some() {
            return Handled::No;
        }
        // Decoded in `take_stanza`, from the message itself: no copy.
        Handled::Take
    }

    fn take_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: Stanza) {
        let Stanza::Message(m) = stanza else { return };
        let chat = self.decode(cx, m);
        if self.seen_before(cx, &chat) {
            return;
        }
        if self.auto_receipts {
            // Only when online; an error here means the session is closing.
            let _ = self.acknowledge(cx, &chat);
        }
        cx.emit(Event::ChatMessage(chat));
    }

    fn on_outgoing(&mut self, stanza: &mut Stanza) {
        let Stanza::Message(m) = stanza else { return };
        if m.type_ == MessageType::Error {
            return;
        }
        if let (Some(id), Some(to), Some(_)) = (&m.id, &m.to, &m.body) {
            self.ours.insert(to.to_bare().as_str(), id);
        }
        if self.origin_ids && OriginId::of(m).is_none() {
            if let Some(id) = m.id.clone() {
                m.payloads.push(OriginId(id).into());
            }
        }
    }
}

//! XEP-0308 last message correction: `<replace id='…'/>` on a message that
//! replaces an earlier one (§3). §6 (security) and our rule: a correction
//! is accepted only from the same full JID that sent the message it
//! corrects (in a room: the same occupant, `room@service/nick`), so a
//! contact's other client, another occupant or a forged sender cannot
//! rewrite what someone else said. Anything else is shown as a new message
//! with a warning, never as a replacement.

use crate::stanza::Message;
use crate::xml::Element;

/// The XEP-0308 namespace.
pub const NS_CORRECT: &str = "urn:xmpp:message-correct:0";

/// `<replace id='…'/>`: this message corrects the message `id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Replace(pub String);

impl Replace {
    /// The id of the message this one claims to correct, if any.
    pub fn of(message: &Message) -> Option<&str> {
        message
            .payloads
            .iter()
            .find(|p| p.is(NS_CORRECT, "replace"))
            .and_then(|p| p.attr("id"))
            .filter(|id| !id.is_empty())
    }
}

impl From<Replace> for Element {
    fn from(r: Replace) -> Element {
        Element::new(NS_CORRECT, "replace").with_attr("id", r.0)
    }
}

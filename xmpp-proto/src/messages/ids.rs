//! XEP-0359 unique and stable stanza ids: the `origin-id` a sender puts on
//! every message it sends (§3.1), and the `stanza-id` an archiving entity
//! stamps (§3.2). A `stanza-id` is only as trustworthy as the entity named
//! in its `by`: anyone can write one, so it is read only when `by` is the
//! entity we trust for this message (§4: our own account for one-to-one
//! messages, the room for groupchat ones).

use crate::stanza::{BareJid, Message};
use crate::xml::Element;

/// The XEP-0359 namespace.
pub const NS_SID: &str = "urn:xmpp:sid:0";

/// `<origin-id id='…'/>`, the id the sender chose.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OriginId(pub String);

impl OriginId {
    /// The message's origin-id, if it has one.
    pub fn of(message: &Message) -> Option<&str> {
        message
            .payloads
            .iter()
            .find(|p| p.is(NS_SID, "origin-id"))
            .and_then(|p| p.attr("id"))
            .filter(|id| !id.is_empty())
    }
}

impl From<OriginId> for Element {
    fn from(id: OriginId) -> Element {
        Element::new(NS_SID, "origin-id").with_attr("id", id.0)
    }
}

/// `<stanza-id id='…' by='…'/>`, the id an archive gave the message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StanzaId {
    /// The id.
    pub id: String,
    /// Who stamped it.
    pub by: BareJid,
}

impl StanzaId {
    /// The id stamped by `by`, if the message carries one. Stanza-ids of
    /// anyone else are ignored, so a contact cannot plant an id that
    /// collides with (or replaces) one of our archive's.
    pub fn by<'m>(message: &'m Message, by: &BareJid) -> Option<&'m str> {
        message
            .payloads
            .iter()
            .filter(|p| p.is(NS_SID, "stanza-id"))
            .find(|p| p.attr("by").is_some_and(|b| names(b, by)))
            .and_then(|p| p.attr("id"))
            .filter(|id| !id.is_empty())
    }

    /// In one pass: the id stamped by `by` (as [`StanzaId::by`]), and
    /// whether any stanza-id was stamped by someone else (each `by` is
    /// compared, and if need be parsed, once).
    pub fn read<'m>(message: &'m Message, by: &BareJid) -> (Option<&'m str>, bool) {
        let mut ours = None;
        let mut foreign = false;
        for p in message
            .payloads
            .iter()
            .filter(|p| p.is(NS_SID, "stanza-id"))
        {
            if p.attr("by").is_some_and(|b| names(b, by)) {
                if ours.is_none() {
                    ours = p.attr("id").filter(|id| !id.is_empty());
                }
            } else {
                foreign = true;
            }
        }
        (ours, foreign)
    }

    /// True when the message carries a stanza-id from someone other than `by`.
    pub fn has_foreign(message: &Message, by: &BareJid) -> bool {
        message
            .payloads
            .iter()
            .filter(|p| p.is(NS_SID, "stanza-id"))
            .any(|p| !p.attr("by").is_some_and(|b| names(b, by)))
    }
}

/// True when the attribute value `text` names `jid`: the same text (the
/// common case, without parsing), or the same JID once normalized.
fn names(text: &str, jid: &BareJid) -> bool {
    text == jid.as_str() || text.parse::<BareJid>().is_ok_and(|b| b == *jid)
}

impl From<StanzaId> for Element {
    fn from(id: StanzaId) -> Element {
        Element::new(NS_SID, "stanza-id")
            .with_attr("id", id.id)
            .with_attr("by", id.by.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_trusted_stamp_is_read() {
        let own: BareJid = "juliet@capulet.lit".parse().expect("jid");
        let evil: BareJid = "romeo@montague.lit".parse().expect("jid");
        let m = Message::default()
            .with_payload(
                StanzaId {
                    id: "forged".into(),
                    by: evil.clone(),
                }
                .into(),
            )
            .with_payload(OriginId("o1".into()).into());
        assert_eq!(StanzaId::by(&m, &own), None);
        assert!(StanzaId::has_foreign(&m, &own));
        assert_eq!(StanzaId::by(&m, &evil), Some("forged"));
        assert_eq!(StanzaId::read(&m, &own), (None, true));
        assert_eq!(StanzaId::read(&m, &evil), (Some("forged"), false));
        assert_eq!(OriginId::of(&m), Some("o1"));
        let m = m.with_payload(
            StanzaId {
                id: "real".into(),
                by: own.clone(),
            }
            .into(),
        );
        assert_eq!(StanzaId::by(&m, &own), Some("real"));
        // `by` compares as a JID: case-insensitive in the domain.
        let m = Message::default().with_payload(
            Element::new(NS_SID, "stanza-id")
                .with_attr("id", "x")
                .with_attr("by", "Juliet@Capulet.LIT"),
        );
        assert_eq!(StanzaId::by(&m, &own), Some("x"));
    }
}

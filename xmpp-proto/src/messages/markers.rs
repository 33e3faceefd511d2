//! XEP-0333 chat markers: a sender marks a message `<markable/>` (§3); the
//! recipient says how far it got with `<received/>`, `<displayed/>` or
//! `<acknowledged/>` naming the message's id (§3, §4), the stanza-id the
//! room gave it in a groupchat (§3.2 of version 0.4).

use crate::stanza::Message;
use crate::xml::Element;

/// The XEP-0333 namespace.
pub const NS_MARKERS: &str = "urn:xmpp:chat-markers:0";

/// How far the recipient got with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MarkerKind {
    /// The message reached a client.
    Received,
    /// The message was shown to the user.
    Displayed,
    /// The user acknowledged it.
    Acknowledged,
}

impl MarkerKind {
    /// The element's name (`"displayed"`).
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerKind::Received => "received",
            MarkerKind::Displayed => "displayed",
            MarkerKind::Acknowledged => "acknowledged",
        }
    }
}

/// A chat marker: how far the recipient got with the message `id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Marker {
    /// Received, displayed or acknowledged.
    pub kind: MarkerKind,
    /// The id of the marked message (its stanza-id in a groupchat).
    pub id: String,
}

impl Marker {
    /// True when the message may be marked (it carries `<markable/>`).
    pub fn markable(message: &Message) -> bool {
        message
            .payloads
            .iter()
            .any(|p| p.is(NS_MARKERS, "markable"))
    }

    /// The marker the message carries, if any (one without an id marks
    /// nothing and is ignored).
    pub fn of(message: &Message) -> Option<Marker> {
        message.payloads.iter().find_map(|p| {
            if p.ns() != NS_MARKERS {
                return None;
            }
            let kind = match p.local_name() {
                "received" => MarkerKind::Received,
                "displayed" => MarkerKind::Displayed,
                "acknowledged" => MarkerKind::Acknowledged,
                _ => return None,
            };
            let id = p.attr("id").filter(|id| !id.is_empty())?;
            Some(Marker {
                kind,
                id: id.to_string(),
            })
        })
    }

    /// `<markable/>`.
    pub fn markable_element() -> Element {
        Element::new(NS_MARKERS, "markable")
    }
}

impl From<Marker> for Element {
    fn from(m: Marker) -> Element {
        Element::new(NS_MARKERS, m.kind.as_str()).with_attr("id", m.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let m = Message::default().with_payload(Marker::markable_element());
        assert!(Marker::markable(&m));
        assert_eq!(Marker::of(&m), None);
        for kind in [
            MarkerKind::Received,
            MarkerKind::Displayed,
            MarkerKind::Acknowledged,
        ] {
            let marker = Marker {
                kind,
                id: "m1".into(),
            };
            let m = Message::default().with_payload(marker.clone().into());
            assert_eq!(Marker::of(&m), Some(marker));
            assert!(!Marker::markable(&m));
        }
        let m = Message::default().with_payload(Element::new(NS_MARKERS, "displayed"));
        assert_eq!(Marker::of(&m), None, "no id");
    }
}

//! XEP-0184 message delivery receipts: a sender asks with `<request/>`
//! (§5.2), the recipient answers with `<received id='…'/>` naming the
//! message's id (§5.3). When the answer is due is decided by the
//! [`Messages`](super::Messages) module (§5.4: never to an error message;
//! never to a groupchat message; never twice for one message).

use crate::stanza::Message;
use crate::xml::Element;

/// The XEP-0184 namespace.
pub const NS_RECEIPTS: &str = "urn:xmpp:receipts";

/// A receipt element.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Receipt {
    /// `<request/>`: the sender asks for a receipt.
    Request,
    /// `<received id='…'/>`: the message with this id was delivered.
    Received(String),
}

impl Receipt {
    /// True when the message asks for a receipt.
    pub fn requested(message: &Message) -> bool {
        message
            .payloads
            .iter()
            .any(|p| p.is(NS_RECEIPTS, "request"))
    }

    /// The id of the message this one acknowledges, if it is a receipt
    /// (one without an id acknowledges nothing and is ignored).
    pub fn received_id(message: &Message) -> Option<&str> {
        message
            .payloads
            .iter()
            .find(|p| p.is(NS_RECEIPTS, "received"))
            .and_then(|p| p.attr("id"))
            .filter(|id| !id.is_empty())
    }
}

impl From<Receipt> for Element {
    fn from(receipt: Receipt) -> Element {
        match receipt {
            Receipt::Request => Element::new(NS_RECEIPTS, "request"),
            Receipt::Received(id) => Element::new(NS_RECEIPTS, "received").with_attr("id", id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_received_are_read_back() {
        let m = Message::default().with_payload(Receipt::Request.into());
        assert!(Receipt::requested(&m));
        assert_eq!(Receipt::received_id(&m), None);
        let m = Message::default().with_payload(Receipt::Received("m1".into()).into());
        assert!(!Receipt::requested(&m));
        assert_eq!(Receipt::received_id(&m), Some("m1"));
        let m = Message::default().with_payload(Element::new(NS_RECEIPTS, "received"));
        assert_eq!(
            Receipt::received_id(&m),
            None,
            "no id: acknowledges nothing"
        );
    }
}

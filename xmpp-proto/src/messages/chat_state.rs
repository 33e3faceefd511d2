//! XEP-0085 chat state notifications: the five states (§2, §5) a
//! conversation partner sends alone or with a message, at most one per
//! message (§5.3).

use crate::stanza::Message;
use crate::xml::Element;

/// The XEP-0085 namespace.
pub const NS_CHAT_STATES: &str = "http://jabber.org/protocol/chatstates";

/// A participant's state in a one-to-one conversation (XEP-0085 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChatState {
    /// Taking part in the conversation (the state every message with a body implies).
    Active,
    /// Typing a message.
    Composing,
    /// Stopped typing, for a little while.
    Paused,
    /// Not taking part, for a while.
    Inactive,
    /// Left the conversation.
    Gone,
}

impl ChatState {
    /// The element's name (`"composing"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChatState::Active => "active",
            ChatState::Composing => "composing",
            ChatState::Paused => "paused",
            ChatState::Inactive => "inactive",
            ChatState::Gone => "gone",
        }
    }

    /// The state an element of the XEP-0085 namespace names, if it is one.
    pub fn from_element(element: &Element) -> Option<Self> {
        if element.ns() != NS_CHAT_STATES {
            return None;
        }
        Some(match element.local_name() {
            "active" => ChatState::Active,
            "composing" => ChatState::Composing,
            "paused" => ChatState::Paused,
            "inactive" => ChatState::Inactive,
            "gone" => ChatState::Gone,
            _ => return None,
        })
    }

    /// The message's chat state: the first one it carries (§5.3 allows one).
    pub fn of(message: &Message) -> Option<Self> {
        message.payloads.iter().find_map(ChatState::from_element)
    }
}

impl From<ChatState> for Element {
    fn from(state: ChatState) -> Element {
        Element::new(NS_CHAT_STATES, state.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_and_foreign_elements_are_none() {
        for s in [
            ChatState::Active,
            ChatState::Composing,
            ChatState::Paused,
            ChatState::Inactive,
            ChatState::Gone,
        ] {
            assert_eq!(ChatState::from_element(&s.into()), Some(s));
        }
        assert_eq!(
            ChatState::from_element(&Element::new("urn:other", "composing")),
            None
        );
        assert_eq!(
            ChatState::from_element(&Element::new(NS_CHAT_STATES, "typing")),
            None
        );
    }
}

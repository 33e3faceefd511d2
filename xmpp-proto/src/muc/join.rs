//! Entering a room (XEP-0045 §7.2): the join presence with its
//! `<x xmlns='http://jabber.org/protocol/muc'/>` (§7.2.1), an optional
//! password (§7.2.5) and history request (§7.2.13: none, `maxstanzas`,
//! `since`, `seconds`), and why a join fails (§7.2.14).

use crate::messages::Stamp;
use crate::stanza::{BareJid, DefinedCondition, FullJid, Presence, StanzaError};
use crate::xml::Element;

use super::NS_MUC;

/// How much discussion history to ask for when joining (§7.2.13). The
/// room decides in the end ("not all service implementations support MUC
/// history management").
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum History {
    /// No request: whatever the room sends by default.
    #[default]
    Default,
    /// No history at all (`maxchars='0'`).
    None,
    /// At most this many messages (`maxstanzas`).
    MaxStanzas(u32),
    /// The messages sent since this instant (`since`).
    Since(Stamp),
    /// The messages of the last this many seconds (`seconds`).
    Seconds(u32),
    /// The messages since `since`, at most `max_stanzas` of them (the
    /// room sends the smallest amount that meets both): what a rejoin asks.
    SinceAtMost {
        /// Not before this.
        since: Stamp,
        /// At most this many.
        max_stanzas: u32,
    },
}

impl History {
    /// `<history/>`, or nothing for [`History::Default`].
    fn to_element(&self) -> Option<Element> {
        let h = Element::new(NS_MUC, "history");
        Some(match self {
            History::Default => return None,
            History::None => h.with_attr("maxchars", "0"),
            History::MaxStanzas(n) => h.with_attr("maxstanzas", n.to_string()),
            History::Since(s) => h.with_attr("since", s.as_str().to_string()),
            History::Seconds(n) => h.with_attr("seconds", n.to_string()),
            History::SinceAtMost { since, max_stanzas } => h
                .with_attr("maxstanzas", max_stanzas.to_string())
                .with_attr("since", since.as_str().to_string()),
        })
    }
}

/// A request to enter a room, for [`Muc::join`](super::Muc::join).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Join {
    /// The room's bare JID (`room@service`).
    pub room: BareJid,
    /// The nick to ask for (the room may change it: status 210).
    pub nick: String,
    /// The room's password, for a password-protected room.
    pub password: Option<String>,
    /// The history to ask for.
    pub history: History,
}

impl Join {
    /// Enter `room` as `nick`, with the room's default history.
    pub fn new(room: BareJid, nick: impl Into<String>) -> Self {
        Join {
            room,
            nick: nick.into(),
            password: None,
            history: History::Default,
        }
    }

    /// With the room's password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Asking for this much history.
    pub fn history(mut self, history: History) -> Self {
        self.history = history;
        self
    }
}

/// The join presence to `occupant` (§7.2.1).
pub(crate) fn presence(occupant: &FullJid, password: Option<&str>, history: &History) -> Presence {
    let mut x = Element::new(NS_MUC, "x");
    if let Some(h) = history.to_element() {
        x.push_child(h);
    }
    if let Some(p) = password {
        x.push_child(Element::new(NS_MUC, "password").with_text(p.to_string()));
    }
    Presence::available()
        .with_to(occupant.clone())
        .with_payload(x)
}

/// Why a room did not let us in (§7.2.14), from the error it answered the
/// join presence with (or none within the join timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinError {
    /// A password is required, or the one given is wrong (`not-authorized`).
    PasswordRequired,
    /// We are banned (`forbidden`).
    Banned,
    /// The room does not exist and may not be created (`item-not-found`).
    RoomNotFound,
    /// Creating rooms is restricted (`not-allowed`).
    CreationRestricted,
    /// The reserved nick must be used (`not-acceptable`).
    NickNotAcceptable,
    /// The room is members-only and we are not a member
    /// (`registration-required`).
    MembersOnly,
    /// The nick is in use or reserved by someone else (`conflict`).
    NickConflict,
    /// The room is full (`service-unavailable`).
    Full,
    /// Another error (see the event's stanza error).
    Other,
    /// No answer within the join timeout.
    Timeout,
}

impl JoinError {
    /// The error for a stanza error the room answered with.
    pub fn from_error(e: &StanzaError) -> Self {
        match e.condition {
            DefinedCondition::NotAuthorized => JoinError::PasswordRequired,
            DefinedCondition::Forbidden => JoinError::Banned,
            DefinedCondition::ItemNotFound => JoinError::RoomNotFound,
            DefinedCondition::NotAllowed => JoinError::CreationRestricted,
            DefinedCondition::NotAcceptable => JoinError::NickNotAcceptable,
            DefinedCondition::RegistrationRequired => JoinError::MembersOnly,
            DefinedCondition::Conflict => JoinError::NickConflict,
            DefinedCondition::ServiceUnavailable => JoinError::Full,
            _ => JoinError::Other,
        }
    }

    /// A short name for logs and the command-line client: the XMPP
    /// condition (`not-authorized`, `conflict`, ...), or `timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            JoinError::PasswordRequired => "not-authorized",
            JoinError::Banned => "forbidden",
            JoinError::RoomNotFound => "item-not-found",
            JoinError::CreationRestricted => "not-allowed",
            JoinError::NickNotAcceptable => "not-acceptable",
            JoinError::MembersOnly => "registration-required",
            JoinError::NickConflict => "conflict",
            JoinError::Full => "service-unavailable",
            JoinError::Other => "error",
            JoinError::Timeout => "timeout",
        }
    }
}

impl std::fmt::Display for JoinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JoinError::PasswordRequired => "the room needs a password, or the password is wrong",
            JoinError::Banned => "we are banned from the room",
            JoinError::RoomNotFound => "the room does not exist",
            JoinError::CreationRestricted => "the room does not exist and we may not create it",
            JoinError::NickNotAcceptable => "the room wants our reserved nick",
            JoinError::MembersOnly => "the room is members-only and we are not a member",
            JoinError::NickConflict => "the nick is in use or reserved by someone else",
            JoinError::Full => "the room is full",
            JoinError::Other => "the room refused the join",
            JoinError::Timeout => "the room did not answer the join",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stanza::{ErrorType, Stanza};

    fn xml(p: Presence) -> String {
        Stanza::Presence(p).to_element().to_xml()
    }

    #[test]
    fn the_join_presence_asks_for_history_and_gives_the_password() {
        let to: FullJid = "coven@chat.shakespeare.lit/thirdwitch"
            .parse()
            .expect("jid");
        let stamp = Stamp::parse("2002-10-13T23:58:37Z").expect("stamp");
        let cases = [
            (
                History::Default,
                "<x xmlns='http://jabber.org/protocol/muc'/>",
            ),
            (History::None, "<history maxchars='0'/>"),
            (History::MaxStanzas(20), "<history maxstanzas='20'/>"),
            (History::Seconds(180), "<history seconds='180'/>"),
            (
                History::Since(stamp.clone()),
                "<history since='2002-10-13T23:58:37Z'/>",
            ),
            (
                History::SinceAtMost {
                    since: stamp,
                    max_stanzas: 50,
                },
                "<history maxstanzas='50' since='2002-10-13T23:58:37Z'/>",
            ),
        ];
        for (history, expected) in cases {
            let sent = xml(presence(&to, None, &history));
            assert!(sent.contains(expected), "{sent}");
            assert!(
                sent.contains("to='coven@chat.shakespeare.lit/thirdwitch'"),
                "{sent}"
            );
            assert!(!sent.contains("type="), "available presence: {sent}");
        }
        let sent = xml(presence(&to, Some("cauldronburn"), &History::Default));
        assert!(sent.contains("<password>cauldronburn</password>"), "{sent}");
    }

    #[test]
    fn join_errors_name_their_condition() {
        let e = |c| StanzaError::new(ErrorType::Auth, c);
        assert_eq!(
            JoinError::from_error(&e(DefinedCondition::NotAuthorized)),
            JoinError::PasswordRequired
        );
        assert_eq!(
            JoinError::from_error(&e(DefinedCondition::Conflict)).as_str(),
            "conflict"
        );
        assert_eq!(
            JoinError::from_error(&e(DefinedCondition::RegistrationRequired)),
            JoinError::MembersOnly
        );
        assert_eq!(
            JoinError::from_error(&e(DefinedCondition::InternalServerError)),
            JoinError::Other
        );
    }
}

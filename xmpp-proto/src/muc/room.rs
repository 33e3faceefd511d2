//! One room as this client sees it: where the join stands, our nick, the
//! occupants (bounded), the subject, what the self-presence said, and the
//! rejoin memory.

use std::time::Instant;

use crate::stanza::BareJid;

use super::occupants::{Occupant, Occupants};
use super::rejoin::Seen;
use super::status::StatusCode;

/// Where we stand with a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RoomState {
    /// The join presence left; waiting for the self-presence (status 110),
    /// until `deadline`. `rejoin` after a reconnection.
    Joining { deadline: Instant, rejoin: bool },
    /// In the room.
    Joined,
    /// Our exit presence left; waiting for the room's answer until
    /// `deadline` (then we count as out anyway).
    Leaving { deadline: Instant },
}

/// A room we are in, entering or leaving ([`Muc::room`](super::Muc::room)).
#[derive(Clone, Debug)]
pub struct Room {
    pub(crate) jid: BareJid,
    /// Our nick: asked for until the self-presence, then the room's.
    pub(crate) nick: String,
    pub(crate) password: Option<String>,
    pub(crate) state: RoomState,
    pub(crate) occupants: Occupants,
    pub(crate) subject: Option<String>,
    /// The status codes of our self-presence (100, 170, 201, 210, ...).
    pub(crate) codes: Vec<StatusCode>,
    /// Between the self-presence and the subject: the room's history.
    pub(crate) in_history: bool,
    /// Rejoining: history messages seen before are dropped.
    pub(crate) replay: bool,
    /// A nick change we asked for, waiting for the room.
    pub(crate) pending_nick: Option<String>,
    pub(crate) seen: Seen,
}

impl Room {
    /// When the join or leave in progress gives up waiting for the room.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self.state {
            RoomState::Joining { deadline, .. } | RoomState::Leaving { deadline } => Some(deadline),
            RoomState::Joined => None,
        }
    }

    /// The room's bare JID.
    pub fn jid(&self) -> &BareJid {
        &self.jid
    }

    /// Our nick in the room (the one asked for, until the room answers).
    pub fn nick(&self) -> &str {
        &self.nick
    }

    /// True once the room accepted us (and until we leave or are removed).
    pub fn is_joined(&self) -> bool {
        self.state == RoomState::Joined
    }

    /// True while the join (or a rejoin) waits for the room's answer.
    pub fn is_joining(&self) -> bool {
        matches!(self.state, RoomState::Joining { .. })
    }

    /// The occupants present, us included, by nick.
    pub fn occupants(&self) -> impl Iterator<Item = &Occupant> {
        self.occupants.iter()
    }

    /// The occupant with this nick.
    pub fn occupant(&self, nick: &str) -> Option<&Occupant> {
        self.occupants.get(nick)
    }

    /// Ourselves as an occupant (affiliation, role), once joined.
    pub fn me(&self) -> Option<&Occupant> {
        self.occupants.get(&self.nick)
    }

    /// The subject, if one is set.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The status codes of our self-presence: [`StatusCode::JidsVisible`]
    /// (everyone sees our real JID), [`StatusCode::Logged`],
    /// [`StatusCode::Created`], [`StatusCode::NickModified`], ...
    pub fn status_codes(&self) -> &[StatusCode] {
        &self.codes
    }

    /// True between our self-presence and the room's subject: messages of
    /// the room arriving now are its discussion history (XEP-0045 §7.2.15).
    pub fn in_history(&self) -> bool {
        self.in_history
    }
}

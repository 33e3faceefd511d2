//! Multi-user chat (XEP-0045) and direct invitations (XEP-0249), a
//! built-in module: [`Muc`].
//!
//! - Entering a room (§7.2, `join.rs`): [`Muc::join`] with a nick,
//!   a password and a [`History`] request. The join completes on the
//!   room's self-presence (status 110): [`MucEvent::Joined`] lists the
//!   occupants present then and the self-presence's status codes (100
//!   non-anonymous, 170 logged, 201 created: accept the default
//!   configuration or submit a form, 210 nick changed by the room). A
//!   refusal is [`MucEvent::JoinFailed`] with a typed [`JoinError`]
//!   (wrong password, banned, nick in use, members-only, ...; or no answer
//!   within [`Muc::join_timeout`]).
//! - Occupants (§7.2.3, `occupants.rs`): nick, real JID
//!   when the room shows it, affiliation, role and presence, kept per room
//!   ([`Muc::room`]) and reported as [`MucEvent::OccupantJoined`],
//!   [`MucEvent::OccupantChanged`], [`MucEvent::OccupantLeft`] (with the
//!   [`Departure`]: left, kicked, banned, ...) and [`MucEvent::NickChanged`]
//!   (303, §7.6); our own nick changes with [`Muc::change_nick`].
//! - Messages (§7.4-§7.5): groupchat messages of a room we are in are left
//!   to the [`Messages`](crate::messages::Messages) module, which makes
//!   them [`Event::ChatMessage`]s (with the room's stanza-id and the rule
//!   that only the same occupant may correct a message); private messages
//!   to occupants are ordinary chat messages to `room@service/nick`
//!   ([`Muc::send_private`]). The subject (§7.2.15, §8.1) is
//!   [`MucEvent::Subject`].
//! - History told apart from live: the room sends its history after our
//!   self-presence and before the subject (§7.1 order of events), each
//!   message delayed (XEP-0203). So after [`MucEvent::Joined`], every
//!   groupchat message of that room up to the [`MucEvent::Subject`] with
//!   `initial: true` is history, and every one after it is live (a history
//!   message without the required delay also counts as live and ends the
//!   history); [`Room::in_history`] says which phase a room is in.
//! - Leaving and being removed (§7.14, `status.rs`): our own
//!   departure is always a [`MucEvent::Left`] with its [`Departure`]
//!   (left, kicked 307, banned 301, affiliation changed 321, members-only
//!   322, shutdown 332, technical error 333, room destroyed), never a
//!   silent change.
//! - Moderation, administration and configuration (`admin.rs`):
//!   kick, ban, voice, membership, admin and owner lists, the room's
//!   configuration form (fetch, submit, accept the default), destroy.
//! - Invitations (`invite.rs`): mediated (XEP-0045 §7.8.2) and
//!   direct (XEP-0249), received ([`MucEvent::Invited`], bounded) and sent.
//! - Rejoin (`rejoin.rs`): after a reconnection that is not a
//!   resumption, every room we were in (or entering) is entered again
//!   with history since the last message seen, and replayed messages seen
//!   before are dropped; [`MucEvent::Joined`] says `rejoined: true`.
//!
//! Safety. A groupchat message or an occupant presence (one with
//! `<x xmlns='http://jabber.org/protocol/muc#user'/>`) is accepted only
//! from the bare JID or an occupant JID of a room we are in (or entering
//! or leaving): one from anywhere else is dropped with a warning and
//! reaches no other module, so it never becomes a message event. This
//! module is offered messages and presences before the others
//! ([`Module::routing_priority`] [`MUC_ROUTING_PRIORITY`]), so the rule
//! holds whatever order the modules were registered in. Stanzas another
//! module unwrapped (carbons, archive results: [`Provenance`] not live)
//! are left alone: their wrapper was checked, and querying a room's
//! archive needs no membership. A real JID comes only from an `<item
//! jid/>` the room wrote, never from a nick. Everything input can grow is
//! bounded ([`MucLimits`]): rooms, occupants per room, pending
//! invitations, requests in flight, the rejoin memory.
//!
//! ```
//! use std::time::Instant;
//! use xmpp_proto::muc::{History, Join, Muc};
//! use xmpp_proto::messages::Messages;
//! # let mut client = xmpp_proto::Client::new(xmpp_proto::Config::builder(
//! #     "juliet@example.com".parse().unwrap(),
//! #     xmpp_proto::sasl::Credentials::Password("x".into()), [0; 32]).build(), Instant::now());
//! client.register(Messages::new()).unwrap();
//! client.register(Muc::new()).unwrap(); // offered room traffic first anyway
//! // Online: enter a room; Event::Muc(MucEvent::Joined { .. }) follows.
//! let room = "coven@chat.shakespeare.lit".parse().unwrap();
//! let join = Join::new(room, "thirdwitch").history(History::MaxStanzas(20));
//! let sent = client.with_module(Instant::now(), |m: &mut Muc, cx| m.join(cx, join));
//! assert!(sent.unwrap().is_err(), "not online yet");
//! ```

mod admin;
mod autojoin;
mod invite;
mod join;
mod occupants;
mod rejoin;
mod room;
mod room_messages;
mod room_presence;
mod status;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::client::{Event, Handled, IqFailure, Module, ModuleContext, Provenance, SendError};
use crate::disco::DataForm;
use crate::stanza::{BareJid, Iq, Jid, Message, MessageType, Presence, Stanza, StanzaError};
use crate::xml::Element;

pub use admin::ConfigError;
pub use invite::{Invitation, InvitationKind};
pub use join::{History, Join, JoinError};
pub use occupants::{Actor, Affiliation, MucItem, Occupant, Role};
pub use room::Room;
pub use status::{Departure, Destroyed, Removal, StatusCode};

use room::RoomState;

/// The XEP-0045 namespace of join presences.
pub const NS_MUC: &str = "http://jabber.org/protocol/muc";
/// The XEP-0045 namespace of the room's extended presence and messages.
pub const NS_MUC_USER: &str = "http://jabber.org/protocol/muc#user";
/// The XEP-0045 namespace of moderation and administration requests.
pub const NS_MUC_ADMIN: &str = "http://jabber.org/protocol/muc#admin";
/// The XEP-0045 namespace of owner requests (configuration, destruction).
pub const NS_MUC_OWNER: &str = "http://jabber.org/protocol/muc#owner";
/// The XEP-0249 namespace of direct invitations.
pub const NS_CONFERENCE: &str = "jabber:x:conference";

/// This module's [`Module::routing_priority`]: above the default 0 of the
/// modules that consume every message ([`Messages`](crate::messages::Messages))
/// or every presence ([`Presence`](crate::presence::Presence)), so room
/// traffic is checked first whatever the registration order.
pub const MUC_ROUTING_PRIORITY: i32 = 10;

/// How long a join waits for the room's answer, by default.
pub const DEFAULT_JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// How much the module keeps, at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MucLimits {
    /// Rooms joined (or being joined or left) at once; a further
    /// [`Muc::join`] is refused. Default 100.
    pub rooms: usize,
    /// Occupants tracked per room; past it, a new occupant is refused with
    /// a warning (known ones are always updated). Default 10,000.
    pub occupants: usize,
    /// Invitations received and pending; past it, a new one is dropped
    /// with a warning. Default 100.
    pub invitations: usize,
    /// Requests (moderation, configuration, ...) in flight; a further one
    /// is refused. Default 256.
    pub requests: usize,
    /// Messages remembered per room for a rejoin, and the most history
    /// asked for then (`maxstanzas`; 0 asks for none). Default 50.
    pub rejoin_history: u32,
}

impl Default for MucLimits {
    fn default() -> Self {
        MucLimits {
            rooms: 100,
            occupants: 10_000,
            invitations: 100,
            requests: 256,
            rejoin_history: 50,
        }
    }
}

/// What the multi-user chat module reports ([`Event::Muc`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MucEvent {
    /// We are in the room: its self-presence (status 110) arrived. The
    /// room's history (if any) follows, then its subject.
    Joined {
        /// The room.
        room: BareJid,
        /// Our nick, as the room gave it (status 210 when it changed it).
        nick: String,
        /// Everyone present, us included.
        occupants: Vec<Occupant>,
        /// The self-presence's status codes (100, 170, 201, 210, ...).
        codes: Vec<StatusCode>,
        /// True for a rejoin after a reconnection.
        rejoined: bool,
    },
    /// The room refused us (or did not answer); we are not in it.
    JoinFailed {
        /// The room.
        room: BareJid,
        /// The nick we asked for.
        nick: String,
        /// Why.
        error: JoinError,
        /// The room's error, when it sent one.
        stanza_error: Option<StanzaError>,
    },
    /// Someone entered the room.
    OccupantJoined {
        /// The room.
        room: BareJid,
        /// Who.
        occupant: Occupant,
    },
    /// An occupant's presence, role or affiliation changed (ours too).
    OccupantChanged {
        /// The room.
        room: BareJid,
        /// The occupant as it is now.
        occupant: Occupant,
    },
    /// Someone left the room, or was removed.
    OccupantLeft {
        /// The room.
        room: BareJid,
        /// Who (as last known).
        occupant: Occupant,
        /// Why.
        departure: Departure,
    },
    /// An occupant (or we, `own`) changed nick (status 303).
    NickChanged {
        /// The room.
        room: BareJid,
        /// The old nick.
        old: String,
        /// The occupant under its new nick.
        occupant: Occupant,
        /// True when it is us.
        own: bool,
    },
    /// The room refused our nick change.
    NickChangeFailed {
        /// The room.
        room: BareJid,
        /// The nick we asked for.
        nick: String,
        /// The room's error.
        error: StanzaError,
    },
    /// We left the room or were removed from it: we are not in it any
    /// more. Never silent.
    Left {
        /// The room.
        room: BareJid,
        /// Our nick there.
        nick: String,
        /// Why.
        departure: Departure,
    },
    /// The room's subject: on entering (`initial`, which ends the room's
    /// history), or changed since.
    Subject {
        /// The room.
        room: BareJid,
        /// The subject; `None` when there is none (an empty `<subject/>`).
        subject: Option<String>,
        /// The nick of who set it, when the room says.
        by: Option<String>,
        /// True for the subject sent on entering, after the history.
        initial: bool,
    },
    /// The room announced a change (§10.2.1: 104 configuration changed,
    /// 170-174 logging and anonymity).
    RoomStatus {
        /// The room.
        room: BareJid,
        /// The status codes.
        codes: Vec<StatusCode>,
    },
    /// An invitation to a room (kept in [`Muc::invitations`] until
    /// accepted or declined).
    Invited(Invitation),
    /// Someone declined a mediated invitation of ours.
    Declined {
        /// The room.
        room: BareJid,
        /// Who declined, as the room says.
        from: Option<Jid>,
        /// Why, if given.
        reason: Option<String>,
    },
    /// A room answered a presence of ours with an error (other than to a
    /// join or a nick change).
    Error {
        /// The room.
        room: BareJid,
        /// The error.
        error: StanzaError,
    },
    /// A change request ([`Muc::kick`], [`Muc::ban`], [`Muc::submit_config`],
    /// [`Muc::destroy`], ...) finished.
    Done {
        /// The id the command returned.
        id: String,
        /// The room.
        room: BareJid,
        /// `Ok`, or why the room did not do it.
        result: Result<(), IqFailure>,
    },
    /// The answer to [`Muc::request_affiliations`] or [`Muc::request_roles`].
    Items {
        /// The id the command returned.
        id: String,
        /// The room.
        room: BareJid,
        /// The items, or why there are none.
        result: Result<Vec<MucItem>, IqFailure>,
    },
    /// The answer to [`Muc::request_config`].
    ConfigForm {
        /// The id the command returned.
        id: String,
        /// The room.
        room: BareJid,
        /// The form (empty when the room has no options), or why none came.
        result: Result<DataForm, ConfigError>,
    },
}

/// A multi-user chat command that could not be carried out.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MucError {
    /// The stanza could not be sent (not online).
    #[error(transparent)]
    Send(#[from] SendError),
    /// We are not in that room.
    #[error("not in room {0}: join it first")]
    NotInRoom(BareJid),
    /// We are in that room already (or entering or leaving it).
    #[error("already in room {0} (or entering or leaving it)")]
    AlreadyInRoom(BareJid),
    /// [`MucLimits::rooms`] rooms are joined already.
    #[error("{limit} rooms are joined already (MucLimits::rooms): leave one first")]
    TooManyRooms {
        /// The limit.
        limit: usize,
    },
    /// Not a valid nick (an occupant JID's resource: not empty, at most
    /// 1023 bytes, resourceprep).
    #[error("{0:?} is not a valid nick")]
    InvalidNick(String),
    /// No invitation to that room is pending.
    #[error("no invitation to {0} is pending")]
    NoInvitation(BareJid),
    /// [`MucLimits::requests`] requests are in flight already.
    #[error("{limit} requests are in flight already (MucLimits::requests)")]
    TooManyRequests {
        /// The limit.
        limit: usize,
    },
}

/// The multi-user chat module. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Muc {
    limits: MucLimits,
    join_timeout: Duration,
    rooms: BTreeMap<BareJid, Room>,
    invitations: Vec<Invitation>,
    /// Requests in flight: id -> (room, what the answer is).
    requests: BTreeMap<String, (BareJid, admin::Expect)>,
    /// Join the rooms bookmarks mark autojoin (`autojoin.rs`).
    autojoin: bool,
}

impl Default for Muc {
    fn default() -> Self {
        Muc::new()
    }
}

impl Muc {
    /// No rooms, the default [`MucLimits`] and [`DEFAULT_JOIN_TIMEOUT`].
    pub fn new() -> Self {
        Muc {
            limits: MucLimits::default(),
            join_timeout: DEFAULT_JOIN_TIMEOUT,
            rooms: BTreeMap::new(),
            invitations: Vec::new(),
            requests: BTreeMap::new(),
            autojoin: true,
        }
    }

    /// Builder: whether the rooms XEP-0402 bookmarks mark autojoin are
    /// joined when the bookmarks module reports them (on by default; it
    /// needs the [`Bookmarks`](crate::bookmarks::Bookmarks) module).
    pub fn autojoin_bookmarks(mut self, on: bool) -> Self {
        self.autojoin = on;
        self
    }

    /// Builder: other limits.
    pub fn with_limits(mut self, limits: MucLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Builder: how long a join waits for the room before
    /// [`JoinError::Timeout`].
    pub fn join_timeout(mut self, timeout: Duration) -> Self {
        self.join_timeout = timeout;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> MucLimits {
        self.limits
    }

    /// The rooms we are in, entering or leaving.
    pub fn rooms(&self) -> impl Iterator<Item = &Room> {
        self.rooms.values()
    }

    /// The room `jid`, if we are in it, entering or leaving it.
    pub fn room(&self, jid: &BareJid) -> Option<&Room> {
        self.rooms.get(jid)
    }

    /// Enters a room (§7.2): sends the join presence. The outcome comes as
    /// [`MucEvent::Joined`] or [`MucEvent::JoinFailed`]. A pending
    /// invitation to the room is forgotten.
    pub fn join(&mut self, cx: &mut ModuleContext<'_>, join: Join) -> Result<(), MucError> {
        if self.rooms.contains_key(&join.room) {
            return Err(MucError::AlreadyInRoom(join.room));
        }
        if self.rooms.len() >= self.limits.rooms {
            return Err(MucError::TooManyRooms {
                limit: self.limits.rooms,
            });
        }
        let occupant = join
            .room
            .with_resource_str(&join.nick)
            .map_err(|_| MucError::InvalidNick(join.nick.clone()))?;
        cx.send(join::presence(
            &occupant,
            join.password.as_deref(),
            &join.history,
        ))?;
        self.invitations.retain(|i| i.room != join.room);
        let room = Room {
            jid: join.room.clone(),
            nick: occupant.resource().as_str().to_string(),
            password: join.password,
            state: RoomState::Joining {
                deadline: cx.now() + self.join_timeout,
                rejoin: false,
            },
            occupants: Default::default(),
            subject: None,
            codes: Vec::new(),
            in_history: false,
            replay: false,
            pending_nick: None,
            seen: rejoin::Seen::new(self.limits.rejoin_history),
        };
        self.rooms.insert(join.room, room);
        Ok(())
    }

    /// Leaves a room (§7.14), with an optional exit message. The room's
    /// answer comes as [`MucEvent::Left`] (also when it gives none within
    /// [`Muc::join_timeout`]).
    pub fn leave(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        status: Option<String>,
    ) -> Result<(), MucError> {
        let r = self
            .rooms
            .get_mut(room)
            .ok_or_else(|| MucError::NotInRoom(room.clone()))?;
        let to = occupant_jid(r, &r.nick)?;
        let mut p = Presence::unavailable().with_to(to);
        p.status = status;
        cx.send(p)?;
        r.state = RoomState::Leaving {
            deadline: cx.now() + self.join_timeout,
        };
        Ok(())
    }

    /// Asks the room for another nick (§7.6): [`MucEvent::NickChanged`]
    /// (own) or [`MucEvent::NickChangeFailed`] follows.
    pub fn change_nick(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        nick: &str,
    ) -> Result<(), MucError> {
        let r = self.joined_mut(room)?;
        let to = occupant_jid(r, nick)?;
        cx.send(Presence::available().with_to(to))?;
        r.pending_nick = Some(nick.to_string());
        Ok(())
    }

    /// Sends a message to everyone in the room (§7.4). Returns its id (the
    /// room reflects it to us with the same id, §7.4).
    pub fn send_message(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        body: impl Into<String>,
    ) -> Result<String, MucError> {
        self.joined_mut(room)?;
        Ok(cx.send(Message::groupchat(Jid::from(room.clone()), body))?)
    }

    /// Sends a private message to the occupant `nick` (§7.5), marked with
    /// `<x xmlns='http://jabber.org/protocol/muc#user'/>` for carbons.
    /// Returns its id.
    pub fn send_private(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        nick: &str,
        body: impl Into<String>,
    ) -> Result<String, MucError> {
        let r = self.joined_mut(room)?;
        let to = occupant_jid(r, nick)?;
        let m = Message::chat(to, body).with_payload(Element::new(NS_MUC_USER, "x"));
        Ok(cx.send(m)?)
    }

    /// Changes the room's subject (§8.1; `None` clears it). The room's
    /// broadcast comes back as [`MucEvent::Subject`].
    pub fn set_subject(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        subject: Option<String>,
    ) -> Result<String, MucError> {
        self.joined_mut(room)?;
        let m = Message::new(MessageType::Groupchat)
            .with_to(Jid::from(room.clone()))
            .with_subject(subject.unwrap_or_default());
        Ok(cx.send(m)?)
    }

    /// A room we are in (or entering or leaving).
    fn joined_mut(&mut self, room: &BareJid) -> Result<&mut Room, MucError> {
        self.rooms
            .get_mut(room)
            .ok_or_else(|| MucError::NotInRoom(room.clone()))
    }

    /// Enters again, after a reconnection that was not a resumption, every
    /// room we were in or entering; forgets those we were leaving.
    fn rejoin(&mut self, cx: &mut ModuleContext<'_>) {
        let leaving: Vec<BareJid> = self
            .rooms
            .values()
            .filter(|r| matches!(r.state, RoomState::Leaving { .. }))
            .map(|r| r.jid.clone())
            .collect();
        for jid in leaving {
            if let Some(r) = self.rooms.remove(&jid) {
                cx.emit(Event::Muc(MucEvent::Left {
                    room: r.jid,
                    nick: r.nick,
                    departure: Departure::Left,
                }));
            }
        }
        let deadline = cx.now() + self.join_timeout;
        for r in self.rooms.values_mut() {
            let Ok(to) = r.jid.with_resource_str(&r.nick) else {
                continue;
            };
            let history = r.seen.history();
            if let Err(e) = cx.send(join::presence(&to, r.password.as_deref(), &history)) {
                cx.warn(format!("could not rejoin {}: {e}", r.jid));
                continue;
            }
            r.state = RoomState::Joining {
                deadline,
                rejoin: true,
            };
            r.occupants.clear();
            r.codes.clear();
            r.in_history = false;
            r.replay = true;
            r.pending_nick = None;
        }
    }
}

/// `room@service/nick`, or [`MucError::InvalidNick`].
fn occupant_jid(room: &Room, nick: &str) -> Result<Jid, MucError> {
    room.jid
        .with_resource_str(nick)
        .map(Jid::from)
        .map_err(|_| MucError::InvalidNick(nick.to_string()))
}

impl Module for Muc {
    fn name(&self) -> &'static str {
        "muc"
    }

    fn features(&self) -> &[&'static str] {
        &[NS_MUC, NS_CONFERENCE]
    }

    fn routing_priority(&self) -> i32 {
        MUC_ROUTING_PRIORITY
    }

    fn observes_events(&self) -> bool {
        true
    }

    fn observe_event(&mut self, cx: &mut ModuleContext<'_>, event: &Event) {
        if let Event::Bookmarks(e) = event {
            self.on_bookmarks(cx, e);
        }
    }

    fn online(&mut self, cx: &mut ModuleContext<'_>, resumed: bool) {
        // A resumed stream kept us in our rooms; a new session is in none.
        if !resumed {
            self.rejoin(cx);
        }
    }

    fn offline(&mut self, resumable: bool) {
        if !resumable {
            for r in self.rooms.values_mut() {
                r.occupants.clear();
                r.in_history = false;
                r.pending_nick = None;
            }
        }
    }

    fn handle_stanza(&mut self, cx: &mut ModuleContext<'_>, stanza: &Stanza) -> Handled {
        // Forwarded copies (carbons, archive results) were checked with
        // their wrapper; a room's archive may be read without joining it.
        if *cx.provenance() != Provenance::Live {
            return Handled::No;
        }
        match stanza {
            Stanza::Message(m) => self.on_message(cx, m),
            Stanza::Presence(p) => self.on_presence(cx, p),
            Stanza::Iq(_) => Handled::No,
        }
    }

    fn handle_iq_response(
        &mut self,
        cx: &mut ModuleContext<'_>,
        id: &str,
        result: Result<Iq, IqFailure>,
    ) {
        self.on_answer(cx, id, result);
    }

    fn next_deadline(&self) -> Option<std::time::Instant> {
        self.rooms.values().filter_map(Room::deadline).min()
    }

    fn handle_timeout(&mut self, cx: &mut ModuleContext<'_>, now: std::time::Instant) {
        let late: Vec<BareJid> = self
            .rooms
            .values()
            .filter(|r| r.deadline().is_some_and(|d| d <= now))
            .map(|r| r.jid.clone())
            .collect();
        for jid in late {
            let Some(r) = self.rooms.remove(&jid) else {
                continue;
            };
            // No answer: a join failed; a leave is done anyway.
            let event = match r.state {
                RoomState::Leaving { .. } => MucEvent::Left {
                    room: r.jid,
                    nick: r.nick,
                    departure: Departure::Left,
                },
                _ => MucEvent::JoinFailed {
                    room: r.jid,
                    nick: r.nick,
                    error: JoinError::Timeout,
                    stanza_error: None,
                },
            };
            cx.emit(Event::Muc(event));
        }
    }
}

//! A room's presences (XEP-0045 §7.2.3 the occupants and our
//! self-presence, §7.6 nick changes, §7.14 departures, §8-§10 removals,
//! §7.2.14 join errors): the room's state kept up to date and every change
//! reported.

use crate::client::{Event, Handled, ModuleContext};
use crate::stanza::{BareJid, DefinedCondition, ErrorType, Presence, PresenceType, StanzaError};
use crate::xml::Element;

use super::occupants::{MucItem, Occupant, Update};
use super::room::RoomState;
use super::status::{self, Departure, StatusCode};
use super::{JoinError, Muc, MucEvent, NS_MUC, NS_MUC_USER};

/// What a room presence carries in its `<x xmlns='…muc#user'/>`.
struct Extended<'p> {
    x: Option<&'p Element>,
    codes: Vec<StatusCode>,
    item: Option<MucItem>,
}

impl<'p> Extended<'p> {
    fn of(p: &'p Presence) -> Self {
        let x = p.payloads.iter().find(|e| e.is(NS_MUC_USER, "x"));
        Extended {
            x,
            codes: x.map(status::codes).unwrap_or_default(),
            item: x
                .and_then(|x| x.child(NS_MUC_USER, "item"))
                .map(|i| MucItem::parse(i, NS_MUC_USER)),
        }
    }

    fn has(&self, code: StatusCode) -> bool {
        self.codes.contains(&code)
    }
}

impl Muc {
    /// A presence: the room's if it comes from a room we are in.
    pub(crate) fn on_presence(&mut self, cx: &mut ModuleContext<'_>, p: &Presence) -> Handled {
        let Some(from) = &p.from else {
            return Handled::No;
        };
        let room = from.to_bare();
        if !self.rooms.contains_key(&room) {
            let claims_room = p.payloads.iter().any(|e| e.is(NS_MUC_USER, "x"))
                || (p.type_ == PresenceType::Error && p.payloads.iter().any(|e| e.is(NS_MUC, "x")));
            if claims_room {
                cx.warn(format!(
                    "dropped a room presence from {from}: not a room we are in"
                ));
                return Handled::Yes;
            }
            return Handled::No;
        }
        let Some(nick) = from.resource().map(|r| r.as_str().to_string()) else {
            // The room's own bare JID: errors about our join, else not an
            // occupant's presence (a room's avatar, say).
            if p.type_ == PresenceType::Error {
                self.on_error(cx, &room, p);
                return Handled::Yes;
            }
            return Handled::No;
        };
        match p.type_ {
            PresenceType::Error => self.on_error(cx, &room, p),
            PresenceType::Available => self.on_available(cx, &room, &nick, p),
            PresenceType::Unavailable => self.on_unavailable(cx, &room, &nick, p),
            _ => return Handled::No,
        }
        Handled::Yes
    }

    /// An error from the room: about our join, our nick change, or else.
    fn on_error(&mut self, cx: &mut ModuleContext<'_>, room: &BareJid, p: &Presence) {
        let error = p.error.clone().unwrap_or_else(|| {
            StanzaError::new(ErrorType::Cancel, DefinedCondition::UndefinedCondition)
        });
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let event = if matches!(r.state, RoomState::Joining { .. }) {
            let nick = r.nick.clone();
            self.rooms.remove(room);
            MucEvent::JoinFailed {
                room: room.clone(),
                nick,
                error: JoinError::from_error(&error),
                stanza_error: Some(error),
            }
        } else if matches!(r.state, RoomState::Leaving { .. }) {
            // Refused while we were leaving (a join left before the exit,
            // say): we are out either way.
            let nick = r.nick.clone();
            self.rooms.remove(room);
            MucEvent::Left {
                room: room.clone(),
                nick,
                departure: Departure::Left,
            }
        } else if let Some(nick) = r.pending_nick.take() {
            MucEvent::NickChangeFailed {
                room: room.clone(),
                nick,
                error,
            }
        } else {
            MucEvent::Error {
                room: room.clone(),
                error,
            }
        };
        cx.emit(Event::Muc(event));
    }

    fn on_available(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        nick: &str,
        p: &Presence,
    ) {
        let ext = Extended::of(p);
        let occupant = Occupant::from_presence(nick, p, ext.item.as_ref());
        let limit = self.limits.occupants;
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let own = ext.has(StatusCode::SelfPresence);
        if let RoomState::Joining { rejoin, .. } = r.state {
            if !own {
                // The room's roster, before our self-presence.
                if r.occupants.update(occupant, limit) == Update::Refused {
                    refused(cx, room, nick, limit);
                }
                return;
            }
            // Ours: the join is complete (§7.2.3), under the nick the room
            // gave (210 when it changed it).
            r.nick = nick.to_string();
            r.state = RoomState::Joined;
            r.in_history = true;
            r.codes = ext.codes;
            r.occupants.update(occupant, limit.saturating_add(1));
            let event = MucEvent::Joined {
                room: room.clone(),
                nick: r.nick.clone(),
                occupants: r.occupants.iter().cloned().collect(),
                codes: r.codes.clone(),
                rejoined: rejoin,
            };
            return cx.emit(Event::Muc(event));
        }
        let me = own || nick == r.nick;
        if me && nick != r.nick {
            // The room moved us to another nick without a 303 first.
            let old = std::mem::replace(&mut r.nick, nick.to_string());
            r.occupants.remove(&old);
            r.pending_nick = None;
            r.occupants
                .update(occupant.clone(), limit.saturating_add(1));
            return cx.emit(Event::Muc(MucEvent::NickChanged {
                room: room.clone(),
                old,
                occupant,
                own: true,
            }));
        }
        let bound = if me { limit.saturating_add(1) } else { limit };
        let event = match r.occupants.update(occupant.clone(), bound) {
            Update::Added if !me => MucEvent::OccupantJoined {
                room: room.clone(),
                occupant,
            },
            Update::Added | Update::Changed => MucEvent::OccupantChanged {
                room: room.clone(),
                occupant,
            },
            Update::Same => return,
            Update::Refused => return refused(cx, room, nick, limit),
        };
        cx.emit(Event::Muc(event));
    }

    fn on_unavailable(
        &mut self,
        cx: &mut ModuleContext<'_>,
        room: &BareJid,
        nick: &str,
        p: &Presence,
    ) {
        let ext = Extended::of(p);
        let limit = self.limits.occupants;
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let joining = matches!(r.state, RoomState::Joining { .. });
        // While joining only the room's word (110) says it is us: another
        // session may share the nick we asked for.
        let me = ext.has(StatusCode::SelfPresence) || (!joining && nick == r.nick);
        // A nick change (§7.6): the new nick is in the item.
        let new_nick = ext
            .has(StatusCode::NickChanged)
            .then(|| ext.item.as_ref().and_then(|i| i.nick.clone()))
            .flatten()
            .filter(|n| room.with_resource_str(n).is_ok());
        if let Some(new) = new_nick {
            let mut occupant = r
                .occupants
                .remove(nick)
                .unwrap_or_else(|| Occupant::from_presence(nick, p, ext.item.as_ref()));
            occupant.nick = new.clone();
            if let Some(item) = &ext.item {
                occupant.jid = item.jid.clone().or(occupant.jid);
                occupant.affiliation = item.affiliation.unwrap_or(occupant.affiliation);
            }
            // A move: the count does not grow.
            r.occupants
                .update(occupant.clone(), limit.saturating_add(1));
            if joining {
                return;
            }
            if me {
                r.nick = new;
                r.pending_nick = None;
            }
            return cx.emit(Event::Muc(MucEvent::NickChanged {
                room: room.clone(),
                old: nick.to_string(),
                occupant,
                own: me,
            }));
        }
        let departure = Departure::of(&ext.codes, ext.item.as_ref(), ext.x);
        if me {
            // We are out (§7.14, or removed): never silently.
            let nick = r.nick.clone();
            self.rooms.remove(room);
            return cx.emit(Event::Muc(MucEvent::Left {
                room: room.clone(),
                nick,
                departure,
            }));
        }
        let occupant = r
            .occupants
            .remove(nick)
            .unwrap_or_else(|| Occupant::from_presence(nick, p, ext.item.as_ref()));
        if !joining {
            cx.emit(Event::Muc(MucEvent::OccupantLeft {
                room: room.clone(),
                occupant,
                departure,
            }));
        }
    }
}

fn refused(cx: &mut ModuleContext<'_>, room: &BareJid, nick: &str, limit: usize) {
    cx.warn(format!(
        "ignored the presence of {room}/{nick}: {limit} occupants of {room} are tracked \
         already (MucLimits::occupants)"
    ));
}

//! A room's messages (XEP-0045 §7.2.15 history and subject, §7.4
//! groupchat, §8.1 subject changes, §10.2.1 configuration notices) and
//! the invitations that come as messages: groupchat messages are checked
//! against the rooms we are in, then left to the messages module;
//! subjects and notices become this module's events.

use crate::client::{Event, Handled, ModuleContext};
use crate::messages::Delay;
use crate::stanza::{Message, MessageType};

use super::{invite, status, Muc, MucEvent, NS_MUC_USER};

impl Muc {
    /// A message: groupchat traffic, invitations, or not ours.
    pub(crate) fn on_message(&mut self, cx: &mut ModuleContext<'_>, m: &Message) -> Handled {
        if m.type_ == MessageType::Groupchat {
            return self.on_groupchat(cx, m);
        }
        if invite::is_invitation(m) {
            self.on_invitation(cx, m);
            return Handled::Yes;
        }
        Handled::No
    }

    fn on_groupchat(&mut self, cx: &mut ModuleContext<'_>, m: &Message) -> Handled {
        let Some(from) = &m.from else {
            cx.warn("dropped a groupchat message without a sender: no room sent it");
            return Handled::Yes;
        };
        let room = from.to_bare();
        let Some(r) = self.rooms.get_mut(&room) else {
            cx.warn(format!(
                "dropped a groupchat message from {from}: not a room we are in"
            ));
            return Handled::Yes;
        };
        let nick = from.resource().map(|n| n.as_str().to_string());
        let has_body = m.body.is_some() || !m.bodies.is_empty();
        let has_subject = m.subject.is_some() || !m.subjects.is_empty();
        // §8.1: a subject without a body (or thread) is a subject change.
        if has_subject && !has_body && m.thread.is_none() {
            let initial = r.in_history;
            r.in_history = false;
            r.replay = false;
            let subject = m
                .subject
                .clone()
                .or_else(|| m.subjects.values().next().cloned())
                .filter(|s| !s.is_empty());
            r.subject = subject.clone();
            cx.emit(Event::Muc(MucEvent::Subject {
                room,
                subject,
                by: nick,
                initial,
            }));
            return Handled::Yes;
        }
        if !has_body {
            // §10.2.1: the room's notices of configuration changes.
            let codes = m
                .payloads
                .iter()
                .find(|p| p.is(NS_MUC_USER, "x"))
                .map(status::codes)
                .unwrap_or_default();
            if nick.is_none() && !codes.is_empty() {
                cx.emit(Event::Muc(MucEvent::RoomStatus { room, codes }));
                return Handled::Yes;
            }
            // Chat states, markers, ...: the messages module's.
            return Handled::No;
        }
        let delayed = m
            .payloads
            .iter()
            .any(|p| p.is(crate::messages::NS_DELAY, "delay"));
        if r.in_history && !delayed {
            // History is delayed (§7.2.15): this one is live, so the
            // history is over even though no subject came.
            r.in_history = false;
            r.replay = false;
        }
        let history = r.in_history;
        if history && r.replay && r.seen.contains(&room, m) {
            // Replayed after a rejoin, and delivered before it: dropped,
            // no event.
            return Handled::Yes;
        }
        // The room's own stamp on its history: what a rejoin asks since.
        let stamp = history.then(|| room_delay(&room, m)).flatten();
        r.seen.record(&room, m, stamp.as_ref());
        Handled::No
    }
}

/// The last `<delay/>` the room itself stamped (its `from` is the room):
/// the one a room adds to its history, after whatever the sender put in.
fn room_delay(room: &crate::stanza::BareJid, m: &Message) -> Option<Delay> {
    m.payloads
        .iter()
        .filter(|p| p.is(crate::messages::NS_DELAY, "delay"))
        .filter_map(|p| Delay::try_from(p).ok())
        .filter(|d| {
            d.from
                .as_ref()
                .is_some_and(|f| f.resource().is_none() && f.to_bare() == *room)
        })
        .last()
}

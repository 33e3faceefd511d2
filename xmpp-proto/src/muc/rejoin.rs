//! Rejoining after a reconnection that was not a resumption (XEP-0198
//! could not keep the session, so the rooms forgot us): every room the
//! application was in (or entering) is entered again, with history since
//! the last message seen, and the history the room replays is cut where
//! it repeats what the application already had.
//!
//! The core has no wall clock, so "since the last message seen" is built
//! from what the room itself said, in two parts:
//!
//! - the request: `<history since='S' maxstanzas='N'/>` (XEP-0045
//!   §7.2.13, the room sends the smallest amount meeting both), where `S`
//!   is the newest XEP-0203 stamp seen on the room's history (live
//!   messages carry none), or `<history maxstanzas='N'/>` when no stamp
//!   was seen; `N` is [`MucLimits::rejoin_history`](super::MucLimits::rejoin_history);
//! - the filter: the ids of the last `N` messages seen in the room are
//!   remembered (the room's XEP-0359 stanza-id, else the occupant JID and
//!   the message id), and a replayed history message with one of them is
//!   dropped (no event). Because the room replays at most its last `N`
//!   messages, every one of them the application saw is among the last
//!   `N` it saw: replays up to and including the last message seen are
//!   dropped exactly, and what was missed is delivered, marked delayed.
//!
//! Limits: more than `N` messages missed leave a gap (a message archive
//! query, XEP-0313, fills it); a message with neither a stanza-id nor an
//! id cannot be recognised and is delivered again; a room that ignores
//! history requests sends what it likes (and repeats are still dropped).

use crate::messages::recent::Recent;
use crate::messages::{Delay, Stamp, StanzaId};
use crate::stanza::{BareJid, Jid, Message};

use super::join::History;

/// What a room remembers of the messages seen in it.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    ids: Recent,
    newest_stamp: Option<Stamp>,
    capacity: u32,
}

impl Seen {
    pub(crate) fn new(capacity: u32) -> Self {
        Seen {
            ids: Recent::new(capacity as usize),
            newest_stamp: None,
            capacity,
        }
    }

    /// The key a message is remembered by: the room's stanza-id, else the
    /// sender (occupant JID) and the message id; `None` when it has neither.
    fn key<'m>(room: &BareJid, m: &'m Message) -> Option<(&'m str, &'m str)> {
        if let Some(sid) = StanzaId::by(m, room) {
            // A sender is never empty: stanza-ids and message ids cannot meet.
            return Some(("", sid));
        }
        match (&m.from, &m.id) {
            (Some(from), Some(id)) if !id.is_empty() => Some((Jid::as_str(from), id)),
            _ => None,
        }
    }

    /// Remembers a message delivered to the application.
    pub(crate) fn record(&mut self, room: &BareJid, m: &Message, delay: Option<&Delay>) {
        if let Some((sender, id)) = Self::key(room, m) {
            self.ids.insert(sender, id);
        }
        if let Some(d) = delay {
            let newer = self
                .newest_stamp
                .as_ref()
                .is_none_or(|s| d.stamp.unix_time() > s.unix_time());
            if newer {
                self.newest_stamp = Some(d.stamp.clone());
            }
        }
    }

    /// True when the message was seen already.
    pub(crate) fn contains(&self, room: &BareJid, m: &Message) -> bool {
        Self::key(room, m).is_some_and(|(sender, id)| self.ids.contains(sender, id))
    }

    /// The history to ask for when rejoining.
    pub(crate) fn history(&self) -> History {
        if self.capacity == 0 {
            return History::None;
        }
        match &self.newest_stamp {
            Some(since) => History::SinceAtMost {
                since: since.clone(),
                max_stanzas: self.capacity,
            },
            None => History::MaxStanzas(self.capacity),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{NS_DELAY, NS_SID};
    use crate::xml::Element;

    fn room() -> BareJid {
        "coven@chat.shakespeare.lit".parse().expect("jid")
    }

    fn msg(from: &str, id: Option<&str>, sid: Option<(&str, &str)>) -> Message {
        let mut m = Message::groupchat(room(), "x").with_from(from.parse::<Jid>().expect("jid"));
        m.to = None;
        m.id = id.map(str::to_string);
        if let Some((sid, by)) = sid {
            m.payloads.push(
                Element::new(NS_SID, "stanza-id")
                    .with_attr("id", sid)
                    .with_attr("by", by),
            );
        }
        m
    }

    fn delay(stamp: &str) -> Delay {
        Delay::try_from(&Element::new(NS_DELAY, "delay").with_attr("stamp", stamp)).expect("delay")
    }

    #[test]
    fn messages_are_known_by_the_rooms_stanza_id_else_sender_and_id() {
        let mut seen = Seen::new(2);
        let first = msg(
            "coven@chat.shakespeare.lit/a",
            Some("m1"),
            Some(("s1", "coven@chat.shakespeare.lit")),
        );
        seen.record(&room(), &first, None);
        // The same stanza-id, whatever the message id: seen.
        assert!(seen.contains(
            &room(),
            &msg(
                "coven@chat.shakespeare.lit/b",
                None,
                Some(("s1", "coven@chat.shakespeare.lit"))
            )
        ));
        // A stanza-id stamped by someone else does not count.
        let forged = msg(
            "coven@chat.shakespeare.lit/a",
            Some("m9"),
            Some(("s1", "evil.example")),
        );
        assert!(!seen.contains(&room(), &forged));
        // Without a stanza-id: the occupant and its id.
        let plain = msg("coven@chat.shakespeare.lit/a", Some("m2"), None);
        seen.record(&room(), &plain, None);
        assert!(seen.contains(&room(), &plain));
        assert!(!seen.contains(
            &room(),
            &msg("coven@chat.shakespeare.lit/b", Some("m2"), None)
        ));
        // Neither: never recognised.
        let bare = msg("coven@chat.shakespeare.lit/a", None, None);
        seen.record(&room(), &bare, None);
        assert!(!seen.contains(&room(), &bare));
        // Bounded: the oldest is forgotten.
        seen.record(
            &room(),
            &msg("coven@chat.shakespeare.lit/a", Some("m3"), None),
            None,
        );
        assert!(!seen.contains(&room(), &first));
    }

    #[test]
    fn the_rejoin_asks_since_the_newest_stamp_seen() {
        let mut seen = Seen::new(20);
        assert_eq!(seen.history(), History::MaxStanzas(20));
        let m = msg("coven@chat.shakespeare.lit/a", Some("m1"), None);
        seen.record(&room(), &m, Some(&delay("2002-10-13T23:58:43Z")));
        seen.record(&room(), &m, Some(&delay("2002-10-13T23:58:37Z")));
        assert_eq!(
            seen.history(),
            History::SinceAtMost {
                since: Stamp::parse("2002-10-13T23:58:43Z").expect("stamp"),
                max_stanzas: 20
            }
        );
        assert_eq!(Seen::new(0).history(), History::None);
    }
}

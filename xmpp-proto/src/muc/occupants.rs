//! Occupants of a room (XEP-0045 §5 roles and affiliations, §7.2.3
//! presence broadcast, §7.2.4 real JIDs in non-anonymous rooms): the
//! `<item/>` of `http://jabber.org/protocol/muc#user` (and of
//! `muc#admin` lists), and the state kept for each occupant.
//!
//! A real JID comes only from an item's `jid` attribute, which only the
//! room writes: a nick that looks like a JID (`romeo@montague.lit`) is a
//! nick and nothing more.

use std::collections::BTreeMap;

use crate::stanza::{Jid, Presence, Show};
use crate::xml::Element;

/// An affiliation: a long-lived relation with the room (§5.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Affiliation {
    /// Owner.
    Owner,
    /// Admin.
    Admin,
    /// Member.
    Member,
    /// No affiliation.
    #[default]
    None,
    /// Banned.
    Outcast,
}

impl Affiliation {
    /// The attribute value (`"owner"`, `"admin"`, `"member"`, `"none"`, `"outcast"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Affiliation::Owner => "owner",
            Affiliation::Admin => "admin",
            Affiliation::Member => "member",
            Affiliation::None => "none",
            Affiliation::Outcast => "outcast",
        }
    }

    /// The affiliation an attribute value names.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "owner" => Affiliation::Owner,
            "admin" => Affiliation::Admin,
            "member" => Affiliation::Member,
            "none" => Affiliation::None,
            "outcast" => Affiliation::Outcast,
            _ => return None,
        })
    }
}

/// A role: a relation for the length of one visit (§5.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Moderator.
    Moderator,
    /// Participant (has voice).
    Participant,
    /// Visitor (no voice in a moderated room).
    Visitor,
    /// Not an occupant (any more).
    #[default]
    None,
}

impl Role {
    /// The attribute value (`"moderator"`, `"participant"`, `"visitor"`, `"none"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Moderator => "moderator",
            Role::Participant => "participant",
            Role::Visitor => "visitor",
            Role::None => "none",
        }
    }

    /// The role an attribute value names.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "moderator" => Role::Moderator,
            "participant" => Role::Participant,
            "visitor" => Role::Visitor,
            "none" => Role::None,
            _ => return None,
        })
    }
}

/// Who did something to an occupant (`<actor/>`): a nick in the room, a
/// JID, or both, as the room says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actor {
    /// The actor's nick in the room.
    pub nick: Option<String>,
    /// The actor's JID.
    pub jid: Option<Jid>,
}

/// An `<item/>` of `muc#user` (in a room's presence) or `muc#admin` (in
/// lists and changes): every attribute is optional on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MucItem {
    /// The occupant's or user's real JID (the `jid` attribute; in
    /// affiliation lists a bare JID).
    pub jid: Option<Jid>,
    /// A nick: the new one after a nick change (303), the reserved one in
    /// affiliation lists, the occupant's in role lists.
    pub nick: Option<String>,
    /// The affiliation.
    pub affiliation: Option<Affiliation>,
    /// The role.
    pub role: Option<Role>,
    /// Who acted (kick, ban, affiliation change).
    pub actor: Option<Actor>,
    /// Why.
    pub reason: Option<String>,
}

impl MucItem {
    /// Reads an `<item/>` of namespace `ns`. Unknown affiliations or roles
    /// and unparsable JIDs are left out (`None`), never guessed.
    pub fn parse(item: &Element, ns: &str) -> MucItem {
        let actor = item.child(ns, "actor").map(|a| Actor {
            nick: a.attr("nick").map(str::to_string),
            jid: a.attr("jid").and_then(|j| j.parse::<Jid>().ok()),
        });
        MucItem {
            jid: item.attr("jid").and_then(|j| j.parse::<Jid>().ok()),
            nick: item.attr("nick").map(str::to_string),
            affiliation: item.attr("affiliation").and_then(Affiliation::from_name),
            role: item.attr("role").and_then(Role::from_name),
            actor,
            reason: item.child_text(ns, "reason").map(|r| r.to_string()),
        }
    }

    /// The item as an element of namespace `ns` (for `muc#admin` requests).
    pub fn to_element(&self, ns: &str) -> Element {
        let mut e = Element::new(ns.to_string(), "item");
        if let Some(a) = self.affiliation {
            e.set_attr("affiliation", a.as_str());
        }
        if let Some(j) = &self.jid {
            e.set_attr("jid", j.to_string());
        }
        if let Some(n) = &self.nick {
            e.set_attr("nick", n.clone());
        }
        if let Some(r) = self.role {
            e.set_attr("role", r.as_str());
        }
        if let Some(reason) = &self.reason {
            e.push_child(Element::new(ns.to_string(), "reason").with_text(reason.clone()));
        }
        e
    }
}

/// One occupant of a room, as the room's presences describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Occupant {
    /// The nick: the resource of the occupant JID (`room@service/nick`).
    pub nick: String,
    /// The real JID, only when the room reveals it (non-anonymous rooms,
    /// or to moderators in semi-anonymous ones), from `<item jid/>`.
    /// Never derived from the nick.
    pub jid: Option<Jid>,
    /// The affiliation.
    pub affiliation: Affiliation,
    /// The role.
    pub role: Role,
    /// The availability detail of the occupant's presence.
    pub show: Option<Show>,
    /// The status text of the occupant's presence.
    pub status: Option<String>,
}

impl Occupant {
    /// The occupant described by a presence from `nick` with `item`.
    pub(crate) fn from_presence(nick: &str, p: &Presence, item: Option<&MucItem>) -> Self {
        Occupant {
            nick: nick.to_string(),
            jid: item.and_then(|i| i.jid.clone()),
            affiliation: item.and_then(|i| i.affiliation).unwrap_or_default(),
            role: item.and_then(|i| i.role).unwrap_or_default(),
            show: p.show,
            status: p.status.clone(),
        }
    }
}

/// The occupants of one room by nick, at most `limit` of them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Occupants {
    by_nick: BTreeMap<String, Occupant>,
}

/// What [`Occupants::update`] did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Update {
    /// A nick not known before.
    Added,
    /// Known, and something changed.
    Changed,
    /// Known, nothing changed.
    Same,
    /// New, and the room is full (the limit): not tracked.
    Refused,
}

impl Occupants {
    pub(crate) fn get(&self, nick: &str) -> Option<&Occupant> {
        self.by_nick.get(nick)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Occupant> {
        self.by_nick.values()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_nick.len()
    }

    pub(crate) fn clear(&mut self) {
        self.by_nick.clear();
    }

    pub(crate) fn remove(&mut self, nick: &str) -> Option<Occupant> {
        self.by_nick.remove(nick)
    }

    /// Adds or updates `occupant`; a new one only while fewer than `limit`
    /// are tracked.
    pub(crate) fn update(&mut self, occupant: Occupant, limit: usize) -> Update {
        let full = self.by_nick.len() >= limit;
        match self.by_nick.get_mut(&occupant.nick) {
            Some(known) if *known == occupant => Update::Same,
            Some(known) => {
                *known = occupant;
                Update::Changed
            }
            None if full => Update::Refused,
            None => {
                self.by_nick.insert(occupant.nick.clone(), occupant);
                Update::Added
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::muc::NS_MUC_USER;

    #[test]
    fn names_round_trip() {
        for a in [
            Affiliation::Owner,
            Affiliation::Admin,
            Affiliation::Member,
            Affiliation::None,
            Affiliation::Outcast,
        ] {
            assert_eq!(Affiliation::from_name(a.as_str()), Some(a));
        }
        for r in [
            Role::Moderator,
            Role::Participant,
            Role::Visitor,
            Role::None,
        ] {
            assert_eq!(Role::from_name(r.as_str()), Some(r));
        }
        assert_eq!(Affiliation::from_name("god"), None);
    }

    #[test]
    fn an_item_is_read_without_guessing() {
        let item = Element::new(NS_MUC_USER, "item")
            .with_attr("affiliation", "emperor")
            .with_attr("role", "participant")
            .with_attr("jid", "not a jid@@")
            .with_child(Element::new(NS_MUC_USER, "actor").with_attr("nick", "Fluellen"))
            .with_child(Element::new(NS_MUC_USER, "reason").with_text("Avaunt"));
        let i = MucItem::parse(&item, NS_MUC_USER);
        assert_eq!(i.affiliation, None);
        assert_eq!(i.role, Some(Role::Participant));
        assert_eq!(i.jid, None);
        assert_eq!(i.actor.and_then(|a| a.nick).as_deref(), Some("Fluellen"));
        assert_eq!(i.reason.as_deref(), Some("Avaunt"));
    }

    #[test]
    fn a_room_holds_at_most_its_limit() {
        let mut o = Occupants::default();
        let occ = |nick: &str| Occupant {
            nick: nick.into(),
            ..Occupant::default()
        };
        assert_eq!(o.update(occ("a"), 2), Update::Added);
        assert_eq!(o.update(occ("b"), 2), Update::Added);
        assert_eq!(o.update(occ("c"), 2), Update::Refused);
        assert_eq!(o.update(occ("a"), 2), Update::Same);
        let mut changed = occ("a");
        changed.role = Role::Moderator;
        assert_eq!(
            o.update(changed, 2),
            Update::Changed,
            "known ones always update"
        );
        assert_eq!(o.len(), 2);
    }
}

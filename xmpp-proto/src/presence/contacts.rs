//! What we know of other entities' availability (RFC 6121 §4): per bare
//! JID, the resources that sent available presence (§4.4) with their
//! `<show/>`, `<status/>` and `<priority/>` (§4.7.2), forgotten on
//! unavailable presence (§4.5); and which resource is the best one to talk
//! to (priority first, §4.7.2.3, then availability).
//!
//! Bounded: at most [`PresenceLimits::contacts`](super::PresenceLimits)
//! contacts with at least one available resource, each with at most
//! [`PresenceLimits::resources`](super::PresenceLimits) resources. A bare
//! JID with no available resource is not kept at all, so an unavailable
//! presence never adds anything.

use std::collections::BTreeMap;

use crate::stanza::{BareJid, Jid, Show};

/// An availability: what an available presence says (RFC 6121 §4.7.2),
/// ours or a contact resource's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Availability {
    /// The detail (`None`: plainly available, RFC 6121 §4.7.2.1).
    pub show: Option<Show>,
    /// The status text, in the presence's language (§4.7.2.2).
    pub status: Option<String>,
    /// The priority, -128..=127 (§4.7.2.3); a negative one means "never
    /// deliver messages sent to my bare JID to this resource".
    pub priority: i8,
}

impl Availability {
    /// Plainly available: no show, no status, priority 0.
    pub fn new() -> Self {
        Availability::default()
    }

    /// Builder: sets the availability detail.
    pub fn with_show(mut self, show: Show) -> Self {
        self.show = Some(show);
        self
    }

    /// Builder: sets the status text.
    pub fn with_status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Builder: sets the priority.
    pub fn with_priority(mut self, priority: i8) -> Self {
        self.priority = priority;
        self
    }

    /// How available this is, for choosing the best resource: `chat` (4) >
    /// no show (3) > `away` (2) > `xa` (1) > `dnd` (0).
    pub fn show_rank(&self) -> u8 {
        show_rank(self.show)
    }
}

/// `chat` > available > `away` > `xa` > `dnd`.
pub(crate) fn show_rank(show: Option<Show>) -> u8 {
    match show {
        Some(Show::Chat) => 4,
        None => 3,
        Some(Show::Away) => 2,
        Some(Show::Xa) => 1,
        Some(Show::Dnd) => 0,
    }
}

/// One available resource of a contact.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    /// The address it sent from (full, or bare when it had no resource).
    jid: Jid,
    presence: Availability,
    /// When it was last updated (a counter): the most recent wins ties.
    seq: u64,
}

impl Entry {
    /// Higher is better: priority, then show, then the most recent.
    fn rank(&self) -> (i8, u8, u64) {
        (self.presence.priority, self.presence.show_rank(), self.seq)
    }
}

/// The available resources of one contact (a bare JID), never empty while
/// it is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contact {
    /// By resource; `None` for presence sent from the bare JID itself.
    resources: BTreeMap<Option<String>, Entry>,
}

impl Contact {
    /// The available resources, by resource name (presence from the bare
    /// JID first): the address each sent from, and its availability.
    pub fn resources(&self) -> impl Iterator<Item = (&Jid, &Availability)> {
        self.resources.values().map(|e| (&e.jid, &e.presence))
    }

    /// The availability of one resource (`None`: of the bare JID itself).
    pub fn resource(&self, resource: Option<&str>) -> Option<&Availability> {
        self.resources
            .get(&resource.map(str::to_string))
            .map(|e| &e.presence)
    }

    /// How many resources are available.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// True when no resource is available (a kept contact never is).
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The best resource: highest priority, then the most available show
    /// (`chat` > none > `away` > `xa` > `dnd`), then the most recently
    /// updated.
    pub fn best(&self) -> Option<(&Jid, &Availability)> {
        self.resources
            .values()
            .max_by(|a, b| a.rank().cmp(&b.rank()))
            .map(|e| (&e.jid, &e.presence))
    }
}

/// Why an available presence was not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A new contact, and `limit` contacts are tracked already.
    TooManyContacts { limit: usize },
    /// A new resource, and the contact has `limit` already.
    TooManyResources { limit: usize },
}

/// Every contact with an available resource.
#[derive(Clone, Debug, Default)]
pub(crate) struct Contacts {
    by_jid: BTreeMap<BareJid, Contact>,
    /// Updates so far (the recency of each entry).
    seq: u64,
}

impl Contacts {
    pub(crate) fn get(&self, jid: &BareJid) -> Option<&Contact> {
        self.by_jid.get(jid)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&BareJid, &Contact)> {
        self.by_jid.iter()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_jid.len()
    }

    pub(crate) fn clear(&mut self) {
        self.by_jid.clear();
    }

    /// An available presence from `from`: records or updates its resource,
    /// within the limits.
    pub(crate) fn available(
        &mut self,
        from: &Jid,
        presence: Availability,
        max_contacts: usize,
        max_resources: usize,
    ) -> Result<(), Refused> {
        let bare = from.to_bare();
        let resource = from.resource().map(|r| r.as_str().to_string());
        if !self.by_jid.contains_key(&bare) {
            if self.by_jid.len() >= max_contacts {
                return Err(Refused::TooManyContacts {
                    limit: max_contacts,
                });
            }
            if max_resources == 0 {
                return Err(Refused::TooManyResources {
                    limit: max_resources,
                });
            }
        }
        let contact = self.by_jid.entry(bare).or_default();
        if !contact.resources.contains_key(&resource) && contact.resources.len() >= max_resources {
            return Err(Refused::TooManyResources {
                limit: max_resources,
            });
        }
        self.seq += 1;
        contact.resources.insert(
            resource,
            Entry {
                jid: from.clone(),
                presence,
                seq: self.seq,
            },
        );
        Ok(())
    }

    /// An unavailable presence from `from`: forgets that resource, or every
    /// resource when `from` is a bare JID. Returns how many were forgotten.
    pub(crate) fn unavailable(&mut self, from: &Jid) -> usize {
        let bare = from.to_bare();
        let Some(contact) = self.by_jid.get_mut(&bare) else {
            return 0;
        };
        let removed = match from.resource() {
            None => std::mem::take(&mut contact.resources).len(),
            Some(r) => usize::from(
                contact
                    .resources
                    .remove(&Some(r.as_str().to_string()))
                    .is_some(),
            ),
        };
        if contact.resources.is_empty() {
            self.by_jid.remove(&bare);
        }
        removed
    }

    /// Forgets every resource of `jid`; returns how many there were.
    pub(crate) fn forget(&mut self, jid: &BareJid) -> usize {
        self.by_jid.remove(jid).map_or(0, |c| c.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().expect("jid")
    }

    fn bare(s: &str) -> BareJid {
        s.parse().expect("jid")
    }

    fn avail(show: Option<Show>, priority: i8) -> Availability {
        Availability {
            show,
            status: None,
            priority,
        }
    }

    #[test]
    fn show_ranks_chat_first_and_dnd_last() {
        let order = [
            Some(Show::Chat),
            None,
            Some(Show::Away),
            Some(Show::Xa),
            Some(Show::Dnd),
        ];
        for pair in order.windows(2) {
            assert!(show_rank(pair[0]) > show_rank(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn best_is_priority_then_show_then_most_recent() {
        let mut c = Contacts::default();
        let romeo = bare("romeo@example.net");
        c.available(
            &jid("romeo@example.net/a"),
            avail(Some(Show::Away), 5),
            10,
            10,
        )
        .unwrap();
        c.available(
            &jid("romeo@example.net/b"),
            avail(Some(Show::Chat), 1),
            10,
            10,
        )
        .unwrap();
        let best = |c: &Contacts| c.get(&romeo).unwrap().best().unwrap().0.to_string();
        assert_eq!(best(&c), "romeo@example.net/a", "priority first");
        c.available(
            &jid("romeo@example.net/b"),
            avail(Some(Show::Chat), 5),
            10,
            10,
        )
        .unwrap();
        assert_eq!(best(&c), "romeo@example.net/b", "then show");
        c.available(
            &jid("romeo@example.net/a"),
            avail(Some(Show::Chat), 5),
            10,
            10,
        )
        .unwrap();
        assert_eq!(best(&c), "romeo@example.net/a", "then the most recent");
        assert_eq!(c.unavailable(&jid("romeo@example.net/a")), 1);
        assert_eq!(best(&c), "romeo@example.net/b");
    }

    #[test]
    fn unavailable_from_the_bare_jid_clears_every_resource() {
        let mut c = Contacts::default();
        for r in [
            "romeo@example.net/a",
            "romeo@example.net/b",
            "romeo@example.net",
        ] {
            c.available(&jid(r), Availability::new(), 10, 10).unwrap();
        }
        let contact = c.get(&bare("romeo@example.net")).unwrap();
        assert_eq!(contact.len(), 3);
        assert!(contact.resource(None).is_some(), "the bare JID's own entry");
        assert!(contact.resource(Some("a")).is_some());
        assert_eq!(c.unavailable(&jid("romeo@example.net")), 3);
        assert!(c.get(&bare("romeo@example.net")).is_none());
        assert_eq!(c.len(), 0);
        // Nothing is added by an unavailable presence.
        assert_eq!(c.unavailable(&jid("tybalt@example.net/x")), 0);
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn limits_refuse_new_contacts_and_resources_but_not_updates() {
        let mut c = Contacts::default();
        c.available(&jid("a@example.net/1"), Availability::new(), 2, 2)
            .unwrap();
        c.available(&jid("b@example.net/1"), Availability::new(), 2, 2)
            .unwrap();
        assert_eq!(
            c.available(&jid("c@example.net/1"), Availability::new(), 2, 2),
            Err(Refused::TooManyContacts { limit: 2 })
        );
        c.available(&jid("a@example.net/2"), Availability::new(), 2, 2)
            .unwrap();
        assert_eq!(
            c.available(&jid("a@example.net/3"), Availability::new(), 2, 2),
            Err(Refused::TooManyResources { limit: 2 })
        );
        // Updating a known resource is always allowed.
        c.available(&jid("a@example.net/2"), avail(Some(Show::Dnd), 3), 2, 2)
            .unwrap();
        assert_eq!(c.get(&bare("a@example.net")).unwrap().len(), 2);
        // A zero resource limit keeps nothing (and no empty contact).
        let mut z = Contacts::default();
        assert_eq!(
            z.available(&jid("a@example.net/1"), Availability::new(), 2, 0),
            Err(Refused::TooManyResources { limit: 0 })
        );
        assert_eq!(z.len(), 0);
    }

    #[test]
    fn forget_drops_a_contact() {
        let mut c = Contacts::default();
        c.available(&jid("a@example.net/1"), Availability::new(), 2, 2)
            .unwrap();
        assert_eq!(c.forget(&bare("a@example.net")), 1);
        assert_eq!(c.forget(&bare("a@example.net")), 0);
    }
}

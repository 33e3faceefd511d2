//! Incoming subscription requests awaiting an answer (RFC 6121 §3.1.2-§3.1.5):
//! a contact's `subscribe` stays pending until the user approves it
//! (`subscribed`, §3.1.5), denies it (`unsubscribed`, §3.1.4, or §3.2 once
//! subscribed), or the contact withdraws it (`unsubscribe`, §3.3).
//!
//! The server keeps the authoritative copy and delivers pending requests
//! again each time we send initial presence (§3.1.3), so this list only
//! covers the current session and is bounded
//! ([`PresenceLimits::pending_requests`](super::PresenceLimits)).

use std::collections::BTreeMap;

use crate::stanza::BareJid;

/// The pending incoming requests: who asked, with the status text they
/// sent along (if any).
#[derive(Clone, Debug, Default)]
pub(crate) struct Pending {
    by_jid: BTreeMap<BareJid, Option<String>>,
}

impl Pending {
    /// Records a request (again: the status is replaced). `false` when
    /// `max` requests are pending already and this one is new.
    pub(crate) fn add(&mut self, from: BareJid, status: Option<String>, max: usize) -> bool {
        if let Some(s) = self.by_jid.get_mut(&from) {
            *s = status;
            return true;
        }
        if self.by_jid.len() >= max {
            return false;
        }
        self.by_jid.insert(from, status);
        true
    }

    /// Forgets the request from `jid`; `true` when there was one.
    pub(crate) fn remove(&mut self, jid: &BareJid) -> bool {
        self.by_jid.remove(jid).is_some()
    }

    pub(crate) fn contains(&self, jid: &BareJid) -> bool {
        self.by_jid.contains_key(jid)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&BareJid, Option<&str>)> {
        self.by_jid.iter().map(|(j, s)| (j, s.as_deref()))
    }

    pub(crate) fn clear(&mut self) {
        self.by_jid.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bare(s: &str) -> BareJid {
        s.parse().expect("jid")
    }

    #[test]
    fn requests_are_bounded_and_a_repeat_replaces_the_status() {
        let mut p = Pending::default();
        assert!(p.add(bare("a@example.net"), None, 2));
        assert!(p.add(bare("b@example.net"), None, 2));
        assert!(!p.add(bare("c@example.net"), None, 2), "full");
        assert!(
            p.add(bare("a@example.net"), Some("hi".into()), 2),
            "a repeat"
        );
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            [
                (&bare("a@example.net"), Some("hi")),
                (&bare("b@example.net"), None)
            ]
        );
        assert!(p.remove(&bare("a@example.net")));
        assert!(!p.remove(&bare("a@example.net")));
        assert!(!p.contains(&bare("a@example.net")));
        p.clear();
        assert_eq!(p.iter().count(), 0);
    }
}

//! The unacknowledged outgoing stanzas (XEP-0198 §4, §5): each stanza
//! written while stream management counts is kept, as the bytes that went
//! out, until an `h` from the server covers it. The queue is bounded
//! ([`SmConfig::max_unacked`](super::SmConfig::max_unacked)): past the
//! bound the application's and the modules' sends are refused with
//! [`SendError::QueueFull`](crate::SendError::QueueFull), never dropped;
//! the core's own answers (to IQ requests) may go on up to twice the bound,
//! past which a server that acknowledges nothing loses the connection
//! ([`SmError::TooManyUnacked`](super::SmError::TooManyUnacked)).
//!
//! It lives in the outbox, where every stanza is written, so that nothing
//! leaves uncounted: the modules' sends, the core's answers, raw stanzas.

use std::collections::VecDeque;

use super::counter::{judge, Verdict};

/// Which stanza an unacknowledged entry is: after a lost session only
/// messages are sent again (the modules restore presence, IQs failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `<message/>`
    Message,
    /// `<presence/>`
    Presence,
    /// `<iq/>`
    Iq,
}

impl Kind {
    /// The stanza kind of a top-level element name in `jabber:client`.
    pub(crate) fn of(local_name: &str) -> Option<Kind> {
        match local_name {
            "message" => Some(Kind::Message),
            "presence" => Some(Kind::Presence),
            "iq" => Some(Kind::Iq),
            _ => None,
        }
    }
}

/// One stanza sent and not yet acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unacked {
    pub(crate) kind: Kind,
    /// Its `id`, if it has one (a raw stanza may not).
    pub(crate) id: Option<String>,
    /// The bytes that went out, to be sent again as they are.
    pub(crate) bytes: Box<[u8]>,
}

/// `<r xmlns='urn:xmpp:sm:3'/>`, the request for an ack.
pub(crate) const REQUEST: &[u8] = b"<r xmlns='urn:xmpp:sm:3'/>";

/// The outgoing side of stream management.
#[derive(Debug)]
pub(crate) struct SmQueue {
    /// Stanzas written are counted and kept (from `<enable/>` or a resume on).
    pub(crate) counting: bool,
    /// The last `h` the server sent (or 0 from `<enable/>`), mod 2^32.
    pub(crate) acked: u32,
    entries: VecDeque<Unacked>,
    /// Sends of the application and the modules are refused at this length.
    pub(crate) max: usize,
    /// Request an ack after this many stanzas.
    pub(crate) every: u32,
    /// Stanzas written since the last `<r/>`.
    pub(crate) since_request: u32,
    /// The queue passed twice its bound (the core's own answers): the
    /// connection is to end.
    pub(crate) overflow: bool,
}

impl SmQueue {
    pub(crate) fn new(max: usize, every: u32) -> Self {
        SmQueue {
            counting: false,
            acked: 0,
            entries: VecDeque::new(),
            max: max.max(1),
            every: every.max(1),
            since_request: 0,
            overflow: false,
        }
    }

    /// Our count of stanzas sent, mod 2^32.
    pub(crate) fn sent(&self) -> u32 {
        // The queue is bounded far below 2^32 entries.
        self.acked.wrapping_add(self.entries.len() as u32)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when `extra` more sends of the application or a module would
    /// pass the bound.
    pub(crate) fn is_full(&self, extra: usize) -> bool {
        self.counting && self.entries.len().saturating_add(extra) >= self.max
    }

    /// Starts counting afresh (after `<enable/>`): returns what an earlier
    /// session left unacknowledged.
    pub(crate) fn restart(&mut self, counting: bool) -> VecDeque<Unacked> {
        self.counting = counting;
        self.acked = 0;
        self.since_request = 0;
        self.overflow = false;
        std::mem::take(&mut self.entries)
    }

    /// Stops counting: returns every unacknowledged stanza.
    pub(crate) fn stop(&mut self) -> VecDeque<Unacked> {
        self.restart(false)
    }

    /// Counting from an imported state: `acked` and the stanzas after it.
    pub(crate) fn import(&mut self, acked: u32, entries: Vec<Unacked>) {
        self.counting = true;
        self.acked = acked;
        self.since_request = 0;
        self.entries = entries.into();
    }

    /// Keeps a stanza just written. True when an ack is to be requested
    /// now (every [`SmQueue::every`] stanzas).
    pub(crate) fn push(&mut self, entry: Unacked) -> bool {
        self.entries.push_back(entry);
        if self.entries.len() > self.max.saturating_mul(2) {
            self.overflow = true;
        }
        self.since_request = self.since_request.saturating_add(1);
        if self.since_request >= self.every {
            self.since_request = 0;
            return true;
        }
        false
    }

    /// Applies an `h` from the server: the newly acknowledged stanzas, in
    /// the order they were sent, or why the `h` is refused (nothing changes).
    pub(crate) fn ack(&mut self, h: u32) -> Result<Vec<Unacked>, Verdict> {
        match judge(self.acked, self.sent(), h) {
            Verdict::Handled(n) => {
                self.acked = h;
                Ok(self.entries.drain(..n).collect())
            }
            refused => Err(refused),
        }
    }

    /// Takes `h` as the count of stanzas sent, whatever ours says: every
    /// stanza kept is acknowledged (an imported state: the process that
    /// saved it sent more before it ended).
    pub(crate) fn adopt(&mut self, h: u32) -> Vec<Unacked> {
        self.acked = h;
        self.entries.drain(..).collect()
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &Unacked> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Unacked {
        Unacked {
            kind: Kind::Message,
            id: Some(id.into()),
            bytes: id.as_bytes().into(),
        }
    }

    fn ids(entries: &[Unacked]) -> Vec<&str> {
        entries.iter().filter_map(|e| e.id.as_deref()).collect()
    }

    #[test]
    fn acks_drain_in_order_and_requests_come_every_n() {
        let mut q = SmQueue::new(10, 2);
        q.restart(true);
        assert!(!q.push(entry("a")));
        assert!(q.push(entry("b")), "the second stanza asks for an ack");
        assert!(!q.push(entry("c")));
        assert_eq!(q.sent(), 3);
        assert_eq!(ids(&q.ack(2).unwrap()), ["a", "b"]);
        assert_eq!(ids(&q.ack(2).unwrap()), Vec::<&str>::new());
        assert_eq!(q.ack(4), Err(Verdict::TooHigh));
        assert_eq!(q.ack(1), Err(Verdict::Backwards));
        assert_eq!(q.len(), 1);
        assert_eq!(ids(&q.ack(3).unwrap()), ["c"]);
    }

    #[test]
    fn the_bound_refuses_sends_and_twice_the_bound_overflows() {
        let mut q = SmQueue::new(2, 100);
        assert!(!q.is_full(5), "not counting: no bound");
        q.restart(true);
        q.push(entry("a"));
        assert!(!q.is_full(0));
        assert!(q.is_full(1));
        q.push(entry("b"));
        assert!(q.is_full(0));
        q.push(entry("c"));
        q.push(entry("d"));
        assert!(!q.overflow);
        q.push(entry("e"));
        assert!(q.overflow);
        assert_eq!(ids(&q.stop().into_iter().collect::<Vec<_>>()).len(), 5);
        assert!(!q.counting && !q.overflow && q.len() == 0);
    }
}

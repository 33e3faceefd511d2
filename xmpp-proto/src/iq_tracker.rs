//! Outstanding IQ requests, so that only genuine responses are accepted.
//!
//! RFC 6120 §8.2.3 pairs every `get`/`set` with exactly one `result` or
//! `error` carrying the same `id`, and §10.1 (with §8.1.2.1 and §10.3.3)
//! fixes who may answer: the entity the request was addressed to, or, for
//! a request with no `to` (addressed to the account itself), the server on
//! the account's behalf. A response whose `id` matches but whose sender
//! does not is a spoofing attempt and is refused, leaving the request
//! waiting for the genuine answer.
//!
//! The tracker is sans-IO: deadlines are [`Instant`]s the caller computes;
//! [`IqTracker::poll_timeout`] says when to call [`IqTracker::expire`].
//! Lookups by id are O(1) (a hash map), deadline bookkeeping O(log n) (an
//! ordered map); every list it returns is in deadline order, then
//! registration order, so results never depend on hashing.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use xmpp_proto::iq_tracker::{IqTracker, ResponseMatch};
//! use xmpp_proto::stanza::{FullJid, Jid};
//!
//! let me: FullJid = "juliet@example.com/balcony".parse().unwrap();
//! let now = Instant::now();
//! let mut tracker = IqTracker::new();
//! let peer: Jid = "romeo@example.net/orchard".parse().unwrap();
//! tracker.register("v1".into(), Some(peer.clone()), now + Duration::from_secs(30)).unwrap();
//!
//! let mallory: Jid = "mallory@evil.example".parse().unwrap();
//! assert!(matches!(tracker.on_response(Some(&mallory), "v1", &me), ResponseMatch::Spoofed { .. }));
//! assert_eq!(tracker.on_response(Some(&peer), "v1", &me), ResponseMatch::Accepted);
//! assert_eq!(tracker.on_response(Some(&peer), "v1", &me), ResponseMatch::Unknown);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::stanza::{FullJid, Jid};

/// How many requests may be outstanding unless configured otherwise.
pub const DEFAULT_MAX_PENDING: usize = 1024;

/// Why a request could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrackerError {
    /// A request with this id is already outstanding.
    #[error("an IQ request with id {id:?} is already outstanding")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// The configured number of outstanding requests is reached.
    #[error("{max} IQ requests are already outstanding (the configured limit)")]
    Full {
        /// The limit.
        max: usize,
    },
}

/// What a received `result`/`error` IQ is, with respect to our requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseMatch {
    /// The genuine response: the request is complete and forgotten.
    Accepted,
    /// The id matches an outstanding request but the sender is not the one
    /// the request was addressed to. The request stays outstanding.
    Spoofed {
        /// The request's id.
        id: String,
        /// Where the request was sent (`None`: to the account itself).
        expected: Option<Jid>,
        /// Who the response claims to come from.
        got: Option<Jid>,
    },
    /// No outstanding request has this id (late, duplicate or unsolicited).
    Unknown,
}

/// Deadline order: when, then registration sequence (ties and equal deadlines).
type DeadlineKey = (Instant, u64);

#[derive(Debug)]
struct Pending {
    to: Option<Jid>,
    key: DeadlineKey,
}

/// The set of outstanding IQ requests of one session.
#[derive(Debug)]
pub struct IqTracker {
    by_id: HashMap<String, Pending>,
    by_deadline: BTreeMap<DeadlineKey, String>,
    next_seq: u64,
    max_pending: usize,
}

impl Default for IqTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl IqTracker {
    /// A tracker allowing [`DEFAULT_MAX_PENDING`] outstanding requests.
    pub fn new() -> Self {
        Self::with_max_pending(DEFAULT_MAX_PENDING)
    }

    /// A tracker allowing `max_pending` outstanding requests.
    pub fn with_max_pending(max_pending: usize) -> Self {
        IqTracker {
            by_id: HashMap::new(),
            by_deadline: BTreeMap::new(),
            next_seq: 0,
            max_pending,
        }
    }

    /// The configured limit of outstanding requests.
    pub fn max_pending(&self) -> usize {
        self.max_pending
    }

    /// How many requests are outstanding.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no request is outstanding.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// True when a request with this id is outstanding.
    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    /// Records a `get`/`set` request sent with `id` to `to` (`None` for the
    /// account itself), to be answered by `deadline`.
    pub fn register(
        &mut self,
        id: String,
        to: Option<Jid>,
        deadline: Instant,
    ) -> Result<(), TrackerError> {
        if self.by_id.contains_key(&id) {
            return Err(TrackerError::DuplicateId { id });
        }
        if self.by_id.len() >= self.max_pending {
            return Err(TrackerError::Full {
                max: self.max_pending,
            });
        }
        let key = (deadline, self.next_seq);
        self.next_seq += 1;
        self.by_deadline.insert(key, id.clone());
        self.by_id.insert(id, Pending { to, key });
        Ok(())
    }

    /// Matches a received `result` or `error` IQ (sender `iq_from`, which
    /// is `None` when the stanza has no `from`) against the outstanding
    /// requests. `own_full_jid` is the session's bound address.
    ///
    /// Accepted senders, JIDs compared in normalized form:
    /// - request without `to`: no `from`, our bare JID, our full JID, or
    ///   our server's domain (servers answer for the account, RFC 6120
    ///   §10.3.3, and some stamp their domain);
    /// - request to our own bare JID: no `from`, our bare JID or our full JID;
    /// - request to any other address: exactly that address.
    pub fn on_response(
        &mut self,
        iq_from: Option<&Jid>,
        id: &str,
        own_full_jid: &FullJid,
    ) -> ResponseMatch {
        let Some(pending) = self.by_id.get(id) else {
            return ResponseMatch::Unknown;
        };
        if !sender_allowed(pending.to.as_ref(), iq_from, own_full_jid) {
            return ResponseMatch::Spoofed {
                id: id.to_string(),
                expected: pending.to.clone(),
                got: iq_from.cloned(),
            };
        }
        self.remove(id);
        ResponseMatch::Accepted
    }

    /// Forgets the request `id` (e.g. the caller gave up on it); true if it
    /// was outstanding.
    pub fn cancel(&mut self, id: &str) -> bool {
        self.remove(id)
    }

    /// The earliest deadline of an outstanding request.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.by_deadline.first_key_value().map(|((at, _), _)| *at)
    }

    /// Removes and returns the ids of the requests whose deadline is at or
    /// before `now`, earliest first.
    pub fn expire(&mut self, now: Instant) -> Vec<String> {
        let mut expired = Vec::new();
        while let Some(entry) = self.by_deadline.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let id = entry.remove();
            self.by_id.remove(&id);
            expired.push(id);
        }
        expired
    }

    /// Removes and returns every outstanding id, earliest deadline first
    /// (on disconnect: no response can arrive any more).
    pub fn cancel_all(&mut self) -> Vec<String> {
        self.by_id.clear();
        std::mem::take(&mut self.by_deadline)
            .into_values()
            .collect()
    }

    fn remove(&mut self, id: &str) -> bool {
        match self.by_id.remove(id) {
            Some(p) => {
                self.by_deadline.remove(&p.key);
                true
            }
            None => false,
        }
    }
}

/// True when `from` may answer a request sent to `to` (see
/// [`IqTracker::on_response`]).
fn sender_allowed(to: Option<&Jid>, from: Option<&Jid>, own: &FullJid) -> bool {
    let is_own_bare = |j: &Jid| {
        j.resource().is_none()
            && j.domain() == own.domain()
            && j.node().map(|n| n.as_str()) == own.node().map(|n| n.as_str())
    };
    let is_own_full = |j: &Jid| j.as_str() == own.as_str();
    let is_own_domain =
        |j: &Jid| j.node().is_none() && j.resource().is_none() && j.domain() == own.domain();
    match (to, from) {
        (None, None) => true,
        (None, Some(f)) => is_own_bare(f) || is_own_full(f) || is_own_domain(f),
        (Some(t), None) => is_own_bare(t),
        (Some(t), Some(f)) => f == t || (is_own_bare(t) && is_own_full(f)),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn jid(s: &str) -> Jid {
        s.parse().unwrap()
    }

    fn me() -> FullJid {
        "juliet@example.com/balcony".parse().unwrap()
    }

    fn t0() -> Instant {
        Instant::now()
    }

    /// Registers `id` to `to` and feeds one response from `from`.
    fn respond(to: Option<&str>, from: Option<&str>) -> ResponseMatch {
        let mut t = IqTracker::new();
        t.register("q".into(), to.map(jid), t0() + Duration::from_secs(5))
            .unwrap();
        let from = from.map(jid);
        let r = t.on_response(from.as_ref(), "q", &me());
        // Accepted removes the request; anything else leaves it pending.
        assert_eq!(t.contains("q"), r != ResponseMatch::Accepted);
        r
    }

    fn accepted(to: Option<&str>, from: Option<&str>) -> bool {
        respond(to, from) == ResponseMatch::Accepted
    }

    #[test]
    fn request_to_the_account_itself() {
        assert!(accepted(None, None));
        assert!(accepted(None, Some("juliet@example.com")));
        assert!(accepted(None, Some("juliet@example.com/balcony")));
        assert!(accepted(None, Some("example.com")));
        // Normalized comparison: case differences in node and domain match.
        assert!(accepted(None, Some("Juliet@EXAMPLE.com")));
        assert!(accepted(None, Some("EXAMPLE.COM")));
        // Not us, not our server.
        assert!(!accepted(None, Some("juliet@example.com/chamber")));
        assert!(!accepted(None, Some("romeo@example.net")));
        assert!(!accepted(None, Some("example.net")));
        assert!(!accepted(None, Some("example.com/balcony")));
        assert!(!accepted(None, Some("juliet@evil.example.com")));
        // The resource is case-sensitive (resourceprep does not fold case).
        assert!(!accepted(None, Some("juliet@example.com/Balcony")));
    }

    #[test]
    fn request_to_own_bare_jid() {
        let bare = Some("juliet@example.com");
        assert!(accepted(bare, None));
        assert!(accepted(bare, Some("juliet@example.com")));
        assert!(accepted(bare, Some("juliet@example.com/balcony")));
        assert!(!accepted(bare, Some("juliet@example.com/chamber")));
        assert!(!accepted(bare, Some("example.com")));
        assert!(!accepted(bare, Some("romeo@example.net")));
    }

    #[test]
    fn request_to_another_address() {
        let peer = Some("romeo@example.net/orchard");
        assert!(accepted(peer, Some("romeo@example.net/orchard")));
        assert!(accepted(peer, Some("ROMEO@example.NET/orchard")));
        assert!(!accepted(peer, None));
        assert!(!accepted(peer, Some("romeo@example.net")));
        assert!(!accepted(peer, Some("romeo@example.net/garden")));
        assert!(!accepted(peer, Some("example.com")));
        assert!(!accepted(peer, Some("juliet@example.com")));
        assert!(!accepted(peer, Some("juliet@example.com/balcony")));
        // A request to our server's domain wants the server's answer only.
        let server = Some("example.com");
        assert!(accepted(server, Some("example.com")));
        assert!(!accepted(server, None));
        assert!(!accepted(server, Some("juliet@example.com")));
        // A request to a bare contact JID: only that bare JID.
        let contact = Some("romeo@example.net");
        assert!(accepted(contact, Some("romeo@example.net")));
        assert!(!accepted(contact, Some("romeo@example.net/orchard")));
        // Our own full JID (an IQ to ourselves): only that JID.
        let own_full = Some("juliet@example.com/balcony");
        assert!(accepted(own_full, Some("juliet@example.com/balcony")));
        assert!(!accepted(own_full, None));
    }

    #[test]
    fn spoofed_responses_are_reported_and_the_request_survives() {
        let mut t = IqTracker::new();
        let peer = jid("romeo@example.net/orchard");
        let deadline = t0() + Duration::from_secs(5);
        t.register("q".into(), Some(peer.clone()), deadline)
            .unwrap();
        let mallory = jid("mallory@example.org");
        assert_eq!(
            t.on_response(Some(&mallory), "q", &me()),
            ResponseMatch::Spoofed {
                id: "q".into(),
                expected: Some(peer.clone()),
                got: Some(mallory)
            }
        );
        assert_eq!(t.poll_timeout(), Some(deadline));
        assert_eq!(
            t.on_response(Some(&peer), "q", &me()),
            ResponseMatch::Accepted
        );
        assert!(t.is_empty());
        assert_eq!(t.poll_timeout(), None);
    }

    #[test]
    fn unknown_ids() {
        let mut t = IqTracker::new();
        assert_eq!(t.on_response(None, "nope", &me()), ResponseMatch::Unknown);
        t.register("a".into(), None, t0()).unwrap();
        assert_eq!(t.on_response(None, "A", &me()), ResponseMatch::Unknown);
        assert_eq!(t.on_response(None, "a", &me()), ResponseMatch::Accepted);
        assert_eq!(t.on_response(None, "a", &me()), ResponseMatch::Unknown);
    }

    #[test]
    fn duplicate_ids_and_the_size_bound() {
        let now = t0();
        let mut t = IqTracker::with_max_pending(2);
        assert_eq!(t.max_pending(), 2);
        t.register("a".into(), None, now).unwrap();
        assert_eq!(
            t.register("a".into(), None, now),
            Err(TrackerError::DuplicateId { id: "a".into() })
        );
        t.register("b".into(), None, now).unwrap();
        assert_eq!(
            t.register("c".into(), None, now),
            Err(TrackerError::Full { max: 2 })
        );
        assert_eq!(t.len(), 2);
        // Room again once a request completes.
        assert!(t.cancel("a"));
        assert!(!t.cancel("a"));
        t.register("c".into(), None, now).unwrap();
        assert_eq!(IqTracker::default().max_pending(), DEFAULT_MAX_PENDING);
        assert_eq!(
            TrackerError::Full { max: 2 }.to_string(),
            "2 IQ requests are already outstanding (the configured limit)"
        );
    }

    #[test]
    fn timeouts_expire_in_deadline_order() {
        let now = t0();
        let s = Duration::from_secs;
        let mut t = IqTracker::new();
        t.register("late".into(), None, now + s(30)).unwrap();
        t.register("early".into(), None, now + s(10)).unwrap();
        t.register("tie-1".into(), None, now + s(20)).unwrap();
        t.register("tie-2".into(), None, now + s(20)).unwrap();
        assert_eq!(t.poll_timeout(), Some(now + s(10)));
        assert!(t.expire(now + s(9)).is_empty());
        // A deadline equal to `now` has passed.
        assert_eq!(t.expire(now + s(10)), ["early"]);
        assert_eq!(t.poll_timeout(), Some(now + s(20)));
        // Answered requests leave the deadline order too.
        assert_eq!(t.on_response(None, "tie-1", &me()), ResponseMatch::Accepted);
        assert_eq!(t.expire(now + s(60)), ["tie-2", "late"]);
        assert!(t.is_empty());
        assert_eq!(t.poll_timeout(), None);
        // An expired id may be reused.
        t.register("early".into(), None, now).unwrap();
    }

    #[test]
    fn cancel_all_returns_everything_in_deadline_order() {
        let now = t0();
        let mut t = IqTracker::new();
        for (i, secs) in [5u64, 1, 3].into_iter().enumerate() {
            t.register(format!("r{i}"), None, now + Duration::from_secs(secs))
                .unwrap();
        }
        assert_eq!(t.cancel_all(), ["r1", "r2", "r0"]);
        assert!(t.is_empty());
        assert_eq!(t.poll_timeout(), None);
        assert!(t.cancel_all().is_empty());
    }

    #[test]
    fn many_requests_stay_consistent() {
        let now = t0();
        let n = 10_000;
        let mut t = IqTracker::with_max_pending(n);
        // Deadlines in a scrambled order.
        for i in 0..n {
            let secs = (i * 7919) % n;
            t.register(
                format!("id{i}"),
                None,
                now + Duration::from_millis(secs as u64),
            )
            .unwrap();
        }
        for i in (0..n).step_by(2) {
            assert_eq!(
                t.on_response(None, &format!("id{i}"), &me()),
                ResponseMatch::Accepted
            );
        }
        let expired = t.expire(now + Duration::from_secs(3600));
        assert_eq!(expired.len(), n / 2);
        assert!(t.is_empty());
    }
}

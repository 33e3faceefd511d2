//! A bounded memory of (sender, id) pairs: which messages a correction may
//! replace, which receipts were already sent. Each pair is kept as its
//! SHA-1 digest (20 bytes, no allocation per entry: a peer cannot make two
//! pairs collide), in a hash set keyed by the digest's own first bytes (it
//! is uniformly spread already, so no random hash keys are needed in the
//! core); the oldest pair is forgotten when the memory is full, so a flood
//! cannot grow it.

use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use sha1::{Digest, Sha1};

type Key = [u8; 20];

/// Hashes a digest by its first eight bytes (the length prefix ignored).
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut first = [0u8; 8];
        let n = bytes.len().min(8);
        first[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(first);
    }

    fn write_usize(&mut self, _: usize) {}
}

/// The last `capacity` (sender, id) pairs remembered.
#[derive(Clone, Debug)]
pub(crate) struct Recent {
    order: VecDeque<Key>,
    set: HashSet<Key, BuildHasherDefault<DigestHasher>>,
    capacity: usize,
}

impl Recent {
    pub(crate) fn new(capacity: usize) -> Self {
        Recent {
            order: VecDeque::new(),
            set: HashSet::default(),
            capacity,
        }
    }

    fn key(sender: &str, id: &str) -> Key {
        // A NUL cannot occur in XML text, so the pair is unambiguous.
        let mut h = Sha1::new();
        h.update(sender.as_bytes());
        h.update([0]);
        h.update(id.as_bytes());
        h.finalize().into()
    }

    /// True when the pair is remembered.
    pub(crate) fn contains(&self, sender: &str, id: &str) -> bool {
        self.set.contains(&Self::key(sender, id))
    }

    /// Remembers the pair (forgetting the oldest when full). Returns false
    /// when it was remembered already.
    pub(crate) fn insert(&mut self, sender: &str, id: &str) -> bool {
        if self.capacity == 0 {
            return true;
        }
        let key = Self::key(sender, id);
        if !self.set.insert(key) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    /// How many pairs are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_pairs_and_forgets_the_oldest_when_full() {
        let mut r = Recent::new(2);
        assert!(r.insert("a@x/1", "m1"));
        assert!(!r.insert("a@x/1", "m1"), "twice");
        assert!(r.contains("a@x/1", "m1"));
        assert!(!r.contains("a@x/2", "m1"), "another sender");
        assert!(
            !r.contains("a@x/1m", "1"),
            "the pair is not a concatenation"
        );
        r.insert("a@x/1", "m2");
        r.insert("a@x/1", "m3");
        assert_eq!(r.len(), 2);
        assert!(!r.contains("a@x/1", "m1"), "forgotten");
        assert!(r.contains("a@x/1", "m3"));
    }
}

//! Deterministic randomness from a seed the driver provides.
//!
//! The core never asks the operating system for random bytes. The driver
//! passes a 32-byte seed (from its OS entropy source) in [`Config`](crate::Config);
//! this module expands it with HMAC-SHA-256 in counter mode (a PRF, so the
//! output is as unpredictable as the seed). Tests pass a fixed seed and get
//! byte-for-byte reproducible transcripts: stanza ids, SCRAM nonces.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A seeded stream of pseudo-random bytes.
#[derive(Clone)]
pub(crate) struct Entropy {
    key: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl std::fmt::Debug for Entropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Entropy { .. }")
    }
}

impl Entropy {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        Entropy {
            key: seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    /// An independent stream keyed by this stream's key and `label` (at
    /// least 9 bytes, so it never equals a counter block of this stream).
    /// Drawing from either never moves the other.
    pub(crate) fn derive(&self, label: &[u8]) -> Entropy {
        debug_assert!(label.len() > 8, "a label must not look like a counter");
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(label);
        Entropy::new(mac.finalize().into_bytes().into())
    }

    /// Fills `out` with the next bytes of the stream.
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        for b in out {
            if self.used == self.block.len() {
                self.refill();
            }
            *b = self.block[self.used];
            self.used += 1;
        }
    }

    /// `n` fresh bytes.
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }

    /// A short unique identifier (for stanza ids): 12 random bytes, URL-safe base64.
    pub(crate) fn id(&mut self) -> String {
        use base64::Engine;
        let mut b = [0u8; 12];
        self.fill(&mut b);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    }

    fn refill(&mut self) {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.key) {
            Ok(m) => m,
            // HMAC accepts keys of any length.
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(&self.counter.to_be_bytes());
        self.block.copy_from_slice(&mac.finalize().into_bytes());
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed_and_distinct_across_seeds() {
        let mut a = Entropy::new([1; 32]);
        let mut b = Entropy::new([1; 32]);
        let mut c = Entropy::new([2; 32]);
        let (x, y, z) = (a.bytes(100), b.bytes(100), c.bytes(100));
        assert_eq!(x, y);
        assert_ne!(x, z);
        assert_ne!(a.id(), a.id());
        assert!(x.iter().any(|&v| v != x[0]));
    }
}

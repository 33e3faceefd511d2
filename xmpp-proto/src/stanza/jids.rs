//! Parsing the addresses of received stanzas (RFC 6120 §8.1.1, §8.1.2)
//! without normalizing the same address again and again.
//!
//! `Jid::new` normalizes every part (RFC 7622 via the `jid` crate:
//! nodeprep, nameprep/IDNA, resourceprep). For an address that is plain
//! ASCII it allocates once (the JID's string), but an address whose node or
//! domain is not ASCII goes through Unicode normalization and costs four
//! allocations and ~0.5 µs. A connection sees the same few correspondents
//! over and over, so [`JidCache`] keeps the bare JIDs of recent non-ASCII
//! addresses and builds a full JID from the cached bare one and the
//! resource; and a `to` naming our own full JID is a clone of it.
//!
//! The result is always exactly what `Jid::new` returns for the same string
//! (value or error): a cached bare JID is only used for a string whose bare
//! part is, byte for byte, that JID's normalized form, and the resource is
//! checked by the same `resourceprep` that `Jid::new` applies.

use super::{BareJid, FullJid, Jid};

/// How many bare JIDs a connection's cache keeps (replaced round-robin).
const CAPACITY: usize = 32;
/// Longer bare JIDs are not kept: the cache holds at most
/// `CAPACITY * MAX_LEN` bytes of strings, whatever a peer sends.
const MAX_LEN: usize = 256;

/// Recently seen bare JIDs that are not plain ASCII, by their normalized
/// form (bounded: [`CAPACITY`] entries of at most [`MAX_LEN`] bytes).
///
/// Each entry's hash is kept beside it, so a lookup compares 32 integers
/// and at most the strings whose hash matches (a scan comparing the strings
/// themselves cost more than `Jid::new` of an ASCII address). A peer that
/// makes hashes collide gains nothing: the scan is bounded by [`CAPACITY`]
/// either way.
#[derive(Debug, Default)]
pub(crate) struct JidCache {
    bare: Vec<BareJid>,
    /// `hash(bare[i].as_str())`, index for index.
    hashes: Vec<u64>,
    /// The slot the next new entry replaces once the cache is full.
    next: usize,
}

/// A fast, non-cryptographic hash of a short string (eight bytes at a time).
fn hash(s: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = s.len() as u64;
    let mut words = s.as_bytes().chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K);
    }
    let rest = words.remainder();
    let mut b = [0u8; 8];
    b[..rest.len()].copy_from_slice(rest);
    (h.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(K)
}

impl JidCache {
    fn get(&self, bare: &str) -> Option<&BareJid> {
        let h = hash(bare);
        self.hashes
            .iter()
            .zip(&self.bare)
            .find(|(&k, b)| k == h && b.as_str() == bare)
            .map(|(_, b)| b)
    }

    fn insert(&mut self, bare: BareJid) {
        let h = hash(bare.as_str());
        if self.bare.len() < CAPACITY {
            self.bare.push(bare);
            self.hashes.push(h);
        } else {
            self.bare[self.next] = bare;
            self.hashes[self.next] = h;
            self.next = (self.next + 1) % CAPACITY;
        }
    }
}

/// Where the JID attributes of a stanza come from: `Jid::new` alone, or with
/// a connection's cache and its own full JID.
#[derive(Default)]
pub(crate) struct JidSource<'a> {
    cache: Option<&'a mut JidCache>,
    own: Option<&'a FullJid>,
}

impl<'a> JidSource<'a> {
    /// Through `cache`, with `own` (our bound JID) recognized as it is.
    pub(crate) fn cached(cache: &'a mut JidCache, own: Option<&'a FullJid>) -> Self {
        JidSource {
            cache: Some(cache),
            own,
        }
    }

    /// The JID `raw` names: the same as `Jid::new(raw)`.
    pub(crate) fn parse(&mut self, raw: &str) -> Result<Jid, jid::Error> {
        if let Some(own) = self.own {
            // An ASCII JID's normalized form normalizes to itself (ASCII
            // letters are lowercased, nothing else changes), so a `to` equal
            // to it byte for byte parses to it.
            if own.as_str() == raw && raw.is_ascii() {
                return Ok(Jid::from(own.clone()));
            }
        }
        let Some(cache) = self.cache.as_deref_mut() else {
            return Jid::new(raw);
        };
        if raw.is_ascii() {
            // One allocation and no Unicode work: building it from a cached
            // bare JID would cost more.
            return Jid::new(raw);
        }
        // `Jid::new` splits at the first '/' after at most one '@'; a cached
        // bare JID has one '@' at most and no '/', so when it equals what
        // precedes the first '/', its node and domain are that split's, and
        // they are already normalized.
        let (bare, resource) = match raw.find('/') {
            Some(i) => (&raw[..i], Some(&raw[i + 1..])),
            None => (raw, None),
        };
        if let Some(b) = cache.get(bare) {
            return match resource {
                None => Ok(Jid::from(b.clone())),
                Some(r) => b.with_resource_str(r).map(Jid::from),
            };
        }
        let jid = Jid::new(raw)?;
        if bare.len() <= MAX_LEN {
            let normalized = jid.as_str();
            let normalized_bare = match jid.resource() {
                Some(r) => &normalized[..normalized.len() - r.as_str().len() - 1],
                None => normalized,
            };
            if normalized_bare == bare {
                cache.insert(jid.clone().into_bare());
            }
        }
        Ok(jid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every way of parsing gives what `Jid::new` gives: first through an
    /// empty cache, then again once the cache knows the bare JID.
    fn same_as_jid_new(cache: &mut JidCache, own: Option<&FullJid>, raw: &str) {
        let expected = Jid::new(raw);
        for round in 0..2 {
            let got = JidSource::cached(cache, own).parse(raw);
            assert_eq!(got, expected, "{raw:?}, round {round}");
            if let (Ok(got), Ok(expected)) = (&got, &expected) {
                // Same parts, not only the same string.
                assert_eq!(got.node(), expected.node(), "{raw:?}");
                assert_eq!(got.domain(), expected.domain(), "{raw:?}");
                assert_eq!(got.resource(), expected.resource(), "{raw:?}");
            }
        }
        assert_eq!(JidSource::default().parse(raw), expected);
    }

    #[test]
    fn cached_parses_equal_jid_new() {
        let own: FullJid = "juliet@example.com/balcony".parse().unwrap();
        let mut cache = JidCache::default();
        for raw in [
            "juliet@example.com/balcony",
            "juliet@example.com",
            "zoë@example.com",
            "zoë@example.com/balcony",
            "zoë@example.com/balcony/with/slashes@and@ats",
            "zoë@example.com/other",
            "zoë@example.com/",
            "zoë@example.com/ünïcode",
            "zoë@example.com/\u{0}",
            "Zoë@Example.com/balcony",
            "ZOË@example.com/balcony",
            "zoë@example.com@x/balcony",
            "zoë@@example.com",
            "@example.com/ü",
            "李雷@capulet.lit/phone",
            "李雷@capulet.lit/phone",
            "münchen.example/résumé",
            "münchen.example",
            "MÜNCHEN.example/x",
            "zoë@xn--mnchen-3ya.example/x",
            "zoë@example.com./x",
            "zoë@[::1]/x",
            "ﬀ@example.com/x",
            "ff@example.com/x",
            "",
        ] {
            same_as_jid_new(&mut cache, Some(&own), raw);
        }
        // Only non-ASCII bare JIDs that were received normalized are kept.
        let kept: Vec<&str> = cache.bare.iter().map(|b| b.as_str()).collect();
        assert!(kept.contains(&"zoë@example.com"), "{kept:?}");
        assert!(kept.contains(&"李雷@capulet.lit"), "{kept:?}");
        assert!(kept.contains(&"münchen.example"), "{kept:?}");
        assert!(
            !kept.iter().any(|k| k.is_ascii() || k.contains('Z')),
            "{kept:?}"
        );
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut cache = JidCache::default();
        for i in 0..3 * CAPACITY {
            let raw = format!("zoë{i}@example.com/r");
            same_as_jid_new(&mut cache, None, &raw);
        }
        assert_eq!(cache.bare.len(), CAPACITY);
        // Too long to keep, but parsed all the same.
        let long = format!("zoë@{}.example/r", "a".repeat(60).repeat(4));
        let before = cache.bare.clone();
        same_as_jid_new(&mut cache, None, &long);
        assert_eq!(cache.bare, before);
    }

    proptest! {
        #[test]
        fn any_string_parses_as_jid_new_does(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("ë"), Just("é"), Just("E"), Just("e"), Just("@"), Just("/"),
                    Just("."), Just("李"), Just("ß"), Just("ﬁ"), Just("\u{200b}"),
                    Just(" "), Just("-"), Just("Ω"), Just("\u{5d0}"), Just("1"),
                ],
                0..12,
            ),
            variants in proptest::collection::vec("[a-zA-Zé/]{0,3}", 0..4),
        ) {
            let raw: String = parts.concat();
            let mut cache = JidCache::default();
            same_as_jid_new(&mut cache, None, &raw);
            // Other strings sharing the bare part, once it is cached.
            let bare = raw.split('/').next().unwrap_or_default();
            for v in variants {
                same_as_jid_new(&mut cache, None, &format!("{bare}/{v}"));
                same_as_jid_new(&mut cache, None, &format!("{bare}{v}"));
            }
        }
    }
}

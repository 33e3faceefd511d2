//! A map bounded by a capacity that drops its least recently used entry
//! (inserted or touched) to make room: the caps module's cache of verified
//! answers and its table of who advertised what, which a peer can grow.

use std::collections::BTreeMap;

/// A bounded map with least-recently-used eviction. Every operation is
/// O(log n); no randomness (ordered maps, an insertion counter).
#[derive(Clone, Debug)]
pub(crate) struct Lru<K, V> {
    map: BTreeMap<K, (V, u64)>,
    order: BTreeMap<u64, K>,
    clock: u64,
    capacity: usize,
}

impl<K: Ord + Clone, V> Lru<K, V> {
    /// An empty map holding at most `capacity` entries (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Lru {
            map: BTreeMap::new(),
            order: BTreeMap::new(),
            clock: 0,
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|(v, _)| v)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key).map(|(v, _)| v)
    }

    pub(crate) fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Marks `key` as just used, so it is the last to go.
    pub(crate) fn touch(&mut self, key: &K) {
        self.clock += 1;
        let clock = self.clock;
        if let Some((_, used)) = self.map.get_mut(key) {
            self.order.remove(used);
            *used = clock;
            self.order.insert(clock, key.clone());
        }
    }

    /// Inserts or replaces `key` (as just used); returns the entry evicted
    /// to make room, if any.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<(K, V)> {
        self.clock += 1;
        if let Some((old_value, used)) = self.map.get_mut(&key) {
            *old_value = value;
            self.order.remove(used);
            *used = self.clock;
            self.order.insert(self.clock, key);
            return None;
        }
        let evicted = if self.map.len() >= self.capacity {
            self.order.pop_first().and_then(|(_, oldest)| {
                let (v, _) = self.map.remove(&oldest)?;
                Some((oldest, v))
            })
        } else {
            None
        };
        self.order.insert(self.clock, key.clone());
        self.map.insert(key, (value, self.clock));
        evicted
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let (v, used) = self.map.remove(key)?;
        self.order.remove(&used);
        Some(v)
    }

    /// Removes every entry for which `keep` is false.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let order = &mut self.order;
        self.map.retain(|k, (v, used)| {
            let kept = keep(k, v);
            if !kept {
                order.remove(used);
            }
            kept
        });
    }

    pub(crate) fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter().map(|(k, (v, _))| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut lru = Lru::new(2);
        assert_eq!(lru.insert("a", 1), None);
        assert_eq!(lru.insert("b", 2), None);
        lru.touch(&"a");
        assert_eq!(lru.insert("c", 3), Some(("b", 2)));
        assert_eq!(lru.insert("a", 10), None, "a replacement evicts nothing");
        assert_eq!(lru.insert("d", 4), Some(("c", 3)));
        assert_eq!(
            (lru.get(&"a"), lru.get(&"d"), lru.len()),
            (Some(&10), Some(&4), 2)
        );
        lru.retain(|k, _| *k != "a");
        assert_eq!(lru.remove(&"d"), Some(4));
        assert_eq!((lru.len(), lru.order.len()), (0, 0));
    }
}

//! Order id -> slab slot: a pre-sized open-addressing hash map with linear probing and
//! backward-shift deletion. No tombstones, no allocation until it must grow (load > 1/2).

use crate::OrderId;

const EMPTY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Entry {
    key: OrderId,
    slot: u32,
}

#[derive(Clone)]
pub(crate) struct OrderIdMap {
    entries: Vec<Entry>,
    shift: u32,
    len: usize,
}

impl std::fmt::Debug for OrderIdMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderIdMap").field("len", &self.len).field("capacity", &self.entries.len()).finish()
    }
}

impl OrderIdMap {
    /// A map that holds `capacity` ids without growing.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let buckets = (capacity.max(8) * 2).next_power_of_two();
        Self { entries: vec![Entry { key: 0, slot: EMPTY }; buckets], shift: 64 - buckets.trailing_zeros(), len: 0 }
    }

    /// Number of keys.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    #[inline]
    fn home(&self, key: OrderId) -> usize {
        // Fibonacci hashing: multiply, keep the top bits.
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    #[inline]
    pub(crate) fn get(&self, key: OrderId) -> Option<u32> {
        let mask = self.mask();
        let mut i = self.home(key);
        loop {
            let e = self.entries[i];
            if e.slot == EMPTY {
                return None;
            }
            if e.key == key {
                return Some(e.slot);
            }
            i = (i + 1) & mask;
        }
    }

    /// Inserts a key that is not present.
    #[inline]
    pub(crate) fn insert(&mut self, key: OrderId, slot: u32) {
        debug_assert!(slot != EMPTY);
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
        }
        let mask = self.mask();
        let mut i = self.home(key);
        while self.entries[i].slot != EMPTY {
            debug_assert!(self.entries[i].key != key, "duplicate key");
            i = (i + 1) & mask;
        }
        self.entries[i] = Entry { key, slot };
        self.len += 1;
    }

    /// Removes a key; returns its slot.
    #[inline]
    pub(crate) fn remove(&mut self, key: OrderId) -> Option<u32> {
        let mask = self.mask();
        let mut i = self.home(key);
        loop {
            let e = self.entries[i];
            if e.slot == EMPTY {
                return None;
            }
            if e.key == key {
                break;
            }
            i = (i + 1) & mask;
        }
        let removed = self.entries[i].slot;
        // Backward-shift: pull later entries of the probe run into the hole.
        let mut hole = i;
        let mut j = (i + 1) & mask;
        loop {
            let e = self.entries[j];
            if e.slot == EMPTY {
                break;
            }
            let home = self.home(e.key);
            // Move e into the hole if its home is not cyclically in (hole, j].
            let dist_home = j.wrapping_sub(home) & mask;
            let dist_hole = j.wrapping_sub(hole) & mask;
            if dist_home >= dist_hole {
                self.entries[hole] = e;
                hole = j;
            }
            j = (j + 1) & mask;
        }
        self.entries[hole].slot = EMPTY;
        self.len -= 1;
        Some(removed)
    }

    fn grow(&mut self) {
        let old = std::mem::take(&mut self.entries);
        *self = Self::with_capacity(old.len());
        for e in old.into_iter().filter(|e| e.slot != EMPTY) {
            self.insert(e.key, e.slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn behaves_like_a_hashmap(ops in prop::collection::vec((0u8..3, 0u64..64), 1..400)) {
            let mut map = OrderIdMap::with_capacity(4);
            let mut model = HashMap::new();
            for (i, (op, key)) in ops.into_iter().enumerate() {
                let key = key.wrapping_mul(0x1000_0000_0000_0001); // collide in the low bits too
                match op {
                    0 if !model.contains_key(&key) => { map.insert(key, i as u32); model.insert(key, i as u32); }
                    1 => prop_assert_eq!(map.remove(key), model.remove(&key)),
                    _ => prop_assert_eq!(map.get(key), model.get(&key).copied()),
                }
                prop_assert_eq!(map.len, model.len());
            }
            for (k, v) in &model { prop_assert_eq!(map.get(*k), Some(*v)); }
        }
    }
}

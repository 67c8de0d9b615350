//! Which slots of a dense price window hold a level: a two-level bitmap, the index both price
//! ladders search (the order book's [`PriceLadder`](crate::price_ladder) and the feeds'
//! integer L2 book).
//!
//! Bit `s % 64` of word `s / 64` says slot `s` is occupied; a summary bit per word says the word
//! is non-zero. Finding the next occupied slot in either direction is one `trailing_zeros` (or
//! `leading_zeros`) per 64 slots within a word and one per 4,096 slots at the summary level.
//! The bitmap is allocated once ([`SlotBitmap::new`]); nothing after that allocates.
//!
//! ```
//! use wintermute_core::slot_bitmap::SlotBitmap;
//! let mut b = SlotBitmap::new(8192);
//! b.set(5);
//! b.set(5000);
//! assert_eq!(b.next_at_or_after(6), Some(5000));
//! assert_eq!(b.prev_at_or_before(4999), Some(5));
//! b.clear(5000);
//! assert_eq!(b.next_at_or_after(6), None);
//! ```

/// A two-level occupancy bitmap over slots `0..slots()` (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct SlotBitmap {
    bits: Box<[u64]>,
    summary: Box<[u64]>,
}

impl SlotBitmap {
    /// A bitmap of `slots` empty slots (`slots` a multiple of 64).
    pub fn new(slots: usize) -> Self {
        assert!(slots.is_multiple_of(64), "slots={slots} is not a multiple of 64");
        let words = slots / 64;
        SlotBitmap { bits: vec![0; words].into_boxed_slice(), summary: vec![0; words.div_ceil(64)].into_boxed_slice() }
    }

    /// Number of slots (0 for a default, unallocated bitmap).
    #[inline]
    pub fn slots(&self) -> usize {
        self.bits.len() * 64
    }

    /// Marks `slot` occupied.
    #[inline]
    pub fn set(&mut self, slot: usize) {
        let w = slot >> 6;
        self.bits[w] |= 1u64 << (slot & 63);
        self.summary[w >> 6] |= 1u64 << (w & 63);
    }

    /// Marks `slot` empty.
    #[inline]
    pub fn clear(&mut self, slot: usize) {
        let w = slot >> 6;
        self.bits[w] &= !(1u64 << (slot & 63));
        if self.bits[w] == 0 {
            self.summary[w >> 6] &= !(1u64 << (w & 63));
        }
    }

    /// Whether `slot` is occupied.
    #[inline]
    pub fn is_set(&self, slot: usize) -> bool {
        self.bits[slot >> 6] & (1u64 << (slot & 63)) != 0
    }

    /// Replaces the 64 slots of word `word` (slots `64 * word ..`) at once.
    #[inline]
    pub fn set_word(&mut self, word: usize, value: u64) {
        self.bits[word] = value;
        let bit = 1u64 << (word & 63);
        if value != 0 {
            self.summary[word >> 6] |= bit;
        } else {
            self.summary[word >> 6] &= !bit;
        }
    }

    /// Empties every slot.
    pub fn clear_all(&mut self) {
        self.bits.fill(0);
        self.summary.fill(0);
    }

    /// The first occupied slot at or after `from`.
    #[inline]
    pub fn next_at_or_after(&self, from: usize) -> Option<usize> {
        let w = from >> 6;
        if w >= self.bits.len() {
            return None;
        }
        let here = self.bits[w] & (!0u64 << (from & 63));
        if here != 0 {
            return Some((w << 6) + here.trailing_zeros() as usize);
        }
        let next = w + 1;
        let mut s = next >> 6;
        let mut mask = !0u64 << (next & 63);
        while s < self.summary.len() {
            let m = self.summary[s] & mask;
            if m != 0 {
                let word = (s << 6) + m.trailing_zeros() as usize;
                return Some((word << 6) + self.bits[word].trailing_zeros() as usize);
            }
            s += 1;
            mask = !0;
        }
        None
    }

    /// The last occupied slot at or before `from` (`from` may be past the end).
    #[inline]
    pub fn prev_at_or_before(&self, from: usize) -> Option<usize> {
        if self.bits.is_empty() {
            return None;
        }
        let from = from.min(self.slots() - 1);
        let w = from >> 6;
        let here = self.bits[w] & (!0u64 >> (63 - (from & 63)));
        if here != 0 {
            return Some((w << 6) + 63 - here.leading_zeros() as usize);
        }
        if w == 0 {
            return None;
        }
        let prev = w - 1;
        let mut s = prev >> 6;
        let mut mask = !0u64 >> (63 - (prev & 63));
        loop {
            let m = self.summary[s] & mask;
            if m != 0 {
                let word = (s << 6) + 63 - m.leading_zeros() as usize;
                return Some((word << 6) + 63 - self.bits[word].leading_zeros() as usize);
            }
            if s == 0 {
                return None;
            }
            s -= 1;
            mask = !0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// Searches in both directions agree with an ordered set, across word and summary bounds.
        #[test]
        fn searches_match_an_ordered_set(
            ops in prop::collection::vec((any::<bool>(), 0usize..16_384), 1..300),
            probes in prop::collection::vec(0usize..17_000, 1..50),
        ) {
            let mut b = SlotBitmap::new(16_384);
            let mut model = BTreeSet::new();
            for (add, slot) in ops {
                if add { b.set(slot); model.insert(slot); } else { b.clear(slot); model.remove(&slot); }
            }
            for p in probes {
                prop_assert_eq!(b.next_at_or_after(p), model.range(p..).next().copied());
                prop_assert_eq!(b.prev_at_or_before(p), model.range(..=p).next_back().copied());
                if p < 16_384 { prop_assert_eq!(b.is_set(p), model.contains(&p)); }
            }
        }
    }

    #[test]
    fn words_are_set_whole_and_an_empty_bitmap_finds_nothing() {
        let mut b = SlotBitmap::new(8192);
        b.set_word(70, 0b1010);
        assert_eq!(b.next_at_or_after(0), Some(70 * 64 + 1));
        assert_eq!(b.prev_at_or_before(usize::MAX), Some(70 * 64 + 3));
        b.set_word(70, 0);
        assert_eq!(b.next_at_or_after(0), None);
        b.set(8191);
        b.clear_all();
        assert_eq!(b.prev_at_or_before(8191), None);
        assert_eq!(SlotBitmap::default().next_at_or_after(0), None);
        assert_eq!(SlotBitmap::default().prev_at_or_before(0), None);
    }
}

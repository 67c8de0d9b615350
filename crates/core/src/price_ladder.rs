//! One side's price index: price -> level slot, and "next non-empty price" in either direction.
//!
//! Prices near the action live in a dense window of `WINDOW` slots indexed by tick offset, with
//! a two-level bitmap ([`SlotBitmap`], shared with the feeds' integer book) to find the next occupied price in a few word operations. Prices outside
//! the window live in an ordered map (rare: far-away orders). The window is placed on the first
//! price seen and re-centred whenever it holds no level and a price outside it arrives, pulling
//! in any far levels it now covers. Lookups, inserts and removals in the window are O(1) and
//! allocation-free; the window's arrays are allocated once, on first use.

use std::collections::BTreeMap;

use crate::slot_bitmap::SlotBitmap;
use crate::Price;

/// Slots in the dense window (a power of two, a multiple of 4096).
pub(crate) const WINDOW: usize = 1 << 16;
pub(crate) const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Default)]
pub(crate) struct PriceLadder {
    /// Price of slot 0 (meaningful once `slots` is allocated).
    base: Price,
    slots: Vec<u32>,
    /// Which window slots hold a level.
    occupied: SlotBitmap,
    in_window: usize,
    far: BTreeMap<Price, u32>,
}

impl PriceLadder {
    #[inline]
    fn offset(&self, price: Price) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let off = price.wrapping_sub(self.base);
        (0..WINDOW as i64).contains(&off).then_some(off as usize)
    }

    /// Level slot at `price`, if any.
    #[inline]
    pub(crate) fn get(&self, price: Price) -> Option<u32> {
        match self.offset(price) {
            Some(i) => {
                let s = self.slots[i];
                (s != NIL).then_some(s)
            }
            None => self.far.get(&price).copied(),
        }
    }

    /// Adds a price that is not present.
    #[inline]
    pub(crate) fn insert(&mut self, price: Price, level: u32) {
        if self.slots.is_empty() {
            self.slots = vec![NIL; WINDOW];
            self.occupied = SlotBitmap::new(WINDOW);
            self.recentre(price);
        } else if self.in_window == 0 && self.offset(price).is_none() {
            self.recentre(price);
        }
        match self.offset(price) {
            Some(i) => self.set(i, level),
            None => {
                self.far.insert(price, level);
            }
        }
    }

    /// Removes a present price.
    #[inline]
    pub(crate) fn remove(&mut self, price: Price) {
        match self.offset(price) {
            Some(i) => {
                debug_assert!(self.slots[i] != NIL);
                self.slots[i] = NIL;
                self.occupied.clear(i);
                self.in_window -= 1;
            }
            None => {
                self.far.remove(&price);
            }
        }
    }

    #[inline]
    fn set(&mut self, i: usize, level: u32) {
        debug_assert!(self.slots[i] == NIL);
        self.slots[i] = level;
        self.occupied.set(i);
        self.in_window += 1;
    }

    /// Moves the (empty) window to be centred on `price`, and pulls far levels it now covers.
    fn recentre(&mut self, price: Price) {
        debug_assert_eq!(self.in_window, 0);
        self.base = price.saturating_sub((WINDOW / 2) as i64);
        let end = self.base.saturating_add(WINDOW as i64);
        let covered: Vec<(Price, u32)> = self.far.range(self.base..end).map(|(p, l)| (*p, *l)).collect();
        for (p, l) in covered {
            self.far.remove(&p);
            let i = (p - self.base) as usize;
            self.set(i, l);
        }
    }

    /// Lowest occupied price >= `from`.
    #[inline]
    pub(crate) fn next_up(&self, from: Price) -> Option<(Price, u32)> {
        let win = self.window_up(from).map(|i| (self.base + i as i64, self.slots[i]));
        if self.far.is_empty() {
            return win;
        }
        let far = self.far.range(from..).next().map(|(p, l)| (*p, *l));
        match (win, far) {
            (Some(w), Some(f)) => Some(if f.0 < w.0 { f } else { w }),
            (w, f) => w.or(f),
        }
    }

    /// Highest occupied price <= `from`.
    #[inline]
    pub(crate) fn next_down(&self, from: Price) -> Option<(Price, u32)> {
        let win = self.window_down(from).map(|i| (self.base + i as i64, self.slots[i]));
        if self.far.is_empty() {
            return win;
        }
        let far = self.far.range(..=from).next_back().map(|(p, l)| (*p, *l));
        match (win, far) {
            (Some(w), Some(f)) => Some(if f.0 > w.0 { f } else { w }),
            (w, f) => w.or(f),
        }
    }

    fn window_up(&self, from: Price) -> Option<usize> {
        if self.in_window == 0 {
            return None;
        }
        let off = from.saturating_sub(self.base);
        if off >= WINDOW as i64 {
            return None;
        }
        self.occupied.next_at_or_after(off.max(0) as usize)
    }

    fn window_down(&self, from: Price) -> Option<usize> {
        if self.in_window == 0 {
            return None;
        }
        let off = from.saturating_sub(self.base);
        if off < 0 {
            return None;
        }
        self.occupied.prev_at_or_before(off.min(WINDOW as i64 - 1) as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn prices() -> impl Strategy<Value = Price> {
        prop_oneof![-200i64..200, (0i64..5).prop_map(|k| k * (WINDOW as i64) - 3), any::<i32>().prop_map(i64::from),]
    }

    proptest! {
        #[test]
        fn matches_an_ordered_map(ops in prop::collection::vec((any::<bool>(), prices(), prices()), 1..300)) {
            let mut ladder = PriceLadder::default();
            let mut model = BTreeMap::new();
            for (i, (insert, price, probe)) in ops.into_iter().enumerate() {
                if insert && !model.contains_key(&price) {
                    ladder.insert(price, i as u32);
                    model.insert(price, i as u32);
                } else if !insert && model.contains_key(&price) {
                    ladder.remove(price);
                    model.remove(&price);
                }
                prop_assert_eq!(ladder.get(probe), model.get(&probe).copied());
                prop_assert_eq!(ladder.next_up(probe), model.range(probe..).next().map(|(p, l)| (*p, *l)));
                prop_assert_eq!(ladder.next_down(probe), model.range(..=probe).next_back().map(|(p, l)| (*p, *l)));
            }
        }
    }
}

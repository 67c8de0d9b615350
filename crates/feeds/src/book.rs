//! A local L2 (price-level) book that keeps each level's exact exchange text.
//!
//! Each side has two parts: the levels themselves ([`Level`], price and quantity with their
//! text, 96 bytes) in a slab that never moves them, and a sorted index of 24-byte entries
//! (fixed-point price + slab slot) in a ring buffer (`VecDeque`) ordered so that the **best level
//! is last**: bids ascending by price, asks descending. Lookups are binary searches over the
//! compact index; an insert or delete moves the shorter part of the index ring (a quarter of the
//! bytes a ring of whole levels would move), so changes near the top (most traffic) and near the
//! bottom (Kraken's republished far levels) are both cheap, and [`L2Book::truncate`] (Kraken's
//! subscribed depth) pops the worst entries off the front. Reading the best level is `back()`.
//! Freed slab slots are reused, so nothing is allocated once a side has grown to the deepest book
//! seen (warm-up).
//!
//! Quantities are absolute: [`L2Book::apply`] sets a level, and a zero quantity removes it
//! (removing a level that is not there is normal and does nothing).
//!
//! For a book in integer ticks and lots without the exchange's text (O(1) updates, for the hot
//! path of strategies and simulators), see [`TickBook`](crate::tick_book::TickBook).
//!
//! ```
//! use wintermute_core::decimal::Decimal;
//! use wintermute_feeds::book::{L2Book, Side};
//! let d = |s| Decimal::parse_unsigned(s).unwrap();
//! let mut book = L2Book::new();
//! book.apply(Side::Buy, d("100.5"), d("2"));
//! book.apply(Side::Buy, d("100.7"), d("1"));
//! book.apply(Side::Sell, d("101.0"), d("3"));
//! assert_eq!(book.best_bid().unwrap().price.as_str(), "100.7");
//! book.apply(Side::Buy, d("100.7"), d("0.000"));
//! assert_eq!(book.best_bid().unwrap().price.as_str(), "100.5");
//! ```

use std::collections::VecDeque;

use crate::message::LevelUpdate;
use wintermute_core::decimal::Decimal;

/// Side of the book: the core's one `Side`, [`Side::Buy`] for the bids and [`Side::Sell`] for
/// the asks (re-exported here so the feed types read on their own).
pub use wintermute_core::Side;

/// One price level: price and total quantity, both with the exchange's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Price.
    pub price: Decimal,
    /// Total quantity at the price.
    pub qty: Decimal,
}

/// What [`L2Book::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A new level.
    Inserted,
    /// An existing level got a new quantity.
    Updated,
    /// A level was removed.
    Deleted,
    /// A zero quantity for a level that was not there.
    Absent,
}

/// A fixed-point price split in two words (ordered like the `i128`), so an index entry is 24
/// bytes with 8-byte alignment instead of 32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    hi: i64,
    lo: u64,
}

impl Key {
    #[inline]
    fn of(raw: i128) -> Key {
        Key { hi: (raw >> 64) as i64, lo: raw as u64 }
    }
}

/// One index entry: a level's price and its slab slot.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: Key,
    slot: u32,
}

/// One side: the sorted index (worst first) and the slab it points into.
#[derive(Debug, Clone, Default)]
struct Ladder {
    index: VecDeque<Entry>,
    slab: Vec<Level>,
    free: Vec<u32>,
}

impl Ladder {
    fn with_capacity(levels: usize) -> Self {
        Ladder {
            index: VecDeque::with_capacity(levels),
            slab: Vec::with_capacity(levels),
            free: Vec::with_capacity(levels),
        }
    }

    fn clear(&mut self) {
        self.index.clear();
        self.slab.clear();
        self.free.clear();
    }

    #[inline]
    fn store(&mut self, level: Level) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = level;
                slot
            }
            None => {
                self.slab.push(level);
                (self.slab.len() - 1) as u32
            }
        }
    }

    #[inline]
    fn level(&self, e: &Entry) -> &Level {
        &self.slab[e.slot as usize]
    }

    /// Levels best first.
    fn iter(&self) -> impl ExactSizeIterator<Item = &Level> + DoubleEndedIterator {
        self.index.iter().rev().map(move |e| &self.slab[e.slot as usize])
    }

    /// Sorts the index worst-first and keeps one entry per price.
    fn sort_and_dedup(&mut self, side: Side) {
        let s = self.index.make_contiguous();
        match side {
            Side::Buy => s.sort_unstable_by_key(|e| e.key),
            Side::Sell => s.sort_unstable_by_key(|e| std::cmp::Reverse(e.key)),
        }
        let mut w = 0;
        for r in 0..s.len() {
            if w == 0 || s[w - 1].key != s[r].key {
                s[w] = s[r];
                w += 1;
            } else {
                self.free.push(s[r].slot);
            }
        }
        self.index.truncate(w);
    }
}

/// The book of one (venue, symbol).
#[derive(Debug, Clone, Default)]
pub struct L2Book {
    bids: Ladder,
    asks: Ladder,
}

impl L2Book {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty book with room for `levels` per side before it allocates.
    pub fn with_capacity(levels: usize) -> Self {
        L2Book { bids: Ladder::with_capacity(levels), asks: Ladder::with_capacity(levels) }
    }

    /// Removes every level, keeping the memory.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Whether both sides are empty.
    pub fn is_empty(&self) -> bool {
        self.bids.index.is_empty() && self.asks.index.is_empty()
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Sets the quantity at `price` (absolute); zero removes the level.
    pub fn apply(&mut self, side: Side, price: Decimal, qty: Decimal) -> Applied {
        let ladder = self.ladder_mut(side);
        let key = Key::of(price.raw());
        match (search(&ladder.index, side, key), qty.is_zero()) {
            (Ok(i), true) => {
                if let Some(e) = ladder.index.remove(i) {
                    ladder.free.push(e.slot);
                }
                Applied::Deleted
            }
            (Ok(i), false) => {
                let slot = ladder.index[i].slot as usize;
                ladder.slab[slot] = Level { price, qty };
                Applied::Updated
            }
            (Err(_), true) => Applied::Absent,
            (Err(i), false) => {
                let slot = ladder.store(Level { price, qty });
                ladder.index.insert(i, Entry { key, slot });
                Applied::Inserted
            }
        }
    }

    /// Replaces the whole book with the given levels (any order; zero quantities skipped; of two
    /// levels with the same price, one is kept).
    pub fn load(&mut self, bids: &[Level], asks: &[Level]) {
        self.clear();
        for (side, levels) in [(Side::Buy, bids), (Side::Sell, asks)] {
            let ladder = self.ladder_mut(side);
            for l in levels.iter().filter(|l| !l.qty.is_zero()) {
                let slot = ladder.store(*l);
                ladder.index.push_back(Entry { key: Key::of(l.price.raw()), slot });
            }
            ladder.sort_and_dedup(side);
        }
    }

    /// Replaces the whole book with the non-zero entries of `updates` (any order).
    pub fn load_updates(&mut self, updates: &[LevelUpdate]) {
        self.clear();
        for u in updates.iter().filter(|u| !u.qty.is_zero()) {
            let ladder = self.ladder_mut(u.side);
            let slot = ladder.store(Level { price: u.price, qty: u.qty });
            ladder.index.push_back(Entry { key: Key::of(u.price.raw()), slot });
        }
        self.bids.sort_and_dedup(Side::Buy);
        self.asks.sort_and_dedup(Side::Sell);
    }

    /// Keeps only the best `depth` levels on each side.
    pub fn truncate(&mut self, depth: usize) {
        for ladder in [&mut self.bids, &mut self.asks] {
            if ladder.index.len() > depth {
                let cut = ladder.index.len() - depth;
                for e in ladder.index.drain(..cut) {
                    ladder.free.push(e.slot);
                }
            }
        }
    }

    /// The highest bid.
    pub fn best_bid(&self) -> Option<&Level> {
        self.bids.index.back().map(|e| self.bids.level(e))
    }

    /// The lowest ask.
    pub fn best_ask(&self) -> Option<&Level> {
        self.asks.index.back().map(|e| self.asks.level(e))
    }

    /// Bids, best (highest) first.
    pub fn bids(&self) -> impl ExactSizeIterator<Item = &Level> + DoubleEndedIterator {
        self.bids.iter()
    }

    /// Asks, best (lowest) first.
    pub fn asks(&self) -> impl ExactSizeIterator<Item = &Level> + DoubleEndedIterator {
        self.asks.iter()
    }

    /// Levels of one side, best first.
    pub fn levels(&self, side: Side) -> impl ExactSizeIterator<Item = &Level> + DoubleEndedIterator {
        self.ladder(side).iter()
    }

    /// The quantity at `price`, if there is a level there.
    pub fn qty_at(&self, side: Side, price: Decimal) -> Option<Decimal> {
        let ladder = self.ladder(side);
        let i = search(&ladder.index, side, Key::of(price.raw())).ok()?;
        ladder.index.get(i).map(|e| ladder.level(e).qty)
    }

    /// Whether the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        match (self.best_bid(), self.best_ask()) {
            (Some(b), Some(a)) => b.price >= a.price,
            _ => false,
        }
    }
}

/// Finds `key` in a side's index stored worst-first (binary search).
///
/// A galloping search from the best end was tried: on the `l2_book` bench (updates spread over
/// the top few hundred levels) it was 10% slower, so the plain binary search stays.
#[inline]
fn search(index: &VecDeque<Entry>, side: Side, key: Key) -> Result<usize, usize> {
    match side {
        Side::Buy => index.binary_search_by(|e| e.key.cmp(&key)),
        Side::Sell => index.binary_search_by(|e| key.cmp(&e.key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn d(s: &str) -> Decimal {
        Decimal::parse_unsigned(s).unwrap()
    }

    #[test]
    fn apply_insert_update_delete() {
        let mut b = L2Book::new();
        assert_eq!(b.apply(Side::Sell, d("10.5"), d("1")), Applied::Inserted);
        assert_eq!(b.apply(Side::Sell, d("10.50"), d("2.0")), Applied::Updated);
        assert_eq!(b.best_ask().unwrap().qty.as_str(), "2.0");
        assert_eq!(b.best_ask().unwrap().price.as_str(), "10.50");
        assert_eq!(b.qty_at(Side::Sell, d("10.5")).unwrap().as_str(), "2.0");
        assert_eq!(b.qty_at(Side::Buy, d("10.5")), None);
        assert_eq!(b.apply(Side::Sell, d("11"), d("0")), Applied::Absent);
        assert_eq!(b.apply(Side::Sell, d("10.5"), d("0")), Applied::Deleted);
        assert!(b.is_empty());
    }

    #[test]
    fn index_entries_stay_compact() {
        // Two decimals of 16-byte value + 32-byte inline text per level; the index that inserts
        // and deletes move holds 24 bytes per level.
        assert_eq!(std::mem::size_of::<Level>(), 96);
        assert_eq!(std::mem::size_of::<Entry>(), 24);
    }

    #[test]
    fn load_dedups_and_slots_are_reused() {
        let mut b = L2Book::with_capacity(4);
        let l = |p: &str, q: &str| Level { price: d(p), qty: d(q) };
        b.load(&[l("1", "1"), l("1.0", "2"), l("2", "0"), l("3", "1")], &[l("5", "1")]);
        assert_eq!(b.bids().len(), 2);
        assert_eq!(b.best_bid().unwrap().price.as_str(), "3");
        for _ in 0..10 {
            b.apply(Side::Buy, d("4"), d("1"));
            b.apply(Side::Buy, d("4"), d("0"));
        }
        assert!(b.bids.slab.len() <= 4, "freed slots are reused: {}", b.bids.slab.len());
        b.truncate(1);
        assert_eq!(b.bids().map(|l| l.price.as_str()).collect::<Vec<_>>(), ["3"]);
        assert_eq!(b.asks().len(), 1);
    }

    #[test]
    fn truncate_keeps_best_levels() {
        let mut b = L2Book::new();
        for p in 1..=5 {
            b.apply(Side::Buy, d(&p.to_string()), d("1"));
            b.apply(Side::Sell, d(&(p + 10).to_string()), d("1"));
        }
        b.truncate(2);
        let bids: Vec<_> = b.bids().map(|l| l.price.as_str().to_string()).collect();
        let asks: Vec<_> = b.asks().map(|l| l.price.as_str().to_string()).collect();
        assert_eq!(bids, ["5", "4"]);
        assert_eq!(asks, ["11", "12"]);
    }

    proptest! {
        /// The book agrees with a BTreeMap model after any sequence of updates.
        #[test]
        fn matches_a_btreemap_model(ops in prop::collection::vec((any::<bool>(), 0u32..400, 0u32..4), 0..1000)) {
            let mut book = L2Book::new();
            let mut model: [BTreeMap<u32, u32>; 2] = [BTreeMap::new(), BTreeMap::new()];
            for (bid, price, qty) in ops {
                let side = if bid { Side::Buy } else { Side::Sell };
                book.apply(side, d(&format!("{}.{}", price / 10, price % 10)), d(&qty.to_string()));
                let m = &mut model[usize::from(bid)];
                if qty == 0 { m.remove(&price); } else { m.insert(price, qty); }
            }
            let bids: Vec<(i128, i128)> = book.bids().map(|l| (l.price.raw(), l.qty.raw())).collect();
            let asks: Vec<(i128, i128)> = book.asks().map(|l| (l.price.raw(), l.qty.raw())).collect();
            let unit = 100_000_000_000_000_000i128;
            let want_bids: Vec<(i128, i128)> = model[1].iter().rev().map(|(&p, &q)| (i128::from(p) * unit, i128::from(q) * unit * 10)).collect();
            let want_asks: Vec<(i128, i128)> = model[0].iter().map(|(&p, &q)| (i128::from(p) * unit, i128::from(q) * unit * 10)).collect();
            prop_assert_eq!(bids, want_bids);
            prop_assert_eq!(asks, want_asks);
        }
    }
}

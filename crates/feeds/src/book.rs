//! A local L2 (price-level) book that keeps each level's exact exchange text.
//!
//! Each side is a ring buffer (`VecDeque`) of [`Level`]s sorted so that the **best level is
//! last**: bids ascending by price, asks descending. Lookups are binary searches on the
//! fixed-point value; an insert or delete moves the shorter part of the ring, so changes near the
//! top (most traffic) and near the bottom (Kraken's republished far levels) are both cheap, and
//! [`L2Book::truncate`] (Kraken's subscribed depth) pops the worst levels off the front. Reading
//! the best level is `back()`. Nothing is allocated once the rings have grown to the deepest book
//! seen (warm-up).
//!
//! Quantities are absolute: [`L2Book::apply`] sets a level, and a zero quantity removes it
//! (removing a level that is not there is normal and does nothing).
//!
//! ```
//! use wintermute_feeds::{book::{L2Book, Side}, Decimal};
//! let d = |s| Decimal::parse(s).unwrap();
//! let mut book = L2Book::new();
//! book.apply(Side::Bid, d("100.5"), d("2"));
//! book.apply(Side::Bid, d("100.7"), d("1"));
//! book.apply(Side::Ask, d("101.0"), d("3"));
//! assert_eq!(book.best_bid().unwrap().price.as_str(), "100.7");
//! book.apply(Side::Bid, d("100.7"), d("0.000"));
//! assert_eq!(book.best_bid().unwrap().price.as_str(), "100.5");
//! ```

use std::collections::VecDeque;

use crate::decimal::Decimal;
use crate::message::LevelUpdate;

/// Side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy orders.
    Bid,
    /// Sell orders.
    Ask,
}

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

/// The book of one (venue, symbol).
#[derive(Debug, Clone, Default)]
pub struct L2Book {
    bids: VecDeque<Level>,
    asks: VecDeque<Level>,
}

impl L2Book {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty book with room for `levels` per side before it allocates.
    pub fn with_capacity(levels: usize) -> Self {
        L2Book { bids: VecDeque::with_capacity(levels), asks: VecDeque::with_capacity(levels) }
    }

    /// Removes every level, keeping the memory.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Whether both sides are empty.
    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    fn side_mut(&mut self, side: Side) -> &mut VecDeque<Level> {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    /// Sets the quantity at `price` (absolute); zero removes the level.
    pub fn apply(&mut self, side: Side, price: Decimal, qty: Decimal) -> Applied {
        let levels = self.side_mut(side);
        let found = search(levels, side, price.raw());
        match (found, qty.is_zero()) {
            (Ok(i), true) => {
                levels.remove(i);
                Applied::Deleted
            }
            (Ok(i), false) => {
                levels[i] = Level { price, qty };
                Applied::Updated
            }
            (Err(_), true) => Applied::Absent,
            (Err(i), false) => {
                levels.insert(i, Level { price, qty });
                Applied::Inserted
            }
        }
    }

    /// Replaces the whole book with the given levels (any order; zero quantities skipped; of two
    /// levels with the same price, one is kept).
    pub fn load(&mut self, bids: &[Level], asks: &[Level]) {
        self.clear();
        self.bids.extend(bids.iter().filter(|l| !l.qty.is_zero()));
        self.asks.extend(asks.iter().filter(|l| !l.qty.is_zero()));
        self.sort_and_dedup();
    }

    /// Replaces the whole book with the non-zero entries of `updates` (any order).
    pub fn load_updates(&mut self, updates: &[LevelUpdate]) {
        self.clear();
        for u in updates.iter().filter(|u| !u.qty.is_zero()) {
            let level = Level { price: u.price, qty: u.qty };
            self.side_mut(u.side).push_back(level);
        }
        self.sort_and_dedup();
    }

    fn sort_and_dedup(&mut self) {
        self.bids.make_contiguous().sort_unstable_by_key(|l| l.price.raw());
        self.asks.make_contiguous().sort_unstable_by_key(|l| std::cmp::Reverse(l.price.raw()));
        dedup_sorted(&mut self.bids);
        dedup_sorted(&mut self.asks);
    }

    /// Keeps only the best `depth` levels on each side.
    pub fn truncate(&mut self, depth: usize) {
        for levels in [&mut self.bids, &mut self.asks] {
            if levels.len() > depth {
                let cut = levels.len() - depth;
                levels.drain(..cut);
            }
        }
    }

    /// The highest bid.
    pub fn best_bid(&self) -> Option<&Level> {
        self.bids.back()
    }

    /// The lowest ask.
    pub fn best_ask(&self) -> Option<&Level> {
        self.asks.back()
    }

    /// Bids, best (highest) first.
    pub fn bids(&self) -> impl ExactSizeIterator<Item = &Level> + DoubleEndedIterator {
        self.bids.iter().rev()
    }

    /// Asks, best (lowest) first.
    pub fn asks(&self) -> impl ExactSizeIterator<Item = &Level> + DoubleEndedIterator {
        self.asks.iter().rev()
    }

    /// Levels of one side, best first.
    pub fn levels(&self, side: Side) -> impl ExactSizeIterator<Item = &Level> + DoubleEndedIterator {
        match side {
            Side::Bid => self.bids.iter().rev(),
            Side::Ask => self.asks.iter().rev(),
        }
    }

    /// The quantity at `price`, if there is a level there.
    pub fn qty_at(&self, side: Side, price: Decimal) -> Option<Decimal> {
        let levels = match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        };
        let i = search(levels, side, price.raw()).ok()?;
        levels.get(i).map(|l| l.qty)
    }

    /// Whether the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        match (self.best_bid(), self.best_ask()) {
            (Some(b), Some(a)) => b.price >= a.price,
            _ => false,
        }
    }
}

/// Finds `key` in a side stored worst-first (binary search on the fixed-point value).
///
/// A galloping search from the best end was tried: on the `l2_book` bench (updates spread over
/// the top few hundred levels) it was 10% slower, so the plain binary search stays.
fn search(levels: &VecDeque<Level>, side: Side, key: i128) -> Result<usize, usize> {
    match side {
        Side::Bid => levels.binary_search_by(|l| l.price.raw().cmp(&key)),
        Side::Ask => levels.binary_search_by(|l| key.cmp(&l.price.raw())),
    }
}

/// Keeps one level per price in a sorted ring (no allocation).
fn dedup_sorted(levels: &mut VecDeque<Level>) {
    let s = levels.make_contiguous();
    let mut w = 0;
    for r in 0..s.len() {
        if w == 0 || s[w - 1].price != s[r].price {
            s[w] = s[r];
            w += 1;
        }
    }
    levels.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn apply_insert_update_delete() {
        let mut b = L2Book::new();
        assert_eq!(b.apply(Side::Ask, d("10.5"), d("1")), Applied::Inserted);
        assert_eq!(b.apply(Side::Ask, d("10.50"), d("2.0")), Applied::Updated);
        assert_eq!(b.best_ask().unwrap().qty.as_str(), "2.0");
        assert_eq!(b.best_ask().unwrap().price.as_str(), "10.50");
        assert_eq!(b.qty_at(Side::Ask, d("10.5")).unwrap().as_str(), "2.0");
        assert_eq!(b.qty_at(Side::Bid, d("10.5")), None);
        assert_eq!(b.apply(Side::Ask, d("11"), d("0")), Applied::Absent);
        assert_eq!(b.apply(Side::Ask, d("10.5"), d("0")), Applied::Deleted);
        assert!(b.is_empty());
    }

    #[test]
    fn levels_stay_compact() {
        // Two decimals of 16-byte value + 32-byte inline text; memmoves cost per byte.
        assert_eq!(std::mem::size_of::<Level>(), 96);
    }

    #[test]
    fn truncate_keeps_best_levels() {
        let mut b = L2Book::new();
        for p in 1..=5 {
            b.apply(Side::Bid, d(&p.to_string()), d("1"));
            b.apply(Side::Ask, d(&(p + 10).to_string()), d("1"));
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
                let side = if bid { Side::Bid } else { Side::Ask };
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

//! A rebuilt L2 book on our grid: one quantity per price, best first, bounded depth.
//!
//! The simulated external venue ([`crate::sim_venue`]) keeps one of these per venue, fed from
//! the venue's recorded or live L2 updates. Levels are kept in a pre-sized array per side,
//! best first (bids descending, asks ascending); setting a level is a binary search and an
//! in-place shift, with no allocation after construction. When a side is full, a new level
//! better than the worst pushes the worst out (the book is a depth-limited view, as the
//! venues' own feeds are); a new level worse than the worst is not kept.

use crate::types::{Level, Side};

/// One side of the book, best first.
#[derive(Debug, Clone)]
pub struct BookSide {
    side: Side,
    levels: Vec<Level>,
    depth: usize,
}

impl BookSide {
    /// An empty side holding at most `depth` levels (allocated here, once).
    pub fn new(side: Side, depth: usize) -> Self {
        Self { side, levels: Vec::with_capacity(depth.max(1)), depth: depth.max(1) }
    }

    /// Index of `price`, or where it would go.
    fn find(&self, price: i64) -> Result<usize, usize> {
        match self.side {
            Side::Buy => self.levels.binary_search_by(|l| price.cmp(&l.price)),
            Side::Sell => self.levels.binary_search_by(|l| l.price.cmp(&price)),
        }
    }

    /// The levels, best first.
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// The best level, if any.
    pub fn best(&self) -> Option<Level> {
        self.levels.first().copied()
    }

    /// Lots shown at `price` (0 when none).
    pub fn qty_at(&self, price: i64) -> i64 {
        self.find(price).map(|i| self.levels[i].qty).unwrap_or(0)
    }

    /// Sets the quantity at `price`; `qty <= 0` removes the level.
    pub fn set(&mut self, price: i64, qty: i64) {
        match self.find(price) {
            Ok(i) if qty > 0 => self.levels[i].qty = qty,
            Ok(i) => {
                self.levels.remove(i);
            }
            Err(_) if qty <= 0 => {}
            Err(i) => {
                if i >= self.depth {
                    return;
                }
                if self.levels.len() == self.depth {
                    self.levels.pop();
                }
                self.levels.insert(i, Level { price, qty });
            }
        }
    }

    /// Removes every level.
    pub fn clear(&mut self) {
        self.levels.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_stay_best_first_and_a_full_side_drops_its_worst() {
        let mut bids = BookSide::new(Side::Buy, 3);
        for (p, q) in [(100, 1), (102, 2), (101, 3), (99, 4)] {
            bids.set(p, q);
        }
        let prices: Vec<i64> = bids.levels().iter().map(|l| l.price).collect();
        assert_eq!(prices, vec![102, 101, 100]); // 99 is beyond the depth
        bids.set(103, 5);
        assert_eq!(bids.levels().iter().map(|l| l.price).collect::<Vec<_>>(), vec![103, 102, 101]);
        bids.set(102, 0);
        assert_eq!(bids.qty_at(102), 0);
        assert_eq!(bids.best(), Some(Level { price: 103, qty: 5 }));
    }
}

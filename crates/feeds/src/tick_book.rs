//! An integer L2 book for the hot path: prices in ticks, quantities in lots.
//!
//! [`book::L2Book`](crate::book::L2Book) keeps every level's exchange text (Kraken's checksum
//! hashes it) and finds levels by binary search. Where the text is not needed (a strategy's
//! view of a book, a simulator, Binance or Coinbase once their decimals are converted to an
//! instrument's ticks and lots), [`TickBook`] does the same job with integers only and O(1)
//! amortized work per update:
//!
//! - Each side is a *ladder*: a dense window of `window` consecutive ticks near that side's best
//!   price, one `i64` quantity per tick (0 = no level), with a two-level bitmap of the non-empty
//!   ticks (the core's [`SlotBitmap`], which the order book's price ladder uses too). Setting a
//!   quantity is an array store and two bit operations; the best price is kept
//!   incrementally, and when the best level is deleted the next one is found by scanning the
//!   bitmap (one `trailing_zeros` per 64 ticks, one per 4,096 ticks at the summary level).
//! - Prices outside the window (far from the touch, or a touch that jumped) live in a sorted
//!   vector (few levels, so binary search and a short memmove beat a tree), so any price is
//!   accepted and the best price is never wrong. When the best
//!   price leaves the central part of the window, the window is moved so that the best sits a
//!   quarter of the way in: levels that fall out go to the far list, far levels that fall in
//!   come back into the window. Moving costs O(window), and the hysteresis makes it rare (the
//!   touch must drift by a quarter of the window).
//! - Bids are stored under the key `-price`, so both sides are the same "smallest key is best"
//!   ladder (NautilusTrader's side-aware key idea).
//!
//! Memory: two windows of `window` quantities plus one bit per tick, allocated once, and a far
//! list that holds the levels outside the windows only and keeps its capacity: once it has grown
//! to the most far levels seen (warm-up), no update allocates (see `tests/tick_book_no_alloc.rs`
//! and `tests/binance_ticks.rs`).
//!
//! ```
//! use wintermute_feeds::book::Side;
//! use wintermute_feeds::tick_book::TickBook;
//! let mut book = TickBook::new();
//! book.set(Side::Buy, 10_050, 2).unwrap();
//! book.set(Side::Buy, 10_070, 1).unwrap();
//! book.set(Side::Sell, 10_100, 3).unwrap();
//! assert_eq!(book.best_bid(), Some((10_070, 1)));
//! book.set(Side::Buy, 10_070, 0).unwrap(); // zero deletes
//! assert_eq!(book.best_bid(), Some((10_050, 2)));
//! assert_eq!(book.best_ask(), Some((10_100, 3)));
//! assert!(book.set(Side::Sell, 10_100, -1).is_err()); // and leaves the book as it was
//! ```

use wintermute_core::slot_bitmap::SlotBitmap;

use crate::book::{Applied, Side};

/// Ticks per side in the dense window of [`TickBook::new`].
pub const DEFAULT_WINDOW: usize = 4_096;
/// Smallest window [`TickBook::with_window`] accepts.
pub const MIN_WINDOW: usize = 64;
/// Largest window [`TickBook::with_window`] accepts.
pub const MAX_WINDOW: usize = 1 << 20;
/// Largest absolute price in ticks (keeps every window computation far from `i64` overflow).
pub const MAX_PRICE: i64 = 1 << 62;

/// The book side an L2 level is on, as the feeds name it (`Bid` for [`Side::Buy`], `Ask` for
/// [`Side::Sell`]), for messages.
fn level_side(side: Side) -> &'static str {
    match side {
        Side::Buy => "Bid",
        Side::Sell => "Ask",
    }
}

/// A rejected [`TickBook`] operation; the book is left untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TickBookError {
    /// A negative quantity (0 deletes a level; quantities are absolute).
    #[error("negative quantity: side={} price={price} qty={qty}", level_side(*side))]
    NegativeQty {
        /// Side of the update.
        side: Side,
        /// Price in ticks.
        price: i64,
        /// The quantity given.
        qty: i64,
    },
    /// A price beyond ±[`MAX_PRICE`] ticks.
    #[error("price out of range: side={} price={price} max_abs={}", level_side(*side), MAX_PRICE)]
    PriceOutOfRange {
        /// Side of the update.
        side: Side,
        /// Price in ticks.
        price: i64,
    },
    /// A window size that is not a multiple of 64 in [`MIN_WINDOW`, `MAX_WINDOW`].
    #[error("bad window: window={window} (a multiple of 64 in {}..={})", MIN_WINDOW, MAX_WINDOW)]
    BadWindow {
        /// The window given.
        window: usize,
    },
}

/// Levels outside a window: (key, qty) sorted by key in a vector.
///
/// Far levels are few (deep levels a venue reports, a touch that jumped), so a sorted vector
/// beats a tree: binary search, a short memmove per insert or delete, and memory that is kept
/// across `clear`, so after warm-up even far levels allocate nothing.
#[derive(Debug, Clone, Default)]
struct FarLevels {
    levels: Vec<(i64, i64)>,
}

impl FarLevels {
    fn find(&self, key: i64) -> Result<usize, usize> {
        self.levels.binary_search_by_key(&key, |l| l.0)
    }

    fn get(&self, key: i64) -> i64 {
        self.find(key).map_or(0, |i| self.levels[i].1)
    }

    /// Sets a level; whether it was there.
    fn insert(&mut self, key: i64, qty: i64) -> bool {
        match self.find(key) {
            Ok(i) => {
                self.levels[i].1 = qty;
                true
            }
            Err(i) => {
                self.levels.insert(i, (key, qty));
                false
            }
        }
    }

    /// Removes a level; whether it was there.
    fn remove(&mut self, key: i64) -> bool {
        match self.find(key) {
            Ok(i) => {
                self.levels.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    fn first(&self) -> Option<i64> {
        self.levels.first().map(|l| l.0)
    }

    /// Removes and yields the levels with keys in `lo..hi`.
    fn take_range(&mut self, lo: i64, hi: i64) -> std::vec::Drain<'_, (i64, i64)> {
        let start = self.levels.partition_point(|l| l.0 < lo);
        let end = self.levels.partition_point(|l| l.0 < hi);
        self.levels.drain(start..end)
    }

    fn below(&self, key: i64) -> &[(i64, i64)] {
        &self.levels[..self.levels.partition_point(|l| l.0 < key)]
    }

    fn from(&self, key: i64) -> &[(i64, i64)] {
        &self.levels[self.levels.partition_point(|l| l.0 < key)..]
    }

    fn clear(&mut self) {
        self.levels.clear();
    }
}

/// One side: the smallest key is the best level.
#[derive(Debug, Clone)]
struct Ladder {
    /// Key of slot 0 of the window.
    base: i64,
    /// Quantity per slot (0 = empty).
    qty: Box<[i64]>,
    /// Which window slots are non-empty (the core's two-level bitmap).
    occupied: SlotBitmap,
    /// Levels outside the window.
    far: FarLevels,
    /// Non-empty levels, window and far list together.
    len: usize,
    /// The best (smallest) key, when the side is not empty.
    best: Option<i64>,
}

impl Ladder {
    fn new(window: usize) -> Self {
        Ladder {
            base: 0,
            qty: vec![0; window].into_boxed_slice(),
            occupied: SlotBitmap::new(window),
            far: FarLevels::default(),
            len: 0,
            best: None,
        }
    }

    fn window(&self) -> i64 {
        self.qty.len() as i64
    }

    /// The window slot of `key`, if it is inside the window.
    #[inline]
    fn slot(&self, key: i64) -> Option<usize> {
        let off = key.wrapping_sub(self.base);
        (0..self.window()).contains(&off).then_some(off as usize)
    }

    #[inline]
    fn mark(&mut self, slot: usize) {
        self.occupied.set(slot);
    }

    #[inline]
    fn unmark(&mut self, slot: usize) {
        self.occupied.clear(slot);
    }

    /// The first non-empty slot at or after `from`.
    #[inline]
    fn next_slot(&self, from: usize) -> Option<usize> {
        self.occupied.next_at_or_after(from)
    }

    fn get(&self, key: i64) -> i64 {
        match self.slot(key) {
            Some(s) => self.qty[s],
            None => self.far.get(key),
        }
    }

    #[inline]
    fn set(&mut self, key: i64, qty: i64) -> Applied {
        if qty != 0 && self.slot(key).is_none() && !matches!(self.best, Some(b) if key >= b) {
            // A new best outside the window: move the window to it first (rather than through
            // the far list), so an empty side or a jump of the touch allocates nothing.
            self.recentre(key - self.window() / 4);
        }
        let applied = match self.slot(key) {
            Some(s) => {
                let old = self.qty[s];
                self.qty[s] = qty;
                match (old != 0, qty != 0) {
                    (false, true) => {
                        self.mark(s);
                        Applied::Inserted
                    }
                    (true, true) => Applied::Updated,
                    (true, false) => {
                        self.unmark(s);
                        Applied::Deleted
                    }
                    (false, false) => Applied::Absent,
                }
            }
            None if qty != 0 => {
                if self.far.insert(key, qty) {
                    Applied::Updated
                } else {
                    Applied::Inserted
                }
            }
            None => {
                if self.far.remove(key) {
                    Applied::Deleted
                } else {
                    Applied::Absent
                }
            }
        };
        match applied {
            Applied::Inserted => {
                self.len += 1;
                let better = match self.best {
                    Some(b) => key < b,
                    None => true,
                };
                if better {
                    self.best = Some(key);
                    self.keep_best_central();
                }
            }
            Applied::Deleted => {
                self.len -= 1;
                if self.best == Some(key) {
                    self.best = self.find_best_after(key);
                    self.keep_best_central();
                }
            }
            Applied::Updated | Applied::Absent => {}
        }
        applied
    }

    /// The best key once `old_best` (the previous best) was deleted.
    fn find_best_after(&self, old_best: i64) -> Option<i64> {
        if let Some(s) = self.slot(old_best) {
            // Nothing lies below the old best, so the far list holds only keys above the window.
            let next = self.next_slot(s).map(|n| self.base + n as i64);
            return next.or_else(|| self.far.first());
        }
        // The old best was far: the next one is the far list's first or the window's first.
        let far = self.far.first();
        let near = self.next_slot(0).map(|n| self.base + n as i64);
        match (far, near) {
            (Some(f), Some(n)) => Some(f.min(n)),
            (f, n) => f.or(n),
        }
    }

    /// Moves the window when the best key left its central part (`[W/16, 3W/4)`).
    #[inline]
    fn keep_best_central(&mut self) {
        let Some(best) = self.best else { return };
        let w = self.window();
        let off = best.wrapping_sub(self.base);
        if off < w / 16 || off >= w / 4 * 3 {
            self.recentre(best - w / 4);
        }
    }

    /// Moves the window to start at `new_base`; every level keeps its quantity.
    fn recentre(&mut self, new_base: i64) {
        let w = self.window();
        // Keys stay within ±(MAX_PRICE + window), so the shift can exceed i64: work in i128.
        let shift = i128::from(new_base) - i128::from(self.base);
        // 1. Levels leaving the window go to the far list.
        let mut s = 0;
        while let Some(n) = self.next_slot(s) {
            let new_off = n as i128 - shift;
            if !(0..i128::from(w)).contains(&new_off) {
                self.far.insert(self.base + n as i64, self.qty[n]);
            }
            s = n + 1;
        }
        // 2. Slide the quantities that stay.
        let n = self.qty.len();
        if shift.unsigned_abs() >= n as u128 {
            self.qty.fill(0);
        } else if shift > 0 {
            let d = shift as usize;
            self.qty.copy_within(d.., 0);
            self.qty[n - d..].fill(0);
        } else if shift < 0 {
            let d = (-shift) as usize;
            self.qty.copy_within(..n - d, d);
            self.qty[..d].fill(0);
        }
        self.base = new_base;
        // 3. Far levels inside the new window come back.
        for (key, q) in self.far.take_range(new_base, new_base + w) {
            self.qty[(key - new_base) as usize] = q;
        }
        // 4. Rebuild the bitmap from the quantities.
        for (i, chunk) in self.qty.chunks_exact(64).enumerate() {
            let mut word = 0u64;
            for (b, &q) in chunk.iter().enumerate() {
                word |= u64::from(q != 0) << b;
            }
            self.occupied.set_word(i, word);
        }
    }

    fn clear(&mut self) {
        self.qty.fill(0);
        self.occupied.clear_all();
        self.far.clear();
        self.len = 0;
        self.best = None;
    }

    /// Levels best first as (key, qty).
    fn iter(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        let below = self.far.below(self.base).iter().copied();
        let mut s = 0;
        let window = std::iter::from_fn(move || {
            let n = self.next_slot(s)?;
            s = n + 1;
            Some((self.base + n as i64, self.qty[n]))
        });
        let above = self.far.from(self.base + self.window()).iter().copied();
        below.chain(window).chain(above)
    }
}

/// `sides` code of a bid in [`TickBook::apply_batch`].
pub const SIDE_BID: u8 = 0;
/// `sides` code of an ask in [`TickBook::apply_batch`].
pub const SIDE_ASK: u8 = 1;
/// Best bid written by [`TickBook::apply_batch`] when there are no bids.
pub const NO_BID: i64 = i64::MIN;
/// Best ask written by [`TickBook::apply_batch`] when there are no asks.
pub const NO_ASK: i64 = i64::MAX;

/// A rejected [`TickBook::apply_batch`]; nothing was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The input and output slices differ in length.
    #[error("batch lengths differ: sides={sides} prices={prices} qtys={qtys} outputs={outputs}")]
    Lengths {
        /// Length of `sides`.
        sides: usize,
        /// Length of `prices`.
        prices: usize,
        /// Length of `qtys`.
        qtys: usize,
        /// Shorter output length.
        outputs: usize,
    },
    /// A side code other than [`SIDE_BID`] or [`SIDE_ASK`].
    #[error("bad side code: index={index} side={side} (0 = bid, 1 = ask)")]
    Side {
        /// Position in the batch.
        index: usize,
        /// The code given.
        side: u8,
    },
    /// An update [`TickBook::set`] would reject.
    #[error("bad update: index={index} {error}")]
    Update {
        /// Position in the batch.
        index: usize,
        /// Why.
        error: TickBookError,
    },
}

/// The side of a batch side code.
pub fn side_of(code: u8) -> Option<Side> {
    match code {
        SIDE_BID => Some(Side::Buy),
        SIDE_ASK => Some(Side::Sell),
        _ => None,
    }
}

#[inline]
fn check(side: Side, price: i64, qty: i64) -> Result<(), TickBookError> {
    if qty < 0 {
        return Err(TickBookError::NegativeQty { side, price, qty });
    }
    if !(-MAX_PRICE..=MAX_PRICE).contains(&price) {
        return Err(TickBookError::PriceOutOfRange { side, price });
    }
    Ok(())
}

/// Key of a price on a side: asks by price, bids by negated price (smallest key = best).
#[inline]
fn key(side: Side, price: i64) -> i64 {
    match side {
        Side::Buy => -price,
        Side::Sell => price,
    }
}

/// An integer price-level book: see the module docs.
#[derive(Debug, Clone)]
pub struct TickBook {
    bids: Ladder,
    asks: Ladder,
}

impl Default for TickBook {
    fn default() -> Self {
        Self::new()
    }
}

impl TickBook {
    /// An empty book with [`DEFAULT_WINDOW`] ticks per side in the dense window.
    pub fn new() -> Self {
        TickBook { bids: Ladder::new(DEFAULT_WINDOW), asks: Ladder::new(DEFAULT_WINDOW) }
    }

    /// An empty book with `window` ticks per side in the dense window (a multiple of 64 in
    /// [`MIN_WINDOW`]`..=`[`MAX_WINDOW`]).
    pub fn with_window(window: usize) -> Result<Self, TickBookError> {
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&window) || window & 63 != 0 {
            return Err(TickBookError::BadWindow { window });
        }
        Ok(TickBook { bids: Ladder::new(window), asks: Ladder::new(window) })
    }

    /// Ticks per side in the dense window.
    pub fn window(&self) -> usize {
        self.bids.qty.len()
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    /// Sets the quantity at `price` (absolute, in lots); zero removes the level.
    ///
    /// Fails, changing nothing, on a negative quantity or a price beyond ±[`MAX_PRICE`].
    #[inline]
    pub fn set(&mut self, side: Side, price: i64, qty: i64) -> Result<Applied, TickBookError> {
        check(side, price, qty)?;
        let ladder = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        Ok(ladder.set(key(side, price), qty))
    }

    /// The highest bid as (price, qty).
    #[inline]
    pub fn best_bid(&self) -> Option<(i64, i64)> {
        let k = self.bids.best?;
        Some((-k, self.bids.get(k)))
    }

    /// The lowest ask as (price, qty).
    #[inline]
    pub fn best_ask(&self) -> Option<(i64, i64)> {
        let k = self.asks.best?;
        Some((k, self.asks.get(k)))
    }

    /// The quantity at `price` (0 when there is no level).
    pub fn qty_at(&self, side: Side, price: i64) -> i64 {
        if !(-MAX_PRICE..=MAX_PRICE).contains(&price) {
            return 0;
        }
        self.ladder(side).get(key(side, price))
    }

    /// Number of levels on a side.
    pub fn len(&self, side: Side) -> usize {
        self.ladder(side).len
    }

    /// Whether both sides are empty.
    pub fn is_empty(&self) -> bool {
        self.bids.len == 0 && self.asks.len == 0
    }

    /// Removes every level, keeping the windows' memory.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Levels of one side as (price, qty), best first.
    pub fn levels(&self, side: Side) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.ladder(side).iter().map(move |(k, q)| (key(side, k), q))
    }

    /// Applies many updates and records the best prices after each one.
    ///
    /// `sides[i]` is [`SIDE_BID`] or [`SIDE_ASK`]; after update `i`, `best_bids[i]` and
    /// `best_asks[i]` hold the best prices, or [`NO_BID`] / [`NO_ASK`] for an empty side. All
    /// inputs are checked before anything is applied, so a bad batch changes nothing. Nothing is
    /// allocated (the caller owns the output slices).
    pub fn apply_batch(
        &mut self,
        sides: &[u8],
        prices: &[i64],
        qtys: &[i64],
        best_bids: &mut [i64],
        best_asks: &mut [i64],
    ) -> Result<(), BatchError> {
        let n = sides.len();
        if [prices.len(), qtys.len(), best_bids.len(), best_asks.len()].iter().any(|&l| l != n) {
            return Err(BatchError::Lengths {
                sides: n,
                prices: prices.len(),
                qtys: qtys.len(),
                outputs: best_bids.len().min(best_asks.len()),
            });
        }
        for (i, ((&s, &p), &q)) in sides.iter().zip(prices).zip(qtys).enumerate() {
            let side = side_of(s).ok_or(BatchError::Side { index: i, side: s })?;
            check(side, p, q).map_err(|error| BatchError::Update { index: i, error })?;
        }
        for i in 0..n {
            let side = if sides[i] == SIDE_BID { Side::Buy } else { Side::Sell };
            let ladder = match side {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            ladder.set(key(side, prices[i]), qtys[i]);
            best_bids[i] = self.bids.best.map_or(NO_BID, |k| -k);
            best_asks[i] = self.asks.best.unwrap_or(NO_ASK);
        }
        Ok(())
    }

    /// Whether the best bid is at or above the best ask.
    pub fn is_crossed(&self) -> bool {
        match (self.best_bid(), self.best_ask()) {
            (Some((b, _)), Some((a, _))) => b >= a,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn set_replace_delete_and_best() {
        let mut b = TickBook::with_window(64).unwrap();
        assert_eq!(b.set(Side::Sell, 100, 5), Ok(Applied::Inserted));
        assert_eq!(b.set(Side::Sell, 100, 6), Ok(Applied::Updated));
        assert_eq!(b.set(Side::Sell, 99, 1), Ok(Applied::Inserted));
        assert_eq!(b.best_ask(), Some((99, 1)));
        assert_eq!(b.set(Side::Sell, 99, 0), Ok(Applied::Deleted));
        assert_eq!(b.best_ask(), Some((100, 6)));
        assert_eq!(b.set(Side::Sell, 98, 0), Ok(Applied::Absent));
        assert_eq!(b.len(Side::Sell), 1);
        assert_eq!(b.best_bid(), None);
    }

    #[test]
    fn far_prices_and_window_moves_keep_the_best_right() {
        let mut b = TickBook::with_window(64).unwrap();
        b.set(Side::Buy, 1_000, 1).unwrap();
        b.set(Side::Buy, 10, 2).unwrap(); // far below: in the far list
        b.set(Side::Buy, 1_000_000, 3).unwrap(); // far above: becomes best, window moves
        assert_eq!(b.best_bid(), Some((1_000_000, 3)));
        b.set(Side::Buy, 1_000_000, 0).unwrap();
        assert_eq!(b.best_bid(), Some((1_000, 1)));
        b.set(Side::Buy, 1_000, 0).unwrap();
        assert_eq!(b.best_bid(), Some((10, 2)));
        assert_eq!(b.levels(Side::Buy).collect::<Vec<_>>(), [(10, 2)]);
        b.set(Side::Buy, -MAX_PRICE, 4).unwrap();
        b.set(Side::Buy, MAX_PRICE, 5).unwrap();
        assert_eq!(b.levels(Side::Buy).collect::<Vec<_>>(), [(MAX_PRICE, 5), (10, 2), (-MAX_PRICE, 4)]);
    }

    #[test]
    fn bad_input_is_rejected_and_changes_nothing() {
        let mut b = TickBook::new();
        b.set(Side::Buy, 5, 1).unwrap();
        let err = b.set(Side::Buy, 5, -1).unwrap_err();
        assert_eq!(err.to_string(), "negative quantity: side=Bid price=5 qty=-1");
        assert!(matches!(b.set(Side::Sell, i64::MIN, 1), Err(TickBookError::PriceOutOfRange { .. })));
        assert_eq!(b.best_bid(), Some((5, 1)));
        assert!(b.best_ask().is_none());
        assert!(matches!(TickBook::with_window(100), Err(TickBookError::BadWindow { window: 100 })));
        assert!(TickBook::with_window(0).is_err());
        assert!(TickBook::with_window(MAX_WINDOW * 2).is_err());
    }

    #[test]
    fn batch_matches_single_updates_and_rejects_whole() {
        let mut a = TickBook::with_window(64).unwrap();
        let mut b = TickBook::with_window(64).unwrap();
        let sides = [SIDE_BID, SIDE_ASK, SIDE_BID, SIDE_BID, SIDE_ASK];
        let prices = [10, 12, 11, 11, 12];
        let qtys = [1, 2, 3, 0, 0];
        let (mut bb, mut ba) = ([0; 5], [0; 5]);
        a.apply_batch(&sides, &prices, &qtys, &mut bb, &mut ba).unwrap();
        assert_eq!(bb, [10, 10, 11, 10, 10]);
        assert_eq!(ba, [NO_ASK, 12, 12, 12, NO_ASK]);
        for i in 0..5 {
            b.set(side_of(sides[i]).unwrap(), prices[i], qtys[i]).unwrap();
        }
        assert_eq!(a.levels(Side::Buy).collect::<Vec<_>>(), b.levels(Side::Buy).collect::<Vec<_>>());
        let err = a.apply_batch(&[0, 1], &[5, 6], &[1, -1], &mut [0; 2], &mut [0; 2]).unwrap_err();
        assert_eq!(err.to_string(), "bad update: index=1 negative quantity: side=Ask price=6 qty=-1");
        assert!(matches!(
            a.apply_batch(&[2], &[5], &[1], &mut [0], &mut [0]),
            Err(BatchError::Side { index: 0, side: 2 })
        ));
        assert!(matches!(a.apply_batch(&[0], &[5], &[], &mut [0], &mut [0]), Err(BatchError::Lengths { .. })));
        assert_eq!(a.qty_at(Side::Buy, 5), 0, "a rejected batch applies nothing");
    }

    /// A reference book: one ordered map per side.
    #[derive(Default)]
    struct Model {
        bids: BTreeMap<i64, i64>,
        asks: BTreeMap<i64, i64>,
    }

    impl Model {
        fn set(&mut self, side: Side, price: i64, qty: i64) {
            let m = if side == Side::Buy { &mut self.bids } else { &mut self.asks };
            if qty == 0 {
                m.remove(&price);
            } else {
                m.insert(price, qty);
            }
        }
        fn best_bid(&self) -> Option<(i64, i64)> {
            self.bids.iter().next_back().map(|(&p, &q)| (p, q))
        }
        fn best_ask(&self) -> Option<(i64, i64)> {
            self.asks.iter().next().map(|(&p, &q)| (p, q))
        }
    }

    /// (bid?, price step kind, offset, qty): a walk that mostly stays near a moving mid, sometimes
    /// jumps far away, and deletes often (a quarter of the updates, plus explicit best deletes).
    fn op() -> impl Strategy<Value = (bool, u8, i64, i64)> {
        (any::<bool>(), 0u8..20, -300i64..300, prop_oneof![3 => Just(0i64), 9 => 1i64..50])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]

        /// Best bid/ask after every update and all levels at the end equal the reference's.
        #[test]
        fn agrees_with_a_btreemap_reference(window in prop_oneof![Just(64usize), Just(128), Just(4096)],
                                            ops in prop::collection::vec(op(), 0..400)) {
            let mut book = TickBook::with_window(window).unwrap();
            let mut model = Model::default();
            let mut mid = 0i64;
            for (bid, kind, off, qty) in ops {
                let side = if bid { Side::Buy } else { Side::Sell };
                let price = match kind {
                    // Drift the mid.
                    0 => { mid += off; mid }
                    // A far price (overflow map), sometimes a huge one.
                    1 => mid + off * 1_000,
                    2 => if off > 0 { MAX_PRICE - off } else { -MAX_PRICE - off },
                    // Delete the best level of the side.
                    3 => {
                        let best = if bid { model.best_bid() } else { model.best_ask() };
                        let Some((p, _)) = best else { continue };
                        book.set(side, p, 0).unwrap();
                        model.set(side, p, 0);
                        prop_assert_eq!(book.best_bid(), model.best_bid());
                        prop_assert_eq!(book.best_ask(), model.best_ask());
                        continue;
                    }
                    _ => mid + off,
                };
                book.set(side, price, qty).unwrap();
                model.set(side, price, qty);
                prop_assert_eq!(book.best_bid(), model.best_bid());
                prop_assert_eq!(book.best_ask(), model.best_ask());
                prop_assert_eq!(book.qty_at(side, price), qty);
            }
            let bids: Vec<_> = model.bids.iter().rev().map(|(&p, &q)| (p, q)).collect();
            let asks: Vec<_> = model.asks.iter().map(|(&p, &q)| (p, q)).collect();
            prop_assert_eq!(book.levels(Side::Buy).collect::<Vec<_>>(), bids);
            prop_assert_eq!(book.levels(Side::Sell).collect::<Vec<_>>(), asks);
            prop_assert_eq!(book.len(Side::Buy), model.bids.len());
            prop_assert_eq!(book.len(Side::Sell), model.asks.len());
        }
    }
}

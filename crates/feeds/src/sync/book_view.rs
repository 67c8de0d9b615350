//! Reading a stream's book whatever it is stored as: exact decimal levels from the decimal
//! [`L2Book`] or from an integer [`ScaledBook`].
//!
//! The decimal builders keep every level's exchange text ([`L2Book`]); the integer Binance feed
//! ([`BinanceTickFeed`](super::BinanceTickFeed)) keeps ticks and lots ([`TickBook`]) with the
//! instrument's [`TickScale`]. Reports, the published market view and the consolidated book
//! want decimal levels from both: [`BookView`] gives them, exactly. A price in ticks times the
//! tick size is an exact decimal (`raw = ticks × tick_size.raw`, integer arithmetic in units of
//! 10^-18), never a float; its text is canonical (`58001.03`, where the exchange wrote
//! `58001.03000000`: the value is the same).
//!
//! ```
//! use wintermute_feeds::binance_ticks::TickScale;
//! use wintermute_feeds::book::Side;
//! use wintermute_feeds::sync::{BookView, ScaledBook};
//! let mut book = ScaledBook::new(TickScale::new("0.01", "0.00001").unwrap(), 4_096).unwrap();
//! book.set(Side::Buy, 5_800_103, 8_620).unwrap();
//! let best = book.best_bid_level().unwrap();
//! assert_eq!((best.price.as_str(), best.qty.as_str()), ("58001.03", "0.0862"));
//! ```

use crate::binance_ticks::TickScale;
use crate::book::{L2Book, Level, Side};
use crate::error::FeedError;
use crate::tick_book::TickBook;

/// Read access to a stream's book as exact decimal levels (see the module docs).
pub trait BookView {
    /// The highest bid.
    fn best_bid_level(&self) -> Option<Level>;
    /// The lowest ask.
    fn best_ask_level(&self) -> Option<Level>;
    /// Levels of one side, best first.
    fn side_levels(&self, side: Side) -> impl Iterator<Item = Level> + '_;
    /// Number of levels on one side.
    fn level_count(&self, side: Side) -> usize;
    /// Whether both sides are empty.
    fn is_empty(&self) -> bool;
    /// Whether the best bid is at or above the best ask.
    fn is_crossed(&self) -> bool;
    /// Removes every level (keeping the memory).
    fn clear(&mut self);
}

impl BookView for L2Book {
    fn best_bid_level(&self) -> Option<Level> {
        self.best_bid().copied()
    }

    fn best_ask_level(&self) -> Option<Level> {
        self.best_ask().copied()
    }

    fn side_levels(&self, side: Side) -> impl Iterator<Item = Level> + '_ {
        self.levels(side).copied()
    }

    fn level_count(&self, side: Side) -> usize {
        self.levels(side).len()
    }

    fn is_empty(&self) -> bool {
        L2Book::is_empty(self)
    }

    fn is_crossed(&self) -> bool {
        L2Book::is_crossed(self)
    }

    fn clear(&mut self) {
        L2Book::clear(self);
    }
}

/// An integer book and the scale that turns its ticks and lots back into exact decimals.
#[derive(Debug, Clone)]
pub struct ScaledBook {
    book: TickBook,
    scale: TickScale,
}

impl ScaledBook {
    /// An empty book with `window` ticks per side in the dense part (see [`TickBook::with_window`]).
    pub fn new(scale: TickScale, window: usize) -> Result<Self, FeedError> {
        let book = TickBook::with_window(window).map_err(|_| FeedError::Config {
            field: "window",
            reason: format!("window={window}: a multiple of 64 in 64..=2^20"),
        })?;
        Ok(ScaledBook { book, scale })
    }

    /// The integer book (ticks, lots).
    #[inline]
    pub fn ticks(&self) -> &TickBook {
        &self.book
    }

    /// The integer book, to change it (the builder's own use: it checks every price and
    /// quantity against the scale's bounds first, so every level converts back exactly).
    #[inline]
    pub(crate) fn ticks_mut(&mut self) -> &mut TickBook {
        &mut self.book
    }

    /// Sets a level (absolute; 0 deletes), refusing a price or quantity beyond what the scale
    /// converts back to an exact decimal ([`TickScale::max_price`], [`TickScale::max_qty`]).
    pub fn set(&mut self, side: Side, price: i64, qty: i64) -> Result<(), FeedError> {
        let bad = |field, reason| FeedError::BadField { venue: "binance", field, reason };
        if !(0..=self.scale.max_price()).contains(&price) {
            return Err(bad("price", "beyond the scaled book's range"));
        }
        if !(0..=self.scale.max_qty()).contains(&qty) {
            return Err(bad("qty", "beyond the scaled book's range"));
        }
        self.book.set(side, price, qty).map(|_| ()).map_err(|_| bad("price", "beyond the integer book's range"))
    }

    /// The instrument's tick and lot.
    #[inline]
    pub fn scale(&self) -> &TickScale {
        &self.scale
    }

    /// A level in ticks and lots as exact decimals.
    #[inline]
    pub fn level(&self, (price, qty): (i64, i64)) -> Level {
        Level { price: self.scale.price_decimal(price), qty: self.scale.qty_decimal(qty) }
    }
}

impl BookView for ScaledBook {
    fn best_bid_level(&self) -> Option<Level> {
        self.book.best_bid().map(|l| self.level(l))
    }

    fn best_ask_level(&self) -> Option<Level> {
        self.book.best_ask().map(|l| self.level(l))
    }

    fn side_levels(&self, side: Side) -> impl Iterator<Item = Level> + '_ {
        self.book.levels(side).map(|l| self.level(l))
    }

    fn level_count(&self, side: Side) -> usize {
        self.book.len(side)
    }

    fn is_empty(&self) -> bool {
        self.book.is_empty()
    }

    fn is_crossed(&self) -> bool {
        self.book.is_crossed()
    }

    fn clear(&mut self) {
        self.book.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wintermute_core::decimal::Decimal;

    #[test]
    fn both_books_read_the_same_levels() {
        let d = |s| Decimal::parse_unsigned(s).unwrap();
        let mut dec = L2Book::new();
        dec.apply(Side::Buy, d("100.05"), d("1.50000000"));
        dec.apply(Side::Buy, d("99.95"), d("2"));
        dec.apply(Side::Sell, d("100.10"), d("0.001"));
        let mut int = ScaledBook::new(TickScale::new("0.05", "0.001").unwrap(), 64).unwrap();
        int.set(Side::Buy, 2001, 1500).unwrap();
        int.set(Side::Buy, 1999, 2000).unwrap();
        int.set(Side::Sell, 2002, 1).unwrap();
        assert!(int.set(Side::Sell, -1, 1).is_err() && int.set(Side::Sell, 1, -1).is_err());
        for side in [Side::Buy, Side::Sell] {
            let a: Vec<Level> = dec.side_levels(side).collect();
            let b: Vec<Level> = int.side_levels(side).collect();
            assert_eq!(a, b, "{side:?}: equal values");
            assert_eq!(dec.level_count(side), int.level_count(side));
        }
        assert_eq!(int.best_bid_level().unwrap().price.as_str(), "100.05");
        assert_eq!(int.best_bid_level().unwrap().qty.as_str(), "1.5");
        assert_eq!(dec.best_ask_level(), int.best_ask_level());
        assert!(!BookView::is_crossed(&int));
        BookView::clear(&mut int);
        assert!(BookView::is_empty(&int));
    }

    #[test]
    fn extreme_ticks_stay_exact() {
        // The largest price the integer book takes, at an 18-decimal tick: still exact text.
        let s = TickScale::new("0.000000000000000001", "1").unwrap();
        let max = crate::tick_book::MAX_PRICE;
        assert_eq!(s.max_price(), max);
        assert_eq!(s.price_decimal(max).raw(), i128::from(max));
        assert_eq!(s.price_decimal(max).as_str(), "4.611686018427387904");
        // A coarse tick: the bound is what a decimal (< 10^20) holds.
        let s = TickScale::new("1000", "0.00000001").unwrap();
        assert_eq!(s.price_decimal(12).as_str(), "12000");
        assert_eq!(s.max_price(), 99_999_999_999_999_999);
        assert_eq!(s.price_decimal(s.max_price()).as_str(), "99999999999999999000");
        assert_eq!(s.qty_decimal(s.max_qty()).as_str(), "92233720368.54775807");
    }
}

//! The explicit mapping of our instrument onto each external venue's instrument, and the exact
//! conversion of a venue's prices and quantities onto our grid.
//!
//! Each configured venue gets a [`VenueMapping`]: the venue ([`VenueName`]), its symbol, its
//! quote currency, its weight and staleness cut-off in the fair value, and its [`Basis`]. Two
//! instruments in different quote currencies (Binance `BTCUSDT`, Coinbase `BTC-USD`) are never
//! silently merged: the configuration must give a basis in ticks or have it measured online
//! against a reference venue in our own quote currency (see [`crate::fair_value`]).
//!
//! ## Onto our grid, exactly
//! A venue's price is an exact decimal (the feed's [`Decimal`](wintermute_core::decimal::Decimal), a
//! count of 10^-18) or integer ticks of the venue's own [`TickScale`]; either way
//! [`GridScale`] divides that integer by our tick in `i128`, with no float on the way:
//!
//! - a **bid** is rounded **down** and an **ask up** onto our tick (a venue tick finer than ours
//!   never makes the venue look tighter than it is);
//! - a quantity is rounded down to our lots, and a non-zero quantity below one lot counts as one
//!   lot (the level exists; it only weights the microprice).
//!
//! ```
//! use wintermute_mm::instrument_map::GridScale;
//! use wintermute_core::decimal::Decimal;
//! use wintermute_feeds::book::{L2Book, Side};
//! let grid = GridScale::new("0.01", "0.0001").unwrap();
//! let d = |s| Decimal::parse(s).unwrap();
//! let mut book = L2Book::new();
//! book.apply(Side::Buy, d("60000.015"), d("0.5"));   // finer than our tick: rounded down
//! book.apply(Side::Sell, d("60000.025"), d("0.25")); // rounded up
//! let top = grid.top_of_l2(&book, 7);
//! assert_eq!((top.bid.price, top.bid.qty), (6_000_001, 5_000));
//! assert_eq!((top.ask.price, top.ask.qty), (6_000_003, 2_500));
//! ```

use wintermute_feeds::binance_ticks::TickScale;
use wintermute_feeds::book::L2Book;
use wintermute_feeds::TickBook;

use crate::config::{step_raw, BasisConfig, MmConfigError, PricingConfig, VenueName};
use crate::types::{Level, Top, VenueId};

/// Our instrument's tick and lot, for exact conversion of decimal prices onto our grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridScale {
    tick_raw: i128,
    lot_raw: i128,
}

impl GridScale {
    /// From our tick size and lot size as decimal text (`"0.01"`, `"0.0001"`).
    pub fn new(tick_size: &str, lot_size: &str) -> Result<Self, MmConfigError> {
        Ok(GridScale {
            tick_raw: step_raw("instrument.tick_size", tick_size)?,
            lot_raw: step_raw("instrument.lot_size", lot_size)?,
        })
    }

    /// A bid price (units of 10^-18) in our ticks, rounded down; `None` beyond `i64`.
    #[inline]
    pub fn bid_ticks(&self, raw: i128) -> Option<i64> {
        i64::try_from(raw.div_euclid(self.tick_raw)).ok()
    }

    /// An ask price (units of 10^-18) in our ticks, rounded up; `None` beyond `i64`.
    #[inline]
    pub fn ask_ticks(&self, raw: i128) -> Option<i64> {
        let down = raw.div_euclid(self.tick_raw);
        let up = if raw.rem_euclid(self.tick_raw) == 0 { down } else { down + 1 };
        i64::try_from(up).ok()
    }

    /// A quantity (units of 10^-18) in our lots: rounded down, at least one lot when non-zero.
    #[inline]
    pub fn lots(&self, raw: i128) -> Option<i64> {
        if raw <= 0 {
            return Some(0);
        }
        i64::try_from((raw / self.lot_raw).max(1)).ok()
    }

    /// A quantity (units of 10^-18) in whole lots, rounded down (part of a lot is no lot, as a
    /// venue's book we trade against must never show more than it has); `None` beyond `i64`.
    #[inline]
    pub fn whole_lots(&self, raw: i128) -> Option<i64> {
        i64::try_from(raw.max(0) / self.lot_raw).ok()
    }

    /// One side's best level on our grid (`qty == 0` when absent or beyond range).
    #[inline]
    fn level(&self, price_raw: i128, qty_raw: i128, is_bid: bool) -> Level {
        let price = if is_bid { self.bid_ticks(price_raw) } else { self.ask_ticks(price_raw) };
        match (price, self.lots(qty_raw)) {
            (Some(price), Some(qty)) => Level { price, qty },
            _ => Level::default(),
        }
    }

    /// The top of a feed book (exact decimals) on our grid, stamped `ts_ns`.
    pub fn top_of_l2(&self, book: &L2Book, ts_ns: i64) -> Top {
        let bid = book.best_bid().map_or(Level::default(), |l| self.level(l.price.raw(), l.qty.raw(), true));
        let ask = book.best_ask().map_or(Level::default(), |l| self.level(l.price.raw(), l.qty.raw(), false));
        Top { bid, ask, ts_ns }
    }

    /// The top of an integer book in the venue's own ticks and lots (`venue` says what they
    /// are) on our grid, stamped `ts_ns`.
    pub fn top_of_ticks(&self, book: &TickBook, venue: &TickScale, ts_ns: i64) -> Top {
        let conv = |(p, q): (i64, i64), is_bid| self.level(venue.price_raw(p), venue.qty_raw(q), is_bid);
        let bid = book.best_bid().map_or(Level::default(), |l| conv(l, true));
        let ask = book.best_ask().map_or(Level::default(), |l| conv(l, false));
        Top { bid, ask, ts_ns }
    }
}

/// How a venue's price relates to ours: subtracted from its microprice before weighting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Basis {
    /// Same quote currency, same instrument: nothing to subtract.
    None,
    /// A configured basis, ticks of our instrument.
    Fixed(f64),
    /// Measured online against the reference venue (its index in the map).
    Measured {
        /// Index of the reference venue.
        reference: usize,
        /// EWMA half-life in nanoseconds.
        half_life_ns: f64,
    },
}

/// One external venue's instrument, and its place in the fair value.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueMapping {
    /// Which venue.
    pub venue: VenueName,
    /// Its id in the market maker (`External(index)`, in configuration order).
    pub id: VenueId,
    /// The venue's symbol for our instrument.
    pub symbol: String,
    /// The venue's quote currency.
    pub quote_currency: String,
    /// Weight in the consolidated microprice.
    pub weight: f64,
    /// Older tops than this are stale, nanoseconds.
    pub stale_after_ns: i64,
    /// The venue's basis against our instrument.
    pub basis: Basis,
}

/// Our instrument and its mapping onto every configured venue.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentMap {
    /// Our symbol.
    pub symbol: String,
    /// Our quote currency.
    pub quote_currency: String,
    /// Our grid.
    pub grid: GridScale,
    /// The venues, in configuration order (`venues[i].id == External(i)`).
    pub venues: Vec<VenueMapping>,
}

impl InstrumentMap {
    /// Builds the map from a configuration (validated again here, so a map is never built from
    /// a bad one).
    pub fn from_config(cfg: &PricingConfig) -> Result<Self, MmConfigError> {
        cfg.validate()?;
        let grid = GridScale::new(&cfg.instrument.tick_size, &cfg.instrument.lot_size)?;
        let mut venues = Vec::with_capacity(cfg.venues.len());
        for (i, v) in cfg.venues.iter().enumerate() {
            let basis = match &v.basis {
                None => Basis::None,
                Some(BasisConfig::Ticks(t)) => Basis::Fixed(*t),
                Some(BasisConfig::Measured { reference, half_life_s }) => Basis::Measured {
                    // Validated above: the reference is a configured venue.
                    reference: cfg.venue_index(reference).unwrap_or(0),
                    half_life_ns: half_life_s * 1e9,
                },
            };
            venues.push(VenueMapping {
                // Validated above: the name is known.
                venue: VenueName::parse(&v.name).unwrap_or(VenueName::Binance),
                id: VenueId::External(i as u8),
                symbol: v.symbol.clone(),
                quote_currency: v.quote_currency.clone(),
                weight: v.weight,
                stale_after_ns: (v.stale_after_ms as i64).saturating_mul(1_000_000),
                basis,
            });
        }
        Ok(InstrumentMap {
            symbol: cfg.instrument.symbol.clone(),
            quote_currency: cfg.instrument.quote_currency.clone(),
            grid,
            venues,
        })
    }

    /// The id of a configured venue.
    pub fn venue_id(&self, venue: VenueName) -> Option<VenueId> {
        self.venues.iter().find(|m| m.venue == venue).map(|m| m.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wintermute_core::decimal::Decimal;
    use wintermute_feeds::book::Side;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn prices_on_our_grid_round_bids_down_and_asks_up_and_exact_ones_stay() {
        let g = GridScale::new("0.5", "1").unwrap();
        // 100.75 / 0.5 = 201.5 -> bid 201, ask 202; 100.5 / 0.5 = 201 exactly either way.
        assert_eq!(g.bid_ticks(d("100.75").raw()), Some(201));
        assert_eq!(g.ask_ticks(d("100.75").raw()), Some(202));
        assert_eq!(g.bid_ticks(d("100.5").raw()), Some(201));
        assert_eq!(g.ask_ticks(d("100.5").raw()), Some(201));
    }

    #[test]
    fn quantities_round_down_to_lots_and_a_sliver_counts_as_one_lot() {
        let g = GridScale::new("0.01", "0.001").unwrap();
        assert_eq!(g.lots(d("0.0129").raw()), Some(12));
        assert_eq!(g.lots(d("0.0001").raw()), Some(1));
        assert_eq!(g.lots(0), Some(0));
    }

    #[test]
    fn an_integer_book_in_the_venues_ticks_converts_to_the_same_top_as_its_decimals() {
        // Venue: tick 0.1, lot 0.00001; ours: tick 0.01, lot 0.0001.
        let venue = TickScale::new("0.1", "0.00001").unwrap();
        let grid = GridScale::new("0.01", "0.0001").unwrap();
        let mut ticks = TickBook::new();
        ticks.set(Side::Buy, 600_001, 12_345).unwrap(); // 60000.1 x 0.12345
        ticks.set(Side::Sell, 600_003, 50_000).unwrap(); // 60000.3 x 0.5
        let mut l2 = L2Book::new();
        l2.apply(Side::Buy, d("60000.1"), d("0.12345"));
        l2.apply(Side::Sell, d("60000.3"), d("0.5"));
        let a = grid.top_of_ticks(&ticks, &venue, 5);
        assert_eq!(a, grid.top_of_l2(&l2, 5));
        assert_eq!(a.bid, Level { price: 6_000_010, qty: 1_234 });
        assert_eq!(a.ask, Level { price: 6_000_030, qty: 5_000 });
    }

    #[test]
    fn an_empty_side_becomes_a_zero_quantity_level() {
        let grid = GridScale::new("0.01", "0.0001").unwrap();
        let mut l2 = L2Book::new();
        l2.apply(Side::Buy, d("1.00"), d("1"));
        let top = grid.top_of_l2(&l2, 0);
        assert_eq!(top.ask.qty, 0);
        assert_eq!(top.bid, Level { price: 100, qty: 10_000 });
    }
}

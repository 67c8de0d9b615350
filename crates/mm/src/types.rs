//! The vocabulary every part of the market maker shares: venues, top-of-book views, fills and
//! the money unit.
//!
//! Prices are `i64` ticks and quantities `i64` lots **of the instrument we quote** (an external
//! venue's prices are converted onto our grid at the edge, by the instrument map). Money is
//! [`Money`]: an `i128` count of [`MONEY_SCALE`]-ths of one tick·lot, so that fees expressed in
//! parts per million of notional are exact integers and PnL parts add up to the total exactly.

pub use wintermute_core::Side;

/// Money: `i128` units of one tick·lot / [`MONEY_SCALE`] (a notional of `price * qty` ticks·lots
/// is `price as i128 * qty as i128 * MONEY_SCALE`).
pub type Money = i128;

/// Money units per tick·lot: fee rates are parts per million of notional, so a fee is an exact
/// integer count of money units.
pub const MONEY_SCALE: i128 = 1_000_000;

/// The notional of `qty` lots at `price` ticks, in [`Money`] units.
#[inline]
pub fn notional(price: i64, qty: i64) -> Money {
    price as i128 * qty as i128 * MONEY_SCALE
}

/// Where an order rests or a book comes from: our own venue (the matching engine) or an external
/// one. External venues are numbered in the order of the configuration (`External(0)` is the first
/// configured venue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VenueId {
    /// Our venue: the matching engine, reached through the pipeline's gateway and risk.
    Ours,
    /// The n-th configured external venue.
    External(u8),
}

/// Maker (rested, then was hit) or taker (crossed the spread).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liquidity {
    /// Our resting order was hit.
    Maker,
    /// Our order took liquidity.
    Taker,
}

/// One price level on our grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Level {
    /// Price in ticks.
    pub price: i64,
    /// Quantity in lots (> 0 for a level that exists).
    pub qty: i64,
}

/// A venue's best bid and ask on our grid, with the time the venue last changed its book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Top {
    /// Best bid (`qty == 0`: no bid).
    pub bid: Level,
    /// Best ask (`qty == 0`: no ask).
    pub ask: Level,
    /// Receive time of the update that produced this top, in nanoseconds.
    pub ts_ns: i64,
}

/// One execution of one of our orders, on any venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// When it happened (the venue's time in a backtest, receive time live), nanoseconds.
    pub ts_ns: i64,
    /// Where.
    pub venue: VenueId,
    /// Our order's id on that venue.
    pub order_id: u64,
    /// Our side.
    pub side: Side,
    /// Price in ticks.
    pub price: i64,
    /// Quantity in lots (> 0).
    pub qty: i64,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// Fee paid (> 0) or rebate received (< 0), in [`Money`] units.
    pub fee: Money,
}

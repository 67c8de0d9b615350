//! Normalized pieces shared by the venue parsers.
//!
//! Parsers fill reusable buffers of these `Copy` types (no lifetimes, no heap: decimals and
//! symbols are stored inline), and hand out slices of those buffers in their message enums. That
//! is what lets a parser run without allocating once its buffers have grown to the largest message
//! seen.

use wintermute_core::decimal::Decimal;
use wintermute_core::inline_str::InlineStr;
use wintermute_core::Side;

/// A venue's symbol as it writes it (`"XBT/USD"`, `"BTCUSDT"`, `"BAND-GBP"`), stored inline.
pub type Symbol = InlineStr;

/// Which venue a message or stream belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Venue {
    /// Binance spot.
    Binance,
    /// Coinbase (Exchange and Advanced Trade feeds).
    Coinbase,
    /// Kraken (WebSocket v1 and v2).
    Kraken,
}

impl Venue {
    /// Every venue, in index order.
    pub const ALL: [Venue; 3] = [Venue::Binance, Venue::Coinbase, Venue::Kraken];

    /// Position in [`Venue::ALL`], for per-venue arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Lowercase name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Venue::Binance => "binance",
            Venue::Coinbase => "coinbase",
            Venue::Kraken => "kraken",
        }
    }
}

/// One level change in a book message: set `side`/`price` to `qty` (zero deletes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelUpdate {
    /// Bid or ask.
    pub side: Side,
    /// Price, exchange text kept.
    pub price: Decimal,
    /// New absolute quantity.
    pub qty: Decimal,
}

/// The side that took liquidity in a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggressor {
    /// The buyer crossed the spread (an uptick).
    Buy,
    /// The seller crossed the spread.
    Sell,
}

/// A public trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    /// Symbol as the venue writes it.
    pub symbol: Symbol,
    /// Trade price.
    pub price: Decimal,
    /// Trade quantity.
    pub qty: Decimal,
    /// Taker side, when the venue says.
    pub aggressor: Option<Aggressor>,
    /// Venue trade id (0 when the venue sends none).
    pub trade_id: u64,
    /// Exchange time, ns since the epoch, when the venue sends one.
    pub exchange_ts: Option<i64>,
}

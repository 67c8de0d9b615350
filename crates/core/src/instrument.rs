//! Instrument specifications: the grid (tick size, lot size) and the limits every order is
//! checked against before it can touch a book.
//!
//! ```
//! use wintermute_core::InstrumentSpec;
//! let spec = InstrumentSpec::from_decimals("BTC-USD", "0.01", "0.0001", "0.0001", "100", "1", "1000000").unwrap();
//! assert_eq!(spec.price_ticks("64000.25").unwrap(), 6_400_025);
//! assert_eq!(spec.qty_lots("1.5").unwrap(), 15_000);
//! assert_eq!(spec.format_qty(15_000), "1.5000");
//! ```

use serde::{Deserialize, Serialize};

use crate::decimal::{DecimalError, Step};
use crate::{Price, Qty};

/// Why an instrument specification is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstrumentError {
    #[error("instrument symbol must be non-empty")]
    EmptySymbol,
    #[error("instrument symbol={symbol}: field={field}: {source}")]
    Decimal { symbol: String, field: &'static str, source: DecimalError },
    #[error("instrument symbol={symbol}: {why}")]
    Invalid { symbol: String, why: String },
    #[error("instrument symbol={symbol} is already defined")]
    Duplicate { symbol: String },
    #[error("unknown instrument symbol={symbol}")]
    Unknown { symbol: String },
}

/// A tradable instrument: its grid and its static limits, in integer ticks and lots.
///
/// Every way to get one checks it: the constructors, and deserialization (which refuses an
/// invalid spec rather than producing one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SpecFields")]
pub struct InstrumentSpec {
    /// Symbol, unique within an engine.
    pub symbol: String,
    /// Tick size as exact decimal text (the price grid).
    pub tick_size: String,
    /// Lot size as exact decimal text (the quantity grid).
    pub lot_size: String,
    /// Smallest quantity of a new order, in lots (>= 1).
    pub min_qty: Qty,
    /// Largest quantity of a new order, in lots.
    pub max_qty: Qty,
    /// Lowest acceptable limit price, in ticks.
    pub min_price: Price,
    /// Highest acceptable limit price, in ticks.
    pub max_price: Price,
    #[serde(skip)]
    grid: Option<(Step, Step)>,
}

impl InstrumentSpec {
    /// Builds a spec from decimal text; every field is checked for grid and consistency.
    pub fn from_decimals(
        symbol: &str,
        tick_size: &str,
        lot_size: &str,
        min_qty: &str,
        max_qty: &str,
        min_price: &str,
        max_price: &str,
    ) -> Result<Self, InstrumentError> {
        let err = |field, source| InstrumentError::Decimal { symbol: symbol.to_owned(), field, source };
        let tick = Step::parse(tick_size).map_err(|e| err("tick_size", e))?;
        let lot = Step::parse(lot_size).map_err(|e| err("lot_size", e))?;
        let spec = Self {
            symbol: symbol.to_owned(),
            tick_size: tick.to_string(),
            lot_size: lot.to_string(),
            min_qty: lot.units_of(min_qty).map_err(|e| err("min_qty", e))?,
            max_qty: lot.units_of(max_qty).map_err(|e| err("max_qty", e))?,
            min_price: tick.units_of(min_price).map_err(|e| err("min_price", e))?,
            max_price: tick.units_of(max_price).map_err(|e| err("max_price", e))?,
            grid: Some((tick, lot)),
        };
        spec.validate()
    }

    /// Builds a spec directly in integer units (tick and lot sizes still as decimal text).
    pub fn from_units(
        symbol: &str,
        tick_size: &str,
        lot_size: &str,
        min_qty: Qty,
        max_qty: Qty,
        min_price: Price,
        max_price: Price,
    ) -> Result<Self, InstrumentError> {
        let spec = Self {
            symbol: symbol.to_owned(),
            tick_size: tick_size.to_owned(),
            lot_size: lot_size.to_owned(),
            min_qty,
            max_qty,
            min_price,
            max_price,
            grid: None,
        };
        spec.validate()
    }

    /// Checks consistency and caches the parsed grid. Called by the constructors and after
    /// deserialization (see [`crate::BookSnapshot`]).
    pub fn validate(mut self) -> Result<Self, InstrumentError> {
        let invalid = |why: String| InstrumentError::Invalid { symbol: self.symbol.clone(), why };
        if self.symbol.is_empty() {
            return Err(InstrumentError::EmptySymbol);
        }
        let err = |field, source| InstrumentError::Decimal { symbol: self.symbol.clone(), field, source };
        let tick = Step::parse(&self.tick_size).map_err(|e| err("tick_size", e))?;
        let lot = Step::parse(&self.lot_size).map_err(|e| err("lot_size", e))?;
        if self.min_qty < 1 {
            return Err(invalid(format!("min_qty={} lots must be at least 1 lot", self.min_qty)));
        }
        if self.max_qty < self.min_qty {
            return Err(invalid(format!("max_qty={} lots is below min_qty={} lots", self.max_qty, self.min_qty)));
        }
        if self.max_price < self.min_price {
            return Err(invalid(format!(
                "price band is empty: min_price={} ticks > max_price={} ticks",
                self.min_price, self.max_price
            )));
        }
        // Keep the band far from i64's edges so price arithmetic can never overflow.
        const LIMIT: i64 = 1 << 60;
        if self.min_price <= -LIMIT || self.max_price >= LIMIT || self.max_qty >= LIMIT {
            return Err(invalid("price band or max_qty beyond +/-2^60 units".to_owned()));
        }
        self.tick_size = tick.to_string();
        self.lot_size = lot.to_string();
        self.grid = Some((tick, lot));
        Ok(self)
    }

    fn grid(&self) -> (Step, Step) {
        // Set by `validate`, which every constructor and deserialization run.
        self.grid.expect("an InstrumentSpec is validated when it is built")
    }

    /// The tick size.
    pub fn tick(&self) -> Step {
        self.grid().0
    }

    /// The lot size.
    pub fn lot(&self) -> Step {
        self.grid().1
    }

    /// Exact price in ticks for decimal text; an error if off the tick grid.
    pub fn price_ticks(&self, text: &str) -> Result<Price, DecimalError> {
        self.tick().units_of(text)
    }

    /// Exact quantity in lots for decimal text; an error if off the lot grid.
    pub fn qty_lots(&self, text: &str) -> Result<Qty, DecimalError> {
        self.lot().units_of(text)
    }

    /// Decimal text of a price in ticks.
    pub fn format_price(&self, ticks: Price) -> String {
        self.tick().format(ticks)
    }

    /// Decimal text of a quantity in lots.
    pub fn format_qty(&self, lots: Qty) -> String {
        self.lot().format(lots)
    }
}

/// The serialized form of an [`InstrumentSpec`]; deserializing goes through `validate`.
#[derive(Deserialize)]
struct SpecFields {
    symbol: String,
    tick_size: String,
    lot_size: String,
    min_qty: Qty,
    max_qty: Qty,
    min_price: Price,
    max_price: Price,
}

impl TryFrom<SpecFields> for InstrumentSpec {
    type Error = InstrumentError;

    fn try_from(f: SpecFields) -> Result<Self, Self::Error> {
        Self::from_units(&f.symbol, &f.tick_size, &f.lot_size, f.min_qty, f.max_qty, f.min_price, f.max_price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_inconsistent_specs() {
        assert!(InstrumentSpec::from_decimals("", "0.01", "1", "1", "10", "1", "2").is_err());
        assert!(InstrumentSpec::from_decimals("X", "0", "1", "1", "10", "1", "2").is_err());
        assert!(InstrumentSpec::from_decimals("X", "0.01", "1", "0", "10", "1", "2").is_err());
        assert!(InstrumentSpec::from_decimals("X", "0.01", "1", "5", "4", "1", "2").is_err());
        assert!(InstrumentSpec::from_decimals("X", "0.01", "1", "1", "10", "3", "2").is_err());
        assert!(InstrumentSpec::from_decimals("X", "0.01", "1", "1", "10", "1.005", "2").is_err());
        assert!(InstrumentSpec::from_decimals("X", "0.01", "0.5", "0.75", "10", "1", "2").is_err());
    }

    #[test]
    fn deserialization_validates() {
        let good = InstrumentSpec::from_decimals("X", "0.05", "1", "1", "10", "1", "100").unwrap();
        let json = serde_json::to_string(&good).unwrap();
        assert_eq!(serde_json::from_str::<InstrumentSpec>(&json).unwrap(), good);
        let bad = json.replace("\"0.05\"", "\"zero\"");
        let err = serde_json::from_str::<InstrumentSpec>(&bad).unwrap_err().to_string();
        assert!(err.contains("tick_size"), "{err}");
    }

    #[test]
    fn round_trips_prices_and_quantities() {
        let s = InstrumentSpec::from_decimals("ETH-USD", "0.05", "0.001", "0.001", "1000", "0.05", "100000").unwrap();
        assert_eq!(s.price_ticks("1999.95").unwrap(), 39_999);
        assert_eq!(s.format_price(39_999), "1999.95");
        assert_eq!(s.format_qty(s.qty_lots("2.5").unwrap()), "2.500");
    }
}

//! What every venue client shares: the order we send, the instrument's grid, the parse error of
//! a venue message and the summary of a reconciliation.
//!
//! A venue client writes a [`NewOrder`] in its own protocol (Binance's query string, Kraken's
//! form body) with the prices and quantities converted exactly from the instrument's ticks and
//! lots ([`Instrument`]); what the venue answers is parsed into
//! [`crate::order_state::ExecutionReport`]s or a [`ReportParseError`].

use std::time::{SystemTime, UNIX_EPOCH};

use wintermute_core::decimal::{Decimal, Step};

use crate::order_state::{Applied, ExecutionReport, OrderTable, Side, Venue};

/// How an order trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    /// A limit order at `price` ticks with a time in force.
    Limit {
        /// Price in ticks.
        price: i64,
        /// Time in force.
        tif: TimeInForce,
    },
    /// A market order.
    Market,
    /// Post-only: rests at `price`, or is refused if it would take liquidity.
    PostOnly {
        /// Price in ticks.
        price: i64,
    },
}

/// Time in force of a limit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeInForce {
    /// Good till canceled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill (Binance; Kraken spot has none).
    Fok,
}

/// A new order, venue-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The venue's symbol (`"BTCUSDT"`, `"XBTUSD"`); must be one of the client's instruments.
    pub symbol: String,
    /// Our client order id (each venue has its own legal form; see the venue's client).
    pub client_order_id: String,
    /// Buy or sell.
    pub side: Side,
    /// Quantity in lots.
    pub qty: i64,
    /// Type.
    pub order_type: OrderType,
}

/// A symbol's grid: the price tick and the quantity lot, as the venue publishes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// The venue's symbol (`"BTCUSDT"`, `"XBTUSD"`).
    pub symbol: String,
    /// Price tick.
    pub tick_size: Step,
    /// Quantity lot.
    pub step_size: Step,
}

impl Instrument {
    /// From the symbol and the two steps as decimal text.
    pub fn new(symbol: &str, tick_size: &str, step_size: &str) -> Result<Self, String> {
        Ok(Self {
            symbol: symbol.to_owned(),
            tick_size: Step::parse(tick_size).map_err(|e| e.to_string())?,
            step_size: Step::parse(step_size).map_err(|e| e.to_string())?,
        })
    }

    /// A price's decimal text -> ticks (exact, or [`ReportParseError::BadDecimal`]).
    pub fn ticks(&self, field: &'static str, text: &str) -> Result<i64, ReportParseError> {
        self.tick_size.units_of(text).map_err(|_| ReportParseError::bad_decimal(field, text))
    }

    /// A quantity's decimal text -> lots (exact, or [`ReportParseError::BadDecimal`]).
    pub fn lots(&self, field: &'static str, text: &str) -> Result<i64, ReportParseError> {
        self.step_size.units_of(text).map_err(|_| ReportParseError::bad_decimal(field, text))
    }
}

/// A venue message that could not be turned into reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportParseError {
    /// Not the JSON shape expected.
    #[error("malformed venue message: what={what} error={error}")]
    Malformed {
        /// Which message (`"order"`, `"kraken QueryOrders"`).
        what: &'static str,
        /// The JSON error.
        error: String,
    },
    /// A price, quantity or fee that is not exact decimal text on the instrument's grid.
    #[error("bad decimal in venue message: field={field} text={text:?}")]
    BadDecimal {
        /// Which field.
        field: &'static str,
        /// Its text (at most 64 characters of it).
        text: String,
    },
    /// An order status this client does not know.
    #[error("unknown venue order status: status={0}")]
    UnknownStatus(String),
}

impl ReportParseError {
    /// A [`ReportParseError::BadDecimal`] keeping at most 64 characters of the text.
    pub fn bad_decimal(field: &'static str, text: &str) -> Self {
        ReportParseError::BadDecimal { field, text: text.chars().take(64).collect() }
    }

    /// A [`ReportParseError::Malformed`] from a JSON error.
    pub fn malformed(what: &'static str) -> impl Fn(serde_json::Error) -> ReportParseError {
        move |e| ReportParseError::Malformed { what, error: e.to_string() }
    }
}

/// A venue's word on one asset of our account (Binance's `outboundAccountPosition`, one per
/// asset listed, and `balanceUpdate`; Kraken's `balances` channel, one per ledger entry), in
/// exact decimals of the asset's units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceUpdate {
    /// Which venue.
    pub venue: Venue,
    /// The asset (`"USDT"`, `"BTC"`).
    pub asset: String,
    /// What the venue said of it.
    pub change: BalanceChange,
    /// The venue's time of the change, nanoseconds since the Unix epoch (Kraken: our receive
    /// time, as [`Self::receive_ts_ns`]: its REST snapshot carries no venue time, so the
    /// snapshot and the stream are ordered on one clock, ours).
    pub exchange_ts_ns: i64,
    /// When we received it, nanoseconds since the Unix epoch.
    pub receive_ts_ns: i64,
}

/// What a [`BalanceUpdate`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceChange {
    /// The asset's balance after a change: `free` (what a new order can use) and `locked`
    /// (what open orders hold).
    Position {
        /// Free.
        free: Decimal,
        /// Locked by open orders.
        locked: Decimal,
    },
    /// A deposit (positive), withdrawal or transfer out (negative) of `delta`.
    Transfer {
        /// The signed amount.
        delta: Decimal,
    },
    /// The asset's whole balance after a change (Kraken's ledger entries: a trade, a deposit, a
    /// withdrawal), with nothing said of what open orders hold of it.
    Total {
        /// Free and locked together.
        balance: Decimal,
    },
}

/// What a reconciliation changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileSummary {
    /// Fills that were new to the table.
    pub new_fills: usize,
    /// Orders whose status changed.
    pub status_changes: usize,
    /// Trades for orders the table does not hold.
    pub unknown_trades: usize,
}

impl ReconcileSummary {
    /// Applies reports fetched by a reconciliation to `table`, counting what was new. A report
    /// the table refuses (another session's order) is counted by the table, not here.
    pub fn merge(&mut self, table: &mut OrderTable, reports: &[ExecutionReport]) {
        for report in reports {
            match table.apply(report) {
                Ok(Applied::NewFill { .. }) => self.new_fills += 1,
                Ok(Applied::Status(_)) => self.status_changes += 1,
                Ok(Applied::Unchanged) | Err(_) => {}
            }
        }
    }
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn local_ms() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// Wall-clock nanoseconds since the Unix epoch.
pub fn local_ns() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

/// What a fuzzed parser made of its inputs, counted by outcome (the property tests of every
/// venue's parsers report these).
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct FuzzOutcomes(pub std::collections::BTreeMap<&'static str, u64>);

#[cfg(test)]
impl FuzzOutcomes {
    /// Counts one outcome.
    pub fn count(&mut self, outcome: &'static str) {
        *self.0.entry(outcome).or_default() += 1;
    }

    /// Counts one error by its kind.
    pub fn error(&mut self, err: &ReportParseError) {
        self.count(match err {
            ReportParseError::Malformed { .. } => "malformed",
            ReportParseError::BadDecimal { .. } => "bad decimal",
            ReportParseError::UnknownStatus(_) => "unknown status",
        });
    }

    /// How many of this outcome.
    pub fn get(&self, outcome: &str) -> u64 {
        self.0.get(outcome).copied().unwrap_or(0)
    }
}

//! Coinbase Advanced Trade's JSON -> normalized [`ExecutionReport`]s.
//!
//! | Coinbase says | Reports |
//! |---|---|
//! | `POST /orders` `success: true` | `New` with the venue order id |
//! | `success: false` | `Rejected` with `error: message` |
//! | an order (`historical/{id}`, `historical/batch`) `PENDING` / `OPEN` / `FILLED` / `QUEUED` | `New` carrying `filled_size` as the cumulative quantity |
//! | ... `CANCELLED` / `EXPIRED` / `FAILED` | `Canceled` / `Expired` / `Rejected` |
//! | a fill (`historical/fills`) | `Trade`, maker as `liquidity_indicator` says, commission in the product's quote currency |
//!
//! Coinbase's trade ids are UUIDs and the order state machine keys fills by a `u64`: the
//! client gives each trade id it sees a number of its own ([`TradeIds`]), the same number every
//! time the same id comes back. Times are RFC 3339 text, converted exactly to nanoseconds.

use std::collections::HashMap;

use serde::Deserialize;
use wintermute_core::decimal::Decimal;

use crate::order::{Instrument, ReportParseError};
use crate::order_state::{ExecutionReport, FillReport, ReportKind, Venue};
use crate::time::parse_rfc3339_ns;

/// A product as the client trades it: the grid (`quote_increment`, `base_increment`) and the
/// quote currency, in which fees are charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinbaseProduct {
    /// `symbol` is the product id (`"BAND-GBP"`).
    pub instrument: Instrument,
    /// `"GBP"`.
    pub quote_currency: String,
}

impl CoinbaseProduct {
    /// From the product id, the increments as decimal text, and the quote currency.
    pub fn new(product_id: &str, quote_increment: &str, base_increment: &str, quote: &str) -> Result<Self, String> {
        Ok(Self {
            instrument: Instrument::new(product_id, quote_increment, base_increment)?,
            quote_currency: quote.to_owned(),
        })
    }
}

/// Numbers for Coinbase's UUID trade ids, stable for the client's life.
#[derive(Debug, Default, Clone)]
pub struct TradeIds(HashMap<String, u64>);

impl TradeIds {
    /// The number of this trade id (a new one the first time it is seen).
    pub fn number(&mut self, trade_id: &str) -> u64 {
        let next = self.0.len() as u64 + 1;
        *self.0.entry(trade_id.to_owned()).or_insert(next)
    }
}

/// `POST /orders`' answer.
#[derive(Debug, Clone, Deserialize)]
pub struct CreateOrderResponse {
    /// Whether the order was placed.
    pub success: bool,
    /// On success.
    #[serde(default)]
    pub success_response: Option<SuccessResponse>,
    /// On failure.
    #[serde(default)]
    pub error_response: Option<ErrorResponse>,
}

/// The placed order.
#[derive(Debug, Clone, Deserialize)]
pub struct SuccessResponse {
    /// The venue's order id.
    pub order_id: String,
}

/// Why an order failed.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorResponse {
    /// The reason (`INVALID_LIMIT_PRICE_POST_ONLY`).
    pub error: String,
    /// Text.
    #[serde(default)]
    pub message: String,
}

/// An error body of a refused request (401, 404, 429, 400).
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    /// `UNAUTHENTICATED`, `NOT_FOUND`, `RATE_LIMIT_EXCEEDED`, `INVALID_ARGUMENT`.
    pub error: String,
    /// Text.
    #[serde(default)]
    pub message: String,
}

/// An order as Coinbase reports it (the fields this client reads).
#[derive(Debug, Clone, Deserialize)]
pub struct CoinbaseOrder {
    /// Venue order id.
    pub order_id: String,
    /// Product.
    pub product_id: String,
    /// Our id.
    pub client_order_id: String,
    /// Status.
    pub status: String,
    /// Executed base size.
    pub filled_size: String,
    /// Creation time.
    pub created_time: String,
    /// Last fill time.
    #[serde(default)]
    pub last_fill_time: Option<String>,
}

/// `historical/{id}`'s answer.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderResponse {
    /// The order.
    pub order: CoinbaseOrder,
}

/// `historical/batch`'s answer.
#[derive(Debug, Clone, Deserialize)]
pub struct OrdersPage {
    /// Orders, newest first.
    pub orders: Vec<CoinbaseOrder>,
    /// Whether there are more.
    #[serde(default)]
    pub has_next: bool,
    /// Where the next page starts.
    #[serde(default)]
    pub cursor: String,
}

/// One fill.
#[derive(Debug, Clone, Deserialize)]
pub struct CoinbaseFill {
    /// Trade id (a UUID).
    pub trade_id: String,
    /// Venue order id.
    pub order_id: String,
    /// Time.
    pub trade_time: String,
    /// Price.
    pub price: String,
    /// Base size.
    pub size: String,
    /// Commission (quote currency).
    pub commission: String,
    /// `MAKER` or `TAKER`.
    pub liquidity_indicator: String,
}

/// `historical/fills`' answer.
#[derive(Debug, Clone, Deserialize)]
pub struct FillsPage {
    /// Fills, newest first.
    pub fills: Vec<CoinbaseFill>,
    /// Where the next page starts (empty: none).
    #[serde(default)]
    pub cursor: String,
}

/// Parses any of the answers above.
pub fn parse<T: serde::de::DeserializeOwned>(what: &'static str, body: &[u8]) -> Result<T, ReportParseError> {
    serde_json::from_slice(body).map_err(ReportParseError::malformed(what))
}

fn time(field: &'static str, text: &str) -> Result<i64, ReportParseError> {
    parse_rfc3339_ns(text).ok_or_else(|| ReportParseError::bad_decimal(field, text))
}

/// The report an order implies, for `client_order_id`.
pub fn order_report(
    order: &CoinbaseOrder,
    client_order_id: &str,
    product: &CoinbaseProduct,
    receive_ts_ns: i64,
) -> Result<ExecutionReport, ReportParseError> {
    let kind = match order.status.as_str() {
        "PENDING" | "OPEN" | "FILLED" | "QUEUED" => ReportKind::New,
        "CANCELLED" => ReportKind::Canceled,
        "EXPIRED" => ReportKind::Expired,
        "FAILED" => ReportKind::Rejected { code: None, reason: "FAILED".into() },
        other => return Err(ReportParseError::UnknownStatus(other.chars().take(32).collect())),
    };
    let when = order.last_fill_time.as_deref().unwrap_or(&order.created_time);
    Ok(ExecutionReport {
        venue: Venue::Coinbase,
        symbol: order.product_id.clone(),
        client_order_id: client_order_id.to_owned(),
        venue_order_id: Some(order.order_id.clone()),
        kind,
        cum_qty: Some(product.instrument.lots("filled_size", &order.filled_size)?),
        exchange_ts_ns: time("created_time", when)?,
        receive_ts_ns,
    })
}

/// The report of one fill, for the order the client knows as `client_order_id`.
pub fn fill_report(
    fill: &CoinbaseFill,
    client_order_id: &str,
    product: &CoinbaseProduct,
    trade_ids: &mut TradeIds,
    receive_ts_ns: i64,
) -> Result<ExecutionReport, ReportParseError> {
    let inst = &product.instrument;
    let is_maker = match fill.liquidity_indicator.as_str() {
        "MAKER" => true,
        "TAKER" | "UNKNOWN_LIQUIDITY_INDICATOR" => false,
        other => return Err(ReportParseError::UnknownStatus(other.chars().take(32).collect())),
    };
    let fill_report = FillReport {
        trade_id: 0,
        price: inst.ticks("price", &fill.price)?,
        qty: inst.lots("size", &fill.size)?,
        fee: Decimal::parse(&fill.commission)
            .map_err(|_| ReportParseError::bad_decimal("commission", &fill.commission))?,
        fee_currency: product.quote_currency.clone(),
        is_maker,
    };
    let exchange_ts_ns = time("trade_time", &fill.trade_time)?;
    Ok(ExecutionReport {
        venue: Venue::Coinbase,
        symbol: inst.symbol.clone(),
        client_order_id: client_order_id.to_owned(),
        venue_order_id: Some(fill.order_id.clone()),
        kind: ReportKind::Trade(FillReport { trade_id: trade_ids.number(&fill.trade_id), ..fill_report }),
        cum_qty: None,
        exchange_ts_ns,
        receive_ts_ns,
    })
}

#[cfg(test)]
#[path = "reports_tests.rs"]
mod tests;

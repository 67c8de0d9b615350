//! Binance's order and trade JSON -> normalized [`ExecutionReport`]s.
//!
//! | Binance says | Reports |
//! |---|---|
//! | an order (`POST`/`GET /api/v3/order`, `openOrders`) with `status` NEW, PARTIALLY_FILLED, FILLED, PENDING_CANCEL | `New` carrying `executedQty` as the cumulative quantity |
//! | ... CANCELED / EXPIRED, EXPIRED_IN_MATCH / REJECTED | `Canceled` / `Expired` / `Rejected` |
//! | each entry of a FULL response's `fills` | `Trade` (taker) |
//! | each `GET /api/v3/myTrades` entry | `Trade` (maker or taker as `isMaker` says) |
//! | an error body `{"code":..,"msg":..}` to a new order | `Rejected` with the code and message |
//!
//! A FILLED status without its fills yet is not a fill: the order's state machine sees the
//! venue's cumulative quantity ahead of its fills ([`crate::order_state::OrderState::missing_qty`])
//! and reconciliation fetches the trades. Decimals convert exactly onto the instrument's grid;
//! anything malformed is a [`ReportParseError`] (never a panic: a property test feeds random
//! and mutated messages).

use serde::Deserialize;
use wintermute_core::decimal::Decimal;

pub use crate::order::{Instrument, ReportParseError};
use crate::order_state::{ExecutionReport, FillReport, ReportKind, Venue};

/// A symbol's grid: Binance's PRICE_FILTER `tickSize` and LOT_SIZE `stepSize`.
pub type BinanceInstrument = Instrument;

fn bad(field: &'static str, text: &str) -> ReportParseError {
    ReportParseError::bad_decimal(field, text)
}

fn malformed(what: &'static str) -> impl Fn(serde_json::Error) -> ReportParseError {
    ReportParseError::malformed(what)
}

const NS_PER_MS: i64 = 1_000_000;

/// An order as Binance reports it (the fields this client reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BinanceOrder {
    /// Symbol.
    pub symbol: String,
    /// Venue order id.
    pub order_id: u64,
    /// Client order id (for a cancel response: the cancel's own id).
    pub client_order_id: String,
    /// In cancel responses: the canceled order's client id.
    #[serde(default)]
    pub orig_client_order_id: Option<String>,
    /// Executed quantity.
    #[serde(default)]
    pub executed_qty: Option<String>,
    /// Ordered quantity (orders and queries).
    #[serde(default)]
    pub orig_qty: Option<String>,
    /// `BUY` or `SELL` (orders and queries).
    #[serde(default)]
    pub side: Option<String>,
    /// Status.
    #[serde(default)]
    pub status: Option<String>,
    /// Event time, ms (place and cancel responses).
    #[serde(default)]
    pub transact_time: Option<i64>,
    /// Last update, ms (queries).
    #[serde(default)]
    pub update_time: Option<i64>,
    /// FULL responses: the fills.
    #[serde(default)]
    pub fills: Vec<BinanceFill>,
}

/// One entry of a FULL response's `fills`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BinanceFill {
    /// Price.
    pub price: String,
    /// Quantity.
    pub qty: String,
    /// Commission.
    pub commission: String,
    /// Commission asset.
    pub commission_asset: String,
    /// Trade id.
    pub trade_id: u64,
}

/// One `myTrades` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BinanceTrade {
    /// Symbol.
    pub symbol: String,
    /// Trade id.
    pub id: u64,
    /// Venue order id.
    pub order_id: u64,
    /// Price.
    pub price: String,
    /// Quantity.
    pub qty: String,
    /// Commission.
    pub commission: String,
    /// Commission asset.
    pub commission_asset: String,
    /// Time, ms.
    pub time: i64,
    /// Maker?
    pub is_maker: bool,
}

/// The answer of an amend that keeps priority (`PUT /api/v3/order/amend/keepPriority`,
/// `order.amend.keepPriority`): the order after the amend.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BinanceAmend {
    /// When the venue amended it, ms.
    pub transact_time: i64,
    /// The order after the amend.
    pub amended_order: BinanceAmendedOrder,
}

/// `amendedOrder` of an amend's answer (the fields this client reads).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BinanceAmendedOrder {
    /// Symbol.
    pub symbol: String,
    /// Venue order id (unchanged by the amend).
    pub order_id: u64,
    /// The client id before the amend.
    pub orig_client_order_id: String,
    /// The client id after it (`newClientOrderId`).
    pub client_order_id: String,
    /// The order's quantity after the amend.
    pub qty: String,
    /// Executed quantity.
    pub executed_qty: String,
    /// Status after the amend.
    pub status: String,
}

impl BinanceAmend {
    /// The order's new quantity in lots, and the report of its status after the amend (under
    /// the client id it had before; the cumulative quantity the venue gives).
    pub fn report(
        &self,
        instrument: &BinanceInstrument,
        receive_ts_ns: i64,
    ) -> Result<(i64, ExecutionReport), ReportParseError> {
        let o = &self.amended_order;
        let qty = instrument.lots("qty", &o.qty)?;
        let order = BinanceOrder {
            symbol: o.symbol.clone(),
            order_id: o.order_id,
            client_order_id: o.client_order_id.clone(),
            orig_client_order_id: Some(o.orig_client_order_id.clone()),
            executed_qty: Some(o.executed_qty.clone()),
            orig_qty: Some(o.qty.clone()),
            side: None,
            status: Some(o.status.clone()),
            transact_time: Some(self.transact_time),
            update_time: None,
            fills: Vec::new(),
        };
        let mut reports = order_reports(&order, instrument, receive_ts_ns)?;
        Ok((qty, reports.remove(0)))
    }
}

/// Parses an order (a place, cancel or query response).
pub fn parse_order(body: &[u8]) -> Result<BinanceOrder, ReportParseError> {
    serde_json::from_slice(body).map_err(malformed("order"))
}

/// Parses a list of orders (`openOrders`).
pub fn parse_orders(body: &[u8]) -> Result<Vec<BinanceOrder>, ReportParseError> {
    serde_json::from_slice(body).map_err(malformed("openOrders"))
}

/// Parses `myTrades`.
pub fn parse_trades(body: &[u8]) -> Result<Vec<BinanceTrade>, ReportParseError> {
    serde_json::from_slice(body).map_err(malformed("myTrades"))
}

/// The reports an order message implies (its status, then its fills), all for `client_order_id`.
pub fn order_reports(
    order: &BinanceOrder,
    instrument: &BinanceInstrument,
    receive_ts_ns: i64,
) -> Result<Vec<ExecutionReport>, ReportParseError> {
    let client_order_id = order.orig_client_order_id.clone().unwrap_or_else(|| order.client_order_id.clone());
    let exchange_ts_ns = order.transact_time.or(order.update_time).unwrap_or(0).saturating_mul(NS_PER_MS);
    let cum_qty = order.executed_qty.as_deref().map(|q| instrument.lots("executedQty", q)).transpose()?;
    let report = |kind, cum_qty| ExecutionReport {
        venue: Venue::Binance,
        symbol: order.symbol.clone(),
        client_order_id: client_order_id.clone(),
        venue_order_id: Some(order.order_id.to_string()),
        kind,
        cum_qty,
        exchange_ts_ns,
        receive_ts_ns,
    };
    let mut out = Vec::with_capacity(1 + order.fills.len());
    if let Some(status) = order.status.as_deref() {
        let kind = match status {
            "NEW" | "PARTIALLY_FILLED" | "FILLED" | "PENDING_CANCEL" | "PENDING_NEW" => ReportKind::New,
            "CANCELED" => ReportKind::Canceled,
            "EXPIRED" | "EXPIRED_IN_MATCH" => ReportKind::Expired,
            "REJECTED" => ReportKind::Rejected { code: None, reason: "REJECTED".to_owned() },
            other => return Err(ReportParseError::UnknownStatus(other.chars().take(32).collect())),
        };
        out.push(report(kind, cum_qty));
    } else {
        out.push(report(ReportKind::New, None)); // an ACK response
    }
    for fill in &order.fills {
        let kind = ReportKind::Trade(FillReport {
            trade_id: fill.trade_id,
            price: instrument.ticks("price", &fill.price)?,
            qty: instrument.lots("qty", &fill.qty)?,
            fee: Decimal::parse(&fill.commission).map_err(|_| bad("commission", &fill.commission))?,
            fee_currency: fill.commission_asset.clone(),
            is_maker: false,
        });
        out.push(report(kind, None));
    }
    Ok(out)
}

/// The report of one `myTrades` entry, for the client order id `client_order_id`.
pub fn trade_report(
    trade: &BinanceTrade,
    client_order_id: &str,
    instrument: &BinanceInstrument,
    receive_ts_ns: i64,
) -> Result<ExecutionReport, ReportParseError> {
    Ok(ExecutionReport {
        venue: Venue::Binance,
        symbol: trade.symbol.clone(),
        client_order_id: client_order_id.to_owned(),
        venue_order_id: Some(trade.order_id.to_string()),
        kind: ReportKind::Trade(FillReport {
            trade_id: trade.id,
            price: instrument.ticks("price", &trade.price)?,
            qty: instrument.lots("qty", &trade.qty)?,
            fee: Decimal::parse(&trade.commission).map_err(|_| bad("commission", &trade.commission))?,
            fee_currency: trade.commission_asset.clone(),
            is_maker: trade.is_maker,
        }),
        cum_qty: None,
        exchange_ts_ns: trade.time.saturating_mul(NS_PER_MS),
        receive_ts_ns,
    })
}

/// A Binance error body.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct BinanceErrorBody {
    /// Binance's code (`-2010`).
    pub code: i64,
    /// Binance's message.
    pub msg: String,
}

/// Parses an error body.
pub fn parse_error(body: &[u8]) -> Result<BinanceErrorBody, ReportParseError> {
    serde_json::from_slice(body).map_err(malformed("error"))
}

#[cfg(test)]
#[path = "reports_tests.rs"]
mod tests;

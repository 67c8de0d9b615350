//! Kraken's REST answers -> normalized [`ExecutionReport`]s.
//!
//! Every answer is `{"error":[..],"result":..}` ([`parse_envelope`]): a non-empty `error` is
//! the venue's refusal, its strings kept verbatim (`EOrder:Post only order`).
//!
//! | Kraken says | Reports |
//! |---|---|
//! | `AddOrder`'s `txid` | `New` with the venue order id |
//! | an order (`OpenOrders`, `ClosedOrders`, `QueryOrders`) `pending` / `open` / `closed` | `New` carrying `vol_exec` as the cumulative quantity |
//! | ... `canceled` / `expired` | `Canceled` / `Expired` (with `vol_exec`) |
//! | a trade (`TradesHistory`) | `Trade`, keyed by its `trade_id`, maker as `maker` says, fee in the pair's quote currency |
//! | an `AddOrder` error | `Rejected` with the error strings |
//!
//! A `closed` order without its trades yet is not a fill: the order's state machine sees the
//! venue's cumulative quantity ahead of its fills and reconciliation fetches the trades.
//! Decimals convert exactly onto the pair's grid and times (seconds with a fraction) exactly
//! into nanoseconds; anything malformed is a [`ReportParseError`], never a panic (a property
//! test feeds random and mutated answers).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use wintermute_core::decimal::Decimal;

use crate::order::{Instrument, ReportParseError};
use crate::order_state::{ExecutionReport, FillReport, ReportKind, Venue};

/// A Kraken pair as the client trades it: the grid and the fee currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrakenPair {
    /// `symbol` is the altname sent as `pair` (`"XBTUSD"`), with `pair_decimals` and
    /// `lot_decimals` as its steps.
    pub instrument: Instrument,
    /// The quote asset, in which Kraken charges fees (`"ZUSD"`).
    pub quote_asset: String,
}

impl KrakenPair {
    /// From the altname, the tick and lot as decimal text, and the quote asset.
    pub fn new(altname: &str, tick_size: &str, lot_size: &str, quote_asset: &str) -> Result<Self, String> {
        Ok(Self { instrument: Instrument::new(altname, tick_size, lot_size)?, quote_asset: quote_asset.to_owned() })
    }
}

#[derive(Deserialize)]
struct Envelope<T> {
    error: Vec<String>,
    #[serde(default = "none")]
    result: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// Parses an answer: `Ok(Ok(result))`, `Ok(Err(errors))` for a refusal, or a parse error.
pub fn parse_envelope<T: DeserializeOwned>(
    what: &'static str,
    body: &[u8],
) -> Result<Result<T, Vec<String>>, ReportParseError> {
    let envelope: Envelope<T> = serde_json::from_slice(body).map_err(ReportParseError::malformed(what))?;
    if !envelope.error.is_empty() {
        return Ok(Err(envelope.error));
    }
    envelope.result.map(Ok).ok_or(ReportParseError::Malformed { what, error: "no result and no error".into() })
}

/// `AddOrder`'s result.
#[derive(Debug, Clone, Deserialize)]
pub struct AddOrderResult {
    /// The new order's txid (one for a plain order; none when only validated).
    #[serde(default)]
    pub txid: Vec<String>,
}

/// `CancelOrder` / `CancelAll`'s result.
#[derive(Debug, Clone, Deserialize)]
pub struct CountResult {
    /// How many orders were canceled.
    pub count: u64,
}

/// `AmendOrder`'s result.
#[derive(Debug, Clone, Deserialize)]
pub struct AmendResult {
    /// The amend's id.
    pub amend_id: String,
}

/// An order's `descr`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderDescr {
    /// The pair (altname).
    pub pair: String,
}

/// An order as Kraken reports it (the fields this client reads).
#[derive(Debug, Clone, Deserialize)]
pub struct KrakenOrder {
    /// `pending`, `open`, `closed`, `canceled`, `expired`.
    pub status: String,
    /// Our client order id, when the order had one.
    #[serde(default)]
    pub cl_ord_id: Option<String>,
    /// Order volume.
    pub vol: String,
    /// Volume executed.
    pub vol_exec: String,
    /// Open time, seconds.
    pub opentm: serde_json::Number,
    /// Close time, seconds (closed orders).
    #[serde(default)]
    pub closetm: Option<serde_json::Number>,
    /// Why it closed.
    #[serde(default)]
    pub reason: Option<String>,
    /// Description.
    pub descr: OrderDescr,
}

/// One trade as Kraken reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct KrakenTrade {
    /// The order's txid.
    pub ordertxid: String,
    /// The pair (Kraken's name, `"XXBTZUSD"`).
    pub pair: String,
    /// Time, seconds.
    pub time: serde_json::Number,
    /// Price.
    pub price: String,
    /// Fee (quote currency).
    pub fee: String,
    /// Volume.
    pub vol: String,
    /// The trade's id (unique per pair).
    pub trade_id: u64,
    /// Whether we were the maker.
    #[serde(default)]
    pub maker: bool,
}

/// `OpenOrders`' result.
#[derive(Debug, Clone, Deserialize)]
pub struct OpenOrders {
    /// Open orders by txid.
    pub open: BTreeMap<String, KrakenOrder>,
}

/// `ClosedOrders`' result.
#[derive(Debug, Clone, Deserialize)]
pub struct ClosedOrders {
    /// Closed orders by txid (a page).
    pub closed: BTreeMap<String, KrakenOrder>,
    /// How many match in all.
    pub count: u64,
}

/// `QueryOrders`' result: orders by txid.
pub type QueriedOrders = BTreeMap<String, KrakenOrder>;

/// `TradesHistory`'s result.
#[derive(Debug, Clone, Deserialize)]
pub struct TradesHistory {
    /// Trades by txid (a page, newest first).
    pub trades: BTreeMap<String, KrakenTrade>,
    /// How many match in all.
    pub count: u64,
}

/// Seconds with a fraction (a JSON number's text) -> nanoseconds, exactly (digits past the
/// ninth are dropped).
pub fn seconds_to_ns(field: &'static str, seconds: &serde_json::Number) -> Result<i64, ReportParseError> {
    let text = seconds.to_string();
    let d = Decimal::parse(&text).map_err(|_| ReportParseError::bad_decimal(field, &text))?;
    let ns = if d.scale() <= 9 {
        d.mantissa().checked_mul(10i128.pow(9 - d.scale()))
    } else {
        Some(d.mantissa() / 10i128.pow(d.scale() - 9))
    };
    ns.and_then(|ns| i64::try_from(ns).ok()).filter(|&ns| ns >= 0).ok_or(ReportParseError::bad_decimal(field, &text))
}

/// The report an order message implies, for its `cl_ord_id` (or `client_order_id` when given:
/// the order the client knows by that txid).
pub fn order_report(
    txid: &str,
    order: &KrakenOrder,
    client_order_id: &str,
    pair: &KrakenPair,
    receive_ts_ns: i64,
) -> Result<ExecutionReport, ReportParseError> {
    let kind = match order.status.as_str() {
        "pending" | "open" | "closed" => ReportKind::New,
        "canceled" => ReportKind::Canceled,
        "expired" => ReportKind::Expired,
        other => return Err(ReportParseError::UnknownStatus(other.chars().take(32).collect())),
    };
    let inst = &pair.instrument;
    inst.lots("vol", &order.vol)?;
    let cum_qty = inst.lots("vol_exec", &order.vol_exec)?;
    let time = order.closetm.as_ref().unwrap_or(&order.opentm);
    Ok(ExecutionReport {
        venue: Venue::Kraken,
        symbol: order.descr.pair.clone(),
        client_order_id: client_order_id.to_owned(),
        venue_order_id: Some(txid.to_owned()),
        kind,
        cum_qty: Some(cum_qty),
        exchange_ts_ns: seconds_to_ns("closetm", time)?,
        receive_ts_ns,
    })
}

/// The report of one trade, for the order the client knows as `client_order_id`.
pub fn trade_report(
    trade: &KrakenTrade,
    client_order_id: &str,
    pair: &KrakenPair,
    receive_ts_ns: i64,
) -> Result<ExecutionReport, ReportParseError> {
    let inst = &pair.instrument;
    Ok(ExecutionReport {
        venue: Venue::Kraken,
        symbol: inst.symbol.clone(),
        client_order_id: client_order_id.to_owned(),
        venue_order_id: Some(trade.ordertxid.clone()),
        kind: ReportKind::Trade(FillReport {
            trade_id: trade.trade_id,
            price: inst.ticks("price", &trade.price)?,
            qty: inst.lots("vol", &trade.vol)?,
            fee: Decimal::parse(&trade.fee).map_err(|_| ReportParseError::bad_decimal("fee", &trade.fee))?,
            fee_currency: pair.quote_asset.clone(),
            is_maker: trade.maker,
        }),
        cum_qty: None,
        exchange_ts_ns: seconds_to_ns("time", &trade.time)?,
        receive_ts_ns,
    })
}

#[cfg(test)]
#[path = "reports_tests.rs"]
mod tests;

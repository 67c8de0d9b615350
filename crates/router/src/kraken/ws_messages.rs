//! Kraken WebSocket v2 order entry, as text: the requests a client writes (`add_order`,
//! `amend_order`, `cancel_order`, `cancel_all`, `cancel_all_orders_after`, `subscribe` to
//! `executions` and `balances`) and the frames it reads (method
//! responses matched by `req_id`, `executions` snapshots and updates, turned into normalized
//! [`ExecutionReport`]s, and `balances` ledger entries, turned into [`BalanceUpdate`]s).
//!
//! v2 writes prices and quantities as JSON numbers (`"order_qty":1.25`). They are written here
//! from ticks and lots exactly at the pair's decimals, and read back from the number's own text
//! ([`RawValue`]), never through a float. Every frame is parsed without panicking: anything
//! malformed is a [`ReportParseError`] (a property test feeds random and mutated frames).
//!
//! | `exec_type` | Report |
//! |---|---|
//! | `pending_new`, `new`, `amended`, `restated`, `status`, `filled` | `New` with `cum_qty` |
//! | `trade` | `Trade` keyed by `trade_id`, `last_qty` at `last_price`, the fees summed |
//! | `canceled` / `expired` | `Canceled` / `Expired` with `cum_qty` |

use serde::Deserialize;
use serde_json::value::RawValue;
use wintermute_core::decimal::Decimal;

use super::reports::KrakenPair;
use crate::order::{BalanceChange, BalanceUpdate, NewOrder, OrderType, ReportParseError, TimeInForce};
use crate::order_state::{ExecutionReport, FillReport, ReportKind, Side, Venue};

/// A pair as the v2 API names it: the REST pair (grid, fee currency) and its v2 `symbol`
/// (`"BTC/USD"`: v2 writes BTC where REST and v1 write XBT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KrakenWsPair {
    /// The pair's grid and quote asset; `instrument.symbol` is the REST altname (`"XBTUSD"`).
    pub pair: KrakenPair,
    /// The v2 symbol (`"BTC/USD"`).
    pub symbol: String,
}

/// A v1 `wsname` (`"XBT/USD"`) as v2 writes it (`"BTC/USD"`; `XDG` is `DOGE`).
pub fn v2_symbol(wsname: &str) -> String {
    let rename = |asset: &str| match asset {
        "XBT" => "BTC".to_owned(),
        "XDG" => "DOGE".to_owned(),
        other => other.to_owned(),
    };
    match wsname.split_once('/') {
        Some((base, quote)) => format!("{}/{}", rename(base), rename(quote)),
        None => wsname.to_owned(),
    }
}

/// A JSON object written field by field (numbers from exact decimal text).
#[derive(Debug)]
pub struct JsonWriter {
    out: String,
    first: bool,
}

impl Default for JsonWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonWriter {
    /// `{`.
    pub fn new() -> Self {
        let mut out = String::with_capacity(256);
        out.push('{');
        Self { out, first: true }
    }

    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_json_string(&mut self.out, key);
        self.out.push(':');
    }

    /// A string field.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        push_json_string(&mut self.out, value);
        self
    }

    /// A number field from decimal text (`"58729.4"`), written as is.
    pub fn num(&mut self, key: &str, decimal: &str) -> &mut Self {
        self.key(key);
        self.out.push_str(decimal);
        self
    }

    /// An integer field.
    pub fn int(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key);
        self.out.push_str(&value.to_string());
        self
    }

    /// A boolean field.
    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// A field whose value is JSON text already (an object or an array).
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.out.push_str(json);
        self
    }

    /// `}`: the text.
    pub fn finish(&mut self) -> String {
        self.out.push('}');
        std::mem::take(&mut self.out)
    }
}

/// Appends `s` as a JSON string.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `add_order` for `order` (prices and quantities at the pair's decimals), with the token.
pub fn add_order_message(order: &NewOrder, pair: &KrakenWsPair, token: &str, req_id: u64) -> String {
    let mut params = JsonWriter::new();
    order_fields(&mut params, order, pair, true);
    params.str("token", token);
    JsonWriter::new().str("method", "add_order").raw("params", &params.finish()).int("req_id", req_id).finish()
}

/// `batch_add` of `orders` (all on `pair`: Kraken takes 2 to 15 of one pair), with the token.
pub fn batch_add_message(orders: &[NewOrder], pair: &KrakenWsPair, token: &str, req_id: u64) -> String {
    let entries: Vec<String> = orders
        .iter()
        .map(|order| {
            let mut entry = JsonWriter::new();
            order_fields(&mut entry, order, pair, false);
            entry.finish()
        })
        .collect();
    let params = JsonWriter::new()
        .raw("orders", &format!("[{}]", entries.join(",")))
        .str("symbol", &pair.symbol)
        .str("token", token)
        .finish();
    JsonWriter::new().str("method", "batch_add").raw("params", &params).int("req_id", req_id).finish()
}

/// `batch_cancel` of orders by Kraken `order_id` (`orders`, always present) and by
/// `cl_ord_id` (Kraken takes 2 to 50 in all).
pub fn batch_cancel_message(order_ids: &[String], cl_ord_ids: &[String], token: &str, req_id: u64) -> String {
    let list = |ids: &[String]| {
        let mut out = String::from("[");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(&mut out, id);
        }
        out.push(']');
        out
    };
    let mut params = JsonWriter::new();
    params.raw("orders", &list(order_ids));
    if !cl_ord_ids.is_empty() {
        params.raw("cl_ord_id", &list(cl_ord_ids));
    }
    let params = params.str("token", token).finish();
    JsonWriter::new().str("method", "batch_cancel").raw("params", &params).int("req_id", req_id).finish()
}

/// An order's v2 fields (`symbol` too unless it is a batch's entry), without the token.
fn order_fields(params: &mut JsonWriter, order: &NewOrder, pair: &KrakenWsPair, with_symbol: bool) {
    let inst = &pair.pair.instrument;
    let (order_type, price) = match order.order_type {
        OrderType::Market => ("market", None),
        OrderType::Limit { price, .. } | OrderType::PostOnly { price } => ("limit", Some(price)),
    };
    params.str("order_type", order_type);
    params.str("side", if order.side == Side::Buy { "buy" } else { "sell" });
    params.num("order_qty", &inst.step_size.format(order.qty));
    if with_symbol {
        params.str("symbol", &pair.symbol);
    }
    if let Some(price) = price {
        params.num("limit_price", &inst.tick_size.format(price));
    }
    match order.order_type {
        OrderType::Limit { tif: TimeInForce::Ioc, .. } => {
            params.str("time_in_force", "ioc");
        }
        OrderType::PostOnly { .. } => {
            params.bool("post_only", true);
        }
        _ => {}
    }
    params.str("cl_ord_id", &order.client_order_id);
}

/// `cancel_order` of one order by its `cl_ord_id`.
pub fn cancel_order_message(client_order_id: &str, token: &str, req_id: u64) -> String {
    let mut ids = String::from("[");
    push_json_string(&mut ids, client_order_id);
    ids.push(']');
    let params = JsonWriter::new().raw("cl_ord_id", &ids).str("token", token).finish();
    JsonWriter::new().str("method", "cancel_order").raw("params", &params).int("req_id", req_id).finish()
}

/// `amend_order` of one order by its `cl_ord_id`: a new total quantity (lots) and/or limit
/// price (ticks).
pub fn amend_order_message(
    client_order_id: &str,
    pair: &KrakenWsPair,
    new_qty: Option<i64>,
    new_price: Option<i64>,
    token: &str,
    req_id: u64,
) -> String {
    let inst = &pair.pair.instrument;
    let mut params = JsonWriter::new();
    params.str("cl_ord_id", client_order_id);
    if let Some(qty) = new_qty {
        params.num("order_qty", &inst.step_size.format(qty));
    }
    if let Some(price) = new_price {
        params.num("limit_price", &inst.tick_size.format(price));
    }
    params.str("token", token);
    JsonWriter::new().str("method", "amend_order").raw("params", &params.finish()).int("req_id", req_id).finish()
}

/// `cancel_all`: every open order of the account, one request (the kill switch).
pub fn cancel_all_message(token: &str, req_id: u64) -> String {
    let params = JsonWriter::new().str("token", token).finish();
    JsonWriter::new().str("method", "cancel_all").raw("params", &params).int("req_id", req_id).finish()
}

/// `cancel_all_orders_after`: the dead man's switch, armed (or pushed back) to cancel every
/// order of the account `timeout_s` seconds from now; 0 disarms it.
pub fn cancel_all_orders_after_message(timeout_s: u32, token: &str, req_id: u64) -> String {
    let params = JsonWriter::new().int("timeout", u64::from(timeout_s)).str("token", token).finish();
    JsonWriter::new().str("method", "cancel_all_orders_after").raw("params", &params).int("req_id", req_id).finish()
}

/// `subscribe` to `executions`, with the open orders and the last 50 fills in the snapshot.
pub fn subscribe_executions_message(token: &str, req_id: u64) -> String {
    let params = JsonWriter::new()
        .str("channel", "executions")
        .str("token", token)
        .bool("snap_orders", true)
        .bool("snap_trades", true)
        .finish();
    JsonWriter::new().str("method", "subscribe").raw("params", &params).int("req_id", req_id).finish()
}

/// `subscribe` to `balances` (the account's ledger entries), without the channel's own snapshot
/// (it says nothing of holds: the REST `BalanceEx` is the snapshot a route loads).
pub fn subscribe_balances_message(token: &str, req_id: u64) -> String {
    let params = JsonWriter::new().str("channel", "balances").str("token", token).bool("snapshot", false).finish();
    JsonWriter::new().str("method", "subscribe").raw("params", &params).int("req_id", req_id).finish()
}

/// A method's answer (`add_order`, `cancel_order`, `amend_order`, `subscribe`, `pong`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsResponse {
    /// The method answered.
    pub method: String,
    /// The request's `req_id`, echoed.
    pub req_id: Option<u64>,
    /// `Err(error)` with Kraken's error string when `success` is false.
    pub outcome: Result<WsResult, String>,
}

/// What a successful order method returns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct WsResult {
    /// The order's id.
    #[serde(default)]
    pub order_id: Option<String>,
    /// The order's client id, when the request named it.
    #[serde(default)]
    pub cl_ord_id: Option<String>,
    /// An amend's id.
    #[serde(default)]
    pub amend_id: Option<String>,
    /// How many orders `cancel_all` canceled.
    #[serde(default)]
    pub count: Option<u64>,
    /// When the dead man's switch fires (`cancel_all_orders_after`, RFC 3339; Kraken's
    /// `1970-01-01T00:00:00Z` when disarmed).
    #[serde(default, rename = "triggerTime")]
    pub trigger_time: Option<String>,
    /// A `batch_add`'s answer (its `result` is a list): one entry per order.
    #[serde(skip)]
    pub batch: Vec<WsBatchEntry>,
}

/// One order of a `batch_add` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct WsBatchEntry {
    /// The order's id, if placed.
    #[serde(default)]
    pub order_id: Option<String>,
    /// The order's client id.
    #[serde(default)]
    pub cl_ord_id: Option<String>,
    /// Why this order alone was refused.
    #[serde(default)]
    pub error: Option<String>,
}

/// One entry of an `executions` message (the fields this client reads; numbers as their text).
#[derive(Debug, Clone, Deserialize)]
pub struct WsExecution<'a> {
    /// `pending_new`, `new`, `trade`, `filled`, `canceled`, `expired`, `amended`, ...
    pub exec_type: String,
    /// Kraken's order id.
    pub order_id: String,
    /// Our client order id, when the order had one.
    #[serde(default)]
    pub cl_ord_id: Option<String>,
    /// The v2 symbol (absent on some status updates).
    #[serde(default)]
    pub symbol: Option<String>,
    /// `buy` or `sell`.
    #[serde(default)]
    pub side: Option<String>,
    /// The order's quantity.
    #[serde(default, borrow)]
    pub order_qty: Option<&'a RawValue>,
    /// Cumulative executed quantity.
    #[serde(default, borrow)]
    pub cum_qty: Option<&'a RawValue>,
    /// RFC 3339 time of the event.
    pub timestamp: String,
    /// A trade's id (unique per pair).
    #[serde(default)]
    pub trade_id: Option<u64>,
    /// A trade's quantity.
    #[serde(default, borrow)]
    pub last_qty: Option<&'a RawValue>,
    /// A trade's price.
    #[serde(default, borrow)]
    pub last_price: Option<&'a RawValue>,
    /// `m` (maker) or `t` (taker).
    #[serde(default)]
    pub liquidity_ind: Option<String>,
    /// A trade's fees.
    #[serde(default, borrow)]
    pub fees: Vec<WsFee<'a>>,
}

/// One fee of a trade.
#[derive(Debug, Clone, Deserialize)]
pub struct WsFee<'a> {
    /// The asset charged (v2's name: `"USD"`).
    pub asset: String,
    /// The amount.
    #[serde(borrow)]
    pub qty: &'a RawValue,
}

/// One frame from the server.
#[derive(Debug, Clone)]
pub enum WsMessage<'a> {
    /// A method's answer.
    Response(WsResponse),
    /// `executions`: a snapshot (on subscribing) or an update.
    Executions {
        /// Whether it is the snapshot.
        snapshot: bool,
        /// The entries, in order.
        executions: Vec<WsExecution<'a>>,
    },
    /// `balances`: the channel's snapshot (each asset's total, on subscribing with `snapshot`)
    /// or an update (the account's ledger entries, [`balance_updates`]).
    Balances {
        /// Whether it is the snapshot.
        snapshot: bool,
        /// The channel's sequence number on this connection (one more per message).
        sequence: Option<u64>,
        /// The entries, unparsed.
        data: &'a RawValue,
    },
    /// Anything else the server says (`status`, `heartbeat`, other channels).
    Other,
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    req_id: Option<u64>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
    #[serde(default)]
    sequence: Option<u64>,
}

const WHAT: &str = "kraken ws v2";

/// Parses one text frame.
pub fn parse_frame(text: &str) -> Result<WsMessage<'_>, ReportParseError> {
    let frame: Frame<'_> = serde_json::from_str(text).map_err(ReportParseError::malformed(WHAT))?;
    if let Some(method) = frame.method {
        let outcome = match (frame.success, frame.error) {
            (Some(true), _) => match frame.result {
                Some(raw) if raw.get().starts_with('[') => {
                    let batch = serde_json::from_str(raw.get()).map_err(ReportParseError::malformed(WHAT))?;
                    Ok(WsResult { batch, ..WsResult::default() })
                }
                Some(raw) => Ok(serde_json::from_str(raw.get()).map_err(ReportParseError::malformed(WHAT))?),
                None => Ok(WsResult::default()),
            },
            (_, Some(error)) => Err(error),
            _ => return Err(ReportParseError::Malformed { what: WHAT, error: "no success and no error".into() }),
        };
        return Ok(WsMessage::Response(WsResponse { method, req_id: frame.req_id, outcome }));
    }
    if frame.channel.as_deref() == Some("executions") {
        let snapshot = match frame.kind.as_deref() {
            Some("snapshot") => true,
            Some("update") => false,
            _ => return Err(ReportParseError::Malformed { what: WHAT, error: "executions without a type".into() }),
        };
        let data =
            frame.data.ok_or(ReportParseError::Malformed { what: WHAT, error: "executions without data".into() })?;
        let executions = serde_json::from_str(data.get()).map_err(ReportParseError::malformed(WHAT))?;
        return Ok(WsMessage::Executions { snapshot, executions });
    }
    if frame.channel.as_deref() == Some("balances") {
        let malformed = |error: &str| ReportParseError::Malformed { what: WHAT, error: error.into() };
        let snapshot = match frame.kind.as_deref() {
            Some("snapshot") => true,
            Some("update") => false,
            _ => return Err(malformed("balances without a type")),
        };
        let data = frame.data.ok_or_else(|| malformed("balances without data"))?;
        return Ok(WsMessage::Balances { snapshot, sequence: frame.sequence, data });
    }
    Ok(WsMessage::Other)
}

/// One ledger entry of a `balances` update (the fields this client reads).
#[derive(Deserialize)]
struct LedgerEntry<'a> {
    asset: String,
    #[serde(borrow)]
    balance: &'a RawValue,
    #[serde(default)]
    wallet_type: Option<String>,
    #[serde(default)]
    wallet_id: Option<String>,
}

/// The [`BalanceUpdate`]s of a `balances` update's entries received at `receive_ns`: one
/// [`BalanceChange::Total`] per entry of the spot wallet (`wallet_type` `spot`, `wallet_id`
/// `main`, or neither given), the asset by its v2 name, its `balance` exact; entries of other
/// wallets (earn) are not the trading balance and give none. An entry that cannot be read (a
/// missing field, a balance that is not a plain decimal, an asset name that is not one) fails
/// the whole message: nothing of it is returned. Kraken's REST snapshot has no venue time, so
/// both times are `receive_ns` ([`BalanceUpdate::exchange_ts_ns`]).
pub fn balance_updates(data: &RawValue, receive_ns: i64) -> Result<Vec<BalanceUpdate>, ReportParseError> {
    let entries: Vec<LedgerEntry<'_>> = serde_json::from_str(data.get()).map_err(ReportParseError::malformed(WHAT))?;
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let named = !e.asset.is_empty()
            && e.asset.len() <= 16
            && e.asset.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
        if !named {
            return Err(ReportParseError::Malformed {
                what: WHAT,
                error: format!("balances: asset {:?}", e.asset.chars().take(20).collect::<String>()),
            });
        }
        let text = decimal_text(e.balance);
        let balance = Decimal::parse(text).map_err(|_| ReportParseError::bad_decimal("balance", text))?;
        let spot =
            e.wallet_type.as_deref().is_none_or(|t| t == "spot") && e.wallet_id.as_deref().is_none_or(|i| i == "main");
        if spot {
            out.push(BalanceUpdate {
                venue: Venue::Kraken,
                asset: super::assets::v2_asset(&e.asset).to_owned(),
                change: BalanceChange::Total { balance },
                exchange_ts_ns: receive_ns,
                receive_ts_ns: receive_ns,
            });
        }
    }
    Ok(out)
}

/// A JSON number's (or string's) decimal text.
pub fn decimal_text(raw: &RawValue) -> &str {
    let text = raw.get();
    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text)
}

/// The report an execution implies, for the order the client knows as `client_order_id`.
pub fn execution_report(
    exec: &WsExecution<'_>,
    client_order_id: &str,
    pair: &KrakenWsPair,
    receive_ts_ns: i64,
) -> Result<ExecutionReport, ReportParseError> {
    let inst = &pair.pair.instrument;
    let cum_qty = exec.cum_qty.map(|raw| inst.lots("cum_qty", decimal_text(raw))).transpose()?;
    let exchange_ts_ns = crate::time::parse_rfc3339_ns(&exec.timestamp)
        .ok_or_else(|| ReportParseError::bad_decimal("timestamp", &exec.timestamp))?;
    let kind = match exec.exec_type.as_str() {
        "pending_new" | "new" | "amended" | "restated" | "status" | "filled" => ReportKind::New,
        "canceled" => ReportKind::Canceled,
        "expired" => ReportKind::Expired,
        "trade" => {
            let missing =
                |field: &str| ReportParseError::Malformed { what: WHAT, error: format!("trade without {field}") };
            let price = exec.last_price.ok_or_else(|| missing("last_price"))?;
            let qty = exec.last_qty.ok_or_else(|| missing("last_qty"))?;
            // Fees are charged in the quote currency (Kraken's default, and what `AddOrder`
            // asks for): reported under the pair's REST asset name, as `TradesHistory` does, so
            // one trade read from both sources is the same fill.
            let mut fee = Decimal::new(0, 0);
            for f in &exec.fees {
                let text = decimal_text(f.qty);
                let amount = Decimal::parse(text).map_err(|_| ReportParseError::bad_decimal("fees.qty", text))?;
                fee = crate::sim::exchange::add(fee, amount);
            }
            ReportKind::Trade(FillReport {
                trade_id: exec.trade_id.ok_or_else(|| missing("trade_id"))?,
                price: inst.ticks("last_price", decimal_text(price))?,
                qty: inst.lots("last_qty", decimal_text(qty))?,
                fee,
                fee_currency: pair.pair.quote_asset.clone(),
                is_maker: exec.liquidity_ind.as_deref() == Some("m"),
            })
        }
        other => return Err(ReportParseError::UnknownStatus(other.chars().take(32).collect())),
    };
    Ok(ExecutionReport {
        venue: Venue::Kraken,
        symbol: inst.symbol.clone(),
        client_order_id: client_order_id.to_owned(),
        venue_order_id: Some(exec.order_id.clone()),
        kind,
        cum_qty,
        exchange_ts_ns,
        receive_ts_ns,
    })
}

#[cfg(test)]
#[path = "ws_messages_tests.rs"]
mod tests;

//! Binance's WebSocket API as text frames: signed requests out, answers and user-data events in.
//!
//! **Requests** are one JSON object per text frame, `{"id":..,"method":"order.place","params":{..}}`.
//! A signed request's `params` carry `apiKey`, `recvWindow`, `timestamp` and `signature`, where
//! the signature is taken over every other parameter **sorted by name** and written
//! `name=value&name=value` (values as sent, not percent-encoded): HMAC-SHA256 in lowercase hex,
//! or Ed25519 in base64 ([`BinanceSigner`]). [`signed_request`] writes the parameters in that
//! sorted order, so the frame shows exactly what was signed.
//!
//! **Answers** echo the request's `id`, with an HTTP-like `status`, then `result` or `error`
//! (`{"code":-2010,"msg":".."}`, sometimes with `data`), and `rateLimits` (the request weight
//! per minute and the order counts, as the REST headers give them) ([`parse_frame`]).
//!
//! **Events** of a user-data subscription arrive as `{"subscriptionId":0,"event":{"e":..}}`; an
//! `executionReport` becomes one normalized [`ExecutionReport`] ([`execution_report`]); an
//! `outboundAccountPosition` (the assets a change touched, free and locked after it) and a
//! `balanceUpdate` (a deposit or withdrawal) become [`BalanceUpdate`]s ([`balance_updates`]).
//! Anything malformed is a [`ReportParseError`], never a panic (a property test feeds random and
//! mutated frames).

use serde::Deserialize;
use serde_json::Value;
use wintermute_core::decimal::Decimal;

use super::reports::{BinanceErrorBody, BinanceInstrument};
pub use crate::order::ReportParseError;
use crate::order::{BalanceChange, BalanceUpdate};
use crate::order_state::{ExecutionReport, FillReport, ReportKind, Venue};
use crate::signing::BinanceSigner;

const NS_PER_MS: i64 = 1_000_000;

/// One request parameter's value: text (JSON string) or an integer (JSON number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// Sent as a JSON string.
    Text(String),
    /// Sent as a JSON number.
    Int(i64),
}

impl From<&str> for ParamValue {
    fn from(text: &str) -> Self {
        ParamValue::Text(text.to_owned())
    }
}

impl From<String> for ParamValue {
    fn from(text: String) -> Self {
        ParamValue::Text(text)
    }
}

/// Writes `text` as a JSON string.
fn push_json_str(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_params(out: &mut String, params: &[(&str, ParamValue)], signature: Option<&str>) {
    out.push('{');
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, name);
        out.push(':');
        match value {
            ParamValue::Text(text) => push_json_str(out, text),
            ParamValue::Int(n) => out.push_str(&n.to_string()),
        }
    }
    if let Some(signature) = signature {
        if !params.is_empty() {
            out.push(',');
        }
        out.push_str("\"signature\":");
        push_json_str(out, signature);
    }
    out.push('}');
}

/// The signature payload: the parameters sorted by name, `name=value` joined by `&`.
pub fn signature_payload(params: &mut [(&str, ParamValue)]) -> String {
    params.sort_by(|a, b| a.0.cmp(b.0));
    let mut payload = String::with_capacity(256);
    for (i, (name, value)) in params.iter().enumerate() {
        if i > 0 {
            payload.push('&');
        }
        payload.push_str(name);
        payload.push('=');
        match value {
            ParamValue::Text(text) => payload.push_str(text),
            ParamValue::Int(n) => payload.push_str(&n.to_string()),
        }
    }
    payload
}

/// An unsigned request frame (`ping`, `time`, `userDataStream.subscribe` on a logged-on session).
pub fn request(id: u64, method: &str, params: &[(&str, ParamValue)]) -> String {
    let mut out = format!("{{\"id\":{id},\"method\":");
    push_json_str(&mut out, method);
    if !params.is_empty() {
        out.push_str(",\"params\":");
        push_params(&mut out, params, None);
    }
    out.push('}');
    out
}

/// A signed request frame: `params` plus `apiKey`, `recvWindow` and `timestamp`, sorted by name,
/// and the `signature` of that sorted payload.
pub fn signed_request(
    id: u64,
    method: &str,
    mut params: Vec<(&str, ParamValue)>,
    api_key: &str,
    signer: &BinanceSigner,
    recv_window_ms: u64,
    timestamp_ms: i64,
) -> String {
    params.push(("apiKey", api_key.into()));
    params.push(("recvWindow", ParamValue::Int(i64::try_from(recv_window_ms).unwrap_or(i64::MAX))));
    params.push(("timestamp", ParamValue::Int(timestamp_ms)));
    let payload = signature_payload(&mut params);
    let signature = signer.sign(&payload);
    let mut out = String::with_capacity(payload.len() + signature.len() + 96);
    out.push_str(&format!("{{\"id\":{id},\"method\":"));
    push_json_str(&mut out, method);
    out.push_str(",\"params\":");
    push_params(&mut out, &params, Some(&signature));
    out.push('}');
    out
}

/// One entry of an answer's `rateLimits`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// `REQUEST_WEIGHT` or `ORDERS`.
    pub rate_limit_type: String,
    /// `SECOND`, `MINUTE`, `HOUR`, `DAY`.
    pub interval: String,
    /// The interval's multiplier (10 for 10 seconds).
    pub interval_num: u32,
    /// The limit per interval.
    pub limit: u64,
    /// What is used in the current interval.
    #[serde(default)]
    pub count: u64,
}

impl RateLimit {
    /// The interval in milliseconds (0 if unknown).
    pub fn interval_ms(&self) -> i64 {
        let unit = match self.interval.as_str() {
            "SECOND" => 1_000,
            "MINUTE" => 60_000,
            "HOUR" => 3_600_000,
            "DAY" => 86_400_000,
            _ => 0,
        };
        unit * i64::from(self.interval_num)
    }
}

/// An error answer's body: Binance's code and message, and what `data` says (cancel-replace
/// outcomes, `retryAfter`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WsError {
    /// Binance's code.
    pub code: i64,
    /// Binance's message.
    pub msg: String,
    /// Extra detail, when given.
    #[serde(default)]
    pub data: Option<Value>,
}

impl WsError {
    /// The code and message as the REST error body.
    pub fn body(&self) -> BinanceErrorBody {
        BinanceErrorBody { code: self.code, msg: self.msg.clone() }
    }

    /// `data.retryAfter` (a time in ms) when the answer carries one.
    pub fn retry_after_ms(&self) -> Option<i64> {
        self.data.as_ref()?.get("retryAfter")?.as_i64()
    }
}

/// An answer to a request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WsAnswer {
    /// The request id echoed (`None` if not one of our integer ids: a `null` id answers a
    /// request the server could not read).
    #[serde(default, deserialize_with = "integer_id")]
    pub id: Option<u64>,
    /// HTTP-like status (200, 400, 409, 418, 429, 5xx).
    pub status: u16,
    /// The result, on success.
    #[serde(default)]
    pub result: Option<Value>,
    /// The error, on failure.
    #[serde(default)]
    pub error: Option<WsError>,
    /// The rate limits the request counted in.
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
}

fn integer_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(Value::deserialize(d)?.as_u64())
}

/// A frame the server sent.
#[derive(Debug, Clone, PartialEq)]
pub enum WsFrame {
    /// An answer to one of our requests.
    Answer(WsAnswer),
    /// A user-data event.
    Event {
        /// The subscription it belongs to (absent in the legacy form).
        subscription_id: Option<u64>,
        /// The event object (`{"e":"executionReport",..}`).
        event: Value,
    },
}

/// Reads one text frame from the server.
pub fn parse_frame(text: &str) -> Result<WsFrame, ReportParseError> {
    let value: Value = serde_json::from_str(text).map_err(ReportParseError::malformed("ws frame"))?;
    let Value::Object(mut map) = value else {
        return Err(ReportParseError::Malformed { what: "ws frame", error: "not a JSON object".into() });
    };
    if let Some(event) = map.remove("event") {
        if !event.is_object() {
            return Err(ReportParseError::Malformed { what: "ws event", error: "event is not an object".into() });
        }
        return Ok(WsFrame::Event { subscription_id: map.get("subscriptionId").and_then(Value::as_u64), event });
    }
    serde_json::from_value(Value::Object(map)).map(WsFrame::Answer).map_err(ReportParseError::malformed("ws answer"))
}

/// An `executionReport` event (the fields the client reads).
#[derive(Debug, Clone, Deserialize)]
pub struct ExecutionReportEvent {
    /// Event time, ms.
    #[serde(rename = "E")]
    pub event_time: i64,
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// Client order id (of the cancel, for a cancel).
    #[serde(rename = "c")]
    pub client_order_id: String,
    /// The canceled order's client id (cancels only; empty otherwise).
    #[serde(rename = "C", default)]
    pub orig_client_order_id: Option<String>,
    /// Execution type: NEW, CANCELED, REPLACED, REJECTED, TRADE, EXPIRED, TRADE_PREVENTION.
    #[serde(rename = "x")]
    pub execution_type: String,
    /// Order status after the event.
    #[serde(rename = "X")]
    pub status: String,
    /// Reject reason (`NONE` unless rejected).
    #[serde(rename = "r", default)]
    pub reject_reason: Option<String>,
    /// Venue order id.
    #[serde(rename = "i")]
    pub order_id: u64,
    /// Last executed quantity.
    #[serde(rename = "l")]
    pub last_qty: String,
    /// Cumulative filled quantity.
    #[serde(rename = "z")]
    pub cum_qty: String,
    /// Last executed price.
    #[serde(rename = "L")]
    pub last_price: String,
    /// Commission of the last trade.
    #[serde(rename = "n", default)]
    pub commission: Option<String>,
    /// Its asset (`null` without a trade).
    #[serde(rename = "N", default)]
    pub commission_asset: Option<String>,
    /// Transaction time, ms.
    #[serde(rename = "T")]
    pub transaction_time: i64,
    /// Trade id (-1 without a trade).
    #[serde(rename = "t")]
    pub trade_id: i64,
    /// Maker side of the trade?
    #[serde(rename = "m", default)]
    pub is_maker: bool,
}

/// The normalized report of a user-data event; `Ok(None)` for an event that is not an
/// `executionReport` (account positions, balance updates, `eventStreamTerminated`).
pub fn execution_report<'i>(
    event: &Value,
    instrument_of: impl Fn(&str) -> Option<&'i BinanceInstrument>,
    receive_ts_ns: i64,
) -> Result<Option<ExecutionReport>, ReportParseError> {
    if event.get("e").and_then(Value::as_str) != Some("executionReport") {
        return Ok(None);
    }
    let ev = ExecutionReportEvent::deserialize(event).map_err(ReportParseError::malformed("executionReport"))?;
    let inst = instrument_of(&ev.symbol)
        .ok_or_else(|| ReportParseError::Malformed { what: "executionReport", error: "unknown symbol".into() })?;
    let cum_qty = inst.lots("z", &ev.cum_qty)?;
    let kind = match ev.execution_type.as_str() {
        "NEW" | "REPLACED" | "AMENDMENT" => ReportKind::New,
        "TRADE" => {
            let fee_text = ev.commission.as_deref().unwrap_or("0");
            ReportKind::Trade(FillReport {
                trade_id: u64::try_from(ev.trade_id)
                    .map_err(|_| ReportParseError::bad_decimal("t", &ev.trade_id.to_string()))?,
                price: inst.ticks("L", &ev.last_price)?,
                qty: inst.lots("l", &ev.last_qty)?,
                fee: Decimal::parse(fee_text).map_err(|_| ReportParseError::bad_decimal("n", fee_text))?,
                fee_currency: ev.commission_asset.clone().unwrap_or_default(),
                is_maker: ev.is_maker,
            })
        }
        "CANCELED" => ReportKind::Canceled,
        "EXPIRED" | "TRADE_PREVENTION" => ReportKind::Expired,
        "REJECTED" => ReportKind::Rejected { code: None, reason: ev.reject_reason.clone().unwrap_or_default() },
        other => return Err(ReportParseError::UnknownStatus(other.chars().take(32).collect())),
    };
    let client_order_id = match ev.orig_client_order_id.as_deref() {
        Some(orig) if !orig.is_empty() => orig.to_owned(),
        _ => ev.client_order_id.clone(),
    };
    Ok(Some(ExecutionReport {
        venue: Venue::Binance,
        symbol: ev.symbol.clone(),
        client_order_id,
        venue_order_id: Some(ev.order_id.to_string()),
        kind,
        cum_qty: Some(cum_qty),
        exchange_ts_ns: ev.transaction_time.max(ev.event_time).saturating_mul(NS_PER_MS),
        receive_ts_ns,
    }))
}

/// One asset of an `outboundAccountPosition` (`B`).
#[derive(Debug, Clone, Deserialize)]
struct PositionAsset {
    #[serde(rename = "a")]
    asset: String,
    #[serde(rename = "f")]
    free: String,
    #[serde(rename = "l")]
    locked: String,
}

/// An `outboundAccountPosition` event: the assets a change touched, free and locked after it.
#[derive(Debug, Clone, Deserialize)]
struct AccountPositionEvent {
    #[serde(rename = "E")]
    event_time: i64,
    #[serde(rename = "u", default)]
    last_update_time: Option<i64>,
    /// The assets (none listed: none changed).
    #[serde(rename = "B", default)]
    balances: Vec<PositionAsset>,
}

/// A `balanceUpdate` event: a deposit, withdrawal or transfer of one asset.
#[derive(Debug, Clone, Deserialize)]
struct BalanceUpdateEvent {
    #[serde(rename = "E")]
    event_time: i64,
    #[serde(rename = "a")]
    asset: String,
    #[serde(rename = "d")]
    delta: String,
    #[serde(rename = "T", default)]
    clear_time: Option<i64>,
}

/// An asset name as Binance writes them (1 to 20 ASCII letters and digits), else malformed.
fn asset_name(what: &'static str, asset: &str) -> Result<String, ReportParseError> {
    if asset.is_empty() || asset.len() > 20 || !asset.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let shown: String = asset.chars().take(32).collect();
        return Err(ReportParseError::Malformed { what, error: format!("bad asset name {shown:?}") });
    }
    Ok(asset.to_owned())
}

fn exact(field: &'static str, text: &str) -> Result<Decimal, ReportParseError> {
    Decimal::parse(text).map_err(|_| ReportParseError::bad_decimal(field, text))
}

/// The normalized balance updates of a user-data event: one per asset of an
/// `outboundAccountPosition` (free and locked after the change), one for a `balanceUpdate` (the
/// signed amount deposited or withdrawn); empty for any other event. Amounts are read exactly;
/// a missing field, a bad asset name or text that is not a decimal is an error for the whole
/// event (nothing of it is returned).
pub fn balance_updates(event: &Value, receive_ts_ns: i64) -> Result<Vec<BalanceUpdate>, ReportParseError> {
    let update = |asset, change, ms: i64| BalanceUpdate {
        venue: Venue::Binance,
        asset,
        change,
        exchange_ts_ns: ms.saturating_mul(NS_PER_MS),
        receive_ts_ns,
    };
    match event.get("e").and_then(Value::as_str) {
        Some("outboundAccountPosition") => {
            const WHAT: &str = "outboundAccountPosition";
            let ev = AccountPositionEvent::deserialize(event).map_err(ReportParseError::malformed(WHAT))?;
            let ms = ev.last_update_time.unwrap_or(ev.event_time).max(ev.event_time);
            ev.balances
                .iter()
                .map(|b| -> Result<BalanceUpdate, ReportParseError> {
                    let change = BalanceChange::Position { free: exact("f", &b.free)?, locked: exact("l", &b.locked)? };
                    Ok(update(asset_name(WHAT, &b.asset)?, change, ms))
                })
                .collect()
        }
        Some("balanceUpdate") => {
            const WHAT: &str = "balanceUpdate";
            let ev = BalanceUpdateEvent::deserialize(event).map_err(ReportParseError::malformed(WHAT))?;
            let change = BalanceChange::Transfer { delta: exact("d", &ev.delta)? };
            Ok(vec![update(asset_name(WHAT, &ev.asset)?, change, ev.clear_time.unwrap_or(ev.event_time))])
        }
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_order_place_of_binances_documented_example_carries_its_documented_signature() {
        // Binance's WebSocket API docs, "SIGNED request example (HMAC)".
        let signer =
            BinanceSigner::hmac_sha256(b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".to_vec());
        let params = vec![
            ("symbol", "BTCUSDT".into()),
            ("side", "SELL".into()),
            ("type", "LIMIT".into()),
            ("timeInForce", "GTC".into()),
            ("quantity", "0.01000000".into()),
            ("price", "52000.00".into()),
            ("newOrderRespType", "ACK".into()),
        ];
        let key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
        let frame = signed_request(7, "order.place", params, key, &signer, 100, 1_645_423_376_532);
        assert_eq!(
            frame,
            "{\"id\":7,\"method\":\"order.place\",\"params\":{\
             \"apiKey\":\"vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A\",\
             \"newOrderRespType\":\"ACK\",\"price\":\"52000.00\",\"quantity\":\"0.01000000\",\
             \"recvWindow\":100,\"side\":\"SELL\",\"symbol\":\"BTCUSDT\",\"timeInForce\":\"GTC\",\
             \"timestamp\":1645423376532,\"type\":\"LIMIT\",\
             \"signature\":\"cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a\"}}"
        );
        let parsed: Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(parsed["params"]["recvWindow"], 100);
    }

    #[test]
    fn an_answer_and_an_event_are_told_apart_and_a_null_id_is_not_ours() {
        let answer = parse_frame(r#"{"id":null,"status":400,"error":{"code":-1135,"msg":"Invalid JSON Request"}}"#);
        let Ok(WsFrame::Answer(answer)) = answer else { panic!("an answer: {answer:?}") };
        assert_eq!((answer.id, answer.status, answer.error.unwrap().code), (None, 400, -1135));
        let event = parse_frame(r#"{"subscriptionId":3,"event":{"e":"outboundAccountPosition"}}"#).unwrap();
        let WsFrame::Event { subscription_id, event } = event else { panic!("an event") };
        assert_eq!(subscription_id, Some(3));
        assert_eq!(execution_report(&event, |_| None, 0), Ok(None));
        assert!(parse_frame("[1,2]").is_err());
        assert!(parse_frame(r#"{"event":7}"#).is_err());
    }

    #[test]
    fn a_trade_event_becomes_a_fill_with_exact_decimals_and_a_cancel_names_the_original_order() {
        let btcusdt = BinanceInstrument::new("BTCUSDT", "0.01", "0.000001").unwrap();
        let inst = |_: &str| Some(&btcusdt);
        let trade = serde_json::json!({"e":"executionReport","E":1700000000001_i64,"s":"BTCUSDT","c":"wm1","C":"",
            "x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":42,"l":"0.100000","z":"0.100000","L":"58001.04",
            "n":"0.00010000","N":"BTC","T":1700000000000_i64,"t":9,"m":true});
        let report = execution_report(&trade, inst, 5).unwrap().unwrap();
        assert_eq!(report.client_order_id, "wm1");
        assert_eq!(report.cum_qty, Some(100_000));
        let ReportKind::Trade(fill) = report.kind else { panic!("a fill") };
        assert_eq!((fill.trade_id, fill.price, fill.qty, fill.is_maker), (9, 5_800_104, 100_000, true));
        assert_eq!(fill.fee.to_string(), "0.00010000");
        let cancel = serde_json::json!({"e":"executionReport","E":1,"s":"BTCUSDT","c":"cancel42","C":"wm1",
            "x":"CANCELED","X":"CANCELED","i":42,"l":"0","z":"0.100000","L":"0","T":1,"t":-1});
        let report = execution_report(&cancel, inst, 5).unwrap().unwrap();
        assert_eq!((report.client_order_id.as_str(), report.kind), ("wm1", ReportKind::Canceled));
        let mut bad = trade.clone();
        bad["L"] = "58001.045".into();
        assert!(matches!(execution_report(&bad, inst, 5), Err(ReportParseError::BadDecimal { field: "L", .. })));
    }

    #[test]
    fn a_position_lists_each_asset_exactly_and_a_balance_update_is_a_signed_transfer() {
        let frame = parse_frame(POSITION).unwrap();
        let WsFrame::Event { event, .. } = frame else { panic!("an event") };
        let updates = balance_updates(&event, 7).unwrap();
        let position = |free: &str, locked: &str| BalanceChange::Position {
            free: Decimal::parse(free).unwrap(),
            locked: Decimal::parse(locked).unwrap(),
        };
        let got: Vec<_> = updates.iter().map(|u| (u.asset.as_str(), u.change)).collect();
        assert_eq!(got, [("BTC", position("0.4995", "0")), ("USDT", position("70500", "585"))]);
        assert_eq!(
            (updates[0].venue, updates[0].exchange_ts_ns, updates[0].receive_ts_ns),
            (Venue::Binance, 1_700_000_000_002_000_000, 7)
        );
        let WsFrame::Event { event, .. } = parse_frame(DEPOSIT).unwrap() else { panic!("an event") };
        let update = balance_updates(&event, 7).unwrap().remove(0);
        assert_eq!((update.asset.as_str(), update.exchange_ts_ns), ("USDT", 1_700_000_000_002_000_000));
        assert_eq!(update.change, BalanceChange::Transfer { delta: Decimal::parse("-100.5").unwrap() });
        assert_eq!(execution_report(&event, |_| None, 0), Ok(None), "not an execution report");
        let report = serde_json::json!({"e":"executionReport"});
        assert_eq!(balance_updates(&report, 0), Ok(vec![]), "not a balance event");
        // One bad asset spoils the whole event, with the field named.
        let mut bad: Value = serde_json::from_str(POSITION).unwrap();
        bad["event"]["B"][1]["l"] = "1e3".into();
        assert_eq!(balance_updates(&bad["event"], 0), Err(ReportParseError::bad_decimal("l", "1e3")));
        bad["event"]["B"][1]["l"] = "0".into();
        bad["event"]["B"][0]["a"] = "".into();
        assert!(matches!(
            balance_updates(&bad["event"], 0),
            Err(ReportParseError::Malformed { what: "outboundAccountPosition", .. })
        ));
        let mut bad: Value = serde_json::from_str(DEPOSIT).unwrap();
        bad["event"]["d"] = 100.into();
        assert!(matches!(
            balance_updates(&bad["event"], 0),
            Err(ReportParseError::Malformed { what: "balanceUpdate", .. })
        ));
    }

    use std::sync::atomic::{AtomicU64, Ordering};

    use proptest::prelude::*;

    const EVENT: &str = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1700000000001,"s":"BTCUSDT","c":"wm1","S":"BUY","o":"LIMIT","f":"IOC","q":"0.123450","p":"58001.06","C":"","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":28,"l":"0.100000","z":"0.100000","L":"58001.04","n":"0.0001","N":"BTC","T":1700000000000,"t":56,"m":false}}"#;
    const ANSWER: &str = r#"{"id":3,"status":409,"error":{"code":-2021,"msg":"Order cancel-replace partially failed.","data":{"cancelResult":"SUCCESS"}},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":7}]}"#;

    const POSITION: &str = r#"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1700000000002,"u":1700000000001,"B":[{"a":"BTC","f":"0.49950000","l":"0.00000000"},{"a":"USDT","f":"70500.00000000","l":"585.00000000"}]}}"#;
    const DEPOSIT: &str = r#"{"subscriptionId":0,"event":{"e":"balanceUpdate","E":1700000000003,"a":"USDT","d":"-100.50000000","T":1700000000002}}"#;

    static INPUTS: AtomicU64 = AtomicU64::new(0);
    static ERRORS: AtomicU64 = AtomicU64::new(0);

    /// Reads a frame as the client does; counts it, and its error if any.
    fn read(text: &str) {
        INPUTS.fetch_add(1, Ordering::Relaxed);
        let btcusdt = BinanceInstrument::new("BTCUSDT", "0.01", "0.000001").unwrap();
        let failed = match parse_frame(text) {
            Ok(WsFrame::Event { event, .. }) => {
                execution_report(&event, |_| Some(&btcusdt), 0).is_err() || balance_updates(&event, 0).is_err()
            }
            Ok(WsFrame::Answer(answer)) => answer.rate_limits.iter().any(|l| l.interval_ms() <= 0),
            Err(_) => true,
        };
        if failed {
            ERRORS.fetch_add(1, Ordering::Relaxed);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Random text never panics the client's frame reader.
        #[test]
        fn random_text_never_panics_the_frame_reader(text in ".{0,300}") {
            read(&text);
        }

        /// A real event or answer changed at one byte, cut short or with a field's value
        /// swapped never panics; each ends in a report, an answer or a counted error.
        #[test]
        fn mutated_frames_never_panic_the_frame_reader(
            pos in 0usize..EVENT.len(),
            byte in any::<u8>(),
            cut in 0usize..ANSWER.len(),
            value in prop_oneof![Just("null"), Just("-1"), Just("\"1e5\""), Just("99999999999999999999"), Just("\"-0.5\""), Just("[]"), Just("{}")],
            field in prop_oneof![Just("\"t\":"), Just("\"L\":"), Just("\"z\":"), Just("\"x\":"), Just("\"event\":"), Just("\"i\":"), Just("\"n\":")],
        ) {
            let mut bytes = EVENT.as_bytes().to_vec();
            bytes[pos] = byte;
            read(&String::from_utf8_lossy(&bytes));
            read(&ANSWER[..cut]);
            read(&EVENT[..pos]);
            if let Some(at) = EVENT.find(field) {
                let start = at + field.len();
                let end = start + EVENT[start..].find([',', '}']).unwrap_or(0);
                read(&format!("{}{}{}", &EVENT[..start], value, &EVENT[end..]));
            }
        }

        /// The balance events changed at one byte, cut short or with a field's value swapped
        /// never panic either.
        #[test]
        fn mutated_balance_events_never_panic_the_frame_reader(
            pos in 0usize..POSITION.len(),
            byte in any::<u8>(),
            cut in 0usize..DEPOSIT.len(),
            value in prop_oneof![Just("null"), Just("-1"), Just("\"1e5\""), Just("\"\""), Just("99999999999999999999"), Just("\"0.123456789012345678901\""), Just("[]"), Just("{}"), Just("[{}]")],
            field in prop_oneof![Just("\"a\":"), Just("\"f\":"), Just("\"l\":"), Just("\"B\":"), Just("\"d\":"), Just("\"E\":"), Just("\"u\":"), Just("\"T\":")],
        ) {
            let mut bytes = POSITION.as_bytes().to_vec();
            bytes[pos] = byte;
            read(&String::from_utf8_lossy(&bytes));
            read(&POSITION[..pos]);
            read(&DEPOSIT[..cut]);
            for text in [POSITION, DEPOSIT] {
                if let Some(at) = text.find(field) {
                    let start = at + field.len();
                    let end = start + text[start..].find([',', '}']).unwrap_or(0);
                    read(&format!("{}{}{}", &text[..start], value, &text[end..]));
                }
            }
        }
    }

    #[test]
    fn the_fuzzed_frame_reader_counted_its_inputs_and_errors() {
        let before = ERRORS.load(Ordering::Relaxed);
        read("not json");
        read(EVENT);
        read(ANSWER);
        read(POSITION);
        read(DEPOSIT);
        let after_good = ERRORS.load(Ordering::Relaxed);
        read(&POSITION.replace("\"0.49950000\"", "\"0.4995x\""));
        assert!(ERRORS.load(Ordering::Relaxed) > after_good, "a bad balance event was counted");
        assert!(ERRORS.load(Ordering::Relaxed) > before, "the unreadable frame was counted");
        assert!(INPUTS.load(Ordering::Relaxed) >= 3);
    }
}

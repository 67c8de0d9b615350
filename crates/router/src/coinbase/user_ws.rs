//! Coinbase Advanced Trade's `user` WebSocket channel: order updates of the authenticated user
//! into normalized execution reports and the per-order state machine.
//!
//! ```text
//! let mut ws = CoinbaseUserWs::new(addr, signer, products);
//! ws.track(OrderState::new("wm1", Side::Buy, lots));  // before placing it over REST
//! ws.connect().await?;                                 // subscribe with a fresh JWT; snapshot
//! let reports = ws.next_reports().await?;              // one frame's reports, applied
//! ```
//!
//! **Subscribe.** `{"type":"subscribe","channel":"user","jwt":..}` with a JWT signed like a REST
//! request's (ES256, two minutes) but without the `uri` claim
//! ([`CoinbaseJwtSigner::websocket_token`]). The token is checked when the subscription is made;
//! the client subscribes again with a fresh one every [`RESUBSCRIBE_AFTER_S`] seconds and after
//! every reconnect. A refusal (`{"type":"error","message":..}`) is [`UserWsError::Refused`].
//!
//! **Fills.** The channel carries each order's running totals (`cumulative_quantity`,
//! `avg_price`, `total_fees`), not its trades. [`UserChannel`] keeps the last totals of every
//! order and turns an increase into one fill: quantity = the increase of `cumulative_quantity`,
//! price = the increase of `cumulative_quantity x avg_price` over it, rounded to the nearest tick
//! (exact when the trades are on the tick grid and `avg_price` carries enough digits), fee = the
//! increase of `total_fees`, exact. The fill's trade id is the order id and the cumulative
//! quantity it reached, so a snapshot after a reconnect that repeats what was seen adds nothing,
//! and an update older than what was seen (lower `cumulative_quantity`) is ignored. Updates of
//! orders the table does not track are counted ([`OrderTable::unknown_reports`]) and skipped.

use std::collections::HashMap;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use wintermute_core::decimal::Decimal;

use super::reports::{CoinbaseProduct, TradeIds};
use crate::order::{local_ms, local_ns, ReportParseError};
use crate::order_state::{ExecutionReport, FillReport, OrderState, OrderTable, ReportKind, Venue};
use crate::signing::CoinbaseJwtSigner;
use crate::time::parse_rfc3339_ns;
use crate::ws::{Ws, WsTarget};

/// Coinbase Advanced Trade's user order data endpoint (the `user` channel).
pub const COINBASE_USER_WS_LIVE: &str = "wss://advanced-trade-ws-user.coinbase.com";

/// How often the client subscribes again with a fresh JWT (the token lives 120 s).
pub const RESUBSCRIBE_AFTER_S: i64 = 90;

/// One order entry of a `user` event.
#[derive(Debug, Clone, Deserialize)]
pub struct UserOrder {
    /// Coinbase's order id.
    pub order_id: String,
    /// Our client order id.
    pub client_order_id: String,
    /// `PENDING`, `OPEN`, `FILLED`, `CANCELLED`, `EXPIRED`, `FAILED`.
    pub status: String,
    /// The product.
    pub product_id: String,
    /// Base quantity filled so far (decimal text).
    pub cumulative_quantity: String,
    /// Average fill price so far (decimal text; `"0"` before any fill).
    pub avg_price: String,
    /// Fees charged so far (decimal text, quote currency).
    pub total_fees: String,
    /// Base quantity still open.
    #[serde(default)]
    pub leaves_quantity: String,
    /// Why the order failed, when it did.
    #[serde(default)]
    pub reject_reason: String,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    orders: Vec<UserOrder>,
}

#[derive(Deserialize)]
struct RawFrame {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    sequence_num: u64,
    #[serde(default)]
    events: Vec<RawEvent>,
}

/// One frame of the channel.
#[derive(Debug, Clone)]
pub enum UserFrame {
    /// Order snapshots (`snapshot`: the open orders when the subscription starts) or updates.
    Orders {
        /// Whether this is the subscription's snapshot.
        snapshot: bool,
        /// The frame's `sequence_num`.
        sequence: u64,
        /// The frame's time, ns (0 if it has none).
        exchange_ts_ns: i64,
        /// The orders, in the order sent.
        orders: Vec<UserOrder>,
    },
    /// The subscriptions acknowledgment, a heartbeat, or another channel's message.
    Other,
    /// The venue refused something (`{"type":"error","message":..}`).
    Error(String),
}

/// Parses one frame of the `user` channel.
pub fn parse_user_frame(text: &str) -> Result<UserFrame, ReportParseError> {
    let raw: RawFrame = serde_json::from_str(text).map_err(ReportParseError::malformed("coinbase user frame"))?;
    if raw.kind.as_deref() == Some("error") {
        return Ok(UserFrame::Error(raw.message.unwrap_or_default().chars().take(256).collect()));
    }
    if raw.channel.as_deref() != Some("user") {
        return Ok(UserFrame::Other);
    }
    let exchange_ts_ns = raw.timestamp.as_deref().and_then(parse_rfc3339_ns).unwrap_or(0);
    let snapshot = raw.events.iter().any(|e| e.kind == "snapshot");
    let orders = raw.events.into_iter().flat_map(|e| e.orders).collect();
    Ok(UserFrame::Orders { snapshot, sequence: raw.sequence_num, exchange_ts_ns, orders })
}

/// The last totals seen of one order.
#[derive(Debug, Clone, Copy)]
struct Totals {
    cum_lots: i64,
    /// `cumulative_quantity x avg_price`: (mantissa, scale).
    notional: (i128, u32),
    fees: (i128, u32),
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// `a - b` of two (mantissa, scale) decimals, at the larger scale.
fn sub(a: (i128, u32), b: (i128, u32)) -> Option<(i128, u32)> {
    let scale = a.1.max(b.1);
    let a_m = a.0.checked_mul(pow10(scale - a.1)?)?;
    let b_m = b.0.checked_mul(pow10(scale - b.1)?)?;
    Some((a_m.checked_sub(b_m)?, scale))
}

fn parts(d: &Decimal) -> (i128, u32) {
    (d.mantissa(), d.scale())
}

/// The `user` channel's messages -> normalized reports (no connection: the parser and the
/// running totals of every order).
#[derive(Debug, Default)]
pub struct UserChannel {
    products: HashMap<String, CoinbaseProduct>,
    seen: HashMap<String, Totals>,
    trade_ids: TradeIds,
}

impl UserChannel {
    /// For these products.
    pub fn new(products: Vec<CoinbaseProduct>) -> Self {
        let products = products.into_iter().map(|p| (p.instrument.symbol.clone(), p)).collect();
        Self { products, ..Self::default() }
    }

    /// The reports one order entry implies: a fill if its totals grew, then its status.
    pub fn reports(
        &mut self,
        order: &UserOrder,
        exchange_ts_ns: i64,
        receive_ts_ns: i64,
    ) -> Result<Vec<ExecutionReport>, ReportParseError> {
        let product = self.products.get(&order.product_id).ok_or_else(|| ReportParseError::Malformed {
            what: "coinbase user order",
            error: format!("unknown product {:?}", order.product_id.chars().take(32).collect::<String>()),
        })?;
        let inst = &product.instrument;
        let decimal = |field, text: &str| Decimal::parse(text).map_err(|_| ReportParseError::bad_decimal(field, text));
        let cum_lots = inst.lots("cumulative_quantity", &order.cumulative_quantity)?;
        let cum = decimal("cumulative_quantity", &order.cumulative_quantity)?;
        let avg = decimal("avg_price", &order.avg_price)?;
        let fees = parts(&decimal("total_fees", &order.total_fees)?);
        let overflow = || ReportParseError::bad_decimal("avg_price", &order.avg_price);
        let notional = (cum.mantissa().checked_mul(avg.mantissa()).ok_or_else(overflow)?, cum.scale() + avg.scale());
        let status = match order.status.as_str() {
            "PENDING" | "OPEN" | "QUEUED" | "FILLED" => ReportKind::New,
            "CANCELLED" | "CANCEL_QUEUED" => ReportKind::Canceled,
            "EXPIRED" => ReportKind::Expired,
            "FAILED" => {
                let reason = if order.reject_reason.is_empty() { "FAILED" } else { &order.reject_reason };
                ReportKind::Rejected { code: None, reason: reason.chars().take(128).collect() }
            }
            other => return Err(ReportParseError::UnknownStatus(other.chars().take(32).collect())),
        };
        let before =
            self.seen.get(&order.order_id).copied().unwrap_or(Totals { cum_lots: 0, notional: (0, 0), fees: (0, 0) });
        if cum_lots < before.cum_lots || cum_lots < 0 {
            return Ok(Vec::new()); // older than what was seen
        }
        let report = |kind| ExecutionReport {
            venue: Venue::Coinbase,
            symbol: order.product_id.clone(),
            client_order_id: order.client_order_id.clone(),
            venue_order_id: Some(order.order_id.clone()),
            kind,
            cum_qty: Some(cum_lots),
            exchange_ts_ns,
            receive_ts_ns,
        };
        let mut out = Vec::new();
        if cum_lots > before.cum_lots {
            let lots = cum_lots - before.cum_lots;
            let value = sub(notional, before.notional).ok_or_else(overflow)?;
            let price = ticks_of(value, lots, inst).ok_or_else(overflow)?;
            let fee =
                sub(fees, before.fees).ok_or_else(|| ReportParseError::bad_decimal("total_fees", &order.total_fees))?;
            let trade_id = self.trade_ids.number(&format!("{}/{cum_lots}", order.order_id));
            out.push(report(ReportKind::Trade(FillReport {
                trade_id,
                price,
                qty: lots,
                fee: Decimal::new(fee.0, fee.1),
                fee_currency: product.quote_currency.clone(),
                is_maker: false,
            })));
        }
        if out.is_empty() || status != ReportKind::New {
            out.push(report(status));
        }
        self.seen.insert(order.order_id.clone(), Totals { cum_lots, notional, fees });
        Ok(out)
    }
}

/// `value / (lots x step x tick)` rounded to the nearest integer: the price in ticks of a fill of
/// `lots` worth `value` (mantissa, scale).
fn ticks_of(value: (i128, u32), lots: i64, inst: &crate::order::Instrument) -> Option<i64> {
    let step = inst.step_size.value(1);
    let tick = inst.tick_size.value(1);
    let unit_scale = step.scale() + tick.scale();
    let mut den = i128::from(lots).checked_mul(step.mantissa())?.checked_mul(tick.mantissa())?;
    let mut num = value.0;
    if unit_scale >= value.1 {
        num = num.checked_mul(pow10(unit_scale - value.1)?)?;
    } else {
        den = den.checked_mul(pow10(value.1 - unit_scale)?)?;
    }
    if den <= 0 || num <= 0 {
        return None;
    }
    i64::try_from((num.checked_mul(2)? + den) / (den * 2)).ok()
}

/// What went wrong on the channel.
#[derive(Debug, thiserror::Error)]
pub enum UserWsError {
    /// Connecting or writing failed, or the connection closed.
    #[error("coinbase user channel transport: {0}")]
    Transport(String),
    /// The venue refused the subscription (a bad or expired JWT) or a request.
    #[error("coinbase user channel refused: {0}")]
    Refused(String),
    /// A frame that is not the channel's JSON (counted; the connection stays up).
    #[error(transparent)]
    Parse(#[from] ReportParseError),
}

/// The `user` channel client: one connection, its signer, the order table it feeds.
pub struct CoinbaseUserWs {
    target: WsTarget,
    signer: CoinbaseJwtSigner,
    channel: UserChannel,
    orders: OrderTable,
    ws: Option<Ws>,
    subscribed_at_s: i64,
    resubscribe_after_s: i64,
    subscriptions: u64,
    malformed: u64,
}

impl std::fmt::Debug for CoinbaseUserWs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CoinbaseUserWs {{ url: {:?}, signer: {:?} }}", self.target.url(), self.signer)
    }
}

impl CoinbaseUserWs {
    /// A client for the channel at `addr` (plain `ws://`, the local simulator), not connected.
    pub fn new(addr: std::net::SocketAddr, signer: CoinbaseJwtSigner, products: Vec<CoinbaseProduct>) -> Self {
        let target = WsTarget::open(&format!("ws://{addr}/"), None).expect("a socket address makes a ws:// url");
        Self::with_target(target, signer, products)
    }

    /// A client for the channel at `url`: `wss://` ([`COINBASE_USER_WS_LIVE`], certificates
    /// checked against Mozilla's roots plus the PEM file `extra_roots` if given) or `ws://`;
    /// not connected. A URL that is not a WebSocket URL, or a roots file that cannot be read, is
    /// an error.
    pub fn open(
        url: &str,
        extra_roots: Option<&std::path::Path>,
        signer: CoinbaseJwtSigner,
        products: Vec<CoinbaseProduct>,
    ) -> Result<Self, crate::http::EndpointError> {
        Ok(Self::with_target(WsTarget::open(url, extra_roots)?, signer, products))
    }

    fn with_target(target: WsTarget, signer: CoinbaseJwtSigner, products: Vec<CoinbaseProduct>) -> Self {
        Self {
            target,
            signer,
            channel: UserChannel::new(products),
            orders: OrderTable::new(),
            ws: None,
            subscribed_at_s: 0,
            resubscribe_after_s: RESUBSCRIBE_AFTER_S,
            subscriptions: 0,
            malformed: 0,
        }
    }

    /// Starts tracking an order (before it is placed).
    pub fn track(&mut self, order: OrderState) {
        self.orders.insert(order);
    }

    /// The orders and what the channel said about them.
    pub fn orders(&self) -> &OrderTable {
        &self.orders
    }

    /// Subscribes again with a fresh JWT every `seconds` (default [`RESUBSCRIBE_AFTER_S`]; at
    /// least 1).
    pub fn set_resubscribe_after_s(&mut self, seconds: i64) {
        self.resubscribe_after_s = seconds.max(1);
    }

    /// Subscriptions sent on this client's connections (the first one and each renewal).
    pub fn subscriptions_sent(&self) -> u64 {
        self.subscriptions
    }

    /// Frames that could not be parsed.
    pub fn malformed_frames(&self) -> u64 {
        self.malformed
    }

    /// Connects (again), subscribes with a fresh JWT and waits for the venue's acknowledgment
    /// (frames before it are applied); the snapshot follows on the channel. A refused token is
    /// [`UserWsError::Refused`].
    pub async fn connect(&mut self) -> Result<(), UserWsError> {
        self.ws = None;
        let ws = self.target.connect(WebSocketConfig::default()).await.map_err(UserWsError::Transport)?;
        self.ws = Some(ws);
        self.subscribe().await?;
        loop {
            let text = self.read_frame().await?;
            if text.contains("\"subscriptions\"") && matches!(parse_user_frame(&text), Ok(UserFrame::Other)) {
                return Ok(());
            }
            match self.apply_frame(&text, local_ns()) {
                Err(UserWsError::Refused(message)) => {
                    self.ws = None;
                    return Err(UserWsError::Refused(message));
                }
                _ => continue,
            }
        }
    }

    async fn subscribe(&mut self) -> Result<(), UserWsError> {
        let now_s = local_ms().div_euclid(1000);
        let message = serde_json::json!({
            "type": "subscribe", "channel": "user", "jwt": self.signer.websocket_token(now_s),
        });
        let ws = self.ws.as_mut().ok_or_else(|| UserWsError::Transport("not connected".into()))?;
        ws.send(Message::text(message.to_string())).await.map_err(|e| UserWsError::Transport(e.to_string()))?;
        self.subscribed_at_s = now_s;
        self.subscriptions += 1;
        Ok(())
    }

    /// Reads one frame and applies its reports to the table (subscribing again first if the
    /// token is due): the reports, in order. Reports of untracked orders are counted by the
    /// table and left out.
    pub async fn next_reports(&mut self) -> Result<Vec<ExecutionReport>, UserWsError> {
        if local_ms().div_euclid(1000) - self.subscribed_at_s >= self.resubscribe_after_s {
            self.subscribe().await?;
        }
        let text = self.read_frame().await?;
        self.apply_frame(&text, local_ns())
    }

    /// As [`Self::next_reports`], but waits at most `wait` for a frame: `Ok(None)` when none
    /// came (the connection stays up). Reading is cancel-safe, so nothing is lost by the wait
    /// running out.
    pub async fn poll_reports(
        &mut self,
        wait: std::time::Duration,
    ) -> Result<Option<Vec<ExecutionReport>>, UserWsError> {
        match tokio::time::timeout(wait, self.next_reports()).await {
            Ok(reports) => reports.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Closes the connection (the next [`Self::connect`] opens a new one).
    pub fn disconnect(&mut self) {
        self.ws = None;
    }

    /// Whether a connection is open (it closes on a transport error or a refusal).
    pub fn is_connected(&self) -> bool {
        self.ws.is_some()
    }

    async fn read_frame(&mut self) -> Result<String, UserWsError> {
        let ws = self.ws.as_mut().ok_or_else(|| UserWsError::Transport("not connected".into()))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
                Some(Ok(Message::Binary(b))) => return Ok(String::from_utf8_lossy(&b).into_owned()),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(_))) | None => {
                    self.ws = None;
                    return Err(UserWsError::Transport("connection closed".into()));
                }
                Some(Err(e)) => {
                    self.ws = None;
                    return Err(UserWsError::Transport(e.to_string()));
                }
            }
        }
    }

    /// Applies one frame's text (what [`Self::next_reports`] does with each frame it reads).
    pub fn apply_frame(&mut self, text: &str, receive_ts_ns: i64) -> Result<Vec<ExecutionReport>, UserWsError> {
        let frame = parse_user_frame(text).inspect_err(|_| self.malformed += 1)?;
        let (orders, ts) = match frame {
            UserFrame::Orders { orders, exchange_ts_ns, .. } => (orders, exchange_ts_ns),
            UserFrame::Other => return Ok(Vec::new()),
            UserFrame::Error(message) => return Err(UserWsError::Refused(message)),
        };
        let mut out = Vec::new();
        for order in &orders {
            let reports = self.channel.reports(order, ts, receive_ts_ns).inspect_err(|_| self.malformed += 1)?;
            for report in reports {
                if self.orders.apply(&report).is_ok() {
                    out.push(report);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> CoinbaseProduct {
        CoinbaseProduct::new("BAND-GBP", "0.0001", "0.01", "GBP").unwrap()
    }

    fn frame(kind: &str, cum: &str, avg: &str, fees: &str, status: &str) -> String {
        serde_json::json!({"channel": "user", "timestamp": "2026-01-02T03:04:05.000Z", "sequence_num": 1,
            "events": [{"type": kind, "orders": [{"order_id": "o1", "client_order_id": "c1", "status": status,
            "product_id": "BAND-GBP", "cumulative_quantity": cum, "avg_price": avg, "total_fees": fees,
            "leaves_quantity": "0"}]}]})
        .to_string()
    }

    #[test]
    fn fills_come_from_the_totals_growth_once() {
        let mut channel = UserChannel::new(vec![product()]);
        let parse = |text: &str| match parse_user_frame(text).unwrap() {
            UserFrame::Orders { orders, .. } => orders,
            other => panic!("{other:?}"),
        };
        let first = &parse(&frame("update", "1.50", "5.1000", "0.0459", "OPEN"))[0];
        let r = channel.reports(first, 1, 2).unwrap();
        let ReportKind::Trade(fill) = &r[0].kind else { panic!("{r:?}") };
        assert_eq!((fill.qty, fill.price, fill.fee.to_string()), (150, 51_000, "0.0459".to_owned()));
        // Then 0.50 more at 5.2000: avg = (1.5 x 5.1 + 0.5 x 5.2) / 2 = 5.125.
        let second = &parse(&frame("update", "2.00", "5.125", "0.0615", "FILLED"))[0];
        let r = channel.reports(second, 1, 2).unwrap();
        let ReportKind::Trade(fill) = &r[0].kind else { panic!("{r:?}") };
        assert_eq!((fill.qty, fill.price, fill.fee.to_string()), (50, 52_000, "0.0156".to_owned()));
        // Repeated (a snapshot after a reconnect) or older: nothing new.
        assert!(channel.reports(second, 1, 2).unwrap().iter().all(|r| !matches!(r.kind, ReportKind::Trade(_))));
        assert!(channel.reports(first, 1, 2).unwrap().is_empty());
    }

    #[test]
    fn errors_and_other_channels() {
        assert!(matches!(
            parse_user_frame(r#"{"type":"error","message":"authentication failure"}"#),
            Ok(UserFrame::Error(m)) if m == "authentication failure"
        ));
        assert!(matches!(parse_user_frame(r#"{"channel":"heartbeats","events":[]}"#), Ok(UserFrame::Other)));
        assert!(parse_user_frame("{").is_err());
        let mut channel = UserChannel::new(vec![product()]);
        let bad = frame("update", "1.505", "5", "0", "OPEN");
        let UserFrame::Orders { orders, .. } = parse_user_frame(&bad).unwrap() else { panic!() };
        assert!(channel.reports(&orders[0], 0, 0).is_err());
    }
}

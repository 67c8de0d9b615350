//! A Binance spot REST order client: place, cancel, cancel-replace, query, reconcile.
//!
//! ```text
//! let mut client = BinanceRestClient::new(addr, "api-key", signer, instruments);
//! client.sync_time().await?;                       // server-time offset for `timestamp`
//! let reports = client.place(&order).await?;       // New + Trade reports (or Rejected)
//! client.cancel("BTCUSDT", "q-1").await?;          // Canceled, or CancelRejected (-2011)
//! let summary = client.reconcile("BTCUSDT").await?; // after a disconnect
//! ```
//!
//! Every report is applied to the client's [`OrderTable`] before it is returned, so the table
//! is always the merged truth: a fill seen in a place response and again in `myTrades` counts
//! once.
//!
//! **Signing and time.** Parameters go in the query string, signed as sent (HMAC-SHA256 or
//! Ed25519, [`BinanceSigner`]), with `timestamp` = local clock + the offset measured by
//! [`BinanceRestClient::sync_time`] (half the round trip is assumed on each side) and
//! `recvWindow` = 5000 ms.
//!
//! **Rate limits.** The client reads `X-MBX-USED-WEIGHT-1M` from every response and refuses
//! locally, with [`BinanceClientError::RateLimited`], a request whose weight would pass the
//! limit within the current minute. A 429 or 418 answer's `Retry-After` is honoured: until it
//! passes, every request is refused locally.
//!
//! **Unknown outcomes.** If the connection drops before the answer, the order's outcome is
//! unknown: `place` returns [`BinanceClientError::Transport`] and the order stays pending-new.
//! [`BinanceRestClient::reconcile`] settles it: first a query of each order whose answer was
//! lost (to learn its venue id, by which trades name it), then the account's trades since the last one
//! reconciled (`myTrades` from that id, so nothing is missed even when later trades were seen
//! in place responses), the open orders, then a query of every order the table holds as live
//! that the venue no longer lists (`-2013`, "Order does not exist.", means it never arrived:
//! rejected).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;

pub use super::outcomes::{canceled_reports, CancelReplaceMode};
use super::outcomes::{merge_open, merge_trades};
use super::reports::{
    order_reports, parse_error, parse_order, parse_orders, parse_trades, BinanceAmend, BinanceErrorBody,
    BinanceInstrument, ReportParseError,
};
use crate::http::HttpConnection;
use crate::order::{local_ms, local_ns};
use crate::order_state::{ExecutionReport, OrderState, OrderStateError, OrderTable, ReportKind, Side, Venue};
use crate::signing::BinanceSigner;
use wintermute_core::decimal::Decimal;

/// How an order trades (`LIMIT` with `timeInForce`, `MARKET`, `LIMIT_MAKER`).
pub use crate::order::OrderType as BinanceOrderType;
pub use crate::order::{NewOrder, ReconcileSummary, TimeInForce};

impl NewOrder {
    /// The unsigned query string of `POST /api/v3/order` for this order (prices and quantities
    /// written exactly at the instrument's precision).
    pub fn query(&self, instrument: &BinanceInstrument) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("symbol", &self.symbol);
        q.append_pair("side", if self.side == Side::Buy { "BUY" } else { "SELL" });
        match self.order_type {
            BinanceOrderType::Limit { price, tif } => {
                q.append_pair("type", "LIMIT");
                q.append_pair(
                    "timeInForce",
                    match tif {
                        TimeInForce::Gtc => "GTC",
                        TimeInForce::Ioc => "IOC",
                        TimeInForce::Fok => "FOK",
                    },
                );
                q.append_pair("price", &instrument.tick_size.format(price));
            }
            BinanceOrderType::Market => {
                q.append_pair("type", "MARKET");
            }
            BinanceOrderType::PostOnly { price } => {
                q.append_pair("type", "LIMIT_MAKER");
                q.append_pair("price", &instrument.tick_size.format(price));
            }
        }
        q.append_pair("quantity", &instrument.step_size.format(self.qty));
        q.append_pair("newClientOrderId", &self.client_order_id);
        q.append_pair("newOrderRespType", "FULL");
        q.finish()
    }
}

/// Appends `recvWindow`, `timestamp` and the `signature` of everything before it, as Binance
/// wants a signed query string.
pub fn sign_query(query: &mut String, signer: &BinanceSigner, recv_window_ms: u64, timestamp_ms: i64) {
    if !query.is_empty() {
        query.push('&');
    }
    query.push_str(&format!("recvWindow={recv_window_ms}&timestamp={timestamp_ms}"));
    let signature = signer.sign(query);
    query.push_str("&signature=");
    query.extend(form_urlencoded::byte_serialize(signature.as_bytes()));
}

/// Why a request did not produce reports.
#[derive(Debug, thiserror::Error)]
pub enum BinanceClientError {
    /// The connection failed or dropped before an answer: the outcome is unknown.
    #[error("transport error: endpoint={endpoint} error={error}")]
    Transport {
        /// `"POST /api/v3/order"`.
        endpoint: &'static str,
        /// What failed.
        error: String,
    },
    /// Refused locally or by the venue (429/418) for rate limits; retry after this long.
    #[error("rate limited: endpoint={endpoint} retry_after_ms={retry_after_ms} local={local}")]
    RateLimited {
        /// Which endpoint.
        endpoint: &'static str,
        /// How long to wait.
        retry_after_ms: u64,
        /// Whether the client refused before sending.
        local: bool,
    },
    /// The venue refused a request that is not an order (a query or a cancel of another kind).
    #[error("venue error: endpoint={endpoint} status={status} code={code} msg={msg}")]
    Venue {
        /// Which endpoint.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// Binance's code.
        code: i64,
        /// Binance's message.
        msg: String,
    },
    /// An answer that could not be read.
    #[error("bad answer: endpoint={endpoint} error={error}")]
    Parse {
        /// Which endpoint.
        endpoint: &'static str,
        /// What was wrong.
        error: ReportParseError,
    },
    /// A symbol the client has no instrument for.
    #[error("unknown instrument: symbol={0}")]
    UnknownInstrument(String),
    /// A report the order table refused.
    #[error(transparent)]
    State(#[from] OrderStateError),
}

impl BinanceClientError {
    /// What reconciliation makes of the error (the REST and the WebSocket client alike): the
    /// outcome unknown after a transport failure, a refusal to wait out, or anything else.
    pub fn kind(&self) -> crate::venue::ErrorKind {
        use crate::venue::ErrorKind;
        match self {
            BinanceClientError::Transport { .. } => ErrorKind::Transport,
            BinanceClientError::RateLimited { .. } => ErrorKind::RateLimited,
            _ => ErrorKind::Other,
        }
    }
}

struct Answer {
    status: u16,
    body: Bytes,
}

/// The query naming one order by our client id (a cancel, a query).
fn order_query(symbol: &str, client_order_id: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("symbol", symbol)
        .append_pair("origClientOrderId", client_order_id)
        .finish()
}

/// The reports of an answer about one order (a place, cancel or query): the order's own on
/// 200 (its status, then its fills), else the report of what `refused` makes of Binance's error
/// body and the HTTP status (or its error).
fn order_answer(
    endpoint: &'static str,
    answer: Answer,
    inst: &BinanceInstrument,
    symbol: &str,
    client_order_id: &str,
    refused: impl FnOnce(BinanceErrorBody, u16) -> Result<ReportKind, BinanceClientError>,
) -> Result<Vec<ExecutionReport>, BinanceClientError> {
    let receive = local_ns();
    if answer.status == 200 {
        return parse_order(&answer.body)
            .and_then(|o| order_reports(&o, inst, receive))
            .map_err(|error| BinanceClientError::Parse { endpoint, error });
    }
    let body = parse_error(&answer.body).map_err(|error| BinanceClientError::Parse { endpoint, error })?;
    let kind = refused(body, answer.status)?;
    Ok(vec![ExecutionReport::answered(Venue::Binance, symbol, client_order_id, None, kind, receive)])
}

/// The client (one connection, re-opened after a failure).
///
/// Trades seen in place responses do not move the reconciliation watermark (the last trade id
/// fetched from `myTrades`): a trade with a lower id may still be unseen, e.g. a resting order
/// filled while the connection was down.
pub struct BinanceRestClient {
    connection: HttpConnection,
    api_key: String,
    signer: BinanceSigner,
    instruments: HashMap<String, BinanceInstrument>,
    recv_window_ms: u64,
    time_offset_ms: i64,
    weight_limit_1m: u32,
    used_weight: (i64, u32),
    blocked_until: Option<Instant>,
    orders: OrderTable,
    order_symbols: HashMap<String, String>,
    trade_watermark: HashMap<String, u64>,
    sync_before_first_order: bool,
    time_synced: bool,
}

impl std::fmt::Debug for BinanceRestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinanceRestClient")
            .field("addr", &self.connection.addr())
            .field("signer", &self.signer)
            .field("time_offset_ms", &self.time_offset_ms)
            .field("used_weight", &self.used_weight)
            .finish_non_exhaustive()
    }
}

impl BinanceRestClient {
    /// A client for the venue at `addr` (a simulator's `SocketAddr`, plain HTTP, or an
    /// [`HttpConnection::open`] to any URL, `https://` for Binance itself) with this key and
    /// these instruments.
    pub fn new(
        addr: impl Into<HttpConnection>,
        api_key: &str,
        signer: BinanceSigner,
        instruments: Vec<BinanceInstrument>,
    ) -> Self {
        Self {
            connection: addr.into(),
            api_key: api_key.to_owned(),
            signer,
            instruments: instruments.into_iter().map(|i| (i.symbol.clone(), i)).collect(),
            recv_window_ms: 5000,
            time_offset_ms: 0,
            weight_limit_1m: 6000,
            used_weight: (0, 0),
            blocked_until: None,
            orders: OrderTable::new(),
            order_symbols: HashMap::new(),
            trade_watermark: HashMap::new(),
            sync_before_first_order: false,
            time_synced: false,
        }
    }

    /// Measures the server-time offset ([`Self::sync_time`]) before the first order unless it
    /// was measured already (what a live route does: `recvWindow` covers a synced clock, not a
    /// skewed one). If the measurement fails, the order goes out on the local clock and the
    /// next order tries again.
    pub fn set_sync_before_first_order(&mut self, on: bool) {
        self.sync_before_first_order = on;
    }

    /// Sets the request-weight budget per minute (Binance's default 6000).
    pub fn set_weight_limit_1m(&mut self, limit: u32) {
        self.weight_limit_1m = limit;
    }

    /// The orders and what is known of them.
    pub fn orders(&self) -> &OrderTable {
        &self.orders
    }

    /// Server time minus local time, ms (from [`Self::sync_time`]).
    pub fn time_offset_ms(&self) -> i64 {
        self.time_offset_ms
    }

    /// The weight used in the current minute, per the venue's last header.
    pub fn used_weight_1m(&self) -> u32 {
        self.used_weight.1
    }

    /// Measures the server-time offset (`GET /api/v3/time`).
    pub async fn sync_time(&mut self) -> Result<i64, BinanceClientError> {
        const EP: &str = "GET /api/v3/time";
        let t0 = local_ms();
        let answer = self.send(EP, Method::GET, "/api/v3/time", String::new(), 1, false).await?;
        let t1 = local_ms();
        let server: serde_json::Value =
            serde_json::from_slice(&answer.body).map_err(|e| BinanceClientError::Parse {
                endpoint: EP,
                error: ReportParseError::Malformed { what: "time", error: e.to_string() },
            })?;
        let server_ms = server["serverTime"].as_i64().ok_or(BinanceClientError::Parse {
            endpoint: EP,
            error: ReportParseError::Malformed { what: "time", error: "no serverTime".into() },
        })?;
        self.time_offset_ms = server_ms - (t0 + (t1 - t0) / 2);
        self.time_synced = true;
        Ok(self.time_offset_ms)
    }

    /// `GET /api/v3/exchangeInfo?symbol=` (weight 20): the symbol's grid as Binance publishes
    /// it, its PRICE_FILTER `tickSize` and LOT_SIZE `stepSize` (decimal text, exact). The
    /// client's own grid is left as it is.
    pub async fn exchange_grid(&mut self, symbol: &str) -> Result<(Decimal, Decimal), BinanceClientError> {
        const EP: &str = "GET /api/v3/exchangeInfo";
        let query = form_urlencoded::Serializer::new(String::new()).append_pair("symbol", symbol).finish();
        let answer = self.send(EP, Method::GET, "/api/v3/exchangeInfo", query, 20, false).await?;
        let body = self.expect_ok(EP, answer)?;
        let malformed = |error: String| BinanceClientError::Parse {
            endpoint: EP,
            error: ReportParseError::Malformed { what: "exchangeInfo", error },
        };
        let info: serde_json::Value = serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
        let entry = info["symbols"]
            .as_array()
            .and_then(|all| all.iter().find(|s| s["symbol"] == symbol))
            .ok_or_else(|| malformed(format!("no symbol {symbol} in symbols")))?;
        let filter = |kind: &str, field: &'static str| -> Result<Decimal, BinanceClientError> {
            let text = entry["filters"]
                .as_array()
                .and_then(|fs| fs.iter().find(|f| f["filterType"] == kind))
                .and_then(|f| f[field].as_str())
                .ok_or_else(|| malformed(format!("no {kind} {field}")))?;
            Decimal::parse(text).map_err(|_| BinanceClientError::Parse {
                endpoint: EP,
                error: ReportParseError::bad_decimal(field, text),
            })
        };
        Ok((filter("PRICE_FILTER", "tickSize")?, filter("LOT_SIZE", "stepSize")?))
    }

    fn instrument(&self, symbol: &str) -> Result<&BinanceInstrument, BinanceClientError> {
        self.instruments.get(symbol).ok_or_else(|| BinanceClientError::UnknownInstrument(symbol.to_owned()))
    }

    /// Places an order; returns the reports it produced (applied to the table). A venue
    /// refusal is a `Rejected` report with Binance's code and message, not an error.
    pub async fn place(&mut self, order: &NewOrder) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const EP: &str = "POST /api/v3/order";
        let inst = self.instrument(&order.symbol)?.clone();
        if self.sync_before_first_order && !self.time_synced {
            // A failure leaves the local clock in use; the next order measures again.
            let _ = self.sync_time().await;
        }
        let query = order.query(&inst);
        self.orders.insert(OrderState::new(&order.client_order_id, order.side, order.qty));
        self.order_symbols.insert(order.client_order_id.clone(), order.symbol.clone());
        let answer = match self.send(EP, Method::POST, "/api/v3/order", query, 1, true).await {
            Ok(answer) => answer,
            Err(err @ BinanceClientError::RateLimited { .. }) => {
                // Refused before it reached the book: the order never existed.
                self.forget(&order.client_order_id);
                return Err(err);
            }
            Err(err) => return Err(err),
        };
        let reports = order_answer(EP, answer, &inst, &order.symbol, &order.client_order_id, |body, _| {
            Ok(ReportKind::Rejected { code: Some(body.code), reason: body.msg })
        })?;
        for report in &reports {
            self.orders.apply(report)?;
        }
        Ok(reports)
    }

    fn forget(&mut self, client_order_id: &str) {
        self.order_symbols.remove(client_order_id);
        self.orders.remove(client_order_id);
    }

    /// Cancels an order by client id: `Canceled` (with the venue's executed quantity), or
    /// `CancelRejected` with Binance's reason (`-2011`, "Unknown order sent.": already gone).
    pub async fn cancel(
        &mut self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const EP: &str = "DELETE /api/v3/order";
        let inst = self.instrument(symbol)?.clone();
        if let Some(order) = self.orders.get_mut(client_order_id) {
            order.request_cancel();
        }
        let answer =
            self.send(EP, Method::DELETE, "/api/v3/order", order_query(symbol, client_order_id), 1, true).await?;
        let reports = order_answer(EP, answer, &inst, symbol, client_order_id, |body, _| {
            Ok(ReportKind::CancelRejected { code: Some(body.code), reason: body.msg })
        })?;
        for report in &reports {
            self.orders.apply(report)?;
        }
        Ok(reports)
    }

    /// Reduces an open order's quantity to `new_qty` lots (what executed included) in place,
    /// keeping its place in the queue and its client id (`PUT /api/v3/order/amend/keepPriority`,
    /// weight 4). Returns the report of the order after the amend (applied to the table, whose
    /// quantity for the order becomes the venue's). A refusal (`-2038`: the order is not open, an
    /// increase, no change) is [`BinanceClientError::Venue`] with Binance's code and message, and
    /// leaves the order as it was.
    pub async fn amend_keep_priority(
        &mut self,
        symbol: &str,
        client_order_id: &str,
        new_qty: i64,
    ) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const EP: &str = "PUT /api/v3/order/amend/keepPriority";
        let inst = self.instrument(symbol)?.clone();
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("symbol", symbol)
            .append_pair("origClientOrderId", client_order_id)
            .append_pair("newClientOrderId", client_order_id)
            .append_pair("newQty", &inst.step_size.format(new_qty))
            .finish();
        let answer = self.send(EP, Method::PUT, "/api/v3/order/amend/keepPriority", query, 4, true).await?;
        let body = self.expect_ok(EP, answer)?;
        let parse = |error| BinanceClientError::Parse { endpoint: EP, error };
        let amend: BinanceAmend =
            serde_json::from_slice(&body).map_err(|e| parse(ReportParseError::malformed("amend")(e)))?;
        let (qty, report) = amend.report(&inst, local_ns()).map_err(parse)?;
        if let Some(order) = self.orders.get_mut(client_order_id) {
            order.qty = qty;
        }
        self.orders.apply(&report)?;
        Ok(vec![report])
    }

    /// Cancels every open order on `symbol` in one request (`DELETE /api/v3/openOrders`, weight
    /// 1), orders placed elsewhere with the same key included. Returns the cancel reports (those
    /// of orders the table holds are merged into it); none open (`-2011`) is an empty list.
    pub async fn cancel_open_orders(&mut self, symbol: &str) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const EP: &str = "DELETE /api/v3/openOrders";
        let inst = self.instrument(symbol)?.clone();
        let query = form_urlencoded::Serializer::new(String::new()).append_pair("symbol", symbol).finish();
        let answer = self.send(EP, Method::DELETE, "/api/v3/openOrders", query, 1, true).await?;
        if answer.status != 200 {
            let body = parse_error(&answer.body).map_err(|error| BinanceClientError::Parse { endpoint: EP, error })?;
            if body.code == -2011 {
                return Ok(Vec::new());
            }
            return Err(BinanceClientError::Venue {
                endpoint: EP,
                status: answer.status,
                code: body.code,
                msg: body.msg,
            });
        }
        let entries: Vec<serde_json::Value> = serde_json::from_slice(&answer.body).map_err(|e| {
            BinanceClientError::Parse { endpoint: EP, error: ReportParseError::malformed("openOrders cancel")(e) }
        })?;
        let reports = canceled_reports(&entries, &inst, local_ns())
            .map_err(|error| BinanceClientError::Parse { endpoint: EP, error })?;
        self.merge(&reports, &mut ReconcileSummary::default());
        Ok(reports)
    }

    /// Cancels every open order on `symbol` in one request, then reconciles (the kill switch's
    /// step for this venue); returns how many orders the venue canceled.
    pub async fn cancel_all(&mut self, symbol: &str) -> Result<usize, BinanceClientError> {
        crate::venue::kill_switch(self, symbol).await
    }

    /// Takes into the table each open order on `symbol` that the venue lists and the table does
    /// not hold (orders another process placed), so that the kill switch cancels them too;
    /// returns how many it took.
    pub async fn adopt_open_orders(&mut self, symbol: &str) -> Result<usize, BinanceClientError> {
        const EP: &str = "GET /api/v3/openOrders";
        let inst = self.instrument(symbol)?.clone();
        let query = form_urlencoded::Serializer::new(String::new()).append_pair("symbol", symbol).finish();
        let answer = self.send(EP, Method::GET, "/api/v3/openOrders", query, 6, true).await?;
        let parse = |error| BinanceClientError::Parse { endpoint: EP, error };
        let open = self.expect_ok(EP, answer).and_then(|body| parse_orders(&body).map_err(parse))?;
        super::outcomes::adopt(&mut self.orders, &mut self.order_symbols, symbol, &inst, &open).map_err(parse)
    }

    /// Fetches and merges what may have been missed ([`crate::venue`]): each unanswered
    /// order queried (to learn its venue id), the trades since the last reconciled one, the open
    /// orders, and the status of every live order the venue no longer lists.
    pub async fn reconcile(&mut self, symbol: &str) -> Result<ReconcileSummary, BinanceClientError> {
        crate::venue::reconcile(self, symbol).await
    }

    /// `GET /api/v3/openOrders` of the symbol merged into the table; the client ids of ours it
    /// listed.
    async fn fetch_open_orders(
        &mut self,
        symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<HashSet<String>, BinanceClientError> {
        const EP: &str = "GET /api/v3/openOrders";
        let inst = self.instrument(symbol)?.clone();
        let query = form_urlencoded::Serializer::new(String::new()).append_pair("symbol", symbol).finish();
        let answer = self.send(EP, Method::GET, "/api/v3/openOrders", query, 6, true).await?;
        let open = self
            .expect_ok(EP, answer)
            .and_then(|body| parse_orders(&body).map_err(|error| BinanceClientError::Parse { endpoint: EP, error }))?;
        merge_open(&mut self.orders, &inst, &open, summary)
            .map_err(|error| BinanceClientError::Parse { endpoint: EP, error })
    }

    /// Queries one order and merges its state; `-2013` ("Order does not exist.") means it never
    /// arrived: rejected.
    async fn query_order(
        &mut self,
        symbol: &str,
        client_order_id: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<(), BinanceClientError> {
        const EP: &str = "GET /api/v3/order";
        let inst = self.instrument(symbol)?.clone();
        let answer = self.send(EP, Method::GET, "/api/v3/order", order_query(symbol, client_order_id), 4, true).await?;
        let reports = order_answer(EP, answer, &inst, symbol, client_order_id, |body, status| {
            if body.code != -2013 {
                return Err(BinanceClientError::Venue { endpoint: EP, status, code: body.code, msg: body.msg });
            }
            Ok(ReportKind::Rejected { code: Some(body.code), reason: body.msg })
        })?;
        self.merge(&reports, summary);
        Ok(())
    }

    async fn fetch_trades(&mut self, symbol: &str, summary: &mut ReconcileSummary) -> Result<(), BinanceClientError> {
        const EP: &str = "GET /api/v3/myTrades";
        const PAGE: usize = 1000;
        let inst = self.instrument(symbol)?.clone();
        loop {
            let from = self.trade_watermark.get(symbol).map_or(0, |w| w + 1);
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("symbol", symbol)
                .append_pair("fromId", &from.to_string())
                .append_pair("limit", &PAGE.to_string())
                .finish();
            let answer = self.send(EP, Method::GET, "/api/v3/myTrades", query, 20, true).await?;
            let trades = self.expect_ok(EP, answer).and_then(|body| {
                parse_trades(&body).map_err(|error| BinanceClientError::Parse { endpoint: EP, error })
            })?;
            merge_trades(&mut self.orders, &mut self.trade_watermark, symbol, &inst, &trades, summary)
                .map_err(|error| BinanceClientError::Parse { endpoint: EP, error })?;
            if trades.len() < PAGE {
                return Ok(());
            }
        }
    }

    fn merge(&mut self, reports: &[ExecutionReport], summary: &mut ReconcileSummary) {
        summary.merge(&mut self.orders, reports);
    }

    fn expect_ok(&self, endpoint: &'static str, answer: Answer) -> Result<Bytes, BinanceClientError> {
        if answer.status == 200 {
            return Ok(answer.body);
        }
        let body = parse_error(&answer.body).map_err(|error| BinanceClientError::Parse { endpoint, error })?;
        Err(BinanceClientError::Venue { endpoint, status: answer.status, code: body.code, msg: body.msg })
    }

    /// Sends one request: rate-limit checks, signing, the weight header, 429/418 handling.
    async fn send(
        &mut self,
        endpoint: &'static str,
        method: Method,
        path: &str,
        mut query: String,
        weight: u32,
        signed: bool,
    ) -> Result<Answer, BinanceClientError> {
        let now = Instant::now();
        if let Some(until) = self.blocked_until.filter(|&u| u > now) {
            let retry_after_ms = u64::try_from((until - now).as_millis()).unwrap_or(u64::MAX);
            return Err(BinanceClientError::RateLimited { endpoint, retry_after_ms, local: true });
        }
        let server_now = local_ms() + self.time_offset_ms;
        let minute = server_now.div_euclid(60_000);
        if self.used_weight.0 == minute && self.used_weight.1 + weight > self.weight_limit_1m {
            let retry_after_ms = u64::try_from((minute + 1) * 60_000 - server_now).unwrap_or(0);
            return Err(BinanceClientError::RateLimited { endpoint, retry_after_ms, local: true });
        }
        if signed {
            sign_query(&mut query, &self.signer, self.recv_window_ms, server_now);
        }
        let uri = if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") };
        let answer = self
            .connection
            .request(method.as_str(), &uri, &[("x-mbx-apikey", &self.api_key)], Bytes::new())
            .await
            .map_err(|error| BinanceClientError::Transport { endpoint, error })?;
        let header =
            |name: &str| answer.headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let (status, used, retry_after) = (answer.status, header("x-mbx-used-weight-1m"), header("retry-after"));
        let body = answer.body;
        if let Some(used) = used {
            self.used_weight = (minute, u32::try_from(used).unwrap_or(u32::MAX));
        }
        if status == 429 || status == 418 {
            let retry_after_ms = retry_after.unwrap_or(1).saturating_mul(1000);
            self.blocked_until = Some(now + Duration::from_millis(retry_after_ms));
            return Err(BinanceClientError::RateLimited { endpoint, retry_after_ms, local: false });
        }
        Ok(Answer { status, body })
    }
}

binance_venue_client!(BinanceRestClient {
    /// One request (`POST /api/v3/order/cancelReplace`, `STOP_ON_FAILURE`).
    async fn cancel_replace(
        &mut self,
        symbol: &str,
        cancel_id: &str,
        new: &NewOrder,
    ) -> Result<Option<Vec<ExecutionReport>>, BinanceClientError> {
        let mode = CancelReplaceMode::StopOnFailure;
        BinanceRestClient::cancel_replace(self, symbol, cancel_id, new, mode).await.map(Some)
    }
});

/// A `keepPriority` amend's outcome as `VenueClient::amend` gives it: `Ok(true)` when the venue
/// amended in place; `Ok(false)` when the order was amended as often as the venue allows
/// (`MAX_NUM_ORDER_AMENDS`: a cancel-replace starts a new order); any other error as it is.
pub(crate) fn amended_in_place<T>(result: Result<T, BinanceClientError>) -> Result<bool, BinanceClientError> {
    match result {
        Ok(_) => Ok(true),
        Err(BinanceClientError::Venue { code: -2038, msg, .. }) if msg.contains("MAX_NUM_ORDER_AMENDS") => Ok(false),
        Err(err) => Err(err),
    }
}

#[path = "client_replace.rs"]
mod replace;

#[path = "client_account.rs"]
mod account;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_query_of_binances_documented_example_ends_with_its_documented_signature() {
        let signer =
            BinanceSigner::hmac_sha256(b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".to_vec());
        let mut query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1".to_owned();
        sign_query(&mut query, &signer, 5000, 1_499_827_319_559);
        assert_eq!(
            query,
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000\
             &timestamp=1499827319559\
             &signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn an_order_query_writes_exact_decimals_at_the_instruments_precision() {
        let inst = BinanceInstrument::new("LTCBTC", "0.000001", "0.001").unwrap();
        let order = NewOrder {
            symbol: "LTCBTC".into(),
            client_order_id: "q-1".into(),
            side: Side::Sell,
            qty: 1_500,
            order_type: BinanceOrderType::PostOnly { price: 100_000 },
        };
        assert_eq!(
            order.query(&inst),
            "symbol=LTCBTC&side=SELL&type=LIMIT_MAKER&price=0.100000&quantity=1.500\
             &newClientOrderId=q-1&newOrderRespType=FULL"
        );
    }
}

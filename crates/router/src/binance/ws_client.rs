//! A Binance spot WebSocket API order client: `order.place`, `order.cancel`,
//! `order.cancelReplace`, `order.amend.keepPriority`, `openOrders.cancelAll`, user data through
//! `userDataStream.subscribe`, reconciliation over the same connection (`order.status`,
//! `myTrades`, `openOrders.status`), and a pipelined batch of orders (`place_batch`).
//!
//! ```text
//! let mut client = BinanceWsClient::new(url, "api-key", signer, instruments);
//! client.sync_time().await?;                        // server-time offset for `timestamp`
//! client.subscribe_user_data().await?;              // executionReports from now on
//! let reports = client.place(&order).await?;        // New + Trade reports (or Rejected)
//! client.cancel_replace("BTCUSDT", "q-1", &next).await?;
//! let events = client.take_events();                // every executionReport, normalized
//! let balances = client.take_balance_updates();     // outboundAccountPosition, balanceUpdate
//! ```
//!
//! **One connection, owned.** The client connects on first use (so it can be built on one
//! thread and driven on another's runtime) and reconnects on the next call after the
//! connection drops. Each request gets the next integer `id`; the client reads frames until the
//! answer with that id arrives, and every user-data event read meanwhile (before or after the
//! answer: Binance may push a fill before it acknowledges the order) is normalized, merged into
//! the [`OrderTable`] and queued for [`BinanceWsClient::take_events`]; balance events
//! (`outboundAccountPosition`, `balanceUpdate`) are normalized and queued for
//! [`BinanceWsClient::take_balance_updates`] (`ws_client_balances.rs`). An answer with another id
//! (a late answer to a request that timed out) and a frame that cannot be read are counted
//! ([`WsClientStats`]), never fatal.
//!
//! **Signing.** Every trading and query request is signed on its own (`apiKey`, `recvWindow`,
//! `timestamp`, `signature` over the parameters sorted by name: [`super::ws_api`]), with HMAC-SHA256
//! or Ed25519 keys alike. User data: with an Ed25519 key the client logs the session on
//! (`session.logon`) and sends `userDataStream.subscribe`; with an HMAC key it sends
//! `userDataStream.subscribe.signature`. After a reconnect it subscribes again by itself; what
//! happened while it was away is for [`BinanceWsClient::reconcile`] to fetch
//! ([`BinanceWsClient::reconnects`] says when one is due). A client built
//! [`BinanceWsClient::with_rest`] (live and paper routes) subscribes on every connection it
//! opens, and keeps the same key's REST client as its companion (`ws_client_rest.rs`).
//!
//! **Rate limits** come from each answer's `rateLimits`: a request whose weight, or a new order
//! that would pass its window's count, is refused locally with
//! [`BinanceClientError::RateLimited`] until the window turns; a 429 or 418 answer blocks every
//! request until its `retryAfter`.
//!
//! **Unknown outcomes.** A connection that drops, or an answer that does not come within the
//! answer timeout, leaves the request's outcome unknown: the call returns
//! [`BinanceClientError::Transport`], the order stays pending-new, and reconciliation settles
//! it. Venue refusals are reports (`Rejected`, `CancelRejected` with Binance's code and message).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::client::BinanceClientError;
use super::outcomes::{cancel_replace_reports, ReplaceAnswer};
use super::reports::{order_reports, BinanceInstrument, BinanceOrder, ReportParseError};
use super::ws_api::{execution_report, parse_frame, request, signed_request, ParamValue, WsAnswer, WsError, WsFrame};
use crate::http::EndpointError;
use crate::order::{local_ms, local_ns, BalanceUpdate, NewOrder, OrderType, ReconcileSummary, TimeInForce};
use crate::order_state::{ExecutionReport, OrderState, OrderTable, ReportKind, Side, Venue};
use crate::signing::BinanceSigner;
use crate::ws::{Ws, WsTarget};

/// Events kept for [`BinanceWsClient::take_events`] at most (older ones are dropped, counted).
pub const EVENT_QUEUE_CAPACITY: usize = 65_536;

impl NewOrder {
    /// The parameters of `order.place` for this order (prices and quantities written exactly
    /// at the instrument's precision), before signing.
    pub fn ws_params(&self, instrument: &BinanceInstrument) -> Vec<(&'static str, ParamValue)> {
        let mut p: Vec<(&'static str, ParamValue)> = Vec::with_capacity(12);
        p.push(("symbol", self.symbol.as_str().into()));
        p.push(("side", if self.side == Side::Buy { "BUY" } else { "SELL" }.into()));
        match self.order_type {
            OrderType::Limit { price, tif } => {
                p.push(("type", "LIMIT".into()));
                let tif = match tif {
                    TimeInForce::Gtc => "GTC",
                    TimeInForce::Ioc => "IOC",
                    TimeInForce::Fok => "FOK",
                };
                p.push(("timeInForce", tif.into()));
                p.push(("price", instrument.tick_size.format(price).into()));
            }
            OrderType::Market => p.push(("type", "MARKET".into())),
            OrderType::PostOnly { price } => {
                p.push(("type", "LIMIT_MAKER".into()));
                p.push(("price", instrument.tick_size.format(price).into()));
            }
        }
        p.push(("quantity", instrument.step_size.format(self.qty).into()));
        p.push(("newClientOrderId", self.client_order_id.as_str().into()));
        p.push(("newOrderRespType", "FULL".into()));
        p
    }
}

/// What the client counted that was not an answer to its request.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WsClientStats {
    /// Frames that could not be read (malformed JSON, a bad decimal, an unknown status).
    pub malformed_frames: u64,
    /// Answers with an id the client was not waiting for.
    pub stray_answers: u64,
    /// User-data reports normalized.
    pub events: u64,
    /// Reports about orders this client did not place (another session's, or the REST
    /// client's on the same account): queued, not merged.
    pub foreign_reports: u64,
    /// Events dropped because nobody took them ([`EVENT_QUEUE_CAPACITY`]).
    pub dropped_events: u64,
    /// Balance updates normalized (one per asset of an `outboundAccountPosition`, one per
    /// `balanceUpdate`).
    pub balance_updates: u64,
    /// Balance events that could not be read (also counted in `malformed_frames`).
    pub malformed_balance_events: u64,
    /// Balance updates dropped because nobody took them ([`EVENT_QUEUE_CAPACITY`]).
    pub dropped_balance_updates: u64,
}

/// How the client subscribes to user data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDataAuth {
    /// `session.logon` (Ed25519 keys only), then `userDataStream.subscribe`.
    SessionLogon,
    /// `userDataStream.subscribe.signature` (any key).
    Signature,
}

/// A rate-limit window as the venue last reported it: (window start ms, count, limit, length ms).
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start_ms: i64,
    count: u64,
    limit: u64,
    length_ms: i64,
}

impl Window {
    /// Whether `more` would pass the limit in the window holding `now_ms`; then the ms until it
    /// turns.
    fn refuses(&self, now_ms: i64, more: u64) -> Option<u64> {
        let same = self.length_ms > 0 && now_ms.div_euclid(self.length_ms) * self.length_ms == self.start_ms;
        (same && self.count + more > self.limit)
            .then(|| u64::try_from(self.start_ms + self.length_ms - now_ms).unwrap_or(0))
    }
}

/// The client (one connection, re-opened after a failure).
pub struct BinanceWsClient {
    url: String,
    /// Where it connects (a URL that does not parse is kept as the error each connect returns).
    target: Result<WsTarget, String>,
    api_key: String,
    signer: BinanceSigner,
    instruments: HashMap<String, BinanceInstrument>,
    recv_window_ms: u64,
    time_offset_ms: i64,
    answer_timeout: Duration,
    ws: Option<Ws>,
    connects: u64,
    next_id: u64,
    user_data: Option<UserDataAuth>,
    subscription: Option<u64>,
    weight: Window,
    orders_10s: Window,
    orders_1d: Window,
    blocked_until: Option<Instant>,
    orders: OrderTable,
    order_symbols: HashMap<String, String>,
    trade_watermark: HashMap<String, u64>,
    events: VecDeque<ExecutionReport>,
    balances: VecDeque<BalanceUpdate>,
    stats: WsClientStats,
    rest: Option<super::client::BinanceRestClient>,
}

impl std::fmt::Debug for BinanceWsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinanceWsClient")
            .field("url", &self.url)
            .field("signer", &self.signer)
            .field("connected", &self.ws.is_some())
            .field("subscription", &self.subscription)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn parse_error(method: &'static str) -> impl Fn(ReportParseError) -> BinanceClientError {
    move |error| BinanceClientError::Parse { endpoint: method, error }
}

fn transport(method: &'static str, error: impl std::fmt::Display) -> BinanceClientError {
    BinanceClientError::Transport { endpoint: method, error: error.to_string() }
}

impl BinanceWsClient {
    /// A client for the WebSocket API at `url` (`ws://127.0.0.1:<port>/ws-api/v3` for the local
    /// simulator, [`BINANCE_WS_LIVE`](crate::ws::BINANCE_WS_LIVE) for Binance: `wss://` checks
    /// the certificate against Mozilla's roots) with this key and these instruments. Nothing is
    /// sent until the first call; a URL that does not parse fails every call with the reason.
    pub fn new(url: &str, api_key: &str, signer: BinanceSigner, instruments: Vec<BinanceInstrument>) -> Self {
        let target = WsTarget::open(url, None).map_err(|e| e.to_string());
        Self::with_target(url, target, api_key, signer, instruments)
    }

    /// As [`Self::new`], with the authorities of the PEM file `extra_roots` trusted besides
    /// Mozilla's roots for `wss://` (a private deployment's, a test's); a bad URL or a root file
    /// that cannot be read is an error here.
    pub fn open(
        url: &str,
        extra_roots: Option<&std::path::Path>,
        api_key: &str,
        signer: BinanceSigner,
        instruments: Vec<BinanceInstrument>,
    ) -> Result<Self, EndpointError> {
        let target = WsTarget::open(url, extra_roots)?;
        Ok(Self::with_target(url, Ok(target), api_key, signer, instruments))
    }

    fn with_target(
        url: &str,
        target: Result<WsTarget, String>,
        api_key: &str,
        signer: BinanceSigner,
        instruments: Vec<BinanceInstrument>,
    ) -> Self {
        Self {
            url: url.to_owned(),
            target,
            api_key: api_key.to_owned(),
            signer,
            instruments: instruments.into_iter().map(|i| (i.symbol.clone(), i)).collect(),
            recv_window_ms: 5000,
            time_offset_ms: 0,
            answer_timeout: Duration::from_secs(10),
            ws: None,
            connects: 0,
            next_id: 1,
            user_data: None,
            subscription: None,
            weight: Window { limit: 6000, length_ms: 60_000, ..Window::default() },
            orders_10s: Window::default(),
            orders_1d: Window::default(),
            blocked_until: None,
            orders: OrderTable::new(),
            order_symbols: HashMap::new(),
            trade_watermark: HashMap::new(),
            events: VecDeque::new(),
            balances: VecDeque::new(),
            stats: WsClientStats::default(),
            rest: None,
        }
    }

    /// How long to wait for an answer before the outcome counts as unknown (default 10 s).
    pub fn set_answer_timeout(&mut self, timeout: Duration) {
        self.answer_timeout = timeout;
    }

    /// The orders and what is known of them.
    pub fn orders(&self) -> &OrderTable {
        &self.orders
    }

    /// What the client counted besides answers.
    pub fn stats(&self) -> WsClientStats {
        self.stats
    }

    /// How many times the client connected after its first connection (each one may have
    /// missed events: reconcile after it).
    pub fn reconnects(&self) -> u64 {
        self.connects.saturating_sub(1)
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.ws.is_some()
    }

    /// The user-data subscription on the current connection, if any.
    pub fn subscription(&self) -> Option<u64> {
        self.subscription
    }

    /// Server time minus local time, ms (from [`Self::sync_time`]).
    pub fn time_offset_ms(&self) -> i64 {
        self.time_offset_ms
    }

    /// The request weight used in the current minute, per the venue's last answer.
    pub fn used_weight_1m(&self) -> u64 {
        self.weight.count
    }

    /// The user-data reports normalized since the last call, oldest first (orders of this
    /// client are already merged into [`Self::orders`]).
    pub fn take_events(&mut self) -> Vec<ExecutionReport> {
        self.events.drain(..).collect()
    }

    /// Drops the connection (as a network failure would); the next call reconnects.
    pub fn disconnect(&mut self) {
        self.ws = None;
        self.subscription = None;
    }

    fn instrument(&self, symbol: &str) -> Result<&BinanceInstrument, BinanceClientError> {
        self.instruments.get(symbol).ok_or_else(|| BinanceClientError::UnknownInstrument(symbol.to_owned()))
    }

    /// Measures the server-time offset (`time`).
    pub async fn sync_time(&mut self) -> Result<i64, BinanceClientError> {
        const M: &str = "time";
        let t0 = local_ms();
        let answer = self.request(M, Vec::new(), 1, false, false).await?;
        let t1 = local_ms();
        let result = expect_ok(M, answer)?;
        let server_ms = result["serverTime"].as_i64().ok_or(BinanceClientError::Parse {
            endpoint: M,
            error: ReportParseError::Malformed { what: "time", error: "no serverTime".into() },
        })?;
        self.time_offset_ms = server_ms - (t0 + (t1 - t0) / 2);
        Ok(self.time_offset_ms)
    }

    /// Subscribes to user data (and again after every reconnect): `session.logon` and
    /// `userDataStream.subscribe` with an Ed25519 key, `userDataStream.subscribe.signature`
    /// with an HMAC key. Returns the subscription id.
    pub async fn subscribe_user_data(&mut self) -> Result<u64, BinanceClientError> {
        let auth = match self.signer {
            BinanceSigner::Ed25519(_) => UserDataAuth::SessionLogon,
            BinanceSigner::HmacSha256(..) => UserDataAuth::Signature,
        };
        self.user_data = Some(auth);
        self.ensure_connected("userDataStream.subscribe").await?;
        match self.subscription {
            Some(id) => Ok(id),
            None => self.open_user_stream(auth).await,
        }
    }

    /// Reads frames for up to `wait` (or until one user-data event arrived, if any is queued
    /// sooner), queueing the events; returns how many events are queued.
    pub async fn poll_events(&mut self, wait: Duration) -> Result<usize, BinanceClientError> {
        self.poll_until(wait, |client| !client.events.is_empty()).await?;
        Ok(self.events.len())
    }

    /// Places an order; returns the reports its answer produced (applied to the table; events
    /// read meanwhile are in [`Self::take_events`]). A venue refusal is a `Rejected` report
    /// with Binance's code and message, not an error.
    pub async fn place(&mut self, order: &NewOrder) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const M: &str = "order.place";
        let inst = self.instrument(&order.symbol)?.clone();
        let params = order.ws_params(&inst);
        self.track(order);
        let answer = match self.request(M, params, 1, true, true).await {
            Ok(answer) => answer,
            Err(err) => return Err(self.unsent(err, &order.client_order_id)),
        };
        let reports = order_answer(M, answer, &inst, &order.symbol, &order.client_order_id, |err| {
            ReportKind::Rejected { code: Some(err.code), reason: err.msg.clone() }
        })?;
        self.apply_all(&reports)?;
        Ok(reports)
    }

    fn track(&mut self, order: &NewOrder) {
        self.orders.insert(OrderState::new(&order.client_order_id, order.side, order.qty));
        self.order_symbols.insert(order.client_order_id.clone(), order.symbol.clone());
    }

    /// An order refused before it was sent (rate limits) never existed; other failures leave it
    /// for reconciliation.
    fn unsent(&mut self, err: BinanceClientError, client_order_id: &str) -> BinanceClientError {
        if matches!(err, BinanceClientError::RateLimited { local: true, .. }) {
            self.order_symbols.remove(client_order_id);
            self.orders.remove(client_order_id);
        }
        err
    }

    /// Applies an answer's reports to the orders the table holds (a cancel may name an order
    /// this client never placed: its refusal is returned, not merged).
    fn apply_all(&mut self, reports: &[ExecutionReport]) -> Result<(), BinanceClientError> {
        for report in reports {
            if self.orders.get(&report.client_order_id).is_some() {
                self.orders.apply(report)?;
            }
        }
        Ok(())
    }

    /// Cancels an order by client id: `Canceled` (with the venue's executed quantity), or
    /// `CancelRejected` with Binance's reason (`-2011`, "Unknown order sent.": already gone).
    pub async fn cancel(
        &mut self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const M: &str = "order.cancel";
        let inst = self.instrument(symbol)?.clone();
        let params = vec![("symbol", symbol.into()), ("origClientOrderId", client_order_id.into())];
        self.request_cancel(symbol, client_order_id);
        let answer = match self.request(M, params, 1, true, false).await {
            Ok(answer) => answer,
            Err(err) => return Err(self.cancel_unsent(err, symbol, client_order_id)),
        };
        let reports = order_answer(M, answer, &inst, symbol, client_order_id, |err| ReportKind::CancelRejected {
            code: Some(err.code),
            reason: err.msg.clone(),
        })?;
        self.apply_all(&reports)?;
        Ok(reports)
    }

    fn request_cancel(&mut self, _symbol: &str, client_order_id: &str) {
        if let Some(order) = self.orders.get_mut(client_order_id) {
            order.request_cancel();
        }
    }

    /// A cancel refused locally never went out: the order is no longer pending-cancel.
    fn cancel_unsent(&mut self, err: BinanceClientError, symbol: &str, client_order_id: &str) -> BinanceClientError {
        if matches!(err, BinanceClientError::RateLimited { local: true, .. }) {
            let reason = "cancel not sent: rate limited locally".to_owned();
            let kind = ReportKind::CancelRejected { code: None, reason };
            let report = ExecutionReport::answered(Venue::Binance, symbol, client_order_id, None, kind, local_ns());
            let _ = self.orders.apply(&report);
        }
        err
    }

    /// Cancels `cancel_client_order_id` and places `new` in one request (`order.cancelReplace`,
    /// `STOP_ON_FAILURE`: if the cancel fails the new order is not attempted). Returns the
    /// reports of both halves: the cancel's (`Canceled`, or `CancelRejected` with Binance's
    /// code) and the new order's (its status and fills, or `Rejected`; "not attempted" is a
    /// `Rejected` with the request's code, `-2022`).
    pub async fn cancel_replace(
        &mut self,
        symbol: &str,
        cancel_client_order_id: &str,
        new: &NewOrder,
    ) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const M: &str = "order.cancelReplace";
        if new.symbol != symbol {
            return Err(BinanceClientError::UnknownInstrument(new.symbol.clone()));
        }
        let inst = self.instrument(symbol)?.clone();
        let mut params = new.ws_params(&inst);
        params.push(("cancelReplaceMode", "STOP_ON_FAILURE".into()));
        params.push(("cancelOrigClientOrderId", cancel_client_order_id.into()));
        self.track(new);
        self.request_cancel(symbol, cancel_client_order_id);
        let answer = match self.request(M, params, 1, true, true).await {
            Ok(answer) => answer,
            Err(err) => {
                let err = self.cancel_unsent(err, symbol, cancel_client_order_id);
                return Err(self.unsent(err, &new.client_order_id));
            }
        };
        let replace = match (&answer.result, &answer.error) {
            (Some(result), _) if answer.status == 200 => ReplaceAnswer::Done(result),
            (_, Some(err)) => ReplaceAnswer::Refused { code: err.code, msg: &err.msg, data: err.data.as_ref() },
            _ => return Err(malformed(M, "neither result nor error")),
        };
        let ids = (cancel_client_order_id, new.client_order_id.as_str());
        let reports = cancel_replace_reports(replace, &inst, symbol, ids, local_ns()).map_err(parse_error(M))?;
        self.apply_all(&reports)?;
        Ok(reports)
    }

    /// Cancels every order the table holds as live on `symbol`, then reconciles (the kill
    /// switch's step for this venue); returns how many cancels the venue accepted.
    pub async fn cancel_all(&mut self, symbol: &str) -> Result<usize, BinanceClientError> {
        crate::venue::kill_switch(self, symbol).await
    }

    /// Fetches and merges what may have been missed ([`crate::venue`]) over the WebSocket API:
    /// each unanswered order's `order.status`, `myTrades` since the last reconciled trade,
    /// `openOrders.status`, and the status of every live order the venue no longer lists.
    pub async fn reconcile(&mut self, symbol: &str) -> Result<ReconcileSummary, BinanceClientError> {
        crate::venue::reconcile(self, symbol).await
    }

    /// Sends one request and waits for its answer: local rate-limit checks, (re)connecting,
    /// signing, the answer's `rateLimits`, 429/418.
    async fn request(
        &mut self,
        method: &'static str,
        params: Vec<(&str, ParamValue)>,
        weight: u32,
        signed: bool,
        new_order: bool,
    ) -> Result<WsAnswer, BinanceClientError> {
        let now = Instant::now();
        if let Some(until) = self.blocked_until.filter(|&u| u > now) {
            let retry_after_ms = u64::try_from((until - now).as_millis()).unwrap_or(u64::MAX);
            return Err(BinanceClientError::RateLimited { endpoint: method, retry_after_ms, local: true });
        }
        let server_now = local_ms() + self.time_offset_ms;
        let mut refusal = self.weight.refuses(server_now, u64::from(weight));
        if new_order {
            refusal = refusal.or(self.orders_10s.refuses(server_now, 1)).or(self.orders_1d.refuses(server_now, 1));
        }
        if let Some(retry_after_ms) = refusal {
            return Err(BinanceClientError::RateLimited { endpoint: method, retry_after_ms, local: true });
        }
        self.ensure_connected(method).await?;
        let id = self.next_id();
        let frame = if signed {
            let timestamp = local_ms() + self.time_offset_ms;
            signed_request(id, method, params, &self.api_key, &self.signer, self.recv_window_ms, timestamp)
        } else {
            request(id, method, &params)
        };
        let answer = self.exchange(method, id, frame).await?;
        if answer.status == 429 || answer.status == 418 {
            let server_now = local_ms() + self.time_offset_ms;
            let retry_at = answer.error.as_ref().and_then(WsError::retry_after_ms).unwrap_or(server_now + 1000);
            let retry_after_ms = u64::try_from(retry_at - server_now).unwrap_or(0);
            self.blocked_until = Some(Instant::now() + Duration::from_millis(retry_after_ms));
            return Err(BinanceClientError::RateLimited { endpoint: method, retry_after_ms, local: false });
        }
        Ok(answer)
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Connects if not connected, and subscribes to user data again if it was wanted.
    async fn ensure_connected(&mut self, method: &'static str) -> Result<(), BinanceClientError> {
        if self.ws.is_some() {
            return Ok(());
        }
        let config = WebSocketConfig::default().max_message_size(Some(16 << 20));
        let target = self.target.as_ref().map_err(|e| transport(method, e))?;
        let ws = tokio::time::timeout(self.answer_timeout, target.connect(config))
            .await
            .map_err(|_| transport(method, "connect timed out"))?
            .map_err(|e| transport(method, e))?;
        self.ws = Some(ws);
        self.subscription = None;
        self.connects += 1;
        if self.rest.is_some() {
            self.offset_on_connect().await?;
        }
        if let Some(auth) = self.user_data {
            self.open_user_stream(auth).await?;
        }
        Ok(())
    }

    async fn open_user_stream(&mut self, auth: UserDataAuth) -> Result<u64, BinanceClientError> {
        let ts = local_ms() + self.time_offset_ms;
        let method = match auth {
            UserDataAuth::SessionLogon => {
                const M: &str = "session.logon";
                let id = self.next_id();
                let frame = signed_request(id, M, vec![], &self.api_key, &self.signer, self.recv_window_ms, ts);
                expect_ok(M, self.exchange(M, id, frame).await?)?;
                "userDataStream.subscribe"
            }
            UserDataAuth::Signature => "userDataStream.subscribe.signature",
        };
        let id = self.next_id();
        let frame = match auth {
            UserDataAuth::SessionLogon => request(id, method, &[]),
            UserDataAuth::Signature => {
                signed_request(id, method, vec![], &self.api_key, &self.signer, self.recv_window_ms, ts)
            }
        };
        let result = expect_ok(method, self.exchange(method, id, frame).await?)?;
        let subscription = result["subscriptionId"].as_u64().ok_or_else(|| malformed(method, "no subscriptionId"))?;
        self.subscription = Some(subscription);
        Ok(subscription)
    }

    /// Sends a frame and reads until the answer with `id`; user-data events read meanwhile are
    /// merged and queued.
    async fn exchange(&mut self, method: &'static str, id: u64, frame: String) -> Result<WsAnswer, BinanceClientError> {
        let Some(ws) = self.ws.as_mut() else { return Err(transport(method, "not connected")) };
        if let Err(e) = ws.send(Message::text(frame)).await {
            return Err(self.dropped(method, e));
        }
        let deadline = tokio::time::Instant::now() + self.answer_timeout;
        loop {
            let Some(ws) = self.ws.as_mut() else { return Err(transport(method, "not connected")) };
            let frame = match tokio::time::timeout_at(deadline, ws.next()).await {
                Ok(frame) => frame,
                Err(_) => return Err(self.dropped(method, "no answer within the answer timeout")),
            };
            match frame {
                Some(Ok(Message::Text(text))) => match self.read_frame(text.as_str()) {
                    Some(answer) if answer.id == Some(id) => {
                        self.note_rate_limits(&answer);
                        return Ok(answer);
                    }
                    Some(_) => self.stats.stray_answers += 1,
                    None => {}
                },
                Some(Ok(Message::Binary(_))) => self.stats.malformed_frames += 1,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(self.dropped(method, e)),
                None => return Err(self.dropped(method, "connection closed")),
            }
        }
    }

    /// The connection is gone: the next call reconnects.
    fn dropped(&mut self, method: &'static str, error: impl std::fmt::Display) -> BinanceClientError {
        self.disconnect();
        transport(method, error)
    }

    /// One text frame: an answer is returned; an event is normalized, merged and queued; an
    /// unreadable frame is counted.
    fn read_frame(&mut self, text: &str) -> Option<WsAnswer> {
        match parse_frame(text) {
            Ok(WsFrame::Answer(answer)) => Some(answer),
            Ok(WsFrame::Event { event, .. }) => {
                let instruments = &self.instruments;
                match execution_report(&event, |s| instruments.get(s), local_ns()) {
                    Ok(Some(report)) => self.on_report(report),
                    Ok(None) => self.on_balance_event(&event),
                    Err(_) => self.stats.malformed_frames += 1,
                }
                None
            }
            Err(_) => {
                self.stats.malformed_frames += 1;
                None
            }
        }
    }

    fn on_report(&mut self, report: ExecutionReport) {
        self.stats.events += 1;
        if self.orders.get(&report.client_order_id).is_some() {
            let _ = self.orders.apply(&report);
        } else {
            self.stats.foreign_reports += 1;
        }
        if self.events.len() == EVENT_QUEUE_CAPACITY {
            self.events.pop_front();
            self.stats.dropped_events += 1;
        }
        self.events.push_back(report);
    }

    fn note_rate_limits(&mut self, answer: &WsAnswer) {
        let server_now = local_ms() + self.time_offset_ms;
        for limit in &answer.rate_limits {
            let length_ms = limit.interval_ms();
            if length_ms <= 0 {
                continue;
            }
            let window = Window {
                start_ms: server_now.div_euclid(length_ms) * length_ms,
                count: limit.count,
                limit: limit.limit,
                length_ms,
            };
            match (limit.rate_limit_type.as_str(), length_ms) {
                ("REQUEST_WEIGHT", 60_000) => self.weight = window,
                ("ORDERS", 10_000) => self.orders_10s = window,
                ("ORDERS", 86_400_000) => self.orders_1d = window,
                _ => {}
            }
        }
    }
}

fn malformed(method: &'static str, why: &str) -> BinanceClientError {
    BinanceClientError::Parse {
        endpoint: method,
        error: ReportParseError::Malformed { what: "ws answer", error: why.into() },
    }
}

fn venue_error(method: &'static str, status: u16, err: &WsError) -> BinanceClientError {
    BinanceClientError::Venue { endpoint: method, status, code: err.code, msg: err.msg.clone() }
}

/// The result of a successful answer, or the venue's error.
fn expect_ok(method: &'static str, answer: WsAnswer) -> Result<Value, BinanceClientError> {
    match (answer.result, answer.error) {
        (Some(result), None) if answer.status == 200 => Ok(result),
        (_, Some(err)) => Err(venue_error(method, answer.status, &err)),
        _ => Err(malformed(method, "neither result nor error")),
    }
}

/// The reports of an answer about one order: the order's own on success (its status, then its
/// fills), else the report `refused` makes of Binance's error.
fn order_answer(
    method: &'static str,
    answer: WsAnswer,
    inst: &BinanceInstrument,
    symbol: &str,
    client_order_id: &str,
    refused: impl FnOnce(&WsError) -> ReportKind,
) -> Result<Vec<ExecutionReport>, BinanceClientError> {
    let receive = local_ns();
    if let Some(err) = &answer.error {
        let kind = refused(err);
        return Ok(vec![ExecutionReport::answered(Venue::Binance, symbol, client_order_id, None, kind, receive)]);
    }
    let result = answer.result.ok_or_else(|| malformed(method, "neither result nor error"))?;
    let order: BinanceOrder =
        serde_json::from_value(result).map_err(|e| parse_error(method)(ReportParseError::malformed("order")(e)))?;
    order_reports(&order, inst, receive).map_err(parse_error(method))
}

#[path = "ws_client_reconcile.rs"]
mod reconcile;

#[path = "ws_client_pipeline.rs"]
mod pipeline;

#[path = "ws_client_rest.rs"]
mod rest;

#[path = "ws_client_balances.rs"]
mod balances;

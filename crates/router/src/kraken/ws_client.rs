//! A Kraken WebSocket v2 order client: `add_order`, `amend_order`, `cancel_order` (and
//! `batch_add`, `batch_cancel`, `cancel_all`, `cancel_all_orders_after`) over one authenticated
//! connection, the `executions` channel into the per-order state machine, and (with a REST
//! companion) the `balances` channel into the account's balance updates (`ws_client_balances.rs`).
//!
//! ```text
//! let token = rest.websockets_token().await?;              // GetWebSocketsToken (REST, signed)
//! let mut ws = KrakenWsClient::open(KRAKEN_WS_LIVE, None, &token, pairs).await?;  // + snapshot
//! let reports = ws.place(&order).await?;                   // New (+ executions), or Rejected
//! ws.cancel("my-order-1").await?;                          // Canceled, or CancelRejected
//! let pushed = ws.next_reports(Duration::from_secs(1)).await?;  // fills pushed by the venue
//! let summary = ws.reconnect(&token).await?;               // after a drop: snapshot merged
//! ```
//!
//! The client reaches the simulator through `ws://` ([`KrakenWsClient::connect`]) and Kraken
//! through `wss://` ([`KrakenWsClient::open`] with [`KRAKEN_WS_LIVE`](crate::ws::KRAKEN_WS_LIVE)):
//! the REST clients' TLS, certificates always checked ([`crate::ws`]).
//!
//! Each request carries the token and a fresh `req_id`; the client reads frames until the
//! answer with that `req_id`, applying every `executions` message it meets on the way, so an
//! execution that overtakes its order's answer (a fill before the acknowledgment) is applied
//! first and the answer after: the state machine is built from the set of reports, not their
//! order. Fills are keyed by Kraken's `trade_id`, so a fill seen live and again in a snapshot
//! (or through the REST client's reconciliation) counts once.
//!
//! The channel is account-wide: an execution of an order this client did not place (a REST
//! order of the same account) is adopted into the table by its `cl_ord_id` (or `order_id`),
//! side and quantity, so the table holds every order of the account that traded or rested.
//!
//! **Reconnect.** [`KrakenWsClient::reconnect`] opens a new connection, subscribes again and
//! merges the snapshot: the open orders (their `cum_qty`) and the last 50 fills. Orders the
//! table holds as live that the snapshot neither lists as open nor accounts for with fills
//! ended while the client was away; they are returned as `unlisted`. A client built
//! [`KrakenWsClient::with_rest`] settles them itself over REST (`QueryOrders`, `ClosedOrders`,
//! and `TradesHistory` when more than 50 fills were missed) when it reconciles, and fetches a
//! fresh token for every connection (`ws_client_rest.rs`). A frame that cannot be parsed is
//! counted ([`KrakenWsClient::malformed_frames`]) and skipped, never a panic.
//!
//! **Kill switch and dead man's switch.** [`KrakenWsClient::cancel_all_orders`] cancels every open
//! order of the account in one request; a [`DeadManSwitch`] has the client arm Kraken's
//! `cancel_all_orders_after` on connecting and push it back on its calls, so the venue cancels
//! everything if the client stops.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use super::client::{KrakenClientError, KrakenRestClient};
use super::ids::legal_cl_ord_id;
use super::ws_messages::{
    add_order_message, amend_order_message, cancel_all_message, cancel_all_orders_after_message, cancel_order_message,
    decimal_text, execution_report, parse_frame, subscribe_executions_message, KrakenWsPair, WsExecution, WsMessage,
    WsResponse,
};
use crate::order::{local_ns, NewOrder, OrderType, ReconcileSummary, TimeInForce};
use crate::order_state::{
    ExecutionReport, OrderState, OrderStateError, OrderStatus, OrderTable, ReportKind, Side, Venue,
};
use crate::ws::{Ws, WsTarget};

/// How long a request waits for its answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request did not produce reports.
#[derive(Debug, thiserror::Error)]
pub enum KrakenWsError {
    /// The connection failed or closed: the outcome of a request in flight is unknown.
    #[error("transport error: {0}")]
    Transport(String),
    /// No answer with the request's `req_id` in time.
    #[error("no answer: method={method} req_id={req_id}")]
    Timeout {
        /// The method.
        method: &'static str,
        /// Its `req_id`.
        req_id: u64,
    },
    /// The venue refused a request that is not an order (`subscribe`, `amend_order`): Kraken's
    /// error string.
    #[error("venue error: method={method} error={error}")]
    Venue {
        /// The method.
        method: &'static str,
        /// Kraken's error string.
        error: String,
    },
    /// A pair the client has no instrument for.
    #[error("unknown pair: pair={0}")]
    UnknownPair(String),
    /// An order Kraken spot cannot take as asked, or an unknown client id (nothing was sent).
    #[error("unsupported order: {0}")]
    Unsupported(String),
    /// A report the order table refused.
    #[error(transparent)]
    State(#[from] OrderStateError),
    /// A call of the REST client the WebSocket client relies on (a token, a reconciliation
    /// step) failed.
    #[error("rest: {0}")]
    Rest(#[from] KrakenClientError),
}

/// Kraken's refusal of a token it does not accept (unknown, or unused for 15 minutes).
pub const INVALID_TOKEN: &str = "EAPI:Invalid key";

/// The dead man's switch (`cancel_all_orders_after`): the venue cancels every order of the
/// account `timeout_s` seconds after the last time the client armed it; the client arms it on
/// connecting and again on any call once `refresh_every` has passed since it last did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadManSwitch {
    /// Seconds until the venue cancels everything (1 to 86399).
    pub timeout_s: u32,
    /// How often the client pushes the trigger back (less than the timeout).
    pub refresh_every: Duration,
}

impl DeadManSwitch {
    /// Kraken's recommendation: a 60-second timeout, pushed back every 15 to 30 seconds (here 20).
    pub const RECOMMENDED: DeadManSwitch = DeadManSwitch { timeout_s: 60, refresh_every: Duration::from_secs(20) };

    /// A switch firing `timeout_s` seconds after the last refresh, refreshed every
    /// `refresh_every`; a timeout outside 1..86400 seconds, or a refresh period not under it, is
    /// refused.
    pub fn new(timeout_s: u32, refresh_every: Duration) -> Result<Self, KrakenWsError> {
        if !(1..86_400).contains(&timeout_s) {
            return Err(KrakenWsError::Unsupported(format!("dead man's switch timeout_s={timeout_s}: 1 to 86399")));
        }
        if refresh_every.is_zero() || refresh_every >= Duration::from_secs(u64::from(timeout_s)) {
            return Err(KrakenWsError::Unsupported(format!(
                "dead man's switch refresh_every={refresh_every:?} must be under timeout_s={timeout_s}"
            )));
        }
        Ok(Self { timeout_s, refresh_every })
    }
}

/// What a reconnect merged.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WsReconcile {
    /// Fills and status changes new to the table.
    pub summary: ReconcileSummary,
    /// Live orders the snapshot does not account for (they ended while away): settle them
    /// through REST.
    pub unlisted: Vec<String>,
}

/// The client: one connection, its token, the pairs, the order table.
pub struct KrakenWsClient {
    target: WsTarget,
    /// The connection (none before the first use and after a failure: the next call opens one
    /// and subscribes again).
    ws: Option<Ws>,
    /// Live orders the last snapshot did not account for.
    unlisted: Vec<String>,
    token: String,
    pairs: HashMap<String, KrakenWsPair>,
    by_symbol: HashMap<String, String>,
    orders: OrderTable,
    order_pairs: HashMap<String, String>,
    next_req_id: u64,
    inbox: Vec<ExecutionReport>,
    malformed: u64,
    unattributed: u64,
    snapshot: Option<HashSet<String>>,
    /// The REST client for what the WebSocket API cannot do (tokens, order and trade queries).
    rest: Option<KrakenRestClient>,
    /// Tokens fetched from the REST client.
    tokens_fetched: u64,
    dead_man: Option<DeadManSwitch>,
    /// When the dead man's switch was last armed (none: arm it at the next call).
    dead_man_armed: Option<tokio::time::Instant>,
    /// The venue's trigger time of the dead man's switch, as it last answered.
    dead_man_trigger: Option<String>,
    /// Balance entries read, not yet taken (`ws_client_balances.rs`).
    balances: std::collections::VecDeque<crate::order::BalanceUpdate>,
    /// Times balance entries may have been missed.
    balance_gaps: u64,
    /// The `balances` channel's last `sequence` on this connection.
    balance_seq: Option<u64>,
    malformed_balances: u64,
    /// Kraken's refusal of the `balances` subscription, if it refused it.
    balances_refused: Option<String>,
    /// The account's taker fee, in millionths (`ws_client_balances.rs`); none: Kraken's default.
    taker_fee_ppm: Option<u32>,
}

impl std::fmt::Debug for KrakenWsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never printed.
        f.debug_struct("KrakenWsClient").field("pairs", &self.pairs.len()).finish_non_exhaustive()
    }
}

async fn open(target: &WsTarget) -> Result<Ws, KrakenWsError> {
    let config = WebSocketConfig::default().max_message_size(Some(16 << 20));
    tokio::time::timeout(ANSWER_TIMEOUT, target.connect(config))
        .await
        .map_err(|_| KrakenWsError::Transport(format!("connect {}: timed out", target.url())))?
        .map_err(KrakenWsError::Transport)
}

impl KrakenWsClient {
    /// Connects to the WebSocket API at `addr` (plain `ws://<addr>/v2`: the local simulator),
    /// subscribes to `executions` with `token` and merges the snapshot.
    pub async fn connect(addr: SocketAddr, token: &str, pairs: Vec<KrakenWsPair>) -> Result<Self, KrakenWsError> {
        Self::open(&format!("ws://{addr}/v2"), None, token, pairs).await
    }

    /// Connects to the WebSocket API at `url` (`ws://` or `wss://`; for `wss://` the certificate
    /// is checked against Mozilla's roots and, if given, the authorities of the PEM file
    /// `extra_roots`), subscribes to `executions` with `token` and merges the snapshot. A bad
    /// URL or root file, or a certificate that does not verify, is a [`KrakenWsError::Transport`]
    /// naming the reason.
    pub async fn open(
        url: &str,
        extra_roots: Option<&Path>,
        token: &str,
        pairs: Vec<KrakenWsPair>,
    ) -> Result<Self, KrakenWsError> {
        let mut client = Self::new(url, extra_roots, token, pairs)?;
        client.ensure_connected().await?;
        client.inbox.clear();
        Ok(client)
    }

    /// A client for the WebSocket API at `url` (as [`Self::open`]) that connects, subscribes and
    /// merges the snapshot on first use (so it can be built on one thread and driven on
    /// another's runtime: [`crate::execution_adapter::RoutedExecution`]), and again on the next
    /// call after the connection failed. A bad URL or root file is an error here.
    pub fn new(
        url: &str,
        extra_roots: Option<&Path>,
        token: &str,
        pairs: Vec<KrakenWsPair>,
    ) -> Result<Self, KrakenWsError> {
        let target = WsTarget::open(url, extra_roots).map_err(|e| KrakenWsError::Transport(e.to_string()))?;
        let by_symbol = pairs.iter().map(|p| (p.symbol.clone(), p.pair.instrument.symbol.clone())).collect();
        Ok(Self {
            target,
            ws: None,
            unlisted: Vec::new(),
            token: token.to_owned(),
            pairs: pairs.into_iter().map(|p| (p.pair.instrument.symbol.clone(), p)).collect(),
            by_symbol,
            orders: OrderTable::new(),
            order_pairs: HashMap::new(),
            next_req_id: 0,
            inbox: Vec::new(),
            malformed: 0,
            unattributed: 0,
            snapshot: None,
            rest: None,
            tokens_fetched: 0,
            dead_man: None,
            dead_man_armed: None,
            dead_man_trigger: None,
            balances: std::collections::VecDeque::new(),
            balance_gaps: 0,
            balance_seq: None,
            malformed_balances: 0,
            balances_refused: None,
            taker_fee_ppm: None,
        })
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.ws.is_some()
    }

    /// Drops the connection (as a network failure would); the next call reconnects.
    pub fn disconnect(&mut self) {
        self.ws = None;
    }

    /// Live orders the last snapshot did not account for (they ended while the client was
    /// away): the WebSocket API cannot tell how; settle them through the REST client.
    pub fn unlisted(&self) -> &[String] {
        &self.unlisted
    }

    /// Connects and subscribes if not connected; returns what the snapshot merged (nothing if
    /// already connected).
    ///
    /// With a REST client ([`Self::with_rest`]), every new connection uses a fresh token. On a
    /// connection, a dead man's switch that is due is armed again.
    pub(crate) async fn ensure_connected(&mut self) -> Result<WsReconcile, KrakenWsError> {
        if self.ws.is_some() {
            self.refresh_dead_man_if_due().await?;
            return Ok(WsReconcile::default());
        }
        if self.rest.is_some() {
            self.fetch_token().await?;
        }
        self.ws = Some(open(&self.target).await?);
        let mut merged = self.subscribe().await;
        if merged.is_ok() {
            if let Err(e) = self.subscribe_balances().await {
                merged = Err(e);
            }
        }
        if merged.is_err() {
            self.ws = None; // not subscribed: the next call starts over
        }
        let merged = merged?;
        self.dead_man_armed = None;
        self.refresh_dead_man_if_due().await?;
        Ok(merged)
    }

    /// The orders and what is known of them.
    pub fn orders(&self) -> &OrderTable {
        &self.orders
    }

    /// Frames that could not be parsed (skipped).
    pub fn malformed_frames(&self) -> u64 {
        self.malformed
    }

    /// Executions that could not be attributed to an order (no pair for their symbol).
    pub fn unattributed_executions(&self) -> u64 {
        self.unattributed
    }

    /// Places an order; returns the reports it produced (applied to the table): the answer
    /// (`New` with the order id, or `Rejected` with Kraken's error) and every execution read
    /// while waiting for it.
    pub async fn place(&mut self, order: &NewOrder) -> Result<Vec<ExecutionReport>, KrakenWsError> {
        if !self.pairs.contains_key(&order.symbol) {
            return Err(KrakenWsError::UnknownPair(order.symbol.clone()));
        }
        if matches!(order.order_type, OrderType::Limit { tif: TimeInForce::Fok, .. }) {
            return Err(KrakenWsError::Unsupported("Kraken spot has no fill-or-kill time in force".into()));
        }
        if !legal_cl_ord_id(&order.client_order_id) || self.orders.get(&order.client_order_id).is_some() {
            return Err(KrakenWsError::Unsupported(format!(
                "cl_ord_id illegal or already used: {:?}",
                order.client_order_id.chars().take(40).collect::<String>()
            )));
        }
        self.ensure_connected().await?;
        self.orders.insert(OrderState::new(&order.client_order_id, order.side, order.qty));
        self.order_pairs.insert(order.client_order_id.clone(), order.symbol.clone());
        let pair = self.pairs[&order.symbol].clone();
        let answer = self
            .request_with_token("add_order", |token, req_id| add_order_message(order, &pair, token, req_id))
            .await?;
        let kind = match &answer.outcome {
            Ok(_) => ReportKind::New,
            Err(error) => ReportKind::Rejected { code: None, reason: error.clone() },
        };
        let order_id = answer.outcome.ok().and_then(|r| r.order_id);
        let report =
            ExecutionReport::answered(Venue::Kraken, &order.symbol, &order.client_order_id, order_id, kind, local_ns());
        self.orders.apply(&report)?;
        let mut reports = std::mem::take(&mut self.inbox);
        reports.insert(0, report);
        Ok(reports)
    }

    /// Cancels an order by client id: `Canceled`, or `CancelRejected` with Kraken's reason
    /// (`EOrder:Unknown order`: already gone); with every execution read while waiting.
    pub async fn cancel(&mut self, client_order_id: &str) -> Result<Vec<ExecutionReport>, KrakenWsError> {
        let symbol = self.symbol_of(client_order_id)?;
        self.ensure_connected().await?;
        if let Some(order) = self.orders.get_mut(client_order_id) {
            order.request_cancel();
        }
        let answer = self
            .request_with_token("cancel_order", |token, req_id| cancel_order_message(client_order_id, token, req_id))
            .await?;
        let kind = match answer.outcome {
            Ok(_) => ReportKind::Canceled,
            Err(reason) => ReportKind::CancelRejected { code: None, reason },
        };
        let venue_order_id = self.orders.get(client_order_id).and_then(|o| o.venue_order_id.clone());
        let report =
            ExecutionReport::answered(Venue::Kraken, &symbol, client_order_id, venue_order_id, kind, local_ns());
        self.orders.apply(&report)?;
        let mut reports = std::mem::take(&mut self.inbox);
        reports.insert(0, report);
        Ok(reports)
    }

    /// Amends an open limit order's quantity (lots, the new total) and/or price (ticks) in
    /// place; returns Kraken's amend id.
    pub async fn amend(
        &mut self,
        client_order_id: &str,
        new_qty: Option<i64>,
        new_price: Option<i64>,
    ) -> Result<String, KrakenWsError> {
        let symbol = self.symbol_of(client_order_id)?;
        self.ensure_connected().await?;
        let pair = self.pairs.get(&symbol).ok_or_else(|| KrakenWsError::UnknownPair(symbol.clone()))?.clone();
        let answer = self
            .request_with_token("amend_order", |token, req_id| {
                amend_order_message(client_order_id, &pair, new_qty, new_price, token, req_id)
            })
            .await?;
        let result = answer.outcome.map_err(|error| KrakenWsError::Venue { method: "amend_order", error })?;
        if let (Some(qty), Some(order)) = (new_qty, self.orders.get_mut(client_order_id)) {
            order.qty = qty;
        }
        Ok(result.amend_id.unwrap_or_default())
    }

    /// The reports of executions pushed by the venue: those already read, or else those of
    /// the next `executions` frame within `wait` (none if nothing came).
    pub async fn next_reports(&mut self, wait: Duration) -> Result<Vec<ExecutionReport>, KrakenWsError> {
        self.ensure_connected().await?;
        let deadline = tokio::time::Instant::now() + wait;
        while self.inbox.is_empty() {
            let Some(text) = self.next_frame(deadline).await? else { break };
            self.on_frame(&text, None);
        }
        Ok(std::mem::take(&mut self.inbox))
    }

    /// Cancels every open order of the account in one request (`cancel_all`; the kill switch):
    /// returns Kraken's count. The `canceled` executions the venue pushes for them are read (5 s
    /// at most) and applied before it returns, so the table holds the orders as canceled.
    pub async fn cancel_all_orders(&mut self) -> Result<u64, KrakenWsError> {
        self.ensure_connected().await?;
        let live: Vec<String> =
            self.orders.iter().filter(|o| !o.status().is_terminal()).map(|o| o.client_order_id.clone()).collect();
        let answer = self.request_with_token("cancel_all", cancel_all_message).await?;
        let result = answer.outcome.map_err(|error| KrakenWsError::Venue { method: "cancel_all", error })?;
        let count = result.count.unwrap_or(0);
        // Done when as many of the orders live before have ended as Kraken canceled (or all).
        let ended = |client: &Self| {
            live.iter().filter(|c| client.orders.get(c).is_some_and(|o| o.status().is_terminal())).count()
        };
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        while (ended(self) as u64) < count && ended(self) < live.len() {
            let Some(text) = self.next_frame(deadline).await? else { break };
            self.on_frame(&text, None);
        }
        Ok(count)
    }

    /// Uses this dead man's switch from now on (none: stops refreshing it; it is disarmed at
    /// the venue by [`Self::disarm_dead_man_switch`]). It is armed at the next call.
    pub fn set_dead_man_switch(&mut self, switch: Option<DeadManSwitch>) {
        self.dead_man = switch;
        self.dead_man_armed = None;
    }

    /// The venue's trigger time (RFC 3339) of the dead man's switch, as it last answered.
    pub fn dead_man_trigger_time(&self) -> Option<&str> {
        self.dead_man_trigger.as_deref()
    }

    /// Arms the dead man's switch now (pushing its trigger back), connecting first if needed.
    pub async fn refresh_dead_man_switch(&mut self) -> Result<(), KrakenWsError> {
        self.dead_man_armed = None;
        self.ensure_connected().await?;
        self.refresh_dead_man_if_due().await
    }

    /// Disarms the dead man's switch at the venue (`timeout` 0) and stops refreshing it.
    pub async fn disarm_dead_man_switch(&mut self) -> Result<(), KrakenWsError> {
        self.dead_man = None;
        self.ensure_connected().await?;
        self.cancel_all_orders_after(0).await
    }

    async fn refresh_dead_man_if_due(&mut self) -> Result<(), KrakenWsError> {
        let Some(switch) = self.dead_man else { return Ok(()) };
        if self.dead_man_armed.is_some_and(|at| at.elapsed() < switch.refresh_every) {
            return Ok(());
        }
        let sent = tokio::time::Instant::now();
        self.cancel_all_orders_after(switch.timeout_s).await?;
        self.dead_man_armed = Some(sent);
        Ok(())
    }

    async fn cancel_all_orders_after(&mut self, timeout_s: u32) -> Result<(), KrakenWsError> {
        const METHOD: &str = "cancel_all_orders_after";
        let answer = self
            .request_with_token(METHOD, |token, req_id| cancel_all_orders_after_message(timeout_s, token, req_id))
            .await?;
        let result = answer.outcome.map_err(|error| KrakenWsError::Venue { method: METHOD, error })?;
        self.dead_man_trigger = result.trigger_time;
        Ok(())
    }

    /// After a disconnect: a new connection to the same URL (with a fresh token if the old one was never
    /// used; a client built [`Self::with_rest`] fetches its own instead), `executions`
    /// subscribed again, the snapshot merged.
    pub async fn reconnect(&mut self, token: &str) -> Result<WsReconcile, KrakenWsError> {
        self.ws = None;
        token.clone_into(&mut self.token);
        self.ensure_connected().await
    }

    /// The next text frame before `deadline` (none if nothing came); a failed or closed
    /// connection is dropped (the next call reconnects) and is a transport error.
    pub(crate) async fn next_frame(&mut self, deadline: tokio::time::Instant) -> Result<Option<String>, KrakenWsError> {
        let Some(ws) = self.ws.as_mut() else { return Err(KrakenWsError::Transport("not connected".into())) };
        let frame = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Ok(None),
            Ok(frame) => frame,
        };
        match frame_text(frame) {
            Ok(text) => Ok(Some(text)),
            Err(e) => {
                self.ws = None;
                Err(e)
            }
        }
    }

    fn req_id(&mut self) -> u64 {
        self.next_req_id += 1;
        self.next_req_id
    }

    fn symbol_of(&self, client_order_id: &str) -> Result<String, KrakenWsError> {
        self.order_pairs
            .get(client_order_id)
            .cloned()
            .ok_or_else(|| KrakenWsError::Unsupported(format!("unknown client order id: {client_order_id}")))
    }

    /// Subscribes to `executions` and merges the snapshot.
    async fn subscribe(&mut self) -> Result<WsReconcile, KrakenWsError> {
        self.snapshot = None;
        let (fills_before, statuses_before) = self.counts();
        let unattributed_before = self.unattributed;
        let answer = self.request_with_token("subscribe", subscribe_executions_message).await?;
        let req_id = self.next_req_id;
        answer.outcome.map_err(|error| KrakenWsError::Venue { method: "subscribe", error })?;
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        while self.snapshot.is_none() {
            let Some(text) = self.next_frame(deadline).await? else {
                self.ws = None;
                return Err(KrakenWsError::Timeout { method: "subscribe", req_id });
            };
            self.on_frame(&text, None);
        }
        let listed = self.snapshot.take().unwrap_or_default();
        let (fills_after, statuses_after) = self.counts();
        let status_changes = statuses_after.iter().filter(|(c, s)| statuses_before.get(*c) != Some(s)).count();
        let mut unlisted: Vec<String> = self
            .orders
            .iter()
            .filter(|o| !o.status().is_terminal() && !listed.contains(&o.client_order_id))
            .map(|o| o.client_order_id.clone())
            .collect();
        unlisted.sort();
        self.unlisted.clone_from(&unlisted);
        let summary = ReconcileSummary {
            new_fills: fills_after - fills_before,
            status_changes,
            unknown_trades: usize::try_from(self.unattributed - unattributed_before).unwrap_or(usize::MAX),
        };
        Ok(WsReconcile { summary, unlisted })
    }

    /// The fills in the table, and each order's status.
    fn counts(&self) -> (usize, HashMap<String, OrderStatus>) {
        let fills: usize = self.orders.iter().map(|o| o.fills().count()).sum();
        (fills, self.orders.iter().map(|o| (o.client_order_id.clone(), o.status())).collect())
    }

    /// Sends the request `build(token, req_id)` and reads its answer; with a REST client, a
    /// token the venue refuses (`EAPI:Invalid key`) is replaced by a fresh one and the request
    /// sent once more (a refused request did nothing). If no token comes, the refusal is the
    /// answer.
    async fn request_with_token(
        &mut self,
        method: &'static str,
        build: impl Fn(&str, u64) -> String,
    ) -> Result<WsResponse, KrakenWsError> {
        let req_id = self.req_id();
        let answer = self.request(method, req_id, build(&self.token, req_id)).await?;
        if self.rest.is_none() || answer.outcome.as_ref().err().map(String::as_str) != Some(INVALID_TOKEN) {
            return Ok(answer);
        }
        if self.fetch_token().await.is_err() {
            return Ok(answer); // no new token: the refusal stands (the request did nothing)
        }
        let req_id = self.req_id();
        self.request(method, req_id, build(&self.token, req_id)).await
    }

    /// Sends a request and reads frames until its answer, applying executions on the way.
    async fn request(&mut self, method: &'static str, req_id: u64, text: String) -> Result<WsResponse, KrakenWsError> {
        let Some(ws) = self.ws.as_mut() else { return Err(KrakenWsError::Transport("not connected".into())) };
        if let Err(e) = ws.send(Message::text(text)).await {
            self.ws = None;
            return Err(KrakenWsError::Transport(e.to_string()));
        }
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        loop {
            let Some(text) = self.next_frame(deadline).await? else {
                return Err(KrakenWsError::Timeout { method, req_id });
            };
            if let Some(answer) = self.on_frame(&text, Some(req_id)) {
                return Ok(answer);
            }
        }
    }

    /// Handles one frame: executions are applied (their reports kept for the caller); the
    /// answer to `req_id` is returned.
    fn on_frame(&mut self, text: &str, req_id: Option<u64>) -> Option<WsResponse> {
        let message = match parse_frame(text) {
            Ok(m) => m,
            Err(_) => {
                self.malformed += 1;
                return None;
            }
        };
        match message {
            WsMessage::Response(answer) if req_id.is_some() && answer.req_id == req_id => Some(answer),
            WsMessage::Executions { snapshot, executions } => {
                let mut listed = HashSet::new();
                for exec in &executions {
                    match self.apply_execution(exec) {
                        Some(client) if snapshot && exec.exec_type != "trade" => {
                            listed.insert(client);
                        }
                        _ => {}
                    }
                }
                if snapshot {
                    self.snapshot = Some(listed);
                }
                None
            }
            WsMessage::Balances { snapshot, sequence, data } => {
                self.on_balances(snapshot, sequence, data);
                None
            }
            WsMessage::Response(_) | WsMessage::Other => None,
        }
    }

    /// Applies one execution (adopting an order placed elsewhere); returns its client id.
    fn apply_execution(&mut self, exec: &WsExecution<'_>) -> Option<String> {
        let receive = local_ns();
        let known = exec.cl_ord_id.clone().filter(|c| self.orders.get(c).is_some()).or_else(|| {
            let found = self.orders.iter().find(|o| o.venue_order_id.as_deref() == Some(exec.order_id.as_str()));
            found.map(|o| o.client_order_id.clone())
        });
        let client = match known {
            Some(client) => client,
            None => self.adopt(exec)?,
        };
        let Some(pair) = self.order_pairs.get(&client).and_then(|p| self.pairs.get(p)) else {
            self.unattributed += 1;
            return None;
        };
        match execution_report(exec, &client, pair, receive) {
            Ok(report) => {
                if self.orders.apply(&report).is_ok() {
                    self.inbox.push(report);
                }
            }
            Err(_) => self.malformed += 1,
        }
        Some(client)
    }

    /// Starts tracking an order of the account this client did not place.
    fn adopt(&mut self, exec: &WsExecution<'_>) -> Option<String> {
        let altname = exec.symbol.as_ref().and_then(|s| self.by_symbol.get(s)).cloned();
        let pair = altname.as_ref().and_then(|a| self.pairs.get(a));
        let side = match exec.side.as_deref() {
            Some("buy") => Some(Side::Buy),
            Some("sell") => Some(Side::Sell),
            _ => None,
        };
        let qty = exec.order_qty.zip(pair).and_then(|(q, p)| p.pair.instrument.lots("order_qty", decimal_text(q)).ok());
        let (Some(altname), Some(side), Some(qty)) = (altname, side, qty) else {
            self.unattributed += 1;
            return None;
        };
        let client = exec.cl_ord_id.clone().unwrap_or_else(|| exec.order_id.clone());
        self.orders.insert(OrderState::new(&client, side, qty));
        self.order_pairs.insert(client.clone(), altname);
        Some(client)
    }
}

/// A frame's text: a closed or failed connection is a transport error; a ping, pong or binary
/// frame is `{}` (nothing to do).
fn frame_text(frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>) -> Result<String, KrakenWsError> {
    match frame {
        Some(Ok(Message::Text(text))) => Ok(text.as_str().to_owned()),
        Some(Ok(Message::Close(_))) | None => Err(KrakenWsError::Transport("connection closed".into())),
        Some(Ok(_)) => Ok(String::from("{}")),
        Some(Err(e)) => Err(KrakenWsError::Transport(e.to_string())),
    }
}

#[path = "ws_client_venue.rs"]
mod venue;

#[path = "ws_client_rest.rs"]
mod rest;

#[path = "ws_client_batch.rs"]
mod batch;

#[path = "ws_client_balances.rs"]
mod balances;
pub use balances::{taker_fee_ppm_of, BALANCE_QUEUE_CAPACITY, KRAKEN_DEFAULT_TAKER_FEE_PPM};
pub use batch::{BATCH_ADD_ORDERS, BATCH_CANCEL_ORDERS};

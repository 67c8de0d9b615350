//! Coinbase as one venue client for the market maker's adapter: the REST client for order entry
//! and reconciliation, the `user` WebSocket channel for what changes.
//!
//! ```text
//! let rest = CoinbaseRestClient::new(HttpConnection::open(COINBASE_LIVE, None)?, host, signer.clone(), products.clone());
//! let channel = CoinbaseUserWs::open(COINBASE_USER_WS_LIVE, None, signer, products)?;
//! let route = CoinbaseRoute::new(rest, channel);
//! let exec = RoutedExecution::spawn(route, config)?;   // fills of resting quotes pushed
//! ```
//!
//! **What the channel does, and what REST does.** The `user` channel pushes every change of
//! every order of the account, but as running totals (`cumulative_quantity`, `avg_price`,
//! `total_fees`): it names no trade and does not say whether we were the maker. So the channel
//! says *when* an order moved and REST says *what* moved: an update that shows an order of ours
//! executing more, or ending, marks it; the next [`CoinbaseRoute::reconcile`] reads each marked
//! order back (`historical/{id}`) and fetches its new fills (`historical/fills`), with Coinbase's
//! trade ids, exact prices and fees, and the maker flag from `liquidity_indicator`. Every fill in
//! the table comes from REST, so a fill is never counted twice (once from the totals, once
//! from REST) and its maker flag is the venue's, never a guess.
//!
//! **While the channel is up, nothing is polled.** A reconciliation drains the frames the
//! channel pushed since the last one (what has already arrived: it does not wait), settles orders whose place answer
//! was lost (`historical/batch`), and refreshes the marked orders: a resting order that nothing
//! happens to costs no request. When the channel is down (never connected, dropped, refused),
//! the route reconnects and runs the full REST reconciliation ([`crate::venue::reconcile`]),
//! since an update may have been missed; it does so after every reconnect, until the channel
//! is up and a full reconciliation has run since. The kill switch is the REST client's
//! (`batch_cancel` of the listed open orders, then a full reconciliation).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::client::{CoinbaseClientError, CoinbaseRestClient};
use super::user_ws::CoinbaseUserWs;
use crate::order::{NewOrder, ReconcileSummary};
use crate::order_state::{ExecutionReport, OrderState, OrderTable, ReportKind, Venue};
use crate::venue::{live_orders, ErrorKind, VenueClient};

/// How long a reconciliation waits for the next pushed frame before it stops draining: not at
/// all, it reads what has already arrived (the adapter's worker must not block on it).
const DRAIN_WAIT: Duration = Duration::ZERO;

/// How long connecting and subscribing may take before the attempt counts as failed.
const CONNECT_WAIT: Duration = Duration::from_secs(2);

/// After a failed attempt, how long the route waits before trying to connect again; it doubles
/// with each failure in a row, up to [`RECONNECT_AFTER_MAX`] (orders and reconciliations go on
/// over REST meanwhile).
pub const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The longest wait between two attempts to connect.
pub const RECONNECT_AFTER_MAX: Duration = Duration::from_secs(60);

/// What the route counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RouteStats {
    /// Pushed updates that marked an order for a refresh.
    pub pushed_updates: u64,
    /// Orders read back because an update marked them.
    pub refreshes: u64,
    /// Pushed updates of orders REST already held ended with every fill (an IOC read back
    /// after its place answer): no refresh.
    pub settled_updates: u64,
    /// Full REST reconciliations (the channel was down or had just come up).
    pub full_reconciliations: u64,
    /// Times the channel failed to connect, or dropped.
    pub channel_failures: u64,
}

/// The REST client and the `user` channel as one [`VenueClient`].
pub struct CoinbaseRoute {
    rest: CoinbaseRestClient,
    channel: CoinbaseUserWs,
    /// A full reconciliation ran since the channel last came up.
    synced: bool,
    /// Orders an update said moved since their last refresh.
    marked: HashSet<String>,
    retry_at: Option<Instant>,
    failures_in_a_row: u32,
    stats: RouteStats,
}

impl std::fmt::Debug for CoinbaseRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoinbaseRoute")
            .field("rest", &self.rest)
            .field("channel", &self.channel)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl CoinbaseRoute {
    /// A route over this REST client and this `user` channel client (same key, same products);
    /// the channel connects at the first reconciliation.
    pub fn new(rest: CoinbaseRestClient, channel: CoinbaseUserWs) -> Self {
        Self {
            rest,
            channel,
            synced: false,
            marked: HashSet::new(),
            retry_at: None,
            failures_in_a_row: 0,
            stats: RouteStats::default(),
        }
    }

    /// The REST client (its table is the route's).
    pub fn rest(&self) -> &CoinbaseRestClient {
        &self.rest
    }

    /// The REST client, to call it directly (the product's grid before a live route starts:
    /// [`crate::live`]).
    pub fn rest_mut(&mut self) -> &mut CoinbaseRestClient {
        &mut self.rest
    }

    /// Whether the channel is connected and a full reconciliation ran since it came up (then
    /// reconciliations poll nothing).
    pub fn channel_live(&self) -> bool {
        self.channel.is_connected() && self.synced
    }

    /// What the route counted.
    pub fn stats(&self) -> RouteStats {
        self.stats
    }

    /// Connects the channel if it is not connected and no back-off is running (see
    /// [`RECONNECT_AFTER`]); a failure is counted, not returned: REST reconciliation covers for
    /// it.
    async fn ensure_channel(&mut self) {
        if self.channel.is_connected() || self.retry_at.is_some_and(|at| Instant::now() < at) {
            return;
        }
        self.synced = false;
        let connected = matches!(tokio::time::timeout(CONNECT_WAIT, self.channel.connect()).await, Ok(Ok(())));
        if connected {
            self.retry_at = None;
            self.failures_in_a_row = 0;
        } else {
            self.stats.channel_failures += 1;
            let backoff = RECONNECT_AFTER.saturating_mul(1 << self.failures_in_a_row.min(6)).min(RECONNECT_AFTER_MAX);
            self.failures_in_a_row += 1;
            self.retry_at = Some(Instant::now() + backoff);
        }
    }

    /// Applies every frame already pushed; marks the orders that executed more or ended.
    async fn drain(&mut self) {
        while self.channel.is_connected() {
            match self.channel.poll_reports(DRAIN_WAIT).await {
                Ok(Some(reports)) => self.mark(&reports),
                Ok(None) => return,
                // An unreadable frame is counted by the channel; the connection stays up.
                Err(super::user_ws::UserWsError::Parse(_)) => {}
                Err(_) => {
                    self.channel.disconnect();
                    self.stats.channel_failures += 1;
                    self.synced = false;
                    self.retry_at = None; // reconnect at once
                    return;
                }
            }
        }
    }

    fn mark(&mut self, reports: &[ExecutionReport]) {
        for report in reports {
            let moved = matches!(
                report.kind,
                ReportKind::Trade(_) | ReportKind::Canceled | ReportKind::Expired | ReportKind::Rejected { .. }
            );
            if moved && self.settled(&report.client_order_id) {
                self.stats.settled_updates += 1;
                continue;
            }
            if moved && self.marked.insert(report.client_order_id.clone()) {
                self.stats.pushed_updates += 1;
            }
        }
    }

    /// Whether REST already holds the order ended, with every fill the channel says it had
    /// (an IOC read back after its place answer): a refresh would tell nothing new.
    fn settled(&self, client_order_id: &str) -> bool {
        let (Some(ours), Some(pushed)) =
            (self.rest.orders().get(client_order_id), self.channel.orders().get(client_order_id))
        else {
            return false;
        };
        ours.status().is_terminal() && ours.missing_qty() == 0 && ours.filled_qty() >= pushed.filled_qty()
    }

    /// Drains what the channel pushed and brings the table level: the full REST reconciliation
    /// while the channel is not live, else the orders whose answer was lost and the orders the
    /// channel marked (see the module docs).
    pub async fn reconcile(&mut self, symbol: &str) -> Result<ReconcileSummary, CoinbaseClientError> {
        self.ensure_channel().await;
        self.drain().await;
        if !self.channel.is_connected() || !self.synced {
            let summary = crate::venue::reconcile(&mut self.rest, symbol).await?;
            self.stats.full_reconciliations += 1;
            self.synced = self.channel.is_connected();
            self.marked.clear();
            return Ok(summary);
        }
        let mut summary = ReconcileSummary::default();
        let unanswered = live_orders(&self.rest, symbol, |o| o.venue_order_id.is_none());
        if !unanswered.is_empty() {
            self.rest.settle_unanswered(symbol, &unanswered, &mut summary).await?;
        }
        let marked: Vec<String> = self.marked.iter().cloned().collect();
        for id in marked {
            self.rest.refresh_order(&id, &mut summary).await?;
            self.marked.remove(&id);
            self.stats.refreshes += 1;
        }
        Ok(summary)
    }
}

impl VenueClient for CoinbaseRoute {
    type Error = CoinbaseClientError;

    fn venue(&self) -> Venue {
        Venue::Coinbase
    }

    fn error_kind(error: &CoinbaseClientError) -> ErrorKind {
        <CoinbaseRestClient as VenueClient>::error_kind(error)
    }

    fn orders(&self) -> &OrderTable {
        self.rest.orders()
    }

    /// The REST client's: Coinbase holds a buy's fee at the account's taker rate
    /// ([`CoinbaseRestClient::set_taker_fee_ppm`], through [`CoinbaseRoute::rest_mut`]).
    fn buy_fee_held_ppm(&self) -> u32 {
        self.rest.taker_fee_ppm()
    }

    /// Over REST, after the channel is asked to track the order (so its updates mark it). It
    /// does not wait for the channel to connect: reconciliations connect it, and the full
    /// reconciliation after it comes up covers what it missed.
    async fn place(&mut self, order: &NewOrder) -> Result<Vec<ExecutionReport>, CoinbaseClientError> {
        if self.channel.orders().get(&order.client_order_id).is_none() {
            self.channel.track(OrderState::new(&order.client_order_id, order.side, order.qty));
        }
        self.rest.place(order).await
    }

    async fn cancel(
        &mut self,
        symbol: &str,
        client_order_id: &str,
    ) -> Result<Vec<ExecutionReport>, CoinbaseClientError> {
        self.rest.cancel(symbol, client_order_id).await
    }

    async fn reconcile(&mut self, symbol: &str) -> Result<ReconcileSummary, CoinbaseClientError> {
        CoinbaseRoute::reconcile(self, symbol).await
    }

    /// The REST client's kill switch: the open orders listed and canceled, then a full
    /// reconciliation.
    async fn cancel_all(&mut self, symbol: &str) -> Result<usize, CoinbaseClientError> {
        let canceled = crate::venue::kill_switch(&mut self.rest, symbol).await?;
        self.marked.clear();
        Ok(canceled)
    }

    fn reconciles(&self, symbol: &str, client_order_id: &str) -> bool {
        self.rest.reconciles(symbol, client_order_id)
    }

    async fn settle_unanswered(
        &mut self,
        symbol: &str,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<(), CoinbaseClientError> {
        self.rest.settle_unanswered(symbol, client_order_ids, summary).await
    }

    async fn merge_missed_fills(
        &mut self,
        symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<(), CoinbaseClientError> {
        self.rest.merge_missed_fills(symbol, summary).await
    }

    async fn merge_open_orders(
        &mut self,
        symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<HashSet<String>, CoinbaseClientError> {
        self.rest.merge_open_orders(symbol, summary).await
    }

    async fn settle_unlisted(
        &mut self,
        symbol: &str,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<(), CoinbaseClientError> {
        self.rest.settle_unlisted(symbol, client_order_ids, summary).await
    }

    /// `GET /api/v3/brokerage/accounts` (every page): each currency's `available_balance`
    /// (free) and `hold` (locked), stamped with our clock when the answer came (Coinbase has no
    /// balance stream: the route polls this, [`crate::route_balances`]).
    async fn balance_snapshot(&mut self) -> Result<Option<crate::balances::BalanceSnapshot>, CoinbaseClientError> {
        let balances = self.rest.accounts().await?;
        Ok(Some(crate::balances::BalanceSnapshot { balances, ts_ns: crate::order::local_ns() }))
    }

    fn balances_polled(&self) -> bool {
        true
    }

    async fn cancel_open(&mut self, symbol: &str) -> Result<usize, CoinbaseClientError> {
        self.rest.cancel_open(symbol).await
    }
}

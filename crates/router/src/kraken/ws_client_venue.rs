//! The Kraken WebSocket client's [`VenueClient`] implementation, so the market maker's adapter
//! ([`crate::execution_adapter::RoutedExecution`]), the generic reconciliation and the kill
//! switch ([`crate::venue`]) run over it.
//!
//! Kraken's WebSocket API has no order or trade queries: what the client knows comes from the
//! `executions` channel, which pushes every change of the account's orders while connected and
//! sends a snapshot (open orders, the last 50 fills) on each subscription. Reconciliation
//! therefore reads what the channel pushed meanwhile, or, when the connection was lost,
//! reconnects and merges the snapshot. Live orders the snapshot does not account for ended
//! while the client was away; the WebSocket API cannot say how. A client built
//! [`KrakenWsClient::with_rest`] reads them back over REST (`QueryOrders`, `ClosedOrders`) and
//! fetches the fills past the snapshot's last 50 (`TradesHistory`); without one they stay live
//! in the table and are listed by [`KrakenWsClient::unlisted`].
//! The kill switch is one `cancel_all` request.

use std::collections::HashSet;
use std::time::Duration;

use super::{KrakenWsClient, KrakenWsError};
use crate::kraken::ids::uuid_cl_ord_id;
use crate::order::{local_ns, NewOrder, ReconcileSummary};
use crate::order_state::{ExecutionReport, OrderState, OrderTable, ReportKind, Venue};
use crate::venue::{ErrorKind, VenueClient};

/// How long a reconciliation waits for each further pushed frame once the connection is quiet.
const DRAIN_WAIT: Duration = Duration::from_millis(1);

impl KrakenWsClient {
    /// Applies every frame already pushed; if the connection is gone (or goes while reading),
    /// reconnects and merges the snapshot. Adds what changed in the table to `summary`.
    async fn catch_up(&mut self, summary: &mut ReconcileSummary) -> Result<(), KrakenWsError> {
        let (fills_before, statuses_before) = self.counts();
        let unattributed_before = self.unattributed;
        while self.ws.is_some() {
            let deadline = tokio::time::Instant::now() + DRAIN_WAIT;
            match self.next_frame(deadline).await {
                Ok(Some(text)) => {
                    self.on_frame(&text, None);
                }
                Ok(None) => break,
                Err(_) => {} // the connection dropped (and is gone): reconnect below
            }
        }
        self.ensure_connected().await?;
        self.inbox.clear(); // merged into the table, which the adapter reads
        let (fills_after, statuses_after) = self.counts();
        summary.new_fills += fills_after - fills_before;
        summary.status_changes += statuses_after.iter().filter(|(c, s)| statuses_before.get(*c) != Some(s)).count();
        summary.unknown_trades += usize::try_from(self.unattributed - unattributed_before).unwrap_or(usize::MAX);
        Ok(())
    }
}

impl VenueClient for KrakenWsClient {
    type Error = KrakenWsError;

    fn venue(&self) -> Venue {
        Venue::Kraken
    }

    /// A dropped connection or a missing answer leaves the outcome unknown (reconciliation
    /// settles it); anything else was refused before or by the venue.
    fn error_kind(error: &KrakenWsError) -> ErrorKind {
        match error {
            KrakenWsError::Transport(_) | KrakenWsError::Timeout { .. } => ErrorKind::Transport,
            KrakenWsError::Rest(e) => <crate::kraken::client::KrakenRestClient as VenueClient>::error_kind(e),
            _ => ErrorKind::Other,
        }
    }

    /// A UUID holding the id and the generation ([`uuid_cl_ord_id`]), as the REST client's.
    fn client_order_id(&self, id: u64, generation: usize) -> String {
        uuid_cl_ord_id(id, generation)
    }

    fn orders(&self) -> &OrderTable {
        &self.orders
    }

    /// As [`KrakenWsClient::place`]; an order that could not be sent because no connection
    /// opened (or no token came) (the client tracks it only once connected) is a `Rejected`
    /// report saying so, not an unknown outcome for reconciliation to settle.
    async fn place(&mut self, order: &NewOrder) -> Result<Vec<ExecutionReport>, KrakenWsError> {
        match KrakenWsClient::place(self, order).await {
            Err(e @ (KrakenWsError::Transport(_) | KrakenWsError::Timeout { .. } | KrakenWsError::Rest(_)))
                if self.orders.get(&order.client_order_id).is_none() =>
            {
                self.orders.insert(OrderState::new(&order.client_order_id, order.side, order.qty));
                self.order_pairs.insert(order.client_order_id.clone(), order.symbol.clone());
                let kind = ReportKind::Rejected { code: None, reason: format!("not sent: {e}") };
                let id = &order.client_order_id;
                let report = ExecutionReport::answered(Venue::Kraken, &order.symbol, id, None, kind, local_ns());
                self.orders.apply(&report)?;
                Ok(vec![report])
            }
            other => other,
        }
    }

    async fn cancel(&mut self, _symbol: &str, client_order_id: &str) -> Result<Vec<ExecutionReport>, KrakenWsError> {
        KrakenWsClient::cancel(self, client_order_id).await
    }

    /// `amend_order` to the new total quantity.
    async fn amend(&mut self, _symbol: &str, client_order_id: &str, new_total_qty: i64) -> Result<bool, KrakenWsError> {
        KrakenWsClient::amend(self, client_order_id, Some(new_total_qty), None).await.map(|_| true)
    }

    /// The `executions` channel is account-wide: every pair's orders.
    fn reconciles(&self, _symbol: &str, _client_order_id: &str) -> bool {
        true
    }

    /// Nothing first: executions name the order by `cl_ord_id` and `order_id` both, so an order
    /// whose answer was lost learns its id from its first execution or the snapshot.
    async fn settle_unanswered(
        &mut self,
        _symbol: &str,
        _client_order_ids: &[String],
        _summary: &mut ReconcileSummary,
    ) -> Result<(), KrakenWsError> {
        Ok(())
    }

    /// What the channel pushed since the last call, or, after a drop, a new connection and its
    /// snapshot (the open orders and the last 50 fills); then, with a REST client, the trades
    /// since the last read if an order's executed quantity is still ahead of its fills.
    async fn merge_missed_fills(&mut self, _symbol: &str, summary: &mut ReconcileSummary) -> Result<(), KrakenWsError> {
        self.catch_up(summary).await?;
        self.fetch_missing_fills(summary).await
    }

    /// On a live channel every live order is open (its end would have been pushed), except those
    /// the last snapshot did not account for.
    async fn merge_open_orders(
        &mut self,
        _symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<HashSet<String>, KrakenWsError> {
        self.catch_up(summary).await?;
        let unlisted: HashSet<&String> = self.unlisted.iter().collect();
        Ok(self
            .orders
            .iter()
            .filter(|o| !o.status().is_terminal() && !unlisted.contains(&o.client_order_id))
            .map(|o| o.client_order_id.clone())
            .collect())
    }

    /// The WebSocket API cannot query an order: with a REST client, `QueryOrders` by txid (or
    /// `ClosedOrders` by `cl_ord_id`), then the fills still missing; without one they stay live
    /// and listed by [`KrakenWsClient::unlisted`].
    async fn settle_unlisted(
        &mut self,
        _symbol: &str,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<(), KrakenWsError> {
        self.settle_over_rest(client_order_ids, summary).await
    }

    /// The REST companion's `BalanceEx` (`ws_client_balances.rs`); `None` without one.
    async fn balance_snapshot(&mut self) -> Result<Option<crate::balances::BalanceSnapshot>, KrakenWsError> {
        KrakenWsClient::balance_snapshot(self).await
    }

    /// Kraken's v2 name (`XBT` and `XXBT` are `BTC`), as the balances use it.
    fn balance_asset(&self, asset: &str) -> String {
        crate::kraken::assets::v2_asset(asset).to_owned()
    }

    /// Kraken holds a buy's fee at the taker rate: the account's
    /// ([`KrakenWsClient::set_taker_fee_ppm`]), or Kraken's default ([`super::KRAKEN_DEFAULT_TAKER_FEE_PPM`]).
    fn buy_fee_held_ppm(&self) -> u32 {
        self.taker_fee_ppm()
    }

    fn take_balance_updates(&mut self) -> Vec<crate::order::BalanceUpdate> {
        KrakenWsClient::take_balance_updates(self)
    }

    /// Connections subscribed to `balances`, sequences that skipped, entries dropped.
    fn balance_gaps(&self) -> u64 {
        KrakenWsClient::balance_gaps(self)
    }

    /// Reads frames for `wait` (connecting first when the connection dropped) where the client
    /// follows the account's balances; nothing otherwise.
    async fn read_pushed(&mut self, wait: Duration) -> Result<(), KrakenWsError> {
        if !self.tracks_balances() {
            return Ok(());
        }
        KrakenWsClient::read_pushed(self, wait).await
    }

    /// `cancel_all`: every open order of the account in one request; Kraken's count.
    async fn cancel_open(&mut self, _symbol: &str) -> Result<usize, KrakenWsError> {
        let count = KrakenWsClient::cancel_all_orders(self).await?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }
}

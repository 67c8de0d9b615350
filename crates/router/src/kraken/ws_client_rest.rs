//! The Kraken WebSocket client's REST companion: what Kraken's WebSocket API cannot do, done by
//! a [`KrakenRestClient`] of the same key, so that one client (one [`crate::venue::VenueClient`])
//! trades over the WebSocket and never loses track of an order.
//!
//! - **Tokens.** Every new connection (the first, and each reconnect) subscribes with a fresh
//!   token from `GetWebSocketsToken`, as Kraken recommends; a token the venue refuses
//!   (`EAPI:Invalid key`) on a live connection is replaced and the request sent once more.
//! - **Orders a snapshot does not account for.** After a reconnect, a live order the snapshot
//!   neither lists as open nor fills completely ended while the client was away: it is read
//!   back with `QueryOrders` (by txid) or `ClosedOrders` (by `cl_ord_id`, when its txid never
//!   arrived; found nowhere, it never reached the book), so a cancel or an expiry is learned.
//! - **Fills past the snapshot's last 50.** When an order's executed quantity (from the snapshot,
//!   or from `QueryOrders`) is ahead of its fills, the account's trades since the last ones
//!   read are fetched (`TradesHistory`, every page).
//!
//! The REST client runs its own reconciliation steps on a copy of the orders concerned
//! (`OrderState` is built from the set of reports, so the copy and the table agree), and the
//! copies, with what the steps merged, replace the table's orders: a fill seen over both APIs is
//! one fill (Kraken's `trade_id` keys both), and each new fill is counted once.

use std::time::Duration;

use super::{KrakenWsClient, KrakenWsError};
use crate::kraken::client::KrakenRestClient;
use crate::order::{local_ms, ReconcileSummary};
use crate::venue::VenueClient;

/// How far before the client's creation the trades it fetches start (clocks differ).
const TRADES_LOOKBACK: Duration = Duration::from_secs(60);

impl KrakenWsClient {
    /// A client for the WebSocket API at `url` (as [`Self::new`]: it connects on first use)
    /// that relies on `rest` (the same key's REST client) for tokens and for the orders and
    /// fills the WebSocket cannot tell (module docs of [`super`]). The REST client learns the
    /// WebSocket client's pairs; its trade queries start a minute before now.
    pub fn with_rest(
        url: &str,
        extra_roots: Option<&std::path::Path>,
        mut rest: KrakenRestClient,
        pairs: Vec<super::KrakenWsPair>,
    ) -> Result<Self, KrakenWsError> {
        for p in &pairs {
            rest.add_pair(p.pair.clone());
        }
        let since_s = (local_ms() / 1000).saturating_sub(TRADES_LOOKBACK.as_secs() as i64);
        rest.start_trades_after(&since_s.to_string());
        let mut client = Self::new(url, extra_roots, "", pairs)?;
        client.rest = Some(rest);
        Ok(client)
    }

    /// The REST client this client relies on, if any.
    pub fn rest(&self) -> Option<&KrakenRestClient> {
        self.rest.as_ref()
    }

    /// The REST client this client relies on, to call it directly (the pair's grid before a
    /// live route starts: [`crate::live`]).
    pub fn rest_mut(&mut self) -> Option<&mut KrakenRestClient> {
        self.rest.as_mut()
    }

    /// How many tokens were fetched from the REST client.
    pub fn tokens_fetched(&self) -> u64 {
        self.tokens_fetched
    }

    /// A fresh token from the REST client (`GetWebSocketsToken`) replaces the current one.
    pub(super) async fn fetch_token(&mut self) -> Result<(), KrakenWsError> {
        let Some(rest) = self.rest.as_mut() else { return Ok(()) };
        self.token = rest.websockets_token().await?;
        self.tokens_fetched += 1;
        Ok(())
    }

    /// Reads back, over REST, the orders `client_order_ids` (live orders a snapshot did not
    /// account for), then fetches the fills any order still misses. Nothing without a REST
    /// client.
    pub(crate) async fn settle_over_rest(
        &mut self,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<(), KrakenWsError> {
        if self.rest.is_none() || client_order_ids.is_empty() {
            return Ok(());
        }
        self.lend_orders_to_rest();
        let result = match self.rest.as_mut() {
            Some(rest) => rest.settle_unlisted("", client_order_ids, summary).await,
            None => Ok(()),
        };
        self.take_orders_from_rest();
        result?;
        // Read back now: an order still live is open at the venue, and the channel tells the rest.
        self.unlisted.clear();
        self.fetch_missing_fills(summary).await
    }

    /// When an order's executed quantity is ahead of its fills (more than the snapshot's 50
    /// were missed), the account's trades since the last read, over REST. Nothing without a
    /// REST client or when no fill is missing.
    pub(crate) async fn fetch_missing_fills(&mut self, summary: &mut ReconcileSummary) -> Result<(), KrakenWsError> {
        if self.rest.is_none() || !self.orders.iter().any(|o| o.missing_qty() > 0) {
            return Ok(());
        }
        self.lend_orders_to_rest();
        let result = match self.rest.as_mut() {
            Some(rest) => rest.merge_missed_fills("", summary).await,
            None => Ok(()),
        };
        self.take_orders_from_rest();
        Ok(result?)
    }

    /// Copies every order (and its pair) into the REST client's table.
    fn lend_orders_to_rest(&mut self) {
        let Some(rest) = self.rest.as_mut() else { return };
        for order in self.orders.iter() {
            let pair = self.order_pairs.get(&order.client_order_id).map_or("", String::as_str);
            rest.track(order.clone(), pair);
        }
    }

    /// The REST client's copies, with what its steps merged, replace the table's orders.
    fn take_orders_from_rest(&mut self) {
        let Some(rest) = self.rest.as_ref() else { return };
        let ids: Vec<String> = self.orders.iter().map(|o| o.client_order_id.clone()).collect();
        for id in ids {
            if let Some(copy) = rest.orders().get(&id) {
                self.orders.insert(copy.clone());
            }
        }
    }
}

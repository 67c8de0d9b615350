//! Reconciliation of the Kraken client and its [`VenueClient`] implementation:
//! [`crate::venue`] runs the steps (the trades since the last seen, the open orders, the
//! final state of every live order the venue no longer lists) and the kill switch (`CancelAll`).

use std::collections::{HashMap, HashSet};

use super::{nonce_and, KrakenClientError, KrakenRestClient, ACCOUNT_WIDE};
use crate::kraken::ids::uuid_cl_ord_id;
use crate::kraken::reports::{
    seconds_to_ns, trade_report, ClosedOrders, CountResult, KrakenOrder, KrakenTrade, OpenOrders, QueriedOrders,
    TradesHistory,
};
use crate::order::{local_ns, NewOrder, ReconcileSummary};
use crate::order_state::{ExecutionReport, OrderTable, Venue};
use crate::venue::{ErrorKind, VenueClient};

impl KrakenRestClient {
    /// Fetches and merges what may have been missed, for every pair ([`crate::venue`]): the
    /// trades since the last reconciled one, the open orders, and the final state of every live
    /// order the venue no longer lists.
    pub async fn reconcile_all(&mut self) -> Result<ReconcileSummary, KrakenClientError> {
        crate::venue::reconcile(self, ACCOUNT_WIDE).await
    }

    /// The client id of the order with this txid or `cl_ord_id`, if the table holds it.
    pub(super) fn client_of(&self, txid: &str, cl_ord_id: Option<&str>) -> Option<String> {
        if let Some(cl) = cl_ord_id.filter(|c| self.orders.get(c).is_some()) {
            return Some(cl.to_owned());
        }
        self.orders.iter().find(|o| o.venue_order_id.as_deref() == Some(txid)).map(|o| o.client_order_id.clone())
    }

    /// An order whose `AddOrder` answer was lost and that is not open: `ClosedOrders` by its
    /// `cl_ord_id`; absent there too, it never reached the book.
    pub(super) async fn find_closed(
        &mut self,
        client: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<(), KrakenClientError> {
        const EP: &str = "ClosedOrders";
        let body = self.private(EP, |nonce| nonce_and(nonce, "cl_ord_id", client)).await?;
        let closed: ClosedOrders = self.result(EP, &body)?;
        let receive = local_ns();
        let report = match closed.closed.iter().next() {
            Some((txid, order)) => self.order_report(EP, txid, order, client, receive)?,
            None => {
                let pair = self.order_pairs.get(client).map_or("", String::as_str);
                ExecutionReport::never_reached_the_book(Venue::Kraken, pair, client, receive)
            }
        };
        summary.merge(&mut self.orders, std::slice::from_ref(&report));
        Ok(())
    }

    /// Every trade since the watermark (all pages), oldest first, merged; the watermark moves to
    /// the newest once all pages are read.
    pub(super) async fn fetch_trades(
        &mut self,
        summary: &mut ReconcileSummary,
    ) -> Result<Vec<ExecutionReport>, KrakenClientError> {
        const EP: &str = "TradesHistory";
        let mut trades: Vec<(String, KrakenTrade)> = Vec::new();
        let mut seen = HashSet::new();
        loop {
            let start = self.trade_watermark.clone();
            let ofs = trades.len();
            let body = self
                .private(EP, |nonce| {
                    let mut q = form_urlencoded::Serializer::new(String::new());
                    q.append_pair("nonce", &nonce.to_string());
                    q.append_pair("type", "all");
                    if let Some(start) = &start {
                        q.append_pair("start", start);
                    }
                    q.append_pair("ofs", &ofs.to_string());
                    q.finish()
                })
                .await?;
            let page: TradesHistory = self.result(EP, &body)?;
            let got = page.trades.len();
            // A trade made while paging shifts the pages: the same trade may come twice.
            trades.extend(page.trades.into_iter().filter(|(id, _)| seen.insert(id.clone())));
            if got == 0 || ofs + got >= usize::try_from(page.count).unwrap_or(usize::MAX) {
                break;
            }
        }
        let mut times = Vec::with_capacity(trades.len());
        for (_, t) in &trades {
            let ns =
                seconds_to_ns("time", &t.time).map_err(|error| KrakenClientError::Parse { endpoint: EP, error })?;
            times.push(ns);
        }
        let mut order: Vec<usize> = (0..trades.len()).collect();
        order.sort_by_key(|&i| (times[i], trades[i].1.trade_id));
        // Orders whose txid the client does not know yet (their AddOrder answer was lost).
        let unknown: HashSet<String> = trades
            .iter()
            .map(|(_, t)| t.ordertxid.clone())
            .filter(|txid| self.client_of(txid, None).is_none())
            .collect();
        if !unknown.is_empty() {
            self.attribute(&unknown, summary).await?;
        }
        let receive = local_ns();
        let mut reports = Vec::new();
        for &i in &order {
            let trade = &trades[i].1;
            let Some(client) = self.client_of(&trade.ordertxid, None) else {
                summary.unknown_trades += 1;
                continue;
            };
            let pair = self.pair(self.order_pairs.get(&client).map_or("", String::as_str))?;
            let report = trade_report(trade, &client, pair, receive)
                .map_err(|error| KrakenClientError::Parse { endpoint: EP, error })?;
            reports.push(report);
        }
        summary.merge(&mut self.orders, &reports);
        if let Some(&last) = order.last() {
            self.trade_watermark = Some(trades[last].0.clone());
        }
        Ok(reports)
    }

    /// Learns which of our orders these txids are (`QueryOrders`, their `cl_ord_id`).
    pub(super) async fn attribute(
        &mut self,
        txids: &HashSet<String>,
        summary: &mut ReconcileSummary,
    ) -> Result<(), KrakenClientError> {
        let txids = txids.iter().map(String::as_str).collect();
        self.query_orders_as(txids, summary, |client, _, order| {
            order.cl_ord_id.clone().filter(|c| client.orders.get(c).is_some())
        })
        .await
        .map(drop)
    }

    /// `QueryOrders` for these txids (by txid -> the client id the client knows the order by),
    /// merged.
    pub(super) async fn query_orders(
        &mut self,
        txids: &HashMap<String, String>,
        summary: &mut ReconcileSummary,
    ) -> Result<Vec<ExecutionReport>, KrakenClientError> {
        let ids = txids.keys().map(String::as_str).collect();
        self.query_orders_as(ids, summary, |_, txid, _| txids.get(txid).cloned()).await
    }

    /// `QueryOrders` for these txids (50 a call); each answer is merged as the order `ours`
    /// names (none: not one of ours). Returns the reports merged.
    async fn query_orders_as(
        &mut self,
        txids: Vec<&str>,
        summary: &mut ReconcileSummary,
        ours: impl Fn(&Self, &str, &KrakenOrder) -> Option<String>,
    ) -> Result<Vec<ExecutionReport>, KrakenClientError> {
        const EP: &str = "QueryOrders";
        let mut reports = Vec::new();
        for chunk in txids.chunks(50) {
            let list = chunk.join(",");
            let body = self.private(EP, |nonce| nonce_and(nonce, "txid", &list)).await?;
            let orders: QueriedOrders = self.result(EP, &body)?;
            let receive = local_ns();
            for (txid, order) in &orders {
                let Some(client) = ours(self, txid, order) else { continue };
                reports.push(self.order_report(EP, txid, order, &client, receive)?);
            }
        }
        summary.merge(&mut self.orders, &reports);
        Ok(reports)
    }
}

impl VenueClient for KrakenRestClient {
    type Error = KrakenClientError;

    fn venue(&self) -> Venue {
        Venue::Kraken
    }

    fn error_kind(error: &KrakenClientError) -> ErrorKind {
        match error {
            KrakenClientError::Transport { .. } => ErrorKind::Transport,
            KrakenClientError::RateLimited { .. } => ErrorKind::RateLimited,
            _ => ErrorKind::Other,
        }
    }

    /// A UUID holding the id and the generation ([`uuid_cl_ord_id`]).
    fn client_order_id(&self, id: u64, generation: usize) -> String {
        uuid_cl_ord_id(id, generation)
    }

    fn orders(&self) -> &OrderTable {
        &self.orders
    }

    async fn place(&mut self, order: &NewOrder) -> Result<Vec<ExecutionReport>, KrakenClientError> {
        KrakenRestClient::place(self, order).await
    }

    async fn cancel(&mut self, symbol: &str, client_order_id: &str) -> Result<Vec<ExecutionReport>, KrakenClientError> {
        KrakenRestClient::cancel(self, symbol, client_order_id).await
    }

    /// `AmendOrder` to the new total quantity.
    async fn amend(
        &mut self,
        symbol: &str,
        client_order_id: &str,
        new_total_qty: i64,
    ) -> Result<bool, KrakenClientError> {
        KrakenRestClient::amend(self, symbol, client_order_id, Some(new_total_qty), None).await.map(|_| true)
    }

    /// Kraken's order queries and `CancelAll` are account-wide: every pair's orders.
    fn reconciles(&self, _symbol: &str, _client_order_id: &str) -> bool {
        true
    }

    /// Nothing first: a trade of an order whose txid never arrived is attributed while the
    /// trades are fetched (`QueryOrders` of the trade's order), and such an order that is not
    /// open is looked up by its `cl_ord_id` when the unlisted are settled.
    async fn settle_unanswered(
        &mut self,
        _symbol: &str,
        _client_order_ids: &[String],
        _summary: &mut ReconcileSummary,
    ) -> Result<(), KrakenClientError> {
        Ok(())
    }

    /// All pages of `TradesHistory` from the last reconciled trade.
    async fn merge_missed_fills(
        &mut self,
        _symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<(), KrakenClientError> {
        self.fetch_trades(summary).await.map(drop)
    }

    /// `OpenOrders` (every pair).
    async fn merge_open_orders(
        &mut self,
        _symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<HashSet<String>, KrakenClientError> {
        const EP: &str = "OpenOrders";
        let body = self.private(EP, |nonce| format!("nonce={nonce}")).await?;
        let open: OpenOrders = self.result(EP, &body)?;
        let receive = local_ns();
        let mut listed = HashSet::new();
        let mut reports = Vec::new();
        for (txid, order) in &open.open {
            let Some(client) = self.client_of(txid, order.cl_ord_id.as_deref()) else { continue };
            listed.insert(client.clone());
            reports.push(self.order_report(EP, txid, order, &client, receive)?);
        }
        summary.merge(&mut self.orders, &reports);
        Ok(listed)
    }

    /// `QueryOrders` by txid, or `ClosedOrders` by `cl_ord_id` for an order whose txid never
    /// arrived (found nowhere, it never reached the book: rejected).
    async fn settle_unlisted(
        &mut self,
        _symbol: &str,
        client_order_ids: &[String],
        summary: &mut ReconcileSummary,
    ) -> Result<(), KrakenClientError> {
        let txid = |client: &String| self.orders.get(client).and_then(|o| o.venue_order_id.clone());
        let known: HashMap<String, String> =
            client_order_ids.iter().filter_map(|c| txid(c).map(|t| (t, c.clone()))).collect();
        let unanswered: Vec<&String> = client_order_ids.iter().filter(|c| txid(c).is_none()).collect();
        self.query_orders(&known, summary).await?;
        for client in unanswered {
            self.find_closed(client, summary).await?;
        }
        Ok(())
    }

    /// `CancelAll`: every open order of the key, every pair; Kraken's count.
    async fn cancel_open(&mut self, _symbol: &str) -> Result<usize, KrakenClientError> {
        const EP: &str = "CancelAll";
        let body = self.private(EP, |nonce| format!("nonce={nonce}")).await?;
        let result: CountResult = self.result(EP, &body)?;
        Ok(usize::try_from(result.count).unwrap_or(usize::MAX))
    }
}

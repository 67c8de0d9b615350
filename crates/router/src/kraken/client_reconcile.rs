//! Reconciliation of the Kraken client: trades since the last seen, open orders, and the final
//! state of every live order the venue no longer lists.

use std::collections::{HashMap, HashSet};

use super::{KrakenClientError, KrakenRestClient};
use crate::kraken::reports::{
    seconds_to_ns, trade_report, ClosedOrders, KrakenTrade, OpenOrders, QueriedOrders, TradesHistory,
};
use crate::order::{local_ns, ReconcileSummary};
use crate::order_state::{ExecutionReport, ReportKind, Venue};

impl KrakenRestClient {
    /// Fetches and merges what may have been missed: trades since the last reconciled one, the
    /// open orders, and the final state of every live order the venue no longer lists.
    pub async fn reconcile_all(&mut self) -> Result<ReconcileSummary, KrakenClientError> {
        let mut summary = ReconcileSummary::default();
        self.fetch_trades(&mut summary).await?;
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
        let unlisted: Vec<(String, Option<String>)> = self
            .orders
            .iter()
            .filter(|o| !o.status().is_terminal() && !listed.contains(&o.client_order_id))
            .map(|o| (o.client_order_id.clone(), o.venue_order_id.clone()))
            .collect();
        let known: HashMap<String, String> =
            unlisted.iter().filter_map(|(c, t)| t.clone().map(|t| (t, c.clone()))).collect();
        self.query_orders(&known, &mut summary).await?;
        for (client, _) in unlisted.iter().filter(|(_, t)| t.is_none()) {
            self.find_closed(client, &mut summary).await?;
        }
        if self.orders.iter().any(|o| o.missing_qty() > 0) {
            self.fetch_trades(&mut summary).await?;
        }
        Ok(summary)
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
        let body = self
            .private(EP, |nonce| {
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("nonce", &nonce.to_string())
                    .append_pair("cl_ord_id", client)
                    .finish()
            })
            .await?;
        let closed: ClosedOrders = self.result(EP, &body)?;
        let receive = local_ns();
        let report = match closed.closed.iter().next() {
            Some((txid, order)) => self.order_report(EP, txid, order, client, receive)?,
            None => ExecutionReport {
                venue: Venue::Kraken,
                symbol: self.order_pairs.get(client).cloned().unwrap_or_default(),
                client_order_id: client.to_owned(),
                venue_order_id: None,
                kind: ReportKind::Rejected {
                    code: None,
                    reason: "not found at the venue (never reached the book)".into(),
                },
                cum_qty: None,
                exchange_ts_ns: 0,
                receive_ts_ns: receive,
            },
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
        const EP: &str = "QueryOrders";
        let ids: Vec<&String> = txids.iter().collect();
        for chunk in ids.chunks(50) {
            let list = chunk.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
            let body = self
                .private(EP, |nonce| {
                    form_urlencoded::Serializer::new(String::new())
                        .append_pair("nonce", &nonce.to_string())
                        .append_pair("txid", &list)
                        .finish()
                })
                .await?;
            let orders: QueriedOrders = self.result(EP, &body)?;
            let receive = local_ns();
            let mut reports = Vec::new();
            for (txid, order) in &orders {
                let Some(client) = order.cl_ord_id.as_deref().filter(|c| self.orders.get(c).is_some()) else {
                    continue;
                };
                reports.push(self.order_report(EP, txid, order, client, receive)?);
            }
            summary.merge(&mut self.orders, &reports);
        }
        Ok(())
    }
}

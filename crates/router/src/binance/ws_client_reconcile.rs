//! Reconciliation of the Binance WebSocket API client over the same connection, its amend that
//! keeps priority and its one-request cancel of every open order, and its
//! [`crate::venue::VenueClient`] implementation (the one both Binance clients share):
//! [`crate::venue`] runs the steps (`order.status` of each unanswered or
//! unlisted order, `myTrades` since the last reconciled trade, `openOrders.status`) and the kill
//! switch (`openOrders.cancelAll`); an amend that only lowers the quantity is
//! `order.amend.keepPriority`.

use std::collections::HashSet;

use super::{expect_ok, order_answer, parse_error, venue_error, BinanceWsClient};
use crate::binance::client::{canceled_reports, BinanceClientError};
use crate::binance::outcomes::{merge_open, merge_trades};
use crate::binance::reports::{BinanceAmend, BinanceOrder, BinanceTrade, ReportParseError};
use crate::binance::ws_api::ParamValue;
use crate::order::{local_ns, NewOrder, ReconcileSummary};
use crate::order_state::{ExecutionReport, ReportKind};

impl BinanceWsClient {
    /// Reduces an open order's quantity to `new_qty` lots (what executed included) in place,
    /// keeping its place in the queue and its client id (`order.amend.keepPriority`, weight 4).
    /// Returns the report of the order after the amend (applied to the table, whose quantity for
    /// the order becomes the venue's); the `REPLACED` user-data event of the amend is merged as
    /// an acknowledgment. A refusal (`-2038`) is [`BinanceClientError::Venue`] with Binance's code
    /// and message, and leaves the order as it was.
    pub async fn amend_keep_priority(
        &mut self,
        symbol: &str,
        client_order_id: &str,
        new_qty: i64,
    ) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const M: &str = "order.amend.keepPriority";
        let inst = self.instrument(symbol)?.clone();
        let params = vec![
            ("symbol", symbol.into()),
            ("origClientOrderId", client_order_id.into()),
            ("newClientOrderId", client_order_id.into()),
            ("newQty", inst.step_size.format(new_qty).into()),
        ];
        let answer = self.request(M, params, 4, true, false).await?;
        let amend: BinanceAmend = serde_json::from_value(expect_ok(M, answer)?)
            .map_err(|e| parse_error(M)(ReportParseError::malformed("amend")(e)))?;
        let (qty, report) = amend.report(&inst, local_ns()).map_err(parse_error(M))?;
        if let Some(order) = self.orders.get_mut(client_order_id) {
            order.qty = qty;
        }
        self.orders.apply(&report)?;
        Ok(vec![report])
    }

    /// Cancels every open order on `symbol` in one request (`openOrders.cancelAll`, weight 1),
    /// orders of other sessions with the same key included. Returns the cancel reports (those of
    /// orders the table holds are merged into it); none open (`-2011`) is an empty list.
    pub async fn cancel_open_orders(&mut self, symbol: &str) -> Result<Vec<ExecutionReport>, BinanceClientError> {
        const M: &str = "openOrders.cancelAll";
        let inst = self.instrument(symbol)?.clone();
        let answer = self.request(M, vec![("symbol", symbol.into())], 1, true, false).await?;
        if answer.error.as_ref().is_some_and(|e| e.code == -2011) {
            return Ok(Vec::new());
        }
        let entries: Vec<serde_json::Value> = serde_json::from_value(expect_ok(M, answer)?)
            .map_err(|e| parse_error(M)(ReportParseError::malformed("openOrders.cancelAll")(e)))?;
        let reports = canceled_reports(&entries, &inst, local_ns()).map_err(parse_error(M))?;
        self.apply_all(&reports)?;
        Ok(reports)
    }

    /// `openOrders.status` of the symbol merged into the table; the client ids of ours it listed.
    async fn fetch_open_orders(
        &mut self,
        symbol: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<HashSet<String>, BinanceClientError> {
        const M: &str = "openOrders.status";
        let inst = self.instrument(symbol)?.clone();
        let answer = self.request(M, vec![("symbol", symbol.into())], 6, true, false).await?;
        let open: Vec<BinanceOrder> = serde_json::from_value(expect_ok(M, answer)?)
            .map_err(|e| parse_error(M)(ReportParseError::malformed("openOrders")(e)))?;
        merge_open(&mut self.orders, &inst, &open, summary).map_err(parse_error(M))
    }

    async fn query_order(
        &mut self,
        symbol: &str,
        client_order_id: &str,
        summary: &mut ReconcileSummary,
    ) -> Result<(), BinanceClientError> {
        const M: &str = "order.status";
        let inst = self.instrument(symbol)?.clone();
        let params = vec![("symbol", symbol.into()), ("origClientOrderId", client_order_id.into())];
        let answer = self.request(M, params, 4, true, false).await?;
        if let Some(err) = answer.error.as_ref().filter(|e| e.code != -2013) {
            return Err(venue_error(M, answer.status, err));
        }
        let reports = order_answer(M, answer, &inst, symbol, client_order_id, |err| ReportKind::Rejected {
            code: Some(err.code),
            reason: err.msg.clone(),
        })?;
        summary.merge(&mut self.orders, &reports);
        Ok(())
    }

    async fn fetch_trades(&mut self, symbol: &str, summary: &mut ReconcileSummary) -> Result<(), BinanceClientError> {
        const M: &str = "myTrades";
        const PAGE: usize = 1000;
        let inst = self.instrument(symbol)?.clone();
        loop {
            let from = self.trade_watermark.get(symbol).map_or(0, |w| w + 1);
            let params = vec![
                ("symbol", symbol.into()),
                ("fromId", ParamValue::Int(i64::try_from(from).unwrap_or(i64::MAX))),
                ("limit", ParamValue::Int(PAGE as i64)),
            ];
            let answer = self.request(M, params, 20, true, false).await?;
            let trades: Vec<BinanceTrade> = serde_json::from_value(expect_ok(M, answer)?)
                .map_err(|e| parse_error(M)(ReportParseError::malformed("myTrades")(e)))?;
            merge_trades(&mut self.orders, &mut self.trade_watermark, symbol, &inst, &trades, summary)
                .map_err(parse_error(M))?;
            if trades.len() < PAGE {
                return Ok(());
            }
        }
    }
}

binance_venue_client!(BinanceWsClient {
    /// One request (`order.cancelReplace`, `STOP_ON_FAILURE`).
    async fn cancel_replace(
        &mut self,
        symbol: &str,
        cancel_id: &str,
        new: &NewOrder,
    ) -> Result<Option<Vec<ExecutionReport>>, BinanceClientError> {
        BinanceWsClient::cancel_replace(self, symbol, cancel_id, new).await.map(Some)
    }

    /// The REST companion's `GET /api/v3/account`; `None` without a companion.
    async fn balance_snapshot(&mut self) -> Result<Option<crate::balances::BalanceSnapshot>, BinanceClientError> {
        BinanceWsClient::balance_snapshot(self).await
    }

    fn take_balance_updates(&mut self) -> Vec<crate::order::BalanceUpdate> {
        BinanceWsClient::take_balance_updates(self)
    }

    /// Balance updates dropped from the queue, and connections opened (a subscription starts
    /// with what happens after it).
    fn balance_gaps(&self) -> u64 {
        self.stats.dropped_balance_updates + self.connects
    }

    /// Reads frames for `wait` when subscribed to user data (connecting first when the
    /// connection dropped); nothing without a subscription.
    async fn read_pushed(&mut self, wait: std::time::Duration) -> Result<(), BinanceClientError> {
        if self.user_data.is_none() {
            return Ok(());
        }
        self.poll_until(wait, |_| false).await
    }
});

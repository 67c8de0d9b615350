//! The Kraken WebSocket client's batches: `batch_add` (2 to 15 orders of one pair in one
//! request) and `batch_cancel` (2 to 50 orders in one request).
//!
//! Kraken checks a whole `batch_add` before any order reaches the engine: one order it refuses
//! refuses the batch (each order's report is `Rejected` with that error). An order that fails
//! the engine's own checks (funds) is refused alone and the others are placed. `batch_cancel`
//! answers with a count only; the client reads the `canceled` executions the venue pushes for
//! the orders it named (5 s at most) before it returns.

use std::collections::HashSet;

use super::{KrakenWsClient, KrakenWsError, ANSWER_TIMEOUT};
use crate::kraken::ids::legal_cl_ord_id;
use crate::kraken::ws_messages::{batch_add_message, batch_cancel_message};
use crate::order::{local_ns, NewOrder, OrderType, TimeInForce};
use crate::order_state::{ExecutionReport, OrderState, ReportKind, Venue};

/// How many orders a `batch_add` holds (Kraken: 2 to 15).
pub const BATCH_ADD_ORDERS: std::ops::RangeInclusive<usize> = 2..=15;
/// How many orders a `batch_cancel` names (Kraken: 2 to 50).
pub const BATCH_CANCEL_ORDERS: std::ops::RangeInclusive<usize> = 2..=50;

impl KrakenWsClient {
    /// Places 2 to 15 orders of one pair in one request; returns each order's report (in the
    /// request's order: `New` with its order id, or `Rejected` with Kraken's error), then every
    /// execution read while waiting. Orders Kraken spot cannot take, unknown pairs, mixed pairs
    /// and client ids already used (or used twice in the batch) are refused before sending.
    pub async fn batch_add(&mut self, orders: &[NewOrder]) -> Result<Vec<ExecutionReport>, KrakenWsError> {
        if !BATCH_ADD_ORDERS.contains(&orders.len()) {
            return Err(KrakenWsError::Unsupported(format!("batch_add takes 2 to 15 orders, not {}", orders.len())));
        }
        let symbol = orders[0].symbol.clone();
        if orders.iter().any(|o| o.symbol != symbol) {
            return Err(KrakenWsError::Unsupported("batch_add orders must all be of one pair".into()));
        }
        let pair = self.pairs.get(&symbol).cloned().ok_or_else(|| KrakenWsError::UnknownPair(symbol.clone()))?;
        let mut ids = HashSet::new();
        for order in orders {
            if matches!(order.order_type, OrderType::Limit { tif: TimeInForce::Fok, .. }) {
                return Err(KrakenWsError::Unsupported("Kraken spot has no fill-or-kill time in force".into()));
            }
            let id = &order.client_order_id;
            if !legal_cl_ord_id(id) || self.orders.get(id).is_some() || !ids.insert(id.as_str()) {
                return Err(KrakenWsError::Unsupported(format!(
                    "cl_ord_id illegal or already used: {:?}",
                    id.chars().take(40).collect::<String>()
                )));
            }
        }
        self.ensure_connected().await?;
        for order in orders {
            self.orders.insert(OrderState::new(&order.client_order_id, order.side, order.qty));
            self.order_pairs.insert(order.client_order_id.clone(), symbol.clone());
        }
        let answer = self
            .request_with_token("batch_add", |token, req_id| batch_add_message(orders, &pair, token, req_id))
            .await?;
        let receive = local_ns();
        let mut reports = Vec::with_capacity(orders.len());
        for (i, order) in orders.iter().enumerate() {
            let id = &order.client_order_id;
            let (venue_order_id, kind) = match &answer.outcome {
                Err(error) => (None, ReportKind::Rejected { code: None, reason: error.clone() }),
                Ok(result) => {
                    let entry = result.batch.iter().find(|e| e.cl_ord_id.as_deref() == Some(id.as_str()));
                    match entry.or_else(|| result.batch.get(i)) {
                        Some(e) => match (&e.order_id, &e.error) {
                            (_, Some(error)) => (None, ReportKind::Rejected { code: None, reason: error.clone() }),
                            (Some(order_id), None) => (Some(order_id.clone()), ReportKind::New),
                            (None, None) => continue, // no word of it: reconciliation settles it
                        },
                        None => continue,
                    }
                }
            };
            let report = ExecutionReport::answered(Venue::Kraken, &symbol, id, venue_order_id, kind, receive);
            self.orders.apply(&report)?;
            reports.push(report);
        }
        reports.append(&mut self.inbox);
        Ok(reports)
    }

    /// Cancels 2 to 50 orders (by client id) in one request: by Kraken's order id where the
    /// client knows it, by `cl_ord_id` otherwise. Returns Kraken's count and the reports: the
    /// `canceled` executions read (until the count is reached, 5 s at most), and a
    /// `CancelRejected` for each named order still live after that (already gone, or its cancel
    /// not yet seen; its fills or a later execution decide). A refused request is a
    /// `CancelRejected` with Kraken's error for each order.
    pub async fn batch_cancel(
        &mut self,
        client_order_ids: &[String],
    ) -> Result<(u64, Vec<ExecutionReport>), KrakenWsError> {
        if !BATCH_CANCEL_ORDERS.contains(&client_order_ids.len()) {
            return Err(KrakenWsError::Unsupported(format!(
                "batch_cancel takes 2 to 50 orders, not {}",
                client_order_ids.len()
            )));
        }
        let symbols: Vec<String> = client_order_ids.iter().map(|c| self.symbol_of(c)).collect::<Result<_, _>>()?;
        self.ensure_connected().await?;
        let (mut by_id, mut by_client) = (Vec::new(), Vec::new());
        for id in client_order_ids {
            match self.orders.get_mut(id) {
                Some(order) => {
                    order.request_cancel();
                    match order.venue_order_id.clone() {
                        Some(txid) => by_id.push(txid),
                        None => by_client.push(id.clone()),
                    }
                }
                None => by_client.push(id.clone()),
            }
        }
        // The named orders live now: the count is reached when that many of them have ended.
        let live: Vec<String> = client_order_ids
            .iter()
            .filter(|c| self.orders.get(c).is_some_and(|o| !o.status().is_terminal()))
            .cloned()
            .collect();
        let answer = self
            .request_with_token("batch_cancel", |token, req_id| batch_cancel_message(&by_id, &by_client, token, req_id))
            .await?;
        let (count, refusal) = match answer.outcome {
            Ok(result) => (result.count.unwrap_or(0), None),
            Err(error) => (0, Some(error)),
        };
        let ended = |client: &Self| {
            live.iter().filter(|c| client.orders.get(c).is_some_and(|o| o.status().is_terminal())).count()
        };
        let deadline = tokio::time::Instant::now() + ANSWER_TIMEOUT;
        while (ended(self) as u64) < count {
            let Some(text) = self.next_frame(deadline).await? else { break };
            self.on_frame(&text, None);
        }
        let mut reports = std::mem::take(&mut self.inbox);
        let receive = local_ns();
        for (id, symbol) in client_order_ids.iter().zip(&symbols) {
            let Some(order) = self.orders.get(id).filter(|o| !o.status().is_terminal()) else { continue };
            let reason = refusal.clone().unwrap_or_else(|| "not canceled by batch_cancel".into());
            let kind = ReportKind::CancelRejected { code: None, reason };
            let venue_order_id = order.venue_order_id.clone();
            let report = ExecutionReport::answered(Venue::Kraken, symbol, id, venue_order_id, kind, receive);
            self.orders.apply(&report)?;
            reports.push(report);
        }
        Ok((count, reports))
    }
}

//! Pipelined requests of the Binance WebSocket API client: several orders in flight on the one
//! connection at once, each answer matched to its request by `id`, whatever order the answers
//! come in ([`BinanceWsClient::place_batch`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::{order_answer, transport, BinanceWsClient};
use crate::binance::client::BinanceClientError;
use crate::binance::ws_api::{signed_request, WsAnswer, WsError};
use crate::order::{local_ms, NewOrder};
use crate::order_state::{ExecutionReport, ReportKind};

/// One order's outcome in a batch.
type BatchOutcome = Result<Vec<ExecutionReport>, BinanceClientError>;

impl BinanceWsClient {
    /// Places `orders` with every `order.place` request sent before the first answer is read
    /// (one write of all the frames), then reads until each is answered, matching answers to
    /// requests by `id` in whatever order they come; user-data events read meanwhile are merged
    /// as usual. Returns each order's outcome, in the orders' order, exactly as
    /// [`Self::place`] would have: its reports (a refusal is a `Rejected` report), or an error.
    /// An order the local rate limits refuse (counting the orders before it in the batch) is not
    /// sent (`RateLimited { local: true }`); if the connection drops or the answer timeout
    /// passes, each order still unanswered is `Transport`, left pending for reconciliation.
    pub async fn place_batch(&mut self, orders: &[NewOrder]) -> Vec<Result<Vec<ExecutionReport>, BinanceClientError>> {
        const M: &str = "order.place";
        let mut outcomes: Vec<Option<BatchOutcome>> = orders.iter().map(|_| None).collect();
        if let Err(err) = self.ensure_connected(M).await {
            let why = match &err {
                BinanceClientError::Transport { error, .. } => error.clone(),
                other => other.to_string(),
            };
            return orders.iter().map(|_| Err(transport(M, &why))).collect();
        }
        // Checks and frames: request i is refused locally if it would pass a window, counting
        // the i requests before it.
        let mut frames = Vec::with_capacity(orders.len());
        let mut pending: HashMap<u64, usize> = HashMap::with_capacity(orders.len());
        let mut sent = 0u64;
        for (i, order) in orders.iter().enumerate() {
            let inst = match self.instrument(&order.symbol) {
                Ok(inst) => inst.clone(),
                Err(err) => {
                    outcomes[i] = Some(Err(err));
                    continue;
                }
            };
            if let Some(refusal) = self.local_refusal(M, sent + 1) {
                outcomes[i] = Some(Err(refusal));
                continue;
            }
            self.track(order);
            let id = self.next_id();
            let timestamp = local_ms() + self.time_offset_ms;
            let params = order.ws_params(&inst);
            frames.push(signed_request(id, M, params, &self.api_key, &self.signer, self.recv_window_ms, timestamp));
            pending.insert(id, i);
            sent += 1;
        }
        let answers = self.exchange_many(M, frames, &pending).await;
        for (id, i) in pending {
            let order = &orders[i];
            let outcome = match answers.get(&id) {
                None => Err(transport(M, "no answer: the connection dropped or the answer timeout passed")),
                Some(answer) => self.order_outcome(M, answer.clone(), order),
            };
            outcomes[i] = Some(outcome);
        }
        outcomes.into_iter().map(|o| o.unwrap_or_else(|| Err(transport(M, "not sent")))).collect()
    }

    /// The local refusal of a request that would be the `nth` new order and request of a
    /// batch: blocked after a 429/418, or past the weight or an order-count window.
    fn local_refusal(&self, method: &'static str, nth: u64) -> Option<BinanceClientError> {
        let now = Instant::now();
        if let Some(until) = self.blocked_until.filter(|&u| u > now) {
            let retry_after_ms = u64::try_from((until - now).as_millis()).unwrap_or(u64::MAX);
            return Some(BinanceClientError::RateLimited { endpoint: method, retry_after_ms, local: true });
        }
        let server_now = local_ms() + self.time_offset_ms;
        let refusal = self
            .weight
            .refuses(server_now, nth)
            .or(self.orders_10s.refuses(server_now, nth))
            .or(self.orders_1d.refuses(server_now, nth));
        refusal.map(|retry_after_ms| BinanceClientError::RateLimited { endpoint: method, retry_after_ms, local: true })
    }

    /// Writes every frame, then reads until each id in `pending` has its answer (or the
    /// connection drops, or the answer timeout passes); returns the answers by id.
    async fn exchange_many(
        &mut self,
        method: &'static str,
        frames: Vec<String>,
        pending: &HashMap<u64, usize>,
    ) -> HashMap<u64, WsAnswer> {
        let mut answers = HashMap::with_capacity(pending.len());
        if frames.is_empty() {
            return answers;
        }
        let Some(ws) = self.ws.as_mut() else { return answers };
        for frame in frames {
            if let Err(e) = ws.feed(Message::text(frame)).await {
                self.dropped(method, e);
                return answers;
            }
        }
        if let Err(e) = ws.flush().await {
            self.dropped(method, e);
            return answers;
        }
        let deadline = tokio::time::Instant::now() + self.answer_timeout;
        while answers.len() < pending.len() {
            let Some(ws) = self.ws.as_mut() else { return answers };
            let frame = match tokio::time::timeout_at(deadline, ws.next()).await {
                Ok(frame) => frame,
                Err(_) => {
                    self.dropped(method, "no answer within the answer timeout");
                    return answers;
                }
            };
            match frame {
                Some(Ok(Message::Text(text))) => match self.read_frame(text.as_str()) {
                    Some(answer) if answer.id.is_some_and(|id| pending.contains_key(&id)) => {
                        self.note_rate_limits(&answer);
                        answers.insert(answer.id.unwrap_or_default(), answer);
                    }
                    Some(_) => self.stats.stray_answers += 1,
                    None => {}
                },
                Some(Ok(Message::Binary(_))) => self.stats.malformed_frames += 1,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    self.dropped(method, e);
                    return answers;
                }
                None => {
                    self.dropped(method, "connection closed");
                    return answers;
                }
            }
        }
        answers
    }

    /// One order's answer as [`Self::place`] turns it into reports (429/418 block every request
    /// until `retryAfter`; the order is left pending, as [`Self::place`] leaves it).
    fn order_outcome(&mut self, method: &'static str, answer: WsAnswer, order: &NewOrder) -> BatchOutcome {
        if answer.status == 429 || answer.status == 418 {
            let server_now = local_ms() + self.time_offset_ms;
            let retry_at = answer.error.as_ref().and_then(WsError::retry_after_ms).unwrap_or(server_now + 1000);
            let retry_after_ms = u64::try_from(retry_at - server_now).unwrap_or(0);
            self.blocked_until = Some(Instant::now() + Duration::from_millis(retry_after_ms));
            return Err(BinanceClientError::RateLimited { endpoint: method, retry_after_ms, local: false });
        }
        let inst = self.instrument(&order.symbol)?.clone();
        let reports = order_answer(method, answer, &inst, &order.symbol, &order.client_order_id, |err| {
            ReportKind::Rejected { code: Some(err.code), reason: err.msg.clone() }
        })?;
        self.apply_all(&reports)?;
        Ok(reports)
    }
}

//! The balance events of the Binance WebSocket API client's user-data subscription:
//! `outboundAccountPosition` (after every change of the account's balances, the assets it
//! touched with their free and locked amounts) and `balanceUpdate` (a deposit, withdrawal or
//! transfer), normalized into [`BalanceUpdate`]s ([`super::super::ws_api::balance_updates`]) and
//! queued for [`BinanceWsClient::take_balance_updates`], in the order they arrived, beside the
//! execution reports. A balance event that cannot be read is counted
//! ([`super::WsClientStats::malformed_balance_events`] and `malformed_frames`), never fatal, and
//! queues nothing of itself.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::{transport, BinanceWsClient, EVENT_QUEUE_CAPACITY};
use crate::balances::BalanceSnapshot;
use crate::binance::client::BinanceClientError;
use crate::binance::ws_api::balance_updates;
use crate::order::{local_ns, BalanceUpdate};

impl BinanceWsClient {
    /// The balance updates read since the last call, oldest first: one per asset of each
    /// `outboundAccountPosition` (`BalanceChange::Position`, free and locked after the change)
    /// and one per `balanceUpdate` (`BalanceChange::Transfer`, the signed amount).
    pub fn take_balance_updates(&mut self) -> Vec<BalanceUpdate> {
        self.balances.drain(..).collect()
    }

    /// Reads frames for up to `wait` (or until a balance update is queued, if one is sooner),
    /// queueing every event read (execution reports too); returns how many balance updates are
    /// queued.
    pub async fn poll_balance_updates(&mut self, wait: Duration) -> Result<usize, BinanceClientError> {
        self.poll_until(wait, |client| !client.balances.is_empty()).await?;
        Ok(self.balances.len())
    }

    /// The REST companion's account snapshot (`GET /api/v3/account`); `None` without a
    /// companion ([`Self::with_rest`]).
    pub async fn balance_snapshot(&mut self) -> Result<Option<BalanceSnapshot>, BinanceClientError> {
        match self.rest.as_mut() {
            Some(rest) => rest.account_snapshot().await.map(Some),
            None => Ok(None),
        }
    }

    /// Reads frames (answers to nobody's request counted as stray, events queued) for up to
    /// `wait`, or until `done` holds.
    pub(super) async fn poll_until(
        &mut self,
        wait: Duration,
        done: impl Fn(&Self) -> bool,
    ) -> Result<(), BinanceClientError> {
        const M: &str = "poll";
        self.ensure_connected(M).await?;
        let deadline = tokio::time::Instant::now() + wait;
        while !done(&*self) {
            let Some(ws) = self.ws.as_mut() else { return Err(transport(M, "not connected")) };
            let frame = match tokio::time::timeout_at(deadline, ws.next()).await {
                Err(_) => break,
                Ok(frame) => frame,
            };
            match frame {
                Some(Ok(Message::Text(text))) => {
                    if self.read_frame(text.as_str()).is_some() {
                        self.stats.stray_answers += 1;
                    }
                }
                Some(Ok(Message::Binary(_))) => self.stats.malformed_frames += 1,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(self.dropped(M, e)),
                None => return Err(self.dropped(M, "connection closed")),
            }
        }
        Ok(())
    }

    /// A user-data event that is not an execution report: its balance updates queued (none
    /// for other events), or the event counted as malformed.
    pub(super) fn on_balance_event(&mut self, event: &Value) {
        match balance_updates(event, local_ns()) {
            Ok(updates) => {
                for update in updates {
                    self.stats.balance_updates += 1;
                    if self.balances.len() == EVENT_QUEUE_CAPACITY {
                        self.balances.pop_front();
                        self.stats.dropped_balance_updates += 1;
                    }
                    self.balances.push_back(update);
                }
            }
            Err(_) => {
                self.stats.malformed_frames += 1;
                self.stats.malformed_balance_events += 1;
            }
        }
    }
}

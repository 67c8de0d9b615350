//! The Kraken simulator's `balances` channel (WebSocket v2): the account's ledger entries as
//! Kraken documents them.
//!
//! `subscribe` with `channel` `balances` takes the token (as every request), an optional
//! `snapshot` (a JSON boolean, default `true`) and nothing else: any other parameter is
//! `EGeneral:Invalid arguments:<name>`, a `snapshot` that is not a boolean
//! `EGeneral:Invalid arguments:snapshot`, and a key without the funds query permission
//! ([`super::sim::KrakenSim::deny_funds_query`]) `EGeneral:Permission denied`. The answer is `{"channel":"balances","snapshot":..}`;
//! with `snapshot`, a `snapshot` message follows with each asset's total (`asset`,
//! `asset_class` `currency`, `balance`, and one `wallets` entry, the spot wallet `main`).
//!
//! From then on, every change of an asset's balance in the key's account (a trade of either
//! front or another participant's [`super::sim::KrakenSim::trade_at`], a deposit or withdrawal)
//! is an `update` message of ledger entries: `ledger_id`, `ref_id`, `timestamp`, `type` and
//! `category` (`trade`, `deposit`, `withdrawal`, or `adjustment` for a balance set by a test),
//! `asset` (its v2 name: `BTC`, `USD`), `asset_class`, `wallet_type` `spot`, `wallet_id`
//! `main`, `amount` (the change), `fee` 0 (a trade's fee is in its amount) and `balance` (the
//! asset's whole balance after it): like Kraken's, they say nothing of holds. Changes are found
//! by comparing each account's balances with what was last logged, after every request and
//! every test hook, so the simulator's entries sum what happened since (Kraken writes one per
//! trade and asset). Every message on a connection carries `sequence`, one more each time
//! (the snapshot, when asked for, is 1).

use std::collections::HashMap;

use serde_json::value::RawValue;
use wintermute_core::decimal::Decimal;

use super::assets::v2_asset;
use super::ids::txid;
use super::sim::KrakenSimState;
use super::sim_sessions::KrakenWsSession;
use super::sim_ws::time_text;
use super::ws_messages::JsonWriter;
use crate::order::local_ms;

impl KrakenSimState {
    /// Subscribes the session to `balances` of `api_key`'s account (the request's checks in
    /// the module docs); returns the answer's `result` and the snapshot to send after it.
    pub(super) fn ws_subscribe_balances(
        &mut self,
        session: &mut KrakenWsSession,
        api_key: &str,
        params: &HashMap<String, &RawValue>,
    ) -> Result<(String, Option<String>), String> {
        if let Some(unknown) = params.keys().find(|k| !["channel", "token", "snapshot"].contains(&k.as_str())) {
            return Err(format!("EGeneral:Invalid arguments:{unknown}"));
        }
        if self.funds_denied.contains(api_key) {
            return Err(super::sim::PERMISSION_DENIED.into());
        }
        let snapshot = match params.get("snapshot").map(|raw| raw.get()) {
            None | Some("true") => true,
            Some("false") => false,
            Some(_) => return Err("EGeneral:Invalid arguments:snapshot".into()),
        };
        if !session.balances_subscribed {
            session.balances_subscribed = true;
            self.ws.balance_subscribers += 1;
        }
        api_key.clone_into(&mut session.api_key);
        self.publish_balances();
        session.balance_cursor = self.ws.balance_base + self.ws.balance_log.len();
        let result = JsonWriter::new().str("channel", "balances").bool("snapshot", snapshot).finish();
        let snapshot = snapshot.then(|| {
            session.balance_seq += 1;
            self.balances_snapshot(api_key, session.balance_seq)
        });
        Ok((result, snapshot))
    }

    /// The `snapshot` message: each asset's total in `api_key`'s account.
    fn balances_snapshot(&self, api_key: &str, sequence: u64) -> String {
        let mut data = Vec::new();
        for (asset, amount) in self.funds.balances_of(api_key).into_iter().flatten() {
            let text = amount.to_string();
            let wallet = JsonWriter::new().str("type", "spot").str("id", "main").num("balance", &text).finish();
            let entry = JsonWriter::new()
                .str("asset", v2_asset(asset))
                .str("asset_class", "currency")
                .num("balance", &text)
                .raw("wallets", &format!("[{wallet}]"))
                .finish();
            data.push(entry);
        }
        JsonWriter::new()
            .str("channel", "balances")
            .str("type", "snapshot")
            .raw("data", &format!("[{}]", data.join(",")))
            .int("sequence", sequence)
            .finish()
    }

    /// The `balances` updates of the session's account logged since it last read, each with
    /// the session's next sequence.
    pub(super) fn balance_pushes(&self, session: &mut KrakenWsSession) -> Vec<String> {
        if !session.balances_subscribed {
            return Vec::new();
        }
        let from = session.balance_cursor.saturating_sub(self.ws.balance_base);
        let mut out = Vec::new();
        for (_, data) in self.ws.balance_log.iter().skip(from).filter(|(owner, _)| *owner == session.api_key) {
            session.balance_seq += 1;
            out.push(
                JsonWriter::new()
                    .str("channel", "balances")
                    .str("type", "update")
                    .raw("data", data)
                    .int("sequence", session.balance_seq)
                    .finish(),
            );
        }
        session.balance_cursor = self.ws.balance_base + self.ws.balance_log.len();
        out
    }

    /// A session that subscribed to `balances` closed.
    pub(super) fn close_balances(&mut self, session: &KrakenWsSession) {
        if session.balances_subscribed {
            self.ws.balance_subscribers = self.ws.balance_subscribers.saturating_sub(1);
            if self.ws.balance_subscribers == 0 {
                self.ws.balance_base += self.ws.balance_log.len();
                self.ws.balance_log.clear();
            }
        }
    }

    /// Logs, for the sessions subscribed to `balances`, a ledger entry for every asset whose
    /// balance changed in an account since the last look (module docs).
    pub(super) fn publish_balances(&mut self) {
        let now = local_ms();
        let transfers = &self.funds.transfers()[self.ws.published_transfers.min(self.funds.transfers().len())..];
        let mut accounts: Vec<&String> = self.keys.keys().collect();
        accounts.sort();
        let mut logged = Vec::new();
        let mut baselines = Vec::new();
        for account in accounts {
            let current = self.funds.balances_of(account).cloned().unwrap_or_default();
            let Some(before) = self.ws.published_balances.get(account.as_str()) else {
                // The first look: what the account starts with (the snapshot's to say).
                baselines.push((account.clone(), current));
                continue;
            };
            let before = Some(before);
            let mut names: Vec<&String> = current.keys().chain(before.into_iter().flat_map(|b| b.keys())).collect();
            names.sort();
            names.dedup();
            let mut entries = Vec::new();
            for asset in names {
                let zero = Decimal::ZERO;
                let was = before.and_then(|b| b.get(asset)).copied().unwrap_or(zero);
                let is = current.get(asset).copied().unwrap_or(zero);
                if was == is {
                    continue;
                }
                let amount = Decimal::from_raw(is.raw() - was.raw()).unwrap_or(zero);
                let moved = transfers.iter().rev().find(|t| &t.account == account && &t.asset == asset);
                let kind = match moved {
                    Some(t) if t.delta.raw() > 0 => "deposit",
                    Some(_) => "withdrawal",
                    None if self.funds.outside_changes() > self.ws.published_outside => "adjustment",
                    None => "trade",
                };
                self.ws.ledger_entries += 1;
                let n = self.ws.ledger_entries;
                entries.push(
                    JsonWriter::new()
                        .str("ledger_id", &txid(b'L', n))
                        .str("ref_id", &txid(b'R', n))
                        .str("timestamp", &time_text(now))
                        .str("type", kind)
                        .str("asset", v2_asset(asset))
                        .str("asset_class", "currency")
                        .str("category", kind)
                        .str("wallet_type", "spot")
                        .str("wallet_id", "main")
                        .num("amount", &amount.normalized().to_string())
                        .num("fee", "0")
                        .num("balance", &is.normalized().to_string())
                        .finish(),
                );
            }
            if !entries.is_empty() {
                logged.push((account.clone(), format!("[{}]", entries.join(","))));
                baselines.push((account.clone(), current));
            }
        }
        self.ws.published_transfers = self.funds.transfers().len();
        self.ws.published_outside = self.funds.outside_changes();
        for (account, current) in baselines {
            self.ws.published_balances.insert(account, current);
        }
        if self.ws.balance_subscribers > 0 {
            self.ws.balance_log.extend(logged);
        }
    }
}

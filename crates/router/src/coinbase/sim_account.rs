//! The Coinbase simulator's accounts ([`crate::sim::funds`]): each key's balances per currency,
//! what its open orders hold, and `GET /api/v3/brokerage/accounts`.
//!
//! An open buy holds its unfilled size × limit price plus the fee at the taker rate in the quote
//! currency (Coinbase charges the fee in the quote currency), an open sell its unfilled size in
//! the base currency. With [`super::CoinbaseSimConfig::check_funds`] an order that needs more
//! than the account's available balance is answered `success: false` with `error_response`
//! `INSUFFICIENT_FUND`. Trades move the balances by the size, the value and the fee, exactly.

use std::collections::BTreeSet;

use serde_json::{json, Value};
use wintermute_core::decimal::Decimal;

use super::{CoinbaseSim, CoinbaseSimState};
use crate::sim::funds::AssetBalance;
use crate::sim::Params;

impl CoinbaseSimState {
    /// `GET /api/v3/brokerage/accounts` (`limit`, default 49, at most 250; `cursor`): one account
    /// per currency of the products (and any other the key has a balance of), in name order, each
    /// with its `available_balance` and `hold` as `{value, currency}`.
    pub(super) fn list_accounts(&mut self, params: &Params) -> Result<Value, String> {
        let limit = params.get("limit").map_or(Ok(49), |l| l.parse::<usize>().map_err(|_| "bad limit"))?.clamp(1, 250);
        let from = params.get("cursor").map_or(Ok(0), |c| c.parse::<usize>().map_err(|_| "bad cursor"))?;
        self.funds.settle(&self.exchange);
        let statement = self.funds.statement(&self.exchange, &self.account);
        let traded = self.exchange.symbols.values().flat_map(|s| [s.base_asset.clone(), s.quote_asset.clone()]);
        let currencies: BTreeSet<String> = traded.chain(statement.iter().map(|(c, _)| c.clone())).collect();
        let zero =
            AssetBalance { balance: Decimal::new(0, 0), held: Decimal::new(0, 0), available: Decimal::new(0, 0) };
        let accounts: Vec<Value> = currencies
            .iter()
            .enumerate()
            .skip(from)
            .take(limit)
            .map(|(n, currency)| {
                let b = statement.iter().find(|(c, _)| c == currency).map_or(zero, |(_, b)| *b);
                let fiat = matches!(currency.as_str(), "USD" | "EUR" | "GBP");
                json!({
                    "uuid": format!("00000000-0000-4000-a000-{n:012x}"),
                    "name": format!("{currency} Wallet"),
                    "currency": currency,
                    "available_balance": { "value": b.available.to_string(), "currency": currency },
                    "default": false,
                    "active": true,
                    "created_at": "2026-01-01T00:00:00Z",
                    "updated_at": "2026-01-01T00:00:00Z",
                    "deleted_at": null,
                    "type": if fiat { "ACCOUNT_TYPE_FIAT" } else { "ACCOUNT_TYPE_CRYPTO" },
                    "ready": true,
                    "hold": { "value": b.held.to_string(), "currency": currency },
                    "retail_portfolio_id": "00000000-0000-4000-b000-000000000000",
                })
            })
            .collect();
        let has_next = from + accounts.len() < currencies.len();
        let cursor = if has_next { (from + accounts.len()).to_string() } else { String::new() };
        Ok(json!({ "size": accounts.len(), "accounts": accounts, "has_next": has_next, "cursor": cursor }))
    }
}

impl CoinbaseSim {
    /// Every currency of one key's account: its balance, what its open orders hold, and what is
    /// available.
    pub fn balances_of(&self, key_name: &str) -> Vec<(String, AssetBalance)> {
        let mut state = self.venue();
        let state = &mut *state;
        state.funds.settle(&state.exchange);
        state.funds.statement(&state.exchange, key_name)
    }

    /// Sets a currency's balance in one key's account (a deposit or withdrawal made elsewhere).
    pub fn set_balance_of(&self, key_name: &str, currency: &str, amount: Decimal) {
        self.venue().funds.set_balance(key_name, currency, amount);
    }
}

//! The Kraken simulator's accounts, one per API key: balances, what open orders hold, the funds check of a new or
//! amended order (`EOrder:Insufficient funds`), `Balance`, `BalanceEx` and the WebSocket tokens
//! of `GetWebSocketsToken`.
//!
//! The holds, the funds check and the settlement of trades are the simulators' shared rules
//! ([`crate::sim::funds`]): an open buy holds its unfilled volume × limit price plus the fee at
//! the taker rate, in the quote asset; an open sell holds its unfilled volume in the base asset;
//! trades move base and quote exactly, the fee out of the quote asset. Each key's orders hold and
//! trade its own balances only.

use serde_json::{json, Value};

use super::sim::{KrakenError, KrakenSimState};
use super::sim_sessions::WsToken;

/// How long a WebSocket token may wait before its first use (Kraken: 15 minutes).
pub const TOKEN_TTL_MS: i64 = 15 * 60 * 1000;

impl KrakenSimState {
    /// Refuses a new order the account cannot pay for (when funds are checked): a buy needs its
    /// cost and fee in the quote asset (a limit at its limit price, a market order at what the
    /// book would charge), a sell its volume in the base asset ([`crate::sim::funds::SimFunds::check_new_order`]).
    pub(super) fn check_new_order_funds(
        &self,
        api_key: &str,
        symbol: &str,
        is_buy: bool,
        price: Option<i64>,
        qty: i64,
    ) -> Result<(), KrakenError> {
        Ok(self.funds.check_new_order(&self.exchange, api_key, symbol, is_buy, price, qty)?)
    }

    /// Refuses an amend of open order `id` to this quantity and price that the account cannot
    /// hold (when funds are checked).
    pub(super) fn check_amend_funds(&self, id: u64, qty: i64, price: i64) -> Result<(), KrakenError> {
        Ok(self.funds.check_amend(&self.exchange, id, qty, price)?)
    }

    /// `Balance`: every asset's balance in `api_key`'s account.
    pub(super) fn balance(&self, api_key: &str) -> Value {
        let mut out = serde_json::Map::new();
        for (asset, amount) in self.funds.balances_of(api_key).into_iter().flatten() {
            out.insert(asset.clone(), json!(amount.to_string()));
        }
        Value::Object(out)
    }

    /// `BalanceEx`: every asset's balance in `api_key`'s account and what its open orders hold
    /// of it (`hold_trade`).
    pub(super) fn balance_ex(&self, api_key: &str) -> Value {
        let mut out = serde_json::Map::new();
        for (asset, b) in self.funds.statement(&self.exchange, api_key) {
            out.insert(asset, json!({ "balance": b.balance.to_string(), "hold_trade": b.held.to_string() }));
        }
        Value::Object(out)
    }

    /// `GetWebSocketsToken`: a fresh random token for this key, to be used within 15 minutes.
    pub(super) fn new_ws_token(&mut self, api_key: &str, now: i64) -> Result<Value, KrakenError> {
        use base64::Engine as _;
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| KrakenError::new("EService:Unavailable"))?;
        let token = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
        self.tokens.insert(token.clone(), WsToken { api_key: api_key.to_owned(), created_ms: now, used: false });
        Ok(json!({ "token": token, "expires": TOKEN_TTL_MS / 1000 }))
    }

    /// The key a WebSocket token stands for, if it is valid now (and marks it used).
    pub(super) fn ws_token_key(&mut self, token: &str, now: i64) -> Option<String> {
        let entry = self.tokens.get_mut(token)?;
        if !entry.used && now - entry.created_ms > TOKEN_TTL_MS {
            return None;
        }
        entry.used = true;
        Some(entry.api_key.clone())
    }

    /// Moves the balances of each trade's account by every trade not yet counted
    /// ([`crate::sim::funds::SimFunds::settle`]).
    pub(super) fn settle_balances(&mut self) {
        self.funds.settle(&self.exchange);
    }
}

//! The Binance simulator's accounts ([`crate::sim::funds`]): each account's balances, what its
//! open orders lock, and `GET /api/v3/account` (and the WebSocket API's `account.status`).
//!
//! An open buy locks its unfilled quantity × limit price in the quote asset (Binance takes a
//! buyer's commission out of the base asset received, so nothing more), an open sell its
//! unfilled quantity in the base asset. With [`super::SimConfig::check_funds`] a new order (a
//! cancel-replace's new order too, after its cancel released the old one's lock) that needs more
//! than the account's free balance is refused with `-2010`, "Account has insufficient balance
//! for requested action.", HTTP 400. Trades move `free` by the quantity, the notional and the
//! commission (in its `commissionAsset`), exactly.

use serde_json::{json, Value};
use wintermute_core::decimal::Decimal;

use super::{BinanceSim, BinanceSimState, SimError};
use crate::sim::funds::AssetBalance;
use crate::sim::Params;

/// Decimal text with at least 8 places, as Binance writes balances.
fn eight(d: Decimal) -> String {
    match d.scale() {
        s if s < 8 => Decimal::new(d.mantissa() * 10i128.pow(8 - s), 8).to_string(),
        _ => d.to_string(),
    }
}

impl BinanceSimState {
    /// `GET /api/v3/account` and `account.status`: the request's account, its commission rates
    /// and its `balances` (`asset`, `free`, `locked` as text; `omitZeroBalances=true` leaves out
    /// the assets with nothing free or locked).
    pub(super) fn account_json(&mut self, params: &Params, now: i64) -> Result<Value, SimError> {
        let omit_zero = match params.get("omitZeroBalances") {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(SimError::IllegalChars { name: "omitZeroBalances", range: "true|false" }),
        };
        self.funds.settle(&self.exchange);
        let zero = Decimal::new(0, 0);
        let balances: Vec<Value> = self
            .funds
            .statement(&self.exchange, &self.account)
            .into_iter()
            .filter(|(_, b)| !omit_zero || b.available.normalized() != zero || b.held.normalized() != zero)
            .map(|(asset, b)| json!({ "asset": asset, "free": eight(b.available), "locked": eight(b.held) }))
            .collect();
        let rate = self.exchange.fee_rate;
        let bps = i64::try_from(rate.mantissa() * 10i128.pow(4) / 10i128.pow(rate.scale())).unwrap_or(0);
        Ok(json!({
            "makerCommission": bps,
            "takerCommission": bps,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": { "maker": eight(rate), "taker": eight(rate), "buyer": eight(zero), "seller": eight(zero) },
            "canTrade": true,
            "canWithdraw": true,
            "canDeposit": true,
            "brokered": false,
            "requireSelfTradePrevention": false,
            "preventSor": false,
            "updateTime": now,
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": 0,
        }))
    }
}

impl BinanceSim {
    /// Every asset of one key's account: its balance, what its open orders lock, and what is
    /// free.
    pub fn balances_of(&self, api_key: &str) -> Vec<(String, AssetBalance)> {
        let mut state = self.venue();
        let state = &mut *state;
        let account = state.account_of(api_key);
        state.funds.settle(&state.exchange);
        state.funds.statement(&state.exchange, &account)
    }

    /// Sets an asset's balance in one key's account (a deposit or withdrawal made elsewhere).
    pub fn set_balance_of(&self, api_key: &str, asset: &str, amount: Decimal) {
        let mut state = self.venue();
        let account = state.account_of(api_key);
        state.funds.set_balance(&account, asset, amount);
    }
}

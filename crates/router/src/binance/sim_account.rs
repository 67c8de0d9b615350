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
//!
//! **Balance events.** A session subscribed to user data gets, after the `executionReport`s of
//! each change (a request, a trade, a test hook), one `outboundAccountPosition` listing exactly
//! the assets whose free or locked amount that change moved, with both amounts after it; a
//! deposit or withdrawal ([`BinanceSim::deposit`], [`BinanceSim::withdraw`]) is a
//! `balanceUpdate` (`d` the signed amount) before it. Amounts are decimal text with 8 places at
//! least, exact.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use wintermute_core::decimal::Decimal;

use super::{now_ms, BinanceSim, BinanceSimState, SimError};
use crate::sim::funds::{AssetBalance, TransferError};
use crate::sim::Params;

/// What a user-data subscription last told its session of the account's balances: each
/// asset's (free, locked), and how many transfers of the venue it has seen.
#[derive(Debug, Clone, Default)]
pub struct BalanceWatch {
    account: String,
    told: BTreeMap<String, (Decimal, Decimal)>,
    transfers_seen: usize,
    outside_changes_seen: u64,
}

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

impl BinanceSimState {
    /// Each asset of `account`: (free, locked), after every trade is settled.
    fn positions_of(&mut self, account: &str) -> BTreeMap<String, (Decimal, Decimal)> {
        self.funds.settle(&self.exchange);
        let statement = self.funds.statement(&self.exchange, account).into_iter();
        statement.map(|(asset, b)| (asset, (b.available.normalized(), b.held.normalized()))).collect()
    }

    /// A new subscription's watch of `account`: its balances as they are now, the transfers so
    /// far seen.
    pub(super) fn watch(&mut self, account: &str) -> BalanceWatch {
        let told = self.positions_of(account);
        let (transfers_seen, outside_changes_seen) = (self.funds.transfers().len(), self.funds.outside_changes());
        BalanceWatch { account: account.to_owned(), told, transfers_seen, outside_changes_seen }
    }

    /// The balance events a subscription has not yet been sent: a `balanceUpdate` for each
    /// deposit or withdrawal of its account since, then one `outboundAccountPosition` listing
    /// exactly the assets whose free or locked amount changed (none if nothing did). Only
    /// the account's order events (`orders_moved`: accepted, traded, canceled, expired,
    /// amended) and balances set or moved outside trades change its balances: without either
    /// the balances are not looked at.
    pub(super) fn balance_events(&mut self, watch: &mut BalanceWatch, orders_moved: bool) -> Vec<Value> {
        if !orders_moved && self.funds.outside_changes() == watch.outside_changes_seen {
            return Vec::new();
        }
        watch.outside_changes_seen = self.funds.outside_changes();
        let now = now_ms(self.clock_skew_ms);
        let transfers = self.funds.transfers();
        let mut out: Vec<Value> = transfers[watch.transfers_seen.min(transfers.len())..]
            .iter()
            .filter(|t| t.account == watch.account)
            .map(|t| json!({ "e": "balanceUpdate", "E": now, "a": t.asset, "d": eight(t.delta), "T": t.time_ms }))
            .collect();
        watch.transfers_seen = transfers.len();
        let now_positions = self.positions_of(&watch.account);
        let zero = (Decimal::new(0, 0), Decimal::new(0, 0));
        let changed: Vec<Value> = now_positions
            .iter()
            .filter(|(asset, position)| watch.told.get(*asset).unwrap_or(&zero) != *position)
            .map(|(asset, (free, locked))| json!({ "a": asset, "f": eight(*free), "l": eight(*locked) }))
            .collect();
        if !changed.is_empty() {
            out.push(json!({ "e": "outboundAccountPosition", "E": now, "u": now, "B": changed }));
        }
        watch.told = now_positions;
        out
    }
}

impl BinanceSim {
    /// Deposits `amount` (positive) of `asset` into one key's account: subscribed sessions get
    /// a `balanceUpdate` and an `outboundAccountPosition`. Returns the new balance.
    pub fn deposit(&self, api_key: &str, asset: &str, amount: Decimal) -> Result<Decimal, TransferError> {
        let mut state = self.venue();
        let state = &mut *state;
        let account = state.account_of(api_key);
        state.funds.deposit(&account, asset, amount, now_ms(state.clock_skew_ms))
    }

    /// Withdraws `amount` (positive, at most the free balance) of `asset` from one key's
    /// account: subscribed sessions get a `balanceUpdate` (a negative `d`) and an
    /// `outboundAccountPosition`. Returns the new balance.
    pub fn withdraw(&self, api_key: &str, asset: &str, amount: Decimal) -> Result<Decimal, TransferError> {
        let mut state = self.venue();
        let state = &mut *state;
        let account = state.account_of(api_key);
        let now = now_ms(state.clock_skew_ms);
        state.funds.withdraw(&state.exchange, &account, asset, amount, now)
    }

    /// Sets what `GET /sapi/v1/account/status` answers for one key's account (`"Normal"` until
    /// set).
    pub fn set_account_status(&self, api_key: &str, status: &str) {
        let mut state = self.venue();
        let account = state.account_of(api_key);
        state.account_statuses.insert(account, status.to_owned());
    }

    /// Every asset of one key's account: its balance, what its open orders lock, and what is
    /// free.
    pub fn balances_of(&self, api_key: &str) -> Vec<(String, AssetBalance)> {
        let mut state = self.venue();
        let state = &mut *state;
        let account = state.account_of(api_key);
        state.funds.settle(&state.exchange);
        state.funds.statement(&state.exchange, &account)
    }

    /// Sets an asset's balance in one key's account (a deposit or withdrawal made elsewhere):
    /// subscribed sessions get an `outboundAccountPosition` if it changed, no `balanceUpdate`.
    pub fn set_balance_of(&self, api_key: &str, asset: &str, amount: Decimal) {
        let mut state = self.venue();
        let account = state.account_of(api_key);
        state.funds.set_balance(&account, asset, amount);
    }
}

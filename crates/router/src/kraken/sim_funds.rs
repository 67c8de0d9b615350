//! The Kraken simulator's accounts, one per API key: balances, what open orders hold, the funds check of a new or
//! amended order (`EOrder:Insufficient funds`), `Balance`, `BalanceEx` and the WebSocket tokens
//! of `GetWebSocketsToken`.
//!
//! An open buy holds its unfilled volume × limit price plus the fee at the account's rate, in the
//! quote asset; an open sell holds its unfilled volume in the base asset. A new order is refused
//! when it needs more than the balance less what open orders hold (a limit buy at its limit
//! price, a market buy at what the book would charge for it). Trades move the balances
//! ([`KrakenSimState::settle_balances`]): base and quote exactly, the fee in the quote asset.
//! Each key's orders hold and trade its own balances only.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use wintermute_core::decimal::Decimal;

use super::sim::{KrakenError, KrakenSimState};
use super::sim_sessions::WsToken;
use crate::sim::exchange::{add, less, SimOrder};

/// How long a WebSocket token may wait before its first use (Kraken: 15 minutes).
pub const TOKEN_TTL_MS: i64 = 15 * 60 * 1000;

fn mul(a: Decimal, b: Decimal) -> Decimal {
    Decimal::new(a.mantissa() * b.mantissa(), a.scale() + b.scale()).normalized()
}

fn neg(d: Decimal) -> Decimal {
    Decimal::new(-d.mantissa(), d.scale())
}

impl KrakenSimState {
    /// `1 + fee rate`.
    fn with_fee(&self, notional: Decimal) -> Decimal {
        mul(notional, add(Decimal::new(1, 0), self.exchange.fee_rate))
    }

    /// What an open order holds: (asset, amount).
    fn hold_of(&self, order: &SimOrder, qty: i64, price: i64) -> Option<(String, Decimal)> {
        let sym = self.exchange.symbols.get(&order.new.symbol)?;
        let open = qty - order.executed;
        if order.new.is_buy {
            Some((sym.quote_asset.clone(), self.with_fee(sym.notional(price, open))))
        } else {
            Some((sym.base_asset.clone(), sym.step_size.value(open)))
        }
    }

    /// What the open orders of `api_key`'s account hold, by asset (`except` one order, being
    /// amended).
    pub(super) fn held(&self, api_key: &str, except: Option<u64>) -> BTreeMap<String, Decimal> {
        let mut out = BTreeMap::new();
        let counted = |o: &&SimOrder| Some(o.order_id) != except && self.owned_by(o.order_id, api_key);
        for order in self.exchange.open_orders(None).filter(counted) {
            if let Some((asset, amount)) = self.hold_of(order, order.new.qty, order.new.price) {
                let entry = out.entry(asset).or_insert(Decimal::new(0, 0));
                *entry = add(*entry, amount);
            }
        }
        out
    }

    /// The balance of `api_key`'s account not held by its open orders (`except` one).
    fn available(&self, api_key: &str, asset: &str, except: Option<u64>) -> Decimal {
        let account = self.balances.get(api_key);
        let balance = account.and_then(|a| a.get(asset)).copied().unwrap_or(Decimal::new(0, 0));
        let held = self.held(api_key, except).get(asset).copied().unwrap_or(Decimal::new(0, 0));
        add(balance, neg(held))
    }

    /// Refuses a new order the account cannot pay for (when funds are checked): a buy needs its
    /// cost and fee in the quote asset (a limit at its limit price, a market order at what the
    /// book would charge), a sell its volume in the base asset.
    pub(super) fn check_new_order_funds(
        &self,
        api_key: &str,
        symbol: &str,
        is_buy: bool,
        price: Option<i64>,
        qty: i64,
    ) -> Result<(), KrakenError> {
        if !self.check_funds {
            return Ok(());
        }
        let sym = self.exchange.symbols.get(symbol).ok_or(KrakenError::new("EQuery:Unknown asset pair"))?;
        let (asset, needed) = if is_buy {
            let cost = match price {
                Some(p) => sym.notional(p, qty),
                None => {
                    // A market buy: what the asks would charge for it (an unfilled rest expires).
                    let (mut left, mut cost) = (qty, Decimal::new(0, 0));
                    for (&p, &q) in &sym.asks {
                        let take = q.min(left);
                        cost = add(cost, sym.notional(p, take));
                        left -= take;
                        if left == 0 {
                            break;
                        }
                    }
                    cost
                }
            };
            (sym.quote_asset.as_str(), self.with_fee(cost))
        } else {
            (sym.base_asset.as_str(), sym.step_size.value(qty))
        };
        if less(self.available(api_key, asset, None), needed) {
            return Err(KrakenError::new("EOrder:Insufficient funds"));
        }
        Ok(())
    }

    /// Refuses an amend of open order `id` to this quantity and price that the account cannot
    /// hold (when funds are checked).
    pub(super) fn check_amend_funds(&self, id: u64, qty: i64, price: i64) -> Result<(), KrakenError> {
        let Some(order) = self.exchange.orders.get(&id).filter(|_| self.check_funds) else { return Ok(()) };
        let Some((asset, needed)) = self.hold_of(order, qty, price) else { return Ok(()) };
        let owner = self.extras.get(&id).map_or("", |e| e.owner.as_str());
        if less(self.available(owner, &asset, Some(id)), needed) {
            return Err(KrakenError::new("EOrder:Insufficient funds"));
        }
        Ok(())
    }

    /// `Balance`: every asset's balance in `api_key`'s account.
    pub(super) fn balance(&self, api_key: &str) -> Value {
        let mut out = serde_json::Map::new();
        for (asset, amount) in self.balances.get(api_key).into_iter().flatten() {
            out.insert(asset.clone(), json!(amount.to_string()));
        }
        Value::Object(out)
    }

    /// `BalanceEx`: every asset's balance in `api_key`'s account and what its open orders hold
    /// of it (`hold_trade`).
    pub(super) fn balance_ex(&self, api_key: &str) -> Value {
        let held = self.held(api_key, None);
        let empty = BTreeMap::new();
        let account = self.balances.get(api_key).unwrap_or(&empty);
        let mut out = serde_json::Map::new();
        let assets: std::collections::BTreeSet<&String> = account.keys().chain(held.keys()).collect();
        for asset in assets {
            let balance = account.get(asset).copied().unwrap_or(Decimal::new(0, 0));
            let hold = held.get(asset).copied().unwrap_or(Decimal::new(0, 0));
            out.insert(asset.clone(), json!({ "balance": balance.to_string(), "hold_trade": hold.to_string() }));
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

    /// Moves the balances of each trade's account (its order's key) by every trade not yet
    /// counted: the base asset by the volume, the quote asset by the cost, and the fee out of
    /// the quote asset.
    pub(super) fn settle_balances(&mut self) {
        let ex = &self.exchange;
        let new: Vec<_> = ex.trades.range(self.balanced_trades + 1..).map(|(_, t)| t.clone()).collect();
        for t in new {
            self.balanced_trades = self.balanced_trades.max(t.id);
            let Some(sym) = self.exchange.symbols.get(&t.symbol) else { continue };
            let Some(owner) = self.extras.get(&t.order_id).map(|e| e.owner.clone()) else { continue };
            let qty = sym.step_size.value(t.qty);
            let notional = sym.notional(t.price, t.qty);
            let (base, quote) = (sym.base_asset.clone(), sym.quote_asset.clone());
            let sign = |d: Decimal, positive: bool| if positive { d } else { neg(d) };
            for (asset, delta) in [
                (base, sign(qty, t.is_buyer)),
                (quote.clone(), sign(notional, !t.is_buyer)),
                (quote, neg(t.commission)),
            ] {
                let entry = self.balances.entry(owner.clone()).or_default().entry(asset).or_insert(Decimal::new(0, 0));
                *entry = add(*entry, delta);
            }
        }
    }
}

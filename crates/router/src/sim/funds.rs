//! The accounts of a venue simulator: each account's balances, what its open orders hold, the
//! funds check of a new or amended order, and the settlement of its trades. The Kraken, Binance
//! and Coinbase simulators keep their accounts here; each venue front writes the refusal and the
//! balance endpoints in its own words.
//!
//! The rules, as the venues apply them:
//!
//! - An open buy holds its unfilled quantity × limit price in the quote asset, plus the fee at
//!   the taker rate where the venue charges the fee in the quote asset (Kraken, Coinbase; Binance
//!   takes a buyer's fee out of the base asset received, so its buys hold no fee). An open sell
//!   holds its unfilled quantity in the base asset.
//! - A new order is refused ([`MatchError::InsufficientFunds`]) when it needs more than the
//!   account's balance less what its open orders hold: a limit buy at its limit price, a market
//!   buy at what the book's asks would charge for it (an unfilled rest expires), a sell its
//!   quantity. An amend is checked at its new quantity and price, its own hold released first.
//! - Every trade moves its order's account exactly: the base asset by the quantity, the quote
//!   asset by the notional, and the commission out of the asset it is charged in.
//! - A cancel releases the hold: holds are what the open orders need now, never a stored amount.
//!
//! Funds are checked only when the venue's config asks for it (`check_funds`): by default an
//! account's funds are unlimited, and its balances still move with every trade (below zero if
//! it spends more than it had).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use wintermute_core::decimal::Decimal;

use super::exchange::{add, less, MatchError, SimExchange, SimNewOrder, SimOrder, SimOrderType};

fn mul(a: Decimal, b: Decimal) -> Decimal {
    Decimal::new(a.mantissa() * b.mantissa(), a.scale() + b.scale()).normalized()
}

fn neg(d: Decimal) -> Decimal {
    Decimal::new(-d.mantissa(), d.scale())
}

fn zero() -> Decimal {
    Decimal::new(0, 0)
}

/// One asset of an account: its balance, what open orders hold of it, and the rest (available).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetBalance {
    /// Everything the account has of the asset.
    pub balance: Decimal,
    /// What its open orders hold.
    pub held: Decimal,
    /// `balance - held`.
    pub available: Decimal,
}

/// Why a deposit or withdrawal was refused (the balances are left as they were).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// A zero or negative amount.
    #[error("a deposit's or withdrawal's amount must be positive")]
    NotPositive,
    /// A withdrawal of more than the account's free balance (what its open orders do not hold).
    #[error("the withdrawal is more than the account's free balance of the asset")]
    Insufficient,
    /// The balance would leave the range of exact decimals.
    #[error("the balance would be out of the range of exact decimals")]
    OutOfRange,
}

/// A deposit or withdrawal ([`SimFunds::deposit`], [`SimFunds::withdraw`]), as the venue
/// reports it (Binance's `balanceUpdate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The account.
    pub account: String,
    /// The asset.
    pub asset: String,
    /// The amount: positive for a deposit, negative for a withdrawal.
    pub delta: Decimal,
    /// When, ms since the Unix epoch.
    pub time_ms: i64,
}

/// Every account's balances on one simulated venue, and the rules of their holds.
#[derive(Debug, Clone)]
pub struct SimFunds {
    /// What an account starts with (asset -> amount).
    start: BTreeMap<String, Decimal>,
    /// Each account's balances.
    accounts: HashMap<String, BTreeMap<String, Decimal>>,
    /// The last trade id the balances count.
    settled: u64,
    /// Every deposit and withdrawal, oldest first.
    transfers: Vec<Transfer>,
    /// Balances set or moved other than by trades ([`Self::set_balance`], transfers).
    outside_changes: u64,
    check: bool,
    hold_fee: bool,
}

impl SimFunds {
    /// `accounts`, each starting with the `start` balances; orders checked against them when
    /// `check`; a buy's hold includes the taker fee when `hold_fee`.
    pub fn new(
        start: Vec<(String, Decimal)>,
        accounts: impl IntoIterator<Item = String>,
        check: bool,
        hold_fee: bool,
    ) -> Self {
        let start: BTreeMap<String, Decimal> = start.into_iter().collect();
        let accounts = accounts.into_iter().map(|a| (a, start.clone())).collect();
        Self { start, accounts, settled: 0, transfers: Vec::new(), outside_changes: 0, check, hold_fee }
    }

    /// Whether orders are checked against the balances.
    pub fn checks(&self) -> bool {
        self.check
    }

    /// Every asset's balance of an account (`None`: no such account).
    pub fn balances_of(&self, account: &str) -> Option<&BTreeMap<String, Decimal>> {
        self.accounts.get(account)
    }

    /// Sets an asset's balance in an account (a deposit or withdrawal made elsewhere); an account
    /// not seen before starts with the starting balances.
    pub fn set_balance(&mut self, account: &str, asset: &str, amount: Decimal) {
        let start = &self.start;
        let balances = self.accounts.entry(account.to_owned()).or_insert_with(|| start.clone());
        balances.insert(asset.to_owned(), amount);
        self.outside_changes += 1;
    }

    /// How many times a balance was set or moved other than by a trade (a venue's user stream
    /// looks at the balances again only when this or its orders changed).
    pub fn outside_changes(&self) -> u64 {
        self.outside_changes
    }

    /// Every deposit and withdrawal so far, oldest first.
    pub fn transfers(&self) -> &[Transfer] {
        &self.transfers
    }

    /// Deposits `amount` (positive) of `asset` into `account` at `time_ms` (an account not seen
    /// before starts with the starting balances); returns the new balance.
    pub fn deposit(
        &mut self,
        account: &str,
        asset: &str,
        amount: Decimal,
        time_ms: i64,
    ) -> Result<Decimal, TransferError> {
        if amount <= zero() {
            return Err(TransferError::NotPositive);
        }
        self.move_balance(account, asset, amount, time_ms)
    }

    /// Withdraws `amount` (positive) of `asset` from `account` at `time_ms`, at most its free balance (what
    /// its open orders do not hold, after every trade is settled), whether or not funds are
    /// checked; returns the new balance.
    pub fn withdraw(
        &mut self,
        ex: &SimExchange,
        account: &str,
        asset: &str,
        amount: Decimal,
        time_ms: i64,
    ) -> Result<Decimal, TransferError> {
        if amount <= zero() {
            return Err(TransferError::NotPositive);
        }
        self.settle(ex);
        if less(self.available(ex, account, asset, None), amount) {
            return Err(TransferError::Insufficient);
        }
        self.move_balance(account, asset, neg(amount), time_ms)
    }

    fn move_balance(
        &mut self,
        account: &str,
        asset: &str,
        delta: Decimal,
        time_ms: i64,
    ) -> Result<Decimal, TransferError> {
        let start = &self.start;
        let current = match self.accounts.get(account) {
            Some(balances) => balances.get(asset).copied().unwrap_or_else(zero),
            None => start.get(asset).copied().unwrap_or_else(zero),
        };
        let scale = current.scale().max(delta.scale());
        let widen = |d: Decimal| d.mantissa().checked_mul(10i128.pow(scale - d.scale()));
        let sum = widen(current).zip(widen(delta)).and_then(|(a, b)| a.checked_add(b));
        let next = sum.and_then(|m| Decimal::try_new(m, scale)).ok_or(TransferError::OutOfRange)?;
        let balances = self.accounts.entry(account.to_owned()).or_insert_with(|| start.clone());
        balances.insert(asset.to_owned(), next);
        self.transfers.push(Transfer { account: account.to_owned(), asset: asset.to_owned(), delta, time_ms });
        self.outside_changes += 1;
        Ok(next)
    }

    /// What an open order would hold at this quantity and price: (asset, amount).
    fn hold_of(&self, ex: &SimExchange, order: &SimOrder, qty: i64, price: i64) -> Option<(String, Decimal)> {
        let sym = ex.symbols.get(&order.new.symbol)?;
        let open = qty - order.executed;
        if order.new.is_buy {
            Some((sym.quote_asset.clone(), self.buy_cost(ex, sym.notional(price, open))))
        } else {
            Some((sym.base_asset.clone(), sym.step_size.value(open)))
        }
    }

    /// What a buy of this notional needs: the notional, and the taker fee where it is held.
    fn buy_cost(&self, ex: &SimExchange, notional: Decimal) -> Decimal {
        if self.hold_fee {
            mul(notional, add(Decimal::new(1, 0), ex.fee_rate))
        } else {
            notional
        }
    }

    /// What the open orders of `account` hold, by asset (`except` one order, being amended).
    pub fn held(&self, ex: &SimExchange, account: &str, except: Option<u64>) -> BTreeMap<String, Decimal> {
        let mut out = BTreeMap::new();
        for order in ex.open_orders_of(account, None).filter(|o| Some(o.order_id) != except) {
            if let Some((asset, amount)) = self.hold_of(ex, order, order.new.qty, order.new.price) {
                let entry = out.entry(asset).or_insert_with(zero);
                *entry = add(*entry, amount);
            }
        }
        out
    }

    /// The balance of `account` not held by its open orders (`except` one).
    fn available(&self, ex: &SimExchange, account: &str, asset: &str, except: Option<u64>) -> Decimal {
        let balance = self.accounts.get(account).and_then(|a| a.get(asset)).copied().unwrap_or_else(zero);
        let held = self.held(ex, account, except).get(asset).copied().unwrap_or_else(zero);
        add(balance, neg(held))
    }

    /// Every asset of `account` that it has a balance of or that its open orders hold, in name
    /// order.
    pub fn statement(&self, ex: &SimExchange, account: &str) -> Vec<(String, AssetBalance)> {
        let held = self.held(ex, account, None);
        let empty = BTreeMap::new();
        let balances = self.accounts.get(account).unwrap_or(&empty);
        let assets: BTreeSet<&String> = balances.keys().chain(held.keys()).collect();
        assets
            .into_iter()
            .map(|asset| {
                let balance = balances.get(asset).copied().unwrap_or_else(zero);
                let held = held.get(asset).copied().unwrap_or_else(zero);
                (asset.clone(), AssetBalance { balance, held, available: add(balance, neg(held)) })
            })
            .collect()
    }

    /// Refuses a new order `account` cannot pay for (when funds are checked): a buy needs its
    /// cost in the quote asset (a limit at its limit price, a market order — `price` `None` — at
    /// what the book's asks would charge), with the fee where it is held; a sell its quantity in
    /// the base asset.
    pub fn check_new_order(
        &self,
        ex: &SimExchange,
        account: &str,
        symbol: &str,
        is_buy: bool,
        price: Option<i64>,
        qty: i64,
    ) -> Result<(), MatchError> {
        if !self.check {
            return Ok(());
        }
        let sym = ex.symbols.get(symbol).ok_or(MatchError::UnknownSymbol)?;
        let (asset, needed) = if is_buy {
            let cost = match price {
                Some(p) => sym.notional(p, qty),
                None => {
                    let (mut left, mut cost) = (qty, zero());
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
            (sym.quote_asset.as_str(), self.buy_cost(ex, cost))
        } else {
            (sym.base_asset.as_str(), sym.step_size.value(qty))
        };
        if less(self.available(ex, account, asset, None), needed) {
            return Err(MatchError::InsufficientFunds);
        }
        Ok(())
    }

    /// Refuses an amend of open order `id` to this quantity and price that its account cannot
    /// hold (when funds are checked).
    pub fn check_amend(&self, ex: &SimExchange, id: u64, qty: i64, price: i64) -> Result<(), MatchError> {
        let Some(order) = ex.orders.get(&id).filter(|_| self.check) else { return Ok(()) };
        let Some((asset, needed)) = self.hold_of(ex, order, qty, price) else { return Ok(()) };
        if less(self.available(ex, &order.account, &asset, Some(id)), needed) {
            return Err(MatchError::InsufficientFunds);
        }
        Ok(())
    }

    /// Places `new` in `account`'s name ([`SimExchange::place_for`]), after the engine's checks
    /// and then the funds check when funds are checked, and settles what it traded.
    pub fn place(
        &mut self,
        ex: &mut SimExchange,
        account: &str,
        new: SimNewOrder,
        now_ms: i64,
    ) -> Result<(u64, Vec<u64>), MatchError> {
        if self.check {
            // Unchecked funds (the default) cost the placing nothing more.
            self.settle(ex);
            ex.check_order(account, &new)?;
            let price = (new.order_type != SimOrderType::Market).then_some(new.price);
            self.check_new_order(ex, account, &new.symbol, new.is_buy, price, new.qty)?;
        }
        let placed = ex.place_for(account, new, now_ms)?;
        self.settle(ex);
        Ok(placed)
    }

    /// Moves the balances of each trade's account (its order's) by every trade not yet counted:
    /// the base asset by the quantity, the quote asset by the notional, and the commission out
    /// of its asset.
    pub fn settle(&mut self, ex: &SimExchange) {
        for trade in ex.trades.range(self.settled + 1..).map(|(_, t)| t) {
            self.settled = self.settled.max(trade.id);
            let (Some(sym), Some(order)) = (ex.symbols.get(&trade.symbol), ex.orders.get(&trade.order_id)) else {
                continue;
            };
            let qty = sym.step_size.value(trade.qty);
            let notional = sym.notional(trade.price, trade.qty);
            let sign = |d: Decimal, positive: bool| if positive { d } else { neg(d) };
            let start = &self.start;
            let balances = self.accounts.entry(order.account.clone()).or_insert_with(|| start.clone());
            for (asset, delta) in [
                (&sym.base_asset, sign(qty, trade.is_buyer)),
                (&sym.quote_asset, sign(notional, !trade.is_buyer)),
                (&trade.commission_asset, neg(trade.commission)),
            ] {
                let entry = balances.entry(asset.clone()).or_insert_with(zero);
                *entry = add(*entry, delta);
            }
        }
    }
}

#[cfg(test)]
#[path = "funds_tests.rs"]
mod tests;

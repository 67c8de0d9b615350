//! A risk engine's state as plain data: what a snapshot stores, so that recovery does not have
//! to replay the whole journal to rebuild positions and PnL.
//!
//! [`RiskEngine::capture`] takes everything post-trade risk follows (positions with their cost,
//! realized PnL and fees; live orders; limits, fee rates, kill switches, reference prices,
//! default limits), in a canonical order so two states compare with `==`.
//! [`RiskEngine::restore`] puts it back. Two things are left out on purpose:
//!
//! - **reservations**: orders that passed [`RiskEngine::check`] but whose book events have not
//!   arrived yet. At a snapshot's cut they belong to commands after the cut (see
//!   [`crate::pipeline`]), whose events recovery replays; keeping them would count those orders
//!   twice, or forever if the command never reached the journal;
//! - **order-rate buckets**: they measure time on the running process's clock, which means
//!   nothing to the next process. They start full again.
//!
//! Exposures are not stored either: they are `position × reference × multiplier`, recomputed.

use serde::{Deserialize, Serialize};
use wintermute_core::order::Side;
use wintermute_core::{AccountId, InstrumentId, OrderId, Price, Qty};

use super::limits::{AccountLimits, Clock, InstrumentLimits, TokenBucket};
use super::position::Position;
use super::{Account, FeeRates, OpenOrder, RiskEngine, RiskError, Slot};

/// One account's state in one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SlotState {
    pub position: Position,
    /// Lots of live orders, buy and sell.
    pub open_buy: Qty,
    pub open_sell: Qty,
    pub limits: Option<InstrumentLimits>,
}

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    pub account: AccountId,
    pub limits: AccountLimits,
    pub fees: FeeRates,
    pub killed: bool,
    pub open_orders: u32,
    /// `slots[i]` is instrument id `i`.
    pub slots: Vec<SlotState>,
}

/// One live order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderState {
    pub instrument: InstrumentId,
    pub order_id: OrderId,
    pub account: AccountId,
    pub side: Side,
    pub price: Price,
    pub remaining: Qty,
}

/// Everything [`RiskEngine::restore`] needs. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskState {
    pub notional_scale: u32,
    pub global_kill: bool,
    pub default_limits: Option<AccountLimits>,
    /// `reference_prices[i]` is instrument id `i`'s.
    pub reference_prices: Vec<Option<Price>>,
    /// By account id.
    pub accounts: Vec<AccountState>,
    /// By instrument, then order id.
    pub orders: Vec<OrderState>,
}

impl<C: Clock> RiskEngine<C> {
    /// The state, without reservations and rate buckets (see the module docs).
    pub fn capture(&self) -> RiskState {
        let mut accounts: Vec<AccountState> = self
            .accounts
            .iter()
            .map(|(&account, a)| AccountState {
                account,
                limits: a.limits,
                fees: a.fees,
                killed: a.killed,
                open_orders: a.open_orders,
                slots: a
                    .slots
                    .iter()
                    .map(|s| SlotState {
                        position: s.position,
                        open_buy: s.open_buy,
                        open_sell: s.open_sell,
                        limits: s.limits,
                    })
                    .collect(),
            })
            .collect();
        accounts.sort_by_key(|a| a.account);
        let mut orders = Vec::with_capacity(self.orders.len());
        for (&(instrument, order_id), o) in &self.orders {
            if o.accepted {
                orders.push(OrderState {
                    instrument,
                    order_id,
                    account: o.account,
                    side: o.side,
                    price: o.price,
                    remaining: o.remaining,
                });
                continue;
            }
            // A reservation: take it back out of its account's counts.
            let Ok(i) = accounts.binary_search_by_key(&o.account, |a| a.account) else { continue };
            let a = &mut accounts[i];
            a.open_orders = a.open_orders.saturating_sub(1);
            if let Some(slot) = a.slots.get_mut(instrument as usize) {
                match o.side {
                    Side::Buy => slot.open_buy -= o.remaining,
                    Side::Sell => slot.open_sell -= o.remaining,
                }
            }
        }
        orders.sort_by_key(|o| (o.instrument, o.order_id));
        // Canonical form: a slot that holds nothing is the same as no slot.
        for a in &mut accounts {
            while a.slots.last().is_some_and(|s| *s == SlotState::default()) {
                a.slots.pop();
            }
        }
        RiskState {
            notional_scale: self.notional_scale,
            global_kill: self.killed,
            default_limits: self.default_limits,
            reference_prices: self.instruments.iter().map(|i| i.reference).collect(),
            accounts,
            orders,
        }
    }

    /// Replaces the state with `state` (instruments stay as registered; they must match in
    /// number and notional scale). Fails, changing nothing, when they do not.
    pub fn restore(&mut self, state: &RiskState) -> Result<(), RiskError> {
        let bad = |why: String| RiskError::Instrument { symbol: "<snapshot>".into(), why };
        if state.notional_scale != self.notional_scale {
            return Err(bad(format!(
                "snapshot notional_scale={} differs from the engine's {}",
                state.notional_scale, self.notional_scale
            )));
        }
        if state.reference_prices.len() != self.instruments.len() {
            return Err(bad(format!(
                "snapshot has instruments={}, the engine {}",
                state.reference_prices.len(),
                self.instruments.len()
            )));
        }
        let too_many = state.accounts.iter().any(|a| a.slots.len() > self.instruments.len())
            || state.orders.iter().any(|o| o.instrument as usize >= self.instruments.len());
        if too_many {
            return Err(bad("snapshot names an instrument the engine does not have".into()));
        }
        for (inst, &reference) in self.instruments.iter_mut().zip(&state.reference_prices) {
            inst.reference = reference;
        }
        self.killed = state.global_kill;
        self.default_limits = state.default_limits;
        self.accounts.clear();
        for a in &state.accounts {
            let mut account = Account {
                limits: a.limits,
                fees: a.fees,
                killed: a.killed,
                open_orders: a.open_orders,
                bucket: TokenBucket::default(),
                slots: a
                    .slots
                    .iter()
                    .map(|s| Slot {
                        position: s.position,
                        open_buy: s.open_buy,
                        open_sell: s.open_sell,
                        exposure: 0,
                        limits: s.limits,
                    })
                    .collect(),
                net: 0,
                gross: 0,
            };
            for (i, inst) in self.instruments.iter().enumerate().take(account.slots.len()) {
                account.remark(i as InstrumentId, inst.reference.unwrap_or(0), inst.multiplier);
            }
            self.accounts.insert(a.account, account);
        }
        self.orders.clear();
        for o in &state.orders {
            let open =
                OpenOrder { account: o.account, side: o.side, price: o.price, remaining: o.remaining, accepted: true };
            self.orders.insert((o.instrument, o.order_id), open);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use wintermute_core::{Command, Event, InstrumentSpec, NewOrder, Side};

    use super::*;
    use crate::risk::{FeeRates, ManualClock};

    fn engine() -> RiskEngine<ManualClock> {
        let mut r = RiskEngine::new(ManualClock::new(), 6);
        r.add_instrument(&InstrumentSpec::from_units("X", "0.5", "0.001", 1, 1000, 1, 100_000).unwrap()).unwrap();
        r.set_default_limits(Some(AccountLimits::UNLIMITED));
        r
    }

    fn accepted(order_id: u64, account: u32, side: Side, qty: i64) -> Event {
        Event::Accepted { seq: 0, order_id, account, side, price: 100, qty }
    }

    #[test]
    fn capture_leaves_reservations_out_and_restore_puts_everything_back() {
        let mut live = engine();
        live.set_fees(1, FeeRates { maker_ppm: 10, taker_ppm: 20 });
        live.set_reference_price(0, 101).unwrap();
        for (id, account, side) in [(1, 1, Side::Buy), (2, 2, Side::Sell)] {
            live.check(0, &Command::New(NewOrder::limit(id, account, side, 100, 5))).unwrap();
            live.on_event(0, &accepted(id, account, side, 5));
        }
        let trade = Event::Trade {
            seq: 0,
            maker_order_id: 1,
            taker_order_id: 2,
            maker_account: 1,
            taker_account: 2,
            price: 100,
            qty: 2,
            aggressor: Side::Sell,
            maker_remaining: 3,
            taker_remaining: 3,
        };
        live.on_event(0, &trade);
        let before = live.capture();
        // A reservation (checked, no event yet) is not part of the state.
        live.check(0, &Command::New(NewOrder::limit(3, 1, Side::Buy, 100, 7))).unwrap();
        live.set_account_kill(2, true);
        let with_reservation = live.capture();
        assert_eq!(live.open_orders(1), 2);
        assert_eq!(with_reservation.accounts[0].open_orders, 1);
        assert_eq!(with_reservation.accounts[0].slots[0].open_buy, 3);
        assert_eq!(with_reservation.orders.len(), 2);
        assert_ne!(before, with_reservation, "the kill switch is state");

        let mut restored = engine();
        restored.restore(&with_reservation).unwrap();
        assert_eq!(restored.capture(), with_reservation);
        assert_eq!(restored.exposure(1), (101 * 2 * 500, 101 * 2 * 500));
        assert_eq!(restored.exposure(2), live.exposure(2));
        assert_eq!(restored.position(1, 0), live.position(1, 0));
        assert!(restored.account_kill(2));
        // Another notional scale or instrument count is refused, changing nothing.
        let mut other = RiskEngine::new(ManualClock::new(), 4);
        assert!(other.restore(&with_reservation).is_err());
        assert_eq!(other.capture().accounts.len(), 0);
    }
}

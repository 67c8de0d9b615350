//! Pre-trade: the checks a command passes before it reaches its book.

use wintermute_core::order::{Command, NewOrder, OrderType, Side};
use wintermute_core::{AccountId, InstrumentId, OrderId, Price, Qty};

use std::collections::hash_map::Entry;

use super::{Account, Clock, InstrumentRisk, OpenOrder, RiskEngine, RiskError};

/// What an order would add, for the limits that look at a worst case.
struct Proposal {
    account: AccountId,
    instrument: InstrumentId,
    side: Side,
    /// Quantity of the (new or amended) order.
    qty: Qty,
    /// Lots added to the account's open quantity on `side`.
    added: Qty,
    /// Limit price, or `None` for a market order.
    price: Option<Price>,
}

impl<C: Clock> RiskEngine<C> {
    /// Checks `command` for `instrument`. A passing new order is reserved: it counts as open
    /// until its events say it is done, or [`RiskEngine::on_refused`] releases it.
    pub fn check(&mut self, instrument: InstrumentId, command: &Command) -> Result<(), RiskError> {
        match *command {
            Command::New(ref order) => self.check_new(instrument, order),
            Command::Amend { order_id, price, qty } => self.check_amend(instrument, order_id, price, qty, 0),
            Command::AmendTotal { order_id, price, qty, seen_remaining } => {
                self.check_amend(instrument, order_id, price, Some(qty), seen_remaining)
            }
            Command::Cancel { .. } | Command::MassCancel { .. } => Ok(()),
        }
    }

    fn check_new(&mut self, instrument: InstrumentId, o: &NewOrder) -> Result<(), RiskError> {
        // One probe of each map per order: the order map's entry serves the duplicate check
        // and the reservation, the account's is looked up once for every limit.
        let reservation = match self.orders.entry((instrument, o.order_id)) {
            Entry::Occupied(_) => return Err(RiskError::DuplicateOrderId { instrument, order_id: o.order_id }),
            Entry::Vacant(v) => v,
        };
        let account = match self.default_limits {
            Some(limits) => Some(self.accounts.entry(o.account).or_insert_with(|| Account::new(limits))),
            None => self.accounts.get_mut(&o.account),
        };
        let price = (o.order_type == OrderType::Limit).then_some(o.price);
        let p = Proposal { account: o.account, instrument, side: o.side, qty: o.qty, added: o.qty, price };
        let limits = Limits { killed: self.killed, instruments: &self.instruments, clock: &self.clock };
        let account = limits.check(account, &p, true)?;
        account.open_orders += 1;
        let slot = account.slot(instrument);
        match o.side {
            Side::Buy => slot.open_buy += o.qty,
            Side::Sell => slot.open_sell += o.qty,
        }
        reservation.insert(OpenOrder {
            account: o.account,
            side: o.side,
            price: o.price,
            remaining: o.qty,
            accepted: false,
        });
        Ok(())
    }

    fn check_amend(
        &mut self,
        instrument: InstrumentId,
        order_id: OrderId,
        price: Option<Price>,
        qty: Option<Qty>,
        seen_remaining: Qty,
    ) -> Result<(), RiskError> {
        let o = *self.orders.get(&(instrument, order_id)).ok_or(RiskError::UnknownOrder { instrument, order_id })?;
        // An amend by total (`seen_remaining` > 0): the fills its sender had not seen come off
        // (as far as risk has seen them; fewer seen here only counts more).
        let unseen = (seen_remaining - o.remaining).max(0);
        let new_qty = qty.unwrap_or(o.remaining).saturating_sub(unseen);
        let reduces_only = price.is_none_or(|p| p == o.price) && new_qty <= o.remaining;
        if reduces_only {
            // Less risk: passes even with a kill switch on, and is not rate-limited.
            return Ok(());
        }
        let p = Proposal {
            account: o.account,
            instrument,
            side: o.side,
            qty: new_qty,
            added: (new_qty - o.remaining).max(0),
            price: Some(price.unwrap_or(o.price)),
        };
        let account = self.accounts.get_mut(&o.account);
        let limits = Limits { killed: self.killed, instruments: &self.instruments, clock: &self.clock };
        limits.check(account, &p, false).map(|_| ())
    }
}

/// What the limits read besides the account: the global kill switch, the instruments and the
/// clock (borrowed field by field, so that the maps can be borrowed next to them).
struct Limits<'a, C: Clock> {
    killed: bool,
    instruments: &'a [InstrumentRisk],
    clock: &'a C,
}

impl<C: Clock> Limits<'_, C> {
    /// Every limit, in the documented order, for `account` (`None`: unknown). `new_order`:
    /// counts toward open orders. Returns the account when the proposal passes.
    fn check<'a>(
        &self,
        account: Option<&'a mut Account>,
        p: &Proposal,
        new_order: bool,
    ) -> Result<&'a mut Account, RiskError> {
        let (account_id, instrument) = (p.account, p.instrument);
        if self.killed {
            return Err(RiskError::GlobalKillSwitch);
        }
        let inst = self.instruments.get(instrument as usize).ok_or(RiskError::UnknownInstrument { instrument })?;
        let account = account.ok_or(RiskError::UnknownAccount { account: account_id })?;
        let limits = account.limits;
        if account.killed {
            return Err(RiskError::AccountKillSwitch { account: account_id });
        }
        if let Some(rate) = limits.order_rate {
            // The clock is read only for accounts with a rate limit.
            if !account.bucket.try_take(rate, self.clock.now_ns()) {
                return Err(RiskError::OrderRate {
                    account: account_id,
                    per_second: rate.per_second,
                    burst: rate.burst,
                });
            }
        }
        let slot = account.slot_ref(instrument);
        let (max_qty, max_position) =
            slot.limits.map_or((limits.max_order_qty, limits.max_position), |l| (l.max_order_qty, l.max_position));
        if p.qty > max_qty {
            return Err(RiskError::MaxOrderQty { account: account_id, instrument, qty: p.qty, limit: max_qty });
        }
        if let (Some(band), Some(price), Some(reference)) = (limits.price_band, p.price, inst.reference) {
            if !band.contains(price, reference) {
                return Err(RiskError::PriceBand { account: account_id, instrument, price, reference, band });
            }
        }
        check_notional(account_id, instrument, inst, p, limits.max_order_notional)?;
        if new_order && account.open_orders >= limits.max_open_orders {
            return Err(RiskError::MaxOpenOrders {
                account: account_id,
                open: account.open_orders,
                limit: limits.max_open_orders,
            });
        }
        check_worst_case(account, inst, p, max_position)?;
        Ok(account)
    }
}

fn check_notional(
    account: AccountId,
    instrument: InstrumentId,
    inst: &InstrumentRisk,
    p: &Proposal,
    limit: i128,
) -> Result<(), RiskError> {
    if limit == i128::MAX {
        return Ok(());
    }
    let price = p.price.or(inst.reference).ok_or(RiskError::NoReferencePrice { instrument })?;
    let notional = i128::from(p.qty)
        .checked_mul(i128::from(price))
        .and_then(|n| n.checked_mul(inst.multiplier))
        .ok_or(RiskError::Overflow { account, instrument, what: "order notional" })?
        .abs();
    if notional > limit {
        return Err(RiskError::MaxOrderNotional { account, instrument, notional, limit });
    }
    Ok(())
}

/// Position and exposure if this order and every open order of the account on the same side
/// in this instrument filled.
fn check_worst_case(a: &Account, inst: &InstrumentRisk, p: &Proposal, max_position: Qty) -> Result<(), RiskError> {
    let (account, instrument) = (p.account, p.instrument);
    let slot = a.slot_ref(instrument);
    let held = i128::from(slot.position.qty);
    let worst = match p.side {
        Side::Buy => held + i128::from(slot.open_buy) + i128::from(p.added),
        Side::Sell => held - i128::from(slot.open_sell) - i128::from(p.added),
    };
    if worst.abs() > i128::from(max_position) {
        return Err(RiskError::MaxPosition { account, instrument, worst, limit: max_position });
    }
    let limits = a.limits;
    if limits.max_gross_exposure == i128::MAX && limits.max_net_exposure == i128::MAX {
        return Ok(());
    }
    // Marked at the reference price; without one, at the order's own price.
    let mark = inst.reference.or(p.price).ok_or(RiskError::NoReferencePrice { instrument })?;
    let exposure = worst
        .checked_mul(i128::from(mark))
        .and_then(|e| e.checked_mul(inst.multiplier))
        .ok_or(RiskError::Overflow { account, instrument, what: "exposure" })?;
    let overflow = || RiskError::Overflow { account, instrument, what: "exposure" };
    let gross =
        a.gross.checked_sub(slot.exposure.abs()).and_then(|g| g.checked_add(exposure.abs())).ok_or_else(overflow)?;
    if gross > limits.max_gross_exposure {
        return Err(RiskError::MaxGrossExposure { account, worst: gross, limit: limits.max_gross_exposure });
    }
    let net = a.net.checked_sub(slot.exposure).and_then(|n| n.checked_add(exposure)).ok_or_else(overflow)?;
    if net.abs() > limits.max_net_exposure {
        return Err(RiskError::MaxNetExposure { account, worst: net, limit: limits.max_net_exposure });
    }
    Ok(())
}

//! Post-trade: following orders through the book's events, and positions, PnL and fees from
//! trades.

use wintermute_core::order::{Command, Side};
use wintermute_core::{AccountId, Event, InstrumentId, OrderId, Price, Qty};

use super::position::fee;
use super::{Clock, OpenOrder, RiskEngine};

impl<C: Clock> RiskEngine<C> {
    /// The book refused `command` in validation (no events): releases a new order's
    /// reservation. Other commands reserved nothing.
    pub fn on_refused(&mut self, instrument: InstrumentId, command: &Command) {
        if let Command::New(ref o) = *command {
            if self.orders.get(&(instrument, o.order_id)).is_some_and(|r| !r.accepted) {
                self.close_order(instrument, o.order_id);
            }
        }
    }

    /// Feeds one event of `instrument`'s book.
    pub fn on_event(&mut self, instrument: InstrumentId, event: &Event) {
        match *event {
            Event::Accepted { order_id, account, side, price, qty, .. } => {
                match self.orders.get_mut(&(instrument, order_id)) {
                    Some(o) => o.accepted = true,
                    None => {
                        // An order that did not pass `check` (e.g. replay without risk): track it.
                        let a = self.account_mut(account);
                        a.open_orders += 1;
                        let slot = a.slot(instrument);
                        match side {
                            Side::Buy => slot.open_buy += qty,
                            Side::Sell => slot.open_sell += qty,
                        }
                        let o = OpenOrder { account, side, price, remaining: qty, accepted: true };
                        self.orders.insert((instrument, order_id), o);
                    }
                }
            }
            Event::Rejected { order_id, .. } => {
                // A new order refused by the market state; a rejected amend leaves its order live.
                if self.orders.get(&(instrument, order_id)).is_some_and(|o| !o.accepted) {
                    self.close_order(instrument, order_id);
                }
            }
            Event::Trade {
                maker_order_id,
                taker_order_id,
                maker_account,
                taker_account,
                price,
                qty,
                aggressor,
                maker_remaining,
                taker_remaining,
                ..
            } => {
                self.fill(instrument, maker_account, aggressor.opposite(), price, qty, true);
                self.fill(instrument, taker_account, aggressor, price, qty, false);
                self.set_remaining(instrument, maker_order_id, maker_remaining);
                self.set_remaining(instrument, taker_order_id, taker_remaining);
            }
            Event::Canceled { order_id, remaining_qty, .. } => {
                self.update_order(instrument, order_id, None, remaining_qty);
            }
            Event::Amended { order_id, new_price, new_qty, .. } => {
                self.update_order(instrument, order_id, Some(new_price), new_qty);
            }
            Event::BookDelta { .. } => {}
        }
    }

    fn fill(&mut self, instrument: InstrumentId, account: AccountId, side: Side, price: Price, qty: Qty, maker: bool) {
        let Some(inst) = self.instruments.get(instrument as usize) else { return };
        let (m, mark) = (inst.multiplier, inst.reference);
        let a = self.account_mut(account);
        let rate = if maker { a.fees.maker_ppm } else { a.fees.taker_ppm };
        let slot = a.slot(instrument);
        slot.position.fill(side == Side::Buy, qty, price, m);
        slot.position.charge(fee(i128::from(qty) * i128::from(price) * m, rate));
        a.remark(instrument, mark.unwrap_or(0), m);
    }

    /// An order's remaining quantity is now `remaining`: adjusts open quantities, and closes
    /// the order at 0.
    fn set_remaining(&mut self, instrument: InstrumentId, order_id: OrderId, remaining: Qty) {
        self.update_order(instrument, order_id, None, remaining);
    }

    /// [`Self::set_remaining`], and the order's price when `price` is given — one probe of
    /// the order map (two when the order closes), and the account's only when its open
    /// quantity or order count moves (a price-only amend leaves both).
    fn update_order(&mut self, instrument: InstrumentId, order_id: OrderId, price: Option<Price>, remaining: Qty) {
        let Some(o) = self.orders.get_mut(&(instrument, order_id)) else { return };
        let delta = remaining - o.remaining;
        o.remaining = remaining;
        if let Some(p) = price {
            o.price = p;
        }
        let (account, side) = (o.account, o.side);
        let closed = remaining <= 0;
        if closed {
            self.orders.remove(&(instrument, order_id));
        } else if delta == 0 {
            return;
        }
        let a = self.account_mut(account);
        if closed {
            a.open_orders = a.open_orders.saturating_sub(1);
        }
        let slot = a.slot(instrument);
        match side {
            Side::Buy => slot.open_buy += delta,
            Side::Sell => slot.open_sell += delta,
        }
    }

    fn close_order(&mut self, instrument: InstrumentId, order_id: OrderId) {
        self.set_remaining(instrument, order_id, 0);
    }
}

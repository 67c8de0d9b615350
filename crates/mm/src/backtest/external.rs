//! A simulated external venue: its book as the venue has it (rebuilt from the tape at venue
//! time) and our orders resting on it, filled by a queue-position model.
//!
//! * A **post-only** order that would cross the book is rejected; otherwise it joins the back of
//!   its price level: the lots ahead of it are the level's quantity when it arrives.
//! * **Queue position** is estimated by a [`QueueModel`] ([`crate::queue`]): risk-averse (only
//!   trades move us forward; the estimate never exceeds what the level shows) or probabilistic
//!   (a decrease the trades do not explain is split between ahead and behind, `f = x^n` or
//!   `ln(1+x)`). A trade at our price takes from the lots ahead first, then from us; a trade
//!   through our price (a sell below our bid) fills us entirely. A book that comes to cross our
//!   price (an ask at or below our bid) fills us at our price.
//! * An **IOC** order walks the book from the touch up to its limit price, never taking more
//!   than each level shows, and is never rested.
//!

use wintermute_feeds::tick_book::TickBook;

use super::tape::{MdEvent, MdKind};
use crate::fees::FeeSchedule;
use crate::queue::{QueueModel, QueuePosition};
use crate::types::{Liquidity, Side};

/// A fill on a venue, before it is stamped with time and venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueFill {
    /// Our order.
    pub order_id: u64,
    /// Our side.
    pub side: Side,
    /// Price, ticks.
    pub price: i64,
    /// Lots.
    pub qty: i64,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// Lots of the order still working.
    pub remaining: i64,
    /// Lots ahead of the order when it was placed.
    pub queue_ahead: i64,
}

#[derive(Debug, Clone, Copy)]
struct Resting {
    id: u64,
    side: Side,
    price: i64,
    qty: i64,
    pos: QueuePosition,
    ahead_at_place: i64,
}

/// One simulated external venue (see the module docs).
#[derive(Debug, Clone)]
pub struct ExternalVenue {
    book: TickBook,
    live: bool,
    orders: Vec<Resting>,
    model: QueueModel,
    /// The venue's fees.
    pub fees: FeeSchedule,
}

impl ExternalVenue {
    /// An empty venue with `fees`, estimating queue positions with `model`.
    pub fn new(fees: FeeSchedule, model: QueueModel) -> Self {
        ExternalVenue { book: TickBook::new(), live: false, orders: Vec::new(), model, fees }
    }

    /// The venue's book.
    pub fn book(&self) -> &TickBook {
        &self.book
    }

    /// Whether the venue's book is live.
    pub fn live(&self) -> bool {
        self.live
    }

    /// Our resting orders as (side, price).
    pub fn resting(&self) -> impl Iterator<Item = (Side, i64)> + '_ {
        self.orders.iter().map(|o| (o.side, o.price))
    }

    /// Applies one tape event at venue time; our fills go to `out`.
    #[inline]
    pub fn apply(&mut self, ev: &MdEvent, out: &mut Vec<VenueFill>) {
        match ev.kind {
            MdKind::Level => {
                let prev = if self.orders.is_empty() { 0 } else { self.book.qty_at(ev.side, ev.price) };
                // A price beyond ±2^62 ticks cannot come from a converted feed; ignore it.
                if self.book.set(ev.side, ev.price, ev.qty).is_err() || self.orders.is_empty() {
                    return;
                }
                for o in &mut self.orders {
                    if o.side == ev.side && o.price == ev.price {
                        self.model.on_level_change(&mut o.pos, prev, ev.qty);
                    }
                }
                self.fill_crossed(out);
            }
            MdKind::Trade => self.trade(ev.side, ev.price, ev.qty, out),
            MdKind::Clear => {
                self.book.clear();
                self.live = true;
            }
            MdKind::Invalid => {
                self.book.clear();
                self.live = false;
            }
        }
    }

    fn trade(&mut self, aggressor: Side, price: i64, qty: i64, out: &mut Vec<VenueFill>) {
        let mut i = 0;
        while i < self.orders.len() {
            let o = &mut self.orders[i];
            let hit = o.side != aggressor
                && match o.side {
                    Side::Buy => o.price >= price,
                    Side::Sell => o.price <= price,
                };
            if hit {
                let filled =
                    if o.price == price { self.model.on_trade(&mut o.pos, qty).clamp(0, o.qty) } else { o.qty };
                if filled > 0 && self.fill_resting(i, filled, out) {
                    continue;
                }
            }
            i += 1;
        }
    }

    fn fill_crossed(&mut self, out: &mut Vec<VenueFill>) {
        let (bid, ask) = (self.book.best_bid().map(|b| b.0), self.book.best_ask().map(|a| a.0));
        let mut i = 0;
        while i < self.orders.len() {
            let o = self.orders[i];
            let crossed = match o.side {
                Side::Buy => ask.is_some_and(|a| a <= o.price),
                Side::Sell => bid.is_some_and(|b| b >= o.price),
            };
            if crossed && self.fill_resting(i, o.qty, out) {
                continue;
            }
            i += 1;
        }
    }

    /// Fills `qty` of resting order `i`; true when the order is gone (removed at `i`).
    fn fill_resting(&mut self, i: usize, qty: i64, out: &mut Vec<VenueFill>) -> bool {
        let o = &mut self.orders[i];
        o.qty -= qty;
        out.push(VenueFill {
            order_id: o.id,
            side: o.side,
            price: o.price,
            qty,
            liquidity: Liquidity::Maker,
            remaining: o.qty,
            queue_ahead: o.ahead_at_place,
        });
        if o.qty == 0 {
            self.orders.swap_remove(i);
            true
        } else {
            false
        }
    }

    /// A post-only order arrives: false when it is rejected (it would cross, or the book is down).
    pub fn place(&mut self, id: u64, side: Side, price: i64, qty: i64) -> bool {
        let crosses = match side {
            Side::Buy => self.book.best_ask().is_some_and(|(a, _)| a <= price),
            Side::Sell => self.book.best_bid().is_some_and(|(b, _)| b >= price),
        };
        if crosses || !self.live {
            return false;
        }
        let ahead = self.book.qty_at(side, price);
        self.orders.push(Resting { id, side, price, qty, pos: self.model.on_join(ahead), ahead_at_place: ahead });
        true
    }

    /// An IOC order arrives: walks the book up to `limit`; fills go to `out`.
    pub fn take(&mut self, id: u64, side: Side, limit: i64, qty: i64, out: &mut Vec<VenueFill>) {
        let mut left = qty;
        let opposite = match side {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        };
        let start = out.len();
        for (price, shown) in self.book.levels(opposite) {
            let within = match side {
                Side::Buy => price <= limit,
                Side::Sell => price >= limit,
            };
            if left == 0 || !within {
                break;
            }
            let q = shown.min(left);
            left -= q;
            out.push(VenueFill {
                order_id: id,
                side,
                price,
                qty: q,
                liquidity: Liquidity::Taker,
                remaining: 0,
                queue_ahead: 0,
            });
        }
        // Remaining quantities, now that the total is known.
        let mut rem = qty - left;
        for f in &mut out[start..] {
            rem -= f.qty;
            f.remaining = rem;
        }
    }

    /// Lowers a resting order's quantity (keeps its place); false if it is not resting.
    pub fn amend(&mut self, id: u64, qty: i64) -> bool {
        match self.orders.iter_mut().find(|o| o.id == id) {
            Some(o) if qty > 0 && qty <= o.qty => {
                o.qty = qty;
                true
            }
            _ => false,
        }
    }

    /// Cancels a resting order; false if it is not resting.
    pub fn cancel(&mut self, id: u64) -> bool {
        match self.orders.iter().position(|o| o.id == id) {
            Some(i) => {
                self.orders.swap_remove(i);
                true
            }
            None => false,
        }
    }
}

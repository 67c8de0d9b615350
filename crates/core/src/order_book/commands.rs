//! The commands a book accepts: submit, cancel, amend and mass cancel. Each validates, then
//! hands over to matching ([`super::matching`]) and storage ([`super::storage`]), and emits its
//! events in the order `docs/matching.md` gives.

use super::{OrderBook, Taker, NIL};
use crate::error::OrderError;
use crate::event::{CancelReason, Event, EventSink, RejectReason};
use crate::order::{NewOrder, OrderType, Side, TimeInForce};
use crate::{AccountId, OrderId, Price, Qty};

impl OrderBook {
    /// Submits a new order. See `docs/matching.md` ("New order").
    // Always inlined, with `cancel`, `rest` and `emit_delta`: the batch API's loop calls it
    // straight from a record, and holding it needs no `NewOrder` built for a call. Forcing only
    // some of the four moves the cost instead of removing it (docs/benchmarks.md, 2026-12-07).
    #[inline(always)]
    pub fn submit<S: EventSink>(&mut self, o: &NewOrder, sink: &mut S) -> Result<(), OrderError> {
        self.validate_new(o)?;
        let market = o.order_type == OrderType::Market;
        if o.post_only && self.would_trade(o.side, o.price) {
            let seq = self.next_seq();
            sink.push(Event::Rejected { seq, order_id: o.order_id, reason: RejectReason::PostOnlyWouldCross });
            return Ok(());
        }
        let mut taker = Taker {
            id: o.order_id,
            account: o.account,
            side: o.side,
            market,
            price: if market { 0 } else { o.price },
            remaining: o.qty,
            stp: o.stp,
        };
        if o.tif == TimeInForce::Fok {
            if let Err(reason) = self.fok_check(&taker) {
                let seq = self.next_seq();
                sink.push(Event::Rejected { seq, order_id: o.order_id, reason });
                return Ok(());
            }
        }
        let seq = self.next_seq();
        sink.push(Event::Accepted {
            seq,
            order_id: o.order_id,
            account: o.account,
            side: o.side,
            price: taker.price,
            qty: o.qty,
        });
        let stopped = self.match_taker(&mut taker, sink);
        if stopped || taker.remaining == 0 {
            return Ok(());
        }
        if o.tif == TimeInForce::Gtc && !market {
            let display = o.display_qty.unwrap_or(0);
            self.rest(&taker, display, o.post_only, sink);
        } else {
            debug_assert!(o.tif != TimeInForce::Fok, "FOK passed its check but did not fill");
            let seq = self.next_seq();
            sink.push(Event::Canceled {
                seq,
                order_id: o.order_id,
                canceled_qty: taker.remaining,
                remaining_qty: 0,
                reason: CancelReason::Unfilled,
            });
        }
        Ok(())
    }

    /// Cancels a live order.
    #[inline(always)]
    pub fn cancel<S: EventSink>(&mut self, order_id: OrderId, sink: &mut S) -> Result<(), OrderError> {
        let slot = self.ids.get(order_id).ok_or(OrderError::UnknownOrder { order_id })?;
        self.cancel_slot(slot, CancelReason::User, sink);
        Ok(())
    }

    /// Takes the live order in `slot` off the book: its `Canceled` event, then its level's
    /// `BookDelta`.
    #[inline(always)]
    fn cancel_slot<S: EventSink>(&mut self, slot: u32, reason: CancelReason, sink: &mut S) {
        let node = self.orders[slot as usize];
        let seq = self.next_seq();
        sink.push(Event::Canceled { seq, order_id: node.id, canceled_qty: node.remaining, remaining_qty: 0, reason });
        let level = node.level;
        self.unlink(slot);
        self.emit_delta(node.side, level, sink);
        self.drop_level_if_empty(node.side, level);
    }

    /// Amends a live order's price and/or remaining quantity. See `docs/matching.md` ("Amend").
    pub fn amend<S: EventSink>(
        &mut self,
        order_id: OrderId,
        price: Option<Price>,
        qty: Option<Qty>,
        sink: &mut S,
    ) -> Result<(), OrderError> {
        self.amend_as_seen(order_id, price, qty, None, sink)
    }

    /// Amends a live order by total quantity: `qty` lots open as its sender saw it with
    /// `seen_remaining` lots open; the fills it had not seen come off. See `docs/matching.md`
    /// ("Amend by total") and [`crate::Command::AmendTotal`].
    // Never inlined: a second copy of the amend in `execute` would only weigh on its callers.
    #[inline(never)]
    pub fn amend_total<S: EventSink>(
        &mut self,
        order_id: OrderId,
        price: Option<Price>,
        qty: Qty,
        seen_remaining: Qty,
        sink: &mut S,
    ) -> Result<(), OrderError> {
        self.amend_as_seen(order_id, price, Some(qty), Some(seen_remaining), sink)
    }

    /// Both amends: `seen` is the remaining quantity the sender saw (an amend by total), or
    /// `None` (the quantity is set as given).
    #[inline(always)]
    fn amend_as_seen<S: EventSink>(
        &mut self,
        order_id: OrderId,
        price: Option<Price>,
        qty: Option<Qty>,
        seen: Option<Qty>,
        sink: &mut S,
    ) -> Result<(), OrderError> {
        let slot = self.ids.get(order_id).ok_or(OrderError::UnknownOrder { order_id })?;
        if price.is_none() && qty.is_none() {
            return Err(OrderError::InvalidOrder { order_id, why: "an amend must change the price or the quantity" });
        }
        if let Some(p) = price {
            self.check_band(order_id, p)?;
        }
        if let Some(q) = qty {
            if q <= 0 {
                return Err(OrderError::NonPositiveQty { order_id, qty: q });
            }
            if q > self.spec.max_qty {
                return Err(OrderError::QtyAboveMax { order_id, qty: q, max: self.spec.max_qty });
            }
        }
        let node = self.orders[slot as usize];
        let new_price = price.unwrap_or(node.price);
        let mut new_qty = qty.unwrap_or(node.remaining);
        if let Some(seen) = seen {
            if seen < node.remaining {
                return Err(OrderError::InvalidOrder {
                    order_id,
                    why: "seen_remaining is below the order's remaining quantity (the sender missed an amend)",
                });
            }
            if seen > self.spec.max_qty {
                return Err(OrderError::QtyAboveMax { order_id, qty: seen, max: self.spec.max_qty });
            }
            // The fills the sender had not seen come off what it asked for.
            new_qty -= seen - node.remaining;
            if new_qty <= 0 {
                self.cancel_slot(slot, CancelReason::FilledBeforeAmend, sink);
                return Ok(());
            }
        }

        let amended = |seq, priority_kept| Event::Amended {
            seq,
            order_id,
            old_price: node.price,
            new_price,
            old_qty: node.remaining,
            new_qty,
            priority_kept,
        };
        if new_price == node.price && new_qty <= node.remaining {
            let seq = self.next_seq();
            sink.push(amended(seq, true));
            let n = &mut self.orders[slot as usize];
            let new_visible = n.visible.min(new_qty);
            let (dv, dt) = (n.visible - new_visible, n.remaining - new_qty);
            n.visible = new_visible;
            n.remaining = new_qty;
            let level = &mut self.levels[node.level as usize];
            level.visible -= dv;
            level.total -= dt;
            self.emit_delta(node.side, node.level, sink);
            return Ok(());
        }

        if node.post_only && self.would_trade(node.side, new_price) {
            let seq = self.next_seq();
            sink.push(Event::Rejected { seq, order_id, reason: RejectReason::PostOnlyWouldCross });
            return Ok(());
        }
        let seq = self.next_seq();
        sink.push(amended(seq, false));
        // The order leaves its level but keeps its slab slot and its id-map entry: if it rests
        // again (the usual case) it is re-linked in place, with no id-map remove + insert.
        self.detach(slot);
        self.emit_delta(node.side, node.level, sink);
        self.drop_level_if_empty(node.side, node.level);
        let mut taker = Taker {
            id: order_id,
            account: node.account,
            side: node.side,
            market: false,
            price: new_price,
            remaining: new_qty,
            stp: node.stp,
        };
        let stopped = self.match_taker(&mut taker, sink);
        if !stopped && taker.remaining > 0 {
            let n = &mut self.orders[slot as usize];
            n.price = new_price;
            n.remaining = taker.remaining;
            n.visible = if n.display > 0 { n.display.min(taker.remaining) } else { taker.remaining };
            let level = self.link(slot);
            self.emit_delta(node.side, level, sink);
        } else {
            self.ids.remove(order_id);
            self.free_slot(slot);
        }
        Ok(())
    }

    /// Cancels every live order of `account` (all accounts if `None`) on `side` (both if `None`).
    pub fn mass_cancel<S: EventSink>(&mut self, account: Option<AccountId>, side: Option<Side>, sink: &mut S) {
        for s in [Side::Buy, Side::Sell] {
            if side.is_some_and(|x| x != s) {
                continue;
            }
            let mut cursor = self.best[s.index()];
            while let Some(price) = cursor {
                let level = self.ladders[s.index()].get(price).expect("ladder holds the level");
                let mut cur = self.levels[level as usize].head;
                let mut touched = false;
                while cur != NIL {
                    let node = self.orders[cur as usize];
                    let next = node.next;
                    if account.is_none_or(|a| a == node.account) {
                        let seq = self.next_seq();
                        sink.push(Event::Canceled {
                            seq,
                            order_id: node.id,
                            canceled_qty: node.remaining,
                            remaining_qty: 0,
                            reason: CancelReason::MassCancel,
                        });
                        self.unlink(cur);
                        touched = true;
                    }
                    cur = next;
                }
                if touched {
                    self.emit_delta(s, level, sink);
                    self.drop_level_if_empty(s, level);
                }
                cursor = self.worse_than(s, price);
            }
        }
    }
}

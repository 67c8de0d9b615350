//! Matching a taker against the opposite side: the FOK pre-check, the price-time walk over
//! levels and their FIFO queues (a fast path for the common case, the general one with icebergs
//! and self-trade prevention), and what happens to the remainder (`docs/matching.md`, "Matching").

use super::{crosses, OrderBook, OrderNode, Taker, NIL};
use crate::event::{CancelReason, Event, EventSink, RejectReason};
use crate::order::StpMode;
use crate::Qty;

impl OrderBook {
    /// FOK pre-check (level-granular, see docs/matching.md).
    pub(super) fn fok_check(&self, t: &Taker) -> Result<(), RejectReason> {
        let opp = t.side.opposite();
        let mut available: Qty = 0;
        let mut cursor = self.best[opp.index()];
        while let Some(price) = cursor {
            if !t.market && !crosses(t.side, t.price, price) {
                break;
            }
            let level = &self.levels[self.ladders[opp.index()].get(price).expect("level") as usize];
            if t.stp != StpMode::None {
                let mut cur = level.head;
                while cur != NIL {
                    let n = &self.orders[cur as usize];
                    if n.account == t.account {
                        return Err(RejectReason::FokSelfTrade);
                    }
                    cur = n.next;
                }
            }
            available += level.total;
            if available >= t.remaining {
                return Ok(());
            }
            cursor = self.worse_than(opp, price);
        }
        Err(RejectReason::FokNotFillable)
    }

    /// Matches `t` against the opposite side. Returns true if self-trade prevention canceled
    /// the taker (it must not rest). The no-trade case (the common one for passive orders and
    /// moves) is decided inline, without the call.
    #[inline(always)]
    pub(super) fn match_taker<S: EventSink>(&mut self, t: &mut Taker, sink: &mut S) -> bool {
        match self.best[t.side.opposite().index()] {
            Some(price) if t.remaining > 0 && (t.market || crosses(t.side, t.price, price)) => {
                self.match_taker_slow(t, sink)
            }
            _ => false,
        }
    }

    #[inline(never)]
    pub(super) fn match_taker_slow<S: EventSink>(&mut self, t: &mut Taker, sink: &mut S) -> bool {
        let opp = t.side.opposite();
        while t.remaining > 0 {
            let Some(price) = self.best[opp.index()] else { break };
            if !t.market && !crosses(t.side, t.price, price) {
                break;
            }
            let level = self.ladders[opp.index()].get(price).expect("best level exists");
            let mut touched = false;
            let mut stopped = false;
            while t.remaining > 0 {
                let head = self.levels[level as usize].head;
                if head == NIL {
                    break;
                }
                let m = self.orders[head as usize];
                if t.stp != StpMode::None && m.account == t.account {
                    touched |= self.self_trade(t, head, sink);
                    if t.stp == StpMode::CancelNewest || t.stp == StpMode::CancelBoth {
                        stopped = true;
                        break;
                    }
                    continue;
                }
                touched = true;
                let q = t.remaining.min(m.visible);
                t.remaining -= q;
                let maker_remaining = m.remaining - q;
                let seq = self.next_seq();
                sink.push(Event::Trade {
                    seq,
                    maker_order_id: m.id,
                    taker_order_id: t.id,
                    maker_account: m.account,
                    taker_account: t.account,
                    price,
                    qty: q,
                    aggressor: t.side,
                    maker_remaining,
                    taker_remaining: t.remaining,
                });
                if maker_remaining == 0 {
                    self.unlink(head);
                } else {
                    let lv = &mut self.levels[level as usize];
                    lv.visible -= q;
                    lv.total -= q;
                    let n = &mut self.orders[head as usize];
                    n.remaining = maker_remaining;
                    n.visible -= q;
                    if n.visible == 0 {
                        // Iceberg slice used up: refill and go to the back of the queue.
                        let refill = n.display.min(maker_remaining);
                        n.visible = refill;
                        self.levels[level as usize].visible += refill;
                        self.move_to_back(head);
                    }
                }
            }
            if touched {
                self.emit_delta(opp, level, sink);
            }
            let emptied = self.drop_level_if_empty(opp, level);
            if stopped {
                return true;
            }
            if !emptied {
                break;
            }
        }
        false
    }

    /// Applies the taker's self-trade prevention against the maker at `slot`. Returns true if
    /// the maker was changed (canceled or decremented).
    pub(super) fn self_trade<S: EventSink>(&mut self, t: &mut Taker, slot: u32, sink: &mut S) -> bool {
        let m = self.orders[slot as usize];
        match t.stp {
            StpMode::None => false,
            StpMode::CancelNewest => {
                self.cancel_taker(t, sink);
                false
            }
            StpMode::CancelOldest | StpMode::CancelBoth => {
                let seq = self.next_seq();
                sink.push(Event::Canceled {
                    seq,
                    order_id: m.id,
                    canceled_qty: m.remaining,
                    remaining_qty: 0,
                    reason: CancelReason::SelfTrade,
                });
                self.unlink(slot);
                if t.stp == StpMode::CancelBoth {
                    self.cancel_taker(t, sink);
                }
                true
            }
            StpMode::Decrement => {
                let d = t.remaining.min(m.remaining);
                let maker_left = m.remaining - d;
                let seq = self.next_seq();
                sink.push(Event::Canceled {
                    seq,
                    order_id: m.id,
                    canceled_qty: d,
                    remaining_qty: maker_left,
                    reason: CancelReason::SelfTrade,
                });
                if maker_left == 0 {
                    self.unlink(slot);
                } else {
                    let n = &mut self.orders[slot as usize];
                    let new_visible = n.visible.min(maker_left);
                    let dv = n.visible - new_visible;
                    n.visible = new_visible;
                    n.remaining = maker_left;
                    let lv = &mut self.levels[m.level as usize];
                    lv.visible -= dv;
                    lv.total -= d;
                }
                t.remaining -= d;
                let seq = self.next_seq();
                sink.push(Event::Canceled {
                    seq,
                    order_id: t.id,
                    canceled_qty: d,
                    remaining_qty: t.remaining,
                    reason: CancelReason::SelfTrade,
                });
                true
            }
        }
    }

    pub(super) fn cancel_taker<S: EventSink>(&mut self, t: &mut Taker, sink: &mut S) {
        let seq = self.next_seq();
        sink.push(Event::Canceled {
            seq,
            order_id: t.id,
            canceled_qty: t.remaining,
            remaining_qty: 0,
            reason: CancelReason::SelfTrade,
        });
        t.remaining = 0;
    }

    /// Puts the taker's remainder on the book at the back of its level.
    #[inline(always)]
    pub(super) fn rest<S: EventSink>(&mut self, t: &Taker, display: Qty, post_only: bool, sink: &mut S) {
        let visible = if display > 0 { display.min(t.remaining) } else { t.remaining };
        let slot = self.insert_order(OrderNode {
            id: t.id,
            price: t.price,
            remaining: t.remaining,
            visible,
            display,
            prev: NIL,
            next: NIL,
            level: NIL,
            account: t.account,
            side: t.side,
            stp: t.stp,
            post_only,
        });
        let level = self.orders[slot as usize].level;
        self.emit_delta(t.side, level, sink);
    }
}

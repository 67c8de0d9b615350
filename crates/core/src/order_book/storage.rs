//! Where orders and levels live: the order slab with its free list, the intrusive FIFO per
//! level, the level slab indexed by each side's [`PriceLadder`](crate::price_ladder::PriceLadder),
//! the best price per side, and the book deltas emitted when a level changes.

use super::{Level, OrderBook, OrderNode, NIL};
use crate::event::{Event, EventSink};
use crate::order::Side;
use crate::Price;

impl OrderBook {
    /// Nearest occupied price strictly worse than `price` on `side`.
    #[inline]
    pub(super) fn worse_than(&self, side: Side, price: Price) -> Option<Price> {
        match side {
            Side::Buy => self.ladders[0].next_down(price - 1).map(|(p, _)| p),
            Side::Sell => self.ladders[1].next_up(price + 1).map(|(p, _)| p),
        }
    }

    /// Stores an order node at the back of its price level (creating the level if needed).
    pub(super) fn insert_order(&mut self, node: OrderNode) -> u32 {
        let slot = if self.free_order != NIL {
            let s = self.free_order;
            self.free_order = self.orders[s as usize].next;
            self.orders[s as usize] = node;
            s
        } else {
            self.orders.push(node);
            (self.orders.len() - 1) as u32
        };
        self.link(slot);
        self.ids.insert(node.id, slot);
        slot
    }

    /// Appends the order at `slot` (price, side and quantities set) to the back of its price
    /// level, creating the level if needed; returns the level.
    #[inline]
    pub(super) fn link(&mut self, slot: u32) -> u32 {
        let (side, price, visible, remaining) = {
            let n = &self.orders[slot as usize];
            (n.side, n.price, n.visible, n.remaining)
        };
        let level = match self.ladders[side.index()].get(price) {
            Some(l) => l,
            None => self.new_level(side, price),
        };
        let tail = self.levels[level as usize].tail;
        let n = &mut self.orders[slot as usize];
        n.level = level;
        n.prev = tail;
        n.next = NIL;
        if tail == NIL {
            self.levels[level as usize].head = slot;
        } else {
            self.orders[tail as usize].next = slot;
        }
        let lv = &mut self.levels[level as usize];
        lv.tail = slot;
        lv.visible += visible;
        lv.total += remaining;
        lv.count += 1;
        level
    }

    pub(super) fn new_level(&mut self, side: Side, price: Price) -> u32 {
        let level = Level { price, head: NIL, tail: NIL, visible: 0, total: 0, count: 0 };
        let idx = if self.free_level != NIL {
            let i = self.free_level;
            self.free_level = self.levels[i as usize].head;
            self.levels[i as usize] = level;
            i
        } else {
            self.levels.push(level);
            (self.levels.len() - 1) as u32
        };
        self.ladders[side.index()].insert(price, idx);
        let best = &mut self.best[side.index()];
        if best.is_none_or(|b| match side {
            Side::Buy => price > b,
            Side::Sell => price < b,
        }) {
            *best = Some(price);
        }
        idx
    }

    /// Removes an order from its level's queue and frees its slot (the level stays, maybe empty).
    #[inline]
    pub(super) fn unlink(&mut self, slot: u32) {
        let id = self.orders[slot as usize].id;
        self.detach(slot);
        self.ids.remove(id);
        self.free_slot(slot);
    }

    /// Takes an order out of its level's queue; its slot and id-map entry stay.
    #[inline(always)]
    pub(super) fn detach(&mut self, slot: u32) {
        let n = &self.orders[slot as usize];
        let (prev, next, level, visible, remaining) = (n.prev, n.next, n.level, n.visible, n.remaining);
        let lv = &mut self.levels[level as usize];
        lv.visible -= visible;
        lv.total -= remaining;
        lv.count -= 1;
        if prev == NIL {
            lv.head = next;
        } else {
            self.orders[prev as usize].next = next;
        }
        if next == NIL {
            self.levels[level as usize].tail = prev;
        } else {
            self.orders[next as usize].prev = prev;
        }
    }

    #[inline]
    pub(super) fn free_slot(&mut self, slot: u32) {
        self.orders[slot as usize].next = self.free_order;
        self.free_order = slot;
    }

    /// Moves a queued order to the back of its level.
    pub(super) fn move_to_back(&mut self, slot: u32) {
        let n = self.orders[slot as usize];
        let level = n.level as usize;
        if self.levels[level].tail == slot {
            return;
        }
        // Detach (it is not the tail, so `next` exists).
        if n.prev == NIL {
            self.levels[level].head = n.next;
        } else {
            self.orders[n.prev as usize].next = n.next;
        }
        self.orders[n.next as usize].prev = n.prev;
        // Append.
        let tail = self.levels[level].tail;
        self.orders[tail as usize].next = slot;
        let node = &mut self.orders[slot as usize];
        node.prev = tail;
        node.next = NIL;
        self.levels[level].tail = slot;
    }

    /// Removes the level if it has no orders; returns true if it did.
    #[inline(always)]
    pub(super) fn drop_level_if_empty(&mut self, side: Side, level: u32) -> bool {
        let lv = self.levels[level as usize];
        if lv.count != 0 {
            return false;
        }
        self.ladders[side.index()].remove(lv.price);
        self.levels[level as usize].head = self.free_level;
        self.free_level = level;
        if self.best[side.index()] == Some(lv.price) {
            self.best[side.index()] = self.worse_than(side, lv.price);
        }
        true
    }

    #[inline(always)]
    pub(super) fn emit_delta<S: EventSink>(&mut self, side: Side, level: u32, sink: &mut S) {
        let lv = self.levels[level as usize];
        let seq = self.next_seq();
        sink.push(Event::BookDelta { seq, side, price: lv.price, qty: lv.visible, orders: lv.count });
    }
}

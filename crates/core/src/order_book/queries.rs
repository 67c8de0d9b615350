//! Reading a book: depth (L2), queues (L3), single orders, and snapshots that restore into an
//! identical book.

use super::{BookSnapshot, Level, LevelView, OrderBook, OrderNode, OrderView, QueuePosition, SnapshotError, NIL};
use crate::order::Side;
use crate::{OrderId, Price};

impl OrderBook {
    /// Up to `levels` price levels of `side`, best first.
    pub fn depth(&self, side: Side, levels: usize) -> Vec<LevelView> {
        let mut out = Vec::with_capacity(levels.min(1024));
        self.for_each_level(side, |lv| {
            if out.len() >= levels {
                return false;
            }
            out.push(LevelView { price: lv.price, qty: lv.visible, orders: lv.count });
            true
        });
        out
    }

    fn for_each_level(&self, side: Side, mut f: impl FnMut(&Level) -> bool) {
        let mut cursor = self.best[side.index()];
        while let Some(price) = cursor {
            let level = self.ladders[side.index()].get(price).expect("ladder holds the level");
            if !f(&self.levels[level as usize]) {
                return;
            }
            cursor = self.worse_than(side, price);
        }
    }

    fn view(&self, slot: u32) -> OrderView {
        let n = &self.orders[slot as usize];
        OrderView {
            order_id: n.id,
            account: n.account,
            side: n.side,
            price: n.price,
            remaining: n.remaining,
            visible: n.visible,
            display_qty: (n.display > 0).then_some(n.display),
            stp: n.stp,
            post_only: n.post_only,
        }
    }

    fn push_queue(&self, level: &Level, out: &mut Vec<OrderView>) {
        let mut cur = level.head;
        while cur != NIL {
            out.push(self.view(cur));
            cur = self.orders[cur as usize].next;
        }
    }

    /// The orders at one price level, in queue order (empty if there is no such level).
    pub fn orders_at(&self, side: Side, price: Price) -> Vec<OrderView> {
        let mut out = Vec::new();
        if let Some(level) = self.ladders[side.index()].get(price) {
            self.push_queue(&self.levels[level as usize], &mut out);
        }
        out
    }

    /// A live order, if `order_id` is live.
    pub fn order(&self, order_id: OrderId) -> Option<OrderView> {
        self.ids.get(order_id).map(|slot| self.view(slot))
    }

    /// The exact FIFO position of a live order at its price level: the visible lots and the
    /// number of orders in front of it, and the level's totals. `None` if `order_id` is not live.
    ///
    /// A query, not on the matching path: it walks the level from its head to the order
    /// (O(orders ahead)) and allocates nothing.
    pub fn queue_position(&self, order_id: OrderId) -> Option<QueuePosition> {
        let slot = self.ids.get(order_id)?;
        let node = &self.orders[slot as usize];
        let level = &self.levels[node.level as usize];
        let (mut qty_ahead, mut orders_ahead) = (0, 0u32);
        let mut cur = level.head;
        while cur != slot && cur != NIL {
            let ahead = &self.orders[cur as usize];
            qty_ahead += ahead.visible;
            orders_ahead += 1;
            cur = ahead.next;
        }
        Some(QueuePosition {
            side: node.side,
            price: node.price,
            qty_ahead,
            orders_ahead,
            own_visible: node.visible,
            level_qty: level.visible,
            level_orders: level.count,
        })
    }

    /// Every live order, bids best-first then asks best-first, each level in queue order.
    pub fn snapshot(&self) -> BookSnapshot {
        let mut orders = Vec::with_capacity(self.order_count());
        for side in [Side::Buy, Side::Sell] {
            self.for_each_level(side, |lv| {
                self.push_queue(lv, &mut orders);
                true
            });
        }
        BookSnapshot { spec: self.spec.clone(), seq: self.seq, orders }
    }

    /// Rebuilds a book from a snapshot; it then behaves exactly like the book that took it.
    pub fn restore(snapshot: &BookSnapshot) -> Result<OrderBook, SnapshotError> {
        let spec = snapshot.spec.clone().validate()?;
        let mut book = OrderBook::with_capacity(spec, snapshot.orders.len().max(1024));
        book.seq = snapshot.seq;
        for o in &snapshot.orders {
            let bad = |why| SnapshotError::Order { order_id: o.order_id, why };
            if book.ids.get(o.order_id).is_some() {
                return Err(bad("duplicate order id"));
            }
            if o.remaining <= 0 || o.visible <= 0 || o.visible > o.remaining {
                return Err(bad("needs 0 < visible <= remaining"));
            }
            match o.display_qty {
                Some(d) if d <= 0 || o.visible > d => return Err(bad("needs 0 < visible <= display_qty")),
                None if o.visible != o.remaining => return Err(bad("a non-iceberg order shows all of its quantity")),
                _ => {}
            }
            if o.price < book.spec.min_price || o.price > book.spec.max_price {
                return Err(bad("price outside the instrument's band"));
            }
            book.insert_order(OrderNode {
                id: o.order_id,
                price: o.price,
                remaining: o.remaining,
                visible: o.visible,
                display: o.display_qty.unwrap_or(0),
                prev: NIL,
                next: NIL,
                level: NIL,
                account: o.account,
                side: o.side,
                stp: o.stp,
                post_only: o.post_only,
            });
        }
        if let (Some(bid), Some(ask)) = (book.best[0], book.best[1]) {
            if bid >= ask {
                return Err(SnapshotError::Crossed { bid, ask });
            }
        }
        Ok(book)
    }
}

//! The order book: price-time priority matching for one instrument.
//!
//! Layout (see `../shared/DESIGN.md`, "Book structure"):
//! - orders live in a slab (`Vec<OrderNode>` with a free list), linked into an intrusive
//!   doubly-linked FIFO per price level, so a cancel is O(1);
//! - order id -> slab slot through a pre-sized open-addressing map;
//! - price levels live in a second slab, indexed per side by a [`PriceLadder`] (dense window +
//!   bitmap, ordered map for far prices); the best price per side is kept incrementally.
//!
//! After warm-up (capacity reached once), no command allocates: events go to a caller-owned
//! [`EventSink`]. The exact rules are in `docs/matching.md`.

use serde::{Deserialize, Serialize};

mod queries;

use crate::error::OrderError;
use crate::event::{CancelReason, Event, EventSink, RejectReason};
use crate::instrument::InstrumentSpec;
use crate::order::{Command, NewOrder, OrderType, Side, StpMode, TimeInForce};
use crate::order_id_map::OrderIdMap;
use crate::price_ladder::{PriceLadder, NIL};
use crate::{AccountId, OrderId, Price, Qty, Seq};

/// One price level as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LevelView {
    pub price: Price,
    /// Visible quantity (iceberg hidden quantity excluded).
    pub qty: Qty,
    pub orders: u32,
}

/// A live order as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub order_id: OrderId,
    pub account: AccountId,
    pub side: Side,
    pub price: Price,
    /// Total remaining quantity (hidden included).
    pub remaining: Qty,
    /// Quantity currently shown on the book.
    pub visible: Qty,
    /// Iceberg display size, if an iceberg.
    pub display_qty: Option<Qty>,
    pub stp: StpMode,
    pub post_only: bool,
}

/// Everything needed to rebuild a book exactly: its spec, its sequence number and every live
/// order, bids best-first then asks best-first, each level in queue order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookSnapshot {
    pub spec: InstrumentSpec,
    pub seq: Seq,
    pub orders: Vec<OrderView>,
}

/// Why a snapshot cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot spec is invalid: {0}")]
    Spec(#[from] crate::instrument::InstrumentError),
    #[error("snapshot order_id={order_id}: {why}")]
    Order { order_id: OrderId, why: &'static str },
    #[error("snapshot is crossed: best bid={bid} ticks >= best ask={ask} ticks")]
    Crossed { bid: Price, ask: Price },
}

#[derive(Debug, Clone, Copy)]
struct OrderNode {
    id: OrderId,
    price: Price,
    remaining: Qty,
    visible: Qty,
    /// Iceberg display size; 0 when not an iceberg.
    display: Qty,
    prev: u32,
    next: u32,
    level: u32,
    account: AccountId,
    side: Side,
    stp: StpMode,
    post_only: bool,
}

#[derive(Debug, Clone, Copy)]
struct Level {
    price: Price,
    head: u32,
    tail: u32,
    visible: Qty,
    total: Qty,
    count: u32,
}

/// The incoming side of a match: a new order, or an amended order re-entering.
#[derive(Debug, Clone, Copy)]
struct Taker {
    id: OrderId,
    account: AccountId,
    side: Side,
    market: bool,
    price: Price,
    remaining: Qty,
    stp: StpMode,
}

/// A price-time-priority order book for one instrument. See the module docs.
#[derive(Debug, Clone)]
pub struct OrderBook {
    spec: InstrumentSpec,
    seq: Seq,
    orders: Vec<OrderNode>,
    free_order: u32,
    levels: Vec<Level>,
    free_level: u32,
    ids: OrderIdMap,
    ladders: [PriceLadder; 2],
    /// Best price per side; `None` when the side is empty.
    best: [Option<Price>; 2],
}

#[inline]
const fn crosses(side: Side, limit: Price, opposite: Price) -> bool {
    match side {
        Side::Buy => limit >= opposite,
        Side::Sell => limit <= opposite,
    }
}

impl OrderBook {
    /// An empty book.
    pub fn new(spec: InstrumentSpec) -> Self {
        Self::with_capacity(spec, 1024)
    }

    /// An empty book pre-sized for `orders` live orders (no allocation until exceeded).
    pub fn with_capacity(spec: InstrumentSpec, orders: usize) -> Self {
        Self {
            spec,
            seq: 0,
            orders: Vec::with_capacity(orders),
            free_order: NIL,
            levels: Vec::with_capacity(orders.min(1 << 16)),
            free_level: NIL,
            ids: OrderIdMap::with_capacity(orders),
            ladders: [PriceLadder::default(), PriceLadder::default()],
            best: [None, None],
        }
    }

    /// The instrument.
    pub fn spec(&self) -> &InstrumentSpec {
        &self.spec
    }

    /// The last sequence number emitted (0 before the first event).
    pub fn seq(&self) -> Seq {
        self.seq
    }

    /// Number of live orders.
    pub fn order_count(&self) -> usize {
        self.ids.len()
    }

    /// Runs one command.
    pub fn execute<S: EventSink>(&mut self, cmd: &Command, sink: &mut S) -> Result<(), OrderError> {
        match *cmd {
            Command::New(ref order) => self.submit(order, sink),
            Command::Cancel { order_id } => self.cancel(order_id, sink),
            Command::Amend { order_id, price, qty } => self.amend(order_id, price, qty, sink),
            Command::MassCancel { account, side } => {
                self.mass_cancel(account, side, sink);
                Ok(())
            }
        }
    }

    #[inline]
    fn next_seq(&mut self) -> Seq {
        self.seq += 1;
        self.seq
    }

    /// True if a limit order at `price` on `side` would trade on arrival.
    #[inline]
    fn would_trade(&self, side: Side, price: Price) -> bool {
        self.best[side.opposite().index()].is_some_and(|opp| crosses(side, price, opp))
    }

    /// Best bid `(price, visible qty)`.
    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        self.top(Side::Buy)
    }

    /// Best ask `(price, visible qty)`.
    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        self.top(Side::Sell)
    }

    fn top(&self, side: Side) -> Option<(Price, Qty)> {
        let price = self.best[side.index()]?;
        let level = self.ladders[side.index()].get(price)?;
        Some((price, self.levels[level as usize].visible))
    }

    // ----- validation -------------------------------------------------------------------

    fn validate_new(&self, o: &NewOrder) -> Result<(), OrderError> {
        let id = o.order_id;
        if self.ids.get(id).is_some() {
            return Err(OrderError::DuplicateOrderId { order_id: id });
        }
        if o.qty <= 0 {
            return Err(OrderError::NonPositiveQty { order_id: id, qty: o.qty });
        }
        if o.qty < self.spec.min_qty {
            return Err(OrderError::QtyBelowMin { order_id: id, qty: o.qty, min: self.spec.min_qty });
        }
        if o.qty > self.spec.max_qty {
            return Err(OrderError::QtyAboveMax { order_id: id, qty: o.qty, max: self.spec.max_qty });
        }
        match o.order_type {
            OrderType::Market => {
                if o.post_only {
                    return Err(OrderError::InvalidOrder { order_id: id, why: "a market order cannot be post-only" });
                }
                if o.tif == TimeInForce::Gtc {
                    return Err(OrderError::InvalidOrder {
                        order_id: id,
                        why: "a market order cannot rest: use time in force IOC or FOK",
                    });
                }
                if o.display_qty.is_some() {
                    return Err(OrderError::InvalidOrder { order_id: id, why: "a market order cannot be an iceberg" });
                }
            }
            OrderType::Limit => {
                self.check_band(id, o.price)?;
                if o.post_only && o.tif != TimeInForce::Gtc {
                    return Err(OrderError::InvalidOrder {
                        order_id: id,
                        why: "a post-only order must rest: time in force must be GTC",
                    });
                }
                if let Some(display) = o.display_qty {
                    if o.tif != TimeInForce::Gtc {
                        return Err(OrderError::InvalidOrder {
                            order_id: id,
                            why: "an iceberg order must rest: time in force must be GTC",
                        });
                    }
                    if display <= 0 || display > o.qty {
                        return Err(OrderError::InvalidDisplayQty { order_id: id, display, qty: o.qty });
                    }
                }
            }
        }
        Ok(())
    }

    #[inline]
    fn check_band(&self, order_id: OrderId, price: Price) -> Result<(), OrderError> {
        if price < self.spec.min_price || price > self.spec.max_price {
            return Err(OrderError::PriceOutOfBand {
                order_id,
                price,
                min: self.spec.min_price,
                max: self.spec.max_price,
            });
        }
        Ok(())
    }

    // ----- commands ---------------------------------------------------------------------

    /// Submits a new order. See `docs/matching.md` ("New order").
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
    pub fn cancel<S: EventSink>(&mut self, order_id: OrderId, sink: &mut S) -> Result<(), OrderError> {
        let slot = self.ids.get(order_id).ok_or(OrderError::UnknownOrder { order_id })?;
        let node = self.orders[slot as usize];
        let seq = self.next_seq();
        sink.push(Event::Canceled {
            seq,
            order_id,
            canceled_qty: node.remaining,
            remaining_qty: 0,
            reason: CancelReason::User,
        });
        let level = node.level;
        self.unlink(slot);
        self.emit_delta(node.side, level, sink);
        self.drop_level_if_empty(node.side, level);
        Ok(())
    }

    /// Amends a live order's price and/or remaining quantity. See `docs/matching.md` ("Amend").
    pub fn amend<S: EventSink>(
        &mut self,
        order_id: OrderId,
        price: Option<Price>,
        qty: Option<Qty>,
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
        let new_qty = qty.unwrap_or(node.remaining);

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

    // ----- matching ---------------------------------------------------------------------

    /// Nearest occupied price strictly worse than `price` on `side`.
    #[inline]
    fn worse_than(&self, side: Side, price: Price) -> Option<Price> {
        match side {
            Side::Buy => self.ladders[0].next_down(price - 1).map(|(p, _)| p),
            Side::Sell => self.ladders[1].next_up(price + 1).map(|(p, _)| p),
        }
    }

    /// FOK pre-check (level-granular, see docs/matching.md).
    fn fok_check(&self, t: &Taker) -> Result<(), RejectReason> {
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
    fn match_taker<S: EventSink>(&mut self, t: &mut Taker, sink: &mut S) -> bool {
        match self.best[t.side.opposite().index()] {
            Some(price) if t.remaining > 0 && (t.market || crosses(t.side, t.price, price)) => {
                self.match_taker_slow(t, sink)
            }
            _ => false,
        }
    }

    #[inline(never)]
    fn match_taker_slow<S: EventSink>(&mut self, t: &mut Taker, sink: &mut S) -> bool {
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
    fn self_trade<S: EventSink>(&mut self, t: &mut Taker, slot: u32, sink: &mut S) -> bool {
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

    fn cancel_taker<S: EventSink>(&mut self, t: &mut Taker, sink: &mut S) {
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

    // ----- storage ----------------------------------------------------------------------

    /// Puts the taker's remainder on the book at the back of its level.
    fn rest<S: EventSink>(&mut self, t: &Taker, display: Qty, post_only: bool, sink: &mut S) {
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

    /// Stores an order node at the back of its price level (creating the level if needed).
    fn insert_order(&mut self, node: OrderNode) -> u32 {
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
    fn link(&mut self, slot: u32) -> u32 {
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

    fn new_level(&mut self, side: Side, price: Price) -> u32 {
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
    fn unlink(&mut self, slot: u32) {
        let id = self.orders[slot as usize].id;
        self.detach(slot);
        self.ids.remove(id);
        self.free_slot(slot);
    }

    /// Takes an order out of its level's queue; its slot and id-map entry stay.
    #[inline(always)]
    fn detach(&mut self, slot: u32) {
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
    fn free_slot(&mut self, slot: u32) {
        self.orders[slot as usize].next = self.free_order;
        self.free_order = slot;
    }

    /// Moves a queued order to the back of its level.
    fn move_to_back(&mut self, slot: u32) {
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
    fn drop_level_if_empty(&mut self, side: Side, level: u32) -> bool {
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

    #[inline]
    fn emit_delta<S: EventSink>(&mut self, side: Side, level: u32, sink: &mut S) {
        let lv = self.levels[level as usize];
        let seq = self.next_seq();
        sink.push(Event::BookDelta { seq, side, price: lv.price, qty: lv.visible, orders: lv.count });
    }
}

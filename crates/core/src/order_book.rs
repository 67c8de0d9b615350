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

mod commands;
mod matching;
mod queries;
mod storage;
mod validation;

use crate::error::OrderError;
use crate::event::EventSink;
use crate::instrument::InstrumentSpec;
use crate::order::{Command, Side, StpMode};
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

/// Where a resting order stands in its price level's FIFO queue (see
/// [`OrderBook::queue_position`]). Quantities are the **visible** lots (what a taker meets
/// first; an iceberg's hidden quantity is not ahead of anyone until it is shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePosition {
    pub side: Side,
    pub price: Price,
    /// Visible lots of the orders in front of this one at its level.
    pub qty_ahead: Qty,
    /// How many orders are in front of this one at its level (0: first in the queue).
    pub orders_ahead: u32,
    /// This order's own visible lots.
    pub own_visible: Qty,
    /// Visible lots of the whole level, this order included.
    pub level_qty: Qty,
    /// Orders at the level, this order included.
    pub level_orders: u32,
}

impl QueuePosition {
    /// Visible lots behind this order at its level.
    pub fn qty_behind(&self) -> Qty {
        self.level_qty - self.qty_ahead - self.own_visible
    }
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
            Command::AmendTotal { order_id, price, qty, seen_remaining } => {
                self.amend_total(order_id, price, qty, seen_remaining, sink)
            }
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
}

//! A simulated external venue: our orders against the venue's rebuilt L2 book.
//!
//! The venue's market data (L2 level updates and trade prints, in time order) rebuilds its book
//! here; our commands travel to it with a configured **order latency** and its answers travel
//! back with a **response latency**. A command sent at `t` is applied to the book **as of its
//! arrival** `a = t + order_latency`: it sees every market-data update stamped before `a` and
//! none stamped at or after `a` (an update in the same nanosecond as the arrival is applied after
//! it, whatever order the caller feeds them in). In-flight commands wait in a time-ordered queue.
//!
//! * **Taking** (IOC, or the marketable part of a GTC): walks the opposite side best first while
//!   the price is within the order's limit (the slippage cap), taking at most what each level
//!   shows, and takes it out of the book (until the venue's next update of that level). A fill is
//!   never at a price or size the book did not show at arrival (property-tested below).
//! * **Resting** (GTC or post-only): joins the back of its level; its place in the queue is
//!   estimated with the configured [`QueueModel`] from the level's updates and the trades at its
//!   price. It fills (as maker, at its own price) when trades reach it, when a trade prints
//!   through its price (up to the trade's size), or when the other side's book crosses its price
//!   (up to what that side shows through it).
//!
//! * **Amending**: like a real venue's amend (and the backtester's), an amend sets the order's
//!   **total** quantity. Its `new_qty` is the open quantity the sender wants, as it knew the
//!   order when it sent it: the fills the sender had been told of by then (handed out by
//!   [`Execution::poll`]) are added to make the total, and at arrival the order's open quantity
//!   becomes that total less everything it filled. So the fills still on their way when the amend
//!   was sent come off the new open quantity, and an amend from `old` to `new` open lots fills at
//!   most `max(old, new)` from the moment it is sent ([`crate::in_flight`]). An amend that leaves
//!   nothing open cancels the order (`Canceled`). Up keeps no priority (the back of the level);
//!   down keeps it.
//!
//! The recorded book does not contain our orders, so the quantities handed to the queue model
//! are the venue's own. Our taking and our resting orders are not matched against each other.
//!
//! # Calling pattern (a backtest or a live shadow)
//! For each market-data event at `ts`: `on_level(ts, …)` or `on_trade(ts, …)`, then
//! `poll(ts, &mut events)`. Commands: `submit(now, …)` with `now` never going back.

use std::collections::VecDeque;

use crate::execution::{
    ClientOrderId, ExecCommand, ExecError, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif, RejectReason,
};
use crate::fees::FeeSchedule;
use crate::l2_book::BookSide;
use crate::queue::{QueueModel, QueuePosition};
use crate::types::{Fill, Level, Liquidity, Side, VenueId};

/// How a simulated venue behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimVenueConfig {
    /// Which venue it stands for.
    pub venue: VenueId,
    /// Send -> arrival at the venue, nanoseconds (>= 0).
    pub order_latency_ns: i64,
    /// Venue -> our receipt of its answer, nanoseconds (>= 0).
    pub response_latency_ns: i64,
    /// Maker and taker fees.
    pub fees: FeeSchedule,
    /// How our resting orders' queue position is estimated.
    pub queue_model: QueueModel,
    /// Levels kept per side of the rebuilt book.
    pub depth: usize,
    /// Resting orders at once.
    pub max_orders: usize,
    /// Commands in flight at once.
    pub max_in_flight: usize,
}

impl SimVenueConfig {
    /// A venue with the given latencies and fees, the risk-averse queue model, 64 levels a side,
    /// 64 resting orders and 256 commands in flight.
    pub fn new(venue: VenueId, order_latency_ns: i64, response_latency_ns: i64, fees: FeeSchedule) -> Self {
        Self {
            venue,
            order_latency_ns,
            response_latency_ns,
            fees,
            queue_model: QueueModel::RiskAverse,
            depth: 64,
            max_orders: 64,
            max_in_flight: 256,
        }
    }
}

/// Bad market data or configuration for a simulated venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SimVenueError {
    /// A latency below zero.
    #[error("latency must be >= 0: venue={venue:?} which={which} ns={ns}")]
    NegativeLatency {
        /// Where.
        venue: VenueId,
        /// `order` or `response`.
        which: &'static str,
        /// The value given.
        ns: i64,
    },
    /// Market data older than what the venue has already seen.
    #[error("market data went back in time: venue={venue:?} ts_ns={ts_ns} last_ns={last_ns}")]
    TimeWentBack {
        /// Where.
        venue: VenueId,
        /// The stamp given.
        ts_ns: i64,
        /// The latest time seen.
        last_ns: i64,
    },
}

#[derive(Debug, Clone, Copy)]
struct RestingOrder {
    client_id: ClientOrderId,
    side: Side,
    price: i64,
    open_qty: i64,
    /// Lots filled at the venue.
    filled: i64,
    /// Of those, the lots whose fills were handed out by `poll` (what the sender knows).
    told: i64,
    queue: QueuePosition,
    /// The level's quantity (others') the queue model last saw.
    level_seen: i64,
}

/// A simulated external venue (see the module docs).
#[derive(Debug, Clone)]
pub struct SimVenue {
    cfg: SimVenueConfig,
    bids: BookSide,
    asks: BookSide,
    in_flight: VecDeque<(i64, ExecCommand)>,
    resting: Vec<RestingOrder>,
    outbox: VecDeque<(i64, ExecEvent)>,
    last_ns: i64,
    last_submit_ns: i64,
}

impl SimVenue {
    /// A venue with an empty book. Allocates its tables once, here (the answer queue holds four
    /// answers per command in flight and per resting order; only a burst beyond that, such as
    /// many IOCs each walking many levels before a `poll`, makes it grow).
    pub fn new(cfg: SimVenueConfig) -> Result<Self, SimVenueError> {
        for (which, ns) in [("order", cfg.order_latency_ns), ("response", cfg.response_latency_ns)] {
            if ns < 0 {
                return Err(SimVenueError::NegativeLatency { venue: cfg.venue, which, ns });
            }
        }
        Ok(Self {
            cfg,
            bids: BookSide::new(Side::Buy, cfg.depth),
            asks: BookSide::new(Side::Sell, cfg.depth),
            in_flight: VecDeque::with_capacity(cfg.max_in_flight),
            resting: Vec::with_capacity(cfg.max_orders),
            outbox: VecDeque::with_capacity(4 * cfg.max_in_flight + 4 * cfg.max_orders),
            last_ns: i64::MIN,
            last_submit_ns: i64::MIN,
        })
    }

    /// The rebuilt book: bids and asks, best first.
    pub fn book(&self) -> (&[Level], &[Level]) {
        (self.bids.levels(), self.asks.levels())
    }

    /// The estimated queue position of a resting order.
    pub fn queue_position(&self, client_id: ClientOrderId) -> Option<QueuePosition> {
        self.resting.iter().find(|o| o.client_id == client_id).map(|o| o.queue)
    }

    /// Our resting orders as (side, price).
    pub fn resting(&self) -> impl Iterator<Item = (Side, i64)> + '_ {
        self.resting.iter().map(|o| (o.side, o.price))
    }

    /// The venue's fees.
    pub fn fees(&self) -> FeeSchedule {
        self.cfg.fees
    }

    /// Open quantity of a resting order.
    pub fn open_qty(&self, client_id: ClientOrderId) -> Option<i64> {
        self.resting.iter().find(|o| o.client_id == client_id).map(|o| o.open_qty)
    }

    fn advance_market_clock(&mut self, ts_ns: i64) -> Result<(), SimVenueError> {
        if ts_ns < self.last_ns {
            return Err(SimVenueError::TimeWentBack { venue: self.cfg.venue, ts_ns, last_ns: self.last_ns });
        }
        // Commands arriving up to this update's stamp see the book without it.
        self.arrive_up_to(ts_ns);
        self.last_ns = ts_ns;
        Ok(())
    }

    /// The venue's level at `price` on `side` is now `qty` lots (0 removes it), stamped `ts_ns`.
    pub fn on_level(&mut self, ts_ns: i64, side: Side, price: i64, qty: i64) -> Result<(), SimVenueError> {
        self.advance_market_clock(ts_ns)?;
        let book = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        book.set(price, qty);
        self.refresh_queues();
        self.fill_crossed(ts_ns, side.opposite());
        Ok(())
    }

    /// Replaces the whole book with a snapshot (bids and asks best first), stamped `ts_ns`.
    pub fn on_snapshot(&mut self, ts_ns: i64, bids: &[Level], asks: &[Level]) -> Result<(), SimVenueError> {
        self.advance_market_clock(ts_ns)?;
        self.bids.clear();
        self.asks.clear();
        for l in bids {
            self.bids.set(l.price, l.qty);
        }
        for l in asks {
            self.asks.set(l.price, l.qty);
        }
        self.refresh_queues();
        self.fill_crossed(ts_ns, Side::Buy);
        self.fill_crossed(ts_ns, Side::Sell);
        Ok(())
    }

    /// Tells each resting order's queue model what its level shows now.
    fn refresh_queues(&mut self) {
        let model = self.cfg.queue_model;
        for o in self.resting.iter_mut() {
            let now = match o.side {
                Side::Buy => self.bids.qty_at(o.price),
                Side::Sell => self.asks.qty_at(o.price),
            };
            if now != o.level_seen {
                model.on_level_change(&mut o.queue, o.level_seen, now);
                o.level_seen = now;
            }
        }
    }

    /// A trade printed on the venue: `qty` lots at `price`, the taker on `aggressor`'s side.
    pub fn on_trade(&mut self, ts_ns: i64, price: i64, qty: i64, aggressor: Side) -> Result<(), SimVenueError> {
        self.advance_market_clock(ts_ns)?;
        let model = self.cfg.queue_model;
        let maker_side = aggressor.opposite();
        // A trade through our price fills us up to its size, shared among our orders it passed.
        let mut through_left = qty;
        let mut i = 0;
        while i < self.resting.len() {
            let o = &mut self.resting[i];
            let lots = if o.side != maker_side {
                0
            } else if o.price == price {
                model.on_trade(&mut o.queue, qty)
            } else if through(o.side, o.price, price) {
                let lots = through_left.min(o.open_qty);
                through_left -= lots;
                lots
            } else {
                0
            };
            if self.maker_fill(ts_ns, i, lots) {
                continue; // order i removed: the next one moved into its slot
            }
            i += 1;
        }
        Ok(())
    }

    /// Fills our resting orders on `side` whose price the other side's book now crosses, taking
    /// what that side shows through our price (best first) out of the book.
    fn fill_crossed(&mut self, ts_ns: i64, side: Side) {
        let mut i = 0;
        while i < self.resting.len() {
            let o = self.resting[i];
            let mut lots = 0;
            if o.side == side {
                let other = match side {
                    Side::Buy => &mut self.asks,
                    Side::Sell => &mut self.bids,
                };
                while lots < o.open_qty {
                    let Some(best) = other.best() else { break };
                    let crosses = match side {
                        Side::Buy => best.price <= o.price,
                        Side::Sell => best.price >= o.price,
                    };
                    if !crosses {
                        break;
                    }
                    let take = (o.open_qty - lots).min(best.qty);
                    other.set(best.price, best.qty - take);
                    lots += take;
                }
            }
            if self.maker_fill(ts_ns, i, lots) {
                continue;
            }
            i += 1;
        }
    }

    /// Fills up to `lots` of resting order `i` at its price; `true` when it is done and removed.
    fn maker_fill(&mut self, ts_ns: i64, i: usize, lots: i64) -> bool {
        let o = &mut self.resting[i];
        let qty = lots.min(o.open_qty);
        if qty <= 0 {
            return false;
        }
        o.open_qty -= qty;
        o.filled += qty;
        let (client_id, side, price, open_qty) = (o.client_id, o.side, o.price, o.open_qty);
        self.emit_fill(ts_ns, client_id, side, price, qty, Liquidity::Maker, open_qty);
        if open_qty == 0 {
            self.resting.swap_remove(i);
            return true;
        }
        false
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_fill(
        &mut self,
        ts_ns: i64,
        client_id: ClientOrderId,
        side: Side,
        price: i64,
        qty: i64,
        liquidity: Liquidity,
        open_qty: i64,
    ) {
        let fill = Fill {
            ts_ns,
            venue: self.cfg.venue,
            order_id: client_id,
            side,
            price,
            qty,
            liquidity,
            fee: self.cfg.fees.fee(price, qty, liquidity),
        };
        self.emit(ts_ns, ExecEvent::Filled { client_id, fill, open_qty });
    }

    fn emit(&mut self, ts_ns: i64, event: ExecEvent) {
        self.outbox.push_back((ts_ns + self.cfg.response_latency_ns, event));
    }

    /// Applies every in-flight command that arrives at or before `ts_ns`.
    fn arrive_up_to(&mut self, ts_ns: i64) {
        while let Some(&(arrival, cmd)) = self.in_flight.front() {
            if arrival > ts_ns {
                break;
            }
            self.in_flight.pop_front();
            self.arrive(arrival, cmd);
        }
    }

    fn arrive(&mut self, ts: i64, cmd: ExecCommand) {
        match cmd {
            ExecCommand::New(req) => self.arrive_new(ts, req),
            // In flight, an amend's `new_qty` is the order's new total quantity (`submit`).
            ExecCommand::Amend { client_id, new_qty: total } => {
                let Some(i) = self.resting.iter().position(|o| o.client_id == client_id) else {
                    return self
                        .emit(ts, ExecEvent::Rejected { client_id, reason: RejectReason::UnknownOrder, ts_ns: ts });
                };
                let o = &mut self.resting[i];
                let open = total - o.filled;
                if open <= 0 {
                    // The fills the sender had not seen took what the amend left: it cancels.
                    let o = self.resting.swap_remove(i);
                    return self.emit(ts, ExecEvent::Canceled { client_id, canceled_qty: o.open_qty, ts_ns: ts });
                }
                if open > o.open_qty {
                    // A size increase loses priority: back of the level as it stands now.
                    let shown = match o.side {
                        Side::Buy => self.bids.qty_at(o.price),
                        Side::Sell => self.asks.qty_at(o.price),
                    };
                    o.queue = self.cfg.queue_model.on_join(shown);
                    o.level_seen = shown;
                }
                o.open_qty = open;
                self.emit(ts, ExecEvent::Amended { client_id, open_qty: open, ts_ns: ts });
            }
            ExecCommand::Cancel { client_id } => {
                let Some(i) = self.resting.iter().position(|o| o.client_id == client_id) else {
                    return self
                        .emit(ts, ExecEvent::Rejected { client_id, reason: RejectReason::UnknownOrder, ts_ns: ts });
                };
                let o = self.resting.swap_remove(i);
                self.emit(ts, ExecEvent::Canceled { client_id, canceled_qty: o.open_qty, ts_ns: ts });
            }
        }
    }

    fn arrive_new(&mut self, ts: i64, req: OrderRequest) {
        let client_id = req.client_id;
        let reject = |reason| ExecEvent::Rejected { client_id, reason, ts_ns: ts };
        let crosses = match req.side {
            Side::Buy => self.asks.best().is_some_and(|a| a.price <= req.price),
            Side::Sell => self.bids.best().is_some_and(|b| b.price >= req.price),
        };
        if req.tif == OrderTif::PostOnly && crosses {
            return self.emit(ts, reject(RejectReason::WouldCross));
        }
        if req.tif != OrderTif::Ioc && self.resting.len() == self.cfg.max_orders {
            return self.emit(ts, reject(RejectReason::TooManyOrders));
        }
        self.emit(ts, ExecEvent::Accepted { client_id, ts_ns: ts });
        let mut open = req.qty;
        // Walk the other side best first while its price is within our limit.
        while open > 0 {
            let book = match req.side {
                Side::Buy => &mut self.asks,
                Side::Sell => &mut self.bids,
            };
            let Some(best) = book.best() else { break };
            let beyond_limit = match req.side {
                Side::Buy => best.price > req.price,
                Side::Sell => best.price < req.price,
            };
            if beyond_limit {
                break; // the best level is past our limit (the slippage cap)
            }
            let lots = open.min(best.qty);
            book.set(best.price, best.qty - lots);
            open -= lots;
            self.emit_fill(ts, client_id, req.side, best.price, lots, Liquidity::Taker, open);
        }
        if open == 0 {
            return;
        }
        if req.tif == OrderTif::Ioc {
            return self.emit(ts, ExecEvent::Canceled { client_id, canceled_qty: open, ts_ns: ts });
        }
        let shown = match req.side {
            Side::Buy => self.bids.qty_at(req.price),
            Side::Sell => self.asks.qty_at(req.price),
        };
        let queue = self.cfg.queue_model.on_join(shown);
        self.resting.push(RestingOrder {
            client_id,
            side: req.side,
            price: req.price,
            open_qty: open,
            filled: req.qty - open,
            told: 0,
            queue,
            level_seen: shown,
        });
    }

    fn id_in_use(&self, client_id: ClientOrderId) -> bool {
        self.resting.iter().any(|o| o.client_id == client_id)
            || self.in_flight.iter().any(|(_, c)| matches!(c, ExecCommand::New(r) if r.client_id == client_id))
    }
}

/// `true` when a trade at `trade_price` went through a resting order at `price` on `side`
/// (strictly better than it for the aggressor's counterparty: above our ask, below our bid).
#[inline]
fn through(side: Side, price: i64, trade_price: i64) -> bool {
    match side {
        Side::Buy => trade_price < price,
        Side::Sell => trade_price > price,
    }
}

impl Execution for SimVenue {
    fn venue(&self) -> VenueId {
        self.cfg.venue
    }

    fn submit(&mut self, now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        let venue = self.cfg.venue;
        // A command cannot be sent before market data the venue has already applied.
        let last_ns = self.last_submit_ns.max(self.last_ns);
        if now_ns < last_ns {
            return Err(ExecError::TimeWentBack { venue, now_ns, last_ns });
        }
        match *command {
            ExecCommand::New(r) => {
                if r.qty <= 0 {
                    return Err(ExecError::BadQty { client_id: r.client_id, qty: r.qty });
                }
                if self.id_in_use(r.client_id) {
                    return Err(ExecError::DuplicateClientId { venue, client_id: r.client_id });
                }
            }
            ExecCommand::Amend { client_id, new_qty } if new_qty <= 0 => {
                return Err(ExecError::BadQty { client_id, qty: new_qty });
            }
            _ => {}
        }
        if self.in_flight.len() == self.cfg.max_in_flight {
            return Err(ExecError::InFlightFull { venue, capacity: self.cfg.max_in_flight });
        }
        let command = match *command {
            // The venue amends the total: the open lots asked for plus the fills the sender
            // knows of (module docs).
            ExecCommand::Amend { client_id, new_qty } => {
                let told = self.resting.iter().find(|o| o.client_id == client_id).map_or(0, |o| o.told);
                ExecCommand::Amend { client_id, new_qty: new_qty + told }
            }
            c => c,
        };
        self.in_flight.push_back((now_ns + self.cfg.order_latency_ns, command));
        self.last_submit_ns = now_ns;
        Ok(())
    }

    fn poll(&mut self, now_ns: i64, out: &mut ExecEvents) {
        self.arrive_up_to(now_ns);
        while let Some(&(due, event)) = self.outbox.front() {
            if due > now_ns || out.is_full() {
                break;
            }
            self.outbox.pop_front();
            if let ExecEvent::Filled { client_id, fill, .. } = event {
                if let Some(o) = self.resting.iter_mut().find(|o| o.client_id == client_id) {
                    o.told += fill.qty;
                }
            }
            let _ = out.push(event); // cannot fail: `is_full` was checked above
        }
    }
}

//! The live runner's hedges, sent: each hedge decision ([`crate::hedger`]) becomes an IOC order
//! on the chosen venue's **route**, an [`Execution`] the runner holds for that venue (the
//! router's `RoutedExecution` over a venue client, or any other implementation), and what the
//! route says back comes home as fills.
//!
//! ```text
//!  LiveMarketMaker: fill -> inventory past the threshold -> HedgeDecision (venue, side, qty, cap)
//!        │                                                        │
//!        │  set_hedge_in_flight(lots)      LiveHedges::send ─> route.submit(New IOC at the cap)
//!        │  on_hedge_fill(side, qty)  <──  LiveHedges::poll <─ route.poll: Accepted, Filled,
//!        ▼                                                        Canceled (the remainder), Rejected
//!  inventory, quotes (skew)          PnL: FillRole::Hedge { decision fair }, the fill's fee
//! ```
//!
//! # What is counted
//! Orders sent, fills and lots filled (both sides, and signed: the hedges' share of the
//! inventory), lots canceled (an IOC's remainder: the book did not show them within the
//! slippage cap), orders partly filled, orders canceled without a fill, orders the venue
//! refused and orders the route's local checks refused; the latest orders with their status and
//! the latest errors ([`HedgingView`]).
//!
//! # In flight
//! A decision counts the lots in flight as done ([`LiveHedges::in_flight_lots`] goes to
//! [`crate::live::LiveMarketMaker::set_hedge_in_flight`]), so a hedge is never sent twice for
//! the same inventory. When an IOC's remainder is canceled, the lots it did not get are
//! inventory again and a later decision hedges them (the runner decides again at once and on
//! its timer). An IOC that got nothing at all holds hedging for [`HEDGE_UNFILLED_WAIT_NS`]:
//! the book the decision saw was not there (taken, or stale), and sending the same IOC again at
//! once, as fast as the venue answers, only spends the venue's rate limits.
//!
//! # Refusals
//! After a refusal (the venue's, or the route's local checks) nothing is sent for
//! [`HEDGE_RETRY_NS`]: a venue that refuses is not hammered every timer tick.
//!
//! # Balances
//! Before a hedge is sent, its route says how many lots the account's free balance on the venue
//! covers at the hedge's limit ([`Execution::coverable_qty`]: a sell's base, a buy's quote at the
//! cap; on a routed venue, net of what its orders in flight reserve, so hedges sent back to back
//! are not both cut to the same balance). A hedge larger than that is sent at the covered size (counted in `balance_reduced`,
//! the lots taken off in `balance_reduced_qty`: they stay inventory and a later decision hedges
//! them); one with not a lot covered is not sent ([`HedgeSendError::Balance`], counted in
//! `balance_skipped`) and hedging holds for [`HEDGE_RETRY_NS`], as after a refusal. A route that
//! does not know its balances (none tracked, or resyncing) sends the hedge whole: the venue has
//! the last word.
//!
//! # No allocation per event
//! The order table, the event buffer and the kept orders are allocated once; sending and
//! polling allocate nothing (an error's message is the exception: it is formatted to be kept).

use std::collections::VecDeque;

use crate::execution::{ClientOrderId, ExecCommand, ExecError, ExecEvent, ExecEvents, Execution};
use crate::hedger::HedgeDecision;
use crate::live_snapshot::{HedgeOrderView, HedgingView};
use crate::metrics::pnl::Mark;
use crate::types::{Fill, Side, VenueId};

/// After a refusal, nothing is sent for this long (ns).
pub const HEDGE_RETRY_NS: i64 = 1_000_000_000;
/// After an IOC that filled nothing, nothing is sent for this long (ns).
pub const HEDGE_UNFILLED_WAIT_NS: i64 = 200_000_000;
/// Hedge orders in flight at once.
pub const HEDGES_IN_FLIGHT: usize = 16;
/// Hedge orders kept for the snapshot.
pub const HEDGE_ORDERS_KEPT: usize = 20;
/// Errors kept for the snapshot.
pub const HEDGE_ERRORS_KEPT: usize = 5;

/// One external venue's route: where hedges decided on that venue are sent.
pub struct HedgeRoute {
    /// The venue (`External(i)`: the i-th pricing venue).
    pub venue: VenueId,
    /// Its execution interface.
    pub execution: Box<dyn Execution + Send>,
}

impl std::fmt::Debug for HedgeRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HedgeRoute").field("venue", &self.venue).finish_non_exhaustive()
    }
}

/// Routes that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HedgeRouteError {
    /// A route for our own venue or past the pricing venues.
    #[error("hedge route: venue={venue:?} is not one of the {venues} pricing venues")]
    UnknownVenue {
        /// The route's venue.
        venue: VenueId,
        /// How many pricing venues there are.
        venues: usize,
    },
    /// Two routes for one venue.
    #[error("hedge route: venue={venue:?} has two routes")]
    Duplicate {
        /// The venue.
        venue: VenueId,
    },
    /// Routes without a hedger: nothing would ever be sent.
    #[error("hedge route: routes given but hedging is off (hedge_on and hedge_threshold_lots > 0)")]
    NoHedger,
    /// A route's execution reports a venue other than the one it is routed for.
    #[error("hedge route: venue={venue:?} routed to an execution of venue={execution:?}")]
    Mismatch {
        /// The route's venue.
        venue: VenueId,
        /// What the execution says it trades on.
        execution: VenueId,
    },
}

/// A hedge fill with the fair value its decision saw (hedge slippage is measured against it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HedgeFill {
    /// The fill (its `order_id` is the hedge's client id).
    pub fill: Fill,
    /// The decision's fair value.
    pub decision_fair: Mark,
}

/// Why a hedge was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HedgeSendError {
    /// No route for the decision's venue.
    #[error("hedge: no route for venue={venue:?}")]
    NoRoute {
        /// The decision's venue.
        venue: VenueId,
    },
    /// [`HEDGES_IN_FLIGHT`] hedges are in flight already.
    #[error("hedge: {HEDGES_IN_FLIGHT} hedges in flight already")]
    Full,
    /// Held after a refusal until `until_ns`.
    #[error("hedge: held after a refusal until={until_ns}")]
    Held {
        /// When sending resumes.
        until_ns: i64,
    },
    /// The route's free balance covers not one lot of the hedge.
    #[error("hedge: the free balance covers none of it: venue={venue:?} side={side:?} qty={qty}")]
    Balance {
        /// The decision's venue.
        venue: VenueId,
        /// Its side.
        side: Side,
        /// Its quantity, lots.
        qty: i64,
    },
    /// The route's local checks refused the order.
    #[error("hedge: {0}")]
    Exec(#[from] ExecError),
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    client_id: ClientOrderId,
    route: usize,
    side: Side,
    qty: i64,
    filled: i64,
    decision_fair: Mark,
}

#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    sent: u64,
    fills: u64,
    filled_qty: i64,
    net_filled: i64,
    fees: i128,
    canceled_qty: i64,
    partial: u64,
    unfilled: u64,
    rejected: u64,
    send_errors: u64,
    balance_reduced: u64,
    balance_reduced_qty: i64,
    balance_skipped: u64,
}

/// The hedge routes and the orders on them (see the module docs).
#[derive(Debug)]
pub struct LiveHedges {
    routes: Vec<HedgeRoute>,
    events: ExecEvents,
    in_flight: Vec<InFlight>,
    next_client_id: ClientOrderId,
    held_until: i64,
    counts: Counts,
    orders: VecDeque<HedgeOrderView>,
    errors: VecDeque<String>,
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn signed(side: Side, qty: i64) -> i64 {
    match side {
        Side::Buy => qty,
        Side::Sell => -qty,
    }
}

impl LiveHedges {
    /// The routes for some of `venues` pricing venues; hedge client ids start at
    /// `first_client_id`.
    pub fn new(routes: Vec<HedgeRoute>, venues: usize, first_client_id: u64) -> Result<Self, HedgeRouteError> {
        for (i, r) in routes.iter().enumerate() {
            match r.venue {
                VenueId::External(v) if (v as usize) < venues => {}
                venue => return Err(HedgeRouteError::UnknownVenue { venue, venues }),
            }
            if routes[..i].iter().any(|o| o.venue == r.venue) {
                return Err(HedgeRouteError::Duplicate { venue: r.venue });
            }
            let execution = r.execution.venue();
            if execution != r.venue {
                return Err(HedgeRouteError::Mismatch { venue: r.venue, execution });
            }
        }
        Ok(LiveHedges {
            routes,
            events: ExecEvents::new(),
            in_flight: Vec::with_capacity(HEDGES_IN_FLIGHT),
            next_client_id: first_client_id,
            held_until: i64::MIN,
            counts: Counts::default(),
            orders: VecDeque::with_capacity(HEDGE_ORDERS_KEPT),
            errors: VecDeque::with_capacity(HEDGE_ERRORS_KEPT),
        })
    }

    /// The pricing venues (indices) with a route.
    pub fn venues(&self) -> Vec<usize> {
        self.routes
            .iter()
            .filter_map(|r| match r.venue {
                VenueId::External(i) => Some(i as usize),
                VenueId::Ours => None,
            })
            .collect()
    }

    /// Whether a hedge may be sent at `now_ns` (not held after a refusal, room in flight).
    pub fn can_send(&self, now_ns: i64) -> bool {
        now_ns >= self.held_until && self.in_flight.len() < HEDGES_IN_FLIGHT
    }

    /// Signed lots in flight (buys positive).
    pub fn in_flight_lots(&self) -> i64 {
        self.in_flight.iter().map(|o| signed(o.side, o.qty - o.filled)).sum()
    }

    /// Hedge orders in flight.
    pub fn in_flight_orders(&self) -> usize {
        self.in_flight.len()
    }

    /// Sends `decision` as an IOC at its limit on its venue's route; returns the client id.
    pub fn send(&mut self, now_ns: i64, decision: &HedgeDecision) -> Result<ClientOrderId, HedgeSendError> {
        if now_ns < self.held_until {
            return Err(HedgeSendError::Held { until_ns: self.held_until });
        }
        if self.in_flight.len() == HEDGES_IN_FLIGHT {
            return Err(HedgeSendError::Full);
        }
        let route = self.routes.iter().position(|r| r.venue == decision.venue);
        let route = route.ok_or(HedgeSendError::NoRoute { venue: decision.venue })?;
        let client_id = self.next_client_id;
        let mut order = decision.order(client_id);
        match self.routes[route].execution.coverable_qty(order.side, order.price) {
            Some(covered) if covered <= 0 => {
                self.counts.balance_skipped += 1;
                self.held_until = now_ns.saturating_add(HEDGE_RETRY_NS);
                let (venue, side, qty) = (decision.venue, decision.side, decision.qty);
                self.keep_error(format!(
                    "hedge not sent: the free balance covers none: venue={venue:?} side={side:?} qty={qty}"
                ));
                return Err(HedgeSendError::Balance { venue, side, qty });
            }
            Some(covered) if covered < order.qty => {
                self.counts.balance_reduced += 1;
                self.counts.balance_reduced_qty += order.qty - covered;
                order.qty = covered;
            }
            _ => {}
        }
        let command = ExecCommand::New(order);
        if let Err(e) = self.routes[route].execution.submit(now_ns, &command) {
            self.counts.send_errors += 1;
            self.held_until = now_ns.saturating_add(HEDGE_RETRY_NS);
            self.keep_error(e.to_string());
            return Err(e.into());
        }
        self.next_client_id += 1;
        self.counts.sent += 1;
        self.in_flight.push(InFlight {
            client_id,
            route,
            side: decision.side,
            qty: order.qty,
            filled: 0,
            decision_fair: decision.decision_fair,
        });
        if self.orders.len() == HEDGE_ORDERS_KEPT {
            self.orders.pop_front();
        }
        self.orders.push_back(HedgeOrderView {
            client_id,
            venue: match decision.venue {
                VenueId::External(i) => i as usize,
                VenueId::Ours => usize::MAX,
            },
            side: side_name(decision.side),
            qty: order.qty,
            limit_price: decision.limit_price,
            filled: 0,
            notional: 0,
            fees: 0,
            decision_fair: decision.decision_fair.to_ticks_f64(),
            status: "sent",
            ts_ns: now_ns,
        });
        Ok(client_id)
    }

    /// Reads every route's events due by `now_ns`: each fill goes to `on_fill` with its
    /// decision's fair value; returns how many hedge orders finished (filled, canceled or
    /// refused).
    pub fn poll(&mut self, now_ns: i64, mut on_fill: impl FnMut(HedgeFill)) -> usize {
        let mut done = 0;
        for r in 0..self.routes.len() {
            self.events.clear();
            self.routes[r].execution.poll(now_ns, &mut self.events);
            for i in 0..self.events.len() {
                let Some(event) = self.events.get(i) else { break };
                done += usize::from(self.on_event(now_ns, r, event, &mut on_fill));
            }
        }
        done
    }

    /// One event of route `route`; returns whether its order finished.
    fn on_event(&mut self, now_ns: i64, route: usize, event: ExecEvent, on_fill: &mut impl FnMut(HedgeFill)) -> bool {
        let client_id = event.client_id();
        let Some(k) = self.in_flight.iter().position(|o| o.client_id == client_id && o.route == route) else {
            return false; // not ours, or finished already
        };
        let order = &mut self.in_flight[k];
        let (mut notional, mut fees) = (0, 0);
        let (status, finished) = match event {
            ExecEvent::Accepted { .. } | ExecEvent::Amended { .. } => ("accepted", false),
            ExecEvent::Filled { fill, open_qty, .. } => {
                order.filled += fill.qty;
                (notional, fees) = (crate::types::notional(fill.price, fill.qty), fill.fee);
                self.counts.fills += 1;
                self.counts.filled_qty += fill.qty;
                self.counts.net_filled += signed(fill.side, fill.qty);
                self.counts.fees += fill.fee;
                on_fill(HedgeFill { fill, decision_fair: order.decision_fair });
                if open_qty == 0 {
                    ("filled", true)
                } else {
                    ("partially_filled", false)
                }
            }
            ExecEvent::Canceled { canceled_qty, .. } => {
                self.counts.canceled_qty += canceled_qty;
                if order.filled > 0 {
                    self.counts.partial += 1;
                } else {
                    self.counts.unfilled += 1;
                    self.held_until = self.held_until.max(now_ns.saturating_add(HEDGE_UNFILLED_WAIT_NS));
                }
                ("canceled", true)
            }
            ExecEvent::Rejected { reason, .. } => {
                self.counts.rejected += 1;
                self.held_until = now_ns.saturating_add(HEDGE_RETRY_NS);
                let venue = self.routes[route].venue;
                self.keep_error(format!("hedge refused: venue={venue:?} client_id={client_id} reason={reason:?}"));
                ("rejected", true)
            }
        };
        let filled = self.in_flight[k].filled;
        if let Some(view) = self.orders.iter_mut().rev().find(|v| v.client_id == client_id) {
            view.status = status;
            view.filled = filled;
            view.notional += notional;
            view.fees += fees;
        }
        if finished {
            self.in_flight.swap_remove(k);
        }
        finished
    }

    fn keep_error(&mut self, message: String) {
        if self.errors.len() == HEDGE_ERRORS_KEPT {
            self.errors.pop_front();
        }
        self.errors.push_back(message);
    }

    /// What the snapshot shows; `name` names pricing venue `i`.
    pub fn view(&self, name: impl Fn(usize) -> &'static str) -> HedgingView {
        let c = self.counts;
        HedgingView {
            routes: self.venues().into_iter().map(&name).collect(),
            orders_sent: c.sent,
            fills: c.fills,
            filled_qty: c.filled_qty,
            net_filled: c.net_filled,
            canceled_qty: c.canceled_qty,
            partial: c.partial,
            unfilled: c.unfilled,
            rejected: c.rejected,
            send_errors: c.send_errors,
            balance_reduced: c.balance_reduced,
            balance_reduced_qty: c.balance_reduced_qty,
            balance_skipped: c.balance_skipped,
            balances: self
                .routes
                .iter()
                .filter_map(|r| {
                    let mut view = r.execution.balances_view()?;
                    if let VenueId::External(i) = r.venue {
                        view.venue = name(i as usize);
                    }
                    Some(view)
                })
                .collect(),
            in_flight: self.in_flight_lots(),
            fees: c.fees,
            orders: self.orders.iter().copied().collect(),
            last_errors: self.errors.iter().cloned().collect(),
            ..HedgingView::default()
        }
    }
}

#[cfg(test)]
#[path = "live_hedge_tests.rs"]
mod tests;

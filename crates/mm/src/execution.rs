//! One execution interface for every venue.
//!
//! The market maker places, amends and cancels orders through [`Execution`], whatever the venue
//! behind it: our own venue (the matching engine, through the pipeline's gateway and risk), an
//! external venue simulated over its rebuilt L2 book ([`crate::sim_venue::SimVenue`]), or, later,
//! live routing. Orders carry **client ids** chosen by the caller; everything the venue says back
//! is an [`ExecEvent`] naming that client id.
//!
//! # The call pattern
//! ```text
//! venue.submit(now, &ExecCommand::New(request))?;   // local checks only: Err leaves state untouched
//! ...
//! events.clear();
//! venue.poll(now, &mut events);                    // acks, fills, cancels, rejects due by `now`
//! ```
//! `submit` checks only what can be checked locally (a positive quantity, a known or fresh
//! client id, the venue); what the venue itself decides (an unknown order by the time the cancel
//! arrives, a post-only order that would cross) comes back later as [`ExecEvent::Rejected`].
//!
//! # No allocation per call
//! Outputs go into a caller-owned [`ExecEvents`] buffer, a fixed-capacity array: a call never
//! allocates, and a buffer that would overflow keeps the events in the venue until the next
//! `poll` (nothing is lost).

use crate::types::{Fill, Side, VenueId};

/// The caller's id for an order, unique per venue for the life of the order.
pub type ClientOrderId = u64;

/// How long an order lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderTif {
    /// Rests until filled or canceled; crosses first if marketable.
    Gtc,
    /// Rests only if it would not cross; rejected otherwise (a quote).
    PostOnly,
    /// Trades what it can at `price` or better on arrival, then the rest is canceled (a hedge;
    /// `price` is the slippage cap).
    Ioc,
}

/// A new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderRequest {
    /// The caller's id.
    pub client_id: ClientOrderId,
    /// Buy or sell.
    pub side: Side,
    /// Limit price in ticks (for an IOC: the worst price it may trade at).
    pub price: i64,
    /// Quantity in lots (> 0).
    pub qty: i64,
    /// Time in force.
    pub tif: OrderTif,
}

/// What the caller asks of a venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecCommand {
    /// Place an order.
    New(OrderRequest),
    /// Change a resting order's open quantity in place. A decrease keeps queue priority; an
    /// increase loses it (the order goes to the back of its level).
    Amend {
        /// Which order.
        client_id: ClientOrderId,
        /// The new open quantity (> 0), as the sender knows the order. A venue that amends an
        /// order's total quantity (an exchange, [`crate::sim_venue::SimVenue`], the backtester's
        /// venues) takes the fills not yet reported to the sender off it.
        new_qty: i64,
    },
    /// Cancel a resting order.
    Cancel {
        /// Which order.
        client_id: ClientOrderId,
    },
}

/// Why a venue refused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// No open order with that client id when the command arrived (already filled or canceled).
    UnknownOrder,
    /// A post-only order that would have crossed the book on arrival.
    WouldCross,
    /// The venue's order table is full.
    TooManyOrders,
    /// Our venue's risk checks refused it (a limit, a kill switch).
    Risk,
    /// The venue's validation refused it (price band, size limits, a duplicate id).
    Invalid,
}

/// What a venue says back. Times are the venue's (arrival) time; they reach the caller at
/// `poll` once the venue's response latency has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecEvent {
    /// A new order is live (an IOC's acknowledgement comes before its fills).
    Accepted {
        /// Which order.
        client_id: ClientOrderId,
        /// Venue time.
        ts_ns: i64,
    },
    /// A resting order's quantity changed in place.
    Amended {
        /// Which order.
        client_id: ClientOrderId,
        /// Its new open quantity.
        open_qty: i64,
        /// Venue time.
        ts_ns: i64,
    },
    /// A fill (the fill's `order_id` is the client id).
    Filled {
        /// Which order.
        client_id: ClientOrderId,
        /// The execution.
        fill: Fill,
        /// Open quantity left after it (0: the order is done).
        open_qty: i64,
    },
    /// The order is gone without (further) fills: canceled on request, or an IOC's remainder.
    Canceled {
        /// Which order.
        client_id: ClientOrderId,
        /// Quantity that was still open.
        canceled_qty: i64,
        /// Venue time.
        ts_ns: i64,
    },
    /// A command was refused by the venue.
    Rejected {
        /// Which order.
        client_id: ClientOrderId,
        /// Why.
        reason: RejectReason,
        /// Venue time.
        ts_ns: i64,
    },
}

impl ExecCommand {
    /// The order an amend or a cancel names (`None` for a new order).
    pub fn order_id(&self) -> Option<ClientOrderId> {
        match *self {
            ExecCommand::Cancel { client_id } | ExecCommand::Amend { client_id, .. } => Some(client_id),
            ExecCommand::New(_) => None,
        }
    }
}

impl ExecEvent {
    /// The client id the event is about.
    pub fn client_id(&self) -> ClientOrderId {
        match *self {
            ExecEvent::Accepted { client_id, .. }
            | ExecEvent::Amended { client_id, .. }
            | ExecEvent::Filled { client_id, .. }
            | ExecEvent::Canceled { client_id, .. }
            | ExecEvent::Rejected { client_id, .. } => client_id,
        }
    }
}

/// Capacity of one [`ExecEvents`] buffer.
pub const EXEC_EVENTS_CAPACITY: usize = 256;

/// A caller-owned, fixed-capacity buffer of events: filling it never allocates.
#[derive(Debug, Clone)]
pub struct ExecEvents {
    events: [Option<ExecEvent>; EXEC_EVENTS_CAPACITY],
    len: usize,
}

impl Default for ExecEvents {
    fn default() -> Self {
        Self { events: [None; EXEC_EVENTS_CAPACITY], len: 0 }
    }
}

impl ExecEvents {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties it.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends; hands the event back when full.
    pub fn push(&mut self, event: ExecEvent) -> Result<(), ExecEvent> {
        if self.len == EXEC_EVENTS_CAPACITY {
            return Err(event);
        }
        self.events[self.len] = Some(event);
        self.len += 1;
        Ok(())
    }

    /// Keeps the first `len` events (all of them when it holds fewer).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Whether another event fits.
    pub fn is_full(&self) -> bool {
        self.len == EXEC_EVENTS_CAPACITY
    }

    /// How many events it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`-th event, oldest first.
    pub fn get(&self, i: usize) -> Option<ExecEvent> {
        self.events[..self.len].get(i).copied().flatten()
    }

    /// The events, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &ExecEvent> + '_ {
        self.events[..self.len].iter().flatten()
    }
}

/// A command refused before it left (state untouched).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// Quantity must be positive.
    #[error("quantity must be positive: client_id={client_id} qty={qty}")]
    BadQty {
        /// Which order.
        client_id: ClientOrderId,
        /// The quantity given.
        qty: i64,
    },
    /// A new order reused a client id that is still open or in flight.
    #[error("client id already in use: venue={venue:?} client_id={client_id}")]
    DuplicateClientId {
        /// Where.
        venue: VenueId,
        /// The id.
        client_id: ClientOrderId,
    },
    /// Too many commands in flight at once.
    #[error("too many commands in flight: venue={venue:?} capacity={capacity}")]
    InFlightFull {
        /// Where.
        venue: VenueId,
        /// The venue's in-flight capacity.
        capacity: usize,
    },
    /// The venue takes no commands now (its gateway ring is full, or it is shutting down).
    #[error("venue unavailable: venue={venue:?} why={why}")]
    Unavailable {
        /// Where.
        venue: VenueId,
        /// `ring full` or `closed`.
        why: &'static str,
    },
    /// The account's free balance on the venue does not cover the order (the venue would refuse
    /// it): a buy's notional in the quote asset, a sell's quantity in the base asset.
    #[error(
        "insufficient balance: venue={venue:?} client_id={client_id} side={side:?} qty={qty} coverable_qty={coverable}"
    )]
    InsufficientBalance {
        /// Where.
        venue: VenueId,
        /// Which order.
        client_id: ClientOrderId,
        /// Its side.
        side: Side,
        /// Its quantity, lots.
        qty: i64,
        /// The lots the free balance covers at the order's price.
        coverable: i64,
    },
    /// Time went backwards.
    #[error("time went backwards: venue={venue:?} now_ns={now_ns} last_ns={last_ns}")]
    TimeWentBack {
        /// Where.
        venue: VenueId,
        /// The time given.
        now_ns: i64,
        /// The latest time seen.
        last_ns: i64,
    },
}

/// Places, amends and cancels orders on one venue. Implemented by the simulated external venue
/// here, by the engine adapter for our venue, and by live routing.
pub trait Execution {
    /// The venue this handle trades on.
    fn venue(&self) -> VenueId;

    /// Sends a command at `now_ns`. Errors are local checks (the command never left; state is
    /// untouched); the venue's own refusals arrive later as [`ExecEvent::Rejected`].
    fn submit(&mut self, now_ns: i64, command: &ExecCommand) -> Result<(), ExecError>;

    /// Cancels the resting order `cancel` and places `new` (a fresh client id; a quote moving
    /// to another price): the events are those of a `Cancel` and a `New`. The default submits
    /// the two commands; a venue with a request doing both at once (Binance's cancel-replace)
    /// overrides it to send one. A bad `new` (a quantity <= 0) is refused before anything is
    /// sent; an error of the `New` after the `Cancel` was accepted (a duplicate id, a full
    /// queue) leaves the cancel sent.
    fn replace(&mut self, now_ns: i64, cancel: ClientOrderId, new: &OrderRequest) -> Result<(), ExecError> {
        if new.qty <= 0 {
            return Err(ExecError::BadQty { client_id: new.client_id, qty: new.qty });
        }
        self.submit(now_ns, &ExecCommand::Cancel { client_id: cancel })?;
        self.submit(now_ns, &ExecCommand::New(*new))
    }

    /// Moves the venue to `now_ns` and appends every event due by then to `out` (oldest first),
    /// as many as fit; the rest wait for the next call. Never allocates.
    fn poll(&mut self, now_ns: i64, out: &mut ExecEvents);

    /// How many lots of a `side` order at `price` the account's free balance on this venue
    /// covers, as last known (net of what orders sent and not yet in the venue's balances
    /// hold, where the handle counts them); `None` where the handle does not know (the default: a venue
    /// without tracked balances, or while they resync). Never blocks or allocates.
    fn coverable_qty(&self, side: Side, price: i64) -> Option<i64> {
        let _ = (side, price);
        None
    }

    /// The account's balances on this venue as last known (for the snapshot); `None` where the
    /// handle tracks none.
    fn balances_view(&self) -> Option<crate::live_snapshot::RouteBalancesView> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_event_buffer_hands_the_event_back_and_keeps_what_it_holds() {
        let mut buf = ExecEvents::new();
        for i in 0..EXEC_EVENTS_CAPACITY as u64 {
            buf.push(ExecEvent::Accepted { client_id: i, ts_ns: 0 }).unwrap();
        }
        let extra = ExecEvent::Accepted { client_id: 9_999, ts_ns: 1 };
        assert_eq!(buf.push(extra), Err(extra));
        assert_eq!(buf.len(), EXEC_EVENTS_CAPACITY);
        assert_eq!(buf.iter().last().map(ExecEvent::client_id), Some(255));
        buf.clear();
        assert!(buf.is_empty());
    }
}

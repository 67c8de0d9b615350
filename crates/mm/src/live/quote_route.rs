//! One external venue the quotes go to ([`super::LiveMarketMaker::add_quote_route`]): its
//! execution, its top as the feed shows it, its own ladder (a [`Quoter`] of the pricer's
//! configuration) and client ids, the orders open there, its counts and its refusal hold.

use crate::execution::{ExecCommand, ExecError, ExecEvent, ExecEvents, Execution, OrderRequest, RejectReason};
use crate::in_flight::InFlight;
use crate::quote_orders::QuoteOrders;
use crate::quoter::Quoter;
use crate::types::{Top, VenueId};

/// What came of the quotes sent to one external venue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuoteRouteStats {
    /// New orders sent.
    pub orders_sent: u64,
    /// Amends sent.
    pub amends: u64,
    /// Cancels sent.
    pub cancels: u64,
    /// Fills.
    pub fills: u64,
    /// Lots filled.
    pub filled_qty: i64,
    /// The fills' fees (money units; rebates negative).
    pub fees: i128,
    /// Orders the venue canceled (on request).
    pub canceled: u64,
    /// Commands the venue refused (every reason).
    pub rejected: u64,
    /// Of those, post-only orders that would have crossed.
    pub would_cross: u64,
    /// The latest refusal: client id and reason.
    pub last_reject: Option<(u64, RejectReason)>,
}

/// After a quote venue refused a command, that venue's decisions wait this long (ns).
pub const QUOTE_RETRY_NS: i64 = 1_000_000_000;

/// Open orders a quote route tracks before it refuses new ones.
pub const QUOTE_ROUTE_OPEN: usize = 256;

/// Client ids of quote venue `k` start at the runner's first id plus `k` times this.
pub const QUOTE_ROUTE_ID_SPAN: u64 = 1 << 32;

/// One of our orders on a quote venue.
#[derive(Debug, Clone, Copy)]
struct OpenQuote {
    client_id: u64,
    /// The venue accepted it.
    accepted: bool,
    /// A cancel was sent.
    canceling: bool,
    /// The venue refused the cancel (a rate limit): send it again.
    cancel_again: bool,
}

/// One quote venue (see the module docs).
pub struct QuoteRoute {
    venue: VenueId,
    execution: Box<dyn Execution + Send>,
    /// Scratch: this route's events of one poll.
    pub(super) events: ExecEvents,
    /// The venue's top as the feed shows it (the quotes must not cross it).
    pub(super) top: Top,
    /// Orders sent and not done (filled, canceled or refused).
    open: Vec<OpenQuote>,
    stats: QuoteRouteStats,
    /// No decision for this venue before this (ns) after a refusal.
    pub(super) held_until: i64,
    /// This venue's ladder.
    pub(super) quoter: Quoter,
    /// Its slots' client ids.
    pub(super) orders: QuoteOrders,
    /// Its cancels and amends not yet answered ([`crate::in_flight`]).
    pub(super) in_flight: InFlight,
}

impl std::fmt::Debug for QuoteRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuoteRoute").field("venue", &self.venue).field("open", &self.open.len()).finish()
    }
}

impl QuoteRoute {
    pub(super) fn new(execution: Box<dyn Execution + Send>, quoter: Quoter, first_client_id: u64) -> Self {
        QuoteRoute {
            venue: execution.venue(),
            execution,
            events: ExecEvents::new(),
            top: Top::default(),
            open: Vec::with_capacity(QUOTE_ROUTE_OPEN),
            stats: QuoteRouteStats::default(),
            held_until: i64::MIN,
            quoter,
            orders: QuoteOrders::new(first_client_id),
            in_flight: InFlight::new(),
        }
    }

    /// The venue.
    pub fn venue(&self) -> VenueId {
        self.venue
    }

    /// What came of the quotes sent there.
    pub fn stats(&self) -> QuoteRouteStats {
        self.stats
    }

    /// Our orders open there (sent and not done).
    pub fn open_orders(&self) -> usize {
        self.open.len()
    }

    /// Its top as the feed shows it (others' orders and, when they rest at the touch, ours).
    pub fn top(&self) -> Top {
        self.top
    }

    /// Its ladder (what rests in each slot).
    pub fn quoter(&self) -> &Quoter {
        &self.quoter
    }

    /// Its slots' client ids.
    pub fn orders(&self) -> &QuoteOrders {
        &self.orders
    }

    /// Whether an order of this id is open there.
    pub fn holds(&self, client_id: u64) -> bool {
        self.open.iter().any(|o| o.client_id == client_id)
    }

    /// One command to the venue, counted.
    pub(super) fn submit(&mut self, now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        if let ExecCommand::New(request) = command {
            if self.open.len() == QUOTE_ROUTE_OPEN {
                return Err(ExecError::InFlightFull { venue: self.venue, capacity: QUOTE_ROUTE_OPEN });
            }
            self.execution.submit(now_ns, command)?;
            self.open.push(OpenQuote {
                client_id: request.client_id,
                accepted: false,
                canceling: false,
                cancel_again: false,
            });
            self.stats.orders_sent += 1;
            return Ok(());
        }
        self.execution.submit(now_ns, command)?;
        match *command {
            ExecCommand::Amend { .. } => self.stats.amends += 1,
            ExecCommand::Cancel { client_id } => {
                self.stats.cancels += 1;
                if let Some(o) = self.open.iter_mut().find(|o| o.client_id == client_id) {
                    (o.canceling, o.cancel_again) = (true, false);
                }
            }
            ExecCommand::New(_) => {}
        }
        Ok(())
    }

    /// A slot's order moving to another price: `cancel` canceled and `new` placed
    /// ([`Execution::replace`]: one request where the venue has one), counted as one cancel and
    /// one order sent.
    pub(super) fn replace(&mut self, now_ns: i64, cancel: u64, new: &OrderRequest) -> Result<(), ExecError> {
        if self.open.len() == QUOTE_ROUTE_OPEN {
            return Err(ExecError::InFlightFull { venue: self.venue, capacity: QUOTE_ROUTE_OPEN });
        }
        self.execution.replace(now_ns, cancel, new)?;
        self.open.push(OpenQuote { client_id: new.client_id, accepted: false, canceling: false, cancel_again: false });
        self.stats.orders_sent += 1;
        self.stats.cancels += 1;
        if let Some(o) = self.open.iter_mut().find(|o| o.client_id == cancel) {
            (o.canceling, o.cancel_again) = (true, false);
        }
        Ok(())
    }

    /// Sends again each cancel the venue refused for an order it still holds; returns how many.
    pub(super) fn cancel_refused(&mut self, now_ns: i64) -> Result<usize, ExecError> {
        let mut sent = 0;
        for k in 0..self.open.len() {
            if self.open[k].cancel_again {
                let command = ExecCommand::Cancel { client_id: self.open[k].client_id };
                self.execution.submit(now_ns, &command)?;
                self.open[k].cancel_again = false;
                self.stats.cancels += 1;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Appends the venue's events to `out` (as many as fit; the rest wait for the next poll),
    /// counted; fills stamped with `now_ns`, our clock. A refused cancel or amend of an order
    /// the venue still holds is counted, not passed on (the slot keeps its order).
    pub(super) fn poll(&mut self, now_ns: i64, out: &mut ExecEvents) {
        let from = out.len();
        self.execution.poll(now_ns, out);
        self.events.clear();
        for i in from..out.len() {
            if let Some(e) = out.get(i) {
                // At most a whole buffer: this fits.
                let _ = self.events.push(e);
            }
        }
        out.truncate(from);
        for i in 0..self.events.len() {
            let Some(mut event) = self.events.get(i) else { break };
            let id = event.client_id();
            let k = self.open.iter().position(|o| o.client_id == id);
            let (done, pass) = match &mut event {
                ExecEvent::Accepted { .. } => {
                    if let Some(k) = k {
                        self.open[k].accepted = true;
                    }
                    (false, true)
                }
                ExecEvent::Amended { .. } => (false, true),
                ExecEvent::Filled { fill, open_qty, .. } => {
                    fill.ts_ns = now_ns;
                    self.stats.fills += 1;
                    self.stats.filled_qty += fill.qty;
                    self.stats.fees += fill.fee;
                    (*open_qty == 0, true)
                }
                ExecEvent::Canceled { .. } => {
                    self.stats.canceled += 1;
                    (true, true)
                }
                ExecEvent::Rejected { reason, .. } => {
                    self.stats.rejected += 1;
                    self.stats.would_cross += u64::from(*reason == RejectReason::WouldCross);
                    self.stats.last_reject = Some((id, *reason));
                    self.held_until = now_ns.saturating_add(QUOTE_RETRY_NS);
                    // Refused on arrival (never accepted), or the venue no longer has it.
                    let gone = k.is_none_or(|k| !self.open[k].accepted) || *reason == RejectReason::UnknownOrder;
                    if let Some(o) = k.filter(|_| !gone).map(|k| &mut self.open[k]) {
                        // A refused cancel (a rate limit) is sent again (`cancel_refused`).
                        o.cancel_again = o.canceling;
                    }
                    (gone, gone)
                }
            };
            if let Some(k) = k.filter(|_| done) {
                self.open.swap_remove(k);
            }
            if pass {
                // `out` holds what it held before this poll plus at most what it had room for.
                let _ = out.push(event);
            }
        }
    }
}

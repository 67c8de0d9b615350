//! The live market maker: external venues' book updates in, quotes on our venue out, through
//! the pipeline's gateway and risk; fills back in, inventory and hedge decisions out.
//!
//! ```text
//! on_level(now, venue, side, price, qty) ─> that venue's book ─> top ─> Pricer::on_top
//!                                                                          │
//!         Pricer::decide(now, inventory, our top) ─> QuoteActions ─> QuoteOrders ─> EngineVenue::submit
//! poll(now) ─> EngineVenue::poll ─> Filled:   inventory, Pricer::on_fill, Hedger::decide, requote
//!                                  Canceled / Rejected: the slot is free, requote
//!                                  Rejected by risk (a limit, a kill switch): pull every quote, halt
//! ```
//!
//! Everything runs on the caller's thread, one event at a time, and nothing allocates after
//! construction (`tests/live_no_alloc.rs`): a venue's book is a pre-sized
//! [`BookSide`] pair, the actions and events are fixed-capacity buffers.
//!
//! # Prices
//! `on_level` takes a venue's level **on our grid** (ticks and lots of the instrument we
//! quote): convert a feed's decimal book with the pricer's instrument map first
//! ([`crate::instrument_map::GridScale`]), as the book-health interlock and the feeds do.
//!
//! # Risk and the kill switch
//! The market maker's orders pass the pipeline's pre-trade risk like anyone's. When risk
//! refuses one (an account or global kill switch, a limit), the runner pulls every quote at
//! once (cancels pass risk even under a kill switch, since they reduce it) and stops quoting
//! until [`LiveMarketMaker::resume`]. [`LiveMarketMaker::pull`] does the same on demand (an
//! operator, an interlock).
//!
//! # Hedging
//! After each fill, with a [`HedgeConfig`], the [`Hedger`] decides on the fresh tops of the
//! external venues it may use ([`LiveConfig::hedge_venues`]; their fees from
//! [`LiveConfig::hedge_fees`]); the decision is kept ([`LiveMarketMaker::last_hedge`]) for the
//! caller to route ([`crate::live_hedge`] sends it). The caller tells the market maker what is
//! in flight ([`LiveMarketMaker::set_hedge_in_flight`]: a decision counts those lots as done,
//! so a hedge is never sent twice) and what filled ([`LiveMarketMaker::on_hedge_fill`]: the
//! inventory moves as with our own fills); [`LiveMarketMaker::decide_hedge`] decides again
//! without a fill (after an IOC's remainder was canceled, on a timer).
//!
//! # Quoting on an external venue
//! With a quote route ([`LiveMarketMaker::set_quote_route`]: an [`Execution`] for one of the
//! external venues, the router's `RoutedExecution` over the venue's client), the quotes go
//! there instead of our venue: the same post-only places, amends and cancels, priced so as not
//! to cross that venue's top (its book as the feed shows it), and its execution reports come
//! back through [`LiveMarketMaker::poll`] into the same inventory and events as our venue's
//! (each fill stamped with our clock when it is read, its fee the venue's). A venue's refusal
//! frees the slot and is counted ([`QuoteRouteStats`]); for [`QUOTE_RETRY_NS`] after it the
//! quotes stand as they are (pulls still cancel them), so a venue that refuses is not
//! hammered; then the next decision (a new top, a fill, the timer) places again. A refusal
//! the router maps to [`RejectReason::Risk`] (a filter, a balance) pulls every quote, as our
//! venue's risk does.

use crate::engine_venue::EngineVenue;
use crate::execution::{ExecCommand, ExecError, ExecEvent, ExecEvents, Execution, RejectReason};
use crate::fair_value::UnknownVenueError;
use crate::fees::FeeSchedule;
use crate::hedger::{HedgeConfig, HedgeDecision, HedgeVenue, Hedger};
use crate::l2_book::BookSide;
use crate::metrics::pnl::Mark;
use crate::pricer::Pricer;
use crate::quote_actions::ActionBuffer;
use crate::quote_orders::QuoteOrders;
use crate::quoter::{Decision, QuoterError};
use crate::types::{Side, Top, VenueId};

/// Why the runner could not handle an event; its state is as before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    /// A book update for a venue the pricer was not configured with.
    #[error("live market maker: {0}")]
    UnknownVenue(#[from] UnknownVenueError),
    /// The quoter refused the decision.
    #[error("live market maker: {0}")]
    Quoter(#[from] QuoterError),
    /// Our venue refused a command locally (nothing was sent).
    #[error("live market maker: {0}")]
    Exec(#[from] ExecError),
}

/// How the runner is set up besides the pricing configuration.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The first client id of our quotes (then +1 per order; keep it apart from other
    /// accounts' order ids on our venue).
    pub first_client_id: u64,
    /// Hedge on the external venues (`None`: never).
    pub hedge: Option<HedgeConfig>,
    /// Taker fees of each external venue, in configuration order (missing: no fee).
    pub hedge_fees: Vec<FeeSchedule>,
    /// The external venues (indices in configuration order) the hedger may choose; `None`:
    /// every one.
    pub hedge_venues: Option<Vec<usize>>,
    /// Levels kept per side of each external venue's book.
    pub depth: usize,
    /// The quotes are decided elsewhere (a strategy, [`crate::live_strategy`]): the pricer
    /// keeps the fair value (PnL, hedges) and never quotes; orders come through
    /// [`LiveMarketMaker::submit`].
    pub quotes_elsewhere: bool,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            first_client_id: 1 << 40,
            hedge: None,
            hedge_fees: Vec::new(),
            hedge_venues: None,
            depth: 64,
            quotes_elsewhere: false,
        }
    }
}

/// What the runner has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveCounters {
    /// External book updates handled.
    pub updates: u64,
    /// Decisions that requoted.
    pub requotes: u64,
    /// Commands sent to our venue.
    pub commands: u64,
    /// Our fills.
    pub fills: u64,
    /// Our orders refused by risk.
    pub risk_rejections: u64,
    /// Quote pulls (risk, or on request).
    pub pulls: u64,
    /// Hedge decisions.
    pub hedges: u64,
    /// Hedge fills applied ([`LiveMarketMaker::on_hedge_fill`]).
    pub hedge_fills: u64,
}

/// What came of the quotes sent to an external venue ([`LiveMarketMaker::set_quote_route`]).
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

/// The quotes' external venue: its execution, its top, the orders open there.
struct QuoteRoute {
    venue: VenueId,
    execution: Box<dyn Execution + Send>,
    events: ExecEvents,
    /// The venue's top as the feed shows it (the quotes must not cross it).
    top: Top,
    /// Orders sent and not done (filled, canceled or refused).
    open: Vec<OpenQuote>,
    stats: QuoteRouteStats,
    /// No decision before this (ns) after a refusal.
    held_until: i64,
}

/// One of our orders on the quote venue.
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

/// After the quote venue refused a command, decisions wait this long (ns).
pub const QUOTE_RETRY_NS: i64 = 1_000_000_000;

impl std::fmt::Debug for QuoteRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuoteRoute").field("venue", &self.venue).field("open", &self.open.len()).finish()
    }
}

/// Open orders a quote route tracks before it refuses new ones.
pub const QUOTE_ROUTE_OPEN: usize = 256;

/// One external venue's book on our grid.
#[derive(Debug, Clone)]
struct ExternalBook {
    bids: BookSide,
    asks: BookSide,
    ts_ns: i64,
}

impl ExternalBook {
    fn top(&self) -> Top {
        Top { bid: self.bids.best().unwrap_or_default(), ask: self.asks.best().unwrap_or_default(), ts_ns: self.ts_ns }
    }
}

/// The live market maker on our venue (see the module docs).
#[derive(Debug)]
pub struct LiveMarketMaker {
    pricer: Pricer,
    orders: QuoteOrders,
    actions: ActionBuffer,
    venue: EngineVenue,
    events: ExecEvents,
    books: Vec<ExternalBook>,
    hedger: Option<Hedger>,
    hedge_venues: Vec<HedgeVenue>,
    inventory: i64,
    /// Signed lots of hedge orders in flight (buys positive).
    hedge_in_flight: i64,
    halted: bool,
    quotes_elsewhere: bool,
    sent: Vec<ExecCommand>,
    last_hedge: Option<HedgeDecision>,
    /// Our venue's clock when the last hedge was decided.
    last_hedge_clock_ns: i64,
    counters: LiveCounters,
    /// The external venue the quotes go to (`None`: our venue).
    quote_route: Option<QuoteRoute>,
}

impl LiveMarketMaker {
    /// A runner quoting on `venue` with `pricer`. Allocates everything it will use here.
    pub fn new(pricer: Pricer, venue: EngineVenue, cfg: &LiveConfig) -> Self {
        let n = pricer.instrument_map().venues.len();
        let book = ExternalBook {
            bids: BookSide::new(Side::Buy, cfg.depth),
            asks: BookSide::new(Side::Sell, cfg.depth),
            ts_ns: 0,
        };
        let hedge_venues = (0..n)
            .filter(|i| cfg.hedge_venues.as_ref().is_none_or(|only| only.contains(i)))
            .map(|i| HedgeVenue {
                venue: VenueId::External(i as u8),
                top: Top::default(),
                fees: cfg.hedge_fees.get(i).copied().unwrap_or_default(),
            })
            .collect();
        let actions = ActionBuffer::for_levels(pricer.levels());
        LiveMarketMaker {
            sent: Vec::with_capacity(actions.capacity()),
            actions,
            orders: QuoteOrders::new(cfg.first_client_id),
            venue,
            events: ExecEvents::new(),
            books: vec![book; n],
            hedger: cfg.hedge.map(Hedger::new),
            hedge_venues,
            inventory: 0,
            hedge_in_flight: 0,
            halted: false,
            quotes_elsewhere: cfg.quotes_elsewhere,
            last_hedge: None,
            last_hedge_clock_ns: 0,
            counters: LiveCounters::default(),
            quote_route: None,
            pricer,
        }
    }

    /// A level of an external venue's book changed (price and quantity on our grid; `qty <= 0`
    /// removes it): the venue's top moves, the fair value with it, and the quotes follow.
    pub fn on_level(
        &mut self,
        now_ns: i64,
        venue: VenueId,
        side: Side,
        price: i64,
        qty: i64,
    ) -> Result<Decision, LiveError> {
        self.on_levels(now_ns, venue, &[(side, price, qty)])
    }

    /// Several levels of one external venue's book changed in one message (`(side, price,
    /// qty)` on our grid, applied in order): one fair value and one decision for all of them,
    /// so a message that moves the top never quotes off a half-applied book.
    pub fn on_levels(
        &mut self,
        now_ns: i64,
        venue: VenueId,
        changes: &[(Side, i64, i64)],
    ) -> Result<Decision, LiveError> {
        let VenueId::External(i) = venue else { return Err(UnknownVenueError { venue }.into()) };
        let book = self.books.get_mut(i as usize).ok_or(UnknownVenueError { venue })?;
        for &(side, price, qty) in changes {
            match side {
                Side::Buy => book.bids.set(price, qty),
                Side::Sell => book.asks.set(price, qty),
            }
        }
        book.ts_ns = now_ns;
        let top = book.top();
        self.on_top(now_ns, venue, top)
    }

    /// Sends the quotes to `execution`'s venue, one of the external venues, instead of ours
    /// (see the module docs). Set it before the first quote; nothing is sent here.
    pub fn set_quote_route(&mut self, execution: Box<dyn Execution + Send>) -> Result<(), LiveError> {
        let venue = execution.venue();
        match venue {
            VenueId::External(i) if (i as usize) < self.books.len() => {}
            _ => return Err(UnknownVenueError { venue }.into()),
        }
        self.quote_route = Some(QuoteRoute {
            venue,
            execution,
            events: ExecEvents::new(),
            top: Top::default(),
            open: Vec::with_capacity(QUOTE_ROUTE_OPEN),
            stats: QuoteRouteStats::default(),
            held_until: i64::MIN,
        });
        Ok(())
    }

    /// Sends again each cancel the quote venue refused (a rate limit) for an order it still
    /// holds; returns how many. The runner calls it on its timer and while stopping, so a
    /// pulled quote does not stay on the venue.
    pub fn cancel_refused(&mut self, now_ns: i64) -> Result<usize, LiveError> {
        let Some(r) = self.quote_route.as_mut() else { return Ok(0) };
        let mut sent = 0;
        for k in 0..r.open.len() {
            if r.open[k].cancel_again {
                let command = ExecCommand::Cancel { client_id: r.open[k].client_id };
                r.execution.submit(now_ns, &command)?;
                r.open[k].cancel_again = false;
                r.stats.cancels += 1;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// The external venue the quotes go to (`None`: our venue).
    pub fn quote_venue(&self) -> Option<VenueId> {
        self.quote_route.as_ref().map(|r| r.venue)
    }

    /// What came of the quotes on the external venue (`None`: quoting on our venue).
    pub fn quote_route_stats(&self) -> Option<QuoteRouteStats> {
        self.quote_route.as_ref().map(|r| r.stats)
    }

    /// Our orders open (sent and not done) on the quote venue: the external venue's when
    /// quoting there, else our venue's.
    pub fn open_quote_orders(&self) -> usize {
        match &self.quote_route {
            Some(r) => r.open.len(),
            None => self.venue.open_orders() + self.venue.in_flight(),
        }
    }

    /// The top of the venue the quotes rest on, others' orders only: our venue's without
    /// ours, or the external venue's as its feed shows it.
    pub fn quote_venue_top(&self) -> Top {
        match &self.quote_route {
            Some(r) => r.top,
            None => self.venue.others_top(),
        }
    }

    /// An external venue's new top (on our grid): fair value, then a decision.
    pub fn on_top(&mut self, now_ns: i64, venue: VenueId, top: Top) -> Result<Decision, LiveError> {
        self.pricer.on_top(venue, top)?;
        if let Some(r) = self.quote_route.as_mut().filter(|r| r.venue == venue) {
            r.top = top;
        }
        if let Some(h) = self.hedge_venues.iter_mut().find(|h| h.venue == venue) {
            h.top = top;
        }
        self.counters.updates += 1;
        self.quote(now_ns)
    }

    /// Decides now and sends what the decision asks for (nothing while halted).
    pub fn quote(&mut self, now_ns: i64) -> Result<Decision, LiveError> {
        self.sent.clear();
        if self.halted || self.quotes_elsewhere || self.quote_route.as_ref().is_some_and(|r| now_ns < r.held_until) {
            return Ok(Decision::Held);
        }
        let our_top = self.quote_venue_top();
        let our_top = (our_top.bid.qty > 0 || our_top.ask.qty > 0).then_some(our_top);
        let decision = self.pricer.decide(now_ns, self.inventory, our_top, &mut self.actions)?;
        if let Decision::Requoted(_) = decision {
            self.counters.requotes += 1;
        }
        self.send(now_ns)?;
        Ok(decision)
    }

    fn send(&mut self, now_ns: i64) -> Result<(), LiveError> {
        for &action in self.actions.as_slice() {
            if let Some(command) = self.orders.command(action) {
                Self::submit_to(&mut self.quote_route, &mut self.venue, now_ns, &command)?;
                self.counters.commands += 1;
                if self.sent.len() < self.sent.capacity() {
                    self.sent.push(command);
                }
            }
        }
        Ok(())
    }

    /// One command to the quote venue: the external venue's route, or ours.
    fn submit_quote(&mut self, now_ns: i64, command: &ExecCommand) -> Result<(), LiveError> {
        Self::submit_to(&mut self.quote_route, &mut self.venue, now_ns, command)
    }

    fn submit_to(
        route: &mut Option<QuoteRoute>,
        venue: &mut EngineVenue,
        now_ns: i64,
        command: &ExecCommand,
    ) -> Result<(), LiveError> {
        let Some(r) = route.as_mut() else { return Ok(venue.submit(now_ns, command)?) };
        if let ExecCommand::New(request) = command {
            if r.open.len() == QUOTE_ROUTE_OPEN {
                return Err(ExecError::InFlightFull { venue: r.venue, capacity: QUOTE_ROUTE_OPEN }.into());
            }
            r.execution.submit(now_ns, command)?;
            r.open.push(OpenQuote {
                client_id: request.client_id,
                accepted: false,
                canceling: false,
                cancel_again: false,
            });
            r.stats.orders_sent += 1;
        } else {
            r.execution.submit(now_ns, command)?;
            match *command {
                ExecCommand::Amend { .. } => r.stats.amends += 1,
                ExecCommand::Cancel { client_id } => {
                    r.stats.cancels += 1;
                    if let Some(o) = r.open.iter_mut().find(|o| o.client_id == client_id) {
                        (o.canceling, o.cancel_again) = (true, false);
                    }
                }
                ExecCommand::New(_) => {}
            }
        }
        Ok(())
    }

    /// Reads what our venue (and the quote route) said back and acts on it; returns how many
    /// events there were.
    pub fn poll(&mut self, now_ns: i64) -> Result<usize, LiveError> {
        self.events.clear();
        match self.quote_route {
            None => self.venue.poll(now_ns, &mut self.events),
            Some(_) => self.poll_quote_route(now_ns),
        }
        let routed = self.quote_route.is_some();
        let n = self.events.len();
        let mut requote = false;
        for i in 0..n {
            let Some(event) = self.events.get(i) else { break };
            let again = self.on_event(now_ns, event)?;
            // A venue's refusal waits for the next decision (module docs).
            requote |= again && !(routed && matches!(event, ExecEvent::Rejected { .. }));
        }
        if requote {
            self.quote(now_ns)?;
        }
        Ok(n)
    }

    /// With a quote route: our venue read (none of its events is ours: nothing of ours rests
    /// there), then the route's events into [`Self::events`], counted; fills stamped with
    /// `now_ns`, our clock. A refused cancel or amend of an order the venue still holds is
    /// counted, not passed on (the slot keeps its order).
    fn poll_quote_route(&mut self, now_ns: i64) {
        let Some(r) = self.quote_route.as_mut() else { return };
        r.events.clear();
        self.venue.poll(now_ns, &mut r.events);
        r.events.clear();
        self.events.clear();
        r.execution.poll(now_ns, &mut r.events);
        for i in 0..r.events.len() {
            let Some(mut event) = r.events.get(i) else { break };
            let id = event.client_id();
            let k = r.open.iter().position(|o| o.client_id == id);
            let (done, pass) = match &mut event {
                ExecEvent::Accepted { .. } => {
                    if let Some(k) = k {
                        r.open[k].accepted = true;
                    }
                    (false, true)
                }
                ExecEvent::Amended { .. } => (false, true),
                ExecEvent::Filled { fill, open_qty, .. } => {
                    fill.ts_ns = now_ns;
                    r.stats.fills += 1;
                    r.stats.filled_qty += fill.qty;
                    r.stats.fees += fill.fee;
                    (*open_qty == 0, true)
                }
                ExecEvent::Canceled { .. } => {
                    r.stats.canceled += 1;
                    (true, true)
                }
                ExecEvent::Rejected { reason, .. } => {
                    r.stats.rejected += 1;
                    r.stats.would_cross += u64::from(*reason == RejectReason::WouldCross);
                    r.stats.last_reject = Some((id, *reason));
                    r.held_until = now_ns.saturating_add(QUOTE_RETRY_NS);
                    // Refused on arrival (never accepted), or the venue no longer has it.
                    let gone = k.is_none_or(|k| !r.open[k].accepted) || *reason == RejectReason::UnknownOrder;
                    if let Some(o) = k.filter(|_| !gone).map(|k| &mut r.open[k]) {
                        // A refused cancel (a rate limit) is sent again (`cancel_refused`).
                        o.cancel_again = o.canceling;
                    }
                    (gone, gone)
                }
            };
            if let Some(k) = k.filter(|_| done) {
                r.open.swap_remove(k);
            }
            if pass {
                // `events` was emptied and holds as many as `r.events`: this fits.
                let _ = self.events.push(event);
            }
        }
    }

    /// One event; returns whether to requote.
    fn on_event(&mut self, now_ns: i64, event: ExecEvent) -> Result<bool, LiveError> {
        match event {
            ExecEvent::Filled { client_id, fill, open_qty } => {
                self.counters.fills += 1;
                self.inventory += match fill.side {
                    Side::Buy => fill.qty,
                    Side::Sell => -fill.qty,
                };
                if let Some((side, level)) = self.orders.slot_of(client_id) {
                    self.pricer.on_fill(side, level, fill.qty)?;
                    if open_qty == 0 {
                        self.orders.forget(side, level);
                    }
                }
                self.hedge(now_ns);
                Ok(true)
            }
            ExecEvent::Canceled { client_id, .. } => Ok(self.gone(client_id)),
            ExecEvent::Rejected { client_id, reason, .. } => {
                let freed = self.gone(client_id);
                if reason == RejectReason::Risk {
                    self.counters.risk_rejections += 1;
                    self.pull(now_ns)?;
                    return Ok(false);
                }
                Ok(freed)
            }
            ExecEvent::Accepted { .. } | ExecEvent::Amended { .. } => Ok(false),
        }
    }

    /// A slot's order left without a fill; returns whether it was still a slot's.
    fn gone(&mut self, client_id: u64) -> bool {
        let Some((side, level)) = self.orders.slot_of(client_id) else { return false };
        self.pricer.on_order_gone(side, level);
        self.orders.forget(side, level);
        true
    }

    fn hedge(&mut self, now_ns: i64) {
        self.decide_hedge(now_ns);
    }

    /// Decides a hedge now on the inventory plus the hedges in flight (a decision is also kept
    /// as [`LiveMarketMaker::last_hedge`] and counted); `None` without a hedger, a fair value,
    /// inventory past the threshold or a fresh venue.
    pub fn decide_hedge(&mut self, now_ns: i64) -> Option<HedgeDecision> {
        let hedger = self.hedger?;
        let fair = self.pricer.fair_value_engine().fair_value(now_ns).and_then(|f| Mark::from_ticks_f64(f.price))?;
        let d = hedger.decide(now_ns, self.inventory + self.hedge_in_flight, fair, &self.hedge_venues)?;
        self.last_hedge = Some(d);
        self.last_hedge_clock_ns = self.venue.clock_ns();
        self.counters.hedges += 1;
        Some(d)
    }

    /// Whether [`LiveMarketMaker::decide_hedge`] would decide a hedge now (inventory plus the
    /// hedges in flight past the threshold, a fair value, a fresh venue); decides nothing.
    pub fn hedge_due(&self, now_ns: i64) -> bool {
        let Some(hedger) = self.hedger else { return false };
        let fair = self.pricer.fair_value_engine().fair_value(now_ns).and_then(|f| Mark::from_ticks_f64(f.price));
        fair.is_some_and(|fair| {
            hedger.decide(now_ns, self.inventory + self.hedge_in_flight, fair, &self.hedge_venues).is_some()
        })
    }

    /// Signed lots of hedge orders in flight (buys positive): hedge decisions count them as
    /// done until the caller says otherwise.
    pub fn set_hedge_in_flight(&mut self, lots: i64) {
        self.hedge_in_flight = lots;
    }

    /// A hedge order filled `qty` lots on `side` on an external venue: the inventory moves as
    /// with our own fills and the quotes follow it (skew). Hedges are not decided here.
    pub fn on_hedge_fill(&mut self, now_ns: i64, side: Side, qty: i64) -> Result<Decision, LiveError> {
        self.counters.hedge_fills += 1;
        self.inventory += match side {
            Side::Buy => qty,
            Side::Sell => -qty,
        };
        self.quote(now_ns)
    }

    /// Sends `command` (a strategy's order, [`LiveConfig::quotes_elsewhere`]) to the quote
    /// venue as it is; its fills count in the inventory like the quotes' and may decide a
    /// hedge.
    pub fn submit(&mut self, now_ns: i64, command: &ExecCommand) -> Result<(), LiveError> {
        self.submit_quote(now_ns, command)?;
        self.counters.commands += 1;
        Ok(())
    }

    /// Cancels every quote now and stops quoting until [`LiveMarketMaker::resume`].
    pub fn pull(&mut self, now_ns: i64) -> Result<(), LiveError> {
        self.halted = true;
        self.counters.pulls += 1;
        self.pricer.pull(&mut self.actions)?;
        self.send(now_ns)
    }

    /// Quotes again from the next decision on.
    pub fn resume(&mut self) {
        self.halted = false;
    }

    /// Whether quoting is stopped (risk refused an order, or [`LiveMarketMaker::pull`]).
    pub fn is_halted(&self) -> bool {
        self.halted
    }

    /// Net lots bought: our venue's fills and the hedge fills.
    pub fn inventory(&self) -> i64 {
        self.inventory
    }

    /// The commands the last decision (or pull) sent.
    pub fn sent(&self) -> &[ExecCommand] {
        &self.sent
    }

    /// The events of the last [`LiveMarketMaker::poll`].
    pub fn events(&self) -> &ExecEvents {
        &self.events
    }

    /// The last hedge decided.
    pub fn last_hedge(&self) -> Option<HedgeDecision> {
        self.last_hedge
    }

    /// Our venue's clock (the pipeline clock, as fills' `ts_ns`) when the last hedge was
    /// decided: fill -> hedge decision latency is this minus the fill's time.
    pub fn last_hedge_clock_ns(&self) -> i64 {
        self.last_hedge_clock_ns
    }

    /// Counters so far.
    pub fn counters(&self) -> LiveCounters {
        self.counters
    }

    /// The pricer.
    pub fn pricer(&self) -> &Pricer {
        &self.pricer
    }

    /// The slots' client ids.
    pub fn quote_orders(&self) -> &QuoteOrders {
        &self.orders
    }

    /// Our venue.
    pub fn venue(&self) -> &EngineVenue {
        &self.venue
    }
}

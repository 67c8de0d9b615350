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
//! # Quoting on external venues
//! With quote routes ([`LiveMarketMaker::add_quote_route`], once per venue: an [`Execution`]
//! for one of the external venues, the router's `RoutedExecution` over the venue's client),
//! the quotes go there instead of our venue. Each quote venue has a ladder of its own (a
//! [`Quoter`](crate::quoter::Quoter) of the pricer's configuration, its own client ids from
//! the first id plus `k ×` [`QUOTE_ROUTE_ID_SPAN`]) decided off the same fair value and
//! inventory: the same post-only places, amends and cancels, priced so as not to cross **that
//! venue's** top (its book as the feed shows it). Each venue's execution reports come back
//! through [`LiveMarketMaker::poll`] into the same inventory and events (each fill stamped
//! with our clock when it is read, its fee the venue's); a fill on one venue makes every other
//! venue's ladder requote too, so all of them skew with the one inventory. The inventory limit
//! is the venues' together: a ladder's room on a side is `max_inventory_lots` less the
//! inventory (on the asks, plus it) and less what the other venues' ladders rest on that side
//! ([`Quoter::set_elsewhere`](crate::quoter::Quoter::set_elsewhere)), so the inventory plus
//! every venue's resting bids never passes the limit (the asks likewise), and a side at the
//! limit is quoted on no venue. The venues take the room in `quote_on`'s order. A venue's refusal frees the slot and is counted in
//! that venue's [`QuoteRouteStats`]; for [`QUOTE_RETRY_NS`] after it that venue's quotes stand
//! as they are (pulls still cancel them) while the others go on, so a venue that refuses is
//! not hammered; then its next decision (a new top, a fill, the timer) places again. A
//! refusal the router maps to [`RejectReason::Risk`] (a filter, a balance) pulls every quote
//! on every venue, as our venue's risk does; so does [`LiveMarketMaker::pull`].
//!
//! # Our venue and external venues at once
//! [`LiveMarketMaker::quote_on_ours`], called among the [`LiveMarketMaker::add_quote_route`]
//! calls at our venue's place in `quote_on`, keeps a ladder on our venue too (the pricer's,
//! its client ids from the first id, priced not to cross our venue's top of others' orders)
//! beside the quote venues' ones: the same fair value, inventory and combined limit (our
//! ladder's resting lots count in the others' room and theirs in ours), our venue's events read
//! by [`LiveMarketMaker::poll`] as before (its fills into the one inventory, making the other
//! ladders requote, and the other way round), counted in [`LiveMarketMaker::ours_stats`]. A
//! pull cancels on our venue and on every quote venue. Client ids are per venue: ours and the
//! first quote venue's start at the same id.

use crate::engine_venue::EngineVenue;
use crate::execution::{ExecCommand, ExecError, ExecEvent, ExecEvents, Execution, RejectReason};
use crate::fair_value::UnknownVenueError;
use crate::fees::FeeSchedule;
use crate::hedger::{HedgeConfig, HedgeDecision, HedgeVenue, Hedger};
use crate::in_flight::InFlight;
use crate::l2_book::BookSide;
use crate::metrics::pnl::Mark;
use crate::pricer::Pricer;
use crate::quote_actions::{ActionBuffer, QuoteAction};
use crate::quote_orders::QuoteOrders;
use crate::quoter::{Decision, QuoterError};
use crate::types::{Side, Top, VenueId};

mod ladders;
mod quote_route;

pub use quote_route::{QuoteRoute, QuoteRouteStats, QUOTE_RETRY_NS, QUOTE_ROUTE_ID_SPAN, QUOTE_ROUTE_OPEN};

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
    /// A second quote route to the same venue.
    #[error("live market maker: venue={venue:?} has a quote route already")]
    QuoteRouteTwice {
        /// The venue.
        venue: VenueId,
    },
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
    /// Requotes that quoted a side short of its ladder because orders canceled or amended
    /// and not yet answered might still fill ([`crate::in_flight`]): a venue slow to answer.
    pub cut_short: u64,
}

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
    /// Our venue's ladder's cancels and amends not yet answered ([`crate::in_flight`]).
    in_flight: InFlight,
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
    /// The external venues the quotes go to (none: our venue).
    quote_routes: Vec<QuoteRoute>,
    /// With quote routes, our venue quotes too: after this many of them.
    ours_at: Option<usize>,
    /// What came of the quotes on our venue.
    ours_stats: QuoteRouteStats,
    first_client_id: u64,
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
            // Our engine amends by total, as every venue does.
            in_flight: InFlight::new(),
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
            quote_routes: Vec::new(),
            ours_at: None,
            ours_stats: QuoteRouteStats::default(),
            first_client_id: cfg.first_client_id,
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
    /// (see the module docs); called once per venue, they all quote (each with a ladder of its
    /// own). Set them before the first quote; nothing is sent here.
    pub fn add_quote_route(&mut self, execution: Box<dyn Execution + Send>) -> Result<(), LiveError> {
        let venue = execution.venue();
        match venue {
            VenueId::External(i) if (i as usize) < self.books.len() => {}
            _ => return Err(UnknownVenueError { venue }.into()),
        }
        if self.quote_routes.iter().any(|r| r.venue() == venue) {
            return Err(LiveError::QuoteRouteTwice { venue });
        }
        let k = self.quote_routes.len() as u64;
        let first = self.first_client_id.saturating_add(k.saturating_mul(QUOTE_ROUTE_ID_SPAN));
        self.quote_routes.push(QuoteRoute::new(execution, self.pricer.quoter().idle_copy(), first));
        self.sent.reserve(self.actions.capacity());
        Ok(())
    }

    /// Keeps quoting on our venue beside the quote routes (see the module docs): call it at our
    /// venue's place among the [`LiveMarketMaker::add_quote_route`] calls (the ladders take the
    /// inventory limit's room in that order). Without quote routes it changes nothing.
    pub fn quote_on_ours(&mut self) -> Result<(), LiveError> {
        if self.ours_at.is_some() {
            return Err(LiveError::QuoteRouteTwice { venue: VenueId::Ours });
        }
        self.ours_at = Some(self.quote_routes.len());
        Ok(())
    }

    /// Whether our venue has a ladder: alone, or beside the quote routes.
    fn quotes_ours(&self) -> bool {
        self.quote_routes.is_empty() || self.ours_at.is_some()
    }

    /// What came of the quotes sent to our venue (counted whether or not it quotes alone).
    pub fn ours_stats(&self) -> QuoteRouteStats {
        self.ours_stats
    }

    /// Where our venue stands among the quote routes (`Some(k)`: after `k` of them), when it
    /// quotes beside them.
    pub fn ours_at(&self) -> Option<usize> {
        self.ours_at.filter(|_| !self.quote_routes.is_empty())
    }

    /// Sends again each cancel a quote venue refused (a rate limit) for an order it still
    /// holds; returns how many. The runner calls it on its timer and while stopping, so a
    /// pulled quote does not stay on a venue.
    pub fn cancel_refused(&mut self, now_ns: i64) -> Result<usize, LiveError> {
        let mut sent = 0;
        for r in &mut self.quote_routes {
            sent += r.cancel_refused(now_ns)?;
        }
        Ok(sent)
    }

    /// The external venues the quotes go to, in the order they were added (none: our venue).
    pub fn quote_routes(&self) -> &[QuoteRoute] {
        &self.quote_routes
    }

    /// Our orders open (sent and not done) where the quotes go: on every quote venue and on
    /// our venue when it quotes.
    pub fn open_quote_orders(&self) -> usize {
        let ours = match self.quotes_ours() {
            true => self.venue.open_orders() + self.venue.in_flight(),
            false => 0,
        };
        ours + self.quote_routes.iter().map(QuoteRoute::open_orders).sum::<usize>()
    }

    /// The top of the first venue the quotes rest on (in `quote_on`'s order), others' orders
    /// only: our venue's without ours, or the first quote venue's as its feed shows it.
    pub fn quote_venue_top(&self) -> Top {
        match self.quote_routes.first().filter(|_| self.ours_at != Some(0)) {
            Some(r) => r.top,
            None => self.venue.others_top(),
        }
    }

    /// An external venue's new top (on our grid): fair value, then a decision.
    pub fn on_top(&mut self, now_ns: i64, venue: VenueId, top: Top) -> Result<Decision, LiveError> {
        self.pricer.on_top(venue, top)?;
        if let Some(r) = self.quote_routes.iter_mut().find(|r| r.venue() == venue) {
            r.top = top;
        }
        if let Some(h) = self.hedge_venues.iter_mut().find(|h| h.venue == venue) {
            h.top = top;
        }
        self.counters.updates += 1;
        self.quote(now_ns)
    }

    /// Decides now and sends what the decision asks for (nothing while halted): on our venue,
    /// or on each quote venue not held after a refusal, each against its own top.
    pub fn quote(&mut self, now_ns: i64) -> Result<Decision, LiveError> {
        self.sent.clear();
        if self.halted || self.quotes_elsewhere {
            return Ok(Decision::Held);
        }
        if self.quote_routes.is_empty() {
            let (bids, asks) = (self.in_flight.lots(Side::Buy), self.in_flight.lots(Side::Sell));
            self.pricer.quoter_mut().set_in_flight(bids, asks);
            let our_top = self.venue.others_top();
            let our_top = (our_top.bid.qty > 0 || our_top.ask.qty > 0).then_some(our_top);
            let decision = self.pricer.decide(now_ns, self.inventory, our_top, &mut self.actions)?;
            if let Decision::Requoted(_) = decision {
                self.counters.requotes += 1;
                self.counters.cut_short += u64::from(self.pricer.quoter().cut_short());
            }
            self.send(now_ns, None)?;
            return Ok(decision);
        }
        let mut decision = Decision::Held;
        let ladders = self.quote_routes.len() + usize::from(self.ours_at.is_some());
        for slot in 0..ladders {
            let d = match self.ours_at {
                Some(at) if slot == at => self.decide_ours(now_ns)?,
                Some(at) if slot > at => self.decide_route(now_ns, slot - 1)?,
                _ => self.decide_route(now_ns, slot)?,
            };
            decision = match (decision, d) {
                (Decision::Requoted(r), _) => Decision::Requoted(r),
                (_, Decision::Requoted(r)) => Decision::Requoted(r),
                (Decision::Pulled, _) | (_, Decision::Pulled) => Decision::Pulled,
                _ => Decision::Held,
            };
        }
        Ok(decision)
    }

    /// The actions of the last decision (or pull) as commands to our venue or quote venue `k`.
    /// On a quote venue, a slot's cancel followed by a place on the same slot (its quote moved
    /// to another price) is one [`Execution::replace`]: one cancel-replace request where the
    /// venue has one.
    fn send(&mut self, now_ns: i64, route: Option<usize>) -> Result<(), LiveError> {
        // Bit j: the place at action j went with the cancel before it (the first 64 actions).
        let mut paired: u64 = 0;
        for (i, &action) in self.actions.as_slice().iter().enumerate() {
            if i < 64 && paired & (1 << i) != 0 {
                continue;
            }
            if let (Some(k), QuoteAction::Cancel { side, level, .. }) = (route, action) {
                let later = self.actions.as_slice().iter().enumerate().take(64).skip(i + 1);
                let place = later.filter(|(j, _)| paired & (1 << j) == 0).find(
                    |(_, a)| matches!(a, QuoteAction::Place { side: s, level: l, .. } if *s == side && *l == level),
                );
                let r = &mut self.quote_routes[k];
                if let Some((j, &place)) = place.filter(|_| r.orders.id(side, level as usize).is_some()) {
                    let cancel = r.orders.command(action);
                    let new = r.orders.command(place);
                    if let (Some(ExecCommand::Cancel { client_id }), Some(ExecCommand::New(request))) = (cancel, new) {
                        r.replace(now_ns, client_id, &request)?;
                        // The replaced order may fill until the venue confirms it gone.
                        r.in_flight.on_action(action, client_id, r.quoter.was(side, level as usize));
                        paired |= 1 << j;
                        self.counters.commands += 2;
                        for command in [ExecCommand::Cancel { client_id }, ExecCommand::New(request)] {
                            if self.sent.len() < self.sent.capacity() {
                                self.sent.push(command);
                            }
                        }
                        continue;
                    }
                }
            }
            let command = match route {
                None => self.orders.command(action),
                Some(k) => self.quote_routes[k].orders.command(action),
            };
            let Some(command) = command else { continue };
            // A cancel's or amend's order may fill past what the ladder counts until answered.
            if let (QuoteAction::Cancel { side, level, .. } | QuoteAction::Amend { side, level, .. }, Some(id)) =
                (action, command.order_id())
            {
                match route {
                    None => self.in_flight.on_action(action, id, self.pricer.quoter().was(side, level as usize)),
                    Some(k) => {
                        let r = &mut self.quote_routes[k];
                        r.in_flight.on_action(action, id, r.quoter.was(side, level as usize));
                    }
                }
            }
            match route {
                None => {
                    self.venue.submit(now_ns, &command)?;
                    match command {
                        ExecCommand::New(_) => self.ours_stats.orders_sent += 1,
                        ExecCommand::Amend { .. } => self.ours_stats.amends += 1,
                        ExecCommand::Cancel { .. } => self.ours_stats.cancels += 1,
                    }
                }
                Some(k) => self.quote_routes[k].submit(now_ns, &command)?,
            }
            self.counters.commands += 1;
            if self.sent.len() < self.sent.capacity() {
                self.sent.push(command);
            }
        }
        Ok(())
    }

    /// Reads what our venue (and the quote venues) said back and acts on it; returns how many
    /// events there were.
    pub fn poll(&mut self, now_ns: i64) -> Result<usize, LiveError> {
        self.events.clear();
        let mut requote = false;
        if self.quote_routes.is_empty() {
            self.venue.poll(now_ns, &mut self.events);
            for i in 0..self.events.len() {
                let Some(event) = self.events.get(i) else { break };
                requote |= self.on_event(now_ns, None, event)?;
            }
        } else {
            if self.ours_at.is_some() {
                // Our venue quotes too: its events first.
                self.venue.poll(now_ns, &mut self.events);
                for i in 0..self.events.len() {
                    let Some(event) = self.events.get(i) else { break };
                    requote |= self.on_event(now_ns, None, event)?;
                }
            } else {
                // Our venue read: none of its events is ours (nothing of ours rests there).
                let scratch = &mut self.quote_routes[0].events;
                scratch.clear();
                self.venue.poll(now_ns, scratch);
            }
            for k in 0..self.quote_routes.len() {
                let from = self.events.len();
                self.quote_routes[k].poll(now_ns, &mut self.events);
                for i in from..self.events.len() {
                    let Some(event) = self.events.get(i) else { break };
                    let again = self.on_event(now_ns, Some(k), event)?;
                    // A venue's refusal waits for the next decision (module docs).
                    requote |= again && !matches!(event, ExecEvent::Rejected { .. });
                }
            }
        }
        if requote {
            self.quote(now_ns)?;
        }
        Ok(self.events.len())
    }

    /// [`LiveMarketMaker::on_event`] for the ladders' slots.
    pub(super) fn on_slot_event(
        &mut self,
        now_ns: i64,
        route: Option<usize>,
        event: ExecEvent,
    ) -> Result<bool, LiveError> {
        match event {
            ExecEvent::Filled { client_id, fill, open_qty } => {
                self.counters.fills += 1;
                self.inventory += match fill.side {
                    Side::Buy => fill.qty,
                    Side::Sell => -fill.qty,
                };
                match route {
                    None => {
                        self.ours_stats.fills += 1;
                        self.ours_stats.filled_qty += fill.qty;
                        self.ours_stats.fees += fill.fee;
                        if let Some((side, level)) = self.orders.slot_of(client_id) {
                            self.pricer.on_fill(side, level, fill.qty)?;
                            self.pricer.quoter_mut().on_still_open(side, level, fill.price, open_qty);
                            if open_qty == 0 {
                                self.orders.forget(side, level);
                            }
                        }
                        // The quote venues' ladders follow the inventory too.
                        for r in &mut self.quote_routes {
                            r.quoter.on_inventory_change();
                        }
                    }
                    Some(k) => {
                        if self.ours_at.is_some() {
                            self.pricer.quoter_mut().on_inventory_change();
                        }
                        for (j, r) in self.quote_routes.iter_mut().enumerate() {
                            match r.orders.slot_of(client_id).filter(|_| j == k) {
                                Some((side, level)) => {
                                    r.quoter.on_fill(side, level, fill.qty)?;
                                    r.quoter.on_still_open(side, level, fill.price, open_qty);
                                    if open_qty == 0 {
                                        r.orders.forget(side, level);
                                    }
                                }
                                // The other venues' ladders follow the inventory too.
                                None => r.quoter.on_inventory_change(),
                            }
                        }
                    }
                }
                self.hedge(now_ns);
                Ok(true)
            }
            ExecEvent::Canceled { client_id, .. } => {
                self.ours_stats.canceled += u64::from(route.is_none());
                Ok(self.gone(route, client_id))
            }
            ExecEvent::Rejected { client_id, reason, .. } => {
                if route.is_none() {
                    self.ours_stats.rejected += 1;
                    self.ours_stats.would_cross += u64::from(reason == RejectReason::WouldCross);
                    self.ours_stats.last_reject = Some((client_id, reason));
                }
                let freed = self.gone(route, client_id);
                if reason == RejectReason::Risk {
                    self.counters.risk_rejections += 1;
                    self.pull(now_ns)?;
                    return Ok(false);
                }
                Ok(freed)
            }
            ExecEvent::Amended { client_id, open_qty, .. } => {
                // The slot rests what the venue says (after an amend whose answer was lost, that
                // may be the old quantity): the next requote amends it again if it must.
                match route {
                    None => {
                        if let Some((side, level)) = self.orders.slot_of(client_id) {
                            self.pricer.on_amended(side, level, open_qty);
                        }
                    }
                    Some(k) => {
                        let r = &mut self.quote_routes[k];
                        if let Some((side, level)) = r.orders.slot_of(client_id) {
                            r.quoter.on_amended(side, level, open_qty);
                        }
                    }
                }
                Ok(false)
            }
            ExecEvent::Accepted { .. } => Ok(false),
        }
    }

    /// A slot's order left without a fill; returns whether it was still a slot's.
    fn gone(&mut self, route: Option<usize>, client_id: u64) -> bool {
        match route {
            None => {
                let Some((side, level)) = self.orders.slot_of(client_id) else { return false };
                self.pricer.on_order_gone(side, level);
                self.orders.forget(side, level);
            }
            Some(k) => {
                let r = &mut self.quote_routes[k];
                let Some((side, level)) = r.orders.slot_of(client_id) else { return false };
                r.quoter.on_order_gone(side, level);
                r.orders.forget(side, level);
            }
        }
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

    /// Sends `command` (a strategy's order, [`LiveConfig::quotes_elsewhere`]) as it is to
    /// `venue`: our venue when quoting there, else one of the quote venues; its fills count in
    /// the inventory like the quotes' and may decide a hedge.
    pub fn submit(&mut self, now_ns: i64, venue: VenueId, command: &ExecCommand) -> Result<(), LiveError> {
        let ours = self.quotes_ours();
        match (venue, self.quote_routes.iter_mut().find(|r| r.venue() == venue)) {
            (VenueId::Ours, _) if ours => self.venue.submit(now_ns, command)?,
            (VenueId::External(_), Some(r)) => r.submit(now_ns, command)?,
            _ => return Err(UnknownVenueError { venue }.into()),
        }
        self.counters.commands += 1;
        Ok(())
    }

    /// Whether `venue` takes orders: our venue when quoting there, and the quote venues.
    pub fn quotes_on(&self, venue: VenueId) -> bool {
        match venue {
            VenueId::Ours => self.quotes_ours(),
            VenueId::External(_) => self.quote_routes.iter().any(|r| r.venue() == venue),
        }
    }

    /// Whether quote venue `venue` is in its cool-down after a refusal at `now_ns` (no new
    /// order goes there, [`QUOTE_RETRY_NS`]); never for our venue.
    pub fn quote_venue_held(&self, venue: VenueId, now_ns: i64) -> bool {
        self.quote_routes.iter().any(|r| r.venue() == venue && now_ns < r.held_until)
    }

    /// Cancels every quote now, on our venue and every quote venue, and stops quoting until
    /// [`LiveMarketMaker::resume`].
    pub fn pull(&mut self, now_ns: i64) -> Result<(), LiveError> {
        self.halted = true;
        self.counters.pulls += 1;
        if self.quotes_ours() {
            self.pricer.pull(&mut self.actions)?;
            self.send(now_ns, None)?;
        }
        for k in 0..self.quote_routes.len() {
            self.quote_routes[k].quoter.pull(&mut self.actions)?;
            self.send(now_ns, Some(k))?;
        }
        Ok(())
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

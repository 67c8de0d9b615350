//! The live market maker on a thread of its own: the external venues' books in (read from the
//! feeds' published view, no Python on the way), quotes on our venue out, the book-health
//! interlock, fills into PnL and markouts, and a state snapshot for whoever watches.
//!
//! ```text
//!  BookSource (the feeds' Market)        LiveRunner's thread, every idle_sleep or sooner
//!  ┌──────────────────────────┐   read   ┌──────────────────────────────────────────────┐
//!  │ per reference stream:     │ ───────▶ │ state / resync counters ─▶ Interlock          │
//!  │ sync state, counters, top │          │ top (our grid) changed  ─▶ Interlock, on_top  │
//!  └──────────────────────────┘          │ LiveMarketMaker::poll ─▶ fills ─▶ PnL, markouts│
//!                                         │ timer: staleness, requote, snapshot          │
//!                                         └──────────────────────────────────────────────┘
//! ```
//!
//! # Interlock
//! A pull (a reference book not live, stale, resyncing after a gap, checksum or malformed
//! frame, two books crossed beyond the threshold, risk, the kill switch) cancels every quote in
//! the same loop turn and holds quoting; the return requotes at once. Without `[interlock]` in
//! the config the runner still pulls on books that are not live, on risk and on the kill switch
//! (staleness and crosses are then never checked).
//!
//! # Risk and the kill switch
//! When the pipeline's risk refuses one of our orders (a limit, an account or global kill
//! switch engaged on the pipeline), [`LiveMarketMaker`] pulls every quote; the runner counts it
//! as a `risk` pull and tries again after [`RISK_RETRY_NS`] (a refusal again pulls again).
//! [`LiveRunner::set_kill_switch`] is the operator's switch and
//! [`LiveRunner::set_venue_kill_switch`] our venue's (its global or our account's kill switch,
//! as the service that engaged it reports it): while either is engaged quotes are pulled
//! (`kill_switch`) **and hedging is held** — no new hedge order is sent; the orders in flight
//! complete and their fills count (inventory, PnL); a decision made meanwhile is counted
//! (`held_decisions`) and dropped, and the snapshot's `hedging` shows the hold, its sources,
//! how many holds there were and whether a hedge is due. When the last one is released the
//! quotes return and a due hedge is decided and sent at once.
//!
//! # Hedging
//! With a hedge config, each fill that takes the inventory past the threshold decides a hedge
//! (kept in the snapshot's `hedges`). Started with routes ([`LiveRunner::start_hedged`]: an
//! [`Execution`](crate::execution::Execution) per external venue), the runner also **sends**
//! it: an IOC at the slippage cap on the chosen venue's route, the hedger choosing only among
//! routed venues. The route's fills move the inventory (and so the quotes' skew) and enter the
//! PnL as hedge fills (slippage against the decision's fair value, the venue's fee), exactly
//! like our own fills; what an IOC did not get is hedged again at once or on the timer. The
//! snapshot's `hedging` counts orders, fills, remainders, refusals and errors
//! ([`crate::live_hedge`]).
//!
//! # Quoting on external venues
//! Started with quote routes ([`LiveRunner::start_routed`]: an
//! [`Execution`](crate::execution::Execution) for each of the config's `quote_on` venues, in
//! its order), the quotes go to those venues instead of ours ([`crate::live`]): each venue
//! gets a ladder of its own, priced post-only against its own top off the one fair value and
//! inventory, with its own counts, refusals and refusal hold; the interlock's and the kill
//! switches' pulls cancel them on every venue; every venue's fills enter the one inventory,
//! PnL and markouts, and the snapshot's `quote_venues` counts what was sent, filled and refused
//! on each. Each fill's markout against the mid is against **the mid of the venue it filled
//! on** (its top as the feed shows it); the snapshot's `markouts` are every venue's fills
//! together, and each of `quote_venues` has that venue's own. Stopping waits for every
//! venue to answer the cancels.
//!
//! With `"ours"` in the `quote_on` list too (`quote_on = ["ours", "kraken"]`,
//! [`LiveSetup::quote_ours_at`](crate::live_config::LiveSetup::quote_ours_at)), our venue keeps
//! a ladder beside the quote venues' (off the same fair value, inventory and combined limit,
//! [`crate::live`]): its fills enter the inventory, PnL and markouts like theirs (its markouts
//! against our venue's mid), the pulls cancel on it too, and `quote_venues` lists it (`"ours"`)
//! at its place in `quote_on`.
//!
//! # A batched strategy
//! Started with [`LiveRunner::start_with_strategy`], the quotes are a batched strategy's (a
//! Python one, say) instead of the pricer's: the runner hands it what the backtester hands a
//! strategy — the external venues' new tops and public trades ([`BookSource::read_trades`]),
//! our venue's top (the whole book's, our own orders included, as the backtester shows it) and
//! its public trades (anyone's, ours included), our fills, the hedge fills, orders gone and the
//! timer — through [`crate::live_strategy`]'s bounded rings, and applies the orders it proposes
//! — new ones only while quoting is allowed, and only on the venues the config quotes on: our
//! venue, or with `quote_on` venues ([`LiveRunner::start_with_strategy`]'s quote routes) those
//! venues, through the same routes as the built-in model's quotes (an order for another venue
//! is refused and told gone, and so is one for a quote venue in its one-second cool-down after
//! the venue refused an order, as the built-in's quotes wait). Its fills on a quote venue reach
//! it, the inventory and the PnL as our venue's do. In one turn the external venues' trades come
//! before their new tops, and our venue's trades before our fills, orders gone and our top. A
//! pull cancels its orders here, in the same turn. The pricer still keeps the fair value (PnL,
//! hedges).
//!
//! # Stopping
//! [`LiveRunner::stop`] pulls every quote, waits (at most [`STOP_WAIT`]) for our venue to
//! answer the cancels and for the hedges in flight to finish, publishes a last snapshot and
//! ends the thread. Dropping the runner stops it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wintermute_feeds::sync::{ResyncReason, SyncState};

use crate::engine_venue::EngineVenue;
use crate::execution::ExecEvent;
use crate::hedger::HedgeDecision;
use crate::instrument_map::GridScale;
use crate::interlock::{Interlock, InterlockConfig, InterlockEvent, Transition};
use crate::live::{LiveConfig, LiveError, LiveMarketMaker};
use crate::live_config::{LiveSetup, StreamKey};
use crate::live_hedge::{HedgeFill, HedgeRoute, HedgeRouteError, LiveHedges};
pub use crate::live_snapshot::{
    CountersView, HedgeView, HedgingView, InterlockView, LiveSnapshot, MarkoutView, PnlView, QuoteVenueView, QuoteView,
    ReferenceView, StrategyView,
};
use crate::metrics::markouts::Markouts;
use crate::metrics::pnl::{FillRole, Mark, PnlLedger};
use crate::pricer::Pricer;
use crate::types::{Level, Side, Top, VenueId};

mod quote_route;
mod snapshot;
mod source;
mod strategy;

pub use source::{BookSource, FeedBooks, FeedTrade, FeedTrades, RefBook};

use crate::batched::StrategyEvent;
use crate::live_snapshot::DecisionTimes;
use crate::live_strategy::{StrategyDriver, StrategyPort};

/// After risk refused a quote, the runner tries again this much later (ns).
pub const RISK_RETRY_NS: i64 = 1_000_000_000;
/// The longest [`LiveRunner::stop`] waits for the cancels to be answered.
pub const STOP_WAIT: Duration = Duration::from_secs(2);
/// While stopping, cancels the quote venue refused are sent again this often.
const RETRY_CANCELS_EVERY: Duration = Duration::from_millis(100);
/// Hedge decisions kept in the snapshot.
pub const HEDGES_KEPT: usize = 20;
/// The external venues' public trades handed to a strategy in one loop turn at most (the rest
/// wait for the next turn).
pub const TRADES_PER_TURN: usize = 1024;

/// Why the runner could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveRunError {
    /// The interlock refused its configuration.
    #[error("live market maker: {0}")]
    Interlock(#[from] crate::interlock::InterlockError),
    /// The pricing stack refused its configuration.
    #[error("live market maker: {0}")]
    Pricing(#[from] crate::config::MmConfigError),
    /// The hedge routes cannot be used.
    #[error("live market maker: {0}")]
    Route(#[from] HedgeRouteError),
    /// The quote routes do not match the config's `quote_on`.
    #[error("live market maker: quote route: {0}")]
    QuoteRoute(String),
    /// The thread could not be started.
    #[error("live market maker: thread: {0}")]
    Spawn(std::io::Error),
}

/// How the runner runs besides its config.
#[derive(Debug, Clone, Copy)]
pub struct RunnerOptions {
    /// The first client id of our quotes (keep other accounts' order ids apart from it).
    pub first_client_id: u64,
    /// Sleep when a loop turn found nothing to do (0: spin).
    pub idle_sleep: Duration,
    /// The first client id of our hedge orders on the external venues.
    pub first_hedge_id: u64,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions { first_client_id: 1 << 40, idle_sleep: Duration::from_micros(200), first_hedge_id: 1 }
    }
}

/// Kill switch sources (bits of [`Shared::kill`]).
const KILL_OPERATOR: u8 = 1;
const KILL_VENUE: u8 = 2;

fn kill_sources(mask: u8) -> Vec<&'static str> {
    [(KILL_OPERATOR, "operator"), (KILL_VENUE, "venue")]
        .into_iter()
        .filter(|(bit, _)| mask & bit != 0)
        .map(|(_, name)| name)
        .collect()
}

#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    kill: AtomicU8,
    snapshot: Mutex<LiveSnapshot>,
}

/// The live market maker's thread (see the module docs).
#[derive(Debug)]
pub struct LiveRunner {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl LiveRunner {
    /// Starts quoting on `venue` (built with `setup.our_fees`) off `source`'s books; hedges
    /// are decided, not sent.
    pub fn start(
        setup: LiveSetup,
        venue: EngineVenue,
        source: Box<dyn BookSource>,
        options: RunnerOptions,
    ) -> Result<Self, LiveRunError> {
        Self::start_hedged(setup, venue, source, options, Vec::new())
    }

    /// As [`LiveRunner::start`], and sends each hedge through `routes` (one per external venue
    /// hedges may go to; none: decided, not sent). See the module docs.
    pub fn start_hedged(
        setup: LiveSetup,
        venue: EngineVenue,
        source: Box<dyn BookSource>,
        options: RunnerOptions,
        routes: Vec<HedgeRoute>,
    ) -> Result<Self, LiveRunError> {
        Self::spawn(setup, venue, source, options, (routes, Vec::new()), None)
    }

    /// As [`LiveRunner::start_hedged`], with the quotes sent through `quotes` to the config's
    /// `quote_on` venues instead of ours, one route per venue in the config's order (none: the
    /// config must quote on ours). See the module docs.
    pub fn start_routed(
        setup: LiveSetup,
        venue: EngineVenue,
        source: Box<dyn BookSource>,
        options: RunnerOptions,
        routes: Vec<HedgeRoute>,
        quotes: Vec<HedgeRoute>,
    ) -> Result<Self, LiveRunError> {
        Self::spawn(setup, venue, source, options, (routes, quotes), None)
    }

    /// As [`LiveRunner::start_hedged`], with the quotes decided by a batched strategy linked
    /// through `port` (its other end runs the strategy: [`crate::live_strategy`]); `name` names
    /// it in the snapshot. The runner keeps the books, the interlock, risk, the inventory and
    /// the hedging, and cancels the strategy's orders itself on a pull. `routes`: the hedge
    /// routes and the quote routes, as [`LiveRunner::start_routed`] takes them (the strategy's
    /// orders go to the quote venues when there are any, else to ours).
    pub fn start_with_strategy(
        setup: LiveSetup,
        venue: EngineVenue,
        source: Box<dyn BookSource>,
        options: RunnerOptions,
        routes: (Vec<HedgeRoute>, Vec<HedgeRoute>),
        name: String,
        port: StrategyPort,
    ) -> Result<Self, LiveRunError> {
        Self::spawn(setup, venue, source, options, routes, Some(StrategyDriver::new(name, port)))
    }

    fn spawn(
        setup: LiveSetup,
        venue: EngineVenue,
        source: Box<dyn BookSource>,
        options: RunnerOptions,
        routes: (Vec<HedgeRoute>, Vec<HedgeRoute>),
        strategy: Option<StrategyDriver>,
    ) -> Result<Self, LiveRunError> {
        let now = venue.clock_ns();
        let worker = Worker::new(setup, venue, source, options, routes, strategy, now)?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            kill: AtomicU8::new(0),
            snapshot: Mutex::new(LiveSnapshot { running: true, ..LiveSnapshot::default() }),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("wm-mm-live".into())
            .spawn(move || worker.run(&s))
            .map_err(LiveRunError::Spawn)?;
        Ok(LiveRunner { shared, thread: Mutex::new(Some(thread)) })
    }

    /// The latest state (taken every timer tick, and once more when the thread ends).
    pub fn snapshot(&self) -> LiveSnapshot {
        self.shared.snapshot.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The operator's kill switch: on pulls every quote and holds quoting and hedging, off lets
    /// them return (once no other kill switch is engaged).
    pub fn set_kill_switch(&self, on: bool) {
        self.set_kill(KILL_OPERATOR, on);
    }

    /// Our venue's kill switch (the pipeline's global one, or our account's) as whoever engaged
    /// it reports it: the same hold as [`LiveRunner::set_kill_switch`], a source of its own.
    pub fn set_venue_kill_switch(&self, on: bool) {
        self.set_kill(KILL_VENUE, on);
    }

    fn set_kill(&self, bit: u8, on: bool) {
        match on {
            true => self.shared.kill.fetch_or(bit, Ordering::AcqRel),
            false => self.shared.kill.fetch_and(!bit, Ordering::AcqRel),
        };
    }

    /// Whether the thread still runs.
    pub fn is_running(&self) -> bool {
        self.thread.lock().unwrap_or_else(PoisonError::into_inner).as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Pulls every quote and ends the thread (see the module docs). Idempotent.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Release);
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(t) = thread {
            if t.join().is_err() {
                let mut s = self.shared.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
                s.running = false;
                s.error = Some("the market maker's thread panicked".into());
            }
        }
    }
}

impl Drop for LiveRunner {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything the thread owns.
struct Worker {
    mm: LiveMarketMaker,
    grid: GridScale,
    streams: Vec<StreamKey>,
    source: Box<dyn BookSource>,
    books: Vec<RefBook>,
    seen: Vec<RefBook>,
    tops: Vec<Option<Top>>,
    interlock: Interlock,
    pnl: PnlLedger,
    /// Markouts per venue the quotes rest on: ours (one), or each quote venue in `quote_on`'s
    /// order, each fill against the mid of the venue it filled on.
    markouts: Vec<Markouts>,
    timer_ns: i64,
    next_timer: i64,
    risk_retry_at: Option<i64>,
    risk_seen: u64,
    hedges_seen: u64,
    hedges: VecDeque<HedgeView>,
    /// The hedge routes (`None`: hedges are decided, not sent).
    hedging: Option<LiveHedges>,
    /// Stopping: the hedges in flight finish, no new one is sent.
    stopping: bool,
    /// The kill switches engaged (bits): quoting and hedging held.
    kill: u8,
    /// Times a kill switch held hedging.
    hedge_holds: u64,
    /// Hedge decisions made while held, not sent.
    held_decisions: u64,
    /// The batched strategy deciding the quotes (`None`: the built-in model).
    strategy: Option<StrategyDriver>,
    /// The external venues' public trades read in a turn (room only with a strategy).
    feed_trades: FeedTrades,
    /// The venues the quotes go to, in `quote_on`'s order (ours alone: `[Ours]`); the
    /// markouts' order.
    ladder_venues: Vec<VenueId>,
    /// Decision latencies (a top read -> orders handed to the gateway).
    decisions: DecisionTimes,
    errors: u64,
    error: Option<String>,
    turns: u64,
    idle_sleep: Duration,
}

fn pull_all_interlock(venues: usize) -> InterlockConfig {
    // No `[interlock]`: never stale, never crossed; not-live, risk and kill switch still pull.
    InterlockConfig { venues, stale_after_ns: i64::MAX / 4, cross_threshold_ticks: i64::MAX / 4 }
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

fn state_name(state: Option<SyncState>) -> &'static str {
    match state {
        None => "unseen",
        Some(SyncState::Buffering) => "buffering",
        Some(SyncState::Live) => "live",
        Some(SyncState::Resyncing) => "resyncing",
    }
}

impl Worker {
    fn new(
        setup: LiveSetup,
        venue: EngineVenue,
        source: Box<dyn BookSource>,
        options: RunnerOptions,
        (routes, quotes): (Vec<HedgeRoute>, Vec<HedgeRoute>),
        strategy: Option<StrategyDriver>,
        now: i64,
    ) -> Result<Self, LiveRunError> {
        let quote_venues = setup.quote_venues.clone();
        quote_route::check(&quotes, &quote_venues).map_err(LiveRunError::QuoteRoute)?;
        let pricer = Pricer::from_config(&setup.pricing)?;
        let grid = pricer.instrument_map().grid;
        let n = setup.streams.len();
        let hedging = match routes.is_empty() {
            true => None,
            false if setup.hedge.is_none() => return Err(HedgeRouteError::NoHedger.into()),
            false => Some(LiveHedges::new(routes, n, options.first_hedge_id)?),
        };
        let live = LiveConfig {
            first_client_id: options.first_client_id,
            hedge: setup.hedge,
            hedge_fees: setup.hedge_fees.clone(),
            hedge_venues: hedging.as_ref().map(LiveHedges::venues),
            quotes_elsewhere: strategy.is_some(),
            ..LiveConfig::default()
        };
        let interlock = Interlock::new(setup.interlock.unwrap_or_else(|| pull_all_interlock(n)), now)?;
        let mut mm = LiveMarketMaker::new(pricer, venue, &live);
        for (k, q) in quotes.into_iter().enumerate() {
            if setup.quote_ours_at == Some(k) {
                mm.quote_on_ours().map_err(|e| LiveRunError::QuoteRoute(e.to_string()))?;
            }
            mm.add_quote_route(q.execution).map_err(|e| LiveRunError::QuoteRoute(e.to_string()))?;
        }
        if setup.quote_ours_at.is_some_and(|at| at >= quote_venues.len()) && !quote_venues.is_empty() {
            mm.quote_on_ours().map_err(|e| LiveRunError::QuoteRoute(e.to_string()))?;
        }
        let mut ladder_venues: Vec<VenueId> = quote_venues.iter().map(|&i| VenueId::External(i as u8)).collect();
        match mm.ours_at() {
            Some(at) => ladder_venues.insert(at, VenueId::Ours),
            None if ladder_venues.is_empty() => ladder_venues.push(VenueId::Ours),
            None => {}
        }
        let mut worker = Worker {
            mm,
            grid,
            streams: setup.streams,
            source,
            books: vec![RefBook::default(); n],
            seen: vec![RefBook::default(); n],
            tops: vec![None; n],
            interlock,
            pnl: PnlLedger::new(Mark(0)),
            markouts: ladder_venues.iter().map(|_| Markouts::new(4_096)).collect(),
            timer_ns: setup.timer_ns,
            next_timer: now,
            risk_retry_at: None,
            risk_seen: 0,
            hedges_seen: 0,
            hedges: VecDeque::with_capacity(HEDGES_KEPT),
            hedging,
            stopping: false,
            kill: 0,
            hedge_holds: 0,
            held_decisions: 0,
            feed_trades: FeedTrades::with_capacity(if strategy.is_some() { TRADES_PER_TURN } else { 0 }),
            strategy,
            ladder_venues,
            decisions: DecisionTimes::default(),
            errors: 0,
            error: None,
            turns: 0,
            idle_sleep: options.idle_sleep,
        };
        if !worker.interlock.quoting_allowed() {
            // Not live yet: hold until the interlock's first return.
            let r = worker.mm.pull(now);
            worker.note(r);
        }
        Ok(worker)
    }

    fn run(mut self, shared: &Shared) {
        while !shared.stop.load(Ordering::Acquire) {
            let busy = self.turn(shared);
            if !busy && !self.idle_sleep.is_zero() {
                std::thread::sleep(self.idle_sleep);
            }
        }
        self.finish(shared);
    }

    fn note<T>(&mut self, r: Result<T, LiveError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors += 1;
                self.error = Some(e.to_string());
                None
            }
        }
    }

    /// One loop turn; returns whether anything happened.
    fn turn(&mut self, shared: &Shared) -> bool {
        self.turns += 1;
        let now = self.mm.venue().clock_ns();
        let mut busy = false;
        let kill = shared.kill.load(Ordering::Acquire);
        if kill != self.kill {
            self.on_kill_switch(now, kill);
        }
        self.source.read(&self.streams, &mut self.books);
        busy |= self.strategy_feed_trades(now);
        for i in 0..self.books.len() {
            busy |= self.on_reference(now, i);
        }
        let polled = self.mm.poll(now);
        self.strategy_our_trades(now);
        if self.note(polled).is_some_and(|n| n > 0) {
            busy = true;
            self.on_events(now);
        }
        self.strategy_our_top(now);
        busy |= self.poll_hedges(now);
        busy |= self.strategy_commands(now);
        let rejections = self.mm.counters().risk_rejections;
        if rejections != self.risk_seen {
            self.risk_seen = rejections;
            self.risk_retry_at = Some(now + RISK_RETRY_NS);
            let e = self.interlock.set_risk_block(now, true);
            self.on_interlock(now, e);
        }
        if now >= self.next_timer {
            self.next_timer = now + self.timer_ns;
            self.on_timer(now, shared);
        }
        busy
    }

    /// Reference stream `i` as just read; returns whether it changed.
    fn on_reference(&mut self, now: i64, i: usize) -> bool {
        let (book, seen) = (self.books[i], self.seen[i]);
        if book == seen {
            return false;
        }
        self.seen[i] = book;
        let venue = VenueId::External(i as u8);
        let reason = if book.gaps > seen.gaps {
            Some(ResyncReason::Gap)
        } else if book.checksum_bad > seen.checksum_bad {
            Some(ResyncReason::ChecksumMismatch)
        } else if book.errors > seen.errors {
            Some(ResyncReason::Malformed)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.tops[i] = None;
            let e = self.interlock.on_resync(venue, now, reason).ok().flatten();
            self.on_interlock(now, e);
        }
        if book.state != seen.state || reason.is_some() {
            let state = book.state.unwrap_or(SyncState::Buffering);
            if state != SyncState::Live {
                self.tops[i] = None;
            }
            let e = self.interlock.on_sync_state(venue, now, state).ok().flatten();
            self.on_interlock(now, e);
        }
        if book.state != Some(SyncState::Live) {
            return true;
        }
        let level = |side: Option<(i128, i128)>, is_bid: bool| {
            let Some((p, q)) = side else { return Level::default() };
            let price = if is_bid { self.grid.bid_ticks(p) } else { self.grid.ask_ticks(p) };
            match (price, self.grid.lots(q)) {
                (Some(price), Some(qty)) => Level { price, qty },
                _ => Level::default(),
            }
        };
        let top = Top { bid: level(book.bid, true), ask: level(book.ask, false), ts_ns: now };
        let unchanged = self.tops[i].is_some_and(|t| t.bid == top.bid && t.ask == top.ask);
        if unchanged {
            return true;
        }
        self.tops[i] = Some(top);
        let e = self.interlock.on_book(venue, now, top).ok().flatten();
        self.on_interlock(now, e);
        let r = self.mm.on_top(now, venue, top);
        self.note(r);
        if !self.mm.sent().is_empty() {
            self.decisions.record(self.mm.venue().clock_ns() - now);
        }
        self.tell_strategy(now, StrategyEvent::Book { venue, top, live: true });
        true
    }

    /// The kill switches changed to `kill` (bits): engaging the first holds quoting and
    /// hedging; releasing the last lets both return (a due hedge is sent at once).
    fn on_kill_switch(&mut self, now: i64, kill: u8) {
        let (was, is) = (self.kill != 0, kill != 0);
        self.kill = kill;
        if was == is {
            return;
        }
        if is {
            self.hedge_holds += 1;
        }
        let e = self.interlock.set_kill_switch(now, is);
        self.on_interlock(now, e);
        if !is {
            self.hedge_again(now);
        }
    }

    /// A pull or a return of the interlock.
    fn on_interlock(&mut self, now: i64, event: Option<InterlockEvent>) {
        let Some(e) = event else { return };
        match e.transition {
            Transition::Pull => {
                if !self.mm.is_halted() {
                    let r = self.mm.pull(now);
                    self.note(r);
                }
                self.pull_strategy_orders(now);
            }
            Transition::Return => {
                self.mm.resume();
                let r = self.mm.quote(now);
                self.note(r);
            }
        }
    }

    /// The events of the last poll: fills into PnL and markouts, hedge decisions kept.
    fn on_events(&mut self, now: i64) {
        self.strategy_exec_events(now);
        let fair = self.fair_mark(now);
        for i in 0..self.mm.events().len() {
            let Some(ExecEvent::Filled { fill, .. }) = self.mm.events().get(i) else { continue };
            if let Some(fair) = fair {
                self.pnl.on_fill(&fill, FillRole::Quote, fair);
            }
            // The venue it filled on.
            let k = self.ladder_venues.iter().position(|&v| v == fill.venue).unwrap_or(0);
            if let Some(m) = self.markouts.get_mut(k) {
                m.on_fill(fill.ts_ns, fill.side, fill.price);
            }
        }
        let hedges = self.mm.counters().hedges;
        if hedges != self.hedges_seen {
            self.hedges_seen = hedges;
            if let Some(h) = self.mm.last_hedge() {
                self.keep_hedge(h);
                self.send_hedge(now, h);
            }
        }
    }

    /// Sends a decision on its route (when there are routes and sending is not held).
    fn send_hedge(&mut self, now: i64, h: HedgeDecision) {
        if self.kill != 0 {
            self.held_decisions += u64::from(self.hedging.is_some());
            return;
        }
        let Some(hedging) = self.hedging.as_mut().filter(|_| !self.stopping) else { return };
        if hedging.can_send(now) && hedging.send(now, &h).is_ok() {
            self.mm.set_hedge_in_flight(hedging.in_flight_lots());
        }
    }

    /// Decides again without a fill (an IOC's remainder, the timer) and sends the decision.
    fn hedge_again(&mut self, now: i64) {
        if self.stopping || self.kill != 0 || !self.hedging.as_ref().is_some_and(|h| h.can_send(now)) {
            return;
        }
        if let Some(h) = self.mm.decide_hedge(now) {
            self.hedges_seen = self.mm.counters().hedges;
            self.keep_hedge(h);
            self.send_hedge(now, h);
        }
    }

    /// Reads the hedge routes: fills into the inventory and the PnL; returns whether anything
    /// came back.
    fn poll_hedges(&mut self, now: i64) -> bool {
        let fair = self.fair_mark(now);
        let Worker { hedging, mm, pnl, errors, error, strategy, .. } = self;
        let Some(hedging) = hedging.as_mut() else { return false };
        let mut fills = 0;
        let done = hedging.poll(now, |h: HedgeFill| {
            fills += 1;
            pnl.on_fill(&h.fill, FillRole::Hedge { decision: h.decision_fair }, fair.unwrap_or(h.decision_fair));
            if let Err(e) = mm.on_hedge_fill(now, h.fill.side, h.fill.qty) {
                *errors += 1;
                *error = Some(e.to_string());
            }
            if let Some(s) = strategy.as_mut() {
                s.on_hedge_fill(now, h.fill, mm.inventory());
            }
        });
        mm.set_hedge_in_flight(hedging.in_flight_lots());
        if done > 0 {
            self.hedge_again(now);
        }
        fills > 0 || done > 0
    }

    fn fair_mark(&self, now: i64) -> Option<Mark> {
        self.mm.pricer().fair_value_engine().fair_value(now).and_then(|f| Mark::from_ticks_f64(f.price))
    }

    fn on_timer(&mut self, now: i64, shared: &Shared) {
        if self.risk_retry_at.is_some_and(|t| now >= t) {
            self.risk_retry_at = None;
            let e = self.interlock.set_risk_block(now, false);
            self.on_interlock(now, e);
        }
        let e = self.interlock.on_timer(now);
        self.on_interlock(now, e);
        if !self.mm.is_halted() {
            let r = self.mm.quote(now);
            self.note(r);
        }
        self.hedge_again(now);
        let r = self.mm.cancel_refused(now);
        self.note(r);
        self.tell_strategy(now, StrategyEvent::Timer);
        if let Some(fair) = self.fair_mark(now) {
            self.pnl.on_mark(fair);
            // The mid of each book the quotes rest in: ours, and each quote venue's.
            for (&venue, m) in self.ladder_venues.iter().zip(self.markouts.iter_mut()) {
                let route = self.mm.quote_routes().iter().find(|r| r.venue() == venue);
                let top = match route {
                    Some(r) => r.top(),
                    None => self.mm.venue().our_top(),
                };
                if top.bid.qty > 0 && top.ask.qty > 0 {
                    let mid = (top.bid.price + top.ask.price) as f64 / 2.0;
                    m.on_market(now, mid, fair.to_ticks_f64());
                }
            }
        }
        self.publish(now, shared, true);
    }

    fn publish(&self, now: i64, shared: &Shared, running: bool) {
        let snapshot = self.snapshot(now, running);
        *shared.snapshot.lock().unwrap_or_else(PoisonError::into_inner) = snapshot;
    }

    /// Pulls every quote, waits for the answers, publishes the last snapshot.
    fn finish(mut self, shared: &Shared) {
        self.stopping = true;
        let now = self.mm.venue().clock_ns();
        let r = self.mm.pull(now);
        self.note(r);
        self.pull_strategy_orders(now);
        let deadline = Instant::now() + STOP_WAIT;
        let mut retry_at = Instant::now();
        let hedging = |w: &Self| w.hedging.as_ref().is_some_and(|h| h.in_flight_orders() > 0);
        while (self.mm.open_quote_orders() > 0 || hedging(&self)) && Instant::now() < deadline {
            let now = self.mm.venue().clock_ns();
            let r = self.mm.poll(now);
            let mut busy = self.note(r).is_some_and(|n| n > 0);
            if busy {
                self.on_events(now);
            }
            busy |= self.poll_hedges(now);
            if retry_at.elapsed() >= RETRY_CANCELS_EVERY {
                // A cancel the venue refused (a rate limit), again, at a pace.
                retry_at = Instant::now();
                let r = self.mm.cancel_refused(now);
                self.note(r);
            }
            if !busy {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let now = self.mm.venue().clock_ns();
        self.publish(now, shared, false);
    }
}

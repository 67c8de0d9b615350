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
//! [`LiveRunner::set_kill_switch`] is the operator's switch: quotes are pulled (`kill_switch`)
//! until it is released.
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
//! # Stopping
//! [`LiveRunner::stop`] pulls every quote, waits (at most [`STOP_WAIT`]) for our venue to
//! answer the cancels and for the hedges in flight to finish, publishes a last snapshot and
//! ends the thread. Dropping the runner stops it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wintermute_feeds::market::Market;
use wintermute_feeds::sync::{ResyncReason, SyncState};

use crate::engine_venue::EngineVenue;
use crate::execution::ExecEvent;
use crate::hedger::HedgeDecision;
use crate::instrument_map::GridScale;
use crate::interlock::{Interlock, InterlockConfig, InterlockEvent, PullCause, Transition};
use crate::live::{LiveConfig, LiveCounters, LiveError, LiveMarketMaker};
use crate::live_config::{LiveSetup, StreamKey};
use crate::live_hedge::{HedgeFill, HedgeRoute, HedgeRouteError, LiveHedges};
pub use crate::live_snapshot::{
    CountersView, HedgeView, HedgingView, InterlockView, LiveSnapshot, MarkoutView, PnlView, QuoteView, ReferenceView,
};
use crate::metrics::markouts::{MarkoutReference, Markouts, MARKOUT_HORIZONS_NS};
use crate::metrics::pnl::{FillRole, Mark, PnlLedger};
use crate::pricer::Pricer;
use crate::types::{Level, Side, Top, VenueId};

/// After risk refused a quote, the runner tries again this much later (ns).
pub const RISK_RETRY_NS: i64 = 1_000_000_000;
/// The longest [`LiveRunner::stop`] waits for the cancels to be answered.
pub const STOP_WAIT: Duration = Duration::from_secs(2);
/// Hedge decisions kept in the snapshot.
pub const HEDGES_KEPT: usize = 20;

/// One reference stream as a [`BookSource`] reads it: exact decimals (units of 10^-18).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefBook {
    /// Sync state (`None`: the stream has not been seen yet).
    pub state: Option<SyncState>,
    /// Best bid (price, quantity), raw.
    pub bid: Option<(i128, i128)>,
    /// Best ask (price, quantity), raw.
    pub ask: Option<(i128, i128)>,
    /// Sequence gaps so far.
    pub gaps: u64,
    /// Checksum mismatches so far.
    pub checksum_bad: u64,
    /// Malformed frames so far.
    pub errors: u64,
}

/// Where the reference books come from.
pub trait BookSource: Send {
    /// Reads each of `streams` into `out` (same order and length).
    fn read(&mut self, streams: &[StreamKey], out: &mut [RefBook]);
}

/// The feeds' live [`Market`] as a [`BookSource`], replaceable while the runner runs (a demo
/// restarts its synthetic market when it has replayed).
#[derive(Clone)]
pub struct FeedBooks {
    market: Arc<Mutex<Arc<Market>>>,
}

impl std::fmt::Debug for FeedBooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeedBooks").finish_non_exhaustive()
    }
}

impl FeedBooks {
    /// Reads `market`.
    pub fn new(market: Arc<Market>) -> Self {
        FeedBooks { market: Arc::new(Mutex::new(market)) }
    }

    /// Reads `market` from now on (a clone of this handle changes the runner's source too).
    pub fn replace(&self, market: Arc<Market>) {
        *self.market.lock().unwrap_or_else(PoisonError::into_inner) = market;
    }

    /// Reads the current market's published view (every stream's full published depth).
    pub fn read_view<R>(&self, f: impl FnOnce(&wintermute_feeds::market::MarketView) -> R) -> R {
        let market = Arc::clone(&self.market.lock().unwrap_or_else(PoisonError::into_inner));
        market.read(f)
    }
}

impl BookSource for FeedBooks {
    fn read(&mut self, streams: &[StreamKey], out: &mut [RefBook]) {
        let market = Arc::clone(&self.market.lock().unwrap_or_else(PoisonError::into_inner));
        market.read(|view| {
            for (key, book) in streams.iter().zip(out.iter_mut()) {
                *book = match view.stream(key.venue, &key.symbol) {
                    None => RefBook::default(),
                    Some(s) => RefBook {
                        state: Some(s.state),
                        bid: s.bids.first().map(|l| (l.price.raw(), l.qty.raw())),
                        ask: s.asks.first().map(|l| (l.price.raw(), l.qty.raw())),
                        gaps: s.stats.gaps,
                        checksum_bad: s.stats.checksum_bad,
                        errors: s.stats.errors,
                    },
                };
            }
        });
    }
}

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

const KILL_NONE: u8 = 0;
const KILL_ON: u8 = 1;
const KILL_OFF: u8 = 2;

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
        let now = venue.clock_ns();
        let worker = Worker::new(setup, venue, source, options, routes, now)?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            kill: AtomicU8::new(KILL_NONE),
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

    /// The operator's kill switch: on pulls every quote and holds quoting, off lets it return.
    pub fn set_kill_switch(&self, on: bool) {
        self.shared.kill.store(if on { KILL_ON } else { KILL_OFF }, Ordering::Release);
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
    markouts: Markouts,
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
        routes: Vec<HedgeRoute>,
        now: i64,
    ) -> Result<Self, LiveRunError> {
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
            ..LiveConfig::default()
        };
        let interlock = Interlock::new(setup.interlock.unwrap_or_else(|| pull_all_interlock(n)), now)?;
        let mm = LiveMarketMaker::new(pricer, venue, &live);
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
            markouts: Markouts::new(4_096),
            timer_ns: setup.timer_ns,
            next_timer: now,
            risk_retry_at: None,
            risk_seen: 0,
            hedges_seen: 0,
            hedges: VecDeque::with_capacity(HEDGES_KEPT),
            hedging,
            stopping: false,
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
        match shared.kill.swap(KILL_NONE, Ordering::AcqRel) {
            KILL_ON => {
                let e = self.interlock.set_kill_switch(now, true);
                self.on_interlock(now, e);
            }
            KILL_OFF => {
                let e = self.interlock.set_kill_switch(now, false);
                self.on_interlock(now, e);
            }
            _ => {}
        }
        self.source.read(&self.streams, &mut self.books);
        for i in 0..self.books.len() {
            busy |= self.on_reference(now, i);
        }
        let polled = self.mm.poll(now);
        if self.note(polled).is_some_and(|n| n > 0) {
            busy = true;
            self.on_events(now);
        }
        busy |= self.poll_hedges(now);
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
        true
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
        let fair = self.fair_mark(now);
        for i in 0..self.mm.events().len() {
            let Some(ExecEvent::Filled { fill, .. }) = self.mm.events().get(i) else { continue };
            if let Some(fair) = fair {
                self.pnl.on_fill(&fill, FillRole::Quote, fair);
            }
            self.markouts.on_fill(fill.ts_ns, fill.side, fill.price);
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
        let Some(hedging) = self.hedging.as_mut().filter(|_| !self.stopping) else { return };
        if hedging.can_send(now) && hedging.send(now, &h).is_ok() {
            self.mm.set_hedge_in_flight(hedging.in_flight_lots());
        }
    }

    /// Decides again without a fill (an IOC's remainder, the timer) and sends the decision.
    fn hedge_again(&mut self, now: i64) {
        if self.stopping || !self.hedging.as_ref().is_some_and(|h| h.can_send(now)) {
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
        let Worker { hedging, mm, pnl, errors, error, .. } = self;
        let Some(hedging) = hedging.as_mut() else { return false };
        let mut fills = 0;
        let done = hedging.poll(now, |h: HedgeFill| {
            fills += 1;
            pnl.on_fill(&h.fill, FillRole::Hedge { decision: h.decision_fair }, fair.unwrap_or(h.decision_fair));
            if let Err(e) = mm.on_hedge_fill(now, h.fill.side, h.fill.qty) {
                *errors += 1;
                *error = Some(e.to_string());
            }
        });
        mm.set_hedge_in_flight(hedging.in_flight_lots());
        if done > 0 {
            self.hedge_again(now);
        }
        fills > 0 || done > 0
    }

    fn keep_hedge(&mut self, h: HedgeDecision) {
        if self.hedges.len() == HEDGES_KEPT {
            self.hedges.pop_front();
        }
        let venue = match h.venue {
            VenueId::External(i) => i as usize,
            VenueId::Ours => usize::MAX,
        };
        self.hedges.push_back(HedgeView {
            venue,
            side: side_name(h.side),
            qty: h.qty,
            limit_price: h.limit_price,
            touch_price: h.touch_price,
            decision_fair: h.decision_fair.to_ticks_f64(),
            ts_ns: h.ts_ns,
        });
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
        if let Some(fair) = self.fair_mark(now) {
            self.pnl.on_mark(fair);
            let top = self.mm.venue().our_top();
            if top.bid.qty > 0 && top.ask.qty > 0 {
                let mid = (top.bid.price + top.ask.price) as f64 / 2.0;
                self.markouts.on_market(now, mid, fair.to_ticks_f64());
            }
        }
        self.publish(now, shared, true);
    }

    fn publish(&self, now: i64, shared: &Shared, running: bool) {
        let snapshot = self.snapshot(now, running);
        *shared.snapshot.lock().unwrap_or_else(PoisonError::into_inner) = snapshot;
    }

    fn snapshot(&self, now: i64, running: bool) -> LiveSnapshot {
        let mm = &self.mm;
        let mut quotes = Vec::new();
        for side in [Side::Buy, Side::Sell] {
            for level in 0..mm.pricer().levels() {
                let (Some(id), Some(l)) =
                    (mm.quote_orders().id(side, level), mm.pricer().quoter().resting(side, level))
                else {
                    continue;
                };
                quotes.push(QuoteView {
                    side: side_name(side),
                    level,
                    order_id: id,
                    price: l.price,
                    qty: l.qty,
                    queue_ahead: mm.venue().queue_ahead(id),
                });
            }
        }
        let parts = self.pnl.parts();
        let stats = self.interlock.stats(now);
        let c: LiveCounters = mm.counters();
        LiveSnapshot {
            running,
            ts_ns: now,
            fair_value: mm.pricer().fair_value_engine().fair_value(now).map(|f| f.price),
            halted: mm.is_halted(),
            quotes,
            inventory: mm.inventory(),
            pnl: PnlView {
                total: parts.total(),
                spread_capture: parts.spread_capture,
                inventory_mtm: parts.inventory_mtm,
                fees: parts.fees,
                hedge_slippage: parts.hedge_slippage,
            },
            markouts: MARKOUT_HORIZONS_NS
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let mid = self.markouts.summary(i, MarkoutReference::Mid).unwrap_or_default();
                    let fair = self.markouts.summary(i, MarkoutReference::Fair).unwrap_or_default();
                    MarkoutView {
                        horizon_ms: h / 1_000_000,
                        count: mid.count,
                        vs_mid_bps: mid.mean_bps,
                        vs_fair_bps: fair.mean_bps,
                    }
                })
                .collect(),
            interlock: InterlockView {
                quoting: self.interlock.quoting_allowed(),
                causes: self.interlock.causes().iter().map(PullCause::name).collect(),
                pulls: PullCause::ALL.iter().map(|c| (c.name(), stats.pulls[*c as usize])).collect(),
                returns: stats.returns,
                uptime: stats.uptime(),
            },
            hedges: self.hedges.iter().copied().collect(),
            hedging: self
                .hedging
                .as_ref()
                .map(|h| h.view(|i| self.streams.get(i).map_or("?", |k| k.venue.name())))
                .unwrap_or_default(),
            references: self
                .streams
                .iter()
                .zip(&self.books)
                .zip(&self.tops)
                .map(|((k, b), t)| ReferenceView {
                    venue: k.venue.name(),
                    symbol: k.symbol.clone(),
                    state: state_name(b.state),
                    bid: t.filter(|t| t.bid.qty > 0).map(|t| t.bid.price),
                    ask: t.filter(|t| t.ask.qty > 0).map(|t| t.ask.price),
                })
                .collect(),
            counters: CountersView {
                updates: c.updates,
                requotes: c.requotes,
                commands: c.commands,
                fills: c.fills,
                risk_rejections: c.risk_rejections,
                pulls: c.pulls,
                hedges: c.hedges,
                hedge_fills: c.hedge_fills,
                errors: self.errors,
                turns: self.turns,
            },
            error: self.error.clone(),
        }
    }

    /// Pulls every quote, waits for the answers, publishes the last snapshot.
    fn finish(mut self, shared: &Shared) {
        self.stopping = true;
        let now = self.mm.venue().clock_ns();
        let r = self.mm.pull(now);
        self.note(r);
        let deadline = Instant::now() + STOP_WAIT;
        let hedging = |w: &Self| w.hedging.as_ref().is_some_and(|h| h.in_flight_orders() > 0);
        while (self.mm.venue().in_flight() > 0 || self.mm.venue().open_orders() > 0 || hedging(&self))
            && Instant::now() < deadline
        {
            let now = self.mm.venue().clock_ns();
            let r = self.mm.poll(now);
            let mut busy = self.note(r).is_some_and(|n| n > 0);
            if busy {
                self.on_events(now);
            }
            busy |= self.poll_hedges(now);
            if !busy {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        let now = self.mm.venue().clock_ns();
        self.publish(now, shared, false);
    }
}

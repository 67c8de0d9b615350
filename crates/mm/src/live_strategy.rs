//! A batched strategy ([`crate::batched`]: a Python one, or any [`BatchSink`]) driving the live
//! runner's quotes: the runner's thread keeps the books, the interlock, risk, the inventory and
//! the hedging; the strategy, on a thread of its own, only **proposes** orders.
//!
//! ```text
//!  runner thread (never blocks)                          strategy thread
//!  top / trade / our fill / order gone / timer           loop: take up to max_batch events
//!    └─ StrategyPort::push ─▶ events ring (bounded) ──▶ StrategyFeed::step ─▶ sink.on_batch (one
//!        full: conflate (below)                            call, the GIL once per batch)
//!  StrategyPort::pop_command ◀── commands ring (bounded) ◀── commands (waits while full)
//!    └─ place / amend / cancel on our venue, if the interlock lets us quote
//! ```
//!
//! The events and commands are those of the backtester ([`StrategyEvent`], [`Command`]): one
//! format, one sink, so a strategy runs live unchanged. The runner numbers nothing: the feed
//! hands the sink its next order ids ([`Batch::next_order_id`], from
//! [`LiveStrategyConfig::first_order_id`]) and the runner uses them as client ids.
//!
//! # When the strategy falls behind
//! The events ring holds [`LiveStrategyConfig::queue`] events. When it is full the runner does
//! not wait and does not grow anything: it **conflates** — a book event replaces the venue's
//! previous pending one (only the latest top matters; our venue's too), a timer joins the
//! pending one — and keeps fills, orders gone and public trades in a fixed side buffer
//! ([`PENDING_OTHER`]); past that they are dropped, trades already once it is half full (so
//! that a burst of trades never crowds out our fills).
//! Every conflated or dropped event is counted ([`PortStats`]) and the pending ones go into the
//! ring, fills first, as soon as there is room. A dropped fill costs the strategy nothing it
//! cannot recover: each fill event carries the position after it.
//!
//! When the commands ring is full, the strategy thread waits (it is the slow side) and takes no
//! new batch until its commands are in.
//!
//! # Answers to cancels and amends
//! Each cancel and each amend the strategy sends gets exactly one answer
//! ([`StrategyEvent::Answer`], [`crate::strategy::Strategy::on_answer`]), as in the backtester:
//! the order's open lots once the command took effect (0: gone), told after the order's fills
//! reported before it. Answers never go through the events ring (which conflates and drops):
//! they have a ring of their own, [`LiveStrategyConfig::unanswered`] long, and the strategy
//! thread counts the cancels and amends it sent and the answers it took. A batch that would
//! leave more unanswered than that is refused whole ([`FeedError::Unanswered`]: the strategy
//! stops, its orders are pulled), and a sink is told before each batch how many more it may
//! send ([`BatchSink::set_answer_room`]; a Python strategy's `cancel` and `amend` raise at the
//! limit), so the answers' ring is never full: no answer is ever dropped. An answer waits in
//! its ring until the strategy has taken every event pushed before it (the fills it follows).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use wintermute_engine::spsc::{Consumer, Producer, RingBuffer};

use crate::batched::{Batch, BatchSink, Command, CommandBuffer, StrategyEvent};
use crate::strategy::Stamp;
use crate::types::{Fill, Level, Side, VenueId};

/// Fills and orders gone kept aside while the events ring is full; past it they are dropped.
pub const PENDING_OTHER: usize = 256;
/// External venues whose book events are conflated (one pending top each; our venue has one
/// more).
pub const MAX_VENUES: usize = 16;

/// The pending-top slot of `venue`, if its tops are conflated.
fn book_slot(venue: VenueId) -> Option<usize> {
    match venue {
        VenueId::Ours => Some(MAX_VENUES),
        VenueId::External(i) => ((i as usize) < MAX_VENUES).then_some(i as usize),
    }
}

/// How the runner and a strategy are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveStrategyConfig {
    /// The most events handed to the strategy in one batch.
    pub max_batch: usize,
    /// Events waiting for the strategy at most (the ring), and commands waiting for the runner.
    pub queue: usize,
    /// The strategy's first order id (our venue's client ids; keep others' apart).
    pub first_order_id: u64,
    /// Cancels and amends awaiting their answers at most (the answers' ring); a batch that
    /// would send more is refused ([`FeedError::Unanswered`]).
    pub unanswered: usize,
}

impl Default for LiveStrategyConfig {
    fn default() -> Self {
        LiveStrategyConfig { max_batch: 4096, queue: 8192, first_order_id: 1 << 41, unanswered: 1024 }
    }
}

/// What the strategy thread counts (shared, read by the runner's snapshot).
#[derive(Debug, Default)]
pub struct FeedCounters {
    /// Batches handed to the sink.
    pub batches: AtomicU64,
    /// Events in them.
    pub events: AtomicU64,
    /// The largest batch.
    pub largest: AtomicU64,
    /// Commands the sink sent.
    pub commands: AtomicU64,
    /// Nanoseconds spent in the sink (its calls, GIL included).
    pub busy_ns: AtomicU64,
    /// Set when the sink failed (the thread then stops taking batches).
    pub failed: AtomicBool,
    /// The sink's error, when it failed.
    pub error: Mutex<Option<String>>,
}

/// What the runner's end counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// Events put in the ring.
    pub sent: u64,
    /// Book events replaced by a later top of the same venue while the ring was full.
    pub conflated_books: u64,
    /// Timer events joined with a pending one while the ring was full.
    pub conflated_timers: u64,
    /// Fills and orders gone dropped (the ring and the side buffer full).
    pub dropped: u64,
    /// Public trades dropped (the ring full and the side buffer half full).
    pub dropped_trades: u64,
    /// Times the ring was found full.
    pub full: u64,
    /// Commands taken from the strategy.
    pub commands: u64,
    /// Answers to cancels and amends put in the answers' ring.
    pub answers: u64,
    /// Answers that found the answers' ring full (never, unless a sink bypassed the feed's
    /// count: a bug).
    pub lost_answers: u64,
}

/// Why the strategy thread stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedError<E> {
    /// The sink failed.
    Sink(E),
    /// The sink's batch would leave more cancels and amends unanswered than the answers' ring
    /// holds; none of the batch's commands was sent.
    Unanswered {
        /// Cancels and amends awaiting answers before the batch.
        awaiting: usize,
        /// Those the batch sent.
        sent: usize,
        /// [`LiveStrategyConfig::unanswered`].
        limit: usize,
    },
}

impl<E: std::fmt::Display> std::fmt::Display for FeedError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedError::Sink(e) => e.fmt(f),
            FeedError::Unanswered { awaiting, sent, limit } => write!(
                f,
                "too many cancels and amends awaiting answers: awaiting={awaiting} sent={sent} limit={limit} \
                 (the batch's commands were refused)"
            ),
        }
    }
}

/// One answer on its way: the event, when it was seen, and how many events the port had sent
/// (or kept aside to send) before it: the feed hands it over only after those.
type PendingAnswer = (StrategyEvent, i64, u64);

/// The runner's end of the link (see the module docs).
pub struct StrategyPort {
    events: Producer<(StrategyEvent, i64)>,
    commands: Consumer<(Command, i64)>,
    answers: Producer<PendingAnswer>,
    books: [Option<(StrategyEvent, i64)>; MAX_VENUES + 1],
    timer: Option<i64>,
    other: std::collections::VecDeque<(StrategyEvent, i64)>,
    stats: PortStats,
    counters: Arc<FeedCounters>,
}

impl std::fmt::Debug for StrategyPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyPort").field("stats", &self.stats).finish_non_exhaustive()
    }
}

/// The strategy thread's end of the link (see the module docs).
pub struct StrategyFeed {
    events: Consumer<(StrategyEvent, i64)>,
    commands: Producer<(Command, i64)>,
    answers: Consumer<PendingAnswer>,
    /// Events taken from the events ring.
    received: u64,
    /// Cancels and amends sent and not yet answered.
    awaiting: usize,
    /// [`LiveStrategyConfig::unanswered`].
    limit: usize,
    batch: Vec<StrategyEvent>,
    stamps: Vec<Stamp>,
    out: CommandBuffer,
    backlog: std::collections::VecDeque<(Command, i64)>,
    next_order_id: u64,
    max_batch: usize,
    counters: Arc<FeedCounters>,
}

impl std::fmt::Debug for StrategyFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyFeed").field("next_order_id", &self.next_order_id).finish_non_exhaustive()
    }
}

/// The two ends of a link.
pub fn link(cfg: LiveStrategyConfig) -> (StrategyPort, StrategyFeed) {
    let queue = cfg.queue.max(1);
    let (events_tx, events_rx) = RingBuffer::new(queue);
    let (commands_tx, commands_rx) = RingBuffer::new(queue);
    let limit = cfg.unanswered.max(1);
    let (answers_tx, answers_rx) = RingBuffer::new(limit);
    let counters = Arc::new(FeedCounters::default());
    let port = StrategyPort {
        events: events_tx,
        commands: commands_rx,
        answers: answers_tx,
        books: [None; MAX_VENUES + 1],
        timer: None,
        other: std::collections::VecDeque::with_capacity(PENDING_OTHER),
        stats: PortStats::default(),
        counters: Arc::clone(&counters),
    };
    let max_batch = cfg.max_batch.max(1);
    let feed = StrategyFeed {
        events: events_rx,
        commands: commands_tx,
        answers: answers_rx,
        received: 0,
        awaiting: 0,
        limit,
        batch: Vec::with_capacity(max_batch),
        stamps: Vec::with_capacity(max_batch),
        out: CommandBuffer::with_capacity(64),
        backlog: std::collections::VecDeque::new(),
        next_order_id: cfg.first_order_id,
        max_batch,
        counters,
    };
    (port, feed)
}

impl StrategyPort {
    /// Hands `event` (seen at `ts_ns`) to the strategy; never waits (see the module docs).
    pub fn push(&mut self, event: StrategyEvent, ts_ns: i64) {
        self.flush_pending();
        if self.has_pending() || self.events.is_full() {
            self.stats.full += 1;
            self.keep(event, ts_ns);
            return;
        }
        match self.events.push((event, ts_ns)) {
            Ok(()) => self.stats.sent += 1,
            Err(e) => self.keep(e.into_inner().0, ts_ns),
        }
    }

    fn has_pending(&self) -> bool {
        !self.other.is_empty() || self.timer.is_some() || self.books.iter().any(Option::is_some)
    }

    /// Keeps `event` aside while the ring is full: conflated, or dropped past the side buffer.
    fn keep(&mut self, event: StrategyEvent, ts_ns: i64) {
        match event {
            StrategyEvent::Book { venue, .. } if book_slot(venue).is_some() => {
                let slot = &mut self.books[book_slot(venue).unwrap_or(MAX_VENUES)];
                self.stats.conflated_books += u64::from(slot.is_some());
                *slot = Some((event, ts_ns));
            }
            StrategyEvent::Timer => {
                self.stats.conflated_timers += u64::from(self.timer.is_some());
                self.timer = Some(ts_ns);
            }
            // Trades leave half the side buffer to fills and orders gone.
            StrategyEvent::Trade(_) if self.other.len() >= PENDING_OTHER / 2 => self.stats.dropped_trades += 1,
            _ if self.other.len() < PENDING_OTHER => self.other.push_back((event, ts_ns)),
            _ => self.stats.dropped += 1,
        }
    }

    /// Moves what was kept aside into the ring, as far as there is room: fills and orders gone
    /// first (and trades, in the order they came), then each venue's latest top (ours last),
    /// then the timer.
    pub fn flush_pending(&mut self) {
        while let Some(&e) = self.other.front() {
            if self.events.push(e).is_err() {
                return;
            }
            self.other.pop_front();
            self.stats.sent += 1;
        }
        for i in 0..=MAX_VENUES {
            let Some(e) = self.books[i] else { continue };
            if self.events.push(e).is_err() {
                return;
            }
            self.books[i] = None;
            self.stats.sent += 1;
        }
        if let Some(ts) = self.timer {
            if self.events.push((StrategyEvent::Timer, ts)).is_ok() {
                self.timer = None;
                self.stats.sent += 1;
            }
        }
    }

    /// The answer to one cancel or amend of `order_id` on `venue` (seen at `ts_ns`): the order's
    /// open lots once it took effect (0: gone). Never dropped, never waits: the feed's count
    /// keeps room for it (module docs). The strategy gets it after every event pushed before.
    pub fn push_answer(&mut self, venue: VenueId, order_id: u64, open_qty: i64, ts_ns: i64) {
        let after = self.stats.sent + self.other.len() as u64;
        let answer = StrategyEvent::Answer { venue, order_id, open_qty };
        match self.answers.push((answer, ts_ns, after)) {
            Ok(()) => self.stats.answers += 1,
            Err(_) => {
                debug_assert!(false, "the answers' ring is never full");
                self.stats.lost_answers += 1;
            }
        }
    }

    /// The next command the strategy sent, if any, with the time (`ts_ns` as pushed) of the
    /// event it was decided after.
    pub fn pop_command(&mut self) -> Option<(Command, i64)> {
        let c = self.commands.pop()?;
        self.stats.commands += 1;
        Some(c)
    }

    /// Events in the ring, not yet taken by the strategy.
    pub fn queued(&self) -> usize {
        self.events.len()
    }

    /// The runner end's counters.
    pub fn stats(&self) -> PortStats {
        self.stats
    }

    /// The strategy thread's counters.
    pub fn feed_counters(&self) -> &FeedCounters {
        &self.counters
    }
}

impl StrategyFeed {
    /// One step of the strategy thread: hands the waiting events (at most `max_batch`) to
    /// `sink` in one batch and queues its commands; returns how many events it handed over (0:
    /// none waiting, or commands still waiting for room). A sink error is returned and counted.
    pub fn step<K: BatchSink>(&mut self, sink: &mut K) -> Result<usize, FeedError<K::Error>> {
        while let Some(&c) = self.backlog.front() {
            if self.commands.push(c).is_err() {
                return Ok(0);
            }
            self.backlog.pop_front();
        }
        self.batch.clear();
        self.stamps.clear();
        let takes_answers = sink.takes_answers();
        while self.batch.len() < self.max_batch {
            // An answer goes in once every event pushed before it is in.
            if let Some(&(answer, ts_ns, after)) = self.answers.peek() {
                if after <= self.received {
                    self.answers.pop();
                    self.awaiting = self.awaiting.saturating_sub(1);
                    if takes_answers {
                        self.batch.push(answer);
                        self.stamps.push(Stamp { ts_ns, ..Stamp::default() });
                    }
                    continue;
                }
            }
            let Some((event, ts_ns)) = self.events.pop() else { break };
            self.received += 1;
            self.batch.push(event);
            self.stamps.push(Stamp { ts_ns, ..Stamp::default() });
        }
        let n = self.batch.len();
        if n == 0 {
            return Ok(0);
        }
        self.out.clear();
        sink.set_answered(true);
        sink.set_answer_room(Some(self.limit - self.awaiting));
        let batch = Batch { events: &self.batch, stamps: &self.stamps, next_order_id: Some(self.next_order_id) };
        let started = std::time::Instant::now();
        let result = sink.on_batch(&batch, &mut self.out);
        let c = &self.counters;
        c.busy_ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        c.batches.fetch_add(1, Ordering::Relaxed);
        c.events.fetch_add(n as u64, Ordering::Relaxed);
        c.largest.fetch_max(n as u64, Ordering::Relaxed);
        result.map_err(FeedError::Sink)?;
        let out = self.out.as_slice();
        let sent = out.iter().filter(|d| matches!(d.command, Command::Cancel { .. } | Command::Amend { .. })).count();
        if sent > self.limit - self.awaiting {
            return Err(FeedError::Unanswered { awaiting: self.awaiting, sent, limit: self.limit });
        }
        self.awaiting += sent;
        for d in out {
            if matches!(d.command, Command::Place { .. } | Command::Take { .. }) {
                self.next_order_id += 1;
            }
            c.commands.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = self.commands.push((d.command, self.stamps[d.after].ts_ns)) {
                self.backlog.push_back(e.into_inner());
            }
        }
        Ok(n)
    }

    /// Cancels and amends sent and not yet answered (taken by this end).
    pub fn awaiting_answers(&self) -> usize {
        self.awaiting
    }

    /// Runs `sink` on this thread until `stop` is set (or the runner's end is gone, or the
    /// sink fails: its error is returned), sleeping `idle` when there was nothing to do.
    pub fn run<K: BatchSink>(
        &mut self,
        sink: &mut K,
        stop: &AtomicBool,
        idle: Duration,
    ) -> Result<(), FeedError<K::Error>> {
        while !stop.load(Ordering::Acquire) {
            if self.step(sink)? == 0 {
                if self.events.is_abandoned() && self.events.is_empty() && self.answers.is_empty() {
                    return Ok(());
                }
                std::thread::sleep(idle);
            }
        }
        Ok(())
    }
}

/// The strategy's orders working on our venue at once, at most; more are refused.
pub const STRATEGY_ORDERS: usize = 64;

/// One of the strategy's orders working on our venue.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Working {
    /// Where it works: our venue, or a quote venue.
    pub(crate) venue: VenueId,
    pub(crate) id: u64,
    pub(crate) side: Side,
    pub(crate) price: i64,
    pub(crate) qty: i64,
    /// The strategy canceled it (its end is no news to the strategy).
    pub(crate) canceling: bool,
    /// The strategy's cancels and amends of it not yet answered.
    pub(crate) unanswered: u32,
}

/// The strategy as the live runner sees it: the runner's end of the link and the strategy's
/// orders working on our venue (`crate::live_runner` drives it).
#[derive(Debug)]
pub struct StrategyDriver {
    pub(crate) name: String,
    pub(crate) port: StrategyPort,
    pub(crate) working: Vec<Working>,
    pub(crate) refused: u64,
    pub(crate) pulled: u64,
    pub(crate) failure_seen: bool,
    /// Our venue's top as last handed over (bid, ask).
    pub(crate) our_top: (Level, Level),
    /// Public trades handed over (ours and the external venues').
    pub(crate) trades: u64,
    /// Our venue's tops handed over.
    pub(crate) our_tops: u64,
}

impl StrategyDriver {
    /// The runner's side of a strategy named `name` on `port`.
    pub fn new(name: String, port: StrategyPort) -> Self {
        let working = Vec::with_capacity(STRATEGY_ORDERS);
        StrategyDriver {
            name,
            port,
            working,
            refused: 0,
            pulled: 0,
            failure_seen: false,
            our_top: (Level::default(), Level::default()),
            trades: 0,
            our_tops: 0,
        }
    }

    /// A hedge fill (on an external venue): the strategy learns the position it leads to.
    pub fn on_hedge_fill(&mut self, now: i64, fill: Fill, position: i64) {
        self.port.push(StrategyEvent::Fill { fill, remaining: 0, position }, now);
    }
}

/// The strategy's thread: runs a sink on a [`StrategyFeed`] until stopped (see the module docs).
#[derive(Debug)]
pub struct StrategyThread {
    stop: Arc<AtomicBool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl StrategyThread {
    /// Starts `sink` on a thread of its own (named `wm-mm-strategy`); a sink error ends the
    /// thread, its message kept in the feed's counters ([`FeedCounters::error`]).
    pub fn spawn<K>(feed: StrategyFeed, sink: K, idle: Duration) -> std::io::Result<Self>
    where
        K: BatchSink + Send + 'static,
        K::Error: std::fmt::Display,
    {
        Self::spawn_hosted(feed, sink, idle, |run| run())
    }

    /// As [`StrategyThread::spawn`], the thread's whole run inside `host` (which must call it
    /// once): a Python host keeps the thread's interpreter state for the thread's life, so
    /// that each batch only takes the GIL.
    pub fn spawn_hosted<K>(
        mut feed: StrategyFeed,
        mut sink: K,
        idle: Duration,
        host: fn(&mut (dyn FnMut() + Send)),
    ) -> std::io::Result<Self>
    where
        K: BatchSink + Send + 'static,
        K::Error: std::fmt::Display,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&stop);
        let thread = std::thread::Builder::new().name("wm-mm-strategy".into()).spawn(move || {
            host(&mut || {
                if let Err(e) = feed.run(&mut sink, &s, idle) {
                    *feed.counters.error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                    feed.counters.failed.store(true, Ordering::Release);
                }
            });
        })?;
        Ok(StrategyThread { stop, thread: Mutex::new(Some(thread)) })
    }

    /// Stops the thread after its current batch and waits for it. Idempotent.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl Drop for StrategyThread {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
#[path = "live_strategy_tests.rs"]
mod tests;

//! The engine runtime: threads joined by bounded SPSC rings, from gateways to subscribers.
//!
//! ```
//! use wintermute_core::{Command, Event, InstrumentSpec, NewOrder, Side};
//! use wintermute_engine::pipeline::{OutputKind, Pipeline, PipelineConfig, RiskConfig};
//!
//! let spec = InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1000, 1, 100_000).unwrap();
//! let config = PipelineConfig::new(vec![spec]).risk(RiskConfig::permissive());
//! let (pipeline, mut handles) = Pipeline::start(config).unwrap();
//! let (gateway, sub) = (&mut handles.gateways[0], &mut handles.subscriptions[0]);
//! gateway.submit(0, Command::New(NewOrder::limit(1, 7, Side::Sell, 200, 10))).unwrap();
//! gateway.submit(0, Command::New(NewOrder::limit(2, 8, Side::Buy, 201, 4))).unwrap();
//!
//! let done = pipeline.shutdown().unwrap(); // drains everything, joins the threads
//! assert_eq!(done.stats.counters.sequenced, 2);
//! let mut outputs = Vec::new();
//! sub.poll(&mut outputs);
//! assert!(outputs.iter().any(|o| matches!(o.kind, OutputKind::Event(Event::Trade { qty: 4, .. }))));
//! assert_eq!(done.engine.book(0).best_ask(), Some((200, 6)));
//! ```
//!
//! # Shape
//!
//! ```text
//! Gateway 0 --SPSC--\                                   /--SPSC--> Subscription 0
//! Gateway 1 --SPSC---> risk --SPSC--> matching ---------+--SPSC--> Subscription 1
//! Gateway n --SPSC--/     ^                |
//!                         \-----SPSC-------/  post-trade (events risk needs)
//! ```
//!
//! - [`Gateway`]s: one per producer thread, each with its own ring, so producers never share
//!   a lock or a cache line; full ring: block or hand the command back ([`Backpressure`]).
//! - **risk** ([`risk_stage`]): polls the gateway rings round-robin, runs the pre-trade
//!   [`crate::risk::RiskEngine::check`]; a rejection travels on as a marked message.
//! - **matching** ([`match_stage`]): owns the [`Engine`] (every book) and the journal:
//!   journal append, then [`crate::journal::apply`], then publication.
//! - [`Subscription`]s: every output, in order, drained in batches (or, configured without
//!   book deltas, every output but the level updates: an execution feed).
//!
//! With [`Topology::Merged`] one thread does risk and matching (the default below 4 cores:
//! two engine threads plus a producer on two cores only fight over them).
//!
//! # Control and snapshots
//!
//! [`Pipeline::control`] hands out a [`Control`]: change limits, default limits, kill switches
//! and reference prices while the pipeline runs, and request snapshots ([`control`]). Each
//! change is journaled in order with the commands. Snapshots of books and risk state are taken
//! by [`SnapshotPolicy`] and on request, at a consistent cut in both topologies
//! ([`snapshots`]).
//!
//! Single writer: the books belong to the matching thread, the risk engine to the risk thread
//! (post-trade updates included, see [`risk_stage`]); the rings are the only thing shared on
//! the matching path, besides the stop flag a thread reads once per loop and, for threads that
//! park, the `unpark` that wakes them. Latency per stage is measured on the messages (see
//! [`crate::analytics`]); measurements reach readers by a swap every stats interval.
//!
//! # Lifecycle
//!
//! [`Pipeline::start`] recovers the books from the journal when there is one: the newest
//! valid snapshot (with its risk state, when the pipeline runs with risk), then the journal
//! tail — the replayed events rebuild post-trade risk (open orders, positions), the replayed
//! control records the risk settings — then starts the threads. What it used is in
//! [`Pipeline::recovery`]. A snapshot that does not check out (damaged, written without risk
//! state for a pipeline with risk, other instruments, or past the journal's end) is passed over
//! and reported there: the next older one (or the journal from its start) gives the same state,
//! because journal segments are only removed behind the oldest snapshot kept
//! ([`SnapshotPolicy::prune_segments`]), and never unless asked; when the records a recovery
//! needs are gone it fails ([`journal::JournalError::Missing`]) rather than replay across the gap.
//!
//! [`RiskConfig`] is the risk state *before the journal's first record*: it seeds a new journal.
//! Once a journal holds controls or snapshots, change settings through [`Control`] (journaled),
//! not the config: a snapshot restores the settings it holds, whatever the config says. [`Pipeline::shutdown`] closes the gateways, drains every
//! ring, joins every thread, flushes the journal and returns the final stats and books.
//! Dropping a `Pipeline` does the same and discards the result. Both wait for the
//! subscriptions to take the last outputs: keep polling them from another thread (or drop
//! them) while shutting down, unless their rings are large enough to hold what is in flight.

pub mod config;
pub mod control;
pub mod durability;
pub mod gateway;
pub mod match_stage;
pub mod message;
pub mod risk_stage;
pub mod snapshots;
pub mod subscription;
mod threads;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wintermute_core::{Engine, InstrumentError, OrderBook};

pub use config::{
    available_cores, Backpressure, GatewayConfig, PipelineConfig, RiskConfig, SubscriptionConfig, ThreadConfig,
    Topology,
};
pub use control::{Control, ControlError, SnapshotInfo, DEFAULT_CONTROL_TIMEOUT};
pub use durability::JournalSync;
pub use gateway::{Gateway, GatewayStats, SubmitError};
pub use message::{CommandId, Output, OutputKind, Stamps};
pub use snapshots::SnapshotPolicy;
pub use subscription::Subscription;

use crate::analytics::{
    rate, Counters, Meter, MeterPublisher, MeterSlot, PipelineClock, RingStats, SharedMeter, StageLatencies,
};
use crate::journal::{
    self, FsyncPolicy, Journal, JournalError, RecoverOptions, Replayed, RollStats, RollWatch, SnapshotWarning, TornTail,
};
use crate::risk::{MonotonicClock, RiskEngine, RiskError};
use crate::spsc::RingBuffer;
use crate::wait::WaitStrategy;
use control::ControlShared;
use durability::SyncState;
use gateway::GatewayShared;
use match_stage::MatchStage;
use risk_stage::{PostTradeSink, RiskStage};
use snapshots::{SnapshotCounters, SnapshotSchedule, SnapshotSink};
use subscription::{OutputPort, RoomSignal};
use threads::{GatewayInput, LoopConfig, PostTradePort, RiskLinks, ThreadResult, Waker};

/// Why a pipeline could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("pipeline config invalid: {why}")]
    Config { why: String },
    #[error("pipeline instrument: {0}")]
    Instrument(#[from] InstrumentError),
    #[error("pipeline risk setup: {0}")]
    Risk(#[from] RiskError),
    #[error("pipeline journal: {0}")]
    Journal(#[from] JournalError),
    #[error("pipeline thread spawn name={name}: {source}")]
    Spawn {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("pipeline thread={name} panicked")]
    ThreadPanicked { name: &'static str },
    #[error("pipeline recovery: journal control record seq={seq}: {source}")]
    Control {
        seq: u64,
        #[source]
        source: RiskError,
    },
}

/// The handles producers and consumers use, one per configured gateway and subscription.
#[derive(Debug)]
pub struct Handles {
    pub gateways: Vec<Gateway>,
    pub subscriptions: Vec<Subscription>,
}

/// An engine thread, as reported in the stats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadStats {
    pub name: &'static str,
    pub wait: WaitStrategy,
    /// The core asked for.
    pub core: Option<usize>,
    /// Whether the thread is pinned to it.
    pub pinned: bool,
}

/// A snapshot of everything the pipeline measured. Live snapshots are at most one stats
/// interval old; the one [`Pipeline::shutdown`] returns is exact.
#[derive(Debug, Clone)]
pub struct PipelineStats {
    pub topology: Topology,
    /// Since start.
    pub elapsed: Duration,
    /// Commands accepted by all gateways.
    pub submitted: u64,
    pub counters: Counters,
    /// Commands received by the risk stage per second, since start.
    pub commands_per_s: f64,
    /// Book events published per second, since start.
    pub events_per_s: f64,
    pub latency: StageLatencies,
    pub rings: Vec<RingStats>,
    pub gateways: Vec<GatewayStats>,
    pub threads: Vec<ThreadStats>,
    /// Journal records replayed at start (0 without a journal).
    pub recovered_records: u64,
    /// Flush rounds of the background journal sync ([`JournalSync::Background`]; 0 otherwise).
    pub journal_syncs: u64,
    /// Journal segment rolls since start, how many took a prepared spare, the longest
    /// (zeros without a journal; see [`journal::roller`]).
    pub journal_rolls: RollStats,
    /// Risk controls applied through [`Control`] since start.
    pub controls: u64,
    /// Snapshots written since start (periodic and requested).
    pub snapshots_written: u64,
    /// Snapshot writes that failed (the pipeline goes on; see [`snapshots`]).
    pub snapshot_failures: u64,
    /// Journal sequence number of the newest snapshot written since start (0: none).
    pub last_snapshot_seq: u64,
    /// Journal segments deleted since start ([`SnapshotPolicy::prune_segments`]).
    pub segments_pruned: u64,
}

/// What [`Pipeline::start`] recovered from the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryInfo {
    /// The snapshot it started from (`None`: the journal's start, or no journal).
    pub snapshot: Option<PathBuf>,
    /// Newer snapshots passed over, and why.
    pub snapshot_warnings: Vec<SnapshotWarning>,
    /// Command records replayed after the snapshot.
    pub replayed: u64,
    /// Control records replayed after the snapshot.
    pub controls: u64,
    /// The last journal record (0: empty journal or none).
    pub journal_seq: u64,
    /// A torn tail the journal cut off when it opened.
    pub truncated: Option<TornTail>,
}

/// What [`Pipeline::shutdown`] hands back.
#[derive(Debug)]
pub struct Shutdown {
    pub stats: PipelineStats,
    /// The books as the matching thread left them.
    pub engine: Engine,
    /// The risk engine's final state (`None` without risk).
    pub risk: Option<RiskEngine<MonotonicClock>>,
    /// The last journal sequence number (or the last number given, without a journal).
    pub last_seq: u64,
}

#[derive(Debug)]
struct RingInfo {
    name: String,
    capacity: usize,
}

#[derive(Debug)]
struct Worker {
    name: &'static str,
    config: ThreadConfig,
    pinned: Arc<AtomicBool>,
    handle: Option<JoinHandle<ThreadResult>>,
}

/// A running pipeline. See the module docs.
#[derive(Debug)]
pub struct Pipeline {
    topology: Topology,
    clock: PipelineClock,
    started: Instant,
    stop: Arc<AtomicBool>,
    workers: Vec<Worker>,
    gateways: Vec<(Arc<GatewayShared>, usize)>,
    meters: Vec<SharedMeter>,
    rings: Vec<RingInfo>,
    recovered_records: u64,
    recovery: RecoveryInfo,
    syncer: Option<Syncer>,
    roll_watch: Option<RollWatch>,
    control: Arc<ControlShared>,
    has_risk: bool,
    has_journal: bool,
    writer: Option<JoinHandle<()>>,
    snapshot_counters: Arc<SnapshotCounters>,
    finished: bool,
}

#[derive(Debug)]
struct Syncer {
    state: Arc<SyncState>,
    handle: Option<JoinHandle<Result<(), JournalError>>>,
}

impl Pipeline {
    /// Builds the books (recovered from the journal, if any), the risk engine and the rings,
    /// and starts the threads.
    pub fn start(config: PipelineConfig) -> Result<(Pipeline, Handles), PipelineError> {
        validate(&config)?;
        let mut initial = Engine::new();
        for spec in &config.instruments {
            initial.add_book(OrderBook::with_capacity(spec.clone(), config.order_capacity))?;
        }
        let mut risk = RiskStage::new(config.risk.as_ref(), &config.instruments)?;
        if config.topology == Topology::Split {
            // The risk thread follows every live order and every reservation in flight, and it
            // can run a whole stage ring ahead of the books: pre-size its order map for all the
            // books hold plus a full ring, so that following them never allocates. (Merged:
            // reservations resolve before the next command; the map tracks the books.)
            risk.reserve_orders(
                config.order_capacity.saturating_mul(config.instruments.len()).saturating_add(config.stage_capacity),
            );
        }
        let (journal, engine, recovery) = match &config.journal {
            None => (None, initial, RecoveryInfo::default()),
            Some(jc) => {
                let mut jc = jc.clone();
                if let JournalSync::Background { .. } = config.journal_sync {
                    jc.fsync = FsyncPolicy::None;
                    // Its whole-file fdatasync would write populated zeros ahead of the writer
                    // (and clean them, so the writer would fault on them again).
                    jc.populate = false;
                }
                let (journal, report) = Journal::open(jc.clone())?;
                let (engine, recovery) = recover(&jc.dir, &initial, report, &mut risk)?;
                (Some(journal), engine, recovery)
            }
        };
        let recovered_records = recovery.replayed;
        let roll_watch = journal.as_ref().map(Journal::roll_watch);
        let clock = PipelineClock::new();
        let stop = Arc::new(AtomicBool::new(false));
        let mut rings = Vec::new();
        let mut ring = |name: String, capacity: usize| {
            let capacity = capacity.max(1).next_power_of_two();
            rings.push(RingInfo { name, capacity });
            (rings.len() - 1, capacity)
        };

        // Rings: gateways, then (split) risk->matching and post-trade, then subscriptions.
        let mut gateway_rings = Vec::new();
        for (i, g) in config.gateways.iter().enumerate() {
            let (index, cap) = ring(format!("gateway[{i}]"), g.capacity);
            let (tx, rx) = RingBuffer::new(cap);
            gateway_rings.push((tx, rx, index, Arc::new(GatewayShared::default())));
        }
        let split = config.topology == Topology::Split;
        let has_risk = config.risk.is_some();
        let stage_rings = split.then(|| {
            let to_match = ring("risk->matching".into(), config.stage_capacity);
            // Without risk there is no post-trade state to feed: no ring back.
            let post = has_risk.then(|| ring("matching->risk (post-trade)".into(), config.stage_capacity));
            (to_match, post)
        });
        let first = Arc::new(OnceLock::new());
        let matching_thread = Arc::new(OnceLock::new());
        let first_wait = config.risk_thread.wait;
        // Who publishes outputs, for subscribers to wake when it waits for room.
        let publisher = || {
            if split {
                Waker::new(Arc::clone(&matching_thread), config.matching_thread.wait)
            } else {
                Waker::new(Arc::clone(&first), first_wait)
            }
        };
        let mut ports = Vec::new();
        let mut subscriptions = Vec::new();
        for (i, s) in config.subscriptions.iter().enumerate() {
            let (index, cap) = ring(format!("subscription[{i}]"), s.capacity);
            let (tx, rx) = RingBuffer::new(cap);
            let room = RoomSignal::new(publisher());
            ports.push(OutputPort::new(tx, index, s.book_deltas, Arc::clone(&room)));
            subscriptions.push(Subscription::new(i, rx, room));
        }
        let ring_count = rings.len();

        let control = Arc::new(ControlShared::new(Waker::new(Arc::clone(&first), first_wait)));
        let has_risk = risk.enabled();
        let mut inputs = Vec::new();
        let mut gateways = Vec::new();
        let mut gateway_stats = Vec::new();
        for (i, (tx, rx, index, shared)) in gateway_rings.into_iter().enumerate() {
            let waker = Waker::new(Arc::clone(&first), first_wait);
            let id = u16::try_from(i).map_err(|_| PipelineError::Config { why: "too many gateways".into() })?;
            let backpressure = config.gateways[i].backpressure;
            gateways.push(Gateway::new(id, tx, Arc::clone(&shared), backpressure, clock, waker));
            gateway_stats.push((Arc::clone(&shared), index));
            inputs.push(GatewayInput { consumer: rx, shared, ring: index });
        }

        // From here on, threads run: should a later step fail, dropping `pipeline` stops and
        // joins the ones already started.
        let mut pipeline = Pipeline {
            topology: config.topology,
            clock,
            started: Instant::now(),
            stop: Arc::clone(&stop),
            workers: Vec::new(),
            gateways: gateway_stats,
            meters: Vec::new(),
            rings,
            recovered_records,
            recovery,
            syncer: None,
            roll_watch,
            control: Arc::clone(&control),
            has_risk,
            has_journal: config.journal.is_some(),
            writer: None,
            snapshot_counters: Arc::new(SnapshotCounters::default()),
            finished: false,
        };
        // The snapshot writer (with a journal: snapshots live in its directory).
        let cuts = match &config.journal {
            None => None,
            Some(jc) => {
                let (tx, rx) = std::sync::mpsc::channel();
                let (dir, archive, policy, counters) =
                    (jc.dir.clone(), jc.archive_dir.clone(), config.snapshots, Arc::clone(&pipeline.snapshot_counters));
                let handle = std::thread::Builder::new()
                    .name("wm-snapshot".into())
                    .spawn(move || snapshots::run_writer(dir, archive, policy, rx, counters))
                    .map_err(|source| PipelineError::Spawn { name: "wm-snapshot", source })?;
                pipeline.writer = Some(handle);
                Some(SnapshotSink::new(tx, Arc::clone(&pipeline.snapshot_counters)))
            }
        };
        risk.set_cuts(cuts.clone());
        let schedule = (config.snapshots.is_periodic() && cuts.is_some())
            .then(|| SnapshotSchedule::new(&config.snapshots, clock.now_ns()));
        let meter = |meters: &mut Vec<SharedMeter>| {
            let shared: SharedMeter = Arc::new(Mutex::new(MeterSlot::new(ring_count)));
            meters.push(Arc::clone(&shared));
            MeterPublisher::new(shared, ring_count, config.stats_interval)
        };
        let loop_config = |wait: WaitStrategy| LoopConfig { stop: Arc::clone(&stop), wait, batch: config.batch, clock };
        let match_wait = if split { config.matching_thread.wait } else { first_wait };
        let stage = MatchStage::new(engine, journal, ports, match_wait, clock, meter(&mut pipeline.meters))
            .with_snapshots(schedule, cuts);
        let stage = if split { stage } else { stage.merged() };

        if let Some(((to_match_ring, to_match_cap), post_ring)) = stage_rings {
            let (to_match_tx, to_match_rx) = RingBuffer::new(to_match_cap);
            let (post_tx, post_rx, post_ring) = match post_ring {
                Some((index, cap)) => {
                    let (tx, rx) = RingBuffer::new(cap);
                    (Some(tx), Some(rx), index)
                }
                None => (None, None, usize::MAX),
            };
            let post = PostTradePort::new(post_tx, post_ring, Waker::new(Arc::clone(&first), first_wait), match_wait);
            let cfg = loop_config(match_wait);
            let worker = start_worker("wm-matching", config.matching_thread, move || {
                threads::run_matching(cfg, to_match_rx, to_match_ring, post, stage)
            })?;
            set_thread(&matching_thread, &worker);
            pipeline.workers.push(worker);
            let links = RiskLinks {
                to_match: to_match_tx,
                to_match_ring,
                post_trade: post_rx,
                post_trade_ring: post_ring,
                wake_matching: Waker::new(Arc::clone(&matching_thread), match_wait),
            };
            let cfg = loop_config(first_wait);
            let risk_meter = meter(&mut pipeline.meters);
            let worker = start_worker("wm-risk", config.risk_thread, move || {
                threads::run_risk(cfg, inputs, risk, links, risk_meter, control)
            })?;
            set_thread(&first, &worker);
            pipeline.workers.push(worker);
        } else {
            let cfg = loop_config(first_wait);
            let worker = start_worker("wm-engine", config.risk_thread, move || {
                threads::run_merged(cfg, inputs, risk, stage, control)
            })?;
            set_thread(&first, &worker);
            pipeline.workers.push(worker);
        }

        if let (Some(jc), JournalSync::Background { interval }) = (&config.journal, config.journal_sync) {
            let state = Arc::new(SyncState::default());
            let (dir, st) = (jc.dir.clone(), Arc::clone(&state));
            let handle = std::thread::Builder::new()
                .name("wm-journal-sync".into())
                .spawn(move || durability::run_syncer(dir, interval, st))
                .map_err(|source| PipelineError::Spawn { name: "wm-journal-sync", source })?;
            pipeline.syncer = Some(Syncer { state, handle: Some(handle) });
        }
        Ok((pipeline, Handles { gateways, subscriptions }))
    }

    /// A handle to change risk settings and request snapshots while the pipeline runs (see
    /// [`control`]).
    pub fn control(&self) -> Control {
        Control::new(Arc::clone(&self.control), self.has_risk, self.has_journal)
    }

    /// What start recovered from the journal.
    pub fn recovery(&self) -> &RecoveryInfo {
        &self.recovery
    }

    /// The clock every timestamp of this pipeline is read from.
    pub fn clock(&self) -> PipelineClock {
        self.clock
    }

    /// The topology it runs.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    /// What was measured so far (at most one stats interval old).
    pub fn stats(&self) -> PipelineStats {
        let mut total = Meter::new(self.rings.len());
        for m in &self.meters {
            total.add(m.lock().unwrap_or_else(PoisonError::into_inner).collect());
        }
        let elapsed = self.started.elapsed();
        let gateways: Vec<GatewayStats> = self
            .gateways
            .iter()
            .enumerate()
            .map(|(i, (shared, ring))| GatewayStats {
                gateway: u16::try_from(i).unwrap_or(u16::MAX),
                submitted: shared.submitted(),
                full_events: shared.full_events(),
                capacity: self.rings[*ring].capacity,
            })
            .collect();
        let rings = self
            .rings
            .iter()
            .enumerate()
            .map(|(i, info)| {
                let gauge = total.rings[i];
                let gateway_full: u64 =
                    self.gateways.iter().filter(|(_, r)| *r == i).map(|(s, _)| s.full_events()).sum();
                RingStats {
                    name: info.name.clone(),
                    capacity: info.capacity,
                    high_water: gauge.high_water,
                    full_events: gauge.full_events + gateway_full,
                }
            })
            .collect();
        let threads = self
            .workers
            .iter()
            .map(|w| ThreadStats {
                name: w.name,
                wait: w.config.wait,
                core: w.config.core,
                pinned: w.pinned.load(Ordering::Relaxed),
            })
            .collect();
        PipelineStats {
            topology: self.topology,
            elapsed,
            submitted: gateways.iter().map(|g| g.submitted).sum(),
            counters: total.counters,
            commands_per_s: rate(total.counters.received, elapsed),
            events_per_s: rate(total.counters.events, elapsed),
            latency: total.latencies(),
            rings,
            gateways,
            threads,
            recovered_records: self.recovered_records,
            journal_syncs: self.syncer.as_ref().map_or(0, |s| s.state.rounds.load(Ordering::Relaxed)),
            journal_rolls: self.roll_watch.as_ref().map_or_else(RollStats::default, RollWatch::stats),
            controls: self.control.applied.load(Ordering::Relaxed),
            snapshots_written: self.snapshot_counters.written.load(Ordering::Relaxed),
            snapshot_failures: self.snapshot_counters.failed.load(Ordering::Relaxed),
            last_snapshot_seq: self.snapshot_counters.last_seq.load(Ordering::Relaxed),
            segments_pruned: self.snapshot_counters.segments_pruned.load(Ordering::Relaxed),
        }
    }

    /// Closes the gateways, drains every ring, joins every thread, flushes the journal, and
    /// returns the final stats and state. A journal failure during the run (the pipeline
    /// halted) or at the final flush, and a panicked thread, come back as errors.
    pub fn shutdown(mut self) -> Result<Shutdown, PipelineError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<Shutdown, PipelineError> {
        self.finished = true;
        self.stop.store(true, Ordering::Release);
        let mut engine = None;
        let mut risk = None;
        let mut last_seq = 0;
        let mut first_error = None;
        // The first thread (risk or merged) starts the cascade; wake it, then join in order.
        for w in self.workers.iter().rev() {
            if let Some(h) = &w.handle {
                h.thread().unpark();
            }
        }
        for w in self.workers.iter_mut().rev() {
            let Some(handle) = w.handle.take() else { continue };
            match handle.join() {
                Ok(ThreadResult::Risk(r)) => risk = r.into_engine(),
                Ok(ThreadResult::Matching { engine: e, last_seq: s, error }) => {
                    engine = Some(e);
                    last_seq = s;
                    first_error = first_error.or(error.map(PipelineError::from));
                }
                Ok(ThreadResult::Merged { engine: e, last_seq: s, error, risk: r }) => {
                    engine = Some(e);
                    last_seq = s;
                    risk = r.into_engine();
                    first_error = first_error.or(error.map(PipelineError::from));
                }
                Err(_) => first_error = first_error.or(Some(PipelineError::ThreadPanicked { name: w.name })),
            }
        }
        // Nobody answers controls any more (the threads closed the inbox; a panicked one did not).
        self.control.close();
        // The engine threads dropped their snapshot sinks: the writer finishes its queue and ends.
        if let Some(handle) = self.writer.take() {
            if handle.join().is_err() {
                first_error = first_error.or(Some(PipelineError::ThreadPanicked { name: "wm-snapshot" }));
            }
        }
        if let Some(syncer) = self.syncer.as_mut() {
            syncer.state.stop.store(true, Ordering::Release);
            if let Some(handle) = syncer.handle.take() {
                handle.thread().unpark();
                match handle.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => first_error = first_error.or(Some(e.into())),
                    Err(_) => {
                        first_error = first_error.or(Some(PipelineError::ThreadPanicked { name: "wm-journal-sync" }))
                    }
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let engine = engine.ok_or(PipelineError::ThreadPanicked { name: "wm-matching" })?;
        Ok(Shutdown { stats: self.stats(), engine, risk, last_seq })
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if !self.finished {
            // Same as `shutdown`; there is nobody to hand the result to.
            let _ = self.stop_and_join();
        }
    }
}

/// Opens the risk state and books from the journal in `dir`: the newest snapshot that fits,
/// then the tail (events into post-trade risk, controls into the risk settings).
fn recover(
    dir: &std::path::Path,
    initial: &Engine,
    report: journal::RecoveryReport,
    risk: &mut RiskStage,
) -> Result<(Engine, RecoveryInfo), PipelineError> {
    let options = RecoverOptions { need_risk: risk.enabled(), same_instruments: true, last_seq: Some(report.last_seq) };
    let mut failure = None;
    let recovered = journal::recover_records(dir, initial, &options, |r| match r {
        Replayed::Snapshot(s) => {
            if let Some(state) = &s.risk {
                if let Err(e) = risk.restore(state) {
                    failure.get_or_insert(PipelineError::Risk(e));
                }
            }
        }
        Replayed::Event(e) => risk.event(e.instrument, &e.event),
        Replayed::Control(c) => {
            if let Err(source) = risk.apply_control(&c.control) {
                failure.get_or_insert(PipelineError::Control { seq: c.seq, source });
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    let info = RecoveryInfo {
        snapshot: recovered.snapshot,
        snapshot_warnings: recovered.snapshot_warnings,
        replayed: recovered.replayed,
        controls: recovered.controls,
        journal_seq: recovered.journal_seq,
        truncated: report.truncated,
    };
    Ok((recovered.engine, info))
}

fn validate(config: &PipelineConfig) -> Result<(), PipelineError> {
    let bad = |why: String| Err(PipelineError::Config { why });
    let snaps = &config.snapshots;
    if snaps.every_records == Some(0) || snaps.every == Some(Duration::ZERO) || snaps.keep == 0 {
        return bad(format!("snapshots={snaps:?}: every_records, every and keep must be above 0"));
    }
    if snaps.is_periodic() && config.journal.is_none() {
        return bad("periodic snapshots need a journal (they are written to its directory)".into());
    }
    if snaps.prune_segments && config.journal.is_none() {
        return bad("prune_segments needs a journal".into());
    }
    let archive = config.journal.as_ref().and_then(|j| j.archive_dir.as_ref());
    if let (Some(archive), false) = (archive, snaps.prune_segments) {
        return bad(format!(
            "journal archive_dir={} without prune_segments: nothing would be moved there",
            archive.display()
        ));
    }
    if config.batch == 0 {
        return bad("batch=0: must be at least 1".into());
    }
    if config.gateways.len() > usize::from(u16::MAX) + 1 {
        return bad(format!("gateways={} above the limit of 65536", config.gateways.len()));
    }
    let too_big = 1usize << 30;
    let caps = config.gateways.iter().map(|g| g.capacity).chain(config.subscriptions.iter().map(|s| s.capacity));
    if let Some(cap) = caps.chain([config.stage_capacity]).find(|&c| c > too_big) {
        return bad(format!("ring capacity={cap} above the limit of {too_big}"));
    }
    Ok(())
}

fn start_worker(
    name: &'static str,
    config: ThreadConfig,
    f: impl FnOnce() -> ThreadResult + Send + 'static,
) -> Result<Worker, PipelineError> {
    let pinned = Arc::new(AtomicBool::new(false));
    let handle = threads::spawn(name, config.core, Arc::clone(&pinned), f)
        .map_err(|source| PipelineError::Spawn { name, source })?;
    Ok(Worker { name, config, pinned, handle: Some(handle) })
}

fn set_thread(slot: &OnceLock<std::thread::Thread>, worker: &Worker) {
    if let Some(h) = &worker.handle {
        let _ = slot.set(h.thread().clone());
    }
}

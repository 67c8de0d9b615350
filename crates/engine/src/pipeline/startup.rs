//! How a pipeline starts ([`Pipeline::start`]): check the config, build the books and the
//! risk engine (recovered from the journal when there is one, see [`super::recovery`]), make
//! the rings, start the snapshot writer, the engine threads and the journal syncer, and hand
//! out a [`Handles`] with the producers' gateways and the consumers' subscriptions.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use wintermute_core::{Engine, OrderBook};

use super::config::{PipelineConfig, ThreadConfig, Topology};
use super::control::ControlShared;
use super::durability::{self, JournalSync, SyncState};
use super::error::PipelineError;
use super::gateway::{Gateway, GatewayShared};
use super::match_stage::MatchStage;
use super::recovery::{recover, RecoveryInfo};
use super::risk_stage::RiskStage;
use super::runtime::{Pipeline, RingInfo, Syncer, Worker};
use super::snapshots::{self, SnapshotCounters, SnapshotSchedule, SnapshotSink};
use super::subscription::{OutputPort, RingSignal, Subscription};
use super::threads::{self, GatewayInput, LoopConfig, PostTradePort, RiskLinks, ThreadResult};
use crate::analytics::{MeterPublisher, MeterSlot, PipelineClock, SharedMeter};
use crate::journal::{FsyncPolicy, Journal};
use crate::spsc::RingBuffer;
use crate::wait::{WaitStrategy, Waker};

/// The handles producers and consumers use, one per configured gateway and subscription.
#[derive(Debug)]
pub struct Handles {
    pub gateways: Vec<Gateway>,
    pub subscriptions: Vec<Subscription>,
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
            let room = RingSignal::new(publisher());
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

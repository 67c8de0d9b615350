//! A running pipeline: the [`Pipeline`] handle (controls, stats, recovery info) and its end,
//! [`Pipeline::shutdown`] (or drop): stop the threads in order, drain every ring, flush the
//! journal, hand back the books. How it starts is in [`super::startup`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use wintermute_core::Engine;

use super::config::{ThreadConfig, Topology};
use super::control::{Control, ControlShared};
use super::durability::SyncState;
use super::error::PipelineError;
use super::gateway::{GatewayShared, GatewayStats};
use super::recovery::RecoveryInfo;
use super::snapshots::SnapshotCounters;
use super::stats::{PipelineStats, ThreadStats};
use super::threads::ThreadResult;
use crate::analytics::{rate, Meter, PipelineClock, RingStats, SharedMeter};
use crate::journal::{JournalError, RollStats, RollWatch};
use crate::risk::{MonotonicClock, RiskEngine};

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

/// A ring, as the stats name it.
#[derive(Debug)]
pub(super) struct RingInfo {
    pub(super) name: String,
    pub(super) capacity: usize,
}

/// An engine thread and what it was started with.
#[derive(Debug)]
pub(super) struct Worker {
    pub(super) name: &'static str,
    pub(super) config: ThreadConfig,
    pub(super) pinned: Arc<AtomicBool>,
    pub(super) handle: Option<JoinHandle<ThreadResult>>,
}

/// A running pipeline. See [`crate::pipeline`] for its shape and lifecycle.
#[derive(Debug)]
pub struct Pipeline {
    pub(super) topology: Topology,
    pub(super) clock: PipelineClock,
    pub(super) started: Instant,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) workers: Vec<Worker>,
    pub(super) gateways: Vec<(Arc<GatewayShared>, usize)>,
    pub(super) meters: Vec<SharedMeter>,
    pub(super) rings: Vec<RingInfo>,
    pub(super) recovered_records: u64,
    pub(super) recovery: RecoveryInfo,
    pub(super) syncer: Option<Syncer>,
    pub(super) roll_watch: Option<RollWatch>,
    pub(super) control: Arc<ControlShared>,
    pub(super) has_risk: bool,
    pub(super) has_journal: bool,
    pub(super) writer: Option<JoinHandle<()>>,
    pub(super) snapshot_counters: Arc<SnapshotCounters>,
    pub(super) finished: bool,
}

/// The background journal syncer ([`super::JournalSync::Background`]) and its thread.
#[derive(Debug)]
pub(super) struct Syncer {
    pub(super) state: Arc<SyncState>,
    pub(super) handle: Option<JoinHandle<Result<(), JournalError>>>,
}

impl Pipeline {
    /// A handle to change risk settings and request snapshots while the pipeline runs (see
    /// [`super::control`]).
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

//! What a pipeline measured: [`PipelineStats`], read live from [`super::Pipeline::stats`]
//! (at most one stats interval old) or exact from [`super::Pipeline::shutdown`]. Latencies,
//! counters and ring gauges come from [`crate::analytics`]; each thread merges its own
//! measurements every stats interval, so reading them costs the engine threads nothing.

use std::time::Duration;

use super::config::Topology;
use super::gateway::GatewayStats;
use crate::analytics::{Counters, RingStats, StageLatencies};
use crate::journal::RollStats;
use crate::wait::WaitStrategy;

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
/// interval old; the one [`super::Pipeline::shutdown`] returns is exact.
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
    /// Flush rounds of the background journal sync ([`super::JournalSync::Background`]; 0 otherwise).
    pub journal_syncs: u64,
    /// Journal segment rolls since start, how many took a prepared spare, the longest
    /// (zeros without a journal; see [`crate::journal::roller`]).
    pub journal_rolls: RollStats,
    /// Risk controls applied through [`super::Control`] since start.
    pub controls: u64,
    /// Snapshots written since start (periodic and requested).
    pub snapshots_written: u64,
    /// Snapshot writes that failed (the pipeline goes on; see [`super::snapshots`]).
    pub snapshot_failures: u64,
    /// Journal sequence number of the newest snapshot written since start (0: none).
    pub last_snapshot_seq: u64,
    /// Journal segments deleted since start ([`super::SnapshotPolicy::prune_segments`]).
    pub segments_pruned: u64,
}

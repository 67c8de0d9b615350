//! Snapshots from a running pipeline: when they are taken, how the cut stays consistent, and
//! the thread that writes them.
//!
//! # When
//!
//! [`SnapshotPolicy`] (in [`super::PipelineConfig::snapshots`]): every N journal records,
//! and/or every T, and on request ([`super::Control::snapshot`]). Periodic snapshots are
//! checked between batches, so "every N records" means after the batch that reached N; a
//! periodic snapshot is skipped while the previous one is still being written (the next batch
//! tries again), so a slow disk never piles up copies of the books. Nothing is taken when no
//! record was journaled since the last one.
//!
//! # A consistent cut
//!
//! A snapshot holds the books and the risk state as of one journal sequence number `N`.
//!
//! - [`super::Topology::Merged`]: one thread owns both, and after each command the risk engine
//!   has seen every event of it. Between two batches, the thread captures the books and the
//!   risk state; both are at `N`, the last record journaled.
//! - [`super::Topology::Split`]: the books live on the matching thread, the risk state on the
//!   risk thread, which learns of events through the post-trade ring and so lags. The cut is
//!   a marker that goes round both rings. The **risk thread** sends it, in order with the
//!   commands, to the matching thread (for a periodic snapshot, the matching thread asks for
//!   one on the post-trade ring first). The matching thread captures the books at `N`, the
//!   last record it journaled before the marker, and sends them back through the post-trade
//!   ring, behind the events of every command up to `N`. When the risk thread takes them from
//!   the ring it has applied exactly those events and none later; and from sending the marker
//!   until then it holds control requests back, so its settings are those of `N` too. Orders
//!   it checked in the meantime (commands after `N`, whose events are not in) are
//!   reservations, which captured risk state leaves out ([`crate::risk::state`]). It adds its
//!   risk state and hands the snapshot to the writer. Commands keep flowing all along; only
//!   controls wait for the cut.
//!
//! Before capturing, the matching thread flushes the journal up to `N` (one `msync` per
//! snapshot), so a snapshot on disk never includes records the journal could lose in a machine
//! crash.
//!
//! # Writing
//!
//! A thread of its own (`wm-snapshot`) serializes each snapshot and writes it atomically
//! ([`crate::journal::write_snapshot`]: temp file, fsync, rename, directory fsync), then
//! deletes all but the newest [`SnapshotPolicy::keep`]. A process killed mid-write leaves a
//! `.tmp` file that no reader looks at (and the next prune deletes): the previous snapshot
//! stays the newest. A failed periodic write is counted in the stats
//! ([`super::PipelineStats::snapshot_failures`]) and does not stop the pipeline: the journal
//! is the source of truth, and recovery only takes longer.
//!
//! # Pruning the journal
//!
//! With [`SnapshotPolicy::prune_segments`] the writer then removes the journal segments that
//! hold only records at or before the oldest snapshot kept that reads back whole, and never
//! the records after a saved venue state (`venue-<seq>.state`, [`crate::journal::held_seq`])
//! ([`crate::journal::prune_segments`]; counted in [`super::PipelineStats::segments_pruned`]):
//! deleted, or moved to [`crate::journal::JournalConfig::archive_dir`] when it is set.
//! Every snapshot kept stays a valid starting point, so a damaged newest one still falls back
//! to an older one; only when none of them is usable does recovery need the records pruned,
//! and then it fails, naming them ([`JournalError::Missing`]), instead of replaying from a gap.
//! The journal's disk use stays about `keep` snapshot intervals plus a segment or two; without
//! an archive, the price is that the journal no longer holds the whole history.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

use super::control::{ControlError, ControlReply, SnapshotInfo};
use super::message::SnapshotJob;
use crate::journal::{prune_point, prune_segments, prune_snapshots, write_snapshot, JournalError};
use crate::risk::RiskState;

/// When a pipeline takes snapshots (besides on request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// After this many journal records (commands and controls) since the last snapshot.
    pub every_records: Option<u64>,
    /// After this much time since the last snapshot (if anything was journaled).
    pub every: Option<Duration>,
    /// Snapshot files kept (the newest ones); at least 1.
    pub keep: usize,
    /// After each snapshot written, remove the journal segments that hold only records at or
    /// before the oldest snapshot kept (the oldest that reads back whole): recovery starts
    /// from a snapshot and needs none of them, and the journal's disk use stays bounded.
    /// Deleted, or moved to the journal's `archive_dir` when set. Off by default: the journal
    /// is also the audit trail, kept whole unless asked.
    pub prune_segments: bool,
}

impl Default for SnapshotPolicy {
    /// On request only; keep 3; the journal kept whole.
    fn default() -> Self {
        Self { every_records: None, every: None, keep: 3, prune_segments: false }
    }
}

impl SnapshotPolicy {
    /// Every `records` journal records; keep 3.
    pub fn every_records(records: u64) -> Self {
        Self { every_records: Some(records), ..Self::default() }
    }

    /// Every `interval`; keep 3.
    pub fn every(interval: Duration) -> Self {
        Self { every: Some(interval), ..Self::default() }
    }

    /// The same, keeping `keep` files.
    pub fn keep(mut self, keep: usize) -> Self {
        self.keep = keep;
        self
    }

    /// The same, pruning the journal behind the oldest snapshot kept (see
    /// [`Self::prune_segments`]).
    pub fn prune_segments(mut self, prune: bool) -> Self {
        self.prune_segments = prune;
        self
    }

    /// True when it takes snapshots on its own.
    pub fn is_periodic(&self) -> bool {
        self.every_records.is_some() || self.every.is_some()
    }
}

/// Counters the writer keeps, read by the stats.
#[derive(Debug, Default)]
pub(crate) struct SnapshotCounters {
    pub(crate) written: AtomicU64,
    pub(crate) failed: AtomicU64,
    /// Journal sequence number of the newest snapshot written (0: none).
    pub(crate) last_seq: AtomicU64,
    /// Jobs handed to the writer and not written yet.
    pub(crate) in_flight: AtomicUsize,
    /// Journal segments deleted ([`SnapshotPolicy::prune_segments`]).
    pub(crate) segments_pruned: AtomicU64,
}

/// Where cuts go: the writer thread's queue.
#[derive(Debug, Clone)]
pub(crate) struct SnapshotSink {
    tx: Sender<SnapshotJob>,
    counters: Arc<SnapshotCounters>,
}

impl SnapshotSink {
    pub(crate) fn new(tx: Sender<SnapshotJob>, counters: Arc<SnapshotCounters>) -> Self {
        Self { tx, counters }
    }

    /// True when no snapshot is being written.
    pub(crate) fn idle(&self) -> bool {
        self.counters.in_flight.load(Ordering::Acquire) == 0
    }

    /// Completes a cut with the risk state and queues it for writing.
    pub(crate) fn send(&self, mut job: SnapshotJob, risk: Option<RiskState>) {
        job.snapshot.risk = risk;
        self.counters.in_flight.fetch_add(1, Ordering::AcqRel);
        if let Err(back) = self.tx.send(job) {
            // The writer is gone (it only stops once every sink is dropped): cannot happen
            // while this sink lives, but answer rather than lose a request.
            self.counters.in_flight.fetch_sub(1, Ordering::AcqRel);
            if let Some(reply) = back.0.reply {
                let _ = reply.send(Err(ControlError::Stopped { op: "snapshot" }));
            }
        }
    }
}

/// When the next periodic snapshot is due; kept by the matching stage.
#[derive(Debug)]
pub(crate) struct SnapshotSchedule {
    every_records: Option<u64>,
    every_ns: Option<u64>,
    /// Records journaled since the last cut.
    pub(crate) since: u64,
    next_ns: u64,
}

impl SnapshotSchedule {
    pub(crate) fn new(policy: &SnapshotPolicy, now_ns: u64) -> Self {
        let every_ns = policy.every.map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Self {
            every_records: policy.every_records,
            every_ns,
            since: 0,
            next_ns: now_ns.saturating_add(every_ns.unwrap_or(0)),
        }
    }

    /// True when a periodic snapshot is due at `now_ns`.
    #[inline]
    pub(crate) fn due(&mut self, now_ns: u64) -> bool {
        let by_time = self.every_ns.is_some() && now_ns >= self.next_ns;
        if self.since == 0 {
            if by_time {
                // Nothing new: start the next interval now.
                self.reset(now_ns);
            }
            return false;
        }
        by_time || self.every_records.is_some_and(|n| self.since >= n)
    }

    /// A cut was taken at `now_ns`.
    pub(crate) fn reset(&mut self, now_ns: u64) {
        self.since = 0;
        self.next_ns = now_ns.saturating_add(self.every_ns.unwrap_or(0));
    }
}

/// The writer thread's loop: write, prune (snapshots; journal segments if the policy says so),
/// answer; until every sink is dropped.
pub(crate) fn run_writer(
    dir: PathBuf,
    archive: Option<PathBuf>,
    policy: SnapshotPolicy,
    rx: Receiver<SnapshotJob>,
    counters: Arc<SnapshotCounters>,
) {
    for job in rx {
        let seq = job.snapshot.journal_seq;
        let result = write_snapshot(&dir, &job.snapshot).and_then(|path| {
            prune_snapshots(&dir, policy.keep)?;
            if policy.prune_segments {
                let removed = prune_journal(&dir, archive.as_deref())?;
                counters.segments_pruned.fetch_add(removed as u64, Ordering::Relaxed);
            }
            Ok::<_, JournalError>(path)
        });
        match &result {
            Ok(_) => {
                counters.written.fetch_add(1, Ordering::Relaxed);
                counters.last_seq.store(seq, Ordering::Relaxed);
            }
            Err(_) => {
                counters.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        counters.in_flight.fetch_sub(1, Ordering::AcqRel);
        if let Some(reply) = job.reply {
            let answer = result
                .map(|path| ControlReply::Snapshot(SnapshotInfo { journal_seq: seq, path }))
                .map_err(|e| ControlError::Snapshot { op: "snapshot", why: e.to_string() });
            let _ = reply.send(answer);
        }
    }
}

/// Removes (deletes, or moves to `archive`) the journal segments behind the oldest snapshot of
/// `dir` that reads back whole (every snapshot recovery could start from stays usable), and
/// never the records a saved venue state needs ([`crate::journal::prune_point`]); returns how
/// many.
fn prune_journal(dir: &Path, archive: Option<&Path>) -> Result<usize, JournalError> {
    match prune_point(dir)? {
        Some(seq) => Ok(prune_segments(dir, seq, archive)?.len()),
        None => Ok(0),
    }
}

//! Where a pipeline starts from: the books and risk state recovered from its journal (the
//! newest snapshot that fits, then the journal tail), and [`RecoveryInfo`], what was used.
//! See the "Lifecycle" part of [`super`] for the rules.

use std::path::{Path, PathBuf};

use wintermute_core::Engine;

use super::error::PipelineError;
use super::risk_stage::{PostTradeSink, RiskStage};
use crate::journal::{self, RecoverOptions, RecoveryReport, Replayed, SnapshotWarning, TornTail};

/// What [`super::Pipeline::start`] recovered from the journal.
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

/// Opens the risk state and books from the journal in `dir`: the newest snapshot that fits,
/// then the tail (events into post-trade risk, controls into the risk settings).
pub(super) fn recover(
    dir: &Path,
    initial: &Engine,
    report: RecoveryReport,
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
        // A rejection reserved nothing and moved no position: nothing to restore.
        Replayed::Rejection(_) => {}
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

//! The journal from Python: an engine can write every input command to an append-only journal
//! (`Engine.open_journal`) and rebuild its books from it after a crash; `journal_read` reads a
//! journal back (for `wintermute journal` and exports), `journal_prune` removes the segments
//! behind its oldest snapshot.

use std::path::Path;
use std::time::Duration;

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wintermute_engine::journal::offline::{prune, read_columns, Rejections};
use wintermute_engine::journal::{JournalConfig, TornTail};
use wintermute_engine::journaled_engine::{fsync_policy, OpenedJournal};

use crate::errors::Result;

/// A journal configuration from the Python arguments.
pub(crate) fn config(
    path: &str,
    fsync: &str,
    segment_size: u64,
    batch_records: u32,
    batch_interval_ms: u64,
) -> Result<JournalConfig> {
    let policy = fsync_policy(fsync, batch_records, Duration::from_millis(batch_interval_ms))?;
    Ok(JournalConfig::new(path).segment_size(segment_size).fsync(policy))
}

/// A torn journal tail that was cut off, as a dict: `{"segment", "offset", "reason",
/// "removed_segments"}` (the same from `Engine.open_journal` and `Pipeline.recovery`).
pub(crate) fn torn_tail_dict<'py>(py: Python<'py>, t: Option<&TornTail>) -> Result<Option<Bound<'py, PyDict>>> {
    let Some(t) = t else { return Ok(None) };
    let d = PyDict::new(py);
    d.set_item("segment", t.segment.display().to_string())?;
    d.set_item("offset", t.offset)?;
    d.set_item("reason", t.reason)?;
    d.set_item("removed_segments", t.removed_segments.iter().map(|p| p.display().to_string()).collect::<Vec<_>>())?;
    Ok(Some(d))
}

/// What `Engine.open_journal` found, as a dict.
pub(crate) fn opened_dict<'py>(py: Python<'py>, opened: &OpenedJournal) -> Result<Bound<'py, PyDict>> {
    let r = &opened.report;
    let d = PyDict::new(py);
    d.set_item("segments", r.segments)?;
    d.set_item("records", r.records)?;
    d.set_item("last_seq", r.last_seq)?;
    d.set_item("replayed", opened.replayed)?;
    d.set_item("refused", opened.refused)?;
    d.set_item("snapshot", opened.snapshot.as_ref().map(|p| p.display().to_string()))?;
    d.set_item("truncated", torn_tail_dict(py, r.truncated.as_ref())?)?;
    Ok(d)
}

/// Reads the journal in `path` (records after `after_seq`): `{"seq": uint64 array,
/// "instrument": uint32 array, "wall_ns": uint64 array, "commands": 48-byte command records,
/// "controls": [(seq, JSON text), ...], "rejections": {"seq", "instrument", "wall_ns",
/// "commands", "reason"}, "client_order_ids": [(seq, id), ...]}`. `wall_ns` is each record's
/// wall-clock time as the engine journaled it (0 where the journal has none); risk rejections'
/// `reason` numbers `PIPELINE_RISK_CODES` from 1; client order ids are those of tagged
/// commands and rejections. Raises `JournalCorruptError` at the first invalid record, naming
/// its segment and offset.
#[pyfunction]
#[pyo3(signature = (path, after_seq=0))]
fn journal_read<'py>(py: Python<'py>, path: &str, after_seq: u64) -> Result<Bound<'py, PyDict>> {
    let columns = py.detach(|| read_columns(Path::new(path), after_seq))?;
    let d = PyDict::new(py);
    d.set_item("seq", PyArray1::from_vec(py, columns.seqs))?;
    d.set_item("instrument", PyArray1::from_vec(py, columns.instruments))?;
    d.set_item("wall_ns", PyArray1::from_vec(py, columns.wall_ns))?;
    d.set_item("commands", PyArray1::from_vec(py, columns.commands))?;
    d.set_item("controls", columns.controls)?;
    d.set_item("rejections", rejections_dict(py, columns.rejections)?)?;
    d.set_item("client_order_ids", columns.client_order_ids)?;
    Ok(d)
}

/// The `"rejections"` part of [`journal_read`]'s answer.
fn rejections_dict(py: Python<'_>, r: Rejections) -> Result<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("seq", PyArray1::from_vec(py, r.seqs))?;
    d.set_item("instrument", PyArray1::from_vec(py, r.instruments))?;
    d.set_item("wall_ns", PyArray1::from_vec(py, r.wall_ns))?;
    d.set_item("commands", PyArray1::from_vec(py, r.commands))?;
    d.set_item("reason", PyArray1::from_vec(py, r.reasons))?;
    Ok(d)
}

/// Removes the segments of the journal in `path` that hold only records at or before its
/// oldest snapshot that reads back whole (and before a saved venue state's record): deleted,
/// or moved to `archive`; with `dry_run`, only listed. Returns `{"snapshot_seq": int | None,
/// "held_seq": int | None, "segments": [paths], "archive": str | None, "dry_run": bool}` (no
/// usable snapshot: nothing removed).
#[pyfunction]
#[pyo3(signature = (path, archive=None, dry_run=false))]
fn journal_prune<'py>(py: Python<'py>, path: &str, archive: Option<&str>, dry_run: bool) -> Result<Bound<'py, PyDict>> {
    let pruned = py.detach(|| prune(Path::new(path), archive.map(Path::new), dry_run))?;
    let d = PyDict::new(py);
    d.set_item("snapshot_seq", pruned.snapshot_seq)?;
    d.set_item("held_seq", pruned.held_seq)?;
    d.set_item("segments", pruned.segments.iter().map(|p| p.display().to_string()).collect::<Vec<_>>())?;
    d.set_item("archive", archive)?;
    d.set_item("dry_run", dry_run)?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(journal_read, m)?)?;
    m.add_function(wrap_pyfunction!(journal_prune, m)?)
}

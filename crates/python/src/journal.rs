//! The journal from Python: an engine can write every input command to an append-only journal
//! (`Engine.open_journal`) and rebuild its books from it after a crash; `journal_read` reads a
//! journal back (for `wintermute journal` and exports), `journal_prune` removes the segments
//! behind its oldest snapshot.

use std::path::{Path, PathBuf};
use std::time::Duration;

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wintermute_core::records::encode_command;
use wintermute_engine::journal::{
    oldest_valid_snapshot, prune_segments, read_records, segments_behind, FsyncPolicy, JournalConfig, JournalError,
    JournalRecord, RecoveryReport,
};

use crate::errors;

/// Maps a journal error.
pub(crate) fn journal_error(py: Python<'_>, e: &JournalError) -> PyErr {
    let class = match e {
        JournalError::Corrupt { .. }
        | JournalError::InvalidCommand { .. }
        | JournalError::InvalidControl { .. }
        | JournalError::SequenceGap { .. } => "JournalCorruptError",
        _ => "JournalError",
    };
    errors::error(py, class, e.to_string(), Some("JOURNAL"))
}

/// A journal configuration from the Python arguments.
pub(crate) fn config(
    py: Python<'_>,
    path: &str,
    fsync: &str,
    segment_size: u64,
    batch_records: u32,
    batch_interval_ms: u64,
) -> PyResult<JournalConfig> {
    let policy = match fsync {
        "none" => FsyncPolicy::None,
        "batch" => FsyncPolicy::Batch { records: batch_records, interval: Duration::from_millis(batch_interval_ms) },
        "every" => FsyncPolicy::EveryRecord,
        other => {
            return Err(errors::error(
                py,
                "JournalError",
                format!("fsync={other:?}: expected 'none', 'batch' or 'every'"),
                Some("JOURNAL"),
            ))
        }
    };
    Ok(JournalConfig::new(path).segment_size(segment_size).fsync(policy))
}

/// The recovery report of `Journal::open`, as a dict.
pub(crate) fn report_dict<'py>(
    py: Python<'py>,
    r: &RecoveryReport,
    replayed: u64,
    refused: u64,
    snapshot: Option<&Path>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("segments", r.segments)?;
    d.set_item("records", r.records)?;
    d.set_item("last_seq", r.last_seq)?;
    d.set_item("replayed", replayed)?;
    d.set_item("refused", refused)?;
    d.set_item("snapshot", snapshot.map(|p| p.display().to_string()))?;
    match &r.truncated {
        None => d.set_item("truncated", py.None())?,
        Some(t) => {
            let td = PyDict::new(py);
            td.set_item("segment", t.segment.display().to_string())?;
            td.set_item("offset", t.offset)?;
            td.set_item("reason", t.reason)?;
            td.set_item(
                "removed_segments",
                t.removed_segments.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            )?;
            d.set_item("truncated", td)?;
        }
    }
    Ok(d)
}

/// Journal entries as columns: sequence numbers, instrument ids, command records; and the
/// control records (runtime risk changes) as `(seq, JSON)`.
type Columns = (Vec<u64>, Vec<u32>, Vec<u8>, Vec<(u64, String)>);

/// Reads the journal in `path` (records after `after_seq`): `{"seq": uint64 array,
/// "instrument": uint32 array, "commands": 48-byte command records, "controls": [(seq, JSON
/// text), ...]}`. Raises `JournalCorruptError` at the first invalid record, naming its segment
/// and offset.
#[pyfunction]
#[pyo3(signature = (path, after_seq=0))]
fn journal_read<'py>(py: Python<'py>, path: &str, after_seq: u64) -> PyResult<Bound<'py, PyDict>> {
    let result = py.detach(|| -> Result<Columns, JournalError> {
        let (mut seqs, mut instruments, mut commands, mut controls) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for record in read_records(Path::new(path), after_seq)? {
            match record? {
                JournalRecord::Command(entry) => {
                    seqs.push(entry.seq);
                    instruments.push(entry.instrument);
                    commands.extend_from_slice(&encode_command(&entry.command));
                }
                JournalRecord::Control(c) => {
                    let json = serde_json::to_string(&c.control)
                        .map_err(|_| JournalError::InvalidControl { seq: c.seq, why: "cannot be written as JSON" })?;
                    controls.push((c.seq, json));
                }
            }
        }
        Ok((seqs, instruments, commands, controls))
    });
    let (seqs, instruments, commands, controls) = result.map_err(|e| journal_error(py, &e))?;
    let d = PyDict::new(py);
    d.set_item("seq", PyArray1::from_vec(py, seqs))?;
    d.set_item("instrument", PyArray1::from_vec(py, instruments))?;
    d.set_item("commands", PyArray1::from_vec(py, commands))?;
    d.set_item("controls", controls)?;
    Ok(d)
}

/// Removes the segments of the journal in `path` that hold only records at or before its
/// oldest snapshot that reads back whole: deleted, or moved to `archive`; with `dry_run`,
/// only listed. Returns `{"snapshot_seq": int | None, "segments": [paths], "archive": str |
/// None, "dry_run": bool}` (no usable snapshot: nothing removed).
#[pyfunction]
#[pyo3(signature = (path, archive=None, dry_run=false))]
fn journal_prune<'py>(
    py: Python<'py>,
    path: &str,
    archive: Option<&str>,
    dry_run: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let dir = Path::new(path);
    let result = py.detach(|| -> Result<(Option<u64>, Vec<PathBuf>), JournalError> {
        if !dir.is_dir() {
            return Err(JournalError::Config { why: format!("{path} is not a directory") });
        }
        let Some(seq) = oldest_valid_snapshot(dir)? else { return Ok((None, Vec::new())) };
        if dry_run {
            return Ok((Some(seq), segments_behind(dir, seq)?));
        }
        Ok((Some(seq), prune_segments(dir, seq, archive.map(Path::new))?))
    });
    let (seq, segments) = result.map_err(|e| journal_error(py, &e))?;
    let d = PyDict::new(py);
    d.set_item("snapshot_seq", seq)?;
    d.set_item("segments", segments.iter().map(|p| p.display().to_string()).collect::<Vec<_>>())?;
    d.set_item("archive", archive)?;
    d.set_item("dry_run", dry_run)?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(journal_read, m)?)?;
    m.add_function(wrap_pyfunction!(journal_prune, m)?)
}

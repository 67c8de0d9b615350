//! Snapshots: every book of an engine, the post-trade risk state when there is one, and the
//! journal sequence number they include.
//!
//! A snapshot file `snapshot-<journal seq>.snap` is one header line, then JSON:
//!
//! ```text
//! wintermute-snapshot v2 len=<bytes of JSON> crc32c=<8 hex digits>
//! {"journal_seq":1234,"books":[{"spec":{...},"seq":...,"orders":[...]}, ...],"risk":{...}}
//! ```
//!
//! Version 2 added the optional `risk` part ([`crate::risk::RiskState`]); version 1 files
//! (books only) still read, as snapshots without risk state. A reader that knows only v1
//! passes a v2 file over (its header does not match) and falls back to an older snapshot or
//! to the whole journal, never to a wrong state.
//!
//! It is written atomically: to a `.tmp` file, fsynced, renamed over the final name, and the
//! directory fsynced. A reader therefore sees either no file or a whole one; the length and
//! CRC in the header still catch a file damaged later. [`load_latest_snapshot`] takes the
//! newest snapshot that checks out and reports the ones it had to pass over.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wintermute_core::{BookSnapshot, Engine, OrderBook};

use crate::risk::RiskState;

use super::segment::sync_dir;
use super::JournalError;

const MAGIC: &str = "wintermute-snapshot v2";
/// Headers this version reads.
const READ_MAGICS: [&str; 2] = ["wintermute-snapshot v2", "wintermute-snapshot v1"];
const PREFIX: &str = "snapshot-";
const EXT: &str = ".snap";

/// Every book of an engine, in instrument id order, after journal record `journal_seq`, and
/// the risk state at the same point when the engine runs with risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineSnapshot {
    /// The last journal record whose effects are included (0: none).
    pub journal_seq: u64,
    /// `books[i]` is instrument id `i`.
    pub books: Vec<BookSnapshot>,
    /// Post-trade risk and risk settings as of `journal_seq` (`None`: taken without risk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskState>,
}

impl EngineSnapshot {
    /// Captures `engine` as of journal record `journal_seq` (no risk state).
    pub fn capture(engine: &Engine, journal_seq: u64) -> Self {
        Self { journal_seq, books: engine.books().iter().map(OrderBook::snapshot).collect(), risk: None }
    }

    /// Rebuilds the engine (same instrument ids).
    pub fn restore(&self, path: &Path) -> Result<Engine, JournalError> {
        let bad = |why: String| JournalError::Snapshot { path: path.to_path_buf(), why };
        let mut engine = Engine::new();
        for book in &self.books {
            let symbol = &book.spec.symbol;
            let book = OrderBook::restore(book).map_err(|e| bad(format!("book symbol={symbol}: {e}")))?;
            engine.add_book(book).map_err(|e| bad(e.to_string()))?;
        }
        Ok(engine)
    }
}

/// A snapshot file passed over because it did not check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotWarning {
    pub path: PathBuf,
    pub why: String,
}

/// The file name of the snapshot after journal record `journal_seq`.
pub fn snapshot_name(journal_seq: u64) -> String {
    format!("{PREFIX}{journal_seq:020}{EXT}")
}

/// Writes `snapshot` into `dir` atomically; returns its path.
pub fn write_snapshot(dir: &Path, snapshot: &EngineSnapshot) -> Result<PathBuf, JournalError> {
    let path = dir.join(snapshot_name(snapshot.journal_seq));
    let tmp = dir.join(format!("{}.tmp", snapshot_name(snapshot.journal_seq)));
    let json = serde_json::to_vec(snapshot)
        .map_err(|e| JournalError::Snapshot { path: path.clone(), why: format!("serialize: {e}") })?;
    let header = format!("{MAGIC} len={} crc32c={:08x}\n", json.len(), crc32c::crc32c(&json));
    let write = |file: &mut File| -> std::io::Result<()> {
        file.write_all(header.as_bytes())?;
        file.write_all(&json)?;
        file.sync_all()
    };
    let mut file = File::create(&tmp).map_err(|e| JournalError::io("create", &tmp, e))?;
    write(&mut file).map_err(|e| JournalError::io("write", &tmp, e))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(|e| JournalError::io("rename", &tmp, e))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Reads and checks one snapshot file.
pub fn read_snapshot(path: &Path) -> Result<EngineSnapshot, JournalError> {
    let bad = |why: String| JournalError::Snapshot { path: path.to_path_buf(), why };
    let bytes = fs::read(path).map_err(|e| JournalError::io("read", path, e))?;
    let nl = bytes.iter().position(|&b| b == b'\n').ok_or_else(|| bad("no header line".into()))?;
    let header = std::str::from_utf8(&bytes[..nl]).map_err(|_| bad("header is not UTF-8".into()))?;
    let body = &bytes[nl + 1..];
    let fields = READ_MAGICS
        .iter()
        .find_map(|m| header.strip_prefix(m))
        .ok_or_else(|| bad(format!("header does not start with {MAGIC:?} (or v1)")))?;
    let mut len = None;
    let mut crc = None;
    for field in fields.split_whitespace() {
        match field.split_once('=') {
            Some(("len", v)) => len = v.parse::<usize>().ok(),
            Some(("crc32c", v)) => crc = u32::from_str_radix(v, 16).ok(),
            _ => return Err(bad(format!("unknown header field {field:?}"))),
        }
    }
    let (len, crc) = len.zip(crc).ok_or_else(|| bad("header needs len= and crc32c=".into()))?;
    if body.len() != len {
        return Err(bad(format!("length mismatch: header len={len}, body len={}", body.len())));
    }
    let actual = crc32c::crc32c(body);
    if actual != crc {
        return Err(bad(format!("CRC mismatch: header crc32c={crc:08x}, body crc32c={actual:08x}")));
    }
    serde_json::from_slice(body).map_err(|e| bad(format!("JSON: {e}")))
}

/// Snapshot files of `dir`, newest (highest journal seq) first.
pub fn list_snapshots(dir: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| JournalError::io("read_dir", dir, e))? {
        let path = entry.map_err(|e| JournalError::io("read_dir", dir, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some(seq) = name.strip_prefix(PREFIX).and_then(|n| n.strip_suffix(EXT)).and_then(|n| n.parse().ok()) {
            out.push((seq, path));
        }
    }
    out.sort_by(|a, b| b.cmp(a));
    Ok(out)
}

/// A snapshot read back, and its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedSnapshot {
    pub path: PathBuf,
    pub snapshot: EngineSnapshot,
}

/// The newest snapshot of `dir` that checks out (`None`: there is none), and a warning for
/// each newer one that did not.
pub fn load_latest_snapshot(dir: &Path) -> Result<(Option<LoadedSnapshot>, Vec<SnapshotWarning>), JournalError> {
    let mut warnings = Vec::new();
    for (seq, path) in list_snapshots(dir)? {
        match read_snapshot(&path) {
            Ok(snapshot) if snapshot.journal_seq == seq => {
                return Ok((Some(LoadedSnapshot { path, snapshot }), warnings))
            }
            Ok(s) => warnings.push(SnapshotWarning {
                why: format!("file name says journal_seq={seq}, content says journal_seq={}", s.journal_seq),
                path,
            }),
            Err(e) => warnings.push(SnapshotWarning { path, why: e.to_string() }),
        }
    }
    Ok((None, warnings))
}

/// Deletes all but the `keep` newest snapshot files of `dir` (and any `.tmp` file a writer left
/// behind when it died mid-write); returns what it deleted. `keep` 0 is taken as 1.
pub fn prune_snapshots(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, JournalError> {
    let mut removed = Vec::new();
    for (_, path) in list_snapshots(dir)?.into_iter().skip(keep.max(1)) {
        fs::remove_file(&path).map_err(|e| JournalError::io("remove", &path, e))?;
        removed.push(path);
    }
    for entry in fs::read_dir(dir).map_err(|e| JournalError::io("read_dir", dir, e))? {
        let path = entry.map_err(|e| JournalError::io("read_dir", dir, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.starts_with(PREFIX) && name.ends_with(".snap.tmp") {
            fs::remove_file(&path).map_err(|e| JournalError::io("remove", &path, e))?;
            removed.push(path);
        }
    }
    if !removed.is_empty() {
        sync_dir(dir)?;
    }
    Ok(removed)
}

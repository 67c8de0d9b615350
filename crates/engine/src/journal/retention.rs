//! Retention: removing (or archiving) the segments that snapshots made unnecessary for
//! recovery. A pipeline does it after each snapshot when its snapshot policy says so.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::JournalError;
use super::segment;
use super::snapshot::{list_snapshots, read_snapshot};

/// Removes the segments of `dir` that hold only records at or before `seq` (each one whose
/// successor starts at or before `seq + 1`); the last segment always stays. With `archive`
/// they are moved there (the directory created if missing; renamed, or across filesystems
/// copied, synced and then deleted; an archive that already holds a segment of the same name
/// is an error, nothing overwritten), else deleted. Returns the paths removed from `dir`, oldest first. Recovery from a snapshot
/// at `seq` or later needs none of them.
///
/// Safe beside a running writer of the directory: it never removes the segment being written
/// (the last one listed, or a later one), and a segment removed while mapped stays valid for
/// whoever maps it.
pub fn prune_segments(dir: &Path, seq: u64, archive: Option<&Path>) -> Result<Vec<PathBuf>, JournalError> {
    let behind = segments_behind(dir, seq)?;
    if let (Some(to), false) = (archive, behind.is_empty()) {
        fs::create_dir_all(to).map_err(|e| JournalError::io("create_dir", to, e))?;
    }
    let mut removed = Vec::new();
    for path in behind {
        let done = match archive {
            Some(to) => archive_segment(&path, to),
            None => fs::remove_file(&path).map_err(|e| JournalError::io("remove", &path, e)),
        };
        if let Err(e) = done {
            // What was removed so far stays removed: make it durable, then report.
            if !removed.is_empty() {
                let _ = segment::sync_dir(dir);
            }
            return Err(e);
        }
        removed.push(path);
    }
    if !removed.is_empty() {
        if let Some(to) = archive {
            segment::sync_dir(to)?;
        }
        segment::sync_dir(dir)?;
    }
    Ok(removed)
}

/// The segments of `dir` that [`prune_segments`] with `seq` would remove, oldest first.
pub fn segments_behind(dir: &Path, seq: u64) -> Result<Vec<PathBuf>, JournalError> {
    let segments = segment::list_segments(dir)?;
    Ok(segments
        .windows(2)
        .take_while(|pair| pair[1].0 <= seq.saturating_add(1))
        .map(|pair| pair[0].1.clone())
        .collect())
}

/// The journal sequence number of the oldest snapshot in `dir` that reads back whole (`None`:
/// none does): pruning up to it keeps every snapshot recovery could start from usable.
pub fn oldest_valid_snapshot(dir: &Path) -> Result<Option<u64>, JournalError> {
    let mut snapshots = list_snapshots(dir)?;
    snapshots.reverse();
    Ok(snapshots.into_iter().find(|(_, path)| read_snapshot(path).is_ok()).map(|(seq, _)| seq))
}

/// Names of saved venue states (`venue-<journal seq, 20 digits>.state`): the service's venue
/// saves its state as of a journal record there and replays the records after it on restart.
const HOLD_PREFIX: &str = "venue-";
const HOLD_EXT: &str = ".state";

/// The file name of a venue state saved as of journal record `journal_seq`: while it is in
/// the journal directory, pruning keeps every record after `journal_seq`.
pub fn held_state_name(journal_seq: u64) -> String {
    format!("{HOLD_PREFIX}{journal_seq:020}{HOLD_EXT}")
}

/// The oldest journal sequence number a saved venue state in `dir` holds (`None`: none does;
/// see [`held_state_name`]).
pub fn held_seq(dir: &Path) -> Result<Option<u64>, JournalError> {
    let mut held: Option<u64> = None;
    for entry in fs::read_dir(dir).map_err(|e| JournalError::io("read_dir", dir, e))? {
        let path = entry.map_err(|e| JournalError::io("read_dir", dir, e))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let seq = name.strip_prefix(HOLD_PREFIX).and_then(|n| n.strip_suffix(HOLD_EXT));
        if let Some(seq) = seq.filter(|s| s.len() == 20).and_then(|s| s.parse::<u64>().ok()) {
            held = Some(held.map_or(seq, |h| h.min(seq)));
        }
    }
    Ok(held)
}

/// Where pruning may cut the journal in `dir`: at its oldest snapshot that reads back whole,
/// but never past the oldest record a saved venue state needs ([`held_seq`]). `None`: no
/// snapshot reads back, nothing may go.
pub fn prune_point(dir: &Path) -> Result<Option<u64>, JournalError> {
    let Some(snapshot) = oldest_valid_snapshot(dir)? else { return Ok(None) };
    Ok(Some(held_seq(dir)?.map_or(snapshot, |held| snapshot.min(held))))
}

/// Moves one segment file into the `archive` directory (see [`prune_segments`]).
fn archive_segment(path: &Path, archive: &Path) -> Result<(), JournalError> {
    let name = path.file_name().ok_or_else(|| JournalError::BadSegmentName { path: path.to_path_buf() })?;
    let target = archive.join(name);
    if target.try_exists().map_err(|e| JournalError::io("stat", &target, e))? {
        return Err(JournalError::io("archive", &target, std::io::ErrorKind::AlreadyExists.into()));
    }
    match fs::rename(path, &target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            let mut tmp = target.clone().into_os_string();
            tmp.push(".tmp");
            let tmp = PathBuf::from(tmp);
            fs::copy(path, &tmp).map_err(|e| JournalError::io("archive copy", &tmp, e))?;
            fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| JournalError::io("fsync", &tmp, e))?;
            fs::rename(&tmp, &target).map_err(|e| JournalError::io("rename", &tmp, e))?;
            segment::sync_dir(archive)?;
            fs::remove_file(path).map_err(|e| JournalError::io("remove", path, e))
        }
        Err(e) => Err(JournalError::io("archive", path, e)),
    }
}

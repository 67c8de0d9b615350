//! Journal durability off the matching thread.
//!
//! With [`JournalSync::Inline`] the journal's own [`crate::journal::FsyncPolicy`] applies, and
//! its flushes (`msync`) run inside `append`, on the matching thread: with `Batch` the thread
//! stops for one disk flush every N records or T time, and every command queued behind it waits
//! too.
//!
//! [`JournalSync::Background`] moves the flush to a thread of its own (`wm-journal-sync`): the
//! matching thread appends with `FsyncPolicy::None` (records reach the page cache through the
//! memory map — safe from a process crash as soon as `append` returns), and the sync thread
//! calls `fdatasync` on the newest segment files every `interval` (and on the directory when a
//! segment appears). On Linux a file's `fdatasync` writes back the pages dirtied through a
//! shared mapping of it, exactly as `msync` would. Nothing is shared with the matching thread:
//! the sync thread only reads the directory.
//!
//! The guarantee is time-based, like `Batch { interval }`: after a machine crash, at most the
//! last `interval` (plus one flush) of commands is lost, but the matching thread never waits
//! for the disk. The journal is flushed once more, inline, at shutdown.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::journal::segment::{list_segments, sync_dir};
use crate::journal::JournalError;

/// Where journal flushes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalSync {
    /// On the matching thread, by the journal's own fsync policy.
    Inline,
    /// On a sync thread, every `interval` (the journal's own policy is set to `None`).
    Background { interval: Duration },
}

/// What the sync thread shares with the pipeline.
#[derive(Debug, Default)]
pub(crate) struct SyncState {
    pub(crate) stop: AtomicBool,
    /// Flush rounds done.
    pub(crate) rounds: AtomicU64,
}

/// The sync thread's loop: flush, sleep `interval` (or until unparked to stop), again.
pub(crate) fn run_syncer(dir: PathBuf, interval: Duration, state: Arc<SyncState>) -> Result<(), JournalError> {
    let mut segments_seen = 0;
    loop {
        let stopping = state.stop.load(Ordering::Acquire);
        segments_seen = sync_once(&dir, segments_seen)?;
        state.rounds.fetch_add(1, Ordering::Relaxed);
        if stopping {
            return Ok(());
        }
        std::thread::park_timeout(interval);
    }
}

/// Flushes the two newest segments (a roll may have just happened) and, when the segment
/// count changed, the directory. Returns the segment count.
fn sync_once(dir: &Path, segments_seen: usize) -> Result<usize, JournalError> {
    let segments = list_segments(dir)?;
    for (_, path) in segments.iter().rev().take(2) {
        let file = match File::open(path) {
            Ok(file) => file,
            // Pruned since it was listed (`SnapshotPolicy::prune_segments`): nothing to flush.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(JournalError::Io { op: "open", path: path.clone(), source: e }),
        };
        file.sync_data().map_err(|e| JournalError::Io { op: "fdatasync", path: path.clone(), source: e })?;
    }
    if segments.len() != segments_seen {
        sync_dir(dir)?;
    }
    Ok(segments.len())
}

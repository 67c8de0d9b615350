//! Where and how a journal is written: [`JournalConfig`] (directory, segment size, roller,
//! archive) and [`FsyncPolicy`] (when appended records reach the disk).

use std::path::PathBuf;
use std::time::Duration;

/// When appended records are flushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Never explicitly (the OS writes pages back when it likes; [`super::Journal::sync`] still works).
    None,
    /// When `records` records are pending or `interval` has passed since the last flush,
    /// checked on each append.
    Batch { records: u32, interval: Duration },
    /// After every record (slow: one `msync` per command).
    EveryRecord,
}

/// Where and how a journal is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalConfig {
    pub dir: PathBuf,
    /// Bytes per segment file; at least one command record (and at least
    /// [`super::MAX_RECORD_SIZE`] to hold control records).
    pub segment_size: u64,
    pub fsync: FsyncPolicy,
    /// Keep the next segment ready and unmap full ones on a thread of the journal's own, so
    /// that a roll costs the writer a rename instead of milliseconds (see [`super::roller`]).
    pub prepare_segments: bool,
    /// Populate segments writable before the writer gets to them (`MADV_POPULATE_WRITE`, Linux
    /// 5.14+): the first one when the journal opens, every spare on the roller thread. The
    /// writer then takes no first-write page faults. Each populated page is dirty until
    /// written back: a whole-file flush (the pipeline's background sync) would write the
    /// zeros ahead of the writer to disk, so the pipeline turns this off with it. See
    /// [`super::roller`].
    pub populate: bool,
    /// Where pruned segments go ([`super::prune_segments`], `SnapshotPolicy::prune_segments` of a
    /// pipeline): `None`, deleted; `Some(dir)`, moved there, where they stay a journal
    /// directory of their own that `read_records` and the `wintermute journal` tools read.
    pub archive_dir: Option<PathBuf>,
}

impl JournalConfig {
    /// 64 MiB segments, batched fsync (every 1,000 records or 10 ms), segments prepared and
    /// populated ahead.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            segment_size: 64 << 20,
            fsync: FsyncPolicy::Batch { records: 1000, interval: Duration::from_millis(10) },
            prepare_segments: true,
            populate: true,
            archive_dir: None,
        }
    }

    /// The same config with another segment size.
    pub fn segment_size(mut self, bytes: u64) -> Self {
        self.segment_size = bytes;
        self
    }

    /// The same config with another fsync policy.
    pub fn fsync(mut self, policy: FsyncPolicy) -> Self {
        self.fsync = policy;
        self
    }

    /// The same config with the roller thread on or off (off: the writer creates and unmaps
    /// segments itself, inside the `append` that rolls).
    pub fn prepare_segments(mut self, on: bool) -> Self {
        self.prepare_segments = on;
        self
    }

    /// The same config with populating on or off.
    pub fn populate(mut self, on: bool) -> Self {
        self.populate = on;
        self
    }

    /// The same config, pruned segments moved to `dir` instead of deleted.
    pub fn archive_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.archive_dir = Some(dir.into());
        self
    }
}

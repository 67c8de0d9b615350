//! The journal: an append-only log of sequenced input commands, from which every book state
//! can be rebuilt.
//!
//! ```
//! use wintermute_engine::journal::{read_entries, FsyncPolicy, Journal, JournalConfig};
//! use wintermute_core::{Command, NewOrder, Side};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let config = JournalConfig::new(dir.path()).segment_size(1 << 20).fsync(FsyncPolicy::None);
//! let (mut journal, report) = Journal::open(config.clone()).unwrap();
//! assert!(report.truncated.is_none());
//! let seq = journal.append(0, &Command::New(NewOrder::limit(1, 7, Side::Buy, 100, 5))).unwrap();
//! assert_eq!(seq, 1);
//! journal.close().unwrap();
//!
//! let entries: Vec<_> = read_entries(dir.path(), 0).unwrap().collect::<Result<_, _>>().unwrap();
//! assert_eq!(entries[0].command, Command::New(NewOrder::limit(1, 7, Side::Buy, 100, 5)));
//! ```
//!
//! # On disk
//!
//! A journal is a directory of *segments* (`<first seq>.wal`, fixed size, memory-mapped while
//! written, see [`segment`]) holding *records* (length + CRC32C + payload, see [`record`]): one
//! per input command, with the instrument id and a journal sequence number that grows by one
//! per record, and one per runtime change of risk settings ([`control`]), in the same sequence.
//! Snapshots of the books and risk state ([`snapshot`]) sit in the same directory, and while a
//! writer runs, its next segment (`next.spare`, see [`roller`]), which nothing reads.
//!
//! [`read_entries`] reads the commands (skipping control records); [`read_records`] reads
//! both, in order.
//!
//! # Durability
//!
//! Records are written into the mapped file, so they survive a crash of the process as soon as
//! [`Journal::append`] returns. Surviving a crash of the *machine* needs the pages on disk:
//! [`FsyncPolicy`] chooses when to `msync` (never, every N records or T time, every record).
//!
//! # Recovery
//!
//! [`Journal::open`] scans every segment and checks every CRC and that sequence numbers follow
//! each other. What it finds:
//! - all records valid: the journal continues after the last one;
//! - an invalid record (torn write, bad CRC) with **no valid record after it**: a torn tail. It
//!   is cut off (zeroed), and reported in [`RecoveryReport::truncated`] — the caller decides
//!   whether to log or alarm;
//! - an invalid record **followed by valid ones**: damage in the middle. Opening fails with
//!   [`JournalError::Corrupt`] naming the segment file and byte offset; nothing is skipped.
//!
//! Rebuilding the books is [`recovery::recover`]: the newest valid snapshot, then the journal
//! tail replayed through `OrderBook::execute`. The result equals the original state, event for
//! event.
//!
//! One writer at a time: [`Journal::open`] takes an exclusive OS lock on `DIR/LOCK` for the
//! writer's lifetime and fails with [`JournalError::Locked`] while another writer holds it (the
//! memory map relies on a single writer). Readers ([`read_entries`]) take no lock.

pub mod control;
pub mod record;
pub mod recovery;
pub mod roller;
pub mod segment;
pub mod snapshot;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wintermute_core::order::Command;
use wintermute_core::InstrumentId;

pub use control::ControlRecord;
pub use record::{ControlEntry, JournalEntry, JournalRecord, CONTROL_RECORD_SIZE, MAX_RECORD_SIZE, RECORD_SIZE};
pub use recovery::{
    apply, recover, recover_records, recover_with, Outcome, RecoverOptions, Recovered, Replayed, ReplayedEvent,
};
pub use snapshot::{
    load_latest_snapshot, prune_snapshots, read_snapshot, write_snapshot, EngineSnapshot, LoadedSnapshot,
    SnapshotWarning,
};

use record::{DecodeError, RawRecord};
use roller::Roller;
use segment::{ActiveSegment, ScanEnd};

/// What went wrong with a journal. Messages carry `key=value` context.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal io op={op} path={}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("journal corrupt segment={} offset={offset}: {reason}; valid records follow, refusing to skip them", segment.display())]
    Corrupt { segment: PathBuf, offset: u64, reason: &'static str },
    #[error("journal sequence gap segment={} offset={offset}: expected seq={expected}, found seq={found}", segment.display())]
    SequenceGap { segment: PathBuf, offset: u64, expected: u64, found: u64 },
    #[error("journal segment name is not <first seq>.wal path={}", path.display())]
    BadSegmentName { path: PathBuf },
    #[error("journal record seq={seq} holds an invalid command: {source}")]
    InvalidCommand {
        seq: u64,
        #[source]
        source: wintermute_core::OrderError,
    },
    #[error("journal record seq={seq} holds an invalid control: {why}")]
    InvalidControl { seq: u64, why: &'static str },
    #[error("journal record seq={seq} names unknown instrument={instrument}")]
    UnknownInstrument { seq: u64, instrument: InstrumentId },
    #[error("journal config invalid: {why}")]
    Config { why: String },
    #[error("journal dir={} is open in another writer (lock file {} is held)", dir.display(), LOCK_FILE)]
    Locked { dir: PathBuf },
    #[error("snapshot path={}: {why}", path.display())]
    Snapshot { path: PathBuf, why: String },
    #[error(
        "journal records missing dir={}: recovery starts after seq={after} but the journal's first record is seq={first} \
         (segments were pruned or deleted); it needs a snapshot at seq>={} or the segments back",
        dir.display(), first.saturating_sub(1)
    )]
    Missing { dir: PathBuf, after: u64, first: u64 },
}

impl JournalError {
    pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> Self {
        JournalError::Io { op, path: path.to_path_buf(), source }
    }

    fn decode(seq: u64, e: DecodeError) -> Self {
        match e {
            DecodeError::Command(source) => JournalError::InvalidCommand { seq, source },
            DecodeError::Control(why) => JournalError::InvalidControl { seq, why },
        }
    }
}

/// When appended records are flushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Never explicitly (the OS writes pages back when it likes; [`Journal::sync`] still works).
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
    /// [`MAX_RECORD_SIZE`] to hold control records).
    pub segment_size: u64,
    pub fsync: FsyncPolicy,
    /// Keep the next segment ready and unmap full ones on a thread of the journal's own, so
    /// that a roll costs the writer a rename instead of milliseconds (see [`roller`]).
    pub prepare_segments: bool,
    /// Populate segments writable before the writer gets to them (`MADV_POPULATE_WRITE`, Linux
    /// 5.14+): the first one when the journal opens, every spare on the roller thread. The
    /// writer then takes no first-write page faults. Each populated page is dirty until
    /// written back: a whole-file flush (the pipeline's background sync) would write the
    /// zeros ahead of the writer to disk, so the pipeline turns this off with it. See
    /// [`roller`].
    pub populate: bool,
    /// Where pruned segments go ([`prune_segments`], `SnapshotPolicy::prune_segments` of a
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

/// How segment rolls went ([`Journal::roll_stats`], [`RollWatch::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RollStats {
    /// Rolls to a new segment since the journal opened.
    pub rolls: u64,
    /// Rolls that took the roller's spare segment (the others created theirs inline).
    pub prepared: u64,
    /// Spares the roller failed to make (the writer then created the segment itself).
    pub roller_failures: u64,
    /// Segments the kernel would not populate (a kernel before 5.14, or out of memory; the
    /// writer then takes their page faults itself, as without populating).
    pub populate_failures: u64,
    /// The longest roll, as the writer's thread saw it (inside the `append` that rolled).
    pub longest: Duration,
}

/// The roll counters, written by the writer at each roll (and by the roller thread when it
/// fails), never per record.
#[derive(Debug, Default)]
pub(crate) struct RollCounters {
    rolls: AtomicU64,
    prepared: AtomicU64,
    pub(crate) roller_failures: AtomicU64,
    pub(crate) populate_failures: AtomicU64,
    longest_ns: AtomicU64,
}

/// A handle on a journal's roll counters that another thread can read while the writer
/// appends ([`Journal::roll_watch`]; a pipeline reports them in its stats).
#[derive(Debug, Clone, Default)]
pub struct RollWatch(Arc<RollCounters>);

impl RollWatch {
    /// The counters now.
    pub fn stats(&self) -> RollStats {
        let c = &self.0;
        RollStats {
            rolls: c.rolls.load(Ordering::Relaxed),
            prepared: c.prepared.load(Ordering::Relaxed),
            roller_failures: c.roller_failures.load(Ordering::Relaxed),
            populate_failures: c.populate_failures.load(Ordering::Relaxed),
            longest: Duration::from_nanos(c.longest_ns.load(Ordering::Relaxed)),
        }
    }
}

/// A torn tail that recovery cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    pub segment: PathBuf,
    /// Where the cut was made (the first invalid byte).
    pub offset: u64,
    pub reason: &'static str,
    /// Later segment files that held no valid record and were deleted.
    pub removed_segments: Vec<PathBuf>,
}

/// What [`Journal::open`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecoveryReport {
    pub segments: usize,
    /// Valid records found.
    pub records: u64,
    /// Sequence number of the last valid record (0: none).
    pub last_seq: u64,
    /// `Some` when a torn tail was cut off: a warning, not an error.
    pub truncated: Option<TornTail>,
}

/// The writer. See the module docs.
#[derive(Debug)]
pub struct Journal {
    config: JournalConfig,
    active: ActiveSegment,
    next_seq: u64,
    pending: u32,
    last_sync: Instant,
    /// A segment was renamed into place and the directory not synced since.
    dir_dirty: bool,
    rolls: RollWatch,
    /// Declared before `_lock`: stopped and joined (its spare deleted) before the lock goes,
    /// so it never touches the directory of a writer that opens after this one.
    roller: Option<Roller>,
    /// The directory's lock: held (an OS file lock) for as long as this writer lives.
    _lock: fs::File,
}

/// The file whose exclusive lock marks a journal directory as open for writing.
pub const LOCK_FILE: &str = "LOCK";

/// Takes the directory's writer lock; fails with [`JournalError::Locked`] if another writer (in
/// this or another process) holds it. The OS drops the lock when the file closes or the process
/// dies, so a crash never leaves a stale lock.
fn lock_dir(dir: &Path) -> Result<fs::File, JournalError> {
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| JournalError::io("open_lock", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(JournalError::Locked { dir: dir.to_path_buf() }),
        Err(fs::TryLockError::Error(e)) => Err(JournalError::io("lock", &path, e)),
    }
}

impl Journal {
    /// Opens (or creates) the journal in `config.dir`, recovering it as the module docs say.
    pub fn open(config: JournalConfig) -> Result<(Journal, RecoveryReport), JournalError> {
        if config.segment_size < RECORD_SIZE as u64 {
            return Err(JournalError::Config {
                why: format!("segment_size={} is below one record ({RECORD_SIZE} bytes)", config.segment_size),
            });
        }
        if let FsyncPolicy::Batch { records: 0, .. } = config.fsync {
            return Err(JournalError::Config { why: "batch fsync needs records >= 1".into() });
        }
        let dir = config.dir.clone();
        fs::create_dir_all(&dir).map_err(|e| JournalError::io("create_dir", &dir, e))?;
        if let Some(archive) = &config.archive_dir {
            fs::create_dir_all(archive).map_err(|e| JournalError::io("create_dir", archive, e))?;
            if canonical(archive)? == canonical(&dir)? {
                return Err(JournalError::Config {
                    why: format!("archive_dir={} is the journal's own directory", archive.display()),
                });
            }
        }
        let lock = lock_dir(&dir)?;
        let (report, tail) = scan_journal(&dir)?;
        roller::remove_spare(&dir)?;
        let next_seq = match (&tail, report.records) {
            // Only empty segments: continue with the first one's number (never 0).
            (Some((first_seq, _, _)), 0) => (*first_seq).max(1),
            _ => report.last_seq + 1,
        };
        let active = match tail {
            Some((first_seq, path, offset)) => ActiveSegment::open(path, first_seq, offset, config.segment_size)?,
            None => ActiveSegment::create(&dir, next_seq, config.segment_size)?,
        };
        let rolls = RollWatch::default();
        if config.populate && active.populate().is_err() {
            rolls.0.populate_failures.fetch_add(1, Ordering::Relaxed);
        }
        let roller = if config.prepare_segments {
            Some(Roller::start(&dir, config.segment_size, config.populate, Arc::clone(&rolls.0))?)
        } else {
            None
        };
        let journal = Journal {
            config,
            active,
            next_seq,
            pending: 0,
            last_sync: Instant::now(),
            dir_dirty: false,
            rolls,
            roller,
            _lock: lock,
        };
        Ok((journal, report))
    }

    /// Appends one command for `instrument`; returns its journal sequence number.
    pub fn append(&mut self, instrument: InstrumentId, command: &Command) -> Result<u64, JournalError> {
        if !self.active.has_room(RECORD_SIZE) {
            self.roll()?;
        }
        let seq = self.next_seq;
        record::encode(self.active.next_record(RECORD_SIZE), seq, instrument, command);
        self.committed()?;
        Ok(seq)
    }

    /// Appends one control record; returns its journal sequence number. Fails with
    /// [`JournalError::Config`] when a segment is too small to hold one.
    pub fn append_control(&mut self, control: &ControlRecord) -> Result<u64, JournalError> {
        if self.config.segment_size < CONTROL_RECORD_SIZE as u64 {
            return Err(JournalError::Config {
                why: format!(
                    "segment_size={} is below one control record ({CONTROL_RECORD_SIZE} bytes)",
                    self.config.segment_size
                ),
            });
        }
        if !self.active.has_room(CONTROL_RECORD_SIZE) {
            self.roll()?;
        }
        let seq = self.next_seq;
        record::encode_control(self.active.next_record(CONTROL_RECORD_SIZE), seq, control);
        self.committed()?;
        Ok(seq)
    }

    /// Counts the record just written and flushes by the policy.
    #[inline]
    fn committed(&mut self) -> Result<(), JournalError> {
        self.next_seq += 1;
        match self.config.fsync {
            FsyncPolicy::None => {}
            FsyncPolicy::EveryRecord => self.active.flush()?,
            FsyncPolicy::Batch { records, interval } => {
                self.pending += 1;
                if self.pending >= records || self.last_sync.elapsed() >= interval {
                    self.sync()?;
                }
            }
        }
        Ok(())
    }

    /// Flushes everything appended so far to disk (and the directory, after a roll that left it
    /// to this call).
    pub fn sync(&mut self) -> Result<(), JournalError> {
        self.active.flush()?;
        if self.dir_dirty {
            segment::sync_dir(&self.config.dir)?;
            self.dir_dirty = false;
        }
        self.pending = 0;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Sequence number of the last record (0: empty journal).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// Flushes and closes. (Dropping without closing is a crash, as far as the disk knows.)
    pub fn close(mut self) -> Result<(), JournalError> {
        self.sync()
    }

    /// How segment rolls went so far.
    pub fn roll_stats(&self) -> RollStats {
        self.rolls.stats()
    }

    /// A handle to read the roll counters from another thread.
    pub fn roll_watch(&self) -> RollWatch {
        self.rolls.clone()
    }

    /// True when the roller has a spare segment ready (always false without a roller).
    #[doc(hidden)]
    pub fn spare_ready(&self) -> bool {
        self.roller.as_ref().is_some_and(Roller::spare_ready)
    }

    fn roll(&mut self) -> Result<(), JournalError> {
        let start = Instant::now();
        let durable = self.config.fsync != FsyncPolicy::None;
        if durable {
            self.active.flush()?;
        }
        let dir = &self.config.dir;
        let path = dir.join(segment::segment_name(self.next_seq));
        let spare = match &self.roller {
            Some(r) => r.take_spare(&path)?,
            None => None,
        };
        let prepared = spare.is_some();
        let next = match spare {
            Some(map) => ActiveSegment::adopt(path, self.next_seq, map),
            // Creates the file and syncs the directory.
            None => ActiveSegment::create(dir, self.next_seq, self.config.segment_size)?,
        };
        let old = std::mem::replace(&mut self.active, next);
        match &self.roller {
            Some(r) => r.retire(old.into_map()),
            None => drop(old),
        }
        if prepared {
            // The rename is durable once the directory is: now if the policy asks for
            // durability, else at the next `sync`.
            self.dir_dirty = true;
            if durable {
                segment::sync_dir(&self.config.dir)?;
                self.dir_dirty = false;
            }
        }
        let c = &self.rolls.0;
        c.rolls.fetch_add(1, Ordering::Relaxed);
        c.prepared.fetch_add(u64::from(prepared), Ordering::Relaxed);
        let took = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        c.longest_ns.fetch_max(took, Ordering::Relaxed);
        Ok(())
    }
}

/// The segment to continue writing: first seq, path and end of its written part.
type Tail = (u64, PathBuf, usize);

/// Scans all segments, cuts a torn tail, fails on damage in the middle.
fn scan_journal(dir: &Path) -> Result<(RecoveryReport, Option<Tail>), JournalError> {
    let segments = segment::list_segments(dir)?;
    let mut report = RecoveryReport { segments: segments.len(), ..RecoveryReport::default() };
    let mut tail = None;
    for (i, (first_seq, path)) in segments.iter().enumerate() {
        let bytes = segment::read_segment(path)?;
        let mut gap = None;
        let end = segment::scan(&bytes, |off, r: RawRecord| {
            let expected = report.last_seq + 1;
            if gap.is_none() && r.seq != expected && !(report.last_seq == 0 && r.seq == *first_seq) {
                gap = Some((off, expected, r.seq));
            }
            if gap.is_none() {
                report.records += 1;
                report.last_seq = r.seq;
            }
        });
        if let Some((offset, expected, found)) = gap {
            return Err(JournalError::SequenceGap { segment: path.clone(), offset: offset as u64, expected, found });
        }
        let (offset, reason) = match end {
            ScanEnd::Clean { offset } => (offset, None),
            ScanEnd::Bad { offset, reason } => (offset, Some(reason)),
        };
        let later = &segments[i + 1..];
        // Anything valid after this point (here or in a later segment) means the damage, or
        // the zeros, are in the middle of the journal.
        let valid_here = segment::valid_record_after(&bytes, offset + 1);
        let mut next_size = None;
        let valid_after = valid_here
            || later.iter().enumerate().try_fold(false, |found, (k, (_, p))| {
                if found {
                    return Ok(true);
                }
                let b = segment::read_segment(p)?;
                if k == 0 {
                    next_size = segment::first_record_size(&b);
                }
                Ok::<_, JournalError>(segment::valid_record_after(&b, 0))
            })?;
        // The writer moves to a new segment only when the next record does not fit: zeros with
        // room for that record (or for any record, when one follows in this segment) are a
        // hole, not the end of a full segment.
        let needed = if valid_here { RECORD_SIZE } else { next_size.unwrap_or(RECORD_SIZE) };
        let room_left = bytes.len().saturating_sub(offset) >= needed;
        if valid_after && (reason.is_some() || room_left) {
            return Err(JournalError::Corrupt {
                segment: path.clone(),
                offset: offset as u64,
                reason: reason.unwrap_or("zeros where a record should be"),
            });
        }
        if valid_after {
            // A full segment: the journal goes on in the next one.
            continue;
        }
        // This is the last segment with data. Cut a torn tail, drop later segments (none of
        // them holds a valid record; any non-zero byte in them is reported).
        let garbage_here = reason.is_some() || bytes[offset..].iter().any(|&b| b != 0);
        let mut removed = Vec::new();
        let mut garbage_later = false;
        for (_, p) in later {
            garbage_later |= segment::read_segment(p)?.iter().any(|&b| b != 0);
            fs::remove_file(p).map_err(|e| JournalError::io("remove", p, e))?;
            removed.push(p.clone());
        }
        if !removed.is_empty() {
            segment::sync_dir(dir)?;
        }
        if garbage_here {
            segment::truncate_at(path, offset as u64)?;
        }
        if garbage_here || garbage_later {
            report.truncated = Some(TornTail {
                segment: path.clone(),
                offset: offset as u64,
                reason: reason.unwrap_or("non-zero bytes after the last record"),
                removed_segments: removed,
            });
        }
        tail = Some((*first_seq, path.clone(), offset));
        break;
    }
    Ok((report, tail))
}

/// Reads the command records with a sequence number above `after_seq`, in order, one segment
/// in memory at a time, skipping control records (their sequence numbers are missing from the
/// entries: see [`read_records`]). Yields an error (and then stops) on any invalid record:
/// open the journal first to cut a torn tail.
pub fn read_entries(dir: &Path, after_seq: u64) -> Result<JournalReader, JournalError> {
    Ok(JournalReader { records: read_records(dir, after_seq)? })
}

/// Iterator over journal command entries; see [`read_entries`].
#[derive(Debug)]
pub struct JournalReader {
    records: RecordReader,
}

impl Iterator for JournalReader {
    type Item = Result<JournalEntry, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.records.next()? {
                Ok(JournalRecord::Command(e)) => return Some(Ok(e)),
                Ok(JournalRecord::Control(_)) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Reads every record (commands and controls) with a sequence number above `after_seq`, in
/// order; otherwise as [`read_entries`].
pub fn read_records(dir: &Path, after_seq: u64) -> Result<RecordReader, JournalError> {
    let segments = segment::list_segments(dir)?;
    // Skip segments that end before `after_seq` (the next one starts at or below it).
    let start = segments.iter().rposition(|(first, _)| *first <= after_seq.saturating_add(1)).unwrap_or(0);
    let mut segments = segments;
    segments.drain(..start);
    Ok(RecordReader {
        segments: segments.into_iter(),
        path: PathBuf::new(),
        bytes: Vec::new(),
        offset: 0,
        after_seq,
        done: false,
    })
}

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
    let mut snapshots = snapshot::list_snapshots(dir)?;
    snapshots.reverse();
    Ok(snapshots.into_iter().find(|(_, path)| read_snapshot(path).is_ok()).map(|(seq, _)| seq))
}

fn canonical(path: &Path) -> Result<PathBuf, JournalError> {
    fs::canonicalize(path).map_err(|e| JournalError::io("canonicalize", path, e))
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

/// Iterator over journal records; see [`read_records`].
#[derive(Debug)]
pub struct RecordReader {
    segments: std::vec::IntoIter<(u64, PathBuf)>,
    path: PathBuf,
    bytes: Vec<u8>,
    offset: usize,
    after_seq: u64,
    done: bool,
}

impl Iterator for RecordReader {
    type Item = Result<JournalRecord, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match record::parse(&self.bytes, self.offset) {
                record::Frame::Record(r) => {
                    self.offset += r.size();
                    if r.seq > self.after_seq {
                        return Some(r.decode().map_err(|e| JournalError::decode(r.seq, e)));
                    }
                }
                record::Frame::End => {
                    let (_, path) = self.segments.next()?;
                    self.bytes = match segment::read_segment(&path) {
                        Ok(b) => b,
                        Err(e) => {
                            self.done = true;
                            return Some(Err(e));
                        }
                    };
                    self.path = path;
                    self.offset = 0;
                }
                record::Frame::Bad(reason) => {
                    self.done = true;
                    return Some(Err(JournalError::Corrupt {
                        segment: self.path.clone(),
                        offset: self.offset as u64,
                        reason,
                    }));
                }
            }
        }
        None
    }
}

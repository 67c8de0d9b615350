//! The writer: [`Journal`] opens a journal directory (taking its lock and recovering a torn
//! tail, see [`super`]), appends command and control records, flushes them by the
//! [`FsyncPolicy`], and rolls to a new segment when one is full.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use wintermute_core::order::Command;
use wintermute_core::InstrumentId;

use super::client_id::ClientOrderId;
use super::config::{FsyncPolicy, JournalConfig};
use super::error::{JournalError, LOCK_FILE};
use super::record::{
    self, RawRecord, CONTROL_RECORD_SIZE, RECORD_SIZE, REJECTION_RECORD_SIZE, TAGGED_RECORD_SIZE,
    TAGGED_REJECTION_RECORD_SIZE, TIME_RECORD_SIZE,
};
use super::roller::{self, RollStats, RollWatch, Roller};
use super::segment::{self, ActiveSegment, ScanEnd};
use crate::risk::ControlRecord;

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

/// The writer. See [`crate::journal`] for the format, durability and recovery.
#[derive(Debug)]
pub struct Journal {
    config: JournalConfig,
    active: ActiveSegment,
    next_seq: u64,
    /// The wall-clock time of the records appended now ([`Journal::mark_time`]; 0: none).
    wall_ns: u64,
    /// A time mark is to be written before the next record.
    mark_due: bool,
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
            wall_ns: 0,
            mark_due: false,
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
        self.make_room(RECORD_SIZE)?;
        let seq = self.next_seq;
        record::encode(self.active.next_record(RECORD_SIZE), seq, instrument, command);
        self.committed()?;
        Ok(seq)
    }

    /// Appends one command for `instrument` with the client order id its sender gave it (a
    /// tagged command record, see [`record`]); returns its journal sequence number. Replay and
    /// recovery treat it as [`Journal::append`]'s record; readers also get the id.
    pub fn append_tagged(
        &mut self,
        instrument: InstrumentId,
        command: &Command,
        client_order_id: &ClientOrderId,
    ) -> Result<u64, JournalError> {
        self.fits(TAGGED_RECORD_SIZE, "tagged command")?;
        self.make_room(TAGGED_RECORD_SIZE)?;
        let seq = self.next_seq;
        record::encode_tagged(self.active.next_record(TAGGED_RECORD_SIZE), seq, instrument, command, client_order_id);
        self.committed()?;
        Ok(seq)
    }

    /// [`Journal::append_rejection`] with the command's client order id (a tagged risk
    /// rejection record).
    pub fn append_tagged_rejection(
        &mut self,
        instrument: InstrumentId,
        command: &Command,
        reason: u8,
        client_order_id: &ClientOrderId,
    ) -> Result<u64, JournalError> {
        self.fits(TAGGED_REJECTION_RECORD_SIZE, "tagged risk rejection")?;
        self.make_room(TAGGED_REJECTION_RECORD_SIZE)?;
        let seq = self.next_seq;
        let out = self.active.next_record(TAGGED_REJECTION_RECORD_SIZE);
        record::encode_tagged_rejection(out, seq, instrument, command, reason, client_order_id);
        self.committed()?;
        Ok(seq)
    }

    /// Sets the wall-clock time (nanoseconds since the Unix epoch) of the records appended
    /// from now on: a time mark is written before the next one (none if the time did not
    /// change), and again at the top of each new segment (see [`record`] for the format).
    /// Costs nothing until a record follows; the pipeline calls it once per matching batch.
    #[inline]
    pub fn mark_time(&mut self, wall_ns: u64) {
        if wall_ns != self.wall_ns {
            self.wall_ns = wall_ns;
            self.mark_due = wall_ns != 0;
        }
    }

    /// Makes room for a record of `size` bytes (rolling to a new segment if needed), and
    /// writes the time mark due before it. A segment too small for both gets no mark.
    #[inline]
    fn make_room(&mut self, size: usize) -> Result<(), JournalError> {
        if self.mark_due && self.config.segment_size < (TIME_RECORD_SIZE + size) as u64 {
            self.mark_due = false;
        }
        let mark = if self.mark_due { TIME_RECORD_SIZE } else { 0 };
        if !self.active.has_room(mark + size) {
            self.roll()?;
            // A new segment starts with the time, so that it reads alone.
            self.mark_due = self.wall_ns != 0 && self.config.segment_size >= (TIME_RECORD_SIZE + size) as u64;
        }
        if self.mark_due {
            record::encode_time(self.active.next_record(TIME_RECORD_SIZE), self.next_seq, self.wall_ns);
            self.mark_due = false;
        }
        Ok(())
    }

    /// Fails with [`JournalError::Config`] when a segment cannot hold a record of `size` bytes.
    #[inline]
    fn fits(&self, size: usize, what: &str) -> Result<(), JournalError> {
        if self.config.segment_size < size as u64 {
            return Err(JournalError::Config {
                why: format!("segment_size={} is below one {what} record ({size} bytes)", self.config.segment_size),
            });
        }
        Ok(())
    }

    /// Appends one risk rejection (`command`, refused by pre-trade risk for `reason`, a
    /// [`crate::risk::risk_reason`] number); returns its journal sequence number.
    pub fn append_rejection(
        &mut self,
        instrument: InstrumentId,
        command: &Command,
        reason: u8,
    ) -> Result<u64, JournalError> {
        if self.config.segment_size < REJECTION_RECORD_SIZE as u64 {
            return Err(JournalError::Config {
                why: format!(
                    "segment_size={} is below one risk rejection record ({REJECTION_RECORD_SIZE} bytes)",
                    self.config.segment_size
                ),
            });
        }
        self.make_room(REJECTION_RECORD_SIZE)?;
        let seq = self.next_seq;
        record::encode_rejection(self.active.next_record(REJECTION_RECORD_SIZE), seq, instrument, command, reason);
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
        self.make_room(CONTROL_RECORD_SIZE)?;
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
        self.rolls.0.count_roll(prepared, start.elapsed());
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
            if r.time_mark().is_some() {
                return; // no sequence number of its own
            }
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

fn canonical(path: &Path) -> Result<PathBuf, JournalError> {
    fs::canonicalize(path).map_err(|e| JournalError::io("canonicalize", path, e))
}

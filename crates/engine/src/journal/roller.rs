//! Segment rolls off the writer's thread.
//!
//! Moving to a new segment used to stop the writer (the matching thread of a pipeline) for
//! milliseconds: create the file, size it, `fsync` the directory, map it — and unmap the full
//! segment, which for 64-256 MiB of written pages takes the kernel several milliseconds
//! (`strace -T` on the pipeline bench: `munmap` of a 256 MiB segment 5.8 ms, directory `fsync`
//! 0.5 ms). Every command queued behind the roll waited as long.
//!
//! With a roller (on by default, [`super::JournalConfig::prepare_segments`]) one more thread,
//! `wm-journal-roll`, keeps a *spare* segment ready — created, sized and mapped, named
//! [`SPARE_FILE`] (not a `.wal` name: readers and recovery never see it) — and unmaps the
//! segments the writer is done with. A roll then is a rename of the spare to its segment name
//! (one syscall) and a hand-over of the old map; the directory `fsync` that makes the rename
//! durable runs inline only when the journal's fsync policy asks for durability at all (with
//! `FsyncPolicy::None` it waits for the next [`super::Journal::sync`], and a pipeline's
//! background syncer does it within its interval).
//!
//! The writer and the roller share one mutex, taken at a roll, never per record; the writer
//! only ever *tries* it, so it never waits for a roller that lost its CPU inside. When no spare
//! is ready (a roll comes before the roller made the last one's replacement, making it failed
//! — counted in [`super::RollStats::roller_failures`] — or the lock was busy), the writer
//! creates the segment itself, exactly as without a roller, and any error is the writer's to
//! report. A spare left behind by a crash is deleted when the journal opens.
//!
//! With [`super::JournalConfig::populate`] (on by default) the roller also *populates* each
//! spare before offering it (`MADV_POPULATE_WRITE`: page-cache pages allocated and zeroed,
//! blocks reserved, page tables filled, not a byte of the file changed), and the journal
//! populates the segment it opens with, before the first append. The writer then takes no
//! first-write page faults: one every 4 KiB page (or large folio) of records otherwise, a few
//! microseconds each, on the matching thread. A spare the kernel would not populate (before
//! Linux 5.14, or out of memory) is offered as it is and counted in
//! [`super::RollStats::populate_failures`]. The pages stay dirty until written back: a flush
//! of the whole file would write the zeros ahead of the writer, which is why the pipeline's
//! background sync turns populating off.
//!
//! The roller's work still needs a CPU: on a machine whose cores are all busy (the 2-core
//! pipeline bench, where the engine and the load generator both spin) it takes one from a
//! spinning thread for about as long as the work took inline, but the roll itself no longer
//! waits for it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread::JoinHandle;
use std::time::Duration;

use memmap2::MmapMut;

use super::segment::{map_new, populate};
use super::JournalError;

/// How segment rolls went ([`super::Journal::roll_stats`], [`RollWatch::stats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
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

impl RollCounters {
    /// Counts one roll that took `took` (`prepared`: it took the roller's spare).
    pub(crate) fn count_roll(&self, prepared: bool, took: Duration) {
        self.rolls.fetch_add(1, Ordering::Relaxed);
        self.prepared.fetch_add(u64::from(prepared), Ordering::Relaxed);
        self.longest_ns.fetch_max(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// A handle on a journal's roll counters that another thread can read while the writer
/// appends ([`super::Journal::roll_watch`]; a pipeline reports them in its stats).
#[derive(Debug, Clone, Default)]
pub struct RollWatch(pub(crate) Arc<RollCounters>);

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

/// File name of the spare segment in the journal directory.
pub const SPARE_FILE: &str = "next.spare";

/// What the writer and the roller thread share.
#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    size: u64,
    /// Populate each spare writable before offering it.
    populate: bool,
    state: Mutex<State>,
    stop: AtomicBool,
    counters: Arc<RollCounters>,
}

#[derive(Debug, Default)]
struct State {
    /// A created, sized and mapped spare segment ([`SPARE_FILE`]).
    spare: Option<MmapMut>,
    /// Maps of segments the writer has left, to unmap here.
    retired: Vec<MmapMut>,
}

impl Shared {
    /// The roller thread's way in: it may wait for the writer.
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves only maps behind: still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The writer's way in: it never waits for the roller (which may have lost its CPU while
    /// holding the lock); `None` and the writer does the work itself.
    fn try_lock(&self) -> Option<MutexGuard<'_, State>> {
        match self.state.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// The writer's handle on its roller thread; stops and joins it on drop.
#[derive(Debug)]
pub(crate) struct Roller {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Roller {
    /// Starts the thread, which makes a spare at once (call [`remove_spare`] first).
    /// Failures to make a spare are counted in `counters.roller_failures`, failures to
    /// populate one (with `populate`) in `counters.populate_failures`.
    pub(crate) fn start(
        dir: &Path,
        size: u64,
        populate: bool,
        counters: Arc<RollCounters>,
    ) -> Result<Self, JournalError> {
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            size,
            populate,
            state: Mutex::default(),
            stop: AtomicBool::new(false),
            counters,
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("wm-journal-roll".into())
                .spawn(move || run(&shared))
                .map_err(|e| JournalError::io("spawn wm-journal-roll", dir, e))?
        };
        Ok(Self { shared, thread: Some(thread) })
    }

    /// The spare segment renamed to `target`, if one is ready (`Ok(None)`: none is, or the
    /// roller holds the lock). The rename happens under the lock, so the thread cannot start
    /// the next spare under the same name first. Fails, keeping the spare, if `target` exists
    /// or the rename fails.
    pub(crate) fn take_spare(&self, target: &Path) -> Result<Option<MmapMut>, JournalError> {
        let Some(mut state) = self.shared.try_lock() else { return Ok(None) };
        if state.spare.is_none() {
            return Ok(None);
        }
        // One writer per directory (its lock file): nobody else creates `target` meanwhile.
        if target.try_exists().map_err(|e| JournalError::io("stat", target, e))? {
            return Err(JournalError::io("rename", target, std::io::ErrorKind::AlreadyExists.into()));
        }
        let spare = self.shared.dir.join(SPARE_FILE);
        fs::rename(&spare, target).map_err(|e| JournalError::io("rename", &spare, e))?;
        Ok(state.spare.take())
    }

    /// Hands a segment map over to be unmapped (or unmaps it here, if the roller holds the
    /// lock), and wakes the thread to make the next spare.
    pub(crate) fn retire(&self, map: MmapMut) {
        match self.shared.try_lock() {
            Some(mut state) => state.retired.push(map),
            None => drop(map),
        }
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
    }

    /// True while a spare is ready (tests wait on it).
    pub(crate) fn spare_ready(&self) -> bool {
        self.shared.lock().spare.is_some()
    }
}

impl Drop for Roller {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            // The thread only unmaps and creates files: it cannot panic short of an allocation
            // failure, and a writer being dropped has no one left to tell.
            let _ = t.join();
        }
    }
}

/// Deletes a spare segment left in `dir` by an earlier writer (a crash, or a writer without
/// the roller's clean-up).
pub(crate) fn remove_spare(dir: &Path) -> Result<(), JournalError> {
    let spare = dir.join(SPARE_FILE);
    match fs::remove_file(&spare) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(JournalError::io("remove", &spare, e)),
    }
}

/// The thread: unmap what was retired, make a spare if there is none, sleep until woken.
fn run(shared: &Shared) {
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        let (retired, need_spare) = {
            let mut state = shared.lock();
            (std::mem::take(&mut state.retired), state.spare.is_none())
        };
        drop(retired); // munmap, outside the lock
        if stopping {
            break;
        }
        if need_spare {
            match map_new(&shared.dir.join(SPARE_FILE), shared.size) {
                Ok(map) => {
                    // Not populated (an old kernel, no memory): still a spare; the writer takes
                    // its page faults as it would have.
                    if shared.populate && populate(&map, 0).is_err() {
                        shared.counters.populate_failures.fetch_add(1, Ordering::Relaxed);
                    }
                    shared.lock().spare = Some(map);
                }
                // The writer will create the segment itself at its next roll, and report the
                // error if it happens to it too.
                Err(_) => {
                    shared.counters.roller_failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        std::thread::park();
    }
    // Stopping: the spare is of no use to anyone (and a later writer deletes it anyway).
    if shared.lock().spare.take().is_some() {
        let _ = fs::remove_file(shared.dir.join(SPARE_FILE));
    }
}

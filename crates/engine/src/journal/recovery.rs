//! Rebuilding the books: the newest valid snapshot, then the journal tail replayed.
//!
//! Books are deterministic (same commands in, same events out), so replaying the commands
//! journaled after a snapshot through [`apply`] — the very function the live path uses — gives
//! back the state the engine had, and the events it emitted, event for event (sequence
//! numbers included: a snapshot carries each book's sequence number).
//!
//! ```
//! use wintermute_core::{Command, Engine, InstrumentSpec, NewOrder, Side};
//! use wintermute_engine::journal::{apply, recover, FsyncPolicy, Journal, JournalConfig};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let mut initial = Engine::new();
//! initial.add_instrument(InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1000, 1, 100_000).unwrap()).unwrap();
//!
//! let (mut journal, _) = Journal::open(JournalConfig::new(dir.path()).fsync(FsyncPolicy::None)).unwrap();
//! let mut live = initial.clone();
//! let cmd = Command::New(NewOrder::limit(1, 7, Side::Buy, 100, 5));
//! let seq = journal.append(0, &cmd).unwrap();
//! let mut events = Vec::new();
//! apply(&mut live, seq, 0, &cmd, &mut events).unwrap();
//! drop(journal); // a crash
//!
//! let recovered = recover(dir.path(), &initial).unwrap();
//! assert_eq!(recovered.engine.book(0).snapshot(), live.book(0).snapshot());
//! assert_eq!(recovered.events.len(), events.len());
//! ```

use std::path::{Path, PathBuf};

use wintermute_core::order::Command;
use wintermute_core::{Engine, Event, EventSink, InstrumentId, OrderError};

use super::snapshot::{load_latest_snapshot, SnapshotWarning};
use super::{read_entries, JournalError};

/// What one command did to the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The book ran it (its events went to the sink).
    Executed,
    /// The book refused it in validation: nothing changed, no event (same on replay).
    Refused(OrderError),
}

/// Runs journal record `seq` (`command` for `instrument`) on `engine`. The live path and
/// replay both go through here, so they cannot drift apart.
pub fn apply<S: EventSink>(
    engine: &mut Engine,
    seq: u64,
    instrument: InstrumentId,
    command: &Command,
    sink: &mut S,
) -> Result<Outcome, JournalError> {
    let book = engine.get_mut(instrument).ok_or(JournalError::UnknownInstrument { seq, instrument })?;
    Ok(match book.execute(command, sink) {
        Ok(()) => Outcome::Executed,
        Err(e) => Outcome::Refused(e),
    })
}

/// One event emitted during replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayedEvent {
    /// The journal record whose command emitted it.
    pub journal_seq: u64,
    pub instrument: InstrumentId,
    pub event: Event,
}

/// The result of [`recover`].
#[derive(Debug)]
pub struct Recovered {
    pub engine: Engine,
    /// The snapshot started from (`None`: from the initial engine).
    pub snapshot: Option<PathBuf>,
    /// Newer snapshots that were passed over, and why.
    pub snapshot_warnings: Vec<SnapshotWarning>,
    /// The last journal record applied (the snapshot's, if the tail was empty).
    pub journal_seq: u64,
    /// Records replayed after the snapshot.
    pub replayed: u64,
    /// Of those, how many the books refused in validation.
    pub refused: u64,
    /// Every event the replay emitted, in order.
    pub events: Vec<ReplayedEvent>,
}

/// Rebuilds the engine from the journal in `dir`: the newest valid snapshot there (or
/// `initial`, the engine as it was before journal record 1), then every later record.
///
/// Open the journal ([`super::Journal::open`]) first, so a torn tail is already cut.
pub fn recover(dir: &Path, initial: &Engine) -> Result<Recovered, JournalError> {
    let mut events = Vec::new();
    let mut r = recover_with(dir, initial, |e| events.push(e))?;
    r.events = events;
    Ok(r)
}

/// [`recover`], handing each replayed event to `on_event` instead of collecting them.
pub fn recover_with(
    dir: &Path,
    initial: &Engine,
    mut on_event: impl FnMut(ReplayedEvent),
) -> Result<Recovered, JournalError> {
    let (latest, snapshot_warnings) = load_latest_snapshot(dir)?;
    let (mut engine, snapshot, mut journal_seq) = match latest {
        Some(l) => (l.snapshot.restore(&l.path)?, Some(l.path), l.snapshot.journal_seq),
        None => (initial.clone(), None, 0),
    };
    let (mut replayed, mut refused) = (0, 0);
    let mut sink = Vec::new();
    for entry in read_entries(dir, journal_seq)? {
        let entry = entry?;
        sink.clear();
        if let Outcome::Refused(_) = apply(&mut engine, entry.seq, entry.instrument, &entry.command, &mut sink)? {
            refused += 1;
        }
        for &event in &sink {
            on_event(ReplayedEvent { journal_seq: entry.seq, instrument: entry.instrument, event });
        }
        replayed += 1;
        journal_seq = entry.seq;
    }
    Ok(Recovered { engine, snapshot, snapshot_warnings, journal_seq, replayed, refused, events: Vec::new() })
}

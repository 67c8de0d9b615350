//! Rebuilding the books: the newest valid snapshot, then the journal tail replayed.
//!
//! [`recover`] and [`recover_with`] rebuild books (control records are skipped: books do not
//! depend on them). [`recover_records`] is what the pipeline uses: it also hands over the
//! snapshot it started from (with its risk state) and every control record, in journal order
//! with the replayed events, so the caller can rebuild risk state too.
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

use super::record::{ControlEntry, JournalRecord, RejectionEntry};
use super::snapshot::{list_snapshots, read_snapshot, EngineSnapshot, LoadedSnapshot, SnapshotWarning};
use super::{read_records, JournalError};

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
    // Not `ok_or`: the error has drop glue, and built eagerly it would be dropped per command.
    let Some(book) = engine.get_mut(instrument) else {
        return Err(JournalError::UnknownInstrument { seq, instrument });
    };
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
    /// Command records replayed after the snapshot.
    pub replayed: u64,
    /// Control records replayed after the snapshot (handed over by [`recover_records`]).
    pub controls: u64,
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
    recover_records(dir, initial, &RecoverOptions::default(), |r| {
        if let Replayed::Event(e) = r {
            on_event(e);
        }
    })
}

/// Which snapshots [`recover_records`] may start from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoverOptions {
    /// Pass over snapshots without risk state (an engine that runs with risk needs it).
    pub need_risk: bool,
    /// Pass over snapshots whose books are not `initial`'s instruments, in order.
    pub same_instruments: bool,
    /// The journal's last record ([`super::RecoveryReport::last_seq`]): pass over snapshots that
    /// claim more (the journal lost records they include, e.g. a machine crash before a flush).
    pub last_seq: Option<u64>,
}

/// One step of a recovery, in order: at most one `Snapshot` first, then events and controls in
/// journal order.
#[derive(Debug, Clone, Copy)]
pub enum Replayed<'a> {
    /// The snapshot recovery starts from.
    Snapshot(&'a EngineSnapshot),
    /// An event of a replayed command.
    Event(ReplayedEvent),
    /// A replayed control record.
    Control(&'a ControlEntry),
    /// A risk rejection read past (it changed no book).
    Rejection(&'a RejectionEntry),
}

/// The newest snapshot in `dir` that checks out and that `options` allow.
fn pick_snapshot(
    dir: &Path,
    initial: &Engine,
    options: &RecoverOptions,
) -> Result<(Option<LoadedSnapshot>, Vec<SnapshotWarning>), JournalError> {
    let mut warnings = Vec::new();
    for (seq, path) in list_snapshots(dir)? {
        let why = match read_snapshot(&path) {
            Err(e) => e.to_string(),
            Ok(s) if s.journal_seq != seq => {
                format!("file name says journal_seq={seq}, content says journal_seq={}", s.journal_seq)
            }
            Ok(s) if options.last_seq.is_some_and(|last| s.journal_seq > last) => format!(
                "snapshot journal_seq={} is past the journal's last record seq={}",
                s.journal_seq,
                options.last_seq.unwrap_or_default()
            ),
            Ok(s) if options.need_risk && s.risk.is_none() => "snapshot holds no risk state".to_string(),
            Ok(s)
                if options.same_instruments
                    && (s.books.len() != initial.books().len()
                        || s.books.iter().zip(initial.books()).any(|(b, i)| &b.spec != i.spec())) =>
            {
                "snapshot instruments differ from the engine's".to_string()
            }
            Ok(snapshot) => return Ok((Some(LoadedSnapshot { path, snapshot }), warnings)),
        };
        warnings.push(SnapshotWarning { path, why });
    }
    Ok((None, warnings))
}

/// Rebuilds the engine as [`recover`] does, from the newest snapshot `options` allow, handing
/// `on` the snapshot, then every replayed event and control record in journal order.
pub fn recover_records(
    dir: &Path,
    initial: &Engine,
    options: &RecoverOptions,
    mut on: impl FnMut(Replayed<'_>),
) -> Result<Recovered, JournalError> {
    let (latest, snapshot_warnings) = pick_snapshot(dir, initial, options)?;
    let (mut engine, snapshot, mut journal_seq) = match latest {
        Some(l) => {
            let engine = l.snapshot.restore(&l.path)?;
            on(Replayed::Snapshot(&l.snapshot));
            (engine, Some(l.path), l.snapshot.journal_seq)
        }
        None => (initial.clone(), None, 0),
    };
    let (mut replayed, mut refused, mut controls) = (0, 0, 0);
    let mut sink = Vec::new();
    let start = journal_seq;
    for record in read_records(dir, journal_seq)? {
        let record = record?;
        if journal_seq == start && record.seq() != start + 1 {
            // Pruned (or deleted) segments: replaying from here would silently skip records.
            return Err(JournalError::Missing { dir: dir.to_path_buf(), after: start, first: record.seq() });
        }
        match record {
            JournalRecord::Command(entry) => {
                sink.clear();
                if let Outcome::Refused(_) = apply(&mut engine, entry.seq, entry.instrument, &entry.command, &mut sink)?
                {
                    refused += 1;
                }
                for &event in &sink {
                    on(Replayed::Event(ReplayedEvent { journal_seq: entry.seq, instrument: entry.instrument, event }));
                }
                replayed += 1;
                journal_seq = entry.seq;
            }
            JournalRecord::Control(c) => {
                on(Replayed::Control(&c));
                controls += 1;
                journal_seq = c.seq;
            }
            JournalRecord::Rejection(r) => {
                on(Replayed::Rejection(&r));
                journal_seq = r.seq;
            }
        }
    }
    Ok(Recovered { engine, snapshot, snapshot_warnings, journal_seq, replayed, controls, refused, events: Vec::new() })
}

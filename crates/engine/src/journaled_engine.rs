//! The in-thread engine with an optional journal: every command is appended to the journal
//! before it runs, and opening a journal that already holds history rebuilds the books from it.
//!
//! This is what `wintermute.Engine` is in Python (`crates/python` converts arguments and calls
//! these methods; it holds none of this logic).
//!
//! ```
//! use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};
//! use wintermute_engine::journal::{FsyncPolicy, JournalConfig};
//! use wintermute_engine::journaled_engine::JournaledEngine;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let spec = InstrumentSpec::from_decimals("BTC-USD", "0.01", "0.001", "0.001", "100", "1", "1000000").unwrap();
//!
//! let mut live = JournaledEngine::new();
//! let btc = live.add_instrument(spec.clone()).unwrap();
//! live.open_journal(JournalConfig::new(dir.path()).fsync(FsyncPolicy::None)).unwrap();
//! let order = Command::New(NewOrder::limit(1, 7, Side::Buy, 6_400_000, 1_000));
//! live.execute(btc, &order, &mut Vec::new()).unwrap();
//! live.close_journal().unwrap();
//!
//! // A new process defines the same instruments, opens the journal: the order is back.
//! let mut again = JournaledEngine::new();
//! again.add_instrument(spec).unwrap();
//! let opened = again.open_journal(JournalConfig::new(dir.path()).fsync(FsyncPolicy::None)).unwrap();
//! assert_eq!(opened.replayed, 1);
//! assert_eq!(again.engine().book(btc).order_count(), 1);
//! ```
//!
//! # Rules
//!
//! - Open the journal before the first command: it must hold the whole history.
//! - Define the instruments before opening it (same symbols, same order as in its history):
//!   while a journal is open, nothing that would bypass it is allowed ([`add_instrument`],
//!   [`restore`]).
//! - A batch ([`run_batch`]) journals each command before it runs it; a journal failure stops
//!   the batch, and the commands before it ran and are journaled.
//!
//! [`add_instrument`]: JournaledEngine::add_instrument
//! [`restore`]: JournaledEngine::restore
//! [`run_batch`]: JournaledEngine::run_batch

use std::path::PathBuf;
use std::time::Duration;

use wintermute_core::records::{self, RecordSink, COMMAND_SIZE};
use wintermute_core::{
    BookSnapshot, Command, Engine, EventSink, InstrumentError, InstrumentId, InstrumentSpec, OrderBook, OrderError,
    SnapshotError,
};

use crate::journal::{
    recover_with, write_snapshot, EngineSnapshot, FsyncPolicy, Journal, JournalConfig, JournalError, RecoveryReport,
};

/// Why a call of a [`JournaledEngine`] failed. Messages carry `key=value` context.
#[derive(Debug, thiserror::Error)]
pub enum JournaledError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Instrument(#[from] InstrumentError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("unknown instrument id={id}")]
    UnknownInstrumentId { id: InstrumentId },
    #[error(
        "op={op} is not available while a journal is open (it would bypass the journal): \
         define instruments before open_journal, and close_journal first"
    )]
    JournalOpen { op: &'static str },
    #[error("op={op}: no journal is open")]
    NoJournal { op: &'static str },
    #[error("open the journal before the first command: the journal must hold the whole history")]
    NotFresh,
    #[error(
        "the journal's snapshot has instruments={journal:?}, this engine instruments={engine:?}: \
         define the same instruments, in the same order"
    )]
    InstrumentsDiffer { journal: Vec<String>, engine: Vec<String> },
    #[error("batch stopped after done={done} commands (they ran and are journaled): {source}")]
    BatchStopped {
        done: usize,
        #[source]
        source: JournalError,
    },
}

/// What [`JournaledEngine::open_journal`] found and replayed.
#[derive(Debug)]
pub struct OpenedJournal {
    /// The journal's own scan (segments, records, a torn tail cut off).
    pub report: RecoveryReport,
    /// Commands replayed after the snapshot.
    pub replayed: u64,
    /// Of those, how many the books refused in validation (as they did the first time).
    pub refused: u64,
    /// The snapshot recovery started from (`None`: from the defined instruments).
    pub snapshot: Option<PathBuf>,
}

/// The fsync policy named `name` (`"none"`, `"batch"` or `"every"`); `"batch"` flushes every
/// `records` records or `interval`.
pub fn fsync_policy(name: &str, records: u32, interval: Duration) -> Result<FsyncPolicy, JournalError> {
    match name {
        "none" => Ok(FsyncPolicy::None),
        "batch" => Ok(FsyncPolicy::Batch { records, interval }),
        "every" => Ok(FsyncPolicy::EveryRecord),
        other => Err(JournalError::Config { why: format!("fsync={other:?}: expected 'none', 'batch' or 'every'") }),
    }
}

/// Several order books, with an optional journal in front. See the module docs.
#[derive(Debug, Default)]
pub struct JournaledEngine {
    engine: Engine,
    journal: Option<Journal>,
}

impl JournaledEngine {
    pub fn new() -> Self {
        Self::default()
    }

    /// The books (read-only: every change goes through a journaled command).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The instrument symbols, in id order.
    pub fn symbols(&self) -> Vec<String> {
        self.engine.books().iter().map(|b| b.spec().symbol.clone()).collect()
    }

    /// `id` when the engine has such an instrument.
    pub fn check(&self, id: InstrumentId) -> Result<InstrumentId, JournaledError> {
        match self.engine.get(id) {
            Some(_) => Ok(id),
            None => Err(JournaledError::UnknownInstrumentId { id }),
        }
    }

    fn refuse_with_journal(&self, op: &'static str) -> Result<(), JournaledError> {
        match self.journal {
            Some(_) => Err(JournaledError::JournalOpen { op }),
            None => Ok(()),
        }
    }

    /// Defines an instrument (not while a journal is open); returns its id.
    pub fn add_instrument(&mut self, spec: InstrumentSpec) -> Result<InstrumentId, JournaledError> {
        self.refuse_with_journal("add_instrument")?;
        Ok(self.engine.add_instrument(spec)?)
    }

    /// Restores a book from its snapshot (not while a journal is open): replaces the
    /// instrument's book, or adds the instrument. Returns the instrument id.
    pub fn restore(&mut self, snapshot: &BookSnapshot) -> Result<InstrumentId, JournaledError> {
        self.refuse_with_journal("restore")?;
        let book = OrderBook::restore(snapshot)?;
        let id = match self.engine.instrument_id(&snapshot.spec.symbol) {
            Some(_) => self.engine.replace_book(book)?,
            None => self.engine.add_book(book)?,
        };
        Ok(id)
    }

    /// The book of `id` for a run outside the journal (benchmarks): refused while a journal is
    /// open.
    pub fn unjournaled_book(&mut self, op: &'static str, id: InstrumentId) -> Result<&mut OrderBook, JournaledError> {
        self.refuse_with_journal(op)?;
        self.check(id)?;
        Ok(self.engine.book_mut(id))
    }

    /// Opens (or creates) the journal of `config`; from now on every command is appended to it
    /// before it runs. If it already holds records, the books are rebuilt from its newest valid
    /// snapshot and the records after it. Refused after the first command, or when the
    /// journal's history has other instruments.
    pub fn open_journal(&mut self, config: JournalConfig) -> Result<OpenedJournal, JournaledError> {
        self.refuse_with_journal("open_journal")?;
        if self.engine.books().iter().any(|b| b.seq() != 0 || b.order_count() != 0) {
            return Err(JournaledError::NotFresh);
        }
        let dir = config.dir.clone();
        let (journal, report) = Journal::open(config)?;
        let recovered = recover_with(&dir, &self.engine, |_| {})?;
        let specs = |e: &Engine| e.books().iter().map(|b| b.spec().clone()).collect::<Vec<_>>();
        if specs(&recovered.engine) != specs(&self.engine) {
            let journal = recovered.engine.books().iter().map(|b| b.spec().symbol.clone()).collect();
            return Err(JournaledError::InstrumentsDiffer { journal, engine: self.symbols() });
        }
        self.engine = recovered.engine;
        self.journal = Some(journal);
        Ok(OpenedJournal {
            report,
            replayed: recovered.replayed,
            refused: recovered.refused,
            snapshot: recovered.snapshot,
        })
    }

    /// Journals `cmd` (if a journal is open), then runs it on the book of `id`, events to `sink`.
    #[inline]
    pub fn execute<S: EventSink>(
        &mut self,
        id: InstrumentId,
        cmd: &Command,
        sink: &mut S,
    ) -> Result<(), JournaledError> {
        let Some(book) = self.engine.get_mut(id) else {
            return Err(JournaledError::UnknownInstrumentId { id });
        };
        if let Some(j) = self.journal.as_mut() {
            j.append(id, cmd)?;
        }
        Ok(book.execute(cmd, sink)?)
    }

    /// Runs 48-byte command records (`wintermute_core::records`) on the book of `id`; returns
    /// their 80-byte event records, `command` counting from 0. A record that does not decode,
    /// or a command the book refuses, yields one `rejected` record (seq 0, the reason code) and
    /// the batch goes on; a journal failure stops it ([`JournaledError::BatchStopped`]). A
    /// trailing partial record is ignored.
    pub fn run_batch(&mut self, id: InstrumentId, input: &[u8]) -> Result<Vec<u8>, JournaledError> {
        self.run_batch_with(id, input, true)
    }

    /// [`JournaledEngine::run_batch`], with the book's level updates (`book_delta` records)
    /// left out when `book_deltas` is false: every other record is the same, `seq` included
    /// (the level updates still take their numbers, so the kept records' `seq`s have gaps).
    pub fn run_batch_with(
        &mut self,
        id: InstrumentId,
        input: &[u8],
        book_deltas: bool,
    ) -> Result<Vec<u8>, JournaledError> {
        self.check(id)?;
        let book = self.engine.book_mut(id);
        let mut sink = RecordSink::with_capacity(input.len() / COMMAND_SIZE * 3);
        sink.instrument = id;
        sink.skip_book_deltas = !book_deltas;
        let Some(journal) = self.journal.as_mut() else {
            // No journal: each record straight to the book, no command decoded aside.
            for (i, chunk) in input.chunks_exact(COMMAND_SIZE).enumerate() {
                sink.command = u32::try_from(i).unwrap_or(u32::MAX);
                let rec: &[u8; COMMAND_SIZE] = chunk.try_into().expect("chunks_exact yields full records");
                if let Err(e) = records::execute_record(book, rec, &mut sink) {
                    sink.push_invalid(&e);
                }
            }
            return Ok(sink.into_records());
        };
        for (i, chunk) in input.chunks_exact(COMMAND_SIZE).enumerate() {
            sink.command = u32::try_from(i).unwrap_or(u32::MAX);
            let rec: &[u8; COMMAND_SIZE] = chunk.try_into().expect("chunks_exact yields full records");
            let cmd = match records::decode_command(rec) {
                Ok(cmd) => cmd,
                Err(e) => {
                    sink.push_invalid(&e);
                    continue;
                }
            };
            journal.append(id, &cmd).map_err(|source| JournaledError::BatchStopped { done: i, source })?;
            if let Err(e) = book.execute(&cmd, &mut sink) {
                sink.push_invalid(&e);
            }
        }
        Ok(sink.into_records())
    }

    /// Flushes the journal, then writes a snapshot of every book into its directory
    /// (atomically); recovery then starts from it. Returns the snapshot's path.
    pub fn write_snapshot(&mut self) -> Result<PathBuf, JournaledError> {
        let Some(j) = self.journal.as_mut() else {
            return Err(JournaledError::NoJournal { op: "journal_snapshot" });
        };
        j.sync()?;
        let snapshot = EngineSnapshot::capture(&self.engine, j.last_seq());
        Ok(write_snapshot(j.dir(), &snapshot)?)
    }

    /// Flushes the journal to disk (nothing without one).
    pub fn sync_journal(&mut self) -> Result<(), JournaledError> {
        match self.journal.as_mut() {
            Some(j) => Ok(j.sync()?),
            None => Ok(()),
        }
    }

    /// Flushes and closes the journal; commands then run unjournaled.
    pub fn close_journal(&mut self) -> Result<(), JournaledError> {
        match self.journal.take() {
            Some(j) => Ok(j.close()?),
            None => Ok(()),
        }
    }

    /// The sequence number of the last journaled command (`None` without a journal).
    pub fn journal_seq(&self) -> Option<u64> {
        self.journal.as_ref().map(Journal::last_seq)
    }
}

#[cfg(test)]
#[path = "journaled_engine_tests.rs"]
mod tests;

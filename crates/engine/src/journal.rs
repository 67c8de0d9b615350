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
//!
//! # Where things are
//!
//! Each file holds one thing; everything a user needs is re-exported here.
//!
//! | file | what it holds |
//! |---|---|
//! | `config.rs` | [`JournalConfig`] and [`FsyncPolicy`]: where and how a journal is written |
//! | `error.rs` | [`JournalError`], the one error of every part below |
//! | `writer.rs` | [`Journal`]: open (lock, scan, cut a torn tail), append, flush, roll |
//! | `reader.rs` | [`read_entries`] and [`read_records`]: the records in order, without a lock |
//! | [`record`] | the byte layout of one record, its CRC, encode and decode |
//! | [`control`] | the byte layout of a control record ([`crate::risk::ControlRecord`]) |
//! | [`client_id`] | [`ClientOrderId`]: a client order id, as tagged records hold it |
//! | [`segment`] | one segment file: create, map, scan, flush |
//! | [`roller`] | the thread that prepares the next segment, and [`RollStats`] |
//! | [`snapshot`] | snapshot files of the books and risk state |
//! | [`recovery`] | rebuilding the books: the newest valid snapshot, then the tail |
//! | `retention.rs` | [`prune_segments`]: the segments snapshots made unnecessary |
//!
//! Dependencies run one way: the writer and readers use segments, which use records, which
//! use the control layout, which uses the risk types; nothing here is used by `crate::risk`.

pub mod client_id;
pub mod control;
pub mod offline;
pub mod record;
pub mod recovery;
pub mod roller;
pub mod segment;
pub mod snapshot;

mod config;
mod error;
mod reader;
mod retention;
mod writer;

pub use client_id::{ClientOrderId, InvalidClientOrderId, CLIENT_ID_SIZE};
pub use config::{FsyncPolicy, JournalConfig};
pub use error::{JournalError, LOCK_FILE};
pub use reader::{read_entries, read_records, JournalReader, RecordReader};
pub use record::{
    ControlEntry, JournalEntry, JournalRecord, RejectionEntry, CONTROL_RECORD_SIZE, MAX_RECORD_SIZE, RECORD_SIZE,
    REJECTION_RECORD_SIZE, TAGGED_RECORD_SIZE, TAGGED_REJECTION_RECORD_SIZE, TIME_RECORD_SIZE,
};
pub use recovery::{
    apply, recover, recover_records, recover_with, Outcome, RecoverOptions, Recovered, Replayed, ReplayedEvent,
};
pub use retention::{held_seq, held_state_name, oldest_valid_snapshot, prune_point, prune_segments, segments_behind};
pub use roller::{RollStats, RollWatch};
pub use snapshot::{
    load_latest_snapshot, prune_snapshots, read_snapshot, write_snapshot, EngineSnapshot, LoadedSnapshot,
    SnapshotWarning,
};
pub use writer::{Journal, RecoveryReport, TornTail};

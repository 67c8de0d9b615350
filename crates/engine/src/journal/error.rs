//! What can go wrong with a journal: one error enum for the writer, the readers, recovery and
//! snapshots, each message with `key=value` context.

use std::path::{Path, PathBuf};

use wintermute_core::InstrumentId;

use super::record::DecodeError;

/// The file whose exclusive lock marks a journal directory as open for writing (see
/// [`JournalError::Locked`]).
pub const LOCK_FILE: &str = "LOCK";

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
    #[error("journal record seq={seq} holds an invalid risk rejection: {why}")]
    InvalidRejection { seq: u64, why: &'static str },
    #[error("journal record seq={seq} holds an invalid client order id: {why}")]
    InvalidClientOrderId { seq: u64, why: &'static str },
    #[error("journal record seq={seq}: a time mark was decoded as a record")]
    TimeMarkDecoded { seq: u64 },
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

    pub(crate) fn decode(seq: u64, e: DecodeError) -> Self {
        match e {
            DecodeError::Command(source) => JournalError::InvalidCommand { seq, source },
            DecodeError::Control(why) => JournalError::InvalidControl { seq, why },
            DecodeError::Rejection(why) => JournalError::InvalidRejection { seq, why },
            DecodeError::ClientOrderId(why) => JournalError::InvalidClientOrderId { seq, why },
            DecodeError::TimeMark => JournalError::TimeMarkDecoded { seq },
        }
    }
}

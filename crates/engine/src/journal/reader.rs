//! Readers: iterate over a journal's records in order, one segment in memory at a time,
//! without the writer's lock (a reader may run beside a writer).

use std::path::{Path, PathBuf};

use super::error::JournalError;
use super::record::{self, JournalEntry, JournalRecord};
use super::segment;

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
                Ok(JournalRecord::Control(_) | JournalRecord::Rejection(_)) => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Reads every record (commands, controls and risk rejections) with a sequence number above
/// `after_seq`, in order, each with the wall-clock time of the time mark before it (time marks
/// themselves are not yielded, see [`record`]); otherwise as [`read_entries`].
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
        wall_ns: 0,
        done: false,
    })
}

/// Iterator over journal records; see [`read_records`].
#[derive(Debug)]
pub struct RecordReader {
    segments: std::vec::IntoIter<(u64, PathBuf)>,
    path: PathBuf,
    bytes: Vec<u8>,
    offset: usize,
    after_seq: u64,
    /// The time of the last time mark read in this segment (0: none yet).
    wall_ns: u64,
    done: bool,
}

impl Iterator for RecordReader {
    type Item = Result<JournalRecord, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            match record::parse(&self.bytes, self.offset) {
                record::Frame::Record(r) => {
                    self.offset += r.size();
                    if let Some(wall_ns) = r.time_mark() {
                        self.wall_ns = wall_ns;
                    } else if r.seq > self.after_seq {
                        let wall_ns = self.wall_ns;
                        return Some(r.decode().map(|d| d.at(wall_ns)).map_err(|e| JournalError::decode(r.seq, e)));
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
                    // Each segment starts with its own time mark (see `record`).
                    self.wall_ns = 0;
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

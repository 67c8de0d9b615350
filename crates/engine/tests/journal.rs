//! The journal on disk: appends, segments, fsync policies, and what opening does with torn
//! tails and damage in the middle.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use wintermute_core::{Command, NewOrder, Side};
use wintermute_engine::journal::segment::{list_segments, segment_name};
use wintermute_engine::journal::{
    read_entries, FsyncPolicy, Journal, JournalConfig, JournalEntry, JournalError, RECORD_SIZE,
};

fn cmd(i: u64) -> Command {
    match i % 3 {
        0 => Command::New(NewOrder::limit(
            i,
            (i % 5) as u32,
            if i.is_multiple_of(2) { Side::Buy } else { Side::Sell },
            100 + (i % 7) as i64,
            1 + (i % 4) as i64,
        )),
        1 => Command::Cancel { order_id: i - 1 },
        _ if i.is_multiple_of(2) => {
            Command::AmendTotal { order_id: i, price: None, qty: 1 + (i % 4) as i64, seen_remaining: i as i64 }
        }
        _ => Command::Amend { order_id: i, price: Some(i as i64), qty: None },
    }
}

/// 4 records per segment (plus a few spare bytes, so segments are not a multiple of records).
fn config(dir: &Path) -> JournalConfig {
    JournalConfig::new(dir).segment_size(4 * RECORD_SIZE as u64 + 10).fsync(FsyncPolicy::None)
}

fn write(dir: &Path, n: u64) -> Vec<JournalEntry> {
    let (mut j, report) = Journal::open(config(dir)).unwrap();
    let start = report.last_seq;
    let mut out = Vec::new();
    for i in 0..n {
        let seq = j.append((i % 3) as u32, &cmd(start + i)).unwrap();
        out.push(JournalEntry {
            seq,
            instrument: (i % 3) as u32,
            command: cmd(start + i),
            client_order_id: None,
            wall_ns: 0,
        });
    }
    // No close: the process "crashes"; the mapped pages are in the page cache.
    drop(j);
    out
}

fn read_all(dir: &Path) -> Vec<JournalEntry> {
    read_entries(dir, 0).unwrap().collect::<Result<_, _>>().unwrap()
}

fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(segment_name(first_seq))
}

fn overwrite(path: &Path, offset: u64, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(bytes).unwrap();
}

#[test]
fn appends_roll_segments_and_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let written = write(dir.path(), 10);
    assert_eq!(written.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
    let segs = list_segments(dir.path()).unwrap();
    assert_eq!(segs.iter().map(|s| s.0).collect::<Vec<_>>(), [1, 5, 9], "4 records per segment");
    assert_eq!(read_all(dir.path()), written);
    // Reading from the middle skips whole segments and records.
    let tail: Vec<_> = read_entries(dir.path(), 6).unwrap().map(|e| e.unwrap().seq).collect();
    assert_eq!(tail, [7, 8, 9, 10]);
}

#[test]
fn reopening_continues_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = write(dir.path(), 6);
    all.extend(write(dir.path(), 5));
    assert_eq!(all.last().map(|e| e.seq), Some(11));
    assert_eq!(read_all(dir.path()), all);
    let (_, report) = Journal::open(config(dir.path())).unwrap();
    assert_eq!((report.records, report.last_seq, report.truncated), (11, 11, None));
}

#[test]
fn torn_last_record_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let written = write(dir.path(), 7); // segments 1 (4 records) and 5 (3 records)
    let seg = segment_path(dir.path(), 5);
    // A torn write: the last record's second half never reached the disk.
    let last = 2 * RECORD_SIZE as u64;
    overwrite(&seg, last + 40, &[0u8; RECORD_SIZE - 40]);
    let (mut j, report) = Journal::open(config(dir.path())).unwrap();
    let torn = report.truncated.expect("the torn record is reported");
    assert_eq!((torn.segment.as_path(), torn.offset, torn.reason), (seg.as_path(), last, "CRC mismatch"));
    assert_eq!((report.records, report.last_seq), (6, 6));
    // The journal goes on where the valid part ends.
    assert_eq!(j.append(0, &cmd(100)).unwrap(), 7);
    drop(j);
    let back = read_all(dir.path());
    assert_eq!(back[..6], written[..6]);
    assert_eq!(back[6], JournalEntry { seq: 7, instrument: 0, command: cmd(100), client_order_id: None, wall_ns: 0 });
}

#[test]
fn corrupted_last_record_and_trailing_garbage_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 3);
    let seg = segment_path(dir.path(), 1);
    overwrite(&seg, 2 * RECORD_SIZE as u64 + 30, &[0xFF]); // one flipped byte in record 3
    overwrite(&seg, 3 * RECORD_SIZE as u64 + 5, &[0x11, 0x22]); // junk after it
    let (_, report) = Journal::open(config(dir.path())).unwrap();
    let torn = report.truncated.expect("reported");
    assert_eq!((torn.offset, report.last_seq), (2 * RECORD_SIZE as u64, 2));
    // After the cut the rest of the segment is zeros again: a second open finds nothing to do.
    let bytes = fs::read(&seg).unwrap();
    assert!(bytes[2 * RECORD_SIZE..].iter().all(|&b| b == 0));
    let (_, again) = Journal::open(config(dir.path())).unwrap();
    assert_eq!((again.last_seq, again.truncated), (2, None));
}

#[test]
fn corrupted_middle_record_stops_recovery_with_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 4);
    let seg = segment_path(dir.path(), 1);
    let offset = RECORD_SIZE as u64; // record 2 of 4
    overwrite(&seg, offset + 20, &[0xAB]);
    let before = fs::read(&seg).unwrap();
    let err = Journal::open(config(dir.path())).unwrap_err();
    match &err {
        JournalError::Corrupt { segment, offset: at, .. } => {
            assert_eq!((segment.as_path(), *at), (seg.as_path(), offset))
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&format!("offset={offset}")) && msg.contains(&segment_name(1)), "{msg}");
    assert_eq!(fs::read(&seg).unwrap(), before, "a failed recovery changes nothing");
    // The reader refuses too, at the same place, after the valid record before it.
    let items: Vec<_> = read_entries(dir.path(), 0).unwrap().collect();
    assert!(items[0].is_ok() && matches!(items[1], Err(JournalError::Corrupt { .. })));
}

#[test]
fn damage_at_the_end_of_a_full_segment_is_middle_damage_when_later_segments_hold_records() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 6);
    let seg = segment_path(dir.path(), 1);
    overwrite(&seg, 3 * RECORD_SIZE as u64, &[0u8; RECORD_SIZE]); // record 4 zeroed (lost page)
    match Journal::open(config(dir.path())).unwrap_err() {
        JournalError::Corrupt { segment, offset, reason } => {
            assert_eq!((segment, offset), (seg, 3 * RECORD_SIZE as u64));
            assert_eq!(reason, "zeros where a record should be");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn empty_and_garbage_later_segments_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 4); // segment 1 is full
                          // A crash right after the roll created segment 5, and one garbage file after it.
    fs::write(segment_path(dir.path(), 5), vec![0u8; 64]).unwrap();
    fs::write(segment_path(dir.path(), 9), vec![7u8; 64]).unwrap();
    let (mut j, report) = Journal::open(config(dir.path())).unwrap();
    let torn = report.truncated.expect("garbage is reported");
    assert_eq!(torn.removed_segments, [segment_path(dir.path(), 5), segment_path(dir.path(), 9)]);
    assert_eq!(j.append(1, &cmd(5)).unwrap(), 5);
    drop(j);
    assert_eq!(read_all(dir.path()).len(), 5);
}

#[test]
fn a_sequence_gap_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 10); // segments 1, 5 and 9
    fs::remove_file(segment_path(dir.path(), 5)).unwrap();
    let err = Journal::open(config(dir.path())).unwrap_err();
    assert!(matches!(err, JournalError::SequenceGap { expected: 5, found: 9, offset: 0, .. }), "{err}");
}

#[test]
fn every_fsync_policy_writes_the_same_records() {
    for policy in [
        FsyncPolicy::None,
        FsyncPolicy::EveryRecord,
        FsyncPolicy::Batch { records: 3, interval: Duration::from_secs(60) },
        FsyncPolicy::Batch { records: 1000, interval: Duration::ZERO },
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(config(dir.path()).fsync(policy)).unwrap();
        for i in 0..9 {
            j.append(0, &cmd(i)).unwrap();
        }
        j.close().unwrap();
        let back: Vec<_> = read_all(dir.path()).into_iter().map(|e| e.command).collect();
        assert_eq!(back, (0..9).map(cmd).collect::<Vec<_>>(), "{policy:?}");
    }
}

#[test]
fn bad_configs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let small = config(dir.path()).segment_size(RECORD_SIZE as u64 - 1);
    assert!(matches!(Journal::open(small), Err(JournalError::Config { .. })));
    let zero = config(dir.path()).fsync(FsyncPolicy::Batch { records: 0, interval: Duration::ZERO });
    assert!(matches!(Journal::open(zero), Err(JournalError::Config { .. })));
    fs::write(dir.path().join("oops.wal"), b"").unwrap();
    assert!(matches!(Journal::open(config(dir.path())), Err(JournalError::BadSegmentName { .. })));
}

#[test]
fn one_writer_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut first, _) = Journal::open(config(dir.path())).expect("first writer");
    first.append(0, &cmd(1)).expect("append");
    match Journal::open(config(dir.path())) {
        Err(JournalError::Locked { dir: locked }) => assert_eq!(locked, dir.path()),
        other => panic!("a second writer must be refused, got {other:?}"),
    }
    // Readers take no lock.
    assert_eq!(read_all(dir.path()).len(), 1);
    drop(first); // a crash releases the lock too: the OS drops it with the file
    let (second, report) = Journal::open(config(dir.path())).expect("lock released");
    assert_eq!((report.records, second.last_seq()), (1, 1));
}

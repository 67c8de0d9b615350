//! Control records in the journal file format: they share the commands' sequence, roll
//! segments like commands, survive reopening, and old files (v1 snapshots, command-only
//! journals) still read.

use wintermute_core::{Command, NewOrder, Side};
use wintermute_engine::journal::{
    read_entries, read_records, read_snapshot, FsyncPolicy, Journal, JournalConfig, JournalError, JournalRecord,
    CONTROL_RECORD_SIZE, RECORD_SIZE,
};
use wintermute_engine::risk::{AccountLimits, ControlRecord};

fn buy(id: u64) -> Command {
    Command::New(NewOrder::limit(id, 1, Side::Buy, 100, 1))
}

#[test]
fn control_records_share_the_sequence_and_roll_segments() {
    let dir = tempfile::tempdir().unwrap();
    // One command and one control fit; then 100 bytes are left: room for a command, not for a
    // control, which therefore starts the next segment.
    let size = (RECORD_SIZE + CONTROL_RECORD_SIZE + 100) as u64;
    let config = JournalConfig::new(dir.path()).segment_size(size).fsync(FsyncPolicy::None);
    let (mut j, _) = Journal::open(config.clone()).unwrap();
    let kill = ControlRecord::GlobalKill { engaged: true };
    let limits =
        ControlRecord::SetLimits { account: 3, limits: AccountLimits { max_order_qty: 9, ..AccountLimits::UNLIMITED } };
    assert_eq!(j.append(0, &buy(1)).unwrap(), 1);
    assert_eq!(j.append_control(&kill).unwrap(), 2);
    assert_eq!(j.append_control(&limits).unwrap(), 3); // rolls
    assert_eq!(j.append(1, &buy(2)).unwrap(), 4);
    drop(j); // a crash: nothing flushed explicitly

    let (mut j, report) = Journal::open(config.clone()).unwrap();
    assert_eq!((report.segments, report.records, report.last_seq), (2, 4, 4));
    assert!(report.truncated.is_none(), "the gap at the end of segment 1 is not damage: {report:?}");
    assert_eq!(j.append(0, &buy(3)).unwrap(), 5);
    j.close().unwrap();

    let seqs: Vec<(u64, bool)> = read_records(dir.path(), 0)
        .unwrap()
        .map(|r| {
            let r = r.unwrap();
            (r.seq(), matches!(r, JournalRecord::Control(_)))
        })
        .collect();
    assert_eq!(seqs, [(1, false), (2, true), (3, true), (4, false), (5, false)]);
    let after: Vec<u64> = read_records(dir.path(), 2).unwrap().map(|r| r.unwrap().seq()).collect();
    assert_eq!(after, [3, 4, 5]);
    let commands: Vec<u64> = read_entries(dir.path(), 0).unwrap().map(|e| e.unwrap().seq).collect();
    assert_eq!(commands, [1, 4, 5]);
}

#[test]
fn zeros_with_room_for_the_next_record_are_still_a_hole() {
    let dir = tempfile::tempdir().unwrap();
    let size = (RECORD_SIZE + 2 * CONTROL_RECORD_SIZE) as u64;
    let config = JournalConfig::new(dir.path()).segment_size(size).fsync(FsyncPolicy::None);
    let (mut j, _) = Journal::open(config.clone()).unwrap();
    j.append(0, &buy(1)).unwrap();
    j.append_control(&ControlRecord::GlobalKill { engaged: true }).unwrap();
    j.append_control(&ControlRecord::GlobalKill { engaged: false }).unwrap();
    j.append(0, &buy(2)).unwrap(); // segment 2
    j.close().unwrap();
    // Zero the second control record (a lost page): the next segment's first record (a
    // command) would have fitted there, so this is damage in the middle, not a full segment.
    let seg = dir.path().join(format!("{:020}.wal", 1));
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = RECORD_SIZE + CONTROL_RECORD_SIZE;
    bytes[at..at + CONTROL_RECORD_SIZE].fill(0);
    std::fs::write(&seg, bytes).unwrap();
    match Journal::open(config) {
        Err(JournalError::Corrupt { offset, .. }) => assert_eq!(offset, at as u64),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_segment_too_small_for_a_control_record_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let config = JournalConfig::new(dir.path()).segment_size(RECORD_SIZE as u64 + 10).fsync(FsyncPolicy::None);
    let (mut j, _) = Journal::open(config).unwrap();
    j.append(0, &buy(1)).unwrap();
    let err = j.append_control(&ControlRecord::GlobalKill { engaged: true }).unwrap_err();
    assert!(err.to_string().contains("below one control record"), "{err}");
    assert_eq!(j.append(0, &buy(2)).unwrap(), 2, "nothing was written");
}

#[test]
fn version_1_snapshots_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let json = br#"{"journal_seq":0,"books":[]}"#;
    let header = format!("wintermute-snapshot v1 len={} crc32c={:08x}\n", json.len(), crc32c::crc32c(json));
    let path = dir.path().join(format!("snapshot-{:020}.snap", 0));
    std::fs::write(&path, [header.as_bytes(), json].concat()).unwrap();
    let snap = read_snapshot(&path).unwrap();
    assert_eq!((snap.journal_seq, snap.books.len(), snap.risk), (0, 0, None));
}

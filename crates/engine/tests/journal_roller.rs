//! Segment rolls prepared by the roller thread (`journal::roller`): the writer takes the spare
//! segment, the files on disk are byte for byte those of a writer that creates its own
//! segments, and no spare outlives its writer or confuses a reader.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use wintermute_core::{Command, NewOrder, Side};
use wintermute_engine::journal::roller::SPARE_FILE;
use wintermute_engine::journal::segment::list_segments;
use wintermute_engine::journal::{read_entries, FsyncPolicy, Journal, JournalConfig, JournalEntry, RECORD_SIZE};
use wintermute_engine::risk::ControlRecord;

fn cmd(i: u64) -> Command {
    let side = if i.is_multiple_of(2) { Side::Buy } else { Side::Sell };
    Command::New(NewOrder::limit(i + 1, (i % 7) as u32, side, 100 + (i % 11) as i64, 1 + (i % 5) as i64))
}

/// 10 records per segment.
fn config(dir: &Path) -> JournalConfig {
    JournalConfig::new(dir).segment_size(10 * RECORD_SIZE as u64).fsync(FsyncPolicy::None)
}

/// Waits (up to 10 s) for the roller's spare.
fn wait_for_spare(journal: &Journal) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !journal.spare_ready() {
        assert!(Instant::now() < deadline, "the roller made no spare segment in 10 s");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Appends `n` commands, waiting for a spare before every roll when `wait` (so that every roll
/// takes one).
fn append(journal: &mut Journal, n: u64, wait: bool) -> Vec<JournalEntry> {
    (0..n)
        .map(|i| {
            if wait && i % 10 == 9 {
                wait_for_spare(journal);
            }
            let seq = journal.append((i % 3) as u32, &cmd(i)).unwrap();
            JournalEntry { seq, instrument: (i % 3) as u32, command: cmd(i), client_order_id: None, wall_ns: 0 }
        })
        .collect()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn segment_bytes(dir: &Path) -> Vec<(u64, Vec<u8>)> {
    list_segments(dir).unwrap().into_iter().map(|(first, p): (u64, PathBuf)| (first, fs::read(p).unwrap())).collect()
}

#[test]
fn every_roll_takes_the_prepared_spare_and_the_records_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = Journal::open(config(dir.path())).unwrap();
    let written = append(&mut journal, 95, true);
    let stats = journal.roll_stats();
    assert_eq!((stats.rolls, stats.prepared, stats.roller_failures), (9, 9, 0), "{stats:?}");
    wait_for_spare(&journal);
    assert!(files(dir.path()).contains(&SPARE_FILE.to_string()));
    assert_eq!(list_segments(dir.path()).unwrap().len(), 10);
    // A reader sees the segments, never the spare.
    let read: Vec<JournalEntry> = read_entries(dir.path(), 0).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(read, written);
    journal.close().unwrap();
    assert!(!files(dir.path()).contains(&SPARE_FILE.to_string()), "the spare outlived its writer");
}

#[test]
fn segments_are_the_same_bytes_with_and_without_the_roller_and_populating() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (with, unpopulated, without) = (dirs[0].path(), dirs[1].path(), dirs[2].path());
    for (dir, roller, populate) in [(with, true, true), (unpopulated, true, false), (without, false, false)] {
        let (mut journal, _) = Journal::open(config(dir).prepare_segments(roller).populate(populate)).unwrap();
        append(&mut journal, 37, roller);
        // A control record is larger: it rolls where a command would still fit.
        journal.append_control(&ControlRecord::GlobalKill { engaged: true }).unwrap();
        append(&mut journal, 25, roller);
        let stats = journal.roll_stats();
        assert!(stats.rolls >= 6, "{stats:?}");
        assert_eq!(stats.prepared > 0, roller, "{stats:?}");
        assert_eq!(stats.populate_failures, 0, "{stats:?}");
        drop(journal); // a crash, as far as the files know
    }
    assert_eq!(segment_bytes(with), segment_bytes(without));
    assert_eq!(segment_bytes(unpopulated), segment_bytes(without));
    assert!(!files(without).contains(&SPARE_FILE.to_string()));
}

/// Minor page faults of the calling thread so far.
#[cfg(target_os = "linux")]
fn thread_faults() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        assert_eq!(libc::getrusage(libc::RUSAGE_THREAD, &mut usage), 0);
        usage
    };
    usage.ru_minflt
}

/// Appends 8 MiB of records to a fresh 16 MiB segment; the appending thread's page faults.
#[cfg(target_os = "linux")]
fn faults_appending(populate: bool) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let config = JournalConfig::new(dir.path())
        .segment_size(16 << 20)
        .fsync(FsyncPolicy::None)
        .prepare_segments(false)
        .populate(populate);
    let (mut journal, _) = Journal::open(config).unwrap();
    let commands: Vec<Command> = (0..1024).map(cmd).collect();
    let records = (8 << 20) / RECORD_SIZE as u64;
    let before = thread_faults();
    for i in 0..records {
        journal.append(0, &commands[(i % 1024) as usize]).unwrap();
    }
    let faults = thread_faults() - before;
    assert_eq!(journal.roll_stats().rolls, 0);
    faults
}

#[test]
#[cfg(target_os = "linux")]
fn a_populated_segment_takes_no_page_faults_on_the_writer() {
    let (on, off) = (faults_appending(true), faults_appending(false));
    eprintln!("page faults appending 8 MiB: populated {on}, unpopulated {off}");
    // Without populating, every first write to a page (or a large folio of a few pages) of the
    // 8 MiB is a fault: hundreds. Populated, none of them should be.
    assert!(off >= 100, "unpopulated: only {off} page faults for 8 MiB of fresh segment");
    assert!(on <= off / 20, "populated: {on} page faults (unpopulated: {off})");
}

#[test]
fn a_spare_left_by_a_crash_is_deleted_and_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = Journal::open(config(dir.path())).unwrap();
    let mut written = append(&mut journal, 15, true);
    drop(journal);
    // What a crash between making a spare and a roll leaves, with garbage in it.
    fs::write(dir.path().join(SPARE_FILE), [0xAB; 100]).unwrap();
    let read: Vec<JournalEntry> = read_entries(dir.path(), 0).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(read, written, "a reader must ignore the spare");

    let (mut journal, report) = Journal::open(config(dir.path()).prepare_segments(false)).unwrap();
    assert!(report.truncated.is_none(), "{report:?}");
    assert!(!dir.path().join(SPARE_FILE).exists(), "open must delete a stale spare");
    let next: Vec<JournalEntry> = (15..30)
        .map(|i| {
            let seq = journal.append(0, &cmd(i)).unwrap();
            JournalEntry { seq, instrument: 0, command: cmd(i), client_order_id: None, wall_ns: 0 }
        })
        .collect();
    written.extend(next);
    journal.close().unwrap();
    let read: Vec<JournalEntry> = read_entries(dir.path(), 0).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(read, written);
}

#[test]
fn a_roll_without_a_spare_creates_the_segment_inline() {
    let dir = tempfile::tempdir().unwrap();
    let (mut journal, _) = Journal::open(config(dir.path()).prepare_segments(false)).unwrap();
    let written = append(&mut journal, 45, false);
    let stats = journal.roll_stats();
    assert_eq!((stats.rolls, stats.prepared), (4, 0), "{stats:?}");
    assert!(stats.longest > Duration::ZERO);
    assert!(!journal.spare_ready());
    journal.close().unwrap();
    let read: Vec<JournalEntry> = read_entries(dir.path(), 0).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(read, written);
    assert_eq!(files(dir.path()).iter().filter(|n| n.ends_with(".spare")).count(), 0);
}

#[test]
fn a_durable_policy_syncs_the_renamed_segment_and_reopens_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let durable = config(dir.path()).fsync(FsyncPolicy::EveryRecord);
    let (mut journal, _) = Journal::open(durable.clone()).unwrap();
    let written = append(&mut journal, 35, true);
    assert_eq!(journal.roll_stats().prepared, 3);
    drop(journal);
    let (journal, report) = Journal::open(durable).unwrap();
    assert_eq!((report.records, report.last_seq, report.segments), (35, 35, 4), "{report:?}");
    assert!(report.truncated.is_none());
    drop(journal);
    let read: Vec<JournalEntry> = read_entries(dir.path(), 0).unwrap().collect::<Result<_, _>>().unwrap();
    assert_eq!(read, written);
}

//! Wall-clock time in the journal: time marks (one per matching batch, and one at the top of
//! each segment) give every record the engine's time; they take no sequence number, survive
//! rolls, reopening and torn tails, and journals without them read as before (time 0).

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wintermute_core::{Command, NewOrder, Side};
use wintermute_engine::journal::{
    read_records, recover, FsyncPolicy, Journal, JournalConfig, JournalRecord, RECORD_SIZE,
};
use wintermute_engine::pipeline::{Pipeline, RiskConfig, Topology};
use wintermute_engine::risk::AccountLimits;

use support::{config, initial_engine};

fn buy(id: u64, price: i64, qty: i64) -> Command {
    Command::New(NewOrder::limit(id, 7, Side::Buy, price, qty))
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn records(dir: &std::path::Path, after: u64) -> Vec<JournalRecord> {
    read_records(dir, after).unwrap().map(Result::unwrap).collect()
}

#[test]
fn a_pipeline_stamps_every_record_with_the_wall_clock_in_both_topologies() {
    for topology in [Topology::Merged, Topology::Split] {
        let dir = tempfile::tempdir().unwrap();
        // Small segments: the journal rolls many times.
        let jc = JournalConfig::new(dir.path()).segment_size(40 * RECORD_SIZE as u64).fsync(FsyncPolicy::None);
        let risk =
            RiskConfig::permissive().account(7, AccountLimits { max_order_qty: 100, ..AccountLimits::UNLIMITED });
        let cfg = || config(topology, 1).risk(risk.clone()).journal(jc.clone());
        let start = now_ns();
        let (pipeline, handles) = Pipeline::start(cfg()).unwrap();
        let mut gw = handles.gateways.into_iter().next().unwrap();
        let sub = handles.subscriptions;
        for i in 0..400u64 {
            // Every tenth order is too big: a risk rejection, journaled too.
            let qty = if i % 10 == 9 { 500 } else { 1 };
            gw.submit(0, buy(i + 1, 100 + (i % 7) as i64, qty)).unwrap();
            if i % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        pipeline.shutdown().unwrap();
        drop(sub);
        let end = now_ns();

        let all = records(dir.path(), 0);
        assert_eq!(all.len(), 400, "{topology:?}: one record per command, time marks not counted");
        assert!(all.iter().any(|r| matches!(r, JournalRecord::Rejection(_))));
        let walls: Vec<u64> = all.iter().map(JournalRecord::wall_ns).collect();
        assert!(walls.iter().all(|&w| (start..=end).contains(&w)), "{topology:?}: {walls:?}");
        assert!(walls.windows(2).all(|w| w[0] <= w[1]), "{topology:?}: time follows the sequence");
        assert!(walls.first() < walls.last(), "{topology:?}: several batches, several times");
        let seqs: Vec<u64> = all.iter().map(JournalRecord::seq).collect();
        assert_eq!(seqs, (1..=400).collect::<Vec<_>>(), "marks take no sequence number");
        // Read from the middle (a later segment): the first record still has its time.
        let tail = records(dir.path(), 321);
        assert_eq!(tail[0].seq(), 322);
        assert_eq!(tail[0].wall_ns(), walls[321], "each segment carries its own time mark");

        // A restart reads past the marks and numbering goes on.
        let (pipeline, handles) = Pipeline::start(cfg()).unwrap();
        assert_eq!(pipeline.recovery().journal_seq, 400);
        let mut gw = handles.gateways.into_iter().next().unwrap();
        gw.submit(0, buy(1000, 90, 1)).unwrap();
        let done = pipeline.shutdown().unwrap();
        assert_eq!(done.last_seq, 401);
        let last = records(dir.path(), 400);
        assert!(last[0].wall_ns() >= end);
    }
}

#[test]
fn time_marks_survive_rolls_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let jc = JournalConfig::new(dir.path()).segment_size(3 * RECORD_SIZE as u64).fsync(FsyncPolicy::None);
    let (mut j, _) = Journal::open(jc.clone()).unwrap();
    j.append(0, &buy(1, 100, 1)).unwrap(); // before any time: 0
    for i in 2..=9u64 {
        j.mark_time(1_000 * i);
        j.append(0, &buy(i, 100, 1)).unwrap();
        j.append(0, &buy(100 + i, 100, 1)).unwrap();
    }
    drop(j); // a crash
    let (mut j, report) = Journal::open(jc.clone()).unwrap();
    assert_eq!((report.last_seq, report.truncated), (17, None));
    let walls: Vec<(u64, u64)> = records(dir.path(), 0).iter().map(|r| (r.seq(), r.wall_ns())).collect();
    let mut expected = vec![(1, 0)];
    for i in 2..=9u64 {
        expected.extend([(2 * i - 2, 1_000 * i), (2 * i - 1, 1_000 * i)]);
    }
    assert_eq!(walls, expected);
    // After a reopen, a new time stamps what follows.
    j.mark_time(50_000);
    j.append(0, &buy(50, 100, 1)).unwrap();
    drop(j);
    let (j, report) = Journal::open(jc.clone()).unwrap();
    assert_eq!(report.last_seq, 18);
    drop(j);
    let books = recover(dir.path(), &initial_engine()).unwrap();
    assert_eq!((books.journal_seq, books.replayed), (18, 18));
    assert_eq!(records(dir.path(), 17)[0].wall_ns(), 50_000);
}

#[test]
fn the_same_time_writes_no_second_mark() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let size = |dir: &std::path::Path, marks: &[u64]| {
        let jc = JournalConfig::new(dir).segment_size(1 << 16).fsync(FsyncPolicy::None);
        let (mut j, _) = Journal::open(jc).unwrap();
        for (i, &t) in marks.iter().enumerate() {
            j.mark_time(t);
            j.append(0, &buy(i as u64 + 1, 100, 1)).unwrap();
        }
        j.close().unwrap();
        let seg = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "wal"))
            .unwrap();
        std::fs::read(seg).unwrap().iter().rposition(|&b| b != 0).unwrap()
    };
    let once = size(a.path(), &[5, 5, 5, 5]);
    let each = size(b.path(), &[5, 6, 7, 8]);
    assert_eq!(each - once, 3 * 40, "three more time marks of 40 bytes");
}

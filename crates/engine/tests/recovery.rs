//! Crash and recover: a random command stream is journaled and run, a snapshot is taken
//! midway, the process "crashes" (the journal is dropped without closing; sometimes the last
//! record is torn), and recovery must give back the same books (compared as snapshot JSON)
//! and the same events, event for event, as the original run.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use wintermute_core::rng::SplitMix64;
use wintermute_core::{Command, Engine, InstrumentSpec, NewOrder, Side, StpMode, TimeInForce};
use wintermute_engine::journal::segment::{list_segments, segment_name};
use wintermute_engine::journal::snapshot::list_snapshots;
use wintermute_engine::journal::{
    apply, prune_segments, read_records, recover, write_snapshot, EngineSnapshot, FsyncPolicy, Journal, JournalConfig,
    JournalError, Outcome, ReplayedEvent, RECORD_SIZE,
};

fn initial_engine() -> Engine {
    let mut e = Engine::new();
    for sym in ["BTC-USD", "ETH-USD"] {
        e.add_instrument(InstrumentSpec::from_units(sym, "0.5", "0.001", 1, 50, 400, 600).unwrap()).unwrap();
    }
    e
}

/// A stream with every command kind, TIFs, post-only, icebergs, STP, and commands the book
/// refuses (unknown ids, quantities above the maximum, prices out of band).
fn random_command(rng: &mut SplitMix64, next_id: &mut u64) -> (u32, Command) {
    let instrument = rng.below(2) as u32;
    let cmd = match rng.below(22) {
        0..=10 => {
            *next_id += 1;
            let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
            let mid = 500;
            let price = if side == Side::Buy { rng.range(mid - 15, mid + 3) } else { rng.range(mid - 3, mid + 15) };
            let qty = rng.range(1, 55);
            let mut o = NewOrder::limit(*next_id, rng.below(4) as u32, side, price, qty);
            match rng.below(10) {
                0 => o = o.with_tif(TimeInForce::Ioc),
                1 => o = o.with_tif(TimeInForce::Fok),
                2 => o = o.post_only(),
                3 => o = o.iceberg(rng.range(1, qty)),
                4 => o = NewOrder::market(*next_id, o.account, side, qty),
                5 => o.price = 700, // out of band
                _ => {}
            }
            o.stp = [StpMode::None, StpMode::CancelNewest, StpMode::CancelOldest, StpMode::Decrement]
                [rng.below(4) as usize];
            Command::New(o)
        }
        11..=15 => Command::Cancel { order_id: rng.below(*next_id + 2) },
        16..=18 => Command::Amend {
            order_id: rng.below(*next_id + 2),
            price: (rng.below(2) == 0).then(|| rng.range(485, 515)),
            qty: Some(rng.range(1, 40)),
        },
        20..=21 => Command::AmendTotal {
            order_id: rng.below(*next_id + 2),
            price: (rng.below(3) == 0).then(|| rng.range(485, 515)),
            qty: rng.range(1, 40),
            seen_remaining: rng.range(1, 60),
        },
        _ => Command::MassCancel { account: (rng.below(2) == 0).then(|| rng.below(4) as u32), side: None },
    };
    (instrument, cmd)
}

fn snapshot_json(engine: &Engine) -> String {
    serde_json::to_string(&EngineSnapshot::capture(engine, 0)).unwrap()
}

struct OriginalRun {
    commands: Vec<(u32, Command)>,
    /// Every event of the run, tagged with the journal record that caused it.
    events: Vec<ReplayedEvent>,
    /// Book state after all records, and after all but the last.
    final_state: String,
    state_before_last: String,
    snapshot_seq: u64,
    refused: u64,
}

/// Runs `n` random commands live: journal, then apply (the engine's write-ahead order).
fn original_run(dir: &Path, seed: u64, n: u64, snapshot_at: u64) -> OriginalRun {
    let config = JournalConfig::new(dir).segment_size(100 * RECORD_SIZE as u64).fsync(FsyncPolicy::None);
    let (mut journal, _) = Journal::open(config).unwrap();
    let mut engine = initial_engine();
    let mut rng = SplitMix64::new(seed | 1);
    let mut next_id = 0;
    let (mut commands, mut events, mut sink) = (Vec::new(), Vec::new(), Vec::new());
    let mut state_before_last = String::new();
    let mut refused = 0;
    for i in 1..=n {
        let (instrument, cmd) = random_command(&mut rng, &mut next_id);
        if i == n {
            state_before_last = snapshot_json(&engine);
        }
        let seq = journal.append(instrument, &cmd).unwrap();
        assert_eq!(seq, i);
        sink.clear();
        if let Outcome::Refused(_) = apply(&mut engine, seq, instrument, &cmd, &mut sink).unwrap() {
            refused += 1;
        }
        events.extend(sink.iter().map(|&event| ReplayedEvent { journal_seq: seq, instrument, event }));
        commands.push((instrument, cmd));
        if i == snapshot_at {
            write_snapshot(dir, &EngineSnapshot::capture(&engine, seq)).unwrap();
        }
    }
    drop(journal); // crash: no close, no final fsync
    OriginalRun {
        commands,
        events,
        final_state: snapshot_json(&engine),
        state_before_last,
        snapshot_seq: snapshot_at,
        refused,
    }
}

fn events_after(run: &OriginalRun, after: u64, upto: u64) -> Vec<ReplayedEvent> {
    run.events.iter().copied().filter(|e| e.journal_seq > after && e.journal_seq <= upto).collect()
}

#[test]
fn crash_then_recover_gives_the_same_books_and_events() {
    for seed in [1, 2, 3] {
        let dir = tempfile::tempdir().unwrap();
        let n = 1500;
        let run = original_run(dir.path(), seed, n, 700);
        assert!(
            run.refused > 0 && run.events.iter().any(|e| matches!(e.event, wintermute_core::Event::Trade { .. })),
            "the stream exercises refusals and trades"
        );

        let (_, report) = Journal::open(JournalConfig::new(dir.path()).segment_size(100 * RECORD_SIZE as u64)).unwrap();
        assert_eq!((report.last_seq, report.truncated), (n, None));
        let r = recover(dir.path(), &initial_engine()).unwrap();
        assert!(r.snapshot.is_some() && r.snapshot_warnings.is_empty());
        assert_eq!((r.journal_seq, r.replayed), (n, n - run.snapshot_seq));
        assert_eq!(snapshot_json(&r.engine), run.final_state, "seed {seed}: book state");
        assert_eq!(r.events, events_after(&run, run.snapshot_seq, n), "seed {seed}: replayed events");
    }
}

#[test]
fn torn_last_record_recovers_the_state_before_it_and_continues_identically() {
    for seed in [4, 5] {
        let dir = tempfile::tempdir().unwrap();
        let n = 1234;
        let run = original_run(dir.path(), seed, n, 600);
        // Truncate the last segment file in the middle of the last record.
        let (first, path) = list_segments(dir.path()).unwrap().pop().unwrap();
        let last = (n - first) * RECORD_SIZE as u64;
        OpenOptions::new().write(true).open(&path).unwrap().set_len(last + 33).unwrap();

        let config = JournalConfig::new(dir.path()).segment_size(100 * RECORD_SIZE as u64).fsync(FsyncPolicy::None);
        let (mut journal, report) = Journal::open(config).unwrap();
        let torn = report.truncated.expect("torn record reported");
        assert_eq!((torn.segment.clone(), torn.offset, report.last_seq), (path, last, n - 1));

        let mut r = recover(dir.path(), &initial_engine()).unwrap();
        assert_eq!(snapshot_json(&r.engine), run.state_before_last, "seed {seed}");
        assert_eq!(r.events, events_after(&run, run.snapshot_seq, n - 1), "seed {seed}");

        // The client re-sends the lost command: same record number, same events as originally.
        let (instrument, cmd) = run.commands[(n - 1) as usize];
        let seq = journal.append(instrument, &cmd).unwrap();
        let mut sink = Vec::new();
        apply(&mut r.engine, seq, instrument, &cmd, &mut sink).unwrap();
        let again: Vec<_> = sink.iter().map(|&event| ReplayedEvent { journal_seq: seq, instrument, event }).collect();
        assert_eq!(again, events_after(&run, n - 1, n));
        assert_eq!(snapshot_json(&r.engine), run.final_state);
    }
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_an_older_one() {
    let dir = tempfile::tempdir().unwrap();
    let n = 900;
    let run = original_run(dir.path(), 9, n, 300);
    // A newer snapshot whose body was damaged after it was written.
    let mut engine = initial_engine();
    let mut sink = Vec::new();
    for (i, (instrument, cmd)) in run.commands.iter().enumerate().take(800) {
        apply(&mut engine, i as u64 + 1, *instrument, cmd, &mut sink).unwrap();
    }
    let newer = write_snapshot(dir.path(), &EngineSnapshot::capture(&engine, 800)).unwrap();
    let mut bytes = std::fs::read(&newer).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&newer, bytes).unwrap();

    let r = recover(dir.path(), &initial_engine()).unwrap();
    assert_eq!(r.snapshot_warnings.len(), 1);
    assert!(r.snapshot_warnings[0].why.contains("CRC mismatch"), "{}", r.snapshot_warnings[0].why);
    assert_eq!(r.replayed, n - 300);
    assert_eq!(snapshot_json(&r.engine), run.final_state);
    assert_eq!(r.events, events_after(&run, 300, n));
}

#[test]
fn without_a_snapshot_the_whole_journal_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let n = 500;
    let run = original_run(dir.path(), 11, n, u64::MAX);
    let r = recover(dir.path(), &initial_engine()).unwrap();
    assert_eq!((r.snapshot.as_deref(), r.replayed), (None, n));
    assert_eq!(snapshot_json(&r.engine), run.final_state);
    assert_eq!(r.events, run.events);
}

#[test]
fn pruned_segments_recover_from_the_snapshot_and_never_from_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let n = 1000;
    // 100 records a segment: segments start at 1, 101, ..., 901; the snapshot is at 450.
    let run = original_run(dir.path(), 13, n, 450);
    // Nothing at or before seq 0 to prune; the last segment always stays.
    assert!(prune_segments(dir.path(), 0, None).unwrap().is_empty());
    let removed = prune_segments(dir.path(), 450, None).unwrap();
    let names =
        |v: &[PathBuf]| v.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&removed), (0..4).map(|k| segment_name(1 + 100 * k)).collect::<Vec<_>>());
    assert_eq!(list_segments(dir.path()).unwrap()[0].0, 401, "the segment holding 401..=500 stays");

    // The journal opens (its first record is 401) and recovery starts from the snapshot.
    let config = JournalConfig::new(dir.path()).segment_size(100 * RECORD_SIZE as u64).fsync(FsyncPolicy::None);
    let (journal, report) = Journal::open(config).unwrap();
    assert_eq!((report.records, report.last_seq), (600, n));
    drop(journal);
    let r = recover(dir.path(), &initial_engine()).unwrap();
    assert_eq!((r.journal_seq, r.replayed), (n, n - 450));
    assert_eq!(snapshot_json(&r.engine), run.final_state);
    assert_eq!(r.events, events_after(&run, 450, n));

    // Without the snapshot, a replay from the start would skip records 1..=400: refused.
    for (_, path) in list_snapshots(dir.path()).unwrap() {
        std::fs::remove_file(path).unwrap();
    }
    let err = recover(dir.path(), &initial_engine()).unwrap_err();
    assert!(matches!(err, JournalError::Missing { after: 0, first: 401, .. }), "{err}");
    assert!(err.to_string().contains("needs a snapshot at seq>=400"), "{err}");

    // Everything pruned up to the last segment: it stays, whatever the seq.
    assert_eq!(prune_segments(dir.path(), u64::MAX, None).unwrap().len(), 5);
    assert_eq!(list_segments(dir.path()).unwrap().len(), 1);
}

/// Record sequence numbers of the journal directory `dir`, in order.
fn seqs(dir: &Path) -> Vec<u64> {
    read_records(dir, 0).unwrap().map(|r| r.unwrap().seq()).collect()
}

#[test]
fn archived_segments_are_the_journals_history_nothing_lost_nothing_overwritten() {
    // Same filesystem (a rename), and another one where the machine has it (copy, sync, delete).
    let same = tempfile::tempdir().unwrap();
    let shm = Path::new("/dev/shm");
    let device = |p: &Path| std::os::unix::fs::MetadataExt::dev(&std::fs::metadata(p).unwrap());
    let other = (shm.is_dir() && device(shm) != device(same.path())).then(|| tempfile::tempdir_in(shm).unwrap());
    assert!(other.is_some() || std::env::var("CI").as_deref() != Ok("true"), "no second filesystem at /dev/shm");
    for archive_root in [Some(same.path()), other.as_ref().map(|d| d.path())].into_iter().flatten() {
        let dir = tempfile::tempdir().unwrap();
        let archive = archive_root.join("archive");
        std::fs::create_dir(&archive).unwrap();
        let run = original_run(dir.path(), 17, 1000, 450);
        let moved = prune_segments(dir.path(), 450, Some(&archive)).unwrap();
        assert_eq!(moved.len(), 4);
        // The archive is a journal of its own (records 1..=400), the journal goes on from 401.
        assert_eq!(seqs(&archive), (1..=400).collect::<Vec<_>>());
        assert_eq!(seqs(dir.path()), (401..=1000).collect::<Vec<_>>());
        assert!(std::fs::read_dir(&archive).unwrap().all(|e| e.unwrap().path().extension().unwrap() == "wal"));
        let r = recover(dir.path(), &initial_engine()).unwrap();
        assert_eq!(snapshot_json(&r.engine), run.final_state);

        // A name already in the archive: an error, the archived file and the segment untouched.
        let next = dir.path().join(segment_name(401));
        let clash = archive.join(segment_name(401));
        std::fs::write(&clash, b"not a segment").unwrap();
        let err = prune_segments(dir.path(), 600, Some(&archive)).unwrap_err();
        assert!(matches!(&err, JournalError::Io { op: "archive", .. }), "{err}");
        assert_eq!(std::fs::read(&clash).unwrap(), b"not a segment");
        assert!(next.exists());
        assert_eq!(seqs(dir.path()), (401..=1000).collect::<Vec<_>>());
    }
}

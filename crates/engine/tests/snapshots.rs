//! Snapshots from a running pipeline: periodic and requested, consistent at one journal
//! sequence number in both topologies (books *and* risk state), and recovery from them equal
//! to a recovery from the whole journal — state and replayed events alike.

mod support;

use std::path::Path;
use std::time::Duration;

use wintermute_core::{Command, Engine, NewOrder, Side};
use wintermute_engine::journal::{
    apply, read_records, read_snapshot, recover_records, write_snapshot, EngineSnapshot, FsyncPolicy, JournalConfig,
    JournalRecord, RecoverOptions, Replayed,
};
use wintermute_engine::pipeline::{
    Output, Pipeline, PipelineConfig, PipelineError, RiskConfig, Shutdown, SnapshotPolicy, Topology,
};
use wintermute_engine::risk::{AccountLimits, RiskState};

use support::{assert_same_books, config, drain, fresh_risk, initial_engine, produce, published_events, CommandMix};

const TOPOLOGIES: [Topology; 2] = [Topology::Merged, Topology::Split];

fn journal(dir: &Path) -> JournalConfig {
    JournalConfig::new(dir).segment_size(1 << 20).fsync(FsyncPolicy::None)
}

/// Risk state without accounts that hold nothing (created by a check whose command then never
/// changed anything: a replay, which only sees journaled commands, does not create them).
fn comparable(mut s: RiskState) -> RiskState {
    let default = s.default_limits;
    s.accounts.retain(|a| {
        let empty = a.slots.iter().all(|x| *x == Default::default()) && a.open_orders == 0 && !a.killed;
        !(empty && Some(a.limits) == default && a.fees == Default::default())
    });
    s
}

/// Books and risk state after replaying the journal's records up to `seq`, from the start.
fn replay_until(dir: &Path, seq: u64) -> (Engine, RiskState) {
    let mut engine = initial_engine();
    let mut risk = fresh_risk();
    risk.set_default_limits(Some(AccountLimits::UNLIMITED)); // as RiskConfig::permissive
    let mut events = Vec::new();
    for r in read_records(dir, 0).unwrap() {
        match r.unwrap() {
            JournalRecord::Command(e) if e.seq <= seq => {
                events.clear();
                apply(&mut engine, e.seq, e.instrument, &e.command, &mut events).unwrap();
                events.iter().for_each(|ev| risk.on_event(e.instrument, ev));
            }
            JournalRecord::Control(c) if c.seq <= seq => risk.apply_control(&c.control).unwrap(),
            JournalRecord::Rejection(r) if r.seq <= seq => {} // it changed nothing
            _ => break,
        }
    }
    (engine, risk.capture())
}

/// Two producers of `n` commands each, with controls and requested snapshots from this thread
/// while they run. Returns every output and the shutdown result.
fn run(cfg: PipelineConfig, n: usize) -> (Vec<Output>, Shutdown) {
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut subs = handles.subscriptions.into_iter();
    let consumer = drain(subs.next().unwrap(), true);
    let producers: Vec<_> = handles
        .gateways
        .into_iter()
        .enumerate()
        .map(|(g, gw)| produce(gw, CommandMix::new(g as u64).take(n)))
        .collect();
    let control = pipeline.control();
    for i in 0..5 {
        control.set_reference_price(i % 2, 9_990 + i64::from(i)).unwrap();
        control.set_limits(1 + i, AccountLimits { max_open_orders: 100_000 + i, ..AccountLimits::UNLIMITED }).unwrap();
        let info = control.snapshot().unwrap();
        assert!(info.path.exists());
        std::thread::sleep(Duration::from_millis(5));
    }
    for p in producers {
        assert_eq!(p.join().unwrap(), n as u64);
    }
    let done = pipeline.shutdown().unwrap();
    (consumer.join().unwrap().outputs, done)
}

/// Restarts on `dir` and stops at once: the recovered state.
fn restart(cfg: PipelineConfig) -> (Shutdown, wintermute_engine::pipeline::RecoveryInfo) {
    let (pipeline, _handles) = Pipeline::start(cfg).unwrap();
    let info = pipeline.recovery().clone();
    (pipeline.shutdown().unwrap(), info)
}

fn risk_of(done: &Shutdown) -> RiskState {
    comparable(done.risk.as_ref().unwrap().capture())
}

#[test]
fn every_snapshot_is_a_consistent_cut_and_recovery_from_it_equals_a_full_replay() {
    for topology in TOPOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let cfg = || {
            config(topology, 2)
                .risk(RiskConfig::permissive())
                .journal(journal(dir.path()))
                .snapshots(SnapshotPolicy::every_records(700).keep(100))
        };
        let (outputs, done) = run(cfg(), 4_000);
        let written = done.stats.snapshots_written;
        // 8,000 commands at one snapshot per 700 records; requested snapshots restart the count
        // and a periodic one waits while the writer is busy, so only "some" is certain (the
        // next test counts them exactly).
        assert!(written > 5, "{topology:?}: 5 requested and some periodic, got {written}");
        assert_eq!(done.stats.snapshot_failures, 0);

        // Each snapshot holds exactly the state of a replay up to its sequence number: books
        // and risk state (positions, PnL, open orders, limits, reference prices).
        let mut seqs = Vec::new();
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "snap") {
                let snap = read_snapshot(&path).unwrap();
                let (engine, risk) = replay_until(dir.path(), snap.journal_seq);
                let books = EngineSnapshot::capture(&engine, snap.journal_seq).books;
                assert_eq!(snap.books, books, "{topology:?} books at seq={}", snap.journal_seq);
                let got = comparable(snap.risk.clone().expect("risk state"));
                assert_eq!(got, comparable(risk), "{topology:?} risk at seq={}", snap.journal_seq);
                seqs.push(snap.journal_seq);
            }
        }
        // keep=100 keeps them all; two cuts at the same sequence number (a request right after
        // a periodic one) share a file name, the later one replacing the earlier.
        assert!(seqs.len() as u64 <= written && seqs.len() >= 4, "{} files of {written} written", seqs.len());
        let newest = *seqs.iter().max().unwrap();

        // Recovery from the newest snapshot + the tail: same books and risk state as the live
        // run, and the tail's events are the ones published live, event for event.
        let mut tail = Vec::new();
        let options = RecoverOptions { need_risk: true, same_instruments: true, last_seq: Some(done.last_seq) };
        let recovered = recover_records(dir.path(), &initial_engine(), &options, |r| {
            if let Replayed::Event(e) = r {
                tail.push((e.journal_seq, e.instrument, e.event));
            }
        })
        .unwrap();
        assert_eq!(recovered.journal_seq, done.last_seq);
        let live_tail: Vec<_> = published_events(&outputs).into_iter().filter(|(s, _, _)| *s > newest).collect();
        assert_eq!(tail, live_tail, "{topology:?}: replayed tail events");

        let (from_snapshot, info) = restart(cfg());
        assert_eq!(info.snapshot.as_deref(), Some(dir.path().join(snapshot_name(newest)).as_path()));
        assert!(info.snapshot_warnings.is_empty(), "{:?}", info.snapshot_warnings);
        assert_same_books(&from_snapshot.engine, &done.engine);
        assert_eq!(risk_of(&from_snapshot), risk_of(&done), "{topology:?}: risk after snapshot + tail");

        // The same without any snapshot: the whole journal.
        remove_snapshots(dir.path());
        let (from_journal, info) = restart(cfg());
        assert_eq!(info.snapshot, None);
        assert_eq!(info.replayed, done.stats.counters.sequenced);
        assert_same_books(&from_journal.engine, &done.engine);
        assert_eq!(risk_of(&from_journal), risk_of(&done), "{topology:?}: risk after a full replay");
    }
}

fn snapshot_name(seq: u64) -> String {
    format!("snapshot-{seq:020}.snap")
}

fn remove_snapshots(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "snap") {
            std::fs::remove_file(path).unwrap();
        }
    }
}

fn flip_byte(path: &Path, from_end: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = bytes.len() - from_end;
    bytes[i] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_damaged_newest_snapshot_falls_back_to_the_older_one_and_says_so() {
    for topology in TOPOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let cfg = || config(topology, 2).risk(RiskConfig::permissive()).journal(journal(dir.path()));
        let (_, done) = run(cfg(), 1_500);
        let mut snaps: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "snap"))
            .collect();
        snaps.sort();
        assert_eq!(snaps.len(), 3, "keep defaults to 3: {snaps:?}");
        let (older, newest) = (snaps[1].clone(), snaps[2].clone());
        flip_byte(&newest, 10);
        // A writer killed mid-snapshot leaves a temp file behind: never read.
        std::fs::write(dir.path().join(format!("{}.tmp", snapshot_name(done.last_seq + 1))), b"wintermute-snap")
            .unwrap();

        let (recovered, info) = restart(cfg());
        assert_eq!(info.snapshot.as_ref(), Some(&older), "{topology:?}");
        assert_eq!(info.snapshot_warnings.len(), 1);
        assert_eq!(info.snapshot_warnings[0].path, newest);
        assert!(info.snapshot_warnings[0].why.contains("CRC mismatch"), "{}", info.snapshot_warnings[0].why);
        assert_same_books(&recovered.engine, &done.engine);
        assert_eq!(risk_of(&recovered), risk_of(&done));

        // Every snapshot damaged: the whole journal.
        snaps.iter().take(2).for_each(|p| flip_byte(p, 3));
        let (recovered, info) = restart(cfg());
        assert_eq!((info.snapshot.as_ref(), info.snapshot_warnings.len()), (None, 3));
        assert_same_books(&recovered.engine, &done.engine);
        assert_eq!(risk_of(&recovered), risk_of(&done));

        // The next snapshot written prunes the temp file and the oldest damaged ones.
        let (pipeline, _handles) = Pipeline::start(cfg()).unwrap();
        pipeline.control().set_global_kill(true).unwrap();
        pipeline.control().snapshot().unwrap();
        drop(pipeline);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("snapshot-"))
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.iter().all(|n| n.ends_with(".snap")), "{names:?}");
    }
}

#[test]
fn snapshots_a_risk_pipeline_cannot_use_are_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || config(Topology::Merged, 2).risk(RiskConfig::permissive()).journal(journal(dir.path()));
    let (_, done) = run(cfg(), 500);
    remove_snapshots(dir.path());
    // Books only (as `Engine.journal_snapshot` from Python writes them), and one claiming
    // records the journal does not have.
    let books_only = EngineSnapshot::capture(&done.engine, done.last_seq);
    write_snapshot(dir.path(), &books_only).unwrap();
    let mut ahead = EngineSnapshot::capture(&done.engine, done.last_seq + 5);
    ahead.risk = done.risk.as_ref().map(|r| r.capture());
    write_snapshot(dir.path(), &ahead).unwrap();
    let (recovered, info) = restart(cfg());
    assert_eq!(info.snapshot, None);
    let whys: Vec<&str> = info.snapshot_warnings.iter().map(|w| w.why.as_str()).collect();
    assert_eq!(whys.len(), 2, "{whys:?}");
    assert!(whys[0].contains("past the journal's last record"), "{whys:?}");
    assert_eq!(whys[1], "snapshot holds no risk state");
    assert_same_books(&recovered.engine, &done.engine);
    assert_eq!(risk_of(&recovered), risk_of(&done));
}

#[test]
fn time_based_snapshots_and_bad_policies() {
    for topology in TOPOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let policy = SnapshotPolicy::every(Duration::from_millis(20)).keep(2);
        let cfg = config(topology, 1).risk(RiskConfig::permissive()).journal(journal(dir.path())).snapshots(policy);
        let (pipeline, mut handles) = Pipeline::start(cfg).unwrap();
        let gw = &mut handles.gateways[0];
        for i in 0..30u64 {
            gw.submit(0, Command::New(NewOrder::limit(i + 1, 1, Side::Buy, 100, 1))).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        let mut sink = Vec::new();
        while handles.subscriptions[0].poll(&mut sink) > 0 {}
        std::thread::sleep(Duration::from_millis(60));
        let stats = pipeline.stats();
        assert!(stats.snapshots_written >= 2, "{topology:?}: {}", stats.snapshots_written);
        drop(pipeline);
        let kept = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".snap"));
        assert_eq!(kept.count(), 2);
    }
    let bad = |cfg: PipelineConfig| match Pipeline::start(cfg) {
        Err(PipelineError::Config { why }) => why,
        other => panic!("{other:?}"),
    };
    let why = bad(config(Topology::Merged, 1).snapshots(SnapshotPolicy::every_records(10)));
    assert!(why.contains("need a journal"), "{why}");
    let dir = tempfile::tempdir().unwrap();
    let why = bad(config(Topology::Merged, 1).journal(journal(dir.path())).snapshots(SnapshotPolicy::every_records(0)));
    assert!(why.contains("above 0"), "{why}");
}

#[test]
fn pipelines_without_risk_snapshot_their_books() {
    for topology in TOPOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let cfg = || config(topology, 1).journal(journal(dir.path()));
        let (pipeline, mut handles) = Pipeline::start(cfg()).unwrap();
        for i in 0..10u64 {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            handles.gateways[0].submit(0, Command::New(NewOrder::limit(i + 1, 1, side, 100 + i as i64, 3))).unwrap();
        }
        wait_for_lasts(&mut handles.subscriptions[0], 10);
        let info = pipeline.control().snapshot().unwrap();
        assert_eq!(info.journal_seq, 10, "{topology:?}: the cut comes after every command already run");
        let snap = read_snapshot(&info.path).unwrap();
        assert_eq!(snap.risk, None);
        // Again: nothing waits for a risk half that never comes.
        handles.gateways[0].submit(0, Command::New(NewOrder::limit(11, 1, Side::Buy, 90, 3))).unwrap();
        wait_for_lasts(&mut handles.subscriptions[0], 1);
        let info = pipeline.control().with_timeout(Duration::from_secs(5)).snapshot().unwrap();
        assert_eq!(info.journal_seq, 11);
        let done = pipeline.shutdown().unwrap();
        let (again, recovery) = restart(cfg());
        assert_eq!(recovery.snapshot, Some(info.path));
        assert_same_books(&again.engine, &done.engine);
    }
}

/// Polls `sub` until `n` commands completed.
fn wait_for_lasts(sub: &mut wintermute_engine::pipeline::Subscription, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (mut seen, mut batch) = (0, Vec::new());
    while seen < n {
        batch.clear();
        sub.poll(&mut batch);
        seen += batch.iter().filter(|o| o.last).count();
        assert!(std::time::Instant::now() < deadline, "{seen} of {n} commands completed");
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn every_n_records_takes_one_snapshot_per_n_records() {
    for topology in TOPOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let policy = SnapshotPolicy::every_records(100).keep(20);
        let cfg = config(topology, 1).risk(RiskConfig::permissive()).journal(journal(dir.path())).snapshots(policy);
        let (pipeline, mut handles) = Pipeline::start(cfg).unwrap();
        // New orders only: each passes risk and is journaled, one record each.
        let mut next_id = 0u64;
        let mut order = move || {
            next_id += 1;
            Command::New(NewOrder::limit(next_id, 1, Side::Buy, 100, 1))
        };
        for chunk in 1..=5u64 {
            // 99 records: not yet.
            for _ in 0..99 {
                handles.gateways[0].submit(0, order()).unwrap();
            }
            wait_for_lasts(&mut handles.subscriptions[0], 99);
            assert_eq!(pipeline.stats().snapshots_written, chunk - 1, "{topology:?}");
            // The 100th: one snapshot, at the 100th record (the commands run one batch here).
            handles.gateways[0].submit(0, order()).unwrap();
            wait_for_lasts(&mut handles.subscriptions[0], 1);
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while pipeline.stats().snapshots_written < chunk {
                assert!(std::time::Instant::now() < deadline, "{topology:?}: no snapshot after chunk {chunk}");
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(pipeline.stats().last_snapshot_seq, chunk * 100);
        }
        let done = pipeline.shutdown().unwrap();
        assert_eq!(done.stats.snapshots_written, 5);
    }
}

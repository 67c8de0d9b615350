//! The pipeline end to end: producers on their own threads, every output checked, the final
//! books compared with a single-threaded replay of the journal.
//!
//! Every test uses park/yield wait strategies (the CI machine has 2 cores) and a bounded
//! number of commands, and joins every thread it starts.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use wintermute_core::{Command, Engine, Event, InstrumentId, NewOrder, Side};
use wintermute_engine::journal::{recover, FsyncPolicy, JournalConfig};
use wintermute_engine::pipeline::{
    Backpressure, CommandId, Output, OutputKind, Pipeline, PipelineConfig, RiskConfig, Shutdown, SubmitError,
    Subscription, SubscriptionConfig, Topology,
};
use wintermute_engine::risk::AccountLimits;
use wintermute_engine::wait::WaitStrategy;

use support::{config, drain, initial_engine, park, produce, specs, Collected, CommandMix};

/// Event seq numbers of each book are 1, 2, 3, ... in publication order: no event lost or
/// published twice. Journal sequence numbers grow by one per sequenced or risk-rejected command.
fn check_event_and_journal_sequences(outputs: &[Output]) {
    let mut book_seq: HashMap<InstrumentId, u64> = HashMap::new();
    let mut journal_seq = 0;
    for o in outputs {
        if let OutputKind::Event(e) = &o.kind {
            let s = book_seq.entry(o.instrument).or_insert(0);
            assert_eq!(e.seq(), *s + 1, "book {} event seq", o.instrument);
            *s += 1;
        }
        if o.journal_seq != 0 && o.last {
            assert_eq!(o.journal_seq, journal_seq + 1, "journal seq");
            journal_seq = o.journal_seq;
        }
    }
}

/// The published events, keyed for comparison with a replay.
fn published_events(outputs: &[Output]) -> Vec<(u64, InstrumentId, Event)> {
    outputs.iter().filter_map(|o| o.event().map(|e| (o.journal_seq, o.instrument, *e))).collect()
}

fn assert_same_books(a: &Engine, b: &Engine) {
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() as InstrumentId {
        assert_eq!(a.book(i).snapshot(), b.book(i).snapshot(), "book {i}");
    }
}

/// Runs `producers` x `per_producer` commands through a pipeline; checks every output; returns
/// the collected outputs and the shutdown result.
fn run_load(mut cfg: PipelineConfig, per_producer: usize) -> (Collected, Shutdown) {
    let producers = cfg.gateways.len();
    cfg.risk.get_or_insert_with(RiskConfig::permissive);
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut subs = handles.subscriptions.into_iter();
    let consumer = drain(subs.next().unwrap(), true);
    let workers: Vec<_> = handles
        .gateways
        .into_iter()
        .enumerate()
        .map(|(g, gw)| produce(gw, CommandMix::new(g as u64).take(per_producer)))
        .collect();
    let submitted: Vec<u64> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let done = pipeline.shutdown().unwrap();
    let collected = consumer.join().unwrap();
    for (g, &n) in submitted.iter().enumerate() {
        assert_eq!(n, per_producer as u64);
        assert_eq!(collected.completed(g as u16), n, "gateway {g}: every command completed exactly once");
    }
    let total = (producers * per_producer) as u64;
    let c = done.stats.counters;
    assert_eq!(done.stats.submitted, total);
    assert_eq!(c.received, total);
    assert_eq!(c.risk_rejected + c.sequenced + c.not_run, total);
    assert_eq!(c.outputs, collected.outputs.len() as u64);
    assert_eq!(done.stats.latency.end_to_end.count, total);
    check_event_and_journal_sequences(&collected.outputs);
    (collected, done)
}

fn journaled(topology: Topology, producers: usize, per_producer: usize) -> Shutdown {
    journaled_with(config(topology, producers), per_producer, FsyncPolicy::None)
}

fn journaled_with(cfg: PipelineConfig, per_producer: usize, fsync: FsyncPolicy) -> Shutdown {
    let dir = tempfile::tempdir().unwrap();
    let jc = JournalConfig::new(dir.path()).segment_size(4 << 20).fsync(fsync);
    let (collected, done) = run_load(cfg.journal(jc), per_producer);
    // Every command took a journal record: those run and those risk rejected.
    assert_eq!(done.last_seq, done.stats.counters.sequenced + done.stats.counters.risk_rejected);
    // A single-threaded replay of the journal, in journal order, gives the same books and
    // the same events, event for event.
    let replay = recover(dir.path(), &initial_engine()).unwrap();
    assert_eq!(replay.replayed, done.stats.counters.sequenced);
    assert_eq!(replay.refused, done.stats.counters.refused);
    assert_same_books(&replay.engine, &done.engine);
    let replayed: Vec<_> = replay.events.iter().map(|r| (r.journal_seq, r.instrument, r.event)).collect();
    assert_eq!(replayed, published_events(&collected.outputs));
    check_post_trade(&done, &replay.events);
    done
}

/// Post-trade risk saw every event exactly once (in split mode, through the post-trade ring):
/// its positions equal a fresh risk engine fed the replayed events, and every reservation was
/// settled (open orders = live orders on the books).
fn check_post_trade(done: &Shutdown, events: &[wintermute_engine::journal::ReplayedEvent]) {
    let live = done.risk.as_ref().expect("risk is on");
    let mut fresh = wintermute_engine::risk::RiskEngine::new(wintermute_engine::risk::ManualClock::new(), 6);
    for spec in specs() {
        fresh.add_instrument(&spec).unwrap();
    }
    for e in events {
        fresh.on_event(e.instrument, &e.event);
    }
    let mut open: HashMap<u32, u32> = HashMap::new();
    for book in done.engine.books() {
        for o in book.snapshot().orders {
            *open.entry(o.account).or_default() += 1;
        }
    }
    for account in 1..=8 {
        assert_eq!(live.open_orders(account), open.get(&account).copied().unwrap_or(0), "account {account}");
        for instrument in 0..2 {
            assert_eq!(live.position(account, instrument), fresh.position(account, instrument), "account {account}");
        }
    }
}

#[test]
fn one_producer_merged_journal_replay_equals_live() {
    let _ = journaled(Topology::Merged, 1, 50_000);
}

#[test]
fn four_producers_split_journal_replay_equals_live() {
    let _ = journaled(Topology::Split, 4, 50_000);
}

#[test]
fn four_producers_merged_journal_replay_equals_live() {
    let _ = journaled(Topology::Merged, 4, 25_000);
}

#[test]
fn background_journal_sync_flushes_off_the_matching_thread() {
    // Segments of 4 MiB hold ~58k records: 2 x 40k commands roll over to a second segment.
    let cfg = config(Topology::Merged, 2).background_sync(Duration::from_millis(2));
    let done = journaled_with(cfg, 40_000, FsyncPolicy::EveryRecord);
    assert!(done.stats.journal_syncs >= 2, "syncs={}", done.stats.journal_syncs);
}

#[test]
fn without_journal_the_books_equal_a_replay_in_sequence_order() {
    let per = 20_000;
    let (collected, done) = run_load(config(Topology::Split, 2), per);
    // Rebuild the command order from the outputs (journal_seq) and replay it on one thread.
    let cmds: Vec<Vec<(InstrumentId, Command)>> = (0..2).map(|g| CommandMix::new(g).take(per)).collect();
    let mut by_seq: Vec<(u64, CommandId)> =
        collected.outputs.iter().filter(|o| o.last && o.journal_seq != 0).map(|o| (o.journal_seq, o.command)).collect();
    by_seq.sort();
    assert_eq!(by_seq.len() as u64, done.last_seq);
    let mut engine = initial_engine();
    let mut events = Vec::new();
    for (seq, id) in by_seq {
        let (inst, cmd) = cmds[usize::from(id.gateway)][(id.seq - 1) as usize];
        wintermute_engine::journal::apply(&mut engine, seq, inst, &cmd, &mut events).unwrap();
    }
    assert_same_books(&engine, &done.engine);
    assert_eq!(events.len() as u64, done.stats.counters.events);
}

#[test]
fn blocking_backpressure_loses_nothing_and_counts_full_rings() {
    let mut cfg = config(Topology::Merged, 1).gateway_ring(4, Backpressure::Block(park())).subscriptions(1, 8);
    cfg.risk = Some(RiskConfig::permissive());
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut subs = handles.subscriptions.into_iter();
    let sub = subs.next().unwrap();
    let n = 5_000;
    let producer = produce(handles.gateways.into_iter().next().unwrap(), CommandMix::new(0).take(n));
    // Nobody reads for a while: the subscription fills, matching waits, the gateway ring fills,
    // the producer waits.
    thread::sleep(Duration::from_millis(100));
    let consumer = drain(sub, true);
    assert_eq!(producer.join().unwrap(), n as u64);
    let done = pipeline.shutdown().unwrap();
    let collected = consumer.join().unwrap();
    assert_eq!(collected.completed(0), n as u64);
    let ring = |name: &str| done.stats.rings.iter().find(|r| r.name == name).unwrap().clone();
    assert!(ring("gateway[0]").full_events > 0, "{:?}", done.stats.rings);
    assert!(ring("subscription[0]").full_events > 0, "{:?}", done.stats.rings);
    assert_eq!(done.stats.gateways[0].full_events, ring("gateway[0]").full_events);
    assert!(ring("gateway[0]").high_water <= 4);
}

#[test]
fn reject_backpressure_hands_commands_back_and_counts_them() {
    let cfg = config(Topology::Merged, 1).gateway_ring(4, Backpressure::Reject).subscriptions(1, 2);
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut gw = handles.gateways.into_iter().next().unwrap();
    let mut sub = handles.subscriptions.into_iter().next().unwrap();
    // The subscription is not read: matching soon waits on it and the 4-slot ring fills.
    let mut accepted = Vec::new();
    let mut handed_back = 0u64;
    for i in 1..=200u64 {
        let cmd = Command::New(NewOrder::limit(i, 1, Side::Buy, 100 + (i % 7) as i64, 1));
        match gw.submit(0, cmd) {
            Ok(_) => accepted.push(i),
            Err(e @ SubmitError::Full { .. }) => {
                assert_eq!(e.into_command(), Some(cmd), "the very command comes back");
                handed_back += 1;
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(handed_back > 0);
    assert_eq!(gw.stats().full_events, handed_back);
    assert_eq!(accepted.len() as u64 + handed_back, 200);
    let mut outputs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while outputs.iter().filter(|o: &&Output| o.last).count() < accepted.len() {
        assert!(Instant::now() < deadline, "outputs missing");
        if sub.poll(&mut outputs) == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    let done = pipeline.shutdown().unwrap();
    sub.poll(&mut outputs);
    let ids: Vec<u64> = outputs
        .iter()
        .filter_map(|o| match o.kind {
            OutputKind::Event(Event::Accepted { order_id, .. }) => Some(order_id),
            _ => None,
        })
        .collect();
    assert_eq!(ids, accepted, "exactly the accepted commands ran, in order");
    assert_eq!(outputs.iter().filter(|o| o.last).count(), accepted.len());
    assert_eq!(done.stats.counters.received, accepted.len() as u64);
    assert_eq!(done.stats.gateways[0].full_events, handed_back);
}

/// Submits one command and waits for its last output.
fn roundtrip(
    gw: &mut wintermute_engine::pipeline::Gateway,
    sub: &mut Subscription,
    instrument: InstrumentId,
    cmd: Command,
) -> Vec<Output> {
    let id = gw.submit(instrument, cmd).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut batch = Vec::new();
        sub.poll(&mut batch);
        got.extend(batch.into_iter().filter(|o| o.command == id));
        if got.last().is_some_and(|o| o.last) {
            return got;
        }
        assert!(Instant::now() < deadline, "no answer to {cmd:?}");
        thread::sleep(Duration::from_micros(200));
    }
}

fn risk_code(outputs: &[Output]) -> Option<&'static str> {
    match &outputs[0].kind {
        OutputKind::RiskRejected(e) => Some(e.code()),
        _ => None,
    }
}

fn risk_rejections(topology: Topology) {
    let dir = tempfile::tempdir().unwrap();
    let limits = AccountLimits { max_order_qty: 100, max_open_orders: 2, ..AccountLimits::UNLIMITED };
    let risk = RiskConfig { default_limits: None, ..RiskConfig::permissive() }.account(7, limits);
    let jc = JournalConfig::new(dir.path()).segment_size(1 << 20).fsync(FsyncPolicy::None);
    let (pipeline, handles) = Pipeline::start(config(topology, 1).risk(risk).journal(jc)).unwrap();
    let mut gw = handles.gateways.into_iter().next().unwrap();
    let mut sub = handles.subscriptions.into_iter().next().unwrap();
    let new = |id, qty| Command::New(NewOrder::limit(id, 7, Side::Buy, 100, qty));

    let out = roundtrip(&mut gw, &mut sub, 0, new(1, 101));
    assert_eq!(risk_code(&out), Some("MAX_ORDER_QTY"));
    assert_eq!((out.len(), out[0].journal_seq, out[0].last), (1, 1, true), "journaled as the first record");
    let out = roundtrip(&mut gw, &mut sub, 0, Command::New(NewOrder::limit(2, 99, Side::Buy, 100, 1)));
    assert_eq!(risk_code(&out), Some("UNKNOWN_ACCOUNT"));
    assert_eq!(risk_code(&roundtrip(&mut gw, &mut sub, 0, new(3, 10))), None);
    assert_eq!(risk_code(&roundtrip(&mut gw, &mut sub, 0, new(4, 10))), None);
    assert_eq!(risk_code(&roundtrip(&mut gw, &mut sub, 0, new(5, 10))), Some("MAX_OPEN_ORDERS"));
    // A cancel frees a slot once post-trade risk has seen it (in split mode, via the
    // post-trade ring: allow it a moment).
    roundtrip(&mut gw, &mut sub, 0, Command::Cancel { order_id: 3 });
    let mut id = 6;
    let deadline = Instant::now() + Duration::from_secs(10);
    while risk_code(&roundtrip(&mut gw, &mut sub, 0, new(id, 10))).is_some() {
        assert!(Instant::now() < deadline, "post-trade never released the canceled order");
        id += 1;
        thread::sleep(Duration::from_millis(1));
    }
    let done = pipeline.shutdown().unwrap();
    assert_eq!(done.risk.as_ref().map(|r| r.open_orders(7)), Some(2));
    // Four commands passed risk and ran: 3, 4, cancel 3, and the last new; the rejections
    // have journal records of their own, which a replay reads past.
    let c = done.stats.counters;
    assert_eq!(c.sequenced, 4);
    assert_eq!(done.last_seq, c.sequenced + c.risk_rejected);
    let replay = recover(dir.path(), &initial_engine()).unwrap();
    assert_eq!(replay.replayed, 4);
    assert_same_books(&replay.engine, &done.engine);
}

#[test]
fn risk_rejections_merged() {
    risk_rejections(Topology::Merged);
}

#[test]
fn risk_rejections_split() {
    risk_rejections(Topology::Split);
}

#[test]
fn unknown_instrument_is_answered_not_journaled() {
    let (pipeline, handles) = Pipeline::start(config(Topology::Split, 1)).unwrap();
    let mut gw = handles.gateways.into_iter().next().unwrap();
    let mut sub = handles.subscriptions.into_iter().next().unwrap();
    let out = roundtrip(&mut gw, &mut sub, 9, Command::Cancel { order_id: 1 });
    assert_eq!((out[0].kind.clone(), out[0].journal_seq), (OutputKind::UnknownInstrument, 0));
    let out = roundtrip(&mut gw, &mut sub, 0, Command::Cancel { order_id: 1 });
    assert!(matches!(out[0].kind, OutputKind::Refused(_)), "{out:?}");
    assert_eq!(out[0].journal_seq, 1);
    let done = pipeline.shutdown().unwrap();
    assert_eq!((done.stats.counters.not_run, done.stats.counters.refused, done.last_seq), (1, 1, 1));
}

fn shutdown_racing_producers(topology: Topology) {
    let dir = tempfile::tempdir().unwrap();
    let jc = JournalConfig::new(dir.path()).segment_size(4 << 20).fsync(FsyncPolicy::None);
    let (pipeline, handles) = Pipeline::start(config(topology, 3).journal(jc)).unwrap();
    let consumer = drain(handles.subscriptions.into_iter().next().unwrap(), true);
    let started = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = handles
        .gateways
        .into_iter()
        .enumerate()
        .map(|(g, mut gw)| {
            let started = Arc::clone(&started);
            thread::spawn(move || {
                let mut ok = 0u64;
                for (inst, cmd) in CommandMix::new(g as u64).take(200_000) {
                    match gw.submit(inst, cmd) {
                        Ok(_) => ok += 1,
                        Err(SubmitError::Closed { command, .. }) => {
                            assert_eq!(command, cmd);
                            assert!(gw.is_closed());
                            break;
                        }
                        Err(e) => panic!("{e}"),
                    }
                    if ok == 100 {
                        started.store(true, Ordering::Relaxed);
                    }
                }
                started.store(true, Ordering::Relaxed);
                ok
            })
        })
        .collect();
    while !started.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(1));
    }
    thread::sleep(Duration::from_millis(30));
    // Commands are in flight in every ring: shutdown processes every accepted one.
    let done = pipeline.shutdown().unwrap();
    let accepted: Vec<u64> = producers.into_iter().map(|p| p.join().unwrap()).collect();
    let collected = consumer.join().unwrap();
    for (g, &n) in accepted.iter().enumerate() {
        assert_eq!(collected.completed(g as u16), n, "gateway {g}: accepted = completed");
    }
    assert_eq!(done.stats.counters.received, accepted.iter().sum::<u64>());
    let replay = recover(dir.path(), &initial_engine()).unwrap();
    assert_same_books(&replay.engine, &done.engine);
}

#[test]
fn shutdown_with_commands_in_flight_merged() {
    shutdown_racing_producers(Topology::Merged);
}

#[test]
fn shutdown_with_commands_in_flight_split() {
    shutdown_racing_producers(Topology::Split);
}

#[test]
fn dropping_the_pipeline_drains_and_joins() {
    let mut cfg = config(Topology::Split, 1).subscriptions(1, 1 << 15);
    cfg.risk = Some(RiskConfig::permissive());
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut gw = handles.gateways.into_iter().next().unwrap();
    let mut sub = handles.subscriptions.into_iter().next().unwrap();
    let n = 2_000u64;
    for (inst, cmd) in CommandMix::new(0).take(n as usize) {
        gw.submit(inst, cmd).unwrap();
    }
    drop(pipeline);
    // Every thread has ended: the gateway is closed and the subscription will get nothing new.
    assert!(gw.is_closed());
    let mut c = Collected::default();
    let mut batch = Vec::new();
    sub.poll(&mut batch);
    c.check(&batch, true);
    assert!(sub.is_finished());
    assert_eq!(c.completed(0), n);
    assert!(matches!(gw.submit(0, Command::Cancel { order_id: 1 }), Err(SubmitError::Closed { .. })));
}

#[test]
fn stats_cover_every_stage_and_ring() {
    let cfg = config(Topology::Split, 2);
    let (_collected, done) = run_load(cfg, 5_000);
    let s = &done.stats;
    assert_eq!(s.topology, Topology::Split);
    for (name, l) in [
        ("gateway_to_risk", s.latency.gateway_to_risk),
        ("risk_to_match", s.latency.risk_to_match),
        ("match_to_publish", s.latency.match_to_publish),
        ("end_to_end", s.latency.end_to_end),
    ] {
        assert_eq!(l.count, 10_000, "{name}");
        assert!(l.p50_ns <= l.p99_ns && l.p99_ns <= l.p999_ns && l.p999_ns <= l.max_ns, "{name}: {l:?}");
    }
    assert!(s.commands_per_s > 0.0 && s.events_per_s > 0.0);
    let names: Vec<&str> = s.rings.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["gateway[0]", "gateway[1]", "risk->matching", "matching->risk (post-trade)", "subscription[0]"]);
    assert!(s.rings.iter().all(|r| r.high_water >= 1 && r.high_water <= r.capacity), "{:?}", s.rings);
    let threads: Vec<&str> = s.threads.iter().map(|t| t.name).collect();
    assert_eq!(threads, ["wm-matching", "wm-risk"]);
}

#[test]
fn pinning_to_a_missing_core_is_not_an_error() {
    let mut cfg = config(Topology::Split, 1);
    cfg.risk_thread = cfg.risk_thread.pinned(0);
    cfg.matching_thread = cfg.matching_thread.pinned(100_000);
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut gw = handles.gateways.into_iter().next().unwrap();
    let mut sub = handles.subscriptions.into_iter().next().unwrap();
    roundtrip(&mut gw, &mut sub, 0, Command::New(NewOrder::limit(1, 1, Side::Buy, 100, 1)));
    let stats = pipeline.shutdown().unwrap().stats;
    let matching = stats.threads.iter().find(|t| t.name == "wm-matching").unwrap();
    assert_eq!((matching.core, matching.pinned), (Some(100_000), false));
    let risk = stats.threads.iter().find(|t| t.name == "wm-risk").unwrap();
    assert_eq!(risk.core, Some(0)); // pinned when core 0 is ours (it may not be, in a container)
}

/// Engine threads inherit the affinity of the thread that starts the pipeline: a caller pinned
/// to one core must not stop them from pinning themselves to another (the pipeline bench's
/// `--pin` once put both of its threads on core 0 that way).
#[test]
fn a_pinned_caller_does_not_confine_the_engine_threads() {
    let ours = core_affinity::get_core_ids().unwrap_or_default();
    let [first, second, ..] = ours[..] else {
        // One core for this process: nothing to confine to. Said, not silent; CI has two.
        assert!(std::env::var("CI").is_err(), "CI runs on 2 cores or more: this test needs two");
        eprintln!("a_pinned_caller_does_not_confine_the_engine_threads: one core, nothing to check");
        return;
    };
    let stats = thread::spawn(move || {
        assert!(core_affinity::set_for_current(first));
        let mut cfg = config(Topology::Merged, 1);
        cfg.risk_thread = cfg.risk_thread.pinned(second.id);
        let (pipeline, handles) = Pipeline::start(cfg).unwrap();
        let mut gw = handles.gateways.into_iter().next().unwrap();
        let mut sub = handles.subscriptions.into_iter().next().unwrap();
        roundtrip(&mut gw, &mut sub, 0, Command::New(NewOrder::limit(1, 1, Side::Buy, 100, 1)));
        pipeline.shutdown().unwrap().stats
    })
    .join()
    .unwrap();
    let engine = stats.threads.iter().find(|t| t.name == "wm-engine").unwrap();
    assert_eq!((engine.core, engine.pinned), (Some(second.id), true));
}

#[test]
fn restart_recovers_the_books_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let jc = JournalConfig::new(dir.path()).segment_size(1 << 20).fsync(FsyncPolicy::None);
    run_load(config(Topology::Merged, 1).journal(jc.clone()), 3_000);
    let (pipeline, _handles) = Pipeline::start(config(Topology::Merged, 1).journal(jc)).unwrap();
    let stats = pipeline.stats();
    let done = pipeline.shutdown().unwrap();
    let replay = recover(dir.path(), &initial_engine()).unwrap();
    assert_eq!(stats.recovered_records, replay.replayed);
    assert_eq!(done.last_seq, replay.journal_seq);
    assert_same_books(&replay.engine, &done.engine);
}

#[test]
fn live_stats_are_at_most_one_interval_old() {
    let mut cfg = config(Topology::Split, 1);
    cfg.stats_interval = Duration::from_millis(5);
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut gw = handles.gateways.into_iter().next().unwrap();
    let mut sub = handles.subscriptions.into_iter().next().unwrap();
    for i in 1..=10 {
        roundtrip(&mut gw, &mut sub, 0, Command::New(NewOrder::limit(i, 1, Side::Buy, 100, 1)));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    // Each thread hands its numbers over on its own schedule: wait for both.
    while pipeline.stats().counters.sequenced < 10 || pipeline.stats().counters.received < 10 {
        assert!(Instant::now() < deadline, "live stats never caught up");
        thread::sleep(Duration::from_millis(5));
    }
    let live = pipeline.stats();
    assert_eq!((live.submitted, live.counters.received, live.counters.events), (10, 10, 20));
    assert_eq!(live.latency.end_to_end.count, 10);
    let done = pipeline.shutdown().unwrap();
    assert_eq!(done.stats.counters, live.counters, "nothing counted twice by the final hand-over");
}

/// `submit_batch_at` takes as much of a slice as fits (never waiting), numbers it like single
/// submits, stamps each with its own ingress time; `read` sees the same outputs as `poll`
/// would, in order; a closed gateway hands the first command back.
fn batch_submit_and_read_in_place(topology: Topology) {
    let cfg = config(topology, 1).gateway_ring(8, Backpressure::Reject).subscriptions(1, 1 << 12);
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut gw = handles.gateways.into_iter().next().unwrap();
    let mut sub = handles.subscriptions.into_iter().next().unwrap();
    let cmds: Vec<Command> =
        (1..=100u64).map(|i| Command::New(NewOrder::limit(i, 1, Side::Buy, 100 + (i % 5) as i64, 1))).collect();
    assert_eq!(gw.submit_batch_at(0, &[], |_| 0).unwrap(), 0);
    let mut sent = 0;
    let mut seen: Vec<(u64, u64, u64, bool)> = Vec::new(); // (command seq, order id, ingress, last)
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.iter().filter(|s| s.3).count() < cmds.len() {
        assert!(Instant::now() < deadline, "outputs missing");
        let n = gw.submit_batch_at(0, &cmds[sent..], |i| 1_000 + (sent + i) as u64).unwrap();
        assert!(n <= 8, "at most the ring's capacity at once, got {n}");
        sent += n;
        let read = sub.read(usize::MAX, |o| {
            let order_id = match o.kind {
                OutputKind::Event(Event::Accepted { order_id, .. }) => order_id,
                _ => 0,
            };
            seen.push((o.command.seq, order_id, o.stamps.ingress_ns, o.last));
        });
        if n == 0 && read == 0 {
            thread::sleep(Duration::from_micros(100));
        }
    }
    assert_eq!(sent, cmds.len());
    let stats = gw.stats();
    assert_eq!(stats.submitted, 100);
    // Each command: outputs with its own number; its `Accepted` names its order; the ingress
    // time is the one given for its index.
    let lasts: Vec<u64> = seen.iter().filter(|s| s.3).map(|s| s.0).collect();
    assert_eq!(lasts, (1..=100).collect::<Vec<_>>(), "one last output per command, in order");
    for &(seq, order_id, ingress, _) in &seen {
        assert_eq!(ingress, 1_000 + seq - 1, "command {seq} stamped with its own ingress time");
        if order_id != 0 {
            assert_eq!(order_id, seq, "command {seq} is the order submitted at index {}", seq - 1);
        }
    }
    assert_eq!(seen.iter().filter(|s| s.1 != 0).count(), 100, "every order accepted once");
    let done = pipeline.shutdown().unwrap();
    assert_eq!(done.stats.counters.received, 100);
    assert_eq!(sub.read(usize::MAX, |_| {}), 0, "nothing after the last command");
    let cmd = cmds[0];
    match gw.submit_batch_at(0, &cmds, |_| 0) {
        Err(SubmitError::Closed { command, .. }) => assert_eq!(command, cmd),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert_eq!(gw.stats().submitted, 100, "a closed gateway accepts nothing");
}

#[test]
fn batch_submit_and_read_in_place_merged() {
    batch_submit_and_read_in_place(Topology::Merged);
}

#[test]
fn batch_submit_and_read_in_place_split() {
    batch_submit_and_read_in_place(Topology::Split);
}

/// What a subscription without book deltas must receive, derived from the full stream: per
/// command, every output but the book deltas, ending with the last order event marked `last`
/// (or with the last delta when the command emitted nothing else).
fn without_deltas(full: &[Output]) -> Vec<Output> {
    let mut out = Vec::new();
    for command in full.split_inclusive(|o| o.last) {
        let is_delta = |o: &Output| matches!(o.kind, OutputKind::Event(Event::BookDelta { .. }));
        let end = command.iter().rposition(|o| !is_delta(o)).unwrap_or(command.len() - 1);
        for (i, o) in command.iter().enumerate().take(end + 1) {
            if i == end || !is_delta(o) {
                out.push(Output { last: i == end, ..o.clone() });
            }
        }
    }
    out
}

/// A subscription without book deltas beside one that takes everything: the same commands,
/// complete and in order, with exactly the order events; the full one still gets the deltas.
fn execution_feed_beside_full_feed(topology: Topology) {
    let mut cfg = config(topology, 2);
    cfg.subscriptions = vec![SubscriptionConfig::new(1 << 12), SubscriptionConfig::new(1 << 12).without_book_deltas()];
    cfg.risk = Some(RiskConfig {
        default_limits: Some(AccountLimits { max_order_qty: 25, ..AccountLimits::UNLIMITED }),
        ..RiskConfig::permissive()
    });
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut subs = handles.subscriptions.into_iter();
    let (full, executions) = (drain(subs.next().unwrap(), true), drain(subs.next().unwrap(), true));
    let workers: Vec<_> = handles
        .gateways
        .into_iter()
        .enumerate()
        .map(|(g, gw)| produce(gw, CommandMix::new(g as u64).take(3_000)))
        .collect();
    workers.into_iter().for_each(|w| assert_eq!(w.join().unwrap(), 3_000));
    let done = pipeline.shutdown().unwrap();
    let (full, executions) = (full.join().unwrap(), executions.join().unwrap());
    for g in 0..2 {
        assert_eq!(executions.completed(g), 3_000, "gateway {g}: every command completed on the execution feed");
    }
    assert_eq!(done.stats.counters.outputs, full.outputs.len() as u64, "outputs counts the full stream");
    let deltas = full.outputs.iter().filter(|o| matches!(o.kind, OutputKind::Event(Event::BookDelta { .. }))).count();
    assert!(deltas > 1_000, "the workload moves levels: {deltas} deltas");
    assert!(executions.outputs.iter().any(|o| matches!(o.kind, OutputKind::RiskRejected(_))), "rejections reach it");
    assert!(executions.outputs.iter().any(|o| matches!(o.kind, OutputKind::Event(Event::Trade { .. }))));
    assert_eq!(executions.outputs, without_deltas(&full.outputs));
}

#[test]
fn execution_feed_beside_full_feed_merged() {
    execution_feed_beside_full_feed(Topology::Merged);
}

#[test]
fn execution_feed_beside_full_feed_split() {
    execution_feed_beside_full_feed(Topology::Split);
}

/// A matching thread parked on a full subscription ring is woken by the subscriber's read, not
/// by its park timeout: 100 commands (about 290 outputs) through a 4-output ring, where each
/// wait would otherwise be a park of one second, finish in a few hundred milliseconds.
fn a_read_wakes_the_publisher_waiting_for_room(topology: Topology) {
    let slow_park = WaitStrategy::Park { spins: 0, yields: 0, timeout: Duration::from_secs(1) };
    let cfg = config(topology, 1).engine_wait(slow_park).subscriptions(1, 4);
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let consumer = drain(handles.subscriptions.into_iter().next().unwrap(), true);
    let started = Instant::now();
    let producer = produce(handles.gateways.into_iter().next().unwrap(), CommandMix::new(0).take(100));
    assert_eq!(producer.join().unwrap(), 100);
    let done = pipeline.shutdown().unwrap();
    let collected = consumer.join().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(collected.completed(0), 100);
    let full = done.stats.rings.iter().map(|r| r.full_events).sum::<u64>();
    assert!(full >= 20, "the ring filled up again and again: {full} full-ring events");
    assert!(elapsed < Duration::from_secs(10), "{full} waits for room took {elapsed:?}: not woken by the reads");
}

#[test]
fn a_read_wakes_the_publisher_waiting_for_room_merged() {
    a_read_wakes_the_publisher_waiting_for_room(Topology::Merged);
}

#[test]
fn a_read_wakes_the_publisher_waiting_for_room_split() {
    a_read_wakes_the_publisher_waiting_for_room(Topology::Split);
}

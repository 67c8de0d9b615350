use std::time::{Duration, Instant};

use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};

use super::*;
use crate::pipeline::{Backpressure, OutputKind, PipelineConfig};
use crate::wait::WaitStrategy;

/// One instrument, one gateway of `gateway_ring` slots (blocking), one subscription of
/// `sub_ring` slots, parking threads (2-core friendly).
fn start(sub_ring: usize) -> (Pipeline, crate::pipeline::Handles) {
    let spec = InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1000, 1, 1_000_000).expect("valid spec");
    let park = WaitStrategy::park(Duration::from_micros(200));
    let config = PipelineConfig::for_cores(vec![spec], 2)
        .engine_wait(park)
        .gateway_ring(1024, Backpressure::Block(park))
        .subscriptions(1, sub_ring);
    Pipeline::start(config).expect("starts")
}

fn order(order_id: u64) -> Command {
    Command::New(NewOrder::limit(order_id, 1, Side::Buy, 100 + (order_id % 50) as i64, 1))
}

#[test]
fn shutdown_completes_while_nobody_reads_a_full_subscription() {
    // 200 commands make ~400 outputs: many times the 8-slot ring that nobody reads.
    let (pipeline, handles) = start(8);
    let mut gateway = handles.gateways.into_iter().next().expect("one gateway");
    let subs: Vec<_> = handles.subscriptions.into_iter().map(BufferedSubscription::shared).collect();
    for id in 1..=200 {
        gateway.submit(0, order(id)).expect("accepted");
    }
    let done = shutdown_draining(pipeline, &subs).expect("shuts down");
    assert_eq!(done.stats.counters.received, 200);

    let mut outputs = Vec::new();
    let mut s = BufferedSubscription::lock(&subs[0]);
    assert_eq!(s.available() as u64, done.stats.counters.outputs);
    while s.take(7, |o| outputs.push(o.clone())) > 0 {}
    assert!(s.finished());
    let lasts: Vec<u64> = outputs.iter().filter(|o| o.last).map(|o| o.command.seq).collect();
    assert_eq!(lasts, (1..=200).collect::<Vec<_>>(), "every command's outputs, once, in order");
    assert!(outputs.iter().all(|o| matches!(o.kind, OutputKind::Event(_))));
}

#[test]
fn take_gives_the_backlog_first_then_the_ring_and_at_most_max() {
    let (pipeline, handles) = start(1 << 10);
    let mut gateway = handles.gateways.into_iter().next().expect("one gateway");
    let shared = BufferedSubscription::shared(handles.subscriptions.into_iter().next().expect("one subscription"));
    gateway.submit(0, order(1)).expect("accepted");
    let mut got = Vec::new();
    assert!(BufferedSubscription::wait_take(&shared, 1, Duration::from_secs(10), |o| got.push(o.clone())) == 1);
    // The rest of command 1 (its book delta) waits in the ring: move it to the backlog, then
    // let command 2 publish into the ring behind it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while BufferedSubscription::lock(&shared).available() == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    BufferedSubscription::lock(&shared).drain_to_backlog();
    gateway.submit(0, order(2)).expect("accepted");
    while BufferedSubscription::lock(&shared).available() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(BufferedSubscription::lock(&shared).take(usize::MAX, |o| got.push(o.clone())), 3);
    let seqs: Vec<(u64, bool)> = got.iter().map(|o| (o.command.seq, o.last)).collect();
    assert_eq!(seqs, [(1, false), (1, true), (2, false), (2, true)]);
    drop(gateway);
    shutdown_draining(pipeline, std::slice::from_ref(&shared)).expect("shuts down");
}

#[test]
fn wait_take_times_out_empty_and_returns_at_once_when_finished() {
    let (pipeline, handles) = start(16);
    let shared = BufferedSubscription::shared(handles.subscriptions.into_iter().next().expect("one subscription"));
    let started = Instant::now();
    assert_eq!(BufferedSubscription::wait_take(&shared, 10, Duration::from_millis(20), |_| {}), 0);
    assert!(started.elapsed() >= Duration::from_millis(20));
    shutdown_draining(pipeline, std::slice::from_ref(&shared)).expect("shuts down");
    let started = Instant::now();
    assert_eq!(BufferedSubscription::wait_take(&shared, 10, Duration::from_secs(60), |_| {}), 0);
    assert!(started.elapsed() < Duration::from_secs(30), "a finished subscription does not wait");
    assert!(BufferedSubscription::lock(&shared).finished());
}

#[test]
fn a_pipeline_shut_down_in_the_background_still_runs_what_was_accepted() {
    let (pipeline, handles) = start(4);
    let mut gateway = handles.gateways.into_iter().next().expect("one gateway");
    let shared = BufferedSubscription::shared(handles.subscriptions.into_iter().next().expect("one subscription"));
    for id in 1..=50 {
        gateway.submit(0, order(id)).expect("accepted");
    }
    shutdown_in_background(pipeline, vec![Arc::clone(&shared)]);
    let mut last = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !BufferedSubscription::lock(&shared).finished() && Instant::now() < deadline {
        BufferedSubscription::wait_take(&shared, usize::MAX, Duration::from_millis(10), |o| {
            if o.last {
                last = o.command.seq;
            }
        });
    }
    assert_eq!(last, 50);
}

#[test]
fn wait_take_sized_says_how_many_it_takes_before_the_first_one() {
    let (pipeline, handles) = start(16);
    let mut gateway = handles.gateways.into_iter().next().expect("one gateway");
    let shared = BufferedSubscription::shared(handles.subscriptions.into_iter().next().expect("one subscription"));
    for id in 1..=3 {
        gateway.submit(0, order(id)).expect("accepted");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while BufferedSubscription::lock(&shared).available() < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let taken = std::cell::Cell::new(0);
    let (mut said, mut seen_when_said) = (None, None);
    let n = BufferedSubscription::wait_take_sized(
        &shared,
        4,
        Duration::from_secs(10),
        |n| {
            said = Some(n);
            seen_when_said = Some(taken.get());
        },
        |_| taken.set(taken.get() + 1),
    );
    assert_eq!((n, said, seen_when_said, taken.get()), (4, Some(4), Some(0), 4));
    // Nothing left to take after the rest: told 0, nothing taken.
    BufferedSubscription::wait_take(&shared, usize::MAX, Duration::ZERO, |_| {});
    let mut said = None;
    assert_eq!(BufferedSubscription::wait_take_sized(&shared, 10, Duration::ZERO, |n| said = Some(n), |_| {}), 0);
    assert_eq!(said, Some(0));
    drop(gateway);
    shutdown_draining(pipeline, std::slice::from_ref(&shared)).expect("shuts down");
}

/// CPU time (user + system) this thread has used, in clock ticks (Linux).
#[cfg(target_os = "linux")]
fn thread_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("/proc/thread-self/stat");
    // The fields after the command name (which ends at the last ')'): utime is the 12th, stime the 13th.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[cfg(target_os = "linux")]
#[test]
fn a_reader_waiting_for_outputs_sleeps_instead_of_polling() {
    // One second of waiting with nothing coming: a polling reader (a 100 µs sleep per look,
    // as before) spends tens of milliseconds of CPU; a sleeping one wakes at most once per
    // backstop interval (50 ms).
    let (pipeline, handles) = start(16);
    let shared = BufferedSubscription::shared(handles.subscriptions.into_iter().next().expect("one subscription"));
    let before = thread_cpu_ticks();
    let started = Instant::now();
    assert_eq!(BufferedSubscription::wait_take(&shared, usize::MAX, Duration::from_secs(1), |_| {}), 0);
    assert!(started.elapsed() >= Duration::from_secs(1));
    let used = thread_cpu_ticks() - before;
    // Clock ticks are 10 ms: 2 ticks is 20 ms, well under what polling costs.
    assert!(used <= 2, "the waiting reader used {used} ticks of CPU in one idle second");
    drop(handles.gateways);
    shutdown_draining(pipeline, &[shared]).expect("shuts down");
}

#[test]
fn a_sleeping_reader_is_woken_by_the_outputs_and_by_the_shutdown() {
    let (pipeline, handles) = start(64);
    let mut gateway = handles.gateways.into_iter().next().expect("one gateway");
    let mut sub = handles.subscriptions.into_iter().next().expect("one subscription");
    // `Subscription::wait_for_outputs` has no backstop: only the matching stage's wake-up
    // ends a 60 s wait early.
    let reader = std::thread::spawn(move || {
        let started = Instant::now();
        let mut woken = 0;
        while !sub.wait_for_outputs(Duration::from_secs(60)) {
            woken += 1;
            assert!(woken < 1000, "spurious wake-ups only");
        }
        let waited = started.elapsed();
        let mut outputs = Vec::new();
        sub.poll(&mut outputs);
        // Then the shutdown ends the next wait (nothing more will come).
        let stopping = Instant::now();
        while !sub.is_finished() {
            if !sub.wait_for_outputs(Duration::from_secs(60)) {
                continue;
            }
            sub.poll(&mut outputs);
        }
        (waited, outputs.len(), stopping.elapsed())
    });
    std::thread::sleep(Duration::from_millis(200));
    gateway.submit(0, order(1)).expect("accepted");
    std::thread::sleep(Duration::from_millis(200));
    drop(gateway);
    pipeline.shutdown().expect("shuts down");
    let (waited, outputs, stopping) = reader.join().expect("reader");
    assert!(outputs >= 2, "the order's outputs were read: {outputs}");
    assert!(waited < Duration::from_secs(30), "woken by the outputs, after {waited:?}");
    assert!(stopping < Duration::from_secs(30), "woken by the shutdown, after {stopping:?}");
}

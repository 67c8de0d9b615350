//! Throughput of the order book on the benchmark workloads (`wintermute_bench::workload`).
//!
//! One criterion iteration is one command (`Throughput::Elements(1)`: criterion reports
//! commands/s), except `sweep_levels` (one iteration = one market order sweeping 1,000 levels,
//! reported as levels/s). Commands replay a generated stream on a book warmed with the stream's
//! warm-up; when the stream runs out, a fresh copy of the warmed book is made *outside* the
//! timed region. Events go to a reused `Vec<Event>` cleared per command (what a real consumer
//! pays), or to a `CountingSink` in the `*_counting` variants.
//!
//! `cargo bench -p wintermute-core` runs everything in about two minutes;
//! `cargo bench -p wintermute-core -- exchange_core` runs one group.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wintermute_bench::workload::{self, Workload};
use wintermute_core::{CountingSink, Event, EventSink, OrderBook};

const COMMANDS: usize = 200_000;
const SEED: u64 = 42;

/// Replays `w` command by command across criterion iterations, re-warming untimed.
struct Replay<'a> {
    w: &'a Workload,
    warmed: OrderBook,
    book: OrderBook,
    next: usize,
}

impl<'a> Replay<'a> {
    fn new(w: &'a Workload) -> Self {
        let warmed = w.warmed_book();
        Self { w, book: warmed.clone(), warmed, next: 0 }
    }

    /// Runs `iters` commands; returns the time spent in them only.
    fn run<S: EventSink>(&mut self, iters: u64, sink: &mut S, clear: impl Fn(&mut S)) -> Duration {
        let mut left = iters;
        let mut total = Duration::ZERO;
        while left > 0 {
            if self.next == self.w.commands.len() {
                self.book.clone_from(&self.warmed);
                self.next = 0;
            }
            let n = left.min((self.w.commands.len() - self.next) as u64) as usize;
            let cmds = &self.w.commands[self.next..self.next + n];
            let start = Instant::now();
            for cmd in cmds {
                clear(sink);
                let _ = black_box(self.book.execute(black_box(cmd), sink));
            }
            total += start.elapsed();
            self.next += n;
            left -= n as u64;
        }
        total
    }
}

fn configure() -> Criterion {
    Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(10)
}

fn mixes(c: &mut Criterion) {
    let workloads = [
        workload::exchange_core_mix(SEED, COMMANDS),
        workload::feed_mix(SEED, COMMANDS),
        workload::python_mix(SEED, COMMANDS),
        workload::deep_queue(100_000),
        workload::big_book(SEED, 1_000_000, COMMANDS),
    ];
    let mut group = c.benchmark_group("mix");
    group.throughput(Throughput::Elements(1));
    for w in &workloads {
        let mut replay = Replay::new(w);
        let mut events: Vec<Event> = Vec::with_capacity(w.max_events_per_command);
        group.bench_function(BenchmarkId::new(w.name, "vec"), |b| {
            b.iter_custom(|iters| replay.run(iters, &mut events, |e| e.clear()))
        });
        if w.name == "exchange_core" {
            let mut replay = Replay::new(w);
            let mut sink = CountingSink::default();
            group.bench_function(BenchmarkId::new(w.name, "counting"), |b| {
                b.iter_custom(|iters| replay.run(iters, &mut sink, |_| {}))
            });
            black_box(sink);
        }
    }
    group.finish();
}

fn sweep(c: &mut Criterion) {
    const LEVELS: usize = 1_000;
    let w = workload::sweep_levels(LEVELS);
    let warmed = w.warmed_book();
    let mut events: Vec<Event> = Vec::with_capacity(w.max_events_per_command);
    let mut group = c.benchmark_group("worst");
    group.throughput(Throughput::Elements(LEVELS as u64));
    group.bench_function("sweep_1000_levels", |b| {
        let mut book = warmed.clone();
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                book.clone_from(&warmed);
                events.clear();
                let start = Instant::now();
                let _ = black_box(book.execute(black_box(&w.commands[0]), &mut events));
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = configure();
    targets = mixes, sweep
}
criterion_main!(benches);

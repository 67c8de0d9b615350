//! Native latency / throughput harness for the order book.
//!
//! ```text
//! cargo run --release -p wintermute-bench --example latency -- [options]
//!   --workload NAME    exchange_core | feed | python | sweep_levels | deep_queue | big_book
//!                      (repeatable; default: all)
//!   --commands N       measured commands per mix stream (default 200000)
//!   --seed S           workload seed (default 42)
//!   --repeat R         throughput passes per workload, median and best reported (default 5)
//!   --timer T          tsc (x86_64 rdtsc, calibrated against Instant; default there) | instant
//!   --json             one JSON object on stdout instead of the table
//!   --callgrind NAME   only replay NAME's commands once in `measured_pass` (for
//!                      valgrind --tool=callgrind --toggle-collect='*measured_pass*')
//!   --callgrind-batch NAME
//!                      only run NAME's commands once as 48-byte records through the batch API
//!                      (`JournaledEngine::run_batch`, no journal, 16,384 per call) in
//!                      `measured_batch`, and once through the native loop the Python bench
//!                      compares it with (`native_book::run_commands`) in `measured_native`
//!                      (toggle-collect each by name; both divide by the same command count),
//!                      and in `measured_batch_orders` without the level updates
//!                      (`run_batch_with(.., false)`); `measured_native` runs on a book sized
//!                      for the workload, `measured_native_engine_book` on one started as the
//!                      engine's (default capacity, grown as it fills), as the batch passes are
//!   --digest           only print, per workload, an FNV-1a hash of every event the stream
//!                      emits (to check that a patched book behaves identically)
//! ```
//!
//! Per workload: one untimed pass over the stream (warms caches and branch predictors), then
//! (i) `--repeat` tight loops over the whole stream timed as one block each (throughput), then
//! (ii) one pass that reads the timer around every command into an HDR histogram (latency).
//! Every pass starts from a fresh copy of the warmed book; events go to a reused `Vec<Event>`
//! cleared per command. The timer's own cost (an empty timed interval, measured at start-up) is
//! reported next to the percentiles and is **not** subtracted from them.
//!
//! `sweep_levels` is one command per stream: it is repeated (fresh book each time, untimed) and
//! reported per sweep, with throughput in levels/s.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use wintermute_bench::native_book;
use wintermute_bench::workload::{self, Workload};
use wintermute_core::records::{encode_command, COMMAND_SIZE, EVENT_SIZE};
use wintermute_core::{Event, OrderBook};
use wintermute_engine::journaled_engine::JournaledEngine;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Timer {
    Instant,
    #[cfg(target_arch = "x86_64")]
    Tsc,
}

/// Reads a monotonic clock: nanoseconds (Instant) or TSC ticks, serialised with `lfence` so the
/// timed instructions cannot drift across the read.
struct Clock {
    timer: Timer,
    origin: Instant,
    /// TSC ticks per nanosecond (1.0 for Instant).
    ticks_per_ns: f64,
}

impl Clock {
    fn new(timer: Timer) -> Self {
        let mut c = Self { timer, origin: Instant::now(), ticks_per_ns: 1.0 };
        #[cfg(target_arch = "x86_64")]
        if timer == Timer::Tsc {
            // Calibrate over 200 ms of wall clock.
            let (t0, c0) = (Instant::now(), c.read());
            while t0.elapsed() < Duration::from_millis(200) {}
            let (t1, c1) = (Instant::now(), c.read());
            c.ticks_per_ns = (c1 - c0) as f64 / (t1 - t0).as_nanos() as f64;
        }
        c
    }

    #[inline(always)]
    fn read(&self) -> u64 {
        match self.timer {
            Timer::Instant => self.origin.elapsed().as_nanos() as u64,
            #[cfg(target_arch = "x86_64")]
            Timer::Tsc => {
                use std::arch::x86_64::{_mm_lfence, _rdtsc};
                #[allow(unused_unsafe, unsafe_code)]
                // SAFETY: lfence and rdtsc exist on every x86_64 CPU and touch no memory.
                unsafe {
                    _mm_lfence();
                    let t = _rdtsc();
                    _mm_lfence();
                    t
                }
            }
        }
    }

    #[inline(always)]
    fn ns(&self, ticks: u64) -> f64 {
        ticks as f64 / self.ticks_per_ns
    }

    /// Distribution of an empty timed interval: (p50, p99) in ns.
    fn overhead(&self) -> (f64, f64) {
        let mut h = Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 3).expect("bounds");
        for _ in 0..200_000 {
            let a = self.read();
            let b = self.read();
            h.record((self.ns(b - a).round() as u64).max(1)).expect("in range");
        }
        (h.value_at_quantile(0.5) as f64, h.value_at_quantile(0.99) as f64)
    }
}

struct Result {
    name: &'static str,
    commands: usize,
    /// Throughput unit per second: commands (levels for sweep_levels).
    unit: &'static str,
    rate_median: f64,
    rate_best: f64,
    ns_per_command_median: f64,
    hist: Histogram<u64>,
}

fn run_pass(book: &mut OrderBook, cmds: &[wintermute_core::Command], events: &mut Vec<Event>) {
    for cmd in cmds {
        events.clear();
        let r = book.execute(cmd, events);
        debug_assert!(r.is_ok());
        std::hint::black_box(r.is_ok());
    }
}

/// The batch API's pass that `--callgrind-batch` counts: `run_batch` per 16,384 records.
#[inline(never)]
fn measured_batch(engine: &mut JournaledEngine, id: u32, records: &[u8]) -> usize {
    let mut bytes = 0;
    for chunk in records.chunks(16_384 * COMMAND_SIZE) {
        bytes += std::hint::black_box(engine.run_batch(id, chunk).expect("no journal, known instrument")).len();
    }
    bytes
}

/// The same as [`measured_batch`] without the level updates (`run_batch_with(.., false)`).
#[inline(never)]
fn measured_batch_orders(engine: &mut JournaledEngine, id: u32, records: &[u8]) -> usize {
    let mut bytes = 0;
    for chunk in records.chunks(16_384 * COMMAND_SIZE) {
        let out = engine.run_batch_with(id, chunk, false).expect("no journal, known instrument");
        bytes += std::hint::black_box(out).len();
    }
    bytes
}

/// The native loop the batch API is compared with (`--callgrind-batch`).
#[inline(never)]
fn measured_native(book: &mut OrderBook, cmds: &[wintermute_core::Command]) -> u64 {
    native_book::run_commands(book, cmds, false).events
}

/// The same native loop on a book started as the engine's (`OrderBook::new`, its default
/// capacity) with the same warm-up: the start that `wintermute bench` gives both the native
/// row and the batch rows (`--callgrind-batch`).
#[inline(never)]
fn measured_native_engine_book(book: &mut OrderBook, cmds: &[wintermute_core::Command]) -> u64 {
    // black_box: a body of its own, so that the two passes are not merged into one function.
    native_book::run_commands(book, std::hint::black_box(cmds), false).events
}

/// The pass that callgrind counts (kept out of line so it can be toggled by name).
#[inline(never)]
fn measured_pass(book: &mut OrderBook, cmds: &[wintermute_core::Command], events: &mut Vec<Event>) {
    run_pass(book, cmds, events);
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

fn bench_stream(w: &Workload, clock: &Clock, repeat: usize) -> Result {
    let warmed = w.warmed_book();
    let mut events: Vec<Event> = Vec::with_capacity(w.max_events_per_command);
    let mut book = warmed.clone();
    run_pass(&mut book, &w.commands, &mut events); // untimed warm-up pass

    let mut rates = Vec::with_capacity(repeat);
    let mut ns_per = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        book.clone_from(&warmed);
        let start = Instant::now();
        run_pass(&mut book, &w.commands, &mut events);
        let dt = start.elapsed().as_secs_f64();
        rates.push(w.commands.len() as f64 / dt);
        ns_per.push(dt * 1e9 / w.commands.len() as f64);
    }

    let mut hist = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).expect("bounds");
    book.clone_from(&warmed);
    for cmd in &w.commands {
        events.clear();
        let a = clock.read();
        let r = book.execute(cmd, &mut events);
        let b = clock.read();
        std::hint::black_box(r.is_ok());
        hist.record((clock.ns(b - a).round() as u64).max(1)).expect("in range");
    }
    Result {
        name: w.name,
        commands: w.commands.len(),
        unit: "commands",
        rate_median: median(&mut rates),
        rate_best: rates.iter().cloned().fold(0.0, f64::max),
        ns_per_command_median: median(&mut ns_per),
        hist,
    }
}

fn bench_sweep(levels: usize, clock: &Clock, repeat: usize) -> Result {
    let w = workload::sweep_levels(levels);
    let warmed = w.warmed_book();
    let mut events: Vec<Event> = Vec::with_capacity(w.max_events_per_command);
    let mut book = warmed.clone();
    let sweeps = 200 * repeat;
    let mut hist = Histogram::<u64>::new_with_bounds(1, 100_000_000_000, 3).expect("bounds");
    let mut total = 0.0;
    for i in 0..sweeps + 20 {
        book.clone_from(&warmed);
        events.clear();
        let a = clock.read();
        let r = book.execute(&w.commands[0], &mut events);
        let b = clock.read();
        assert!(r.is_ok() && book.order_count() == 0);
        if i >= 20 {
            // the first 20 sweeps warm up
            let ns = clock.ns(b - a);
            total += ns;
            hist.record((ns.round() as u64).max(1)).expect("in range");
        }
    }
    let rate = levels as f64 * sweeps as f64 / (total * 1e-9);
    Result {
        name: "sweep_levels",
        commands: sweeps,
        unit: "levels",
        rate_median: rate,
        rate_best: rate,
        ns_per_command_median: total / sweeps as f64,
        hist,
    }
}

fn build(name: &str, seed: u64, commands: usize) -> Workload {
    match name {
        "exchange_core" => workload::exchange_core_mix(seed, commands),
        "feed" => workload::feed_mix(seed, commands),
        "python" => workload::python_mix(seed, commands),
        "deep_queue" => workload::deep_queue(100_000),
        "big_book" => workload::big_book(seed, 1_000_000, commands),
        "sweep_levels" => workload::sweep_levels(1_000),
        other => panic!("unknown workload {other}"),
    }
}

const ALL: [&str; 6] = ["exchange_core", "feed", "python", "deep_queue", "big_book", "sweep_levels"];

fn main() {
    let mut args = std::env::args().skip(1);
    let mut names: Vec<String> = Vec::new();
    let (mut commands, mut seed, mut repeat, mut json) = (200_000usize, 42u64, 5usize, false);
    #[cfg(target_arch = "x86_64")]
    let mut timer = Timer::Tsc;
    #[cfg(not(target_arch = "x86_64"))]
    let mut timer = Timer::Instant;
    let mut callgrind: Option<String> = None;
    let mut callgrind_batch: Option<String> = None;
    let mut digest = false;
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--workload" => names.push(val()),
            "--commands" => commands = val().parse().expect("--commands N"),
            "--seed" => seed = val().parse().expect("--seed S"),
            "--repeat" => repeat = val().parse::<usize>().expect("--repeat R").max(1),
            "--json" => json = true,
            "--digest" => digest = true,
            "--callgrind" => callgrind = Some(val()),
            "--callgrind-batch" => callgrind_batch = Some(val()),
            "--timer" => {
                timer = match val().as_str() {
                    "instant" => Timer::Instant,
                    #[cfg(target_arch = "x86_64")]
                    "tsc" => Timer::Tsc,
                    t => panic!("unknown timer {t}"),
                }
            }
            "--bench" => {} // cargo may pass it
            other => panic!("unknown argument {other} (see the source's header for usage)"),
        }
    }

    if let Some(name) = callgrind {
        let w = build(&name, seed, commands);
        let mut book = w.warmed_book();
        let mut events: Vec<Event> = Vec::with_capacity(w.max_events_per_command);
        measured_pass(&mut book, &w.commands, &mut events);
        println!("callgrind: {} commands of {} in measured_pass; divide its Ir by that", w.commands.len(), w.name);
        return;
    }

    if let Some(name) = callgrind_batch {
        let w = build(&name, seed, commands);
        let encode = |cmds: &[wintermute_core::Command]| -> Vec<u8> { cmds.iter().flat_map(encode_command).collect() };
        let warmed = || {
            let mut engine = JournaledEngine::new();
            let id = engine.add_instrument(w.spec.clone()).expect("the workload's instrument");
            engine.run_batch(id, &encode(&w.warmup)).expect("warm-up");
            (engine, id)
        };
        let records = encode(&w.commands);
        let (mut engine, id) = warmed();
        let bytes = measured_batch(&mut engine, id, &records);
        let (mut engine, id) = warmed();
        let order_bytes = measured_batch_orders(&mut engine, id, &records);
        let mut book = w.warmed_book();
        let events = measured_native(&mut book, &w.commands);
        let mut book = OrderBook::new(w.spec.clone());
        for cmd in &w.warmup {
            book.execute(cmd, &mut Vec::new()).expect("warm-up");
        }
        let engine_book_events = measured_native_engine_book(&mut book, &w.commands);
        assert_eq!(engine_book_events, events, "the same events whatever the book's capacity");
        println!(
            "callgrind-batch: {} commands of {} in measured_batch ({} event records), measured_batch_orders \
             ({} records, no level updates) and measured_native ({} events)",
            w.commands.len(),
            w.name,
            bytes / EVENT_SIZE,
            order_bytes / EVENT_SIZE,
            events
        );
        return;
    }

    if names.is_empty() {
        names = ALL.iter().map(|s| s.to_string()).collect();
    }
    if digest {
        for name in &names {
            let w = build(name, seed, commands);
            let mut book = w.empty_book();
            let mut events: Vec<Event> = Vec::new();
            let mut h: u64 = 0xCBF2_9CE4_8422_2325;
            let mut n = 0usize;
            for cmd in w.warmup.iter().chain(&w.commands) {
                events.clear();
                let r = book.execute(cmd, &mut events);
                for b in format!("{r:?}{events:?}").bytes() {
                    h = (h ^ b as u64).wrapping_mul(0x0100_0000_01B3);
                }
                n += events.len();
            }
            println!("{name:<14} events {n:>9} digest {h:016x}");
        }
        return;
    }
    let clock = Clock::new(timer);
    let (oh50, oh99) = clock.overhead();
    let mut results = Vec::new();
    for name in &names {
        let r = if name == "sweep_levels" {
            bench_sweep(1_000, &clock, repeat)
        } else {
            bench_stream(&build(name, seed, commands), &clock, repeat)
        };
        if !json {
            print_row(&r);
        }
        results.push(r);
    }
    if json {
        let rows: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "workload": r.name,
                    "samples": r.commands,
                    "unit": r.unit,
                    "per_s_median": r.rate_median,
                    "per_s_best": r.rate_best,
                    "ns_per_sample_median": r.ns_per_command_median,
                    "latency_ns": {
                        "p50": r.hist.value_at_quantile(0.5),
                        "p90": r.hist.value_at_quantile(0.9),
                        "p99": r.hist.value_at_quantile(0.99),
                        "p99_9": r.hist.value_at_quantile(0.999),
                        "p99_99": r.hist.value_at_quantile(0.9999),
                        "max": r.hist.max(),
                        "mean": r.hist.mean(),
                    },
                })
            })
            .collect();
        let out = serde_json::json!({
            "timer": format!("{:?}", clock.timer),
            "tsc_ghz": clock.ticks_per_ns,
            "timer_overhead_ns": {"p50": oh50, "p99": oh99, "subtracted": false},
            "seed": seed,
            "results": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    } else {
        println!(
            "timer {:?} ({:.3} ticks/ns): an empty timed interval costs p50 {oh50:.0} ns, p99 {oh99:.0} ns (included in the percentiles above, not subtracted)",
            clock.timer, clock.ticks_per_ns
        );
    }
}

fn print_row(r: &Result) {
    let h = &r.hist;
    println!(
        "{:<14} {:>8} {:<8} {:>7.2} M{}/s median ({:>6.2} best, {:>7.1} ns each) | latency ns p50 {:>6} p99 {:>6} p99.9 {:>7} p99.99 {:>7} max {:>8}",
        r.name,
        r.commands,
        "samples",
        r.rate_median / 1e6,
        r.unit,
        r.rate_best / 1e6,
        r.ns_per_command_median,
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.value_at_quantile(0.9999),
        h.max(),
    );
}

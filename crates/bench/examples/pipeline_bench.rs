//! Open-loop load through the whole pipeline, from the command line: a thin CLI over
//! [`wintermute_bench::pipeline`] (what is measured and how is documented there).
//!
//! ```text
//! cargo run -p wintermute-bench --release --example pipeline_bench -- \
//!     [--seconds 2] [--rates 100k,1M,max] [--journal off,none,batch,bg] \
//!     [--topology auto|merged|split|both] [--wait auto|busy_spin|spin_then_yield|park] \
//!     [--pin] [--dir PATH] \
//!     [--outputs executions|all|both] [--segment-mib 256] [--rolls prepared|inline|both] \
//!     [--populate on|off|both] [--window-ms MS] [--json]
//! ```
//!
//! `--window-ms` adds, under each row, the latency of each window of that many milliseconds
//! of the run (by intended send time, windows of at least 10,000 commands; at most 1,000
//! windows a run): how many meet
//! p99 <= 2 µs and p99.9 <= 10 µs, and the best and median window's p99 and p99.9 (with
//! `--json`, every window's percentiles).
//!
//! `--segment-mib` sets the journal's segment size and `--rolls` whether the journal's roller
//! thread prepares segments (`prepared`, the default) or the matching thread creates and
//! unmaps them itself (`inline`, system name `…/inline-rolls`); the `rolls` and `roll µs`
//! columns show how many rolls a run had and the longest. `--populate off` runs without
//! populating segments ahead of the writer (system name `…/unpopulated`).
//!
//! System names: `wintermute-pipeline@<rate>/<journal>` for the merged topology (risk and
//! matching in one thread) and `wintermute-pipeline-split@<rate>/<journal>` for separate risk
//! and matching threads; `+deltas` after the topology (`wintermute-pipeline+deltas@…`) when the
//! subscription takes the book deltas too (`--outputs all`; the default is an execution feed). `--json` prints `{"workload", "cores", "results": [...]}`.

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use wintermute_bench::pipeline::{self as bench, BenchConfig, BenchResult, JournalMode};
use wintermute_engine::analytics::LatencySummary;
use wintermute_engine::pipeline::config::WaitKind;
use wintermute_engine::pipeline::{available_cores, Output, Topology};
use wintermute_engine::wait::WaitStrategy;

struct Args {
    seconds: f64,
    rates: Vec<Option<u64>>,
    journals: Vec<JournalMode>,
    topologies: Vec<Topology>,
    wait: Option<WaitStrategy>,
    dir: Option<PathBuf>,
    json: bool,
    pin: bool,
    /// Book deltas off, on (one run each).
    outputs: Vec<bool>,
    segment_mib: u64,
    /// Roller on, off (one run each).
    rollers: Vec<bool>,
    /// Populate on, off (one run each).
    populates: Vec<bool>,
    window: Option<Duration>,
}

fn parse_args() -> Result<Args, Box<dyn Error>> {
    let mut a = Args {
        seconds: 2.0,
        rates: vec![Some(100_000), Some(1_000_000), None],
        journals: vec![JournalMode::Off, JournalMode::NoFsync, JournalMode::BatchFsync, JournalMode::BackgroundFsync],
        topologies: vec![Topology::for_cores(available_cores())],
        wait: None,
        dir: None,
        json: false,
        pin: false,
        outputs: vec![false],
        segment_mib: 256,
        rollers: vec![true],
        populates: vec![true],
        window: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => a.seconds = value()?.parse().map_err(|_| "bad --seconds")?,
            "--rates" => a.rates = value()?.split(',').map(bench::parse_rate).collect::<Result<_, _>>()?,
            "--journal" => a.journals = value()?.split(',').map(JournalMode::parse).collect::<Result<_, _>>()?,
            "--topology" => {
                a.topologies = match value()?.as_str() {
                    "auto" => vec![Topology::for_cores(available_cores())],
                    "merged" => vec![Topology::Merged],
                    "split" => vec![Topology::Split],
                    "both" => vec![Topology::Merged, Topology::Split],
                    t => return Err(format!("bad --topology {t:?}").into()),
                }
            }
            "--wait" => {
                let w = value()?;
                a.wait = match (w.as_str(), WaitKind::from_name(&w)) {
                    ("auto", _) => None,
                    (_, Some(kind)) => Some(kind.strategy()),
                    (w, None) => return Err(format!("bad --wait {w:?}: auto, {}", WaitKind::NAMES.join(", ")).into()),
                }
            }
            "--outputs" => a.outputs = one_or_both(&flag, &value()?, [("executions", false), ("all", true)])?,
            "--segment-mib" => {
                a.segment_mib = value()?.parse().map_err(|_| "bad --segment-mib")?;
                if a.segment_mib == 0 {
                    return Err("--segment-mib must be at least 1".into());
                }
            }
            "--rolls" => a.rollers = one_or_both(&flag, &value()?, [("prepared", true), ("inline", false)])?,
            "--populate" => a.populates = one_or_both(&flag, &value()?, [("on", true), ("off", false)])?,
            "--window-ms" => {
                let ms: u64 = value()?.parse().map_err(|_| "bad --window-ms")?;
                if ms == 0 {
                    return Err("--window-ms must be at least 1".into());
                }
                a.window = Some(Duration::from_millis(ms));
            }
            "--dir" => a.dir = Some(PathBuf::from(value()?)),
            "--json" => a.json = true,
            "--pin" => a.pin = true,
            f => return Err(format!("unknown flag {f:?}").into()),
        }
    }
    Ok(a)
}

/// A flag naming one of two settings, or `both` (one run each, in the order given).
fn one_or_both(flag: &str, value: &str, names: [(&str, bool); 2]) -> Result<Vec<bool>, String> {
    match value {
        "both" => Ok(names.iter().map(|&(_, on)| on).collect()),
        v => names
            .iter()
            .find(|(name, _)| *name == v)
            .map(|&(_, on)| vec![on])
            .ok_or_else(|| format!("bad {flag} {v:?}")),
    }
}

fn print_row(r: &BenchResult) {
    let l = r.latency;
    println!(
        "{:<52} {:>12.0} {:>9} {:>9} {:>9} {:>10} {:>10} {:>8} {:>8.2} {:>6} {:>8.0}",
        r.system,
        r.ops_per_s,
        l.p50_ns,
        l.p99_ns,
        l.p999_ns,
        l.max_ns,
        r.pipeline_end_to_end.p99_ns,
        r.full_events,
        r.outputs_per_command,
        r.journal_rolls.rolls,
        r.journal_rolls.longest.as_secs_f64() * 1e6
    );
}

/// One line on the run's windows (see the module docs).
fn print_windows(r: &BenchResult, window: Duration) {
    let n = r.windows.len();
    if n == 0 {
        println!("    windows of {window:?}: none with {} commands", bench::MIN_WINDOW_COMMANDS);
        return;
    }
    let met = r.windows.iter().filter(|w| w.p99_ns <= 2_000 && w.p999_ns <= 10_000).count();
    let sorted = |f: fn(&LatencySummary) -> u64| {
        let mut v: Vec<u64> = r.windows.iter().map(f).collect();
        v.sort_unstable();
        v
    };
    let (p99, p999) = (sorted(|w| w.p99_ns), sorted(|w| w.p999_ns));
    println!(
        "    windows of {window:?}: {n}; p99 <= 2 µs and p99.9 <= 10 µs in {met}; p99 best {} median {} ns; \
         p99.9 best {} median {} ns",
        p99[0],
        p99[n / 2],
        p999[0],
        p999[n / 2]
    );
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = parse_args()?;
    let mut runs = Vec::new();
    if !args.json {
        println!(
            "pipeline_bench: exchange_core_mix, {} s per config, {} cores, output {} bytes",
            args.seconds,
            available_cores(),
            std::mem::size_of::<Output>()
        );
        println!(
            "{:<52} {:>12} {:>9} {:>9} {:>9} {:>10} {:>10} {:>8} {:>8} {:>6} {:>8}",
            "system",
            "ops/s",
            "p50 ns",
            "p99 ns",
            "p99.9 ns",
            "max ns",
            "pipe p99",
            "full",
            "out/cmd",
            "rolls",
            "roll µs"
        );
    }
    for &topology in &args.topologies {
        for &book_deltas in &args.outputs {
            for &journal in &args.journals {
                for &rate in &args.rates {
                    // The journal's variants only matter with a journal: one run without.
                    let variants: Vec<(bool, bool)> = if journal == JournalMode::Off {
                        vec![(true, true)]
                    } else {
                        args.rollers.iter().flat_map(|&r| args.populates.iter().map(move |&p| (r, p))).collect()
                    };
                    for (prepare_segments, populate) in variants {
                        let config = BenchConfig {
                            seconds: args.seconds,
                            topology,
                            wait: args.wait,
                            pin: args.pin,
                            dir: args.dir.clone(),
                            book_deltas,
                            segment_size: args.segment_mib << 20,
                            prepare_segments,
                            populate,
                            window: args.window,
                            ..BenchConfig::new(rate, journal)
                        };
                        let r = bench::run(&config)?;
                        if !args.json {
                            print_row(&r);
                            if let Some(w) = args.window {
                                print_windows(&r, w);
                            }
                        }
                        runs.push(r);
                    }
                }
            }
        }
    }
    if args.json {
        let results: Vec<_> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "system": r.system,
                    "offered_ops_per_s": r.offered_ops_per_s,
                    "ops_per_s": r.ops_per_s.round(),
                    "p50_ns": r.latency.p50_ns,
                    "p99_ns": r.latency.p99_ns,
                    "p999_ns": r.latency.p999_ns,
                    "max_ns": r.latency.max_ns,
                    "outputs_per_command": r.outputs_per_command,
                    "journal_rolls": r.journal_rolls.rolls,
                    "longest_roll_ns": u64::try_from(r.journal_rolls.longest.as_nanos()).unwrap_or(u64::MAX),
                    "windows": r.windows.iter().map(|w| serde_json::json!({
                        "count": w.count,
                        "p50_ns": w.p50_ns,
                        "p99_ns": w.p99_ns,
                        "p999_ns": w.p999_ns,
                        "max_ns": w.max_ns,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let out =
            serde_json::json!({ "workload": "exchange_core_mix", "cores": available_cores(), "results": results });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

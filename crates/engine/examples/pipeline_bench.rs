//! Open-loop load through the whole pipeline: one producer offers the exchange-core command mix
//! at a constant rate, a subscriber measures each command's end-to-end latency.
//!
//! ```text
//! cargo run -p wintermute-engine --release --example pipeline_bench -- \
//!     [--seconds 2] [--rates 100k,1M,max] [--journal off,none,batch,bg] \
//!     [--topology auto|merged|split|both] [--wait auto|park|yield|spin] [--pin] [--dir PATH] [--json]
//! ```
//!
//! **Coordinated omission.** Command `i` is *meant* to be sent at `start + i / rate`; that
//! intended time is its ingress timestamp ([`Gateway::submit_at`]). When the pipeline falls
//! behind, the gateway ring fills, later commands go out late — and their latency counts from
//! when they should have gone, as a user's would. `max` sends as fast as the gateway accepts
//! (ingress = actual submit time): a throughput test, not a latency one.
//!
//! **One load thread.** The same thread sends and reads the subscription (see `drive`), so
//! the merged topology runs on exactly two threads — one per core of a 2-core machine. The
//! split topology adds a third thread: on 2 cores it contends, and the numbers show it.
//!
//! **`--pin`** pins the load thread to core 0 and the engine threads to cores 1, 2, ... (modulo
//! the core count).
//!
//! **Latency** is measured at the subscriber: from the ingress timestamp to the moment the
//! load thread reads the command's last output (so it includes the output ring and the poll).
//!
//! **Journal:** `off` (none), `none` (journal, `FsyncPolicy::None`: records reach the page
//! cache through the memory map), `batch` (msync every 1,000 records or 10 ms, on the matching
//! thread), `bg` (fdatasync every 10 ms on a background thread: `JournalSync::Background`).
//!
//! System names in `--json`: `wintermute-pipeline@<rate>/<journal>` for the merged topology
//! (risk and matching in one thread) and `wintermute-pipeline-split@<rate>/<journal>` for
//! separate risk and matching threads.

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

use wintermute_core::workload::exchange_core_mix;
use wintermute_core::Command;
use wintermute_engine::analytics::{LatencyRecorder, LatencySummary};
use wintermute_engine::journal::{FsyncPolicy, JournalConfig};
use wintermute_engine::pipeline::{
    available_cores, Backpressure, Gateway, Output, Pipeline, PipelineConfig, RiskConfig, SubmitError, Subscription,
    Topology,
};
use wintermute_engine::wait::WaitStrategy;

#[derive(Debug, Clone, Copy)]
enum JournalMode {
    Off,
    NoFsync,
    BatchFsync,
    BackgroundFsync,
}

impl JournalMode {
    fn label(self) -> &'static str {
        match self {
            JournalMode::Off => "no-journal",
            JournalMode::NoFsync => "journal",
            JournalMode::BatchFsync => "journal-fsync-batch",
            JournalMode::BackgroundFsync => "journal-fsync-bg",
        }
    }
}

struct Args {
    seconds: f64,
    rates: Vec<Option<u64>>,
    journals: Vec<JournalMode>,
    topologies: Vec<Topology>,
    wait: Option<WaitStrategy>,
    dir: Option<PathBuf>,
    json: bool,
    pin: bool,
}

fn parse_rate(s: &str) -> Result<Option<u64>, String> {
    let s = s.trim().to_ascii_lowercase();
    if s == "max" {
        return Ok(None);
    }
    let (num, mul) = match s.strip_suffix('m') {
        Some(n) => (n, 1_000_000.0),
        None => s.strip_suffix('k').map_or((s.as_str(), 1.0), |n| (n, 1_000.0)),
    };
    let v: f64 = num.parse().map_err(|_| format!("bad rate {s:?}"))?;
    if v <= 0.0 {
        return Err(format!("rate must be positive: {s:?}"));
    }
    Ok(Some((v * mul) as u64))
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        seconds: 2.0,
        rates: vec![Some(100_000), Some(1_000_000), None],
        journals: vec![JournalMode::Off, JournalMode::NoFsync, JournalMode::BatchFsync, JournalMode::BackgroundFsync],
        topologies: vec![Topology::for_cores(available_cores())],
        wait: None,
        dir: None,
        json: false,
        pin: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--seconds" => a.seconds = value()?.parse().map_err(|_| "bad --seconds".to_string())?,
            "--rates" => a.rates = value()?.split(',').map(parse_rate).collect::<Result<_, _>>()?,
            "--journal" => {
                a.journals = value()?
                    .split(',')
                    .map(|j| match j {
                        "off" => Ok(JournalMode::Off),
                        "none" => Ok(JournalMode::NoFsync),
                        "batch" => Ok(JournalMode::BatchFsync),
                        "bg" => Ok(JournalMode::BackgroundFsync),
                        _ => Err(format!("bad --journal {j:?}: off, none, batch or bg")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--topology" => {
                a.topologies = match value()?.as_str() {
                    "auto" => vec![Topology::for_cores(available_cores())],
                    "merged" => vec![Topology::Merged],
                    "split" => vec![Topology::Split],
                    "both" => vec![Topology::Merged, Topology::Split],
                    t => return Err(format!("bad --topology {t:?}")),
                }
            }
            "--wait" => {
                a.wait = match value()?.as_str() {
                    "auto" => None,
                    "park" => Some(WaitStrategy::park(Duration::from_micros(50))),
                    "yield" => Some(WaitStrategy::spin_then_yield()),
                    "spin" => Some(WaitStrategy::BusySpin),
                    w => return Err(format!("bad --wait {w:?}")),
                }
            }
            "--dir" => a.dir = Some(PathBuf::from(value()?)),
            "--json" => a.json = true,
            "--pin" => a.pin = true,
            f => return Err(format!("unknown flag {f:?}")),
        }
    }
    Ok(a)
}

struct Run {
    system: String,
    offered: Option<u64>,
    ops_per_s: f64,
    latency: LatencySummary,
    pipeline_e2e: LatencySummary,
    full_events: u64,
}

fn rate_label(rate: Option<u64>) -> String {
    match rate {
        None => "max".into(),
        Some(r) if r >= 1_000_000 && r % 1_000_000 == 0 => format!("{}M", r / 1_000_000),
        Some(r) if r >= 1_000 && r % 1_000 == 0 => format!("{}k", r / 1_000),
        Some(r) => r.to_string(),
    }
}

/// The load loop, on one thread (so that a 2-core machine has one core for it and one for
/// the engine): submits every command that is due — command `i` at `start_ns + i / rate`,
/// stamped with that intended time; all at once for `rate == None`, stamped when sent — and
/// reads the subscription, recording each command's latency when its last output arrives.
/// The gateway rejects on a full ring: the command is kept and retried after the next poll
/// (with its original intended time), so this thread never blocks on its own backlog.
/// Returns the commands completed and the time the last one completed.
fn drive(
    gw: &mut Gateway,
    sub: &mut Subscription,
    cmds: &[Command],
    rate: Option<u64>,
    start_ns: u64,
    latency: &mut LatencyRecorder,
) -> Result<(u64, u64), Box<dyn Error>> {
    let clock = gw.clock();
    let n = cmds.len() as u64;
    let (mut sent, mut done, mut last_ns) = (0u64, 0u64, start_ns);
    let mut batch: Vec<Output> = Vec::with_capacity(1 << 16);
    while clock.now_ns() < start_ns {
        std::hint::spin_loop();
    }
    while done < n {
        let now = clock.now_ns();
        let mut burst = 0;
        while sent < n && burst < 4096 {
            let intended = match rate {
                Some(r) => start_ns + (u128::from(sent) * 1_000_000_000 / u128::from(r)) as u64,
                None => now,
            };
            if intended > now {
                break;
            }
            match gw.submit_at(0, cmds[sent as usize], intended) {
                Ok(_) => {
                    sent += 1;
                    burst += 1;
                }
                Err(SubmitError::Full { .. }) => break,
                Err(e) => return Err(e.into()),
            }
        }
        batch.clear();
        if sub.poll(&mut batch) > 0 {
            let now = clock.now_ns();
            for o in batch.iter().filter(|o| o.last) {
                latency.record(now.saturating_sub(o.stamps.ingress_ns));
                done += 1;
            }
            last_ns = now;
        } else if sub.is_finished() {
            return Err(format!("pipeline stopped after {done} of {n} commands").into());
        } else {
            std::hint::spin_loop();
        }
    }
    Ok((done, last_ns))
}

fn run_one(args: &Args, topology: Topology, journal: JournalMode, rate: Option<u64>) -> Result<Run, Box<dyn Error>> {
    let commands = match rate {
        Some(r) => ((r as f64 * args.seconds) as usize).max(1_000),
        None => ((3_000_000.0 * args.seconds) as usize).min(6_000_000),
    };
    let workload = exchange_core_mix(42, commands);
    let tmp = tempfile::tempdir_in(args.dir.clone().unwrap_or_else(std::env::temp_dir))?;
    let mut config = PipelineConfig::new(vec![workload.spec.clone()]).topology(topology).risk(RiskConfig::permissive());
    config.order_capacity = workload.max_live_orders.max(1 << 12) * 2;
    config.subscriptions[0].capacity = 1 << 16;
    if let Some(wait) = args.wait {
        config = config.engine_wait(wait);
    }
    if args.pin {
        let cores = available_cores();
        config.risk_thread = config.risk_thread.pinned(1 % cores);
        config.matching_thread = config.matching_thread.pinned(2 % cores);
        core_affinity::set_for_current(core_affinity::CoreId { id: 0 });
    }
    // One thread sends and receives: it must never block on a full ring (see `drive`).
    config = config.gateway_ring(1 << 14, Backpressure::Reject);
    let jc = JournalConfig::new(tmp.path()).segment_size(256 << 20);
    config.journal = match journal {
        JournalMode::Off => None,
        JournalMode::NoFsync => Some(jc.fsync(FsyncPolicy::None)),
        JournalMode::BatchFsync => Some(jc),
        JournalMode::BackgroundFsync => {
            config = config.background_sync(Duration::from_millis(10));
            Some(jc)
        }
    };
    let (pipeline, handles) = Pipeline::start(config)?;
    let clock = pipeline.clock();
    let mut gw = handles.gateways.into_iter().next().ok_or("no gateway")?;
    let mut sub = handles.subscriptions.into_iter().next().ok_or("no subscription")?;

    // Warm-up (untimed): the workload's resting book, through the pipeline.
    let warmup = workload.warmup.clone();
    drive(&mut gw, &mut sub, &warmup, None, clock.now_ns(), &mut LatencyRecorder::new())?;

    // The measured run.
    let start_ns = clock.now_ns() + 1_000_000;
    let mut latency = LatencyRecorder::new();
    let (done, last_ns) = drive(&mut gw, &mut sub, &workload.commands, rate, start_ns, &mut latency)?;
    let elapsed = Duration::from_nanos(last_ns.saturating_sub(start_ns));
    let result = pipeline.shutdown()?;
    let name = match topology {
        Topology::Merged => "wintermute-pipeline",
        Topology::Split => "wintermute-pipeline-split",
    };
    Ok(Run {
        system: format!("{name}@{}/{}", rate_label(rate), journal.label()),
        offered: rate,
        ops_per_s: done as f64 / elapsed.as_secs_f64().max(1e-9),
        latency: latency.summary(),
        pipeline_e2e: result.stats.latency.end_to_end,
        full_events: result.stats.rings.iter().map(|r| r.full_events).sum(),
    })
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
            "{:<46} {:>12} {:>9} {:>9} {:>9} {:>10} {:>10} {:>8}",
            "system", "ops/s", "p50 ns", "p99 ns", "p99.9 ns", "max ns", "pipe p99", "full"
        );
    }
    for &topology in &args.topologies {
        for &journal in &args.journals {
            for &rate in &args.rates {
                let r = run_one(&args, topology, journal, rate)?;
                if !args.json {
                    let l = r.latency;
                    println!(
                        "{:<46} {:>12.0} {:>9} {:>9} {:>9} {:>10} {:>10} {:>8}",
                        r.system,
                        r.ops_per_s,
                        l.p50_ns,
                        l.p99_ns,
                        l.p999_ns,
                        l.max_ns,
                        r.pipeline_e2e.p99_ns,
                        r.full_events
                    );
                }
                runs.push(r);
            }
        }
    }
    if args.json {
        let results: Vec<_> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "system": r.system,
                    "offered_ops_per_s": r.offered,
                    "ops_per_s": r.ops_per_s.round(),
                    "p50_ns": r.latency.p50_ns,
                    "p99_ns": r.latency.p99_ns,
                    "p999_ns": r.latency.p999_ns,
                    "max_ns": r.latency.max_ns,
                })
            })
            .collect();
        let out =
            serde_json::json!({ "workload": "exchange_core_mix", "cores": available_cores(), "results": results });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

//! Open-loop load through the whole pipeline: one load thread offers the exchange-core command
//! mix at a constant rate and reads the subscription, measuring each command's end-to-end
//! latency. The logic behind `examples/pipeline_bench.rs` and `wintermute bench pipeline`.
//!
//! ```
//! use wintermute_bench::pipeline::{run, BenchConfig, JournalMode};
//!
//! let mut config = BenchConfig::new(Some(20_000), JournalMode::Off);
//! config.seconds = 0.05;
//! let result = run(&config).unwrap();
//! assert_eq!(result.system, "wintermute-pipeline@20k/no-journal");
//! assert_eq!(result.commands, 1_000); // at least 1,000 commands per run
//! assert!(result.latency.p50_ns <= result.latency.p99_ns);
//! ```
//!
//! # What is measured
//!
//! **Coordinated omission.** Command `i` is *meant* to be sent at `start + i / rate`; that
//! intended time is its ingress timestamp ([`Gateway::submit_at`]). When the pipeline falls
//! behind, the gateway ring fills, later commands go out late — and their latency counts from
//! when they should have gone, as a user's would. A rate of `None` (`max`) sends as fast as the
//! gateway accepts (ingress = actual submit time): a throughput test, not a latency one.
//!
//! Commands due together (a backlog, or `max`) go out as one batch of at most 4,096.
//!
//! **One load thread.** The same thread sends and reads the subscription (see `drive`), so
//! the merged topology runs on exactly two threads — one per core of a 2-core machine. The
//! split topology adds a third thread: on 2 cores it contends, and the numbers show it.
//!
//! **What the subscriber receives.** By default an execution feed: every order event
//! (accepted, trade, cancel, amend, rejection) and every non-event output, not the book's
//! level updates ([`wintermute_engine::pipeline::SubscriptionConfig::book_deltas`] off) — "command
//! enqueued -> execution event out", as exchange-core's results handler sees its trade events.
//! On the exchange-core mix that is 1.05 outputs per command instead of 2.88
//! ([`BenchResult::outputs_per_command`]).
//! [`BenchConfig::book_deltas`] adds the level updates (`wintermute-pipeline+deltas@…`): the
//! matching thread then writes, and the load thread reads, every output.
//!
//! **Latency** is measured at the subscriber: from the ingress timestamp to the moment the
//! load thread sees the command's last output in the subscription ring (so it includes the
//! output ring and the poll; the time is read after the ready outputs were counted, before
//! they are read in place). The pipeline's own end-to-end histogram (ingress to publication)
//! comes back too.
//!
//! **What is inside the measured window, and what is not.**
//!
//! | step | when | in the window |
//! |---|---|---|
//! | generating the command stream (`exchange_core_mix`, the whole run's commands, pre-generated like exchange-core's throughput test) | before the pipeline starts | no |
//! | starting the pipeline, warming it up with the workload's resting book | before `start` | no |
//! | submitting (in batches, [`Gateway::submit_batch_at`]: one handshake and one ring hand-over per batch), the engine's work, reading outputs in place ([`Subscription::read`]) and recording each latency into an HDR histogram | from `start` (1 ms after warm-up) to the last command's last output | yes: `ops_per_s` = commands / that time |
//! | shutting the pipeline down, removing the journal | after | no |
//!
//! The load thread is part of what is measured: its own cost per command (submit, read,
//! record) caps `max` as much as the engine's does, since both share a 2-core machine.
//!
//! **Checked.** Every output must belong to the command due next, every command must end with
//! exactly one `last` output, in submission order, and nothing may come after the last one
//! (checked once the pipeline stopped): a run that breaks this fails
//! ([`BenchError::OutOfOrder`], [`BenchError::ExtraOutputs`]).
//!
//! **Journal** ([`JournalMode`]): off, on without fsync (records reach the page cache through
//! the memory map), on with batched msync (every 1,000 records or 10 ms, on the matching
//! thread), or on with a background fdatasync every 10 ms.
//!
//! **Pinning** ([`BenchConfig::pin`]) pins the engine threads to cores 1, 2, ... (modulo the
//! core count) and runs the load on a thread of its own pinned to core 0 (the caller's
//! affinity is left alone).
//!
//! This module prints nothing: a [`BenchConfig`] goes in, a [`BenchResult`] comes out.

use std::path::PathBuf;
use std::time::Duration;

use crate::workload::exchange_core_mix;
use wintermute_core::Command;

use wintermute_engine::analytics::{LatencyRecorder, LatencySummary};
use wintermute_engine::journal::{FsyncPolicy, JournalConfig, RollStats};
use wintermute_engine::pipeline::config::WaitKind;
use wintermute_engine::pipeline::{
    available_cores, Backpressure, Gateway, Output, Pipeline, PipelineConfig, PipelineError, RiskConfig, SubmitError,
    Subscription, SubscriptionConfig, Topology,
};
use wintermute_engine::wait::WaitStrategy;

/// Why a benchmark run failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("bench config invalid: {why}")]
    Config { why: String },
    #[error("bench pipeline: {0}")]
    Pipeline(#[from] PipelineError),
    #[error("bench journal dir={}: {source}", dir.display())]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bench gateway: {0}")]
    Submit(#[from] SubmitError),
    #[error("bench pipeline stopped after {done} of {total} commands")]
    Stopped { done: u64, total: u64 },
    #[error("bench outputs out of order: got an output of command={got}, expected command={want}")]
    OutOfOrder { got: u64, want: u64 },
    #[error("bench got extra={extra} outputs after every command had its last one")]
    ExtraOutputs { extra: u64 },
}

/// How the journal runs during a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalMode {
    /// No journal.
    Off,
    /// Journal with `FsyncPolicy::None`.
    NoFsync,
    /// Journal with batched msync on the matching thread (1,000 records or 10 ms).
    BatchFsync,
    /// Journal with fdatasync every 10 ms on a background thread (`JournalSync::Background`).
    BackgroundFsync,
}

impl JournalMode {
    /// Parses `off`, `none`, `batch` or `bg`.
    pub fn parse(text: &str) -> Result<Self, BenchError> {
        match text.trim() {
            "off" => Ok(JournalMode::Off),
            "none" => Ok(JournalMode::NoFsync),
            "batch" => Ok(JournalMode::BatchFsync),
            "bg" => Ok(JournalMode::BackgroundFsync),
            j => Err(BenchError::Config { why: format!("journal={j:?}: expected off, none, batch or bg") }),
        }
    }

    /// The label in system names: `no-journal`, `journal`, `journal-fsync-batch`,
    /// `journal-fsync-bg`.
    pub fn label(self) -> &'static str {
        match self {
            JournalMode::Off => "no-journal",
            JournalMode::NoFsync => "journal",
            JournalMode::BatchFsync => "journal-fsync-batch",
            JournalMode::BackgroundFsync => "journal-fsync-bg",
        }
    }
}

/// Parses an offered rate: `max` (`None`), or a positive number with an optional `k` / `M`
/// suffix (`100k`, `1M`, `250000`).
pub fn parse_rate(text: &str) -> Result<Option<u64>, BenchError> {
    let s = text.trim().to_ascii_lowercase();
    if s == "max" {
        return Ok(None);
    }
    let bad = || BenchError::Config { why: format!("rate={text:?}: expected max or a positive number like 100k, 1M") };
    let (num, mul) = match s.strip_suffix('m') {
        Some(n) => (n, 1_000_000u64),
        None => s.strip_suffix('k').map_or((s.as_str(), 1), |n| (n, 1_000)),
    };
    // Integers only (no float round-trip): "1.5M" is written "1500k".
    let v: u64 = num.parse().map_err(|_| bad())?;
    match v.checked_mul(mul) {
        Some(r) if r > 0 => Ok(Some(r)),
        _ => Err(bad()),
    }
}

/// The label of a rate in system names: `max`, `1M`, `100k`, or the number.
pub fn rate_label(rate: Option<u64>) -> String {
    match rate {
        None => "max".into(),
        Some(r) if r >= 1_000_000 && r % 1_000_000 == 0 => format!("{}M", r / 1_000_000),
        Some(r) if r >= 1_000 && r % 1_000 == 0 => format!("{}k", r / 1_000),
        Some(r) => r.to_string(),
    }
}

/// One benchmark run.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Offered commands per second (`None`: as fast as the pipeline takes them).
    pub rate: Option<u64>,
    pub journal: JournalMode,
    /// Length of the measured run at the offered rate (at least 1,000 commands are sent;
    /// `max` sends `3,000,000 × seconds`, at most 6,000,000).
    pub seconds: f64,
    pub topology: Topology,
    /// Wait strategy of the engine threads (`None`: the machine's default).
    pub wait: Option<WaitStrategy>,
    /// Pin the calling thread to core 0 and the engine threads to the next cores.
    pub pin: bool,
    /// Where the journal goes: a fresh directory is made inside it and removed afterwards
    /// (`None`: the system's temporary directory).
    pub dir: Option<PathBuf>,
    /// Workload seed.
    pub seed: u64,
    /// The load thread's subscription takes the book deltas too (system name
    /// `wintermute-pipeline+deltas@…`); by default it is an execution feed (order events, no
    /// level updates: [`wintermute_engine::pipeline::SubscriptionConfig::book_deltas`]).
    pub book_deltas: bool,
    /// Bytes per journal segment (256 MiB by default: a segment rolls every ~3.7 s at 1 M/s).
    pub segment_size: u64,
    /// Segments prepared by the journal's roller thread (the default); `false`: the matching
    /// thread creates and unmaps them inside the append that rolls (system name
    /// `…/<journal>/inline-rolls`).
    pub prepare_segments: bool,
    /// Segments populated before they are written ([`JournalConfig::populate`]; the default
    /// is on, and the background fsync mode turns it off); `false` adds `/unpopulated` to the
    /// system name.
    pub populate: bool,
    /// Also summarize the latency of each window of this length, by intended send time
    /// ([`BenchResult::windows`]): on a machine whose cores are taken away now and then, it
    /// shows what the pipeline does between the gaps.
    pub window: Option<Duration>,
}

impl BenchConfig {
    /// 2 seconds, this machine's default topology and wait strategy, unpinned, seed 42.
    pub fn new(rate: Option<u64>, journal: JournalMode) -> Self {
        Self {
            rate,
            journal,
            seconds: 2.0,
            topology: Topology::for_cores(available_cores()),
            wait: None,
            pin: false,
            dir: None,
            seed: 42,
            book_deltas: false,
            segment_size: 256 << 20,
            prepare_segments: true,
            populate: true,
            window: None,
        }
    }

    /// `wintermute-pipeline@<rate>/<journal>` (merged topology) or
    /// `wintermute-pipeline-split@<rate>/<journal>`, with `+deltas` after the topology when
    /// the subscription takes book deltas.
    pub fn system(&self) -> String {
        let name = match self.topology {
            Topology::Merged => "wintermute-pipeline",
            Topology::Split => "wintermute-pipeline-split",
        };
        let deltas = if self.book_deltas { "+deltas" } else { "" };
        let journaled = self.journal != JournalMode::Off;
        let rolls = if self.prepare_segments || !journaled { "" } else { "/inline-rolls" };
        let populated = if self.populate || !journaled { "" } else { "/unpopulated" };
        format!("{name}{deltas}@{}/{}{rolls}{populated}", rate_label(self.rate), self.journal.label())
    }

    /// Sets the topology by name: `auto` (this machine's default, kept), `merged` or `split`.
    pub fn set_topology(&mut self, name: &str) -> Result<(), BenchError> {
        self.topology = match name {
            "auto" => self.topology,
            "merged" => Topology::Merged,
            "split" => Topology::Split,
            t => return Err(BenchError::Config { why: format!("topology={t:?}: expected auto, merged or split") }),
        };
        Ok(())
    }

    /// Sets the engine threads' wait strategy by name: `auto` (the pipeline's default) or one
    /// of [`WaitKind::NAMES`].
    pub fn set_wait(&mut self, name: &str) -> Result<(), BenchError> {
        self.wait = match (name, WaitKind::from_name(name)) {
            ("auto", _) => None,
            (_, Some(kind)) => Some(kind.strategy()),
            (w, None) => {
                let why = format!("wait={w:?}: expected auto, {}", WaitKind::NAMES.join(", "));
                return Err(BenchError::Config { why });
            }
        };
        Ok(())
    }

    fn command_count(&self) -> usize {
        match self.rate {
            Some(r) => ((r as f64 * self.seconds) as usize).max(1_000),
            None => ((3_000_000.0 * self.seconds) as usize).clamp(1_000, 6_000_000),
        }
    }
}

/// What one run measured (serialized with these field names for `wintermute bench pipeline`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BenchResult {
    /// See [`BenchConfig::system`].
    pub system: String,
    pub offered_ops_per_s: Option<u64>,
    /// Commands completed per second of the measured run.
    pub ops_per_s: f64,
    /// Commands in the measured run (all completed).
    pub commands: u64,
    /// Ingress (intended send time) to the subscriber reading the last output.
    pub latency: LatencySummary,
    /// The pipeline's own ingress-to-publication histogram (warm-up included).
    pub pipeline_end_to_end: LatencySummary,
    /// Full-ring events of every ring (backpressure met).
    pub full_events: u64,
    /// Outputs the subscription delivered per command of the measured run (about 1.05 on the
    /// execution feed, 2.88 with book deltas).
    pub outputs_per_command: f64,
    /// Engine threads that were pinned.
    pub pinned_threads: usize,
    /// Journal segment rolls during the run (warm-up included) and the longest of them on the
    /// matching thread (zeros without a journal).
    pub journal_rolls: RollStats,
    /// With [`BenchConfig::window`]: the latency of the commands sent in each window, in
    /// order (windows with fewer than [`MIN_WINDOW_COMMANDS`] commands left out).
    pub windows: Vec<LatencySummary>,
}

/// Fewest commands a window needs to be summarized (its p99.9 then rests on at least 10).
pub const MIN_WINDOW_COMMANDS: u64 = 10_000;

/// Most windows a run may be cut into ([`BenchConfig::window`]).
pub const MAX_WINDOWS: usize = 1_000;

/// Where the load loop's latencies go: the whole run, and optionally windows of it.
#[derive(Debug)]
struct Recording {
    all: LatencyRecorder,
    /// `(start_ns, width_ns, one recorder per window)`.
    windows: Option<(u64, u64, Vec<LatencyRecorder>)>,
}

impl Recording {
    /// `expected`: how long the run should take, to make its windows' recorders before it
    /// starts (making one zeroes a few hundred KB: in the middle of the run it would stall the
    /// load thread, and the commands due meanwhile would be late).
    fn new(start_ns: u64, window: Option<Duration>, expected: Duration) -> Self {
        let windows = window.map(|w| {
            let width = u64::try_from(w.as_nanos()).unwrap_or(u64::MAX).max(1);
            let count = (expected.as_nanos() / u128::from(width)).min(MAX_WINDOWS as u128) as usize + 2;
            (start_ns, width, (0..count).map(|_| LatencyRecorder::new()).collect())
        });
        Self { all: LatencyRecorder::new(), windows }
    }

    /// A command intended (or, at `max`, sent) at `ingress_ns` completed at `now_ns`.
    #[inline]
    fn record(&mut self, ingress_ns: u64, now_ns: u64) {
        let ns = now_ns.saturating_sub(ingress_ns);
        self.all.record(ns);
        if let Some((start, width, hists)) = &mut self.windows {
            let i = (ingress_ns.saturating_sub(*start) / *width) as usize;
            if hists.len() <= i {
                // A run longer than expected (`max` on a slow machine).
                hists.resize_with(i + 1, LatencyRecorder::new);
            }
            hists[i].record(ns);
        }
    }

    fn windows(&self) -> Vec<LatencySummary> {
        let Some((_, _, hists)) = &self.windows else { return Vec::new() };
        hists.iter().map(LatencyRecorder::summary).filter(|s| s.count >= MIN_WINDOW_COMMANDS).collect()
    }
}

/// Runs one benchmark (see the module docs). Blocks for about `seconds` plus set-up.
pub fn run(config: &BenchConfig) -> Result<BenchResult, BenchError> {
    if !(config.seconds.is_finite() && config.seconds > 0.0) {
        return Err(BenchError::Config { why: format!("seconds={}: must be positive", config.seconds) });
    }
    if let Some(w) = config.window {
        // Each window is an HDR histogram of about 200 KB.
        let windows = config.seconds / w.as_secs_f64().max(1e-9);
        if w < Duration::from_millis(1) || windows > MAX_WINDOWS as f64 {
            return Err(BenchError::Config {
                why: format!(
                    "window={w:?} over seconds={}: windows must be at least 1 ms, and at most {MAX_WINDOWS} of them",
                    config.seconds
                ),
            });
        }
    }
    let workload = exchange_core_mix(config.seed, config.command_count());
    let mut pipeline_config =
        PipelineConfig::new(vec![workload.spec.clone()]).topology(config.topology).risk(RiskConfig::permissive());
    pipeline_config.order_capacity = workload.max_live_orders.max(1 << 12) * 2;
    pipeline_config.subscriptions = vec![SubscriptionConfig { capacity: 1 << 16, book_deltas: config.book_deltas }];
    if let Some(wait) = config.wait {
        pipeline_config = pipeline_config.engine_wait(wait);
    }
    if config.pin {
        let cores = available_cores();
        pipeline_config.risk_thread = pipeline_config.risk_thread.pinned(1 % cores);
        pipeline_config.matching_thread = pipeline_config.matching_thread.pinned(2 % cores);
    }
    // One thread sends and receives: it must never block on a full ring (see `drive`).
    pipeline_config = pipeline_config.gateway_ring(1 << 14, Backpressure::Reject);
    let journal_dir = match config.journal {
        JournalMode::Off => None,
        _ => Some(JournalDir::new(config.dir.clone().unwrap_or_else(std::env::temp_dir))?),
    };
    if let Some(dir) = &journal_dir {
        let jc = JournalConfig::new(&dir.path)
            .segment_size(config.segment_size)
            .prepare_segments(config.prepare_segments)
            .populate(config.populate);
        pipeline_config.journal = Some(match config.journal {
            JournalMode::NoFsync => jc.fsync(FsyncPolicy::None),
            JournalMode::BackgroundFsync => {
                pipeline_config = pipeline_config.background_sync(Duration::from_millis(10));
                jc
            }
            _ => jc,
        });
    }
    let (pipeline, handles) = Pipeline::start(pipeline_config)?;
    let clock = pipeline.clock();
    let mut gateways = handles.gateways.into_iter();
    let mut subscriptions = handles.subscriptions.into_iter();
    let missing = || BenchError::Config { why: "the pipeline has no gateway or subscription".into() };
    let mut gw = gateways.next().ok_or_else(missing)?;
    let mut sub = subscriptions.next().ok_or_else(missing)?;

    let load = |gw: &mut Gateway, sub: &mut Subscription| {
        // Warm-up (untimed): the workload's resting book, through the pipeline.
        let now = clock.now_ns();
        drive(gw, sub, &workload.warmup, None, now, &mut Recording::new(now, None, Duration::ZERO))?;
        // The measured run.
        let mut latency = Recording::new(0, config.window, Duration::from_secs_f64(config.seconds));
        let start_ns = clock.now_ns() + 1_000_000;
        if let Some(w) = &mut latency.windows {
            w.0 = start_ns;
        }
        let run = drive(gw, sub, &workload.commands, config.rate, start_ns, &mut latency)?;
        Ok::<_, BenchError>((start_ns, run, latency))
    };
    let (start_ns, (done, outputs, last_ns), latency) = if config.pin {
        // On a thread of its own, pinned to core 0 once the engine threads run (they inherit
        // the affinity of the thread that starts them) and gone after the run: the caller's
        // affinity never changes.
        std::thread::scope(|s| {
            s.spawn(|| {
                core_affinity::set_for_current(core_affinity::CoreId { id: 0 });
                load(&mut gw, &mut sub)
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })?
    } else {
        load(&mut gw, &mut sub)?
    };
    let elapsed = Duration::from_nanos(last_ns.saturating_sub(start_ns));
    drop(gw);
    let result = pipeline.shutdown()?;
    // Every command is complete: nothing more may come.
    let extra = sub.read(usize::MAX, |_| {}) as u64;
    if extra > 0 {
        return Err(BenchError::ExtraOutputs { extra });
    }
    drop(journal_dir);
    Ok(BenchResult {
        system: config.system(),
        offered_ops_per_s: config.rate,
        ops_per_s: done as f64 / elapsed.as_secs_f64().max(1e-9),
        commands: done,
        latency: latency.all.summary(),
        pipeline_end_to_end: result.stats.latency.end_to_end,
        full_events: result.stats.rings.iter().map(|r| r.full_events).sum(),
        outputs_per_command: outputs as f64 / done.max(1) as f64,
        pinned_threads: result.stats.threads.iter().filter(|t| t.pinned).count(),
        journal_rolls: result.stats.journal_rolls,
        windows: latency.windows(),
    })
}

/// A fresh directory for one run's journal, removed when dropped.
struct JournalDir {
    path: PathBuf,
}

impl JournalDir {
    fn new(parent: PathBuf) -> Result<Self, BenchError> {
        let io = |source| BenchError::Io { dir: parent.clone(), source };
        std::fs::create_dir_all(&parent).map_err(io)?;
        for attempt in 0u32..1000 {
            let path = parent.join(format!("wm-pipeline-bench-{}-{attempt}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io(e)),
            }
        }
        Err(io(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "no free directory name")))
    }
}

impl Drop for JournalDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Spin-loop hints the load loop waits when the gateway ring was full and no output came.
const FULL_BACKOFF_SPINS: u32 = 64;

/// Most commands the load loop submits in one batch.
const MAX_BURST: u64 = 4096;

/// What the load loop checks of the outputs: every command has exactly one `last` output,
/// in submission order, and every output belongs to the command that is due next.
#[derive(Debug)]
struct Completion {
    /// The gateway number of the command whose outputs are expected next.
    next_seq: u64,
    /// Commands completed (their `last` output read).
    done: u64,
    /// Outputs read.
    outputs: u64,
    /// The first output that broke the rule: (its command number, the expected one).
    broken: Option<(u64, u64)>,
}

impl Completion {
    fn new(first_seq: u64) -> Self {
        Self { next_seq: first_seq, done: 0, outputs: 0, broken: None }
    }

    /// One output, read at `now_ns`.
    #[inline]
    fn output(&mut self, o: &Output, now_ns: u64, latency: &mut Recording) {
        self.outputs += 1;
        if o.command.seq != self.next_seq {
            self.broken.get_or_insert((o.command.seq, self.next_seq));
        }
        if o.last {
            latency.record(o.stamps.ingress_ns, now_ns);
            self.done += 1;
            self.next_seq += 1;
        }
    }

    fn check(&self) -> Result<(), BenchError> {
        match self.broken {
            None => Ok(()),
            Some((got, want)) => Err(BenchError::OutOfOrder { got, want }),
        }
    }
}

/// The load loop, on one thread (so that a 2-core machine has one core for it and one for
/// the engine): submits every command that is due — command `i` at `start_ns + i / rate`,
/// stamped with that intended time; all at once for `rate == None`, stamped when sent — and
/// reads the subscription in place, recording each command's latency when its last output
/// arrives. The gateway rejects on a full ring: the command is kept and retried after the
/// next read (with its original intended time), so this thread never blocks on its own
/// backlog. One clock read per round serves both the reads (it is taken after the outputs
/// to read were counted, so each latency ends after its output was published) and the sends.
/// Returns the commands completed, the outputs read and the time the last command completed.
fn drive(
    gw: &mut Gateway,
    sub: &mut Subscription,
    cmds: &[Command],
    rate: Option<u64>,
    start_ns: u64,
    latency: &mut Recording,
) -> Result<(u64, u64, u64), BenchError> {
    let clock = gw.clock();
    let n = cmds.len() as u64;
    let mut sent = 0u64;
    let mut last_ns = start_ns;
    let mut completion = Completion::new(gw.stats().submitted + 1);
    while clock.now_ns() < start_ns {
        std::hint::spin_loop();
    }
    // Command `i`'s intended send time (for `max`: none, it goes when there is room).
    let intended = |i: u64| -> u64 {
        let r = rate.unwrap_or(1);
        let offset = match i.checked_mul(1_000_000_000) {
            Some(x) => x / r,
            None => (u128::from(i) * 1_000_000_000 / u128::from(r)) as u64,
        };
        start_ns.saturating_add(offset)
    };
    let mut next_due = intended(0);
    while completion.done < n {
        // Send what is due, in one batch.
        let now = clock.now_ns();
        let mut due = 0;
        let mut full = false;
        if sent < n {
            let room = (n - sent).min(MAX_BURST) as usize;
            let from = sent as usize;
            let batch = &cmds[from..from + room];
            let accepted = match rate {
                None => gw.submit_batch_at(0, batch, |_| now)?,
                Some(_) => {
                    while due < room && next_due <= now {
                        due += 1;
                        next_due = intended(sent + due as u64);
                    }
                    let accepted = gw.submit_batch_at(0, &batch[..due], |i| intended(sent + i as u64))?;
                    if accepted < due {
                        // Sent later, still stamped with its intended time.
                        next_due = intended(sent + accepted as u64);
                    }
                    accepted
                }
            };
            full = accepted == 0 && (rate.is_none() || due > 0);
            sent += accepted as u64;
            due = accepted;
        }
        // Read what is there. The time is read after the outputs were counted, so each
        // latency ends after its output was published.
        let ready = sub.len();
        if ready > 0 {
            let now = clock.now_ns();
            sub.read(ready, |o| completion.output(o, now, latency));
            last_ns = now;
        } else if sub.is_finished() {
            return Err(BenchError::Stopped { done: completion.done, total: n });
        }
        if ready == 0 && due == 0 {
            // Nothing moved. With the gateway ring full the engine has thousands of commands
            // to run: back off longer, so that this thread's spinning takes as little as
            // possible from the engine's core (on 2-vCPU VMs the two may share a physical one).
            for _ in 0..if full { FULL_BACKOFF_SPINS } else { 1 } {
                std::hint::spin_loop();
            }
        }
    }
    completion.check()?;
    Ok((completion.done, completion.outputs, last_ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_exactly() {
        assert_eq!(parse_rate("max").unwrap(), None);
        assert_eq!(parse_rate("100k").unwrap(), Some(100_000));
        assert_eq!(parse_rate("1M").unwrap(), Some(1_000_000));
        assert_eq!(parse_rate(" 2500 ").unwrap(), Some(2_500));
        for bad in ["0", "-1k", "1.5M", "fast", "", "99999999999999999999M"] {
            assert!(parse_rate(bad).is_err(), "{bad:?}");
        }
        assert_eq!(rate_label(Some(1_000_000)), "1M");
        assert_eq!(rate_label(Some(100_000)), "100k");
        assert_eq!(rate_label(Some(1_500)), "1500");
    }

    #[test]
    fn topology_and_wait_names_set_the_config_or_name_the_bad_value() {
        let mut config = BenchConfig::new(None, JournalMode::Off);
        config.set_topology("split").unwrap();
        assert_eq!(config.topology, Topology::Split);
        config.set_topology("auto").unwrap();
        assert_eq!(config.topology, Topology::Split, "auto keeps what is set");
        config.set_wait("park").unwrap();
        assert!(config.wait.is_some());
        config.set_wait("auto").unwrap();
        assert!(config.wait.is_none());
        let err = config.set_topology("diagonal").unwrap_err().to_string();
        assert!(err.contains("topology=\"diagonal\""), "{err}");
        let err = config.set_wait("nap").unwrap_err().to_string();
        assert!(err.contains("wait=\"nap\"") && err.contains("park"), "{err}");
        assert_eq!(config.topology, Topology::Split, "a bad name changes nothing");
    }

    #[test]
    fn a_result_serializes_with_the_documented_keys() {
        let mut config = BenchConfig::new(Some(50_000), JournalMode::Off);
        config.seconds = 0.02;
        config.wait = Some(WaitStrategy::park(Duration::from_micros(50)));
        let r = run(&config).unwrap();
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["system"], r.system.as_str());
        assert_eq!(v["commands"], r.commands);
        assert_eq!(v["latency"]["p99_ns"], r.latency.p99_ns);
        assert_eq!(v["offered_ops_per_s"], 50_000);
        for key in ["ops_per_s", "pipeline_end_to_end", "full_events", "outputs_per_command", "pinned_threads"] {
            assert!(v.get(key).is_some(), "{key}");
        }
    }

    #[test]
    fn journal_modes_parse_and_label() {
        assert_eq!(JournalMode::parse("batch").unwrap().label(), "journal-fsync-batch");
        assert!(JournalMode::parse("sometimes").is_err());
    }

    #[test]
    fn a_journaled_run_completes_every_command_and_cleans_up() {
        let parent = std::env::temp_dir().join(format!("wm-bench-test-{}", std::process::id()));
        let mut config = BenchConfig::new(Some(50_000), JournalMode::NoFsync);
        config.seconds = 0.04;
        config.wait = Some(WaitStrategy::park(Duration::from_micros(50)));
        config.dir = Some(parent.clone());
        let r = run(&config).unwrap();
        assert_eq!(r.commands, 2_000);
        assert_eq!(r.system, format!("{}@50k/journal", config.system().split('@').next().unwrap()));
        assert!(r.latency.count == 2_000 && r.latency.max_ns >= r.latency.p999_ns);
        assert!(r.pipeline_end_to_end.count >= 2_000);
        assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0, "the run's journal dir is removed");
        std::fs::remove_dir_all(parent).unwrap();
    }

    #[test]
    fn completion_checks_one_last_output_per_command_in_order() {
        use wintermute_engine::pipeline::{CommandId, OutputKind, Stamps};
        let out = |seq: u64, last: bool| Output {
            command: CommandId { gateway: 0, seq },
            instrument: 0,
            journal_seq: seq,
            kind: OutputKind::NoEvents,
            last,
            stamps: Stamps { ingress_ns: 100, ..Stamps::default() },
        };
        let mut latency = Recording::new(0, None, Duration::ZERO);
        let mut c = Completion::new(5);
        for o in [out(5, false), out(5, true), out(6, true)] {
            c.output(&o, 350, &mut latency);
        }
        assert_eq!((c.done, c.next_seq), (2, 7));
        assert!(c.check().is_ok());
        assert_eq!(latency.all.len(), 2);
        assert_eq!(latency.all.summary().max_ns, 250);
        // A command skipped (8 before 7), or a second `last` of one command: refused.
        let mut skipped = Completion::new(7);
        skipped.output(&out(8, true), 0, &mut latency);
        assert!(matches!(skipped.check(), Err(BenchError::OutOfOrder { got: 8, want: 7 })));
        let mut twice = Completion::new(1);
        for o in [out(1, true), out(1, true)] {
            twice.output(&o, 0, &mut latency);
        }
        assert!(matches!(twice.check(), Err(BenchError::OutOfOrder { got: 1, want: 2 })));
    }

    #[test]
    fn windows_split_latencies_by_intended_time() {
        // Windows of 1 µs from t = 1,000 ns; one slow window.
        let mut r = Recording::new(1_000, Some(Duration::from_micros(1)), Duration::from_micros(2));
        for i in 0..3 * MIN_WINDOW_COMMANDS {
            let ingress = 1_000 + i % 3 * 1_000 + 1;
            let latency = if ingress / 1_000 == 2 { 9_000 } else { 300 };
            r.record(ingress, ingress + latency);
        }
        r.record(5_500, 5_600); // a window with too few commands: left out
        let w = r.windows();
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|s| s.count == MIN_WINDOW_COMMANDS));
        assert_eq!([w[0].max_ns, w[2].max_ns], [300, 300]);
        assert!((8_990..=9_010).contains(&w[1].p50_ns), "{:?}", w[1]);
        assert_eq!(r.all.len(), 3 * MIN_WINDOW_COMMANDS + 1);
        assert!(Recording::new(0, None, Duration::ZERO).windows().is_empty());
    }

    #[test]
    fn too_many_or_too_short_windows_are_refused() {
        for (seconds, window) in [(3.0, Duration::from_micros(500)), (20.0, Duration::from_millis(10))] {
            let config =
                BenchConfig { seconds, window: Some(window), ..BenchConfig::new(Some(1_000), JournalMode::Off) };
            let err = run(&config).unwrap_err();
            assert!(matches!(err, BenchError::Config { .. }), "{err}");
            assert!(err.to_string().contains("windows must be"), "{err}");
        }
    }

    #[test]
    fn bad_seconds_are_refused() {
        let mut config = BenchConfig::new(None, JournalMode::Off);
        config.seconds = 0.0;
        assert!(matches!(run(&config), Err(BenchError::Config { .. })));
    }
}

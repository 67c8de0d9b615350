//! The market maker's tick-to-order latency on our own venue, open loop: an external venue's
//! L2 message in -> its book updated -> fair value -> quote decided -> gateway -> risk -> the
//! order accepted by the matching engine and the acknowledgement read back by the market
//! maker. Behind `examples/mm_bench.rs` and `wintermute bench mm`.
//!
//! ```
//! use wintermute_bench::mm_latency::{run, MmBenchConfig};
//!
//! let mut config = MmBenchConfig::new(20_000);
//! config.seconds = 0.05;
//! config.jitter_seconds = 0.01;
//! let r = run(&config).unwrap();
//! assert_eq!(r.system, "wintermute-mm@20k");
//! assert!(r.tick_to_accept.count > 0 && r.tick_to_accept.p50_ns <= r.tick_to_accept.p99_ns);
//! assert!(r.fill_to_hedge.count > 0);
//! // Every message requotes (cancel and place on each side): the inventory limit never binds.
//! assert!(r.commands >= 3 * r.messages && r.cut_short == 0);
//! ```
//!
//! # What runs
//!
//! A pipeline with risk (merged topology: one engine thread) and the
//! [`LiveMarketMaker`](wintermute_mm::live::LiveMarketMaker) on the calling thread, trading
//! through a gateway of its own (account 1). Two external venues (coinbase and kraken, USD)
//! make the fair value: a seeded stream of L2 messages, each moving one venue's top by ±4
//! ticks (a new bid and ask level in, the old ones out: four level changes, one decision), so
//! that every message moves the fair value (the two venues' mean) by 2 ticks, past the
//! 1-tick requote threshold, and the
//! quoter cancels and replaces its bid and ask (fixed spread, one level a side: four commands
//! through risk). Every `fill_every` messages another account (gateway 1) sends a 2-lot market
//! order against our quotes, alternately buying and selling, and the hedger (threshold 1 lot)
//! decides a hedge on every other fill.
//!
//! The inventory limit (`max_inventory_lots`) is set far beyond what the run can reach, orders in
//! flight included: the quoter counts every cancel not yet answered at its open lots
//! ([`wintermute_mm::in_flight`]), so with a tight limit a backlog in the engine (a host whose
//! cores are busy) would cut the quotes short, and the bench would measure that throttle instead
//! of the quoting path.
//!
//! # What is measured
//!
//! **Coordinated omission.** Message `i` is *due* at `start + i / rate` (the pipeline clock);
//! each latency counts from then. The market maker's thread handles messages when due and
//! polls our venue in between; when it falls behind, later messages are handled late and their
//! latency shows it.
//!
//! | figure | from | to |
//! |---|---|---|
//! | `tick_to_accept` | a message's due time | the market maker reading the `Accepted` of a new quote it caused (each such quote is one sample) |
//! | `tick_to_submit` | a message's due time | its decision's commands are in the gateway ring (messages that sent something) |
//! | `fill_to_hedge` | the fill's match time in the engine | the hedge decided on the market maker's thread |
//!
//! **The host.** Right after the run, one thread spins reading the clock for
//! [`MmBenchConfig::jitter_seconds`] and counts the gaps between reads, as the runtime's
//! `host_gaps` does ([`HostJitter`]): on a shared VM the tails are the host's.
//!
//! **A strategy callback.** [`run_with`] calls a closure for each message before the decision,
//! inside the measured window: where a strategy written in Python would run, to measure that
//! path side by side with the built-in one.

use std::time::{Duration, Instant};

use wintermute_core::rng::SplitMix64;
use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};
use wintermute_engine::analytics::{LatencyRecorder, LatencySummary};
use wintermute_engine::pipeline::{Pipeline, PipelineConfig, PipelineError, RiskConfig, SubscriptionConfig, Topology};
use wintermute_engine::risk::AccountLimits;
use wintermute_engine::wait::WaitStrategy;
use wintermute_mm::config::PricingConfig;
use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
use wintermute_mm::execution::{ExecCommand, ExecEvent};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::hedger::HedgeConfig;
use wintermute_mm::live::{LiveConfig, LiveError, LiveMarketMaker};
use wintermute_mm::pricer::Pricer;
use wintermute_mm::types::VenueId;

use crate::pipeline::rate_label;

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum MmBenchError {
    #[error("mm bench config invalid: {why}")]
    Config { why: String },
    #[error("mm bench pipeline: {0}")]
    Pipeline(#[from] PipelineError),
    #[error("mm bench market maker: {0}")]
    Live(#[from] LiveError),
}

/// One run.
#[derive(Debug, Clone, PartialEq)]
pub struct MmBenchConfig {
    /// External L2 messages offered per second.
    pub rate: u64,
    /// Length of the measured run (after a warm-up of a fifth of it, at least 0.02 s).
    pub seconds: f64,
    /// A taker order against our quotes every this many messages (0: none).
    pub fill_every: u64,
    /// Seconds of the host-jitter measurement after the run (0: none).
    pub jitter_seconds: f64,
    /// The engine thread busy-spins (the default: a market maker wants its venue awake);
    /// `false`: the machine's default wait (on fewer than 4 cores it parks when idle, and
    /// each wake-up costs a scheduling round).
    pub busy_spin: bool,
    pub seed: u64,
}

impl MmBenchConfig {
    /// `rate` messages/s for 2 s, a taker every 20 messages, 1 s of host jitter, seed 42.
    pub fn new(rate: u64) -> Self {
        Self { rate, seconds: 2.0, fill_every: 20, jitter_seconds: 1.0, busy_spin: true, seed: 42 }
    }

    /// `wintermute-mm@<rate>` (`wintermute-mm@<rate>/park` without busy-spinning).
    pub fn system(&self) -> String {
        let wait = if self.busy_spin { "" } else { "/park" };
        format!("wintermute-mm@{}{wait}", rate_label(Some(self.rate)))
    }
}

/// How often the host took the CPU away from a spinning thread (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HostJitter {
    pub seconds: f64,
    /// Gaps of 10 µs or more between two clock reads, per second.
    pub gaps_over_10us_per_s: f64,
    /// Gaps of 100 µs or more, per second.
    pub gaps_over_100us_per_s: f64,
    pub longest_gap_ns: u64,
    /// Share of the time lost in gaps of 1 µs or more, percent.
    pub lost_percent: f64,
}

/// Spins one thread (this one) for `seconds`, reading the clock, and reports the gaps.
pub fn host_jitter(seconds: f64) -> HostJitter {
    let total = Duration::from_secs_f64(seconds.max(0.0));
    let start = Instant::now();
    let end = start + total;
    let (mut over_10, mut over_100, mut longest, mut lost) = (0u64, 0u64, Duration::ZERO, Duration::ZERO);
    let mut last = start;
    while last < end {
        let now = Instant::now();
        let gap = now - last;
        if gap >= Duration::from_micros(1) {
            lost += gap;
            over_10 += u64::from(gap >= Duration::from_micros(10));
            over_100 += u64::from(gap >= Duration::from_micros(100));
            longest = longest.max(gap);
        }
        last = now;
    }
    let s = total.as_secs_f64();
    if s == 0.0 {
        return HostJitter::default();
    }
    HostJitter {
        seconds: s,
        gaps_over_10us_per_s: over_10 as f64 / s,
        gaps_over_100us_per_s: over_100 as f64 / s,
        longest_gap_ns: u64::try_from(longest.as_nanos()).unwrap_or(u64::MAX),
        lost_percent: lost.as_secs_f64() / s * 100.0,
    }
}

/// What one run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct MmBenchResult {
    /// See [`MmBenchConfig::system`].
    pub system: String,
    pub offered_per_s: u64,
    /// Messages in the measured run.
    pub messages: u64,
    /// Commands the market maker sent in the measured run (cancels and places).
    pub commands: u64,
    /// Our fills in the measured run.
    pub fills: u64,
    /// Requotes in the measured run cut short by orders in flight
    /// ([`wintermute_mm::live::LiveCounters::cut_short`]); 0 while the bench measures the
    /// quoting path (see the module docs).
    pub cut_short: u64,
    pub tick_to_accept: LatencySummary,
    pub tick_to_submit: LatencySummary,
    pub fill_to_hedge: LatencySummary,
    /// The pipeline's own ingress-to-publication latency (warm-up included).
    pub pipeline_end_to_end: LatencySummary,
    pub host: HostJitter,
}

const PRICING: &str = r#"{
  "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"},
  "venues": [{"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 60000},
             {"name": "kraken", "symbol": "BTC/USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 60000}],
  "model": {"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 0.5},
  "volatility": {"fixed": {"sigma": 1.0}},
  "intensity": {"fixed": {"bid": {"a": 1.0, "k": 1.0}, "ask": {"a": 1.0, "k": 1.0}}},
  "quoting": {"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
              "max_spread_ticks": 100, "max_inventory_lots": 1000000, "inventory_unit_lots": 10,
              "requote_threshold_ticks": 1.0, "requote_interval_ms": 60000}
}"#;

const MM_ACCOUNT: u32 = 1;
const TAKER_ACCOUNT: u32 = 2;
/// Slots of the due-time table, by client id.
const ORIGINS: usize = 4_096;

/// One L2 message: a venue's top moves from `old` to `new` mid (2 ticks wide).
#[derive(Debug, Clone, Copy)]
struct Message {
    venue: u8,
    old_mid: i64,
    new_mid: i64,
}

fn messages(seed: u64, n: usize) -> Vec<Message> {
    let mut rng = SplitMix64::new(seed);
    let mut mids = [10_000_000i64; 2];
    (0..n)
        .map(|i| {
            let venue = (i % 2) as u8;
            let old_mid = mids[venue as usize];
            // A walk that leans back to the start, so the run stays in the price band.
            let lean = if old_mid > 10_000_000 { 45 } else { 55 };
            let step = if rng.range(0, 100) < lean { 4 } else { -4 };
            mids[venue as usize] = old_mid + step;
            Message { venue, old_mid, new_mid: old_mid + step }
        })
        .collect()
}

/// Runs the benchmark (see the module docs).
pub fn run(config: &MmBenchConfig) -> Result<MmBenchResult, MmBenchError> {
    run_with(config, &mut |_| {})
}

/// [`run`], calling `strategy(i)` for each message `i` before the market maker decides.
pub fn run_with(config: &MmBenchConfig, strategy: &mut dyn FnMut(u64)) -> Result<MmBenchResult, MmBenchError> {
    if config.rate == 0 || config.seconds.is_nan() || config.seconds <= 0.0 {
        return Err(MmBenchError::Config {
            why: format!("rate={} seconds={}: both must be positive", config.rate, config.seconds),
        });
    }
    let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.0001", 1, 1_000_000, 1, 1_000_000_000)
        .map_err(|e| MmBenchError::Config { why: e.to_string() })?;
    let risk = RiskConfig::permissive()
        .account(MM_ACCOUNT, AccountLimits::UNLIMITED)
        .account(TAKER_ACCOUNT, AccountLimits::UNLIMITED);
    let mut pc = PipelineConfig::new(vec![spec]).risk(risk).topology(Topology::Merged).gateways(2);
    pc.subscriptions = vec![SubscriptionConfig::new(1 << 16)];
    if config.busy_spin {
        pc = pc.engine_wait(WaitStrategy::BusySpin);
    }
    let (pipeline, mut handles) = Pipeline::start(pc)?;
    let mut taker = handles.gateways.pop().expect("two gateways");
    let gateway = handles.gateways.pop().expect("two gateways");
    let sub = handles.subscriptions.pop().expect("one subscription");
    let clock = gateway.clock();
    // Room for a backlog: when the market maker falls behind, cancels and places pile up.
    let venue_cfg = EngineVenueConfig {
        max_open: 4_096,
        max_in_flight: 16_384,
        ..EngineVenueConfig::new(MM_ACCOUNT, 0, FeeSchedule::default())
    };
    let venue = EngineVenue::new(venue_cfg, gateway, sub);
    let pricing = PricingConfig::from_json(PRICING).map_err(|e| MmBenchError::Config { why: e.to_string() })?;
    let pricer = Pricer::from_config(&pricing).map_err(|e| MmBenchError::Config { why: e.to_string() })?;
    let hedge = HedgeConfig::new(1, 0, 5, 60_000_000_000).map_err(|e| MmBenchError::Config { why: e.to_string() })?;
    let live = LiveConfig { hedge: Some(hedge), hedge_fees: vec![FeeSchedule::default(); 2], ..LiveConfig::default() };
    let mut mm = LiveMarketMaker::new(pricer, venue, &live);

    let warm = ((config.rate as f64 * config.seconds / 5.0) as usize).max((config.rate as f64 * 0.02) as usize);
    let measured = ((config.rate as f64 * config.seconds) as usize).max(100);
    let stream = messages(config.seed, warm + measured);
    let interval = 1e9 / config.rate as f64;

    let (mut accept, mut submit, mut hedge_rec) =
        (LatencyRecorder::new(), LatencyRecorder::new(), LatencyRecorder::new());
    let mut origins = vec![(u64::MAX, 0u64); ORIGINS];
    let (mut counters_at_warm, mut taker_id, mut last_hedges) = (mm.counters(), 1u64, 0u64);
    // Seed both venues' books before the clock starts.
    for v in 0..2u8 {
        let now = clock.now_ns() as i64;
        mm.on_levels(now, VenueId::External(v), &[(Side::Buy, 9_999_999, 5), (Side::Sell, 10_000_001, 5)])?;
    }
    let start = clock.now_ns() + 1_000_000;
    for (i, m) in stream.iter().enumerate() {
        let due = start + (i as f64 * interval) as u64;
        let recording = i >= warm;
        if i == warm {
            counters_at_warm = mm.counters();
        }
        // Poll our venue until the message is due.
        loop {
            let now = clock.now_ns();
            poll(&mut mm, now, recording, &mut origins, &mut accept, &mut hedge_rec, &mut last_hedges)?;
            if now >= due {
                break;
            }
        }
        strategy(i as u64);
        let now = clock.now_ns() as i64;
        let (o, n) = (m.old_mid, m.new_mid);
        let changes = [(Side::Buy, n - 1, 5), (Side::Sell, n + 1, 5), (Side::Buy, o - 1, 0), (Side::Sell, o + 1, 0)];
        // New levels first, then the old ones out (a level both old and new stays).
        let (first, second) = if n > o {
            ([changes[1], changes[3]], [changes[0], changes[2]])
        } else {
            ([changes[0], changes[2]], [changes[1], changes[3]])
        };
        let both = [first[0], first[1], second[0], second[1]];
        mm.on_levels(now, VenueId::External(m.venue), &both)?;
        if !mm.sent().is_empty() && recording {
            submit.record(clock.now_ns().saturating_sub(due));
        }
        for c in mm.sent() {
            if let ExecCommand::New(r) = c {
                origins[r.client_id as usize % ORIGINS] = (r.client_id, if recording { due } else { 0 });
            }
        }
        if config.fill_every > 0 && (i as u64).is_multiple_of(config.fill_every) {
            let side = if (i as u64 / config.fill_every).is_multiple_of(2) { Side::Buy } else { Side::Sell };
            taker_id += 1;
            // A full ring is no reason to stop the market maker: the taker skips this one.
            let _ = taker.submit(0, Command::New(NewOrder::market(taker_id, TAKER_ACCOUNT, side, 2)));
        }
    }
    // Read what is still in flight (1 s at most).
    let deadline = Instant::now() + Duration::from_secs(1);
    while mm.venue().in_flight() > 0 && Instant::now() < deadline {
        poll(&mut mm, clock.now_ns(), true, &mut origins, &mut accept, &mut hedge_rec, &mut last_hedges)?;
    }
    let end = mm.counters();
    drop(mm);
    drop(taker);
    let stats = pipeline.shutdown()?.stats;
    let host = if config.jitter_seconds > 0.0 { host_jitter(config.jitter_seconds) } else { HostJitter::default() };
    Ok(MmBenchResult {
        system: config.system(),
        offered_per_s: config.rate,
        messages: measured as u64,
        commands: end.commands - counters_at_warm.commands,
        fills: end.fills - counters_at_warm.fills,
        cut_short: end.cut_short - counters_at_warm.cut_short,
        tick_to_accept: accept.summary(),
        tick_to_submit: submit.summary(),
        fill_to_hedge: hedge_rec.summary(),
        pipeline_end_to_end: stats.latency.end_to_end,
        host,
    })
}

/// One poll of our venue: acknowledgements of quotes with a due time, and hedges decided.
#[allow(clippy::too_many_arguments)]
fn poll(
    mm: &mut LiveMarketMaker,
    now: u64,
    recording: bool,
    origins: &mut [(u64, u64)],
    accept: &mut LatencyRecorder,
    hedge: &mut LatencyRecorder,
    last_hedges: &mut u64,
) -> Result<(), LiveError> {
    if mm.poll(now as i64)? == 0 {
        return Ok(());
    }
    let read_at = mm.venue().clock_ns() as u64;
    let mut fill_ts = None;
    for e in mm.events().iter() {
        match *e {
            ExecEvent::Accepted { client_id, .. } => {
                let slot = &mut origins[client_id as usize % ORIGINS];
                if slot.0 == client_id && slot.1 > 0 {
                    accept.record(read_at.saturating_sub(slot.1));
                }
                if slot.0 == client_id {
                    *slot = (u64::MAX, 0);
                }
            }
            ExecEvent::Filled { fill, .. } => fill_ts = Some(fill.ts_ns),
            _ => {}
        }
    }
    let hedges = mm.counters().hedges;
    if let (true, Some(ts)) = (hedges > *last_hedges, fill_ts) {
        if recording {
            hedge.record((mm.last_hedge_clock_ns() - ts).max(0) as u64);
        }
    }
    *last_hedges = hedges;
    Ok(())
}

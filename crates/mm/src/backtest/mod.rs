//! A deterministic, event-driven backtester for market-making strategies.
//!
//! One configuration ([`BacktestConfig`], JSON or TOML on the Python side) names a market and a
//! market maker's pricing; [`run_json`] builds the market's tape, runs the
//! [`PricedMarketMaker`] over it and returns a [`BacktestResult`]:
//! a summary (PnL and its parts, fill ratio, markouts, inventory, uptime, a digest of the run)
//! and time series. Any [`Strategy`](crate::strategy::Strategy) can be run with [`run_strategy`],
//! and a strategy that decides in batches through a callback ([`crate::batched`], a Python
//! strategy) with [`run_batched`].
//!
//! Two markets:
//!
//! * **synthetic** ([`synthetic`]): external venues following one latent price, and our venue —
//!   the matching engine itself, with other participants — where our fills are the engine's own
//!   trades, exact;
//! * **recorded** ([`recorded`]): a venue's recording replayed through its book builder; we quote
//!   on that venue and are filled by the queue model of the simulated venue
//!   ([`crate::sim_venue::SimVenue`], the same one a live shadow runs).
//!
//! Latency: orders reach a venue `order_ms` after the decision; we see a venue's events after
//! its feed latency (per synthetic venue, `our_feed_ms` for our venue, and for a recording
//! either the recording's own exchange → receive delays or a constant). Fees: a maker/taker
//! schedule per venue, in parts per million of notional (negative = rebate), exact.
//!
//! The run is a pure function of the configuration and seed: [`Summary::digest`] folds every
//! event and fill, and the tests run each configuration twice and compare.
//!
//! ```
//! let config = r#"{
//!   "seed": 7,
//!   "market": {"kind": "synthetic", "duration_s": 2.0,
//!              "venues": [{"name": "binance", "spread_ticks": 2}, {"name": "kraken", "spread_ticks": 3}]},
//!   "pricing": {
//!     "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.1", "lot_size": "0.0001"},
//!     "venues": [{"name": "binance", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000},
//!                {"name": "kraken", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}],
//!     "model": {"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 0.5},
//!     "volatility": {"fixed": {"sigma": 2.0}},
//!     "intensity": {"fixed": {"bid": {"a": 1.0, "k": 0.3}, "ask": {"a": 1.0, "k": 0.3}}},
//!     "quoting": {"levels": 1, "sizes_lots": [2], "level_spacing_ticks": 1, "min_spread_ticks": 2,
//!                 "max_spread_ticks": 200, "max_inventory_lots": 20, "inventory_unit_lots": 2,
//!                 "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}}
//! }"#;
//! let a = wintermute_mm::backtest::run_json(config, None).unwrap();
//! let b = wintermute_mm::backtest::run_json(config, None).unwrap();
//! assert_eq!(a.summary.digest, b.summary.digest);
//! assert!(a.summary.md_events > 1_000);
//! ```

pub mod config;
pub mod error;
pub mod our_venue;
pub mod queue_truth;
pub mod record;
pub mod recorded;
pub mod simulator;
pub mod synthetic;
pub mod tape;
pub mod volume_window;

use std::sync::atomic::AtomicU64;
use std::time::Instant;

use serde::Serialize;

pub use config::{BacktestConfig, Built, MarketConfig};
pub use error::BacktestError;
use record::{FillCalibration, FillRecord, QueueError, Series};
use simulator::{Recorded, Sim, Timing};
use tape::Tape;

use crate::batched::{BatchSink, BatchStats, BatchedStrategy};
use crate::interlock::{Interlock, InterlockConfig, InterlockStats, PullCause, CAUSES};
use crate::metrics::markouts::{MarkoutReference, Markouts, RunningStats};
use crate::priced_market_maker::{HedgeRule, PricedMarketMaker};
use crate::strategy::Strategy;
use crate::types::{Money, VenueId, MONEY_SCALE};

/// PnL and its parts, in the quote currency (display values; the exact integers are in
/// [`Summary::pnl_exact`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pnl {
    /// Total (= the sum of the four parts).
    pub total: f64,
    /// Spread captured by maker fills.
    pub spread: f64,
    /// Inventory mark-to-market.
    pub mtm: f64,
    /// Fees paid (negative) and rebates received (positive).
    pub fees: f64,
    /// Hedge slippage against the mark.
    pub hedge: f64,
}

/// The exact PnL parts in money units (tick·lot / 10^6), as decimal strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PnlExact {
    /// Total.
    pub total: String,
    /// Spread capture.
    pub spread: String,
    /// Mark-to-market.
    pub mtm: String,
    /// Fees and rebates.
    pub fees: String,
    /// Hedge slippage.
    pub hedge: String,
}

/// The summary of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Seed.
    pub seed: u64,
    /// The market (`synthetic` or `venue:symbol`).
    pub market: String,
    /// The quote model.
    pub model: String,
    /// Where we quoted (several venues: their names in `quote_on`'s order, `, ` between).
    pub quote_venue: String,
    /// Simulated seconds.
    pub sim_seconds: f64,
    /// Market-data (L2 and trade) events replayed.
    pub md_events: u64,
    /// Events handled by the loop (each tape event twice: at the venue and as seen by us).
    pub loop_events: u64,
    /// Seconds spent building the tape (parsing, generating).
    pub tape_seconds: f64,
    /// Seconds spent in the event loop.
    pub loop_seconds: f64,
    /// Market-data events per second of event loop.
    pub md_events_per_s: f64,
    /// Hex FNV-1a digest of every event and fill.
    pub digest: String,
    /// PnL and parts, quote currency.
    pub pnl: Pnl,
    /// PnL and parts, exact.
    pub pnl_exact: PnlExact,
    /// Fills after which the parts did not add up to the total (0).
    pub identity_breaks: u64,
    /// Our fills.
    pub fills: u64,
    /// Orders sent.
    pub orders: u64,
    /// Amends sent.
    pub amends: u64,
    /// Cancels sent.
    pub cancels: u64,
    /// Orders that left without a fill of their own accord (rejected post-only, IOC unfilled).
    pub rejects: u64,
    /// Lots quoted.
    pub quoted_lots: i64,
    /// Lots filled as maker.
    pub maker_lots: i64,
    /// Lots filled as taker (hedges).
    pub taker_lots: i64,
    /// Maker lots filled / lots quoted.
    pub fill_ratio: f64,
    /// Fills / orders.
    pub fills_per_order: f64,
    /// Largest |inventory|, lots.
    pub max_inventory_lots: i64,
    /// Inventory at the end, lots.
    pub final_inventory_lots: i64,
    /// Share of samples with a two-sided quote working.
    pub uptime: f64,
    /// Share of samples with our bid or ask at the venue's touch.
    pub time_at_touch: f64,
    /// Markouts per horizon against the mid of the venue each fill was on (every quote
    /// venue's fills together).
    pub markouts: Vec<Markout>,
    /// Markouts per horizon against the strategy's fair value (observed at every sample).
    pub markouts_fair: Vec<Markout>,
    /// Fill-horizon pairs left out of the markouts because too many fills were pending.
    pub markouts_dropped: u64,
    /// Each quote venue's own markouts (its fills against its mid and the fair value), in
    /// `quote_on`'s order.
    pub markouts_by_venue: Vec<VenueMarkouts>,
    /// Decisions that pulled every quote for want of a usable fair value (the interlock's pulls,
    /// by cause, are in `interlock`).
    pub pulls: u64,
    /// Requotes.
    pub requotes: u64,
    /// Mean lots ahead of our order at placement, over maker fills.
    pub queue_ahead_mean_lots: f64,
    /// Trades on our venue (all participants).
    pub venue_trades: u64,
    /// The L2 queue estimators' error against our venue's true FIFO queue, per model (empty
    /// unless we quoted on our venue; [`queue_truth`]).
    pub queue_error: Vec<QueueError>,
    /// The queue models' fill-probability calibration per decile on our venue's true queue
    /// (empty unless we quoted on our venue; [`queue_truth`]).
    pub fill_calibration: Vec<FillCalibration>,
    /// The book-health interlock's counters, when one ran.
    pub interlock: Option<InterlockSummary>,
    /// A batched strategy's batches ([`run_batched`]; `None` for the built-in market maker).
    pub batching: Option<BatchingSummary>,
}

/// How a batched strategy's events were handed over.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatchingSummary {
    /// Batches (calls of the callback).
    pub batches: u64,
    /// Events handed over.
    pub events: u64,
    /// Commands the callback sent.
    pub commands: u64,
    /// Events per batch, mean.
    pub mean_events: f64,
    /// The largest batch, events.
    pub largest: u64,
}

impl From<BatchStats> for BatchingSummary {
    fn from(s: BatchStats) -> Self {
        let mean_events = if s.batches > 0 { s.events as f64 / s.batches as f64 } else { 0.0 };
        BatchingSummary { batches: s.batches, events: s.events, commands: s.commands, mean_events, largest: s.largest }
    }
}

/// The interlock's counters, by cause name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterlockSummary {
    /// Pulls each cause triggered.
    pub pulls: std::collections::BTreeMap<String, u64>,
    /// Times each cause became active.
    pub raised: std::collections::BTreeMap<String, u64>,
    /// Returns.
    pub returns: u64,
    /// Share of the time quoting was allowed.
    pub uptime: f64,
}

impl From<InterlockStats> for InterlockSummary {
    fn from(s: InterlockStats) -> Self {
        let by =
            |counts: [u64; CAUSES]| PullCause::ALL.iter().map(|&c| (format!("{c:?}"), counts[c as usize])).collect();
        InterlockSummary { pulls: by(s.pulls), raised: by(s.raised), returns: s.returns, uptime: s.uptime() }
    }
}

/// Markouts of our maker fills at one horizon against one reference (`d·(x(t+h) − p)/p` in
/// bps; [`crate::metrics::markouts`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Markout {
    /// Horizon, ms.
    pub horizon_ms: i64,
    /// Fills measured (those whose horizon ended before the run did).
    pub n: u64,
    /// Mean, bps (0 without fills).
    pub mean_bps: f64,
    /// Half width of the 95% confidence interval of the mean (1.96·sd/√n), bps (0 under two
    /// fills).
    pub ci95_bps: f64,
}

/// One quote venue's markouts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueMarkouts {
    /// The venue (`ours` or its name).
    pub venue: String,
    /// Its fills against its own mid, per horizon.
    pub markouts: Vec<Markout>,
    /// Its fills against the fair value, per horizon.
    pub markouts_fair: Vec<Markout>,
}

/// The markouts of every horizon against `reference`, every one of `venues`' fills together.
fn markout_rows(venues: &[Markouts], reference: MarkoutReference) -> Vec<Markout> {
    let Some(first) = venues.first() else { return Vec::new() };
    first
        .horizons_ns()
        .iter()
        .enumerate()
        .map(|(i, &h)| {
            let mut all = RunningStats::default();
            for m in venues {
                all.merge(&m.stats(i, reference).unwrap_or_default());
            }
            let s = all.summary();
            Markout {
                horizon_ms: h / 1_000_000,
                n: s.count,
                mean_bps: s.mean_bps.unwrap_or(0.0),
                ci95_bps: s.ci95_half_width_bps.unwrap_or(0.0),
            }
        })
        .collect()
}

/// A finished backtest.
#[derive(Debug, Clone)]
pub struct BacktestResult {
    /// The summary.
    pub summary: Summary,
    /// Sampled series.
    pub series: Series,
    /// Every fill.
    pub fills: Vec<FillRecord>,
    /// Tick size and lot size as numbers (for display).
    pub grid: (f64, f64),
}

impl BacktestResult {
    /// The summary as JSON.
    pub fn summary_json(&self) -> String {
        serde_json::to_string_pretty(&self.summary).unwrap_or_default()
    }

    /// Series and fills as named columns of floats (prices in the quote currency, spreads in
    /// ticks, money in the quote currency, times in seconds from the start).
    pub fn columns(&self) -> Vec<(&'static str, Vec<f64>)> {
        let (tick, lot) = self.grid;
        let s = &self.series;
        let t0 = s.ts_ns.first().copied().unwrap_or(0);
        let secs = |v: &[i64]| v.iter().map(|&t| (t - t0) as f64 / 1e9).collect();
        let money = |v: &[i128]| v.iter().map(|&m| money_f64(m, self.grid)).collect();
        let f = &self.fills;
        vec![
            ("t", secs(&s.ts_ns)),
            ("mid", s.mark2.iter().map(|&m| m as f64 * tick / 2.0).collect()),
            ("inventory", s.inventory.iter().map(|&q| q as f64 * lot).collect()),
            ("pnl", money(&s.pnl)),
            ("spread", money(&s.spread)),
            ("mtm", money(&s.mtm)),
            ("fees", money(&s.fees)),
            ("hedge", money(&s.hedge)),
            ("quoted_spread_ticks", s.quoted_spread.iter().map(|&x| x as f64).collect()),
            ("market_spread_ticks", s.market_spread.iter().map(|&x| x as f64).collect()),
            ("fill_t", f.iter().map(|r| (r.fill.ts_ns - t0) as f64 / 1e9).collect()),
            ("fill_side", f.iter().map(|r| if r.fill.side == crate::types::Side::Buy { 1.0 } else { -1.0 }).collect()),
            ("fill_price", f.iter().map(|r| r.fill.price as f64 * tick).collect()),
            ("fill_qty", f.iter().map(|r| r.fill.qty as f64 * lot).collect()),
            (
                "fill_maker",
                f.iter().map(|r| (r.fill.liquidity == crate::types::Liquidity::Maker) as u8 as f64).collect(),
            ),
            ("fill_fee", f.iter().map(|r| money_f64(r.fill.fee, self.grid)).collect()),
            ("fill_queue_ahead", f.iter().map(|r| r.queue_ahead as f64 * lot).collect()),
        ]
    }
}

fn money_f64(m: Money, (tick, lot): (f64, f64)) -> f64 {
    m as f64 / MONEY_SCALE as f64 * tick * lot
}

/// Runs the market maker on the configuration `json`; `progress` (if any) receives the
/// fraction of simulated time done, in millionths.
pub fn run_json(json: &str, progress: Option<&AtomicU64>) -> Result<BacktestResult, BacktestError> {
    run(&BacktestConfig::from_json(json)?, progress)
}

/// Runs the market maker on `cfg`.
pub fn run(cfg: &BacktestConfig, progress: Option<&AtomicU64>) -> Result<BacktestResult, BacktestError> {
    let built = cfg.build()?;
    let end_ns = built.timing.end_ns;
    let mut mm = market_maker(cfg, &built)?;
    let mut result = run_strategy(cfg, built, &mut mm, progress);
    result.summary.pulls = mm.pulls();
    result.summary.requotes = mm.requotes();
    result.summary.interlock = mm.interlock_stats(end_ns).map(InterlockSummary::from);
    Ok(result)
}

/// The built-in market maker of `cfg` (its pricing, hedge and interlock) for the market `built`.
pub fn market_maker(cfg: &BacktestConfig, built: &Built) -> Result<PricedMarketMaker, BacktestError> {
    let pricing = cfg.pricing_config(&built.tape.venues)?;
    let hedge = built.hedge_venue.filter(|_| cfg.hedge_threshold_lots > 0).map(|venue| HedgeRule {
        venue,
        threshold_lots: cfg.hedge_threshold_lots,
        slippage_ticks: cfg.hedge_slippage_ticks,
    });
    let mut mm = PricedMarketMaker::on_venues(&pricing, &built.quote_venues, hedge)
        .map_err(|e| BacktestError::Config { field: "pricing", why: e.to_string() })?;
    if let Some(i) = cfg.interlock {
        let ic = InterlockConfig {
            venues: pricing.venues.len(),
            stale_after_ns: (i.stale_after_ms * 1e6) as i64,
            cross_threshold_ticks: i.cross_threshold_ticks,
        };
        let lock = Interlock::new(ic, built.timing.start_ns)
            .map_err(|e| BacktestError::Config { field: "interlock", why: e.to_string() })?;
        mm = mm.with_interlock(lock);
    }
    Ok(mm)
}

/// Runs a batched strategy (a callback sink, [`crate::batched`]) on `cfg`'s market; `label`
/// names it in the summary's `model`. The run ends early if the strategy halts: read
/// [`BatchedStrategy::failure`] afterwards.
pub fn run_batched<K: BatchSink>(
    cfg: &BacktestConfig,
    strategy: &mut BatchedStrategy<K>,
    label: &str,
    progress: Option<&AtomicU64>,
) -> Result<BacktestResult, BacktestError> {
    let built = cfg.build()?;
    let mut result = run_strategy(cfg, built, strategy, progress);
    result.summary.model = label.to_string();
    result.summary.batching = Some(strategy.stats().into());
    Ok(result)
}

/// Runs any strategy on a built market.
pub fn run_strategy<S: Strategy>(
    cfg: &BacktestConfig,
    built: Built,
    strategy: &mut S,
    progress: Option<&AtomicU64>,
) -> BacktestResult {
    let quote_venues = built.quote_venues;
    let timing = built.timing;
    let markout_ns: Vec<i64> = cfg.markout_ms.iter().map(|&ms| ms.saturating_mul(1_000_000)).collect();
    let sim = Sim::new(&built.tape, built.external, built.ours, quote_venues.clone(), timing, &markout_ns);
    let started = Instant::now();
    let rec = sim.run(strategy, progress);
    let loop_seconds = started.elapsed().as_secs_f64();
    summarize(cfg, &built.tape, rec, &quote_venues, timing, built.tape_seconds, loop_seconds, built.grid)
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    cfg: &BacktestConfig,
    tape: &Tape,
    rec: Recorded,
    quote_venues: &[VenueId],
    timing: Timing,
    tape_seconds: f64,
    loop_seconds: f64,
    grid: (f64, f64),
) -> BacktestResult {
    let c = rec.counters;
    let l = rec.ledger;
    let parts = l.parts();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let maker: Vec<&FillRecord> =
        rec.fills.iter().filter(|f| f.fill.liquidity == crate::types::Liquidity::Maker).collect();
    let summary = Summary {
        seed: cfg.seed,
        market: cfg.market.name(),
        model: cfg.model_name(),
        quote_venue: quote_venues.iter().map(|&v| venue_label(v, &tape.venues)).collect::<Vec<_>>().join(", "),
        sim_seconds: (timing.end_ns - timing.start_ns) as f64 / 1e9,
        md_events: c.md_events,
        loop_events: c.loop_events,
        tape_seconds,
        loop_seconds,
        md_events_per_s: ratio(c.md_events as f64, loop_seconds),
        digest: format!("{:016x}", rec.digest),
        pnl: Pnl {
            total: money_f64(l.total(), grid),
            spread: money_f64(parts.spread_capture, grid),
            mtm: money_f64(parts.inventory_mtm, grid),
            fees: money_f64(parts.fees, grid),
            hedge: money_f64(parts.hedge_slippage, grid),
        },
        pnl_exact: PnlExact {
            total: l.total().to_string(),
            spread: parts.spread_capture.to_string(),
            mtm: parts.inventory_mtm.to_string(),
            fees: parts.fees.to_string(),
            hedge: parts.hedge_slippage.to_string(),
        },
        identity_breaks: rec.identity_breaks,
        fills: c.fills,
        orders: c.orders,
        amends: c.amends,
        cancels: c.cancels,
        rejects: c.rejects,
        quoted_lots: c.quoted_lots,
        maker_lots: c.maker_lots,
        taker_lots: c.taker_lots,
        fill_ratio: ratio(c.maker_lots as f64, c.quoted_lots as f64),
        fills_per_order: ratio(c.fills as f64, c.orders as f64),
        max_inventory_lots: rec.max_inventory,
        final_inventory_lots: l.position(),
        uptime: ratio(c.two_sided_samples as f64, c.samples as f64),
        time_at_touch: ratio(c.at_touch_samples as f64, c.samples as f64),
        markouts: markout_rows(&rec.markouts, MarkoutReference::Mid),
        markouts_fair: markout_rows(&rec.markouts, MarkoutReference::Fair),
        markouts_dropped: rec.markouts.iter().map(Markouts::dropped).sum(),
        markouts_by_venue: quote_venues
            .iter()
            .zip(&rec.markouts)
            .map(|(&v, m)| VenueMarkouts {
                venue: venue_label(v, &tape.venues),
                markouts: markout_rows(std::slice::from_ref(m), MarkoutReference::Mid),
                markouts_fair: markout_rows(std::slice::from_ref(m), MarkoutReference::Fair),
            })
            .collect(),
        queue_error: rec.queue_error.clone(),
        fill_calibration: rec.fill_calibration.clone(),
        pulls: 0,
        requotes: 0,
        queue_ahead_mean_lots: ratio(maker.iter().map(|f| f.queue_ahead as f64).sum(), maker.len() as f64),
        venue_trades: c.participant_trades,
        interlock: None,
        batching: None,
    };
    BacktestResult { summary, series: rec.series, fills: rec.fills, grid }
}

/// A venue's label: `ours` or the external venue's name.
pub fn venue_label(venue: VenueId, names: &[String]) -> String {
    match venue {
        VenueId::Ours => "ours".into(),
        VenueId::External(v) => names.get(v as usize).cloned().unwrap_or_else(|| format!("external:{v}")),
    }
}

//! The backtest configuration: which market, which strategy, latencies, fees, sampling.
//!
//! Every field is checked before anything runs; a bad value is a
//! [`BacktestError::Config`](super::error::BacktestError) naming the field.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use wintermute_core::decimal::Decimal;
use wintermute_feeds::Venue;

use super::error::BacktestError;
use super::our_venue::{Latent, OurVenue};
use super::recorded::{self, RecordedLatency};
use super::simulator::Timing;
use super::synthetic::{self, SyntheticConfig};
use super::tape::Tape;
use crate::config::PricingConfig;
use crate::fees::FeeSchedule;
use crate::queue::QueueModel;
use crate::sim_venue::{SimVenue, SimVenueConfig};
use crate::types::VenueId;

/// Which market to replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MarketConfig {
    /// The seeded synthetic market (our venue plus external venues).
    Synthetic(SyntheticConfig),
    /// A recording of one venue.
    Recorded(RecordedConfig),
}

/// A recording of one venue's book for one symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedConfig {
    /// The recording file (or `recordings`: exactly one of the two).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Several recordings of the venue (a book recording and a trades recording, say), merged
    /// by receive time ([`recorded::merged_records`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recordings: Vec<PathBuf>,
    /// `binance`, `coinbase` or `kraken`.
    pub venue: String,
    /// The symbol as the venue writes it.
    pub symbol: String,
    /// Tick size (decimal text).
    pub tick_size: String,
    /// Lot size (decimal text).
    pub lot_size: String,
    /// Feed latency in ms, or absent to use the recording's own receive times.
    #[serde(default)]
    pub feed_latency_ms: Option<f64>,
}

/// The book-health interlock ([`crate::interlock`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterlockSettings {
    /// A reference venue whose top has not changed for this long is stale, ms.
    pub stale_after_ms: f64,
    /// Pull when one venue's bid is above another's ask by more than this, ticks.
    pub cross_threshold_ticks: i64,
}

/// Latencies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyConfig {
    /// Decision → order at the venue, ms.
    pub order_ms: f64,
    /// Our venue → us, ms.
    pub our_feed_ms: f64,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        LatencyConfig { order_ms: 1.0, our_feed_ms: 1.0 }
    }
}

/// One venue's fee rates, parts per million of notional (negative: a rebate); checked by
/// [`FeeSchedule::new`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeConfig {
    /// Resting (maker) fills.
    pub maker_ppm: i64,
    /// Taking (taker) fills.
    pub taker_ppm: i64,
}

/// A whole backtest (see the module docs of [`crate::backtest`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    /// Seed of everything random.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The market.
    pub market: MarketConfig,
    /// The market maker's pricing configuration ([`crate::config::PricingConfig`], run by
    /// [`crate::priced_market_maker`]); its venues must be the market's external venues, in
    /// order. Required by the built-in market maker; a batched strategy may do without.
    #[serde(default)]
    pub pricing: serde_json::Value,
    /// A Python strategy's own settings (`{class = "module:Class", max_batch = N, ...}`): read by
    /// `wintermute.mm`, which runs that strategy instead of the built-in market maker; the
    /// backtester itself never reads it.
    #[serde(default)]
    pub strategy: Option<serde_json::Value>,
    /// Hedge once |inventory| exceeds this many lots on `hedge_on` (0: never).
    #[serde(default)]
    pub hedge_threshold_lots: i64,
    /// A hedge's worst price, ticks through the hedge venue's touch.
    #[serde(default = "default_slippage")]
    pub hedge_slippage_ticks: i64,
    /// Where to quote: `ours`, an external venue's name, or a list of external venues' names
    /// (a ladder on each, off the one fair value and inventory); default: `ours` on a
    /// synthetic market, the recorded venue on a recording.
    #[serde(default)]
    pub quote_on: Option<QuoteOn>,
    /// Where to hedge (an external venue's name; default: none).
    #[serde(default)]
    pub hedge_on: Option<String>,
    /// Latencies.
    #[serde(default)]
    pub latency: LatencyConfig,
    /// Fees per venue name (`ours` for our venue); absent venues pay nothing.
    #[serde(default)]
    pub fees: BTreeMap<String, FeeConfig>,
    /// Strategy timer period, ms (0: none).
    #[serde(default = "default_timer")]
    pub timer_ms: i64,
    /// Metrics sampling period, ms.
    #[serde(default = "default_timer")]
    pub sample_ms: i64,
    /// Markout horizons, ms.
    #[serde(default = "default_markouts")]
    pub markout_ms: Vec<i64>,
    /// The book-health interlock over the pricing venues (absent: none).
    #[serde(default)]
    pub interlock: Option<InterlockSettings>,
    /// The horizon of the fill-probability predictions on our venue, ms (default 1000; at most
    /// the 10-second volume window).
    #[serde(default = "default_fill_horizon")]
    pub fill_horizon_ms: i64,
    /// Queue-position model on L2 venues: `risk_averse` (default), `log`, or `power:N`.
    #[serde(default = "default_queue_model")]
    pub queue_model: String,
    /// Tick and lot size of the synthetic market's instrument (for display in the quote
    /// currency; recordings give their own).
    #[serde(default)]
    pub grid: Option<(String, String)>,
}

/// `quote_on`: one venue's name, or a list of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum QuoteOn {
    /// One venue (`"ours"` or an external venue).
    One(String),
    /// Several external venues (a list of one is the same as its string).
    Many(Vec<String>),
}

/// The field an error in `quote_on`'s entry `k` names (`quote_on[k]`, as the live config's
/// errors do; past the table, plain `quote_on`).
fn quote_on_key(k: usize, list: bool) -> &'static str {
    const KEYS: [&str; 16] = [
        "quote_on[0]",
        "quote_on[1]",
        "quote_on[2]",
        "quote_on[3]",
        "quote_on[4]",
        "quote_on[5]",
        "quote_on[6]",
        "quote_on[7]",
        "quote_on[8]",
        "quote_on[9]",
        "quote_on[10]",
        "quote_on[11]",
        "quote_on[12]",
        "quote_on[13]",
        "quote_on[14]",
        "quote_on[15]",
    ];
    match list {
        true => KEYS.get(k).copied().unwrap_or("quote_on"),
        false => "quote_on",
    }
}

/// Levels per side each simulated external venue keeps ([`SimVenueConfig::depth`]).
pub const EXTERNAL_DEPTH: usize = 128;

fn default_fill_horizon() -> i64 {
    super::queue_truth::FILL_HORIZON_NS / 1_000_000
}

fn default_queue_model() -> String {
    "risk_averse".into()
}
fn default_slippage() -> i64 {
    5
}
fn default_seed() -> u64 {
    1
}
fn default_timer() -> i64 {
    100
}
fn default_markouts() -> Vec<i64> {
    vec![100, 1_000, 5_000, 30_000, 60_000]
}

fn bad(field: &'static str, why: impl Into<String>) -> BacktestError {
    BacktestError::Config { field, why: why.into() }
}

fn ms_to_ns(field: &'static str, ms: f64) -> Result<i64, BacktestError> {
    if ms.is_finite() && (0.0..=60_000.0).contains(&ms) {
        Ok((ms * 1e6).round() as i64)
    } else {
        Err(bad(field, format!("{ms} ms must be in [0, 60000]")))
    }
}

fn venue_of(name: &str) -> Option<Venue> {
    match name {
        "binance" => Some(Venue::Binance),
        "coinbase" => Some(Venue::Coinbase),
        "kraken" => Some(Venue::Kraken),
        _ => None,
    }
}

fn grid_f64(field: &'static str, text: &str) -> Result<f64, BacktestError> {
    match Decimal::parse(text) {
        Ok(d) if d.raw() > 0 => Ok(d.to_f64()),
        _ => Err(bad(field, format!("{text:?} is not a positive decimal"))),
    }
}

/// Parses `risk_averse`, `log` or `power:N`.
fn queue_model(text: &str) -> Result<QueueModel, BacktestError> {
    let unknown = || bad("queue_model", format!("{text:?}: expected risk_averse, log or power:N (N > 0)"));
    match text {
        "risk_averse" => Ok(QueueModel::RiskAverse),
        "log" => Ok(QueueModel::log()),
        _ => {
            let n: f64 = text.strip_prefix("power:").and_then(|n| n.parse().ok()).ok_or_else(unknown)?;
            QueueModel::power(n).map_err(|_| unknown())
        }
    }
}

impl RecordedConfig {
    /// The recordings to read: `path`, or `recordings`; both or neither is an error.
    pub fn paths(&self) -> Result<Vec<PathBuf>, BacktestError> {
        match (&self.path, self.recordings.is_empty()) {
            (Some(p), true) => Ok(vec![p.clone()]),
            (None, false) => Ok(self.recordings.clone()),
            (Some(_), false) => Err(bad("market.recordings", "give path or recordings, not both")),
            (None, true) => Err(bad("market.path", "a recording is required (path or recordings)")),
        }
    }
}

impl MarketConfig {
    /// A short name for reports.
    pub fn name(&self) -> String {
        match self {
            MarketConfig::Synthetic(_) => "synthetic".into(),
            MarketConfig::Recorded(r) => format!("{}:{}", r.venue, r.symbol),
        }
    }
}

impl BacktestConfig {
    /// Parses a configuration (JSON); an unknown or mistyped key is an error naming it.
    pub fn from_json(json: &str) -> Result<Self, BacktestError> {
        serde_json::from_str(json).map_err(|e| bad("config", e.to_string()))
    }

    /// The quote model's name (`pricing:` and the pricing configuration's `model.kind`).
    pub fn model_name(&self) -> String {
        let kind = self.pricing.pointer("/model/kind").and_then(|k| k.as_str()).unwrap_or("none");
        format!("pricing:{kind}")
    }

    /// The pricing configuration, checked against the market's venues `names` (in order).
    pub fn pricing_config(&self, names: &[String]) -> Result<PricingConfig, BacktestError> {
        if self.pricing.is_null() {
            return Err(bad("pricing", "is required by the built-in market maker"));
        }
        let cfg =
            crate::priced_market_maker::pricing_config(&self.pricing).map_err(|e| bad("pricing", e.to_string()))?;
        for (i, v) in cfg.venues.iter().enumerate() {
            let market = names.get(i).map(|n| n.split(':').next().unwrap_or(n));
            if market != Some(v.name.as_str()) {
                return Err(bad(
                    "pricing.venues",
                    format!("venues[{i}].name={} but the market's venue {i} is {:?}", v.name, names.get(i)),
                ));
            }
        }
        Ok(cfg)
    }

    /// The fee schedule of the venue `name` (none configured: no fees).
    fn fee_schedule(&self, name: &str) -> Result<FeeSchedule, BacktestError> {
        let Some(f) = self.fees.get(name) else { return Ok(FeeSchedule::default()) };
        FeeSchedule::new(f.maker_ppm, f.taker_ppm).map_err(|e| bad("fees", format!("venue={name}: {e}")))
    }

    /// Checks everything and builds the market.
    pub fn build(&self) -> Result<Built, BacktestError> {
        if self.sample_ms <= 0 || self.timer_ms < 0 {
            return Err(bad("sample_ms", format!("sample_ms={} timer_ms={}", self.sample_ms, self.timer_ms)));
        }
        if self.markout_ms.iter().any(|&h| h <= 0) {
            return Err(bad("markout_ms", "horizons must be positive"));
        }
        let window_ms = super::queue_truth::VOLUME_WINDOW_NS / 1_000_000;
        if !(1..=window_ms).contains(&self.fill_horizon_ms) {
            return Err(bad(
                "fill_horizon_ms",
                format!("{} is not in 1..={window_ms} (ms, at most the volume window)", self.fill_horizon_ms),
            ));
        }
        let order_ns = ms_to_ns("latency.order_ms", self.latency.order_ms)?;
        let our_feed_ns = ms_to_ns("latency.our_feed_ms", self.latency.our_feed_ms)?;
        let started = Instant::now();
        let (tape, ours, grid, default_quote) = match &self.market {
            MarketConfig::Synthetic(s) => {
                synthetic::validate(s).map_err(|why| bad("market", why))?;
                let start_ns = 1_700_000_000_000_000_000;
                let (latent, tape) = synthetic::generate(s, self.seed, start_ns);
                let fees = self.fee_schedule("ours")?;
                let shared = Latent(std::sync::Arc::new(latent.clone()));
                let horizon_ns = self.fill_horizon_ms * 1_000_000;
                let ours = OurVenue::new(&s.participants, shared, fees, self.seed, start_ns, horizon_ns)
                    .map_err(|why| bad("market.participants", why))?;
                let text = |k: &str| self.pricing.pointer(k).and_then(|v| v.as_str()).map(str::to_owned);
                let pricing_grid = text("/instrument/tick_size").zip(text("/instrument/lot_size"));
                let (tick, lot) = self.grid.clone().or(pricing_grid).unwrap_or(("0.1".into(), "0.0001".into()));
                let grid = (grid_f64("grid", &tick)?, grid_f64("grid", &lot)?);
                (tape, Some((ours, latent)), grid, "ours".to_string())
            }
            MarketConfig::Recorded(r) => {
                let venue =
                    venue_of(&r.venue).ok_or_else(|| bad("market.venue", format!("unknown venue={}", r.venue)))?;
                let latency = match r.feed_latency_ms {
                    Some(ms) => RecordedLatency::Constant(ms_to_ns("market.feed_latency_ms", ms)?),
                    None => RecordedLatency::Recorded,
                };
                let grid = (grid_f64("market.tick_size", &r.tick_size)?, grid_f64("market.lot_size", &r.lot_size)?);
                let tape = recorded::load(&r.paths()?, venue, &r.symbol, &r.tick_size, &r.lot_size, latency)?;
                let name = tape.venues[0].clone();
                (tape, None, grid, name)
            }
        };
        let tape_seconds = started.elapsed().as_secs_f64();
        let names = tape.venues.clone();
        let find = |field: &'static str, name: &str| -> Result<VenueId, BacktestError> {
            if name == "ours" {
                return if ours.is_some() {
                    Ok(VenueId::Ours)
                } else {
                    Err(bad(field, "no venue=ours on a recording"))
                };
            }
            names
                .iter()
                .position(|n| n == name)
                .map(|i| VenueId::External(i as u8))
                .ok_or_else(|| bad(field, format!("unknown venue={name} (known: ours, {})", names.join(", "))))
        };
        let quote_venues = self.quote_venues(&default_quote, find)?;
        let hedge_venue = match &self.hedge_on {
            Some(name) => Some(find("hedge_on", name)?),
            None => None,
        };
        for name in self.fees.keys() {
            find("fees", name)?;
        }
        let model = queue_model(&self.queue_model)?;
        // The simulator applies the latencies itself: the venues answer at once.
        let mut external = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let mut vc = SimVenueConfig::new(VenueId::External(i as u8), 0, 0, self.fee_schedule(n)?);
            vc.queue_model = model;
            vc.depth = EXTERNAL_DEPTH;
            external.push(SimVenue::new(vc).map_err(|e| bad("market", e.to_string()))?);
        }
        let start_ns = tape.start_ns();
        let end_ns = match &self.market {
            MarketConfig::Synthetic(s) => start_ns + (s.duration_s * 1e9) as i64,
            MarketConfig::Recorded(_) => tape.end_ns(),
        };
        let timing = Timing {
            order_ns,
            our_feed_ns,
            timer_ns: self.timer_ms * 1_000_000,
            sample_ns: self.sample_ms * 1_000_000,
            start_ns,
            end_ns,
        };
        Ok(Built { tape, ours, external, quote_venues, hedge_venue, timing, tape_seconds, grid })
    }

    /// `quote_on` (absent: `default`) as venues, checked: each entry known (`find`), none
    /// twice, `ours` alone, a list not empty.
    fn quote_venues(
        &self,
        default: &str,
        find: impl Fn(&'static str, &str) -> Result<VenueId, BacktestError>,
    ) -> Result<Vec<VenueId>, BacktestError> {
        let (names, list): (Vec<&str>, bool) = match &self.quote_on {
            None => (vec![default], false),
            Some(QuoteOn::One(name)) => (vec![name.as_str()], false),
            Some(QuoteOn::Many(names)) => (names.iter().map(String::as_str).collect(), true),
        };
        if names.is_empty() {
            return Err(bad("quote_on", "an empty list: name \"ours\" or external venues"));
        }
        let mut venues: Vec<VenueId> = Vec::with_capacity(names.len());
        for (k, name) in names.iter().enumerate() {
            let key = quote_on_key(k, list);
            let venue = find(key, name)?;
            if venues.contains(&venue) {
                return Err(bad(key, format!("venue={name} is named twice")));
            }
            if names.len() > 1 && venue == VenueId::Ours {
                return Err(bad(key, "ours and external venues: one or the other, not both"));
            }
            venues.push(venue);
        }
        Ok(venues)
    }
}

/// What [`BacktestConfig::build`] prepares: the tape and the venues.
#[derive(Debug)]
pub struct Built {
    /// The tape.
    pub tape: Tape,
    /// Our venue and the latent price (synthetic markets).
    pub ours: Option<(OurVenue, synthetic::LatentPath)>,
    /// External venues.
    pub external: Vec<SimVenue>,
    /// Where to quote: our venue, or one or more external venues (in `quote_on`'s order).
    pub quote_venues: Vec<VenueId>,
    /// Where to hedge.
    pub hedge_venue: Option<VenueId>,
    /// Timing.
    pub timing: Timing,
    /// Seconds spent building.
    pub tape_seconds: f64,
    /// Tick and lot size as numbers.
    pub grid: (f64, f64),
}

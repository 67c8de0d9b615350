//! A seeded synthetic market for backtests: external venues that follow one latent price, and
//! the other participants on our venue.
//!
//! The latent price here is a Gaussian random walk sampled every millisecond; each external
//! venue shows it late (`lag_ms`) with its own noise and spread, `depth` levels per side, and
//! prints trades at its touch, written straight onto the tape as integers. (The feeds crate's
//! latent synthetic market speaks the venues' own protocols, for the demo and the connectors;
//! this one skips the protocols, so a backtest spends its time in the event loop.) Our venue's
//! other participants ([`crate::participants`]) follow the same latent price.

use serde::{Deserialize, Serialize};
use wintermute_core::rng::SplitMix64;

use super::tape::{MdEvent, MdKind, Tape};
use crate::types::Side;

/// One synthetic external venue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticVenue {
    /// Name (for reports).
    pub name: String,
    /// Quoted spread in ticks (>= 1).
    pub spread_ticks: i64,
    /// How late the venue follows the latent price, ms.
    #[serde(default)]
    pub lag_ms: i64,
    /// Standard deviation of the venue's own noise around the latent price, ticks.
    #[serde(default)]
    pub noise_ticks: f64,
    /// Feed latency from the venue to us, ms.
    #[serde(default = "default_feed_latency")]
    pub feed_latency_ms: i64,
    /// Book updates per second.
    #[serde(default = "default_rate")]
    pub updates_per_s: f64,
}

fn default_feed_latency() -> i64 {
    5
}
fn default_rate() -> f64 {
    200.0
}

/// The synthetic market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// Simulated seconds.
    pub duration_s: f64,
    /// Latent price at the start, ticks.
    #[serde(default = "default_start_price")]
    pub start_price: i64,
    /// Latent volatility, ticks per √second.
    #[serde(default = "default_sigma")]
    pub sigma_ticks: f64,
    /// Levels per side on each external venue.
    #[serde(default = "default_depth")]
    pub depth: usize,
    /// Probability that a book update of an external venue comes with a trade.
    #[serde(default = "default_trade_p")]
    pub trade_probability: f64,
    /// External venues.
    pub venues: Vec<SyntheticVenue>,
    /// Other participants on our venue.
    #[serde(default)]
    pub participants: Participants,
}

/// Other participants on our venue (run by [`crate::participants`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participants {
    /// Other makers (0: none); maker `k` quotes `maker_half_spread_ticks + k` around the latent
    /// price.
    #[serde(default = "default_makers")]
    pub makers: u32,
    /// The other makers requote at least this often, ms (and on every 1-tick latent move).
    pub maker_refresh_ms: i64,
    /// Maker 0's half spread, ticks.
    pub maker_half_spread_ticks: i64,
    /// The other makers' lots per quote.
    pub maker_size_lots: i64,
    /// Noise takers: market orders per second.
    pub noise_per_s: f64,
    /// Informed takers: looks per second.
    pub informed_per_s: f64,
    /// How far ahead the informed takers see the latent price, ms.
    pub informed_lead_ms: i64,
    /// Largest taker order, lots.
    pub taker_max_lots: i64,
}

impl Default for Participants {
    fn default() -> Self {
        Participants {
            makers: default_makers(),
            maker_refresh_ms: 100,
            maker_half_spread_ticks: 4,
            maker_size_lots: 20,
            noise_per_s: 20.0,
            informed_per_s: 5.0,
            informed_lead_ms: 500,
            taker_max_lots: 10,
        }
    }
}

fn default_makers() -> u32 {
    3
}
fn default_start_price() -> i64 {
    600_000
}
fn default_sigma() -> f64 {
    20.0
}
fn default_depth() -> usize {
    5
}
fn default_trade_p() -> f64 {
    0.1
}

/// The latent price, one sample per millisecond from the start.
#[derive(Debug, Clone)]
pub struct LatentPath {
    /// Start time, ns.
    pub start_ns: i64,
    /// Price in ticks (fractional) at each millisecond.
    pub ticks: Vec<f64>,
}

impl LatentPath {
    /// The latent price at `ts_ns` (clamped to the path's ends).
    pub fn at(&self, ts_ns: i64) -> f64 {
        let i = ((ts_ns - self.start_ns) / 1_000_000).clamp(0, self.ticks.len() as i64 - 1);
        self.ticks[i as usize]
    }
}

/// Checks the configuration.
pub fn validate(cfg: &SyntheticConfig) -> Result<(), String> {
    if !(cfg.duration_s.is_finite() && cfg.duration_s > 0.0 && cfg.duration_s <= 86_400.0) {
        return Err(format!("duration_s={} must be in (0, 86400]", cfg.duration_s));
    }
    if cfg.venues.is_empty() || cfg.venues.len() > 16 {
        return Err(format!("venues={} must be 1..=16", cfg.venues.len()));
    }
    if !(cfg.sigma_ticks.is_finite() && cfg.sigma_ticks >= 0.0) || cfg.depth == 0 || cfg.start_price <= 1_000 {
        return Err(format!(
            "sigma_ticks={} depth={} start_price={} out of range",
            cfg.sigma_ticks, cfg.depth, cfg.start_price
        ));
    }
    for v in &cfg.venues {
        if v.spread_ticks < 1
            || v.lag_ms < 0
            || v.feed_latency_ms < 0
            || !v.updates_per_s.is_finite()
            || v.updates_per_s <= 0.0
        {
            return Err(format!("venue={} has a bad spread, lag, latency or rate", v.name));
        }
    }
    Ok(())
}

/// Generates the latent path and the external venues' tape for `seed`.
pub fn generate(cfg: &SyntheticConfig, seed: u64, start_ns: i64) -> (LatentPath, Tape) {
    let mut rng = SplitMix64::new(seed);
    let millis = (cfg.duration_s * 1_000.0) as usize + 1;
    let step = cfg.sigma_ticks * (0.001f64).sqrt();
    let mut ticks = Vec::with_capacity(millis);
    let mut p = cfg.start_price as f64;
    for _ in 0..millis {
        ticks.push(p);
        p += step * gaussian(&mut rng);
    }
    let path = LatentPath { start_ns, ticks };
    let end_ns = start_ns + (cfg.duration_s * 1e9) as i64;
    let mut events = Vec::new();
    for (vi, venue) in cfg.venues.iter().enumerate() {
        venue_events(cfg, vi as u8, venue, &path, end_ns, &mut rng, &mut events);
    }
    let names = cfg.venues.iter().map(|v| v.name.clone()).collect();
    (path, Tape::new(events, names))
}

/// Standard normal by Box–Muller (one of the pair).
pub fn gaussian(rng: &mut SplitMix64) -> f64 {
    let u = 1.0 - rng.unit();
    let v = rng.unit();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn venue_events(
    cfg: &SyntheticConfig,
    vi: u8,
    venue: &SyntheticVenue,
    path: &LatentPath,
    end_ns: i64,
    rng: &mut SplitMix64,
    out: &mut Vec<MdEvent>,
) {
    let depth = cfg.depth as i64;
    let latency = venue.feed_latency_ms * 1_000_000;
    let mean_gap_ns = 1e9 / venue.updates_per_s;
    let mut qty = vec![[0i64; 2]; cfg.depth];
    let mut best_bid: Option<i64> = None;
    let mut t = path.start_ns;
    let push = |out: &mut Vec<MdEvent>, t: i64, kind: MdKind, side: Side, price: i64, q: i64| {
        out.push(MdEvent { ts_exch: t, ts_recv: t + latency, price, qty: q, venue: vi, kind, side });
    };
    push(out, t, MdKind::Clear, Side::Buy, 0, 0);
    while t < end_ns {
        let center = path.at(t - venue.lag_ms * 1_000_000) + venue.noise_ticks * gaussian(rng);
        let bid = (center - venue.spread_ticks as f64 / 2.0).floor() as i64;
        let ask = bid + venue.spread_ticks;
        if let Some(old) = best_bid.filter(|&b| b != bid) {
            // Levels that leave the window are deleted.
            for j in 0..depth {
                let (ob, oa) = (old - j, old + venue.spread_ticks + j);
                if ob > bid || ob <= bid - depth {
                    push(out, t, MdKind::Level, Side::Buy, ob, 0);
                }
                if oa < ask || oa >= ask + depth {
                    push(out, t, MdKind::Level, Side::Sell, oa, 0);
                }
            }
        }
        for (j, level) in qty.iter_mut().enumerate() {
            let base = 5 + 5 * j as i64;
            for (s, side) in [Side::Buy, Side::Sell].into_iter().enumerate() {
                let q = base + rng.range(0, base);
                let price = if s == 0 { bid - j as i64 } else { ask + j as i64 };
                if best_bid != Some(bid) || level[s] != q {
                    level[s] = q;
                    push(out, t, MdKind::Level, side, price, q);
                }
            }
        }
        best_bid = Some(bid);
        if rng.chance(cfg.trade_probability) {
            let s = rng.below(2) as usize;
            let traded = rng.range(1, qty[0][s]);
            let (aggressor, price) = if s == 0 { (Side::Sell, bid) } else { (Side::Buy, ask) };
            push(out, t, MdKind::Trade, aggressor, price, traded);
            qty[0][s] -= traded;
            let book_side = if s == 0 { Side::Buy } else { Side::Sell };
            push(out, t, MdKind::Level, book_side, price, qty[0][s]);
        }
        t += 1 + rng.exp(mean_gap_ns);
    }
}

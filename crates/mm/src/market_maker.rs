//! The built-in market maker: fair value → quote model → quotes → orders, with an inventory
//! limit, a book-health pull and a hedger, as one [`Strategy`].
//!
//! Each time a reference venue's top changes, the fair value is recomputed as the weighted mean
//! of the live, fresh reference venues' microprices. When it has moved by at least
//! `requote_threshold_ticks` since the last quote (or after a fill, or on the timer), the quote
//! model gives a reservation price and a half spread, the quotes are rounded onto the tick grid
//! away from the touch, and the working orders are brought to them: an order whose price is right
//! is kept (its size lowered in place when that is all that changed, keeping its queue place);
//! others are canceled and replaced. No quote flicker: a fair value that wiggles below the
//! threshold sends nothing.
//!
//! Quote models (prices in ticks, `q` inventory in units of the order size, `σ` volatility in
//! ticks per √second):
//!
//! | model | reservation price | half spread |
//! |---|---|---|
//! | fixed | `s − skew·q` | `half_spread` |
//! | Avellaneda–Stoikov (2008) | `s − q·γσ²τ` | `(γσ²τ + (2/γ)·ln(1+γ/k)) / 2` |
//! | GLFT (Guéant et al. 2013, as in hftbacktest's example) | `s − q·σ·c₂` | `c₁ + σ·c₂/2` |
//!
//! with `τ` the horizon in seconds, `c₁ = (1/γ)·ln(1+γ/k)` and
//! `c₂ = √(γ/(2Ak) · (1+γ/k)^(k/γ+1))`.
//!
//! **Stand-in.** This module holds its own small versions of the fair value, the three model
//! formulas, the book-health pull and the hedger so the backtester runs end to end; the full
//! versions (per-venue staleness and basis, online σ and (A, k) estimation, levels and rounding
//! rules, the interlock with sequence/checksum causes) live in the models, exec and market
//! modules and replace these as they land.

use serde::{Deserialize, Serialize};

use crate::strategy::{Context, Strategy};
use crate::types::{Fill, Liquidity, Side, Top, VenueId};

/// Which quote model prices the quotes (see the module docs for the formulas).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelConfig {
    /// A constant half spread around the fair value, skewed linearly by inventory.
    Fixed {
        /// Half spread in ticks.
        half_spread_ticks: f64,
        /// Reservation-price shift per unit of inventory (one order size), in ticks.
        #[serde(default)]
        skew_ticks: f64,
    },
    /// Avellaneda–Stoikov (2008) with a rolling horizon.
    AvellanedaStoikov {
        /// Risk aversion γ (> 0).
        gamma: f64,
        /// Volatility σ in ticks per √second.
        sigma: f64,
        /// Order-arrival decay k (> 0), per tick.
        k: f64,
        /// Horizon T − t in seconds.
        horizon_s: f64,
    },
    /// Guéant–Lehalle–Fernandez-Tapia closed-form approximation (infinite horizon).
    Glft {
        /// Risk aversion γ (> 0).
        gamma: f64,
        /// Volatility σ in ticks per √second.
        sigma: f64,
        /// Order-arrival intensity A (> 0), per second.
        a: f64,
        /// Order-arrival decay k (> 0), per tick.
        k: f64,
    },
}

impl ModelConfig {
    /// Reservation price and half spread for fair value `fair` and inventory `q` (in order
    /// sizes), in ticks.
    pub fn quote(&self, fair: f64, q: f64) -> (f64, f64) {
        match *self {
            ModelConfig::Fixed { half_spread_ticks, skew_ticks } => (fair - skew_ticks * q, half_spread_ticks),
            ModelConfig::AvellanedaStoikov { gamma, sigma, k, horizon_s } => {
                let risk = gamma * sigma * sigma * horizon_s;
                (fair - q * risk, (risk + (2.0 / gamma) * (1.0 + gamma / k).ln()) / 2.0)
            }
            ModelConfig::Glft { gamma, sigma, a, k } => {
                let c1 = (1.0 + gamma / k).ln() / gamma;
                let c2 = (gamma / (2.0 * a * k) * (1.0 + gamma / k).powf(k / gamma + 1.0)).sqrt();
                (fair - q * sigma * c2, c1 + sigma * c2 / 2.0)
            }
        }
    }

    /// Checks the parameters: every rate, risk aversion and spread positive and finite.
    pub fn validate(&self) -> Result<(), String> {
        let positive = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(format!("{name}={v} must be positive and finite"))
            }
        };
        match *self {
            ModelConfig::Fixed { half_spread_ticks, skew_ticks } => {
                positive("half_spread_ticks", half_spread_ticks)?;
                if !skew_ticks.is_finite() || skew_ticks < 0.0 {
                    return Err(format!("skew_ticks={skew_ticks} must be >= 0"));
                }
                Ok(())
            }
            ModelConfig::AvellanedaStoikov { gamma, sigma, k, horizon_s } => {
                positive("gamma", gamma)?;
                positive("sigma", sigma)?;
                positive("k", k)?;
                positive("horizon_s", horizon_s)
            }
            ModelConfig::Glft { gamma, sigma, a, k } => {
                positive("gamma", gamma)?;
                positive("sigma", sigma)?;
                positive("a", a)?;
                positive("k", k)
            }
        }
    }
}

/// How the built-in market maker quotes and hedges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketMakerConfig {
    /// The quote model.
    pub model: ModelConfig,
    /// Lots per quote.
    pub size_lots: i64,
    /// Quote levels per side.
    #[serde(default = "one")]
    pub levels: u32,
    /// Ticks between levels.
    #[serde(default = "one_i64")]
    pub level_step_ticks: i64,
    /// Least half spread in ticks (the model's is raised to it).
    #[serde(default)]
    pub min_half_spread_ticks: f64,
    /// Fair-value move (ticks) that triggers a requote.
    #[serde(default = "one_f64")]
    pub requote_threshold_ticks: f64,
    /// No more bids at or above this long position (lots), no more asks at or below its negative.
    pub max_inventory_lots: i64,
    /// A reference venue whose top is older than this (ms) is left out of the fair value.
    #[serde(default = "default_stale_ms")]
    pub stale_after_ms: i64,
    /// Pull quotes when two reference venues cross by more than this many ticks.
    #[serde(default = "default_cross_ticks")]
    pub cross_threshold_ticks: i64,
    /// Hedge on `hedge_venue` once |inventory| exceeds this (lots); 0 = no hedging.
    #[serde(default)]
    pub hedge_threshold_lots: i64,
    /// Worst price a hedge may reach, in ticks beyond the hedge venue's touch.
    #[serde(default = "default_slippage")]
    pub hedge_slippage_ticks: i64,
}

fn one() -> u32 {
    1
}
fn one_i64() -> i64 {
    1
}
fn one_f64() -> f64 {
    1.0
}
fn default_stale_ms() -> i64 {
    5_000
}
fn default_cross_ticks() -> i64 {
    50
}
fn default_slippage() -> i64 {
    5
}

/// Why quotes were pulled (counted by the strategy, see [`MarketMaker::pulls`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PullCounts {
    /// No reference venue was live and fresh.
    pub no_fair_value: u64,
    /// Two reference venues were crossed beyond the threshold.
    pub crossed: u64,
    /// The quoted venue's own book was not live.
    pub quoted_book_down: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Working {
    order_id: u64,
    price: i64,
    qty: i64,
}

/// The built-in market maker (see the module docs).
#[derive(Debug, Clone)]
pub struct MarketMaker {
    cfg: MarketMakerConfig,
    quote_venue: VenueId,
    references: Vec<(VenueId, f64)>,
    hedge_venue: Option<VenueId>,
    /// Working orders per side and level: `[side][level]`, side 0 = bids.
    working: [Vec<Option<Working>>; 2],
    last_fair: Option<f64>,
    last_inventory: i64,
    pulled: bool,
    pulls: PullCounts,
    hedge_in_flight: Option<u64>,
    requotes: u64,
}

impl MarketMaker {
    /// A market maker quoting on `quote_venue`, pricing off `references` (venue, weight) and
    /// hedging on `hedge_venue`.
    pub fn new(
        cfg: MarketMakerConfig,
        quote_venue: VenueId,
        references: Vec<(VenueId, f64)>,
        hedge_venue: Option<VenueId>,
    ) -> Result<Self, String> {
        cfg.model.validate()?;
        if cfg.size_lots <= 0 || cfg.max_inventory_lots <= 0 || cfg.levels == 0 || cfg.level_step_ticks <= 0 {
            return Err(format!(
                "size_lots={} max_inventory_lots={} levels={} level_step_ticks={} must all be positive",
                cfg.size_lots, cfg.max_inventory_lots, cfg.levels, cfg.level_step_ticks
            ));
        }
        if references.is_empty() {
            return Err("no reference venue for the fair value".into());
        }
        let levels = cfg.levels as usize;
        Ok(MarketMaker {
            cfg,
            quote_venue,
            references,
            hedge_venue,
            working: [vec![None; levels], vec![None; levels]],
            last_fair: None,
            last_inventory: 0,
            pulled: false,
            pulls: PullCounts::default(),
            hedge_in_flight: None,
            requotes: 0,
        })
    }

    /// Quote pulls so far, by cause.
    pub fn pulls(&self) -> PullCounts {
        self.pulls
    }

    /// Times the quotes were recomputed and sent.
    pub fn requotes(&self) -> u64 {
        self.requotes
    }

    /// The fair value: weighted mean of the fresh, live reference venues' microprices (ticks),
    /// or why there is none.
    fn fair_value<C: Context>(&self, ctx: &C) -> Result<f64, Pull> {
        let now = ctx.now_ns();
        let stale_ns = self.cfg.stale_after_ms * 1_000_000;
        let (mut sum, mut weight) = (0.0, 0.0);
        let (mut hi_bid, mut lo_ask) = (i64::MIN, i64::MAX);
        for &(venue, w) in &self.references {
            let top = ctx.top(venue);
            if !ctx.book_live(venue) || top.bid.qty <= 0 || top.ask.qty <= 0 || now - top.ts_ns > stale_ns {
                continue;
            }
            hi_bid = hi_bid.max(top.bid.price);
            lo_ask = lo_ask.min(top.ask.price);
            sum += w * microprice(&top);
            weight += w;
        }
        if weight <= 0.0 {
            return Err(Pull::NoFairValue);
        }
        if hi_bid - lo_ask > self.cfg.cross_threshold_ticks {
            return Err(Pull::Crossed);
        }
        Ok(sum / weight)
    }

    fn pull<C: Context>(&mut self, ctx: &mut C, why: Pull) {
        if !self.pulled {
            match why {
                Pull::NoFairValue => self.pulls.no_fair_value += 1,
                Pull::Crossed => self.pulls.crossed += 1,
                Pull::QuotedBookDown => self.pulls.quoted_book_down += 1,
            }
        }
        self.pulled = true;
        self.last_fair = None;
        for side in &mut self.working {
            for slot in side.iter_mut() {
                if let Some(w) = slot.take() {
                    ctx.cancel(self.quote_venue, w.order_id);
                }
            }
        }
    }

    /// Recomputes the fair value; requotes when it moved past the threshold or `force`.
    fn update<C: Context>(&mut self, ctx: &mut C, force: bool) {
        if !ctx.book_live(self.quote_venue) {
            return self.pull(ctx, Pull::QuotedBookDown);
        }
        let fair = match self.fair_value(ctx) {
            Ok(f) => f,
            Err(why) => return self.pull(ctx, why),
        };
        self.pulled = false;
        let moved = self.last_fair.is_none_or(|l| (fair - l).abs() >= self.cfg.requote_threshold_ticks);
        let inventory = ctx.inventory();
        if !(force || moved || inventory != self.last_inventory) {
            return;
        }
        self.last_fair = Some(fair);
        self.last_inventory = inventory;
        self.requotes += 1;
        let q = inventory as f64 / self.cfg.size_lots as f64;
        let (reservation, half) = self.cfg.model.quote(fair, q);
        let half = half.max(self.cfg.min_half_spread_ticks);
        let top = ctx.top(self.quote_venue);
        // Round away from the touch: bids down, asks up; never through the other side's best.
        let mut bid = (reservation - half).floor() as i64;
        let mut ask = (reservation + half).ceil() as i64;
        if top.ask.qty > 0 {
            bid = bid.min(top.ask.price - 1);
        }
        if top.bid.qty > 0 {
            ask = ask.max(top.bid.price + 1);
        }
        let allow_bid = inventory < self.cfg.max_inventory_lots;
        let allow_ask = inventory > -self.cfg.max_inventory_lots;
        for level in 0..self.cfg.levels as usize {
            let step = level as i64 * self.cfg.level_step_ticks;
            self.set_level(ctx, 0, level, allow_bid.then_some(bid - step));
            self.set_level(ctx, 1, level, allow_ask.then_some(ask + step));
        }
        self.hedge(ctx);
    }

    /// Brings one level's working order to `price` (None: no order).
    fn set_level<C: Context>(&mut self, ctx: &mut C, side: usize, level: usize, price: Option<i64>) {
        let venue = self.quote_venue;
        let size = self.cfg.size_lots;
        let slot = &mut self.working[side][level];
        match (*slot, price) {
            (Some(w), Some(p)) if w.price == p => {
                if w.qty > size {
                    ctx.amend(venue, w.order_id, size);
                    *slot = Some(Working { qty: size, ..w });
                }
            }
            (current, target) => {
                if let Some(w) = current {
                    ctx.cancel(venue, w.order_id);
                }
                *slot = target.map(|p| {
                    let s = if side == 0 { Side::Buy } else { Side::Sell };
                    Working { order_id: ctx.place(venue, s, p, size), price: p, qty: size }
                });
            }
        }
    }

    fn hedge<C: Context>(&mut self, ctx: &mut C) {
        let (Some(venue), threshold) = (self.hedge_venue, self.cfg.hedge_threshold_lots) else {
            return;
        };
        let inventory = ctx.inventory();
        if threshold <= 0 || inventory.abs() <= threshold || self.hedge_in_flight.is_some() {
            return;
        }
        let top = ctx.top(venue);
        let excess = inventory - inventory.signum() * threshold;
        let slip = self.cfg.hedge_slippage_ticks;
        let id = if excess > 0 && top.bid.qty > 0 {
            ctx.take(venue, Side::Sell, top.bid.price - slip, excess)
        } else if excess < 0 && top.ask.qty > 0 {
            ctx.take(venue, Side::Buy, top.ask.price + slip, -excess)
        } else {
            return;
        };
        self.hedge_in_flight = Some(id);
    }

    fn forget(&mut self, order_id: u64) {
        if self.hedge_in_flight == Some(order_id) {
            self.hedge_in_flight = None;
        }
        for side in &mut self.working {
            for slot in side.iter_mut() {
                if slot.is_some_and(|w| w.order_id == order_id) {
                    *slot = None;
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pull {
    NoFairValue,
    Crossed,
    QuotedBookDown,
}

/// The microprice of a top: the mid weighted toward the thinner side,
/// `(bid·ask_qty + ask·bid_qty) / (bid_qty + ask_qty)`, in ticks.
pub fn microprice(top: &Top) -> f64 {
    let (bq, aq) = (top.bid.qty as f64, top.ask.qty as f64);
    (top.bid.price as f64 * aq + top.ask.price as f64 * bq) / (bq + aq)
}

impl Strategy for MarketMaker {
    fn on_book<C: Context>(&mut self, ctx: &mut C, venue: VenueId, _top: &Top) {
        if venue == self.quote_venue || self.references.iter().any(|&(v, _)| v == venue) {
            self.update(ctx, false);
        }
    }

    fn on_fill<C: Context>(&mut self, ctx: &mut C, fill: &Fill, remaining: i64) {
        if fill.liquidity == Liquidity::Taker || remaining == 0 {
            self.forget(fill.order_id);
        } else {
            for side in &mut self.working {
                for w in side.iter_mut().flatten() {
                    if w.order_id == fill.order_id {
                        w.qty = remaining;
                    }
                }
            }
        }
        self.update(ctx, true);
    }

    fn on_order_gone<C: Context>(&mut self, _ctx: &mut C, _venue: VenueId, order_id: u64) {
        self.forget(order_id);
    }

    fn on_timer<C: Context>(&mut self, ctx: &mut C) {
        self.update(ctx, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avellaneda_stoikov_quotes_equal_the_hand_computed_values() {
        // γ=0.1, σ=2, k=0.5, τ=10: γσ²τ = 4; half = (4 + 20·ln 1.2)/2; r = 100 − 2·4.
        let m = ModelConfig::AvellanedaStoikov { gamma: 0.1, sigma: 2.0, k: 0.5, horizon_s: 10.0 };
        let (r, h) = m.quote(100.0, 2.0);
        assert!((r - 92.0).abs() < 1e-12 && (h - 3.823_215_567_939_546).abs() < 1e-12, "{r} {h}");
    }

    #[test]
    fn glft_quotes_equal_the_hand_computed_values() {
        let m = ModelConfig::Glft { gamma: 0.05, sigma: 2.0, a: 1.0, k: 0.3 };
        let (r, h) = m.quote(100.0, 2.0);
        assert!((r - 98.019_462_216_568_73).abs() < 1e-9 && (h - 3.578_148_042_402_984).abs() < 1e-9, "{r} {h}");
    }

    #[test]
    fn every_model_skews_against_inventory() {
        for m in [
            ModelConfig::Fixed { half_spread_ticks: 2.0, skew_ticks: 0.5 },
            ModelConfig::AvellanedaStoikov { gamma: 0.1, sigma: 2.0, k: 0.5, horizon_s: 10.0 },
            ModelConfig::Glft { gamma: 0.05, sigma: 2.0, a: 1.0, k: 0.3 },
        ] {
            let (long, _) = m.quote(100.0, 3.0);
            let (flat, _) = m.quote(100.0, 0.0);
            let (short, _) = m.quote(100.0, -3.0);
            assert!(long < flat && flat < short, "{m:?}: long={long} flat={flat} short={short}");
        }
    }

    #[test]
    fn a_negative_risk_aversion_is_refused() {
        let e = ModelConfig::Glft { gamma: -0.1, sigma: 2.0, a: 1.0, k: 0.3 }.validate().unwrap_err();
        assert!(e.contains("gamma"), "{e}");
    }
}

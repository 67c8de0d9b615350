//! The venue-neutral market model behind the synthetic feeds: a seeded random walk of a reference
//! price, an L2 book around it in integer ticks and lots, bursts, trades.
//!
//! Each [`Model::step`] returns the absolute level changes of one exchange message (one entry per
//! price, in the order applied) and at most one trade. Bids sit at or below the reference price
//! `r`, asks at or above `r + 1`, so the book is never crossed or locked.

use std::collections::BTreeMap;

pub use wintermute_core::rng::SplitMix64;

use crate::book::Side;
use crate::message::Aggressor;

/// One level change: set `side`/`price` (ticks) to `qty` lots (0 deletes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Side.
    pub side: Side,
    /// Price in ticks.
    pub price: i64,
    /// New absolute quantity in lots.
    pub qty: i64,
}

/// A trade of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelTrade {
    /// Price in ticks.
    pub price: i64,
    /// Quantity in lots.
    pub qty: i64,
    /// Taker side.
    pub aggressor: Aggressor,
}

/// Shape of the market.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelParams {
    /// Levels per side kept around the reference price.
    pub depth: usize,
    /// Typical size of a level next to the touch, in lots.
    pub base_lots: i64,
    /// Probability that a step starts a burst.
    pub burst_rate: f64,
    /// Probability of a trade per step (bursts: four times as likely).
    pub trade_rate: f64,
}

/// The model's state: reference price and the two sides (see the module docs).
#[derive(Debug, Clone)]
pub struct Model {
    params: ModelParams,
    rng: SplitMix64,
    r: i64,
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    burst_left: u32,
}

impl Model {
    /// A model around reference price `r` (ticks), with an initial book.
    pub fn new(params: ModelParams, seed: u64, r: i64) -> Self {
        let mut m = Model {
            params,
            rng: SplitMix64::new(seed),
            r,
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            burst_left: 0,
        };
        for d in 0..params.depth as i64 {
            if d < 2 || m.rng.chance(0.9) {
                let q = m.level_qty(d);
                m.bids.insert(r - d, q);
            }
            if d < 2 || m.rng.chance(0.9) {
                let q = m.level_qty(d);
                m.asks.insert(r + 1 + d, q);
            }
        }
        m
    }

    /// The random generator (the protocols draw their own small choices from it too).
    pub fn rng(&mut self) -> &mut SplitMix64 {
        &mut self.rng
    }

    /// Whether a burst is in progress.
    pub fn in_burst(&self) -> bool {
        self.burst_left > 0
    }

    /// Bids, best (highest) first, as (ticks, lots).
    pub fn bids(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.bids.iter().rev().map(|(p, q)| (*p, *q))
    }

    /// Asks, best (lowest) first.
    pub fn asks(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.asks.iter().map(|(p, q)| (*p, *q))
    }

    /// Quantity at a price.
    pub fn qty(&self, side: Side, price: i64) -> i64 {
        let map = if side == Side::Buy { &self.bids } else { &self.asks };
        map.get(&price).copied().unwrap_or(0)
    }

    /// A level size that grows away from the touch, with noise (at least 1 lot).
    fn level_qty(&mut self, distance: i64) -> i64 {
        let base = self.params.base_lots.max(1);
        let shape = base + base * distance / 5;
        let noise = 20 + self.rng.below(180) as i64; // 0.2x .. 2x
        (shape * noise / 100).max(1)
    }

    /// Sets one level outside of a step (an injected gap message).
    pub fn set_level(&mut self, side: Side, price: i64, qty: i64) {
        let map = if side == Side::Buy { &mut self.bids } else { &mut self.asks };
        if qty == 0 {
            map.remove(&price);
        } else {
            map.insert(price, qty);
        }
    }

    fn set(&mut self, out: &mut Vec<Change>, side: Side, price: i64, qty: i64) {
        let map = if side == Side::Buy { &mut self.bids } else { &mut self.asks };
        let old = map.get(&price).copied().unwrap_or(0);
        if old == qty {
            return;
        }
        if qty == 0 {
            map.remove(&price);
        } else {
            map.insert(price, qty);
        }
        // One entry per price per message: a later change replaces the earlier one in place.
        match out.iter_mut().find(|c| c.side == side && c.price == price) {
            Some(c) => c.qty = qty,
            None => out.push(Change { side, price, qty }),
        }
    }

    /// One message's worth of changes and maybe a trade. `avoid`: prices whose level must not be
    /// touched this step (used to make an injected gap detectable), and at most `max_changes`
    /// random changes.
    pub fn step(&mut self, avoid: &[(Side, i64)], max_changes: usize) -> (Vec<Change>, Option<ModelTrade>) {
        let mut out = Vec::new();
        if self.burst_left == 0 && self.rng.chance(self.params.burst_rate) {
            self.burst_left = 20 + self.rng.below(80) as u32;
        }
        let burst = self.burst_left > 0;
        self.burst_left = self.burst_left.saturating_sub(1);
        let depth = self.params.depth.max(2) as u64;
        // Reference price walk: clear the levels the move crosses.
        if avoid.is_empty() && self.rng.chance(if burst { 0.5 } else { 0.1 }) {
            if self.rng.chance(0.5) {
                self.r += 1;
                let r = self.r;
                self.set(&mut out, Side::Sell, r, 0);
            } else {
                self.r -= 1;
                let r = self.r;
                self.set(&mut out, Side::Buy, r + 1, 0);
            }
        }
        let n = if burst { 4 + self.rng.below(12) } else { 1 + self.rng.below(3) } as usize;
        let mut made = 0;
        let mut tries = 0;
        while made < n.min(max_changes) && tries < 4 * n {
            tries += 1;
            let side = if self.rng.chance(0.5) { Side::Buy } else { Side::Sell };
            // Skewed towards the touch: the product of two uniforms.
            let d = (self.rng.below(depth) * self.rng.below(depth) / depth) as i64;
            let price = if side == Side::Buy { self.r - d } else { self.r + 1 + d };
            if avoid.contains(&(side, price)) {
                continue;
            }
            let qty = if self.rng.chance(0.15) { 0 } else { self.level_qty(d) };
            self.set(&mut out, side, price, qty);
            made += 1;
        }
        // Keep the book within `depth` ticks of the reference price.
        let (lo, hi) = (self.r - depth as i64, self.r + 1 + depth as i64);
        let far_bids: Vec<i64> = self.bids.range(..lo).map(|(p, _)| *p).collect();
        let far_asks: Vec<i64> = self.asks.range(hi + 1..).map(|(p, _)| *p).collect();
        for p in far_bids {
            self.set(&mut out, Side::Buy, p, 0);
        }
        for p in far_asks {
            self.set(&mut out, Side::Sell, p, 0);
        }
        let trade = if self.rng.chance(self.params.trade_rate * if burst { 4.0 } else { 1.0 }) {
            self.trade(&mut out, avoid)
        } else {
            None
        };
        (out, trade)
    }

    /// A market order that takes part of the best level on one side.
    fn trade(&mut self, out: &mut Vec<Change>, avoid: &[(Side, i64)]) -> Option<ModelTrade> {
        let buy = self.rng.chance(0.5);
        let (side, aggressor) = if buy { (Side::Sell, Aggressor::Buy) } else { (Side::Buy, Aggressor::Sell) };
        let (price, have) = if buy { self.asks().next()? } else { self.bids().next()? };
        if avoid.contains(&(side, price)) {
            return None;
        }
        let qty = 1 + self.rng.below(have as u64) as i64;
        self.set(out, side, price, have - qty);
        Some(ModelTrade { price, qty, aggressor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> ModelParams {
        ModelParams { depth: 30, base_lots: 10_000_000, burst_rate: 0.05, trade_rate: 0.2 }
    }

    #[test]
    fn never_crossed_and_deterministic() {
        let mut a = Model::new(params(), 7, 1_000_000);
        let mut b = Model::new(params(), 7, 1_000_000);
        for _ in 0..5_000 {
            let sa = a.step(&[], usize::MAX);
            assert_eq!(sa, b.step(&[], usize::MAX));
            let (bid, ask) = (a.bids().next().unwrap().0, a.asks().next().unwrap().0);
            assert!(bid < ask, "crossed: {bid} >= {ask}");
            assert!(a.bids().all(|(_, q)| q > 0) && a.asks().all(|(_, q)| q > 0));
            let mut seen = std::collections::HashSet::new();
            assert!(sa.0.iter().all(|c| seen.insert((c.side == Side::Buy, c.price))), "one entry per price");
        }
    }

    #[test]
    fn avoided_levels_are_left_alone() {
        let mut m = Model::new(params(), 3, 500);
        let best = m.bids().next().unwrap();
        for _ in 0..2_000 {
            let (changes, _) = m.step(&[(Side::Buy, best.0)], 8);
            assert!(changes.iter().all(|c| !(c.side == Side::Buy && c.price == best.0)));
            assert_eq!(m.qty(Side::Buy, best.0), best.1);
        }
    }
}

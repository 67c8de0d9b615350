//! The venue-neutral market model behind the synthetic feeds: a seeded random walk of a reference
//! price, an L2 book around it in integer ticks and lots, bursts, trades.
//!
//! Each [`Model::step`] returns the absolute level changes of one exchange message (one entry per
//! price, in the order applied) and at most one trade. Bids sit at or below the bid reference
//! price, asks at or above the ask reference (one tick above the bid reference in the random
//! walk), so the book is never crossed or locked. [`Model::step_towards`] moves both references
//! to given prices instead of walking (a venue following the latent price of
//! [`super::latent`]).

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
    /// Bid reference: every bid is at or below it.
    r: i64,
    /// Ask reference: every ask is at or above it (> `r`).
    ra: i64,
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
            ra: r + 1,
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
        self.step_towards(None, avoid, max_changes)
    }

    /// The bid and ask reference prices (ticks).
    pub fn references(&self) -> (i64, i64) {
        (self.r, self.ra)
    }

    /// Like [`Model::step`], but with `target: Some((bid_ref, ask_ref))` the references move
    /// there (an ask reference at or below the bid reference is taken as one tick above it)
    /// instead of random-walking: levels the move crosses are deleted and the new touch levels
    /// are filled. With a non-empty `avoid` the references stay (as the walk does).
    pub fn step_towards(
        &mut self,
        target: Option<(i64, i64)>,
        avoid: &[(Side, i64)],
        max_changes: usize,
    ) -> (Vec<Change>, Option<ModelTrade>) {
        let mut out = Vec::new();
        if self.burst_left == 0 && self.rng.chance(self.params.burst_rate) {
            self.burst_left = 20 + self.rng.below(80) as u32;
        }
        let burst = self.burst_left > 0;
        self.burst_left = self.burst_left.saturating_sub(1);
        let depth = self.params.depth.max(2) as u64;
        if let Some((bid_ref, ask_ref)) = target {
            if avoid.is_empty() && (bid_ref, ask_ref.max(bid_ref + 1)) != (self.r, self.ra) {
                self.move_references(&mut out, bid_ref, ask_ref.max(bid_ref + 1));
            }
        } else if avoid.is_empty() && self.rng.chance(if burst { 0.5 } else { 0.1 }) {
            // Reference price walk: clear the levels the move crosses.
            if self.rng.chance(0.5) {
                self.r += 1;
                self.ra += 1;
                let ra = self.ra;
                self.set(&mut out, Side::Sell, ra - 1, 0);
            } else {
                self.r -= 1;
                self.ra -= 1;
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
            let price = if side == Side::Buy { self.r - d } else { self.ra + d };
            if avoid.contains(&(side, price)) {
                continue;
            }
            let mut qty = if self.rng.chance(0.15) { 0 } else { self.level_qty(d) };
            if qty == 0 && self.is_last_level(side, price) {
                // Never empty a side (after a jump the touch may be its only level).
                qty = self.level_qty(d);
            }
            self.set(&mut out, side, price, qty);
            made += 1;
        }
        // Keep the book within `depth` ticks of the reference price.
        let (lo, hi) = (self.r - depth as i64, self.ra + depth as i64);
        let far_bids: Vec<i64> = self.bids.range(..lo).map(|(p, _)| *p).collect();
        let far_asks: Vec<i64> = self.asks.range(hi + 1..).map(|(p, _)| *p).collect();
        for p in far_bids {
            self.set(&mut out, Side::Buy, p, 0);
        }
        for p in far_asks {
            self.set(&mut out, Side::Sell, p, 0);
        }
        // After a jump of the references the far cleanup may leave a side empty: refill its touch.
        if self.bids.is_empty() {
            let (r, q) = (self.r, self.level_qty(0));
            self.set(&mut out, Side::Buy, r, q);
        }
        if self.asks.is_empty() {
            let (ra, q) = (self.ra, self.level_qty(0));
            self.set(&mut out, Side::Sell, ra, q);
        }
        let trade = if self.rng.chance(self.params.trade_rate * if burst { 4.0 } else { 1.0 }) {
            self.trade(&mut out, avoid)
        } else {
            None
        };
        (out, trade)
    }

    /// Moves the references to `(bid_ref, ask_ref)`: deletes bids above the bid reference and
    /// asks below the ask reference, and fills the touch levels that the move left empty.
    fn move_references(&mut self, out: &mut Vec<Change>, bid_ref: i64, ask_ref: i64) {
        let moved_bid = bid_ref != self.r;
        let moved_ask = ask_ref != self.ra;
        (self.r, self.ra) = (bid_ref, ask_ref);
        let crossed_bids: Vec<i64> = self.bids.range(bid_ref + 1..).map(|(p, _)| *p).collect();
        let crossed_asks: Vec<i64> = self.asks.range(..ask_ref).map(|(p, _)| *p).collect();
        for p in crossed_bids {
            self.set(out, Side::Buy, p, 0);
        }
        for p in crossed_asks {
            self.set(out, Side::Sell, p, 0);
        }
        if moved_bid && !self.bids.contains_key(&bid_ref) {
            let q = self.level_qty(0);
            self.set(out, Side::Buy, bid_ref, q);
        }
        if moved_ask && !self.asks.contains_key(&ask_ref) {
            let q = self.level_qty(0);
            self.set(out, Side::Sell, ask_ref, q);
        }
    }

    /// Whether `price` holds the only level of `side`.
    fn is_last_level(&self, side: Side, price: i64) -> bool {
        let map = if side == Side::Buy { &self.bids } else { &self.asks };
        map.len() == 1 && map.contains_key(&price)
    }

    /// A market order that takes part of the best level on one side.
    fn trade(&mut self, out: &mut Vec<Change>, avoid: &[(Side, i64)]) -> Option<ModelTrade> {
        let buy = self.rng.chance(0.5);
        let (side, aggressor) = if buy { (Side::Sell, Aggressor::Buy) } else { (Side::Buy, Aggressor::Sell) };
        let (price, have) = if buy { self.asks().next()? } else { self.bids().next()? };
        if avoid.contains(&(side, price)) {
            return None;
        }
        let mut qty = 1 + self.rng.below(have as u64) as i64;
        if qty == have && self.is_last_level(side, price) {
            // Never empty a side: leave one lot.
            qty = have - 1;
            if qty == 0 {
                return None;
            }
        }
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
    fn stepping_towards_references_keeps_every_level_on_its_side_and_fills_the_new_touch() {
        let mut m = Model::new(params(), 9, 1_000);
        let mut rng = SplitMix64::new(4);
        for _ in 0..3_000 {
            // Jumps of up to 40 ticks either way, spreads of 1 to 5 ticks.
            let bid_ref = m.references().0 + rng.range(-40, 40);
            let ask_ref = bid_ref + rng.range(1, 5);
            m.step_towards(Some((bid_ref, ask_ref)), &[], usize::MAX);
            assert_eq!(m.references(), (bid_ref, ask_ref));
            assert!(m.bids().all(|(p, _)| p <= bid_ref) && m.asks().all(|(p, _)| p >= ask_ref));
            assert!(m.bids().next().is_some() && m.asks().next().is_some(), "no side is ever emptied");
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

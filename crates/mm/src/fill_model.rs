//! The probability that a resting order fills within a horizon, from the recent tape.
//!
//! An order rests on `side` at `depth` ticks behind the touch of its side (0 at the touch), with
//! `ahead` lots in front of it at its price. It fills (any lot) within the horizon `h` when the
//! volume that reaches its price in that time exceeds `ahead`. What reaches a price depends on
//! where the price goes: a bid left behind by a rally sees no more trades, one that the market
//! falls to sees many. So the volume is measured relative to the touch **at the start of each
//! horizon-long interval** of the recent tape ([`ReachStats`]): a new interval starts every
//! `slot` (a tenth of the horizon, at least a hundredth of the window); each interval keeps the
//! touch of both sides when it started and, for `h`, every trade against its side at
//! `δ = touch − price` ticks (bids; `price − touch` for asks) when `δ ≥ 0` — a trade at a
//! better price than the interval's touch (the price moved away) reaches no order of the
//! interval. Over the `n` intervals whose horizon ended within the window:
//!
//! ```text
//! N_i(d) = trades of interval i at δ ≥ d            L_i(d) = their lots
//! μ(d)   = Σ N_i(d) / n                             (expected trades reaching depth d per horizon)
//! m(d)   = Σ L_i(d) / Σ N_i(d)                      (their mean size, lots)
//! ```
//!
//! Two predictions follow ([`Reach`]):
//!
//! - **compound Poisson**: the trades reaching depth `d` within `h` arrive as a Poisson number
//!   `N ~ Poisson(μ)` of exponential sizes of mean `m`, and the order fills when their sum passes
//!   `ahead`. The sum of `n` such sizes exceeds `a` exactly when fewer than `n` events of a
//!   rate-`1/m` Poisson process fall in `[0, a]`, so with `K ~ Poisson(a / m)` independent of `N`:
//!
//!   ```text
//!   p = P(S_N > a) = P(K < N) = Σ_{k≥0} e^{−a/m} (a/m)^k / k! · P(N > k)
//!   ```
//!
//!   ([`compound_poisson_exceeds`]; `a = 0` gives `1 − e^{−μ}`: an order at the front still needs
//!   one trade to reach it).
//! - **empirical**: the share of the intervals in which the lots that reached depth `d` exceeded
//!   `ahead`: `p = #{i : L_i(d) > a} / n`. It keeps what the Poisson assumption drops: trades come
//!   in bursts when the price runs towards the order and not at all when it runs away.
//!
//! A trade that passes through the order's price (δ > d) counts its whole size: the order's
//! level was emptied by it. Depths of [`DEPTH_BINS`] − 1 ticks or more share the last bin.

use std::collections::VecDeque;

use wintermute_core::Side;

/// Depth bins, ticks behind the interval's touch (the last one holds every deeper trade).
pub const DEPTH_BINS: usize = 64;
/// Intervals kept in the window at most (the slot is at least window / this).
pub const MAX_SLOTS: i64 = 100;

/// `P(S_N > a)` for a compound Poisson sum `S_N` of `N ~ Poisson(mean_count)` exponential sizes
/// of mean `mean_size`, at `a = ahead` (see the module docs). 0 when no trade is expected.
pub fn compound_poisson_exceeds(mean_count: f64, mean_size: f64, ahead: f64) -> f64 {
    if mean_count.is_nan() || mean_size.is_nan() || mean_count <= 0.0 || mean_size <= 0.0 {
        return 0.0;
    }
    let x = ahead.max(0.0) / mean_size;
    // P(K = k) and P(N ≤ k), both by recursion in log space (no underflow to a wrong value for
    // large means: terms below e^−745 are 0, which is their value to f64 precision).
    let (ln_mu, ln_x) = (mean_count.ln(), x.ln());
    let (mut ln_pn, mut ln_pk) = (-mean_count, -x);
    let mut cdf_n = ln_pn.exp();
    let mut cdf_k = 0.0;
    let mut p = 0.0;
    for k in 0..100_000u32 {
        if k > 0 {
            let ln_k = f64::from(k).ln();
            ln_pn += ln_mu - ln_k;
            ln_pk += ln_x - ln_k;
            cdf_n += ln_pn.exp();
        }
        let pk = if x == 0.0 { f64::from(u8::from(k == 0)) } else { ln_pk.exp() };
        let tail_n = (1.0 - cdf_n).max(0.0);
        p += pk * tail_n;
        cdf_k += pk;
        // What is left is at most P(K > k) · P(N > k).
        if tail_n < 1e-13 || ((1.0 - cdf_k) < 1e-13 && f64::from(k) > x) {
            break;
        }
    }
    p.clamp(0.0, 1.0)
}

/// The two predictions of the module docs for one order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reach {
    /// Compound Poisson.
    pub compound_poisson: f64,
    /// Share of the window's intervals in which the volume passed the lots ahead.
    pub empirical: f64,
}

#[derive(Debug, Clone)]
struct Slot {
    start_ns: i64,
    /// The touch of each side (bids, asks) when the interval started.
    touch: [Option<i64>; 2],
    /// Per side, trades and lots per depth bin; turned into suffix sums (δ ≥ d) when done.
    trades: [[u32; DEPTH_BINS]; 2],
    lots: [[i64; DEPTH_BINS]; 2],
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

/// The recent tape's volume reaching each depth per horizon (see the module docs).
#[derive(Debug, Clone)]
pub struct ReachStats {
    horizon_ns: i64,
    window_ns: i64,
    slot_ns: i64,
    next_start_ns: Option<i64>,
    touch: [Option<i64>; 2],
    /// Intervals whose horizon has not ended yet.
    open: VecDeque<Slot>,
    /// Intervals whose horizon ended within the window, with suffix sums.
    done: VecDeque<Slot>,
    /// Per side: valid intervals among `done`, and the sums of their suffix sums.
    valid: [u32; 2],
    total_trades: [[u64; DEPTH_BINS]; 2],
    total_lots: [[i64; DEPTH_BINS]; 2],
    /// Spare intervals (no allocation once warm).
    spare: Vec<Slot>,
    /// The finished intervals changed this many times (for `memo`).
    generation: u64,
    /// Per side and depth bin, the last prediction: (generation, ahead, prediction). The
    /// intervals change every slot, while orders rest and get compared far more often.
    memo: [[(u64, f64, Reach); DEPTH_BINS]; 2],
}

impl ReachStats {
    /// Predictions over `horizon_ns` from the intervals of the last `window_ns` (both > 0).
    pub fn new(horizon_ns: i64, window_ns: i64) -> Self {
        let horizon_ns = horizon_ns.max(1);
        let window_ns = window_ns.max(1);
        let slot_ns = (horizon_ns / 10).max(window_ns / MAX_SLOTS).max(1);
        let open_cap = (horizon_ns / slot_ns + 2) as usize;
        let done_cap = (window_ns / slot_ns + 2) as usize;
        let empty = Slot { start_ns: 0, touch: [None; 2], trades: [[0; DEPTH_BINS]; 2], lots: [[0; DEPTH_BINS]; 2] };
        ReachStats {
            horizon_ns,
            window_ns,
            slot_ns,
            next_start_ns: None,
            touch: [None; 2],
            open: VecDeque::with_capacity(open_cap),
            done: VecDeque::with_capacity(done_cap),
            valid: [0; 2],
            total_trades: [[0; DEPTH_BINS]; 2],
            total_lots: [[0; DEPTH_BINS]; 2],
            spare: vec![empty; open_cap + done_cap],
            generation: 1,
            memo: [[(0, 0.0, Reach { compound_poisson: 0.0, empirical: 0.0 }); DEPTH_BINS]; 2],
        }
    }

    /// The interval spacing, ns.
    pub fn slot_ns(&self) -> i64 {
        self.slot_ns
    }

    /// The touch now (best bid, best ask), for the intervals that start next.
    pub fn set_touch(&mut self, bid: Option<i64>, ask: Option<i64>) {
        self.touch = [bid, ask];
    }

    /// Time moves to `now_ns`: intervals start every slot, end after the horizon and leave the
    /// window after it.
    pub fn set_now(&mut self, now_ns: i64) {
        let next = *self.next_start_ns.get_or_insert(now_ns);
        if now_ns >= next {
            // After a long gap only the intervals that can still matter are made (the touch
            // did not change in between).
            let steps = (now_ns - next) / self.slot_ns;
            let keep = (self.window_ns + self.horizon_ns) / self.slot_ns + 1;
            let mut start = next + (steps - steps.min(keep)) * self.slot_ns;
            while start <= now_ns {
                self.close_until(start);
                // The spares cover every interval kept, so this never allocates once made.
                let mut s = self.spare.pop().unwrap_or(Slot {
                    start_ns: 0,
                    touch: [None; 2],
                    trades: [[0; DEPTH_BINS]; 2],
                    lots: [[0; DEPTH_BINS]; 2],
                });
                s.start_ns = start;
                s.touch = self.touch;
                s.trades = [[0; DEPTH_BINS]; 2];
                s.lots = [[0; DEPTH_BINS]; 2];
                self.open.push_back(s);
                start += self.slot_ns;
            }
            self.next_start_ns = Some(start);
        }
        self.close_until(now_ns);
    }

    /// Ends the intervals whose horizon passed by `now_ns`; drops those out of the window.
    fn close_until(&mut self, now_ns: i64) {
        let before = (self.done.len(), self.done.front().map(|s| s.start_ns));
        while self.open.front().is_some_and(|s| s.start_ns + self.horizon_ns <= now_ns) {
            let Some(mut s) = self.open.pop_front() else { break };
            for side in 0..2 {
                for b in (0..DEPTH_BINS - 1).rev() {
                    s.trades[side][b] += s.trades[side][b + 1];
                    s.lots[side][b] += s.lots[side][b + 1];
                }
                if s.touch[side].is_some() {
                    self.valid[side] += 1;
                    for b in 0..DEPTH_BINS {
                        self.total_trades[side][b] += u64::from(s.trades[side][b]);
                        self.total_lots[side][b] += s.lots[side][b];
                    }
                }
            }
            self.done.push_back(s);
        }
        while self.done.front().is_some_and(|s| s.start_ns + self.horizon_ns <= now_ns - self.window_ns) {
            let Some(s) = self.done.pop_front() else { break };
            for side in 0..2 {
                if s.touch[side].is_some() {
                    self.valid[side] -= 1;
                    for b in 0..DEPTH_BINS {
                        self.total_trades[side][b] -= u64::from(s.trades[side][b]);
                        self.total_lots[side][b] -= s.lots[side][b];
                    }
                }
            }
            self.spare.push(s);
        }
        if (self.done.len(), self.done.front().map(|s| s.start_ns)) != before {
            self.generation += 1;
        }
    }

    /// A trade of `lots` at `price` against a resting order on `maker_side`.
    pub fn on_trade(&mut self, maker_side: Side, price: i64, lots: i64) {
        let side = side_index(maker_side);
        for s in self.open.iter_mut() {
            let Some(touch) = s.touch[side] else { continue };
            let depth = if maker_side == Side::Buy { touch - price } else { price - touch };
            if depth >= 0 {
                let b = (depth as usize).min(DEPTH_BINS - 1);
                s.trades[side][b] += 1;
                s.lots[side][b] += lots;
            }
        }
    }

    /// Intervals the predictions for `side` rest on (0: no prediction).
    pub fn intervals(&self, side: Side) -> u32 {
        self.valid[side_index(side)]
    }

    /// The predictions for an order on `side`, `depth` ticks behind its side's touch now, with
    /// `ahead` lots in front of it (`None` without a finished interval).
    pub fn predict(&mut self, side: Side, depth: i64, ahead: f64) -> Option<Reach> {
        let i = side_index(side);
        let n = self.valid[i];
        if n == 0 {
            return None;
        }
        let b = (depth.max(0) as usize).min(DEPTH_BINS - 1);
        let (generation, memo_ahead, memo) = self.memo[i][b];
        if generation == self.generation && memo_ahead == ahead {
            return Some(memo);
        }
        let trades = self.total_trades[i][b];
        let mean_count = trades as f64 / f64::from(n);
        let mean_size = if trades == 0 { 0.0 } else { self.total_lots[i][b] as f64 / trades as f64 };
        let passed = self.done.iter().filter(|s| s.touch[i].is_some() && s.lots[i][b] as f64 > ahead).count();
        let reach = Reach {
            compound_poisson: compound_poisson_exceeds(mean_count, mean_size, ahead),
            empirical: passed as f64 / f64::from(n),
        };
        self.memo[i][b] = (self.generation, ahead, reach);
        Some(reach)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn compound_poisson_equals_hand_computed_values() {
        // Nothing ahead: one trade is enough, P(N ≥ 1) = 1 − e^−μ.
        assert!(close(compound_poisson_exceeds(2.0, 3.0, 0.0), 1.0 - (-2.0f64).exp()));
        // No trade expected: never.
        assert_eq!(compound_poisson_exceeds(0.0, 3.0, 5.0), 0.0);
        assert_eq!(compound_poisson_exceeds(2.0, 0.0, 5.0), 0.0);
        // μ = 1, a = m (x = 1): Σ_k e^−1/k! · P(N > k) with N ~ Poisson(1):
        // P(N > 0) = 1 − e^−1, P(N > 1) = 1 − 2e^−1, P(N > 2) = 1 − 2.5e^−1,
        // P(N > 3) = 1 − (8/3)e^−1, P(N > 4) = 1 − (65/24)e^−1, …
        let e = (-1.0f64).exp();
        let mut hand = 0.0;
        let (mut fact, mut cdf_sum) = (1.0, 0.0);
        for k in 0..30 {
            if k > 0 {
                fact *= k as f64;
            }
            cdf_sum += 1.0 / fact; // Σ_{j≤k} 1/j!
            hand += e / fact * (1.0 - e * cdf_sum);
        }
        let first_terms = e * (1.0 - e) + e * (1.0 - 2.0 * e) + e / 2.0 * (1.0 - 2.5 * e);
        assert!(hand > first_terms);
        assert!(close(compound_poisson_exceeds(1.0, 4.0, 4.0), hand), "{hand}");
        let p = compound_poisson_exceeds(0.5, 2.0, 3.0);
        // Monotone: more ahead, less likely; more trades, more likely.
        assert!(p < compound_poisson_exceeds(0.5, 2.0, 1.0));
        assert!(p < compound_poisson_exceeds(1.5, 2.0, 3.0));
        // Huge means stay finite and near certain; huge queues near impossible.
        assert!((compound_poisson_exceeds(5_000.0, 1.0, 10.0) - 1.0).abs() < 1e-9);
        assert!(compound_poisson_exceeds(0.1, 1.0, 1_000.0) < 1e-12);
    }

    #[test]
    fn a_single_exponential_trade_passes_the_queue_with_probability_e_to_the_minus_a_over_m() {
        // With μ → 0, P ≈ μ · P(one size > a) = μ e^{−a/m}: the ratio tends to e^{−a/m}.
        let mu = 1e-6;
        let p = compound_poisson_exceeds(mu, 5.0, 10.0);
        assert!((p / mu - (-2.0f64).exp()).abs() < 1e-5, "{}", p / mu);
    }

    fn at(r: &mut ReachStats, depth: i64, ahead: f64) -> Reach {
        r.predict(Side::Buy, depth, ahead).unwrap()
    }

    #[test]
    fn intervals_measure_trades_from_the_touch_they_started_at() {
        // Horizon 100, window 1000: an interval every 10 (horizon / 10 = window / 100 = 10).
        let mut r = ReachStats::new(100, 1_000);
        assert_eq!(r.slot_ns(), 10);
        r.set_touch(Some(100), Some(102));
        // Interval [0, 100) starts with bid 100, ask 102. The price falls through the bids: 3
        // lots at 100 (δ 0), 4 at 98 (δ 2); a rally's trade at 101 (above the interval's bid:
        // the price moved away) does not count.
        r.set_now(0);
        r.on_trade(Side::Buy, 100, 3);
        r.on_trade(Side::Buy, 98, 4);
        r.on_trade(Side::Buy, 101, 9);
        r.on_trade(Side::Sell, 103, 2); // an ask one tick behind the ask touch
        assert_eq!(r.intervals(Side::Buy), 0);
        assert_eq!(r.predict(Side::Buy, 0, 0.0), None);
        r.set_touch(Some(101), Some(103));
        r.set_now(100); // the first interval ends; nine more opened at 10, 20, …, 90 and one at 100
        assert_eq!(r.intervals(Side::Buy), 1);
        // Depth 0: 2 trades, 7 lots: μ = 2, m = 3.5. Depth 1 and 2: one trade of 4 lots.
        // Depth 3: none.
        assert!(close(at(&mut r, 0, 0.0).compound_poisson, 1.0 - (-2.0f64).exp()));
        assert!(close(at(&mut r, 0, 3.5).compound_poisson, compound_poisson_exceeds(2.0, 3.5, 3.5)));
        assert!(close(at(&mut r, 2, 0.0).compound_poisson, 1.0 - (-1.0f64).exp()));
        assert_eq!(at(&mut r, 3, 0.0).compound_poisson, 0.0);
        // Empirical: 7 lots reached depth 0 (> 6, not > 7), 4 reached depth 2.
        assert_eq!((at(&mut r, 0, 6.0).empirical, at(&mut r, 0, 7.0).empirical), (1.0, 0.0));
        assert_eq!((at(&mut r, 2, 3.9).empirical, at(&mut r, 2, 4.0).empirical), (1.0, 0.0));
        // Asks: one trade of 2 at δ 1.
        assert_eq!(r.predict(Side::Sell, 1, 1.0).unwrap().empirical, 1.0);
        assert_eq!(r.predict(Side::Sell, 2, 0.0).unwrap().empirical, 0.0);
        // The intervals that opened at 10..=90 saw nothing: once all ten are done, depth 0's
        // empirical share is 1 in 10, and μ = 2 / 10.
        r.set_now(190);
        assert_eq!(r.intervals(Side::Buy), 10);
        assert!(close(at(&mut r, 0, 0.0).empirical, 0.1));
        assert!(close(at(&mut r, 0, 0.0).compound_poisson, 1.0 - (-0.2f64).exp()));
        // Out of the window (ended before now − 1000): forgotten.
        r.set_now(1_100);
        assert_eq!(r.intervals(Side::Buy), 100);
        assert_eq!(at(&mut r, 0, 0.0).empirical, 0.0);
    }
}

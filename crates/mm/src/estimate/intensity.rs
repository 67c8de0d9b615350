//! Trade-arrival intensity: `λ(δ) = A·e^(−kδ)`, the rate of trades that reach a depth `δ` ticks
//! from the mid (the rate at which a quote resting `δ` away would be hit), fitted online.
//!
//! Keep one estimator per side: trades that lift asks (buy aggressors, depth `price − mid`)
//! price our asks; trades that hit bids (sell aggressors, depth `mid − price`) price our bids.
//!
//! ## The fit
//! Depths are put in buckets of width `w` ticks (`bucket i` holds depths in `[i·w, (i+1)·w)`,
//! the last bucket everything deeper, a negative depth counts as 0). For each bucket edge
//! `δ_i = i·w` the **count** of trades in the window that reached at least that depth is
//! `N_i = Σ_{j ≥ i} count_j` (counts of trades, never their volume), and
//!
//! ```text
//! ln(N_i / T) = ln A − k·δ_i        T = the window's length in seconds
//! ```
//!
//! is fitted by ordinary least squares over the edges with `N_i > 0`: `k = −slope`,
//! `A = e^intercept`. `T` is the configured window, or the time since the first trade while
//! less than one window has passed. The fit needs two edges with trades and a positive `k`;
//! otherwise there is no fit and the caller keeps its fallback.
//!
//! ## The rolling window
//! Trades sit in a ring of fixed capacity (`max_trades`) with their bucket, and per-bucket
//! counts are kept up to date as trades enter and leave (older than the window, or pushed out
//! of a full ring): recording is O(1), fitting O(buckets), and neither allocates.

use crate::models::Intensity;

/// A rolling least-squares fit of `λ(δ) = A·e^(−kδ)` for one side.
#[derive(Debug, Clone)]
pub struct IntensityEstimator {
    window_ns: i64,
    bucket_ticks: f64,
    counts: Vec<u64>,
    /// (time, bucket) of each trade in the window, oldest at `head`.
    ring: Vec<(i64, u16)>,
    head: usize,
    len: usize,
    first_ns: Option<i64>,
}

impl IntensityEstimator {
    /// A window of `window_ns` (> 0), `buckets` (2..=65535) of `bucket_ticks` (> 0) each, and
    /// room for `max_trades` (>= 1) trades.
    pub fn new(window_ns: i64, bucket_ticks: f64, buckets: usize, max_trades: usize) -> Self {
        let buckets = buckets.clamp(2, u16::MAX as usize);
        IntensityEstimator {
            window_ns: window_ns.max(1),
            bucket_ticks,
            counts: vec![0; buckets],
            ring: vec![(0, 0); max_trades.max(1)],
            head: 0,
            len: 0,
            first_ns: None,
        }
    }

    /// Records a trade `depth_ticks` away from the mid at `ts_ns` (non-decreasing).
    pub fn record(&mut self, ts_ns: i64, depth_ticks: f64) {
        self.first_ns.get_or_insert(ts_ns);
        self.evict(ts_ns);
        if self.len == self.ring.len() {
            self.pop();
        }
        let last = self.counts.len() - 1;
        let bucket = if depth_ticks > 0.0 { ((depth_ticks / self.bucket_ticks) as usize).min(last) } else { 0 };
        let tail = (self.head + self.len) % self.ring.len();
        self.ring[tail] = (ts_ns, bucket as u16);
        self.len += 1;
        self.counts[bucket] += 1;
    }

    fn pop(&mut self) {
        let (_, bucket) = self.ring[self.head];
        self.counts[bucket as usize] -= 1;
        self.head = (self.head + 1) % self.ring.len();
        self.len -= 1;
    }

    /// Drops the trades older than the window at `now_ns`.
    fn evict(&mut self, now_ns: i64) {
        while self.len > 0 && self.ring[self.head].0 <= now_ns - self.window_ns {
            self.pop();
        }
    }

    /// Trades in the window.
    pub fn trades(&self) -> usize {
        self.len
    }

    /// The fit at `now_ns`, or `None` (fewer than two depth edges with trades, or `k <= 0`).
    pub fn fit(&mut self, now_ns: i64) -> Option<Intensity> {
        self.evict(now_ns);
        let elapsed = now_ns - self.first_ns?;
        let span_s = elapsed.clamp(0, self.window_ns) as f64 / 1e9;
        if span_s <= 0.0 {
            return None;
        }
        // Sums for least squares over (δ_i, ln(N_i / T)), walking the edges deepest first.
        let (mut n, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let mut tail = 0u64;
        for i in (0..self.counts.len()).rev() {
            tail += self.counts[i];
            if tail == 0 {
                continue;
            }
            let x = i as f64 * self.bucket_ticks;
            let y = (tail as f64 / span_s).ln();
            n += 1.0;
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
        }
        let det = n * sxx - sx * sx;
        if n < 2.0 || det <= 0.0 {
            return None;
        }
        let slope = (n * sxy - sx * sy) / det;
        let intercept = (sy - slope * sx) / n;
        (slope < 0.0).then(|| Intensity { a: intercept.exp(), k: -slope })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wintermute_core::rng::SplitMix64;

    const S: i64 = 1_000_000_000;

    #[test]
    fn tail_counts_halving_per_tick_give_k_ln2_and_a_the_rate_at_the_mid() {
        // One second, buckets of 1 tick. Trades per bucket 4, 2, 1, 1 -> tail counts
        // N = 8, 4, 2, 1 at δ = 0, 1, 2, 3: ln N = ln 8 − δ·ln 2 exactly, so k = ln 2, A = 8/s.
        let mut e = IntensityEstimator::new(10 * S, 1.0, 4, 100);
        let depths = [0.0, 0.2, 0.5, 0.9, 1.0, 1.5, 2.7, 3.0];
        for (i, d) in depths.iter().enumerate() {
            e.record(i as i64, *d);
        }
        let fit = e.fit(S).unwrap(); // elapsed since the first trade: 1 s
        assert!((fit.k - std::f64::consts::LN_2).abs() < 1e-12, "k = {}", fit.k);
        assert!((fit.a - 8.0).abs() < 1e-9, "A = {}", fit.a);
    }

    #[test]
    fn the_fit_recovers_a_and_k_from_seeded_poisson_trades_with_exponential_depths() {
        // Trades arrive at A = 2 per second (exponential gaps) for an hour; each reaches an
        // exponential depth of rate k = 0.5 per tick, so trades reaching δ arrive at 2·e^(−0.5δ).
        let (a, k) = (2.0, 0.5);
        let mut rng = SplitMix64::new(12);
        let mut e = IntensityEstimator::new(3600 * S, 1.0, 12, 100_000);
        let mut t = 0.0;
        while t < 3600.0 {
            e.record((t * 1e9) as i64, -(1.0 - rng.unit()).ln() / k);
            t += -(1.0 - rng.unit()).ln() / a;
        }
        let fit = e.fit(3600 * S).unwrap();
        assert!((fit.k - k).abs() / k < 0.05, "k = {}", fit.k);
        assert!((fit.a - a).abs() / a < 0.05, "A = {}", fit.a);
    }

    #[test]
    fn trades_older_than_the_window_leave_the_fit() {
        let mut e = IntensityEstimator::new(S, 1.0, 4, 100);
        for i in 0..8 {
            e.record(i, [0.0, 0.2, 0.5, 0.9, 1.0, 1.5, 2.7, 3.0][i as usize]);
        }
        assert_eq!(e.trades(), 8);
        // One window after them, all are gone and there is nothing to fit.
        assert_eq!(e.fit(S + 8), None);
        assert_eq!(e.trades(), 0);
    }

    #[test]
    fn a_full_ring_drops_its_oldest_trade_and_keeps_the_counts_consistent() {
        let mut e = IntensityEstimator::new(100 * S, 1.0, 3, 2);
        e.record(0, 2.5); // bucket 2, pushed out by the third trade
        e.record(1, 0.5);
        e.record(2, 1.5);
        assert_eq!(e.trades(), 2);
        // Left: one trade at bucket 0, one at bucket 1 -> N = 2, 1 at δ = 0, 1; T = 1 s after
        // the first trade: k = ln 2, A = 2.
        let fit = e.fit(S).unwrap();
        assert!((fit.k - std::f64::consts::LN_2).abs() < 1e-12);
        assert!((fit.a - 2.0).abs() < 1e-9);
    }

    #[test]
    fn all_trades_at_one_depth_give_no_fit() {
        let mut e = IntensityEstimator::new(S, 1.0, 4, 10);
        e.record(0, 0.1);
        e.record(1, 0.3);
        assert_eq!(e.fit(S / 2), None);
    }
}

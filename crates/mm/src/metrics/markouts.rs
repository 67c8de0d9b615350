//! Markouts: where the market went after each of our fills.
//!
//! For a fill of side `d` (+1 buy, −1 sell) at price `p`, the markout at horizon `h` against a
//! reference `x` (our venue's mid, or the fair value) is
//!
//! ```text
//! markout_bps(h) = d · (x(t_fill + h) − p) / p · 10_000
//! ```
//!
//! positive when the market moved our way (we bought and it went up). `x(t)` is the latest
//! observation stamped at or before `t`. Horizons: [`MARKOUT_HORIZONS_NS`] (+100 ms, 1 s, 5 s,
//! 30 s, 60 s) by default, or any others given to [`Markouts::with_horizons`]. Each horizon and reference keeps a running mean and variance (Welford) and
//! reports the mean with a 95% confidence interval `mean ± 1.96 · s / √n` (normal
//! approximation; `s` the sample standard deviation).
//!
//! Fills wait for their horizons in fixed-capacity queues, one per horizon (allocated once at
//! construction): recording a fill never allocates; when a queue is full the fill is counted in
//! [`Markouts::dropped`] and skipped for that horizon. Fills still pending when the run ends are
//! not counted.

use std::collections::VecDeque;

use crate::types::Side;

/// The markout horizons, nanoseconds: +100 ms, 1 s, 5 s, 30 s, 60 s.
pub const MARKOUT_HORIZONS_NS: [i64; 5] = [100_000_000, 1_000_000_000, 5_000_000_000, 30_000_000_000, 60_000_000_000];

/// What a markout is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkoutReference {
    /// Our venue's mid.
    Mid,
    /// The fair value.
    Fair,
}

/// Running mean and variance (Welford's method).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RunningStats {
    n: u64,
    mean: f64,
    m2: f64,
}

impl RunningStats {
    /// Adds one value.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Adds every value `other` holds, as if pushed here (Chan et al.'s pairwise update of
    /// the mean and the sum of squared deviations): the statistics of two sets of fills
    /// together (two venues' markouts into one).
    pub fn merge(&mut self, other: &RunningStats) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        self.mean += delta * other.n as f64 / n as f64;
        self.m2 += other.m2 + delta * delta * self.n as f64 * other.n as f64 / n as f64;
        self.n = n;
    }

    /// The summary so far.
    pub fn summary(&self) -> MarkoutSummary {
        let half_width = (self.n >= 2).then(|| {
            let sd = (self.m2 / (self.n - 1) as f64).sqrt();
            1.96 * sd / (self.n as f64).sqrt()
        });
        MarkoutSummary { count: self.n, mean_bps: (self.n > 0).then_some(self.mean), ci95_half_width_bps: half_width }
    }
}

/// One horizon's markouts against one reference.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MarkoutSummary {
    /// Fills measured.
    pub count: u64,
    /// Mean markout, bps (`None` before any fill).
    pub mean_bps: Option<f64>,
    /// Half-width of the 95% confidence interval, bps (`None` under two fills).
    pub ci95_half_width_bps: Option<f64>,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    due_ns: i64,
    sign: f64,
    price: f64,
}

#[derive(Debug, Clone, Copy)]
struct Observation {
    mid: f64,
    fair: f64,
}

/// Markouts at every horizon against our mid and the fair value.
#[derive(Debug, Clone)]
pub struct Markouts {
    horizons_ns: Vec<i64>,
    pending: Vec<VecDeque<Pending>>,
    capacity: usize,
    last: Option<Observation>,
    vs_mid: Vec<RunningStats>,
    vs_fair: Vec<RunningStats>,
    dropped: u64,
}

impl Markouts {
    /// At the [`MARKOUT_HORIZONS_NS`], room for `capacity` fills pending per horizon (allocated
    /// here, once).
    pub fn new(capacity: usize) -> Self {
        Self::with_horizons(capacity, &MARKOUT_HORIZONS_NS)
    }

    /// At `horizons_ns` (summary `i` is `horizons_ns[i]`), room for `capacity` fills pending per
    /// horizon (allocated here, once).
    pub fn with_horizons(capacity: usize, horizons_ns: &[i64]) -> Self {
        let h = horizons_ns.len();
        Self {
            horizons_ns: horizons_ns.to_vec(),
            pending: (0..h).map(|_| VecDeque::with_capacity(capacity)).collect(),
            capacity,
            last: None,
            vs_mid: vec![RunningStats::default(); h],
            vs_fair: vec![RunningStats::default(); h],
            dropped: 0,
        }
    }

    /// The horizons, ns.
    pub fn horizons_ns(&self) -> &[i64] {
        &self.horizons_ns
    }

    /// One of our fills at `price` ticks. Never allocates.
    pub fn on_fill(&mut self, ts_ns: i64, side: Side, price: i64) {
        let sign = match side {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        };
        for (queue, &h) in self.pending.iter_mut().zip(&self.horizons_ns) {
            if queue.len() == self.capacity {
                self.dropped += 1;
                continue;
            }
            queue.push_back(Pending { due_ns: ts_ns.saturating_add(h), sign, price: price as f64 });
        }
    }

    /// The market at `ts_ns` (nondecreasing): our venue's mid and the fair value, in ticks.
    pub fn on_market(&mut self, ts_ns: i64, mid: f64, fair: f64) {
        // Horizons that ended before this observation take the one before it.
        if let Some(prev) = self.last {
            self.resolve(|due| due < ts_ns, prev);
        }
        let now = Observation { mid, fair };
        self.last = Some(now);
        self.resolve(|due| due <= ts_ns, now);
    }

    fn resolve(&mut self, is_due: impl Fn(i64) -> bool, at: Observation) {
        for i in 0..self.pending.len() {
            while let Some(p) = self.pending[i].front().copied() {
                if !is_due(p.due_ns) {
                    break;
                }
                self.pending[i].pop_front();
                self.vs_mid[i].push(p.sign * (at.mid - p.price) / p.price * 1e4);
                self.vs_fair[i].push(p.sign * (at.fair - p.price) / p.price * 1e4);
            }
        }
    }

    /// The summary at horizon index `i` (into the horizons); `None` past the end.
    pub fn summary(&self, i: usize, reference: MarkoutReference) -> Option<MarkoutSummary> {
        Some(self.stats(i, reference)?.summary())
    }

    /// The running statistics at horizon index `i`; `None` past the end (merge several
    /// venues' with [`RunningStats::merge`]).
    pub fn stats(&self, i: usize, reference: MarkoutReference) -> Option<RunningStats> {
        match reference {
            MarkoutReference::Mid => self.vs_mid.get(i).copied(),
            MarkoutReference::Fair => self.vs_fair.get(i).copied(),
        }
    }

    /// Fill-horizon pairs skipped because a queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Fills still waiting for horizon `i`.
    pub fn pending(&self, i: usize) -> usize {
        self.pending.get(i).map_or(0, VecDeque::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn each_horizon_takes_the_latest_observation_at_or_before_it() {
        let mut m = Markouts::new(8);
        m.on_market(0, 100.0, 100.0);
        m.on_fill(0, Side::Buy, 100);
        m.on_market(50 * MS, 101.0, 100.5);
        m.on_market(100 * MS, 102.0, 101.0); // exactly +100 ms
        m.on_market(2_000 * MS, 99.0, 98.0); // +1 s resolves on the 100 ms observation
        let h100 = m.summary(0, MarkoutReference::Mid).unwrap();
        assert_eq!(h100.count, 1);
        assert!(close(h100.mean_bps.unwrap(), 200.0));
        assert!(close(m.summary(0, MarkoutReference::Fair).unwrap().mean_bps.unwrap(), 100.0));
        assert!(close(m.summary(1, MarkoutReference::Mid).unwrap().mean_bps.unwrap(), 200.0));
        assert_eq!(m.summary(2, MarkoutReference::Mid).unwrap().count, 0);
        // +5 s resolves on the 2 s observation once a later one arrives.
        m.on_market(6_000 * MS, 90.0, 90.0);
        assert!(close(m.summary(2, MarkoutReference::Mid).unwrap().mean_bps.unwrap(), -100.0));
        assert_eq!(m.pending(3), 1);
        assert!(m.summary(5, MarkoutReference::Mid).is_none());
    }

    #[test]
    fn a_sell_marks_out_positive_when_the_market_falls() {
        let mut m = Markouts::new(8);
        m.on_market(0, 200.0, 200.0);
        m.on_fill(0, Side::Sell, 200);
        m.on_market(100 * MS, 199.0, 199.5);
        let s = m.summary(0, MarkoutReference::Mid).unwrap();
        assert!(close(s.mean_bps.unwrap(), 50.0));
        assert!(close(m.summary(0, MarkoutReference::Fair).unwrap().mean_bps.unwrap(), 25.0));
    }

    #[test]
    fn the_confidence_interval_of_known_values_is_hand_computed() {
        let mut s = RunningStats::default();
        for x in [10.0, 20.0, 30.0] {
            s.push(x);
        }
        let summary = s.summary();
        // mean 20, sample sd 10, half width 1.96 * 10 / sqrt(3).
        assert!(close(summary.mean_bps.unwrap(), 20.0));
        assert!(close(summary.ci95_half_width_bps.unwrap(), 1.96 * 10.0 / 3f64.sqrt()));
        let mut one = RunningStats::default();
        one.push(5.0);
        assert_eq!(one.summary().ci95_half_width_bps, None);
    }

    #[test]
    fn merged_statistics_equal_those_of_every_value_pushed_into_one() {
        let (a, b) = ([10.0, -4.0, 7.5], [3.0, 12.0]);
        let (mut left, mut right, mut all) =
            (RunningStats::default(), RunningStats::default(), RunningStats::default());
        a.iter().for_each(|&x| left.push(x));
        b.iter().for_each(|&x| right.push(x));
        a.iter().chain(&b).for_each(|&x| all.push(x));
        let mut merged = left;
        merged.merge(&right);
        let (m, w) = (merged.summary(), all.summary());
        assert_eq!(m.count, 5);
        // mean 28.5 / 5 = 5.7
        assert!(close(m.mean_bps.unwrap(), 5.7));
        assert!(close(m.ci95_half_width_bps.unwrap(), w.ci95_half_width_bps.unwrap()));
        // Merging into or with nothing changes nothing.
        let mut empty = RunningStats::default();
        empty.merge(&left);
        assert_eq!(empty, left);
        left.merge(&RunningStats::default());
        assert_eq!(empty, left);
    }

    #[test]
    fn other_horizons_resolve_the_same_way() {
        let mut m = Markouts::with_horizons(4, &[10 * MS, 20 * MS]);
        assert_eq!(m.horizons_ns(), &[10 * MS, 20 * MS]);
        m.on_market(0, 100.0, 100.0);
        m.on_fill(0, Side::Buy, 100);
        m.on_market(10 * MS, 101.0, 102.0);
        m.on_market(30 * MS, 99.0, 99.0); // +20 ms resolves on the 10 ms observation
        assert!(close(m.summary(0, MarkoutReference::Mid).unwrap().mean_bps.unwrap(), 100.0));
        assert!(close(m.summary(1, MarkoutReference::Fair).unwrap().mean_bps.unwrap(), 200.0));
        assert!(m.summary(2, MarkoutReference::Mid).is_none());
    }

    #[test]
    fn a_full_pending_queue_counts_the_fills_it_skips() {
        let mut m = Markouts::new(2);
        for t in 0..3 {
            m.on_fill(t, Side::Buy, 100);
        }
        assert_eq!(m.dropped(), 5); // the third fill, at each of 5 horizons
        assert_eq!(m.pending(0), 2);
    }
}

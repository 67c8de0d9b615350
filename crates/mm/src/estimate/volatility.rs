//! Volatility: an EWMA of the mid's changes sampled on a fixed clock.
//!
//! The mid (any price in ticks: the fair value, a venue's mid) is fed as it changes. It is
//! **sampled at fixed instants** `t0 + n·Δ` (`t0`: the first update, `Δ`: the sampling
//! interval), the sample at an instant being the last mid seen strictly before it. Each sample
//! gives a return `r = mid_n − mid_(n−1)` in ticks (arithmetic, as in Avellaneda–Stoikov's
//! Brownian mid), and the variance per interval follows
//!
//! ```text
//! v ← λ·v + (1 − λ)·r²        λ = 2^(−Δ / half_life)
//! σ = sqrt(v / Δ_seconds)      ticks per √second
//! ```
//!
//! An update that comes after several instants without one counts the first as the return
//! since the previous sample and the others as zero returns (the mid did not move), in O(1):
//! `v ← λ^(n−1)·(λ·v + (1 − λ)·r²)`.

/// EWMA volatility of a mid sampled every `sample_ns`.
#[derive(Debug, Clone)]
pub struct VolatilityEstimator {
    sample_ns: i64,
    lambda: f64,
    variance: f64,
    /// The next sampling instant; `None` before the first mid.
    next_sample_ns: Option<i64>,
    last_sampled: f64,
    current: f64,
    samples: u64,
}

impl VolatilityEstimator {
    /// Samples every `sample_ns` (> 0) with an EWMA of half-life `half_life_s` (> 0), starting
    /// from σ = `initial_sigma` ticks per √second.
    pub fn new(sample_ns: i64, half_life_s: f64, initial_sigma: f64) -> Self {
        let sample_ns = sample_ns.max(1);
        let sample_s = sample_ns as f64 / 1e9;
        VolatilityEstimator {
            sample_ns,
            lambda: (-sample_s / half_life_s).exp2(),
            variance: initial_sigma * initial_sigma * sample_s,
            next_sample_ns: None,
            last_sampled: 0.0,
            current: 0.0,
            samples: 0,
        }
    }

    /// The per-sample decay λ.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// Feeds the mid (ticks) at `ts_ns` (non-decreasing).
    pub fn on_mid(&mut self, ts_ns: i64, mid: f64) {
        let Some(next) = self.next_sample_ns else {
            self.next_sample_ns = Some(ts_ns + self.sample_ns);
            self.last_sampled = mid;
            self.current = mid;
            return;
        };
        if ts_ns >= next {
            let n = (ts_ns - next) / self.sample_ns + 1;
            let r = self.current - self.last_sampled;
            self.variance = self.lambda * self.variance + (1.0 - self.lambda) * r * r;
            if n > 1 {
                self.variance *= self.lambda.powf((n - 1) as f64);
            }
            self.last_sampled = self.current;
            self.next_sample_ns = Some(next + n * self.sample_ns);
            self.samples += n as u64;
        }
        self.current = mid;
    }

    /// σ in ticks per √second.
    pub fn sigma(&self) -> f64 {
        (self.variance / (self.sample_ns as f64 / 1e9)).sqrt()
    }

    /// Sampling instants passed so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn sigma_follows_the_hand_computed_ewma_of_sampled_returns() {
        // Δ = 1 s and half-life 1 s: λ = 1/2. Start at σ = 0.
        let mut v = VolatilityEstimator::new(S, 1.0, 0.0);
        assert_eq!(v.lambda(), 0.5);
        v.on_mid(0, 100.0); // first mid: samples at 1 s, 2 s, ...
        v.on_mid(S / 2, 102.0);
        assert_eq!(v.sigma(), 0.0); // no instant passed yet
                                    // At 1 s the sample is 102 (the last mid before 1 s): r = 2, v = 0.5·0 + 0.5·4 = 2.
        v.on_mid(S, 101.0);
        assert_eq!(v.samples(), 1);
        assert!((v.sigma() - 2f64.sqrt()).abs() < 1e-12);
        // At 3.2 s: instants 2 s (sample 101, r = −1) and 3 s (r = 0) passed.
        // v = 0.5·(0.5·2 + 0.5·1) = 0.75; σ = sqrt(0.75 / 1 s).
        v.on_mid(3 * S + S / 5, 105.0);
        assert_eq!(v.samples(), 3);
        assert!((v.sigma() - 0.75f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn sigma_is_per_root_second_whatever_the_sampling_interval() {
        // Δ = 0.25 s, λ = 2^(−0.25/0.25) = 1/2. One return of 1 tick: v = 0.5 per 0.25 s,
        // σ² = 0.5 / 0.25 = 2 ticks² per second.
        let mut v = VolatilityEstimator::new(S / 4, 0.25, 0.0);
        v.on_mid(0, 10.0);
        v.on_mid(1, 11.0);
        v.on_mid(S / 4, 11.0);
        assert!((v.sigma() - 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn the_initial_sigma_holds_until_samples_arrive_and_decays_without_moves() {
        let mut v = VolatilityEstimator::new(S, 1.0, 3.0);
        assert!((v.sigma() - 3.0).abs() < 1e-12);
        v.on_mid(0, 50.0);
        v.on_mid(2 * S, 50.0); // instants 1 s and 2 s, zero returns: v = 9·(1/2)² = 2.25
        assert!((v.sigma() - 1.5).abs() < 1e-12);
    }
}

//! Seeded random numbers: one small generator, so a seed names the same stream everywhere (the
//! benchmark workloads of `wintermute-bench`, the synthetic market of `wintermute-feeds`, the
//! randomized tests).
//!
//! [`SplitMix64`] is self-contained (no dependency) and gives the same numbers on every platform
//! and every Rust version.
//!
//! ```
//! use wintermute_core::rng::SplitMix64;
//! let (mut a, mut b) = (SplitMix64::new(7), SplitMix64::new(7));
//! assert_eq!(a.next_u64(), b.next_u64());
//! assert!((10..=20).contains(&a.range(10, 20)));
//! ```

use crate::order::Side;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, statistically fine for workloads.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; Lemire's multiply-shift, bias < n / 2^64).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponential with the given mean, floored to an integer.
    #[inline]
    pub fn exp(&mut self, mean: f64) -> i64 {
        (-(1.0 - self.unit()).ln() * mean) as i64
    }

    #[inline]
    pub fn side(&mut self) -> Side {
        if self.next_u64() & 1 == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_the_published_splitmix64() {
        // The first outputs of SplitMix64 from state 0, as in the reference implementation.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut r = SplitMix64::new(42);
        let mut exp_sum = 0;
        for _ in 0..10_000 {
            assert!(r.below(7) < 7);
            assert!((-3..=3).contains(&r.range(-3, 3)));
            assert!((0.0..1.0).contains(&r.unit()));
            exp_sum += r.exp(5.0);
        }
        // floor(Exp(mean 5)) has mean 1 / (e^(1/5) - 1) = 4.52.
        let mean = exp_sum as f64 / 10_000.0;
        assert!((4.3..4.75).contains(&mean), "mean={mean}");
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
    }
}

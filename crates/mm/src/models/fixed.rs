//! The baseline: a fixed half-spread around the fair value, skewed linearly by inventory.
//!
//! ```text
//! bid = s − h − κ·q
//! ask = s + h − κ·q
//! ```
//!
//! `s` the fair value (ticks), `h` the half-spread (ticks), `κ` the skew (ticks per quote unit),
//! `q` the inventory (quote units). Long inventory lowers both quotes by `κ·q`.

use super::model_input::{ModelInput, RawQuote};

/// Fixed spread with a linear inventory skew.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedSpread {
    /// Half-spread `h`, ticks.
    pub half_spread: f64,
    /// Skew `κ`, ticks per quote unit.
    pub skew_per_unit: f64,
}

impl FixedSpread {
    /// The quote for `input`.
    #[inline]
    pub fn quote(&self, input: &ModelInput) -> RawQuote {
        let center = input.fair_value - self.skew_per_unit * input.q;
        RawQuote { bid: center - self.half_spread, ask: center + self.half_spread }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Intensity;

    fn input(s: f64, q: f64) -> ModelInput {
        let i = Intensity { a: 1.0, k: 1.0 };
        ModelInput { fair_value: s, q, sigma: 0.0, bid_intensity: i, ask_intensity: i, now_ns: 0 }
    }

    #[test]
    fn flat_inventory_quotes_the_half_spread_either_side_of_the_fair_value() {
        let m = FixedSpread { half_spread: 2.5, skew_per_unit: 0.5 };
        assert_eq!(m.quote(&input(100.0, 0.0)), RawQuote { bid: 97.5, ask: 102.5 });
    }

    #[test]
    fn long_inventory_lowers_both_quotes_by_the_skew() {
        // q = 3, κ = 0.5: both quotes 1.5 ticks lower than flat.
        let m = FixedSpread { half_spread: 2.5, skew_per_unit: 0.5 };
        assert_eq!(m.quote(&input(100.0, 3.0)), RawQuote { bid: 96.0, ask: 101.0 });
        assert_eq!(m.quote(&input(100.0, -3.0)), RawQuote { bid: 99.0, ask: 104.0 });
    }
}

//! Guéant–Lehalle–Fernandez-Tapia (2013), the closed-form approximation of the optimal quotes
//! with an infinite horizon, in the form hftbacktest's GLFT market-making example uses it.
//!
//! With `γ` the risk aversion, `ξ = γ`, `Δ = 1` (one quote unit per order), and per side the
//! intensity `A·e^(−kδ)` of that side:
//!
//! ```text
//! c1 = (1 / (ξΔ)) · ln(1 + ξΔ/k)
//! c2 = sqrt( γ / (2·A·Δ·k) · (1 + ξΔ/k)^(k/(ξΔ) + 1) )
//!
//! bid depth δb = c1_b + (Δ/2)·σ·c2_b + q·σ·c2_b        bid = s − δb
//! ask depth δa = c1_a + (Δ/2)·σ·c2_a − q·σ·c2_a        ask = s + δa
//! ```
//!
//! (`c1_b, c2_b` from the bid side's `A, k`; `c1_a, c2_a` from the ask side's.) The half-spread
//! is `c1 + σ·c2/2` and the inventory skew `σ·c2` per quote unit: long inventory (`q > 0`)
//! deepens the bid and shallows the ask, moving both quotes down.
//!
//! Units: `s`, depths in ticks; σ ticks per √second; `A` trades per second; `k` per tick; γ per
//! (tick · quote unit); `q` quote units (hftbacktest likewise divides its position by the order
//! size). With a single `A, k` for both sides this is exactly hftbacktest's formula without its
//! two tuning multipliers (they are 1 here).

use super::model_input::{Intensity, ModelInput, RawQuote};

/// GLFT, infinite horizon, per-side intensities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Glft {
    /// Risk aversion γ (> 0), also ξ.
    pub gamma: f64,
}

impl Glft {
    /// `(c1, c2)` for one side's intensity.
    #[inline]
    pub fn coefficients(&self, side: Intensity) -> (f64, f64) {
        let xi_delta = self.gamma; // ξ·Δ with ξ = γ and Δ = 1
        let base = 1.0 + xi_delta / side.k;
        let c1 = base.ln() / xi_delta;
        let c2 = (self.gamma / (2.0 * side.a * side.k) * base.powf(side.k / xi_delta + 1.0)).sqrt();
        (c1, c2)
    }

    /// The quote for `input`.
    #[inline]
    pub fn quote(&self, input: &ModelInput) -> RawQuote {
        let (c1b, c2b) = self.coefficients(input.bid_intensity);
        let (c1a, c2a) = self.coefficients(input.ask_intensity);
        let (s, q, sigma) = (input.fair_value, input.q, input.sigma);
        let bid_depth = c1b + 0.5 * sigma * c2b + q * sigma * c2b;
        let ask_depth = c1a + 0.5 * sigma * c2a - q * sigma * c2a;
        RawQuote { bid: s - bid_depth, ask: s + ask_depth }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(q: f64, bid: Intensity, ask: Intensity) -> ModelInput {
        ModelInput { fair_value: 100.0, q, sigma: 2.0, bid_intensity: bid, ask_intensity: ask, now_ns: 0 }
    }

    #[test]
    fn coefficients_equal_the_closed_form_computed_by_hand() {
        // γ = 0.1, A = 2, k = 0.5: 1 + γ/k = 1.2
        // c1 = ln(1.2) / 0.1 = 0.1823215568 / 0.1 = 1.823215568
        // c2 = sqrt(0.1 / (2·2·0.5) · 1.2^(0.5/0.1 + 1)) = sqrt(0.05 · 1.2^6) = sqrt(0.05 · 2.985984)
        //    = sqrt(0.1492992) = 0.3863925465
        let (c1, c2) = Glft { gamma: 0.1 }.coefficients(Intensity { a: 2.0, k: 0.5 });
        assert!((c1 - 1.823_215_568).abs() < 1e-9);
        assert!((c2 - 0.386_392_546_5).abs() < 1e-9);
    }

    #[test]
    fn per_side_quotes_equal_the_closed_form_computed_by_hand() {
        // s = 100, q = 2, σ = 2, γ = 0.1.
        // Bid side A = 2, k = 0.5: c1 = 1.8232155679, c2 = 0.3863925465 (test above).
        //   δb = 1.8232155679 + 0.5·2·0.3863925465 + 2·2·0.3863925465 = 1.8232155679 + 5·0.3863925465
        //      = 3.7551783005 -> bid = 96.2448216995
        // Ask side A = 1, k = 0.8: 1 + γ/k = 1.125
        //   c1 = ln(1.125)/0.1 = 1.1778303566
        //   c2 = sqrt(0.1/(2·1·0.8) · 1.125^9) = sqrt(0.0625 · 2.8865075111) = 0.4247431267
        //   δa = 1.1778303566 + 1·0.4247431267 − 4·0.4247431267 = 1.1778303566 − 3·0.4247431267
        //      = −0.0963990234 -> ask = 99.9036009766 (below the fair value: the quoter clamps it)
        let m = Glft { gamma: 0.1 };
        let q = m.quote(&input(2.0, Intensity { a: 2.0, k: 0.5 }, Intensity { a: 1.0, k: 0.8 }));
        assert!((q.bid - 96.244_821_699_5).abs() < 1e-9, "bid {}", q.bid);
        assert!((q.ask - 99.903_600_976_6).abs() < 1e-9, "ask {}", q.ask);
    }

    #[test]
    fn flat_symmetric_quotes_sit_the_half_spread_c1_plus_sigma_c2_over_2_either_side() {
        // A = 2, k = 0.5, σ = 2: half-spread = 1.8232155679 + 0.3863925465 = 2.2096081144.
        let i = Intensity { a: 2.0, k: 0.5 };
        let q = Glft { gamma: 0.1 }.quote(&input(0.0, i, i));
        assert!((q.bid - 97.790_391_885_6).abs() < 1e-9, "bid {}", q.bid);
        assert!((q.ask - 102.209_608_114_4).abs() < 1e-9, "ask {}", q.ask);
    }

    #[test]
    fn long_inventory_lowers_both_quotes_by_sigma_c2_per_unit() {
        let i = Intensity { a: 2.0, k: 0.5 };
        let m = Glft { gamma: 0.1 };
        let flat = m.quote(&input(0.0, i, i));
        let long = m.quote(&input(1.0, i, i));
        // σ·c2 = 2 · 0.3863925465 = 0.772785093 per unit.
        assert!((flat.bid - long.bid - 0.772_785_093).abs() < 1e-9);
        assert!((flat.ask - long.ask - 0.772_785_093).abs() < 1e-9);
    }
}

//! Avellaneda–Stoikov (2008), "High-frequency trading in a limit order book", as in the paper.
//!
//! With `s` the fair value, `q` the inventory, `γ` the risk aversion, `σ` the volatility, `k`
//! the intensity's decay and `T − t` the time left in the session:
//!
//! ```text
//! reservation price   r = s − q·γ·σ²·(T − t)
//! total spread        δa + δb = γ·σ²·(T − t) + (2/γ)·ln(1 + γ/k)
//! bid = r − spread/2,  ask = r + spread/2
//! ```
//!
//! Units: `s`, `r`, spreads in ticks; σ ticks per √second; `T − t` seconds; γ per (tick · quote
//! unit); `k` per tick; `q` quote units. The paper has one `k` for both sides; here it is the
//! mean of the bid and ask intensities' `k` (equal when the intensity is symmetric). `A` does not
//! appear in the paper's approximation.
//!
//! The paper's horizon `T` is the end of a trading session. Crypto trades around the clock, so
//! the session repeats: it ends at every multiple of `session_s` seconds since the Unix epoch
//! (`86400`: each UTC midnight), and `T − t = session_s − (now mod session_s)`. Near the end the
//! inventory term vanishes and the spread narrows to `(2/γ)·ln(1 + γ/k)`; the quoter's
//! `min_spread_ticks` bounds it from below.

use super::model_input::{ModelInput, RawQuote};

/// Avellaneda–Stoikov with a repeating session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AvellanedaStoikov {
    /// Risk aversion γ (> 0).
    pub gamma: f64,
    /// Session length, seconds (> 0).
    pub session_s: f64,
}

impl AvellanedaStoikov {
    /// `T − t` in seconds at `now_ns` (in `(0, session_s]`).
    #[inline]
    pub fn time_left_s(&self, now_ns: i64) -> f64 {
        let session_ns = (self.session_s * 1e9) as i64;
        if session_ns <= 0 {
            return 0.0;
        }
        (session_ns - now_ns.rem_euclid(session_ns)) as f64 / 1e9
    }

    /// The quote for `input`.
    #[inline]
    pub fn quote(&self, input: &ModelInput) -> RawQuote {
        let g = self.gamma;
        let k = (input.bid_intensity.k + input.ask_intensity.k) / 2.0;
        let risk = g * input.sigma * input.sigma * self.time_left_s(input.now_ns);
        let reservation = input.fair_value - input.q * risk;
        let half = (risk + (2.0 / g) * (1.0 + g / k).ln()) / 2.0;
        RawQuote { bid: reservation - half, ask: reservation + half }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Intensity;

    const S: i64 = 1_000_000_000;

    fn input(q: f64, now_ns: i64) -> ModelInput {
        let i = Intensity { a: 1.0, k: 1.5 };
        ModelInput { fair_value: 100.0, q, sigma: 2.0, bid_intensity: i, ask_intensity: i, now_ns }
    }

    #[test]
    fn time_left_counts_down_to_each_multiple_of_the_session() {
        let m = AvellanedaStoikov { gamma: 0.1, session_s: 60.0 };
        assert_eq!(m.time_left_s(50 * S), 10.0);
        assert_eq!(m.time_left_s(0), 60.0);
        assert_eq!(m.time_left_s(125 * S), 55.0);
    }

    #[test]
    fn quotes_equal_the_papers_formulas_computed_by_hand() {
        // s = 100, q = 2, γ = 0.1, σ = 2, k = 1.5, session 60 s, now = 50 s -> T − t = 10 s.
        // γσ²(T−t) = 0.1 · 4 · 10 = 4
        // r = 100 − 2 · 4 = 92
        // (2/γ)·ln(1 + γ/k) = 20 · ln(1.0666…) = 20 · 0.0645385211 = 1.2907704228
        // spread = 4 + 1.2907704228 = 5.2907704228, half = 2.6453852114
        // bid = 92 − 2.6453852114 = 89.3546147886, ask = 92 + 2.6453852114 = 94.6453852114
        let m = AvellanedaStoikov { gamma: 0.1, session_s: 60.0 };
        let q = m.quote(&input(2.0, 50 * S));
        assert!((q.bid - 89.354_614_788_6).abs() < 1e-9, "bid {}", q.bid);
        assert!((q.ask - 94.645_385_211_4).abs() < 1e-9, "ask {}", q.ask);
    }

    #[test]
    fn long_inventory_lowers_both_quotes_and_short_raises_them() {
        let m = AvellanedaStoikov { gamma: 0.1, session_s: 60.0 };
        let flat = m.quote(&input(0.0, 50 * S));
        let long = m.quote(&input(2.0, 50 * S));
        let short = m.quote(&input(-2.0, 50 * S));
        // Flat: r = s = 100, so the quote is symmetric: 100 ± 2.6453852114.
        assert!((flat.bid - 97.354_614_788_6).abs() < 1e-9);
        assert!(long.bid < flat.bid && long.ask < flat.ask);
        assert!(short.bid > flat.bid && short.ask > flat.ask);
        // The spread does not depend on q.
        assert!(((long.ask - long.bid) - (short.ask - short.bid)).abs() < 1e-12);
    }
}

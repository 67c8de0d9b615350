//! The fair value: a weighted, consolidated microprice across the external venues' tops.
//!
//! ## The formula
//! For each venue `v` with a fresh, two-sided, uncrossed top on our grid (bid `b`, bid quantity
//! `Qb`, ask `a`, ask quantity `Qa`):
//!
//! ```text
//! microprice_v = (b·Qa + a·Qb) / (Qb + Qa)          (ticks; leans toward the thinner side)
//! adjusted_v   = microprice_v − basis_v             (basis: 0, configured, or measured)
//! fair value   = Σ w_v · adjusted_v / Σ w_v         (over the fresh venues only)
//! ```
//!
//! A venue is **fresh** at time `now` when `now − top.ts_ns <= stale_after` (its configured
//! cut-off). A stale venue, a one-sided or crossed top, or a venue whose measured basis has no
//! sample yet drops out of both sums, and the weights renormalise over the venues left. With no
//! venue left there is **no fair value** ([`FairValueEngine::fair_value`] is `None`), and the
//! quoter pulls its quotes.
//!
//! ## The measured basis
//! A venue in another quote currency (Binance `BTCUSDT` against our `BTC-USD`) with a
//! `measured` basis keeps `basis_v` as a time-weighted EWMA of `mid_v − mid_ref`, where `ref` is
//! the configured reference venue (in our quote currency). It is sampled whenever either of the
//! two updates while both are fresh and two-sided: `basis += α·(sample − basis)` with
//! `α = 1 − 2^(−Δt / half_life)`, `Δt` the time since the previous sample (the first sample sets
//! it). Mids are `(b + a) / 2` in ticks.
//!
//! ## The cost per event
//! A venue's term `w_v · adjusted_v` changes only when its top or its basis does, so an update
//! recomputes the terms it touches (the venue's own, and those of the venues whose measured
//! basis it sampled), then the sums over every usable venue in venue order and the earliest
//! instant one of them goes stale. [`FairValueEngine::fair_value`] returns that precomputed
//! value while every usable venue is fresh (one comparison), and sums the cached terms of the
//! fresh venues, in the same order, otherwise: the same floating-point operations in the same
//! order as the sum written out above, so the same bits.
//!
//! Nothing here allocates after [`FairValueEngine::new`]: an update is a copy of a [`Top`] and a
//! few float operations per venue.

use crate::instrument_map::{Basis, InstrumentMap};
use crate::types::{Top, VenueId};

/// The consolidated fair value at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FairValue {
    /// Price in ticks of our instrument (not rounded: the quote models price around it).
    pub price: f64,
    /// How many venues made it (>= 1).
    pub venues: u8,
}

/// A venue update for a venue the engine does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("fair value: venue={venue:?} is not a configured external venue")]
pub struct UnknownVenueError {
    /// The venue given.
    pub venue: VenueId,
}

/// The microprice of one top, in ticks; `None` when one side is empty or the top is crossed.
#[inline]
pub fn microprice(top: &Top) -> Option<f64> {
    let (b, a) = (top.bid, top.ask);
    if b.qty <= 0 || a.qty <= 0 || b.price >= a.price {
        return None;
    }
    // The same value written as the bid plus a share of the spread: b + (a − b)·Qb / (Qb + Qa).
    // `b` and `a − b` are exact integers; the only rounding is the final division's (far below
    // a tick), and there is no 128-bit division on the hot path.
    let spread = (a.price - b.price) as f64;
    Some(b.price as f64 + spread * b.qty as f64 / (b.qty as f64 + a.qty as f64))
}

#[inline]
fn mid(top: &Top) -> Option<f64> {
    let (b, a) = (top.bid, top.ask);
    if b.qty <= 0 || a.qty <= 0 || b.price >= a.price {
        return None;
    }
    Some((b.price as f64 + a.price as f64) / 2.0)
}

#[derive(Debug, Clone, Copy)]
struct VenueState {
    weight: f64,
    stale_after_ns: i64,
    basis: Basis,
    top: Option<Top>,
    /// The measured basis and when it was last sampled (`None` before the first sample).
    measured: Option<(f64, i64)>,
    /// `weight · (microprice − basis)` of the current top and basis; `None` when the venue is
    /// not usable whatever the time (no top, one-sided or crossed, no measured basis yet).
    term: Option<f64>,
}

impl VenueState {
    fn basis_now(&self) -> Option<f64> {
        match self.basis {
            Basis::None => Some(0.0),
            Basis::Fixed(t) => Some(t),
            Basis::Measured { .. } => self.measured.map(|(b, _)| b),
        }
    }

    fn refresh_term(&mut self) {
        self.term = match (self.top.as_ref().and_then(microprice), self.basis_now()) {
            (Some(mp), Some(basis)) => Some(self.weight * (mp - basis)),
            _ => None,
        };
    }

    /// The staleness rule of the module docs.
    #[inline]
    fn fresh(&self, top: &Top, now_ns: i64) -> bool {
        now_ns - top.ts_ns <= self.stale_after_ns
    }
}

/// The fair value while every usable venue is fresh, and until when that holds.
#[derive(Debug, Clone, Copy)]
struct AllFresh {
    /// `None`: no venue is usable.
    value: Option<FairValue>,
    /// The last instant at which every usable venue is still fresh (the smallest
    /// `top.ts_ns + stale_after_ns`; `i64::MAX` with no usable venue).
    until_ns: i64,
}

/// Keeps each venue's latest top and measured basis; answers the fair value at any instant.
#[derive(Debug, Clone)]
pub struct FairValueEngine {
    venues: Vec<VenueState>,
    all_fresh: AllFresh,
}

impl FairValueEngine {
    /// An engine for the venues of `map` (all empty until their first update).
    pub fn new(map: &InstrumentMap) -> Self {
        let venues = map
            .venues
            .iter()
            .map(|m| VenueState {
                weight: m.weight,
                stale_after_ns: m.stale_after_ns,
                basis: m.basis,
                top: None,
                measured: None,
                term: None,
            })
            .collect();
        FairValueEngine { venues, all_fresh: AllFresh { value: None, until_ns: i64::MAX } }
    }

    /// Records a venue's new top (already on our grid; `top.ts_ns` is its receive time) and
    /// samples the measured bases it takes part in.
    pub fn update(&mut self, venue: VenueId, top: Top) -> Result<(), UnknownVenueError> {
        let i = match venue {
            VenueId::External(i) if (i as usize) < self.venues.len() => i as usize,
            _ => return Err(UnknownVenueError { venue }),
        };
        self.venues[i].top = Some(top);
        let now = top.ts_ns;
        for j in 0..self.venues.len() {
            if let Basis::Measured { reference, half_life_ns } = self.venues[j].basis {
                if j == i || reference == i {
                    self.sample_basis(j, reference, half_life_ns, now);
                    self.venues[j].refresh_term();
                }
            }
        }
        self.venues[i].refresh_term();
        self.all_fresh = self.sum_all_usable();
        Ok(())
    }

    /// The sums over every usable venue, in venue order, and the earliest cut-off among them.
    fn sum_all_usable(&self) -> AllFresh {
        let (mut sum, mut weights, mut used, mut until_ns) = (0.0, 0.0, 0u8, i64::MAX);
        for v in &self.venues {
            let (Some(term), Some(top)) = (v.term, v.top.as_ref()) else { continue };
            sum += term;
            weights += v.weight;
            used += 1;
            until_ns = until_ns.min(top.ts_ns.saturating_add(v.stale_after_ns));
        }
        AllFresh { value: (used > 0).then(|| FairValue { price: sum / weights, venues: used }), until_ns }
    }

    fn fresh_mid(&self, i: usize, now: i64) -> Option<f64> {
        let v = &self.venues[i];
        let top = v.top.as_ref()?;
        if now - top.ts_ns > v.stale_after_ns {
            return None;
        }
        mid(top)
    }

    fn sample_basis(&mut self, venue: usize, reference: usize, half_life_ns: f64, now: i64) {
        let (Some(m), Some(r)) = (self.fresh_mid(venue, now), self.fresh_mid(reference, now)) else {
            return;
        };
        let sample = m - r;
        let v = &mut self.venues[venue];
        v.measured = Some(match v.measured {
            None => (sample, now),
            Some((basis, at)) => {
                let dt = (now - at).max(0) as f64;
                let alpha = 1.0 - (-dt / half_life_ns).exp2();
                (basis + alpha * (sample - basis), now)
            }
        });
    }

    /// The basis subtracted from a venue's microprice now (`None`: unknown venue, or a measured
    /// basis with no sample yet).
    pub fn basis(&self, venue: VenueId) -> Option<f64> {
        let VenueId::External(i) = venue else { return None };
        self.venues.get(i as usize)?.basis_now()
    }

    /// The fair value at `now_ns` (see the module docs), `None` when no venue is usable.
    #[inline]
    pub fn fair_value(&self, now_ns: i64) -> Option<FairValue> {
        // Every usable venue fresh: the value summed at the last update. `now <= ts + stale`
        // for each usable venue is `now − ts <= stale` for each (with no usable venue both
        // answers are `None`).
        if now_ns <= self.all_fresh.until_ns {
            return self.all_fresh.value;
        }
        self.fair_value_scan(now_ns)
    }

    /// The fresh venues' cached terms summed in venue order (some venue is stale at `now_ns`).
    fn fair_value_scan(&self, now_ns: i64) -> Option<FairValue> {
        let (mut sum, mut weights, mut used) = (0.0, 0.0, 0u8);
        for v in &self.venues {
            let (Some(term), Some(top)) = (v.term, v.top.as_ref()) else { continue };
            if !v.fresh(top, now_ns) {
                continue;
            }
            sum += term;
            weights += v.weight;
            used += 1;
        }
        (used > 0).then(|| FairValue { price: sum / weights, venues: used })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PricingConfig;
    use crate::types::Level;

    fn top(bid: i64, bq: i64, ask: i64, aq: i64, ts_ns: i64) -> Top {
        Top { bid: Level { price: bid, qty: bq }, ask: Level { price: ask, qty: aq }, ts_ns }
    }

    /// coinbase (USD, weight 1, 100 ms), kraken (USD, weight 3, 1000 ms), binance (USDT,
    /// weight 2, 100 ms, basis configured or measured against coinbase).
    fn engine(binance_basis: &str) -> FairValueEngine {
        let json = format!(
            r#"{{"instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"}},
            "venues": [
              {{"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 100}},
              {{"name": "kraken", "symbol": "XBT/USD", "quote_currency": "USD", "weight": 3.0, "stale_after_ms": 1000}},
              {{"name": "binance", "symbol": "BTCUSDT", "quote_currency": "USDT", "weight": 2.0, "stale_after_ms": 100, "basis": {binance_basis}}}
            ],
            "model": {{"kind": "glft", "gamma": 0.1}},
            "volatility": {{"fixed": {{"sigma": 1.0}}}},
            "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 1.0}}, "ask": {{"a": 1.0, "k": 1.0}}}}}},
            "quoting": {{"levels": 1, "sizes_lots": [1], "level_spacing_ticks": 1, "min_spread_ticks": 1,
              "max_spread_ticks": 100, "max_inventory_lots": 10, "inventory_unit_lots": 1,
              "requote_threshold_ticks": 0.0, "requote_interval_ms": 1000}}}}"#
        );
        let cfg = PricingConfig::from_json(&json).unwrap();
        FairValueEngine::new(&InstrumentMap::from_config(&cfg).unwrap())
    }

    const CB: VenueId = VenueId::External(0);
    const KR: VenueId = VenueId::External(1);
    const BN: VenueId = VenueId::External(2);
    const MS: i64 = 1_000_000;

    #[test]
    fn microprice_leans_toward_the_side_with_less_quantity() {
        // (100·3 + 104·1) / (1 + 3) = 404 / 4 = 101: a thin bid pulls the price toward the bid.
        assert_eq!(microprice(&top(100, 1, 104, 3, 0)), Some(101.0));
        // (100·1 + 103·2) / 3 = 306 / 3 = 102.
        assert_eq!(microprice(&top(100, 2, 103, 1, 0)), Some(102.0));
        assert_eq!(microprice(&top(100, 0, 103, 1, 0)), None);
        assert_eq!(microprice(&top(103, 1, 103, 1, 0)), None);
    }

    proptest::proptest! {
        #[test]
        fn microprice_matches_the_exact_rational_and_stays_inside_the_spread(
            b in 1i64..10_000_000_000, spread in 1i64..100_000, qb in 1i64..1_000_000_000, qa in 1i64..1_000_000_000,
        ) {
            let a = b + spread;
            let mp = microprice(&top(b, qb, a, qa, 0)).unwrap();
            // The exact value in integers: (b·Qa + a·Qb) / (Qb + Qa) = whole + rem / den.
            let (num, den) = (b as i128 * qa as i128 + a as i128 * qb as i128, (qb + qa) as i128);
            let exact = (num / den) as f64 + (num % den) as f64 / den as f64;
            proptest::prop_assert!((mp - exact).abs() <= 1e-6, "{} vs {}", mp, exact);
            proptest::prop_assert!(mp >= b as f64 && mp <= a as f64);
        }
    }

    #[test]
    fn fair_value_is_the_weighted_microprice_after_the_configured_basis() {
        let mut fv = engine(r#"{"ticks": 10.0}"#);
        fv.update(CB, top(100, 1, 104, 3, 0)).unwrap(); // microprice 101
        fv.update(KR, top(100, 2, 103, 1, 0)).unwrap(); // microprice 102
        fv.update(BN, top(110, 1, 112, 1, 0)).unwrap(); // microprice 111, minus basis 10 = 101
                                                        // (1·101 + 3·102 + 2·101) / 6 = 609 / 6 = 101.5
        assert_eq!(fv.fair_value(50 * MS), Some(FairValue { price: 101.5, venues: 3 }));
    }

    #[test]
    fn a_stale_venue_drops_out_and_the_weights_renormalise() {
        let mut fv = engine(r#"{"ticks": 10.0}"#);
        fv.update(CB, top(100, 1, 104, 3, 0)).unwrap(); // 101, stale after 100 ms
        fv.update(KR, top(100, 2, 103, 1, 0)).unwrap(); // 102, stale after 1000 ms
        fv.update(BN, top(110, 1, 112, 1, 0)).unwrap(); // 101 after basis, stale after 100 ms
                                                        // At exactly 100 ms all are still fresh (the cut-off is inclusive).
        assert_eq!(fv.fair_value(100 * MS).unwrap().venues, 3);
        // At 101 ms only kraken is left: the fair value is its microprice alone.
        assert_eq!(fv.fair_value(101 * MS), Some(FairValue { price: 102.0, venues: 1 }));
        // Past kraken's cut-off there is no fair value at all.
        assert_eq!(fv.fair_value(1001 * MS), None);
    }

    #[test]
    fn a_measured_basis_excludes_the_venue_until_its_first_sample_then_follows_the_ewma() {
        let mut fv = engine(r#"{"measured": {"reference": "coinbase", "half_life_s": 1.0}}"#);
        fv.update(BN, top(110, 1, 112, 1, 0)).unwrap();
        // No coinbase yet: no basis, binance is excluded, no fair value.
        assert_eq!(fv.basis(BN), None);
        assert_eq!(fv.fair_value(0), None);
        fv.update(CB, top(100, 1, 102, 1, 0)).unwrap(); // mid 101; binance mid 111
        assert_eq!(fv.basis(BN), Some(10.0));
        // Binance: microprice 111 − basis 10 = 101; coinbase 101 -> 101.
        assert_eq!(fv.fair_value(0), Some(FairValue { price: 101.0, venues: 2 }));
        // One half-life later binance's mid is 115; coinbase (100 ms cut-off) is stale by then,
        // so binance's update takes no sample.
        fv.update(BN, top(114, 1, 116, 1, 1_000 * MS)).unwrap();
        assert_eq!(fv.basis(BN), Some(10.0));
        fv.update(CB, top(100, 1, 102, 1, 1_000 * MS)).unwrap();
        // Sample 115 − 101 = 14 after 1000 ms (one half-life, α = 1/2): 10 + 0.5·(14 − 10) = 12.
        assert_eq!(fv.basis(BN), Some(12.0));
    }

    /// The fair value written out as in the module docs, from the tops and bases alone: every
    /// venue's microprice recomputed, in venue order.
    fn straightforward(fv: &FairValueEngine, now_ns: i64) -> Option<FairValue> {
        let (mut sum, mut weights, mut used) = (0.0, 0.0, 0u8);
        for (i, v) in fv.venues.iter().enumerate() {
            let Some(top) = v.top.as_ref() else { continue };
            if now_ns - top.ts_ns > v.stale_after_ns {
                continue;
            }
            let (Some(mp), Some(basis)) = (microprice(top), fv.basis(VenueId::External(i as u8))) else {
                continue;
            };
            sum += v.weight * (mp - basis);
            weights += v.weight;
            used += 1;
        }
        (used > 0).then(|| FairValue { price: sum / weights, venues: used })
    }

    fn bits(f: Option<FairValue>) -> Option<(u64, u8)> {
        f.map(|f| (f.price.to_bits(), f.venues))
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(256))]
        /// Random updates (one- and two-sided, crossed, stale, out of order in time) on every
        /// venue, with a configured and with a measured basis: after each update, the fair value
        /// at several instants around it has the same bits as the straightforward computation.
        #[test]
        fn the_incremental_fair_value_has_the_bits_of_the_straightforward_sum(
            measured in proptest::bool::ANY,
            updates in proptest::collection::vec(
                (0u8..3, -50i64..400, 9_990i64..10_010, 0i64..8, 0i64..50, 0i64..50),
                1..60,
            ),
            probes in proptest::collection::vec(-200i64..1_500, 1..6),
        ) {
            let basis = if measured {
                r#"{"measured": {"reference": "coinbase", "half_life_s": 0.2}}"#
            } else {
                r#"{"ticks": 7.5}"#
            };
            let mut fv = engine(basis);
            let mut ts = 0i64;
            for (venue, step_ms, bid, spread, bq, aq) in &updates {
                ts += step_ms * MS / 4;
                // `spread` 0 is a crossed-or-locked top; a zero quantity a one-sided one.
                let t = top(*bid, *bq, bid + spread, *aq, ts);
                fv.update(VenueId::External(*venue), t).unwrap();
                for probe in &probes {
                    let now = ts + probe * MS;
                    proptest::prop_assert_eq!(bits(fv.fair_value(now)), bits(straightforward(&fv, now)), "now {}", now);
                }
            }
        }
    }

    #[test]
    fn an_update_for_an_unconfigured_venue_is_an_error_and_changes_nothing() {
        let mut fv = engine(r#"{"ticks": 0.0}"#);
        let before = fv.fair_value(0);
        assert_eq!(
            fv.update(VenueId::External(3), top(1, 1, 2, 1, 0)),
            Err(UnknownVenueError { venue: VenueId::External(3) })
        );
        assert_eq!(fv.update(VenueId::Ours, top(1, 1, 2, 1, 0)).unwrap_err().venue, VenueId::Ours);
        assert_eq!(fv.fair_value(0), before);
    }
}

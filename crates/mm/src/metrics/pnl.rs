//! PnL, decomposed so that its parts add up to the total exactly.
//!
//! # Marks: how a fair value becomes an exact integer
//! Fair values are `f64` ticks (they come out of the fair-value model). The ledger never holds a
//! float: each mark is rounded once, at the edge, onto a sub-tick grid of [`MARK_SCALE`] points
//! per tick ([`Mark::from_ticks_f64`], round half away from zero). Because the grid's scale equals
//! [`MONEY_SCALE`], a mark times a quantity is a [`Money`] amount with no rounding at all:
//! `mark.0 * qty` is the value of `qty` lots at that mark in money units. From there on,
//! everything is integer addition.
//!
//! # The decomposition
//! Each fill of `s` lots at `p` ticks, sign `d` (+1 buy, −1 sell), enters the inventory at a
//! **reference mark** `r`: the fair value at fill time for a quote fill, or the fair value when
//! the hedge was decided for a hedge fill. With `m` the latest mark and `q` the position:
//!
//! ```text
//! spread capture  = Σ_quote fills  d·s·(r − p)      buying under fair, selling over it
//! hedge slippage  = Σ_hedge fills  d·s·(r − p)      the price paid vs the decision fair value
//! fees            = −Σ fee                          rebates positive
//! inventory MTM   = q·m − Σ_all fills d·s·r         the inventory's move from where it entered
//! total           = cash + q·m,   cash = −Σ d·s·p − Σ fee
//! ```
//!
//! The identity `spread + slippage + fees + MTM = total` holds term by term (the `Σ d·s·r`
//! cancel). The ledger keeps each part **incrementally** (MTM moves by `q·Δm` on a new mark and
//! by `d·s·(m − r)` on a fill) and the total independently from cash and position; the property
//! test below rebuilds the total from scratch over thousands of random fill streams and checks
//! the identity to the last unit after every fill.

use crate::types::{notional, Fill, Money, Side, MONEY_SCALE};

/// Points of the mark grid per tick (equal to [`MONEY_SCALE`], so `mark × lots` is money).
pub const MARK_SCALE: i64 = 1_000_000;

const _: () = assert!(MARK_SCALE as i128 == MONEY_SCALE);

/// A price on the sub-tick mark grid: `MARK_SCALE` points per tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mark(pub i64);

impl Mark {
    /// A whole number of ticks.
    pub const fn from_ticks(ticks: i64) -> Self {
        Mark(ticks * MARK_SCALE)
    }

    /// A fair value in (fractional) ticks, rounded half away from zero onto the grid. `None` when
    /// it is not finite or past the grid's range.
    pub fn from_ticks_f64(ticks: f64) -> Option<Self> {
        let points = (ticks * MARK_SCALE as f64).round();
        (points.is_finite() && points.abs() < i64::MAX as f64).then_some(Mark(points as i64))
    }

    /// The mark in ticks, as a float (for display and bps).
    pub fn to_ticks_f64(self) -> f64 {
        self.0 as f64 / MARK_SCALE as f64
    }

    /// The value of `qty` lots at this mark, in money units (exact).
    #[inline]
    pub fn value(self, qty: i64) -> Money {
        self.0 as i128 * qty as i128
    }
}

/// Why a fill happened, which decides its reference mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillRole {
    /// One of our quotes was hit (or lifted): reference = the fair value at fill time.
    Quote,
    /// A hedge: reference = the fair value when the hedge was decided.
    Hedge {
        /// The decision's fair value.
        decision: Mark,
    },
}

/// PnL by source, in money units. `total()` is their sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PnlParts {
    /// Quote fills against the fair value at fill time.
    pub spread_capture: Money,
    /// The inventory's value moving with the mark since each lot entered it.
    pub inventory_mtm: Money,
    /// Fees paid (negative) and rebates received (positive).
    pub fees: Money,
    /// Hedge fills against the fair value at decision time.
    pub hedge_slippage: Money,
}

impl PnlParts {
    /// The sum of the parts.
    pub fn total(&self) -> Money {
        self.spread_capture + self.inventory_mtm + self.fees + self.hedge_slippage
    }
}

/// Position, cash and the PnL parts, updated on every fill and mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PnlLedger {
    position: i64,
    cash: Money,
    mark: Mark,
    parts: PnlParts,
    fills: u64,
}

#[inline]
fn sign(side: Side) -> i128 {
    match side {
        Side::Buy => 1,
        Side::Sell => -1,
    }
}

impl PnlLedger {
    /// Flat, no cash, marked at `mark`.
    pub fn new(mark: Mark) -> Self {
        Self { position: 0, cash: 0, mark, parts: PnlParts::default(), fills: 0 }
    }

    /// A new fair value: the inventory is revalued.
    #[inline]
    pub fn on_mark(&mut self, mark: Mark) {
        self.parts.inventory_mtm += (mark.0 as i128 - self.mark.0 as i128) * self.position as i128;
        self.mark = mark;
    }

    /// A fill, with the fair value at fill time (the ledger is re-marked to it first). Returns
    /// the parts after it.
    pub fn on_fill(&mut self, fill: &Fill, role: FillRole, fair_at_fill: Mark) -> PnlParts {
        self.on_mark(fair_at_fill);
        let d = sign(fill.side);
        let reference = match role {
            FillRole::Quote => fair_at_fill,
            FillRole::Hedge { decision } => decision,
        };
        let paid = notional(fill.price, fill.qty); // p·s in money units
        let edge = d * (reference.value(fill.qty) - paid);
        match role {
            FillRole::Quote => self.parts.spread_capture += edge,
            FillRole::Hedge { .. } => self.parts.hedge_slippage += edge,
        }
        self.parts.fees -= fill.fee;
        self.parts.inventory_mtm += d * (self.mark.value(fill.qty) - reference.value(fill.qty));
        self.cash -= d * paid + fill.fee;
        self.position += (d as i64) * fill.qty;
        self.fills += 1;
        self.parts
    }

    /// The parts so far.
    pub fn parts(&self) -> PnlParts {
        self.parts
    }

    /// Total PnL from cash and position at the latest mark (kept apart from the parts).
    pub fn total(&self) -> Money {
        self.cash + self.mark.value(self.position)
    }

    /// Position in lots (> 0 long).
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Cash in money units (fees included).
    pub fn cash(&self) -> Money {
        self.cash
    }

    /// The latest mark.
    pub fn mark(&self) -> Mark {
        self.mark
    }

    /// Fills seen.
    pub fn fills(&self) -> u64 {
        self.fills
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Liquidity, VenueId};
    use proptest::prelude::*;

    fn fill(side: Side, price: i64, qty: i64, fee: Money) -> Fill {
        Fill { ts_ns: 0, venue: VenueId::Ours, order_id: 1, side, price, qty, liquidity: Liquidity::Maker, fee }
    }

    #[test]
    fn a_hand_computed_round_trip_splits_into_its_parts() {
        let mut l = PnlLedger::new(Mark::from_ticks(100));
        // Buy 2 at 99 while fair is 100.25: capture 2 * 1.25 ticks; rebate 5 units.
        let fair = Mark::from_ticks_f64(100.25).unwrap();
        l.on_fill(&fill(Side::Buy, 99, 2, -5), FillRole::Quote, fair);
        // Fair drops to 99.5: the 2 lots lose 0.75 tick each.
        l.on_mark(Mark::from_ticks_f64(99.5).unwrap());
        // Hedge: decided at fair 99.5, sold 2 at 99 paying a fee of 7 units.
        let decision = Mark::from_ticks_f64(99.5).unwrap();
        let p = l.on_fill(&fill(Side::Sell, 99, 2, 7), FillRole::Hedge { decision }, Mark::from_ticks(99));
        assert_eq!(p.spread_capture, 2_500_000);
        assert_eq!(p.inventory_mtm, -1_500_000); // decision fair = entry of the hedge lots
        assert_eq!(p.hedge_slippage, -1_000_000);
        assert_eq!(p.fees, -2);
        // Flat: bought 2 at 99, sold 2 at 99, fees net 2 units.
        assert_eq!(l.position(), 0);
        assert_eq!(l.total(), -2);
        assert_eq!(p.total(), l.total());
    }

    #[test]
    fn marks_round_half_away_from_zero_onto_the_grid() {
        assert_eq!(Mark::from_ticks_f64(1.0000005), Some(Mark(1_000_001)));
        assert_eq!(Mark::from_ticks_f64(-0.0000005), Some(Mark(-1)));
        assert_eq!(Mark::from_ticks_f64(f64::NAN), None);
        assert_eq!(Mark::from_ticks_f64(1e300), None);
        assert_eq!(Mark(1).value(3), 3);
    }

    #[derive(Debug, Clone)]
    enum Event {
        Mark(f64),
        Fill { side: Side, price: i64, qty: i64, fee: i64, hedge: Option<f64> },
    }

    fn event() -> impl Strategy<Value = Event> {
        let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
        prop_oneof![
            (9_000.0f64..11_000.0).prop_map(Event::Mark),
            (side, 9_000i64..11_000, 1i64..1_000, -50_000i64..200_000, proptest::option::of(9_000.0f64..11_000.0))
                .prop_map(|(side, price, qty, fee, hedge)| Event::Fill { side, price, qty, fee, hedge }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3_000))]
        #[test]
        fn the_parts_add_up_to_a_total_rebuilt_from_scratch_after_every_fill(
            start in 9_000.0f64..11_000.0,
            events in proptest::collection::vec(event(), 1..120),
        ) {
            let mut ledger = PnlLedger::new(Mark::from_ticks_f64(start).unwrap());
            let mut fair = Mark::from_ticks_f64(start).unwrap();
            // The reference: every fill kept, total recomputed from nothing each time.
            let mut seen: Vec<(Side, i64, i64, i64)> = Vec::new();
            for e in &events {
                match *e {
                    Event::Mark(f) => {
                        fair = Mark::from_ticks_f64(f).unwrap();
                        ledger.on_mark(fair);
                    }
                    Event::Fill { side, price, qty, fee, hedge } => {
                        let role = match hedge {
                            Some(h) => FillRole::Hedge { decision: Mark::from_ticks_f64(h).unwrap() },
                            None => FillRole::Quote,
                        };
                        let parts = ledger.on_fill(&fill(side, price, qty, fee as i128), role, fair);
                        seen.push((side, price, qty, fee));
                        let mut cash: i128 = 0;
                        let mut pos: i128 = 0;
                        for &(s, p, q, f) in &seen {
                            let d = if s == Side::Buy { 1 } else { -1 };
                            cash -= d * p as i128 * q as i128 * MONEY_SCALE + f as i128;
                            pos += d * q as i128;
                        }
                        let total = cash + pos * fair.0 as i128;
                        prop_assert_eq!(parts.total(), total);
                        prop_assert_eq!(ledger.total(), total);
                        let fees: i128 = -seen.iter().map(|s| s.3 as i128).sum::<i128>();
                        prop_assert_eq!(parts.fees, fees);
                    }
                }
            }
            prop_assert_eq!(ledger.parts().total(), ledger.total());
        }
    }
}

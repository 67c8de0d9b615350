//! Fee schedules: what a fill costs (or earns) on each venue.
//!
//! A venue charges a **maker** rate when our resting order is hit and a **taker** rate when our
//! order crosses the spread, each in parts per million (ppm) of the fill's notional. A negative
//! rate is a rebate: `-50` ppm is a 0.5 bp rebate paid to us.
//!
//! # Exactness
//! The fee of `qty` lots at `price` ticks is
//!
//! ```text
//! fee = notional(price, qty) * rate_ppm / 1_000_000
//!     = price * qty * MONEY_SCALE * rate_ppm / 1_000_000
//!     = price * qty * rate_ppm                  (because MONEY_SCALE == 1_000_000)
//! ```
//!
//! so the division is always exact: no rounding happens anywhere, by construction. The product is
//! computed in `i128`; it is exact for every `|price * qty| < 2^107` (far beyond any real book).
//!
//! ```
//! use wintermute_mm::fees::FeeSchedule;
//! use wintermute_mm::types::{notional, Liquidity};
//!
//! // 1 bp taker fee, 0.25 bp maker rebate.
//! let fees = FeeSchedule::new(-25, 100).unwrap();
//! // 3 lots at 1_000_003 ticks: notional 3_000_009 tick-lots.
//! assert_eq!(fees.fee(1_000_003, 3, Liquidity::Taker), 3_000_009 * 100);
//! assert_eq!(fees.fee(1_000_003, 3, Liquidity::Maker), -3_000_009 * 25);
//! assert_eq!(fees.fee(1_000_003, 3, Liquidity::Taker) * 1_000_000, notional(1_000_003, 3) * 100);
//! ```

use crate::types::{notional, Liquidity, Money, VenueId, MONEY_SCALE};

/// Parts per million: the unit of fee rates.
pub const PPM: i128 = 1_000_000;

// The exactness argument above needs the money scale to be a multiple of the rate unit.
const _: () = assert!(MONEY_SCALE % PPM == 0);

/// Largest accepted |rate|: 10% of notional (a guard against a rate given in the wrong unit).
pub const MAX_RATE_PPM: i64 = 100_000;

/// How many external venues a [`VenueFees`] table holds.
pub const MAX_EXTERNAL_VENUES: usize = 16;

/// Bad fee configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    /// A rate outside `[-MAX_RATE_PPM, MAX_RATE_PPM]`.
    #[error("fee rate out of range: which={which} rate_ppm={rate_ppm} max_abs_ppm={MAX_RATE_PPM}")]
    RateOutOfRange {
        /// `maker` or `taker`.
        which: &'static str,
        /// The rejected rate.
        rate_ppm: i64,
    },
    /// A rebate on both sides would pay us to trade with ourselves.
    #[error("maker and taker rebates together pay for a round trip: maker_ppm={maker_ppm} taker_ppm={taker_ppm}")]
    RoundTripPays {
        /// Maker rate.
        maker_ppm: i64,
        /// Taker rate.
        taker_ppm: i64,
    },
    /// An external venue index past the table's size.
    #[error("venue index out of range: venue={venue} max={MAX_EXTERNAL_VENUES}")]
    VenueOutOfRange {
        /// The index given.
        venue: u8,
    },
}

/// One venue's maker and taker rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeeSchedule {
    maker_ppm: i64,
    taker_ppm: i64,
}

impl FeeSchedule {
    /// A schedule; rates in ppm of notional, negative for a rebate. Errors when a rate is past
    /// [`MAX_RATE_PPM`] or when `maker + taker < 0` (a round trip would earn money).
    pub fn new(maker_ppm: i64, taker_ppm: i64) -> Result<Self, FeeError> {
        for (which, rate_ppm) in [("maker", maker_ppm), ("taker", taker_ppm)] {
            if !(-MAX_RATE_PPM..=MAX_RATE_PPM).contains(&rate_ppm) {
                return Err(FeeError::RateOutOfRange { which, rate_ppm });
            }
        }
        if maker_ppm + taker_ppm < 0 {
            return Err(FeeError::RoundTripPays { maker_ppm, taker_ppm });
        }
        Ok(Self { maker_ppm, taker_ppm })
    }

    /// No fees.
    pub const fn free() -> Self {
        Self { maker_ppm: 0, taker_ppm: 0 }
    }

    /// Maker rate, ppm.
    pub const fn maker_ppm(&self) -> i64 {
        self.maker_ppm
    }

    /// Taker rate, ppm.
    pub const fn taker_ppm(&self) -> i64 {
        self.taker_ppm
    }

    /// The rate that applies to `liquidity`, ppm.
    #[inline]
    pub const fn rate_ppm(&self, liquidity: Liquidity) -> i64 {
        match liquidity {
            Liquidity::Maker => self.maker_ppm,
            Liquidity::Taker => self.taker_ppm,
        }
    }

    /// The fee of `qty` lots at `price` ticks: `> 0` paid, `< 0` a rebate received. Exact.
    #[inline]
    pub fn fee(&self, price: i64, qty: i64, liquidity: Liquidity) -> Money {
        // notional is a multiple of MONEY_SCALE, itself a multiple of PPM: the division is exact.
        notional(price, qty) / PPM * self.rate_ppm(liquidity) as i128
    }
}

/// Fee schedules for our venue and each external venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VenueFees {
    ours: FeeSchedule,
    external: [FeeSchedule; MAX_EXTERNAL_VENUES],
}

impl VenueFees {
    /// Every venue free of fees.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one venue's schedule.
    pub fn set(&mut self, venue: VenueId, schedule: FeeSchedule) -> Result<(), FeeError> {
        match venue {
            VenueId::Ours => self.ours = schedule,
            VenueId::External(i) => {
                let slot = self.external.get_mut(i as usize).ok_or(FeeError::VenueOutOfRange { venue: i })?;
                *slot = schedule;
            }
        }
        Ok(())
    }

    /// One venue's schedule (free for an index past the table).
    #[inline]
    pub fn get(&self, venue: VenueId) -> FeeSchedule {
        match venue {
            VenueId::Ours => self.ours,
            VenueId::External(i) => self.external.get(i as usize).copied().unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_taker_fee_of_one_bp_on_a_hand_computed_notional_is_exact() {
        let fees = FeeSchedule::new(0, 100).unwrap();
        // 7 lots at 12_345 ticks = 86_415 tick-lots; 1 bp of that is 8.6415 tick-lots,
        // i.e. 8_641_500 money units.
        assert_eq!(fees.fee(12_345, 7, Liquidity::Taker), 8_641_500);
    }

    #[test]
    fn a_maker_rebate_is_a_negative_fee() {
        let fees = FeeSchedule::new(-20, 50).unwrap();
        // 1 lot at 3 ticks: 3 tick-lots * 20e-6 = 60e-6 tick-lots = 60 money units received.
        assert_eq!(fees.fee(3, 1, Liquidity::Maker), -60);
    }

    #[test]
    fn rates_past_the_guard_and_paying_round_trips_are_clear_errors() {
        assert_eq!(FeeSchedule::new(0, 200_000), Err(FeeError::RateOutOfRange { which: "taker", rate_ppm: 200_000 }));
        assert_eq!(FeeSchedule::new(-60, 50), Err(FeeError::RoundTripPays { maker_ppm: -60, taker_ppm: 50 }));
        let msg = FeeSchedule::new(-100_001, 0).unwrap_err().to_string();
        assert!(msg.contains("which=maker") && msg.contains("rate_ppm=-100001"), "{msg}");
    }

    #[test]
    fn the_venue_table_keeps_each_venue_apart_and_rejects_an_index_past_it() {
        let mut table = VenueFees::new();
        table.set(VenueId::External(2), FeeSchedule::new(-10, 40).unwrap()).unwrap();
        table.set(VenueId::Ours, FeeSchedule::new(0, 30).unwrap()).unwrap();
        assert_eq!(table.get(VenueId::External(2)).taker_ppm(), 40);
        assert_eq!(table.get(VenueId::External(1)), FeeSchedule::free());
        assert_eq!(table.get(VenueId::Ours).taker_ppm(), 30);
        assert_eq!(table.set(VenueId::External(16), FeeSchedule::free()), Err(FeeError::VenueOutOfRange { venue: 16 }));
    }

    proptest! {
        #[test]
        fn fees_equal_the_rational_fee_times_the_money_scale_exactly(
            price in 1i64..10_000_000_000,
            qty in 1i64..10_000_000,
            maker in -1_000i64..1_000,
            taker in 1_000i64..5_000,
        ) {
            let fees = FeeSchedule::new(maker, taker).unwrap();
            for (liq, rate) in [(Liquidity::Maker, maker), (Liquidity::Taker, taker)] {
                let fee = fees.fee(price, qty, liq);
                // fee / MONEY_SCALE tick-lots == price * qty * rate / 1e6 as a rational number.
                prop_assert_eq!(fee * PPM, notional(price, qty) * rate as i128);
                // Additive over a split fill: no rounding leaks between parts.
                let a = qty / 2;
                prop_assert_eq!(fee, fees.fee(price, a, liq) + fees.fee(price, qty - a, liq));
            }
        }
    }
}

//! The limits an account trades under, the order-rate token bucket, and the clock it reads.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use wintermute_core::{Price, Qty};

/// Per-account limits. Quantities are lots of the instrument traded; notionals and exposures
/// are *notional units* (see the `risk` module docs). Change them at any time with
/// [`super::RiskEngine::set_limits`]; the next check uses the new values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountLimits {
    /// Largest quantity of one order, in lots (any instrument; see [`InstrumentLimits`]).
    pub max_order_qty: Qty,
    /// Largest `|price × qty × multiplier|` of one order.
    pub max_order_notional: i128,
    /// Most live orders at a time (all instruments).
    pub max_open_orders: u32,
    /// Largest `|position|` in lots per instrument, counting this order and the account's
    /// live orders on the same side as if they all filled.
    pub max_position: Qty,
    /// Largest sum over instruments of `|position × reference × multiplier|`, worst case as
    /// for `max_position`.
    pub max_gross_exposure: i128,
    /// Largest `|sum of position × reference × multiplier|`, worst case as above.
    pub max_net_exposure: i128,
    /// Fat-finger check of limit prices against the instrument's reference price.
    pub price_band: Option<PriceBand>,
    /// Order-rate limit (new orders and amends; cancels are never limited).
    pub order_rate: Option<RateLimit>,
}

impl AccountLimits {
    /// No limit at all (each field at its maximum, no band, no rate limit).
    pub const UNLIMITED: AccountLimits = AccountLimits {
        max_order_qty: Qty::MAX,
        max_order_notional: i128::MAX,
        max_open_orders: u32::MAX,
        max_position: Qty::MAX,
        max_gross_exposure: i128::MAX,
        max_net_exposure: i128::MAX,
        price_band: None,
        order_rate: None,
    };
}

impl Default for AccountLimits {
    fn default() -> Self {
        Self::UNLIMITED
    }
}

/// Per-(account, instrument) overrides of the lot-denominated limits, which rarely make sense
/// across instruments with different lot sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentLimits {
    pub max_order_qty: Qty,
    pub max_position: Qty,
}

/// How far a limit price may be from the reference price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PriceBand {
    /// `|price - reference| <= ticks`.
    Ticks(Price),
    /// `|price - reference| × 10,000 <= bps × |reference|` (exact, in i128).
    Bps(u32),
}

impl PriceBand {
    /// True when `price` is inside the band around `reference`.
    pub fn contains(self, price: Price, reference: Price) -> bool {
        let diff = (i128::from(price) - i128::from(reference)).abs();
        match self {
            PriceBand::Ticks(t) => diff <= i128::from(t),
            PriceBand::Bps(bps) => diff * 10_000 <= i128::from(bps) * i128::from(reference).abs(),
        }
    }
}

/// A token bucket: `burst` orders at once, refilled at `per_second` orders per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// Nanoseconds from an arbitrary origin. Injectable so tests control time.
pub trait Clock {
    fn now_ns(&self) -> u64;
}

/// The process's monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self { origin: Instant::now() }
    }
}

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A clock that moves only when told to (tests, simulations, replay).
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock at 0 ns.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `ns`.
    pub fn advance(&self, ns: u64) {
        self.0.fetch_add(ns, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

const NANO: u128 = 1_000_000_000;

/// The bucket's state. Tokens are counted in nano-tokens so refill is exact integer math:
/// `elapsed_ns × per_second` nano-tokens per refill, one order costs 10^9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TokenBucket {
    nano_tokens: u128,
    last_ns: u64,
    started: bool,
}

impl TokenBucket {
    /// Takes one token if there is one (refilling first).
    pub fn try_take(&mut self, limit: RateLimit, now_ns: u64) -> bool {
        let cap = u128::from(limit.burst) * NANO;
        if !self.started {
            self.started = true;
            self.nano_tokens = cap;
        } else {
            let elapsed = u128::from(now_ns.saturating_sub(self.last_ns));
            self.nano_tokens = self.nano_tokens.saturating_add(elapsed.saturating_mul(u128::from(limit.per_second)));
        }
        self.nano_tokens = self.nano_tokens.min(cap);
        self.last_ns = now_ns.max(self.last_ns);
        if self.nano_tokens >= NANO {
            self.nano_tokens -= NANO;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_in_ticks_and_bps_are_inclusive() {
        assert!(PriceBand::Ticks(5).contains(105, 100) && PriceBand::Ticks(5).contains(95, 100));
        assert!(!PriceBand::Ticks(5).contains(106, 100) && !PriceBand::Ticks(5).contains(94, 100));
        // 50 bps of 10,000 ticks is 50 ticks.
        assert!(PriceBand::Bps(50).contains(10_050, 10_000) && !PriceBand::Bps(50).contains(10_051, 10_000));
        assert!(PriceBand::Bps(50).contains(9_950, 10_000) && !PriceBand::Bps(50).contains(9_949, 10_000));
        // No overflow at the extremes.
        assert!(PriceBand::Bps(u32::MAX).contains(i64::MIN, i64::MAX));
        assert!(!PriceBand::Bps(0).contains(i64::MIN, i64::MAX));
        assert!(PriceBand::Ticks(i64::MAX).contains(i64::MAX, 0));
    }

    #[test]
    fn bucket_allows_a_burst_then_refills_at_the_rate() {
        let limit = RateLimit { per_second: 10, burst: 3 };
        let mut b = TokenBucket::default();
        let t0 = 1_000;
        assert!((0..3).all(|_| b.try_take(limit, t0)));
        assert!(!b.try_take(limit, t0));
        // 10/s: one token per 100 ms.
        assert!(!b.try_take(limit, t0 + 99_999_999));
        assert!(b.try_take(limit, t0 + 100_000_000));
        assert!(!b.try_take(limit, t0 + 100_000_000));
        // A long pause refills only up to the burst.
        let later = t0 + 3_600 * 1_000_000_000;
        assert_eq!((0..10).filter(|_| b.try_take(limit, later)).count(), 3);
    }

    #[test]
    fn bucket_ignores_a_clock_going_backwards() {
        let limit = RateLimit { per_second: 1, burst: 1 };
        let mut b = TokenBucket::default();
        assert!(b.try_take(limit, 5_000_000_000));
        assert!(!b.try_take(limit, 1_000_000_000));
        assert!(!b.try_take(limit, 5_500_000_000));
        assert!(b.try_take(limit, 6_000_000_000));
    }
}

//! Kraken's counters: the REST API call counter (per key) and the matching engine's trading
//! counter (per key and pair). Both are leaky buckets: each call adds to the counter, which
//! decays continuously at the tier's rate; a call that would take it past the maximum is refused
//! (`EAPI:Rate limit exceeded`, `EOrder:Rate limit exceeded`). The simulator enforces them and
//! the client keeps the same model to refuse locally before sending.
//!
//! Costs as Kraken publishes them: the API counter takes +2 for `TradesHistory` (and ledger
//! queries) and +1 for every other private call except `AddOrder`, `CancelOrder`, `CancelAll`
//! and `AmendOrder`, which count on the trading counter instead: +1 for an order, and a cancel
//! by the order's age (under 5 s +8, 10 s +6, 15 s +5, 45 s +4, 90 s +2, 300 s +1).
//! Counters are kept in thousandths, integers.

/// Limits of one verification tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Maximum of the API call counter.
    pub api_max: i64,
    /// Its decay, thousandths per second.
    pub api_decay_milli_per_s: i64,
    /// Threshold of the trading counter (per pair).
    pub trading_max: i64,
    /// Its decay, thousandths per second.
    pub trading_decay_milli_per_s: i64,
}

impl Tier {
    /// Starter: API counter 15, -0.33/s; trading 60, -1/s.
    pub const STARTER: Tier =
        Tier { api_max: 15, api_decay_milli_per_s: 330, trading_max: 60, trading_decay_milli_per_s: 1000 };
    /// Intermediate: API counter 20, -0.5/s; trading 125, -2.34/s.
    pub const INTERMEDIATE: Tier =
        Tier { api_max: 20, api_decay_milli_per_s: 500, trading_max: 125, trading_decay_milli_per_s: 2340 };
    /// Pro: API counter 20, -1/s; trading 180, -3.75/s.
    pub const PRO: Tier =
        Tier { api_max: 20, api_decay_milli_per_s: 1000, trading_max: 180, trading_decay_milli_per_s: 3750 };
}

/// API counter cost of a private endpoint (`None` for those on the trading counter).
pub fn api_cost(endpoint: &str) -> Option<i64> {
    match endpoint {
        "AddOrder" | "AddOrderBatch" | "CancelOrder" | "CancelOrderBatch" | "CancelAll" | "AmendOrder" => None,
        "TradesHistory" | "QueryTrades" | "Ledgers" | "QueryLedgers" => Some(2),
        _ => Some(1),
    }
}

/// The first bound in `table` (age limit ms, cost) that `age_ms` is under, or 0.
fn by_age(age_ms: i64, table: &[(i64, i64)]) -> i64 {
    table.iter().find(|&&(limit, _)| age_ms < limit).map_or(0, |&(_, cost)| cost)
}

/// Trading counter cost of canceling an order that has rested `age_ms`.
pub fn cancel_cost(age_ms: i64) -> i64 {
    by_age(age_ms, &[(5_000, 8), (10_000, 6), (15_000, 5), (45_000, 4), (90_000, 2), (300_000, 1)])
}

/// Trading counter cost of amending an order `age_ms` after it was placed or last amended: +1,
/// plus +3 under 5 s, +2 under 10 s, +1 under 15 s.
pub fn amend_cost(age_ms: i64) -> i64 {
    1 + by_age(age_ms, &[(5_000, 3), (10_000, 2), (15_000, 1)])
}

/// One leaky bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    max_milli: i64,
    decay_milli_per_s: i64,
    level_milli: i64,
    at_ms: i64,
}

impl Counter {
    /// An empty counter with this maximum and decay.
    pub fn new(max: i64, decay_milli_per_s: i64) -> Self {
        Self { max_milli: max.saturating_mul(1000), decay_milli_per_s, level_milli: 0, at_ms: i64::MIN }
    }

    fn decay_to(&mut self, now_ms: i64) {
        if self.at_ms != i64::MIN && now_ms > self.at_ms {
            let decayed = (now_ms - self.at_ms).saturating_mul(self.decay_milli_per_s) / 1000;
            self.level_milli = (self.level_milli - decayed).max(0);
        }
        self.at_ms = self.at_ms.max(now_ms);
    }

    /// Adds `cost` if that keeps the counter at or under its maximum; else leaves it and returns
    /// how many ms until it would fit.
    pub fn try_add(&mut self, cost: i64, now_ms: i64) -> Result<(), u64> {
        self.decay_to(now_ms);
        let after = self.level_milli + cost * 1000;
        if after <= self.max_milli {
            self.level_milli = after;
            return Ok(());
        }
        let excess = after - self.max_milli;
        let decay = self.decay_milli_per_s.max(1);
        let wait = (excess * 1000 + decay - 1) / decay;
        Err(u64::try_from(wait).unwrap_or(u64::MAX))
    }

    /// Adds `cost` unconditionally (a charge the venue applies even to a refused call).
    pub fn add(&mut self, cost: i64, now_ms: i64) {
        self.decay_to(now_ms);
        self.level_milli += cost * 1000;
    }

    /// Sets the counter to its maximum (the venue said it is exceeded).
    pub fn fill(&mut self, now_ms: i64) {
        self.decay_to(now_ms);
        self.level_milli = self.level_milli.max(self.max_milli);
    }

    /// The level, in thousandths.
    pub fn level_milli(&mut self, now_ms: i64) -> i64 {
        self.decay_to(now_ms);
        self.level_milli
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_counter_takes_fifteen_calls_then_refuses_until_it_decays() {
        let mut c = Counter::new(Tier::STARTER.api_max, Tier::STARTER.api_decay_milli_per_s);
        for _ in 0..15 {
            c.try_add(1, 0).unwrap();
        }
        let wait = c.try_add(1, 0).unwrap_err();
        assert_eq!(wait, 3031, "1 / 0.33 per second");
        assert!(c.try_add(1, 2000).is_err());
        c.try_add(1, 3031).unwrap();
        assert_eq!(c.try_add(2, 3031), Err(6061));
    }

    #[test]
    fn cancel_costs_follow_the_order_age() {
        assert_eq!(
            [0, 4_999, 5_000, 14_999, 44_999, 89_999, 299_999, 300_000].map(cancel_cost),
            [8, 8, 6, 5, 4, 2, 1, 0]
        );
        assert_eq!([0, 5_000, 14_999, 15_000].map(amend_cost), [4, 3, 2, 1]);
        assert_eq!(api_cost("TradesHistory"), Some(2));
        assert_eq!(api_cost("AddOrder"), None);
        assert_eq!(api_cost("Balance"), Some(1));
    }
}

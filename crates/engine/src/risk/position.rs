//! One account's position in one instrument: quantity, cost, realized PnL and fees, in exact
//! integer math.
//!
//! Units (see the `risk` module docs): `qty` in lots (signed: long > 0, short < 0); `cost`,
//! PnL and fees in notional units, where one lot traded at one tick is `multiplier` units.
//!
//! `cost` is the signed entry notional of the open position (`Σ qty × price × multiplier` of
//! the fills that built it; negative when short), so the average entry price is
//! `cost / (qty × multiplier)` ticks — kept as this exact ratio rather than a rounded price.
//!
//! A fill that reduces the position realizes `sign × q × price × m − cost × q / |qty|`. The
//! division rounds toward zero and the rounding stays in the remaining `cost`, so nothing is
//! lost: once the position is flat again, realized PnL is exact to the unit. A fill larger
//! than the position closes it and opens the rest on the other side at the fill price.

use serde::{Deserialize, Serialize};
use wintermute_core::{Price, Qty};

/// A position and its PnL. Build it with `Position::default()` and feed it fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Position {
    /// Lots held (long > 0, short < 0).
    pub qty: Qty,
    /// Signed entry notional of the open position.
    pub cost: i128,
    /// PnL of closed quantity, before fees.
    pub realized: i128,
    /// Fees paid (negative: rebates received).
    pub fees: i128,
    /// Lots bought and sold, over the position's life.
    pub bought: i128,
    pub sold: i128,
}

impl Position {
    /// Applies a fill of `qty` lots (> 0) bought (`buy`) or sold at `price` ticks.
    pub fn fill(&mut self, buy: bool, qty: Qty, price: Price, multiplier: i128) {
        let q = i128::from(qty);
        let signed = if buy { q } else { -q };
        let notional = q * i128::from(price) * multiplier;
        if buy {
            self.bought += q;
        } else {
            self.sold += q;
        }
        let held = i128::from(self.qty);
        if held == 0 || (held > 0) == buy {
            // Opening or adding: cost grows by the fill's signed notional.
            self.cost += if buy { notional } else { -notional };
        } else {
            let closing = q.min(held.abs());
            let removed = mul_div(self.cost, closing, held.abs());
            let exit = closing * i128::from(price) * multiplier;
            self.realized += if held > 0 { exit } else { -exit } - removed;
            self.cost -= removed;
            let opened = q - closing;
            if opened > 0 {
                // Flipped: the remainder opens a position on the other side at this price.
                debug_assert_eq!(self.cost, 0);
                let n = opened * i128::from(price) * multiplier;
                self.cost = if buy { n } else { -n };
            }
        }
        self.qty = Qty::try_from(held + signed).unwrap_or(if buy { Qty::MAX } else { Qty::MIN });
    }

    /// Adds a fee (negative for a rebate).
    pub fn charge(&mut self, fee: i128) {
        self.fees += fee;
    }

    /// PnL of the open quantity marked at `mark` ticks.
    pub fn unrealized(&self, mark: Price, multiplier: i128) -> i128 {
        i128::from(self.qty) * i128::from(mark) * multiplier - self.cost
    }

    /// Realized + unrealized − fees.
    pub fn total_pnl(&self, mark: Price, multiplier: i128) -> i128 {
        self.realized + self.unrealized(mark, multiplier) - self.fees
    }
}

/// `trunc(a × b / c)` for `0 < b <= c` without the overflow of `a × b`: with `a = q×c + r`,
/// it is `q×b + trunc(r×b / c)` (`q`, `r` share `a`'s sign, and `|r×b| < c² <= 2^126`).
fn mul_div(a: i128, b: i128, c: i128) -> i128 {
    if b == c {
        return a;
    }
    (a / c) * b + (a % c) * b / c
}

/// A fee of `rate_ppm` millionths of `notional`, rounded up for a charge and toward zero for
/// a rebate (so rounding never favours the account).
pub fn fee(notional: i128, rate_ppm: i64) -> i128 {
    let raw = notional.abs() * i128::from(rate_ppm);
    if raw >= 0 {
        (raw + 999_999) / 1_000_000
    } else {
        raw / 1_000_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_round_trip_realizes_exactly() {
        let mut p = Position::default();
        p.fill(true, 3, 100, 1);
        p.fill(true, 1, 104, 1); // avg entry 101
        assert_eq!((p.qty, p.cost), (4, 404));
        assert_eq!(p.unrealized(110, 1), 4 * 110 - 404);
        p.fill(false, 1, 110, 1);
        assert_eq!((p.qty, p.cost, p.realized), (3, 303, 9));
        p.fill(false, 3, 99, 1);
        assert_eq!((p.qty, p.cost, p.realized), (0, 0, 9 - 6));
    }

    #[test]
    fn short_positions_gain_when_price_falls() {
        let mut p = Position::default();
        p.fill(false, 5, 200, 10);
        assert_eq!((p.qty, p.cost), (-5, -10_000));
        assert_eq!(p.unrealized(190, 10), 500);
        p.fill(true, 5, 190, 10);
        assert_eq!((p.qty, p.cost, p.realized), (0, 0, 500));
    }

    #[test]
    fn flip_long_to_short_closes_then_opens_at_the_fill_price() {
        let mut p = Position::default();
        p.fill(true, 2, 100, 1);
        p.fill(false, 5, 110, 1);
        assert_eq!((p.qty, p.realized, p.cost), (-3, 20, -330));
        assert_eq!(p.unrealized(100, 1), 30);
        p.fill(true, 4, 90, 1); // short -> long
        assert_eq!((p.qty, p.realized, p.cost), (1, 20 + 60, 90));
        assert_eq!((p.bought, p.sold), (6, 5));
    }

    #[test]
    fn rounding_stays_in_the_cost_and_flat_is_exact() {
        let mut p = Position::default();
        p.fill(true, 1, 10, 1);
        p.fill(true, 1, 11, 1);
        p.fill(true, 1, 11, 1); // cost 32 over 3 lots: 10.666...
        let mut realized = 0;
        for _ in 0..3 {
            let before = p.realized;
            p.fill(false, 1, 12, 1);
            realized += p.realized - before;
        }
        // 36 out, 32 in: exactly 4, whatever the per-fill rounding.
        assert_eq!((p.qty, p.cost, p.realized, realized), (0, 0, 4, 4));
    }

    #[test]
    fn extreme_values_stay_exact_in_i128() {
        let mut p = Position::default();
        // i64 × i64 is below 2^126: no overflow at the edges of the tick and lot ranges.
        p.fill(true, i64::MAX / 2, i64::MAX, 1);
        p.fill(false, i64::MAX / 2, i64::MAX - 1, 1);
        assert_eq!(p.qty, 0);
        assert_eq!(p.realized, -i128::from(i64::MAX / 2));
    }

    #[test]
    fn fees_round_against_the_account() {
        assert_eq!(fee(1_000_000, 25), 25);
        assert_eq!(fee(1, 25), 1, "a charge rounds up");
        assert_eq!(fee(-1_000_001, 25), 26, "on |notional|");
        assert_eq!(fee(1_999_999, -10), -19, "a rebate rounds toward zero");
        assert_eq!(fee(123, 0), 0);
    }
}

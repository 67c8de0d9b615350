//! The lots traded at or through a price over a sliding window, per maker side, for the
//! `exp(−ahead / V)` fill predictions of [`super::queue_truth`].
//!
//! The trades stay in a queue in time order (to leave the window); beside it, per side, a
//! Fenwick tree over [`SPAN`] prices around the first trade's answers "lots at or below (bids) /
//! at or above (asks) a price" in `O(log SPAN)` instead of a pass over the window. A trade
//! outside the span moves the span onto it and rebuilds that side's tree from the queue; while
//! any trade of the window lies outside the span, that side is summed from the queue. Both give
//! the same integer sum.

use std::collections::VecDeque;

use wintermute_core::Side;

/// Prices covered by each side's tree.
pub const SPAN: usize = 1 << 12;

#[derive(Debug, Clone)]
struct Fenwick {
    base: Option<i64>,
    tree: Vec<i64>,
    total: i64,
    /// Trades of the window on this side outside `[base, base + SPAN)`.
    outside: usize,
}

impl Fenwick {
    fn index(&self, price: i64) -> Option<usize> {
        let i = price - self.base?;
        (0..SPAN as i64).contains(&i).then_some(i as usize)
    }

    fn add(&mut self, i: usize, lots: i64) {
        self.total += lots;
        let mut j = i + 1;
        while j <= SPAN {
            self.tree[j - 1] += lots;
            j += j & j.wrapping_neg();
        }
    }

    /// Lots at indices `0..=i`.
    fn prefix(&self, i: usize) -> i64 {
        let (mut j, mut sum) = (i + 1, 0);
        while j > 0 {
            sum += self.tree[j - 1];
            j &= j - 1;
        }
        sum
    }
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct VolumeWindow {
    /// (time, maker side, price, lots), in time order.
    trades: VecDeque<(i64, Side, i64, i64)>,
    sides: [Fenwick; 2],
}

fn at(side: Side) -> usize {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

impl VolumeWindow {
    /// A window keeping at most `capacity` trades (the oldest leave first when full).
    pub fn new(capacity: usize) -> Self {
        let side = || Fenwick { base: None, tree: vec![0; SPAN], total: 0, outside: 0 };
        VolumeWindow { trades: VecDeque::with_capacity(capacity), sides: [side(), side()] }
    }

    /// Forgets the trades before `from_ns`.
    pub fn evict_before(&mut self, from_ns: i64) {
        while self.trades.front().is_some_and(|t| t.0 < from_ns) {
            self.pop();
        }
    }

    fn pop(&mut self) {
        let Some((_, side, price, lots)) = self.trades.pop_front() else { return };
        let f = &mut self.sides[at(side)];
        match f.index(price) {
            Some(i) => f.add(i, -lots),
            None => f.outside -= 1,
        }
    }

    /// A trade at `now_ns` (not before the last one); trades before `from_ns` leave first.
    pub fn push(&mut self, now_ns: i64, from_ns: i64, side: Side, price: i64, lots: i64) {
        self.evict_before(from_ns);
        if self.trades.len() == self.trades.capacity() {
            self.pop();
        }
        self.trades.push_back((now_ns, side, price, lots));
        let f = &mut self.sides[at(side)];
        if let Some(i) = f.index(price) {
            f.add(i, lots);
            return;
        }
        // Outside the span (or the first trade): centre the span on it and rebuild.
        f.base = Some(price - (SPAN / 2) as i64);
        f.tree.iter_mut().for_each(|x| *x = 0);
        (f.total, f.outside) = (0, 0);
        for &(_, _, p, l) in self.trades.iter().filter(|t| t.1 == side) {
            match f.index(p) {
                Some(i) => f.add(i, l),
                None => f.outside += 1,
            }
        }
    }

    /// Lots traded against `side` at or through `price` (bids: at or below; asks: at or above)
    /// among the trades kept.
    pub fn reached(&self, side: Side, price: i64) -> i64 {
        let f = &self.sides[at(side)];
        let Some(base) = f.base.filter(|_| f.outside == 0) else {
            let through = |p: i64| if side == Side::Buy { p <= price } else { p >= price };
            return self.trades.iter().filter(|t| t.1 == side && through(t.2)).map(|t| t.3).sum();
        };
        let i = price - base;
        match side {
            Side::Buy if i < 0 => 0,
            Side::Buy => f.prefix((i as usize).min(SPAN - 1)),
            Side::Sell if i <= 0 => f.total,
            Side::Sell if i as usize > SPAN => 0,
            Side::Sell => f.total - f.prefix(i as usize - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_equal_a_pass_over_the_trades_in_and_out_of_the_span() {
        let mut w = VolumeWindow::new(64);
        let mut kept: Vec<(i64, Side, i64, i64)> = Vec::new();
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % n
        };
        for t in 0..2_000i64 {
            let side = if next(2) == 0 { Side::Buy } else { Side::Sell };
            // Mostly near 10,000; now and then far away (outside the span), so both paths run.
            let price = if next(50) == 0 { 10_000 + 3 * SPAN as i64 } else { 10_000 + next(40) as i64 - 20 };
            let lots = 1 + next(9) as i64;
            let from = t - 30;
            w.push(t, from, side, price, lots);
            kept.retain(|k| k.0 >= from);
            if kept.len() == 64 {
                kept.remove(0);
            }
            kept.push((t, side, price, lots));
            for q in [9_970, 9_990, 10_000, 10_005, 10_030, 10_000 + 3 * SPAN as i64, -5] {
                for s in [Side::Buy, Side::Sell] {
                    let through = |p: i64| if s == Side::Buy { p <= q } else { p >= q };
                    let want: i64 = kept.iter().filter(|k| k.1 == s && through(k.2)).map(|k| k.3).sum();
                    assert_eq!(w.reached(s, q), want, "t={t} side={s:?} price={q}");
                }
            }
        }
    }
}

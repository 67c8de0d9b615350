//! Fill and quoting statistics: fill ratios, quote uptime, time at touch, queue position at
//! each fill, and inventory over time.
//!
//! * **Fill ratio**: filled lots / quoted lots (every order's quantity counts as quoted once),
//!   and fills / orders.
//! * **Quote uptime**: the share of time both our bid and our ask were live; **time at touch**:
//!   the share of time each side was live at the market's best price. Both are time-weighted:
//!   the caller reports the quoting state whenever it changes, and each state counts for as long
//!   as it held.
//! * **Queue position at each fill** and **inventory over time** are [`SampledSeries`]: fixed
//!   capacity, allocated once; when full they keep every other point and sample half as often,
//!   so a long run keeps an even picture of its whole length without allocating.

/// A `(time, value)` series of bounded size (see the module docs).
#[derive(Debug, Clone)]
pub struct SampledSeries {
    points: Vec<(i64, i64)>,
    capacity: usize,
    stride: u64,
    min_gap_ns: i64,
    offered: u64,
}

impl SampledSeries {
    /// Up to `capacity` points (at least 2), keeping every offered point at least `min_gap_ns`
    /// apart.
    pub fn new(capacity: usize, min_gap_ns: i64) -> Self {
        let capacity = capacity.max(2);
        Self { points: Vec::with_capacity(capacity), capacity, stride: 1, min_gap_ns: min_gap_ns.max(0), offered: 0 }
    }

    /// Offers a point; it is kept if it falls on the current stride and gap.
    pub fn offer(&mut self, ts_ns: i64, value: i64) {
        let on_stride = self.offered.is_multiple_of(self.stride);
        self.offered += 1;
        let spaced = self.points.last().is_none_or(|&(t, _)| ts_ns - t >= self.min_gap_ns);
        if !(on_stride && spaced) {
            return;
        }
        if self.points.len() == self.capacity {
            // Keep every other point; sample half as often from now on.
            let mut keep = 0;
            for i in (0..self.points.len()).step_by(2) {
                self.points[keep] = self.points[i];
                keep += 1;
            }
            self.points.truncate(keep);
            self.stride *= 2;
            self.min_gap_ns *= 2;
        }
        self.points.push((ts_ns, value));
    }

    /// The points kept, oldest first.
    pub fn points(&self) -> &[(i64, i64)] {
        &self.points
    }
}

/// The quoting state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuoteState {
    /// Our bid is live.
    pub bid_live: bool,
    /// Our ask is live.
    pub ask_live: bool,
    /// Our bid is at the market's best bid.
    pub bid_at_touch: bool,
    /// Our ask is at the market's best ask.
    pub ask_at_touch: bool,
}

/// Fill, quoting and inventory statistics.
#[derive(Debug, Clone)]
pub struct FillStats {
    orders: u64,
    quoted_qty: i64,
    fills: u64,
    filled_qty: i64,
    clock: QuoteClock,
    start_ns: Option<i64>,
    queue_at_fill: SampledSeries,
    queue_at_fill_sum: i128,
    queue_at_fill_count: u64,
    inventory: SampledSeries,
    max_abs_inventory: i64,
}

impl FillStats {
    /// Series of up to `series_points` points; inventory sampled at most every
    /// `inventory_interval_ns`.
    pub fn new(series_points: usize, inventory_interval_ns: i64) -> Self {
        Self {
            orders: 0,
            quoted_qty: 0,
            fills: 0,
            filled_qty: 0,
            clock: QuoteClock::default(),
            start_ns: None,
            queue_at_fill: SampledSeries::new(series_points, 0),
            queue_at_fill_sum: 0,
            queue_at_fill_count: 0,
            inventory: SampledSeries::new(series_points, inventory_interval_ns),
            max_abs_inventory: 0,
        }
    }

    /// An order placed for `qty` lots (an amend up counts its increase).
    pub fn on_order(&mut self, qty: i64) {
        self.orders += 1;
        self.quoted_qty += qty.max(0);
    }

    /// A fill of `qty` lots; `queue_ahead` is the order's queue position (lots ahead) when it
    /// was placed or last estimated, if known.
    pub fn on_fill(&mut self, ts_ns: i64, qty: i64, queue_ahead: Option<i64>) {
        self.fills += 1;
        self.filled_qty += qty.max(0);
        if let Some(ahead) = queue_ahead {
            self.queue_at_fill.offer(ts_ns, ahead);
            self.queue_at_fill_sum += ahead as i128;
            self.queue_at_fill_count += 1;
        }
    }

    /// The quoting state from `ts_ns` on.
    pub fn on_quote_state(&mut self, ts_ns: i64, state: QuoteState) {
        self.clock.accrue(ts_ns);
        self.clock.state = state;
        self.start_ns.get_or_insert(ts_ns);
    }

    /// Our inventory at `ts_ns`, lots.
    pub fn on_inventory(&mut self, ts_ns: i64, inventory: i64) {
        self.max_abs_inventory = self.max_abs_inventory.max(inventory.saturating_abs());
        self.inventory.offer(ts_ns, inventory);
    }

    /// Filled lots / quoted lots.
    pub fn fill_ratio_qty(&self) -> Option<f64> {
        (self.quoted_qty > 0).then(|| self.filled_qty as f64 / self.quoted_qty as f64)
    }

    /// Fills / orders.
    pub fn fills_per_order(&self) -> Option<f64> {
        (self.orders > 0).then(|| self.fills as f64 / self.orders as f64)
    }

    fn shares(&self, now_ns: i64) -> Option<(f64, f64, f64)> {
        let mut at_now = self.clock;
        at_now.accrue(now_ns);
        let total = now_ns - self.start_ns?;
        (total > 0).then(|| {
            let t = total as f64;
            (at_now.both_live_ns as f64 / t, at_now.bid_touch_ns as f64 / t, at_now.ask_touch_ns as f64 / t)
        })
    }

    /// Share of time from the first state report to `now_ns` with both sides live.
    pub fn quote_uptime(&self, now_ns: i64) -> Option<f64> {
        self.shares(now_ns).map(|s| s.0)
    }

    /// Shares of time each side (bid, ask) was live at the touch, up to `now_ns`.
    pub fn time_at_touch(&self, now_ns: i64) -> Option<(f64, f64)> {
        self.shares(now_ns).map(|s| (s.1, s.2))
    }

    /// Mean queue position at fill, lots.
    pub fn mean_queue_at_fill(&self) -> Option<f64> {
        (self.queue_at_fill_count > 0).then(|| self.queue_at_fill_sum as f64 / self.queue_at_fill_count as f64)
    }

    /// Queue position at fills, sampled.
    pub fn queue_at_fill(&self) -> &SampledSeries {
        &self.queue_at_fill
    }

    /// Inventory over time, sampled.
    pub fn inventory(&self) -> &SampledSeries {
        &self.inventory
    }

    /// Largest |inventory| seen, lots.
    pub fn max_abs_inventory(&self) -> i64 {
        self.max_abs_inventory
    }

    /// Orders, quoted lots, fills, filled lots.
    pub fn counts(&self) -> (u64, i64, u64, i64) {
        (self.orders, self.quoted_qty, self.fills, self.filled_qty)
    }
}

/// Time spent in each quoting condition, accrued up to `since_ns`.
#[derive(Debug, Clone, Copy, Default)]
struct QuoteClock {
    state: QuoteState,
    since_ns: Option<i64>,
    both_live_ns: i64,
    bid_touch_ns: i64,
    ask_touch_ns: i64,
}

impl QuoteClock {
    /// Credits the current state with the time from `since_ns` to `ts_ns`.
    fn accrue(&mut self, ts_ns: i64) {
        if let Some(since) = self.since_ns {
            let dt = (ts_ns - since).max(0);
            let s = self.state;
            self.both_live_ns += dt * i64::from(s.bid_live && s.ask_live);
            self.bid_touch_ns += dt * i64::from(s.bid_live && s.bid_at_touch);
            self.ask_touch_ns += dt * i64::from(s.ask_live && s.ask_at_touch);
        }
        self.since_ns = Some(self.since_ns.map_or(ts_ns, |since| since.max(ts_ns)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_ratios_count_lots_and_orders() {
        let mut s = FillStats::new(16, 0);
        s.on_order(10);
        s.on_order(10);
        s.on_order(5);
        s.on_fill(1, 4, Some(3));
        s.on_fill(2, 1, Some(0));
        assert_eq!(s.fill_ratio_qty(), Some(0.2));
        assert_eq!(s.fills_per_order(), Some(2.0 / 3.0));
        assert_eq!(s.mean_queue_at_fill(), Some(1.5));
        assert_eq!(s.queue_at_fill().points(), &[(1, 3), (2, 0)]);
        assert_eq!(FillStats::new(4, 0).fill_ratio_qty(), None);
    }

    #[test]
    fn uptime_and_time_at_touch_are_weighted_by_how_long_each_state_held() {
        let mut s = FillStats::new(4, 0);
        let both_at_touch = QuoteState { bid_live: true, ask_live: true, bid_at_touch: true, ask_at_touch: true };
        s.on_quote_state(0, both_at_touch); // 0..30: both live, both at touch
        s.on_quote_state(30, QuoteState { ask_at_touch: false, ..both_at_touch }); // 30..50
        s.on_quote_state(50, QuoteState { bid_live: true, bid_at_touch: true, ..Default::default() }); // 50..100
        assert_eq!(s.quote_uptime(100), Some(0.5));
        assert_eq!(s.time_at_touch(100), Some((1.0, 0.3)));
        // Asking again later extends the last state without changing the stats.
        assert_eq!(s.quote_uptime(200), Some(0.25));
        assert_eq!(s.quote_uptime(100), Some(0.5));
    }

    #[test]
    fn inventory_keeps_its_maximum_and_a_bounded_even_sample() {
        let mut s = FillStats::new(4, 10);
        for (t, inv) in [(0, 1), (5, -7), (10, 2), (20, 3), (30, 4), (40, 5), (50, 6)] {
            s.on_inventory(t, inv);
        }
        assert_eq!(s.max_abs_inventory(), 7);
        // Kept at 0, 10, 20, 30 (5 is too close); at 40 it is full: keep 0 and 20, sample every
        // other offer 20 ns apart from then on: 40 is kept, 50 is not (off stride).
        assert_eq!(s.inventory().points(), &[(0, 1), (20, 3), (40, 5)]);
    }
}

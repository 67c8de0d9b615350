//! Queue position: how much quantity rests ahead of our order at its price level.
//!
//! On our own venue the engine owns the FIFO and tells us the truth ([`ExactQueue`]). On a
//! venue we only see as L2 (one quantity per price) we **estimate** it from the level's updates
//! and the trades printed at our price, with a [`QueueModel`]:
//!
//! * [`QueueModel::RiskAverse`]: only trades at our price move us forward
//!   (`ahead -= traded`). A decrease of the level is assumed to be behind us, except that the
//!   estimate can never exceed what the level shows: `ahead = min(ahead, level)`.
//! * [`QueueModel::Probabilistic`]: a decrease of the level that the trades do not explain is a
//!   cancel somewhere in the queue; it is split between ahead and behind us. With `front` the
//!   estimate ahead, `back` the rest of the level (`level − traded − front`, not below 0) and
//!   `d` the unexplained decrease (`prev − new − traded`):
//!
//!   ```text
//!   p     = f(back) / (f(back) + f(front))        share of the decrease behind us (1 if 0/0)
//!   ahead = front − (1 − p)·d + min(back − p·d, 0)   the part that cannot fit behind comes from ahead
//!   ahead = min(ahead, new)
//!   ```
//!   with `f(x) = x^n` ([`ProbFn::Power`]) or `f(x) = ln(1 + x)` ([`ProbFn::Log`]). The
//!   further back we are (large `front`), the more of a cancel lands ahead of us. An increase
//!   of the level (net of trades) joins behind us and moves nothing. These are the same
//!   family of models hftbacktest ships; the trades-since-last-update correction (so a trade
//!   and the level update that reports it are not counted twice) is the same idea.
//!
//! Quantities passed in are **others'** lots at the level: when the venue's L2 includes our own
//! order (live, or our own venue's L2), subtract our open quantity before calling. The estimate
//! is an `f64` (the probabilistic split is fractional); fills it implies are whole lots.
//!
//! [`QueueErrorStats`] measures an estimator against the truth: mean and p90 absolute error in
//! lots, and the calibration of a predicted fill probability per decile;
//! [`CensoredCalibration`] the same calibration where orders may leave before the horizon.

/// The function that weighs the two sides of our position in [`QueueModel::Probabilistic`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ProbFn {
    /// `f(x) = x^n`, `n > 0`.
    Power(f64),
    /// `f(x) = ln(1 + x)`.
    Log,
}

impl ProbFn {
    #[inline]
    fn weigh(&self, x: f64) -> f64 {
        match *self {
            ProbFn::Power(n) => x.powf(n),
            ProbFn::Log => x.ln_1p(),
        }
    }

    /// The share of an unexplained decrease that is behind us: `f(back) / (f(back) + f(front))`,
    /// and 1 when both weigh nothing.
    pub fn share_behind(&self, front: f64, back: f64) -> f64 {
        let (fb, ff) = (self.weigh(back.max(0.0)), self.weigh(front.max(0.0)));
        let p = fb / (fb + ff);
        if p.is_finite() {
            p
        } else {
            1.0
        }
    }
}

/// Bad queue-model parameters.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum QueueModelError {
    /// The power must be finite and positive.
    #[error("queue model power must be finite and > 0: n={n}")]
    BadPower {
        /// The power given.
        n: f64,
    },
}

/// A queue-position estimator for a venue seen as L2.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QueueModel {
    /// Only trades move us forward.
    RiskAverse,
    /// Unexplained decreases are split between ahead and behind.
    Probabilistic(ProbFn),
}

/// Our estimated place in one level's queue.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QueuePosition {
    ahead: f64,
    traded_since_update: i64,
}

impl QueuePosition {
    /// Estimated lots ahead of us (may be fractional; below 0 when trades went past us and the
    /// fills they imply are not yet taken).
    pub fn ahead(&self) -> f64 {
        self.ahead
    }

    /// Estimated whole lots ahead of us, rounded to the nearest lot, not below 0.
    pub fn ahead_lots(&self) -> i64 {
        self.ahead.max(0.0).round() as i64
    }
}

impl QueueModel {
    /// The probabilistic model with `f(x) = x^n`.
    pub fn power(n: f64) -> Result<Self, QueueModelError> {
        if !(n.is_finite() && n > 0.0) {
            return Err(QueueModelError::BadPower { n });
        }
        Ok(QueueModel::Probabilistic(ProbFn::Power(n)))
    }

    /// The probabilistic model with `f(x) = ln(1 + x)`.
    pub fn log() -> Self {
        QueueModel::Probabilistic(ProbFn::Log)
    }

    /// We join a level that shows `level_qty` lots of others: all of it is ahead of us.
    pub fn on_join(&self, level_qty: i64) -> QueuePosition {
        QueuePosition { ahead: level_qty.max(0) as f64, traded_since_update: 0 }
    }

    /// `qty` lots traded at our price. Returns the whole lots that went past the front of the
    /// queue and so executed against us (the caller fills `min(that, open qty)`); they are
    /// taken off the overshoot.
    pub fn on_trade(&self, pos: &mut QueuePosition, qty: i64) -> i64 {
        let qty = qty.max(0);
        pos.ahead -= qty as f64;
        pos.traded_since_update += qty;
        let reached = (-pos.ahead).floor();
        if reached >= 1.0 {
            pos.ahead += reached;
            reached as i64
        } else {
            0
        }
    }

    /// The level at our price went from `prev_qty` to `new_qty` lots of others (trades reported
    /// since the previous update are already in `new_qty`).
    pub fn on_level_change(&self, pos: &mut QueuePosition, prev_qty: i64, new_qty: i64) {
        let traded = pos.traded_since_update;
        pos.traded_since_update = 0;
        let new = new_qty.max(0) as f64;
        match *self {
            QueueModel::RiskAverse => {}
            QueueModel::Probabilistic(f) => {
                let unexplained = (prev_qty - new_qty - traded) as f64;
                if unexplained > 0.0 {
                    let front = pos.ahead.max(0.0);
                    let back = ((prev_qty - traded) as f64 - front).max(0.0);
                    let p = f.share_behind(front, back);
                    pos.ahead = front - (1.0 - p) * unexplained + (back - p * unexplained).min(0.0);
                }
            }
        }
        pos.ahead = pos.ahead.min(new);
    }
}

/// A predicted probability that an order with `ahead` lots in front of it fills within a horizon
/// over which `expected_volume` lots are expected to trade at its price: `exp(−ahead / V)`,
/// the chance that an exponentially distributed volume of mean `V` passes the front of the queue.
pub fn fill_probability(ahead: f64, expected_volume: f64) -> f64 {
    if expected_volume <= 0.0 {
        return if ahead <= 0.0 { 1.0 } else { 0.0 };
    }
    (-ahead.max(0.0) / expected_volume).exp()
}

/// The true queue position on our own venue, where the engine knows the FIFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExactQueue {
    ahead: i64,
}

impl ExactQueue {
    /// We joined with `true_ahead` lots ahead of us (from the engine's `queue_position`).
    pub fn new(true_ahead: i64) -> Self {
        Self { ahead: true_ahead.max(0) }
    }

    /// The engine reports a new true position.
    pub fn update(&mut self, true_ahead: i64) {
        self.ahead = true_ahead.max(0);
    }

    /// True lots ahead.
    pub fn ahead(&self) -> i64 {
        self.ahead
    }
}

/// Calibration of one decile of predicted fill probability.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DecileCalibration {
    /// Orders whose prediction fell in this decile.
    pub count: u64,
    /// Mean predicted probability (0 when empty).
    pub mean_predicted: f64,
    /// Share of them that filled (0 when empty).
    pub realized_rate: f64,
}

/// Time bins of a [`CensoredCalibration`] over its horizon.
pub const CALIBRATION_BINS: usize = 100;

/// Calibration of one decile of predicted fill probability when some orders leave before the
/// horizon ([`CensoredCalibration`]).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CensoredDecile {
    /// Predictions in this decile.
    pub count: u64,
    /// Their mean predicted probability (0 when empty).
    pub mean_predicted: f64,
    /// Orders that filled within the horizon.
    pub filled: u64,
    /// Orders that left unfilled before the horizon (censored).
    pub censored: u64,
    /// The Kaplan–Meier estimate of the probability to fill within the horizon (0 when empty).
    pub realized_rate: f64,
}

/// Predicted fill probabilities within a horizon against what happened, per decile, where an
/// order may leave (we cancel it) before the horizon: each prediction ends filled at a time,
/// censored at a time (it left unfilled), or survived the whole horizon unfilled. The realized
/// rate of a decile is the Kaplan–Meier estimate `1 − Π (1 − fills_j / at_risk_j)` over
/// [`CALIBRATION_BINS`] equal time bins of the horizon (fills counted before the censorings of
/// their bin), which is unbiased when leaving does not depend on the fill to come.
#[derive(Debug, Clone)]
pub struct CensoredCalibration {
    predicted_sum: [f64; 10],
    count: [u64; 10],
    filled: [[u64; CALIBRATION_BINS]; 10],
    censored: [[u64; CALIBRATION_BINS]; 10],
}

impl Default for CensoredCalibration {
    fn default() -> Self {
        CensoredCalibration {
            predicted_sum: [0.0; 10],
            count: [0; 10],
            filled: [[0; CALIBRATION_BINS]; 10],
            censored: [[0; CALIBRATION_BINS]; 10],
        }
    }
}

/// How a fill prediction ended ([`CensoredCalibration::record`]); times are fractions of the
/// horizon in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FillOutcome {
    /// The order filled (any lot) at this time.
    Filled(f64),
    /// The order left unfilled at this time.
    Censored(f64),
    /// The horizon passed without a fill.
    Survived,
}

impl CensoredCalibration {
    /// One prediction and its outcome.
    pub fn record(&mut self, predicted: f64, outcome: FillOutcome) {
        let p = if predicted.is_nan() { 0.0 } else { predicted.clamp(0.0, 1.0) };
        let d = ((p * 10.0).floor() as usize).min(9);
        self.predicted_sum[d] += p;
        self.count[d] += 1;
        let bin = |t: f64| ((t.clamp(0.0, 1.0) * CALIBRATION_BINS as f64) as usize).min(CALIBRATION_BINS - 1);
        match outcome {
            FillOutcome::Filled(t) => self.filled[d][bin(t)] += 1,
            FillOutcome::Censored(t) => self.censored[d][bin(t)] += 1,
            FillOutcome::Survived => {}
        }
    }

    /// Predicted against realized (Kaplan–Meier) for each decile `[0, 0.1), …, [0.9, 1]`.
    pub fn deciles(&self) -> [CensoredDecile; 10] {
        std::array::from_fn(|d| {
            let n = self.count[d];
            if n == 0 {
                return CensoredDecile::default();
            }
            let (mut at_risk, mut survival) = (n, 1.0f64);
            for (&f, &c) in self.filled[d].iter().zip(&self.censored[d]) {
                if at_risk > 0 && f > 0 {
                    survival *= 1.0 - f as f64 / at_risk as f64;
                }
                at_risk -= f + c;
            }
            CensoredDecile {
                count: n,
                mean_predicted: self.predicted_sum[d] / n as f64,
                filled: self.filled[d].iter().sum(),
                censored: self.censored[d].iter().sum(),
                realized_rate: 1.0 - survival,
            }
        })
    }
}

/// How far an estimator is from the truth.
#[derive(Debug, Clone)]
pub struct QueueErrorStats {
    abs_errors: Vec<f64>,
    dropped: u64,
    predicted_sum: [f64; 10],
    filled: [u64; 10],
    count: [u64; 10],
}

impl QueueErrorStats {
    /// Keeps up to `capacity` position errors (allocated once, here); later ones are counted in
    /// [`dropped`](Self::dropped) and left out.
    pub fn new(capacity: usize) -> Self {
        Self {
            abs_errors: Vec::with_capacity(capacity),
            dropped: 0,
            predicted_sum: [0.0; 10],
            filled: [0; 10],
            count: [0; 10],
        }
    }

    /// One comparison of an estimate against the engine's truth.
    pub fn record_position(&mut self, estimated_ahead: f64, true_ahead: i64) {
        if self.abs_errors.len() == self.abs_errors.capacity() {
            self.dropped += 1;
            return;
        }
        self.abs_errors.push((estimated_ahead - true_ahead as f64).abs());
    }

    /// An order's outcome against the fill probability predicted for it when placed.
    pub fn record_outcome(&mut self, predicted: f64, filled: bool) {
        let p = if predicted.is_nan() { 0.0 } else { predicted.clamp(0.0, 1.0) };
        let bucket = ((p * 10.0).floor() as usize).min(9);
        self.predicted_sum[bucket] += p;
        self.count[bucket] += 1;
        self.filled[bucket] += u64::from(filled);
    }

    /// Comparisons kept.
    pub fn samples(&self) -> usize {
        self.abs_errors.len()
    }

    /// Comparisons left out because the store was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Mean absolute error in lots (`None` before any comparison).
    pub fn mean_abs_error(&self) -> Option<f64> {
        let n = self.abs_errors.len();
        (n > 0).then(|| self.abs_errors.iter().sum::<f64>() / n as f64)
    }

    /// The 90th percentile of the absolute error in lots, nearest rank: the
    /// `ceil(0.9·n)`-th smallest (`None` before any comparison). Reorders the stored errors.
    pub fn p90_abs_error(&mut self) -> Option<f64> {
        let n = self.abs_errors.len();
        if n == 0 {
            return None;
        }
        let rank = (9 * n).div_ceil(10); // ceil(0.9 n), exact in integers
        let (_, nth, _) = self.abs_errors.select_nth_unstable_by(rank - 1, f64::total_cmp);
        Some(*nth)
    }

    /// Predicted vs realized fill rate for each decile `[0, 0.1), [0.1, 0.2), …, [0.9, 1]`.
    pub fn calibration(&self) -> [DecileCalibration; 10] {
        std::array::from_fn(|i| {
            let n = self.count[i];
            if n == 0 {
                return DecileCalibration::default();
            }
            DecileCalibration {
                count: n,
                mean_predicted: self.predicted_sum[i] / n as f64,
                realized_rate: self.filled[i] as f64 / n as f64,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn risk_averse_moves_only_on_trades_and_clamps_to_a_shrinking_level() {
        let m = QueueModel::RiskAverse;
        let mut pos = m.on_join(10);
        // A cancel of 4 somewhere: assumed behind us.
        m.on_level_change(&mut pos, 10, 6);
        assert_eq!(pos.ahead(), 6.0);
        // A trade of 2 at our price: we move up 2; the level update reporting it moves nothing.
        assert_eq!(m.on_trade(&mut pos, 2), 0);
        m.on_level_change(&mut pos, 6, 4);
        assert_eq!(pos.ahead(), 4.0);
        // The level shrinks to 1 (below our estimate of 4): clamp.
        m.on_level_change(&mut pos, 4, 1);
        assert_eq!(pos.ahead(), 1.0);
        // Someone joins behind: nothing moves.
        m.on_level_change(&mut pos, 1, 9);
        assert_eq!(pos.ahead(), 1.0);
        // A trade of 4 reaches 3 lots past the front: 3 lots executed against us.
        assert_eq!(m.on_trade(&mut pos, 4), 3);
        assert_eq!(pos.ahead(), 0.0);
    }

    #[test]
    fn power_two_splits_a_cancel_by_squared_sizes() {
        // front 6, back 4, the level drops 10 -> 5 with no trades: d = 5,
        // p = 4^2 / (4^2 + 6^2) = 16/52, ahead = 6 - (36/52) * 5 + min(4 - (16/52) * 5, 0)
        //       = 6 - 180/52 = 2.538461538...
        let m = QueueModel::power(2.0).unwrap();
        let mut pos = m.on_join(6);
        m.on_level_change(&mut pos, 6, 10); // 4 join behind
        assert_eq!(pos.ahead(), 6.0);
        m.on_level_change(&mut pos, 10, 5);
        assert!(close(pos.ahead(), 6.0 - 180.0 / 52.0), "{}", pos.ahead());
        assert_eq!(pos.ahead_lots(), 3);
    }

    #[test]
    fn log_splits_three_ahead_and_seven_behind_three_to_two() {
        // p = ln(8) / (ln(8) + ln(4)) = 3/5; d = 5: ahead = 3 - 0.4 * 5 + min(7 - 3, 0) = 1.
        let m = QueueModel::log();
        let mut pos = m.on_join(3);
        m.on_level_change(&mut pos, 3, 10);
        m.on_level_change(&mut pos, 10, 5);
        assert!(close(pos.ahead(), 1.0), "{}", pos.ahead());
    }

    #[test]
    fn a_cancel_larger_than_the_share_behind_takes_the_overflow_from_ahead() {
        // n = 2, front 1, back 2, d = 3: p = 4/5; the share behind 2.4 exceeds back 2, so
        // ahead = 1 - 0.2 * 3 + (2 - 2.4) = 0.
        let m = QueueModel::power(2.0).unwrap();
        let mut pos = m.on_join(1);
        m.on_level_change(&mut pos, 1, 3);
        m.on_level_change(&mut pos, 3, 0);
        assert!(close(pos.ahead(), 0.0), "{}", pos.ahead());
    }

    #[test]
    fn trades_reported_before_the_level_update_are_not_counted_twice() {
        // front 4, back 4 (level 8). A trade of 2, then the update 8 -> 3: 2 of the 5 are the
        // trade, d = 3 is a cancel; front after the trade is 2, back = 8 - 2 - 2 = 4,
        // n = 1: p = 4/6, ahead = 2 - (2/6) * 3 + min(4 - 2, 0) = 1.
        let m = QueueModel::power(1.0).unwrap();
        let mut pos = m.on_join(4);
        m.on_level_change(&mut pos, 4, 8);
        assert_eq!(m.on_trade(&mut pos, 2), 0);
        m.on_level_change(&mut pos, 8, 3);
        assert!(close(pos.ahead(), 1.0), "{}", pos.ahead());
    }

    #[test]
    fn a_power_that_is_not_positive_is_a_clear_error() {
        assert_eq!(QueueModel::power(0.0), Err(QueueModelError::BadPower { n: 0.0 }));
        assert!(QueueModel::power(f64::NAN).unwrap_err().to_string().contains("n=NaN"));
    }

    #[test]
    fn the_exact_tracker_holds_the_engines_truth() {
        let mut q = ExactQueue::new(7);
        q.update(3);
        assert_eq!(q.ahead(), 3);
        q.update(-1);
        assert_eq!(q.ahead(), 0);
    }

    #[test]
    fn error_stats_give_the_mean_and_nearest_rank_p90_of_known_errors() {
        let mut stats = QueueErrorStats::new(100);
        // Errors 1, 2, ..., 10 lots (estimates above and below the truth).
        for e in 1..=10i64 {
            let sign = if e % 2 == 0 { 1.0 } else { -1.0 };
            stats.record_position(50.0 + sign * e as f64, 50);
        }
        assert_eq!(stats.mean_abs_error(), Some(5.5));
        assert_eq!(stats.p90_abs_error(), Some(9.0)); // ceil(0.9 * 10) = 9th smallest
        stats.record_position(0.5, 0); // 11 samples: rank ceil(9.9) = 10 -> 9.0 (0.5 is smallest)
        assert_eq!(stats.p90_abs_error(), Some(9.0));
        assert_eq!(QueueErrorStats::new(4).p90_abs_error(), None);
    }

    #[test]
    fn error_stats_count_what_does_not_fit() {
        let mut stats = QueueErrorStats::new(2);
        for _ in 0..5 {
            stats.record_position(1.0, 0);
        }
        assert_eq!((stats.samples(), stats.dropped()), (2, 3));
    }

    #[test]
    fn calibration_buckets_predictions_by_decile_with_realized_rates() {
        let mut stats = QueueErrorStats::new(0);
        // Decile 0: predictions 0.05 x 4, one filled. Decile 9: 0.95 and 1.0, both filled.
        // Decile 3: 0.3 and 0.35, none filled.
        for filled in [true, false, false, false] {
            stats.record_outcome(0.05, filled);
        }
        stats.record_outcome(0.95, true);
        stats.record_outcome(1.0, true);
        stats.record_outcome(0.3, false);
        stats.record_outcome(0.35, false);
        let c = stats.calibration();
        assert_eq!(c[0].count, 4);
        assert!(close(c[0].mean_predicted, 0.05) && close(c[0].realized_rate, 0.25));
        assert_eq!(c[9].count, 2);
        assert!(close(c[9].mean_predicted, 0.975) && close(c[9].realized_rate, 1.0));
        assert_eq!((c[3].count, c[3].realized_rate), (2, 0.0));
        assert!(close(c[3].mean_predicted, 0.325));
        assert_eq!(c[5], DecileCalibration::default());
    }

    #[test]
    fn fill_probability_falls_exponentially_with_the_queue_ahead() {
        assert_eq!(fill_probability(0.0, 10.0), 1.0);
        assert!(close(fill_probability(10.0, 10.0), (-1.0f64).exp()));
        assert_eq!(fill_probability(3.0, 0.0), 0.0);
    }

    #[test]
    fn fill_probability_is_calibrated_where_the_volume_really_is_exponential() {
        // The formula's own assumption made true: the volume that trades at our price over the
        // horizon is exponential with mean V, and we fill when it passes the lots ahead. Over
        // many draws each decile's realized rate matches its mean prediction (within 4 standard
        // errors), and a miscalibrated prediction (the square of the right one) does not.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (mut right, mut wrong) = (QueueErrorStats::new(0), QueueErrorStats::new(0));
        for _ in 0..200_000 {
            let volume_mean = 1.0 + 49.0 * uniform();
            let ahead = 60.0 * uniform();
            let traded = -volume_mean * uniform().ln();
            let p = fill_probability(ahead, volume_mean);
            right.record_outcome(p, traded > ahead);
            wrong.record_outcome(p * p, traded > ahead);
        }
        let mut off = 0;
        for (d, w) in right.calibration().iter().zip(wrong.calibration()) {
            assert!(d.count > 1_000, "{d:?}");
            let se = (d.mean_predicted * (1.0 - d.mean_predicted) / d.count as f64).sqrt().max(1e-3);
            assert!((d.realized_rate - d.mean_predicted).abs() < 4.0 * se, "{d:?}");
            if w.count > 0 && (w.realized_rate - w.mean_predicted).abs() > 0.05 {
                off += 1;
            }
        }
        assert!(off >= 5, "squaring the prediction should miscalibrate most deciles");
    }

    #[test]
    fn censored_calibration_recovers_the_fill_rate_when_orders_leave_early_at_random() {
        // Volume reaches our price at a random rate X (exponential, mean V per horizon), so the
        // order fills at T = ahead / X horizons: P(T <= 1) = exp(−ahead / V), the prediction.
        // Orders leave at a uniform time in [0, 2] horizons, independently. Counting only the
        // uncensored outcomes would overstate the fill rate; Kaplan–Meier recovers it.
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let mut cal = CensoredCalibration::default();
        let mut naive = QueueErrorStats::new(0);
        for _ in 0..200_000 {
            let volume_mean = 1.0 + 49.0 * uniform();
            let ahead = 60.0 * uniform();
            let rate = -volume_mean * uniform().ln();
            let (fill_at, leave_at) = (ahead / rate, 2.0 * uniform());
            let p = fill_probability(ahead, volume_mean);
            let outcome = if fill_at <= 1.0 && fill_at <= leave_at {
                FillOutcome::Filled(fill_at)
            } else if leave_at < 1.0 {
                FillOutcome::Censored(leave_at)
            } else {
                FillOutcome::Survived
            };
            cal.record(p, outcome);
            if !matches!(outcome, FillOutcome::Censored(_)) {
                naive.record_outcome(p, matches!(outcome, FillOutcome::Filled(_)));
            }
        }
        let deciles = cal.deciles();
        assert!(deciles.iter().all(|d| d.censored > 0 && d.filled > 0), "{deciles:?}");
        for d in &deciles {
            assert!((d.realized_rate - d.mean_predicted).abs() < 0.03, "{d:?}");
        }
        let biased = naive.calibration().iter().filter(|d| d.realized_rate - d.mean_predicted > 0.05).count();
        assert!(biased >= 5, "dropping the censored orders overstates the fill rate");
        // A hand-sized case: 4 predictions of 0.5: one fills at 0.1, one leaves at 0.2, one fills
        // at 0.5, one survives. At risk 4 -> S = 3/4; then 2 at risk -> S = 3/4 · 1/2 = 3/8.
        let mut small = CensoredCalibration::default();
        small.record(0.5, FillOutcome::Filled(0.1));
        small.record(0.5, FillOutcome::Censored(0.2));
        small.record(0.5, FillOutcome::Filled(0.5));
        small.record(0.5, FillOutcome::Survived);
        let d = small.deciles()[5];
        assert_eq!((d.count, d.filled, d.censored), (4, 2, 1));
        assert!(close(d.realized_rate, 1.0 - 3.0 / 8.0) && close(d.mean_predicted, 0.5), "{d:?}");
    }
}

//! The L2 queue estimators ([`crate::queue`]) measured against the truth, on our venue.
//!
//! On our venue the backtest runs the matching engine itself, so the FIFO place of each of our
//! resting orders is known exactly ([`wintermute_core::OrderBook::queue_position`]). Beside it,
//! each of our orders carries one estimate per L2 model — risk-averse, power (`f(x) = x²`) and
//! log — fed only what an L2 feed of our venue shows: the trades printed at the order's price and
//! the level's quantity of others' lots after each engine command. After every command that
//! traded at or changed the level, each estimate is compared with the true lots ahead
//! ([`QueueErrorStats`]: mean and p90 absolute error, in lots).
//!
//! **Fill-probability calibration.** At each of those comparisons, and when the order comes to
//! rest, every model — and the truth itself, as a reference — predicts the probability that the
//! order fills (any lot) within the next horizon (the config's `fill_horizon_ms`, default
//! [`FILL_HORIZON_NS`]), with three formulas ([`FORMULAS`]). `exp`, the first one:
//!
//! ```text
//! V = volume traded at or through the order's price with its side resting, over the last
//!     VOLUME_WINDOW_NS, × FILL_HORIZON_NS / VOLUME_WINDOW_NS   (the expected volume, lots)
//! p = exp(−ahead / V)                                        (crate::queue::fill_probability)
//! ```
//!
//! with `ahead` the model's estimate (or the true lots ahead); and `compound_poisson` and
//! `empirical` ([`crate::fill_model`]), from the volume that reached the order's depth behind
//! the touch within each horizon-long interval of the last `VOLUME_WINDOW_NS`, measured from the
//! touch at the interval's start (so that the price moving away is in it). A fill of the order ends each of
//! its open predictions as filled (at that time); a horizon that passes without one, as
//! survived; an order that leaves (we cancel it) before the horizon without a fill, as
//! **censored** at that time. Predictions start once one volume window has passed. Per decile
//! of predicted probability, the realized fill rate is the Kaplan–Meier estimate over those
//! outcomes ([`CensoredCalibration`]): our quotes are mostly canceled within milliseconds, and
//! counting only the predictions that were not censored would count almost only fills.

use std::collections::VecDeque;

use super::volume_window::VolumeWindow;

use wintermute_core::{OrderBook, Side};

use crate::fill_model::ReachStats;
use crate::queue::{
    fill_probability, CensoredCalibration, CensoredDecile, FillOutcome, QueueErrorStats, QueueModel, QueuePosition,
};

/// The models compared, with their report names.
pub const MODELS: [(&str, QueueModel); 3] = [
    ("risk_averse", QueueModel::RiskAverse),
    ("power:2", QueueModel::Probabilistic(crate::queue::ProbFn::Power(2.0))),
    ("log", QueueModel::Probabilistic(crate::queue::ProbFn::Log)),
];

const M: usize = MODELS.len();

/// The fill-probability formulas compared ([`crate::fill_model`]).
pub const FORMULAS: [&str; 3] = ["exp", "compound_poisson", "empirical"];
/// Predictions per point: each formula with each model's and the true lots ahead.
const P: usize = FORMULAS.len() * (M + 1);

/// Comparisons kept per model (later ones are counted as dropped).
pub const ERROR_CAPACITY: usize = 1 << 18;

/// The horizon of the fill-probability predictions, ns (1 s).
pub const FILL_HORIZON_NS: i64 = 1_000_000_000;
/// The window over which the traded volume rate is measured, ns (10 s).
pub const VOLUME_WINDOW_NS: i64 = 10_000_000_000;
/// Trades kept for the volume window (older ones are evicted first when full).
const TRADES_CAPACITY: usize = 1 << 14;
/// Open predictions kept (later ones are counted as dropped).
const PENDING_CAPACITY: usize = 1 << 14;

/// One open fill-probability prediction: the models' and the truth's.
#[derive(Debug, Clone, Copy)]
struct Prediction {
    id: u64,
    made_ns: i64,
    due_ns: i64,
    /// Per formula, each model's prediction then the truth's.
    p: [f64; P],
}

/// The fill-probability predictions' counts ([`QueueTruth::predictions`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PredictionCounts {
    /// Predictions made (per model; every model predicts at the same points).
    pub made: u64,
    /// Ended filled within the horizon.
    pub filled: u64,
    /// Ended censored: the order left unfilled before the horizon.
    pub censored: u64,
    /// Ended unfilled at the horizon.
    pub survived: u64,
    /// Not made because the store of open predictions was full.
    pub dropped: u64,
}

#[derive(Debug, Clone, Copy)]
struct Tracked {
    id: u64,
    side: Side,
    price: i64,
    /// Others' lots at the level as the last L2 update showed them.
    others: i64,
    /// The level changed or traded since the last look (only such orders are looked at).
    dirty: bool,
    /// Trades at the price since the last comparison.
    traded: bool,
    est: [QueuePosition; M],
}

/// Our resting orders' estimates and the estimators' errors (see the module docs).
#[derive(Debug, Clone)]
pub struct QueueTruth {
    orders: Vec<Tracked>,
    errors: [QueueErrorStats; M],
    /// Per formula, each model's fill-probability calibration, then the truth's.
    calibration: Box<[CensoredCalibration; P]>,
    /// The volume reaching each depth per horizon ([`crate::fill_model`]).
    reach: ReachStats,
    horizon_ns: i64,
    window_ns: i64,
    now_ns: i64,
    first_ns: Option<i64>,
    /// The trades in the volume window.
    trades: VolumeWindow,
    /// Open predictions, in the order made (so by due time).
    pending: VecDeque<Prediction>,
    counts: PredictionCounts,
}

impl Default for QueueTruth {
    fn default() -> Self {
        QueueTruth::new(FILL_HORIZON_NS, VOLUME_WINDOW_NS)
    }
}

impl QueueTruth {
    /// Predictions over `horizon_ns`, the volume rate measured over `window_ns` (both > 0).
    pub fn new(horizon_ns: i64, window_ns: i64) -> Self {
        QueueTruth {
            orders: Vec::with_capacity(16),
            errors: std::array::from_fn(|_| QueueErrorStats::new(ERROR_CAPACITY)),
            calibration: Box::new(std::array::from_fn(|_| CensoredCalibration::default())),
            reach: ReachStats::new(horizon_ns, window_ns),
            horizon_ns: horizon_ns.max(1),
            window_ns: window_ns.max(1),
            now_ns: 0,
            first_ns: None,
            trades: VolumeWindow::new(TRADES_CAPACITY),
            pending: VecDeque::with_capacity(PENDING_CAPACITY),
            counts: PredictionCounts::default(),
        }
    }

    /// The time of the commands that follow, ns: predictions whose horizon has passed without
    /// a fill are resolved as not filled.
    pub fn set_now(&mut self, now_ns: i64) {
        self.now_ns = now_ns;
        self.reach.set_now(now_ns);
        self.first_ns.get_or_insert(now_ns);
        while let Some(p) = self.pending.front() {
            if p.due_ns >= now_ns {
                break;
            }
            let p = *p;
            self.pending.pop_front();
            self.resolve(&p, FillOutcome::Survived);
        }
    }

    fn resolve(&mut self, p: &Prediction, outcome: FillOutcome) {
        for (cal, &prob) in self.calibration.iter_mut().zip(&p.p) {
            cal.record(prob, outcome);
        }
        match outcome {
            FillOutcome::Filled(_) => self.counts.filled += 1,
            FillOutcome::Censored(_) => self.counts.censored += 1,
            FillOutcome::Survived => self.counts.survived += 1,
        }
    }

    /// How far into its horizon the prediction `p` is now, as a fraction.
    fn elapsed(&self, p: &Prediction) -> f64 {
        (self.now_ns - p.made_ns) as f64 / self.horizon_ns as f64
    }

    /// Lots traded at or through `price` with `side` resting, expected over the horizon (`None`
    /// before a whole volume window has passed).
    fn expected_volume(&mut self, side: Side, price: i64) -> Option<f64> {
        if self.now_ns - self.first_ns? < self.window_ns {
            return None;
        }
        self.trades.evict_before(self.now_ns - self.window_ns);
        let lots = self.trades.reached(side, price);
        Some(lots as f64 * self.horizon_ns as f64 / self.window_ns as f64)
    }

    /// The horizon of the predictions, ns.
    pub fn horizon_ns(&self) -> i64 {
        self.horizon_ns
    }

    /// Every model's and the truth's prediction for the order `o`, `true_ahead` lots behind the
    /// front, `touch` the best price of its side now.
    fn predict(&mut self, o: (u64, Side, i64), touch: Option<i64>, est: &[QueuePosition; M], true_ahead: i64) {
        let (id, side, price) = o;
        let Some(volume) = self.expected_volume(side, price) else { return };
        if self.pending.len() == self.pending.capacity() {
            self.counts.dropped += 1;
            return;
        }
        let depth = touch.map_or(0, |t| if side == Side::Buy { t - price } else { price - t });
        let mut ahead = [0.0; M + 1];
        for (a, e) in ahead.iter_mut().zip(est) {
            *a = e.ahead().max(0.0);
        }
        ahead[M] = true_ahead as f64;
        let mut p = [0.0; P];
        for (i, &a) in ahead.iter().enumerate() {
            p[i] = fill_probability(a, volume);
            // The models mostly agree: the same lots ahead, the same prediction.
            if let Some(j) = ahead[..i].iter().position(|&b| b == a) {
                p[M + 1 + i] = p[M + 1 + j];
                p[2 * (M + 1) + i] = p[2 * (M + 1) + j];
            } else if let Some(r) = self.reach.predict(side, depth, a) {
                p[M + 1 + i] = r.compound_poisson;
                p[2 * (M + 1) + i] = r.empirical;
            }
        }
        self.pending.push_back(Prediction { id, made_ns: self.now_ns, due_ns: self.now_ns + self.horizon_ns, p });
        self.counts.made += 1;
    }

    /// Our order `id` had a fill: its open predictions resolve as filled.
    pub fn on_our_fill(&mut self, id: u64) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].id == id {
                if let Some(p) = self.pending.remove(i) {
                    self.resolve(&p, FillOutcome::Filled(self.elapsed(&p)));
                }
            } else {
                i += 1;
            }
        }
    }

    /// Our order `id` now rests in `book`: every model starts from the others' lots at its
    /// level (all ahead of it, as an L2 feed shows a join).
    pub fn on_rest(&mut self, book: &OrderBook, id: u64) {
        let Some(q) = book.queue_position(id) else { return };
        let others = q.level_qty - q.own_visible;
        let est = MODELS.map(|(_, m)| m.on_join(others));
        self.orders.push(Tracked { id, side: q.side, price: q.price, others, dirty: false, traded: false, est });
        self.predict((id, q.side, q.price), touch(book, q.side), &est, q.qty_ahead);
    }

    /// A trade of `qty` at `price` against a resting order on the `maker_side`.
    pub fn on_trade(&mut self, maker_side: Side, price: i64, qty: i64) {
        self.trades.push(self.now_ns, self.now_ns - self.window_ns, maker_side, price, qty);
        self.reach.on_trade(maker_side, price, qty);
        for o in self.orders.iter_mut().filter(|o| o.side == maker_side && o.price == price) {
            for (e, (_, m)) in o.est.iter_mut().zip(MODELS) {
                m.on_trade(e, qty);
            }
            o.traded = true;
            o.dirty = true;
        }
    }

    /// The engine reported a change of the level at (`side`, `price`).
    pub fn on_delta(&mut self, side: Side, price: i64) {
        for o in self.orders.iter_mut().filter(|o| o.side == side && o.price == price) {
            o.dirty = true;
        }
    }

    /// After an engine command: for each order whose level changed or traded, the level as L2
    /// shows it now and the comparison with the truth. Orders no longer resting are dropped (an
    /// order leaving changes its level).
    pub fn after_command(&mut self, book: &OrderBook) {
        self.reach.set_touch(touch(book, Side::Buy), touch(book, Side::Sell));
        let mut orders = std::mem::take(&mut self.orders);
        orders.retain_mut(|o| {
            if !o.dirty {
                return true;
            }
            o.dirty = false;
            let Some(q) = book.queue_position(o.id) else {
                // Left without a fill since its open predictions (a fill ended them): censored.
                let mut i = 0;
                while i < self.pending.len() {
                    if self.pending[i].id == o.id {
                        if let Some(p) = self.pending.remove(i) {
                            self.resolve(&p, FillOutcome::Censored(self.elapsed(&p)));
                        }
                    } else {
                        i += 1;
                    }
                }
                return false;
            };
            let others = q.level_qty - q.own_visible;
            let changed = others != o.others;
            if changed {
                for (e, (_, m)) in o.est.iter_mut().zip(MODELS) {
                    m.on_level_change(e, o.others, others);
                }
                o.others = others;
            }
            if changed || o.traded {
                for (stats, e) in self.errors.iter_mut().zip(&o.est) {
                    stats.record_position(e.ahead().max(0.0), q.qty_ahead);
                }
                o.traded = false;
                self.predict((o.id, o.side, o.price), touch(book, o.side), &o.est, q.qty_ahead);
            }
            true
        });
        self.orders = orders;
    }

    /// The fill-probability predictions' counts.
    pub fn predictions(&self) -> PredictionCounts {
        self.counts
    }

    /// Per formula ([`FORMULAS`]), each model's fill-probability calibration per decile, then the
    /// truth's (`exact`: the formula with the true lots ahead): (formula, model, deciles).
    pub fn calibration(&self) -> impl Iterator<Item = (&'static str, &'static str, [CensoredDecile; 10])> + '_ {
        let names = || MODELS.iter().map(|(name, _)| *name).chain(["exact"]);
        FORMULAS
            .iter()
            .flat_map(move |f| names().map(move |n| (*f, n)))
            .zip(self.calibration.iter().map(|c| c.deciles()))
            .map(|((f, n), d)| (f, n, d))
    }

    /// Each model's name and error statistics.
    pub fn errors(&mut self) -> impl Iterator<Item = (&'static str, &mut QueueErrorStats)> {
        MODELS.iter().map(|(name, _)| *name).zip(self.errors.iter_mut())
    }
}

/// The best price on `side` of `book`.
fn touch(book: &OrderBook, side: Side) -> Option<i64> {
    match side {
        Side::Buy => book.best_bid().map(|b| b.0),
        Side::Sell => book.best_ask().map(|a| a.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wintermute_core::{Event, InstrumentSpec, NewOrder};

    fn book() -> OrderBook {
        let spec = InstrumentSpec::from_units("T", "1", "1", 1, 1 << 40, 1, 1 << 40).unwrap();
        OrderBook::with_capacity(spec, 64)
    }

    #[test]
    fn a_cancel_behind_us_fools_the_probabilistic_models_and_not_the_risk_averse_one() {
        let mut b = book();
        let mut ev: Vec<Event> = Vec::new();
        b.submit(&NewOrder::limit(1, 9, Side::Buy, 100, 10), &mut ev).unwrap();
        b.submit(&NewOrder::limit(2, 1, Side::Buy, 100, 5), &mut ev).unwrap(); // us, behind 10
        let mut t = QueueTruth::default();
        t.on_rest(&b, 2);
        b.submit(&NewOrder::limit(3, 9, Side::Buy, 100, 10), &mut ev).unwrap(); // joins behind us
        t.on_delta(Side::Buy, 100);
        t.after_command(&b);
        b.cancel(3, &mut ev).unwrap(); // leaves from behind us: truth stays 10
        t.on_delta(Side::Buy, 100);
        t.after_command(&b);
        let got: Vec<(&str, Option<f64>, usize)> =
            t.errors().map(|(n, s)| (n, s.mean_abs_error(), s.samples())).collect();
        // Two comparisons each (the join behind, the cancel behind). Risk-averse keeps 10:
        // exact. The others split the 10-lot decrease between the 10 ahead and the 10 behind.
        assert_eq!(got[0], ("risk_averse", Some(0.0), 2));
        // power 2: share behind 10²/(10²+10²) = 1/2 -> ahead 10 − 5 = 5, error 5; mean (0+5)/2.
        assert_eq!(got[1].0, "power:2");
        assert!((got[1].1.unwrap() - 2.5).abs() < 1e-9, "{got:?}");
        // log: the same split when front = back.
        assert!((got[2].1.unwrap() - 2.5).abs() < 1e-9, "{got:?}");
    }

    #[test]
    fn trades_at_our_price_move_every_model_forward_like_the_fifo() {
        let mut b = book();
        let mut ev: Vec<Event> = Vec::new();
        b.submit(&NewOrder::limit(1, 9, Side::Buy, 100, 10), &mut ev).unwrap();
        b.submit(&NewOrder::limit(2, 1, Side::Buy, 100, 5), &mut ev).unwrap();
        let mut t = QueueTruth::default();
        t.on_rest(&b, 2);
        ev.clear();
        b.submit(&NewOrder::limit(3, 8, Side::Sell, 100, 4).with_tif(wintermute_core::TimeInForce::Ioc), &mut ev)
            .unwrap();
        for e in &ev {
            if let Event::Trade { price, qty, aggressor, .. } = *e {
                let maker = if aggressor == Side::Buy { Side::Sell } else { Side::Buy };
                t.on_trade(maker, price, qty);
            }
        }
        t.after_command(&b);
        for (name, s) in t.errors() {
            assert_eq!((s.samples(), s.mean_abs_error()), (1, Some(0.0)), "{name}");
        }
        // A command elsewhere leaves us alone; our order gone: no longer tracked.
        t.on_delta(Side::Buy, 99);
        t.after_command(&b);
        assert_eq!(t.orders.len(), 1);
        b.cancel(2, &mut ev).unwrap();
        t.on_delta(Side::Buy, 100);
        t.after_command(&b);
        assert!(t.orders.is_empty());
    }

    #[test]
    fn fill_predictions_use_the_volume_that_reached_our_price_and_resolve_by_fill_horizon_or_censoring() {
        let mut b = book();
        let mut ev: Vec<Event> = Vec::new();
        // Horizon 1 µs, volume window 10 µs (ns units).
        let mut t = QueueTruth::new(1_000, 10_000);
        t.set_now(0);
        // Trades in the window: 20 lots at our price and 30 through it (a bid resting at 99) count;
        // 50 at a better bid (101) and 70 on the other side do not. V = 50 × 1000 / 10000 = 5.
        t.on_trade(Side::Buy, 100, 20);
        t.on_trade(Side::Buy, 99, 30);
        t.on_trade(Side::Buy, 101, 50);
        t.on_trade(Side::Sell, 100, 70);
        b.submit(&NewOrder::limit(1, 9, Side::Buy, 100, 10), &mut ev).unwrap();
        b.submit(&NewOrder::limit(2, 1, Side::Buy, 100, 5), &mut ev).unwrap(); // us, behind 10
        t.set_now(9_999);
        t.on_rest(&b, 2); // before a whole window has passed: no prediction
        assert_eq!(t.predictions().made, 0);
        t.orders.clear();
        t.set_now(10_000);
        t.on_rest(&b, 2); // p = exp(−10 / 5) for every model and the truth
        assert_eq!(t.predictions().made, 1);
        // A taker sells 12 at 10,500: 10 against order 1, 2 against us, within the horizon.
        t.set_now(10_500);
        ev.clear();
        b.submit(&NewOrder::limit(3, 8, Side::Sell, 100, 12).with_tif(wintermute_core::TimeInForce::Ioc), &mut ev)
            .unwrap();
        for e in &ev {
            if let Event::Trade { price, qty, maker_order_id, .. } = *e {
                t.on_trade(Side::Buy, price, qty);
                if maker_order_id == 2 {
                    t.on_our_fill(2);
                }
            }
        }
        t.after_command(&b); // a comparison: a new prediction, 0 ahead: p = 1
        assert_eq!(t.predictions(), PredictionCounts { made: 2, filled: 1, censored: 0, survived: 0, dropped: 0 });
        // The horizon of the second passes (due 11,500) with no fill: survived.
        t.set_now(11_501);
        assert_eq!(t.predictions().survived, 1);
        // Someone joins behind us (a comparison, a prediction), then we cancel before its
        // horizon: censored.
        b.submit(&NewOrder::limit(4, 9, Side::Buy, 100, 7), &mut ev).unwrap();
        t.on_delta(Side::Buy, 100);
        t.after_command(&b);
        b.cancel(2, &mut ev).unwrap();
        t.on_delta(Side::Buy, 100);
        t.after_command(&b);
        assert_eq!(t.predictions(), PredictionCounts { made: 3, filled: 1, censored: 1, survived: 1, dropped: 0 });
        let p0 = (-2.0f64).exp(); // 0.135: decile 1, filled half-way through its horizon
        let names: Vec<(&str, &str)> = t.calibration().map(|(f, n, _)| (f, n)).collect();
        assert_eq!(names.len(), 12);
        assert_eq!(&names[..4], [("exp", "risk_averse"), ("exp", "power:2"), ("exp", "log"), ("exp", "exact")]);
        assert_eq!(names[4], ("compound_poisson", "risk_averse"));
        assert_eq!(names[11], ("empirical", "exact"));
        for (_, name, c) in t.calibration().filter(|c| c.0 == "exp") {
            assert_eq!((c[1].count, c[1].filled), (1, 1), "{name}");
            assert!((c[1].mean_predicted - p0).abs() < 1e-12 && c[1].realized_rate == 1.0, "{name}: {c:?}");
            // Decile 9: p = 1 twice, one survived, one censored at once: nothing filled.
            assert_eq!(
                (c[9].count, c[9].censored, c[9].mean_predicted, c[9].realized_rate),
                (2, 1, 1.0, 0.0),
                "{name}"
            );
            assert_eq!(c.iter().map(|d| d.count).sum::<u64>(), 3, "{name}");
        }
    }
}

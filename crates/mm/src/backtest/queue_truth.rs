//! The L2 queue estimators ([`crate::queue`]) measured against the truth, on our venue.
//!
//! On our venue the backtest runs the matching engine itself, so the FIFO place of each of our
//! resting orders is known exactly ([`wintermute_core::OrderBook::queue_position`]). Beside it,
//! each of our orders carries one estimate per L2 model — risk-averse, power (`f(x) = x²`) and
//! log — fed only what an L2 feed of our venue shows: the trades printed at the order's price and
//! the level's quantity of others' lots after each engine command. After every command that
//! traded at or changed the level, each estimate is compared with the true lots ahead
//! ([`QueueErrorStats`]: mean and p90 absolute error, in lots).

use wintermute_core::{OrderBook, Side};

use crate::queue::{QueueErrorStats, QueueModel, QueuePosition};

/// The models compared, with their report names.
pub const MODELS: [(&str, QueueModel); 3] = [
    ("risk_averse", QueueModel::RiskAverse),
    ("power:2", QueueModel::Probabilistic(crate::queue::ProbFn::Power(2.0))),
    ("log", QueueModel::Probabilistic(crate::queue::ProbFn::Log)),
];

const M: usize = MODELS.len();

/// Comparisons kept per model (later ones are counted as dropped).
pub const ERROR_CAPACITY: usize = 1 << 18;

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
}

impl Default for QueueTruth {
    fn default() -> Self {
        QueueTruth {
            orders: Vec::with_capacity(16),
            errors: std::array::from_fn(|_| QueueErrorStats::new(ERROR_CAPACITY)),
        }
    }
}

impl QueueTruth {
    /// Our order `id` now rests in `book`: every model starts from the others' lots at its
    /// level (all ahead of it, as an L2 feed shows a join).
    pub fn on_rest(&mut self, book: &OrderBook, id: u64) {
        let Some(q) = book.queue_position(id) else { return };
        let others = q.level_qty - q.own_visible;
        let est = MODELS.map(|(_, m)| m.on_join(others));
        self.orders.push(Tracked { id, side: q.side, price: q.price, others, dirty: false, traded: false, est });
    }

    /// A trade of `qty` at `price` against a resting order on the `maker_side`.
    pub fn on_trade(&mut self, maker_side: Side, price: i64, qty: i64) {
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
        let errors = &mut self.errors;
        self.orders.retain_mut(|o| {
            if !o.dirty {
                return true;
            }
            o.dirty = false;
            let Some(q) = book.queue_position(o.id) else { return false };
            let others = q.level_qty - q.own_visible;
            let changed = others != o.others;
            if changed {
                for (e, (_, m)) in o.est.iter_mut().zip(MODELS) {
                    m.on_level_change(e, o.others, others);
                }
                o.others = others;
            }
            if changed || o.traded {
                for (stats, e) in errors.iter_mut().zip(&o.est) {
                    stats.record_position(e.ahead().max(0.0), q.qty_ahead);
                }
                o.traded = false;
            }
            true
        });
    }

    /// Each model's name and error statistics.
    pub fn errors(&mut self) -> impl Iterator<Item = (&'static str, &mut QueueErrorStats)> {
        MODELS.iter().map(|(name, _)| *name).zip(self.errors.iter_mut())
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
}

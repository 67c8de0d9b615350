//! What a backtest records besides the trading metrics: every fill, time series sampled at a
//! fixed interval, and the run's counters.
//!
//! The PnL and its parts, the markouts and the queue-position figures are the crate's
//! [`metrics`](crate::metrics), the same code a live runner feeds; the simulator drives them and
//! this module only keeps the columns a report plots.

use serde::Serialize;

use crate::metrics::pnl::PnlLedger;
use crate::types::{Fill, Liquidity, Side, VenueId};

/// A fill on a venue, before it is stamped with time and venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueFill {
    /// Our order.
    pub order_id: u64,
    /// Our side.
    pub side: Side,
    /// Price, ticks.
    pub price: i64,
    /// Lots.
    pub qty: i64,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// Lots of the order still working.
    pub remaining: i64,
    /// Lots ahead of the order when it was placed.
    pub queue_ahead: i64,
}

/// One of our fills as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FillRecord {
    /// The fill.
    pub fill: Fill,
    /// The quoted venue's `bid + ask` at the fill (0 when not two-sided).
    pub mark2: i64,
    /// Lots ahead of our order in its queue when it was placed (exact on our venue, the queue
    /// model's estimate elsewhere; 0 for taker fills).
    pub queue_ahead: i64,
}

/// Time series sampled every `sample_ms`, as columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Sample time, ns.
    pub ts_ns: Vec<i64>,
    /// Mark `bid + ask` of the quoted venue (0 when unknown).
    pub mark2: Vec<i64>,
    /// Inventory, lots.
    pub inventory: Vec<i64>,
    /// Total PnL, money units.
    pub pnl: Vec<i128>,
    /// Spread capture, money units.
    pub spread: Vec<i128>,
    /// Inventory mark-to-market, money units.
    pub mtm: Vec<i128>,
    /// Fees and rebates, money units.
    pub fees: Vec<i128>,
    /// Hedge slippage, money units.
    pub hedge: Vec<i128>,
    /// Our quoted spread on the quoted venue, ticks (−1: not two-sided).
    pub quoted_spread: Vec<i64>,
    /// The quoted venue's spread, ticks (−1: not two-sided).
    pub market_spread: Vec<i64>,
}

impl Series {
    /// Appends one sample: the ledger marked at `mark2` (the quoted venue's `bid + ask`).
    pub fn push(&mut self, ts_ns: i64, mark2: i64, ledger: &PnlLedger, quoted_spread: i64, market_spread: i64) {
        let parts = ledger.parts();
        self.ts_ns.push(ts_ns);
        self.mark2.push(mark2);
        self.inventory.push(ledger.position());
        self.pnl.push(ledger.total());
        self.spread.push(parts.spread_capture);
        self.mtm.push(parts.inventory_mtm);
        self.fees.push(parts.fees);
        self.hedge.push(parts.hedge_slippage);
        self.quoted_spread.push(quoted_spread);
        self.market_spread.push(market_spread);
    }
}

/// One L2 queue estimator's error against our venue's true FIFO queue
/// ([`super::queue_truth`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueError {
    /// The model (`risk_averse`, `power:2`, `log`).
    pub model: String,
    /// Comparisons with the truth.
    pub samples: u64,
    /// Comparisons left out (the store was full).
    pub dropped: u64,
    /// Mean absolute error, lots (0 without comparisons).
    pub mean_abs_lots: f64,
    /// 90th percentile of the absolute error, lots (0 without comparisons).
    pub p90_abs_lots: f64,
}

/// One decile of predicted fill probability ([`FillCalibration`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CalibrationDecile {
    /// The decile's lower bound (`0.0`, `0.1`, …, `0.9`; the last one includes 1).
    pub from: f64,
    /// Predictions in it.
    pub count: u64,
    /// Their mean predicted probability (0 when empty).
    pub mean_predicted: f64,
    /// Of them, orders that filled within the horizon.
    pub filled: u64,
    /// Of them, orders that left unfilled before the horizon (censored).
    pub censored: u64,
    /// The Kaplan–Meier estimate of the probability to fill within the horizon (0 when empty).
    pub realized_rate: f64,
}

/// One queue model's fill-probability calibration on our venue
/// ([`super::queue_truth`]: formula, outcomes, censoring).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillCalibration {
    /// The model (`risk_averse`, `power:2`, `log`), or `exact` (the true lots ahead).
    pub model: String,
    /// The formula: `exp` (`exp(−ahead / V)`), `compound_poisson` or `empirical`
    /// ([`crate::fill_model`]).
    pub formula: String,
    /// The prediction horizon, ms.
    pub horizon_ms: i64,
    /// Predictions made (every model predicts at the same points).
    pub predictions: u64,
    /// Ended filled within the horizon.
    pub filled: u64,
    /// Ended censored: the order left unfilled before the horizon.
    pub censored: u64,
    /// Ended unfilled at the horizon.
    pub survived: u64,
    /// Not made: too many open predictions.
    pub dropped: u64,
    /// Predicted against realized, per decile of predicted probability.
    pub deciles: Vec<CalibrationDecile>,
}

/// Counters of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    /// Market-data events applied at the venues (tape events).
    pub md_events: u64,
    /// Events handled by the loop (tape at the venue, tape seen by us, scheduled actions).
    pub loop_events: u64,
    /// Orders we sent (places and takes).
    pub orders: u64,
    /// Amends we sent.
    pub amends: u64,
    /// Cancels we sent.
    pub cancels: u64,
    /// Lots quoted (sum of placed quantities).
    pub quoted_lots: i64,
    /// Our fills.
    pub fills: u64,
    /// Lots filled as maker.
    pub maker_lots: i64,
    /// Lots filled as taker (hedges).
    pub taker_lots: i64,
    /// Orders rejected by the venue (post-only crossing, unknown order).
    pub rejects: u64,
    /// Samples taken.
    pub samples: u64,
    /// Samples at which we had both a bid and an ask working on the quoted venue.
    pub two_sided_samples: u64,
    /// Samples at which our best bid or ask was at the venue's touch.
    pub at_touch_samples: u64,
    /// Trades between other participants on our venue.
    pub participant_trades: u64,
}

/// Where a fill came from, for the digest.
pub fn venue_code(venue: VenueId) -> u64 {
    match venue {
        VenueId::Ours => 255,
        VenueId::External(v) => v as u64,
    }
}

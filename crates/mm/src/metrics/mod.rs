//! Trading metrics, the same code whether a backtest or a live runner feeds them.
//!
//! * [`pnl`]: PnL decomposed into spread capture, inventory mark-to-market, fees and hedge
//!   slippage, adding up to the total exactly in integer money.
//! * [`markouts`]: the fair value and our mid at fixed horizons after each fill, in bps, with
//!   95% confidence intervals.
//! * [`fills`]: fill ratios, quote uptime and time at touch, queue position at fills, and
//!   inventory over time.
//!
//! [`TradingMetrics`] holds one of each, for a runner that wants them together.

pub mod fills;
pub mod markouts;
pub mod pnl;

use fills::FillStats;
use markouts::Markouts;
use pnl::{Mark, PnlLedger};

/// All the trading metrics of one market maker.
#[derive(Debug, Clone)]
pub struct TradingMetrics {
    /// PnL and its parts.
    pub pnl: PnlLedger,
    /// Markouts.
    pub markouts: Markouts,
    /// Fill ratios, uptime, queue at fill, inventory.
    pub fills: FillStats,
}

impl TradingMetrics {
    /// Metrics starting flat at `mark`, keeping up to `pending_fills` markouts in flight and
    /// `series_points` points of each sampled series (inventory every `inventory_interval_ns`).
    pub fn new(mark: Mark, pending_fills: usize, series_points: usize, inventory_interval_ns: i64) -> Self {
        Self {
            pnl: PnlLedger::new(mark),
            markouts: Markouts::new(pending_fills),
            fills: FillStats::new(series_points, inventory_interval_ns),
        }
    }
}

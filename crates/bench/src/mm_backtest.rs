//! The Rust rows of `wintermute bench backtest`: one backtest configuration run with Rust
//! strategies, directly and through the batch boundary of `wintermute_mm::batched`, so that
//! the Python rows (a Python strategy through the same boundary) can be compared with them in
//! the same run:
//!
//! | strategy | what runs |
//! |---|---|
//! | `builtin` | the built-in market maker (`PricedMarketMaker`), called per event |
//! | `builtin_batched` | the same, its events buffered and replayed per batch (`PerEvent`) |
//! | `idle` | a strategy that does nothing: the backtester's own cost |
//! | `idle_batched` | the same through the batch boundary (events buffered, handed to a sink that sends nothing) |
//!
//! `builtin` and `builtin_batched` trade identically, as do `idle` and every idle strategy in
//! Python, so the difference of their loop times is the cost of the path the events took.

use std::convert::Infallible;

use wintermute_mm::backtest::{market_maker, run_batched, run_strategy, BacktestConfig, BacktestError, BacktestResult};
use wintermute_mm::batched::per_event::PerEvent;
use wintermute_mm::batched::{Batch, BatchSink, BatchedStrategy, CommandBuffer};
use wintermute_mm::strategy::Strategy;

/// A strategy with no callbacks.
#[derive(Debug, Default)]
pub struct Idle;

impl Strategy for Idle {}

impl BatchSink for Idle {
    type Error = Infallible;
    fn on_batch(&mut self, _batch: &Batch<'_>, _out: &mut CommandBuffer) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Which Rust strategy (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RustStrategy {
    /// The built-in market maker.
    Builtin,
    /// The built-in market maker through the batch boundary.
    BuiltinBatched,
    /// Nothing.
    Idle,
    /// Nothing, through the batch boundary.
    IdleBatched,
}

impl RustStrategy {
    /// The strategy a name (`builtin`, `builtin_batched`, `idle`, `idle_batched`) names.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "builtin" => RustStrategy::Builtin,
            "builtin_batched" => RustStrategy::BuiltinBatched,
            "idle" => RustStrategy::Idle,
            "idle_batched" => RustStrategy::IdleBatched,
            _ => return None,
        })
    }
}

/// Runs the backtest `config_json` with `strategy`, batches of at most `max_batch` events.
pub fn run(config_json: &str, strategy: RustStrategy, max_batch: usize) -> Result<BacktestResult, BacktestError> {
    let cfg = BacktestConfig::from_json(config_json)?;
    match strategy {
        RustStrategy::Builtin => wintermute_mm::backtest::run(&cfg, None),
        RustStrategy::BuiltinBatched => {
            let built = cfg.build()?;
            let mut s = BatchedStrategy::new(PerEvent::new(market_maker(&cfg, &built)?), max_batch);
            run_batched(&cfg, &mut s, "rust:builtin_batched", None)
        }
        RustStrategy::Idle => {
            let mut result = run_strategy(&cfg, cfg.build()?, &mut Idle, None);
            result.summary.model = "rust:idle".into();
            Ok(result)
        }
        RustStrategy::IdleBatched => {
            run_batched(&cfg, &mut BatchedStrategy::new(Idle, max_batch), "rust:idle_batched", None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{"seed": 3,
      "market": {"kind": "synthetic", "duration_s": 3.0, "venues": [{"name": "binance", "spread_ticks": 2}]},
      "pricing": {
        "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.1", "lot_size": "0.0001"},
        "venues": [{"name": "binance", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}],
        "model": {"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 0.5},
        "volatility": {"fixed": {"sigma": 2.0}},
        "intensity": {"fixed": {"bid": {"a": 1.0, "k": 0.3}, "ask": {"a": 1.0, "k": 0.3}}},
        "quoting": {"levels": 1, "sizes_lots": [2], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                    "max_spread_ticks": 200, "max_inventory_lots": 20, "inventory_unit_lots": 2,
                    "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}}}"#;

    #[test]
    fn the_batched_rows_trade_as_their_direct_twins() {
        let run = |s| run(CONFIG, s, 4096).unwrap().summary;
        let (builtin, batched) = (run(RustStrategy::Builtin), run(RustStrategy::BuiltinBatched));
        assert_eq!(builtin.digest, batched.digest);
        assert!(builtin.orders > 0);
        let (idle, idle_batched) = (run(RustStrategy::Idle), run(RustStrategy::IdleBatched));
        assert_eq!(idle.digest, idle_batched.digest);
        assert_eq!(idle.orders, 0);
        assert!(idle_batched.batching.unwrap().events > 100);
        assert_eq!(RustStrategy::from_name("idle_batched"), Some(RustStrategy::IdleBatched));
        assert_eq!(RustStrategy::from_name("python"), None);
    }
}

//! Runs a backtest from a JSON configuration and prints its summary, including the event
//! loop's speed (market-data events per second on one core).
//!
//! ```text
//! cargo run --release -p wintermute-mm --example mm_backtest -- [CONFIG.json]
//! ```
//! Without an argument it runs a 10-minute synthetic market with three external venues, quoted
//! on our venue by the market maker with GLFT.

fn main() {
    let config = match std::env::args().nth(1) {
        Some(path) => std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}")),
        None => DEFAULT.to_string(),
    };
    match wintermute_mm::backtest::run_json(&config, None) {
        Ok(result) => println!("{}", result.summary_json()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}

const DEFAULT: &str = r#"{
  "seed": 42,
  "market": {"kind": "synthetic", "duration_s": 600.0,
             "venues": [
               {"name": "binance", "spread_ticks": 2, "lag_ms": 0, "noise_ticks": 0.5, "feed_latency_ms": 5, "updates_per_s": 2000},
               {"name": "coinbase", "spread_ticks": 3, "lag_ms": 20, "noise_ticks": 1.0, "feed_latency_ms": 10, "updates_per_s": 1000},
               {"name": "kraken", "spread_ticks": 4, "lag_ms": 50, "noise_ticks": 1.5, "feed_latency_ms": 20, "updates_per_s": 500}]},
  "pricing": {
    "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.1", "lot_size": "0.0001"},
    "venues": [
      {"name": "binance", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 2.0, "stale_after_ms": 500},
      {"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 500},
      {"name": "kraken", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}],
    "model": {"kind": "glft", "gamma": 0.05},
    "volatility": {"fixed": {"sigma": 20.0}},
    "intensity": {"fixed": {"bid": {"a": 1.0, "k": 0.3}, "ask": {"a": 1.0, "k": 0.3}}},
    "quoting": {"levels": 2, "sizes_lots": [5, 5], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                "max_spread_ticks": 200, "max_inventory_lots": 100, "inventory_unit_lots": 5,
                "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}},
  "fees": {"ours": {"maker_ppm": -20, "taker_ppm": 50}}
}"#;

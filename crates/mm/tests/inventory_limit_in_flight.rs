//! One inventory limit with latency: an order whose cancel (or replace, or amend down) is still
//! on its way may still fill, so the room of every ladder counts it until the venue's answer is
//! back. Backtests quoting on two or three external venues with order latencies up to tens of
//! milliseconds never take |inventory| past `max_inventory_lots`, on fixed seeds and on
//! proptest's; and the quotes come back once the cancels are confirmed.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use wintermute_mm::backtest::{run_json, BacktestResult};
use wintermute_mm::types::Side;

const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/inventory_limit_in_flight.txt");

/// A synthetic market of three venues, fixed spread, no hedging, quoting on `quote_on` (JSON)
/// with one level of `size` lots per side and levels of `size` more, `max` the limit.
fn config(seed: u64, quote_on: &str, levels: usize, size: i64, max: i64, order_ms: f64, feed_ms: i64) -> String {
    let duration = if quote_on.starts_with('[') { 4.0 } else { 3.0 };
    let sizes = vec![size.to_string(); levels].join(", ");
    format!(
        r#"{{"seed": {seed},
        "market": {{"kind": "synthetic", "duration_s": {duration},
                   "venues": [{{"name": "binance", "spread_ticks": 2, "updates_per_s": 400, "feed_latency_ms": {feed_ms}}},
                              {{"name": "kraken", "spread_ticks": 3, "lag_ms": 30, "noise_ticks": 1.0, "updates_per_s": 200, "feed_latency_ms": {feed_ms}}},
                              {{"name": "coinbase", "spread_ticks": 2, "lag_ms": 10, "noise_ticks": 1.0, "updates_per_s": 300, "feed_latency_ms": {feed_ms}}}]}},
        "pricing": {{
          "instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.1", "lot_size": "0.0001"}},
          "venues": [{{"name": "binance", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 5000}},
                     {{"name": "kraken", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 5000}},
                     {{"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 5000}}],
          "model": {{"kind": "fixed_spread", "half_spread_ticks": 1.0, "skew_ticks_per_unit": 0.5}},
          "volatility": {{"fixed": {{"sigma": 2.0}}}},
          "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 0.3}}, "ask": {{"a": 1.0, "k": 0.3}}}}}},
          "quoting": {{"levels": {levels}, "sizes_lots": [{sizes}], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                      "max_spread_ticks": 200, "max_inventory_lots": {max}, "inventory_unit_lots": 2,
                      "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}}}},
        "quote_on": {quote_on},
        "latency": {{"order_ms": {order_ms}, "our_feed_ms": 1.0}},
        "fees": {{"binance": {{"maker_ppm": 10, "taker_ppm": 40}}, "kraken": {{"maker_ppm": 20, "taker_ppm": 50}},
                  "coinbase": {{"maker_ppm": 20, "taker_ppm": 50}}}}}}"#
    )
}

/// The largest |inventory| along the run's fills, in the order the venues filled them.
fn max_abs_inventory(r: &BacktestResult) -> i64 {
    let mut position = 0i64;
    let mut max = 0i64;
    for f in &r.fills {
        position += if f.fill.side == Side::Buy { f.fill.qty } else { -f.fill.qty };
        max = max.max(position.abs());
    }
    assert_eq!(position, r.summary.final_inventory_lots);
    max.max(r.summary.max_inventory_lots)
}

#[test]
fn two_and_three_venues_with_latency_never_pass_the_limit() {
    let mut fills = 0;
    for seed in 1..=3 {
        for (quote_on, order_ms) in [
            (r#"["binance", "kraken"]"#, 20.0),
            (r#"["binance", "kraken", "coinbase"]"#, 50.0),
            (r#"["kraken", "binance"]"#, 5.0),
        ] {
            let r = run_json(&config(seed, quote_on, 1, 10, 10, order_ms, 5), None).unwrap();
            let max = max_abs_inventory(&r);
            assert!(max <= 10, "seed={seed} quote_on={quote_on} order_ms={order_ms}: max |inventory| {max} > 10");
            fills += r.summary.fills;
        }
    }
    assert!(fills > 20, "the runs trade: {fills} fills");
}

#[test]
fn a_single_venue_with_latency_never_passes_the_limit_either() {
    // One ladder of two levels moving its price: the canceled orders and their replacements
    // could both fill.
    for seed in 1..=2 {
        let r = run_json(&config(seed, r#""binance""#, 2, 5, 10, 30.0, 5), None).unwrap();
        let max = max_abs_inventory(&r);
        assert!(max <= 10, "seed={seed}: max |inventory| {max} > 10");
        assert!(r.summary.fills > 0, "seed={seed}: no fill");
    }
}

#[test]
fn quotes_come_back_once_the_cancels_are_confirmed() {
    // A long latency and a limit that binds with the inventory: moved quotes wait for their
    // cancels' answers, then come back: both venues fill through the run, on both sides.
    let r = run_json(&config(3, r#"["binance", "kraken"]"#, 1, 10, 20, 50.0, 5), None).unwrap();
    assert!(max_abs_inventory(&r) <= 20);
    let start = r.fills.first().map_or(0, |f| f.fill.ts_ns);
    for side in [Side::Buy, Side::Sell] {
        let late = r.fills.iter().filter(|f| f.fill.side == side && f.fill.ts_ns > start + 2_000_000_000).count();
        assert!(late > 0, "{side:?}: no fill in the second half");
    }
    for v in 0..2u8 {
        let n = r.fills.iter().filter(|f| f.fill.venue == wintermute_mm::types::VenueId::External(v)).count();
        assert!(n > 0, "venue {v}: no fill");
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn max_inventory_never_passes_the_limit(
        seed in 0u64..1_000_000,
        venues in 2usize..=3,
        levels in 1usize..=3,
        size in 1i64..=10,
        max in 5i64..=30,
        order_ms in 0.0f64..80.0,
        feed_ms in 0i64..40,
    ) {
        let quote_on = ["\"binance\"", "\"kraken\"", "\"coinbase\""][..venues].join(", ");
        let r = run_json(&config(seed, &format!("[{quote_on}]"), levels, size, max, order_ms, feed_ms), None).unwrap();
        let got = max_abs_inventory(&r);
        prop_assert!(got <= max, "max |inventory| {} > limit {}", got, max);
    }
}

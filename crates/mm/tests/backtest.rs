//! The backtester end to end: determinism, the PnL identity, our venue's exact fills, a
//! recorded venue, and configuration errors.

use std::path::Path;

use wintermute_mm::backtest::{run_json, BacktestError};

/// A synthetic market with two reference venues, quoted on our venue by the pricing stack with
/// `model` (a `pricing.model` table), hedging beyond 10 lots on binance.
fn synthetic(seed: u64, model: &str, extra: &str) -> String {
    format!(
        r#"{{"seed": {seed},
        "market": {{"kind": "synthetic", "duration_s": 20.0,
                   "venues": [{{"name": "binance", "spread_ticks": 2, "updates_per_s": 400}},
                              {{"name": "kraken", "spread_ticks": 3, "lag_ms": 30, "noise_ticks": 1.0, "updates_per_s": 200}}]}},
        "pricing": {{
          "instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.1", "lot_size": "0.0001"}},
          "venues": [{{"name": "binance", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 5000}},
                     {{"name": "kraken", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 5000}}],
          "model": {model},
          "volatility": {{"fixed": {{"sigma": 2.0}}}},
          "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 0.3}}, "ask": {{"a": 1.0, "k": 0.3}}}}}},
          "quoting": {{"levels": 1, "sizes_lots": [2], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                      "max_spread_ticks": 200, "max_inventory_lots": 20, "inventory_unit_lots": 2,
                      "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}}}},
        "hedge_on": "binance", "hedge_threshold_lots": 10,
        "fees": {{"ours": {{"maker_ppm": -20, "taker_ppm": 50}}, "binance": {{"maker_ppm": 10, "taker_ppm": 40}}}}
        {extra}}}"#
    )
}

const FIXED: &str = r#"{"kind": "fixed_spread", "half_spread_ticks": 2.0, "skew_ticks_per_unit": 0.5}"#;

#[test]
fn a_backtest_is_byte_for_byte_deterministic_for_a_seed() {
    let a = run_json(&synthetic(11, FIXED, ""), None).unwrap();
    let b = run_json(&synthetic(11, FIXED, ""), None).unwrap();
    assert_eq!(a.summary.digest, b.summary.digest);
    assert_eq!(a.fills, b.fills);
    assert_eq!(a.series, b.series);
    assert_eq!(a.summary.markouts_fair, b.summary.markouts_fair);
    assert_eq!(a.summary.queue_error, b.summary.queue_error);
    assert!(a.summary.fills > 10, "the run must trade to mean anything: {}", a.summary.fills);
    let c = run_json(&synthetic(12, FIXED, ""), None).unwrap();
    assert_ne!(a.summary.digest, c.summary.digest, "another seed is another market");
}

#[test]
fn pnl_parts_add_up_to_the_total_after_every_fill() {
    for model in [
        FIXED,
        r#"{"kind": "avellaneda_stoikov", "gamma": 0.1, "session_s": 10.0}"#,
        r#"{"kind": "glft", "gamma": 0.05}"#,
    ] {
        let r = run_json(&synthetic(3, model, ""), None).unwrap();
        assert!(r.summary.fills > 0, "model {model} never filled");
        assert_eq!(r.summary.identity_breaks, 0);
        let exact = &r.summary.pnl_exact;
        let parts: i128 =
            [&exact.spread, &exact.mtm, &exact.fees, &exact.hedge].iter().map(|s| s.parse::<i128>().unwrap()).sum();
        assert_eq!(parts, exact.total.parse::<i128>().unwrap());
        // Every sample too.
        let s = &r.series;
        for i in 0..s.pnl.len() {
            assert_eq!(s.pnl[i], s.spread[i] + s.mtm[i] + s.fees[i] + s.hedge[i], "sample {i}");
        }
    }
}

#[test]
fn markouts_against_the_fair_value_and_the_queue_estimators_error_are_reported() {
    let r = run_json(&synthetic(11, FIXED, ""), None).unwrap();
    let s = &r.summary;
    let horizons: Vec<i64> = s.markouts_fair.iter().map(|m| m.horizon_ms).collect();
    assert_eq!(horizons, [100, 1_000, 5_000, 30_000, 60_000]);
    // Both references are observed together, so each horizon measures the same fills.
    for (mid, fair) in s.markouts.iter().zip(&s.markouts_fair) {
        assert_eq!(mid.n, fair.n);
    }
    assert!(s.markouts_fair[1].n > 10, "{:?}", s.markouts_fair);
    assert_ne!(s.markouts_fair[1].mean_bps, s.markouts[1].mean_bps, "the fair value is not our mid");
    assert_eq!(s.markouts_dropped, 0);
    // On our venue each estimator is compared with the engine's FIFO queue.
    let models: Vec<&str> = s.queue_error.iter().map(|q| q.model.as_str()).collect();
    assert_eq!(models, ["risk_averse", "power:2", "log"]);
    for q in &s.queue_error {
        assert!(q.samples > 100 && q.dropped == 0, "{q:?}");
        assert!(q.mean_abs_lots >= 0.0 && q.p90_abs_lots >= 0.0, "{q:?}");
    }
    // And each one's fill-probability predictions, with the truth's, against what filled.
    let models: Vec<(&str, &str)> = s.fill_calibration.iter().map(|c| (c.formula.as_str(), c.model.as_str())).collect();
    let names = ["risk_averse", "power:2", "log", "exact"];
    let formulas = ["exp", "compound_poisson", "empirical"];
    assert_eq!(models, formulas.iter().flat_map(|f| names.map(|n| (*f, n))).collect::<Vec<_>>());
    for c in &s.fill_calibration {
        assert!(c.predictions > 100 && c.filled > 0 && c.censored > 0, "{c:?}");
        let ended = c.filled + c.censored + c.survived;
        assert!(ended <= c.predictions, "{c:?}");
        assert_eq!(c.deciles.iter().map(|d| d.count).sum::<u64>(), ended, "{c:?}");
        assert_eq!(c.deciles.iter().map(|d| d.filled).sum::<u64>(), c.filled, "{c:?}");
        assert!(c.deciles.iter().any(|d| d.realized_rate > 0.0), "some predictions filled: {c:?}");
        for d in c.deciles.iter().filter(|d| d.count > 0) {
            assert!(d.mean_predicted >= d.from && d.mean_predicted <= d.from + 0.1 + 1e-12, "{d:?}");
        }
    }
}

#[test]
fn fees_are_charged_at_the_configured_rates_exactly() {
    let r = run_json(&synthetic(5, FIXED, ""), None).unwrap();
    for f in &r.fills {
        let notional = f.fill.price as i128 * f.fill.qty as i128;
        let ppm = match (f.fill.venue, f.fill.liquidity) {
            (wintermute_mm::types::VenueId::Ours, wintermute_mm::types::Liquidity::Maker) => -20,
            (wintermute_mm::types::VenueId::Ours, wintermute_mm::types::Liquidity::Taker) => 50,
            (_, wintermute_mm::types::Liquidity::Maker) => 10,
            (_, wintermute_mm::types::Liquidity::Taker) => 40,
        };
        assert_eq!(f.fill.fee, notional * ppm);
    }
}

#[test]
fn inventory_stays_within_the_limit_plus_what_is_in_flight() {
    let r = run_json(&synthetic(9, FIXED, ""), None).unwrap();
    // Quotes stop at 20 lots; orders already resting or in flight can add a few sizes more.
    assert!(r.summary.max_inventory_lots <= 20 + 2 * 2, "max={}", r.summary.max_inventory_lots);
    let held: i64 = r
        .fills
        .iter()
        .map(|f| if f.fill.side == wintermute_mm::types::Side::Buy { f.fill.qty } else { -f.fill.qty })
        .sum();
    assert_eq!(held, r.summary.final_inventory_lots);
}

#[test]
fn hedges_never_fill_at_a_price_worse_than_the_slippage_cap_allows_or_better_than_the_book() {
    let r = run_json(&synthetic(21, FIXED, ""), None).unwrap();
    let hedges: Vec<_> =
        r.fills.iter().filter(|f| f.fill.liquidity == wintermute_mm::types::Liquidity::Taker).collect();
    assert!(!hedges.is_empty(), "inventory beyond 10 lots should have been hedged");
    for h in hedges {
        assert_eq!(h.fill.venue, wintermute_mm::types::VenueId::External(0), "binance is venue 0");
    }
}

fn binance() -> String {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/binance");
    data.join("binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade.cfraw.txt")
        .display()
        .to_string()
}

#[test]
fn a_recorded_venue_replays_through_its_book_builder_deterministically() {
    let path = binance();
    let config = format!(
        r#"{{"market": {{"kind": "recorded", "path": "{path}", "venue": "binance", "symbol": "BTCUSDT",
                        "tick_size": "0.01", "lot_size": "0.000001"}},
            "pricing": {{
              "instrument": {{"symbol": "BTCUSDT", "quote_currency": "USDT", "tick_size": "0.01", "lot_size": "0.000001"}},
              "venues": [{{"name": "binance", "symbol": "BTCUSDT", "quote_currency": "USDT", "weight": 1.0, "stale_after_ms": 5000}}],
              "model": {{"kind": "fixed_spread", "half_spread_ticks": 50.0, "skew_ticks_per_unit": 0.0}},
              "volatility": {{"fixed": {{"sigma": 2.0}}}},
              "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 0.3}}, "ask": {{"a": 1.0, "k": 0.3}}}}}},
              "quoting": {{"levels": 1, "sizes_lots": [1000], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                          "max_spread_ticks": 100000, "max_inventory_lots": 100000, "inventory_unit_lots": 1000,
                          "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}}}},
            "fees": {{"binance:BTCUSDT": {{"maker_ppm": 0, "taker_ppm": 1000}}}}}}"#
    );
    let a = run_json(&config, None).unwrap();
    let b = run_json(&config, None).unwrap();
    assert_eq!(a.summary.digest, b.summary.digest);
    assert_eq!(a.summary.market, "binance:BTCUSDT");
    assert!(a.summary.md_events > 10_000, "{}", a.summary.md_events);
    assert!(a.summary.orders > 0);
    assert!(a.summary.uptime > 0.5, "uptime {}", a.summary.uptime);
    assert!(a.summary.queue_error.is_empty(), "no truth on a recorded venue");
    assert!(a.summary.fill_calibration.is_empty(), "no truth on a recorded venue");
    // Another queue model is another run on the same data.
    let log = config.replacen("{\"market\"", "{\"queue_model\": \"log\", \"market\"", 1);
    let c = run_json(&log, None).unwrap();
    assert_eq!(c.summary.md_events, a.summary.md_events);
    let bad = config.replacen("{\"market\"", "{\"queue_model\": \"power:-1\", \"market\"", 1);
    let e = run_json(&bad, None).unwrap_err().to_string();
    assert!(e.contains("field=queue_model"), "{e}");
    // A grid the data is not on is an error, not a rounding.
    let off_grid = config.replace(r#""tick_size": "0.01""#, r#""tick_size": "0.03""#);
    assert!(matches!(run_json(&off_grid, None), Err(BacktestError::Data { .. })));
}

#[test]
fn bad_configs_are_clear_errors() {
    let negative_gamma = synthetic(1, r#"{"kind": "glft", "gamma": -1.0}"#, "");
    let e = run_json(&negative_gamma, None).unwrap_err().to_string();
    assert!(e.contains("gamma"), "{e}");
    let unknown_venue = synthetic(1, FIXED, "").replace(r#""hedge_on": "binance""#, r#""hedge_on": "bitmex""#);
    let e = run_json(&unknown_venue, None).unwrap_err().to_string();
    assert!(e.contains("field=hedge_on") && e.contains("bitmex"), "{e}");
    let unknown_field = synthetic(1, FIXED, r#", "sede": 3"#);
    let e = run_json(&unknown_field, None).unwrap_err().to_string();
    assert!(e.contains("sede"), "{e}");
    for bad in ["0", "-5", "10001"] {
        let horizon = synthetic(1, FIXED, &format!(r#", "fill_horizon_ms": {bad}"#));
        let e = run_json(&horizon, None).unwrap_err().to_string();
        assert!(e.contains("field=fill_horizon_ms") && e.contains(bad), "{e}");
    }
    let ours_on_recording = r#"{"market": {"kind": "recorded", "path": "/nonexistent", "venue": "kraken", "symbol": "XBT/USD", "tick_size": "0.1", "lot_size": "0.00000001"},
        "pricing": {"instrument": {"symbol": "XBT/USD", "quote_currency": "USD", "tick_size": "0.1", "lot_size": "0.00000001"},
          "venues": [{"name": "kraken", "symbol": "XBT/USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}],
          "model": {"kind": "fixed_spread", "half_spread_ticks": 2.0, "skew_ticks_per_unit": 0.0},
          "volatility": {"fixed": {"sigma": 1.0}},
          "intensity": {"fixed": {"bid": {"a": 1.0, "k": 1.0}, "ask": {"a": 1.0, "k": 1.0}}},
          "quoting": {"levels": 1, "sizes_lots": [1], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                      "max_spread_ticks": 100, "max_inventory_lots": 10, "inventory_unit_lots": 1,
                      "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}}}"#;
    assert!(matches!(run_json(ours_on_recording, None), Err(BacktestError::Data { .. })));
    let unknown_exchange = ours_on_recording.replace("kraken", "bitstamp");
    let e = run_json(&unknown_exchange, None).unwrap_err().to_string();
    assert!(e.contains("bitstamp"), "{e}");
}

const PRICING: &str = r#"{
  "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.1", "lot_size": "0.0001"},
  "venues": [
    {"name": "a", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}],
  "model": {"kind": "glft", "gamma": 0.05},
  "volatility": {"ewma": {"sample_ms": 100, "half_life_s": 30.0, "initial_sigma": 20.0}},
  "intensity": {"fixed": {"bid": {"a": 1.0, "k": 0.3}, "ask": {"a": 1.0, "k": 0.3}}},
  "quoting": {"levels": 2, "sizes_lots": [2, 4], "level_spacing_ticks": 1, "min_spread_ticks": 2,
              "max_spread_ticks": 200, "max_inventory_lots": 20, "inventory_unit_lots": 2,
              "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}}"#;

fn priced(venues: &str) -> String {
    let pricing = PRICING.replace(r#""name": "a""#, venues);
    format!(
        r#"{{"seed": 4, "market": {{"kind": "synthetic", "duration_s": 20.0,
             "venues": [{{"name": "binance", "spread_ticks": 2, "updates_per_s": 400}}]}},
            "pricing": {pricing}, "hedge_on": "binance", "hedge_threshold_lots": 12,
            "fees": {{"ours": {{"maker_ppm": -20, "taker_ppm": 50}}}}}}"#
    )
}

#[test]
fn the_pricing_stack_runs_as_a_strategy_and_quotes_on_our_venue() {
    let a = run_json(&priced(r#""name": "binance""#), None).unwrap();
    assert_eq!(a.summary.model, "pricing:glft");
    assert!(a.summary.fills > 0 && a.summary.uptime > 0.9, "{:?}", (a.summary.fills, a.summary.uptime));
    assert_eq!(a.summary.identity_breaks, 0);
    assert!(a.summary.max_inventory_lots <= 20 + 6, "{}", a.summary.max_inventory_lots);
    let b = run_json(&priced(r#""name": "binance""#), None).unwrap();
    assert_eq!(a.summary.digest, b.summary.digest);
    // The pricing config's venues must be the market's, in order.
    let e = run_json(&priced(r#""name": "kraken""#), None).unwrap_err().to_string();
    assert!(e.contains("field=pricing.venues") && e.contains("kraken"), "{e}");
}

fn with_interlock(interlock: &str) -> String {
    let pricing = PRICING.replace(
        r#"{"name": "a", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}"#,
        r#"{"name": "binance", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000},
           {"name": "kraken", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}"#,
    );
    format!(
        r#"{{"seed": 5, "market": {{"kind": "synthetic", "duration_s": 20.0, "sigma_ticks": 40.0,
             "venues": [{{"name": "binance", "spread_ticks": 2, "updates_per_s": 400}},
                        {{"name": "kraken", "spread_ticks": 2, "lag_ms": 1500, "updates_per_s": 400}}]}},
            "pricing": {pricing} {interlock}}}"#
    )
}

#[test]
fn the_interlock_pulls_quotes_when_a_lagging_venue_crosses_the_other() {
    let guarded =
        run_json(&with_interlock(r#", "interlock": {"stale_after_ms": 1000, "cross_threshold_ticks": 5}"#), None)
            .unwrap();
    let lock = guarded.summary.interlock.clone().expect("an interlock ran");
    assert!(lock.pulls["Crossed"] > 0, "{lock:?}");
    assert!(lock.returns > 0 && lock.uptime < 1.0, "{lock:?}");
    let open = run_json(&with_interlock(""), None).unwrap();
    assert!(open.summary.interlock.is_none());
    assert!(guarded.summary.uptime < open.summary.uptime, "{} vs {}", guarded.summary.uptime, open.summary.uptime);
    let bad = with_interlock(r#", "interlock": {"stale_after_ms": 1000, "cross_threshold_ticks": -1}"#);
    let e = run_json(&bad, None).unwrap_err().to_string();
    assert!(e.contains("field=interlock"), "{e}");
}

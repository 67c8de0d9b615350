//! Bad pricing configurations are clear errors naming the key and the value.

use serde_json::{json, Value};
use wintermute_mm::config::{MmConfigError, PricingConfig};
use wintermute_mm::pricer::Pricer;

fn good() -> Value {
    json!({
        "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"},
        "venues": [
            {"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 500},
            {"name": "binance", "symbol": "BTCUSDT", "quote_currency": "USDT", "weight": 2.0, "stale_after_ms": 500,
             "basis": {"measured": {"reference": "coinbase", "half_life_s": 60.0}}},
            {"name": "kraken", "symbol": "XBT/USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}
        ],
        "model": {"kind": "avellaneda_stoikov", "gamma": 0.1, "session_s": 86400.0},
        "volatility": {"ewma": {"sample_ms": 100, "half_life_s": 60.0, "initial_sigma": 5.0}},
        "intensity": {"fixed": {"bid": {"a": 2.0, "k": 0.5}, "ask": {"a": 2.0, "k": 0.5}}},
        "quoting": {"levels": 2, "sizes_lots": [10, 20], "level_spacing_ticks": 2, "min_spread_ticks": 2,
                    "max_spread_ticks": 400, "max_inventory_lots": 100, "inventory_unit_lots": 10,
                    "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}
    })
}

fn parse(v: &Value) -> Result<PricingConfig, MmConfigError> {
    PricingConfig::from_json(&v.to_string())
}

/// The error for `good()` with `pointer` set to `value`.
fn error_with(pointer: &str, value: Value) -> MmConfigError {
    let mut v = good();
    *v.pointer_mut(pointer).unwrap_or_else(|| panic!("no {pointer}")) = value;
    parse(&v).expect_err("the bad config was accepted")
}

fn assert_invalid(err: MmConfigError, key: &str, value: &str) {
    match &err {
        MmConfigError::Invalid { key: k, value: v, .. } => assert_eq!((k.as_str(), v.as_str()), (key, value)),
        other => panic!("expected Invalid for {key}, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&format!("key={key}")) && text.contains(&format!("value={value}")), "{text}");
}

#[test]
fn the_good_config_parses_and_builds_a_pricer() {
    let cfg = parse(&good()).unwrap();
    assert_eq!(cfg.venues.len(), 3);
    Pricer::from_config(&cfg).unwrap();
}

#[test]
fn a_negative_or_zero_gamma_is_an_error_naming_model_gamma() {
    assert_invalid(error_with("/model/gamma", json!(-0.1)), "model.gamma", "-0.1");
    assert_invalid(error_with("/model/gamma", json!(0.0)), "model.gamma", "0");
    let glft = error_with("/model", json!({"kind": "glft", "gamma": -1.0}));
    assert_invalid(glft, "model.gamma", "-1");
}

#[test]
fn a_non_positive_k_or_a_is_an_error_naming_the_side() {
    assert_invalid(error_with("/intensity/fixed/bid/k", json!(0.0)), "intensity.fixed.bid.k", "0");
    assert_invalid(error_with("/intensity/fixed/ask/a", json!(-2.0)), "intensity.fixed.ask.a", "-2");
}

#[test]
fn an_unknown_venue_is_an_error_naming_it() {
    let err = error_with("/venues/2/name", json!("ftx"));
    assert_eq!(err, MmConfigError::UnknownVenue { key: "venues[2].name".into(), value: "ftx".into() });
    assert!(err.to_string().contains("key=venues[2].name value=ftx"), "{err}");
}

#[test]
fn a_mapping_across_quote_currencies_without_a_basis_is_an_error() {
    let mut v = good();
    v["venues"][1].as_object_mut().unwrap().remove("basis");
    let err = parse(&v).unwrap_err();
    assert_eq!(
        err,
        MmConfigError::QuoteCurrencyWithoutBasis {
            key: "venues[1].basis".into(),
            venue: "binance".into(),
            venue_quote: "USDT".into(),
            ours: "USD".into(),
        }
    );
    let text = err.to_string();
    assert!(text.contains("quote_currency=USDT") && text.contains("quote_currency=USD;"), "{text}");
    // A configured basis in ticks is enough.
    v["venues"][1]["basis"] = json!({"ticks": 35.0});
    parse(&v).unwrap();
}

#[test]
fn a_measured_basis_needs_a_configured_reference_in_our_currency() {
    let key = "venues[1].basis.measured.reference";
    let unknown = error_with("/venues/1/basis/measured/reference", json!("bitstamp"));
    assert_eq!(unknown, MmConfigError::UnknownVenue { key: key.into(), value: "bitstamp".into() });
    assert_invalid(error_with("/venues/1/basis/measured/reference", json!("binance")), key, "binance");
    // Kraken in USDT with a basis cannot be binance's reference.
    let mut v = good();
    v["venues"][2]["quote_currency"] = json!("USDT");
    v["venues"][2]["basis"] = json!({"ticks": 1.0});
    v["venues"][1]["basis"]["measured"]["reference"] = json!("kraken");
    assert_invalid(parse(&v).unwrap_err(), key, "kraken");
    assert_invalid(
        error_with("/venues/1/basis/measured/half_life_s", json!(0.0)),
        "venues[1].basis.measured.half_life_s",
        "0",
    );
}

#[test]
fn zero_levels_and_sizes_that_do_not_match_the_levels_are_errors() {
    assert_invalid(error_with("/quoting/levels", json!(0)), "quoting.levels", "0");
    assert_invalid(error_with("/quoting/levels", json!(17)), "quoting.levels", "17");
    assert_invalid(error_with("/quoting/sizes_lots", json!([10])), "quoting.sizes_lots", "[10]");
    assert_invalid(error_with("/quoting/sizes_lots", json!([10, 0])), "quoting.sizes_lots[1]", "0");
}

#[test]
fn spread_inventory_and_timer_bounds_are_errors_naming_the_key() {
    assert_invalid(error_with("/quoting/max_spread_ticks", json!(1)), "quoting.max_spread_ticks", "1");
    assert_invalid(error_with("/quoting/min_spread_ticks", json!(0)), "quoting.min_spread_ticks", "0");
    assert_invalid(error_with("/quoting/max_inventory_lots", json!(0)), "quoting.max_inventory_lots", "0");
    assert_invalid(error_with("/quoting/requote_interval_ms", json!(0)), "quoting.requote_interval_ms", "0");
    assert_invalid(
        error_with("/quoting/requote_threshold_ticks", json!(-1.0)),
        "quoting.requote_threshold_ticks",
        "-1",
    );
}

#[test]
fn venue_weight_staleness_and_duplicates_are_checked() {
    assert_invalid(error_with("/venues/0/weight", json!(0.0)), "venues[0].weight", "0");
    assert_invalid(error_with("/venues/0/stale_after_ms", json!(0)), "venues[0].stale_after_ms", "0");
    assert_invalid(error_with("/venues/2/name", json!("coinbase")), "venues[2].name", "coinbase");
    assert_invalid(error_with("/venues", json!([])), "venues", "[]");
}

#[test]
fn instrument_steps_and_estimator_values_are_checked() {
    assert_invalid(error_with("/instrument/tick_size", json!("0")), "instrument.tick_size", "0");
    assert_invalid(error_with("/instrument/lot_size", json!("1e-4")), "instrument.lot_size", "1e-4");
    assert_invalid(error_with("/volatility/ewma/sample_ms", json!(0)), "volatility.ewma.sample_ms", "0");
    let est = json!({"estimated": {"window_s": 600.0, "bucket_ticks": 1.0, "buckets": 1, "max_trades": 1000,
        "fallback_bid": {"a": 1.0, "k": 1.0}, "fallback_ask": {"a": 1.0, "k": 1.0}}});
    assert_invalid(error_with("/intensity", est), "intensity.estimated.buckets", "1");
}

#[test]
fn an_unknown_or_missing_key_is_a_parse_error_that_names_it() {
    let mut v = good();
    v["quoting"]["levles"] = json!(3);
    let MmConfigError::Parse { reason } = parse(&v).unwrap_err() else { panic!("expected Parse") };
    assert!(reason.contains("levles"), "{reason}");
    let MmConfigError::Parse { reason } = error_with("/model", json!({"kind": "glft", "gamma": 0.1, "k": 1.0})) else {
        panic!("expected Parse")
    };
    assert!(reason.contains("`k`"), "{reason}");
    let mut v = good();
    v["venues"][0].as_object_mut().unwrap().remove("weight");
    let MmConfigError::Parse { reason } = parse(&v).unwrap_err() else { panic!("expected Parse") };
    assert!(reason.contains("weight"), "{reason}");
}

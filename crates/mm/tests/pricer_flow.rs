//! The wired pricing side: venue tops to fair value to quotes, stale venues excluded, fitted
//! intensities used once they exist.

use wintermute_mm::config::PricingConfig;
use wintermute_mm::models::Intensity;
use wintermute_mm::pricer::Pricer;
use wintermute_mm::quote_actions::{ActionBuffer, QuoteAction};
use wintermute_mm::quoter::{Decision, RequoteReason};
use wintermute_mm::types::{Level, Side, Top, VenueId};

const MS: i64 = 1_000_000;

fn pricer(intensity: &str) -> Pricer {
    let json = format!(
        r#"{{
      "instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"}},
      "venues": [
        {{"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 100}},
        {{"name": "kraken", "symbol": "XBT/USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}}
      ],
      "model": {{"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 0.0}},
      "volatility": {{"fixed": {{"sigma": 1.0}}}},
      "intensity": {intensity},
      "quoting": {{"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                  "max_spread_ticks": 100, "max_inventory_lots": 50, "inventory_unit_lots": 10,
                  "requote_threshold_ticks": 0.5, "requote_interval_ms": 1000}}
    }}"#
    );
    Pricer::from_config(&PricingConfig::from_json(&json).unwrap()).unwrap()
}

const FIXED: &str = r#"{"fixed": {"bid": {"a": 1.0, "k": 1.0}, "ask": {"a": 1.0, "k": 1.0}}}"#;

fn top(bid: i64, ask: i64, ts_ns: i64) -> Top {
    Top { bid: Level { price: bid, qty: 5 }, ask: Level { price: ask, qty: 5 }, ts_ns }
}

fn places(out: &ActionBuffer) -> Vec<(Side, i64)> {
    out.as_slice()
        .iter()
        .filter_map(|a| match *a {
            QuoteAction::Place { side, price, .. } => Some((side, price)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_stale_venue_leaves_the_fair_value_and_the_quotes_follow_the_fresh_one() {
    let mut p = pricer(FIXED);
    let mut out = ActionBuffer::for_levels(1);
    p.on_top(VenueId::External(0), top(999, 1001, 0)).unwrap(); // coinbase microprice 1000
    p.on_top(VenueId::External(1), top(1009, 1011, 0)).unwrap(); // kraken microprice 1010
                                                                 // Fair value (1000 + 1010) / 2 = 1005: quotes 1002 / 1008.
    assert_eq!(p.decide(0, 0, None, &mut out), Ok(Decision::Requoted(RequoteReason::First)));
    assert_eq!(places(&out), [(Side::Buy, 1002), (Side::Sell, 1008)]);
    // At 101 ms coinbase is stale: the fair value is kraken's 1010 alone, quotes 1007 / 1013.
    assert_eq!(p.decide(101 * MS, 0, None, &mut out), Ok(Decision::Requoted(RequoteReason::FairValueMoved)));
    assert_eq!(places(&out), [(Side::Buy, 1007), (Side::Sell, 1013)]);
    // At 1001 ms both are stale: every quote is pulled.
    assert_eq!(p.decide(1001 * MS, 0, None, &mut out), Ok(Decision::Pulled));
    assert_eq!(out.len(), 2);
    assert!(out.as_slice().iter().all(|a| matches!(a, QuoteAction::Cancel { .. })));
}

#[test]
fn an_unconfigured_venue_is_refused() {
    let mut p = pricer(FIXED);
    assert!(p.on_top(VenueId::External(2), top(1, 2, 0)).is_err());
    assert!(p.on_top(VenueId::Ours, top(1, 2, 0)).is_err());
}

#[test]
fn trades_relative_to_the_fair_value_feed_the_fitted_intensity() {
    let estimated = r#"{"estimated": {"window_s": 10.0, "bucket_ticks": 1.0, "buckets": 4, "max_trades": 100,
        "fallback_bid": {"a": 1.0, "k": 1.0}, "fallback_ask": {"a": 1.0, "k": 1.0}}}"#;
    let mut p = pricer(estimated);
    p.on_top(VenueId::External(0), top(999, 1001, 0)).unwrap();
    p.on_top(VenueId::External(1), top(999, 1001, 0)).unwrap();
    // Fair value 1000. Buyers lift at depths 0, 0, 1, 2 ticks above it (the ask side's fit), a
    // seller hits 1 tick below (the bid side's: one depth only, no fit, the fallback stays).
    for (i, price) in [1000, 1000, 1001, 1002].into_iter().enumerate() {
        p.on_trade(i as i64, Side::Buy, price);
    }
    p.on_trade(5, Side::Sell, 999);
    // Ask side: depths 0, 0, 1, 2 -> tail counts 4, 2, 1 at δ = 0, 1, 2 over T = 10 ms (since the
    // first trade): rates 400, 200, 100 per second -> k = ln 2, A = 400.
    // Bid side: one trade 1 tick deep -> tail counts 1, 1: a flat line, no fit -> the fallback.
    let (bid, ask) = p.intensities(10 * MS);
    assert_eq!(bid, Intensity { a: 1.0, k: 1.0 });
    assert!((ask.k - std::f64::consts::LN_2).abs() < 1e-12, "k {}", ask.k);
    assert!((ask.a - 400.0).abs() < 1e-9, "A {}", ask.a);
}

//! Tests of the paper routes: the feed's book on our grid, the symbols' assets, and the
//! Kraken and Coinbase routes over their simulators' WebSocket fronts.

use super::*;

#[test]
fn assets_are_read_from_each_venues_symbol() {
    assert_eq!(assets(Venue::Binance, "BTCUSDT", "USDT").unwrap(), ("BTC".into(), "USDT".into()));
    assert_eq!(assets(Venue::Coinbase, "BTC-USD", "USD").unwrap(), ("BTC".into(), "USD".into()));
    assert_eq!(assets(Venue::Kraken, "XBT/USD", "USD").unwrap(), ("XBT".into(), "USD".into()));
    let e = assets(Venue::Binance, "BTCUSD", "USDT").unwrap_err();
    assert!(e.to_string().contains("venue=binance symbol=\"BTCUSD\""), "{e}");
}

/// A live config hedging on Kraken and Coinbase, on a cent and 0.001 grid.
fn kraken_and_coinbase() -> LiveSetup {
    let venue = |name: &str, symbol: &str| {
        format!(
            r#"{{"name": "{name}", "symbol": "{symbol}", "quote_currency": "USD", "weight": 1.0,
                "stale_after_ms": 60000, "basis": {{"ticks": 0.0}}}}"#
        )
    };
    let config = format!(
        r#"{{"hedge_on": "kraken", "hedge_threshold_lots": 3, "hedge_slippage_ticks": 2,
  "hedge": {{"routes": ["kraken", "coinbase"]}},
  "pricing": {{
"instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.001"}},
"venues": [{}, {}],
"model": {{"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 0.0}},
"volatility": {{"fixed": {{"sigma": 1.0}}}},
"intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 1.0}}, "ask": {{"a": 1.0, "k": 1.0}}}}}},
"quoting": {{"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
            "max_spread_ticks": 100, "max_inventory_lots": 50, "inventory_unit_lots": 10,
            "requote_threshold_ticks": 1.0, "requote_interval_ms": 60000}}
  }}}}"#,
        venue("kraken", "XBT/USD"),
        venue("coinbase", "BTC-USD"),
    );
    LiveSetup::from_json(&config, "0.01", "0.001").unwrap()
}

#[test]
fn paper_routes_to_kraken_and_coinbase_run_over_their_simulators_websocket_fronts() {
    use wintermute_mm::execution::{ExecCommand, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif};
    let setup = kraken_and_coinbase();
    let (mut plans, mut configs) = (Vec::new(), Vec::new());
    for &i in &setup.hedge_routes {
        let (plan, _, config) = plan(&setup, i).unwrap();
        plans.push(plan);
        configs.push(config);
    }
    let (sims, served) = serve(&plans).unwrap();
    assert!(sims.iter().all(|s| s.ws_addr().is_some()), "both simulators serve their WebSocket front");
    let mut routes: Vec<RoutedExecution> =
        plans.into_iter().zip(&sims).zip(configs).map(|((p, sim), c)| p.route(sim, c).unwrap()).collect();
    // A resting buy on each (the books are empty): it stays live, so the routes reconcile.
    let order = OrderRequest {
        client_id: 7,
        side: wintermute_mm::types::Side::Buy,
        price: 10_000,
        qty: 100,
        tif: OrderTif::Gtc,
    };
    let mut accepted = [false, false];
    for r in &mut routes {
        r.submit(0, &ExecCommand::New(order)).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut events = ExecEvents::new();
    while accepted != [true, true] && std::time::Instant::now() < deadline {
        for (k, r) in routes.iter_mut().enumerate() {
            events.clear();
            r.poll(0, &mut events);
            accepted[k] |= events.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 7, .. }));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(accepted, [true, true]);
    // Kraken's order went over the WebSocket with a token its REST companion fetched;
    // Coinbase's route subscribed to the `user` channel.
    let until = std::time::Instant::now() + Duration::from_secs(5);
    let connected = |sim: &Sim| match sim {
        Sim::Kraken(s) => s.ws_connections() >= 1 && s.ws_tokens() >= 1 && s.open_order_count() == 1,
        Sim::Coinbase(s) => s.ws_connections() >= 1 && s.open_order_count() == 1,
        Sim::Binance(_) => false,
    };
    while !sims.iter().all(connected) && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(sims.iter().all(connected), "each route reached its simulator's WebSocket front");
    drop(routes);
    served.end();
}

#[test]
fn a_feed_side_lands_on_our_grid_away_from_us_in_whole_lots() {
    use wintermute_feeds::book::Level;
    let d = |s: &str| wintermute_core::decimal::Decimal::parse(s).unwrap();
    let grid = GridScale::new("0.01", "0.001").unwrap();
    let level = |p: &str, q: &str| Level { price: d(p), qty: d(q) };
    let mut out = Vec::new();
    // 100.015 and 100.012 round down onto 100.01 and merge; 0.0009 is no whole lot.
    side(&[level("100.015", "0.0025"), level("100.012", "0.001"), level("100.00", "0.0009")], grid, true, &mut out);
    assert_eq!(out, vec![(10_001, 3)]);
    side(&[level("100.015", "0.002"), level("100.03", "1")], grid, false, &mut out);
    assert_eq!(out, vec![(10_002, 2), (10_003, 1_000)]);
}

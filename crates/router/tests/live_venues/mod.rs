//! What the live market maker's tests over the venue simulators share (`live_hedging.rs`,
//! `quoting_on_venues.rs`): BTC-USD on a grid of 0.01 / 0.001, the pricing around given
//! venues, live reference books, and a simulator of Kraken's XBTUSD or Binance's BTCUSDT with a
//! `RoutedExecution` over the venue's real REST client.
#![allow(dead_code)]

use std::time::Duration;

use wintermute_core::decimal::Decimal;
use wintermute_feeds::sync::SyncState;
use wintermute_mm::live_runner::RefBook;
use wintermute_mm::types::{VenueId, MONEY_SCALE};
use wintermute_router::binance::client::BinanceRestClient;
use wintermute_router::binance::sim::{BinanceSim, SimConfig, SimKey, SimSymbol};
use wintermute_router::execution_adapter::{RoutedExecution, RoutedExecutionConfig};
use wintermute_router::kraken::client::KrakenRestClient;
use wintermute_router::kraken::rate::Tier;
use wintermute_router::kraken::reports::KrakenPair;
use wintermute_router::kraken::sim::{KrakenSim, KrakenSimConfig, KrakenSimPair};
use wintermute_router::order::Instrument;
use wintermute_router::signing::{BinanceSigner, KrakenSigner};

/// Units of 10^-18 per tick (0.01) and per lot (0.001).
pub const TICK_RAW: i128 = 10_000_000_000_000_000;
pub const LOT_RAW: i128 = 1_000_000_000_000_000;
pub const KRAKEN_SECRET: &str =
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";

/// The pricing venues, as the config's `venues` lists them.
pub const BINANCE: &str = r#"{"name": "binance", "symbol": "BTCUSDT", "quote_currency": "USDT", "weight": 1.0,
    "stale_after_ms": 60000, "basis": {"ticks": 0.0}}"#;
pub const KRAKEN: &str =
    r#"{"name": "kraken", "symbol": "XBT/USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 60000}"#;

/// The config's `pricing` on `venues` (JSON objects): fixed spread 3 ticks each side of the
/// fair value, no skew, 10 lots on one level.
pub fn pricing(venues: &str) -> String {
    format!(
        r#"{{
    "instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.001"}},
    "venues": [{venues}],
    "model": {{"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 0.0}},
    "volatility": {{"fixed": {{"sigma": 1.0}}}},
    "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 1.0}}, "ask": {{"a": 1.0, "k": 1.0}}}}}},
    "quoting": {{"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                "max_spread_ticks": 100, "max_inventory_lots": 50, "inventory_unit_lots": 10,
                "requote_threshold_ticks": 1.0, "requote_interval_ms": 60000}}
  }}"#
    )
}

/// A live book with one lot-sized level a side (ticks; 1.0 each).
pub fn book(bid: i64, ask: i64) -> RefBook {
    RefBook {
        state: Some(SyncState::Live),
        bid: Some((bid as i128 * TICK_RAW, 1_000 * LOT_RAW)),
        ask: Some((ask as i128 * TICK_RAW, 1_000 * LOT_RAW)),
        ..RefBook::default()
    }
}

/// `ticks` × `lots` in money units.
pub fn money(ticks: i64, lots: i64) -> i128 {
    ticks as i128 * lots as i128 * MONEY_SCALE
}

/// A simulated book: its bids and asks, `(price, qty)` as decimal text, best first.
pub type Levels<'a> = (&'a [(&'a str, &'a str)], &'a [(&'a str, &'a str)]);

/// The route to pricing venue `venue` for `symbol` (our grid), reconciling every 10 ms.
pub fn route_config(venue: u8, symbol: &str, assets: (&str, &str), in_flight: usize) -> RoutedExecutionConfig {
    RoutedExecutionConfig {
        venue: VenueId::External(venue),
        instrument: Instrument::new(symbol, "0.01", "0.001").unwrap(),
        assets: (assets.0.into(), assets.1.into()),
        reconcile_every: Duration::from_millis(10),
        in_flight,
        check_balances: true,
    }
}

/// A Kraken simulator (Pro tier) with XBTUSD on our grid holding `levels` and charging
/// `fee_rate`, and the route over its REST client to pricing venue `venue`.
pub async fn kraken_route(
    venue: u8,
    levels: Levels<'_>,
    fee_rate: &str,
    in_flight: usize,
) -> (KrakenSim, RoutedExecution) {
    let symbol = SimSymbol::from_levels(
        "XBTUSD",
        ("XBT", "USD"),
        ("0.01", "0.001"),
        levels.0.iter().copied(),
        levels.1.iter().copied(),
    )
    .unwrap();
    let pair = KrakenSimPair {
        symbol,
        name: "XXBTZUSD".into(),
        wsname: "XBT/USD".into(),
        ordermin: Decimal::parse("0.001").unwrap(),
        costmin: Decimal::parse("0.5").unwrap(),
    };
    let mut cfg = KrakenSimConfig::new(vec![pair], vec![("k".into(), KRAKEN_SECRET.into())]);
    cfg.fee_rate = Decimal::parse(fee_rate).unwrap();
    cfg.tier = Tier::PRO;
    let sim = KrakenSim::start(cfg).await.unwrap();
    let pair = KrakenPair::new("XBTUSD", "0.01", "0.001", "USD").unwrap();
    let client =
        KrakenRestClient::new(sim.addr(), "k", KrakenSigner::new(KRAKEN_SECRET).unwrap(), vec![pair], Tier::PRO);
    let exec = RoutedExecution::spawn(client, route_config(venue, "XBTUSD", ("XBT", "USD"), in_flight)).unwrap();
    (sim, exec)
}

/// A Binance simulator with BTCUSDT on our grid holding `levels` and charging `fee_rate`
/// (`configure` sets the rest), and the route over its REST client to pricing venue `venue`.
pub async fn binance_route(
    venue: u8,
    levels: Levels<'_>,
    fee_rate: &str,
    configure: impl FnOnce(&mut SimConfig),
    in_flight: usize,
) -> (BinanceSim, RoutedExecution) {
    let symbol = SimSymbol::from_levels(
        "BTCUSDT",
        ("BTC", "USDT"),
        ("0.01", "0.001"),
        levels.0.iter().copied(),
        levels.1.iter().copied(),
    )
    .unwrap();
    let secret = b"binance-test-secret".to_vec();
    let mut cfg = SimConfig::new(vec![symbol], vec![SimKey::Hmac { api_key: "k".into(), secret: secret.clone() }]);
    cfg.fee_rate = Decimal::parse(fee_rate).unwrap();
    configure(&mut cfg);
    let sim = BinanceSim::start(cfg).await.unwrap();
    let instrument = Instrument::new("BTCUSDT", "0.01", "0.001").unwrap();
    let client = BinanceRestClient::new(sim.addr(), "k", BinanceSigner::hmac_sha256(secret), vec![instrument]);
    let exec = RoutedExecution::spawn(client, route_config(venue, "BTCUSDT", ("BTC", "USDT"), in_flight)).unwrap();
    (sim, exec)
}

//! Shared set-up of the tests of a Binance route's balances: a simulator checking funds (book
//! 58000.00 x 1 / 59000.00 x 1), the route over it as live and paper routes build it, and
//! what the simulator says the key holds (waiting for the route's balances is `funds_common`'s,
//! re-exported here).
#![allow(dead_code)]

use std::time::Duration;

use wintermute_core::decimal::Decimal;
use wintermute_mm::types::VenueId;
use wintermute_router::binance::sim::BinanceSim;
use wintermute_router::binance::ws_client::BinanceWsClient;
use wintermute_router::execution_adapter::{RoutedExecution, RoutedExecutionConfig};
use wintermute_router::order::Instrument;
use wintermute_router::signing::BinanceSigner;

use crate::common::*;
#[allow(unused_imports)] // not every test that includes this module waits on balances
pub use crate::funds_common::{balances_until, free_locked};

pub fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

pub async fn funded_sim(balances: &[(&str, &str)]) -> BinanceSim {
    let sim = sim_with(|cfg| {
        cfg.check_funds = true;
        cfg.weight_limit_1m = 100_000_000;
        cfg.balances = balances.iter().map(|(a, v)| ((*a).to_owned(), dec(v))).collect();
    })
    .await;
    sim.set_book("BTCUSDT", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
    sim
}

pub fn route(sim: &BinanceSim, reconcile_every: Duration) -> RoutedExecution {
    let signer = BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec());
    let client =
        BinanceWsClient::with_rest(&sim.ws_url(), None, HMAC_KEY, signer, hmac_client(sim), vec![instrument()])
            .unwrap();
    let config = RoutedExecutionConfig {
        venue: VenueId::External(0),
        instrument: Instrument::new("BTCUSDT", "0.01", "0.000001").unwrap(),
        assets: ("BTC".into(), "USDT".into()),
        reconcile_every,
        in_flight: 16,
        check_balances: true,
    };
    RoutedExecution::spawn(client, config).unwrap()
}

/// The simulator's own (free, locked) of the key's account.
pub fn venue_free_locked(sim: &BinanceSim, asset: &str) -> (String, String) {
    let all = sim.balances_of(HMAC_KEY);
    let b = &all.iter().find(|(a, _)| a == asset).unwrap().1;
    (b.available.normalized().to_string(), b.held.normalized().to_string())
}

//! Shared set-up of the tests of a Kraken route's balances: a simulator checking funds (book
//! 58000.0 x 1 / 59000.0 x 1) with its WebSocket front, the route over it as live and paper
//! routes build it (the WebSocket v2 client with its REST companion, the config's assets as a
//! route names them from `XBT/USD`), and the venue's own `BalanceEx`.
#![allow(dead_code)]

use std::time::Duration;

use wintermute_core::decimal::Decimal;
use wintermute_mm::types::VenueId;
use wintermute_router::execution_adapter::{RoutedExecution, RoutedExecutionConfig};
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::kraken::ws_client::KrakenWsClient;

use crate::kraken_common::*;

pub async fn funded_kraken(balances: &[(&str, &str)]) -> KrakenSim {
    let mut sim = sim_with(|cfg| {
        roomy(cfg);
        funded(cfg, balances);
    })
    .await;
    sim.start_ws().await.unwrap();
    sim.set_book("XBTUSD", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
    sim
}

/// The simulator's taker fee (Kraken's Starter 0.26 %), in millionths.
pub const SIM_TAKER_FEE_PPM: u32 = 2_600;

/// The route over `sim`, knowing the account's taker fee (the simulator's).
pub fn kraken_route(sim: &KrakenSim, reconcile_every: Duration) -> RoutedExecution {
    kraken_route_paying(sim, reconcile_every, Some(SIM_TAKER_FEE_PPM))
}

/// The route over `sim`, knowing `taker_fee_ppm` as the account's taker fee (`None`: not
/// known, Kraken's default assumed).
pub fn kraken_route_paying(sim: &KrakenSim, reconcile_every: Duration, taker_fee_ppm: Option<u32>) -> RoutedExecution {
    let url = format!("ws://{}/v2", sim.ws_addr().unwrap());
    let mut client = KrakenWsClient::with_rest(&url, None, client_with(sim, ROOMY), vec![ws_pair()]).unwrap();
    client.set_taker_fee_ppm(taker_fee_ppm);
    let config = RoutedExecutionConfig {
        venue: VenueId::External(0),
        instrument: pair().instrument,
        assets: ("XBT".into(), "USD".into()),
        reconcile_every,
        in_flight: 16,
        check_balances: true,
    };
    RoutedExecution::spawn(client, config).unwrap()
}

/// The venue's `BalanceEx` of `asset` (its REST name, `ZUSD`) as the route shows it: (free,
/// locked) = (balance − hold_trade, hold_trade), normalized text.
pub async fn kraken_free_locked(sim: &KrakenSim, asset: &str) -> (String, String) {
    // From the simulator's state, not over REST: a REST call with the route's key could take
    // a nonce at the same microsecond as the route's own call, and one of them be refused.
    let all = sim.balance_ex_of(KEY);
    let (balance, hold) = all.get(asset).copied().unwrap_or((Decimal::ZERO, Decimal::ZERO));
    let free = Decimal::from_raw(balance.raw() - hold.raw()).unwrap();
    (free.normalized().to_string(), hold.normalized().to_string())
}

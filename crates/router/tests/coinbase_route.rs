//! Coinbase as one venue client (`CoinbaseRoute`: REST for orders and reconciliation, the `user`
//! channel for what changes) against the simulator's REST and WebSocket fronts on 127.0.0.1,
//! directly and under the market maker's adapter. Book: the recorded BAND-GBP (asks 14.8024 x
//! 12.77, 14.8069 x 12.49, ...; bids 14.7693 x 27.51, ...).

mod coinbase_common;
mod execution_common;

use std::time::Duration;

use coinbase_common::*;
use execution_common::{adapter, events_until, new_order};
use wintermute_core::decimal::Decimal;
use wintermute_mm::execution::{ExecEvent, Execution, OrderTif};
use wintermute_mm::types::Liquidity;
use wintermute_router::coinbase::route::CoinbaseRoute;
use wintermute_router::coinbase::sim::CoinbaseSim;
use wintermute_router::coinbase::user_ws::CoinbaseUserWs;
use wintermute_router::order::TimeInForce;
use wintermute_router::order_state::{OrderStatus, Side};
use wintermute_router::signing::CoinbaseJwtSigner;
use wintermute_router::venue::VenueClient;

fn run<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), f).await.expect("the test finished in 30 s") })
}

async fn route(key: &[u8]) -> (CoinbaseSim, CoinbaseRoute) {
    // Funded: under the adapter, the route checks orders against the free balances it polls.
    let funds = [("BAND", 1_000_000), ("GBP", 1_000_000)];
    let (mut sim, rest) = sim_and_client(key, |cfg| {
        cfg.balances = funds.iter().map(|(a, n)| ((*a).to_owned(), Decimal::new(*n, 0))).collect();
    })
    .await;
    let ws_addr = sim.start_ws().await.unwrap();
    let channel = CoinbaseUserWs::new(ws_addr, CoinbaseJwtSigner::new(KEY_NAME, key).unwrap(), vec![product()]);
    (sim, CoinbaseRoute::new(rest, channel))
}

/// Reconciles until `done` holds (the channel's push may take a moment to arrive).
async fn reconcile_until(route: &mut CoinbaseRoute, done: impl Fn(&CoinbaseRoute) -> bool) {
    for _ in 0..500 {
        route.reconcile("BAND-GBP").await.unwrap();
        if done(route) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("never done: {:?}", route.stats());
}

fn state(route: &CoinbaseRoute, id: &str) -> (OrderStatus, i64) {
    let o = route.orders().get(id).unwrap();
    (o.status(), o.filled_qty())
}

#[test]
fn while_the_channel_is_up_a_resting_order_costs_no_request_until_a_push_says_it_filled() {
    run(async {
        let key = pkcs8();
        let (sim, mut route) = route(&key).await;
        route.place(&order("q-1", Side::Buy, "3", limit("14.7000", TimeInForce::Gtc))).await.unwrap();
        route.reconcile("BAND-GBP").await.unwrap(); // the first one is a full reconciliation
        assert!(route.channel_live());
        assert_eq!(route.stats().full_reconciliations, 1);
        let idle = route.rest().requests_sent();
        for _ in 0..5 {
            route.reconcile("BAND-GBP").await.unwrap();
        }
        assert_eq!(route.rest().requests_sent(), idle, "nothing polled while nothing happened");
        // Two other participants trade through the order: the channel pushes, REST fetches.
        sim.trade_at("BAND-GBP", "14.6999", "1.25").unwrap();
        reconcile_until(&mut route, |r| state(r, "q-1") == (OrderStatus::PartiallyFilled, lots("1.25"))).await;
        sim.trade_at("BAND-GBP", "14.7000", "5").unwrap();
        reconcile_until(&mut route, |r| state(r, "q-1") == (OrderStatus::Filled, lots("3"))).await;
        let fills: Vec<_> = route.orders().get("q-1").unwrap().fills().cloned().collect();
        assert_eq!(fills.len(), 2);
        assert!(fills.iter().all(|f| f.is_maker && f.price == ticks("14.7000")), "{fills:?}");
        // Each refresh is a read-back plus one page of fills; no full reconciliation since.
        assert_eq!(route.stats().full_reconciliations, 1);
        assert_eq!(route.stats().refreshes, 2);
        assert_eq!(route.rest().requests_sent(), idle + 4);
        let venue: i64 = sim.trades().into_iter().map(|(_, _, q)| q).sum();
        assert_eq!(venue, lots("3"));
    });
}

#[test]
fn an_ioc_its_place_answer_settled_costs_no_refresh_when_the_channel_pushes_its_end() {
    run(async {
        let key = pkcs8();
        let (sim, mut route) = route(&key).await;
        route.reconcile("BAND-GBP").await.unwrap(); // connects the channel
        assert!(route.channel_live());
        // An IOC buy through the best ask: filled on arrival, read back with its fill.
        route.place(&order("q-9", Side::Buy, "2", limit("14.8024", TimeInForce::Ioc))).await.unwrap();
        assert_eq!(state(&route, "q-9"), (OrderStatus::Filled, lots("2")));
        let settled = route.rest().requests_sent();
        // The channel pushes the order's fill and end; REST already holds both.
        reconcile_until(&mut route, |r| r.stats().settled_updates >= 1).await;
        assert_eq!(route.rest().requests_sent(), settled, "no read-back of a settled order");
        assert_eq!(route.stats().refreshes, 0);
        assert!(route.channel_live());
        assert_eq!(route.orders().get("q-9").unwrap().fills().count(), sim.trades().len());
    });
}

#[test]
fn a_dropped_channel_is_covered_by_a_full_reconciliation_and_no_fill_counts_twice() {
    run(async {
        let key = pkcs8();
        let (sim, mut route) = route(&key).await;
        route.place(&order("q-2", Side::Sell, "2", limit("14.9000", TimeInForce::Gtc))).await.unwrap();
        route.reconcile("BAND-GBP").await.unwrap();
        assert!(route.channel_live());
        sim.drop_ws_connections();
        sim.trade_at("BAND-GBP", "14.9100", "0.5").unwrap(); // while the channel is down
        reconcile_until(&mut route, |r| state(r, "q-2") == (OrderStatus::PartiallyFilled, lots("0.5"))).await;
        assert!(route.stats().channel_failures >= 1);
        assert!(route.stats().full_reconciliations >= 2, "{:?}", route.stats());
        reconcile_until(&mut route, CoinbaseRoute::channel_live).await;
        // Pushes work again on the new connection.
        sim.trade_at("BAND-GBP", "14.9000", "1.5").unwrap();
        reconcile_until(&mut route, |r| state(r, "q-2") == (OrderStatus::Filled, lots("2"))).await;
        // Each refresh fetches every fill of the order: the one seen before is a duplicate by
        // trade id, ignored; the table's fills are the venue's trades exactly.
        let order = route.orders().get("q-2").unwrap();
        let mut fills: Vec<i64> = order.fills().map(|f| f.qty).collect();
        let mut trades: Vec<i64> = sim.trades().into_iter().map(|(_, _, q)| q).collect();
        fills.sort_unstable();
        trades.sort_unstable();
        assert_eq!(fills, trades);
        assert_eq!(fills, vec![lots("0.5"), lots("1.5")]);
    });
}

#[test]
fn under_the_adapter_a_quotes_maker_fill_is_pushed_and_a_hedge_takes_as_taker() {
    run(async {
        let key = pkcs8();
        let (sim, route) = route(&key).await;
        let mut exec = adapter(route, 3, product().instrument, ("BAND", "GBP"));
        let buy = wintermute_mm::types::Side::Buy;
        exec.submit(0, &new_order(1, buy, ticks("14.7000"), lots("2"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 1, .. }))).await;
        sim.trade_at("BAND-GBP", "14.6500", "2").unwrap();
        let events = events_until(&mut exec, |e| {
            e.iter().any(|e| matches!(e, ExecEvent::Filled { client_id: 1, open_qty: 0, .. }))
        })
        .await;
        let quote_fills: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ExecEvent::Filled { client_id: 1, fill, .. } => Some(*fill),
                _ => None,
            })
            .collect();
        assert_eq!(quote_fills.len(), 1);
        assert_eq!((quote_fills[0].qty, quote_fills[0].liquidity), (lots("2"), Liquidity::Maker));
        assert!(quote_fills[0].fee > 0);
        // An IOC hedge crossing the best ask: taker.
        exec.submit(1, &new_order(2, buy, ticks("14.8024"), lots("1"), OrderTif::Ioc)).unwrap();
        let events = events_until(&mut exec, |e| {
            e.iter().any(|e| matches!(e, ExecEvent::Filled { client_id: 2, open_qty: 0, .. }))
        })
        .await;
        let hedge = events.iter().find_map(|e| match e {
            ExecEvent::Filled { client_id: 2, fill, .. } => Some(*fill),
            _ => None,
        });
        assert_eq!(hedge.map(|f| (f.qty, f.price, f.liquidity)), Some((lots("1"), ticks("14.8024"), Liquidity::Taker)));
    });
}

#[test]
fn with_no_channel_to_reach_the_route_reconciles_over_rest_and_backs_off() {
    run(async {
        let key = pkcs8();
        let (sim, rest) = sim_and_client(&key, |_| {}).await;
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap(); // nobody listens
        let channel = CoinbaseUserWs::new(closed, CoinbaseJwtSigner::new(KEY_NAME, &key).unwrap(), vec![product()]);
        let mut route = CoinbaseRoute::new(rest, channel);
        route.place(&order("q-3", Side::Buy, "1", limit("14.7000", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("BAND-GBP", "14.6000", "1").unwrap();
        for _ in 0..3 {
            route.reconcile("BAND-GBP").await.unwrap();
        }
        assert_eq!(state(&route, "q-3"), (OrderStatus::Filled, lots("1")));
        assert!(route.orders().get("q-3").unwrap().fills().all(|f| f.is_maker));
        assert!(!route.channel_live());
        // One failed attempt, then the back-off (1 s) holds further attempts off.
        assert_eq!((route.stats().channel_failures, route.stats().full_reconciliations), (1, 3));
    });
}

//! The Binance route's client as live and paper routes build it: the WebSocket API client with
//! its REST companion (`BinanceWsClient::with_rest`), against the simulator's two fronts on
//! 127.0.0.1. It subscribes to user data on every connection it opens; fills made while it was
//! disconnected come from the reconciliation after the reconnect, once each.

mod common;
mod execution_common;

use std::time::Duration;

use common::*;
use execution_common::{adapter, events_until, new_order};
use wintermute_mm::execution::{ExecEvent, Execution, OrderTif};
use wintermute_router::binance::client::TimeInForce;
use wintermute_router::binance::sim::BinanceSim;
use wintermute_router::binance::ws_client::BinanceWsClient;
use wintermute_router::order::Instrument;
use wintermute_router::order_state::{OrderStatus, Side};
use wintermute_router::signing::BinanceSigner;

fn route_client(sim: &BinanceSim) -> BinanceWsClient {
    let signer = BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec());
    BinanceWsClient::with_rest(&sim.ws_url(), None, HMAC_KEY, signer, hmac_client(sim), vec![instrument()]).unwrap()
}

/// Reconciles until a reconciliation succeeds (the first after a hang-up finds the connection
/// gone and reconnects on the next).
async fn reconcile(client: &mut BinanceWsClient) -> wintermute_router::order::ReconcileSummary {
    for _ in 0..5 {
        if let Ok(summary) = client.reconcile("BTCUSDT").await {
            return summary;
        }
    }
    panic!("no reconciliation succeeded");
}

#[test]
fn fills_made_while_the_route_was_disconnected_arrive_once_after_the_reconnect() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let mut client = route_client(&sim);
        client.place(&order("q-1", Side::Sell, "0.5", limit("58010", TimeInForce::Gtc))).await.unwrap();
        assert!(client.subscription().is_some(), "the route subscribes to user data on connecting");
        // Connected: the fill arrives on the user-data stream.
        sim.trade_at("BTCUSDT", "58010", "0.1").unwrap();
        while client.orders().get("q-1").unwrap().filled_qty() < lots("0.1") {
            client.take_events();
            client.poll_events(Duration::from_millis(200)).await.unwrap();
        }
        // Disconnected: two fills nobody pushes to us.
        sim.drop_ws_connections();
        client.take_events();
        let _ = client.poll_events(Duration::from_millis(200)).await; // learns the connection is gone
        sim.trade_at("BTCUSDT", "58010", "0.15").unwrap();
        sim.trade_at("BTCUSDT", "58011", "0.05").unwrap();
        let summary = reconcile(&mut client).await;
        assert_eq!(client.reconnects(), 1);
        assert!(client.subscription().is_some(), "subscribed again on the new connection");
        assert_eq!(summary.new_fills, 2, "{summary:?}");
        let q1 = client.orders().get("q-1").unwrap();
        assert_eq!(q1.filled_qty(), lots("0.3"));
        let venue: Vec<(u64, i64)> = sim.trades().into_iter().map(|(id, _, qty)| (id, qty)).collect();
        let ours: Vec<(u64, i64)> = q1.fills().map(|f| (f.trade_id, f.qty)).collect();
        assert_eq!(ours.len(), venue.len(), "every venue trade once: {ours:?} vs {venue:?}");
        for trade in &venue {
            assert!(ours.contains(trade), "{trade:?} missing from {ours:?}");
        }
        // Reconciling again, and a fill while connected, count nothing twice.
        assert_eq!(reconcile(&mut client).await.new_fills, 0);
        sim.trade_at("BTCUSDT", "58010", "0.2").unwrap();
        let summary = reconcile(&mut client).await;
        let q1 = client.orders().get("q-1").unwrap();
        assert_eq!((q1.filled_qty(), q1.status()), (lots("0.5"), OrderStatus::Filled));
        assert!(summary.new_fills <= 1, "{summary:?}");
        assert_eq!(q1.fills().count(), sim.trades().len());
        assert_eq!(client.stats().malformed_frames, 0);
    });
}

#[test]
fn through_the_market_makers_adapter_a_hang_up_mid_fill_loses_and_doubles_nothing() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let inst = Instrument::new("BTCUSDT", "0.01", "0.000001").unwrap();
        let mut exec = adapter(route_client(&sim), 1, inst, ("BTC", "USDT"));
        let sell = wintermute_mm::types::Side::Sell;
        exec.submit(0, &new_order(9, sell, ticks("58010"), lots("0.4"), OrderTif::Gtc)).unwrap();
        let mut all = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        sim.trade_at("BTCUSDT", "58010", "0.1").unwrap();
        sim.drop_ws_connections();
        sim.trade_at("BTCUSDT", "58010", "0.1").unwrap();
        sim.drop_ws_connections();
        sim.trade_at("BTCUSDT", "58012", "0.2").unwrap();
        all.extend(
            events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { open_qty: 0, .. }))).await,
        );
        let fills: Vec<i64> = all
            .iter()
            .filter_map(|e| match e {
                ExecEvent::Filled { fill, .. } => Some(fill.qty),
                _ => None,
            })
            .collect();
        assert_eq!(fills.len(), 3, "one event per venue trade: {all:?}");
        assert_eq!(fills.iter().sum::<i64>(), lots("0.4"));
        assert_eq!(sim.trades().len(), 3);
    });
}

#[test]
fn the_companion_reads_the_grid_and_the_kill_switch_cancels_orders_of_another_process() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut other = hmac_client(&sim);
        other.place(&order("other-1", Side::Buy, "0.1", limit("57000", TimeInForce::Gtc))).await.unwrap();
        let mut client = route_client(&sim);
        let (tick, lot) = client.exchange_grid("BTCUSDT").await.unwrap();
        // As Binance writes them, at 8 places.
        assert_eq!((tick.to_string(), lot.to_string()), ("0.01000000".to_owned(), "0.00000100".to_owned()));
        client.place(&order("k-1", Side::Buy, "0.1", limit("56000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(client.adopt_open_orders("BTCUSDT").await.unwrap(), 1, "the other process's order");
        assert_eq!(client.cancel_all("BTCUSDT").await.unwrap(), 2);
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        assert_eq!(client.orders().get("other-1").unwrap().status(), OrderStatus::Canceled);
        // Without a companion there is no grid to read, and the error says why.
        let mut bare = ws_hmac_client(&sim);
        let err = bare.exchange_grid("BTCUSDT").await.unwrap_err().to_string();
        assert!(err.contains("no REST companion"), "{err}");
    });
}

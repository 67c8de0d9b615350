//! The market maker's `Execution` interface, the generic reconciliation and the kill switch over
//! the Kraken WebSocket v2 client, against the simulator's WebSocket front: the client connects
//! on the adapter's worker thread, and `RoutedExecution` places, fills and cancels through it
//! unchanged.

mod common;
mod execution_common;
mod kraken_common;
mod kraken_execution;

use common::run;
use execution_common::{adapter, events_until};
use kraken_common::*;
use kraken_execution::new;
use wintermute_mm::execution::{ExecCommand, ExecEvent, Execution, OrderTif, RejectReason};
use wintermute_mm::types::Side as MmSide;
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::kraken::ws_client::KrakenWsClient;
use wintermute_router::order::TimeInForce;
use wintermute_router::order_state::{OrderStatus, Side};
use wintermute_router::venue::VenueClient;

/// A simulator with its WebSocket front, and a WebSocket client (not yet connected) on a
/// fresh token.
async fn setup() -> (KrakenSim, KrakenWsClient) {
    let mut sim = sim_with(roomy).await;
    let ws_addr = sim.start_ws().await.unwrap();
    let token = client_with(&sim, ROOMY).websockets_token().await.unwrap();
    let ws = KrakenWsClient::new(&format!("ws://{ws_addr}/v2"), None, &token, vec![ws_pair()]).unwrap();
    (sim, ws)
}

fn ws_adapter(client: KrakenWsClient) -> RoutedExecution {
    adapter(client, 2, pair().instrument, ("XXBT", "ZUSD"))
}

#[test]
fn an_ioc_hedge_through_the_websocket_fills_against_the_book_and_its_remainder_is_canceled() {
    run(async {
        let (_sim, ws) = setup().await;
        assert!(!ws.is_connected(), "connects on the worker thread, on first use");
        let mut exec = ws_adapter(ws);
        kraken_execution::an_ioc_hedge_fills_against_the_book_and_its_remainder_is_canceled(&mut exec).await;
    });
}

#[test]
fn a_resting_quote_reports_the_maker_fill_the_channel_pushes_and_is_canceled() {
    run(async {
        let (sim, ws) = setup().await;
        let mut exec = ws_adapter(ws);
        kraken_execution::a_resting_quote_fills_as_maker(&mut exec, &sim).await;
        exec.submit(0, &ExecCommand::Cancel { client_id: 3 }).unwrap();
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        assert!(events.iter().any(
            |e| matches!(e, ExecEvent::Canceled { client_id: 3, canceled_qty, .. } if *canceled_qty == lots("0.3"))
        ));
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn after_a_drop_reconciliation_reconnects_and_merges_the_fill_it_missed() {
    run(async {
        let (sim, mut ws) = setup().await;
        let gtc = limit("58740", TimeInForce::Gtc);
        let id = ws.client_order_id(7, 0);
        VenueClient::place(&mut ws, &order(&id, Side::Sell, "0.5", gtc)).await.unwrap();
        sim.drop_ws_connections();
        sim.trade_at("XBTUSD", "58741", "0.5").unwrap();
        let summary = VenueClient::reconcile(&mut ws, "XBTUSD").await.unwrap();
        assert_eq!(summary.new_fills, 1, "{summary:?}");
        assert_eq!(ws.orders().get(&id).unwrap().status(), OrderStatus::Filled);
        assert!(ws.is_connected());
        let again = VenueClient::reconcile(&mut ws, "XBTUSD").await.unwrap();
        assert_eq!((again.new_fills, again.status_changes), (0, 0), "reconciling twice changes nothing");
    });
}

#[test]
fn the_kill_switch_cancels_every_open_order_through_the_websocket() {
    run(async {
        let (sim, mut ws) = setup().await;
        let ids: Vec<String> = (1..=3).map(|n| ws.client_order_id(n, 0)).collect();
        for (id, price) in ids.iter().zip(["58000", "57990", "57980"]) {
            VenueClient::place(&mut ws, &order(id, Side::Buy, "0.1", limit(price, TimeInForce::Gtc))).await.unwrap();
        }
        assert_eq!(sim.open_order_count(), 3);
        let canceled = ws.cancel_all("XBTUSD").await.unwrap();
        assert_eq!(canceled, 3);
        assert_eq!(sim.open_order_count(), 0);
        assert!(ids.iter().all(|id| ws.orders().get(id).unwrap().status() == OrderStatus::Canceled));
        assert_eq!(ws.cancel_all("XBTUSD").await.unwrap(), 0, "nothing left to cancel");
    });
}

#[test]
fn an_order_that_cannot_be_sent_because_no_connection_opens_is_rejected() {
    run(async {
        // Nothing listens on port 1 of 127.0.0.1: the connect is refused, nothing is sent.
        let ws = KrakenWsClient::new("ws://127.0.0.1:1/v2", None, "t", vec![ws_pair()]).unwrap();
        let mut exec = ws_adapter(ws);
        exec.submit(0, &new(5, MmSide::Buy, "58000", "0.1", OrderTif::Gtc)).unwrap();
        let events = events_until(&mut exec, |e| !e.is_empty()).await;
        assert!(
            matches!(events[0], ExecEvent::Rejected { client_id: 5, reason: RejectReason::Risk, .. }),
            "{events:?}"
        );
    });
}

#[test]
fn a_quote_filled_and_canceled_while_the_connection_was_down_reaches_the_market_maker_once() {
    run(async {
        let mut sim = sim_with(roomy).await;
        let ws_addr = sim.start_ws().await.unwrap();
        let rest = client_with(&sim, ROOMY);
        let ws = KrakenWsClient::with_rest(&format!("ws://{ws_addr}/v2"), None, rest, vec![ws_pair()]).unwrap();
        let cl_ord_id = ws.client_order_id(9, 0);
        let mut exec = ws_adapter(ws);
        exec.submit(0, &new(9, MmSide::Sell, "58740", "0.5", OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        // Down: the quote fills in part, is canceled (same key, over REST), every token expires.
        // The worker reconnects with a fresh token; the snapshot or the REST companion tells.
        sim.drop_ws_connections();
        sim.trade_at("XBTUSD", "58741", "0.2").unwrap();
        let _ = client_with(&sim, ROOMY).cancel("XBTUSD", &cl_ord_id).await;
        sim.expire_ws_tokens();
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        let fills: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                ExecEvent::Filled { fill, .. } => Some(fill.qty),
                _ => None,
            })
            .collect();
        assert_eq!(fills, [lots("0.2")], "{events:?}");
        assert!(
            events.iter().any(
                |e| matches!(e, ExecEvent::Canceled { client_id: 9, canceled_qty, .. } if *canceled_qty == lots("0.3"))
            ),
            "{events:?}"
        );
    });
}

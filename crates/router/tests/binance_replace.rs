//! `Execution::replace` over the Binance REST client (a quote moving to another price): the
//! old order canceled and the new one placed in one `POST /api/v3/order/cancelReplace`, the
//! events those of a cancel and a new order; a cancel the venue refuses (the old order already
//! gone) leaves the new order placed on its own.

mod common;
mod execution_common;

use common::*;
use execution_common::{adapter, events_until, new_order};
use wintermute_mm::execution::{ExecCommand, ExecEvent, Execution, OrderRequest, OrderTif, RejectReason};
use wintermute_mm::types::Side;
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::order::Instrument;

const REPLACE: (&str, &str) = ("POST", "/api/v3/order/cancelReplace");

async fn resting(sim: &wintermute_router::binance::sim::BinanceSim) -> RoutedExecution {
    let inst = Instrument::new("BTCUSDT", "0.01", "0.000001").unwrap();
    let mut exec = adapter(hmac_client(sim), 1, inst, ("BTC", "USDT"));
    exec.submit(0, &new_order(7, Side::Buy, ticks("57000"), lots("0.01"), OrderTif::PostOnly)).unwrap();
    events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 7, .. }))).await;
    exec
}

fn moved(client_id: u64) -> OrderRequest {
    OrderRequest { client_id, side: Side::Buy, price: ticks("56990"), qty: lots("0.02"), tif: OrderTif::PostOnly }
}

#[test]
fn a_replace_is_one_cancel_replace_request_with_a_cancels_and_a_new_orders_events() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let mut exec = resting(&sim).await;
        exec.replace(0, 7, &moved(8)).unwrap();
        let events = events_until(&mut exec, |e| {
            e.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id: 7, .. }))
                && e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 8, .. }))
        })
        .await;
        assert!(events.iter().all(|e| !matches!(e, ExecEvent::Rejected { .. })), "{events:?}");
        assert_eq!(sim.rest_requests(REPLACE.0, REPLACE.1), 1);
        assert_eq!(sim.rest_requests("DELETE", "/api/v3/order"), 0);
        assert_eq!(sim.rest_requests("POST", "/api/v3/order"), 1, "only the first order's");
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
        // The order resting is the new one, at its price and quantity.
        sim.trade_at("BTCUSDT", "56990", "0.05").unwrap();
        let events =
            events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { open_qty: 0, .. }))).await;
        let fills: Vec<(u64, i64, i64)> = events
            .iter()
            .filter_map(|e| match e {
                ExecEvent::Filled { client_id, fill, .. } => Some((*client_id, fill.price, fill.qty)),
                _ => None,
            })
            .collect();
        assert_eq!(fills, vec![(8, ticks("56990"), lots("0.02"))]);
        // A bad new order is refused before anything is sent; a reused id too.
        let bad = OrderRequest { qty: 0, ..moved(9) };
        assert!(exec.replace(0, 8, &bad).is_err());
        exec.submit(0, &new_order(10, Side::Buy, ticks("56000"), lots("0.01"), OrderTif::PostOnly)).unwrap();
        assert!(exec.replace(0, 8, &moved(10)).is_err(), "id 10 is live");
        assert_eq!(sim.rest_requests(REPLACE.0, REPLACE.1), 1);
    });
}

#[test]
fn a_replace_whose_cancel_the_venue_refuses_places_the_new_order_on_its_own() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let mut exec = resting(&sim).await;
        // Order 7 fills completely before the replace reaches the venue.
        sim.trade_at("BTCUSDT", "57000", "0.05").unwrap();
        exec.replace(0, 7, &moved(8)).unwrap();
        let events =
            events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 8, .. }))).await;
        assert!(
            events
                .iter()
                .any(|e| matches!(e, ExecEvent::Rejected { client_id: 7, reason: RejectReason::UnknownOrder, .. }))
                || events.iter().any(|e| matches!(e, ExecEvent::Filled { client_id: 7, open_qty: 0, .. })),
            "{events:?}"
        );
        assert!(events.iter().all(|e| !matches!(e, ExecEvent::Rejected { client_id: 8, .. })), "{events:?}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 1, "the new order rests");
        // Cancelling it works under the market maker's id.
        exec.submit(0, &ExecCommand::Cancel { client_id: 8 }).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id: 8, .. }))).await;
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
    });
}

//! The market maker's amend sent as one Binance cancel-replace whose answer is lost (the
//! connection dropped): nothing is reported until a reconciliation says which half happened,
//! then the venue's truth is, so the quoting side's view equals the venue's:
//!
//! - the request never reached the venue: the old order is still live with its own quantity
//!   (`Amended` with the old open quantity), and later fills are its fills;
//! - the venue acted and only the answer was lost: the replacement is live (`Amended` with the
//!   new open quantity);
//! - the venue canceled the old order and refused the new one: the order is gone (`Canceled`).
//!
//! A cancel lost before the venue (alone, or as a replace's first half) is sent again once a
//! reconciliation finds the order still open.

mod common;
mod execution_common;

use common::*;
use execution_common::{adapter, events_until, new_order};
use wintermute_mm::execution::{ExecCommand, ExecEvent, Execution, OrderRequest, OrderTif, RejectReason};
use wintermute_mm::types::Side;
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::order::Instrument;

fn amended(events: &[ExecEvent]) -> Vec<i64> {
    events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Amended { client_id: 7, open_qty, .. } => Some(*open_qty),
            _ => None,
        })
        .collect()
}

fn filled(events: &[ExecEvent]) -> i64 {
    events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Filled { fill, .. } => Some(fill.qty),
            _ => None,
        })
        .sum()
}

/// The adapter on the REST client with order 7 (0.01 BTC, `tif`, at 57000) accepted.
async fn resting(sim: &BinanceSim, tif: OrderTif) -> (RoutedExecution, Vec<ExecEvent>) {
    let inst = Instrument::new("BTCUSDT", "0.01", "0.000001").unwrap();
    accepted(adapter(hmac_client(sim), 1, inst, ("BTC", "USDT")), tif).await
}

/// Order 7 (0.01 BTC, `tif`, at 57000) placed through `exec` and accepted.
async fn accepted(mut exec: RoutedExecution, tif: OrderTif) -> (RoutedExecution, Vec<ExecEvent>) {
    exec.submit(0, &new_order(7, Side::Buy, ticks("57000"), lots("0.01"), tif)).unwrap();
    let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
    (exec, events)
}

use wintermute_router::binance::sim::BinanceSim;

/// Amends order 7 to 0.02 BTC through `exec` and reads events until its `Amended`, into `all`.
async fn amend_to_two_hundredths(exec: &mut RoutedExecution, all: &mut Vec<ExecEvent>) {
    exec.submit(0, &ExecCommand::Amend { client_id: 7, new_qty: lots("0.02") }).unwrap();
    all.extend(events_until(exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Amended { client_id: 7, .. }))).await);
}

/// A seller trades 0.05 BTC at 57000 on the venue; reads events into `all` until our order is
/// filled out, and checks that `qty` filled and that the venue's order `venue_order` traded.
async fn trade_through(
    sim: &BinanceSim,
    exec: &mut RoutedExecution,
    all: &mut Vec<ExecEvent>,
    qty: i64,
    venue_order: &str,
) {
    sim.trade_at("BTCUSDT", "57000", "0.05").unwrap();
    all.extend(events_until(exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { open_qty: 0, .. }))).await);
    assert_eq!(filled(all), qty, "{all:?}");
    let venue_orders: Vec<String> = sim.trades().into_iter().map(|t| t.1).collect();
    assert_eq!(venue_orders, vec![venue_order.to_owned()], "which order traded");
}

/// Whether `events` hold order 7 canceled with all its 0.01 BTC open.
fn canceled_whole(events: &[ExecEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, ExecEvent::Canceled { client_id: 7, canceled_qty, .. } if *canceled_qty == lots("0.01")))
}

#[test]
fn a_cancel_replace_lost_before_the_venue_leaves_the_old_order_and_reports_its_real_quantity() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let (mut exec, mut all) = resting(&sim, OrderTif::Gtc).await;
        sim.drop_next_requests_to("cancelReplace", 1);
        amend_to_two_hundredths(&mut exec, &mut all).await;
        // The venue never saw the request: the old order rests with its 0.01.
        assert_eq!(amended(&all), vec![lots("0.01")], "{all:?}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
        trade_through(&sim, &mut exec, &mut all, lots("0.01"), "wm7").await;
        // Nothing rests any more, and the market maker's view says so too.
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        exec.submit(0, &ExecCommand::Cancel { client_id: 7 }).unwrap();
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Rejected { .. }))).await;
        assert!(events.iter().all(|e| !matches!(e, ExecEvent::Filled { .. } | ExecEvent::Amended { .. })));
    });
}

#[test]
fn a_cancel_lost_before_the_venue_after_an_unsettled_replace_goes_to_the_order_the_venue_holds() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let (mut exec, _) = resting(&sim, OrderTif::Gtc).await;
        sim.drop_next_requests_to("cancelReplace", 1);
        // The amend's answer is lost and the cancel follows at once: it must cancel the order
        // the venue holds (the old one), not the replacement that never arrived.
        exec.submit(0, &ExecCommand::Amend { client_id: 7, new_qty: lots("0.02") }).unwrap();
        exec.submit(0, &ExecCommand::Cancel { client_id: 7 }).unwrap();
        let all = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        assert!(canceled_whole(&all), "{all:?}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 0, "nothing left resting");
    });
}

#[test]
fn a_cancel_replace_whose_answer_alone_was_lost_reports_the_replacement() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let (mut exec, mut all) = resting(&sim, OrderTif::Gtc).await;
        sim.lose_next_responses_to("cancelReplace", 1);
        amend_to_two_hundredths(&mut exec, &mut all).await;
        assert_eq!(amended(&all), vec![lots("0.02")], "{all:?}");
        trade_through(&sim, &mut exec, &mut all, lots("0.02"), "wm7r1").await;
    });
}

#[test]
fn a_lost_cancel_replace_whose_new_half_the_venue_refused_reports_the_order_gone() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let (mut exec, mut all) = resting(&sim, OrderTif::PostOnly).await;
        // The market moved through our bid: the replacement (post-only at the same price) would
        // take, so the venue cancels the old order and refuses the new one; the answer is lost.
        sim.set_book("BTCUSDT", &[(ticks("56900"), lots("1"))], &[(ticks("56990"), lots("1"))]).unwrap();
        sim.lose_next_responses_to("cancelReplace", 1);
        exec.submit(0, &ExecCommand::Amend { client_id: 7, new_qty: lots("0.02") }).unwrap();
        all.extend(events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await);
        assert!(canceled_whole(&all), "{all:?}");
        assert!(amended(&all).is_empty(), "no quantity was ever live but the old one: {all:?}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
    });
}

#[test]
fn over_the_websocket_api_a_cancel_replace_lost_before_the_venue_reports_the_old_orders_quantity() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let inst = Instrument::new("BTCUSDT", "0.01", "0.000001").unwrap();
        let (mut exec, mut all) =
            accepted(adapter(ws_hmac_client(&sim), 1, inst, ("BTC", "USDT")), OrderTif::Gtc).await;
        // The `order.cancelReplace` request is lost with the connection; the client reconnects
        // to reconcile.
        sim.drop_next_requests_to("order.cancelReplace", 1);
        amend_to_two_hundredths(&mut exec, &mut all).await;
        assert_eq!(amended(&all), vec![lots("0.01")], "{all:?}");
        trade_through(&sim, &mut exec, &mut all, lots("0.01"), "wm7").await;
    });
}

#[test]
fn a_cancel_lost_before_the_venue_is_sent_again_once_reconciliation_finds_the_order_open() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let (mut exec, _) = resting(&sim, OrderTif::Gtc).await;
        sim.drop_next_requests_to("DELETE /api/v3/order", 1);
        exec.submit(0, &ExecCommand::Cancel { client_id: 7 }).unwrap();
        let all = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        assert!(canceled_whole(&all), "{all:?}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        // The lost request never reached the venue; the second did.
        assert_eq!(sim.rest_requests("DELETE", "/api/v3/order"), 1);
    });
}

#[test]
fn a_replace_lost_before_the_venue_cancels_the_old_order_again_and_reports_the_new_one_unknown() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let (mut exec, _) = resting(&sim, OrderTif::Gtc).await;
        sim.drop_next_requests_to("cancelReplace", 1);
        let moved = OrderRequest {
            client_id: 8,
            side: Side::Buy,
            price: ticks("56990"),
            qty: lots("0.02"),
            tif: OrderTif::Gtc,
        };
        exec.replace(0, 7, &moved).unwrap();
        let all = events_until(&mut exec, |e| {
            e.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id: 7, .. }))
                && e.iter().any(|e| matches!(e, ExecEvent::Rejected { client_id: 8, .. }))
        })
        .await;
        assert!(
            all.iter()
                .any(|e| matches!(e, ExecEvent::Rejected { client_id: 8, reason: RejectReason::UnknownOrder, .. })),
            "the new order never existed: {all:?}"
        );
        assert!(!all.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 8, .. })), "{all:?}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 0, "the old order canceled at the venue");
    });
}

//! A Binance route's reservations end to end, over 127.0.0.1 (the route as live and paper
//! routes build it, the simulator checking funds; book 58000.00 x 1 / 59000.00 x 1): each order
//! sent holds what it can take of the free balance until the venue's balances include it, so
//! orders sent back to back are checked against what the others left; a replace's new order
//! and an amend up are checked net of what they give back; every reservation is released when
//! its order rests, fills, is canceled, rejected or expires, and the route's available balance
//! is then the venue's to the unit.

mod common;
mod execution_common;
mod route_balances_common;

use std::time::Duration;

use common::*;
use execution_common::{events_until, new_order};
use route_balances_common::*;
use wintermute_mm::execution::{ExecCommand, ExecError, ExecEvent, Execution, OrderRequest, OrderTif, RejectReason};
use wintermute_mm::types::Side as MmSide;
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::reservations::Reserve;

/// USDT in the instrument's notional units (tick × lot: 0.01 × 0.000001 = 1e-8 USDT).
fn usdt(price: &str, qty: &str) -> i64 {
    ticks(price) * lots(qty)
}

/// Waits until the route holds no reservation, at most 5 s.
async fn released(exec: &RoutedExecution) {
    for _ in 0..500 {
        if exec.reserved() == Reserve::default() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("reservations never released: {:?}", exec.reserved());
}

/// No reservation left, and the route's balances are the venue's.
async fn settled(exec: &RoutedExecution, sim: &wintermute_router::binance::sim::BinanceSim) {
    released(exec).await;
    let venue_assets: Vec<String> = sim.balances_of(HMAC_KEY).into_iter().map(|(a, _)| a).collect();
    let b = balances_until(exec, |b| venue_assets.iter().all(|a| free_locked(b, a) == venue_free_locked(sim, a))).await;
    assert!(!b.resync_due());
    assert_eq!(exec.reserved(), Reserve::default(), "nothing reserved once the venue's balances say it all");
}

fn insufficient(e: ExecError) -> (u64, i64, i64) {
    match e {
        ExecError::InsufficientBalance { client_id, qty, coverable, .. } => (client_id, qty, coverable),
        other => panic!("not a refusal for funds: {other:?}"),
    }
}

#[test]
fn orders_sent_back_to_back_are_checked_against_what_the_others_left() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000"), ("BTC", "0.01")]).await;
        let mut exec = route(&sim, Duration::from_millis(10));
        balances_until(&exec, |b| !b.resync_due()).await;

        // Sent at once, one after the other: the venue has answered none of them yet.
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("57000"), lots("0.01"), OrderTif::Gtc)).unwrap();
        assert_eq!(exec.reserved(), Reserve { base_lots: 0, quote_units: usdt("57000", "0.01") });
        let e = exec.submit(0, &new_order(2, MmSide::Buy, ticks("57000"), lots("0.008"), OrderTif::Gtc)).unwrap_err();
        // 430 USDT left: 0.007543 BTC at 57000.00.
        assert_eq!(insufficient(e), (2, lots("0.008"), lots("0.007543")));
        assert_eq!(exec.coverable_qty(MmSide::Buy, ticks("57000")), Some(lots("0.007543")));
        exec.submit(0, &new_order(3, MmSide::Sell, ticks("60000"), lots("0.006"), OrderTif::Gtc)).unwrap();
        let e = exec.submit(0, &new_order(4, MmSide::Sell, ticks("60000"), lots("0.005"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(insufficient(e), (4, lots("0.005"), lots("0.004")));
        assert_eq!(exec.reserved(), Reserve { base_lots: lots("0.006"), quote_units: usdt("57000", "0.01") });

        let events =
            events_until(&mut exec, |e| e.iter().filter(|e| matches!(e, ExecEvent::Accepted { .. })).count() == 2)
                .await;
        assert!(events.iter().all(|e| [1, 3].contains(&e.client_id())), "{events:?}");
        // The venue's balances now hold both orders; the reservations are gone, not counted twice.
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("430".into(), "570".into()));
        assert_eq!(exec.coverable_qty(MmSide::Buy, ticks("57000")), Some(lots("0.007543")));
        assert_eq!(exec.coverable_qty(MmSide::Sell, ticks("60000")), Some(lots("0.004")));
        assert_eq!(sim.open_order_count("BTCUSDT"), 2, "the refused orders never reached the venue");
    });
}

#[test]
fn reservations_are_released_on_fill_cancel_reject_and_expiry() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let mut exec = route(&sim, Duration::from_millis(10));
        balances_until(&exec, |b| !b.resync_due()).await;

        // Filled: an IOC buy at the ask (the buyer's commission comes out of the BTC).
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("59000"), lots("0.01"), OrderTif::Ioc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { open_qty: 0, .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(exec.balances().unwrap().free("USDT"), Some(dec("410")));

        // Canceled while resting.
        exec.submit(0, &new_order(2, MmSide::Buy, ticks("57000"), lots("0.005"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        exec.submit(0, &ExecCommand::Cancel { client_id: 2 }).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("410".into(), "0".into()));

        // Rejected by the venue (a post-only buy at the ask would cross).
        exec.submit(0, &new_order(3, MmSide::Buy, ticks("59000"), lots("0.001"), OrderTif::PostOnly)).unwrap();
        assert_eq!(exec.reserved().quote_units, usdt("59000", "0.001"));
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Rejected { .. }))).await;
        assert!(events.iter().any(|e| matches!(e, ExecEvent::Rejected { reason: RejectReason::WouldCross, .. })));
        released(&exec).await;

        // Expired: an IOC below the ask.
        exec.submit(0, &new_order(4, MmSide::Buy, ticks("57000"), lots("0.001"), OrderTif::Ioc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("410".into(), "0".into()));
        // What the balance covers is the venue's free balance again: 410 USDT at 57000.00.
        assert_eq!(exec.coverable_qty(MmSide::Buy, ticks("57000")), Some(lots("0.007192")));
    });
}

#[test]
fn a_replace_and_an_amend_up_are_checked_net_of_what_the_order_gives_back() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let mut exec = route(&sim, Duration::from_millis(10));
        balances_until(&exec, |b| !b.resync_due()).await;
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("57000"), lots("0.01"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        settled(&exec, &sim).await;

        // 430 free and the 570 the replaced order gives back: 969 fits, 1026 does not.
        let order = |client_id, qty| OrderRequest {
            client_id,
            side: MmSide::Buy,
            price: ticks("57000"),
            qty: lots(qty),
            tif: OrderTif::Gtc,
        };
        let e = exec.replace(0, 1, &order(2, "0.018")).unwrap_err();
        assert_eq!(insufficient(e), (2, lots("0.018"), lots("0.017543")));
        exec.replace(0, 1, &order(3, "0.017")).unwrap();
        assert_eq!(exec.reserved().quote_units, usdt("57000", "0.007"), "net of what the old order frees");
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id: 1, .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("31".into(), "969".into()));

        // An amend up needs what it adds: 31 free covers 0.0005 more, not 0.001.
        let e = exec.submit(0, &ExecCommand::Amend { client_id: 3, new_qty: lots("0.018") }).unwrap_err();
        assert_eq!(insufficient(e), (3, lots("0.018"), lots("0.017543")));
        exec.submit(0, &ExecCommand::Amend { client_id: 3, new_qty: lots("0.0175") }).unwrap();
        assert_eq!(exec.reserved().quote_units, usdt("57000", "0.0005"));
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Amended { client_id: 3, .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("2.5".into(), "997.5".into()));

        // An amend down reserves nothing; the cancel gives everything back.
        exec.submit(0, &ExecCommand::Amend { client_id: 3, new_qty: lots("0.001") }).unwrap();
        assert_eq!(exec.reserved(), Reserve::default());
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Amended { client_id: 3, .. }))).await;
        exec.submit(0, &ExecCommand::Cancel { client_id: 3 }).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id: 3, .. }))).await;
        settled(&exec, &sim).await;
        assert_eq!(free_locked(&exec.balances().unwrap(), "USDT"), ("1000".into(), "0".into()));
    });
}

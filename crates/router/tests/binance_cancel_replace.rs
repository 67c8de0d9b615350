//! Binance's cancel-replace over REST (`POST /api/v3/order/cancelReplace`) against the
//! simulator on 127.0.0.1: both halves in one request, each mode's outcome with Binance's codes
//! (`-2021` one half failed, HTTP 409; `-2022` both failed or the new order not attempted, HTTP
//! 400), raw requests checked as Binance documents them, and the market maker's amend of a
//! larger quantity sent as one cancel-replace through the REST client.

mod common;
mod execution_common;

use common::*;
use execution_common::{adapter, events_until, new_order};
use wintermute_mm::execution::{ExecCommand, ExecEvent, Execution, OrderTif, RejectReason};
use wintermute_router::binance::client::{CancelReplaceMode, TimeInForce};
use wintermute_router::order::Instrument;
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};

/// One raw signed `POST /api/v3/order/cancelReplace` with `params`: (status, body).
async fn raw_cancel_replace(addr: std::net::SocketAddr, params: &str) -> (u16, serde_json::Value) {
    let target = signed_path("/api/v3/order/cancelReplace", params);
    let (status, _, body) = raw(addr, "POST", &target, Some(HMAC_KEY)).await;
    (status, body)
}

const NEW: &str = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=57000";

#[test]
fn a_rest_cancel_replace_cancels_the_order_and_places_the_new_one_in_one_request() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut rest = hmac_client(&sim);
        rest.place(&order("r-1", Side::Buy, "0.5", limit("57000", TimeInForce::Gtc))).await.unwrap();
        let next = order("r-2", Side::Buy, "0.7", limit("57100", TimeInForce::Gtc));
        let reports = rest.cancel_replace("BTCUSDT", "r-1", &next, CancelReplaceMode::StopOnFailure).await.unwrap();
        assert_eq!(kinds(&reports), vec![("r-1", &ReportKind::Canceled), ("r-2", &ReportKind::New)]);
        assert_eq!(rest.orders().get("r-1").unwrap().status(), OrderStatus::Canceled);
        let replacement = rest.orders().get("r-2").unwrap();
        assert_eq!((replacement.status(), replacement.qty), (OrderStatus::New, lots("0.7")));
        assert!(replacement.venue_order_id.is_some());
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
    });
}

#[test]
fn an_unknown_order_under_stop_on_failure_is_refused_and_the_new_order_is_not_attempted() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut rest = hmac_client(&sim);
        let next = order("r-3", Side::Buy, "0.1", limit("57000", TimeInForce::Gtc));
        let reports = rest.cancel_replace("BTCUSDT", "gone", &next, CancelReplaceMode::StopOnFailure).await.unwrap();
        assert_eq!(reports.len(), 2, "{reports:?}");
        assert_eq!((reports[0].client_order_id.as_str(), code(&reports[0].kind)), ("gone", Some(-2011)));
        assert!(matches!(reports[0].kind, ReportKind::CancelRejected { .. }));
        assert_eq!((reports[1].client_order_id.as_str(), code(&reports[1].kind)), ("r-3", Some(-2022)));
        assert_eq!(rest.orders().get("r-3").unwrap().status(), OrderStatus::Rejected);
        assert_eq!(sim.open_order_count("BTCUSDT"), 0, "the new order was not attempted");
    });
}

#[test]
fn allow_failure_places_the_new_order_although_the_cancel_failed() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut rest = hmac_client(&sim);
        let next = order("r-4", Side::Buy, "0.1", limit("57000", TimeInForce::Gtc));
        let reports = rest.cancel_replace("BTCUSDT", "gone", &next, CancelReplaceMode::AllowFailure).await.unwrap();
        assert_eq!(code(&reports[0].kind), Some(-2011));
        assert_eq!(kinds(&reports[1..]), vec![("r-4", &ReportKind::New)]);
        assert_eq!(rest.orders().get("r-4").unwrap().status(), OrderStatus::New);
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
    });
}

#[test]
fn a_new_order_the_filters_refuse_after_a_good_cancel_leaves_the_order_canceled() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut rest = hmac_client(&sim);
        rest.place(&order("r-5", Side::Buy, "0.5", limit("57000", TimeInForce::Gtc))).await.unwrap();
        // A post-only buy above the best ask would take: -2010, after the cancel succeeded.
        let crossing = wintermute_router::binance::client::BinanceOrderType::PostOnly { price: ticks("59000") };
        let next = order("r-6", Side::Buy, "0.5", crossing);
        let reports = rest.cancel_replace("BTCUSDT", "r-5", &next, CancelReplaceMode::StopOnFailure).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::Canceled);
        assert_eq!((reports[1].client_order_id.as_str(), code(&reports[1].kind)), ("r-6", Some(-2010)));
        assert_eq!(rest.orders().get("r-5").unwrap().status(), OrderStatus::Canceled);
        assert_eq!(rest.orders().get("r-6").unwrap().status(), OrderStatus::Rejected);
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
    });
}

#[test]
fn raw_cancel_replaces_answer_with_binances_codes_statuses_and_halves() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let addr = sim.addr();
        // A wrong mode, and no mode at all: refused as a whole, nothing canceled or placed.
        let (status, body) =
            raw_cancel_replace(addr, &format!("{NEW}&cancelReplaceMode=SOMETIMES&cancelOrigClientOrderId=x")).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(-1100)), "{body}");
        assert!(body["msg"].as_str().unwrap().contains("cancelReplaceMode"), "{body}");
        let (status, body) = raw_cancel_replace(addr, &format!("{NEW}&cancelOrigClientOrderId=x")).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(-1102)), "{body}");
        // No order named to cancel.
        let (status, body) = raw_cancel_replace(addr, &format!("{NEW}&cancelReplaceMode=STOP_ON_FAILURE")).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(-1102)), "{body}");
        // An unknown order: -2022 (both failed, STOP_ON_FAILURE) and -2021 (one failed, ALLOW_FAILURE).
        let (status, body) = raw_cancel_replace(
            addr,
            &format!("{NEW}&newClientOrderId=n-1&cancelReplaceMode=STOP_ON_FAILURE&cancelOrigClientOrderId=none"),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_i64(), body["msg"].as_str()),
            (400, Some(-2022), Some("Order cancel-replace failed."))
        );
        let data = &body["data"];
        assert_eq!(
            (data["cancelResult"].as_str(), data["newOrderResult"].as_str()),
            (Some("FAILURE"), Some("NOT_ATTEMPTED"))
        );
        assert_eq!(data["cancelResponse"]["code"].as_i64(), Some(-2011));
        assert!(data["newOrderResponse"].is_null());
        let (status, body) = raw_cancel_replace(
            addr,
            &format!("{NEW}&newClientOrderId=n-2&cancelReplaceMode=ALLOW_FAILURE&cancelOrigClientOrderId=none"),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_i64(), body["msg"].as_str()),
            (409, Some(-2021), Some("Order cancel-replace partially failed."))
        );
        assert_eq!(
            (body["data"]["cancelResult"].as_str(), body["data"]["newOrderResult"].as_str()),
            (Some("FAILURE"), Some("SUCCESS"))
        );
        assert_eq!(body["data"]["newOrderResponse"]["clientOrderId"].as_str(), Some("n-2"));
        // Success: both halves in the body.
        let (status, body) = raw_cancel_replace(
            addr,
            &format!("{NEW}&newClientOrderId=n-3&cancelReplaceMode=STOP_ON_FAILURE&cancelOrigClientOrderId=n-2"),
        )
        .await;
        assert_eq!(
            (status, body["cancelResult"].as_str(), body["newOrderResult"].as_str()),
            (200, Some("SUCCESS"), Some("SUCCESS"))
        );
        assert_eq!(body["cancelResponse"]["origClientOrderId"].as_str(), Some("n-2"));
        assert_eq!(body["newOrderResponse"]["clientOrderId"].as_str(), Some("n-3"));
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
    });
}

#[test]
fn the_market_makers_larger_amend_is_one_cancel_replace_through_the_rest_client() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 100_000_000).await;
        let inst = Instrument::new("BTCUSDT", "0.01", "0.000001").unwrap();
        let mut exec = adapter(hmac_client(&sim), 1, inst, ("BTC", "USDT"));
        exec.submit(0, &new_order(7, wintermute_mm::types::Side::Buy, ticks("57000"), lots("0.01"), OrderTif::Gtc))
            .unwrap();
        let mut all = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        sim.trade_at("BTCUSDT", "57000", "0.004").unwrap();
        exec.submit(0, &ExecCommand::Amend { client_id: 7, new_qty: lots("0.02") }).unwrap();
        all.extend(
            events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Amended { client_id: 7, .. }))).await,
        );
        assert_eq!(sim.open_order_count("BTCUSDT"), 1, "one order open: the replacement");
        sim.trade_at("BTCUSDT", "57000", "0.05").unwrap();
        all.extend(
            events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { open_qty: 0, .. }))).await,
        );
        let filled: i64 = all
            .iter()
            .filter_map(|e| match e {
                ExecEvent::Filled { fill, .. } => Some(fill.qty),
                _ => None,
            })
            .sum();
        // The first order's 0.004, then the replacement's 0.02 (the new open quantity), each once,
        // under the market maker's id.
        assert_eq!(filled, lots("0.024"), "{all:?}");
        let venue_clients: std::collections::BTreeSet<String> = sim.trades().into_iter().map(|t| t.1).collect();
        assert_eq!(venue_clients.len(), 2, "two venue orders traded: {venue_clients:?}");
        // An amend of an order the venue no longer holds is refused (the order stays done).
        exec.submit(0, &ExecCommand::Amend { client_id: 7, new_qty: lots("0.03") }).unwrap();
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Rejected { .. }))).await;
        assert!(events
            .iter()
            .any(|e| matches!(e, ExecEvent::Rejected { client_id: 7, reason: RejectReason::UnknownOrder, .. })));
    });
}

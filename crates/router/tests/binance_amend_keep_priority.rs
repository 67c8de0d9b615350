//! Binance's amend that keeps queue priority (`PUT /api/v3/order/amend/keepPriority`,
//! `order.amend.keepPriority`) and its one-request cancel of every open order
//! (`DELETE /api/v3/openOrders`, `openOrders.cancelAll`), through the REST and WebSocket API
//! clients against the simulator on 127.0.0.1. Resting sells at 58010.00 sit above the recorded
//! book's best bid; `trade_at` is another participant trading through them, oldest first.

mod common;
mod execution_common;

use common::*;
use execution_common::{adapter, events_until, new_order};
use wintermute_mm::execution::{ExecCommand, ExecEvent, Execution, OrderTif};
use wintermute_mm::types::Liquidity;
use wintermute_router::binance::client::BinanceClientError;
use wintermute_router::binance::client::TimeInForce;
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};

fn sell(id: &str, qty: &str) -> wintermute_router::order::NewOrder {
    order(id, Side::Sell, qty, limit("58010", TimeInForce::Gtc))
}

fn status(orders: &wintermute_router::order_state::OrderTable, id: &str) -> (OrderStatus, i64, i64) {
    let o = orders.get(id).unwrap();
    (o.status(), o.qty, o.filled_qty())
}

fn venue_error(err: BinanceClientError) -> (i64, String) {
    match err {
        BinanceClientError::Venue { code, msg, .. } => (code, msg),
        other => panic!("not a venue refusal: {other}"),
    }
}

#[test]
fn a_rest_amend_that_lowers_the_quantity_keeps_the_order_first_in_the_queue() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        client.place(&sell("first", "1")).await.unwrap();
        client.place(&sell("second", "1")).await.unwrap();
        let venue_id = client.orders().get("first").unwrap().venue_order_id.clone();
        let reports = client.amend_keep_priority("BTCUSDT", "first", lots("0.4")).await.unwrap();
        assert_eq!(reports.len(), 1);
        assert_eq!((reports[0].kind.clone(), reports[0].cum_qty), (ReportKind::New, Some(0)));
        // Same order at the venue: same id, same client id, the new quantity.
        assert_eq!(client.orders().get("first").unwrap().venue_order_id, venue_id);
        assert_eq!(status(client.orders(), "first"), (OrderStatus::New, lots("0.4"), 0));
        assert_eq!(sim.open_order_count("BTCUSDT"), 2);
        // Another participant buys 0.4 at 58010: the amended order is still first and takes it all.
        assert_eq!(sim.trade_at("BTCUSDT", "58010", "0.4").unwrap(), 1);
        client.reconcile("BTCUSDT").await.unwrap();
        assert_eq!(status(client.orders(), "first"), (OrderStatus::Filled, lots("0.4"), lots("0.4")));
        assert_eq!(status(client.orders(), "second"), (OrderStatus::New, lots("1"), 0));
        assert!(client.orders().get("first").unwrap().fills().all(|f| f.is_maker));
    });
}

#[test]
fn a_cancel_replace_loses_the_queue_place_that_an_amend_keeps() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_hmac_client(&sim);
        ws.place(&sell("first", "1")).await.unwrap();
        ws.place(&sell("second", "1")).await.unwrap();
        ws.cancel_replace("BTCUSDT", "first", &sell("first-r", "0.4")).await.unwrap();
        sim.trade_at("BTCUSDT", "58010", "0.4").unwrap();
        ws.reconcile("BTCUSDT").await.unwrap();
        // The replacement queues behind "second", which takes the trade.
        assert_eq!(status(ws.orders(), "second"), (OrderStatus::PartiallyFilled, lots("1"), lots("0.4")));
        assert_eq!(status(ws.orders(), "first-r"), (OrderStatus::New, lots("0.4"), 0));
    });
}

#[test]
fn a_websocket_amend_keeps_the_queue_place_and_its_replaced_event_is_merged_once() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_hmac_client(&sim);
        ws.subscribe_user_data().await.unwrap();
        ws.place(&sell("first", "1")).await.unwrap();
        ws.place(&sell("second", "1")).await.unwrap();
        ws.take_events();
        let reports = ws.amend_keep_priority("BTCUSDT", "first", lots("0.25")).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::New);
        // The amend's user-data event (execution type REPLACED) came before the answer.
        let events = ws.take_events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!((events[0].client_order_id.as_str(), &events[0].kind), ("first", &ReportKind::New));
        sim.trade_at("BTCUSDT", "58010", "0.25").unwrap();
        ws.poll_events(std::time::Duration::from_secs(2)).await.unwrap();
        assert_eq!(status(ws.orders(), "first"), (OrderStatus::Filled, lots("0.25"), lots("0.25")));
        assert_eq!(status(ws.orders(), "second"), (OrderStatus::New, lots("1"), 0));
    });
}

#[test]
fn an_amend_the_venue_refuses_leaves_the_order_as_it_was() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        let mut ws = ws_hmac_client(&sim);
        client.place(&sell("a", "1")).await.unwrap();
        ws.place(&sell("b", "1")).await.unwrap();
        let increase = client.amend_keep_priority("BTCUSDT", "a", lots("2")).await.unwrap_err();
        assert_eq!(venue_error(increase), (-2038, "Order amend (quantity increase) is not supported.".into()));
        let same = ws.amend_keep_priority("BTCUSDT", "b", lots("1")).await.unwrap_err();
        assert_eq!(venue_error(same), (-2038, "The requested action would change no state; rejecting".into()));
        client.cancel("BTCUSDT", "a").await.unwrap();
        let gone = client.amend_keep_priority("BTCUSDT", "a", lots("0.5")).await.unwrap_err();
        assert_eq!(venue_error(gone), (-2038, "Unknown order sent.".into()));
        let off_grid = ws.amend_keep_priority("BTCUSDT", "b", 0).await.unwrap_err();
        assert_eq!(venue_error(off_grid), (-1013, "Filter failure: LOT_SIZE".into()));
        assert_eq!(status(client.orders(), "a"), (OrderStatus::Canceled, lots("1"), 0));
        assert_eq!(status(ws.orders(), "b"), (OrderStatus::New, lots("1"), 0));
        ws.reconcile("BTCUSDT").await.unwrap();
        assert_eq!(status(ws.orders(), "b"), (OrderStatus::New, lots("1"), 0), "the venue kept the quantity");
    });
}

/// Sends one raw signed request; returns (status, body).
async fn raw_signed(addr: std::net::SocketAddr, method: &str, path: &str, params: &str) -> (u16, serde_json::Value) {
    let (status, _, body) = raw(addr, method, &signed_path(path, params), Some(HMAC_KEY)).await;
    (status, body)
}

#[test]
fn the_simulator_checks_an_amends_parameters_as_binance_documents_them() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        client.place(&sell("a", "1")).await.unwrap();
        let order_id = client.orders().get("a").unwrap().venue_order_id.clone().unwrap();
        let path = "/api/v3/order/amend/keepPriority";
        let cases = [
            (
                "symbol=BTCUSDT&origClientOrderId=a".to_owned(),
                400,
                -1102,
                "Mandatory parameter 'newQty' was not sent, was empty/null, or malformed.",
            ),
            (
                "symbol=BTCUSDT&newQty=0.5".to_owned(),
                400,
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            ),
            (
                "symbol=BTCUSDT&origClientOrderId=a&newQty=0.5x".to_owned(),
                400,
                -1100,
                "Illegal characters found in parameter 'newQty'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
            ),
            (
                format!("symbol=BTCUSDT&orderId={order_id}&origClientOrderId=b&newQty=0.5"),
                400,
                -2039,
                "Client order ID is not correct for this order ID.",
            ),
            ("symbol=ETHUSDT&origClientOrderId=a&newQty=0.5".to_owned(), 400, -1121, "Invalid symbol."),
        ];
        for (params, want_status, code, msg) in cases {
            let (got, body) = raw_signed(sim.addr(), "PUT", path, &params).await;
            assert_eq!(
                (got, body["code"].as_i64(), body["msg"].as_str()),
                (want_status, Some(code), Some(msg)),
                "{params}"
            );
        }
        // By venue id, renaming the client id: the answer says both names.
        let params = format!("symbol=BTCUSDT&orderId={order_id}&newClientOrderId=a-2&newQty=0.5");
        let (got, body) = raw_signed(sim.addr(), "PUT", path, &params).await;
        assert_eq!(got, 200, "{body}");
        let amended = &body["amendedOrder"];
        assert_eq!(
            (amended["origClientOrderId"].as_str(), amended["clientOrderId"].as_str(), amended["qty"].as_str()),
            (Some("a"), Some("a-2"), Some("0.500000"))
        );
        assert_eq!(amended["orderId"].to_string(), order_id);
    });
}

#[test]
fn one_rest_request_cancels_every_open_order_of_the_symbol_including_another_sessions() {
    run(async {
        // Another session of the same account (its other key).
        let sim = sim_with(one_account).await;
        let mut client = hmac_client(&sim);
        let mut other = ed25519_client(&sim);
        client.place(&sell("k-1", "1")).await.unwrap();
        client.place(&sell("k-2", "0.5")).await.unwrap();
        other.place(&sell("elsewhere", "0.2")).await.unwrap();
        sim.trade_at("BTCUSDT", "58010", "0.3").unwrap(); // k-1 partly filled first
        client.sync_time().await.unwrap(); // the weight both clients used so far, read back
        let before = client.used_weight_1m();
        let reports = client.cancel_open_orders("BTCUSDT").await.unwrap();
        let after = client.used_weight_1m();
        assert!(after == before + 1 || after == 1, "one request of weight 1 ({before} -> {after})");
        let mut canceled: Vec<&str> =
            reports.iter().filter(|r| r.kind == ReportKind::Canceled).map(|r| r.client_order_id.as_str()).collect();
        canceled.sort_unstable();
        assert_eq!(canceled, vec!["elsewhere", "k-1", "k-2"]);
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        // The table: canceled, and the partial fill found by the reconciliation of the kill switch.
        assert!(client.cancel_open_orders("BTCUSDT").await.unwrap().is_empty(), "none open: -2011, nothing");
        assert_eq!(client.cancel_all("BTCUSDT").await.unwrap(), 0);
        assert_eq!(status(client.orders(), "k-1"), (OrderStatus::Canceled, lots("1"), lots("0.3")));
        assert_eq!(status(client.orders(), "k-2"), (OrderStatus::Canceled, lots("0.5"), 0));
    });
}

#[test]
fn the_websocket_kill_switch_cancels_every_open_order_in_one_request() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_hmac_client(&sim);
        for id in ["w-1", "w-2", "w-3"] {
            ws.place(&sell(id, "0.1")).await.unwrap();
        }
        ws.place(&order("gone", Side::Buy, "0.01", limit("58002", TimeInForce::Ioc))).await.unwrap();
        let before = ws.used_weight_1m();
        assert_eq!(ws.cancel_all("BTCUSDT").await.unwrap(), 3);
        // openOrders.cancelAll (1), then the reconciliation: myTrades (20) and openOrders.status (6);
        // no order.cancel (1 each) nor order.status (4 each). (The count restarts if the minute turns.)
        let after = ws.used_weight_1m();
        assert!(after == before + 27 || after <= 27, "{before} -> {after}");
        for id in ["w-1", "w-2", "w-3"] {
            assert_eq!(status(ws.orders(), id).0, OrderStatus::Canceled);
        }
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
    });
}

#[test]
fn the_adapter_lowers_a_quote_in_place_and_cancel_replaces_an_increase() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut exec = adapter(hmac_client(&sim), 1, instrument(), ("BTC", "USDT"));
        let mm_sell = wintermute_mm::types::Side::Sell;
        exec.submit(0, &new_order(7, mm_sell, ticks("58010"), lots("1"), OrderTif::Gtc)).unwrap();
        exec.submit(0, &new_order(8, mm_sell, ticks("58010"), lots("0.1"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().filter(|e| matches!(e, ExecEvent::Accepted { .. })).count() == 2).await;
        exec.submit(1, &ExecCommand::Amend { client_id: 7, new_qty: lots("0.4") }).unwrap();
        exec.submit(1, &ExecCommand::Amend { client_id: 8, new_qty: lots("0.3") }).unwrap();
        let events =
            events_until(&mut exec, |e| e.iter().filter(|e| matches!(e, ExecEvent::Amended { .. })).count() == 2).await;
        assert!(events
            .iter()
            .any(|e| matches!(e, ExecEvent::Amended { client_id: 7, open_qty, .. } if *open_qty == lots("0.4"))));
        // 7 kept its place ahead of 8's replacement: a trade of 0.5 fills 7 (0.4), then 8 (0.1).
        sim.trade_at("BTCUSDT", "58010", "0.5").unwrap();
        let events = events_until(&mut exec, |e| {
            e.iter().any(|e| matches!(e, ExecEvent::Filled { client_id: 7, open_qty: 0, .. }))
                && e.iter().any(|e| matches!(e, ExecEvent::Filled { client_id: 8, .. }))
        })
        .await;
        let fill_of = |id| {
            events.iter().find_map(|e| match e {
                ExecEvent::Filled { client_id, fill, open_qty } if *client_id == id => {
                    Some((fill.qty, fill.liquidity, *open_qty))
                }
                _ => None,
            })
        };
        assert_eq!(fill_of(7), Some((lots("0.4"), Liquidity::Maker, 0)));
        assert_eq!(fill_of(8), Some((lots("0.1"), Liquidity::Maker, lots("0.2"))));
        let mut traded: Vec<(String, i64)> = sim.trades().into_iter().map(|(_, c, q)| (c, q)).collect();
        traded.sort();
        assert_eq!(traded, vec![("wm7".to_owned(), lots("0.4")), ("wm8r1".to_owned(), lots("0.1"))]);
    });
}

#[test]
fn an_order_amended_as_often_as_the_venue_allows_is_refused_and_the_venue_client_falls_back_to_cancel_replace() {
    run(async {
        let sim = sim_with(|c| c.max_order_amends = 2).await;
        let mut client = hmac_client(&sim);
        client.place(&sell("m", "1")).await.unwrap();
        client.amend_keep_priority("BTCUSDT", "m", lots("0.9")).await.unwrap();
        client.amend_keep_priority("BTCUSDT", "m", lots("0.8")).await.unwrap();
        let third = client.amend_keep_priority("BTCUSDT", "m", lots("0.7")).await.unwrap_err();
        assert_eq!(venue_error(third), (-2038, "Filter failure: MAX_NUM_ORDER_AMENDS".into()));
        assert_eq!(status(client.orders(), "m"), (OrderStatus::New, lots("0.8"), 0));
        // As a venue client: "not amended", so the adapter cancel-replaces.
        use wintermute_router::venue::VenueClient;
        assert!(!VenueClient::amend(&mut client, "BTCUSDT", "m", lots("0.5")).await.unwrap());
        assert!(VenueClient::amend(&mut hmac_client_with_order(&sim).await, "BTCUSDT", "n", lots("0.5"))
            .await
            .unwrap());
    });
}

/// A fresh client holding one fresh resting order `n` of 1.
async fn hmac_client_with_order(
    sim: &wintermute_router::binance::sim::BinanceSim,
) -> wintermute_router::binance::client::BinanceRestClient {
    let mut client = hmac_client(sim);
    client.place(&sell("n", "1")).await.unwrap();
    client
}

#[test]
fn an_amend_to_no_more_than_what_executed_ends_the_order_in_the_simulator() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        client.place(&sell("e", "1")).await.unwrap();
        sim.trade_at("BTCUSDT", "58010", "0.6").unwrap();
        let reports = client.amend_keep_priority("BTCUSDT", "e", lots("0.5")).await.unwrap();
        assert_eq!((reports[0].kind.clone(), reports[0].cum_qty), (ReportKind::Expired, Some(lots("0.6"))));
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        client.reconcile("BTCUSDT").await.unwrap();
        let order = client.orders().get("e").unwrap();
        assert!(order.status().is_terminal());
        assert_eq!((order.qty, order.filled_qty(), order.open_qty()), (lots("0.6"), lots("0.6"), 0));
    });
}

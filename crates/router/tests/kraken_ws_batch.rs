//! Kraken WebSocket v2 batches end to end: `batch_add` (the whole batch checked first, then
//! each order placed or refused alone) and `batch_cancel` (one request, the pushed cancels
//! read), through the client and the simulator. The book is the recorded XBT/USD one (best bid
//! 58719.9, best ask 58729.4 x 0.45).

mod common;
mod kraken_common;

use std::time::Duration;

use common::run;
use futures_util::{SinkExt, StreamExt};
use kraken_common::*;
use tokio_tungstenite::tungstenite::Message;
use wintermute_router::kraken::sim::{KrakenSim, KrakenSimConfig};
use wintermute_router::kraken::ws_client::{KrakenWsClient, KrakenWsError};
use wintermute_router::order::TimeInForce;
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};

async fn setup(config: impl FnOnce(&mut KrakenSimConfig)) -> (KrakenSim, KrakenWsClient) {
    let mut sim = sim_with(|c| {
        roomy(c);
        config(c);
    })
    .await;
    let ws_addr = sim.start_ws().await.unwrap();
    let rest = client_with(&sim, ROOMY);
    let ws = KrakenWsClient::with_rest(&format!("ws://{ws_addr}/v2"), None, rest, vec![ws_pair()]).unwrap();
    (sim, ws)
}

fn status(ws: &KrakenWsClient, id: &str) -> OrderStatus {
    ws.orders().get(id).unwrap().status()
}

#[test]
fn a_batch_of_three_orders_is_placed_in_one_request_and_its_taker_fills() {
    run(async {
        let (sim, mut ws) = setup(|_| {}).await;
        let batch = [
            order("b-1", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc)),
            order("b-2", Side::Sell, "0.2", post_only("58800")),
            order("b-3", Side::Buy, "0.3", limit("58729.4", TimeInForce::Ioc)),
        ];
        let reports = ws.batch_add(&batch).await.unwrap();
        let answers: Vec<_> = reports.iter().take(3).map(|r| (r.client_order_id.as_str(), r.kind.clone())).collect();
        assert_eq!(answers, [("b-1", ReportKind::New), ("b-2", ReportKind::New), ("b-3", ReportKind::New)]);
        assert!(reports[..3].iter().all(|r| r.venue_order_id.as_deref().is_some_and(|t| t.starts_with('O'))));
        assert_eq!(sim.open_order_count(), 2);
        for _ in 0..20 {
            if status(&ws, "b-3") == OrderStatus::Filled {
                break;
            }
            ws.next_reports(Duration::from_millis(200)).await.unwrap();
        }
        assert_eq!(ws.orders().get("b-3").unwrap().filled_qty(), lots("0.3"));
        assert_eq!((status(&ws, "b-1"), status(&ws, "b-2")), (OrderStatus::New, OrderStatus::New));
    });
}

#[test]
fn one_order_failing_its_checks_refuses_the_whole_batch() {
    run(async {
        let (sim, mut ws) = setup(|_| {}).await;
        let batch = [
            order("v-1", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc)),
            order("v-2", Side::Buy, "0.00001", limit("58000", TimeInForce::Gtc)), // under ordermin
        ];
        let reports = ws.batch_add(&batch).await.unwrap();
        for r in &reports[..2] {
            assert!(
                matches!(&r.kind, ReportKind::Rejected { reason, .. } if reason == "EOrder:Order minimum not met"),
                "{r:?}"
            );
        }
        assert_eq!((status(&ws, "v-1"), status(&ws, "v-2")), (OrderStatus::Rejected, OrderStatus::Rejected));
        assert_eq!(sim.open_order_count(), 0, "nothing placed");
    });
}

#[test]
fn an_order_the_account_cannot_pay_for_is_refused_alone_and_the_rest_placed() {
    run(async {
        let (sim, mut ws) = setup(|c| funded(c, &[("ZUSD", "1000")])).await;
        let batch = [
            order("f-1", Side::Buy, "0.01", limit("58000", TimeInForce::Gtc)), // 580 USD + fee
            order("f-2", Side::Buy, "0.01", limit("57000", TimeInForce::Gtc)), // 570 more: too much
        ];
        let reports = ws.batch_add(&batch).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::New);
        assert!(
            matches!(&reports[1].kind, ReportKind::Rejected { reason, .. } if reason == "EOrder:Insufficient funds"),
            "{reports:?}"
        );
        assert_eq!(sim.open_order_count(), 1);
    });
}

#[test]
fn a_batch_the_client_cannot_send_is_refused_before_sending() {
    run(async {
        let (sim, mut ws) = setup(|_| {}).await;
        let one = [order("x-1", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc))];
        assert!(matches!(ws.batch_add(&one).await, Err(KrakenWsError::Unsupported(_))));
        let twice = [
            order("x-2", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc)),
            order("x-2", Side::Buy, "0.1", limit("57000", TimeInForce::Gtc)),
        ];
        assert!(matches!(ws.batch_add(&twice).await, Err(KrakenWsError::Unsupported(_))));
        let fok = [
            order("x-3", Side::Buy, "0.1", limit("58000", TimeInForce::Fok)),
            order("x-4", Side::Buy, "0.1", limit("57000", TimeInForce::Gtc)),
        ];
        assert!(matches!(ws.batch_add(&fok).await, Err(KrakenWsError::Unsupported(_))));
        assert!(ws.orders().iter().next().is_none(), "nothing tracked");
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn a_batch_cancel_cancels_the_named_orders_still_open_and_counts_only_those() {
    run(async {
        let (sim, mut ws) = setup(|_| {}).await;
        let batch: Vec<_> = (1..=4)
            .map(|i| order(&format!("c-{i}"), Side::Buy, "0.1", limit(&format!("5800{i}"), TimeInForce::Gtc)))
            .collect();
        ws.batch_add(&batch).await.unwrap();
        ws.cancel("c-4").await.unwrap();
        ws.next_reports(Duration::from_millis(500)).await.unwrap(); // its pushed cancel
        let named: Vec<String> = ["c-1", "c-2", "c-4"].iter().map(|s| (*s).to_owned()).collect();
        let (count, reports) = ws.batch_cancel(&named).await.unwrap();
        assert_eq!(count, 2);
        assert_eq!((status(&ws, "c-1"), status(&ws, "c-2")), (OrderStatus::Canceled, OrderStatus::Canceled));
        assert_eq!(status(&ws, "c-3"), OrderStatus::New, "not named");
        assert_eq!(status(&ws, "c-4"), OrderStatus::Canceled, "already canceled before");
        let canceled: Vec<&str> =
            reports.iter().filter(|r| r.kind == ReportKind::Canceled).map(|r| r.client_order_id.as_str()).collect();
        assert_eq!(canceled, ["c-1", "c-2"], "{reports:?}");
        assert_eq!(sim.open_order_count(), 1);
        let one = vec!["c-3".to_owned()];
        assert!(matches!(ws.batch_cancel(&one).await, Err(KrakenWsError::Unsupported(_))));
    });
}

#[test]
fn the_simulator_checks_batches_as_kraken_documents_them() {
    run(async {
        let mut sim = sim_with(roomy).await;
        let ws_addr = sim.start_ws().await.unwrap();
        let token = client_with(&sim, ROOMY).websockets_token().await.unwrap();
        let (mut raw, _) = tokio_tungstenite::connect_async(format!("ws://{ws_addr}/v2")).await.unwrap();
        let entry = r#"{"order_type":"limit","side":"buy","order_qty":0.1,"limit_price":58000.0}"#;
        let cases = [
            ("batch_add", format!(r#""symbol":"BTC/USD","orders":[{entry}]"#), "EGeneral:Invalid arguments:orders"),
            (
                "batch_add",
                format!(r#""symbol":"BTC/USD","orders":[{}]"#, vec![entry; 16].join(",")),
                "EGeneral:Invalid arguments:orders",
            ),
            ("batch_add", format!(r#""orders":[{entry},{entry}]"#), "EGeneral:Invalid arguments:symbol"),
            (
                "batch_add",
                format!(
                    r#""symbol":"BTC/USD","orders":[{entry},{{"order_type":"limit","side":"buy","order_qty":0.1,"limit_price":58000.0,"symbol":"BTC/USD"}}]"#
                ),
                "EGeneral:Invalid arguments:symbol",
            ),
            (
                "batch_add",
                format!(r#""symbol":"BTC/USD","deadline":"2020-01-01T00:00:00Z","orders":[{entry},{entry}]"#),
                "EGeneral:Invalid arguments:deadline",
            ),
            ("batch_cancel", r#""orders":["OABCDE-FGHIJ-KLMNOP"]"#.to_owned(), "EGeneral:Invalid arguments:orders"),
            ("batch_cancel", r#""cl_ord_id":["a","b"]"#.to_owned(), "EGeneral:Invalid arguments:orders"),
            ("batch_cancel", r#""orders":[],"cl_ord_id":["a","b"],"x":1"#.to_owned(), "EGeneral:Invalid arguments:x"),
        ];
        for (req_id, (method, params, error)) in cases.iter().enumerate() {
            let request =
                format!(r#"{{"method":"{method}","params":{{{params},"token":"{token}"}},"req_id":{req_id}}}"#);
            raw.send(Message::text(request)).await.unwrap();
            let answer = loop {
                let Some(Ok(Message::Text(text))) = raw.next().await else { panic!("an answer") };
                let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                if v["req_id"] == req_id {
                    break v;
                }
            };
            assert_eq!(answer["error"].as_str(), Some(*error), "{method} {params}: {answer}");
        }
        assert_eq!(sim.open_order_count(), 0);
        // Two orders, validated only: checked, nothing placed.
        let validate = format!(
            r#"{{"method":"batch_add","params":{{"symbol":"BTC/USD","validate":true,"orders":[{entry},{entry}],"token":"{token}"}},"req_id":99}}"#
        );
        raw.send(Message::text(validate)).await.unwrap();
        let answer = loop {
            let Some(Ok(Message::Text(text))) = raw.next().await else { panic!("an answer") };
            let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            if v["req_id"] == 99 {
                break v;
            }
        };
        assert_eq!(answer["success"].as_bool(), Some(true), "{answer}");
        assert_eq!(answer["result"].as_array().map(Vec::len), Some(2));
        assert_eq!(sim.open_order_count(), 0);
    });
}

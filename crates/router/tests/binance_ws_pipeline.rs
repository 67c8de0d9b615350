//! Pipelined requests of the Binance WebSocket API client (`place_batch`): several `order.place`
//! requests in flight at once on one connection, each answer matched to its request by `id`.

mod common;

use common::*;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use wintermute_router::binance::client::{BinanceOrderType, TimeInForce};
use wintermute_router::order_state::{ReportKind, Side};

/// A WebSocket API stand-in that reads `n` requests before it answers any, then answers them
/// in reverse order (the third one refused): a client that waited for each answer before
/// sending the next request would never be answered.
async fn answers_after_all_arrive(n: usize) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        let mut requests = Vec::new();
        while requests.len() < n {
            if let Some(Ok(Message::Text(text))) = ws.next().await {
                let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
                requests
                    .push((v["id"].as_u64().unwrap(), v["params"]["newClientOrderId"].as_str().unwrap().to_owned()));
            }
        }
        for (i, (id, client)) in requests.iter().enumerate().rev() {
            let answer = if i == 2 {
                serde_json::json!({"id": id, "status": 400,
                    "error": {"code": -2010, "msg": "Order would immediately match and take."}})
            } else {
                serde_json::json!({"id": id, "status": 200, "result": {
                    "symbol": "BTCUSDT", "orderId": 100 + i, "orderListId": -1, "clientOrderId": client,
                    "transactTime": 1, "price": "58010.00", "origQty": "0.100000", "executedQty": "0.000000",
                    "cummulativeQuoteQty": "0", "status": "NEW", "timeInForce": "GTC", "type": "LIMIT",
                    "side": "SELL", "fills": []}})
            };
            ws.send(Message::text(answer.to_string())).await.unwrap();
        }
        // Keep the connection open until the client is done.
        while ws.next().await.is_some() {}
    });
    addr
}

fn sells(n: usize) -> Vec<wintermute_router::order::NewOrder> {
    (0..n).map(|i| order(&format!("p-{i}"), Side::Sell, "0.1", limit("58010", TimeInForce::Gtc))).collect()
}

#[test]
fn five_requests_are_in_flight_at_once_and_each_answer_finds_its_order_by_id() {
    run(async {
        let addr = answers_after_all_arrive(5).await;
        let signer = wintermute_router::signing::BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec());
        let mut ws = wintermute_router::binance::ws_client::BinanceWsClient::new(
            &format!("ws://{addr}/ws-api/v3"),
            HMAC_KEY,
            signer,
            vec![instrument()],
        );
        ws.set_answer_timeout(std::time::Duration::from_secs(5));
        let outcomes = ws.place_batch(&sells(5)).await;
        assert_eq!(outcomes.len(), 5);
        for (i, outcome) in outcomes.iter().enumerate() {
            let reports = outcome.as_ref().unwrap();
            assert_eq!(reports[0].client_order_id, format!("p-{i}"));
            if i == 2 {
                assert!(matches!(&reports[0].kind, ReportKind::Rejected { code: Some(-2010), .. }), "{reports:?}");
            } else {
                assert_eq!(
                    (&reports[0].kind, reports[0].venue_order_id.clone()),
                    (&ReportKind::New, Some(format!("{}", 100 + i)))
                );
            }
        }
        assert_eq!(ws.stats().stray_answers, 0);
    });
}

#[test]
fn a_batch_against_the_simulator_places_each_order_as_place_would() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_hmac_client(&sim);
        let mut orders = sells(3);
        orders.push(order("crossing", Side::Buy, "0.1", BinanceOrderType::PostOnly { price: ticks("58002") }));
        orders.push(order("unknown", Side::Buy, "0.1", limit("58002", TimeInForce::Gtc)));
        orders[4].symbol = "ETHUSDT".into();
        let outcomes = ws.place_batch(&orders).await;
        for outcome in &outcomes[..3] {
            assert_eq!(outcome.as_ref().unwrap()[0].kind, ReportKind::New);
        }
        let crossing = outcomes[3].as_ref().unwrap();
        assert!(matches!(&crossing[0].kind, ReportKind::Rejected { code: Some(-2010), .. }), "{crossing:?}");
        assert!(outcomes[4].is_err(), "an instrument the client does not know is refused before sending");
        assert_eq!(sim.open_order_count("BTCUSDT"), 3);
        // The table and the venue agree.
        ws.reconcile("BTCUSDT").await.unwrap();
        assert_eq!(ws.orders().iter().filter(|o| o.open_qty() > 0).count(), 3);
    });
}

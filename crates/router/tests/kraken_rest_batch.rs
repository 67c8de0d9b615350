//! Kraken's REST batches end to end over 127.0.0.1: `AddOrderBatch` and `CancelOrderBatch`
//! through the real client against the simulator (the recorded XBT/USD book: best bid 58719.9,
//! best ask 58729.4), and crafted JSON requests the simulator checks as Kraken documents them.

mod common;
mod kraken_common;

use std::time::Duration;

use bytes::Bytes;
use common::run;
use http_body_util::Full;
use hyper::Request;
use kraken_common::*;
use serde_json::{json, Value};
use wintermute_router::http::HttpConnection;
use wintermute_router::kraken::client::{add_order_batch_body, KrakenClientError};
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::order::{NewOrder, OrderType, TimeInForce};
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};
use wintermute_router::signing::KrakenSigner;

/// POSTs a JSON `body` (whose `nonce` member is `nonce`) signed with `secret`.
async fn post_json(sim: &KrakenSim, method: &str, secret: &str, nonce: u64, body: &str) -> Value {
    let path = format!("/0/private/{method}");
    let sign = KrakenSigner::new(secret).unwrap().api_sign(&path, &nonce.to_string(), body);
    let request = Request::builder()
        .method("POST")
        .uri(&path)
        .header("host", sim.addr().to_string())
        .header("api-key", KEY)
        .header("api-sign", sign)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let answer = HttpConnection::new(sim.addr()).send(request).await.unwrap();
    serde_json::from_slice(&answer.body).unwrap()
}

fn errors(answer: &Value) -> Vec<String> {
    answer["error"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_owned()).collect()
}

fn kinds(reports: &[wintermute_router::order_state::ExecutionReport], id: &str) -> Vec<ReportKind> {
    reports.iter().filter(|r| r.client_order_id == id).map(|r| r.kind.clone()).collect()
}

#[test]
fn a_batch_places_every_order_and_a_funds_refusal_rejects_that_order_alone() {
    run(async {
        let sim = sim_with(|cfg| {
            roomy(cfg);
            funded(cfg, &[("ZUSD", "1000"), ("XXBT", "0.01")]);
        })
        .await;
        let mut client = client_with(&sim, ROOMY);
        let batch = [
            order("b-1", Side::Buy, "0.01", post_only("58700")),
            // 587.0 + fee after b-1 holds 588.5262 of the 1000 USD: not enough.
            order("b-2", Side::Buy, "0.01", post_only("58700")),
            order("b-3", Side::Sell, "0.001", OrderType::Market),
        ];
        let reports = client.place_batch(&batch, Some(Duration::from_secs(5))).await.unwrap();
        assert_eq!(kinds(&reports, "b-1"), [ReportKind::New]);
        assert_eq!(
            kinds(&reports, "b-2"),
            [ReportKind::Rejected { code: None, reason: "EOrder:Insufficient funds".into() }]
        );
        assert_eq!(client.orders().get("b-1").unwrap().status(), OrderStatus::New);
        assert_eq!(client.orders().get("b-2").unwrap().status(), OrderStatus::Rejected);
        let sold = client.orders().get("b-3").unwrap();
        assert_eq!((sold.status(), sold.filled_qty()), (OrderStatus::Filled, lots("0.001")), "{reports:?}");
        assert_eq!(sim.open_order_count(), 1);
        assert_eq!(sim.open_order_qty("b-1"), Some(lots("0.01")));
    });
}

#[test]
fn an_order_that_fails_validation_refuses_the_whole_batch_and_nothing_rests() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let batch = [
            order("v-1", Side::Buy, "0.01", post_only("58700")),
            // Under the pair's ordermin (0.0001).
            order("v-2", Side::Buy, "0.00001", post_only("58700")),
        ];
        let reports = client.place_batch(&batch, None).await.unwrap();
        let refused = ReportKind::Rejected { code: None, reason: "EOrder:Order minimum not met".into() };
        assert_eq!(kinds(&reports, "v-1"), std::slice::from_ref(&refused));
        assert_eq!(kinds(&reports, "v-2"), [refused]);
        assert_eq!(sim.open_order_count(), 0);
        // validate: checked by the venue, nothing placed, nothing in the table.
        let fine =
            [order("w-1", Side::Buy, "0.01", post_only("58700")), order("w-2", Side::Sell, "0.01", post_only("58800"))];
        client.validate_batch(&fine).await.unwrap();
        let renamed = batch.map(|mut o| {
            o.client_order_id.insert(0, 'x');
            o
        });
        let err = client.validate_batch(&renamed).await;
        assert!(
            matches!(&err, Err(KrakenClientError::Venue { errors, .. }) if errors == &["EOrder:Order minimum not met"]),
            "{err:?}"
        );
        assert_eq!(sim.open_order_count(), 0);
        assert!(client.orders().get("w-1").is_none());
    });
}

#[test]
fn the_client_refuses_a_batch_kraken_would_not_take_before_sending_anything() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let one = |i: usize| order(&format!("c-{i}"), Side::Buy, "0.01", post_only("58700"));
        let cases: Vec<(Vec<NewOrder>, Option<Duration>)> = vec![
            (vec![one(0)], None),
            ((0..16).map(one).collect(), None),
            (vec![one(0), one(0)], None),
            (vec![one(0), NewOrder { symbol: "ETHUSD".into(), ..one(1) }], None),
            (vec![one(0), one(1)], Some(Duration::from_secs(61))),
            (vec![one(0), one(1)], Some(Duration::from_millis(100))),
            (vec![one(0), order("c-9", Side::Buy, "0.01", limit("58700", TimeInForce::Fok))], None),
        ];
        for (batch, deadline) in cases {
            let err = client.place_batch(&batch, deadline).await.unwrap_err();
            assert!(matches!(err, KrakenClientError::Unsupported(_)), "{err}");
        }
        assert_eq!(sim.last_nonce(KEY), 0, "nothing was sent");
        assert!(client.orders().get("c-0").is_none());
    });
}

#[test]
fn a_batch_cancel_cancels_the_named_orders_and_reports_their_final_states() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let batch: Vec<NewOrder> =
            (0..3).map(|i| order(&format!("k-{i}"), Side::Buy, "0.01", post_only("58700"))).collect();
        client.place_batch(&batch, None).await.unwrap();
        assert_eq!(sim.open_order_count(), 3);
        let done = client.cancel_batch("XBTUSD", &["k-0", "k-2", "never-placed"]).await.unwrap();
        assert_eq!(done.count, 2);
        assert_eq!(kinds(&done.reports, "k-0"), [ReportKind::Canceled]);
        assert_eq!(kinds(&done.reports, "k-2"), [ReportKind::Canceled]);
        assert_eq!(client.orders().get("k-0").unwrap().status(), OrderStatus::Canceled);
        assert_eq!(client.orders().get("k-1").unwrap().status(), OrderStatus::New);
        assert_eq!(sim.open_order_count(), 1);
        let err = client.cancel_batch("XBTUSD", &[]).await.unwrap_err();
        assert!(matches!(err, KrakenClientError::Unsupported(_)));
    });
}

#[test]
fn the_batch_body_is_json_with_the_nonce_first_and_is_signed_as_sent() {
    let batch = [
        order("j-1", Side::Buy, "1.25", limit("37500", TimeInForce::Gtc)),
        order("j-2", Side::Sell, "0.5", post_only("38000.5")),
    ];
    let body = add_order_batch_body(&batch, &pair(), 1_616_492_376_594, None, false);
    assert_eq!(
        body,
        concat!(
            r#"{"nonce":1616492376594,"orders":["#,
            r#"{"cl_ord_id":"j-1","ordertype":"limit","price":"37500.0","type":"buy","volume":"1.25000000"},"#,
            r#"{"cl_ord_id":"j-2","oflags":"post","ordertype":"limit","price":"38000.5","type":"sell","volume":"0.50000000"}"#,
            r#"],"pair":"XBTUSD"}"#
        )
    );
    let signer = KrakenSigner::new(SECRET).unwrap();
    let sign = signer.api_sign("/0/private/AddOrderBatch", "1616492376594", &body);
    assert!(signer.verify("/0/private/AddOrderBatch", "1616492376594", &body, &sign));
    assert!(!signer.verify("/0/private/AddOrderBatch", "1616492376594", &body.replace("1.25", "1.26"), &sign));
}

#[test]
fn the_simulator_checks_a_json_batch_as_kraken_documents_it() {
    run(async {
        let sim = sim_with(roomy).await;
        let o = json!({ "ordertype": "limit", "type": "buy", "volume": "0.01", "price": "58700", "oflags": "post" });
        let body = |nonce: u64, extra: Value| {
            let mut b = json!({ "nonce": nonce, "pair": "XBTUSD", "orders": [o, o] });
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            b.to_string()
        };
        // Signed with another secret, or signed over another body.
        let wrong = post_json(&sim, "AddOrderBatch", OTHER_SECRET, 10, &body(10, json!({}))).await;
        assert_eq!(errors(&wrong), ["EAPI:Invalid signature"]);
        let late = (wintermute_router::order::local_ms() + 100).to_string();
        let deadline = wintermute_router::time::format_rfc3339_ms(late.parse().unwrap());
        let cases = [
            (json!({ "deadline": deadline }), "EGeneral:Invalid arguments:deadline"),
            (json!({ "orders": [o] }), "EGeneral:Invalid arguments:orders"),
            (json!({ "orders": vec![o.clone(); 16] }), "EGeneral:Invalid arguments:orders"),
            (json!({ "orders": [o, { "pair": "XBTUSD", "type": "buy" }] }), "EGeneral:Invalid arguments:pair"),
            (json!({ "pair": "NOPE" }), "EQuery:Unknown asset pair"),
            (json!({ "validate": "maybe" }), "EGeneral:Invalid arguments:validate"),
        ];
        for (i, (extra, error)) in cases.into_iter().enumerate() {
            let nonce = 20 + i as u64;
            let answer = post_json(&sim, "AddOrderBatch", SECRET, nonce, &body(nonce, extra)).await;
            assert_eq!(errors(&answer), [error]);
        }
        // A reused nonce.
        let reused = post_json(&sim, "AddOrderBatch", SECRET, 20, &body(20, json!({}))).await;
        assert_eq!(errors(&reused), ["EAPI:Invalid nonce"]);
        assert_eq!(sim.open_order_count(), 0);
        let placed = post_json(&sim, "AddOrderBatch", SECRET, 40, &body(40, json!({}))).await;
        let entries = placed["result"]["orders"].as_array().unwrap();
        assert!(entries.iter().all(|e| e["txid"].as_str().is_some_and(|t| t.starts_with('O'))), "{placed}");
        assert_eq!(sim.open_order_count(), 2);
        let ids: Vec<Value> = entries.iter().map(|e| e["txid"].clone()).collect();
        let canceled =
            post_json(&sim, "CancelOrderBatch", SECRET, 41, &json!({ "nonce": 41, "orders": ids }).to_string()).await;
        assert_eq!(canceled["result"]["count"], 2, "{canceled}");
        let too_many: Vec<String> = (0..51).map(|i| format!("x{i}")).collect();
        let refused = post_json(
            &sim,
            "CancelOrderBatch",
            SECRET,
            42,
            &json!({ "nonce": 42, "cl_ord_ids": too_many }).to_string(),
        )
        .await;
        assert_eq!(errors(&refused), ["EGeneral:Invalid arguments:orders"]);
    });
}

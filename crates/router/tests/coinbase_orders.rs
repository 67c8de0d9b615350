//! Coinbase Advanced Trade end to end over 127.0.0.1, through the real client, against the
//! simulator trading the recorded BAND-GBP book (asks 14.8024 x 12.77, 14.8069 x 12.49, ...;
//! bids 14.7693 x 27.51, 14.7659 x 12.48, ...).

mod coinbase_common;
mod common;
mod execution_common;

use bytes::Bytes;
use coinbase_common::*;
use common::run;
use execution_common::{adapter, events_until, new_order};
use http_body_util::Full;
use hyper::Request;
use wintermute_router::coinbase::client::{CoinbaseClientError, CoinbaseRestClient};
use wintermute_router::coinbase::sim::CoinbaseSim;
use wintermute_router::http::HttpConnection;
use wintermute_router::order::{OrderType, TimeInForce};
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};
use wintermute_router::signing::CoinbaseJwtSigner;

/// The fills the client holds and the trades the venue made, each as sorted (client id, lots).
type Executions = Vec<(String, i64)>;

fn fills_and_trades(client: &CoinbaseRestClient, sim: &CoinbaseSim) -> (Executions, Executions) {
    let mut fills: Vec<_> =
        client.orders().iter().flat_map(|o| o.fills().map(move |f| (o.client_order_id.clone(), f.qty))).collect();
    let mut trades: Vec<_> = sim.trades().into_iter().map(|(_, c, q)| (c, q)).collect();
    fills.sort();
    trades.sort();
    (fills, trades)
}

#[test]
fn limit_market_ioc_and_fok_orders_trade_against_the_recorded_book() {
    run(async {
        let (sim, mut client) = sim_and_client(&pkcs8(), |_| {}).await;
        let reports = client.place(&order("lim-1", Side::Buy, "30", limit("14.8069", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::New);
        let lim = client.orders().get("lim-1").unwrap();
        assert_eq!((lim.status(), lim.filled_qty()), (OrderStatus::PartiallyFilled, lots("25.26")));
        assert!(lim.fills().all(|f| !f.is_maker && f.fee_currency == "GBP"));
        client.place(&order("mkt-1", Side::Sell, "1", OrderType::Market)).await.unwrap();
        let mkt = client.orders().get("mkt-1").unwrap();
        assert_eq!((mkt.status(), mkt.fills().next().map(|f| f.price)), (OrderStatus::Filled, Some(ticks("14.7693"))));
        client.place(&order("ioc-1", Side::Sell, "50", limit("14.7659", TimeInForce::Ioc))).await.unwrap();
        let ioc = client.orders().get("ioc-1").unwrap();
        assert_eq!((ioc.status(), ioc.filled_qty()), (OrderStatus::Expired, lots("26.51") + lots("12.48")));
        client.place(&order("fok-1", Side::Buy, "1000", limit("14.8095", TimeInForce::Fok))).await.unwrap();
        let fok = client.orders().get("fok-1").unwrap();
        assert_eq!((fok.status(), fok.filled_qty()), (OrderStatus::Expired, 0));
        assert_eq!(sim.open_order_count(), 1);
        let (fills, trades) = fills_and_trades(&client, &sim);
        assert_eq!(fills, trades);
    });
}

#[test]
fn post_only_rests_or_is_rejected_and_a_resting_order_fills_as_maker_then_cancels() {
    run(async {
        let (sim, mut client) = sim_and_client(&pkcs8(), |_| {}).await;
        let crossed =
            client.place(&order("p-1", Side::Buy, "1", OrderType::PostOnly { price: ticks("14.8024") })).await.unwrap();
        assert!(
            matches!(&crossed[0].kind, ReportKind::Rejected { reason, .. } if reason.starts_with("INVALID_LIMIT_PRICE_POST_ONLY")),
            "{crossed:?}"
        );
        client.place(&order("p-2", Side::Buy, "2", OrderType::PostOnly { price: ticks("14.7000") })).await.unwrap();
        sim.trade_at("BAND-GBP", "14.6999", "0.5").unwrap();
        client.reconcile_all().await.unwrap();
        let p2 = client.orders().get("p-2").unwrap();
        assert_eq!((p2.status(), p2.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.5")));
        assert!(p2.fills().all(|f| f.is_maker));
        let reports = client.cancel("BAND-GBP", "p-2").await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::Canceled);
        assert_eq!(client.orders().get("p-2").unwrap().status(), OrderStatus::Canceled);
        let again = client.cancel("BAND-GBP", "p-2").await.unwrap();
        assert_eq!(again[0].kind, ReportKind::CancelRejected { code: None, reason: "UNKNOWN_CANCEL_ORDER".into() });
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn a_token_from_another_key_for_another_path_or_expired_is_refused_401() {
    run(async {
        let (sim, _) = sim_and_client(&pkcs8(), |_| {}).await;
        // A key the venue does not know, under the registered key's name.
        let stranger_signer = CoinbaseJwtSigner::new(KEY_NAME, &pkcs8()).unwrap();
        let mut stranger = CoinbaseRestClient::new(sim.addr(), HOST, stranger_signer, vec![product()]);
        let refused = stranger.place(&order("s-1", Side::Buy, "1", OrderType::Market)).await.unwrap();
        assert!(
            matches!(&refused[0].kind, ReportKind::Rejected { code: Some(401), reason } if reason.starts_with("UNAUTHENTICATED")),
            "{refused:?}"
        );
        // A valid token for another path, and an expired one, sent by hand.
        let key = pkcs8();
        let (sim, _) = sim_and_client(&key, |_| {}).await;
        let signer = CoinbaseJwtSigner::new(KEY_NAME, &key).unwrap();
        let now = wintermute_router::order::local_ms() / 1000;
        for token in [
            signer.token("GET", HOST, "/api/v3/brokerage/orders/historical/batch", now),
            signer.token("POST", HOST, "/api/v3/brokerage/orders", now - 600),
        ] {
            let request = Request::builder()
                .method("POST")
                .uri("/api/v3/brokerage/orders")
                .header("host", "x")
                .header("authorization", format!("Bearer {token}"))
                .body(Full::new(Bytes::from_static(b"{}")))
                .unwrap();
            let answer = HttpConnection::new(sim.addr()).send(request).await.unwrap();
            assert_eq!(answer.status, 401);
        }
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn the_request_rate_is_enforced_locally_and_the_venues_429_comes_back_rate_limited() {
    run(async {
        let (_sim, mut client) = sim_and_client(&pkcs8(), |c| c.requests_per_s = 3).await;
        client.set_requests_per_s(100); // believes it has more room than it has
        let mut venue = None;
        for _ in 0..20 {
            if let Err(err) = client.kill_switch().await {
                venue = Some(err);
                break;
            }
        }
        assert!(matches!(venue, Some(CoinbaseClientError::RateLimited { local: false, .. })), "{venue:?}");
        let (_sim, mut client) = sim_and_client(&pkcs8(), |c| c.requests_per_s = 1000).await;
        client.set_requests_per_s(2);
        let mut local = None;
        for _ in 0..20 {
            if let Err(err) = client.kill_switch().await {
                local = Some(err);
                break;
            }
        }
        assert!(matches!(local, Some(CoinbaseClientError::RateLimited { local: true, .. })), "{local:?}");
    });
}

#[test]
fn a_dropped_answer_is_reconciled_with_every_fill_once_and_a_retry_creates_nothing() {
    run(async {
        let (sim, mut client) = sim_and_client(&pkcs8(), |_| {}).await;
        client.place(&order("rest-1", Side::Sell, "3", limit("14.9000", TimeInForce::Gtc))).await.unwrap();
        sim.lose_next_responses(1);
        let lost = client.place(&order("ioc-1", Side::Buy, "20", limit("14.8069", TimeInForce::Ioc))).await;
        assert!(matches!(lost, Err(CoinbaseClientError::Transport { .. })), "{lost:?}");
        sim.trade_at("BAND-GBP", "14.9001", "1.25").unwrap();
        sim.lose_next_responses(1);
        assert!(client
            .place(&order("post-9", Side::Buy, "1", OrderType::PostOnly { price: ticks("14.0") }))
            .await
            .is_err());
        client.reconcile_all().await.unwrap();
        let (fills, trades) = fills_and_trades(&client, &sim);
        assert_eq!(fills, trades, "nothing lost, nothing doubled");
        assert_eq!(client.orders().get("ioc-1").unwrap().filled_qty(), lots("20"));
        assert_eq!(client.orders().get("ioc-1").unwrap().status(), OrderStatus::Filled);
        assert_eq!(client.orders().get("rest-1").unwrap().filled_qty(), lots("1.25"));
        assert_eq!(client.orders().get("post-9").unwrap().status(), OrderStatus::New);
        let again = client.reconcile_all().await.unwrap();
        assert_eq!((again.new_fills, again.status_changes), (0, 0));
        // Sending the lost order again creates nothing: Coinbase returns the first.
        let retried =
            client.place(&order("post-9", Side::Buy, "1", OrderType::PostOnly { price: ticks("14.0") })).await;
        assert!(matches!(retried, Err(CoinbaseClientError::DuplicateClientId(_))), "known: refused locally");
        sim.lose_next_responses(1);
        assert!(client
            .place(&order("twice", Side::Buy, "1", OrderType::PostOnly { price: ticks("14.0") }))
            .await
            .is_err());
        let retried =
            client.place(&order("twice", Side::Buy, "1", OrderType::PostOnly { price: ticks("14.0") })).await.unwrap();
        assert_eq!(retried[0].kind, ReportKind::New, "a lost request retried: the venue returns the first");
        assert_eq!(sim.open_order_count(), 3, "rest-1, post-9 and one `twice`");
        assert_eq!(fills_and_trades(&client, &sim), (trades.clone(), trades));
    });
}

#[test]
fn the_kill_switch_leaves_no_open_order() {
    run(async {
        let (sim, mut client) = sim_and_client(&pkcs8(), |_| {}).await;
        for i in 0..4 {
            let price = format!("14.{}", 6000 + i);
            client
                .place(&order(&format!("k-{i}"), Side::Buy, "1", OrderType::PostOnly { price: ticks(&price) }))
                .await
                .unwrap();
        }
        client.place(&order("k-s", Side::Sell, "2", limit("14.9000", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("BAND-GBP", "14.9000", "0.5").unwrap();
        assert_eq!(client.kill_switch().await.unwrap(), 5);
        assert_eq!(sim.open_order_count(), 0);
        assert!(client.orders().iter().all(|o| o.status().is_terminal()));
        let ks = client.orders().get("k-s").unwrap();
        assert_eq!((ks.status(), ks.filled_qty()), (OrderStatus::Canceled, lots("0.5")));
    });
}

#[test]
fn the_market_makers_execution_interface_runs_over_the_coinbase_client() {
    use wintermute_mm::execution::{ExecEvent, Execution, OrderTif};
    use wintermute_mm::types::{Liquidity, Side as MmSide};
    run(async {
        let (_sim, mut client) = sim_and_client(&pkcs8(), |c| c.requests_per_s = 10_000).await;
        client.set_requests_per_s(10_000);
        let mut exec = adapter(client, 3, product().instrument, ("BAND", "GBP"));
        exec.submit(0, &new_order(1, MmSide::Buy, ticks("14.8069"), lots("30"), OrderTif::Ioc)).unwrap();
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        let filled: i64 = events
            .iter()
            .filter_map(|e| match e {
                ExecEvent::Filled { fill, .. } if fill.liquidity == Liquidity::Taker => Some(fill.qty),
                _ => None,
            })
            .sum();
        assert_eq!(filled, lots("25.26"), "{events:?}");
        assert!(events
            .iter()
            .any(|e| matches!(e, ExecEvent::Canceled { canceled_qty, .. } if *canceled_qty == lots("4.74"))));
    });
}

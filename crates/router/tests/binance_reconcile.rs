//! Reconciliation, rate limits and the kill switch, end to end over 127.0.0.1.

mod common;

use common::*;
use wintermute_router::binance::client::{BinanceClientError, BinanceOrderType, TimeInForce};
use wintermute_router::order_state::{OrderStatus, Side};

#[test]
fn after_the_connection_drops_mid_fill_reconciliation_recovers_every_fill_exactly_once() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        // A resting sell that others will trade through while we are away.
        client.place(&order("rest-1", Side::Sell, "0.4", limit("58020", TimeInForce::Gtc))).await.unwrap();
        // The venue fills this IOC, then the connection drops before the answer.
        sim.lose_next_responses(1);
        let lost = client.place(&order("ioc-1", Side::Buy, "2.6", limit("58005", TimeInForce::Ioc))).await;
        assert!(matches!(lost, Err(BinanceClientError::Transport { .. })), "{lost:?}");
        assert_eq!(client.orders().get("ioc-1").unwrap().status(), OrderStatus::PendingNew);
        sim.trade_at("BTCUSDT", "58021", "0.15").unwrap();
        // A later order whose fills we do see (higher trade ids than the missed ones).
        client.place(&order("mkt-1", Side::Buy, "0.001", BinanceOrderType::Market)).await.unwrap();
        sim.trade_at("BTCUSDT", "58020", "0.05").unwrap();

        let first = client.reconcile("BTCUSDT").await.unwrap();
        assert_eq!(client_fills(&client), venue_trades(&sim), "nothing lost, nothing doubled");
        assert!(first.new_fills >= 4, "{first:?}");
        let ioc = client.orders().get("ioc-1").unwrap();
        assert_eq!(ioc.status(), OrderStatus::Filled);
        assert_eq!(ioc.filled_qty(), lots("2.6"));
        let rest = client.orders().get("rest-1").unwrap();
        assert_eq!((rest.status(), rest.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.2")));
        assert!(client.orders().iter().all(|o| o.missing_qty() == 0));

        let again = client.reconcile("BTCUSDT").await.unwrap();
        assert_eq!((again.new_fills, again.status_changes), (0, 0), "reconciling twice changes nothing");
        assert_eq!(client_fills(&client), venue_trades(&sim));
    });
}

#[test]
fn a_lost_cancel_answer_is_settled_by_reconciliation() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        client.place(&order("x-1", Side::Buy, "0.01", limit("57000", TimeInForce::Gtc))).await.unwrap();
        sim.lose_next_responses(1);
        assert!(client.cancel("BTCUSDT", "x-1").await.is_err());
        assert_eq!(client.orders().get("x-1").unwrap().status(), OrderStatus::PendingCancel);
        client.reconcile("BTCUSDT").await.unwrap();
        assert_eq!(client.orders().get("x-1").unwrap().status(), OrderStatus::Canceled);
    });
}

#[test]
fn past_the_weight_limit_the_venue_answers_429_and_the_client_waits_out_retry_after() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 10).await;
        let mut client = hmac_client(&sim);
        // Weight 1 a request: the limit is hit within 11 requests (22 if a minute turns over).
        let mut refused = None;
        for _ in 0..40 {
            match client.sync_time().await {
                Ok(_) => continue,
                Err(err) => {
                    refused = Some(err);
                    break;
                }
            }
        }
        match refused {
            Some(BinanceClientError::RateLimited { retry_after_ms, local: false, .. }) => {
                assert!((1..=60_000).contains(&retry_after_ms), "retry_after_ms={retry_after_ms}");
            }
            other => panic!("expected the venue's 429, got {other:?}"),
        }
        let next = client.place(&order("w-1", Side::Buy, "0.01", limit("57000", TimeInForce::Gtc))).await;
        assert!(matches!(next, Err(BinanceClientError::RateLimited { local: true, .. })), "{next:?}");
        assert!(client.orders().get("w-1").is_none(), "an order refused before sending is forgotten");
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
    });
}

#[test]
fn the_client_refuses_locally_a_request_that_would_pass_its_weight_budget() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        client.set_weight_limit_1m(3);
        let mut local_refusal = false;
        for _ in 0..10 {
            match client.sync_time().await {
                Ok(_) => assert!(client.used_weight_1m() <= 3),
                Err(BinanceClientError::RateLimited { local: true, .. }) => {
                    local_refusal = true;
                    break;
                }
                Err(other) => panic!("{other:?}"),
            }
        }
        assert!(local_refusal);
    });
}

#[test]
fn the_kill_switch_leaves_no_open_order_on_the_venue() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        for (i, price) in ["57000", "57100", "57200"].iter().enumerate() {
            client.place(&order(&format!("k-{i}"), Side::Buy, "0.01", limit(price, TimeInForce::Gtc))).await.unwrap();
        }
        client
            .place(&order("k-s", Side::Sell, "0.01", BinanceOrderType::PostOnly { price: ticks("59000") }))
            .await
            .unwrap();
        assert_eq!(sim.open_order_count("BTCUSDT"), 4);
        assert_eq!(client.cancel_all("BTCUSDT").await.unwrap(), 4);
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        assert!(client.orders().iter().all(|o| o.status() == OrderStatus::Canceled));
    });
}

//! Kraken reconciliation, counters and the kill switch, end to end over 127.0.0.1.

mod common;
mod kraken_common;

use std::collections::BTreeMap;

use common::run;
use kraken_common::*;
use wintermute_router::kraken::client::{KrakenClientError, KrakenRestClient};
use wintermute_router::kraken::rate::Tier;
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::order::{OrderType, TimeInForce};
use wintermute_router::order_state::{OrderStatus, Side};

/// Every fill the client holds, by trade id: (client order id, lots).
fn client_fills(client: &KrakenRestClient) -> BTreeMap<u64, (String, i64)> {
    client
        .orders()
        .iter()
        .flat_map(|o| o.fills().map(move |f| (f.trade_id, (o.client_order_id.clone(), f.qty))))
        .collect()
}

/// Every trade the venue made, by trade id.
fn venue_trades(sim: &KrakenSim) -> BTreeMap<u64, (String, i64)> {
    sim.trades().into_iter().map(|(id, client, qty)| (id, (client, qty))).collect()
}

#[test]
fn after_the_connection_drops_mid_fill_reconciliation_recovers_every_fill_exactly_once() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        // A resting sell that others trade through while we are away.
        client.place(&order("rest-1", Side::Sell, "0.4", limit("58740", TimeInForce::Gtc))).await.unwrap();
        // The venue fills this IOC across levels, then the connection drops before the answer:
        // the client never learns its txid.
        sim.lose_next_responses(1);
        let lost = client.place(&order("ioc-1", Side::Buy, "2.6", limit("58735.1", TimeInForce::Ioc))).await;
        assert!(matches!(lost, Err(KrakenClientError::Transport { .. })), "{lost:?}");
        assert_eq!(client.orders().get("ioc-1").unwrap().status(), OrderStatus::PendingNew);
        sim.trade_at("XBTUSD", "58741", "0.15").unwrap();
        // A later order whose fills we do see: fetching them (the trades since the last seen)
        // already brings the lost IOC's and the resting order's.
        client.place(&order("mkt-1", Side::Buy, "0.001", OrderType::Market)).await.unwrap();
        sim.trade_at("XBTUSD", "58740", "0.05").unwrap();
        // And an order that never got an answer and never traded: it rests.
        sim.lose_next_responses(1);
        assert!(client.place(&order("post-9", Side::Buy, "0.01", post_only("58000"))).await.is_err());

        let first = client.reconcile_all().await.unwrap();
        assert_eq!(client_fills(&client), venue_trades(&sim), "nothing lost, nothing doubled");
        assert!(first.new_fills >= 1, "the last maker fill: {first:?}");
        let ioc = client.orders().get("ioc-1").unwrap();
        assert_eq!(ioc.status(), OrderStatus::Expired);
        assert!(ioc.venue_order_id.is_some(), "learned from the trades' order");
        let rest = client.orders().get("rest-1").unwrap();
        assert_eq!((rest.status(), rest.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.2")));
        assert_eq!(client.orders().get("post-9").unwrap().status(), OrderStatus::New);
        assert!(client.orders().iter().all(|o| o.missing_qty() == 0));

        let again = client.reconcile_all().await.unwrap();
        assert_eq!((again.new_fills, again.status_changes), (0, 0), "reconciling twice changes nothing");
        assert_eq!(client_fills(&client), venue_trades(&sim));
    });
}

#[test]
fn more_than_a_page_of_trades_is_reconciled_whole() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        client.place(&order("big", Side::Sell, "1", limit("58800", TimeInForce::Gtc))).await.unwrap();
        for _ in 0..120 {
            sim.trade_at("XBTUSD", "58800", "0.005").unwrap();
        }
        let summary = client.reconcile_all().await.unwrap();
        assert_eq!(summary.new_fills, 120);
        assert_eq!(client_fills(&client), venue_trades(&sim));
        assert_eq!(client.orders().get("big").unwrap().filled_qty(), lots("0.6"));
    });
}

#[test]
fn an_order_lost_before_the_book_is_settled_as_rejected() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        // The venue refuses it (cost minimum) and the answer is lost: it is nowhere.
        sim.lose_next_responses(1);
        assert!(client.place(&order("gone", Side::Buy, "0.0001", limit("1", TimeInForce::Gtc))).await.is_err());
        client.reconcile_all().await.unwrap();
        assert_eq!(client.orders().get("gone").unwrap().status(), OrderStatus::Rejected);
    });
}

#[test]
fn the_kill_switch_cancels_every_open_order_and_leaves_none() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        for i in 0..5 {
            let price = format!("{}", 58_600 + i);
            client.place(&order(&format!("k-{i}"), Side::Buy, "0.01", post_only(&price))).await.unwrap();
        }
        client.place(&order("k-s", Side::Sell, "0.3", limit("58800", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("XBTUSD", "58800", "0.1").unwrap();
        assert_eq!(sim.open_order_count(), 6);
        let count = client.kill_switch().await.unwrap();
        assert_eq!(count, 6);
        assert_eq!(sim.open_order_count(), 0);
        assert!(client.orders().iter().all(|o| o.status().is_terminal()), "the table agrees");
        let sold = client.orders().get("k-s").unwrap();
        assert_eq!((sold.status(), sold.filled_qty()), (OrderStatus::Canceled, lots("0.1")));
        assert_eq!(client_fills(&client), venue_trades(&sim));
    });
}

#[test]
fn the_client_keeps_the_api_counter_and_refuses_locally_before_the_venue_would() {
    run(async {
        let sim = sim_with(|_| {}).await; // Starter: 15 calls, -0.33/s
        let mut client = client(&sim);
        let mut refused = None;
        for i in 0..20 {
            match client.reconcile_all().await {
                Ok(_) => {}
                Err(err) => {
                    refused = Some((i, err));
                    break;
                }
            }
        }
        // Each reconciliation is TradesHistory (+2) and OpenOrders (+1): the sixth needs 18.
        let (i, err) = refused.expect("the counter refused");
        assert_eq!(i, 5);
        assert!(
            matches!(err, KrakenClientError::RateLimited { local: true, retry_after_ms, .. } if retry_after_ms > 0)
        );
    });
}

#[test]
fn past_the_venues_counter_it_answers_rate_limit_exceeded() {
    run(async {
        let sim = sim_with(|_| {}).await; // Starter
        let mut client = client_with(&sim, Tier::PRO); // believes it has more room than it has
        let mut refused = None;
        for _ in 0..20 {
            if let Err(err) = client.reconcile_all().await {
                refused = Some(err);
                break;
            }
        }
        let err = refused.expect("the venue refused");
        assert!(matches!(err, KrakenClientError::RateLimited { local: false, .. }), "{err:?}");
        assert!(client.api_counter_milli() >= 20_000, "the local counter was filled");
    });
}

#[test]
fn the_trading_counter_refuses_fast_cancels_past_the_tiers_threshold() {
    run(async {
        let sim = sim_with(|_| {}).await; // Starter: trading threshold 60, -1/s
        let mut client = client(&sim);
        // Each round: +1 for the order, +8 for canceling it within 5 s: 9 a round.
        let mut refused = None;
        for i in 0..10 {
            let id = format!("t-{i}");
            if let Err(err) = client.place(&order(&id, Side::Buy, "0.01", post_only("58000"))).await {
                refused = Some((i, err));
                break;
            }
            if let Err(err) = client.cancel("XBTUSD", &id).await {
                refused = Some((i, err));
                break;
            }
        }
        let (i, err) = refused.expect("the trading counter refused");
        assert!((5..=7).contains(&i), "{i}");
        assert!(matches!(err, KrakenClientError::RateLimited { local: true, .. }), "{err:?}");
    });
}

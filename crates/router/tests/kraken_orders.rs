//! Every Kraken order type end to end over 127.0.0.1, through the real client, against the
//! simulator trading the recorded XBT/USD book (best bid 58719.9, best ask 58729.4 x 0.45,
//! then 58729.5 x 1.4948).

mod common;
mod kraken_common;

use common::run;
use kraken_common::*;
use wintermute_router::order::{OrderType, TimeInForce};
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};

#[test]
fn a_limit_order_that_crosses_fills_across_two_levels_and_the_rest_rests() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let reports = client.place(&order("lim-1", Side::Buy, "2", limit("58729.5", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::New);
        assert!(reports[0].venue_order_id.as_deref().is_some_and(|t| t.starts_with('O')));
        let fills: Vec<_> = reports
            .iter()
            .filter_map(|r| match &r.kind {
                ReportKind::Trade(f) => Some((f.price, f.qty, f.is_maker, f.fee_currency.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            fills,
            vec![
                (ticks("58729.4"), lots("0.45"), false, "ZUSD".into()),
                (ticks("58729.5"), lots("1.4948"), false, "ZUSD".into()),
            ]
        );
        let state = client.orders().get("lim-1").unwrap();
        assert_eq!((state.status(), state.filled_qty()), (OrderStatus::PartiallyFilled, lots("1.9448")));
        assert_eq!(sim.open_order_count(), 1);
        // The fee: 0.26 % of 0.45 * 58729.4 in USD, exactly.
        let fee = state.fills().find(|f| f.price == ticks("58729.4")).unwrap().fee.to_string();
        assert_eq!(fee, "68.713398");
    });
}

#[test]
fn a_market_order_fills_at_once_and_an_ioc_remainder_expires() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        client.place(&order("mkt-1", Side::Sell, "0.1", OrderType::Market)).await.unwrap();
        let mkt = client.orders().get("mkt-1").unwrap();
        assert_eq!((mkt.status(), mkt.filled_qty()), (OrderStatus::Filled, lots("0.1")));
        // Bids: 58719.9 x 0.03666, 58719.7 x 0.648014 -- the IOC's limit stops at 58719.7.
        let reports = client.place(&order("ioc-1", Side::Sell, "5", limit("58719.7", TimeInForce::Ioc))).await.unwrap();
        assert!(reports.iter().any(|r| r.kind == ReportKind::Expired), "{reports:?}");
        let ioc = client.orders().get("ioc-1").unwrap();
        assert_eq!(ioc.status(), OrderStatus::Expired);
        assert!(ioc.filled_qty() > 0 && ioc.filled_qty() < lots("5"));
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn post_only_rests_when_passive_and_is_rejected_with_krakens_error_when_it_would_cross() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let rested = client.place(&order("post-1", Side::Buy, "0.01", post_only("58700"))).await.unwrap();
        assert_eq!(rested.len(), 1, "a post-only order is not queried for fills: {rested:?}");
        assert_eq!(client.orders().get("post-1").unwrap().status(), OrderStatus::New);
        let crossed = client.place(&order("post-2", Side::Buy, "0.01", post_only("58729.4"))).await.unwrap();
        assert_eq!(crossed[0].kind, ReportKind::Rejected { code: None, reason: "EOrder:Post only order".into() });
        assert_eq!(client.orders().get("post-2").unwrap().status(), OrderStatus::Rejected);
        assert_eq!(sim.open_order_count(), 1);
    });
}

#[test]
fn a_resting_order_fills_partially_then_fully_as_maker_and_cancel_then_reports_unknown() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        client.place(&order("rest-1", Side::Sell, "0.5", limit("58740", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("XBTUSD", "58741", "0.2").unwrap();
        client.reconcile_all().await.unwrap();
        let rest = client.orders().get("rest-1").unwrap();
        assert_eq!((rest.status(), rest.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.2")));
        assert!(rest.fills().all(|f| f.is_maker && f.price == ticks("58740")));
        sim.trade_at("XBTUSD", "58740", "1").unwrap();
        let reports = client.cancel("XBTUSD", "rest-1").await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::CancelRejected { code: None, reason: "EOrder:Unknown order".into() });
        client.reconcile_all().await.unwrap();
        let rest = client.orders().get("rest-1").unwrap();
        assert_eq!((rest.status(), rest.filled_qty()), (OrderStatus::Filled, lots("0.5")));
    });
}

#[test]
fn cancel_of_a_partly_filled_order_keeps_its_fills_and_ends_canceled() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        client.place(&order("c-1", Side::Buy, "0.3", limit("58700", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("XBTUSD", "58699", "0.1").unwrap();
        let reports = client.cancel("XBTUSD", "c-1").await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::Canceled);
        let c = client.orders().get("c-1").unwrap();
        assert_eq!((c.status(), c.filled_qty(), c.missing_qty()), (OrderStatus::Canceled, lots("0.1"), 0));
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn amend_changes_an_open_orders_quantity_and_price_at_the_venue() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        client.place(&order("a-1", Side::Buy, "0.3", post_only("58700"))).await.unwrap();
        let amend_id = client.amend("XBTUSD", "a-1", Some(lots("0.2")), Some(ticks("58701.5"))).await.unwrap();
        assert!(amend_id.starts_with('A'));
        sim.trade_at("XBTUSD", "58701", "1").unwrap();
        client.reconcile_all().await.unwrap();
        let a = client.orders().get("a-1").unwrap();
        assert_eq!((a.status(), a.filled_qty()), (OrderStatus::Filled, lots("0.2")));
        assert!(a.fills().all(|f| f.price == ticks("58701.5")));
    });
}

#[test]
fn local_refusals_send_nothing_and_leave_the_table_untouched() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let fok = client.place(&order("f-1", Side::Buy, "1", limit("58729.4", TimeInForce::Fok))).await;
        assert!(fok.is_err());
        let long_id = client.place(&order("an-id-far-too-long-for-kraken", Side::Buy, "1", OrderType::Market)).await;
        assert!(long_id.unwrap_err().to_string().contains("cl_ord_id"));
        assert!(client.orders().iter().next().is_none());
        assert_eq!(sim.last_nonce(KEY), 0, "nothing reached the venue");
    });
}

#[test]
fn venue_rejections_come_back_with_krakens_own_strings() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let cases = [
            ("tiny", "0.00001", limit("58000", TimeInForce::Gtc), "EOrder:Order minimum not met"),
            ("cheap", "0.0001", limit("1", TimeInForce::Gtc), "EOrder:Cost minimum not met"),
        ];
        for (id, qty, kind, error) in cases {
            let reports = client.place(&order(id, Side::Buy, qty, kind)).await.unwrap();
            assert_eq!(reports[0].kind, ReportKind::Rejected { code: None, reason: error.into() }, "{id}");
        }
        client.place(&order("dup", Side::Buy, "0.01", post_only("58000"))).await.unwrap();
        let dup = client.place(&order("dup", Side::Buy, "0.01", post_only("58000"))).await;
        assert!(dup.unwrap_err().to_string().contains("already used"), "refused locally");
        assert_eq!(client.orders().get("dup").unwrap().status(), OrderStatus::New, "the first is untouched");
    });
}

#[test]
fn the_rest_dead_mans_switch_cancels_every_order_once_its_time_passes_unless_disarmed() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        for (id, price) in [("d-1", "58000"), ("d-2", "57990")] {
            client.place(&order(id, Side::Buy, "0.1", limit(price, TimeInForce::Gtc))).await.unwrap();
        }
        let refused = client.cancel_all_orders_after(86_400).await;
        assert!(
            matches!(&refused, Err(wintermute_router::kraken::client::KrakenClientError::Venue { errors, .. })
                if errors == &["EGeneral:Invalid arguments:timeout"]),
            "{refused:?}"
        );
        client.cancel_all_orders_after(1).await.unwrap();
        assert_eq!(client.cancel_all_orders_after(0).await.unwrap(), "1970-01-01T00:00:00.000Z", "disarmed");
        tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
        assert_eq!(sim.open_order_count(), 2, "a disarmed switch cancels nothing");
        let trigger = client.cancel_all_orders_after(1).await.unwrap();
        assert!(trigger.starts_with("20") && trigger.ends_with('Z'), "{trigger}");
        tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
        assert_eq!(sim.open_order_count(), 0, "not pushed back: every order canceled");
        client.reconcile_all().await.unwrap();
        for id in ["d-1", "d-2"] {
            assert_eq!(client.orders().get(id).unwrap().status(), OrderStatus::Canceled);
        }
    });
}

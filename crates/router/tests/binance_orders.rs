//! End to end over 127.0.0.1: the Binance REST client against the local Binance simulator,
//! trading against the recorded BTCUSDT book (best bid 58001.03, asks 58001.04 x 2.524693,
//! 58001.06 x 0.000532, 58004.92 x 1.185872).

mod common;

use common::*;
use wintermute_router::binance::client::{BinanceOrderType, TimeInForce};
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};

#[test]
fn a_market_buy_walks_the_recorded_asks_at_their_exact_prices() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        let reports = client.place(&order("m-1", Side::Buy, "2.6", BinanceOrderType::Market)).await.unwrap();
        assert_eq!(
            fills(&reports),
            vec![
                (ticks("58001.04"), lots("2.524693")),
                (ticks("58001.06"), lots("0.000532")),
                (ticks("58004.92"), lots("2.6") - lots("2.524693") - lots("0.000532")),
            ]
        );
        let state = client.orders().get("m-1").unwrap();
        assert_eq!(state.status(), OrderStatus::Filled);
        assert_eq!(state.filled_qty(), lots("2.6"));
        let first_fee = state.fills().next().unwrap();
        assert_eq!((first_fee.fee.to_string().as_str(), first_fee.fee_currency.as_str()), ("0.002524693", "BTC"));
        assert!(reports.iter().all(|r| r.exchange_ts_ns > 0 && r.receive_ts_ns >= r.exchange_ts_ns - 1_000_000_000));
    });
}

#[test]
fn an_ioc_takes_what_its_limit_allows_and_the_rest_expires() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        let reports = client.place(&order("i-1", Side::Buy, "3", limit("58001.06", TimeInForce::Ioc))).await.unwrap();
        assert_eq!(fills(&reports).iter().map(|f| f.1).sum::<i64>(), lots("2.524693") + lots("0.000532"));
        let state = client.orders().get("i-1").unwrap();
        assert_eq!(state.status(), OrderStatus::Expired);
        assert_eq!(state.open_qty(), 0);
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
    });
}

#[test]
fn a_fok_that_cannot_fill_entirely_expires_without_a_fill() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        let reports = client.place(&order("f-1", Side::Buy, "3", limit("58001.06", TimeInForce::Fok))).await.unwrap();
        assert!(fills(&reports).is_empty());
        assert_eq!(client.orders().get("f-1").unwrap().status(), OrderStatus::Expired);
        assert!(sim.trades().is_empty());
    });
}

#[test]
fn a_post_only_order_that_would_cross_is_rejected_with_binances_code_and_one_that_does_not_rests() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        let crossing = BinanceOrderType::PostOnly { price: ticks("58001.04") };
        let reports = client.place(&order("p-1", Side::Buy, "0.01", crossing)).await.unwrap();
        assert_eq!(
            reports[0].kind,
            ReportKind::Rejected { code: Some(-2010), reason: "Order would immediately match and take.".into() }
        );
        let state = client.orders().get("p-1").unwrap();
        assert_eq!(state.status(), OrderStatus::Rejected);
        let resting = BinanceOrderType::PostOnly { price: ticks("58001.03") };
        client.place(&order("p-2", Side::Buy, "0.01", resting)).await.unwrap();
        assert_eq!(client.orders().get("p-2").unwrap().status(), OrderStatus::New);
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
    });
}

#[test]
fn a_resting_gtc_order_fills_in_parts_when_others_trade_through_it_and_reconciliation_finds_each_fill() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        client.place(&order("g-1", Side::Sell, "0.5", limit("58010", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(client.orders().get("g-1").unwrap().status(), OrderStatus::New);
        assert_eq!(sim.trade_at("BTCUSDT", "58010.5", "0.2").unwrap(), 1);
        let summary = client.reconcile("BTCUSDT").await.unwrap();
        assert_eq!(summary.new_fills, 1);
        let state = client.orders().get("g-1").unwrap();
        assert_eq!((state.status(), state.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.2")));
        assert!(state.fills().all(|f| f.is_maker && f.price == ticks("58010") && f.fee_currency == "USDT"));
        sim.trade_at("BTCUSDT", "58010", "1").unwrap();
        client.reconcile("BTCUSDT").await.unwrap();
        let state = client.orders().get("g-1").unwrap();
        assert_eq!((state.status(), state.filled_qty()), (OrderStatus::Filled, lots("0.5")));
    });
}

#[test]
fn a_notional_below_the_filter_is_rejected_with_binances_filter_failure() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        let reports =
            client.place(&order("n-1", Side::Buy, "0.00001", limit("50000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(
            reports[0].kind,
            ReportKind::Rejected { code: Some(-1013), reason: "Filter failure: NOTIONAL".into() }
        );
    });
}

#[test]
fn a_reused_open_client_order_id_is_refused_as_a_duplicate_order() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        client.place(&order("d-1", Side::Buy, "0.01", limit("57000", TimeInForce::Gtc))).await.unwrap();
        let mut other = hmac_client(&sim);
        let reports = other.place(&order("d-1", Side::Buy, "0.01", limit("57000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::Rejected { code: Some(-2010), reason: "Duplicate order sent.".into() });
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
    });
}

#[test]
fn an_ed25519_key_trades_end_to_end() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = ed25519_client(&sim);
        let reports = client.place(&order("e-1", Side::Sell, "0.01", BinanceOrderType::Market)).await.unwrap();
        assert_eq!(fills(&reports), vec![(ticks("58001.03"), lots("0.01"))]);
    });
}

#[test]
fn cancel_then_cancel_again_gives_canceled_then_binances_unknown_order() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        client.place(&order("c-1", Side::Buy, "0.01", limit("57000", TimeInForce::Gtc))).await.unwrap();
        let reports = client.cancel("BTCUSDT", "c-1").await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::Canceled);
        assert_eq!(client.orders().get("c-1").unwrap().status(), OrderStatus::Canceled);
        let again = client.cancel("BTCUSDT", "c-1").await.unwrap();
        assert_eq!(
            again[0].kind,
            ReportKind::CancelRejected { code: Some(-2011), reason: "Unknown order sent.".into() }
        );
        assert_eq!(client.orders().get("c-1").unwrap().status(), OrderStatus::Canceled);
    });
}

#[test]
fn a_cancel_that_loses_the_race_to_a_fill_ends_filled_after_reconciliation() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut client = hmac_client(&sim);
        client.place(&order("r-1", Side::Buy, "0.3", limit("57990", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("BTCUSDT", "57980", "0.3").unwrap(); // fills before our cancel arrives
        let reports = client.cancel("BTCUSDT", "r-1").await.unwrap();
        assert!(matches!(reports[0].kind, ReportKind::CancelRejected { code: Some(-2011), .. }));
        client.reconcile("BTCUSDT").await.unwrap();
        let state = client.orders().get("r-1").unwrap();
        assert_eq!((state.status(), state.filled_qty(), state.fills().count()), (OrderStatus::Filled, lots("0.3"), 1));
    });
}

#[test]
fn the_client_tracks_the_server_clock_and_recovers_from_a_stale_timestamp_rejection() {
    run(async {
        let sim = sim_with(|_| {}).await;
        sim.set_clock_skew_ms(20_000);
        let mut client = hmac_client(&sim);
        let reports = client.place(&order("t-1", Side::Buy, "0.01", limit("57000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(
            reports[0].kind,
            ReportKind::Rejected {
                code: Some(-1021),
                reason: "Timestamp for this request is outside of the recvWindow.".into()
            }
        );
        let offset = client.sync_time().await.unwrap();
        assert!((19_000..=21_000).contains(&offset), "offset={offset}");
        client.place(&order("t-2", Side::Buy, "0.01", limit("57000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(client.orders().get("t-2").unwrap().status(), OrderStatus::New);
    });
}

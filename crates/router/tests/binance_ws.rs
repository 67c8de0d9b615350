//! End to end over 127.0.0.1: the Binance WebSocket API client against the local Binance
//! simulator's WebSocket front, on the same exchange as its REST front, trading against the
//! recorded BTCUSDT book (best bid 58001.03, asks 58001.04 x 2.524693, 58001.06 x 0.000532,
//! 58004.92 x 1.185872).

mod common;

use std::time::Duration;

use common::*;
use wintermute_router::binance::client::{BinanceClientError, BinanceOrderType, TimeInForce};
use wintermute_router::binance::ws_client::BinanceWsClient;
use wintermute_router::order_state::{ExecutionReport, OrderStatus, ReportKind, Side};
use wintermute_router::signing::BinanceSigner;

/// Reads user-data events until `enough` says the collected ones suffice (at most 5 s).
async fn events_until(
    client: &mut BinanceWsClient,
    enough: impl Fn(&[ExecutionReport]) -> bool,
) -> Vec<ExecutionReport> {
    let mut got = client.take_events();
    for _ in 0..50 {
        if enough(&got) {
            break;
        }
        client.poll_events(Duration::from_millis(100)).await.unwrap();
        got.extend(client.take_events());
    }
    got
}

#[test]
fn place_cancel_and_cancel_replace_over_the_websocket_api() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_hmac_client(&sim);
        ws.sync_time().await.unwrap();
        let placed = ws.place(&order("w-1", Side::Buy, "0.5", limit("57000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(kinds(&placed), vec![("w-1", &ReportKind::New)]);
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
        let canceled = ws.cancel("BTCUSDT", "w-1").await.unwrap();
        assert_eq!(kinds(&canceled), vec![("w-1", &ReportKind::Canceled)]);
        assert_eq!(ws.orders().get("w-1").unwrap().status(), OrderStatus::Canceled);
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);

        ws.place(&order("w-2", Side::Buy, "0.5", limit("57000", TimeInForce::Gtc))).await.unwrap();
        let next = order("w-3", Side::Buy, "0.7", limit("57100", TimeInForce::Gtc));
        let replaced = ws.cancel_replace("BTCUSDT", "w-2", &next).await.unwrap();
        assert_eq!(kinds(&replaced), vec![("w-2", &ReportKind::Canceled), ("w-3", &ReportKind::New)]);
        assert_eq!(ws.orders().get("w-2").unwrap().status(), OrderStatus::Canceled);
        assert_eq!(ws.orders().get("w-3").unwrap().status(), OrderStatus::New);
        assert!(ws.orders().get("w-3").unwrap().venue_order_id.is_some());
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
        // Five requests of weight 1 (fewer if a minute turned meanwhile).
        assert!((1..=5).contains(&ws.used_weight_1m()), "the answers' rateLimits were read: {}", ws.used_weight_1m());
        assert_eq!(ws.stats().malformed_frames, 0);
    });
}

#[test]
fn every_order_type_trades_at_the_books_exact_prices_with_ed25519_signatures() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_ed25519_client(&sim);
        let market = ws.place(&order("m-1", Side::Buy, "2.6", BinanceOrderType::Market)).await.unwrap();
        assert_eq!(
            fills(&market),
            vec![
                (ticks("58001.04"), lots("2.524693")),
                (ticks("58001.06"), lots("0.000532")),
                (ticks("58004.92"), lots("2.6") - lots("2.524693") - lots("0.000532")),
            ]
        );
        assert_eq!(ws.orders().get("m-1").unwrap().status(), OrderStatus::Filled);

        let ioc = ws.place(&order("i-1", Side::Buy, "3", limit("58004.92", TimeInForce::Ioc))).await.unwrap();
        assert_eq!(fills(&ioc).iter().map(|f| f.1).sum::<i64>(), lots("1.185872") - lots("0.074775"));
        let state = ws.orders().get("i-1").unwrap();
        assert_eq!((state.status(), state.open_qty()), (OrderStatus::Expired, 0));

        let fok = ws.place(&order("f-1", Side::Sell, "5000", limit("1", TimeInForce::Fok))).await.unwrap();
        assert!(fills(&fok).is_empty());
        assert_eq!(ws.orders().get("f-1").unwrap().status(), OrderStatus::Expired);

        let post_only = order("p-1", Side::Sell, "0.1", BinanceOrderType::PostOnly { price: ticks("58001.03") });
        let maker = ws.place(&post_only).await.unwrap();
        assert_eq!(code(&maker[0].kind), Some(-2010), "{maker:?}");
        assert_eq!(ws.orders().get("p-1").unwrap().status(), OrderStatus::Rejected);
        assert_eq!(ws.orders().get("p-1").unwrap().reject_reason(), Some("Order would immediately match and take."));
    });
}

#[test]
fn partial_maker_fills_arrive_on_the_user_stream_and_move_the_order_state() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_ed25519_client(&sim);
        ws.subscribe_user_data().await.unwrap();
        ws.place(&order("g-1", Side::Buy, "1", limit("58000", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("BTCUSDT", "57999", "0.4").unwrap();
        let events = events_until(&mut ws, |e| fills(e).len() == 1).await;
        assert_eq!(fills(&events), vec![(ticks("58000"), lots("0.4"))]);
        let state = ws.orders().get("g-1").unwrap();
        assert_eq!((state.status(), state.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.4")));
        assert!(state.fills().all(|f| f.is_maker));
        sim.trade_at("BTCUSDT", "57990", "5").unwrap();
        let events = events_until(&mut ws, |e| fills(e).len() == 1).await;
        assert_eq!(fills(&events), vec![(ticks("58000"), lots("0.6"))]);
        assert_eq!(ws.orders().get("g-1").unwrap().status(), OrderStatus::Filled);
        assert_eq!(events.last().unwrap().cum_qty, Some(lots("1")));
    });
}

#[test]
fn a_fill_caused_by_a_rest_order_arrives_on_the_websocket_user_stream_for_either_key_type() {
    run(async {
        // Both keys of one account: each user stream carries the account's executions.
        let sim = sim_with(one_account).await;
        let mut by_logon = ws_ed25519_client(&sim);
        let mut by_signature = ws_hmac_client(&sim);
        by_logon.subscribe_user_data().await.unwrap();
        by_signature.subscribe_user_data().await.unwrap();
        let mut rest = hmac_client(&sim);
        rest.place(&order("r-1", Side::Buy, "0.1", BinanceOrderType::Market)).await.unwrap();
        for ws in [&mut by_logon, &mut by_signature] {
            let events = events_until(ws, |e| !fills(e).is_empty()).await;
            assert_eq!(kinds(&events)[0], ("r-1", &ReportKind::New));
            assert_eq!(fills(&events), vec![(ticks("58001.04"), lots("0.1"))]);
            let ReportKind::Trade(fill) = &events[1].kind else { panic!("a fill: {events:?}") };
            assert_eq!((fill.fee.to_string().as_str(), fill.fee_currency.as_str()), ("0.0001", "BTC"));
            assert_eq!(ws.stats().foreign_reports, 2, "the REST client's order is not in this table");
            assert!(ws.orders().get("r-1").is_none());
        }
    });
}

#[test]
fn fills_pushed_before_the_acknowledgment_count_once() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_hmac_client(&sim);
        ws.subscribe_user_data().await.unwrap();
        let answer = ws.place(&order("m-1", Side::Buy, "2.6", BinanceOrderType::Market)).await.unwrap();
        let pushed = ws.take_events();
        assert_eq!(fills(&pushed).len(), 3, "the executionReports came before the answer: {pushed:?}");
        assert_eq!(fills(&answer), fills(&pushed));
        let state = ws.orders().get("m-1").unwrap();
        assert_eq!((state.status(), state.filled_qty()), (OrderStatus::Filled, lots("2.6")));
        assert_eq!(state.fills().count(), 3);
        assert_eq!(state.duplicate_fills(), 3, "the answer's fills were seen already");
    });
}

#[test]
fn bad_signatures_stale_timestamps_and_unknown_orders_come_back_with_binances_codes() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut forged = BinanceWsClient::new(
            &sim.ws_url(),
            HMAC_KEY,
            BinanceSigner::hmac_sha256(b"wrong".to_vec()),
            vec![instrument()],
        );
        let refused = forged.place(&order("x-1", Side::Buy, "0.1", BinanceOrderType::Market)).await.unwrap();
        assert_eq!(code(&refused[0].kind), Some(-1022));
        assert_eq!(forged.orders().get("x-1").unwrap().status(), OrderStatus::Rejected);

        let mut ws = ws_hmac_client(&sim);
        sim.set_clock_skew_ms(10_000);
        let stale = ws.place(&order("t-1", Side::Buy, "0.1", BinanceOrderType::Market)).await.unwrap();
        assert_eq!(code(&stale[0].kind), Some(-1021));
        ws.sync_time().await.unwrap();
        assert!((ws.time_offset_ms() - 10_000).abs() < 1000, "offset {}", ws.time_offset_ms());
        let ok = ws.place(&order("t-2", Side::Buy, "0.1", BinanceOrderType::Market)).await.unwrap();
        assert_eq!(ws.orders().get("t-2").unwrap().status(), OrderStatus::Filled, "{ok:?}");

        let unknown = ws.cancel("BTCUSDT", "nope").await.unwrap();
        assert_eq!(code(&unknown[0].kind), Some(-2011));
        let ReportKind::CancelRejected { reason, .. } = &unknown[0].kind else { panic!("{unknown:?}") };
        assert_eq!(reason, "Unknown order sent.");

        let next = order("n-1", Side::Buy, "0.1", limit("57000", TimeInForce::Gtc));
        let both = ws.cancel_replace("BTCUSDT", "nope", &next).await.unwrap();
        assert_eq!(both.iter().map(|r| code(&r.kind)).collect::<Vec<_>>(), vec![Some(-2011), Some(-2022)]);
        assert_eq!(ws.orders().get("n-1").unwrap().status(), OrderStatus::Rejected, "not attempted");
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);

        ws.place(&order("k-1", Side::Sell, "0.1", limit("59000", TimeInForce::Gtc))).await.unwrap();
        let crossing = order("k-2", Side::Sell, "0.1", BinanceOrderType::PostOnly { price: ticks("58000") });
        let half = ws.cancel_replace("BTCUSDT", "k-1", &crossing).await.unwrap();
        assert_eq!(half[0].kind, ReportKind::Canceled);
        assert_eq!(code(&half[1].kind), Some(-2010), "the cancel went through, the new order did not: {half:?}");

        let other = order("o-1", Side::Buy, "0.1", BinanceOrderType::Market);
        let other = wintermute_router::binance::client::NewOrder { symbol: "ETHUSDT".into(), ..other };
        assert!(matches!(ws.place(&other).await, Err(BinanceClientError::UnknownInstrument(_))));
        assert_eq!(ws.stats().malformed_frames, 0);
    });
}

#[test]
fn after_the_connection_drops_mid_fill_reconnect_and_reconciliation_lose_and_double_nothing() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_hmac_client(&sim);
        ws.subscribe_user_data().await.unwrap();
        ws.place(&order("rest-1", Side::Sell, "0.4", limit("58020", TimeInForce::Gtc))).await.unwrap();
        ws.take_events();
        sim.drop_ws_connections();
        assert!(matches!(ws.poll_events(Duration::from_secs(2)).await, Err(BinanceClientError::Transport { .. })));
        assert!(!ws.is_connected());
        sim.trade_at("BTCUSDT", "58021", "0.15").unwrap(); // nobody is listening
        ws.subscribe_user_data().await.unwrap(); // reconnects
        assert_eq!(ws.reconnects(), 1);
        // The venue fills this IOC, then the connection drops before its events and answer.
        sim.lose_next_responses(1);
        let lost = ws.place(&order("ioc-1", Side::Buy, "2.6", limit("58005", TimeInForce::Ioc))).await;
        assert!(matches!(lost, Err(BinanceClientError::Transport { .. })), "{lost:?}");
        assert_eq!(ws.orders().get("ioc-1").unwrap().status(), OrderStatus::PendingNew);
        sim.trade_at("BTCUSDT", "58020", "0.05").unwrap();

        let first = ws.reconcile("BTCUSDT").await.unwrap();
        assert_eq!(ws.reconnects(), 2);
        assert_eq!(client_fills(&ws), venue_trades(&sim), "nothing lost, nothing doubled");
        assert!(first.new_fills >= 4, "{first:?}");
        let ioc = ws.orders().get("ioc-1").unwrap();
        assert_eq!((ioc.status(), ioc.filled_qty()), (OrderStatus::Filled, lots("2.6")));
        let rest = ws.orders().get("rest-1").unwrap();
        assert_eq!((rest.status(), rest.filled_qty()), (OrderStatus::PartiallyFilled, lots("0.2")));

        // The stream is back: a later fill arrives as an event, and reconciling again adds nothing.
        sim.trade_at("BTCUSDT", "58020", "0.2").unwrap();
        events_until(&mut ws, |e| !fills(e).is_empty()).await;
        assert_eq!(ws.orders().get("rest-1").unwrap().status(), OrderStatus::Filled);
        let again = ws.reconcile("BTCUSDT").await.unwrap();
        assert_eq!(again.new_fills, 0, "the event's fill was already merged: {again:?}");
        assert_eq!(client_fills(&ws), venue_trades(&sim));
        assert!(ws.orders().iter().all(|o| o.missing_qty() == 0));
    });
}

#[test]
fn the_kill_switch_over_the_websocket_api_leaves_no_open_order() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let mut ws = ws_ed25519_client(&sim);
        for (i, price) in ["57000", "57100", "57200"].iter().enumerate() {
            ws.place(&order(&format!("k-{i}"), Side::Buy, "0.1", limit(price, TimeInForce::Gtc))).await.unwrap();
        }
        assert_eq!(sim.open_order_count("BTCUSDT"), 3);
        assert_eq!(ws.cancel_all("BTCUSDT").await.unwrap(), 3);
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        assert!(ws.orders().iter().all(|o| o.status() == OrderStatus::Canceled));
    });
}

#[test]
fn request_weight_from_the_answers_is_enforced_locally_and_a_429_blocks_until_retry_after() {
    run(async {
        // Stay clear of a minute boundary (the weight window turns there).
        let into_minute = wintermute_router::order::local_ms().rem_euclid(60_000);
        if into_minute > 50_000 {
            tokio::time::sleep(Duration::from_millis(u64::try_from(61_000 - into_minute).unwrap())).await;
        }
        let sim = sim_with(|c| c.weight_limit_1m = 10).await;
        let mut ws = ws_hmac_client(&sim);
        let mut sent = 0;
        let refused = loop {
            match ws.sync_time().await {
                Ok(_) => sent += 1,
                Err(err) => break err,
            }
            assert!(sent <= 10, "the client kept sending past the limit");
        };
        assert_eq!(sent, 10);
        assert!(matches!(refused, BinanceClientError::RateLimited { local: true, .. }), "{refused:?}");

        let sim = sim_with(|c| c.weight_limit_1m = 3).await;
        let mut rest = hmac_client(&sim);
        for _ in 0..3 {
            rest.sync_time().await.unwrap();
        }
        let mut ws = ws_hmac_client(&sim);
        let answered = ws.sync_time().await.unwrap_err();
        let BinanceClientError::RateLimited { local: false, retry_after_ms, .. } = answered else {
            panic!("the venue's 429: {answered:?}")
        };
        assert!(retry_after_ms <= 60_000);
        assert!(matches!(ws.sync_time().await, Err(BinanceClientError::RateLimited { local: true, .. })));
    });
}

/// Noise before each answer: unreadable frames, an answer to an id nobody asked, an event of
/// another kind, an `executionReport` with an off-grid price.
fn noise(id: u64) -> Vec<String> {
    vec![
        "{not json".into(),
        "[1,2]".into(),
        format!(r#"{{"id":{},"status":200,"result":{{}}}}"#, id + 1000),
        r#"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1}}"#.into(),
        r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1,"s":"BTCUSDT","c":"x","x":"TRADE","X":"FILLED","i":1,"l":"0.1","z":"0.1","L":"58001.045","T":1,"t":5}}"#.into(),
    ]
}

#[test]
fn garbage_frames_from_the_venue_are_counted_and_the_answer_is_still_found_by_its_id() {
    run(async {
        let (_venue, mut ws) = ws_client_answered_after(noise).await;
        ws.sync_time().await.unwrap();
        ws.sync_time().await.unwrap();
        let stats = ws.stats();
        assert_eq!(stats.malformed_frames, 6, "two unreadable frames and an off-grid price, twice: {stats:?}");
        assert_eq!(stats.stray_answers, 2);
        assert_eq!(stats.events, 0, "neither the other event nor the bad report became a report");
        assert!(ws.is_connected(), "noise does not cost the connection");
    });
}

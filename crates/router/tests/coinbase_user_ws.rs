//! Coinbase's `user` WebSocket channel end to end over 127.0.0.1: orders placed through the REST
//! client, their updates read by the channel client from the simulator's WebSocket front (same
//! exchange), and the state machine's fills compared with the simulator's trades. Book: the
//! recorded BAND-GBP (asks 14.8024 x 12.77, 14.8069 x 12.49, ...; bids 14.7693 x 27.51, ...).

mod coinbase_common;

use std::time::Duration;

use coinbase_common::*;
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use tokio_tungstenite::tungstenite::Message;
use wintermute_router::coinbase::sim::CoinbaseSim;
use wintermute_router::coinbase::user_ws::{CoinbaseUserWs, UserWsError};
use wintermute_router::order::{OrderType, TimeInForce};
use wintermute_router::order_state::{OrderState, OrderStatus, Side};
use wintermute_router::signing::CoinbaseJwtSigner;

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Reads the channel until `done` holds for the client (at most 5 s).
async fn until(ws: &mut CoinbaseUserWs, done: impl Fn(&CoinbaseUserWs) -> bool) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !done(ws) {
            ws.next_reports().await.unwrap();
        }
    })
    .await
    .expect("the channel delivered the updates in time");
}

fn status(ws: &CoinbaseUserWs, id: &str) -> (OrderStatus, i64) {
    let o = ws.orders().get(id).unwrap();
    (o.status(), o.filled_qty())
}

/// Executions as sorted (client id, lots).
type Executions = Vec<(String, i64)>;

/// The channel's fills and the venue's trades.
fn fills_and_trades(ws: &CoinbaseUserWs, sim: &CoinbaseSim) -> (Executions, Executions) {
    let mut fills: Vec<_> =
        ws.orders().iter().flat_map(|o| o.fills().map(move |f| (o.client_order_id.clone(), f.qty))).collect();
    let mut trades: Vec<_> = sim.trades().into_iter().map(|(_, c, q)| (c, q)).collect();
    fills.sort();
    trades.sort();
    (fills, trades)
}

async fn channel(sim: &mut CoinbaseSim, key: &[u8]) -> CoinbaseUserWs {
    let addr = sim.start_ws().await.unwrap();
    CoinbaseUserWs::new(addr, CoinbaseJwtSigner::new(KEY_NAME, key).unwrap(), vec![product()])
}

#[test]
fn rest_orders_updates_arrive_on_the_user_channel_and_fills_match_the_venue() {
    run(async {
        let key = pkcs8();
        let (mut sim, mut rest) = sim_and_client(&key, |_| {}).await;
        let mut ws = channel(&mut sim, &key).await;
        ws.track(OrderState::new("rest-1", Side::Buy, lots("3")));
        ws.track(OrderState::new("cxl-1", Side::Buy, lots("1")));
        ws.connect().await.unwrap();
        // Resting, then filled in two parts by other participants' trades.
        rest.place(&order("rest-1", Side::Buy, "3", limit("14.7000", TimeInForce::Gtc))).await.unwrap();
        until(&mut ws, |w| status(w, "rest-1").0 == OrderStatus::New).await;
        sim.trade_at("BAND-GBP", "14.6999", "1.25").unwrap();
        until(&mut ws, |w| status(w, "rest-1") == (OrderStatus::PartiallyFilled, lots("1.25"))).await;
        sim.trade_at("BAND-GBP", "14.7000", "5").unwrap();
        until(&mut ws, |w| status(w, "rest-1") == (OrderStatus::Filled, lots("3"))).await;
        let fill_prices: Vec<i64> = ws.orders().get("rest-1").unwrap().fills().map(|f| f.price).collect();
        assert_eq!(fill_prices, vec![ticks("14.7000"); 2]);
        // An order the channel client does not track: counted, not applied.
        rest.place(&order("other-1", Side::Buy, "1", limit("14.6000", TimeInForce::Gtc))).await.unwrap();
        // Canceled over REST.
        rest.place(&order("cxl-1", Side::Buy, "1", limit("14.6000", TimeInForce::Gtc))).await.unwrap();
        rest.cancel("BAND-GBP", "cxl-1").await.unwrap();
        until(&mut ws, |w| status(w, "cxl-1").0 == OrderStatus::Canceled).await;
        let (fills, trades) = fills_and_trades(&ws, &sim);
        assert_eq!(fills, trades);
        assert_eq!(ws.orders().unknown_reports(), 1);
        let fee: i128 = ws.orders().get("rest-1").unwrap().fills().map(|f| f.fee.mantissa()).sum();
        assert!(fee > 0);
    });
}

#[test]
fn a_crossing_order_fills_on_the_channel_level_by_level() {
    run(async {
        let key = pkcs8();
        let (mut sim, mut rest) = sim_and_client(&key, |_| {}).await;
        let mut ws = channel(&mut sim, &key).await;
        ws.track(OrderState::new("ioc-1", Side::Buy, lots("30")));
        ws.connect().await.unwrap();
        rest.place(&order("ioc-1", Side::Buy, "30", limit("14.8069", TimeInForce::Ioc))).await.unwrap();
        until(&mut ws, |w| status(w, "ioc-1").0 == OrderStatus::Expired).await;
        let ioc = ws.orders().get("ioc-1").unwrap();
        let prices: Vec<i64> = ioc.fills().map(|f| f.price).collect();
        assert_eq!(prices, vec![ticks("14.8024"), ticks("14.8069")]);
        assert_eq!(ioc.filled_qty(), lots("25.26"));
        let rest_fills = rest.orders().get("ioc-1").unwrap();
        let fees = |fills: Vec<String>| {
            let mut fills = fills;
            fills.sort();
            fills
        };
        // Each fill's fee, exact, as the REST fills answer has it.
        let rest_fees = fees(rest_fills.fills().map(|f| f.fee.to_string()).collect());
        assert_eq!(fees(ioc.fills().map(|f| f.fee.to_string()).collect()), rest_fees);
        let (fills, trades) = fills_and_trades(&ws, &sim);
        assert_eq!(fills, trades);
        // A market order sells into the bids.
        ws.track(OrderState::new("mkt-1", Side::Sell, lots("1")));
        rest.place(&order("mkt-1", Side::Sell, "1", OrderType::Market)).await.unwrap();
        until(&mut ws, |w| status(w, "mkt-1").0 == OrderStatus::Filled).await;
        assert_eq!(fills_and_trades(&ws, &sim).0, fills_and_trades(&ws, &sim).1);
    });
}

#[test]
fn a_bad_or_expired_or_rest_jwt_is_refused_with_coinbases_error() {
    run(async {
        let key = pkcs8();
        let (mut sim, _rest) = sim_and_client(&key, |_| {}).await;
        let mut stranger = channel(&mut sim, &pkcs8()).await;
        let refused = stranger.connect().await.unwrap_err();
        assert!(matches!(&refused, UserWsError::Refused(m) if m == "authentication failure"), "{refused:?}");
        let addr = sim.ws_addr().unwrap();
        let signer = CoinbaseJwtSigner::new(KEY_NAME, &key).unwrap();
        let now_s = wintermute_router::order::local_ms() / 1000;
        let expired = signer.websocket_token(now_s - 300);
        let rest_token = signer.token("GET", HOST, "/api/v3/brokerage/orders/historical/batch", now_s);
        let good = signer.websocket_token(now_s);
        let mut answers = Vec::new();
        for jwt in [expired.as_str(), rest_token.as_str(), "a.b.c", good.as_str()] {
            let (mut raw, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await.unwrap();
            let subscribe = serde_json::json!({"type": "subscribe", "channel": "user", "jwt": jwt});
            raw.send(Message::text(subscribe.to_string())).await.unwrap();
            let Some(Ok(Message::Text(text))) = raw.next().await else { panic!("no answer") };
            let answer: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            answers.push(answer["message"].as_str().or(answer["channel"].as_str()).unwrap().to_owned());
        }
        assert_eq!(
            answers,
            ["authentication failure", "authentication failure", "authentication failure", "subscriptions"]
        );
    });
}

#[test]
fn a_reconnect_merges_the_snapshot_without_doubling_fills() {
    run(async {
        let key = pkcs8();
        let (mut sim, mut rest) = sim_and_client(&key, |_| {}).await;
        let mut ws = channel(&mut sim, &key).await;
        ws.track(OrderState::new("r-1", Side::Buy, lots("4")));
        ws.connect().await.unwrap();
        rest.place(&order("r-1", Side::Buy, "4", limit("14.7000", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("BAND-GBP", "14.7000", "1").unwrap();
        until(&mut ws, |w| status(w, "r-1").1 == lots("1")).await;
        // Dropped; two trades happen while the client is away.
        sim.drop_ws_connections();
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Err(e) = ws.next_reports().await {
                    break e;
                }
            }
        })
        .await
        .unwrap();
        assert!(matches!(closed, UserWsError::Transport(_)), "{closed:?}");
        sim.trade_at("BAND-GBP", "14.7000", "0.5").unwrap();
        sim.trade_at("BAND-GBP", "14.7000", "1").unwrap();
        ws.connect().await.unwrap();
        until(&mut ws, |w| status(w, "r-1").1 == lots("2.5")).await;
        // Once more with nothing new: the snapshot repeats what was seen.
        sim.drop_ws_connections();
        let _ = tokio::time::timeout(Duration::from_secs(5), ws.next_reports()).await.unwrap();
        ws.connect().await.unwrap();
        sim.trade_at("BAND-GBP", "14.7000", "5").unwrap();
        until(&mut ws, |w| status(w, "r-1").0 == OrderStatus::Filled).await;
        let r1 = ws.orders().get("r-1").unwrap();
        assert_eq!((r1.filled_qty(), r1.fills().count()), (lots("4"), 3));
        let total: i64 = sim.trades().iter().map(|(_, _, q)| q).sum();
        assert_eq!(total, r1.filled_qty());
        assert_eq!(r1.duplicate_fills(), 0);
    });
}

#[test]
fn the_subscription_is_renewed_with_a_fresh_jwt_and_updates_keep_coming() {
    run(async {
        let key = pkcs8();
        let (mut sim, mut rest) = sim_and_client(&key, |_| {}).await;
        let mut ws = channel(&mut sim, &key).await;
        ws.set_resubscribe_after_s(1);
        ws.track(OrderState::new("n-1", Side::Buy, lots("2")));
        ws.connect().await.unwrap();
        rest.place(&order("n-1", Side::Buy, "2", limit("14.7000", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("BAND-GBP", "14.7000", "1").unwrap();
        until(&mut ws, |w| status(w, "n-1").1 == lots("1")).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        sim.trade_at("BAND-GBP", "14.7000", "1").unwrap();
        // The renewal's snapshot repeats the order (open until this trade): nothing doubled.
        until(&mut ws, |w| status(w, "n-1").0 == OrderStatus::Filled).await;
        assert!(ws.subscriptions_sent() >= 2, "{}", ws.subscriptions_sent());
        let n1 = ws.orders().get("n-1").unwrap();
        assert_eq!((n1.filled_qty(), n1.fills().count(), n1.duplicate_fills()), (lots("2"), 2, 0));
    });
}

fn garbage() -> impl Strategy<Value = String> {
    let order = (
        prop_oneof![
            Just("OPEN".to_owned()),
            Just("FILLED".to_owned()),
            Just("CANCELLED".to_owned()),
            Just("EXPIRED".to_owned()),
            Just("FAILED".to_owned()),
            ".{0,6}"
        ],
        prop_oneof![Just("BAND-GBP".to_owned()), ".{0,9}"],
        "[-0-9.eE]{0,12}",
        "[-0-9.]{0,40}",
        "[-0-9.]{0,12}",
    )
        .prop_map(|(status, product, cum, avg, fees)| {
            serde_json::json!({"channel": "user", "timestamp": "2026-01-01T00:00:00Z", "events": [{"type": "update",
                "orders": [{"order_id": "o", "client_order_id": "g-1", "status": status, "product_id": product,
                "cumulative_quantity": cum, "avg_price": avg, "total_fees": fees}]}]})
            .to_string()
        });
    let cut = order.clone().prop_flat_map(|s| {
        let n = s.len();
        (Just(s), 0..=n)
    });
    prop_oneof![order, cut.prop_map(|(s, n)| s.chars().take(n).collect()), ".{0,200}"]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Garbage and mutated frames: no panic; a fill only ever within the order's quantity.
    #[test]
    fn garbage_frames_never_panic(frames in proptest::collection::vec(garbage(), 1..6)) {
        let key = pkcs8();
        let addr = "127.0.0.1:9".parse().unwrap();
        let mut ws = CoinbaseUserWs::new(addr, CoinbaseJwtSigner::new(KEY_NAME, &key).unwrap(), vec![product()]);
        ws.track(OrderState::new("g-1", Side::Buy, lots("3")));
        let mut parse_errors = 0;
        for frame in &frames {
            parse_errors += u64::from(matches!(ws.apply_frame(frame, 0), Err(UserWsError::Parse(_))));
        }
        prop_assert_eq!(parse_errors, ws.malformed_frames());
        let g = ws.orders().get("g-1").unwrap();
        prop_assert!(g.filled_qty() <= lots("3"));
    }
}

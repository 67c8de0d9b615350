//! Binance's balance events on the user data stream, over 127.0.0.1 through the real WebSocket
//! API client and the simulator: an order that rests moves funds from free to locked in an
//! `outboundAccountPosition`, a cancel releases them, a fill's events agree to the unit with
//! `GET /api/v3/account`, a deposit or withdrawal is a `balanceUpdate`, one account's stream
//! carries nothing of another's, and unreadable balance events are counted. The book is set to
//! 58000.00 x 1 / 59000.00 x 1.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use wintermute_core::decimal::Decimal;
use wintermute_router::binance::client::TimeInForce;
use wintermute_router::binance::sim::BinanceSim;
use wintermute_router::binance::ws_api::signed_request;
use wintermute_router::binance::ws_client::BinanceWsClient;
use wintermute_router::order::{BalanceChange, BalanceUpdate};
use wintermute_router::order_state::{ReportKind, Side, Venue};
use wintermute_router::signing::BinanceSigner;
use wintermute_router::sim::funds::TransferError;

fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

fn position(free: &str, locked: &str) -> BalanceChange {
    BalanceChange::Position { free: dec(free), locked: dec(locked) }
}

fn transfer(delta: &str) -> BalanceChange {
    BalanceChange::Transfer { delta: dec(delta) }
}

/// A simulator checking funds, every account starting with `balances`.
async fn funded_sim(balances: &[(&str, &str)]) -> BinanceSim {
    let sim = sim_with(|cfg| {
        cfg.check_funds = true;
        cfg.balances = balances.iter().map(|(a, v)| ((*a).to_owned(), dec(v))).collect();
    })
    .await;
    sim.set_book("BTCUSDT", &[(ticks("58000"), lots("1"))], &[(ticks("59000"), lots("1"))]).unwrap();
    sim
}

async fn subscribed(mut client: BinanceWsClient) -> BinanceWsClient {
    client.sync_time().await.unwrap();
    client.subscribe_user_data().await.unwrap();
    client
}

/// The balance updates queued and read until there are `n` (at most 5 s), as (asset, change).
async fn updates(ws: &mut BinanceWsClient, n: usize) -> Vec<(String, BalanceChange)> {
    let mut got: Vec<BalanceUpdate> = ws.take_balance_updates();
    for _ in 0..50 {
        if got.len() >= n {
            break;
        }
        ws.poll_balance_updates(Duration::from_millis(100)).await.unwrap();
        got.extend(ws.take_balance_updates());
    }
    for update in &got {
        assert_eq!(update.venue, Venue::Binance);
        assert!(update.exchange_ts_ns > 0 && update.receive_ts_ns > 0, "{update:?}");
    }
    got.into_iter().map(|u| (u.asset, u.change)).collect()
}

fn pairs(expected: &[(&str, BalanceChange)]) -> Vec<(String, BalanceChange)> {
    expected.iter().map(|(a, c)| ((*a).to_owned(), *c)).collect()
}

#[test]
fn a_resting_order_moves_free_to_locked_in_an_event_and_a_cancel_releases_it() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000"), ("BTC", "0.5")]).await;
        let mut ws = subscribed(ws_hmac_client(&sim)).await;
        // 0.01 at 58500.00 locks 585 USDT; BTC did not move, so it is not listed.
        let placed = ws.place(&order("b-1", Side::Buy, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(placed[0].kind, ReportKind::New);
        assert_eq!(updates(&mut ws, 1).await, pairs(&[("USDT", position("415", "585"))]));
        // A sell locks BTC.
        ws.place(&order("s-1", Side::Sell, "0.2", limit("59500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(updates(&mut ws, 1).await, pairs(&[("BTC", position("0.3", "0.2"))]));
        ws.cancel("BTCUSDT", "b-1").await.unwrap();
        assert_eq!(updates(&mut ws, 1).await, pairs(&[("USDT", position("1000", "0"))]));
        // A refused order moves nothing: no event.
        let refused = ws.place(&order("b-2", Side::Buy, "0.02", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert!(matches!(refused[0].kind, ReportKind::Rejected { code: Some(-2010), .. }), "{refused:?}");
        ws.poll_balance_updates(Duration::from_millis(200)).await.unwrap();
        assert!(ws.take_balance_updates().is_empty());
        assert_eq!(ws.stats().malformed_balance_events, 0);
        assert_eq!(ws.stats().balance_updates, 3);
    });
}

/// Every asset's (free, locked) per `GET /api/v3/account`, through the REST client.
async fn account_of(sim: &BinanceSim) -> BTreeMap<String, (Decimal, Decimal)> {
    let mut rest = hmac_client(sim);
    rest.sync_time().await.unwrap();
    rest.balances().await.unwrap()
}

/// The newest position of each asset the updates list.
fn latest(updates: &[(String, BalanceChange)]) -> BTreeMap<String, (Decimal, Decimal)> {
    let mut out = BTreeMap::new();
    for (asset, change) in updates {
        if let BalanceChange::Position { free, locked } = change {
            out.insert(asset.clone(), (*free, *locked));
        }
    }
    out
}

#[test]
fn a_fills_events_agree_to_the_unit_with_the_account_endpoint() {
    run(async {
        let sim = funded_sim(&[("USDT", "100000")]).await;
        let mut ws = subscribed(ws_hmac_client(&sim)).await;
        // Takes 0.5 at 59000.00: 29500 USDT out, 0.5 BTC in less 0.0005 BTC commission.
        ws.place(&order("t", Side::Buy, "0.5", limit("59000", TimeInForce::Ioc))).await.unwrap();
        let got = updates(&mut ws, 2).await;
        assert_eq!(got, pairs(&[("BTC", position("0.4995", "0")), ("USDT", position("70500", "0"))]));
        let account = account_of(&sim).await;
        for (asset, amounts) in latest(&got) {
            assert_eq!(account[&asset], amounts, "{asset}");
        }
        // A resting buy of 0.1 at 58500.00, then filled as a maker by another participant.
        ws.place(&order("m", Side::Buy, "0.1", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(updates(&mut ws, 1).await, pairs(&[("USDT", position("64650", "5850"))]));
        assert_eq!(sim.trade_at("BTCUSDT", "58500", "0.1").unwrap(), 1);
        let got = updates(&mut ws, 2).await;
        assert_eq!(got, pairs(&[("BTC", position("0.5994", "0")), ("USDT", position("64650", "0"))]));
        let account = account_of(&sim).await;
        for (asset, amounts) in latest(&got) {
            assert_eq!(account[&asset], amounts, "{asset}");
        }
        // What the events said is exactly what the simulator holds.
        let held: BTreeMap<String, (Decimal, Decimal)> =
            sim.balances_of(HMAC_KEY).into_iter().map(|(a, b)| (a, (b.available, b.held))).collect();
        assert_eq!(held, account);
    });
}

#[test]
fn a_deposit_and_a_withdrawal_are_balance_updates_and_a_refused_one_sends_nothing() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let mut ws = subscribed(ws_hmac_client(&sim)).await;
        assert_eq!(sim.deposit(HMAC_KEY, "BTC", dec("0.25")), Ok(dec("0.25")));
        let expected = [("BTC", transfer("0.25")), ("BTC", position("0.25", "0"))];
        assert_eq!(updates(&mut ws, 2).await, pairs(&expected));
        // 585 locked by a buy: 415 free.
        ws.place(&order("b", Side::Buy, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(updates(&mut ws, 1).await, pairs(&[("USDT", position("415", "585"))]));
        assert_eq!(sim.withdraw(HMAC_KEY, "USDT", dec("415.01")), Err(TransferError::Insufficient));
        assert_eq!(sim.deposit(HMAC_KEY, "USDT", dec("0")), Err(TransferError::NotPositive));
        assert_eq!(sim.withdraw(HMAC_KEY, "USDT", dec("400")), Ok(dec("600")));
        // The refusals sent nothing: the next events are the withdrawal's.
        let expected = [("USDT", transfer("-400")), ("USDT", position("15", "585"))];
        assert_eq!(updates(&mut ws, 2).await, pairs(&expected));
        assert_eq!(account_of(&sim).await["USDT"], (dec("15"), dec("585")));
        // A balance set from outside is a position without a balanceUpdate.
        sim.set_balance_of(HMAC_KEY, "ETH", dec("2"));
        assert_eq!(updates(&mut ws, 1).await, pairs(&[("ETH", position("2", "0"))]));
    });
}

#[test]
fn a_second_account_sees_nothing_of_the_firsts_balances() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let mut mine = subscribed(ws_ed25519_client(&sim)).await;
        let mut theirs = subscribed(ws_hmac_client(&sim)).await;
        mine.place(&order("e-1", Side::Buy, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        sim.deposit(ED_KEY, "BTC", dec("1")).unwrap();
        mine.cancel("BTCUSDT", "e-1").await.unwrap();
        let got = updates(&mut mine, 4).await;
        assert_eq!(got.len(), 4, "{got:?}");
        theirs.poll_balance_updates(Duration::from_millis(300)).await.unwrap();
        assert!(theirs.take_balance_updates().is_empty());
        // Their stream is alive: their own deposit reaches them, and not the other.
        sim.deposit(HMAC_KEY, "ETH", dec("3")).unwrap();
        let expected = [("ETH", transfer("3")), ("ETH", position("3", "0"))];
        assert_eq!(updates(&mut theirs, 2).await, pairs(&expected));
        mine.poll_balance_updates(Duration::from_millis(300)).await.unwrap();
        assert!(mine.take_balance_updates().is_empty());
    });
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(ws: &mut Ws) -> Value {
    let next = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a frame within 5 s");
    let Some(Ok(Message::Text(text))) = next else { panic!("connection ended: {next:?}") };
    serde_json::from_str(text.as_str()).unwrap()
}

#[test]
fn the_simulator_sends_the_position_after_the_execution_report_of_the_same_change() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let (mut raw, _) = tokio_tungstenite::connect_async(sim.ws_url()).await.unwrap();
        let signer = BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec());
        let now = wintermute_router::order::local_ms();
        let subscribe = signed_request(1, "userDataStream.subscribe.signature", vec![], HMAC_KEY, &signer, 5000, now);
        raw.send(Message::text(subscribe)).await.unwrap();
        assert_eq!(next_json(&mut raw).await["result"]["subscriptionId"], 0);
        // An order through the REST front: the session gets its report, then the position.
        let mut rest = hmac_client(&sim);
        rest.sync_time().await.unwrap();
        rest.place(&order("r-1", Side::Buy, "0.01", limit("58500", TimeInForce::Gtc))).await.unwrap();
        let report = next_json(&mut raw).await;
        assert_eq!(
            (report["subscriptionId"].as_u64(), report["event"]["e"].as_str()),
            (Some(0), Some("executionReport"))
        );
        let position = next_json(&mut raw).await;
        assert_eq!(position["subscriptionId"], 0);
        assert_eq!(position["event"]["e"], "outboundAccountPosition");
        assert_eq!(position["event"]["B"], json!([{ "a": "USDT", "f": "415.00000000", "l": "585.00000000" }]));
        assert!(position["event"]["E"].as_i64().unwrap() >= report["event"]["E"].as_i64().unwrap());
        sim.withdraw(HMAC_KEY, "USDT", dec("15.5")).unwrap();
        let update = next_json(&mut raw).await;
        assert_eq!(update["event"]["e"], "balanceUpdate");
        assert_eq!(
            (update["event"]["a"].as_str(), update["event"]["d"].as_str()),
            (Some("USDT"), Some("-15.50000000"))
        );
        let position = next_json(&mut raw).await;
        assert_eq!(position["event"]["B"], json!([{ "a": "USDT", "f": "399.50000000", "l": "585.00000000" }]));
    });
}

/// Two unreadable balance events and a good one before each answer.
fn bad_balances(_: u64) -> Vec<String> {
    vec![
        r#"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1,"u":1,"B":[{"a":"BTC","f":"1.5","l":"1e2"}]}}"#.into(),
        r#"{"subscriptionId":0,"event":{"e":"balanceUpdate","E":1,"a":"USDT","T":1}}"#.into(),
        r#"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1,"u":2,"B":[{"a":"BTC","f":"1.5","l":"0.25"}]}}"#.into(),
    ]
}

#[test]
fn unreadable_balance_events_are_counted_and_the_readable_one_is_delivered() {
    run(async {
        let (_venue, mut ws) = ws_client_answered_after(bad_balances).await;
        ws.sync_time().await.unwrap();
        let stats = ws.stats();
        assert_eq!((stats.malformed_balance_events, stats.malformed_frames, stats.balance_updates), (2, 2, 1));
        let got = ws.take_balance_updates();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].asset.as_str(), got[0].change), ("BTC", position("1.5", "0.25")));
        assert_eq!(got[0].exchange_ts_ns, 2_000_000);
        assert!(ws.is_connected(), "bad balance events do not cost the connection");
    });
}

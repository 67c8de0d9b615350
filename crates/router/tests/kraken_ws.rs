//! Kraken WebSocket v2 order entry end to end over 127.0.0.1, through the real clients: a token
//! from `GetWebSocketsToken` (REST, signed), `add_order` / `amend_order` / `cancel_order` over the
//! WebSocket, and the `executions` channel pushing every change of the account's orders,
//! including fills of orders placed over REST, on one simulated exchange. The book is the
//! recorded XBT/USD one (best bid 58719.9, best ask 58729.4 x 0.45, then 58729.5 x 1.4948).

mod common;
mod kraken_common;

use std::time::Duration;

use common::run;
use futures_util::{SinkExt, StreamExt};
use kraken_common::*;
use tokio_tungstenite::tungstenite::Message;
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::kraken::ws_client::{KrakenWsClient, KrakenWsError};
use wintermute_router::order::TimeInForce;
use wintermute_router::order_state::{ExecutionReport, OrderStatus, ReportKind, Side};

const WAIT: Duration = Duration::from_secs(2);

/// A simulator with its WebSocket front, a REST client, and a WebSocket client on a fresh token.
async fn setup(config: impl FnOnce(&mut wintermute_router::kraken::sim::KrakenSimConfig)) -> Setup {
    let mut sim = sim_with(|c| {
        roomy(c);
        config(c);
    })
    .await;
    let ws_addr = sim.start_ws().await.unwrap();
    let mut rest = client_with(&sim, ROOMY);
    let token = rest.websockets_token().await.unwrap();
    let ws = KrakenWsClient::connect(ws_addr, &token, vec![ws_pair()]).await.unwrap();
    Setup { sim, ws_addr, rest, token, ws }
}

struct Setup {
    sim: KrakenSim,
    ws_addr: std::net::SocketAddr,
    rest: wintermute_router::kraken::client::KrakenRestClient,
    token: String,
    ws: KrakenWsClient,
}

fn fills(reports: &[ExecutionReport]) -> Vec<(u64, i64, i64)> {
    reports
        .iter()
        .filter_map(|r| match &r.kind {
            ReportKind::Trade(f) => Some((f.trade_id, f.price, f.qty)),
            _ => None,
        })
        .collect()
}

/// Reads pushed reports until `done` holds for the client's table (bounded).
async fn until(ws: &mut KrakenWsClient, mut done: impl FnMut(&KrakenWsClient) -> bool) -> Vec<ExecutionReport> {
    let mut all = Vec::new();
    for _ in 0..20 {
        if done(ws) {
            break;
        }
        all.extend(ws.next_reports(WAIT).await.unwrap());
    }
    assert!(done(ws), "the pushed executions arrived: {all:?}");
    all
}

#[test]
fn an_order_added_amended_and_canceled_over_the_websocket() {
    run(async {
        let Setup { sim, mut ws, .. } = setup(|_| {}).await;
        let reports = ws.place(&order("w-1", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::New);
        let txid = reports[0].venue_order_id.clone().unwrap();
        assert!(txid.starts_with('O'), "{txid}");
        assert_eq!(sim.open_order_count(), 1);
        let amend_id = ws.amend("w-1", Some(lots("0.05")), Some(ticks("57990"))).await.unwrap();
        assert!(!amend_id.is_empty());
        assert_eq!(sim.open_order_qty("w-1"), Some(lots("0.05")));
        let reports = ws.cancel("w-1").await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::Canceled);
        until(&mut ws, |c| c.orders().get("w-1").unwrap().status() == OrderStatus::Canceled).await;
        assert_eq!(sim.open_order_count(), 0);
        // Canceling again: Kraken's own refusal, as a cancel-rejected report.
        let again = ws.cancel("w-1").await.unwrap();
        assert!(
            matches!(&again[0].kind, ReportKind::CancelRejected { reason, .. } if reason == "EOrder:Unknown order"),
            "{again:?}"
        );
        assert_eq!(ws.malformed_frames(), 0);
    });
}

#[test]
fn a_crossing_order_over_the_websocket_reports_its_fills_keyed_by_trade_id() {
    run(async {
        let Setup { sim, mut ws, .. } = setup(|_| {}).await;
        let mut reports = ws.place(&order("w-x", Side::Buy, "0.5", limit("58729.5", TimeInForce::Ioc))).await.unwrap();
        reports.extend(until(&mut ws, |c| c.orders().get("w-x").unwrap().status() == OrderStatus::Filled).await);
        let got = fills(&reports);
        assert_eq!(
            got.iter().map(|f| (f.1, f.2)).collect::<Vec<_>>(),
            [(ticks("58729.4"), lots("0.45")), (ticks("58729.5"), lots("0.05"))]
        );
        let venue: Vec<u64> = sim.trades().iter().map(|t| t.0).collect();
        assert_eq!(got.iter().map(|f| f.0).collect::<Vec<_>>(), venue);
    });
}

#[test]
fn a_fill_caused_by_a_rest_order_is_pushed_to_the_websocket_session() {
    run(async {
        let Setup { sim, mut ws, mut rest, .. } = setup(|_| {}).await;
        // A resting WebSocket order, filled when another participant trades through it.
        ws.place(&order("w-rest", Side::Sell, "0.4", limit("58740", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("XBTUSD", "58740", "0.1").unwrap();
        let pushed = until(&mut ws, |c| c.orders().get("w-rest").unwrap().filled_qty() == lots("0.1")).await;
        assert_eq!(fills(&pushed).len(), 1);
        // An order placed over REST that takes liquidity: its fills reach the WebSocket too.
        rest.place(&order("r-1", Side::Buy, "0.5", limit("58729.5", TimeInForce::Ioc))).await.unwrap();
        let rest_fills: Vec<u64> = rest.orders().get("r-1").unwrap().fills().map(|f| f.trade_id).collect();
        assert_eq!(rest_fills.len(), 2);
        until(&mut ws, |c| c.orders().get("r-1").is_some_and(|o| o.status() == OrderStatus::Filled)).await;
        let seen = ws.orders().get("r-1").unwrap();
        assert_eq!(seen.fills().map(|f| f.trade_id).collect::<Vec<_>>(), rest_fills);
        assert_eq!(seen.venue_order_id, rest.orders().get("r-1").unwrap().venue_order_id);
    });
}

#[test]
fn a_bad_token_is_refused_and_nothing_is_placed() {
    run(async {
        let Setup { sim, ws_addr, .. } = setup(|_| {}).await;
        let refused = KrakenWsClient::connect(ws_addr, "not-a-token", vec![ws_pair()]).await;
        assert!(
            matches!(&refused, Err(KrakenWsError::Venue { method: "subscribe", error }) if error == "EAPI:Invalid key"),
            "{refused:?}"
        );
        // An add_order with a made-up token, written by hand: refused with its req_id.
        let (mut raw, _) = tokio_tungstenite::connect_async(format!("ws://{ws_addr}/v2")).await.unwrap();
        let request = r#"{"method":"add_order","params":{"order_type":"limit","side":"buy","order_qty":0.1,"symbol":"BTC/USD","limit_price":58000.0,"token":"forged"},"req_id":42}"#;
        raw.send(Message::text(request)).await.unwrap();
        let answer = loop {
            let Some(Ok(Message::Text(text))) = raw.next().await else { panic!("an answer") };
            let v: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            if v["req_id"] == 42 {
                break v;
            }
        };
        assert_eq!((answer["success"].as_bool(), answer["error"].as_str()), (Some(false), Some("EAPI:Invalid key")));
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn insufficient_funds_are_refused_over_the_websocket_with_krakens_error() {
    run(async {
        let Setup { sim, mut ws, .. } = setup(|c| funded(c, &[("ZUSD", "1000"), ("XXBT", "0.01")])).await;
        // 0.02 XBT at 58000.0 is 1160 USD plus fee: more than 1000.
        let reports = ws.place(&order("w-big", Side::Buy, "0.02", limit("58000", TimeInForce::Gtc))).await.unwrap();
        assert!(
            matches!(&reports[0].kind, ReportKind::Rejected { reason, .. } if reason == "EOrder:Insufficient funds"),
            "{reports:?}"
        );
        assert_eq!(ws.orders().get("w-big").unwrap().status(), OrderStatus::Rejected);
        let sell = ws.place(&order("w-sell", Side::Sell, "0.02", limit("60000", TimeInForce::Gtc))).await.unwrap();
        assert!(matches!(&sell[0].kind, ReportKind::Rejected { reason, .. } if reason == "EOrder:Insufficient funds"));
        let fits = ws.place(&order("w-ok", Side::Buy, "0.01", limit("58000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(fits[0].kind, ReportKind::New);
        assert_eq!(sim.open_order_count(), 1);
    });
}

#[test]
fn a_reconnect_merges_the_snapshot_with_no_fill_lost_or_doubled() {
    run(async {
        let Setup { sim, mut rest, token, mut ws, .. } = setup(|_| {}).await;
        ws.place(&order("w-a", Side::Sell, "0.5", limit("58740", TimeInForce::Gtc))).await.unwrap();
        ws.place(&order("w-b", Side::Sell, "0.2", limit("58800", TimeInForce::Gtc))).await.unwrap();
        sim.trade_at("XBTUSD", "58740", "0.2").unwrap();
        until(&mut ws, |c| c.orders().get("w-a").unwrap().filled_qty() == lots("0.2")).await;
        // The connection drops; meanwhile w-a fills further and w-b is canceled over REST.
        sim.drop_ws_connections();
        assert!(matches!(ws.next_reports(WAIT).await, Err(KrakenWsError::Transport(_)) | Ok(_)));
        sim.trade_at("XBTUSD", "58740", "0.1").unwrap();
        // (The REST client did not place w-b: its table refuses the report, the venue cancels.)
        let _ = rest.cancel("XBTUSD", "w-b").await;
        assert_eq!(sim.open_order_count(), 1);
        // The same token: once used by a connection, it does not expire.
        let merged = ws.reconnect(&token).await.unwrap();
        assert_eq!(merged.summary.new_fills, 1, "only the fill made while away is new");
        assert_eq!(merged.unlisted, ["w-b"], "ended while away: settle over REST");
        let a = ws.orders().get("w-a").unwrap();
        assert_eq!((a.filled_qty(), a.fills().count(), a.status()), (lots("0.3"), 2, OrderStatus::PartiallyFilled));
        assert!(a.duplicate_fills() >= 1, "the fill seen live came again in the snapshot, counted once");
        // Live again: the rest of w-a fills and is pushed.
        sim.trade_at("XBTUSD", "58740", "0.5").unwrap();
        until(&mut ws, |c| c.orders().get("w-a").unwrap().status() == OrderStatus::Filled).await;
        let venue_lots: i64 = sim.trades().iter().filter(|t| t.1 == "w-a").map(|t| t.2).sum();
        assert_eq!(ws.orders().get("w-a").unwrap().filled_qty(), venue_lots);
        assert_eq!(venue_lots, lots("0.5"));
    });
}

#[test]
fn garbage_frames_from_the_venue_are_counted_and_skipped() {
    run(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // A venue that answers the subscription after five frames the client cannot use.
        let venue = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            let Some(Ok(Message::Text(subscribe))) = ws.next().await else { panic!("a subscribe") };
            let req_id = serde_json::from_str::<serde_json::Value>(subscribe.as_str()).unwrap()["req_id"].clone();
            let garbage = [
                "not json",
                r#"{"channel":"executions","type":"update","data":7}"#,
                r#"{"method":"add_order"}"#,
                "[1,2",
                r#"{"channel":"executions","type":"update","data":[{"exec_type":"trade","order_id":"O1","timestamp":"x"}]}"#,
            ];
            for frame in garbage {
                ws.send(Message::text(frame)).await.unwrap();
            }
            let ok = format!(
                r#"{{"method":"subscribe","req_id":{req_id},"success":true,"result":{{"channel":"executions"}}}}"#
            );
            ws.send(Message::text(ok)).await.unwrap();
            ws.send(Message::text(r#"{"channel":"executions","type":"snapshot","data":[]}"#)).await.unwrap();
            ws
        });
        let client = KrakenWsClient::connect(addr, "t", vec![ws_pair()]).await.unwrap();
        assert_eq!(client.malformed_frames(), 4, "four frames that do not parse");
        assert_eq!(client.unattributed_executions(), 1, "an execution of no order the client can name");
        assert_eq!(client.orders().iter().count(), 0);
        drop(venue);
    });
}

#[test]
fn a_token_unused_for_15_minutes_is_refused_but_one_in_use_lasts() {
    run(async {
        let Setup { sim, ws_addr, mut rest, token, mut ws } = setup(|_| {}).await;
        let fresh = rest.websockets_token().await.unwrap();
        // 15 minutes and a second later: the unused token is stale; the one the connection
        // used still places orders and reconnects.
        sim.age_ws_tokens(15 * 60 * 1000 + 1000);
        let stale = KrakenWsClient::connect(ws_addr, &fresh, vec![ws_pair()]).await;
        assert!(matches!(&stale, Err(KrakenWsError::Venue { error, .. }) if error == "EAPI:Invalid key"), "{stale:?}");
        let placed = ws.place(&order("w-t", Side::Buy, "0.1", limit("58000", TimeInForce::Gtc))).await.unwrap();
        assert_eq!(placed[0].kind, ReportKind::New);
        sim.drop_ws_connections();
        ws.reconnect(&token).await.unwrap();
        assert_eq!(sim.open_order_count(), 1);
    });
}

#[test]
fn a_fill_pushed_before_the_orders_answer_and_again_after_counts_once() {
    run(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // A venue that pushes the fill ahead of the add_order answer, then the same fill again.
        let venue = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            let sub_id = read_json(&mut ws).await["req_id"].clone();
            let subscribed = [
                format!(r#"{{"method":"subscribe","req_id":{sub_id},"success":true,"result":{{}}}}"#),
                r#"{"channel":"executions","type":"snapshot","data":[]}"#.to_owned(),
            ];
            for frame in subscribed {
                ws.send(Message::text(frame)).await.unwrap();
            }
            let add = read_json(&mut ws).await;
            let add_id = add["req_id"].clone();
            let cl = add["params"]["cl_ord_id"].as_str().unwrap().to_owned();
            let fill = format!(
                r#"{{"channel":"executions","type":"update","data":[{{"exec_type":"trade","order_id":"OFAST-00000-000001","cl_ord_id":"{cl}","symbol":"BTC/USD","side":"buy","order_qty":0.1,"order_status":"filled","cum_qty":0.1,"timestamp":"2026-12-06T21:00:00.000Z","exec_id":"T1","trade_id":77,"last_qty":0.1,"last_price":58729.4,"liquidity_ind":"t","fees":[{{"asset":"USD","qty":15.269644}}]}}]}}"#
            );
            let answer = format!(
                r#"{{"method":"add_order","req_id":{add_id},"success":true,"result":{{"order_id":"OFAST-00000-000001","cl_ord_id":"{cl}"}}}}"#
            );
            for frame in [fill.clone(), answer, fill] {
                ws.send(Message::text(frame)).await.unwrap();
            }
            ws
        });
        let mut client = KrakenWsClient::connect(addr, "t", vec![ws_pair()]).await.unwrap();
        let reports = client.place(&order("fast", Side::Buy, "0.1", limit("58730", TimeInForce::Ioc))).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::New, "the answer first in the list");
        assert_eq!(fills(&reports), [(77, ticks("58729.4"), lots("0.1"))], "the fill read while waiting");
        client.next_reports(WAIT).await.unwrap();
        let state = client.orders().get("fast").unwrap();
        assert_eq!(
            (state.status(), state.filled_qty(), state.duplicate_fills()),
            (OrderStatus::Filled, lots("0.1"), 1)
        );
        assert_eq!(state.venue_order_id.as_deref(), Some("OFAST-00000-000001"));
        drop(venue);
    });
}

/// The next request a fake venue reads, as JSON.
async fn read_json(ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>) -> serde_json::Value {
    let Some(Ok(Message::Text(text))) = ws.next().await else { panic!("a request") };
    serde_json::from_str(text.as_str()).unwrap()
}

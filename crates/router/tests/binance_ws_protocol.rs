//! The simulator's WebSocket API frame by frame (raw frames over 127.0.0.1, no client code):
//! Binance's documented signed request accepted byte for byte, its error codes for unreadable
//! frames, unknown methods and unauthenticated sessions, `returnRateLimits`; and a property test
//! feeding it garbage and mutated requests in-process (every answer a JSON error, no panic).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use wintermute_router::sim::ws::WsVenue;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ask(ws: &mut Ws, frame: &str) -> Value {
    ws.send(Message::text(frame)).await.unwrap();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("an answer within 5 s");
        if let Some(Ok(Message::Text(text))) = next {
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value.get("event").is_none() {
                return value;
            }
        } else {
            panic!("connection ended: {next:?}");
        }
    }
}

/// Binance's WebSocket API docs, "SIGNED request example (HMAC)": the request exactly as shown,
/// with the documented signature.
const DOCUMENTED: &str = r#"{"id":"4885f793-e5ad-4c3b-8f6c-55d891472b71","method":"order.place","params":{"symbol":"BTCUSDT","side":"SELL","type":"LIMIT","timeInForce":"GTC","quantity":"0.01000000","price":"52000.00","newOrderRespType":"ACK","recvWindow":100,"timestamp":1645423376532,"apiKey":"vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A","signature":"cc15477742bd704c29492d96c7ead9414dfd8e0ec4a00f947bb5bb454ddbd08a"}}"#;

#[test]
fn binances_documented_signed_request_is_accepted_and_a_changed_byte_is_refused() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url()).await.unwrap();
        sim.set_clock_skew_ms(1_645_423_376_532 + 50 - wintermute_router::order::local_ms());
        let answer = ask(&mut ws, DOCUMENTED).await;
        assert_eq!(answer["id"], "4885f793-e5ad-4c3b-8f6c-55d891472b71");
        assert_eq!(answer["status"], 200, "{answer}");
        assert_eq!(answer["result"]["symbol"], "BTCUSDT");
        assert!(answer["result"]["orderId"].is_u64());
        assert_eq!(answer["rateLimits"][0]["rateLimitType"], "ORDERS");

        sim.set_clock_skew_ms(1_645_423_376_532 + 50 - wintermute_router::order::local_ms());
        let tampered = DOCUMENTED.replace("\"52000.00\"", "\"52000.01\"");
        let answer = ask(&mut ws, &tampered).await;
        assert_eq!((answer["status"].as_u64(), answer["error"]["code"].as_i64()), (Some(400), Some(-1022)));
        sim.set_clock_skew_ms(0);
        let answer = ask(&mut ws, DOCUMENTED).await;
        assert_eq!(answer["error"]["code"], -1021, "the documented timestamp is long past: {answer}");
    });
}

#[test]
fn unreadable_frames_unknown_methods_and_unauthenticated_sessions_get_binances_codes() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let (mut ws, _) = tokio_tungstenite::connect_async(sim.ws_url()).await.unwrap();
        let answer = ask(&mut ws, "{not json").await;
        assert_eq!((answer["id"].is_null(), answer["status"].as_u64()), (true, Some(400)));
        assert_eq!(answer["error"]["code"], -1135);
        let answer = ask(&mut ws, r#"{"id":7,"method":"order.teleport"}"#).await;
        assert_eq!((answer["id"].as_u64(), answer["error"]["code"].as_i64()), (Some(7), Some(-1020)));
        let answer = ask(&mut ws, r#"{"id":8,"method":"order.place","params":{"symbol":["BTCUSDT"]}}"#).await;
        assert_eq!(answer["error"]["code"], -1135);
        let answer = ask(&mut ws, r#"{"id":9,"method":"userDataStream.subscribe"}"#).await;
        assert_eq!((answer["status"].as_u64(), answer["error"]["code"].as_i64()), (Some(400), Some(-1002)));
        let answer = ask(&mut ws, r#"{"id":10,"method":"order.place","params":{"symbol":"BTCUSDT"}}"#).await;
        assert_eq!(answer["error"]["code"], -1102, "no apiKey on a session not logged on: {answer}");
        let answer = ask(&mut ws, r#"{"id":11,"method":"v3/time"}"#).await;
        assert!(answer["result"]["serverTime"].is_i64());
        assert_eq!(answer["rateLimits"][0]["rateLimitType"], "REQUEST_WEIGHT");
        let answer = ask(&mut ws, r#"{"id":12,"method":"time","params":{"returnRateLimits":false}}"#).await;
        assert!(answer.get("rateLimits").is_none());

        // session.logon takes Ed25519 keys only.
        let signer = wintermute_router::signing::BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec());
        let now = wintermute_router::order::local_ms();
        let frame = wintermute_router::binance::ws_api::signed_request(
            13,
            "session.logon",
            vec![],
            HMAC_KEY,
            &signer,
            5000,
            now,
        );
        let answer = ask(&mut ws, &frame).await;
        assert_eq!(answer["error"]["code"], -1002);
        let ed = wintermute_router::signing::BinanceSigner::ed25519_seed(&ED_SEED).unwrap();
        let frame =
            wintermute_router::binance::ws_api::signed_request(14, "session.logon", vec![], ED_KEY, &ed, 5000, now);
        let answer = ask(&mut ws, &frame).await;
        assert_eq!(answer["result"]["apiKey"], ED_KEY, "{answer}");
        let answer = ask(&mut ws, r#"{"id":15,"method":"userDataStream.subscribe"}"#).await;
        assert_eq!(answer["result"]["subscriptionId"], 0);
        let answer = ask(&mut ws, r#"{"id":16,"method":"userDataStream.subscribe"}"#).await;
        assert_eq!(answer["error"]["code"], -2035, "one subscription per account and connection");

        let (mut quiet, _) =
            tokio_tungstenite::connect_async(format!("{}?returnRateLimits=false", sim.ws_url())).await.unwrap();
        let answer = ask(&mut quiet, r#"{"id":1,"method":"ping"}"#).await;
        assert_eq!((answer["status"].as_u64(), answer.get("rateLimits")), (Some(200), None));
        let elsewhere = tokio_tungstenite::connect_async(format!("ws://{}/ws", sim.ws_addr().unwrap())).await;
        assert!(elsewhere.is_err(), "only /ws-api/v3 is served");
    });
}

static INPUTS: AtomicU64 = AtomicU64::new(0);
static ERRORS: AtomicU64 = AtomicU64::new(0);

const PLACE: &str = r#"{"id":1,"method":"order.place","params":{"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","price":"57000.00","quantity":"0.100000","apiKey":"ed25519-test-key","timestamp":1,"signature":"AAAA"}}"#;

/// Feeds one frame to a fresh session of a running simulator, in-process; the answer must be a
/// JSON object with a status, and an error code on anything but 200.
fn feed(sim: &wintermute_router::binance::sim::BinanceSim, frame: &str) {
    INPUTS.fetch_add(1, Ordering::Relaxed);
    let mut state = sim.shared().lock();
    let mut session = state.open_session("/ws-api/v3").expect("a session");
    let frames = state.on_text(&mut session, frame);
    let answer: Value = serde_json::from_str(frames.last().expect("an answer")).expect("the answer is JSON");
    let status = answer["status"].as_u64().expect("a status");
    if status != 200 {
        assert!(answer["error"]["code"].as_i64().is_some_and(|c| c < 0), "{answer}");
        assert!(answer["error"]["msg"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
        ERRORS.fetch_add(1, Ordering::Relaxed);
    }
}

fn fuzz_sim() -> wintermute_router::binance::sim::BinanceSim {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let sim = rt.block_on(sim_with(|c| c.weight_limit_1m = u32::MAX));
    // The server's tasks stop with the runtime; the shared state is what the property feeds.
    std::mem::forget(rt);
    sim
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Random text, and a valid-looking request changed at one byte, cut short or with a
    /// parameter's value replaced, always get a JSON answer with Binance's error shape.
    #[test]
    fn garbage_and_mutated_requests_always_get_a_json_error(
        text in ".{0,200}",
        pos in 0usize..PLACE.len(),
        byte in any::<u8>(),
        cut in 0usize..PLACE.len(),
        value in prop_oneof![Just("null"), Just("-1"), Just("1e400"), Just("[1]"), Just("{}"), Just("\"\""), Just("true"), Just("99999999999999999999999")],
        field in prop_oneof![Just("\"id\":"), Just("\"method\":"), Just("\"params\":"), Just("\"price\":"), Just("\"quantity\":"), Just("\"timestamp\":"), Just("\"apiKey\":")],
    ) {
        thread_local!(static SIM: wintermute_router::binance::sim::BinanceSim = fuzz_sim());
        SIM.with(|sim| {
            feed(sim, &text);
            let mut bytes = PLACE.as_bytes().to_vec();
            bytes[pos] = byte;
            feed(sim, &String::from_utf8_lossy(&bytes));
            feed(sim, &PLACE[..cut]);
            if let Some(at) = PLACE.find(field) {
                let start = at + field.len();
                let end = start + PLACE[start..].find([',', '}']).unwrap_or(0);
                feed(sim, &format!("{}{}{}", &PLACE[..start], value, &PLACE[end..]));
            }
        });
    }
}

#[test]
fn the_fuzzed_simulator_counted_its_inputs() {
    let sim = fuzz_sim();
    let before = ERRORS.load(Ordering::Relaxed);
    feed(&sim, "\u{0}\u{ffff}");
    assert!(ERRORS.load(Ordering::Relaxed) > before);
    assert!(INPUTS.load(Ordering::Relaxed) >= 1);
}

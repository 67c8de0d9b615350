//! The Kraken simulator's WebSocket v2 front under random and mutated requests: every frame,
//! whatever it holds, gets an answer that is a JSON object with Kraken's shape (`success`, and
//! an `E...:...` error string when it is false), never a panic or silence. The requests mutated
//! are the batch, kill switch and dead man's switch methods and a plain order, each with a
//! valid token (so the parameters' checks are reached).

mod common;
mod kraken_common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use kraken_common::*;
use proptest::prelude::*;
use serde_json::Value;
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::sim::ws::WsVenue;

static INPUTS: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);
static ACCEPTED: AtomicU64 = AtomicU64::new(0);

/// The requests mutated, `TOKEN` standing for a valid token.
const TEMPLATES: [&str; 5] = [
    r#"{"method":"batch_add","params":{"orders":[{"order_type":"limit","side":"buy","order_qty":0.1,"limit_price":58000.0,"cl_ord_id":"f-1"},{"order_type":"limit","side":"sell","order_qty":0.2,"limit_price":59000.0,"post_only":true}],"symbol":"BTC/USD","token":"TOKEN"},"req_id":1}"#,
    r#"{"method":"batch_cancel","params":{"orders":["OAAAAA-AAAAA-AAAAAB","1"],"cl_ord_id":["f-1"],"token":"TOKEN"},"req_id":2}"#,
    r#"{"method":"cancel_all_orders_after","params":{"timeout":60,"token":"TOKEN"},"req_id":3}"#,
    r#"{"method":"cancel_all","params":{"token":"TOKEN"},"req_id":4}"#,
    r#"{"method":"add_order","params":{"order_type":"limit","side":"buy","order_qty":0.1,"symbol":"BTC/USD","limit_price":58000.0,"time_in_force":"ioc","token":"TOKEN"},"req_id":5}"#,
];

/// A simulator whose state the property feeds in-process, and a valid token.
fn fuzz_sim() -> &'static (KrakenSim, String) {
    static SIM: OnceLock<(KrakenSim, String)> = OnceLock::new();
    SIM.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let made = rt.block_on(async {
            let sim = sim_with(roomy).await;
            let token = client_with(&sim, ROOMY).websockets_token().await.unwrap();
            (sim, token)
        });
        // The server's tasks stop with the runtime; the shared state is what the property feeds.
        std::mem::forget(rt);
        made
    })
}

/// Feeds one frame to a fresh session; every answer must be a JSON object in Kraken's shape.
fn feed(frame: &str) {
    INPUTS.fetch_add(1, Ordering::Relaxed);
    let (sim, _) = fuzz_sim();
    let mut state = sim.shared().lock();
    let mut session = state.open_session("/v2").expect("a session");
    let answers = state.on_text(&mut session, frame);
    assert!(!answers.is_empty(), "an answer to {frame:?}");
    for answer in answers {
        let v: Value = serde_json::from_str(&answer).expect("the answer is JSON");
        if v["method"] == "pong" {
            continue;
        }
        match v["success"].as_bool() {
            Some(true) => {
                assert!(v.get("result").is_some(), "{answer}");
                ACCEPTED.fetch_add(1, Ordering::Relaxed);
            }
            Some(false) => {
                let error = v["error"].as_str().unwrap_or("");
                assert!(error.starts_with('E') && error.contains(':'), "{answer}");
                REFUSED.fetch_add(1, Ordering::Relaxed);
            }
            None => panic!("no success flag: {answer}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// Random text, and each request changed at one byte, cut short, or with a field's value
    /// swapped, always gets an answer in Kraken's shape.
    #[test]
    fn garbage_and_mutated_requests_always_get_an_answer_in_krakens_shape(
        text in ".{0,200}",
        which in 0usize..TEMPLATES.len(),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
        value in prop_oneof![Just("null"), Just("-1"), Just("1e400"), Just("[1]"), Just("{}"), Just("\"\""), Just("true"), Just("[]"), Just("99999999999999999999999"), Just("[{}]")],
        field in prop_oneof![Just("\"orders\":"), Just("\"timeout\":"), Just("\"symbol\":"), Just("\"order_qty\":"), Just("\"limit_price\":"), Just("\"cl_ord_id\":"), Just("\"params\":"), Just("\"method\":"), Just("\"req_id\":")],
    ) {
        let request = TEMPLATES[which].replace("TOKEN", &fuzz_sim().1);
        feed(&text);
        let mut bytes = request.as_bytes().to_vec();
        let at = pos.index(bytes.len());
        bytes[at] = byte;
        feed(&String::from_utf8_lossy(&bytes));
        feed(&request[..cut.index(request.len())]);
        if let Some(at) = request.find(field) {
            let start = at + field.len();
            let rest = &request[start..];
            let end = start + if rest.starts_with('[') { rest.find(']').map_or(0, |e| e + 1) } else { rest.find([',', '}']).unwrap_or(0) };
            feed(&format!("{}{}{}", &request[..start], value, &request[end..]));
        }
        feed(&request);
    }
}

#[test]
fn the_fuzzed_simulator_refuses_garbage_takes_the_valid_requests_and_counts_its_inputs() {
    let before = REFUSED.load(Ordering::Relaxed);
    feed("\u{0}\u{ffff}");
    feed(r#"{"method":"batch_add","params":{"token":"nope"},"req_id":1}"#);
    assert!(REFUSED.load(Ordering::Relaxed) >= before + 2);
    // The templates as written pass every check (the token is valid).
    let accepted = ACCEPTED.load(Ordering::Relaxed);
    for template in [TEMPLATES[2], TEMPLATES[3]] {
        feed(&template.replace("TOKEN", &fuzz_sim().1));
    }
    assert!(ACCEPTED.load(Ordering::Relaxed) >= accepted + 2);
    assert!(INPUTS.load(Ordering::Relaxed) >= 4);
}

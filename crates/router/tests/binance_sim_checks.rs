//! The simulator refuses what Binance refuses, with Binance's status, code and message: raw
//! HTTP requests over 127.0.0.1, signed (or mis-signed) by hand.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use wintermute_router::signing::BinanceSigner;

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn signed(params: &str) -> String {
    let sig = BinanceSigner::hmac_sha256(HMAC_SECRET.as_bytes().to_vec()).sign(params);
    format!("/api/v3/order?{params}&signature={sig}")
}

const ORDER: &str = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=57000";

async fn expect(addr: std::net::SocketAddr, target: &str, key: Option<&str>, status: u16, code: i64, msg: &str) {
    let (got_status, _, body) = raw(addr, "POST", target, key).await;
    assert_eq!((got_status, body["code"].as_i64(), body["msg"].as_str()), (status, Some(code), Some(msg)), "{target}");
}

#[test]
fn a_well_signed_order_is_accepted_and_answers_carry_the_weight_and_order_count_headers() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let target = signed(&format!("{ORDER}&newClientOrderId=ok-1&timestamp={}", now_ms()));
        let (status, head, body) = raw(sim.addr(), "POST", &target, Some(HMAC_KEY)).await;
        assert_eq!((status, body["status"].as_str(), body["clientOrderId"].as_str()), (200, Some("NEW"), Some("ok-1")));
        assert!(head.contains("x-mbx-used-weight-1m: "), "{head}");
        assert!(head.contains("x-mbx-order-count-10s: 1"), "{head}");
        assert!(head.contains("x-mbx-order-count-1d: 1"), "{head}");
    });
}

#[test]
fn a_wrong_signature_a_stale_or_future_timestamp_and_a_bad_key_get_binances_errors() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let a = sim.addr();
        let now = now_ms();
        let good = signed(&format!("{ORDER}&timestamp={now}"));
        let tampered = good.replace("price=57000", "price=57001");
        expect(a, &tampered, Some(HMAC_KEY), 400, -1022, "Signature for this request is not valid.").await;
        let stale = signed(&format!("{ORDER}&recvWindow=5000&timestamp={}", now - 6000));
        expect(a, &stale, Some(HMAC_KEY), 400, -1021, "Timestamp for this request is outside of the recvWindow.").await;
        let ahead = signed(&format!("{ORDER}&timestamp={}", now + 5000));
        expect(a, &ahead, Some(HMAC_KEY), 400, -1021, "Timestamp for this request is outside of the recvWindow.").await;
        let wide = signed(&format!("{ORDER}&recvWindow=70000&timestamp={now}"));
        expect(a, &wide, Some(HMAC_KEY), 400, -1131, "recvWindow must be less than 60000").await;
        expect(a, &good, Some("nobody"), 401, -2015, "Invalid API-key, IP, or permissions for action.").await;
        expect(a, &good, None, 401, -2014, "API-key format invalid.").await;
        expect(
            a,
            &format!("/api/v3/order?{ORDER}&timestamp={now}"),
            Some(HMAC_KEY),
            400,
            -1102,
            "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
        )
        .await;
        let ed = signed(&format!("{ORDER}&timestamp={now}"));
        expect(a, &ed, Some(ED_KEY), 400, -1022, "Signature for this request is not valid.").await;
        assert_eq!(sim.open_order_count("BTCUSDT"), 0, "no refused request touched the book");
    });
}

#[test]
fn bad_parameters_and_filter_failures_get_binances_codes() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let a = sim.addr();
        let t = now_ms();
        let cases: &[(&str, i64, &str)] = &[
            ("symbol=NOPE&side=BUY&type=MARKET&quantity=1", -1121, "Invalid symbol."),
            ("symbol=BTCUSDT&side=UP&type=MARKET&quantity=1", -1117, "Invalid side."),
            ("symbol=BTCUSDT&side=BUY&type=STOP&quantity=1", -1116, "Invalid orderType."),
            ("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=1", -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed."),
            ("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=DAY&quantity=1&price=1", -1115, "Invalid timeInForce."),
            ("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1&price=1", -1106, "Parameter 'price' sent when not required."),
            ("symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1e5", -1100, "Illegal characters found in parameter 'quantity'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'."),
            ("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=57000.001", -1013, "Filter failure: PRICE_FILTER"),
            ("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.0100001&price=57000", -1013, "Filter failure: LOT_SIZE"),
            ("symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=57000&newClientOrderId=bad%20id", -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[a-zA-Z0-9-_]{1,36}$'."),
            ("symbol=BTCUSDT&symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1", -1101, "Duplicate values for a parameter detected."),
        ];
        for (params, code, msg) in cases {
            expect(a, &signed(&format!("{params}&timestamp={t}")), Some(HMAC_KEY), 400, *code, msg).await;
        }
        let (status, _, body) =
            raw(a, "DELETE", &signed(&format!("symbol=BTCUSDT&timestamp={t}")), Some(HMAC_KEY)).await;
        assert_eq!((status, body["code"].as_i64()), (400, Some(-1102)));
        let (status, _, body) =
            raw(a, "GET", &signed(&format!("symbol=BTCUSDT&orderId=1&timestamp={t}")), Some(HMAC_KEY)).await;
        assert_eq!(
            (status, body["code"].as_i64(), body["msg"].as_str()),
            (400, Some(-2013), Some("Order does not exist."))
        );
        assert!(sim.trades().is_empty() && sim.open_order_count("BTCUSDT") == 0);
    });
}

#[test]
fn past_the_weight_limit_the_answer_is_429_with_retry_after_and_binances_body() {
    run(async {
        let sim = sim_with(|cfg| cfg.weight_limit_1m = 3).await;
        let mut last = (0, String::new(), serde_json::Value::Null);
        for _ in 0..10 {
            last = raw(sim.addr(), "GET", "/api/v3/time", None).await;
            if last.0 == 429 {
                break;
            }
        }
        let (status, head, body) = last;
        assert_eq!(status, 429);
        assert!(head.contains("retry-after: "), "{head}");
        assert_eq!(body["code"].as_i64(), Some(-1003));
        assert!(body["msg"]
            .as_str()
            .unwrap()
            .starts_with("Too much request weight used; current limit is 3 request weight per 1 MINUTE."));
    });
}

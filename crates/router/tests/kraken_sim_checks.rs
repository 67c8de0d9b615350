//! The Kraken simulator checks keys, signatures, nonces and parameters the way Kraken does,
//! answering with Kraken's own error strings: crafted requests over 127.0.0.1.

mod common;
mod kraken_common;

use bytes::Bytes;
use common::run;
use http_body_util::Full;
use hyper::Request;
use kraken_common::*;
use serde_json::Value;
use wintermute_core::decimal::Decimal;
use wintermute_router::http::HttpConnection;
use wintermute_router::kraken::sim::KrakenSim;
use wintermute_router::order::OrderType;
use wintermute_router::order_state::Side;
use wintermute_router::signing::KrakenSigner;

/// POSTs `body` to `path` with this key, signed with `secret` over `sign_body` (normally the
/// body itself), and returns the answer's JSON.
async fn post(sim: &KrakenSim, path: &str, key: &str, secret: &str, body: &str, sign_body: &str) -> Value {
    let nonce = form_urlencoded::parse(sign_body.as_bytes()).find(|(k, _)| k == "nonce").map(|(_, v)| v.into_owned());
    let sign = KrakenSigner::new(secret).unwrap().api_sign(path, &nonce.unwrap_or_default(), sign_body);
    let request = Request::builder()
        .method("POST")
        .uri(path)
        .header("host", sim.addr().to_string())
        .header("api-key", key)
        .header("api-sign", sign)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let answer = HttpConnection::new(sim.addr()).send(request).await.unwrap();
    assert_eq!(answer.status, 200, "Kraken answers errors with 200 and an error list");
    serde_json::from_slice(&answer.body).unwrap()
}

async fn signed(sim: &KrakenSim, method: &str, body: &str) -> Value {
    let path = format!("/0/private/{method}");
    post(sim, &path, KEY, SECRET, body, body).await
}

fn errors(answer: &Value) -> Vec<String> {
    answer["error"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_bad_key_a_wrong_signature_and_a_reused_nonce_get_krakens_errors() {
    run(async {
        let sim = sim_with(|_| {}).await;
        let body = "nonce=1000&ordertype=limit&pair=XBTUSD&price=58000.0&type=buy&volume=0.01&oflags=post";
        let path = "/0/private/AddOrder";
        let unknown_key = post(&sim, path, "nobody", SECRET, body, body).await;
        assert_eq!(errors(&unknown_key), ["EAPI:Invalid key"]);
        let wrong_secret = post(&sim, path, KEY, OTHER_SECRET, body, body).await;
        assert_eq!(errors(&wrong_secret), ["EAPI:Invalid signature"]);
        // Signed over one body, sent with another (the volume changed on the way).
        let tampered = post(&sim, path, KEY, SECRET, &body.replace("0.01", "0.02"), body).await;
        assert_eq!(errors(&tampered), ["EAPI:Invalid signature"]);
        assert_eq!(sim.last_nonce(KEY), 0, "refused requests use no nonce");
        let ok = signed(&sim, "AddOrder", body).await;
        assert_eq!(errors(&ok), Vec::<String>::new());
        assert_eq!(ok["result"]["descr"]["order"], "buy 0.01 XBTUSD @ limit 58000.0");
        let reused = signed(&sim, "AddOrder", body).await;
        assert_eq!(errors(&reused), ["EAPI:Invalid nonce"]);
        let lower = signed(&sim, "Balance", "nonce=999").await;
        assert_eq!(errors(&lower), ["EAPI:Invalid nonce"]);
        assert_eq!(sim.open_order_count(), 1);
    });
}

#[test]
fn parameters_are_checked_with_krakens_argument_errors() {
    run(async {
        let sim = sim_with(roomy).await;
        let cases = [
            ("ordertype=limit&pair=XBTUSD&price=58000.0&type=hold&volume=0.01", "EGeneral:Invalid arguments:type"),
            ("ordertype=stop&pair=XBTUSD&price=58000.0&type=buy&volume=0.01", "EGeneral:Invalid arguments:ordertype"),
            ("ordertype=limit&pair=XBTUSD&type=buy&volume=0.01", "EGeneral:Invalid arguments:price"),
            ("ordertype=market&pair=XBTUSD&price=1.0&type=buy&volume=0.01", "EGeneral:Invalid arguments:price"),
            (
                "ordertype=limit&pair=XBTUSD&price=58000.0&type=buy&volume=0.000000001",
                "EGeneral:Invalid arguments:volume",
            ),
            ("ordertype=limit&pair=XBTUSD&price=58000.0&type=buy&volume=abc", "EGeneral:Invalid arguments:volume"),
            (
                "ordertype=limit&pair=XBTUSD&price=58000.05&type=buy&volume=0.01",
                "EOrder:Invalid price:XBTUSD price can only be specified up to 1 decimals.",
            ),
            ("ordertype=limit&pair=DOGEUSD&price=1.0&type=buy&volume=1", "EQuery:Unknown asset pair"),
            (
                "ordertype=limit&pair=XBTUSD&price=58000.0&type=buy&volume=0.01&oflags=post&timeinforce=IOC",
                "EGeneral:Invalid arguments:timeinforce",
            ),
            (
                "ordertype=limit&pair=XBTUSD&price=58000.0&type=buy&volume=0.01&oflags=stealth",
                "EGeneral:Invalid arguments:oflags",
            ),
            (
                "ordertype=limit&pair=XBTUSD&price=58000.0&type=buy&volume=0.01&cl_ord_id=much-too-long-for-free-text",
                "EGeneral:Invalid arguments:cl_ord_id",
            ),
            (
                "ordertype=limit&pair=XBTUSD&price=58000.0&type=buy&volume=0.01&cl_ord_id=a&userref=1",
                "EGeneral:Invalid arguments:cl_ord_id",
            ),
            (
                "ordertype=limit&pair=XBTUSD&price=58000.0&type=buy&volume=0.01&volume=0.02",
                "EGeneral:Invalid arguments",
            ),
        ];
        for (i, (params, error)) in cases.iter().enumerate() {
            let answer = signed(&sim, "AddOrder", &format!("nonce={}&{params}", i + 1)).await;
            assert_eq!(errors(&answer), [*error], "{params}");
        }
        let first = "ordertype=limit&pair=XBTUSD&price=58000.0&type=buy&volume=0.01&oflags=post&cl_ord_id=twice";
        assert_eq!(errors(&signed(&sim, "AddOrder", &format!("nonce=98&{first}")).await), Vec::<String>::new());
        let again = signed(&sim, "AddOrder", &format!("nonce=99&{first}")).await;
        assert_eq!(errors(&again), ["EOrder:Duplicate cl_ord_id"]);
        let cancel = signed(&sim, "CancelOrder", "nonce=100&cl_ord_id=twice").await;
        assert_eq!(cancel["result"]["count"], 1);
        let unknown = signed(&sim, "Withdraw", "nonce=100").await;
        assert_eq!(errors(&unknown), ["EGeneral:Unknown method"]);
        let cancel = signed(&sim, "CancelOrder", "nonce=101&txid=OAAAAA-AAAAA-AAAAAB").await;
        assert_eq!(errors(&cancel), ["EOrder:Unknown order"]);
        let validate = signed(
            &sim,
            "AddOrder",
            "nonce=102&ordertype=limit&pair=XXBTZUSD&price=58000.0&type=buy&volume=0.01&validate=true",
        )
        .await;
        assert!(validate["result"]["txid"].is_null(), "validate only: {validate}");
        assert_eq!(sim.open_order_count(), 0);
    });
}

#[test]
fn public_time_and_asset_pairs_and_the_clients_grid_from_them() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let now = client.server_time().await.unwrap();
        assert!((now - wintermute_router::order::local_ms() / 1000).abs() <= 1);
        let pairs = client.load_pairs(&["XBTUSD"]).await.unwrap();
        assert_eq!(pairs, vec![pair()], "tick 0.1, lot 10^-8, fees in ZUSD");
        let mut conn = HttpConnection::new(sim.addr());
        let request =
            |uri: &str| Request::builder().uri(uri).header("host", "x").body(Full::new(Bytes::new())).unwrap();
        let info: Value =
            serde_json::from_slice(&conn.send(request("/0/public/AssetPairs")).await.unwrap().body).unwrap();
        let xbt = &info["result"]["XXBTZUSD"];
        assert_eq!(
            (xbt["altname"].as_str(), xbt["pair_decimals"].as_u64(), xbt["lot_decimals"].as_u64()),
            (Some("XBTUSD"), Some(1), Some(8))
        );
        assert_eq!(xbt["ordermin"], "0.0001");
        let unknown: Value =
            serde_json::from_slice(&conn.send(request("/0/public/AssetPairs?pair=DOGEUSD")).await.unwrap().body)
                .unwrap();
        assert_eq!(errors(&unknown), ["EQuery:Unknown asset pair"]);
    });
}

#[test]
fn balances_move_exactly_with_each_trade_and_its_quote_fee() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut client = client_with(&sim, ROOMY);
        let before = client.balance().await.unwrap();
        assert_eq!(before["ZUSD"], Decimal::parse("1000000.0000").unwrap());
        client.place(&order("b-1", Side::Buy, "0.45", OrderType::Market)).await.unwrap();
        let after = client.balance().await.unwrap();
        // 0.45 at 58729.4 = 26428.23, fee 0.26 % = 68.713398.
        assert_eq!(after["XXBT"].to_string(), "0.45000000");
        assert_eq!(after["ZUSD"].to_string(), "973503.056602000");
    });
}

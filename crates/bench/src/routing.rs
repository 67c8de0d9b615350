//! Order routing's first edge, timed per call: an order decision -> the signed request a venue
//! takes, for each venue and key type (the Rust side of `wintermute bench routing`, which
//! times ccxt's `create_order` building the same requests in the same run).
//!
//! Each edge is one LIMIT IOC buy with a client order id, as the router's clients send it:
//!
//! | edge | what is built |
//! |---|---|
//! | `binance-hmac` | the `POST /api/v3/order` query (symbol, side, type, timeInForce, quantity, price, newClientOrderId, recvWindow, timestamp) and its HMAC-SHA256 `signature` |
//! | `binance-ed25519` | the same query signed with an Ed25519 key (base64 `signature`) |
//! | `kraken` | the `AddOrder` form body (nonce, ordertype, type, volume, pair, price, timeinforce, cl_ord_id) and its `API-Sign` (HMAC-SHA512 over the path and SHA-256 of nonce + body) |
//! | `coinbase` | the `POST /api/v3/brokerage/orders` JSON body and its ES256 JWT |
//!
//! Keys: Binance's and Kraken's documented example secrets, a fixed Ed25519 seed, a fresh
//! P-256 key. Quantities and prices are integer lots and ticks turned into the venue's decimal
//! text by the instrument's grid, as on the live path.

use std::hint::black_box;
use std::time::Instant;

use serde::Serialize;
use wintermute_router::binance::client::{sign_query, NewOrder, TimeInForce};
use wintermute_router::binance::reports::BinanceInstrument;
use wintermute_router::coinbase::client::create_order_body;
use wintermute_router::coinbase::reports::CoinbaseProduct;
use wintermute_router::kraken::client::add_order_body;
use wintermute_router::kraken::reports::KrakenPair;
use wintermute_router::order::OrderType;
use wintermute_router::order_state::Side;
use wintermute_router::signing::{BinanceSigner, CoinbaseJwtSigner, KrakenSigner};

/// The HMAC secret of Binance's signing example (its API documentation).
pub const BINANCE_HMAC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
/// The Ed25519 seed of the Binance key (32 bytes of 7).
pub const BINANCE_ED25519_SEED: [u8; 32] = [7; 32];
/// The secret of Kraken's `API-Sign` example (its REST documentation).
pub const KRAKEN_SECRET: &str =
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";

/// One edge's per-call latency over `rounds` calls (after a tenth as many untimed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EdgeTiming {
    /// `binance-hmac`, `binance-ed25519`, `kraken`, `coinbase`.
    pub edge: &'static str,
    /// Timed calls.
    pub rounds: usize,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub max_ns: u64,
    /// Bytes of the last request built (the query or body, plus the signature or token).
    pub request_bytes: usize,
}

fn time_edge(edge: &'static str, rounds: usize, mut build: impl FnMut(usize) -> usize) -> EdgeTiming {
    for i in 0..rounds / 10 {
        black_box(build(i));
    }
    let mut request_bytes = 0;
    let mut ns: Vec<u64> = (0..rounds.max(1))
        .map(|i| {
            let t = Instant::now();
            request_bytes = black_box(build(i));
            t.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    let pct = |p: f64| ns[((ns.len() as f64 * p) as usize).min(ns.len() - 1)];
    EdgeTiming { edge, rounds: ns.len(), p50_ns: pct(0.50), p99_ns: pct(0.99), max_ns: pct(1.0), request_bytes }
}

fn order(symbol: &str, client_order_id: String, qty: i64, price: i64) -> NewOrder {
    NewOrder {
        symbol: symbol.into(),
        client_order_id,
        side: Side::Buy,
        qty,
        order_type: OrderType::Limit { price, tif: TimeInForce::Ioc },
    }
}

/// Times every edge of the module's table, `rounds` calls each.
pub fn sign_edges(rounds: usize) -> Vec<EdgeTiming> {
    let btc = BinanceInstrument::new("BTCUSDT", "0.01", "0.00001").expect("a valid grid");
    let hmac = BinanceSigner::hmac_sha256(BINANCE_HMAC_SECRET.as_bytes().to_vec());
    let ed = BinanceSigner::ed25519_seed(&BINANCE_ED25519_SEED).expect("a 32-byte seed");
    let binance = |signer: &BinanceSigner, i: usize| {
        let mut q = order("BTCUSDT", format!("wm{i}"), 12_345, 5_800_104).query(&btc);
        sign_query(&mut q, signer, 5000, 1_700_000_000_000 + i as i64);
        q.len()
    };
    let kraken = KrakenSigner::new(KRAKEN_SECRET).expect("the documented secret");
    let xbt = KrakenPair::new("XBTUSD", "0.1", "0.00000001", "ZUSD").expect("a valid grid");
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("a P-256 key");
    let coinbase = CoinbaseJwtSigner::new("organizations/o/apiKeys/k", pkcs8.as_ref()).expect("a P-256 key");
    let band = CoinbaseProduct::new("BAND-GBP", "0.0001", "0.01", "GBP").expect("a valid grid");
    vec![
        time_edge("binance-hmac", rounds, |i| binance(&hmac, i)),
        time_edge("binance-ed25519", rounds, |i| binance(&ed, i)),
        time_edge("kraken", rounds, |i| {
            let nonce = 1_616_492_376_594_000 + i as u64;
            let client_id = format!("00000000-0000-0007-8000-{i:012}");
            let body = add_order_body(&order("XBTUSD", client_id, 12_345_000, 587_294), &xbt, nonce);
            let sign = kraken.api_sign("/0/private/AddOrder", &nonce.to_string(), &body);
            body.len() + sign.len()
        }),
        time_edge("coinbase", rounds, |i| {
            let body = create_order_body(&order("BAND-GBP", format!("wm{i}"), 3000, 148_069), &band);
            let token =
                coinbase.token("POST", "api.coinbase.com", "/api/v3/brokerage/orders", 1_700_000_000 + i as i64);
            body.len() + token.len()
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_edge_is_timed_and_builds_a_signed_request() {
        let edges = sign_edges(50);
        let names: Vec<_> = edges.iter().map(|e| e.edge).collect();
        assert_eq!(names, ["binance-hmac", "binance-ed25519", "kraken", "coinbase"]);
        for e in &edges {
            assert_eq!(e.rounds, 50, "{e:?}");
            assert!(e.p50_ns <= e.p99_ns && e.p99_ns <= e.max_ns, "{e:?}");
            assert!(e.max_ns > 0, "{e:?}");
        }
        // An HMAC-SHA256 signature is 64 hex digits; Ed25519's is 88 base64 characters (URL-encoded).
        assert!(edges[1].request_bytes > edges[0].request_bytes, "{edges:?}");
        // A JWT is three base64url parts: far longer than the body alone.
        assert!(edges[3].request_bytes > 300, "{edges:?}");
    }
}

//! Shared set-up of the Coinbase end-to-end tests: a simulator serving BAND-GBP from the
//! recorded Coinbase level2 snapshot (2021-04-17), and clients with a fresh ES256 key.
#![allow(dead_code)]

use std::path::Path;

use wintermute_feeds::recording::{read_recording, records, Record};
use wintermute_router::coinbase::client::CoinbaseRestClient;
use wintermute_router::coinbase::reports::CoinbaseProduct;
use wintermute_router::coinbase::sim::{CoinbaseSim, CoinbaseSimConfig, SimSymbol};
use wintermute_router::order::{NewOrder, OrderType, TimeInForce};
use wintermute_router::order_state::Side;
use wintermute_router::signing::CoinbaseJwtSigner;

pub const KEY_NAME: &str = "organizations/sim/apiKeys/test";
pub const HOST: &str = "api.coinbase.com";

/// A fresh P-256 key, PKCS#8.
pub fn pkcs8() -> Vec<u8> {
    let rng = ring::rand::SystemRandom::new();
    ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .unwrap()
        .as_ref()
        .to_vec()
}

/// The first BAND-GBP snapshot of the recorded session (`{"type":"snapshot","bids":..,"asks":..}`).
pub fn band_gbp() -> SimSymbol {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/coinbase/coinbase_exchange_2021-04-17_level2_ticker_matches.cfraw.txt");
    let text = read_recording(&path).expect("the recorded Coinbase session is readable");
    let snapshot = records(&text)
        .filter_map(Result::ok)
        .find_map(|r| match r {
            Record::Received { payload, .. }
                if payload.contains("\"type\":\"snapshot\"") && payload.contains("\"product_id\":\"BAND-GBP\"") =>
            {
                Some(payload.into_owned())
            }
            _ => None,
        })
        .expect("the recording holds a BAND-GBP snapshot");
    SimSymbol::from_depth_snapshot("BAND-GBP", ("BAND", "GBP"), ("0.0001", "0.01"), &snapshot).unwrap()
}

pub fn product() -> CoinbaseProduct {
    CoinbaseProduct::new("BAND-GBP", "0.0001", "0.01", "GBP").unwrap()
}

/// A simulator knowing the public key of `key` (PKCS#8), and a client signing with it.
pub async fn sim_and_client(
    key: &[u8],
    config: impl FnOnce(&mut CoinbaseSimConfig),
) -> (CoinbaseSim, CoinbaseRestClient) {
    let signer = CoinbaseJwtSigner::new(KEY_NAME, key).unwrap();
    let mut cfg = CoinbaseSimConfig::new(vec![band_gbp()], vec![(KEY_NAME.into(), signer.public_key())]);
    config(&mut cfg);
    let sim = CoinbaseSim::start(cfg).await.unwrap();
    let client = CoinbaseRestClient::new(sim.addr(), HOST, signer, vec![product()]);
    (sim, client)
}

pub fn ticks(price: &str) -> i64 {
    product().instrument.tick_size.units_of(price).unwrap()
}

pub fn lots(qty: &str) -> i64 {
    product().instrument.step_size.units_of(qty).unwrap()
}

pub fn order(id: &str, side: Side, qty: &str, order_type: OrderType) -> NewOrder {
    NewOrder { symbol: "BAND-GBP".into(), client_order_id: id.into(), side, qty: lots(qty), order_type }
}

pub fn limit(price: &str, tif: TimeInForce) -> OrderType {
    OrderType::Limit { price: ticks(price), tif }
}

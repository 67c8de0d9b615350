//! Shared set-up of the Kraken end-to-end tests: a simulator serving XBTUSD from the recorded
//! Kraken book (WebSocket v1, depth 1000, 2021-04-05), and clients with the documented key.
#![allow(dead_code)]

use std::path::Path;

use wintermute_core::decimal::Decimal;
use wintermute_feeds::kraken::{KrakenMessage, KrakenParser};
use wintermute_feeds::recording::{read_recording, records, Record};
use wintermute_router::kraken::client::KrakenRestClient;
use wintermute_router::kraken::rate::Tier;
use wintermute_router::kraken::reports::KrakenPair;
use wintermute_router::kraken::sim::{KrakenSim, KrakenSimConfig, KrakenSimPair, SimSymbol};
use wintermute_router::order::{NewOrder, OrderType, TimeInForce};
use wintermute_router::order_state::Side;
use wintermute_router::signing::KrakenSigner;

pub const KEY: &str = "kraken-test-key";
/// The secret of Kraken's documented `API-Sign` example.
pub const SECRET: &str = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
pub const OTHER_SECRET: &str = "c2VjcmV0LW9mLWFub3RoZXIta2V5LXRoYXQtaXMtbm90LXJlZ2lzdGVyZWQ=";

/// Price and volume text of one level.
pub type Level = (String, String);

/// The first XBT/USD book snapshot of the recorded session: (bids, asks).
pub fn recorded_xbtusd_book() -> (Vec<Level>, Vec<Level>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt");
    let text = read_recording(&path).expect("the recorded Kraken session is readable");
    let mut parser = KrakenParser::new();
    for record in records(&text).filter_map(Result::ok) {
        let Record::Received { payload, .. } = record else { continue };
        let Ok(KrakenMessage::Book { snapshot: true, parts, levels, .. }) = parser.parse(&payload) else { continue };
        let Some(part) = parts.iter().find(|p| p.symbol.as_str() == "XBT/USD") else { continue };
        let (mut bids, mut asks) = (Vec::new(), Vec::new());
        for level in KrakenMessage::part_levels(levels, part) {
            let entry = (level.price.as_str().to_owned(), level.qty.as_str().to_owned());
            match level.side {
                wintermute_core::Side::Buy => bids.push(entry),
                wintermute_core::Side::Sell => asks.push(entry),
            }
        }
        return (bids, asks);
    }
    panic!("the recording holds an XBT/USD book snapshot");
}

pub fn xbtusd() -> KrakenSimPair {
    let (bids, asks) = recorded_xbtusd_book();
    let symbol = SimSymbol::from_levels(
        "XBTUSD",
        ("XXBT", "ZUSD"),
        ("0.1", "0.00000001"),
        bids.iter().map(|(p, q)| (p.as_str(), q.as_str())),
        asks.iter().map(|(p, q)| (p.as_str(), q.as_str())),
    )
    .unwrap();
    KrakenSimPair {
        symbol,
        name: "XXBTZUSD".into(),
        wsname: "XBT/USD".into(),
        ordermin: Decimal::parse("0.0001").unwrap(),
        costmin: Decimal::parse("0.5").unwrap(),
    }
}

pub fn pair() -> KrakenPair {
    KrakenPair::new("XBTUSD", "0.1", "0.00000001", "ZUSD").unwrap()
}

pub async fn sim_with(config: impl FnOnce(&mut KrakenSimConfig)) -> KrakenSim {
    let mut cfg = KrakenSimConfig::new(vec![xbtusd()], vec![(KEY.into(), SECRET.into())]);
    cfg.balances = vec![("ZUSD".into(), Decimal::parse("1000000.0000").unwrap())];
    config(&mut cfg);
    KrakenSim::start(cfg).await.unwrap()
}

/// A client with the Pro tier's counters (the simulator's Starter counter is then the one that
/// refuses first, unless a test says otherwise).
pub fn client_with(sim: &KrakenSim, tier: Tier) -> KrakenRestClient {
    KrakenRestClient::new(sim.addr(), KEY, KrakenSigner::new(SECRET).unwrap(), vec![pair()], tier)
}

/// A client on the simulator's own tier (Starter).
pub fn client(sim: &KrakenSim) -> KrakenRestClient {
    client_with(sim, Tier::STARTER)
}

/// A simulator and clients with a counter roomy enough for the test's calls.
pub fn roomy(cfg: &mut KrakenSimConfig) {
    cfg.tier = ROOMY;
}

pub const ROOMY: Tier = Tier {
    api_max: 100_000,
    api_decay_milli_per_s: 1_000_000,
    trading_max: 100_000,
    trading_decay_milli_per_s: 1_000_000,
};

pub fn ticks(price: &str) -> i64 {
    pair().instrument.tick_size.units_of(price).unwrap()
}

pub fn lots(qty: &str) -> i64 {
    pair().instrument.step_size.units_of(qty).unwrap()
}

pub fn order(id: &str, side: Side, qty: &str, order_type: OrderType) -> NewOrder {
    NewOrder { symbol: "XBTUSD".into(), client_order_id: id.into(), side, qty: lots(qty), order_type }
}

pub fn limit(price: &str, tif: TimeInForce) -> OrderType {
    OrderType::Limit { price: ticks(price), tif }
}

pub fn post_only(price: &str) -> OrderType {
    OrderType::PostOnly { price: ticks(price) }
}

/// XBTUSD as the WebSocket v2 API names it (`BTC/USD`).
pub fn ws_pair() -> wintermute_router::kraken::ws_messages::KrakenWsPair {
    wintermute_router::kraken::ws_messages::KrakenWsPair { pair: pair(), symbol: "BTC/USD".into() }
}

/// Funds checked, with these balances (asset, decimal text).
pub fn funded(cfg: &mut KrakenSimConfig, balances: &[(&str, &str)]) {
    cfg.check_funds = true;
    cfg.balances = balances.iter().map(|(a, b)| ((*a).to_owned(), Decimal::parse(b).unwrap())).collect();
}

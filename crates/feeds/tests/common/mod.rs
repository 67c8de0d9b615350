//! Helpers shared by the integration tests: the recorded sessions in `data/`.
#![allow(dead_code)]

use wintermute_feeds::recording::{records, Record};

pub const BINANCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/binance/binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade.cfraw.txt"
);
pub const COINBASE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/coinbase/coinbase_exchange_2021-04-17_level2_ticker_matches.cfraw.txt"
);
pub const KRAKEN_BOOK: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt");
pub const KRAKEN_TRADE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/kraken/kraken_ws1_2021-04-05_trade.cfraw.txt");
pub const KRAKEN_TICKER: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/kraken/kraken_ws1_2021-04-05_ticker.cfraw.txt");

pub fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Owned records of a recording file.
pub fn load(path: &str) -> Vec<Record<'static>> {
    let text = read(path);
    records(&text)
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{path}: {e}"));
            match r {
                Record::Connect { conn, url, ts } => Record::Connect { conn, url: url.into_owned().into(), ts },
                Record::Sent { conn, url, ts, payload } => {
                    Record::Sent { conn, url: url.into_owned().into(), ts, payload: payload.into_owned().into() }
                }
                Record::Received { conn, ts, payload } => {
                    Record::Received { conn, ts, payload: payload.into_owned().into() }
                }
                Record::Http { conn, url, ts, body } => {
                    Record::Http { conn, url: url.into_owned().into(), ts, body: body.into_owned().into() }
                }
            }
        })
        .collect()
}

/// The received frames only.
pub fn frames(recs: &[Record<'static>]) -> Vec<String> {
    recs.iter()
        .filter_map(|r| match r {
            Record::Received { payload, .. } => Some(payload.to_string()),
            _ => None,
        })
        .collect()
}

/// The symbols a recorded session's first subscribe frame names under `key` (`pair` for Kraken,
/// `product_ids` for Coinbase).
pub fn subscribed(path: &str, key: &str) -> Vec<String> {
    let text = read(path);
    for r in records(&text) {
        if let Ok(Record::Sent { payload, .. }) = r {
            let v: serde_json::Value = serde_json::from_str(&payload).unwrap();
            return v[key].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
        }
    }
    panic!("no subscribe in {path}")
}

//! Where each venue lives and what it expects to be sent: URLs and subscribe messages, per
//! [`Protocol`].
//!
//! The shapes follow `exchange-feeds.md`:
//!
//! | protocol | WebSocket | subscribe | book resync |
//! |---|---|---|---|
//! | Binance spot | `wss://stream.binance.com:9443/stream?streams=<sym>@depth@100ms/…` (combined) | none: the streams are in the URL | REST `GET /api/v3/depth?symbol=SYM&limit=N` |
//! | Coinbase Exchange | `wss://ws-feed.exchange.coinbase.com` | `{"type":"subscribe","product_ids":[…],"channels":[…]}` within 5 s | resubscribe (a new `snapshot`) |
//! | Coinbase Advanced Trade | `wss://advanced-trade-ws.coinbase.com` | one `{"type":"subscribe","product_ids":[…],"channel":C}` per channel (`level2`, `market_trades`, `heartbeats`) | resubscribe `level2` (a new snapshot) |
//! | Kraken v1 | `wss://ws.kraken.com` | `{"event":"subscribe","pair":[…],"subscription":{"name":"book","depth":N}}` | resubscribe (a new snapshot) |
//! | Kraken v2 | `wss://ws.kraken.com/v2` | `{"method":"subscribe","params":{"channel":"book","symbol":[…],"depth":N,"snapshot":true}}` | resubscribe (a new snapshot) |
//!
//! Keepalive: a WebSocket ping, except Kraken, which wants its application-level ping
//! (`{"event":"ping"}` in v1, `{"method":"ping"}` in v2).
//!
//! Every URL can be overridden (tests point them at the [replay server](super::replay_server) on
//! 127.0.0.1), so nothing here decides *where* a connector goes, only *what* it says.

use std::fmt;
use std::str::FromStr;

use crate::error::FeedError;
use crate::message::Venue;

/// Binance spot combined-stream endpoint.
pub const BINANCE_WS: &str = "wss://stream.binance.com:9443";
/// Binance spot REST base URL.
pub const BINANCE_REST: &str = "https://api.binance.com";
/// Coinbase Exchange feed.
pub const COINBASE_WS: &str = "wss://ws-feed.exchange.coinbase.com";
/// Coinbase Advanced Trade market-data feed.
pub const COINBASE_ADVANCED_WS: &str = "wss://advanced-trade-ws.coinbase.com";
/// Kraken WebSocket v1.
pub const KRAKEN_WS: &str = "wss://ws.kraken.com";
/// Kraken WebSocket v2.
pub const KRAKEN_V2_WS: &str = "wss://ws.kraken.com/v2";

/// Coinbase Exchange channels subscribed by default: `level2_batch` (the unauthenticated
/// `level2`), `ticker` (cross-checks the top of book), `matches` (trades) and `heartbeat` (keeps
/// a quiet connection from looking dead).
pub const COINBASE_CHANNELS: &[&str] = &["level2_batch", "ticker", "matches", "heartbeat"];

/// Coinbase Advanced Trade channels subscribed by default: `level2` (book, with the
/// per-connection `sequence_num`), `market_trades`, and `heartbeats` (channels close after
/// 60-90 s without updates otherwise).
pub const COINBASE_ADVANCED_CHANNELS: &[&str] = &["level2", "market_trades", "heartbeats"];

/// A venue's WebSocket API: what a connector says and how it keeps the connection alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Binance spot streams (+ REST depth snapshots).
    BinanceSpot,
    /// Coinbase Exchange feed (`level2_batch` snapshot + `l2update`, `matches`).
    CoinbaseExchange,
    /// Coinbase Advanced Trade (`level2` → `l2_data` with `sequence_num`, `market_trades`).
    CoinbaseAdvanced,
    /// Kraken WebSocket v1 (book with CRC-32 on updates).
    KrakenV1,
    /// Kraken WebSocket v2 (book with CRC-32 on snapshots and updates).
    KrakenV2,
}

impl Protocol {
    /// Every protocol, in a stable order.
    pub const ALL: [Protocol; 5] = [
        Protocol::BinanceSpot,
        Protocol::CoinbaseExchange,
        Protocol::CoinbaseAdvanced,
        Protocol::KrakenV1,
        Protocol::KrakenV2,
    ];

    /// The venue.
    pub const fn venue(self) -> Venue {
        match self {
            Protocol::BinanceSpot => Venue::Binance,
            Protocol::CoinbaseExchange | Protocol::CoinbaseAdvanced => Venue::Coinbase,
            Protocol::KrakenV1 | Protocol::KrakenV2 => Venue::Kraken,
        }
    }

    /// The protocol a venue's connector uses unless told otherwise: Binance spot, Coinbase
    /// Exchange (`level2_batch` needs no authentication), Kraken v1 (the recorded sessions').
    pub const fn default_for(venue: Venue) -> Protocol {
        match venue {
            Venue::Binance => Protocol::BinanceSpot,
            Venue::Coinbase => Protocol::CoinbaseExchange,
            Venue::Kraken => Protocol::KrakenV1,
        }
    }

    /// The name used in configs and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::BinanceSpot => "binance",
            Protocol::CoinbaseExchange => "coinbase",
            Protocol::CoinbaseAdvanced => "coinbase-advanced",
            Protocol::KrakenV1 => "kraken",
            Protocol::KrakenV2 => "kraken-v2",
        }
    }

    /// The live WebSocket base URL.
    pub const fn default_ws(self) -> &'static str {
        match self {
            Protocol::BinanceSpot => BINANCE_WS,
            Protocol::CoinbaseExchange => COINBASE_WS,
            Protocol::CoinbaseAdvanced => COINBASE_ADVANCED_WS,
            Protocol::KrakenV1 => KRAKEN_WS,
            Protocol::KrakenV2 => KRAKEN_V2_WS,
        }
    }

    /// Channels subscribed by default (Coinbase; empty for the others).
    pub fn default_channels(self) -> Vec<String> {
        let list: &[&str] = match self {
            Protocol::CoinbaseExchange => COINBASE_CHANNELS,
            Protocol::CoinbaseAdvanced => COINBASE_ADVANCED_CHANNELS,
            _ => &[],
        };
        list.iter().map(|c| c.to_string()).collect()
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = FeedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| FeedError::Config {
            field: "protocol",
            reason: format!("unknown protocol {s:?}; one of {}", Protocol::ALL.map(Protocol::name).join(", ")),
        })
    }
}

/// The default WebSocket base URL of a venue (its default protocol's).
pub fn default_ws(venue: Venue) -> &'static str {
    Protocol::default_for(venue).default_ws()
}

/// The URL a connector opens. Binance puts its streams in the URL (combined form,
/// `/stream?streams=a/b/c`, lowercase symbols): a diff-depth stream and an `aggTrade` stream per
/// symbol. The others connect to the base URL as is.
pub fn ws_url(protocol: Protocol, base: &str, symbols: &[String], binance_depth_stream: &str) -> String {
    match protocol {
        Protocol::BinanceSpot => {
            let mut streams = Vec::with_capacity(symbols.len() * 2);
            for s in symbols {
                streams.push(format!("{}@{binance_depth_stream}", s.to_ascii_lowercase()));
            }
            for s in symbols {
                streams.push(format!("{}@aggTrade", s.to_ascii_lowercase()));
            }
            format!("{}/stream?streams={}", base.trim_end_matches('/'), streams.join("/"))
        }
        _ => base.to_string(),
    }
}

/// The Binance REST depth-snapshot URL for one symbol (`limit` is capped at 5000 by Binance).
pub fn binance_snapshot_url(rest_base: &str, symbol: &str, limit: u32) -> String {
    format!("{}/api/v3/depth?symbol={}&limit={limit}", rest_base.trim_end_matches('/'), symbol.to_ascii_uppercase())
}

fn kraken_book(method: &str, protocol: Protocol, symbols: &[String], depth: usize) -> String {
    match protocol {
        Protocol::KrakenV2 => serde_json::json!({
            "method": method,
            "params": {"channel": "book", "symbol": symbols, "depth": depth, "snapshot": true}
        })
        .to_string(),
        _ => serde_json::json!({
            "event": method, "pair": symbols, "subscription": {"name": "book", "depth": depth}
        })
        .to_string(),
    }
}

fn coinbase_frames(kind: &str, protocol: Protocol, symbols: &[String], channels: &[String]) -> Vec<String> {
    match protocol {
        Protocol::CoinbaseAdvanced => channels
            .iter()
            .map(|c| serde_json::json!({"type": kind, "product_ids": symbols, "channel": c}).to_string())
            .collect(),
        _ => vec![serde_json::json!({"type": kind, "product_ids": symbols, "channels": channels}).to_string()],
    }
}

/// The frames that subscribe to `symbols` (empty for Binance, whose streams are in the URL).
pub fn subscribe_frames(
    protocol: Protocol,
    symbols: &[String],
    kraken_depth: usize,
    channels: &[String],
) -> Vec<String> {
    if symbols.is_empty() {
        return Vec::new();
    }
    match protocol.venue() {
        Venue::Binance => Vec::new(),
        Venue::Coinbase => coinbase_frames("subscribe", protocol, symbols, channels),
        Venue::Kraken => vec![kraken_book("subscribe", protocol, symbols, kraken_depth)],
    }
}

/// The frames that drop and re-request `symbols`' books, so the venue sends fresh snapshots
/// (Coinbase and Kraken; Binance resyncs over REST instead).
pub fn resubscribe_frames(
    protocol: Protocol,
    symbols: &[String],
    kraken_depth: usize,
    channels: &[String],
) -> Vec<String> {
    match protocol.venue() {
        Venue::Binance => Vec::new(),
        Venue::Coinbase => {
            let book: Vec<String> = channels.iter().filter(|c| c.starts_with("level2")).cloned().collect();
            let mut out = coinbase_frames("unsubscribe", protocol, symbols, &book);
            out.extend(coinbase_frames("subscribe", protocol, symbols, &book));
            out
        }
        Venue::Kraken => {
            vec![
                kraken_book("unsubscribe", protocol, symbols, kraken_depth),
                kraken_book("subscribe", protocol, symbols, kraken_depth),
            ]
        }
    }
}

/// The application-level ping a protocol wants instead of a WebSocket ping (Kraken: v1
/// `{"event":"ping","reqid":N}`, answered by `{"event":"pong"}`; v2 `{"method":"ping","req_id":N}`).
pub fn app_ping(protocol: Protocol, reqid: u64) -> Option<String> {
    match protocol {
        Protocol::KrakenV1 => Some(format!(r#"{{"event":"ping","reqid":{reqid}}}"#)),
        Protocol::KrakenV2 => Some(format!(r#"{{"method":"ping","req_id":{reqid}}}"#)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shapes() {
        let syms = vec!["BTCUSDT".to_string(), "ETHUSDT".to_string()];
        assert_eq!(
            ws_url(Protocol::BinanceSpot, "ws://127.0.0.1:9/", &syms, "depth@100ms"),
            "ws://127.0.0.1:9/stream?streams=btcusdt@depth@100ms/ethusdt@depth@100ms/btcusdt@aggTrade/ethusdt@aggTrade"
        );
        assert_eq!(
            binance_snapshot_url("http://h", "btcusdt", 1000),
            "http://h/api/v3/depth?symbol=BTCUSDT&limit=1000"
        );
        let k = subscribe_frames(Protocol::KrakenV1, &["XBT/USD".to_string()], 1000, &[]);
        assert_eq!(k, [r#"{"event":"subscribe","pair":["XBT/USD"],"subscription":{"depth":1000,"name":"book"}}"#]);
        assert_eq!(crate::kraken::subscribe_depth(&k[0]), Some(1000));
        let chans: Vec<String> = COINBASE_CHANNELS.iter().map(|c| c.to_string()).collect();
        let c = subscribe_frames(Protocol::CoinbaseExchange, &["BTC-USD".to_string()], 0, &chans);
        assert_eq!(
            c,
            [
                r#"{"channels":["level2_batch","ticker","matches","heartbeat"],"product_ids":["BTC-USD"],"type":"subscribe"}"#
            ]
        );
        let r = resubscribe_frames(Protocol::CoinbaseExchange, &["BTC-USD".to_string()], 0, &chans);
        assert!(r[0].contains("unsubscribe") && r[1].contains(r#""channels":["level2_batch"]"#));
    }

    #[test]
    fn second_protocols() {
        let syms = vec!["BTC/USD".to_string()];
        let v2 = subscribe_frames(Protocol::KrakenV2, &syms, 25, &[]);
        assert_eq!(
            v2,
            [r#"{"method":"subscribe","params":{"channel":"book","depth":25,"snapshot":true,"symbol":["BTC/USD"]}}"#]
        );
        assert_eq!(crate::kraken::subscribe_depth(&v2[0]), Some(25));
        let r = resubscribe_frames(Protocol::KrakenV2, &syms, 25, &[]);
        assert!(r[0].starts_with(r#"{"method":"unsubscribe""#) && r[1] == v2[0]);
        let chans = Protocol::CoinbaseAdvanced.default_channels();
        let at = subscribe_frames(Protocol::CoinbaseAdvanced, &["BTC-USD".to_string()], 0, &chans);
        assert_eq!(at.len(), 3);
        assert_eq!(at[0], r#"{"channel":"level2","product_ids":["BTC-USD"],"type":"subscribe"}"#);
        let r = resubscribe_frames(Protocol::CoinbaseAdvanced, &["BTC-USD".to_string()], 0, &chans);
        assert_eq!(r.len(), 2);
        assert!(r[0].contains("unsubscribe") && r[1].contains(r#""channel":"level2""#));
        assert_eq!(app_ping(Protocol::KrakenV2, 3).unwrap(), r#"{"method":"ping","req_id":3}"#);
        assert_eq!(app_ping(Protocol::CoinbaseAdvanced, 3), None);
        for p in Protocol::ALL {
            assert_eq!(p.name().parse::<Protocol>().unwrap(), p);
            assert_eq!(Protocol::default_for(p.venue()).venue(), p.venue());
        }
        assert!("kraken-v3".parse::<Protocol>().is_err());
    }
}

//! Where each venue lives and what it expects to be sent: URLs and subscribe messages.
//!
//! The shapes follow `exchange-feeds.md`:
//!
//! | venue | WebSocket | subscribe | book resync |
//! |---|---|---|---|
//! | Binance spot | `wss://stream.binance.com:9443/stream?streams=<sym>@depth@100ms/…` (combined) | none: the streams are in the URL | REST `GET /api/v3/depth?symbol=SYM&limit=N` |
//! | Coinbase Exchange | `wss://ws-feed.exchange.coinbase.com` | `{"type":"subscribe","product_ids":[…],"channels":[…]}` within 5 s | resubscribe (a new `snapshot`) |
//! | Kraken v1 | `wss://ws.kraken.com` | `{"event":"subscribe","pair":[…],"subscription":{"name":"book","depth":N}}` | resubscribe (a new snapshot) |
//!
//! Every URL can be overridden (tests point them at the [replay server](super::replay_server) on
//! 127.0.0.1), so nothing here decides *where* a connector goes, only *what* it says.

use crate::message::Venue;

/// Binance spot combined-stream endpoint.
pub const BINANCE_WS: &str = "wss://stream.binance.com:9443";
/// Binance spot REST base URL.
pub const BINANCE_REST: &str = "https://api.binance.com";
/// Coinbase Exchange feed.
pub const COINBASE_WS: &str = "wss://ws-feed.exchange.coinbase.com";
/// Kraken WebSocket v1.
pub const KRAKEN_WS: &str = "wss://ws.kraken.com";

/// Coinbase channels subscribed by default: `level2_batch` (the unauthenticated `level2`),
/// `ticker` (cross-checks the top of book), `matches` (trades) and `heartbeat` (keeps a quiet
/// connection from looking dead).
pub const COINBASE_CHANNELS: &[&str] = &["level2_batch", "ticker", "matches", "heartbeat"];

/// The default WebSocket base URL of a venue.
pub fn default_ws(venue: Venue) -> &'static str {
    match venue {
        Venue::Binance => BINANCE_WS,
        Venue::Coinbase => COINBASE_WS,
        Venue::Kraken => KRAKEN_WS,
    }
}

/// The URL a connector opens. Binance puts its streams in the URL (combined form,
/// `/stream?streams=a/b/c`, lowercase symbols): a diff-depth stream and an `aggTrade` stream per
/// symbol. The others connect to the base URL as is.
pub fn ws_url(venue: Venue, base: &str, symbols: &[String], binance_depth_stream: &str) -> String {
    match venue {
        Venue::Binance => {
            let mut streams = Vec::with_capacity(symbols.len() * 2);
            for s in symbols {
                streams.push(format!("{}@{binance_depth_stream}", s.to_ascii_lowercase()));
            }
            for s in symbols {
                streams.push(format!("{}@aggTrade", s.to_ascii_lowercase()));
            }
            format!("{}/stream?streams={}", base.trim_end_matches('/'), streams.join("/"))
        }
        Venue::Coinbase | Venue::Kraken => base.to_string(),
    }
}

/// The Binance REST depth-snapshot URL for one symbol (`limit` is capped at 5000 by Binance).
pub fn binance_snapshot_url(rest_base: &str, symbol: &str, limit: u32) -> String {
    format!("{}/api/v3/depth?symbol={}&limit={limit}", rest_base.trim_end_matches('/'), symbol.to_ascii_uppercase())
}

/// The frames that subscribe to `symbols` (empty for Binance, whose streams are in the URL).
pub fn subscribe_frames(venue: Venue, symbols: &[String], kraken_depth: usize, channels: &[String]) -> Vec<String> {
    if symbols.is_empty() {
        return Vec::new();
    }
    match venue {
        Venue::Binance => Vec::new(),
        Venue::Coinbase => {
            let msg = serde_json::json!({"type": "subscribe", "product_ids": symbols, "channels": channels});
            vec![msg.to_string()]
        }
        Venue::Kraken => {
            let book = serde_json::json!({
                "event": "subscribe", "pair": symbols, "subscription": {"name": "book", "depth": kraken_depth}
            });
            vec![book.to_string()]
        }
    }
}

/// The frames that drop and re-request `symbols`' books, so the venue sends fresh snapshots
/// (Coinbase and Kraken; Binance resyncs over REST instead).
pub fn resubscribe_frames(venue: Venue, symbols: &[String], kraken_depth: usize, channels: &[String]) -> Vec<String> {
    match venue {
        Venue::Binance => Vec::new(),
        Venue::Coinbase => {
            let book: Vec<&String> = channels.iter().filter(|c| c.starts_with("level2")).collect();
            let unsub = serde_json::json!({"type": "unsubscribe", "product_ids": symbols, "channels": book});
            let sub = serde_json::json!({"type": "subscribe", "product_ids": symbols, "channels": book});
            vec![unsub.to_string(), sub.to_string()]
        }
        Venue::Kraken => {
            let unsub = serde_json::json!({
                "event": "unsubscribe", "pair": symbols, "subscription": {"name": "book", "depth": kraken_depth}
            });
            let mut out = vec![unsub.to_string()];
            out.extend(subscribe_frames(venue, symbols, kraken_depth, channels));
            out
        }
    }
}

/// Kraken's application-level ping (v1); Kraken answers `{"event":"pong","reqid":N}`.
pub fn kraken_ping(reqid: u64) -> String {
    format!(r#"{{"event":"ping","reqid":{reqid}}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_shapes() {
        let syms = vec!["BTCUSDT".to_string(), "ETHUSDT".to_string()];
        assert_eq!(
            ws_url(Venue::Binance, "ws://127.0.0.1:9/", &syms, "depth@100ms"),
            "ws://127.0.0.1:9/stream?streams=btcusdt@depth@100ms/ethusdt@depth@100ms/btcusdt@aggTrade/ethusdt@aggTrade"
        );
        assert_eq!(
            binance_snapshot_url("http://h", "btcusdt", 1000),
            "http://h/api/v3/depth?symbol=BTCUSDT&limit=1000"
        );
        let k = subscribe_frames(Venue::Kraken, &["XBT/USD".to_string()], 1000, &[]);
        assert_eq!(k, [r#"{"event":"subscribe","pair":["XBT/USD"],"subscription":{"depth":1000,"name":"book"}}"#]);
        assert_eq!(crate::kraken::subscribe_depth(&k[0]), Some(1000));
        let chans: Vec<String> = COINBASE_CHANNELS.iter().map(|c| c.to_string()).collect();
        let c = subscribe_frames(Venue::Coinbase, &["BTC-USD".to_string()], 0, &chans);
        assert_eq!(
            c,
            [
                r#"{"channels":["level2_batch","ticker","matches","heartbeat"],"product_ids":["BTC-USD"],"type":"subscribe"}"#
            ]
        );
        let r = resubscribe_frames(Venue::Coinbase, &["BTC-USD".to_string()], 0, &chans);
        assert!(r[0].contains("unsubscribe") && r[1].contains(r#""channels":["level2_batch"]"#));
    }
}

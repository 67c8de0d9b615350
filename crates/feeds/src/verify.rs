//! `verify`: replay a recording through the parsers and book builders, and report per stream.
//!
//! This is what `wintermute feeds verify FILE [--json]` runs. Any of the three recording formats
//! is accepted ([`crate::recording`]); each connection's venue comes from its URL, and frames on a
//! connection whose URL is unknown are recognised by their shape. The report lists every
//! (venue, symbol) stream, sorted, with its counters and final top of book:
//!
//! ```json
//! {"streams": [{"venue": "kraken", "symbol": "XBT/USD", "messages": 5789, "snapshots": 1,
//!   "updates": 5788, "checksum_ok": 5788, "checksum_bad": 0, "gaps": 0, "resyncs": 0,
//!   "crossed": 0, "best_bid": "58732.00000", "best_ask": "58732.30000", "errors": 0}],
//!  "errors": 0}
//! ```
//!
//! `best_bid`/`best_ask` are the exchange's exact decimal text, or `null` when the book is not
//! live. The top-level `errors` counts lines and frames that could not be attributed to a stream
//! (malformed recording lines, unparseable frames, unknown message types).
//!
//! ```no_run
//! let report = wintermute_feeds::verify_path(std::path::Path::new("session.cfraw.txt"))?;
//! println!("{}", report.to_json());
//! # Ok::<(), wintermute_feeds::FeedError>(())
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::book::L2Book;
use crate::error::FeedError;
use crate::message::Venue;
use crate::recording::{read_recording, records, Record};
use crate::sync::{BinanceBooks, BookView, CoinbaseBooks, FeedHandler, KrakenBooks, SyncState};

/// Counters and final top of book of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamReport {
    /// Venue.
    pub venue: Venue,
    /// Symbol as the venue writes it.
    pub symbol: String,
    /// Frames attributed to the stream.
    pub messages: u64,
    /// Snapshots received.
    pub snapshots: u64,
    /// Updates applied.
    pub updates: u64,
    /// Checksums matched.
    pub checksum_ok: u64,
    /// Checksums failed.
    pub checksum_bad: u64,
    /// Sequence gaps.
    pub gaps: u64,
    /// Books discarded.
    pub resyncs: u64,
    /// Applied messages after which the book was crossed.
    pub crossed: u64,
    /// Best bid at the end (exact text), if the book is live.
    pub best_bid: Option<String>,
    /// Best ask at the end (exact text), if the book is live.
    pub best_ask: Option<String>,
    /// Malformed frames attributed to the stream.
    pub errors: u64,
}

/// The result of [`verify_path`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// One entry per (venue, symbol), sorted by venue then symbol.
    pub streams: Vec<StreamReport>,
    /// Lines and frames not attributable to a stream.
    pub errors: u64,
}

impl VerifyReport {
    /// The report as JSON (the shape in the module docs).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The stream of (`venue`, `symbol`), if present.
    pub fn stream(&self, venue: Venue, symbol: &str) -> Option<&StreamReport> {
        self.streams.iter().find(|s| s.venue == venue && s.symbol == symbol)
    }
}

/// Recognises a venue from a URL.
pub fn venue_from_url(url: &str) -> Option<Venue> {
    let host = url.split("://").nth(1).unwrap_or(url);
    let host = host.split(['/', '?']).next().unwrap_or(host);
    if host.contains("binance") {
        Some(Venue::Binance)
    } else if host.contains("coinbase") {
        Some(Venue::Coinbase)
    } else if host.contains("kraken") {
        Some(Venue::Kraken)
    } else {
        None
    }
}

/// Recognises a venue from a frame's shape.
pub fn venue_from_payload(payload: &str) -> Option<Venue> {
    let p = payload.trim_start();
    let has = |keys: &[&str]| keys.iter().any(|k| p.contains(k));
    if p.starts_with('[') {
        Some(Venue::Kraken)
    } else if has(&["\"sequence_num\"", "\"product_id\""]) {
        Some(Venue::Coinbase)
    } else if has(&["\"event\":", "\"channel\":", "\"method\":"]) {
        Some(Venue::Kraken)
    } else if has(&["\"stream\":", "\"e\":\"", "\"lastUpdateId\"", "\"result\":"]) {
        Some(Venue::Binance)
    } else if has(&["\"type\":"]) {
        Some(Venue::Coinbase)
    } else {
        None
    }
}

/// Replays records into the three venues' builders.
#[derive(Debug, Clone, Default)]
pub struct Replay {
    /// Binance builder.
    pub binance: BinanceBooks,
    /// Coinbase builder.
    pub coinbase: CoinbaseBooks,
    /// Kraken builder.
    pub kraken: KrakenBooks,
    conn_venue: HashMap<u32, Venue>,
    errors: u64,
}

impl Replay {
    /// Empty builders.
    pub fn new() -> Self {
        Self::default()
    }

    fn handler(&mut self, venue: Venue) -> &mut dyn FeedHandler<Book = L2Book> {
        match venue {
            Venue::Binance => &mut self.binance,
            Venue::Coinbase => &mut self.coinbase,
            Venue::Kraken => &mut self.kraken,
        }
    }

    /// Feeds one record; errors are counted, never fatal.
    pub fn feed(&mut self, record: &Record<'_>) {
        match record {
            Record::Connect { conn, url, .. } => {
                if let Some(v) = venue_from_url(url) {
                    self.conn_venue.insert(*conn, v);
                    self.handler(v).on_connect(*conn, url);
                }
            }
            Record::Sent { conn, url, payload, .. } => {
                let venue = venue_from_url(url)
                    .or_else(|| self.conn_venue.get(conn).copied())
                    .or_else(|| venue_from_payload(payload));
                if let Some(v) = venue {
                    self.handler(v).on_sent(*conn, payload);
                }
            }
            Record::Received { conn, payload, .. } => {
                let venue = self.conn_venue.get(conn).copied().or_else(|| venue_from_payload(payload));
                match venue {
                    // Errors are counted by the builder.
                    Some(v) => drop(self.handler(v).on_frame(*conn, payload)),
                    None => self.errors += 1,
                }
            }
            Record::Http { conn, url, body, .. } => {
                let venue = venue_from_url(url).or_else(|| self.conn_venue.get(conn).copied());
                match venue {
                    Some(v) => drop(self.handler(v).on_http(*conn, url, body)),
                    None => self.errors += 1,
                }
            }
        }
    }

    /// Counts a malformed recording line.
    pub fn note_error(&mut self) {
        self.errors += 1;
    }

    /// The report for everything fed so far.
    pub fn report(&self) -> VerifyReport {
        let handlers: [&dyn FeedHandler<Book = L2Book>; 3] = [&self.binance, &self.coinbase, &self.kraken];
        let mut report = VerifyReport { streams: Vec::new(), errors: self.errors };
        for h in handlers {
            let part = handler_report(h);
            report.errors += part.errors;
            report.streams.extend(part.streams);
        }
        report.streams.sort_by(|a, b| (a.venue, &a.symbol).cmp(&(b.venue, &b.symbol)));
        report
    }
}

/// The report of one builder (what a live connector shows; the same shape as [`verify_path`]'s).
pub fn handler_report<H: FeedHandler + ?Sized>(handler: &H) -> VerifyReport {
    let mut streams: Vec<StreamReport> = handler.streams().into_iter().map(stream_report).collect();
    streams.sort_by(|a, b| (a.venue, &a.symbol).cmp(&(b.venue, &b.symbol)));
    VerifyReport { streams, errors: handler.unattributed_errors() }
}

/// The report line of one stream.
///
/// Prices are the exact decimal of the book: the exchange's text for the decimal builders, the
/// canonical text of ticks × tick size for integer books (`58001.03` for `58001.03000000`).
pub fn stream_report<B: BookView>(s: &crate::sync::BookStream<B>) -> StreamReport {
    let live = s.state == SyncState::Live;
    let text = |l: Option<crate::book::Level>| l.filter(|_| live).map(|l| l.price.as_str().to_string());
    let st = &s.stats;
    StreamReport {
        venue: s.venue,
        symbol: s.symbol.as_str().to_string(),
        messages: st.messages,
        snapshots: st.snapshots,
        updates: st.updates,
        checksum_ok: st.checksum_ok,
        checksum_bad: st.checksum_bad,
        gaps: st.gaps,
        resyncs: st.resyncs,
        crossed: st.crossed,
        best_bid: text(s.book.best_bid_level()),
        best_ask: text(s.book.best_ask_level()),
        errors: st.errors,
    }
}

/// Replays a recording given as text.
pub fn verify_str(text: &str) -> VerifyReport {
    let mut replay = Replay::new();
    for record in records(text) {
        match record {
            Ok(r) => replay.feed(&r),
            Err(_) => replay.note_error(),
        }
    }
    replay.report()
}

/// Replays a recording file (cryptofeed text, cryptofeed JSON lines or Wintermute format).
pub fn verify_path(path: &Path) -> Result<VerifyReport, FeedError> {
    let text = read_recording(path)?;
    Ok(verify_str(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_venues() {
        assert_eq!(venue_from_url("wss://stream.binance.com:9443/stream?streams=a"), Some(Venue::Binance));
        assert_eq!(venue_from_url("wss://ws-feed.pro.coinbase.com"), Some(Venue::Coinbase));
        assert_eq!(venue_from_url("wss://ws.kraken.com/v2"), Some(Venue::Kraken));
        assert_eq!(venue_from_url("wss://example.com/?x=binance"), None);
        assert_eq!(venue_from_payload(r#"[1,{"a":[]},"book-10","X"]"#), Some(Venue::Kraken));
        assert_eq!(venue_from_payload(r#"{"channel":"book","type":"update"}"#), Some(Venue::Kraken));
        assert_eq!(venue_from_payload(r#"{"channel":"l2_data","sequence_num":1}"#), Some(Venue::Coinbase));
        assert_eq!(venue_from_payload(r#"{"type":"l2update","product_id":"X"}"#), Some(Venue::Coinbase));
        assert_eq!(venue_from_payload(r#"{"stream":"x","data":{}}"#), Some(Venue::Binance));
        assert_eq!(venue_from_payload(r#"{"result":null,"id":1}"#), Some(Venue::Binance));
        let v2 = r#"{"method":"subscribe","result":{"channel":"book","symbol":"BTC/USD"},"success":true}"#;
        assert_eq!(venue_from_payload(v2), Some(Venue::Kraken));
        let subs = r#"{"type":"subscriptions","channels":[{"name":"level2","product_ids":["X"]}]}"#;
        assert_eq!(venue_from_payload(subs), Some(Venue::Coinbase));
        assert_eq!(venue_from_payload("hello"), None);
    }

    #[test]
    fn report_json_has_the_documented_shape() {
        let text = "wss://ws.kraken.com <-> 1.0\n\
            1.1: [1,{\"as\":[[\"2.0\",\"1.0\",\"0\"]],\"bs\":[[\"1.0\",\"3\",\"0\"]]},\"book-10\",\"XBT/USD\"]\n\
            1.2: not json\n";
        let report = verify_str(text);
        let v: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let s = &v["streams"][0];
        let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "venue",
            "symbol",
            "messages",
            "snapshots",
            "updates",
            "checksum_ok",
            "checksum_bad",
            "gaps",
            "resyncs",
            "crossed",
            "best_bid",
            "best_ask",
            "errors",
        ] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        assert_eq!(s["venue"], "kraken");
        assert_eq!(s["symbol"], "XBT/USD");
        assert_eq!(s["best_bid"], "1.0");
        assert_eq!(s["best_ask"], "2.0");
        assert_eq!(v["errors"], 1);
    }
}

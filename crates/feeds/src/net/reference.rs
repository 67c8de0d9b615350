//! The replay server's picture of the "exchange": the recorded frames it has served so far, run
//! through this crate's own book builders, so it can answer the way a real venue does when a
//! client asks for a *fresh* snapshot after a gap, a checksum mismatch or a reconnect.
//!
//! * Binance: a REST depth snapshot of the reference book, with `lastUpdateId` = the last update
//!   id the server has sent for the symbol (what Binance's matching engine would report).
//! * Kraken v1: `[0,{"as":[[p,q,"0.000000"],…],"bs":[…]},"book-N","PAIR"]`.
//! * Coinbase Exchange: `{"type":"snapshot","product_id":P,"bids":[[p,s],…],"asks":[…]}`.
//!
//! The reference is fed with the recording's *original* frames, whatever faults the server
//! injects on the wire, so a client that resyncs from these snapshots ends with the book the
//! recording implies. Levels keep the exchange's exact text, so Kraken's checksums of the later
//! recorded updates still verify against a synthesized snapshot.

use std::collections::HashMap;
use std::fmt::Write;

use crate::binance::{BinanceMessage, BinanceParser};
use crate::book::{L2Book, Level};
use crate::kraken::{KrakenMessage, KrakenParser};
use crate::message::Venue;
use crate::sync::{BinanceBooks, BookStream, CoinbaseBooks, FeedHandler, KrakenBooks, SyncState};

/// Reference books of one venue (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Reference {
    binance: BinanceBooks,
    coinbase: CoinbaseBooks,
    kraken: KrakenBooks,
    binance_parser: BinanceParser,
    kraken_parser: KrakenParser,
    binance_ids: HashMap<String, u64>,
    kraken_depths: HashMap<String, usize>,
}

fn push_levels<'a>(out: &mut String, levels: impl Iterator<Item = &'a Level>, limit: usize, kraken: bool) {
    out.push('[');
    for (i, l) in levels.take(limit).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let (p, q) = (l.price.as_str(), l.qty.as_str());
        if kraken {
            let _ = write!(out, r#"["{p}","{q}","0.000000"]"#);
        } else {
            let _ = write!(out, r#"["{p}","{q}"]"#);
        }
    }
    out.push(']');
}

impl Reference {
    /// Feeds one recorded frame of `venue`.
    pub(crate) fn feed_frame(&mut self, venue: Venue, payload: &str) {
        match venue {
            Venue::Binance => {
                if let Ok(BinanceMessage::Depth(d)) = self.binance_parser.parse(payload) {
                    let id = self.binance_ids.entry(d.symbol.as_str().to_string()).or_default();
                    *id = (*id).max(d.final_update_id);
                }
                drop(self.binance.on_frame(0, payload));
            }
            Venue::Coinbase => drop(self.coinbase.on_frame(0, payload)),
            Venue::Kraken => {
                // v1 snapshots (`"as":`) name the depth in their channel name (`book-1000`).
                let snapshot = payload.starts_with('[') && payload.contains(r#""as":"#);
                let parsed = if snapshot { self.kraken_parser.parse(payload).ok() } else { None };
                if let Some(KrakenMessage::Book { depth: Some(depth), parts, .. }) = parsed {
                    for p in parts {
                        self.kraken_depths.insert(p.symbol.as_str().to_string(), depth);
                    }
                }
                drop(self.kraken.on_frame(0, payload));
            }
        }
    }

    /// Feeds a recorded REST snapshot (Binance).
    pub(crate) fn feed_http(&mut self, url: &str, body: &str) {
        if let (Some(sym), Ok(snap)) = (crate::binance::snapshot_symbol(url), self.binance_parser.parse_snapshot(body))
        {
            let id = self.binance_ids.entry(sym.to_ascii_uppercase()).or_default();
            *id = (*id).max(snap.last_update_id);
        }
        drop(self.binance.on_http(0, url, body));
    }

    fn live<'a>(streams: Vec<&'a BookStream>, symbol: &str) -> Option<&'a BookStream> {
        streams.into_iter().find(|s| s.symbol.as_str() == symbol && s.state == SyncState::Live)
    }

    /// A Binance REST snapshot of `symbol`'s reference book, if it is live.
    pub(crate) fn binance_snapshot(&self, symbol: &str, limit: usize) -> Option<String> {
        let s = Self::live(self.binance.streams(), symbol)?;
        let id = self.binance_ids.get(symbol)?;
        let mut out = format!(r#"{{"lastUpdateId":{id},"bids":"#);
        push_levels(&mut out, s.book.bids(), limit, false);
        out.push_str(r#","asks":"#);
        push_levels(&mut out, s.book.asks(), limit, false);
        out.push('}');
        Some(out)
    }

    /// Snapshot frames for the live reference books of `symbols` (all live books when empty), in
    /// the venue's WebSocket protocol (Coinbase, Kraken).
    pub(crate) fn snapshot_frames(&self, venue: Venue, symbols: &[String]) -> Vec<String> {
        let streams = match venue {
            Venue::Binance => return Vec::new(),
            Venue::Coinbase => self.coinbase.streams(),
            Venue::Kraken => self.kraken.streams(),
        };
        let mut live: Vec<&BookStream> = streams
            .into_iter()
            .filter(|s| s.state == SyncState::Live)
            .filter(|s| symbols.is_empty() || symbols.iter().any(|x| x == s.symbol.as_str()))
            .collect();
        live.sort_by_key(|s| s.symbol);
        live.iter().map(|s| Self::snapshot_frame(venue, s.symbol.as_str(), &s.book, &self.kraken_depths)).collect()
    }

    fn snapshot_frame(venue: Venue, symbol: &str, book: &L2Book, depths: &HashMap<String, usize>) -> String {
        let all = usize::MAX;
        match venue {
            Venue::Kraken => {
                let depth = depths.get(symbol).copied().unwrap_or(crate::sync::kraken::DEFAULT_DEPTH);
                let mut out = String::from(r#"[0,{"as":"#);
                push_levels(&mut out, book.asks(), all, true);
                out.push_str(r#","bs":"#);
                push_levels(&mut out, book.bids(), all, true);
                let _ = write!(out, r#"}},"book-{depth}","{symbol}"]"#);
                out
            }
            _ => {
                let mut out = format!(r#"{{"type":"snapshot","product_id":"{symbol}","bids":"#);
                push_levels(&mut out, book.bids(), all, false);
                out.push_str(r#","asks":"#);
                push_levels(&mut out, book.asks(), all, false);
                out.push('}');
                out
            }
        }
    }
}

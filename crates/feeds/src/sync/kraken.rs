//! Kraken (v1 and v2): snapshot, then updates verified by the CRC-32 checksum.
//!
//! Per symbol: a snapshot loads the book (and is verified too when it carries a checksum, as in
//! v2); each update message is applied whole, in entry order, then each side is truncated to the
//! subscribed depth (Kraken does not delete levels that fall out of scope), then the checksum of
//! the top 10 levels is compared with the one sent. A mismatch discards the book until the next
//! snapshot (in a live session: resubscribe).
//!
//! The depth comes, in order of preference, from the v1 channel name (`book-1000`), from a
//! subscription reply, from the last subscribe request we sent ([`FeedHandler::on_sent`]), or is
//! Kraken's default of 10.

use std::collections::HashMap;

use crate::error::FeedError;
use crate::kraken::{checksum, subscribe_depth, KrakenMessage, KrakenParser};
use crate::message::{Symbol, Trade, Venue};
use crate::normalized::Tap;
use crate::sync::{BookStream, FeedEvent, FeedHandler, ResyncReason, Streams, SyncState};
use wintermute_core::decimal::InlineStr;

/// Kraken's default book depth.
pub const DEFAULT_DEPTH: usize = 10;

/// Book builder for Kraken (all pairs of a session).
#[derive(Debug, Clone)]
pub struct KrakenBooks {
    parser: KrakenParser,
    streams: Streams,
    depths: HashMap<Symbol, usize>,
    requested_depth: usize,
    trades: Vec<Trade>,
    errors: u64,
    tap: Tap,
}

impl Default for KrakenBooks {
    fn default() -> Self {
        KrakenBooks {
            parser: KrakenParser::default(),
            streams: Streams::default(),
            depths: HashMap::new(),
            requested_depth: DEFAULT_DEPTH,
            trades: Vec::new(),
            errors: 0,
            tap: Tap::default(),
        }
    }
}

impl KrakenBooks {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stream of `pair`, if seen.
    pub fn stream(&self, pair: &str) -> Option<&BookStream> {
        self.streams.get(&InlineStr::new(pair).ok()?)
    }

    /// Trades of the last trade frame.
    pub fn last_trades(&self) -> &[Trade] {
        &self.trades
    }
}

/// The pair named at the end of a Kraken v1 book frame (`[chan, {..}, .., "book-10", "XBT/USD"]`),
/// read from its tail alone, for frames whose body does not parse.
fn v1_book_frame_pair(payload: &str) -> Option<&str> {
    let head = payload.trim_end().strip_suffix("\"]")?;
    let (rest, pair) = head.rsplit_once('"')?;
    let rest = rest.trim_end().strip_suffix(',')?.trim_end().strip_suffix('"')?;
    let (_, channel) = rest.rsplit_once('"')?;
    channel.starts_with("book").then_some(pair)
}

/// Whether a frame is a Kraken v2 book message (`{"channel":"book",…`), read from its head.
fn is_v2_book_frame(payload: &str) -> bool {
    let t = payload.trim_start();
    let head = t.get(..48).unwrap_or(t);
    t.starts_with('{') && (head.contains(r#""channel":"book""#) || head.contains(r#""channel": "book""#))
}

/// Whether an unparseable frame is the head of a v1 book message (`[chan,{"a"…`, `{"b"…`,
/// `{"as"…`, `{"bs"…`) that is not complete JSON: a book update cut short.
fn is_cut_v1_book_frame(payload: &str) -> bool {
    let t = payload.trim_start();
    let Some(rest) = t.strip_prefix('[') else { return false };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rest = rest[digits..].trim_start();
    let book_body = [r#",{"a""#, r#",{"b""#, r#",{"as""#, r#",{"bs""#].iter().any(|h| rest.starts_with(h));
    digits > 0 && book_body && serde_json::from_str::<serde::de::IgnoredAny>(payload).is_err()
}

impl KrakenBooks {
    /// Counts `e` as unattributed and resyncs every live book of `conn` (as Coinbase does for
    /// a malformed frame): the connector finds them not live and resubscribes them.
    fn resync_connection(&mut self, conn: u32, e: FeedError) -> Result<FeedEvent, FeedError> {
        self.errors += 1;
        self.streams.resync_conn(conn);
        Err(e)
    }

    /// An unparseable v2 book frame: its `data` may name several pairs, and a cut frame may
    /// hide some of them. Every live pair it still names resyncs; a cut frame that names none
    /// we follow resyncs every live book of the connection (nothing can vouch for them); a
    /// complete frame that names none is counted, unattributed.
    fn v2_malformed(&mut self, conn: u32, payload: &str, e: FeedError) -> Result<FeedEvent, FeedError> {
        let mut first: Option<Symbol> = None;
        for piece in payload.split(r#""symbol":""#).skip(1) {
            let Some(name) = piece.split('"').next().and_then(|p| Symbol::new(p).ok()) else { continue };
            if let Some(s) = self.streams.get_mut(&name) {
                s.stats.errors += 1;
                if s.state == SyncState::Live {
                    s.resync();
                    first.get_or_insert(s.symbol);
                }
            }
        }
        match first {
            Some(symbol) => Ok(FeedEvent::Resync { symbol, reason: ResyncReason::Malformed }),
            None if serde_json::from_str::<serde::de::IgnoredAny>(payload).is_err() => self.resync_connection(conn, e),
            None => {
                self.errors += 1;
                Err(e)
            }
        }
    }
}

impl FeedHandler for KrakenBooks {
    type Book = crate::book::L2Book;

    fn venue(&self) -> Venue {
        Venue::Kraken
    }

    fn on_disconnect(&mut self, conn: u32) -> usize {
        self.streams.resync_conn(conn)
    }

    fn on_sent(&mut self, _conn: u32, payload: &str) {
        if let Some(depth) = subscribe_depth(payload) {
            self.requested_depth = depth;
        }
    }

    fn on_frame(&mut self, conn: u32, payload: &str) -> Result<FeedEvent, FeedError> {
        let msg = match self.parser.parse(payload) {
            Ok(m) => m,
            Err(e) => {
                // An unparseable book frame for a pair we follow is a lost update. The checksum
                // covers only the top 10 levels, so it cannot prove the rest of the book is
                // right: resync that pair. Anything else is counted as unattributed.
                if is_v2_book_frame(payload) {
                    return self.v2_malformed(conn, payload, e);
                }
                let pair = v1_book_frame_pair(payload).and_then(|p| Symbol::new(p).ok());
                if pair.is_none() && is_cut_v1_book_frame(payload) {
                    // Cut before its pair name: it could have been any book's update.
                    return self.resync_connection(conn, e);
                }
                if let Some(s) = pair.and_then(|p| self.streams.get_mut(&p)) {
                    s.stats.errors += 1;
                    if s.state == SyncState::Live {
                        s.resync();
                        return Ok(FeedEvent::Resync { symbol: s.symbol, reason: ResyncReason::Malformed });
                    }
                    return Ok(FeedEvent::Ignored);
                }
                self.errors += 1;
                return Err(e);
            }
        };
        match msg {
            KrakenMessage::Book { snapshot, depth, parts, levels } => {
                let mut event = FeedEvent::Ignored;
                for part in parts {
                    let depth =
                        depth.or_else(|| self.depths.get(&part.symbol).copied()).unwrap_or(self.requested_depth);
                    let s = self.streams.get_or_insert(Venue::Kraken, part.symbol, conn);
                    s.stats.messages += 1;
                    let part_levels = KrakenMessage::part_levels(levels, part);
                    event = match s.apply_levels(conn, snapshot, part_levels) {
                        Some(true) => FeedEvent::Snapshot(part.symbol),
                        Some(false) => FeedEvent::Update(part.symbol),
                        None => continue,
                    };
                    self.tap.exchange_time(part.exchange_ts);
                    s.book.truncate(depth);
                    if let Some(expected) = part.checksum {
                        if checksum(&s.book) == expected {
                            s.stats.checksum_ok += 1;
                        } else {
                            s.stats.checksum_bad += 1;
                            s.resync();
                            event = FeedEvent::Resync { symbol: part.symbol, reason: ResyncReason::ChecksumMismatch };
                            continue;
                        }
                    }
                    s.note_applied();
                    if snapshot {
                        self.tap.snapshot(part.symbol, &s.book);
                    } else {
                        self.tap.deltas(part.symbol, part_levels);
                        self.tap.bbo(part.symbol, &s.book);
                    }
                }
                Ok(event)
            }
            KrakenMessage::Trades { symbol, trades } => {
                self.trades.clear();
                self.trades.extend_from_slice(trades);
                for t in trades {
                    self.tap.exchange_time(t.exchange_ts);
                }
                self.tap.trades(trades);
                let s = self.streams.get_or_insert(Venue::Kraken, symbol, conn);
                s.stats.messages += 1;
                s.stats.trades += trades.len() as u64;
                Ok(FeedEvent::Trades(symbol))
            }
            KrakenMessage::Subscribed { symbol, channel, depth } => {
                if let (true, Some(depth)) = (channel == "book", depth) {
                    self.depths.insert(symbol, depth);
                }
                Ok(FeedEvent::Ignored)
            }
            KrakenMessage::Other { symbol, .. } => {
                self.streams.get_or_insert(Venue::Kraken, symbol, conn).stats.messages += 1;
                Ok(FeedEvent::Ignored)
            }
            KrakenMessage::Event { .. } => Ok(FeedEvent::Ignored),
        }
    }

    fn tap(&self) -> Option<&Tap> {
        Some(&self.tap)
    }

    fn tap_mut(&mut self) -> Option<&mut Tap> {
        Some(&mut self.tap)
    }

    fn streams(&self) -> Vec<&BookStream> {
        self.streams.values().collect()
    }

    fn unattributed_errors(&self) -> u64 {
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = r#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":45283.5,"qty":0.10000000},{"price":45283.4,"qty":1.54582015}],"asks":[{"price":45285.2,"qty":0.00100000},{"price":45286.4,"qty":1.54582015}],"checksum":2178325928,"timestamp":"2023-10-06T17:35:55.440295Z"}]}"#;

    fn update(checksum: u32) -> String {
        format!(
            r#"{{"channel":"book","type":"update","data":[{{"symbol":"BTC/USD","bids":[{{"price":45283.5,"qty":0.00000000}}],"asks":[{{"price":45285.3,"qty":0.5}}],"checksum":{checksum},"timestamp":"2023-10-06T17:35:56.1Z"}}]}}"#
        )
    }

    fn subscribe(depth: usize) -> String {
        format!(r#"{{"method":"subscribe","params":{{"channel":"book","symbol":["BTC/USD"],"depth":{depth}}}}}"#)
    }

    // Expected CRCs computed with Python's zlib.crc32 over the documented string.
    #[test]
    fn v2_snapshot_and_update_verify() {
        let mut b = KrakenBooks::new();
        b.on_sent(0, &subscribe(10));
        assert!(matches!(b.on_frame(0, SNAPSHOT).unwrap(), FeedEvent::Snapshot(_)));
        assert!(matches!(b.on_frame(0, &update(153_609_883)).unwrap(), FeedEvent::Update(_)));
        let s = b.stream("BTC/USD").unwrap();
        assert_eq!((s.stats.checksum_ok, s.stats.checksum_bad), (2, 0));
        assert_eq!(s.book.best_bid().unwrap().price.as_str(), "45283.4");
        assert_eq!(s.book.asks().len(), 3);
    }

    #[test]
    fn v2_depth_from_the_subscription_truncates_the_book() {
        let mut b = KrakenBooks::new();
        b.on_sent(0, &subscribe(2));
        b.on_frame(0, SNAPSHOT).unwrap();
        b.on_frame(0, &update(850_264_248)).unwrap();
        let s = b.stream("BTC/USD").unwrap();
        assert_eq!((s.stats.checksum_ok, s.stats.checksum_bad), (2, 0));
        assert_eq!(s.book.asks().len(), 2);
        // Without truncation (depth 10) the same checksum fails and the book resyncs.
        let mut b = KrakenBooks::new();
        b.on_sent(0, &subscribe(10));
        b.on_frame(0, SNAPSHOT).unwrap();
        let ev = b.on_frame(0, &update(850_264_248)).unwrap();
        assert!(matches!(ev, FeedEvent::Resync { reason: ResyncReason::ChecksumMismatch, .. }));
        let s = b.stream("BTC/USD").unwrap();
        assert_eq!((s.stats.checksum_bad, s.stats.resyncs, s.state), (1, 1, SyncState::Resyncing));
        assert!(s.book.is_empty());
        // Updates wait for the next snapshot.
        assert_eq!(b.on_frame(0, &update(153_609_883)).unwrap(), FeedEvent::Ignored);
    }

    #[test]
    fn an_unparseable_v1_book_frame_resyncs_its_pair() {
        let mut b = KrakenBooks::new();
        let snap = r#"[320,{"as":[["101.0","1.0","1.1"]],"bs":[["100.0","2.0","1.1"]]},"book-10","XBT/USD"]"#;
        assert!(matches!(b.on_frame(0, snap).unwrap(), FeedEvent::Snapshot(_)));
        let bad = r#"[320,{"b":[["10x.0","3.0","1.2"]],"c":"1"},"book-10","XBT/USD"]"#;
        let ev = b.on_frame(0, bad).unwrap();
        assert!(matches!(ev, FeedEvent::Resync { reason: ResyncReason::Malformed, .. }));
        let s = b.stream("XBT/USD").unwrap();
        assert_eq!((s.stats.errors, s.stats.resyncs, s.state), (1, 1, SyncState::Resyncing));
        // Garbage that names no followed pair stays an unattributed error.
        assert!(b.on_frame(0, r#"[1,{"b":[["x"]]},"book-10","ETH/USD"]"#).is_err());
        assert!(b.on_frame(0, "not json").is_err());
        assert_eq!(b.unattributed_errors(), 2);
        assert_eq!(v1_book_frame_pair(r#"[1,{},"book-1000","A/B"] "#), Some("A/B"));
        assert_eq!(v1_book_frame_pair(r#"[1,{},"trade","A/B"]"#), None);
    }
}

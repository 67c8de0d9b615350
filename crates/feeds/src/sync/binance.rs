//! Binance spot: REST snapshot + diff-depth stream, synced by update ids.
//!
//! The documented procedure (see `exchange-feeds.md` §1.1), per symbol:
//!
//! 1. Buffer `depthUpdate` events until a REST snapshot arrives (in real sessions, and in the
//!    recorded one, the snapshot comes *after* the first diffs).
//! 2. A snapshot with `lastUpdateId + 1 < U` of the first buffered event is older than the buffer
//!    (the events in between are lost): drop it and wait for another.
//! 3. Load the snapshot, set `local = lastUpdateId`, drop buffered events with `u <= local`.
//! 4. The first event applied must have `U <= local + 1 <= u`; each later one `U == local + 1`.
//!    Anything else is a gap: discard the book, buffer from this event on, and wait for the next
//!    snapshot. Apply the levels (absolute, zero deletes), then `local = u`.
//!
//! Events with `u <= local` (duplicates, replays) are ignored. The diff buffer holds at most
//! [`MAX_BUFFERED`] events; older ones are dropped (a snapshot will then be stale and refetched).

use crate::binance::{snapshot_symbol, BinanceMessage, BinanceParser};
use crate::error::FeedError;
use crate::message::{LevelUpdate, Symbol, Trade, Venue};
use crate::normalized::Tap;
use crate::sync::{BookStream, FeedEvent, FeedHandler, ResyncReason, Streams, SyncState};
use wintermute_core::decimal::InlineStr;

/// Most diff events buffered per symbol while waiting for a snapshot.
pub const MAX_BUFFERED: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Buffered {
    first: u64,
    last: u64,
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Default)]
struct DiffBuffer {
    events: Vec<Buffered>,
    levels: Vec<LevelUpdate>,
}

impl DiffBuffer {
    fn push(&mut self, first: u64, last: u64, levels: &[LevelUpdate]) {
        if self.events.len() >= MAX_BUFFERED {
            self.clear();
        }
        let start = self.levels.len();
        self.levels.extend_from_slice(levels);
        self.events.push(Buffered { first, last, start, end: self.levels.len() });
    }

    fn clear(&mut self) {
        self.events.clear();
        self.levels.clear();
    }
}

#[derive(Debug, Clone, Default)]
struct SyncIds {
    local: u64,
    first_pending: bool,
    buffer: DiffBuffer,
}

/// Book builder for Binance spot (all symbols of a session).
#[derive(Debug, Clone, Default)]
pub struct BinanceBooks {
    parser: BinanceParser,
    streams: Streams,
    ids: std::collections::HashMap<Symbol, SyncIds>,
    replay: DiffBuffer,
    last_trade: Option<Trade>,
    errors: u64,
    /// Normalized events and latency (helper D's hook; disabled unless a caller enables it).
    tap: Tap,
}

enum Step {
    Stale,
    Applied,
    Gap,
}

/// Applies one diff to a live stream, following step 4.
fn apply_diff(stream: &mut BookStream, ids: &mut SyncIds, first: u64, last: u64, levels: &[LevelUpdate]) -> Step {
    if last <= ids.local {
        return Step::Stale;
    }
    let next = ids.local.saturating_add(1);
    let chained = if ids.first_pending { first <= next } else { first == next };
    if !chained {
        stream.stats.gaps += 1;
        stream.resync();
        ids.buffer.clear();
        return Step::Gap;
    }
    for l in levels {
        stream.book.apply(l.side, l.price, l.qty);
    }
    ids.local = last;
    ids.first_pending = false;
    stream.stats.updates += 1;
    stream.note_applied();
    Step::Applied
}

impl BinanceBooks {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stream of `symbol` (uppercase, as in `s`), if seen.
    pub fn stream(&self, symbol: &str) -> Option<&BookStream> {
        self.streams.get(&InlineStr::new(symbol).ok()?)
    }

    /// The last trade parsed.
    pub fn last_trade(&self) -> Option<&Trade> {
        self.last_trade.as_ref()
    }

    /// Feeds a REST depth snapshot for `symbol`.
    pub fn on_snapshot(&mut self, conn: u32, symbol: Symbol, body: &str) -> Result<FeedEvent, FeedError> {
        let stream = self.streams.get_or_insert(Venue::Binance, symbol, conn);
        stream.stats.messages += 1;
        let snap = match self.parser.parse_snapshot(body) {
            Ok(s) => s,
            Err(e) => {
                stream.stats.errors += 1;
                return Err(e);
            }
        };
        stream.stats.snapshots += 1;
        stream.conn = conn;
        let ids = self.ids.entry(symbol).or_default();
        if let Some(first) = ids.buffer.events.first() {
            // Documented as `lastUpdateId < U`; `lastUpdateId == U - 1` still chains, so the
            // snapshot is only unusable when it is older than that.
            if snap.last_update_id.saturating_add(1) < first.first {
                return Ok(FeedEvent::StaleSnapshot(symbol));
            }
        }
        stream.book.load(snap.bids, snap.asks);
        stream.state = SyncState::Live;
        ids.local = snap.last_update_id;
        ids.first_pending = true;
        stream.note_applied();
        // Replay the buffer; on a gap the rest is buffered again for the next snapshot.
        std::mem::swap(&mut self.replay, &mut ids.buffer);
        ids.buffer.clear();
        for ev in &self.replay.events {
            let levels = &self.replay.levels[ev.start..ev.end];
            if stream.state == SyncState::Live {
                apply_diff(stream, ids, ev.first, ev.last, levels);
            }
            if stream.state != SyncState::Live {
                ids.buffer.push(ev.first, ev.last, levels);
            }
        }
        self.replay.clear();
        if stream.state != SyncState::Live {
            return Ok(FeedEvent::Resync { symbol, reason: ResyncReason::Gap });
        }
        // The book is at the last update id applied: the snapshot's, or a replayed diff's `u`.
        self.tap.venue_seq(Some(ids.local));
        self.tap.snapshot(symbol, &stream.book);
        Ok(FeedEvent::Snapshot(symbol))
    }
}

impl FeedHandler for BinanceBooks {
    type Book = crate::book::L2Book;

    fn venue(&self) -> Venue {
        Venue::Binance
    }

    fn on_disconnect(&mut self, conn: u32) -> usize {
        let mut n = 0;
        for s in self.streams.values_mut().filter(|s| s.conn == conn && s.state == SyncState::Live) {
            s.resync();
            if let Some(ids) = self.ids.get_mut(&s.symbol) {
                ids.buffer.clear();
            }
            n += 1;
        }
        n
    }

    fn on_http(&mut self, conn: u32, url: &str, body: &str) -> Result<FeedEvent, FeedError> {
        let Some(symbol) = snapshot_symbol(url) else {
            self.errors += 1;
            return Err(FeedError::BadField {
                venue: "binance",
                field: "url",
                reason: "no symbol= parameter in the snapshot url",
            });
        };
        let symbol = match InlineStr::new(symbol) {
            Ok(s) => s.to_ascii_uppercase(),
            Err(_) => {
                self.errors += 1;
                return Err(FeedError::BadField {
                    venue: "binance",
                    field: "url",
                    reason: "symbol= parameter longer than 31 bytes",
                });
            }
        };
        self.on_snapshot(conn, symbol, body)
    }

    fn on_frame(&mut self, conn: u32, payload: &str) -> Result<FeedEvent, FeedError> {
        let msg = match self.parser.parse(payload) {
            Ok(m) => m,
            Err(e) => {
                // A lost diff shows up as a gap on the next one, so no resync is needed here.
                self.errors += 1;
                return Err(e);
            }
        };
        match msg {
            BinanceMessage::Depth(d) => {
                let stream = self.streams.get_or_insert(Venue::Binance, d.symbol, conn);
                stream.stats.messages += 1;
                let ids = self.ids.entry(d.symbol).or_default();
                if stream.state != SyncState::Live {
                    ids.buffer.push(d.first_update_id, d.final_update_id, d.levels);
                    return Ok(FeedEvent::Buffered(d.symbol));
                }
                Ok(match apply_diff(stream, ids, d.first_update_id, d.final_update_id, d.levels) {
                    Step::Stale => FeedEvent::Ignored,
                    Step::Applied => {
                        self.tap.exchange_time(i64::try_from(d.event_time_ms).ok().map(|ms| ms * 1_000_000));
                        self.tap.venue_seq(Some(d.final_update_id));
                        self.tap.deltas(d.symbol, d.levels);
                        self.tap.bbo(d.symbol, &stream.book);
                        FeedEvent::Update(d.symbol)
                    }
                    Step::Gap => {
                        ids.buffer.push(d.first_update_id, d.final_update_id, d.levels);
                        FeedEvent::Resync { symbol: d.symbol, reason: ResyncReason::Gap }
                    }
                })
            }
            BinanceMessage::Trade(t) => {
                let stream = self.streams.get_or_insert(Venue::Binance, t.symbol, conn);
                stream.stats.messages += 1;
                stream.stats.trades += 1;
                self.last_trade = Some(t);
                self.tap.exchange_time(t.exchange_ts);
                self.tap.venue_seq(Some(t.trade_id));
                self.tap.trades(std::slice::from_ref(&t));
                Ok(FeedEvent::Trades(t.symbol))
            }
            BinanceMessage::Other { symbol, .. } => {
                if let Some(symbol) = symbol {
                    self.streams.get_or_insert(Venue::Binance, symbol, conn).stats.messages += 1;
                }
                Ok(FeedEvent::Ignored)
            }
            BinanceMessage::Response => Ok(FeedEvent::Ignored),
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
    use crate::book::Side;
    use wintermute_core::decimal::Decimal;

    fn diff(first: u64, last: u64, bid: &str) -> String {
        format!(r#"{{"e":"depthUpdate","E":1,"s":"BNBBTC","U":{first},"u":{last},"b":[["{bid}","1"]],"a":[]}}"#)
    }

    fn snapshot(last_update_id: u64) -> String {
        format!(r#"{{"lastUpdateId":{last_update_id},"bids":[["1.0","5"]],"asks":[["9.0","5"]]}}"#)
    }

    const URL: &str = "https://api.binance.com/api/v3/depth?symbol=bnbbtc&limit=5000";

    /// The worked trace of `exchange-feeds.md` §1.1.
    #[test]
    fn documented_worked_trace() {
        let mut b = BinanceBooks::new();
        let sym = InlineStr::new("BNBBTC").unwrap();
        for (first, last, bid) in [(990, 999, "2.0"), (1000, 1003, "3.0"), (1004, 1004, "4.0")] {
            assert_eq!(b.on_frame(0, &diff(first, last, bid)).unwrap(), FeedEvent::Buffered(sym));
        }
        assert_eq!(b.on_http(0, URL, &snapshot(1000)).unwrap(), FeedEvent::Snapshot(sym));
        let s = b.stream("BNBBTC").unwrap();
        assert_eq!((s.state, s.stats.updates), (SyncState::Live, 2));
        // [990-999] was dropped: its bid is not in the book; the two others are.
        assert_eq!(s.book.qty_at(Side::Buy, Decimal::parse_unsigned("2.0").unwrap()), None);
        assert!(s.book.qty_at(Side::Buy, Decimal::parse_unsigned("3.0").unwrap()).is_some());
        assert_eq!(s.book.best_bid().unwrap().price.as_str(), "4.0");
        let ev = b.on_frame(0, &diff(1006, 1010, "5.0")).unwrap();
        assert_eq!(ev, FeedEvent::Resync { symbol: sym, reason: ResyncReason::Gap });
        let s = b.stream("BNBBTC").unwrap();
        assert_eq!((s.state, s.stats.gaps, s.stats.resyncs), (SyncState::Resyncing, 1, 1));
        assert!(s.book.is_empty());
        assert_eq!(b.pending_snapshots(), [sym]);
    }

    #[test]
    fn stale_snapshot_is_dropped_and_a_newer_one_syncs() {
        let mut b = BinanceBooks::new();
        let sym = InlineStr::new("BNBBTC").unwrap();
        b.on_frame(0, &diff(1006, 1010, "5.0")).unwrap();
        b.on_frame(0, &diff(1011, 1012, "6.0")).unwrap();
        // 1000 + 1 < 1006: events 1001..1005 are lost between snapshot and buffer.
        assert_eq!(b.on_http(0, URL, &snapshot(1000)).unwrap(), FeedEvent::StaleSnapshot(sym));
        assert_eq!(b.stream("BNBBTC").unwrap().state, SyncState::Buffering);
        // lastUpdateId == U - 1 chains.
        assert_eq!(b.on_http(0, URL, &snapshot(1005)).unwrap(), FeedEvent::Snapshot(sym));
        let s = b.stream("BNBBTC").unwrap();
        assert_eq!((s.state, s.stats.updates, s.stats.gaps), (SyncState::Live, 2, 0));
        assert_eq!(s.book.best_bid().unwrap().price.as_str(), "6.0");
    }

    #[test]
    fn gap_inside_the_buffer_rebuffers_the_rest() {
        let mut b = BinanceBooks::new();
        let sym = InlineStr::new("BNBBTC").unwrap();
        for (first, last) in [(1001, 1002), (1004, 1005), (1006, 1007)] {
            b.on_frame(0, &diff(first, last, "2.0")).unwrap();
        }
        let ev = b.on_http(0, URL, &snapshot(1000)).unwrap();
        assert_eq!(ev, FeedEvent::Resync { symbol: sym, reason: ResyncReason::Gap });
        // The events after the gap wait for the next snapshot, which then chains to them.
        assert_eq!(b.on_http(0, URL, &snapshot(1003)).unwrap(), FeedEvent::Snapshot(sym));
        let s = b.stream("BNBBTC").unwrap();
        assert_eq!((s.state, s.stats.updates, s.stats.gaps), (SyncState::Live, 3, 1));
    }

    #[test]
    fn buffer_is_bounded() {
        let mut b = BinanceBooks::new();
        for i in 0..(MAX_BUFFERED as u64 + 10) {
            b.on_frame(0, &diff(i * 2 + 1, i * 2 + 2, "2.0")).unwrap();
        }
        let ids = b.ids.get(&InlineStr::new("BNBBTC").unwrap()).unwrap();
        assert!(ids.buffer.events.len() <= MAX_BUFFERED);
    }
}

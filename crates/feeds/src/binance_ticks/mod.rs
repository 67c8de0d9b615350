//! Binance diff-depth straight into an integer book: the hot path when the exchange's text is not
//! needed.
//!
//! [`sync::BinanceBooks`](crate::sync::BinanceBooks) keeps every level's decimal text (one
//! builder for all venues' needs, Kraken's checksum included). A strategy that only needs prices
//! and sizes can skip the text: [`BinanceTickBook`] reads one symbol's `depthUpdate` frames and
//! REST snapshots, converts each `["price","qty"]` to integer ticks and lots of the instrument
//! ([`TickScale`], exact: a price off the tick grid is an error, never rounded), and keeps a
//! [`TickBook`] in sync with the same documented procedure (`exchange-feeds.md` §1.1): buffer
//! diffs until a snapshot, drop a snapshot older than the buffer, chain `U`/`u` from
//! `lastUpdateId`, and on a gap discard the book and wait for the next snapshot.
//!
//! [`BinanceTickFeed`](crate::sync::BinanceTickFeed) puts these books behind the
//! [`FeedHandler`](crate::sync::FeedHandler) interface (stream counters, trades, the normalized
//! event tap, resync on disconnect), so the connector runs on them.
//!
//! A frame is parsed and checked completely before anything is applied, so a malformed frame
//! changes nothing (it is counted in `errors`; the gap it leaves shows on the next diff). Frames of
//! other symbols and other events are ignored. After warm-up (buffers at their working size, the
//! windows wide enough for the book's levels), a frame allocates nothing.
//!
//! ```
//! use wintermute_feeds::binance_ticks::{BinanceTickBook, TickScale};
//! let scale = TickScale::new("0.01", "0.00001").unwrap();
//! let mut book = BinanceTickBook::new("BTCUSDT", scale, 4_096).unwrap();
//! book.on_snapshot(r#"{"lastUpdateId":10,"bids":[["100.00","1.5"]],"asks":[["100.02","2"]]}"#).unwrap();
//! book.on_frame(r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":11,"u":11,"b":[["100.01","0.25"]],"a":[]}"#).unwrap();
//! assert_eq!(book.book().best_bid(), Some((10_001, 25_000)));
//! assert!(book.on_frame(r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":12,"u":12,"b":[["100.001","1"]],"a":[]}"#).is_err());
//! ```

use crate::binance::snapshot_symbol;
use crate::book::Side;
use crate::error::FeedError;
use crate::json::Scanner;
use crate::message::{Aggressor, Symbol, Trade, Venue};
use crate::sync::binance::MAX_BUFFERED;
use crate::sync::{BookStream, FeedEvent, ResyncReason, ScaledBook, SyncState};
use crate::tick_book::TickBook;
use wintermute_core::decimal::{Decimal, InlineStr};

pub mod feed;

use crate::tick_scale::{bad, fast_level, VENUE};
pub use crate::tick_scale::{TickScale, MAX_DECIMALS};

/// Names the symbol in an [`FeedError::OffGrid`] read without knowing it.
fn for_symbol(e: FeedError, of: Symbol) -> FeedError {
    match e {
        FeedError::OffGrid { venue, field, value, .. } => FeedError::OffGrid { venue, symbol: of, field, value },
        e => e,
    }
}

/// Counters of a [`BinanceTickBook`] (a subset of its stream's [`StreamStats`](crate::sync::StreamStats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickBookStats {
    /// Frames and snapshots of this symbol.
    pub messages: u64,
    /// Snapshots loaded.
    pub snapshots: u64,
    /// Diffs applied to the live book.
    pub updates: u64,
    /// Update-id gaps.
    pub gaps: u64,
    /// Times the book was discarded.
    pub resyncs: u64,
    /// Malformed frames (any symbol, through [`BinanceTickBook::on_frame`]) and snapshots.
    pub errors: u64,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    first: u64,
    last: u64,
    start: usize,
    end: usize,
}

pub(crate) type Change = (Side, i64, i64);

/// One symbol's integer book, synced from Binance diff-depth frames: see the module docs.
#[derive(Debug, Clone)]
pub struct BinanceTickBook {
    pub(crate) stream: BookStream<ScaledBook>,
    local: u64,
    first_pending: bool,
    pub(crate) changes: Vec<Change>,
    buffered: Vec<Pending>,
    buffered_changes: Vec<Change>,
}

/// A parsed diff's update ids and event time (its levels are in the book's `changes`).
pub(crate) struct Diff {
    pub(crate) first: u64,
    pub(crate) last: u64,
    pub(crate) event_ms: Option<u64>,
}

impl BinanceTickBook {
    /// A book for `symbol` (uppercase, as in `s`) with `window` ticks per side in the dense part.
    pub fn new(symbol: &str, scale: TickScale, window: usize) -> Result<Self, FeedError> {
        let book = ScaledBook::new(scale, window)?;
        Ok(BinanceTickBook {
            stream: BookStream::with_book(
                Venue::Binance,
                InlineStr::new(symbol).map_err(|_| bad("symbol", "longer than 31 bytes"))?,
                0,
                book,
            ),
            local: 0,
            first_pending: false,
            changes: Vec::with_capacity(64),
            buffered: Vec::new(),
            buffered_changes: Vec::new(),
        })
    }

    /// The symbol, as in `s`.
    pub fn symbol(&self) -> &str {
        self.stream.symbol.as_str()
    }

    /// The last Binance update id applied: the snapshot's `lastUpdateId` or the final update
    /// id `u` of the last diff (0 before the first snapshot).
    pub fn update_id(&self) -> u64 {
        self.local
    }

    /// The book (empty unless live).
    pub fn book(&self) -> &TickBook {
        self.stream.book.ticks()
    }

    /// The stream: state, counters and the book with its scale.
    pub fn stream(&self) -> &BookStream<ScaledBook> {
        &self.stream
    }

    /// Sync state.
    pub fn state(&self) -> SyncState {
        self.stream.state
    }

    /// Counters.
    pub fn stats(&self) -> TickBookStats {
        let s = &self.stream.stats;
        TickBookStats {
            messages: s.messages,
            snapshots: s.snapshots,
            updates: s.updates,
            gaps: s.gaps,
            resyncs: s.resyncs,
            errors: s.errors,
        }
    }

    /// Feeds one WebSocket frame (combined or raw form).
    pub fn on_frame(&mut self, text: &str) -> Result<FeedEvent, FeedError> {
        match parse_for(std::slice::from_mut(self), text) {
            Ok(Parsed::Depth(_, diff)) => Ok(self.on_diff(&diff)),
            Ok(Parsed::Other(_)) => Ok(FeedEvent::Ignored),
            Err((_, e)) => {
                self.stream.stats.errors += 1;
                Err(e)
            }
        }
    }

    /// A parsed diff (its levels in `self.changes`) through the sync procedure.
    pub(crate) fn on_diff(&mut self, diff: &Diff) -> FeedEvent {
        self.stream.stats.messages += 1;
        let symbol = self.stream.symbol;
        if self.stream.state != SyncState::Live {
            self.buffer(diff.first, diff.last);
            return FeedEvent::Buffered(symbol);
        }
        let changes = std::mem::take(&mut self.changes);
        let step = self.apply(diff.first, diff.last, &changes);
        self.changes = changes;
        match step {
            Step::Stale => FeedEvent::Ignored,
            Step::Applied => FeedEvent::Update(symbol),
            Step::Gap => {
                self.clear_buffer();
                self.buffer(diff.first, diff.last);
                FeedEvent::Resync { symbol, reason: ResyncReason::Gap }
            }
        }
    }

    /// A diff of this book was lost (refused: off the grid): a live book is discarded (it can
    /// no longer be proven right) and the diffs buffered before it are dropped (they cannot
    /// chain past it). Counted in the stream's `errors` (and `resyncs` when it was live).
    pub(crate) fn lose_diff(&mut self) {
        self.stream.stats.messages += 1;
        self.stream.stats.errors += 1;
        self.clear_buffer();
        if self.stream.state == SyncState::Live {
            self.stream.resync();
        }
    }

    /// The connection that loaded the book.
    pub(crate) fn set_conn(&mut self, conn: u32) {
        self.stream.conn = conn;
    }

    /// Discards a live book (its connection was lost) and its buffered diffs.
    pub(crate) fn disconnect(&mut self) {
        self.stream.resync();
        self.clear_buffer();
    }

    fn clear_buffer(&mut self) {
        self.buffered.clear();
        self.buffered_changes.clear();
    }

    /// Feeds the REST depth snapshot body (`GET /api/v3/depth`).
    pub fn on_snapshot(&mut self, body: &str) -> Result<FeedEvent, FeedError> {
        self.stream.stats.messages += 1;
        self.changes.clear();
        let symbol = self.stream.symbol;
        let last_update_id = match self.parse_snapshot(body) {
            Ok(id) => id,
            Err(e) => {
                self.stream.stats.errors += 1;
                return Err(e);
            }
        };
        if let Some(first) = self.buffered.first() {
            // `lastUpdateId == U - 1` still chains; anything older misses events.
            if last_update_id.saturating_add(1) < first.first {
                return Ok(FeedEvent::StaleSnapshot(symbol));
            }
        }
        self.stream.stats.snapshots += 1;
        let book = self.stream.book.ticks_mut();
        book.clear();
        for &(side, price, qty) in &self.changes {
            // Checked while parsing (price range, non-negative quantity): cannot fail.
            let _ = book.set(side, price, qty);
        }
        self.stream.state = SyncState::Live;
        self.stream.note_applied();
        self.local = last_update_id;
        self.first_pending = true;
        // Replay the buffer; from a gap on, the rest waits for the next snapshot.
        let pending = std::mem::take(&mut self.buffered);
        let changes = std::mem::take(&mut self.buffered_changes);
        let gap_at =
            pending.iter().position(|p| matches!(self.apply(p.first, p.last, &changes[p.start..p.end]), Step::Gap));
        self.buffered = pending;
        self.buffered_changes = changes;
        match gap_at {
            None => {
                self.clear_buffer();
                Ok(FeedEvent::Snapshot(symbol))
            }
            Some(g) => {
                let offset = self.buffered[g].start;
                self.buffered.drain(..g);
                self.buffered_changes.drain(..offset);
                for p in &mut self.buffered {
                    p.start -= offset;
                    p.end -= offset;
                }
                Ok(FeedEvent::Resync { symbol, reason: ResyncReason::Gap })
            }
        }
    }

    /// Applies one diff to the live book (step 4 of the procedure).
    fn apply(&mut self, first: u64, last: u64, changes: &[Change]) -> Step {
        if self.stream.state != SyncState::Live {
            return Step::Gap;
        }
        if last <= self.local {
            return Step::Stale;
        }
        let next = self.local.saturating_add(1);
        let chained = if self.first_pending { first <= next } else { first == next };
        if !chained {
            self.stream.stats.gaps += 1;
            self.stream.resync();
            return Step::Gap;
        }
        let book = self.stream.book.ticks_mut();
        for &(side, price, qty) in changes {
            // Checked while parsing: cannot fail.
            let _ = book.set(side, price, qty);
        }
        self.local = last;
        self.first_pending = false;
        self.stream.stats.updates += 1;
        self.stream.note_applied();
        Step::Applied
    }

    fn buffer(&mut self, first: u64, last: u64) {
        if self.buffered.len() >= MAX_BUFFERED {
            self.clear_buffer();
        }
        let start = self.buffered_changes.len();
        self.buffered_changes.extend_from_slice(&self.changes);
        self.buffered.push(Pending { first, last, start, end: self.buffered_changes.len() });
    }

    /// Parses a snapshot into `self.changes`; returns `lastUpdateId`.
    fn parse_snapshot(&mut self, body: &str) -> Result<u64, FeedError> {
        let mut sc = Scanner::new(VENUE, body);
        let mut obj = sc.begin_object()?;
        let (mut id, mut has_bids, mut has_asks) = (None, false, false);
        let (scale, symbol) = (*self.stream.book.scale(), self.stream.symbol);
        while let Some(key) = sc.next_key(&mut obj)? {
            match key {
                "lastUpdateId" => id = Some(sc.u64()?),
                "bids" => {
                    has_bids = true;
                    levels(&mut sc, Side::Buy, &scale, symbol, &mut self.changes)?;
                }
                "asks" => {
                    has_asks = true;
                    levels(&mut sc, Side::Sell, &scale, symbol, &mut self.changes)?;
                }
                _ => sc.skip_value()?,
            }
        }
        sc.finish()?;
        if !has_bids {
            return Err(missing("depthSnapshot", "bids"));
        }
        if !has_asks {
            return Err(missing("depthSnapshot", "asks"));
        }
        id.ok_or_else(|| missing("depthSnapshot", "lastUpdateId"))
    }
}

/// A frame parsed against a set of books (see [`parse_for`]).
pub(crate) enum Parsed<'a> {
    /// A `depthUpdate` of book `.0`: its ids (its levels are in the book's `changes`).
    Depth(usize, Diff),
    /// Anything else (trades, other events, responses, depth of another symbol): the fields
    /// read, for a caller that handles them.
    Other(Fields<'a>),
}

/// Parses a frame for whichever of `books` its symbol belongs to. A failure names the book when
/// the frame was a `depthUpdate` of one of `books`.
pub(crate) fn parse_for<'a>(
    books: &mut [BinanceTickBook],
    text: &'a str,
) -> Result<Parsed<'a>, (Option<usize>, FeedError)> {
    for b in books.iter_mut() {
        b.changes.clear();
    }
    let mut f = Fields::default();
    let whose = |f: &Fields<'_>| f.book.filter(|_| f.e == Some("depthUpdate"));
    let mut sc = Scanner::new(VENUE, text);
    if let Err(e) = fields(books, &mut sc, &mut f, true).and_then(|()| sc.finish()) {
        return Err((whose(&f), e));
    }
    let Some(i) = whose(&f) else { return Ok(Parsed::Other(f)) };
    let book = &mut books[i];
    // Arrays met before `e` and `s` were known.
    for (side, deferred) in [(Side::Buy, f.deferred_b), (Side::Sell, f.deferred_a)] {
        if let Some(text) = deferred {
            let mut sc = Scanner::new(VENUE, text);
            let (scale, symbol) = (*book.stream.book.scale(), book.stream.symbol);
            levels(&mut sc, side, &scale, symbol, &mut book.changes).map_err(|e| (Some(i), e))?;
        }
    }
    if !f.has_b && !f.has_a {
        return Err((Some(i), missing("depthUpdate", "b")));
    }
    let first = f.first.ok_or_else(|| (Some(i), missing("depthUpdate", "U")))?;
    let last = f.last.ok_or_else(|| (Some(i), missing("depthUpdate", "u")))?;
    Ok(Parsed::Depth(i, Diff { first, last, event_ms: f.event_ms }))
}

/// A trade frame's fields as a [`Trade`] (as [`crate::binance::BinanceParser`] reads them:
/// `p`, `q` exact decimals, `a` (aggTrade) or `t` (trade) id, `m` = buyer is maker, `T` time).
pub(crate) fn trade_of(f: &Fields<'_>, kind: &'static str) -> Result<Trade, FeedError> {
    let symbol = InlineStr::new(f.s.ok_or(missing(kind, "s"))?).map_err(|_| bad("s", "longer than 31 bytes"))?;
    let id = if kind == "trade" { f.t } else { f.agg_id };
    Ok(Trade {
        symbol,
        price: Decimal::parse_unsigned_with(f.p.ok_or(missing(kind, "p"))?, FeedError::decimal("price"))?,
        qty: Decimal::parse_unsigned_with(f.q.ok_or(missing(kind, "q"))?, FeedError::decimal("qty"))?,
        aggressor: f.m.map(|m| if m { Aggressor::Sell } else { Aggressor::Buy }),
        trade_id: id.ok_or(missing(kind, if kind == "trade" { "t" } else { "a" }))?,
        exchange_ts: f.big_t.and_then(|ms| i64::try_from(ms).ok()).and_then(|ms| ms.checked_mul(1_000_000)),
    })
}

fn fields<'a>(
    books: &mut [BinanceTickBook],
    sc: &mut Scanner<'a>,
    f: &mut Fields<'a>,
    top: bool,
) -> Result<(), FeedError> {
    let mut obj = sc.begin_object()?;
    while let Some(key) = sc.next_key(&mut obj)? {
        match key {
            "data" if top && sc.peek() == Some(b'{') => fields(books, sc, f, false)?,
            "result" if top => {
                f.result = true;
                sc.skip_value()?;
            }
            "e" => f.e = Some(sc.string()?),
            "E" if sc.peek().is_some_and(|c| c.is_ascii_digit()) => f.event_ms = Some(sc.u64()?),
            "s" => {
                let s = sc.string()?;
                f.s = Some(s);
                f.book = books.iter().position(|b| b.stream.symbol.as_str() == s);
            }
            "a" if sc.peek().is_some_and(|b| b.is_ascii_digit()) => f.agg_id = Some(sc.u64()?),
            "t" => f.t = Some(sc.u64()?),
            "T" => f.big_t = Some(sc.u64()?),
            "p" => f.p = Some(sc.string()?),
            "q" => f.q = Some(sc.string()?),
            "m" => f.m = Some(sc.bool()?),
            "U" => f.first = Some(sc.u64()?),
            "u" => f.last = Some(sc.u64()?),
            "b" | "a" if sc.peek() == Some(b'[') => {
                let side = if key == "b" { Side::Buy } else { Side::Sell };
                if side == Side::Buy {
                    f.has_b = true;
                } else {
                    f.has_a = true;
                }
                match f.book.filter(|_| f.e == Some("depthUpdate")) {
                    Some(i) => {
                        let book = &mut books[i];
                        let (scale, symbol) = (*book.stream.book.scale(), book.stream.symbol);
                        levels(sc, side, &scale, symbol, &mut book.changes)?;
                    }
                    None if side == Side::Buy => f.deferred_b = Some(sc.value_text()?),
                    None => f.deferred_a = Some(sc.value_text()?),
                }
            }
            _ => sc.skip_value()?,
        }
    }
    Ok(())
}

/// Several symbols' [`BinanceTickBook`]s behind one connection: each frame is parsed once and
/// goes to the book of its `s`; snapshots go by the URL's `symbol=`.
#[derive(Debug, Clone, Default)]
pub struct BinanceTickBooks {
    books: Vec<BinanceTickBook>,
    errors: u64,
}

impl BinanceTickBooks {
    /// No books yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a symbol's book (replacing one of the same symbol).
    pub fn add(&mut self, book: BinanceTickBook) {
        self.books.retain(|b| b.stream.symbol != book.stream.symbol);
        self.books.push(book);
    }

    /// The book of `symbol`, if added.
    pub fn book(&self, symbol: &str) -> Option<&BinanceTickBook> {
        self.books.iter().find(|b| b.stream.symbol.as_str() == symbol)
    }

    /// Malformed frames (not attributed to a symbol's book).
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Feeds one WebSocket frame.
    pub fn on_frame(&mut self, text: &str) -> Result<FeedEvent, FeedError> {
        match parse_for(&mut self.books, text) {
            Ok(Parsed::Depth(i, diff)) => Ok(self.books[i].on_diff(&diff)),
            Ok(Parsed::Other(_)) => Ok(FeedEvent::Ignored),
            Err((_, e)) => {
                self.errors += 1;
                Err(e)
            }
        }
    }

    /// Feeds a REST depth snapshot fetched from `url` (its `symbol=` picks the book).
    pub fn on_http(&mut self, url: &str, body: &str) -> Result<FeedEvent, FeedError> {
        let symbol = snapshot_symbol(url);
        match self.books.iter_mut().find(|b| symbol.is_some_and(|s| b.symbol().eq_ignore_ascii_case(s))) {
            Some(b) => b.on_snapshot(body),
            None => {
                self.errors += 1;
                Err(bad("url", "no book for the snapshot url's symbol="))
            }
        }
    }
}

/// The fields of a frame read by [`parse_for`].
#[derive(Default)]
pub(crate) struct Fields<'a> {
    pub(crate) e: Option<&'a str>,
    event_ms: Option<u64>,
    pub(crate) s: Option<&'a str>,
    first: Option<u64>,
    last: Option<u64>,
    has_b: bool,
    has_a: bool,
    deferred_b: Option<&'a str>,
    deferred_a: Option<&'a str>,
    /// The book of `s`, if it is one of the books parsed for.
    pub(crate) book: Option<usize>,
    agg_id: Option<u64>,
    t: Option<u64>,
    big_t: Option<u64>,
    p: Option<&'a str>,
    q: Option<&'a str>,
    m: Option<bool>,
    /// A `{"result":…}` response.
    pub(crate) result: bool,
}

fn missing(message: &'static str, field: &'static str) -> FeedError {
    FeedError::MissingField { venue: VENUE, message, field }
}

/// `[["price","qty", …], …]` into integer changes.
fn levels(
    sc: &mut Scanner<'_>,
    side: Side,
    scale: &TickScale,
    symbol: Symbol,
    out: &mut Vec<Change>,
) -> Result<(), FeedError> {
    let mut arr = sc.begin_array()?;
    while sc.next_element(&mut arr)? {
        if let Some((price, qty, used)) = fast_level(sc.rest(), scale) {
            sc.advance(used);
            out.push((side, price, qty));
            continue;
        }
        let (p, q) = match sc.string_pair() {
            Some(pair) => pair,
            None => general_pair(sc)?,
        };
        let price = scale.price(p).map_err(|e| for_symbol(e, symbol))?;
        let qty = scale.qty(q).map_err(|e| for_symbol(e, symbol))?;
        out.push((side, price, qty));
    }
    Ok(())
}

fn general_pair<'a>(sc: &mut Scanner<'a>) -> Result<(&'a str, &'a str), FeedError> {
    let mut arr = sc.begin_array()?;
    if !sc.next_element(&mut arr)? {
        return Err(sc.error("price"));
    }
    let price = sc.string()?;
    if !sc.next_element(&mut arr)? {
        return Err(sc.error("quantity"));
    }
    let qty = sc.string()?;
    while sc.next_element(&mut arr)? {
        sc.skip_value()?;
    }
    Ok((price, qty))
}

enum Step {
    Stale,
    Applied,
    Gap,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(first: u64, last: u64, bid: &str) -> String {
        format!(r#"{{"e":"depthUpdate","E":1,"s":"BNBBTC","U":{first},"u":{last},"b":[["{bid}","1"]],"a":[]}}"#)
    }

    fn snapshot(id: u64) -> String {
        format!(r#"{{"lastUpdateId":{id},"bids":[["1.0","5"]],"asks":[["9.0","5"]]}}"#)
    }

    fn book() -> BinanceTickBook {
        BinanceTickBook::new("BNBBTC", TickScale::new("0.1", "1").unwrap(), 64).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3_000))]

        /// The one-pass fast path and the general path (scanner + `to_units`) agree on every
        /// level text, errors included (the fast path declines whatever the general one rejects).
        #[test]
        fn fast_path_agrees_with_general_path(
            price in proptest::prop_oneof!["[0-9]{1,10}(\\.[0-9]{0,10})?", "[0-9.x ]{0,21}"],
            qty in proptest::prop_oneof!["[0-9]{1,6}(\\.[0-9]{0,10})?", "[0-9.]{0,12}"],
            tick in 0usize..3,
        ) {
            let scale = match tick {
                0 => TickScale::new("0.01", "0.001"),
                1 => TickScale::new("0.05", "1"),
                _ => TickScale::new("1", "0.00000001"),
            }
            .unwrap();
            let text = format!(r#"["{price}","{qty}"]"#);
            let general = (|| -> Result<(i64, i64), FeedError> {
                let mut sc = Scanner::new(VENUE, &text);
                let (p, q) = general_pair(&mut sc)?;
                Ok((scale.price(p)?, scale.qty(q)?))
            })();
            match fast_level(text.as_bytes(), &scale) {
                Some((p, q, used)) => {
                    proptest::prop_assert_eq!(used, text.len());
                    proptest::prop_assert_eq!(general.ok(), Some((p, q)));
                }
                None => {
                    let by_design = price.starts_with('.')
                        || qty.starts_with('.')
                        || price.contains(' ')
                        || price.bytes().filter(u8::is_ascii_digit).count() > 18;
                    proptest::prop_assert!(general.is_err() || by_design, "declined {}", text);
                }
            }
        }
    }

    /// The worked trace of `exchange-feeds.md` §1.1 (as `sync::binance`'s test).
    #[test]
    fn documented_worked_trace() {
        let mut b = book();
        for (first, last, bid) in [(990, 999, "2.0"), (1000, 1003, "3.0"), (1004, 1004, "4.0")] {
            assert!(matches!(b.on_frame(&diff(first, last, bid)).unwrap(), FeedEvent::Buffered(_)));
        }
        assert!(matches!(b.on_snapshot(&snapshot(1000)).unwrap(), FeedEvent::Snapshot(_)));
        assert_eq!((b.state(), b.stats().updates), (SyncState::Live, 2));
        assert_eq!(b.book().qty_at(Side::Buy, 20), 0, "[990-999] was dropped");
        assert_eq!(b.book().qty_at(Side::Buy, 30), 1);
        assert_eq!(b.book().best_bid(), Some((40, 1)));
        assert!(matches!(b.on_frame(&diff(1006, 1010, "5.0")).unwrap(), FeedEvent::Resync { .. }));
        assert_eq!((b.state(), b.stats().gaps, b.stats().resyncs), (SyncState::Resyncing, 1, 1));
        assert!(b.book().is_empty());
        // The gap frame waits in the buffer and chains to the next snapshot.
        assert!(matches!(b.on_snapshot(&snapshot(1005)).unwrap(), FeedEvent::Snapshot(_)));
        assert_eq!(b.book().best_bid(), Some((50, 1)));
    }

    #[test]
    fn stale_snapshot_and_gap_inside_the_buffer() {
        let mut b = book();
        b.on_frame(&diff(1006, 1010, "5.0")).unwrap();
        assert!(matches!(b.on_snapshot(&snapshot(1000)).unwrap(), FeedEvent::StaleSnapshot(_)));
        let mut b = book();
        for (first, last) in [(1001, 1002), (1004, 1005), (1006, 1007)] {
            b.on_frame(&diff(first, last, "2.0")).unwrap();
        }
        assert!(matches!(b.on_snapshot(&snapshot(1000)).unwrap(), FeedEvent::Resync { .. }));
        assert!(matches!(b.on_snapshot(&snapshot(1003)).unwrap(), FeedEvent::Snapshot(_)));
        assert_eq!((b.state(), b.stats().updates, b.stats().gaps), (SyncState::Live, 3, 1));
    }

    #[test]
    fn bad_frames_change_nothing_and_others_are_ignored() {
        let mut b = book();
        b.on_snapshot(&snapshot(10)).unwrap();
        let off_grid = r#"{"e":"depthUpdate","s":"BNBBTC","U":11,"u":11,"b":[["1.5","1"],["1.55","1"]],"a":[]}"#;
        let err = b.on_frame(off_grid).unwrap_err();
        assert!(matches!(err, FeedError::OffGrid { field: "price", .. }), "{err}");
        assert_eq!(err.to_string(), "off grid: venue=binance symbol=BNBBTC field=price value=1.55 (not a multiple of the instrument's tick size)");
        assert_eq!(b.book().qty_at(Side::Buy, 15), 0, "the valid first level was not applied either");
        let other = r#"{"e":"depthUpdate","s":"ETHBTC","U":11,"u":11,"b":[["1.55","1"]],"a":[]}"#;
        assert!(matches!(b.on_frame(other).unwrap(), FeedEvent::Ignored));
        let trade = r#"{"e":"aggTrade","s":"BNBBTC","a":5,"p":"1.0","q":"1"}"#;
        assert!(matches!(b.on_frame(trade).unwrap(), FeedEvent::Ignored));
        // `b` before `s`: parsed once the symbol is known.
        let late = r#"{"b":[["1.6", "2"]],"a":[],"e":"depthUpdate","s":"BNBBTC","U":11,"u":11}"#;
        assert!(matches!(b.on_frame(late).unwrap(), FeedEvent::Update(_)));
        assert_eq!(b.book().best_bid(), Some((16, 2)));
        assert!(matches!(
            b.on_frame(r#"{"e":"depthUpdate","s":"BNBBTC","u":12,"b":[]}"#),
            Err(FeedError::MissingField { field: "U", .. })
        ));
        assert_eq!(b.stats().errors, 2);
    }
}

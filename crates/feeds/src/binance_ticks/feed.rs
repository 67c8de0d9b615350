//! Binance spot on integer books: the [`FeedHandler`] of the connector's fast path.
//!
//! [`BinanceBooks`](crate::sync::BinanceBooks) keeps every level's decimal text. When each symbol's
//! tick size and lot size are known (Binance `exchangeInfo`: `PRICE_FILTER.tickSize`,
//! `LOT_SIZE.stepSize`), [`BinanceTickFeed`] keeps the books in integer ticks and lots instead
//! ([`ScaledBook`]: a [`TickBook`](crate::tick_book::TickBook) and its
//! [`TickScale`]), parsing each `["price","qty"]` straight to integers with the one-pass parser
//! of [`crate::binance_ticks`]. Everything else is what the decimal builder does, with the same
//! counters: the documented sync procedure (buffer, snapshot, `U`/`u` chaining, resync on a
//! gap), [`StreamStats`](crate::sync::StreamStats), trades counted and emitted, pending snapshots for
//! the connector, resync of a connection's books when it drops, and normalized events through
//! the [`Tap`] with exact prices (ticks × tick size, integer arithmetic; never a float).
//! `tests/binance_tick_feed.rs` checks that on the recorded session it reports what the decimal
//! builder reports, frame by frame, and over 127.0.0.1 through the real connector.
//!
//! Differences, by design:
//! - Only the configured symbols have books. A `depthUpdate` of another symbol is an error
//!   (counted in [`FeedHandler::unattributed_errors`]): there is no scale to read it with.
//!   Trades and other events of other symbols are ignored.
//! - A price or quantity off the symbol's grid (or beyond what the scale holds) is never
//!   rounded: the frame is refused with [`FeedError::OffGrid`] (or `BadField`), counted in the
//!   stream's `errors`, and a live book resyncs at once (it can no longer be proven right), as
//!   do the diffs buffered before it; the connector then fetches a new snapshot.
//!
//! Trades (`aggTrade`, `trade`) are read in the same pass, with their exact decimal price and
//! quantity (as [`crate::binance::BinanceParser`] reads them).
//!
//! ```
//! use wintermute_feeds::binance_ticks::TickScale;
//! use wintermute_feeds::sync::{BinanceTickFeed, BookView, FeedHandler, SyncState};
//! let scale = TickScale::new("0.01", "0.00001").unwrap();
//! let mut feed = BinanceTickFeed::new(&[("BTCUSDT".into(), scale)], 4_096).unwrap();
//! feed.on_frame(0, r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":11,"u":11,"b":[["100.01","0.25"]],"a":[]}"#).unwrap();
//! let url = "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000";
//! feed.on_http(0, url, r#"{"lastUpdateId":10,"bids":[["100.00","1.5"]],"asks":[["100.02","2"]]}"#).unwrap();
//! let s = feed.stream("BTCUSDT").unwrap();
//! assert_eq!(s.state, SyncState::Live);
//! assert_eq!(s.book.ticks().best_bid(), Some((10_001, 25_000)));
//! assert_eq!(s.book.best_bid_level().unwrap().price.as_str(), "100.01");
//! // Off the 0.01 grid: refused, counted, the book resyncs.
//! let bad = r#"{"e":"depthUpdate","E":2,"s":"BTCUSDT","U":12,"u":12,"b":[["100.001","1"]],"a":[]}"#;
//! assert!(feed.on_frame(0, bad).is_err());
//! let s = feed.stream("BTCUSDT").unwrap();
//! assert_eq!((s.state, s.stats.errors, s.stats.resyncs), (SyncState::Resyncing, 1, 1));
//! ```

use super::{parse_for, trade_of, BinanceTickBook, Fields, Parsed, TickScale};
use crate::binance::snapshot_symbol;
use crate::error::FeedError;
use crate::message::{Trade, Venue};
use crate::normalized::{Quote, Tap};
use crate::sync::{BookStream, FeedEvent, FeedHandler, ScaledBook, SyncState};
use crate::tick_scale::BEYOND_RANGE;
use wintermute_core::decimal::InlineStr;

/// The Binance builder on integer books (see the module docs).
#[derive(Debug, Clone)]
pub struct BinanceTickFeed {
    books: Vec<BinanceTickBook>,
    last_trade: Option<Trade>,
    errors: u64,
    tap: Tap,
}

fn unknown_symbol() -> FeedError {
    FeedError::BadField { venue: "binance", field: "s", reason: "no tick scale configured for this symbol" }
}

impl BinanceTickFeed {
    /// One integer book per `(symbol, scale)` (symbols as Binance writes them in `s`, any case),
    /// each with `window` ticks per side in its dense part (a multiple of 64 in 64..=2^20; see
    /// [`TickBook`](crate::tick_book::TickBook)). A symbol given twice is an error.
    pub fn new(scales: &[(String, TickScale)], window: usize) -> Result<Self, FeedError> {
        let mut books: Vec<BinanceTickBook> = Vec::with_capacity(scales.len());
        for (symbol, scale) in scales {
            let upper = symbol.to_ascii_uppercase();
            if books.iter().any(|b| b.symbol() == upper) {
                return Err(FeedError::Config {
                    field: "binance_scales",
                    reason: format!("symbol={upper} given twice"),
                });
            }
            books.push(BinanceTickBook::new(&upper, *scale, window)?);
        }
        Ok(BinanceTickFeed { books, last_trade: None, errors: 0, tap: Tap::default() })
    }

    /// The stream of `symbol` (as in `s`), if configured.
    pub fn stream(&self, symbol: &str) -> Option<&BookStream<ScaledBook>> {
        self.books.iter().find(|b| b.symbol() == symbol).map(BinanceTickBook::stream)
    }

    /// The last trade parsed.
    pub fn last_trade(&self) -> Option<&Trade> {
        self.last_trade.as_ref()
    }

    /// Exact quotes of a book's top, for the tap.
    fn top(book: &ScaledBook) -> (Option<Quote>, Option<Quote>) {
        let s = book.scale();
        let quote = |(p, q): (i64, i64)| Quote { price_raw: s.price_raw(p), qty_raw: s.qty_raw(q) };
        (book.ticks().best_bid().map(quote), book.ticks().best_ask().map(quote))
    }

    /// A frame that is not a `depthUpdate` of a configured symbol: trades, other events,
    /// responses, and depth of a symbol without a scale (read as the decimal parser reads them).
    fn on_other(&mut self, f: &Fields<'_>) -> Result<FeedEvent, FeedError> {
        let fail = |this: &mut Self, e: FeedError| {
            this.errors += 1;
            Err(e)
        };
        let kind = match f.e {
            Some("depthUpdate") => return fail(self, unknown_symbol()),
            Some("aggTrade") => "aggTrade",
            Some("trade") => "trade",
            Some(_) => {
                if let Some(b) = f.book.map(|i| &mut self.books[i]) {
                    b.stream.stats.messages += 1;
                }
                return Ok(FeedEvent::Ignored);
            }
            None if f.result => return Ok(FeedEvent::Ignored),
            None => return fail(self, FeedError::MissingField { venue: "binance", message: "event", field: "e" }),
        };
        let t = match trade_of(f, kind) {
            Ok(t) => t,
            Err(e) => return fail(self, e),
        };
        let Some(b) = f.book.map(|i| &mut self.books[i]) else {
            return Ok(FeedEvent::Ignored);
        };
        b.stream.stats.messages += 1;
        b.stream.stats.trades += 1;
        self.last_trade = Some(t);
        self.tap.exchange_time(t.exchange_ts);
        self.tap.venue_seq(Some(t.trade_id));
        self.tap.trades(std::slice::from_ref(&t));
        Ok(FeedEvent::Trades(t.symbol))
    }
}

impl FeedHandler for BinanceTickFeed {
    type Book = ScaledBook;

    fn venue(&self) -> Venue {
        Venue::Binance
    }

    fn on_disconnect(&mut self, conn: u32) -> usize {
        let mut n = 0;
        for b in self.books.iter_mut().filter(|b| b.stream.conn == conn && b.stream.state == SyncState::Live) {
            b.disconnect();
            n += 1;
        }
        n
    }

    fn on_http(&mut self, conn: u32, url: &str, body: &str) -> Result<FeedEvent, FeedError> {
        let symbol = snapshot_symbol(url).and_then(|s| InlineStr::new(s).ok()).map(|s| s.to_ascii_uppercase());
        let Some(symbol) = symbol else {
            self.errors += 1;
            return Err(FeedError::BadField {
                venue: "binance",
                field: "url",
                reason: "no symbol= parameter in the snapshot url",
            });
        };
        let Some(book) = self.books.iter_mut().find(|b| b.stream.symbol == symbol) else {
            self.errors += 1;
            return Err(unknown_symbol());
        };
        let event = book.on_snapshot(body)?;
        book.set_conn(conn);
        if matches!(event, FeedEvent::Snapshot(_)) && self.tap.is_enabled() {
            let (bid, ask) = Self::top(&book.stream.book);
            self.tap.venue_seq(Some(book.update_id()));
            self.tap.snapshot_top(symbol, bid, ask);
        }
        Ok(event)
    }

    fn on_frame(&mut self, _conn: u32, payload: &str) -> Result<FeedEvent, FeedError> {
        match parse_for(&mut self.books, payload) {
            Ok(Parsed::Depth(i, diff)) => {
                let book = &mut self.books[i];
                let event = book.on_diff(&diff);
                if matches!(event, FeedEvent::Update(_)) && self.tap.is_enabled() {
                    let symbol = book.stream.symbol;
                    let b = &book.stream.book;
                    let s = *b.scale();
                    self.tap
                        .exchange_time(diff.event_ms.and_then(|ms| i64::try_from(ms).ok()).map(|ms| ms * 1_000_000));
                    self.tap.venue_seq(Some(diff.last));
                    let deltas = book
                        .changes
                        .iter()
                        .map(|&(side, p, q)| (side, Quote { price_raw: s.price_raw(p), qty_raw: s.qty_raw(q) }));
                    self.tap.deltas_of(symbol, deltas);
                    let (bid, ask) = Self::top(b);
                    self.tap.bbo_top(symbol, bid, ask);
                }
                Ok(event)
            }
            Ok(Parsed::Other(f)) => self.on_other(&f),
            Err((Some(i), e))
                if matches!(e, FeedError::OffGrid { .. } | FeedError::BadField { reason: BEYOND_RANGE, .. }) =>
            {
                // Well-formed but not representable on the symbol's grid: the diff is lost.
                self.books[i].lose_diff();
                Err(e)
            }
            Err((_, e)) => {
                // A malformed frame: a lost diff shows up as a gap on the next one (as in the
                // decimal builder).
                self.errors += 1;
                Err(e)
            }
        }
    }

    fn tap(&self) -> Option<&Tap> {
        Some(&self.tap)
    }

    fn tap_mut(&mut self) -> Option<&mut Tap> {
        Some(&mut self.tap)
    }

    fn streams(&self) -> Vec<&BookStream<ScaledBook>> {
        self.books.iter().map(BinanceTickBook::stream).collect()
    }

    fn unattributed_errors(&self) -> u64 {
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::Side;
    use crate::sync::{BookView, ResyncReason};

    const URL: &str = "https://api.binance.com/api/v3/depth?symbol=bnbbtc&limit=5000";

    fn feed() -> BinanceTickFeed {
        BinanceTickFeed::new(&[("bnbbtc".into(), TickScale::new("0.1", "0.01").unwrap())], 64).unwrap()
    }

    fn diff(first: u64, last: u64, bid: &str) -> String {
        format!(r#"{{"e":"depthUpdate","E":7,"s":"BNBBTC","U":{first},"u":{last},"b":[["{bid}","1"]],"a":[]}}"#)
    }

    fn snapshot(id: u64) -> String {
        format!(r#"{{"lastUpdateId":{id},"bids":[["1.0","5"]],"asks":[["9.0","5"]]}}"#)
    }

    #[test]
    fn documented_trace_counters_and_tap() {
        let mut f = feed();
        f.tap_mut().unwrap().enable(Venue::Binance, 16);
        for (first, last, bid) in [(990, 999, "2.0"), (1000, 1003, "3.0"), (1004, 1004, "4.0")] {
            assert!(matches!(f.on_frame(0, &diff(first, last, bid)).unwrap(), FeedEvent::Buffered(_)));
        }
        assert!(matches!(f.on_http(3, URL, &snapshot(1000)).unwrap(), FeedEvent::Snapshot(_)));
        let s = f.stream("BNBBTC").unwrap();
        assert_eq!(
            (s.state, s.conn, s.stats.messages, s.stats.snapshots, s.stats.updates),
            (SyncState::Live, 3, 4, 1, 2)
        );
        assert_eq!(s.book.best_bid_level().unwrap().price.as_str(), "4");
        assert!(matches!(f.on_frame(0, &diff(1005, 1005, "4.5")).unwrap(), FeedEvent::Update(_)));
        let trade = r#"{"e":"aggTrade","E":8,"s":"BNBBTC","a":5,"p":"4.5","q":"0.5","f":1,"l":1,"T":8,"m":true}"#;
        assert!(matches!(f.on_frame(0, trade).unwrap(), FeedEvent::Trades(_)));
        let ring: Vec<_> = f.tap().unwrap().ring(&InlineStr::new("BNBBTC").unwrap()).unwrap().iter().collect();
        let kinds: Vec<&str> = ring.iter().map(|e| e.kind.name()).collect();
        assert_eq!(kinds, ["snapshot", "delta", "bbo", "trade"]);
        assert_eq!(ring[1].level.price().as_str(), "4.5");
        assert_eq!((ring[1].side, ring[1].exchange_ts), (Some(Side::Buy), Some(7_000_000)));
        assert_eq!(ring[2].bid.unwrap().qty().as_str(), "1");
        assert_eq!(f.stream("BNBBTC").unwrap().stats.trades, 1);
        // A gap discards the book; a disconnect of another connection changes nothing.
        let ev = f.on_frame(0, &diff(1010, 1010, "5.0")).unwrap();
        assert!(matches!(ev, FeedEvent::Resync { reason: ResyncReason::Gap, .. }));
        assert_eq!(f.pending_snapshots(), [InlineStr::new("BNBBTC").unwrap()]);
        assert_eq!(f.on_disconnect(3), 0, "not live any more");
    }

    #[test]
    fn off_grid_is_counted_and_resyncs_unknown_symbols_are_errors() {
        let mut f = feed();
        f.on_http(0, URL, &snapshot(10)).unwrap();
        let bad = r#"{"e":"depthUpdate","E":1,"s":"BNBBTC","U":11,"u":11,"b":[["1.05","1"]],"a":[]}"#;
        let e = f.on_frame(0, bad).unwrap_err();
        assert_eq!(e.to_string(), "off grid: venue=binance symbol=BNBBTC field=price value=1.05 (not a multiple of the instrument's tick size)");
        let lot = r#"{"e":"depthUpdate","E":1,"s":"BNBBTC","U":11,"u":11,"b":[],"a":[["9.0","0.001"]]}"#;
        let s = f.stream("BNBBTC").unwrap();
        assert_eq!((s.state, s.stats.errors, s.stats.resyncs), (SyncState::Resyncing, 1, 1));
        assert!(s.book.is_empty());
        assert!(matches!(f.on_frame(0, lot).unwrap_err(), FeedError::OffGrid { field: "qty", .. }));
        assert_eq!(f.stream("BNBBTC").unwrap().stats.resyncs, 1, "not live: nothing more to discard");
        // Beyond what the scale holds (a price of 10^21): refused the same way, not a gap later.
        let huge =
            r#"{"e":"depthUpdate","E":1,"s":"BNBBTC","U":11,"u":11,"b":[["1000000000000000000000","1"]],"a":[]}"#;
        assert!(f.on_frame(0, huge).is_err());
        assert_eq!(f.stream("BNBBTC").unwrap().stats.errors, 3);
        // A new snapshot makes it live again.
        assert!(matches!(f.on_http(0, URL, &snapshot(11)).unwrap(), FeedEvent::Snapshot(_)));
        let other = r#"{"e":"depthUpdate","E":1,"s":"ETHBTC","U":1,"u":1,"b":[],"a":[]}"#;
        assert!(matches!(f.on_frame(0, other), Err(FeedError::BadField { field: "s", .. })));
        let eth = "https://api.binance.com/api/v3/depth?symbol=ETHBTC&limit=5";
        assert!(f.on_http(0, eth, &snapshot(1)).is_err());
        assert_eq!(f.unattributed_errors(), 2);
        assert!(matches!(f.on_frame(0, "{not json").unwrap_err(), FeedError::Json { .. }));
        assert_eq!((f.unattributed_errors(), f.stream("BNBBTC").unwrap().stats.errors), (3, 3));
        let one = ("A".to_string(), TickScale::new("1", "1").unwrap());
        assert!(BinanceTickFeed::new(&[one.clone(), one], 64).is_err());
        assert!(BinanceTickFeed::new(&[("A".into(), TickScale::new("1", "1").unwrap())], 65).is_err());
    }

    #[test]
    fn off_grid_before_the_first_snapshot_drops_the_buffer_and_an_older_snapshot_is_refused() {
        let mut f = feed();
        assert!(matches!(f.on_frame(0, &diff(9, 10, "2.0")).unwrap(), FeedEvent::Buffered(_)));
        let bad = r#"{"e":"depthUpdate","E":1,"s":"BNBBTC","U":11,"u":11,"b":[["1.05","1"]],"a":[]}"#;
        assert!(matches!(f.on_frame(0, bad).unwrap_err(), FeedError::OffGrid { field: "price", .. }));
        let s = f.stream("BNBBTC").unwrap();
        assert_eq!(
            (s.state == SyncState::Live, s.stats.errors, s.stats.resyncs),
            (false, 1, 0),
            "no live book to discard"
        );
        assert!(matches!(f.on_frame(0, &diff(12, 12, "3.0")).unwrap(), FeedEvent::Buffered(_)));
        // A snapshot from before the lost diff cannot be brought forward: refused, nothing applied.
        assert!(matches!(f.on_http(0, URL, &snapshot(10)).unwrap(), FeedEvent::StaleSnapshot(_)));
        let s = f.stream("BNBBTC").unwrap();
        assert_eq!((s.state == SyncState::Live, s.stats.snapshots), (false, 0));
        assert!(s.book.is_empty());
        // One that covers it syncs, and the diff buffered after it applies.
        assert!(matches!(f.on_http(0, URL, &snapshot(11)).unwrap(), FeedEvent::Snapshot(_)));
        let s = f.stream("BNBBTC").unwrap();
        assert_eq!((s.state, s.stats.snapshots, s.stats.updates, s.stats.resyncs), (SyncState::Live, 1, 1, 0));
        assert_eq!(s.book.best_bid_level().unwrap().price.as_str(), "3");
    }
}

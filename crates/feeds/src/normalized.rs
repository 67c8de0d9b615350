//! Normalized market-data events and per-venue latency, as the book builders apply frames.
//!
//! Every venue speaks its own protocol; downstream code (the consolidated book, strategies, the
//! L1 cache read from Python) wants one vocabulary. A [`NormalizedEvent`] is that vocabulary:
//!
//! | [`EventKind`] | emitted when | carries |
//! |---|---|---|
//! | `Snapshot` | a book was (re)loaded and is live | `bid`/`ask`: the top after loading |
//! | `Delta` | one level of a live book was set (qty 0 deletes) | `side`, `price`, `qty` |
//! | `Trade` | a public trade | `price`, `qty`, `aggressor`, `trade_id` |
//! | `Bbo` | the best bid or ask (price or quantity) changed | `bid`, `ask` |
//!
//! Each event has the venue, the venue's symbol, a per-stream sequence number (the tap's own,
//! gapless from 1), the venue's sequence identifier of its message where the venue sends one
//! ([`NormalizedEvent::venue_seq`]: what an audit matches against the exchange), the exchange's
//! timestamp when the venue sends one (`None` otherwise: Binance and Coinbase snapshots), the
//! local receive timestamp of the frame it came from (taken by the connector as the frame
//! arrived) and the time it was normalized. Prices and quantities are exact: raw fixed-point
//! `i128` values in units of 10^-18 ([`wintermute_core::decimal::SCALE`]), the same values as
//! [`Decimal::raw`]; [`Quote::price`] gives them back as decimals. The event is `Copy` and
//! holds no heap data, so emitting one costs a copy into a ring.
//!
//! # The tap
//!
//! Each builder owns a [`Tap`], disabled by default (the `verify` path and the benchmarks pay
//! one branch per emission point). [`Tap::enable`] gives every (venue, symbol) stream an L1
//! ring of the last N events ([`crate::l1::EventRing`], allocated once when the stream is first
//! seen) and the venue two HDR histograms ([`LatencyStats`]):
//!
//! * **exchange → receive**: receive time minus the exchange's timestamp of the frame (clock
//!   skew between the venue and this machine included; negative differences are counted apart
//!   in `negative` and recorded in the lowest bucket, 1 ns);
//! * **receive → normalized**: from the frame's arrival to the end of its processing (parse,
//!   sync checks, book update, emission), one sample per frame.
//!
//! The connector hands each frame's receive time to the builder through
//! [`FeedHandler::on_frame_at`](crate::sync::FeedHandler::on_frame_at). Once every stream's ring
//! exists, emitting does not allocate (see `tests/normalized.rs`).

use std::collections::HashMap;

use hdrhistogram::Histogram;

use crate::book::{L2Book, Level, Side};
use crate::l1::EventRing;
use crate::message::{Aggressor, LevelUpdate, Symbol, Trade, Venue};
use wintermute_core::decimal::Decimal;

/// Default number of events kept per stream.
pub const DEFAULT_RING_CAPACITY: usize = 1024;

/// Highest latency the histograms resolve (60 s, in ns); larger values are recorded as this.
pub const MAX_LATENCY_NS: u64 = 60_000_000_000;

/// What kind of event (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A book was loaded from a snapshot and is live.
    Snapshot,
    /// One level changed.
    Delta,
    /// A public trade.
    Trade,
    /// The top of book changed.
    Bbo,
}

impl EventKind {
    /// Lowercase name (`snapshot`, `delta`, `trade`, `bbo`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Snapshot => "snapshot",
            EventKind::Delta => "delta",
            EventKind::Trade => "trade",
            EventKind::Bbo => "bbo",
        }
    }
}

/// A price and a quantity as exact raw fixed-point values (units of 10^-18).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Quote {
    /// Price, raw.
    pub price_raw: i128,
    /// Quantity, raw.
    pub qty_raw: i128,
}

impl Quote {
    /// From two decimals.
    pub fn new(price: Decimal, qty: Decimal) -> Self {
        Quote { price_raw: price.raw(), qty_raw: qty.raw() }
    }

    fn of(level: Option<&Level>) -> Option<Quote> {
        level.map(|l| Quote::new(l.price, l.qty))
    }

    /// The price as an exact decimal (canonical text: no trailing zeros).
    pub fn price(&self) -> Decimal {
        Decimal::from_raw(self.price_raw).unwrap_or(Decimal::ZERO)
    }

    /// The quantity as an exact decimal.
    pub fn qty(&self) -> Decimal {
        Decimal::from_raw(self.qty_raw).unwrap_or(Decimal::ZERO)
    }
}

/// One normalized market-data event (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormalizedEvent {
    /// Venue.
    pub venue: Venue,
    /// Symbol as the venue writes it.
    pub symbol: Symbol,
    /// What happened.
    pub kind: EventKind,
    /// Per-(venue, symbol) sequence number, from 1.
    pub seq: u64,
    /// `Delta`: the book side of the level.
    pub side: Option<Side>,
    /// `Delta`: the level (qty 0 = deleted); `Trade`: price and quantity traded.
    pub level: Quote,
    /// `Trade`: the side that took liquidity, when the venue says.
    pub aggressor: Option<Aggressor>,
    /// `Trade`: venue trade id (0 when the venue sends none).
    pub trade_id: u64,
    /// The venue's own sequence identifier of the message the event came from, when the venue
    /// sends one (`None` otherwise, never made up): Binance deltas and BBOs: the diff's final
    /// update id `u`; Binance snapshots: the update id the book is at once loaded (the REST
    /// `lastUpdateId`, or the `u` of the last buffered diff replayed on it); Binance trades: the
    /// trade id (`a` of `aggTrade`, `t` of `trade`); Coinbase Exchange `match`: `sequence`;
    /// Coinbase Advanced Trade: the message's `sequence_num` (per connection); Coinbase
    /// Exchange `level2` snapshots and updates, and every Kraken event: `None` (Kraken books
    /// carry a checksum instead; v1 trades carry no id).
    pub venue_seq: Option<u64>,
    /// `Snapshot`/`Bbo`: best bid after the event.
    pub bid: Option<Quote>,
    /// `Snapshot`/`Bbo`: best ask after the event.
    pub ask: Option<Quote>,
    /// Exchange time, ns since the epoch, when the venue sends one.
    pub exchange_ts: Option<i64>,
    /// Local receive time of the frame, ns since the epoch.
    pub receive_ts: i64,
    /// Local time the event was emitted, ns since the epoch.
    pub normalized_ts: i64,
}

/// Percentiles of one latency histogram, in ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct LatencySummary {
    /// Samples recorded.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest sample.
    pub max: u64,
}

impl LatencySummary {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// The two latency histograms of a venue (see the module docs).
#[derive(Debug, Clone)]
pub struct LatencyStats {
    /// Receive time minus exchange time, per frame that carries an exchange time.
    pub exchange_to_receive: Histogram<u64>,
    /// Normalized (end of processing) minus receive time, per frame.
    pub receive_to_normalized: Histogram<u64>,
    /// Frames whose exchange time was after the local receive time (clock skew).
    pub negative: u64,
}

impl Default for LatencyStats {
    fn default() -> Self {
        let h = || Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3).expect("valid static histogram bounds");
        LatencyStats { exchange_to_receive: h(), receive_to_normalized: h(), negative: 0 }
    }
}

impl LatencyStats {
    /// Exchange → receive percentiles.
    pub fn exchange_to_receive_summary(&self) -> LatencySummary {
        LatencySummary::of(&self.exchange_to_receive)
    }

    /// Receive → normalized percentiles.
    pub fn receive_to_normalized_summary(&self) -> LatencySummary {
        LatencySummary::of(&self.receive_to_normalized)
    }

    /// Copies `other` into `self` without allocating (same bounds).
    pub fn copy_from(&mut self, other: &LatencyStats) {
        self.exchange_to_receive.reset();
        self.receive_to_normalized.reset();
        // Same bounds on both sides: `add` cannot fail or grow.
        let _ = self.exchange_to_receive.add(&other.exchange_to_receive);
        let _ = self.receive_to_normalized.add(&other.receive_to_normalized);
        self.negative = other.negative;
    }

    fn record(h: &mut Histogram<u64>, ns: i64) {
        h.saturating_record(u64::try_from(ns).unwrap_or(0).clamp(1, MAX_LATENCY_NS));
    }
}

/// The L1 ring of one stream plus what the tap needs to number events and detect BBO changes.
#[derive(Debug, Clone)]
pub struct StreamTap {
    /// The last events of the stream.
    pub ring: EventRing<NormalizedEvent>,
    last_top: (Option<Quote>, Option<Quote>),
}

impl StreamTap {
    /// Numbers `ev` and appends it to the ring.
    fn push(&mut self, mut ev: NormalizedEvent) {
        ev.seq = self.ring.pushed() + 1;
        self.ring.push(ev);
    }
}

/// Where a builder emits normalized events (see the module docs). Disabled by default.
#[derive(Debug, Clone, Default)]
pub struct Tap {
    venue: Option<Venue>,
    capacity: usize,
    receive_ns: i64,
    frame_exchange_ns: Option<i64>,
    venue_seq: Option<u64>,
    streams: HashMap<Symbol, StreamTap>,
    latency: Option<Box<LatencyStats>>,
}

/// Local time in ns since the epoch (vDSO clock read, no system call on Linux).
pub fn now_ns() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as i64).unwrap_or(0)
}

impl Tap {
    /// Starts emitting for `venue`, keeping the last `capacity` events per stream.
    pub fn enable(&mut self, venue: Venue, capacity: usize) {
        self.venue = Some(venue);
        self.capacity = capacity.max(1);
        self.latency.get_or_insert_with(Box::default);
    }

    /// Whether events are being emitted.
    pub fn is_enabled(&self) -> bool {
        self.venue.is_some()
    }

    /// The L1 ring of each stream seen since enabling.
    pub fn streams(&self) -> impl Iterator<Item = (&Symbol, &StreamTap)> {
        self.streams.iter()
    }

    /// The L1 ring of `symbol`.
    pub fn ring(&self, symbol: &Symbol) -> Option<&EventRing<NormalizedEvent>> {
        self.streams.get(symbol).map(|s| &s.ring)
    }

    /// The venue's latency histograms (`None` until enabled).
    pub fn latency(&self) -> Option<&LatencyStats> {
        self.latency.as_deref()
    }

    /// A frame received at `receive_ns` is about to be processed.
    pub fn begin_frame(&mut self, receive_ns: i64) {
        self.receive_ns = receive_ns;
        self.frame_exchange_ns = None;
        self.venue_seq = None;
    }

    /// The events emitted next come from a message the venue numbered `seq` (see
    /// [`NormalizedEvent::venue_seq`]); holds until changed or the frame ends. Builders set it
    /// before each message's events, `None` where the message carries no number.
    pub fn venue_seq(&mut self, seq: Option<u64>) {
        self.venue_seq = seq;
    }

    /// The frame being processed carries exchange time `ns` (the latest one counts).
    pub fn exchange_time(&mut self, ns: Option<i64>) {
        if self.venue.is_some() && ns.is_some() {
            self.frame_exchange_ns = self.frame_exchange_ns.max(ns);
        }
    }

    /// The frame is processed: records its latencies.
    pub fn end_frame(&mut self) {
        let Some(latency) = self.latency.as_deref_mut().filter(|_| self.venue.is_some()) else {
            return;
        };
        if self.receive_ns > 0 {
            LatencyStats::record(&mut latency.receive_to_normalized, now_ns() - self.receive_ns);
            if let Some(ex) = self.frame_exchange_ns {
                let d = self.receive_ns - ex;
                if d < 0 {
                    latency.negative += 1;
                }
                LatencyStats::record(&mut latency.exchange_to_receive, d.max(0));
            }
        }
        self.receive_ns = 0;
        self.frame_exchange_ns = None;
        self.venue_seq = None;
    }

    /// The stream's tap and a template of its next event: one clock read and one lookup per
    /// batch of events (a message's deltas share their normalization time).
    fn batch(&mut self, symbol: Symbol) -> Option<(&mut StreamTap, NormalizedEvent)> {
        let venue = self.venue?;
        let now = now_ns();
        let receive_ts = if self.receive_ns > 0 { self.receive_ns } else { now };
        let template = NormalizedEvent {
            venue,
            symbol,
            kind: EventKind::Bbo,
            seq: 0,
            side: None,
            level: Quote::default(),
            aggressor: None,
            trade_id: 0,
            venue_seq: self.venue_seq,
            bid: None,
            ask: None,
            exchange_ts: self.frame_exchange_ns,
            receive_ts,
            normalized_ts: now,
        };
        let capacity = self.capacity;
        let stream = self
            .streams
            .entry(symbol)
            .or_insert_with(|| StreamTap { ring: EventRing::new(capacity), last_top: (None, None) });
        Some((stream, template))
    }

    /// A snapshot of `symbol` was loaded into `book`.
    pub fn snapshot(&mut self, symbol: Symbol, book: &L2Book) {
        if self.venue.is_some() {
            self.snapshot_top(symbol, Quote::of(book.best_bid()), Quote::of(book.best_ask()));
        }
    }

    /// A snapshot of `symbol` was loaded; `bid` and `ask` are its top (for books that are not
    /// [`L2Book`]s, such as the integer Binance books).
    pub fn snapshot_top(&mut self, symbol: Symbol, bid: Option<Quote>, ask: Option<Quote>) {
        let top = (bid, ask);
        if let Some((s, base)) = self.batch(symbol) {
            s.push(NormalizedEvent { kind: EventKind::Snapshot, bid: top.0, ask: top.1, ..base });
            s.last_top = top;
        }
    }

    /// Levels of `symbol` were applied to a live book, in this order.
    pub fn deltas(&mut self, symbol: Symbol, levels: &[LevelUpdate]) {
        let Some((s, base)) = self.batch(symbol) else {
            return;
        };
        for l in levels {
            let level = Quote::new(l.price, l.qty);
            s.push(NormalizedEvent { kind: EventKind::Delta, side: Some(l.side), level, ..base });
        }
    }

    /// Levels of `symbol` applied to a live book, in this order, as (side, exact level).
    pub fn deltas_of(&mut self, symbol: Symbol, levels: impl Iterator<Item = (Side, Quote)>) {
        let Some((s, base)) = self.batch(symbol) else {
            return;
        };
        for (side, level) in levels {
            s.push(NormalizedEvent { kind: EventKind::Delta, side: Some(side), level, ..base });
        }
    }

    /// A BBO event for `symbol` if `book`'s top differs from the last one emitted.
    pub fn bbo(&mut self, symbol: Symbol, book: &L2Book) {
        if self.venue.is_none() {
            return;
        }
        self.bbo_top(symbol, Quote::of(book.best_bid()), Quote::of(book.best_ask()));
    }

    /// A BBO event for `symbol` if (`bid`, `ask`) differs from the last top emitted.
    pub fn bbo_top(&mut self, symbol: Symbol, bid: Option<Quote>, ask: Option<Quote>) {
        if self.venue.is_none() {
            return;
        }
        let top = (bid, ask);
        if self.streams.get(&symbol).is_some_and(|s| s.last_top == top) {
            return;
        }
        if let Some((s, base)) = self.batch(symbol) {
            s.push(NormalizedEvent { bid: top.0, ask: top.1, ..base });
            s.last_top = top;
        }
    }

    /// A book of `symbol` was discarded: the next top is reported again.
    pub fn reset_top(&mut self, symbol: Symbol) {
        if let Some(s) = self.streams.get_mut(&symbol) {
            s.last_top = (None, None);
        }
    }

    /// Public trades (each of its own symbol).
    pub fn trades(&mut self, trades: &[Trade]) {
        for t in trades {
            let Some((s, base)) = self.batch(t.symbol) else {
                return;
            };
            s.push(NormalizedEvent {
                kind: EventKind::Trade,
                level: Quote::new(t.price, t.qty),
                aggressor: t.aggressor,
                trade_id: t.trade_id,
                exchange_ts: t.exchange_ts.or(base.exchange_ts),
                ..base
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse_unsigned(s).unwrap()
    }

    #[test]
    fn disabled_tap_emits_nothing() {
        let mut tap = Tap::default();
        let sym = Symbol::new("X").unwrap();
        tap.begin_frame(5);
        tap.deltas(sym, &[LevelUpdate { side: Side::Buy, price: d("1"), qty: d("2") }]);
        tap.end_frame();
        assert!(tap.ring(&sym).is_none());
        assert!(tap.latency().is_none());
    }

    #[test]
    fn events_are_numbered_and_bbo_only_on_change() {
        let mut tap = Tap::default();
        tap.enable(Venue::Kraken, 8);
        let sym = Symbol::new("XBT/USD").unwrap();
        let mut book = L2Book::new();
        book.apply(Side::Buy, d("100.0"), d("1.5"));
        book.apply(Side::Sell, d("101"), d("2"));
        tap.begin_frame(1_000);
        tap.exchange_time(Some(400));
        tap.snapshot(sym, &book);
        tap.bbo(sym, &book); // unchanged: nothing
        let up = LevelUpdate { side: Side::Buy, price: d("100.5"), qty: d("0.25") };
        book.apply(up.side, up.price, up.qty);
        tap.deltas(sym, &[up]);
        tap.bbo(sym, &book);
        tap.end_frame();
        let events: Vec<NormalizedEvent> = tap.ring(&sym).unwrap().iter().collect();
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EventKind::Snapshot, EventKind::Delta, EventKind::Bbo]);
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(events[1].level.price().as_str(), "100.5");
        assert_eq!(events[2].bid.unwrap().qty().as_str(), "0.25");
        assert_eq!((events[0].exchange_ts, events[0].receive_ts), (Some(400), 1_000));
        let lat = tap.latency().unwrap();
        assert_eq!(lat.exchange_to_receive_summary().count, 1);
        // 1000 - 400 = 600 ns, within the histogram's 3 significant digits.
        assert_eq!(lat.exchange_to_receive_summary().max, 600);
        assert_eq!(lat.receive_to_normalized_summary().count, 1);
    }

    #[test]
    fn clock_skew_is_counted() {
        let mut tap = Tap::default();
        tap.enable(Venue::Binance, 4);
        tap.begin_frame(1_000);
        tap.exchange_time(Some(2_000));
        tap.end_frame();
        let lat = tap.latency().unwrap();
        assert_eq!((lat.negative, lat.exchange_to_receive_summary().count), (1, 1));
        let mut copy = LatencyStats::default();
        copy.copy_from(lat);
        assert_eq!(copy.exchange_to_receive_summary(), lat.exchange_to_receive_summary());
        assert_eq!(copy.negative, 1);
    }
}

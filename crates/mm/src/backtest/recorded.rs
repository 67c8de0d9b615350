//! Tapes from recorded market data: a cryptofeed raw recording (or the project's own JSON
//! lines) replayed through the venue's own book builder ([`wintermute_feeds::sync`]), so the
//! backtest sees exactly the books the live connector would have built, resyncs included.
//!
//! Each applied level and each trade of the chosen symbol becomes one [`MdEvent`] on our grid
//! (prices divided exactly by the tick size, quantities by the lot size: a value off the grid is
//! an error, never rounded). A snapshot becomes a [`MdKind::Clear`] followed by its levels; a
//! book that leaves the live state (gap, checksum mismatch) becomes a [`MdKind::Invalid`].
//!
//! Times: the venue time is the exchange's timestamp of the frame when the venue sends one,
//! else the local receive time. The receive time is the recording's own (latency "recorded":
//! the real exchange → receive delay, clamped at 0 where the clocks disagree) or the venue time
//! plus a constant.
//!
//! Several recordings of one venue (a book recording and a trades recording made on their own
//! connections, say) make one tape: [`merged_records`] interleaves their records by receive
//! time, each file's own order kept, and gives every (file, connection) pair its own connection
//! number, so two files' connection 0 cannot be taken for one connection.

use std::collections::BTreeMap;
use std::path::PathBuf;

use wintermute_core::decimal::Decimal;
use wintermute_feeds::book::L2Book;
use wintermute_feeds::normalized::{EventKind, NormalizedEvent};
use wintermute_feeds::recording::{read_recording, records, Record};
use wintermute_feeds::sync::{BinanceBooks, CoinbaseBooks, FeedHandler, KrakenBooks, SyncState};
use wintermute_feeds::{Aggressor, Symbol, Venue};

use super::error::BacktestError;
use super::tape::{MdEvent, MdKind, Tape};
use crate::types::Side;

/// How the receive times of a recorded tape are made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RecordedLatency {
    /// The recording's own receive times.
    Recorded,
    /// Venue time plus this many ns.
    Constant(i64),
}

/// The records of every recording in `texts`, merged into one sequence: ordered by receive
/// time, ties (and each file's own order, even where its clock steps back) kept as the files
/// give them, a record of an earlier file first. Connection numbers are renumbered in order of
/// first appearance over the merged sequence, one per (file, connection) pair. A record that
/// does not parse is an error naming its file (`names[i]`).
pub fn merged_records<'a>(texts: &'a [String], names: &[String]) -> Result<Vec<Record<'a>>, BacktestError> {
    let mut files = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let name = names.get(i).map_or("recording", String::as_str);
        let recs: Vec<Record<'a>> =
            records(text).collect::<Result<_, _>>().map_err(|e| BacktestError::Data { why: format!("{name}: {e}") })?;
        files.push(recs.into_iter().peekable());
    }
    let mut conns: BTreeMap<(usize, u32), u32> = BTreeMap::new();
    let mut out = Vec::new();
    loop {
        // The file whose next record is earliest (the first such file on a tie).
        let mut next: Option<(usize, i64)> = None;
        for (i, f) in files.iter_mut().enumerate() {
            if let Some(r) = f.peek() {
                if next.is_none_or(|(_, ts)| r.ts() < ts) {
                    next = Some((i, r.ts()));
                }
            }
        }
        let Some((i, _)) = next else { break };
        let Some(mut record) = files[i].next() else { break };
        let fresh = conns.len() as u32;
        let conn = match &mut record {
            Record::Connect { conn, .. }
            | Record::Sent { conn, .. }
            | Record::Received { conn, .. }
            | Record::Http { conn, .. } => conn,
        };
        *conn = *conns.entry((i, *conn)).or_insert(fresh);
        out.push(record);
    }
    Ok(out)
}

/// Reads the recordings `paths` (one venue's, merged by [`merged_records`]) and builds the tape
/// of `symbol` on `venue`, on a grid of `tick_size` and `lot_size` (decimal text).
pub fn load(
    paths: &[PathBuf],
    venue: Venue,
    symbol: &str,
    tick_size: &str,
    lot_size: &str,
    latency: RecordedLatency,
) -> Result<Tape, BacktestError> {
    if paths.is_empty() {
        return Err(BacktestError::Config { field: "market.recordings", why: "no recording given".into() });
    }
    let mut texts = Vec::with_capacity(paths.len());
    for path in paths {
        texts.push(read_recording(path).map_err(|e| BacktestError::Data { why: e.to_string() })?);
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let merged = merged_records(&texts, &names)?;
    let grid = |field: &'static str, text: &str| {
        Decimal::parse(text)
            .ok()
            .map(|d| d.raw())
            .filter(|&r| r > 0)
            .ok_or_else(|| BacktestError::Config { field, why: format!("{text:?} is not a positive decimal") })
    };
    let (tick, lot) = (grid("tick_size", tick_size)?, grid("lot_size", lot_size)?);
    let sym = Symbol::new(symbol).map_err(|_| BacktestError::Config { field: "symbol", why: "too long".into() })?;
    let mut handler: Box<dyn FeedHandler<Book = L2Book>> = match venue {
        Venue::Binance => Box::new(BinanceBooks::new()),
        Venue::Coinbase => Box::new(CoinbaseBooks::new()),
        Venue::Kraken => Box::new(KrakenBooks::new()),
    };
    if let Some(tap) = handler.tap_mut() {
        tap.enable(venue, 1 << 16);
    }
    let mut conv = Converter { tick, lot, latency, out: Vec::new(), symbol: symbol.to_owned() };
    let (mut seen, mut live) = (0u64, false);
    for record in &merged {
        let ts = record.ts();
        match record {
            Record::Connect { conn, url, .. } => handler.on_connect(*conn, url),
            Record::Sent { conn, payload, .. } => handler.on_sent(*conn, payload),
            // Malformed frames are counted by the builder and resync its books when needed.
            Record::Received { conn, payload, .. } => drop(handler.on_frame_at(*conn, payload, ts)),
            Record::Http { conn, url, body, .. } => drop(handler.on_http(*conn, url, body)),
        }
        let stream = handler.streams().into_iter().find(|s| s.symbol == sym);
        let Some(stream) = stream else { continue };
        let ring = handler.tap().and_then(|t| t.ring(&sym));
        if let Some(ring) = ring {
            for ev in ring.since(seen) {
                conv.event(&ev, ts, &stream.book)?;
            }
            seen = ring.pushed();
        }
        let now_live = stream.state == SyncState::Live;
        if live && !now_live {
            conv.push(ts, ts, MdKind::Invalid, Side::Buy, 0, 0);
        }
        live = now_live;
    }
    if conv.out.is_empty() {
        return Err(BacktestError::Data { why: format!("no book data for symbol={symbol} in {}", names.join(", ")) });
    }
    Ok(Tape::new(conv.out, vec![format!("{}:{symbol}", venue_name(venue))]))
}

/// The venue's name as configurations write it.
pub fn venue_name(venue: Venue) -> &'static str {
    match venue {
        Venue::Binance => "binance",
        Venue::Coinbase => "coinbase",
        Venue::Kraken => "kraken",
    }
}

struct Converter {
    tick: i128,
    lot: i128,
    latency: RecordedLatency,
    out: Vec<MdEvent>,
    symbol: String,
}

impl Converter {
    fn push(&mut self, exch: i64, recv: i64, kind: MdKind, side: Side, price: i64, qty: i64) {
        let ts_recv = match self.latency {
            RecordedLatency::Recorded => recv.max(exch),
            RecordedLatency::Constant(ns) => exch + ns,
        };
        self.out.push(MdEvent { ts_exch: exch, ts_recv, price, qty, venue: 0, kind, side });
    }

    fn units(&self, raw: i128, step: i128, what: &str) -> Result<i64, BacktestError> {
        if raw % step != 0 {
            return Err(BacktestError::Data {
                why: format!("symbol={} {what}_raw={raw} is not on the grid step_raw={step}", self.symbol),
            });
        }
        i64::try_from(raw / step).map_err(|_| BacktestError::Data { why: format!("{what}_raw={raw} too large") })
    }

    fn event(&mut self, ev: &NormalizedEvent, recv: i64, book: &L2Book) -> Result<(), BacktestError> {
        let exch = ev.exchange_ts.unwrap_or(recv);
        match ev.kind {
            EventKind::Snapshot => {
                self.push(exch, recv, MdKind::Clear, Side::Buy, 0, 0);
                for side in [Side::Buy, Side::Sell] {
                    for level in book.levels(side) {
                        let price = self.units(level.price.raw(), self.tick, "price")?;
                        let qty = self.units(level.qty.raw(), self.lot, "qty")?;
                        self.push(exch, recv, MdKind::Level, side, price, qty);
                    }
                }
            }
            EventKind::Delta => {
                let Some(side) = ev.side else { return Ok(()) };
                let price = self.units(ev.level.price_raw, self.tick, "price")?;
                let qty = self.units(ev.level.qty_raw, self.lot, "qty")?;
                self.push(exch, recv, MdKind::Level, side, price, qty);
            }
            EventKind::Trade => {
                let price = self.units(ev.level.price_raw, self.tick, "price")?;
                let qty = self.units(ev.level.qty_raw, self.lot, "qty")?;
                let side = match ev.aggressor {
                    Some(Aggressor::Buy) => Side::Buy,
                    Some(Aggressor::Sell) => Side::Sell,
                    None => return Ok(()),
                };
                self.push(exch, recv, MdKind::Trade, side, price, qty);
            }
            EventKind::Bbo => {}
        }
        Ok(())
    }
}

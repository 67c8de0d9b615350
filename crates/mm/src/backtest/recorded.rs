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

use std::path::Path;

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

/// Reads `path` and builds the tape of `symbol` on `venue`, on a grid of `tick_size` and
/// `lot_size` (decimal text).
pub fn load(
    path: &Path,
    venue: Venue,
    symbol: &str,
    tick_size: &str,
    lot_size: &str,
    latency: RecordedLatency,
) -> Result<Tape, BacktestError> {
    let text = read_recording(path).map_err(|e| BacktestError::Data { why: e.to_string() })?;
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
    for record in records(&text) {
        let record = record.map_err(|e| BacktestError::Data { why: e.to_string() })?;
        let ts = record.ts();
        match &record {
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
        return Err(BacktestError::Data { why: format!("no book data for symbol={symbol} in {}", path.display()) });
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

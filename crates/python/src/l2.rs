//! The integer L2 book (`wintermute_feeds::TickBook`) from Python, and the timed native loops
//! behind `wintermute bench feeds`.
//!
//! - `TickBook`: per-call API (`set`, `best_bid_price`, ...) kept trivial so one update costs one
//!   Python call, and a batched numpy API (`apply`) that runs a whole array with the GIL released.
//! - `tick_book_replay`: the same arrays through a fresh book in a Rust loop, timed in Rust (the
//!   "native" row of the benchmark).
//! - `feeds_recorded_messages` / `feeds_replay_timed`: a recording's messages, and their replay
//!   (raw exchange JSON parsed and applied to the venue's book builder) timed in Rust;
//!   `binance_ticks_replay_timed`: Binance messages through the integer path.

use std::path::Path;
use std::time::Instant;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wintermute_feeds::binance_ticks::{BinanceTickBook, BinanceTickBooks, TickScale};
use wintermute_feeds::book::{Level, Side};
use wintermute_feeds::recording::{read_recording, records, Record};
use wintermute_feeds::sync::{BinanceBooks, BinanceTickFeed, BookView, CoinbaseBooks, FeedHandler, KrakenBooks};
use wintermute_feeds::tick_book::{side_of, NO_ASK, NO_BID, SIDE_ASK, SIDE_BID};
use wintermute_feeds::{FeedError, TickBook, Venue};

use crate::errors::{Error, Result};

/// Best bid and best ask prices after each update of a batch.
type BestArrays<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>);

fn side(code: u8) -> Result<Side> {
    side_of(code).ok_or_else(|| PyValueError::new_err(format!("bad side code: side={code} (0 = bid, 1 = ask)")).into())
}

/// An integer L2 book: prices in ticks, quantities in lots (absolute; 0 deletes a level).
#[pyclass(module = "wintermute._core", name = "TickBook")]
pub struct PyTickBook {
    book: TickBook,
}

#[pymethods]
impl PyTickBook {
    /// Side code of bids.
    #[classattr]
    const BID: u8 = SIDE_BID;
    /// Side code of asks.
    #[classattr]
    const ASK: u8 = SIDE_ASK;
    /// Best bid written by `apply` when there are no bids.
    #[classattr]
    const NO_BID: i64 = NO_BID;
    /// Best ask written by `apply` when there are no asks.
    #[classattr]
    const NO_ASK: i64 = NO_ASK;

    #[new]
    // The default is `tick_book::DEFAULT_WINDOW`, written as a literal so Python's signature shows it.
    #[pyo3(signature = (window=4096))]
    fn new(window: usize) -> Result<Self> {
        Ok(TickBook::with_window(window).map(|book| PyTickBook { book })?)
    }

    /// Ticks per side in the dense window.
    #[getter]
    fn window(&self) -> usize {
        self.book.window()
    }

    /// Sets the quantity at `price` on `side` (0 = bid, 1 = ask); 0 removes the level.
    fn set(&mut self, side: u8, price: i64, qty: i64) -> Result<()> {
        let s = self::side(side)?;
        self.book.set(s, price, qty)?;
        Ok(())
    }

    /// The highest bid price, or None.
    fn best_bid_price(&self) -> Option<i64> {
        self.book.best_bid().map(|b| b.0)
    }

    /// The lowest ask price, or None.
    fn best_ask_price(&self) -> Option<i64> {
        self.book.best_ask().map(|a| a.0)
    }

    /// The highest bid as (price, qty), or None.
    fn best_bid(&self) -> Option<(i64, i64)> {
        self.book.best_bid()
    }

    /// The lowest ask as (price, qty), or None.
    fn best_ask(&self) -> Option<(i64, i64)> {
        self.book.best_ask()
    }

    /// The quantity at `price` on `side` (0 when there is no level).
    fn qty_at(&self, side: u8, price: i64) -> Result<i64> {
        Ok(self.book.qty_at(self::side(side)?, price))
    }

    /// Number of levels on `side`.
    fn depth(&self, side: u8) -> Result<usize> {
        Ok(self.book.len(self::side(side)?))
    }

    /// Up to `limit` levels of `side` as (price, qty), best first (all when None).
    #[pyo3(signature = (side, limit=None))]
    fn levels(&self, side: u8, limit: Option<usize>) -> Result<Vec<(i64, i64)>> {
        Ok(self.book.levels(self::side(side)?).take(limit.unwrap_or(usize::MAX)).collect())
    }

    /// Removes every level.
    fn clear(&mut self) {
        self.book.clear();
    }

    /// Applies arrays of updates (sides uint8, prices int64, qtys int64) with the GIL released;
    /// returns the best bid and ask prices after each update (`NO_BID` / `NO_ASK` when a side is
    /// empty). The whole batch is checked first: on an error nothing is applied.
    fn apply<'py>(
        &mut self,
        py: Python<'py>,
        sides: PyReadonlyArray1<'py, u8>,
        prices: PyReadonlyArray1<'py, i64>,
        qtys: PyReadonlyArray1<'py, i64>,
    ) -> Result<BestArrays<'py>> {
        let (s, p, q) = (contiguous(&sides)?, contiguous(&prices)?, contiguous(&qtys)?);
        let book = &mut self.book;
        let out = py.detach(|| {
            let (mut bids, mut asks) = (vec![0i64; s.len()], vec![0i64; s.len()]);
            book.apply_batch(s, p, q, &mut bids, &mut asks).map(|()| (bids, asks))
        });
        let (bids, asks) = out?;
        Ok((PyArray1::from_vec(py, bids), PyArray1::from_vec(py, asks)))
    }

    fn __len__(&self) -> usize {
        self.book.len(Side::Bid) + self.book.len(Side::Ask)
    }

    fn __repr__(&self) -> String {
        format!(
            "TickBook(bids={}, asks={}, best_bid={}, best_ask={})",
            self.book.len(Side::Bid),
            self.book.len(Side::Ask),
            py_opt(self.book.best_bid()),
            py_opt(self.book.best_ask())
        )
    }
}

/// `(price, qty)` or `None`, as Python writes them.
fn py_opt(level: Option<(i64, i64)>) -> String {
    level.map_or_else(|| "None".to_owned(), |(p, q)| format!("({p}, {q})"))
}

const _: () = assert!(wintermute_feeds::tick_book::DEFAULT_WINDOW == 4096, "keep the signatures' default in step");

fn contiguous<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>) -> Result<&'a [T]> {
    a.as_slice().map_err(|_| Error::type_error("arrays must be contiguous"))
}

/// Benchmark support: applies the arrays to a fresh book `repeat` times in a Rust loop (GIL
/// released), reading the best bid and ask after each update. Returns
/// `{"updates", "seconds", "checksum"}` (the sum of best prices, so the reads are not elided).
#[pyfunction]
#[pyo3(signature = (sides, prices, qtys, repeat=1, window=4096))]
fn tick_book_replay<'py>(
    py: Python<'py>,
    sides: PyReadonlyArray1<'py, u8>,
    prices: PyReadonlyArray1<'py, i64>,
    qtys: PyReadonlyArray1<'py, i64>,
    repeat: usize,
    window: usize,
) -> Result<Bound<'py, PyDict>> {
    let (s, p, q) = (contiguous(&sides)?, contiguous(&prices)?, contiguous(&qtys)?);
    let mut book = TickBook::with_window(window)?;
    // Validate once through the batch path (nothing applied on error), then clear.
    let n = s.len();
    let (mut bb, mut ba) = (vec![0i64; n], vec![0i64; n]);
    book.apply_batch(s, p, q, &mut bb, &mut ba)?;
    let ops: Vec<(Side, i64, i64)> =
        s.iter().zip(p).zip(q).map(|((&s, &p), &q)| (side_of(s).unwrap_or(Side::Ask), p, q)).collect();
    let (seconds, checksum) = py.detach(|| {
        let mut checksum = 0i64;
        let start = Instant::now();
        for _ in 0..repeat {
            book.clear();
            for &(side, price, qty) in &ops {
                let _ = book.set(side, price, qty);
                let bid = book.best_bid().map_or(0, |b| b.0);
                let ask = book.best_ask().map_or(0, |a| a.0);
                checksum = checksum.wrapping_add(bid).wrapping_add(ask);
            }
        }
        (start.elapsed().as_secs_f64(), checksum)
    });
    let d = PyDict::new(py);
    d.set_item("updates", n * repeat)?;
    d.set_item("seconds", seconds)?;
    d.set_item("checksum", checksum)?;
    Ok(d)
}

/// A recording's exchange messages in order, as `(url, text)`: `url` is None for a WebSocket
/// frame and the request URL for an HTTP response (a REST snapshot).
#[pyfunction]
fn feeds_recorded_messages(path: &str) -> Result<Vec<(Option<String>, String)>> {
    let text = read_recording(Path::new(path))?;
    let mut out = Vec::new();
    for r in records(&text) {
        match r? {
            Record::Received { payload, .. } => out.push((None, payload.into_owned())),
            Record::Http { url, body, .. } => out.push((Some(url.into_owned()), body.into_owned())),
            _ => {}
        }
    }
    Ok(out)
}

/// What one timed replay measured: seconds, frames rejected in the last pass, book updates
/// over all passes, and each stream's final (best bid, best ask) as exact decimal text.
type Timed = (f64, u64, u64, Vec<(String, Option<String>, Option<String>)>);

/// `messages` through `handler` once untimed, then `repeat` times timed.
fn replay_timed<H: FeedHandler>(handler: &mut H, messages: &[(Option<String>, String)], repeat: usize) -> Timed {
    let pass = |h: &mut H| {
        let mut errors = 0u64;
        for (url, text) in messages {
            let r = match url {
                None => h.on_frame(0, text),
                Some(u) => h.on_http(0, u, text),
            };
            errors += u64::from(r.is_err());
        }
        errors
    };
    pass(handler);
    let mut errors = 0;
    let start = Instant::now();
    for _ in 0..repeat {
        errors = pass(handler);
    }
    let seconds = start.elapsed().as_secs_f64();
    let streams = handler.streams();
    let updates: u64 = streams.iter().map(|s| s.stats.updates).sum();
    let text = |l: Option<Level>| l.map(|l| l.price.as_str().to_owned());
    let tops = streams
        .iter()
        .map(|s| (s.symbol.as_str().to_owned(), text(s.book.best_bid_level()), text(s.book.best_ask_level())))
        .collect();
    (seconds, errors, updates, tops)
}

/// Benchmark support: replays `messages` (as from `feeds_recorded_messages`) through a fresh
/// book builder of `venue` once untimed (warm-up, as in a live session), then `repeat` times
/// timed, in a Rust loop with the GIL released. Returns `{"messages", "seconds", "errors",
/// "updates", "tops"}`: timed messages, their seconds, frames rejected in the last pass, book
/// updates applied over all passes, and each symbol's final (best bid, best ask) as text.
/// With `scales` (`(symbol, tick_size, lot_size)` per symbol; Binance only) the builder is the
/// connector's integer handler (`BinanceTickFeed`, `window` ticks per side).
#[pyfunction]
#[pyo3(signature = (venue, messages, repeat=1, scales=None, window=65536))]
fn feeds_replay_timed<'py>(
    py: Python<'py>,
    venue: &str,
    messages: Vec<(Option<String>, String)>,
    repeat: usize,
    scales: Option<Vec<(String, String, String)>>,
    window: usize,
) -> Result<Bound<'py, PyDict>> {
    let v = crate::feeds::venue(venue)?;
    let (seconds, errors, updates, tops) = match (v, scales) {
        (Venue::Binance, Some(scales)) => {
            let mut list = Vec::with_capacity(scales.len());
            for (symbol, tick, lot) in scales {
                list.push((symbol, TickScale::new(&tick, &lot)?));
            }
            let mut feed = BinanceTickFeed::new(&list, window)?;
            py.detach(|| replay_timed(&mut feed, &messages, repeat))
        }
        (_, Some(_)) => {
            let reason = format!("venue={venue}: tick scales are for binance only");
            return Err(FeedError::Config { field: "scales", reason }.into());
        }
        (Venue::Binance, None) => py.detach(|| replay_timed(&mut BinanceBooks::new(), &messages, repeat)),
        (Venue::Coinbase, None) => py.detach(|| replay_timed(&mut CoinbaseBooks::new(), &messages, repeat)),
        (Venue::Kraken, None) => py.detach(|| replay_timed(&mut KrakenBooks::new(), &messages, repeat)),
    };
    let top_dict = PyDict::new(py);
    for (symbol, bid, ask) in tops {
        top_dict.set_item(symbol, (bid, ask))?;
    }
    let d = PyDict::new(py);
    d.set_item("messages", messages.len() * repeat)?;
    d.set_item("seconds", seconds)?;
    d.set_item("errors", errors)?;
    d.set_item("updates", updates)?;
    d.set_item("tops", top_dict)?;
    Ok(d)
}

/// Benchmark support: Binance messages through the integer path (`BinanceTickBooks`, one book
/// per `(symbol, tick_size, lot_size)` of `books`), once untimed then `repeat` times timed, GIL
/// released. Returns `{"messages", "seconds", "errors", "tops"}` (`tops`: symbol -> (best bid
/// ticks, best ask ticks)).
#[pyfunction]
#[pyo3(signature = (messages, books, repeat=1, window=65536))]
fn binance_ticks_replay_timed<'py>(
    py: Python<'py>,
    messages: Vec<(Option<String>, String)>,
    books: Vec<(String, String, String)>,
    repeat: usize,
    window: usize,
) -> Result<Bound<'py, PyDict>> {
    let mut router = BinanceTickBooks::new();
    for (symbol, tick, lot) in &books {
        let scale = TickScale::new(tick, lot)?;
        router.add(BinanceTickBook::new(symbol, scale, window)?);
    }
    let pass = |r: &mut BinanceTickBooks| {
        for (url, text) in &messages {
            let _ = match url {
                None => r.on_frame(text),
                Some(u) => r.on_http(u, text),
            };
        }
    };
    let seconds = py.detach(|| {
        pass(&mut router);
        let start = Instant::now();
        for _ in 0..repeat {
            pass(&mut router);
        }
        start.elapsed().as_secs_f64()
    });
    let tops = PyDict::new(py);
    for (symbol, _, _) in &books {
        if let Some(b) = router.book(symbol) {
            tops.set_item(symbol, (b.book().best_bid().map(|l| l.0), b.book().best_ask().map(|l| l.0)))?;
        }
    }
    let d = PyDict::new(py);
    d.set_item("messages", messages.len() * repeat)?;
    d.set_item("seconds", seconds)?;
    d.set_item("errors", router.errors())?;
    d.set_item("tops", tops)?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTickBook>()?;
    m.add_function(wrap_pyfunction!(tick_book_replay, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_recorded_messages, m)?)?;
    m.add_function(wrap_pyfunction!(binance_ticks_replay_timed, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_replay_timed, m)?)
}

//! The integer L2 book (`wintermute_feeds::TickBook`) from Python, and the timed native loops
//! behind `wintermute bench feeds` (`wintermute_bench::{tick_replay, feed_replay}`).
//!
//! - `TickBook`: per-call API (`set`, `best_bid_price`, ...) kept trivial so one update costs one
//!   Python call, and a batched numpy API (`apply`) that runs a whole array with the GIL released.
//! - `tick_book_replay`: the same arrays through a fresh book in a Rust loop, timed in Rust (the
//!   "native" row of the benchmark).
//! - `feeds_recorded_messages` / `feeds_replay_timed`: a recording's messages, and their replay
//!   (raw exchange JSON parsed and applied to the venue's book builder) timed in Rust;
//!   `binance_ticks_replay_timed`: Binance messages through the integer path.

use std::path::Path;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyDict};
use wintermute_bench::{feed_replay, tick_replay};
use wintermute_feeds::book::Side;
use wintermute_feeds::recording::{read_recording, records, Record};
use wintermute_feeds::tick_book::{side_of, NO_ASK, NO_BID, SIDE_ASK, SIDE_BID};
use wintermute_feeds::TickBook;

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
        self.book.len(Side::Buy) + self.book.len(Side::Sell)
    }

    fn __repr__(&self) -> String {
        format!(
            "TickBook(bids={}, asks={}, best_bid={}, best_ask={})",
            self.book.len(Side::Buy),
            self.book.len(Side::Sell),
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
    let r = py.detach(|| tick_replay::replay_ticks(&mut book, s, p, q, repeat))?;
    let d = PyDict::new(py);
    d.set_item("updates", r.updates)?;
    d.set_item("seconds", r.seconds)?;
    d.set_item("checksum", r.checksum)?;
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
    let r = py.detach(|| feed_replay::replay_venue(v, scales.as_deref(), window, &messages, repeat))?;
    let top_dict = r.tops.into_iter().map(|(symbol, bid, ask)| (symbol, (bid, ask))).into_py_dict(py)?;
    let d = PyDict::new(py);
    d.set_item("messages", r.messages)?;
    d.set_item("seconds", r.seconds)?;
    d.set_item("errors", r.errors)?;
    d.set_item("updates", r.updates)?;
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
    let r = py.detach(|| feed_replay::replay_binance_ticks(&books, window, &messages, repeat))?;
    let tops = PyDict::new(py);
    for (symbol, bid, ask) in r.tops {
        tops.set_item(symbol, (bid, ask))?;
    }
    let d = PyDict::new(py);
    d.set_item("messages", r.messages)?;
    d.set_item("seconds", r.seconds)?;
    d.set_item("errors", r.errors)?;
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

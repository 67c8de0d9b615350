//! `wintermute._core.Engine`: the order book API for Python (events: [`crate::event`]).
//!
//! Two levels of the same API:
//! - the decimal API (`submit`, `cancel`, `amend`, `mass_cancel`, `bbo`, `depth`, ...): symbols,
//!   decimal text / `decimal.Decimal` in, `Event` objects and `Decimal`s out;
//! - the integer fast path (`submit_ticks`, `cancel_ticks`, `amend_ticks`, `submit_batch_raw`):
//!   instrument ids, ticks and lots; events are written as 80-byte records
//!   (`wintermute_core::records`) that Python views as a numpy structured array.

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use wintermute_core::records;
use wintermute_core::records::pending::PendingEvents;
use wintermute_core::{BookSnapshot, Command, Engine, Event, InstrumentId, InstrumentSpec, OrderBook, OrderView, Side};

use wintermute_bench::native_book;
use wintermute_engine::journaled_engine::JournaledEngine;

use crate::convert::{
    command_records, decimal_text, instrument_id, new_order, parse_side, price_ticks, qty_lots, side_code, side_str,
    stp_str, to_decimal,
};
use crate::errors::{Error, Result};
use crate::event::PyEvent;
use crate::journal;

/// Most events the fast path holds before `take_events()` must be called.
const DEFAULT_PENDING_LIMIT: usize = 10_000_000;

/// Several instruments, each with its own price-time-priority order book.
#[pyclass(module = "wintermute._core", name = "Engine", subclass)]
pub struct PyEngine {
    inner: JournaledEngine,
    pub(crate) pending: PendingEvents,
    scratch: Vec<Event>,
}

impl PyEngine {
    fn engine(&self) -> &Engine {
        self.inner.engine()
    }

    pub(crate) fn resolve(&self, instrument: &Bound<'_, PyAny>) -> Result<InstrumentId> {
        instrument_id(instrument, |s| self.engine().instrument_id(s), self.engine().len())
    }

    fn price_of(&self, id: InstrumentId, field: &str, v: &Bound<'_, PyAny>) -> Result<i64> {
        price_ticks(self.engine().book(id).spec(), field, v)
    }

    fn qty_of(&self, id: InstrumentId, field: &str, v: &Bound<'_, PyAny>) -> Result<i64> {
        qty_lots(self.engine().book(id).spec(), field, v)
    }

    /// Runs one command and returns its events as `Event` objects.
    fn run<'py>(&mut self, py: Python<'py>, id: InstrumentId, cmd: &Command) -> Result<Bound<'py, PyList>> {
        self.scratch.clear();
        self.inner.execute(id, cmd, &mut self.scratch)?;
        let spec = self.engine().book(id).spec();
        let (tick, lot) = (spec.tick(), spec.lot());
        let list = PyList::empty(py);
        for ev in &self.scratch {
            list.append(Py::new(py, PyEvent { ev: *ev, instrument: id, tick, lot })?)?;
        }
        Ok(list)
    }

    /// Runs one command on the fast path: events go to the pending record buffer.
    pub(crate) fn run_fast(&mut self, id: InstrumentId, cmd: &Command) -> Result<usize> {
        let inner = &mut self.inner;
        self.pending.record(id, |sink| Ok(inner.execute(id, cmd, sink)?))
    }

    fn order_dict<'py>(&self, py: Python<'py>, spec: &InstrumentSpec, o: &OrderView) -> Result<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("order_id", o.order_id)?;
        d.set_item("account", o.account)?;
        d.set_item("side", side_str(o.side))?;
        d.set_item("price", to_decimal(py, &spec.format_price(o.price))?)?;
        d.set_item("remaining", to_decimal(py, &spec.format_qty(o.remaining))?)?;
        d.set_item("visible", to_decimal(py, &spec.format_qty(o.visible))?)?;
        d.set_item("display_qty", o.display_qty.map(|q| to_decimal(py, &spec.format_qty(q))).transpose()?)?;
        d.set_item("stp", stp_str(o.stp))?;
        d.set_item("post_only", o.post_only)?;
        Ok(d)
    }
}

#[pymethods]
impl PyEngine {
    #[new]
    fn new() -> Self {
        Self {
            inner: JournaledEngine::new(),
            pending: PendingEvents::new(DEFAULT_PENDING_LIMIT),
            scratch: Vec::with_capacity(64),
        }
    }

    /// Opens (or creates) an append-only journal in directory `path`: from now on every command
    /// is written there before it runs. Call it right after defining the instruments (same
    /// symbols, same order as in the journal's history): if the journal already holds records,
    /// the books are rebuilt from its newest valid snapshot and the records after it. A torn
    /// last record is cut off and reported under `"truncated"`; damage in the middle raises
    /// `JournalCorruptError`. `fsync`: `"none"`, `"batch"` (every `batch_records` records or
    /// `batch_interval_ms`) or `"every"` record. Returns the recovery report.
    #[pyo3(signature = (path, *, fsync="batch", segment_size=67_108_864, batch_records=1000, batch_interval_ms=10))]
    fn open_journal<'py>(
        &mut self,
        py: Python<'py>,
        path: &str,
        fsync: &str,
        segment_size: u64,
        batch_records: u32,
        batch_interval_ms: u64,
    ) -> Result<Bound<'py, PyDict>> {
        let config = journal::config(path, fsync, segment_size, batch_records, batch_interval_ms)?;
        let inner = &mut self.inner;
        let opened = py.detach(|| inner.open_journal(config))?;
        journal::opened_dict(py, &opened)
    }

    /// Writes a snapshot of every book into the journal directory (atomically); recovery then
    /// starts from it. Returns the snapshot's path.
    fn journal_snapshot(&mut self, py: Python<'_>) -> Result<String> {
        let inner = &mut self.inner;
        Ok(py.detach(|| inner.write_snapshot())?.display().to_string())
    }

    /// Flushes the journal to disk.
    fn sync_journal(&mut self) -> Result<()> {
        Ok(self.inner.sync_journal()?)
    }

    /// Flushes and closes the journal (commands then run unjournaled).
    fn close_journal(&mut self) -> Result<()> {
        Ok(self.inner.close_journal()?)
    }

    /// The journal sequence number of the last journaled command (None without a journal).
    #[getter]
    fn journal_seq(&self) -> Option<u64> {
        self.inner.journal_seq()
    }

    /// Defines an instrument; returns its id. All values are exact decimals (str, int or Decimal).
    #[pyo3(signature = (symbol, *, tick_size, lot_size, min_qty, max_qty, min_price, max_price))]
    #[allow(clippy::too_many_arguments)]
    fn add_instrument(
        &mut self,
        symbol: &str,
        tick_size: &Bound<'_, PyAny>,
        lot_size: &Bound<'_, PyAny>,
        min_qty: &Bound<'_, PyAny>,
        max_qty: &Bound<'_, PyAny>,
        min_price: &Bound<'_, PyAny>,
        max_price: &Bound<'_, PyAny>,
    ) -> Result<InstrumentId> {
        let spec = InstrumentSpec::from_decimals(
            symbol,
            &decimal_text(tick_size, "tick_size")?,
            &decimal_text(lot_size, "lot_size")?,
            &decimal_text(min_qty, "min_qty")?,
            &decimal_text(max_qty, "max_qty")?,
            &decimal_text(min_price, "min_price")?,
            &decimal_text(max_price, "max_price")?,
        )?;
        Ok(self.inner.add_instrument(spec)?)
    }

    /// The id of an instrument symbol.
    fn instrument_id(&self, symbol: &str) -> Result<InstrumentId> {
        Ok(self.engine().require(symbol)?)
    }

    /// The symbols, in id order.
    fn instruments(&self) -> Vec<String> {
        self.inner.symbols()
    }

    /// An instrument's specification (decimals as `Decimal`, limits also in ticks/lots).
    fn instrument<'py>(&self, py: Python<'py>, instrument: &Bound<'py, PyAny>) -> Result<Bound<'py, PyDict>> {
        let id = self.resolve(instrument)?;
        instrument_dict(py, id, self.engine().book(id).spec())
    }

    /// Submits a new order; returns its events. See docs/matching.md.
    #[pyo3(signature = (instrument, order_id, side, qty, price=None, *, account=0, order_type="limit", tif=None, post_only=false, display_qty=None, stp="none"))]
    #[allow(clippy::too_many_arguments)]
    fn submit<'py>(
        &mut self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        order_id: u64,
        side: &str,
        qty: &Bound<'py, PyAny>,
        price: Option<&Bound<'py, PyAny>>,
        account: u32,
        order_type: &str,
        tif: Option<&str>,
        post_only: bool,
        display_qty: Option<&Bound<'py, PyAny>>,
        stp: &str,
    ) -> Result<Bound<'py, PyList>> {
        let id = self.resolve(instrument)?;
        let spec = self.engine().book(id).spec();
        let order = new_order(spec, order_id, side, qty, price, account, order_type, tif, post_only, display_qty, stp)?;
        self.run(py, id, &Command::New(order))
    }

    /// Cancels a live order; returns its events.
    fn cancel<'py>(
        &mut self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        order_id: u64,
    ) -> Result<Bound<'py, PyList>> {
        let id = self.resolve(instrument)?;
        self.run(py, id, &Command::Cancel { order_id })
    }

    /// Amends a live order's price and/or remaining quantity; returns its events. With
    /// `seen_remaining`, by total (`qty` as the order was seen, `seen_remaining` open).
    #[pyo3(signature = (instrument, order_id, *, price=None, qty=None, seen_remaining=None))]
    fn amend<'py>(
        &mut self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        order_id: u64,
        price: Option<&Bound<'py, PyAny>>,
        qty: Option<&Bound<'py, PyAny>>,
        seen_remaining: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyList>> {
        let id = self.resolve(instrument)?;
        let price = price.map(|p| self.price_of(id, "price", p)).transpose()?;
        let qty = qty.map(|q| self.qty_of(id, "qty", q)).transpose()?;
        let seen = seen_remaining.map(|q| self.qty_of(id, "seen_remaining", q)).transpose()?;
        self.run(py, id, &records::amend(order_id, price, qty, seen)?)
    }

    /// Cancels all live orders of `account` (all if None) on `side` (both if None).
    #[pyo3(signature = (instrument, *, account=None, side=None))]
    fn mass_cancel<'py>(
        &mut self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        account: Option<u32>,
        side: Option<&str>,
    ) -> Result<Bound<'py, PyList>> {
        let id = self.resolve(instrument)?;
        let side = side.map(parse_side).transpose()?;
        self.run(py, id, &Command::MassCancel { account, side })
    }

    /// Best bid and best ask as `((price, qty) | None, (price, qty) | None)` in `Decimal`s.
    fn bbo<'py>(&self, py: Python<'py>, instrument: &Bound<'py, PyAny>) -> Result<Bound<'py, PyTuple>> {
        let id = self.resolve(instrument)?;
        let book = self.engine().book(id);
        let spec = book.spec();
        let level = |l: Option<(i64, i64)>| -> Result<Option<Bound<'py, PyTuple>>> {
            let pair = |(p, q)| {
                PyTuple::new(py, [to_decimal(py, &spec.format_price(p))?, to_decimal(py, &spec.format_qty(q))?])
            };
            Ok(l.map(pair).transpose()?)
        };
        Ok(PyTuple::new(py, [level(book.best_bid())?.into_pyobject(py)?, level(book.best_ask())?.into_pyobject(py)?])?)
    }

    /// Aggregated depth: `{"bids": [(price, qty, orders), ...], "asks": [...]}`, best first.
    #[pyo3(signature = (instrument, levels=10))]
    fn depth<'py>(&self, py: Python<'py>, instrument: &Bound<'py, PyAny>, levels: usize) -> Result<Bound<'py, PyDict>> {
        let id = self.resolve(instrument)?;
        depth_dict(py, self.engine().book(id), levels)
    }

    /// The orders at one price level, in queue order (L3).
    fn orders_at<'py>(
        &self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        side: &str,
        price: &Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyList>> {
        let id = self.resolve(instrument)?;
        let side = parse_side(side)?;
        let ticks = self.price_of(id, "price", price)?;
        let book = self.engine().book(id);
        let list = PyList::empty(py);
        for o in book.orders_at(side, ticks) {
            list.append(self.order_dict(py, book.spec(), &o)?)?;
        }
        Ok(list)
    }

    /// A live order's state, or None if the id is not live.
    fn order<'py>(
        &self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        order_id: u64,
    ) -> Result<Option<Bound<'py, PyDict>>> {
        let id = self.resolve(instrument)?;
        let book = self.engine().book(id);
        book.order(order_id).map(|o| self.order_dict(py, book.spec(), &o)).transpose()
    }

    /// Number of live orders on an instrument's book.
    fn order_count(&self, instrument: &Bound<'_, PyAny>) -> Result<usize> {
        Ok(self.engine().book(self.resolve(instrument)?).order_count())
    }

    /// The last sequence number an instrument's book emitted.
    fn seq(&self, instrument: &Bound<'_, PyAny>) -> Result<u64> {
        Ok(self.engine().book(self.resolve(instrument)?).seq())
    }

    /// A full snapshot of one book as JSON text (restorable with `restore`).
    fn snapshot(&self, instrument: &Bound<'_, PyAny>) -> Result<String> {
        let id = self.resolve(instrument)?;
        let snap = self.engine().book(id).snapshot();
        serde_json::to_string(&snap).map_err(|e| Error::SnapshotJson { reason: "SNAPSHOT", message: e.to_string() })
    }

    /// Restores a book from `snapshot()` JSON: replaces the instrument's book, or adds the
    /// instrument if the engine does not have it. Returns the instrument id.
    fn restore(&mut self, snapshot: &str) -> Result<InstrumentId> {
        let snap: BookSnapshot = serde_json::from_str(snapshot).map_err(|e| Error::SnapshotJson {
            reason: "INVALID_SNAPSHOT",
            message: format!("invalid snapshot JSON: {e}"),
        })?;
        Ok(self.inner.restore(&snap)?)
    }

    // ----- integer fast path --------------------------------------------------------------

    /// Fast path: a new order in ticks and lots (side 0 buy / 1 sell; order_type 0 limit / 1
    /// market; tif 0 GTC / 1 IOC / 2 FOK; stp 0..=4; display_qty 0 = not an iceberg). Events
    /// go to the pending buffer (`take_events()`); returns how many were added.
    #[pyo3(signature = (instrument, order_id, side, price, qty, account=0, order_type=0, tif=0, stp=0, post_only=false, display_qty=0))]
    #[allow(clippy::too_many_arguments)]
    fn submit_ticks(
        &mut self,
        instrument: InstrumentId,
        order_id: u64,
        side: u8,
        price: i64,
        qty: i64,
        account: u32,
        order_type: u8,
        tif: u8,
        stp: u8,
        post_only: bool,
        display_qty: i64,
    ) -> Result<usize> {
        let order =
            records::new_order(order_id, account, side, order_type, tif, stp, post_only, price, qty, display_qty)?;
        let cmd = Command::New(order);
        self.run_fast(instrument, &cmd)
    }

    /// Fast path: cancel. Returns how many events were added to the pending buffer.
    fn cancel_ticks(&mut self, instrument: InstrumentId, order_id: u64) -> Result<usize> {
        self.run_fast(instrument, &Command::Cancel { order_id })
    }

    /// Fast path: amend (price in ticks, qty in lots; None keeps the current value); by total
    /// with `seen_remaining`.
    #[pyo3(signature = (instrument, order_id, price=None, qty=None, seen_remaining=None))]
    fn amend_ticks(
        &mut self,
        instrument: InstrumentId,
        order_id: u64,
        price: Option<i64>,
        qty: Option<i64>,
        seen_remaining: Option<i64>,
    ) -> Result<usize> {
        self.run_fast(instrument, &records::amend(order_id, price, qty, seen_remaining)?)
    }

    /// Fast path: mass cancel (`side` 0 buy / 1 sell / None both; `account` None = all).
    #[pyo3(signature = (instrument, account=None, side=None))]
    fn mass_cancel_ticks(&mut self, instrument: InstrumentId, account: Option<u32>, side: Option<u8>) -> Result<usize> {
        let side = side_code(side)?;
        self.run_fast(instrument, &Command::MassCancel { account, side })
    }

    /// Number of event records waiting in the fast path's buffer.
    #[getter]
    fn pending_events(&self) -> usize {
        self.pending.len()
    }

    /// Drains the fast path's buffer as raw 80-byte event records (view with
    /// `wintermute.batch.EVENT_DTYPE`); their `command` field counts the fast-path calls since
    /// the previous drain (0, 1, 2, ...).
    fn take_events<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        PyArray1::from_vec(py, self.pending.take())
    }

    /// Batch: runs 48-byte command records (`wintermute.batch.COMMAND_DTYPE` viewed as bytes)
    /// on one instrument with the GIL released; returns 80-byte event records. A command that
    /// fails validation yields one "rejected" record with seq 0 and the reason code; the batch
    /// goes on. `book_deltas=False` leaves the level updates (`book_delta` records) out.
    #[pyo3(signature = (instrument, commands, book_deltas=true))]
    fn submit_batch_raw<'py>(
        &mut self,
        py: Python<'py>,
        instrument: InstrumentId,
        commands: PyReadonlyArray1<'py, u8>,
        book_deltas: bool,
    ) -> Result<Bound<'py, PyArray1<u8>>> {
        let input = command_records(&commands)?;
        let inner = &mut self.inner;
        Ok(PyArray1::from_vec(py, py.detach(|| inner.run_batch_with(instrument, input, book_deltas))?))
    }

    /// Benchmark support: runs command records natively (no Python per command, GIL released)
    /// with events counted but not kept. With `timed`, also times each command. Returns
    /// `{"ops", "seconds", "events", "trades", "latencies_ns" (sorted, if timed)}`.
    #[pyo3(signature = (instrument, commands, timed=false))]
    fn run_native<'py>(
        &mut self,
        py: Python<'py>,
        instrument: InstrumentId,
        commands: PyReadonlyArray1<'py, u8>,
        timed: bool,
    ) -> Result<Bound<'py, PyDict>> {
        let cmds = native_book::decode_commands(command_records(&commands)?)?;
        let book = self.inner.unjournaled_book("run_native", instrument)?;
        let run = py.detach(|| native_book::run_commands(book, &cmds, timed));
        let d = PyDict::new(py);
        d.set_item("ops", run.ops)?;
        d.set_item("seconds", run.seconds)?;
        d.set_item("events", run.events)?;
        d.set_item("trades", run.trades)?;
        if timed {
            d.set_item("latencies_ns", run.latencies_ns)?;
        }
        Ok(d)
    }
}

/// The dict of `Engine.instrument`: decimals as `Decimal`, limits also in ticks and lots.
fn instrument_dict<'py>(py: Python<'py>, id: InstrumentId, s: &InstrumentSpec) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", id)?;
    d.set_item("symbol", &s.symbol)?;
    d.set_item("tick_size", to_decimal(py, &s.tick_size)?)?;
    d.set_item("lot_size", to_decimal(py, &s.lot_size)?)?;
    d.set_item("min_qty", to_decimal(py, &s.format_qty(s.min_qty))?)?;
    d.set_item("max_qty", to_decimal(py, &s.format_qty(s.max_qty))?)?;
    d.set_item("min_price", to_decimal(py, &s.format_price(s.min_price))?)?;
    d.set_item("max_price", to_decimal(py, &s.format_price(s.max_price))?)?;
    d.set_item("min_qty_lots", s.min_qty)?;
    d.set_item("max_qty_lots", s.max_qty)?;
    d.set_item("min_price_ticks", s.min_price)?;
    d.set_item("max_price_ticks", s.max_price)?;
    Ok(d)
}

/// The dict of `Engine.depth`: `{"bids": [(price, qty, orders), ...], "asks": [...]}`.
pub(crate) fn depth_dict<'py>(py: Python<'py>, book: &OrderBook, levels: usize) -> Result<Bound<'py, PyDict>> {
    let spec = book.spec();
    let d = PyDict::new(py);
    for (key, side) in [("bids", Side::Buy), ("asks", Side::Sell)] {
        let list = PyList::empty(py);
        for l in book.depth(side, levels) {
            list.append((
                to_decimal(py, &spec.format_price(l.price))?,
                to_decimal(py, &spec.format_qty(l.qty))?,
                l.orders,
            ))?;
        }
        d.set_item(key, list)?;
    }
    Ok(d)
}

/// Adds the classes to `wintermute._core`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEngine>()?;
    m.add_class::<PyEvent>()?;
    Ok(())
}

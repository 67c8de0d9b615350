//! `wintermute._core.Engine`: the order book API for Python (events: [`crate::event`]).
//!
//! Two levels of the same API:
//! - the decimal API (`submit`, `cancel`, `amend`, `mass_cancel`, `bbo`, `depth`, ...): symbols,
//!   decimal text / `decimal.Decimal` in, `Event` objects and `Decimal`s out;
//! - the integer fast path (`submit_ticks`, `cancel_ticks`, `amend_ticks`, `submit_batch_raw`):
//!   instrument ids, ticks and lots; events are written as 80-byte records
//!   (`wintermute_core::records`) that Python views as a numpy structured array.

use std::path::Path;
use std::time::Instant;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use wintermute_core::records::{self, RecordSink, COMMAND_SIZE, EVENT_SIZE};
use wintermute_core::{
    BookSnapshot, Command, CountingSink, Engine, Event, InstrumentId, InstrumentSpec, OrderBook, OrderView, Side,
};

use wintermute_engine::journal::{recover_with, write_snapshot, EngineSnapshot, Journal, JournalError};

use crate::convert::{
    decimal_text, invalid, new_order, parse_side, price_ticks, qty_lots, side_str, stp_str, to_decimal,
};
use crate::errors;
use crate::event::PyEvent;
use crate::journal;

/// Most events the fast path holds before `take_events()` must be called.
const DEFAULT_PENDING_LIMIT: usize = 10_000_000;

/// Several instruments, each with its own price-time-priority order book.
#[pyclass(module = "wintermute._core", name = "Engine", subclass)]
pub struct PyEngine {
    engine: Engine,
    pending: RecordSink,
    pending_limit: usize,
    commands: u32,
    scratch: Vec<Event>,
    /// When set, every command is appended here before it runs.
    journal: Option<Journal>,
}

impl PyEngine {
    /// Appends `cmd` to the journal, if one is open.
    fn journal_append(&mut self, py: Python<'_>, id: InstrumentId, cmd: &Command) -> PyResult<()> {
        if let Some(j) = self.journal.as_mut() {
            j.append(id, cmd).map_err(|e| journal::journal_error(py, &e))?;
        }
        Ok(())
    }

    fn refuse_with_journal(&self, py: Python<'_>, what: &str) -> PyResult<()> {
        if self.journal.is_some() {
            return Err(errors::error(
                py,
                "JournalError",
                format!(
                    "{what} is not available while a journal is open (it would bypass the journal): \
                     define instruments before open_journal, and close_journal first"
                ),
                Some("JOURNAL"),
            ));
        }
        Ok(())
    }

    fn resolve(&self, py: Python<'_>, instrument: &Bound<'_, PyAny>) -> PyResult<InstrumentId> {
        if let Ok(s) = instrument.cast::<PyString>() {
            let s = s.to_str()?;
            return self.engine.require(s).map_err(|e| errors::instrument_error(py, &e));
        }
        let id: InstrumentId = instrument
            .extract()
            .map_err(|_| errors::type_error("instrument: expected a symbol (str) or an instrument id (int)".into()))?;
        self.check_id(py, id)
    }

    fn check_id(&self, py: Python<'_>, id: InstrumentId) -> PyResult<InstrumentId> {
        if self.engine.get(id).is_none() {
            return Err(errors::error(
                py,
                "UnknownInstrumentError",
                format!("unknown instrument id={id}"),
                Some("UNKNOWN_INSTRUMENT"),
            ));
        }
        Ok(id)
    }

    fn price_of(&self, py: Python<'_>, id: InstrumentId, field: &str, v: &Bound<'_, PyAny>) -> PyResult<i64> {
        price_ticks(py, self.engine.book(id).spec(), field, v)
    }

    fn qty_of(&self, py: Python<'_>, id: InstrumentId, field: &str, v: &Bound<'_, PyAny>) -> PyResult<i64> {
        qty_lots(py, self.engine.book(id).spec(), field, v)
    }

    /// Runs one command and returns its events as `Event` objects.
    fn run<'py>(&mut self, py: Python<'py>, id: InstrumentId, cmd: &Command) -> PyResult<Bound<'py, PyList>> {
        self.journal_append(py, id, cmd)?;
        self.scratch.clear();
        let book = self.engine.book_mut(id);
        book.execute(cmd, &mut self.scratch).map_err(|e| errors::order_error(py, &e))?;
        let (tick, lot) = (book.spec().tick(), book.spec().lot());
        let list = PyList::empty(py);
        for ev in &self.scratch {
            list.append(Py::new(py, PyEvent { ev: *ev, instrument: id, tick, lot })?)?;
        }
        Ok(list)
    }

    /// Runs one command on the fast path: events go to the pending record buffer.
    fn run_fast(&mut self, py: Python<'_>, id: InstrumentId, cmd: &Command) -> PyResult<usize> {
        if self.pending.len() >= self.pending_limit {
            return Err(errors::error(
                py,
                "WintermuteError",
                format!(
                    "{} events are pending (limit {}): call take_events() to collect them",
                    self.pending.len(),
                    self.pending_limit
                ),
                Some("EVENTS_PENDING"),
            ));
        }
        self.check_id(py, id)?;
        self.journal_append(py, id, cmd)?;
        let before = self.pending.bytes.len();
        self.pending.instrument = id;
        self.pending.command = self.commands;
        let book = self.engine.book_mut(id);
        book.execute(cmd, &mut self.pending).map_err(|e| errors::order_error(py, &e))?;
        self.commands = self.commands.wrapping_add(1);
        Ok((self.pending.bytes.len() - before) / EVENT_SIZE)
    }

    fn order_dict<'py>(&self, py: Python<'py>, spec: &InstrumentSpec, o: &OrderView) -> PyResult<Bound<'py, PyDict>> {
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
            engine: Engine::new(),
            pending: RecordSink::default(),
            pending_limit: DEFAULT_PENDING_LIMIT,
            commands: 0,
            scratch: Vec::with_capacity(64),
            journal: None,
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
    ) -> PyResult<Bound<'py, PyDict>> {
        self.refuse_with_journal(py, "open_journal")?;
        if self.engine.books().iter().any(|b| b.seq() != 0 || b.order_count() != 0) {
            return Err(errors::error(
                py,
                "JournalError",
                "open the journal before the first command: the journal must hold the whole history".into(),
                Some("JOURNAL"),
            ));
        }
        let config = journal::config(py, path, fsync, segment_size, batch_records, batch_interval_ms)?;
        let initial = &self.engine;
        let opened = py.detach(|| -> Result<_, JournalError> {
            let (j, report) = Journal::open(config)?;
            let recovered = recover_with(Path::new(path), initial, |_| {})?;
            Ok((j, report, recovered))
        });
        let (j, report, recovered) = opened.map_err(|e| journal::journal_error(py, &e))?;
        let symbols = |e: &Engine| e.books().iter().map(|b| b.spec().clone()).collect::<Vec<_>>();
        if symbols(&recovered.engine) != symbols(&self.engine) {
            return Err(errors::error(
                py,
                "JournalError",
                format!(
                    "the journal's snapshot has instruments {:?}, this engine {:?}: define the same instruments, in the same order",
                    recovered.engine.books().iter().map(|b| b.spec().symbol.as_str()).collect::<Vec<_>>(),
                    self.instruments()
                ),
                Some("JOURNAL"),
            ));
        }
        let dict =
            journal::report_dict(py, &report, recovered.replayed, recovered.refused, recovered.snapshot.as_deref())?;
        self.engine = recovered.engine;
        self.journal = Some(j);
        Ok(dict)
    }

    /// Writes a snapshot of every book into the journal directory (atomically); recovery then
    /// starts from it. Returns the snapshot's path.
    fn journal_snapshot(&mut self, py: Python<'_>) -> PyResult<String> {
        let Some(j) = self.journal.as_mut() else {
            return Err(errors::error(py, "JournalError", "no journal is open".into(), Some("JOURNAL")));
        };
        j.sync().map_err(|e| journal::journal_error(py, &e))?;
        let snap = EngineSnapshot::capture(&self.engine, j.last_seq());
        let path = write_snapshot(j.dir(), &snap).map_err(|e| journal::journal_error(py, &e))?;
        Ok(path.display().to_string())
    }

    /// Flushes the journal to disk.
    fn sync_journal(&mut self, py: Python<'_>) -> PyResult<()> {
        match self.journal.as_mut() {
            Some(j) => j.sync().map_err(|e| journal::journal_error(py, &e)),
            None => Ok(()),
        }
    }

    /// Flushes and closes the journal (commands then run unjournaled).
    fn close_journal(&mut self, py: Python<'_>) -> PyResult<()> {
        match self.journal.take() {
            Some(j) => j.close().map_err(|e| journal::journal_error(py, &e)),
            None => Ok(()),
        }
    }

    /// The journal sequence number of the last journaled command (None without a journal).
    #[getter]
    fn journal_seq(&self) -> Option<u64> {
        self.journal.as_ref().map(Journal::last_seq)
    }

    /// Defines an instrument; returns its id. All values are exact decimals (str, int or Decimal).
    #[pyo3(signature = (symbol, *, tick_size, lot_size, min_qty, max_qty, min_price, max_price))]
    #[allow(clippy::too_many_arguments)]
    fn add_instrument(
        &mut self,
        py: Python<'_>,
        symbol: &str,
        tick_size: &Bound<'_, PyAny>,
        lot_size: &Bound<'_, PyAny>,
        min_qty: &Bound<'_, PyAny>,
        max_qty: &Bound<'_, PyAny>,
        min_price: &Bound<'_, PyAny>,
        max_price: &Bound<'_, PyAny>,
    ) -> PyResult<InstrumentId> {
        self.refuse_with_journal(py, "add_instrument")?;
        let spec = InstrumentSpec::from_decimals(
            symbol,
            &decimal_text(tick_size, "tick_size")?,
            &decimal_text(lot_size, "lot_size")?,
            &decimal_text(min_qty, "min_qty")?,
            &decimal_text(max_qty, "max_qty")?,
            &decimal_text(min_price, "min_price")?,
            &decimal_text(max_price, "max_price")?,
        )
        .map_err(|e| errors::instrument_error(py, &e))?;
        self.engine.add_instrument(spec).map_err(|e| errors::instrument_error(py, &e))
    }

    /// The id of an instrument symbol.
    fn instrument_id(&self, py: Python<'_>, symbol: &str) -> PyResult<InstrumentId> {
        self.engine.require(symbol).map_err(|e| errors::instrument_error(py, &e))
    }

    /// The symbols, in id order.
    fn instruments(&self) -> Vec<String> {
        self.engine.books().iter().map(|b| b.spec().symbol.clone()).collect()
    }

    /// An instrument's specification (decimals as `Decimal`, limits also in ticks/lots).
    fn instrument<'py>(&self, py: Python<'py>, instrument: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
        let id = self.resolve(py, instrument)?;
        let s = self.engine.book(id).spec();
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
    ) -> PyResult<Bound<'py, PyList>> {
        let id = self.resolve(py, instrument)?;
        let spec = self.engine.book(id).spec();
        let order =
            new_order(py, spec, order_id, side, qty, price, account, order_type, tif, post_only, display_qty, stp)?;
        self.run(py, id, &Command::New(order))
    }

    /// Cancels a live order; returns its events.
    fn cancel<'py>(
        &mut self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        order_id: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let id = self.resolve(py, instrument)?;
        self.run(py, id, &Command::Cancel { order_id })
    }

    /// Amends a live order's price and/or remaining quantity; returns its events.
    #[pyo3(signature = (instrument, order_id, *, price=None, qty=None))]
    fn amend<'py>(
        &mut self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        order_id: u64,
        price: Option<&Bound<'py, PyAny>>,
        qty: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyList>> {
        let id = self.resolve(py, instrument)?;
        let price = price.map(|p| self.price_of(py, id, "price", p)).transpose()?;
        let qty = qty.map(|q| self.qty_of(py, id, "qty", q)).transpose()?;
        self.run(py, id, &Command::Amend { order_id, price, qty })
    }

    /// Cancels all live orders of `account` (all if None) on `side` (both if None).
    #[pyo3(signature = (instrument, *, account=None, side=None))]
    fn mass_cancel<'py>(
        &mut self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        account: Option<u32>,
        side: Option<&str>,
    ) -> PyResult<Bound<'py, PyList>> {
        let id = self.resolve(py, instrument)?;
        let side = side.map(|s| parse_side(py, s)).transpose()?;
        self.run(py, id, &Command::MassCancel { account, side })
    }

    /// Best bid and best ask as `((price, qty) | None, (price, qty) | None)` in `Decimal`s.
    fn bbo<'py>(&self, py: Python<'py>, instrument: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
        let id = self.resolve(py, instrument)?;
        let book = self.engine.book(id);
        let spec = book.spec();
        let level = |l: Option<(i64, i64)>| -> PyResult<Option<Bound<'py, PyTuple>>> {
            l.map(|(p, q)| {
                PyTuple::new(py, [to_decimal(py, &spec.format_price(p))?, to_decimal(py, &spec.format_qty(q))?])
            })
            .transpose()
        };
        PyTuple::new(py, [level(book.best_bid())?.into_pyobject(py)?, level(book.best_ask())?.into_pyobject(py)?])
    }

    /// Aggregated depth: `{"bids": [(price, qty, orders), ...], "asks": [...]}`, best first.
    #[pyo3(signature = (instrument, levels=10))]
    fn depth<'py>(
        &self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        levels: usize,
    ) -> PyResult<Bound<'py, PyDict>> {
        let id = self.resolve(py, instrument)?;
        let book = self.engine.book(id);
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

    /// The orders at one price level, in queue order (L3).
    fn orders_at<'py>(
        &self,
        py: Python<'py>,
        instrument: &Bound<'py, PyAny>,
        side: &str,
        price: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyList>> {
        let id = self.resolve(py, instrument)?;
        let side = parse_side(py, side)?;
        let ticks = self.price_of(py, id, "price", price)?;
        let book = self.engine.book(id);
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
    ) -> PyResult<Option<Bound<'py, PyDict>>> {
        let id = self.resolve(py, instrument)?;
        let book = self.engine.book(id);
        book.order(order_id).map(|o| self.order_dict(py, book.spec(), &o)).transpose()
    }

    /// Number of live orders on an instrument's book.
    fn order_count(&self, py: Python<'_>, instrument: &Bound<'_, PyAny>) -> PyResult<usize> {
        Ok(self.engine.book(self.resolve(py, instrument)?).order_count())
    }

    /// The last sequence number an instrument's book emitted.
    fn seq(&self, py: Python<'_>, instrument: &Bound<'_, PyAny>) -> PyResult<u64> {
        Ok(self.engine.book(self.resolve(py, instrument)?).seq())
    }

    /// A full snapshot of one book as JSON text (restorable with `restore`).
    fn snapshot(&self, py: Python<'_>, instrument: &Bound<'_, PyAny>) -> PyResult<String> {
        let id = self.resolve(py, instrument)?;
        let snap = self.engine.book(id).snapshot();
        serde_json::to_string(&snap).map_err(|e| errors::error(py, "WintermuteError", e.to_string(), Some("SNAPSHOT")))
    }

    /// Restores a book from `snapshot()` JSON: replaces the instrument's book, or adds the
    /// instrument if the engine does not have it. Returns the instrument id.
    fn restore(&mut self, py: Python<'_>, snapshot: &str) -> PyResult<InstrumentId> {
        self.refuse_with_journal(py, "restore")?;
        let snap: BookSnapshot = serde_json::from_str(snapshot).map_err(|e| {
            errors::error(py, "WintermuteError", format!("invalid snapshot JSON: {e}"), Some("INVALID_SNAPSHOT"))
        })?;
        let book = OrderBook::restore(&snap).map_err(|e| errors::snapshot_error(py, &e))?;
        let result = if self.engine.instrument_id(&snap.spec.symbol).is_some() {
            self.engine.replace_book(book)
        } else {
            self.engine.add_book(book)
        };
        result.map_err(|e| errors::instrument_error(py, &e))
    }

    // ----- integer fast path --------------------------------------------------------------

    /// Fast path: a new order in ticks and lots (side 0 buy / 1 sell; order_type 0 limit / 1
    /// market; tif 0 GTC / 1 IOC / 2 FOK; stp 0..=4; display_qty 0 = not an iceberg). Events
    /// go to the pending buffer (`take_events()`); returns how many were added.
    #[pyo3(signature = (instrument, order_id, side, price, qty, account=0, order_type=0, tif=0, stp=0, post_only=false, display_qty=0))]
    #[allow(clippy::too_many_arguments)]
    fn submit_ticks(
        &mut self,
        py: Python<'_>,
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
    ) -> PyResult<usize> {
        let order =
            records::new_order(order_id, account, side, order_type, tif, stp, post_only, price, qty, display_qty)
                .map_err(|e| errors::order_error(py, &e))?;
        let cmd = Command::New(order);
        self.run_fast(py, instrument, &cmd)
    }

    /// Fast path: cancel. Returns how many events were added to the pending buffer.
    fn cancel_ticks(&mut self, py: Python<'_>, instrument: InstrumentId, order_id: u64) -> PyResult<usize> {
        self.run_fast(py, instrument, &Command::Cancel { order_id })
    }

    /// Fast path: amend (price in ticks, qty in lots; None keeps the current value).
    #[pyo3(signature = (instrument, order_id, price=None, qty=None))]
    fn amend_ticks(
        &mut self,
        py: Python<'_>,
        instrument: InstrumentId,
        order_id: u64,
        price: Option<i64>,
        qty: Option<i64>,
    ) -> PyResult<usize> {
        self.run_fast(py, instrument, &Command::Amend { order_id, price, qty })
    }

    /// Fast path: mass cancel (`side` 0 buy / 1 sell / None both; `account` None = all).
    #[pyo3(signature = (instrument, account=None, side=None))]
    fn mass_cancel_ticks(
        &mut self,
        py: Python<'_>,
        instrument: InstrumentId,
        account: Option<u32>,
        side: Option<u8>,
    ) -> PyResult<usize> {
        let side = match side {
            None => None,
            Some(0) => Some(Side::Buy),
            Some(1) => Some(Side::Sell),
            Some(s) => return Err(invalid(py, format!("side={s}: expected 0 (buy), 1 (sell) or None"))),
        };
        self.run_fast(py, instrument, &Command::MassCancel { account, side })
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
        let bytes = std::mem::take(&mut self.pending.bytes);
        self.commands = 0;
        PyArray1::from_vec(py, bytes)
    }

    /// Batch: runs 48-byte command records (`wintermute.batch.COMMAND_DTYPE` viewed as bytes)
    /// on one instrument with the GIL released; returns 80-byte event records. A command that
    /// fails validation yields one "rejected" record with seq 0 and the reason code; the batch
    /// goes on.
    fn submit_batch_raw<'py>(
        &mut self,
        py: Python<'py>,
        instrument: InstrumentId,
        commands: PyReadonlyArray1<'py, u8>,
    ) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let id = self.check_id(py, instrument)?;
        let input =
            commands.as_slice().map_err(|_| errors::type_error("commands must be a contiguous array".into()))?;
        if input.len() % COMMAND_SIZE != 0 {
            return Err(errors::type_error(format!(
                "commands: {} bytes is not a whole number of {COMMAND_SIZE}-byte records",
                input.len()
            )));
        }
        let book = self.engine.book_mut(id);
        let journal = self.journal.as_mut();
        let out = py.detach(|| run_batch(book, id, input, journal));
        match out {
            Ok(out) => Ok(PyArray1::from_vec(py, out)),
            Err((done, e)) => Err(errors::error(
                py,
                "JournalError",
                format!("batch stopped after {done} commands (they ran and are journaled): {e}"),
                Some("JOURNAL"),
            )),
        }
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
    ) -> PyResult<Bound<'py, PyDict>> {
        self.refuse_with_journal(py, "run_native")?;
        let id = self.check_id(py, instrument)?;
        let input =
            commands.as_slice().map_err(|_| errors::type_error("commands must be a contiguous array".into()))?;
        if input.len() % COMMAND_SIZE != 0 {
            return Err(errors::type_error("commands: not a whole number of command records".into()));
        }
        let cmds: Vec<Command> = input
            .chunks_exact(COMMAND_SIZE)
            .map(|c| records::decode_command(c.try_into().expect("chunk size")))
            .collect::<Result<_, _>>()
            .map_err(|e| errors::order_error(py, &e))?;
        let book = self.engine.book_mut(id);
        let (seconds, sink, lat) = py.detach(|| native_loop(book, &cmds, timed));
        let d = PyDict::new(py);
        d.set_item("ops", cmds.len())?;
        d.set_item("seconds", seconds)?;
        d.set_item("events", sink.events)?;
        d.set_item("trades", sink.trades)?;
        if timed {
            d.set_item("latencies_ns", lat)?;
        }
        Ok(d)
    }
}

fn run_batch(
    book: &mut OrderBook,
    id: InstrumentId,
    input: &[u8],
    mut journal: Option<&mut Journal>,
) -> Result<Vec<u8>, (usize, JournalError)> {
    let mut sink = RecordSink {
        bytes: Vec::with_capacity(input.len() / COMMAND_SIZE * 3 * EVENT_SIZE),
        instrument: id,
        command: 0,
    };
    for (i, chunk) in input.chunks_exact(COMMAND_SIZE).enumerate() {
        sink.command = i as u32;
        let rec: &[u8; COMMAND_SIZE] = chunk.try_into().expect("chunks_exact yields full records");
        let cmd = match records::decode_command(rec) {
            Ok(cmd) => cmd,
            Err(e) => {
                sink.bytes.extend_from_slice(&records::encode_invalid(&e, id, i as u32));
                continue;
            }
        };
        if let Some(j) = journal.as_deref_mut() {
            j.append(id, &cmd).map_err(|e| (i, e))?;
        }
        if let Err(e) = book.execute(&cmd, &mut sink) {
            sink.bytes.extend_from_slice(&records::encode_invalid(&e, id, i as u32));
        }
    }
    Ok(sink.bytes)
}

fn native_loop(book: &mut OrderBook, cmds: &[Command], timed: bool) -> (f64, CountingSink, Vec<u64>) {
    let mut sink = CountingSink::default();
    let mut lat = Vec::new();
    let start = Instant::now();
    if timed {
        lat.reserve(cmds.len());
        for c in cmds {
            let t = Instant::now();
            let _ = book.execute(c, &mut sink);
            lat.push(t.elapsed().as_nanos() as u64);
        }
        lat.sort_unstable();
    } else {
        for c in cmds {
            let _ = book.execute(c, &mut sink);
        }
    }
    (start.elapsed().as_secs_f64(), sink, lat)
}

/// Adds the classes to `wintermute._core`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyEngine>()?;
    m.add_class::<PyEvent>()?;
    m.add("COMMAND_SIZE", COMMAND_SIZE)?;
    m.add("EVENT_SIZE", EVENT_SIZE)?;
    Ok(())
}

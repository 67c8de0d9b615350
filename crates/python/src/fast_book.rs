//! `wintermute._core.FastBook`: one instrument (and one account) of an `Engine`, for callers
//! that send one command per Python call and want the least time per call.
//!
//! `wintermute.Engine.fast(instrument, account=0)` returns it (`FastBook(engine, instrument,
//! account)` is the same). Each method takes a few positional integers
//! (`submit(order_id, side, price, qty)`, `market(...)`, `cancel(order_id)`, `amend(...)`) and
//! runs the same engine path as `Engine.submit_ticks` & co: the same validation, the same
//! journal, the same pending event buffer, the same exceptions. What it saves is the work around
//! the call: no instrument argument to resolve, no keyword table of eleven arguments to parse,
//! no defaults to fill in. Events are 80-byte records (`wintermute.batch.EVENT_DTYPE`) in the
//! engine's pending buffer; `take_events()` hands that buffer over as a numpy array without
//! copying it, and the next records go to a buffer already sized like the last one (no
//! reallocation while it fills).

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::{PyTraverseError, PyVisit};
use wintermute_core::records;
use wintermute_core::{Command, InstrumentId};

use crate::book::PyEngine;
use crate::errors::Result;

/// `wintermute.batch.EVENT_DTYPE`, looked up once.
static EVENT_DTYPE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Limit GTC orders, market IOC orders, cancels and amends on one instrument for one account.
#[pyclass(module = "wintermute._core", name = "FastBook", frozen)]
pub struct FastBook {
    engine: Py<PyEngine>,
    instrument: InstrumentId,
    account: u32,
}

impl FastBook {
    fn run(&self, py: Python<'_>, cmd: &Command) -> Result<usize> {
        // try_borrow_mut: another thread may hold the engine (a batch runs with the GIL
        // released); that is a Python error, not a panic.
        self.engine.bind(py).try_borrow_mut().map_err(PyErr::from)?.run_fast(self.instrument, cmd)
    }

    #[allow(clippy::too_many_arguments)]
    fn new_order(
        &self,
        py: Python<'_>,
        order_id: u64,
        side: u8,
        ty: u8,
        tif: u8,
        price: i64,
        qty: i64,
    ) -> Result<usize> {
        let order = records::new_order(order_id, self.account, side, ty, tif, 0, false, price, qty, 0)?;
        self.run(py, &Command::New(order))
    }
}

#[pymethods]
impl FastBook {
    /// Binds `engine`'s book of `instrument` (symbol or id) for orders of `account`.
    #[new]
    #[pyo3(signature = (engine, instrument, account=0))]
    fn new(engine: Bound<'_, PyEngine>, instrument: &Bound<'_, PyAny>, account: u32) -> Result<Self> {
        let instrument = engine.try_borrow().map_err(PyErr::from)?.resolve(instrument)?;
        Ok(Self { engine: engine.unbind(), instrument, account })
    }

    /// The instrument id this object sends to.
    #[getter]
    fn instrument(&self) -> InstrumentId {
        self.instrument
    }

    /// The account of the orders it submits.
    #[getter]
    fn account(&self) -> u32 {
        self.account
    }

    /// A limit GTC order (side 0 buy / 1 sell, price in ticks, qty in lots); returns how many
    /// events it added to the pending buffer.
    #[pyo3(signature = (order_id, side, price, qty, /))]
    fn submit(&self, py: Python<'_>, order_id: u64, side: u8, price: i64, qty: i64) -> Result<usize> {
        self.new_order(py, order_id, side, 0, 0, price, qty)
    }

    /// A limit IOC order: trades what it can at `price` or better, the rest is canceled.
    #[pyo3(signature = (order_id, side, price, qty, /))]
    fn ioc(&self, py: Python<'_>, order_id: u64, side: u8, price: i64, qty: i64) -> Result<usize> {
        self.new_order(py, order_id, side, 0, 1, price, qty)
    }

    /// A market IOC order (qty in lots).
    #[pyo3(signature = (order_id, side, qty, /))]
    fn market(&self, py: Python<'_>, order_id: u64, side: u8, qty: i64) -> Result<usize> {
        self.new_order(py, order_id, side, 1, 1, 0, qty)
    }

    /// Cancels a live order.
    #[pyo3(signature = (order_id, /))]
    fn cancel(&self, py: Python<'_>, order_id: u64) -> Result<usize> {
        self.run(py, &Command::Cancel { order_id })
    }

    /// Amends a live order's price (ticks) and/or quantity (lots); None keeps the current value.
    #[pyo3(signature = (order_id, price=None, qty=None, /))]
    fn amend(&self, py: Python<'_>, order_id: u64, price: Option<i64>, qty: Option<i64>) -> Result<usize> {
        self.run(py, &Command::Amend { order_id, price, qty })
    }

    /// Number of event records waiting in the engine's pending buffer.
    #[getter]
    fn pending_events(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.engine.bind(py).try_borrow()?.pending.len())
    }

    /// Drains the engine's pending buffer (all fast-path events, from any instrument) as an
    /// `EVENT_DTYPE` array, without copying the records.
    fn take_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let raw = PyArray1::from_vec(py, self.engine.bind(py).try_borrow_mut()?.pending.take());
        let dtype = EVENT_DTYPE.get_or_try_init(py, || -> PyResult<_> {
            Ok(py.import("wintermute.batch")?.getattr("EVENT_DTYPE")?.unbind())
        })?;
        raw.call_method1("view", (dtype.bind(py),))
    }

    /// Lets Python's garbage collector see the engine it holds, so that a cycle through it
    /// (`engine.book = engine.fast(0)`) is collected.
    fn __traverse__(&self, visit: PyVisit<'_>) -> std::result::Result<(), PyTraverseError> {
        visit.call(&self.engine)
    }

    fn __repr__(&self) -> String {
        format!("FastBook(instrument={}, account={})", self.instrument, self.account)
    }
}

/// Adds the class to `wintermute._core`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FastBook>()
}

//! Python strategies in the backtester: `wintermute._core.MmBacktest(config, strategy).run()`
//! runs the backtest of `wintermute_mm::backtest::run_batched` with the GIL released, and a
//! [`PythonSink`] hands each batch of events to the strategy object's `_on_batch` (the base
//! class `wintermute.mm_strategy.Strategy`), holding the GIL only for that call.
//!
//! The batch goes over as one `int64` array of shape `(events, len(MM_EVENT_FIELDS))` and the
//! commands come back as one flat `int64` array of rows of `MM_COMMAND_FIELDS` (or `None`: no
//! command): one copy each way, no Python object per event on the Rust side. The layouts and codes are
//! `wintermute_mm::batched`'s, exported here as module constants.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::sync::atomic::AtomicU64;

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use wintermute_mm::backtest::{run_batched, BacktestConfig, BacktestResult};
use wintermute_mm::batched::commands::{COMMAND_FIELDS, COMMAND_KINDS};
use wintermute_mm::batched::events::{self, EVENT_FIELDS, EVENT_KINDS, EVENT_WORDS};
use wintermute_mm::batched::{Batch, BatchFailure, BatchSink, BatchedStrategy, CommandBuffer};

use crate::errors::{Error, Result};

/// A Python strategy object as a batch sink (`P`: the object, or a reference to it).
pub(crate) struct PythonSink<P: Borrow<Py<PyAny>>> {
    strategy: P,
    words: Vec<i64>,
    /// Whether the driver answers cancels and amends (handed to `_on_batch`).
    answered: bool,
    /// Cancels and amends the driver still takes before answers come back (handed to
    /// `_on_batch`; `None`: no limit).
    answer_room: Option<usize>,
    /// An exception `fair_value` raised (it cannot fail the run itself): raised by the next
    /// batch, or after the run.
    fair_value_error: RefCell<Option<PyErr>>,
}

impl<P: Borrow<Py<PyAny>>> PythonSink<P> {
    /// A sink calling `strategy`'s `_on_batch`.
    pub(crate) fn new(strategy: P) -> Self {
        PythonSink {
            strategy,
            words: Vec::new(),
            answered: false,
            answer_room: None,
            fair_value_error: RefCell::new(None),
        }
    }
}

/// A Python strategy running live, on the strategy thread of `wintermute_mm::live_strategy`:
/// an exception ends it, its text kept for the runner's snapshot.
pub(crate) struct LivePythonSink(pub(crate) PythonSink<Py<PyAny>>);

impl BatchSink for LivePythonSink {
    type Error = String;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> std::result::Result<(), String> {
        self.0.on_batch(batch, out).map_err(|e| {
            Python::attach(|py| PyErr::from(e).value(py).repr().map_or_else(|_| "?".into(), |r| r.to_string()))
        })
    }

    fn takes_answers(&self) -> bool {
        self.0.takes_answers()
    }

    fn set_answered(&mut self, answered: bool) {
        self.0.set_answered(answered);
    }

    fn set_answer_room(&mut self, room: Option<usize>) {
        self.0.set_answer_room(room);
    }
}

impl<P: Borrow<Py<PyAny>>> BatchSink for PythonSink<P> {
    type Error = Error;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<()> {
        if let Some(e) = self.fair_value_error.take() {
            return Err(e.into());
        }
        batch.write_words(&mut self.words).map_err(|e| Error::other("STRATEGY_EVENT", e))?;
        Python::attach(|py| {
            let rows = PyArray1::from_slice(py, &self.words).reshape([batch.events.len(), EVENT_WORDS])?;
            let strategy = self.strategy.borrow().bind(py);
            let commands = strategy
                .call_method1(intern!(py, "_on_batch"), (rows, batch.next_order_id, self.answered, self.answer_room))?;
            if commands.is_none() {
                return Ok(());
            }
            let commands: PyReadonlyArray1<'_, i64> = commands.extract()?;
            let words = commands.as_slice().map_err(|_| Error::type_error("_on_batch: commands must be contiguous"))?;
            out.push_words(words, batch.events.len()).map_err(Error::StrategyCommand)
        })
    }

    fn fair_value(&self, now_ns: i64) -> Option<f64> {
        Python::attach(|py| {
            let value = self.strategy.borrow().bind(py).call_method1(intern!(py, "fair_value"), (now_ns,));
            value.and_then(|v| v.extract::<Option<f64>>()).unwrap_or_else(|e| {
                self.fair_value_error.borrow_mut().get_or_insert(e);
                None
            })
        })
    }

    fn takes_answers(&self) -> bool {
        true
    }

    fn set_answered(&mut self, answered: bool) {
        self.answered = answered;
    }

    fn set_answer_room(&mut self, room: Option<usize>) {
        self.answer_room = room;
    }
}

/// Runs the backtest of `config_json` with the Python `strategy` (GIL released but for its
/// calls); its exceptions and bad commands end the run and are raised.
pub(crate) fn run_python(
    config_json: &str,
    strategy: &Py<PyAny>,
    label: &str,
    max_batch: usize,
    progress: Option<&AtomicU64>,
) -> Result<BacktestResult> {
    let cfg = BacktestConfig::from_json(config_json)?;
    let sink = PythonSink::new(strategy);
    let mut batched = BatchedStrategy::new(sink, max_batch);
    let result = run_batched(&cfg, &mut batched, label, progress)?;
    let (sink, failure) = batched.into_parts();
    match (failure, sink.fair_value_error.into_inner()) {
        (Some(BatchFailure::Sink(e)), _) => Err(e),
        (Some(BatchFailure::Command(e)), _) => Err(Error::StrategyCommand(e)),
        (None, Some(e)) => Err(e.into()),
        (None, None) => Ok(result),
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let kinds = |table: &[(&str, i64)]| -> PyResult<Bound<'_, PyDict>> {
        let d = PyDict::new(m.py());
        table.iter().try_for_each(|(name, code)| d.set_item(name, code))?;
        Ok(d)
    };
    m.add("MM_EVENT_FIELDS", PyTuple::new(m.py(), EVENT_FIELDS)?)?;
    m.add("MM_EVENT_KINDS", kinds(&EVENT_KINDS)?)?;
    m.add("MM_COMMAND_FIELDS", PyTuple::new(m.py(), COMMAND_FIELDS)?)?;
    m.add("MM_COMMAND_KINDS", kinds(&COMMAND_KINDS)?)?;
    m.add("MM_SIDES", kinds(&events::SIDE_CODES)?)?;
    m.add("MM_LIQUIDITY", kinds(&events::LIQUIDITY_CODES)?)?;
    m.add("MM_VENUE_OURS", events::VENUE_OURS)?;
    Ok(())
}

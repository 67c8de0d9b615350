//! `wintermute._core.run_backtest` and `MmBacktest`: the market-making backtester of
//! `wintermute_mm::backtest`, run with the GIL released; the result is the summary as JSON and
//! the series and fills as named float64 numpy columns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use wintermute_mm::backtest::{run_json, BacktestResult};

use crate::errors::Result;
use crate::mm_strategy::run_python;

pub(crate) fn to_python(py: Python<'_>, result: BacktestResult) -> Result<(String, Bound<'_, PyDict>)> {
    let columns = PyDict::new(py);
    for (name, values) in result.columns() {
        columns.set_item(name, PyArray1::from_vec(py, values))?;
    }
    Ok((result.summary_json(), columns))
}

/// Runs a backtest from its JSON config: `(summary_json, {column: float64 array})`.
#[pyfunction]
fn run_backtest<'py>(py: Python<'py>, config_json: &str) -> Result<(String, Bound<'py, PyDict>)> {
    let result = py.detach(|| run_json(config_json, None))?;
    to_python(py, result)
}

/// A backtest whose progress can be read from another thread while `run` works: of the
/// built-in market maker, or of a Python `strategy` (`label` names it in the summary).
#[pyclass(frozen, module = "wintermute._core")]
struct MmBacktest {
    config_json: String,
    strategy: Option<(Py<PyAny>, String, usize)>,
    progress: Arc<AtomicU64>,
}

#[pymethods]
impl MmBacktest {
    #[new]
    #[pyo3(signature = (config_json, strategy=None, label=String::from("python"), max_batch=4096))]
    fn new(config_json: String, strategy: Option<Py<PyAny>>, label: String, max_batch: usize) -> Self {
        let strategy = strategy.map(|s| (s, label, max_batch));
        MmBacktest { config_json, strategy, progress: Arc::new(AtomicU64::new(0)) }
    }

    /// Runs it (GIL released but for the strategy's calls): `(summary_json, {column: float64
    /// array})`.
    fn run<'py>(&self, py: Python<'py>) -> Result<(String, Bound<'py, PyDict>)> {
        let (config, progress) = (&self.config_json, Some(&*self.progress));
        let result = py.detach(|| match &self.strategy {
            None => Ok(run_json(config, progress)?),
            Some((s, label, max_batch)) => run_python(config, s, label, *max_batch, progress),
        })?;
        to_python(py, result)
    }

    /// Fraction of simulated time done, 0.0 to 1.0.
    fn progress(&self) -> f64 {
        self.progress.load(Ordering::Relaxed) as f64 / 1e6
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<MmBacktest>()?;
    m.add_function(wrap_pyfunction!(run_backtest, m)?)
}

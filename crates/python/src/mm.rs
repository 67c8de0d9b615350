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

fn to_python(py: Python<'_>, result: BacktestResult) -> Result<(String, Bound<'_, PyDict>)> {
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

/// A backtest whose progress can be read from another thread while `run` works.
#[pyclass(frozen, module = "wintermute._core")]
struct MmBacktest {
    config_json: String,
    progress: Arc<AtomicU64>,
}

#[pymethods]
impl MmBacktest {
    #[new]
    fn new(config_json: String) -> Self {
        MmBacktest { config_json, progress: Arc::new(AtomicU64::new(0)) }
    }

    /// Runs it (GIL released): `(summary_json, {column: float64 array})`.
    fn run<'py>(&self, py: Python<'py>) -> Result<(String, Bound<'py, PyDict>)> {
        let result = py.detach(|| run_json(&self.config_json, Some(&self.progress)))?;
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

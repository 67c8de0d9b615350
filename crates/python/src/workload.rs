//! `wintermute._core.generate_workload` and `python_workload`: the seeded benchmark streams of
//! `wintermute_bench::workload` (by name: `wintermute_bench::catalog`), as command records for
//! the batch and native paths, and as the five columns of `wintermute bench`.

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyDict, PyTuple};
use wintermute_bench::{catalog, workload};

use crate::errors::Result;

/// Generates a seeded workload: `{"name", "spec": {...}, "warmup": bytes-array, "commands":
/// bytes-array}` where the arrays hold 48-byte command records (`wintermute.batch.COMMAND_DTYPE`).
/// Names: `exchange_core`, `feed`, `python`, `sweep`, `deep_queue`, `big_book`.
#[pyfunction]
#[pyo3(signature = (name, seed=42, commands=1_000_000))]
fn generate_workload<'py>(py: Python<'py>, name: &str, seed: u64, commands: usize) -> Result<Bound<'py, PyDict>> {
    let r = py.detach(|| catalog::generate(name, seed, commands))?;
    let d = PyDict::new(py);
    d.set_item("name", r.workload.name)?;
    d.set_item("spec", r.spec_fields().into_py_dict(py)?)?;
    d.set_item("warmup", PyArray1::from_vec(py, r.warmup))?;
    d.set_item("commands", PyArray1::from_vec(py, r.commands))?;
    Ok(d)
}

/// The stream of `wintermute bench` (`wintermute_bench::workload::python_mix_flat_warm`): five
/// int64 columns (kind, order_id, side, price, qty), `warmup` resting adds then `orders` commands.
#[pyfunction]
fn python_workload(py: Python<'_>, seed: u64, orders: usize, warmup: usize) -> Result<Bound<'_, PyTuple>> {
    let columns = py.detach(|| workload::python_mix_flat_warm(seed, orders, warmup).columns());
    Ok(PyTuple::new(py, columns.map(|c| PyArray1::from_vec(py, c)))?)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(python_workload, m)?)?;
    m.add_function(wrap_pyfunction!(generate_workload, m)?)
}

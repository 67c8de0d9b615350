//! `wintermute bench routing`: an order decision -> each venue's signed request
//! ([`wintermute_bench::routing`]), timed in Rust with the GIL released; Python times ccxt's
//! `create_order` building the same requests in the same run.

use pyo3::prelude::*;
use wintermute_bench::routing;

use crate::errors::{Error, Result};

/// Times each venue's signing edge `rounds` times; the `EdgeTiming`s as a JSON list.
#[pyfunction]
#[pyo3(signature = (rounds=20_000))]
fn routing_sign_timed(py: Python<'_>, rounds: usize) -> Result<String> {
    let edges = py.detach(|| routing::sign_edges(rounds));
    serde_json::to_string(&edges).map_err(|e| Error::type_error(e.to_string()))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(routing_sign_timed, m)?)
}

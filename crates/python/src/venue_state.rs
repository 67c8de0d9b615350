//! The service venue's history (trade tape and fills, kept in Python) as a binary state
//! document (`wintermute_engine::venue_state::History`): records as lists of `int` and `str`.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use wintermute_engine::venue_state::{Cell, History, Row};

use crate::errors::Result;
use crate::venue_ledger::state_error;

/// One field of a record: `int` or `str`.
#[derive(IntoPyObject)]
enum PyCell {
    Int(i64),
    Text(String),
}

impl<'a, 'py> FromPyObject<'a, 'py> for PyCell {
    type Error = PyErr;

    // By type, not by trying `int` first: a failed try costs a Python exception, per field.
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(text) = obj.cast::<PyString>() {
            return Ok(Self::Text(text.to_str()?.to_owned()));
        }
        Ok(Self::Int(obj.extract()?))
    }
}

type PyRows = Vec<Vec<PyCell>>;

fn rows(list: PyRows) -> Vec<Row> {
    (list.into_iter())
        .map(|r| {
            (r.into_iter())
                .map(|c| match c {
                    PyCell::Int(i) => Cell::Int(i),
                    PyCell::Text(t) => Cell::Text(t),
                })
                .collect()
        })
        .collect()
}

fn py_rows(list: Vec<Row>) -> PyRows {
    (list.into_iter())
        .map(|r| {
            (r.into_iter())
                .map(|c| match c {
                    Cell::Int(i) => PyCell::Int(i),
                    Cell::Text(t) => PyCell::Text(t),
                })
                .collect()
        })
        .collect()
}

/// The venue's history as a binary state document: the tape as `(symbol, records)` and the
/// fills as `(account, records)`, each record its fields in order.
#[pyfunction]
fn venue_history_to_state(
    py: Python<'_>,
    tape: Vec<(String, PyRows)>,
    fills: Vec<(u32, PyRows)>,
) -> Bound<'_, PyBytes> {
    let history = History {
        tape: tape.into_iter().map(|(s, r)| (s, rows(r))).collect(),
        fills: fills.into_iter().map(|(a, r)| (a, rows(r))).collect(),
    };
    PyBytes::new(py, &py.detach(|| history.to_state_bin()))
}

/// The `(tape, fills)` of a document from `venue_history_to_state` (`VENUE_STATE` if it does
/// not load).
#[pyfunction]
#[allow(clippy::type_complexity)]
fn venue_history_from_state(py: Python<'_>, state: &[u8]) -> Result<(Vec<(String, PyRows)>, Vec<(u32, PyRows)>)> {
    let h = py.detach(|| History::load_state_bin(state)).map_err(state_error)?;
    Ok((
        h.tape.into_iter().map(|(s, r)| (s, py_rows(r))).collect(),
        h.fills.into_iter().map(|(a, r)| (a, py_rows(r))).collect(),
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(venue_history_to_state, m)?)?;
    m.add_function(wrap_pyfunction!(venue_history_from_state, m)?)
}

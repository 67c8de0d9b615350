//! `OrderGrid`: the venue's order input checks (`wintermute_engine::venue_input`) for one
//! instrument, as the Python venue calls them (`Venue.place`, `Venue.amend`). A quantity or
//! price comes as a `str` (read as it is), a `decimal.Decimal` or an `int` (read as Python
//! writes it, `str()`); any other type is refused as the venue refuses it.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyInt, PySlice, PyString, PyType};
use wintermute_engine::venue_input::{not_a_decimal, wrong_type, EntryInstrument, Field, Refused};
use wintermute_engine::venue_orders::OrderTableError;

use crate::errors::{Error, Result};

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn decimal_type(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
    DECIMAL.import(py, "decimal", "Decimal")
}

/// The text of a `str`, `Decimal` or `int` (`Ok(None)`: a `str` that is not UTF-8, which no
/// decimal is), or the refusal of another type (`Err`).
fn text_of<'a>(value: &'a Bound<'_, PyAny>, field: Field) -> Result<Option<Cow<'a, str>>, OrderTableError> {
    let py = value.py();
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(s.to_str().ok().map(Cow::Borrowed));
    }
    // A failing `str()` or type lookup (out of memory) refuses the value as of the wrong type.
    let wrong = || wrong_type(field, &value.get_type().name().map(|n| n.to_string()).unwrap_or_default());
    if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
        // Past an i128, as `Decimal(value)` writes it (no limit on its digits).
        let big = || Some(decimal_type(py).ok()?.call1((value,)).ok()?.str().ok()?.to_string());
        let text = value.extract::<i128>().map(|n| n.to_string()).ok().or_else(big);
        return text.map(|t| Some(Cow::Owned(t))).ok_or_else(wrong);
    }
    if decimal_type(py).is_ok_and(|d| value.is_instance(d).unwrap_or(false)) {
        return value.str().map(|s| Some(Cow::Owned(s.to_string()))).map_err(|_| wrong());
    }
    Err(wrong())
}

/// `value`'s first 40 characters as Python's `repr` shows them.
fn quoted(value: &Bound<'_, PyAny>) -> Result<String> {
    Ok(value.get_item(PySlice::new(value.py(), 0, 40, 1))?.repr()?.to_string())
}

/// An instrument's grid and bounds, checking orders' quantities and prices.
#[pyclass(module = "wintermute._core", name = "OrderGrid", frozen)]
pub struct PyOrderGrid {
    inner: EntryInstrument,
}

/// What a check gives Python: the lots or ticks, or the refusal's `(code, message)` (the
/// venue raises its own `VenueError` with them: no exception is raised twice).
#[derive(IntoPyObject)]
enum Checked {
    Units(i64),
    Refused((&'static str, String)),
}

impl PyOrderGrid {
    fn units(&self, value: &Bound<'_, PyAny>, field: Field) -> Result<Checked> {
        let refused = |e: OrderTableError| Checked::Refused((e.code, e.message));
        let text = match text_of(value, field) {
            Ok(text) => text,
            Err(e) => return Ok(refused(e)),
        };
        Ok(match text.as_deref().map(|t| self.inner.units_of(field, t)) {
            Some(Ok(units)) => Checked::Units(units),
            Some(Err(Refused::Error(e))) => refused(e),
            Some(Err(Refused::NotDecimal)) | None => refused(not_a_decimal(field, &quoted(value)?)),
        })
    }
}

#[pymethods]
impl PyOrderGrid {
    /// From the instrument's decimals (`str`, `Decimal` or `int`).
    #[new]
    fn new(
        symbol: &str,
        tick_size: &Bound<'_, PyAny>,
        lot_size: &Bound<'_, PyAny>,
        min_qty: &Bound<'_, PyAny>,
        max_qty: &Bound<'_, PyAny>,
        min_price: &Bound<'_, PyAny>,
        max_price: &Bound<'_, PyAny>,
    ) -> Result<Self> {
        let invalid = |e| Error::other("INVALID_INSTRUMENT", e);
        let values = [tick_size, lot_size, min_qty, max_qty, min_price, max_price];
        let texts = values.map(|v| text_of(v, Field::Price).map(Option::unwrap_or_default));
        let wrong = |_| invalid(format!("{symbol}: tick, lot, quantity and price bounds must be str, Decimal or int"));
        let texts: Vec<Cow<'_, str>> = texts.into_iter().collect::<Result<_, _>>().map_err(wrong)?;
        let texts = [0, 1, 2, 3, 4, 5].map(|i| &*texts[i]);
        Ok(Self { inner: EntryInstrument::new(symbol, texts).map_err(invalid)? })
    }

    /// The symbol.
    #[getter]
    fn symbol(&self) -> &str {
        &self.inner.symbol
    }

    /// A quantity in lots, or the refusal's `(code, message)` (`INVALID_QTY`: see
    /// `wintermute_engine::venue_input`).
    fn lots(&self, qty: &Bound<'_, PyAny>) -> Result<Checked> {
        self.units(qty, Field::Qty)
    }

    /// A limit price in ticks, or the refusal's `(code, message)` (`INVALID_PRICE`,
    /// `OFF_TICK`).
    fn ticks(&self, price: &Bound<'_, PyAny>) -> Result<Checked> {
        self.units(price, Field::Price)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyOrderGrid>()
}

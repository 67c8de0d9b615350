//! The one place where engine errors become Python exceptions (`wintermute.errors`).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};
use wintermute_core::decimal::DecimalError;
use wintermute_core::{InstrumentError, OrderError, RejectReason, SnapshotError};

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Builds `wintermute.errors.<class>(message, reason=reason)` as a `PyErr`.
pub(crate) fn error(py: Python<'_>, class: &str, message: String, reason: Option<&str>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let module = ERRORS.get_or_try_init(py, || py.import("wintermute.errors").map(Bound::unbind))?;
        let cls = module.bind(py).getattr(class)?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("reason", reason)?;
        let instance = cls.call((message,), Some(&kwargs))?;
        Ok(PyErr::from_value(instance))
    };
    build().unwrap_or_else(|e| e)
}

/// Maps an order validation error.
pub(crate) fn order_error(py: Python<'_>, e: &OrderError) -> PyErr {
    let reason = e.reason();
    let class = match reason {
        RejectReason::UnknownOrder => "UnknownOrderError",
        RejectReason::DuplicateOrderId => "DuplicateOrderIdError",
        RejectReason::NonPositiveQty | RejectReason::QtyBelowMin | RejectReason::QtyAboveMax => "InvalidQuantityError",
        RejectReason::PriceOutOfBand => "InvalidPriceError",
        RejectReason::UnknownInstrument => "UnknownInstrumentError",
        _ => "InvalidOrderError",
    };
    error(py, class, e.to_string(), Some(reason.code()))
}

/// Maps an instrument error.
pub(crate) fn instrument_error(py: Python<'_>, e: &InstrumentError) -> PyErr {
    match e {
        InstrumentError::Unknown { .. } => {
            error(py, "UnknownInstrumentError", e.to_string(), Some("UNKNOWN_INSTRUMENT"))
        }
        InstrumentError::Duplicate { .. } => error(py, "InstrumentError", e.to_string(), Some("DUPLICATE_INSTRUMENT")),
        _ => error(py, "InstrumentError", e.to_string(), Some("INVALID_INSTRUMENT")),
    }
}

/// What a decimal was meant to be, for the error class.
#[derive(Clone, Copy)]
pub(crate) enum Quantity {
    Price,
    Qty,
}

/// Maps a decimal conversion error for a price or a quantity field.
pub(crate) fn decimal_error(py: Python<'_>, field: &str, what: Quantity, e: &DecimalError) -> PyErr {
    let message = format!("{field}: {e}");
    match (e, what) {
        (DecimalError::OffGrid { .. }, Quantity::Price) => {
            error(py, "PriceOffTickError", message, Some("PRICE_OFF_TICK"))
        }
        (DecimalError::OffGrid { .. }, Quantity::Qty) => error(py, "QuantityOffLotError", message, Some("QTY_OFF_LOT")),
        _ => error(py, "InvalidDecimalError", message, Some("INVALID_DECIMAL")),
    }
}

/// Maps a snapshot error.
pub(crate) fn snapshot_error(py: Python<'_>, e: &SnapshotError) -> PyErr {
    error(py, "WintermuteError", e.to_string(), Some("INVALID_SNAPSHOT"))
}

/// A `TypeError` for a wrong argument type.
pub(crate) fn type_error(message: String) -> PyErr {
    PyTypeError::new_err(message)
}

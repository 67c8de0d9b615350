//! Conversions shared by the bindings: exact decimals to and from Python, side and STP names.

use pyo3::prelude::*;
use pyo3::types::PyString;
use wintermute_core::{Side, StpMode};

use crate::errors;

static DECIMAL: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

pub(crate) fn to_decimal<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let cls =
        DECIMAL.get_or_try_init(py, || -> PyResult<_> { Ok(py.import("decimal")?.getattr("Decimal")?.unbind()) })?;
    cls.bind(py).call1((text,))
}

/// Exact decimal text of a Python `str`, `int` or `decimal.Decimal`. Floats are refused.
pub(crate) fn decimal_text(obj: &Bound<'_, PyAny>, field: &str) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    let type_name = obj.get_type().name()?.to_string();
    match type_name.as_str() {
        "int" | "Decimal" => Ok(obj.str()?.to_str()?.to_owned()),
        "float" => Err(errors::type_error(format!(
            "{field}: floats are not accepted (binary floats are inexact); pass a str or decimal.Decimal"
        ))),
        other => Err(errors::type_error(format!("{field}: expected str, int or decimal.Decimal, got {other}"))),
    }
}

pub(crate) fn parse_side(py: Python<'_>, s: &str) -> PyResult<Side> {
    match s {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        _ => Err(errors::error(
            py,
            "InvalidOrderError",
            format!("side={s:?}: expected 'buy' or 'sell'"),
            Some("INVALID_ORDER"),
        )),
    }
}

pub(crate) fn side_str(side: Side) -> &'static str {
    match side {
        Side::Buy => "buy",
        Side::Sell => "sell",
    }
}

pub(crate) fn stp_str(stp: StpMode) -> &'static str {
    match stp {
        StpMode::None => "none",
        StpMode::CancelNewest => "cancel_newest",
        StpMode::CancelOldest => "cancel_oldest",
        StpMode::CancelBoth => "cancel_both",
        StpMode::Decrement => "decrement",
    }
}

pub(crate) fn invalid(py: Python<'_>, message: String) -> PyErr {
    errors::error(py, "InvalidOrderError", message, Some("INVALID_ORDER"))
}

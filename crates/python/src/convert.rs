//! Conversions shared by the bindings: exact decimals to and from Python, side and STP names,
//! and the decimal `submit` arguments of `Engine` and the pipeline's gateways as a `NewOrder`.

use pyo3::prelude::*;
use pyo3::types::PyString;
use wintermute_core::{InstrumentSpec, NewOrder, OrderType, Side, StpMode, TimeInForce};

use crate::errors::{self, Quantity};

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

/// Exact price in ticks of `spec` for a Python decimal (an error if off the tick grid).
pub(crate) fn price_ticks(py: Python<'_>, spec: &InstrumentSpec, field: &str, v: &Bound<'_, PyAny>) -> PyResult<i64> {
    let text = decimal_text(v, field)?;
    spec.price_ticks(&text).map_err(|e| errors::decimal_error(py, field, Quantity::Price, &e))
}

/// Exact quantity in lots of `spec` for a Python decimal (an error if off the lot grid).
pub(crate) fn qty_lots(py: Python<'_>, spec: &InstrumentSpec, field: &str, v: &Bound<'_, PyAny>) -> PyResult<i64> {
    let text = decimal_text(v, field)?;
    spec.qty_lots(&text).map_err(|e| errors::decimal_error(py, field, Quantity::Qty, &e))
}

/// The arguments of the decimal `submit` (`Engine.submit`, `PipelineGateway.submit`) as a new
/// order of an instrument with `spec`: names checked, decimals converted exactly.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_order(
    py: Python<'_>,
    spec: &InstrumentSpec,
    order_id: u64,
    side: &str,
    qty: &Bound<'_, PyAny>,
    price: Option<&Bound<'_, PyAny>>,
    account: u32,
    order_type: &str,
    tif: Option<&str>,
    post_only: bool,
    display_qty: Option<&Bound<'_, PyAny>>,
    stp: &str,
) -> PyResult<NewOrder> {
    let side = parse_side(py, side)?;
    let order_type = match order_type {
        "limit" => OrderType::Limit,
        "market" => OrderType::Market,
        o => return Err(invalid(py, format!("order_type={o:?}: expected 'limit' or 'market'"))),
    };
    let tif = match (tif, order_type) {
        (None, OrderType::Limit) | (Some("gtc"), _) => TimeInForce::Gtc,
        (None, OrderType::Market) | (Some("ioc"), _) => TimeInForce::Ioc,
        (Some("fok"), _) => TimeInForce::Fok,
        (Some(t), _) => return Err(invalid(py, format!("tif={t:?}: expected 'gtc', 'ioc' or 'fok'"))),
    };
    let stp = match stp {
        "none" => StpMode::None,
        "cancel_newest" => StpMode::CancelNewest,
        "cancel_oldest" => StpMode::CancelOldest,
        "cancel_both" => StpMode::CancelBoth,
        "decrement" => StpMode::Decrement,
        s => {
            let why =
                format!("stp={s:?}: expected 'none', 'cancel_newest', 'cancel_oldest', 'cancel_both' or 'decrement'");
            return Err(invalid(py, why));
        }
    };
    let price = match (price, order_type) {
        (Some(p), OrderType::Limit) => price_ticks(py, spec, "price", p)?,
        (None, OrderType::Limit) => {
            let why = format!("order_id={order_id}: a limit order needs a price");
            return Err(errors::error(py, "InvalidPriceError", why, Some("MISSING_PRICE")));
        }
        (Some(_), OrderType::Market) => {
            let why = format!("order_id={order_id}: a market order takes no price");
            return Err(errors::error(py, "InvalidPriceError", why, Some("INVALID_ORDER")));
        }
        (None, OrderType::Market) => 0,
    };
    let qty = qty_lots(py, spec, "qty", qty)?;
    let display_qty = display_qty.map(|d| qty_lots(py, spec, "display_qty", d)).transpose()?;
    Ok(NewOrder { order_id, account, side, order_type, tif, price, qty, post_only, display_qty, stp })
}

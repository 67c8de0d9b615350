//! Conversions shared by the bindings: exact decimals to and from Python, side and STP names,
//! and the decimal `submit` arguments of `Engine` and the pipeline's gateways as a `NewOrder`.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyString;
use wintermute_core::decimal::Decimal;
use wintermute_core::records::COMMAND_SIZE;
use wintermute_core::{InstrumentError, InstrumentId, InstrumentSpec, NewOrder, OrderType, Side, StpMode, TimeInForce};

use crate::errors::{Error, Grid, Result};

static DECIMAL: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

pub(crate) fn to_decimal<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let cls =
        DECIMAL.get_or_try_init(py, || -> PyResult<_> { Ok(py.import("decimal")?.getattr("Decimal")?.unbind()) })?;
    cls.bind(py).call1((text,))
}

/// Exact decimal text of a Python `str`, `int` or `decimal.Decimal`. Floats are refused.
pub(crate) fn decimal_text(obj: &Bound<'_, PyAny>, field: &str) -> Result<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    let type_name = obj.get_type().name()?.to_string();
    match type_name.as_str() {
        "int" => Ok(obj.str()?.to_str()?.to_owned()),
        // Plain text (`format(d, "f")`): `str()` writes exponents (`1E-8`), which the one set of
        // decimal rules refuses (`wintermute_core::decimal`).
        "Decimal" => Ok(obj.call_method1("__format__", ("f",))?.str()?.to_str()?.to_owned()),
        "float" => Err(Error::type_error(format!(
            "{field}: floats are not accepted (binary floats are inexact); pass a str or decimal.Decimal"
        ))),
        other => Err(Error::type_error(format!("{field}: expected str, int or decimal.Decimal, got {other}"))),
    }
}

/// A Python `str`, `int` or `decimal.Decimal` as an exact core [`Decimal`] (any value the
/// rules of `wintermute_core::decimal` admit, on no grid).
pub(crate) fn decimal(obj: &Bound<'_, PyAny>, field: &str) -> Result<Decimal> {
    Decimal::parse(&decimal_text(obj, field)?).map_err(Error::decimal(field, Grid::Neither))
}

/// The bytes of a numpy array of 48-byte command records (`wintermute.batch.COMMAND_DTYPE`).
pub(crate) fn command_records<'a>(commands: &'a PyReadonlyArray1<'_, u8>) -> Result<&'a [u8]> {
    let input = commands.as_slice().map_err(|_| Error::type_error("commands must be a contiguous array"))?;
    if input.len() % COMMAND_SIZE != 0 {
        let n = input.len();
        return Err(Error::type_error(format!(
            "commands: {n} bytes is not a whole number of {COMMAND_SIZE}-byte records"
        )));
    }
    Ok(input)
}

/// The instrument id of a Python symbol (`str`) or id (`int`): `by_symbol` looks a symbol up,
/// `count` is how many instruments there are (ids `0..count`).
pub(crate) fn instrument_id(
    instrument: &Bound<'_, PyAny>,
    by_symbol: impl FnOnce(&str) -> Option<InstrumentId>,
    count: usize,
) -> Result<InstrumentId> {
    if let Ok(s) = instrument.cast::<PyString>() {
        let symbol = s.to_str()?;
        return by_symbol(symbol).ok_or_else(|| InstrumentError::Unknown { symbol: symbol.to_owned() }.into());
    }
    let id: InstrumentId = instrument
        .extract()
        .map_err(|_| Error::type_error("instrument: expected a symbol (str) or an instrument id (int)"))?;
    known_id(id, count)
}

/// `id` when it is one of `count` instruments' ids.
pub(crate) fn known_id(id: InstrumentId, count: usize) -> Result<InstrumentId> {
    if (id as usize) < count {
        Ok(id)
    } else {
        Err(Error::UnknownInstrumentId(id))
    }
}

pub(crate) fn parse_side(s: &str) -> Result<Side> {
    match s {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        _ => Err(Error::InvalidOrder(format!("side={s:?}: expected 'buy' or 'sell'"))),
    }
}

/// A side code of the integer API: 0 buy, 1 sell, None both.
pub(crate) fn side_code(side: Option<u8>) -> Result<Option<Side>> {
    match side {
        None => Ok(None),
        Some(0) => Ok(Some(Side::Buy)),
        Some(1) => Ok(Some(Side::Sell)),
        Some(s) => Err(Error::InvalidOrder(format!("side={s}: expected 0 (buy), 1 (sell) or None"))),
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

/// Exact price in ticks of `spec` for a Python decimal (an error if off the tick grid).
pub(crate) fn price_ticks(spec: &InstrumentSpec, field: &str, v: &Bound<'_, PyAny>) -> Result<i64> {
    let text = decimal_text(v, field)?;
    spec.price_ticks(&text).map_err(Error::decimal(field, Grid::Price))
}

/// Exact quantity in lots of `spec` for a Python decimal (an error if off the lot grid).
pub(crate) fn qty_lots(spec: &InstrumentSpec, field: &str, v: &Bound<'_, PyAny>) -> Result<i64> {
    let text = decimal_text(v, field)?;
    spec.qty_lots(&text).map_err(Error::decimal(field, Grid::Qty))
}

/// The arguments of the decimal `submit` (`Engine.submit`, `PipelineGateway.submit`) as a new
/// order of an instrument with `spec`: names checked, decimals converted exactly.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_order(
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
) -> Result<NewOrder> {
    let side = parse_side(side)?;
    let order_type = match order_type {
        "limit" => OrderType::Limit,
        "market" => OrderType::Market,
        o => return Err(Error::InvalidOrder(format!("order_type={o:?}: expected 'limit' or 'market'"))),
    };
    let tif = match (tif, order_type) {
        (None, OrderType::Limit) | (Some("gtc"), _) => TimeInForce::Gtc,
        (None, OrderType::Market) | (Some("ioc"), _) => TimeInForce::Ioc,
        (Some("fok"), _) => TimeInForce::Fok,
        (Some(t), _) => return Err(Error::InvalidOrder(format!("tif={t:?}: expected 'gtc', 'ioc' or 'fok'"))),
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
            return Err(Error::InvalidOrder(why));
        }
    };
    let price = match (price, order_type) {
        (Some(p), OrderType::Limit) => price_ticks(spec, "price", p)?,
        (None, OrderType::Limit) => {
            let why = format!("order_id={order_id}: a limit order needs a price");
            return Err(Error::Price { message: why, reason: "MISSING_PRICE" });
        }
        (Some(_), OrderType::Market) => {
            let why = format!("order_id={order_id}: a market order takes no price");
            return Err(Error::Price { message: why, reason: "INVALID_ORDER" });
        }
        (None, OrderType::Market) => 0,
    };
    let qty = qty_lots(spec, "qty", qty)?;
    let display_qty = display_qty.map(|d| qty_lots(spec, "display_qty", d)).transpose()?;
    Ok(NewOrder { order_id, account, side, order_type, tif, price, qty, post_only, display_qty, stp })
}

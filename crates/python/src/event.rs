//! `wintermute._core.Event`: one event of an order book, as a Python object.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use wintermute_core::decimal::Step;
use wintermute_core::records::tables::event_kind_name;
use wintermute_core::{Event, InstrumentId};

use crate::convert::{side_str, to_decimal};

/// One event of the order book (see docs/matching.md). Prices are ticks and quantities lots;
/// `price_decimal` / `qty_decimal` give exact decimals.
#[pyclass(module = "wintermute._core", name = "Event", frozen)]
pub struct PyEvent {
    pub(crate) ev: Event,
    pub(crate) instrument: InstrumentId,
    pub(crate) tick: Step,
    pub(crate) lot: Step,
}

impl PyEvent {
    /// The dict of `to_dict`.
    fn dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("kind", self.kind())?;
        d.set_item("seq", self.seq())?;
        d.set_item("instrument", self.instrument)?;
        for (k, v) in self.fields() {
            d.set_item(k, v)?;
        }
        for (k, v) in self.text_fields() {
            d.set_item(k, v)?;
        }
        if let Some(kept) = self.priority_kept() {
            d.set_item("priority_kept", kept)?;
        }
        Ok(d)
    }

    fn fields(&self) -> Vec<(&'static str, i128)> {
        match self.ev {
            Event::Accepted { order_id, account, price, qty, .. } => vec![
                ("order_id", order_id.into()),
                ("account", account.into()),
                ("price", price.into()),
                ("qty", qty.into()),
            ],
            Event::Rejected { order_id, .. } => vec![("order_id", order_id.into())],
            Event::Trade {
                maker_order_id,
                taker_order_id,
                maker_account,
                taker_account,
                price,
                qty,
                maker_remaining,
                taker_remaining,
                ..
            } => vec![
                ("maker_order_id", maker_order_id.into()),
                ("taker_order_id", taker_order_id.into()),
                ("maker_account", maker_account.into()),
                ("taker_account", taker_account.into()),
                ("price", price.into()),
                ("qty", qty.into()),
                ("maker_remaining", maker_remaining.into()),
                ("taker_remaining", taker_remaining.into()),
            ],
            Event::Canceled { order_id, canceled_qty, remaining_qty, .. } => vec![
                ("order_id", order_id.into()),
                ("canceled_qty", canceled_qty.into()),
                ("remaining_qty", remaining_qty.into()),
            ],
            Event::Amended { order_id, old_price, new_price, old_qty, new_qty, .. } => vec![
                ("order_id", order_id.into()),
                ("old_price", old_price.into()),
                ("price", new_price.into()),
                ("old_qty", old_qty.into()),
                ("qty", new_qty.into()),
            ],
            Event::BookDelta { price, qty, orders, .. } => {
                vec![("price", price.into()), ("qty", qty.into()), ("orders", orders.into())]
            }
        }
    }

    fn field(&self, name: &str) -> Option<i128> {
        self.fields().into_iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    fn text_fields(&self) -> Vec<(&'static str, &'static str)> {
        match self.ev {
            Event::Accepted { side, .. } | Event::BookDelta { side, .. } => vec![("side", side_str(side))],
            Event::Trade { aggressor, .. } => vec![("aggressor", side_str(aggressor))],
            Event::Rejected { reason, .. } => vec![("reason", reason.code())],
            Event::Canceled { reason, .. } => vec![("reason", reason.code())],
            Event::Amended { .. } => vec![],
        }
    }
}

#[pymethods]
impl PyEvent {
    /// `"accepted"`, `"rejected"`, `"trade"`, `"canceled"`, `"amended"` or `"book_delta"`.
    #[getter]
    fn kind(&self) -> &'static str {
        event_kind_name(&self.ev)
    }

    /// The book's sequence number of this event.
    #[getter]
    fn seq(&self) -> u64 {
        self.ev.seq()
    }

    /// The instrument id.
    #[getter]
    fn instrument(&self) -> InstrumentId {
        self.instrument
    }

    /// The order the event is about (not set on trades and book deltas: see maker/taker ids).
    #[getter]
    fn order_id(&self) -> Option<i128> {
        self.field("order_id")
    }

    #[getter]
    fn maker_order_id(&self) -> Option<i128> {
        self.field("maker_order_id")
    }

    #[getter]
    fn taker_order_id(&self) -> Option<i128> {
        self.field("taker_order_id")
    }

    #[getter]
    fn account(&self) -> Option<i128> {
        self.field("account")
    }

    #[getter]
    fn maker_account(&self) -> Option<i128> {
        self.field("maker_account")
    }

    #[getter]
    fn taker_account(&self) -> Option<i128> {
        self.field("taker_account")
    }

    /// Price in ticks (accepted: limit price; trade: trade price; amended: new price; book delta: level).
    #[getter]
    fn price(&self) -> Option<i128> {
        self.field("price")
    }

    /// Quantity in lots (accepted: order qty; trade: traded; amended: new remaining; book delta: visible).
    #[getter]
    fn qty(&self) -> Option<i128> {
        self.field("qty")
    }

    #[getter]
    fn old_price(&self) -> Option<i128> {
        self.field("old_price")
    }

    #[getter]
    fn old_qty(&self) -> Option<i128> {
        self.field("old_qty")
    }

    #[getter]
    fn canceled_qty(&self) -> Option<i128> {
        self.field("canceled_qty")
    }

    #[getter]
    fn remaining_qty(&self) -> Option<i128> {
        self.field("remaining_qty")
    }

    #[getter]
    fn maker_remaining(&self) -> Option<i128> {
        self.field("maker_remaining")
    }

    #[getter]
    fn taker_remaining(&self) -> Option<i128> {
        self.field("taker_remaining")
    }

    #[getter]
    fn orders(&self) -> Option<i128> {
        self.field("orders")
    }

    /// `"buy"`/`"sell"` for accepted orders and book deltas.
    #[getter]
    fn side(&self) -> Option<&'static str> {
        match self.ev {
            Event::Accepted { side, .. } | Event::BookDelta { side, .. } => Some(side_str(side)),
            _ => None,
        }
    }

    /// The taker's side, for trades.
    #[getter]
    fn aggressor(&self) -> Option<&'static str> {
        match self.ev {
            Event::Trade { aggressor, .. } => Some(side_str(aggressor)),
            _ => None,
        }
    }

    /// Reason code for rejections and cancels (e.g. `"POST_ONLY_WOULD_CROSS"`, `"UNFILLED"`).
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        match self.ev {
            Event::Rejected { reason, .. } => Some(reason.code()),
            Event::Canceled { reason, .. } => Some(reason.code()),
            _ => None,
        }
    }

    /// For amends: whether the order kept its queue position.
    #[getter]
    fn priority_kept(&self) -> Option<bool> {
        match self.ev {
            Event::Amended { priority_kept, .. } => Some(priority_kept),
            _ => None,
        }
    }

    /// `price` as an exact `decimal.Decimal` (None where there is no price).
    #[getter]
    fn price_decimal<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.price().map(|p| to_decimal(py, &self.tick.format(p as i64))).transpose()
    }

    /// `qty` as an exact `decimal.Decimal` (None where there is no quantity).
    #[getter]
    fn qty_decimal<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.qty().map(|q| to_decimal(py, &self.lot.format(q as i64))).transpose()
    }

    /// All fields that apply to this kind of event, as a dict (prices in ticks, quantities in lots).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.dict(py)
    }

    fn __repr__(&self) -> String {
        let mut parts = vec![format!("seq={}", self.seq())];
        parts.extend(self.fields().into_iter().map(|(k, v)| format!("{k}={v}")));
        parts.extend(self.text_fields().into_iter().map(|(k, v)| format!("{k}={v}")));
        if let Some(kept) = self.priority_kept() {
            parts.push(format!("priority_kept={kept}"));
        }
        format!("Event.{}({})", self.kind(), parts.join(", "))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyEvent>().is_ok_and(|o| {
            let o = o.get();
            o.ev == self.ev && o.instrument == self.instrument
        })
    }
}

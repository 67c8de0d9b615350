//! Gateways from Python: one per producer thread. Each call converts its arguments (the
//! decimal API of `Engine.submit`, or ticks and lots), releases the GIL and submits into the
//! gateway's ring; it returns the command's number on the gateway (`command_seq` of its
//! outputs). Book validation happens in the pipeline: a refused command comes back as an
//! output with outcome "refused", never as an exception here.

use std::sync::Arc;

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use wintermute_core::records;
use wintermute_core::{Command, InstrumentId, InstrumentSpec};
use wintermute_engine::journal::ClientOrderId;
use wintermute_engine::pipeline::record_batch::submit_records;
use wintermute_engine::pipeline::{SharedGateway, SubmitError};

use crate::convert::{
    command_records, instrument_id, known_id, new_order, parse_side, price_ticks, qty_lots, side_code,
};
use crate::errors::{Error, Result};

/// The instruments of a pipeline, by id, for conversions.
#[derive(Debug)]
pub(crate) struct Instruments {
    pub(crate) specs: Vec<InstrumentSpec>,
}

impl Instruments {
    pub(crate) fn resolve(&self, instrument: &Bound<'_, PyAny>) -> Result<InstrumentId> {
        let by_symbol = |s: &str| self.specs.iter().position(|spec| spec.symbol == s).map(|i| i as InstrumentId);
        instrument_id(instrument, by_symbol, self.specs.len())
    }

    pub(crate) fn check(&self, id: InstrumentId) -> Result<InstrumentId> {
        known_id(id, self.specs.len())
    }

    pub(crate) fn price(&self, id: InstrumentId, field: &str, v: &Bound<'_, PyAny>) -> Result<i64> {
        price_ticks(&self.specs[id as usize], field, v)
    }

    fn qty(&self, id: InstrumentId, field: &str, v: &Bound<'_, PyAny>) -> Result<i64> {
        qty_lots(&self.specs[id as usize], field, v)
    }
}

/// A producer handle into the pipeline. Thread-safe; give each producer thread its own.
#[pyclass(module = "wintermute._core", name = "PipelineGateway", frozen)]
pub struct PyGateway {
    pub(crate) id: u16,
    /// Leased by a live market maker that trades through this gateway (`mm_live`): submits
    /// then raise `GatewayClosedError` (reason "GATEWAY_LENT") until it stops.
    pub(crate) gateway: SharedGateway,
    pub(crate) instruments: Arc<Instruments>,
}

impl PyGateway {
    /// Submits one command with the GIL released (the gateway may wait for room).
    fn send(&self, py: Python<'_>, id: InstrumentId, cmd: Command) -> Result<u64> {
        let result = py.detach(|| self.gateway.with(|g| g.submit(id, cmd)));
        Ok(result.map_err(SubmitError::from)??.seq)
    }
}

#[pymethods]
impl PyGateway {
    /// This gateway's number (the `gateway` field of its outputs).
    #[getter]
    fn id(&self) -> u16 {
        self.id
    }

    /// Submits a new order (decimal API of `Engine.submit`); returns its command number.
    #[pyo3(signature = (instrument, order_id, side, qty, price=None, *, account=0, order_type="limit", tif=None, post_only=false, display_qty=None, stp="none"))]
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &self,
        py: Python<'_>,
        instrument: &Bound<'_, PyAny>,
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
    ) -> Result<u64> {
        let id = self.instruments.resolve(instrument)?;
        let spec = &self.instruments.specs[id as usize];
        let order = new_order(spec, order_id, side, qty, price, account, order_type, tif, post_only, display_qty, stp)?;
        self.send(py, id, Command::New(order))
    }

    /// Submits a cancel; returns its command number.
    fn cancel(&self, py: Python<'_>, instrument: &Bound<'_, PyAny>, order_id: u64) -> Result<u64> {
        let id = self.instruments.resolve(instrument)?;
        self.send(py, id, Command::Cancel { order_id })
    }

    /// Submits an amend of price and/or remaining quantity (decimals); returns its number.
    /// With `seen_remaining`, an amend by total: `qty` is the open quantity wanted as the order
    /// was seen with `seen_remaining` open; fills not seen come off (`docs/matching.md`).
    #[pyo3(signature = (instrument, order_id, *, price=None, qty=None, seen_remaining=None))]
    fn amend(
        &self,
        py: Python<'_>,
        instrument: &Bound<'_, PyAny>,
        order_id: u64,
        price: Option<&Bound<'_, PyAny>>,
        qty: Option<&Bound<'_, PyAny>>,
        seen_remaining: Option<&Bound<'_, PyAny>>,
    ) -> Result<u64> {
        let id = self.instruments.resolve(instrument)?;
        let price = price.map(|p| self.instruments.price(id, "price", p)).transpose()?;
        let qty = qty.map(|q| self.instruments.qty(id, "qty", q)).transpose()?;
        let seen = seen_remaining.map(|q| self.instruments.qty(id, "seen_remaining", q)).transpose()?;
        self.send(py, id, records::amend(order_id, price, qty, seen)?)
    }

    /// Submits a mass cancel (`account` None = all, `side` None = both); returns its number.
    #[pyo3(signature = (instrument, *, account=None, side=None))]
    fn mass_cancel(
        &self,
        py: Python<'_>,
        instrument: &Bound<'_, PyAny>,
        account: Option<u32>,
        side: Option<&str>,
    ) -> Result<u64> {
        let id = self.instruments.resolve(instrument)?;
        let side = side.map(parse_side).transpose()?;
        self.send(py, id, Command::MassCancel { account, side })
    }

    /// Integer fast path: a new order in ticks and lots, with the codes of
    /// `Engine.submit_ticks`. Returns its command number. `client_order_id` (1 to 36 of
    /// letters, digits and `._:/-`) is journaled with the order (a tagged record).
    #[pyo3(signature = (instrument, order_id, side, price, qty, account=0, order_type=0, tif=0, stp=0, post_only=false, display_qty=0, client_order_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_ticks(
        &self,
        py: Python<'_>,
        instrument: InstrumentId,
        order_id: u64,
        side: u8,
        price: i64,
        qty: i64,
        account: u32,
        order_type: u8,
        tif: u8,
        stp: u8,
        post_only: bool,
        display_qty: i64,
        client_order_id: Option<&str>,
    ) -> Result<u64> {
        let id = self.instruments.check(instrument)?;
        let order =
            records::new_order(order_id, account, side, order_type, tif, stp, post_only, price, qty, display_qty)?;
        let Some(text) = client_order_id else { return self.send(py, id, Command::New(order)) };
        let tag = ClientOrderId::new(text).map_err(|e| Error::InvalidOrder(e.to_string()))?;
        let result = py.detach(|| self.gateway.with(|g| g.submit_tagged(id, Command::New(order), tag)));
        Ok(result.map_err(SubmitError::from)??.seq)
    }

    /// Integer fast path: cancel. Returns its command number.
    fn cancel_ticks(&self, py: Python<'_>, instrument: InstrumentId, order_id: u64) -> Result<u64> {
        let id = self.instruments.check(instrument)?;
        self.send(py, id, Command::Cancel { order_id })
    }

    /// Integer fast path: amend (None keeps the current value); by total with
    /// `seen_remaining` (lots). Returns its command number.
    #[pyo3(signature = (instrument, order_id, price=None, qty=None, seen_remaining=None))]
    fn amend_ticks(
        &self,
        py: Python<'_>,
        instrument: InstrumentId,
        order_id: u64,
        price: Option<i64>,
        qty: Option<i64>,
        seen_remaining: Option<i64>,
    ) -> Result<u64> {
        let id = self.instruments.check(instrument)?;
        self.send(py, id, records::amend(order_id, price, qty, seen_remaining)?)
    }

    /// Integer fast path: mass cancel (`side` 0 buy / 1 sell / None both). Returns its number.
    #[pyo3(signature = (instrument, account=None, side=None))]
    fn mass_cancel_ticks(
        &self,
        py: Python<'_>,
        instrument: InstrumentId,
        account: Option<u32>,
        side: Option<u8>,
    ) -> Result<u64> {
        let id = self.instruments.check(instrument)?;
        let side = side_code(side)?;
        self.send(py, id, Command::MassCancel { account, side })
    }

    /// Batch: submits 48-byte command records (`wintermute.batch.COMMAND_DTYPE` as bytes) for
    /// one instrument, GIL released. Every record is decoded first: an invalid one raises
    /// `InvalidOrderError` naming its index and nothing is submitted. Returns `(first_seq,
    /// accepted)`: the commands got numbers `first_seq .. first_seq + accepted`; with
    /// backpressure "reject" a full ring stops the batch early (`accepted` < len).
    fn submit_batch_raw(
        &self,
        py: Python<'_>,
        instrument: InstrumentId,
        commands: PyReadonlyArray1<'_, u8>,
    ) -> Result<(u64, usize)> {
        let id = self.instruments.check(instrument)?;
        let input = command_records(&commands)?;
        let submit = || self.gateway.with(|g| submit_records(g, id, input));
        let done = py.detach(submit).map_err(SubmitError::from)??;
        Ok((done.first_seq, done.accepted))
    }

    /// Commands this gateway accepted so far (waits, GIL released, for a submit in progress
    /// on another thread; raises reason "GATEWAY_LENT" while a live market maker has it).
    #[getter]
    fn submitted(&self, py: Python<'_>) -> Result<u64> {
        Ok(py.detach(|| self.gateway.with(|g| g.stats().submitted)).map_err(SubmitError::from)?)
    }

    /// True once the pipeline stopped (submits then raise, reason "GATEWAY_CLOSED"; raises
    /// reason "GATEWAY_LENT" while a live market maker has the gateway).
    #[getter]
    fn closed(&self, py: Python<'_>) -> Result<bool> {
        Ok(py.detach(|| self.gateway.with(|g| g.is_closed())).map_err(SubmitError::from)?)
    }
}

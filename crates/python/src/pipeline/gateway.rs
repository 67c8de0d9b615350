//! Gateways from Python: one per producer thread. Each call converts its arguments (the
//! decimal API of `Engine.submit`, or ticks and lots), releases the GIL and submits into the
//! gateway's ring; it returns the command's number on the gateway (`command_seq` of its
//! outputs). Book validation happens in the pipeline: a refused command comes back as an
//! output with outcome "refused", never as an exception here.

use std::sync::{Arc, Mutex, PoisonError};

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyString;
use wintermute_core::records::{self, COMMAND_SIZE};
use wintermute_core::{Command, InstrumentId, InstrumentSpec, Side};
use wintermute_engine::pipeline::{Gateway, SubmitError};

use crate::convert::{invalid, new_order, parse_side, price_ticks, qty_lots};
use crate::errors;

/// The instruments of a pipeline, by id, for conversions.
#[derive(Debug)]
pub(crate) struct Instruments {
    pub(crate) specs: Vec<InstrumentSpec>,
}

impl Instruments {
    pub(crate) fn resolve(&self, py: Python<'_>, instrument: &Bound<'_, PyAny>) -> PyResult<InstrumentId> {
        if let Ok(s) = instrument.cast::<PyString>() {
            let s = s.to_str()?;
            return self.specs.iter().position(|spec| spec.symbol == s).map(|i| i as InstrumentId).ok_or_else(|| {
                errors::error(
                    py,
                    "UnknownInstrumentError",
                    format!("unknown instrument symbol={s:?}"),
                    Some("UNKNOWN_INSTRUMENT"),
                )
            });
        }
        let id: InstrumentId = instrument
            .extract()
            .map_err(|_| errors::type_error("instrument: expected a symbol (str) or an instrument id (int)".into()))?;
        if (id as usize) >= self.specs.len() {
            return Err(errors::error(
                py,
                "UnknownInstrumentError",
                format!("unknown instrument id={id}"),
                Some("UNKNOWN_INSTRUMENT"),
            ));
        }
        Ok(id)
    }

    pub(crate) fn price(&self, py: Python<'_>, id: InstrumentId, field: &str, v: &Bound<'_, PyAny>) -> PyResult<i64> {
        price_ticks(py, &self.specs[id as usize], field, v)
    }

    fn qty(&self, py: Python<'_>, id: InstrumentId, field: &str, v: &Bound<'_, PyAny>) -> PyResult<i64> {
        qty_lots(py, &self.specs[id as usize], field, v)
    }
}

/// Maps a refused submit (the command was not taken).
pub(crate) fn submit_error(py: Python<'_>, e: &SubmitError, accepted: Option<usize>) -> PyErr {
    let (class, reason) = match e {
        SubmitError::Full { .. } => ("GatewayFullError", "GATEWAY_FULL"),
        SubmitError::Closed { .. } => ("GatewayClosedError", "GATEWAY_CLOSED"),
    };
    let message = match accepted {
        Some(n) => format!("{e} (after {n} commands of the batch were accepted)"),
        None => e.to_string(),
    };
    errors::error(py, class, message, Some(reason))
}

/// A producer handle into the pipeline. Thread-safe; give each producer thread its own.
#[pyclass(module = "wintermute._core", name = "PipelineGateway", frozen)]
pub struct PyGateway {
    pub(crate) id: u16,
    pub(crate) gateway: Mutex<Gateway>,
    pub(crate) instruments: Arc<Instruments>,
}

impl PyGateway {
    /// Submits one command with the GIL released (the gateway may wait for room).
    fn send(&self, py: Python<'_>, id: InstrumentId, cmd: Command) -> PyResult<u64> {
        let result = py.detach(|| self.gateway.lock().unwrap_or_else(PoisonError::into_inner).submit(id, cmd));
        result.map(|c| c.seq).map_err(|e| submit_error(py, &e, None))
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
    ) -> PyResult<u64> {
        let id = self.instruments.resolve(py, instrument)?;
        let spec = &self.instruments.specs[id as usize];
        let order =
            new_order(py, spec, order_id, side, qty, price, account, order_type, tif, post_only, display_qty, stp)?;
        self.send(py, id, Command::New(order))
    }

    /// Submits a cancel; returns its command number.
    fn cancel(&self, py: Python<'_>, instrument: &Bound<'_, PyAny>, order_id: u64) -> PyResult<u64> {
        let id = self.instruments.resolve(py, instrument)?;
        self.send(py, id, Command::Cancel { order_id })
    }

    /// Submits an amend of price and/or remaining quantity (decimals); returns its number.
    #[pyo3(signature = (instrument, order_id, *, price=None, qty=None))]
    fn amend(
        &self,
        py: Python<'_>,
        instrument: &Bound<'_, PyAny>,
        order_id: u64,
        price: Option<&Bound<'_, PyAny>>,
        qty: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let id = self.instruments.resolve(py, instrument)?;
        let price = price.map(|p| self.instruments.price(py, id, "price", p)).transpose()?;
        let qty = qty.map(|q| self.instruments.qty(py, id, "qty", q)).transpose()?;
        self.send(py, id, Command::Amend { order_id, price, qty })
    }

    /// Submits a mass cancel (`account` None = all, `side` None = both); returns its number.
    #[pyo3(signature = (instrument, *, account=None, side=None))]
    fn mass_cancel(
        &self,
        py: Python<'_>,
        instrument: &Bound<'_, PyAny>,
        account: Option<u32>,
        side: Option<&str>,
    ) -> PyResult<u64> {
        let id = self.instruments.resolve(py, instrument)?;
        let side = side.map(|s| parse_side(py, s)).transpose()?;
        self.send(py, id, Command::MassCancel { account, side })
    }

    /// Integer fast path: a new order in ticks and lots, with the codes of
    /// `Engine.submit_ticks`. Returns its command number.
    #[pyo3(signature = (instrument, order_id, side, price, qty, account=0, order_type=0, tif=0, stp=0, post_only=false, display_qty=0))]
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
    ) -> PyResult<u64> {
        let id = self.check(py, instrument)?;
        let order =
            records::new_order(order_id, account, side, order_type, tif, stp, post_only, price, qty, display_qty)
                .map_err(|e| errors::order_error(py, &e))?;
        self.send(py, id, Command::New(order))
    }

    /// Integer fast path: cancel. Returns its command number.
    fn cancel_ticks(&self, py: Python<'_>, instrument: InstrumentId, order_id: u64) -> PyResult<u64> {
        let id = self.check(py, instrument)?;
        self.send(py, id, Command::Cancel { order_id })
    }

    /// Integer fast path: amend (None keeps the current value). Returns its command number.
    #[pyo3(signature = (instrument, order_id, price=None, qty=None))]
    fn amend_ticks(
        &self,
        py: Python<'_>,
        instrument: InstrumentId,
        order_id: u64,
        price: Option<i64>,
        qty: Option<i64>,
    ) -> PyResult<u64> {
        let id = self.check(py, instrument)?;
        self.send(py, id, Command::Amend { order_id, price, qty })
    }

    /// Integer fast path: mass cancel (`side` 0 buy / 1 sell / None both). Returns its number.
    #[pyo3(signature = (instrument, account=None, side=None))]
    fn mass_cancel_ticks(
        &self,
        py: Python<'_>,
        instrument: InstrumentId,
        account: Option<u32>,
        side: Option<u8>,
    ) -> PyResult<u64> {
        let id = self.check(py, instrument)?;
        let side = match side {
            None => None,
            Some(0) => Some(Side::Buy),
            Some(1) => Some(Side::Sell),
            Some(s) => return Err(invalid(py, format!("side={s}: expected 0 (buy), 1 (sell) or None"))),
        };
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
    ) -> PyResult<(u64, usize)> {
        let id = self.check(py, instrument)?;
        let input =
            commands.as_slice().map_err(|_| errors::type_error("commands must be a contiguous array".into()))?;
        if input.len() % COMMAND_SIZE != 0 {
            return Err(errors::type_error(format!(
                "commands: {} bytes is not a whole number of {COMMAND_SIZE}-byte records",
                input.len()
            )));
        }
        let record = |c: &[u8]| records::decode_command(c.try_into().expect("chunks_exact yields whole records"));
        for (i, chunk) in input.chunks_exact(COMMAND_SIZE).enumerate() {
            if let Err(e) = record(chunk) {
                let message = format!("commands[{i}]: {e}; nothing was submitted");
                return Err(errors::error(py, "InvalidOrderError", message, Some(e.reason().code())));
            }
        }
        let outcome = py.detach(|| {
            let mut gateway = self.gateway.lock().unwrap_or_else(PoisonError::into_inner);
            // Numbers are consecutive: the gateway is ours while the lock is held.
            let first = gateway.stats().submitted + 1;
            for (i, chunk) in input.chunks_exact(COMMAND_SIZE).enumerate() {
                let cmd = record(chunk).expect("validated above");
                match gateway.submit(id, cmd) {
                    Ok(_) => {}
                    Err(SubmitError::Full { .. }) => return Ok((first, i)),
                    Err(e) => return Err((e, i)),
                }
            }
            Ok((first, input.len() / COMMAND_SIZE))
        });
        outcome.map_err(|(e, n)| submit_error(py, &e, Some(n)))
    }

    /// Commands this gateway accepted so far (waits, GIL released, for a submit in progress
    /// on another thread).
    #[getter]
    fn submitted(&self, py: Python<'_>) -> u64 {
        py.detach(|| self.gateway.lock().unwrap_or_else(PoisonError::into_inner).stats().submitted)
    }

    /// True once the pipeline stopped (submits then raise, reason "GATEWAY_CLOSED").
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.gateway.lock().unwrap_or_else(PoisonError::into_inner).is_closed())
    }
}

impl PyGateway {
    fn check(&self, py: Python<'_>, id: InstrumentId) -> PyResult<InstrumentId> {
        if (id as usize) >= self.instruments.specs.len() {
            return Err(errors::error(
                py,
                "UnknownInstrumentError",
                format!("unknown instrument id={id}"),
                Some("UNKNOWN_INSTRUMENT"),
            ));
        }
        Ok(id)
    }
}

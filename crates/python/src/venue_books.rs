//! The service venue's book mirrors (`wintermute_engine::venue_books`) from Python: the venue's
//! drain thread hands each drained batch to `VenueBooks.apply` and gets back the records its
//! Python side still needs; queries read the mirrors' levels and queue positions.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use wintermute_engine::venue_books::{BookEvent, BookMirror, BookUpdate, VenueBooks};

use crate::errors::{Error, Result};
use crate::venue_ledger::state_error;

/// `(instrument, first_seq, last_seq, bids, asks)`: one command's level changes.
type Update = (u32, u64, u64, Vec<(i64, i64)>, Vec<(i64, i64)>);

/// Every instrument's book mirror (levels and FIFO queues), fed with drained output batches.
#[pyclass(module = "wintermute._core", name = "VenueBooks", frozen)]
pub struct PyVenueBooks {
    /// Shared with the Rust order entry (`OrderEntry`).
    pub(crate) inner: Arc<Mutex<VenueBooks>>,
}

impl PyVenueBooks {
    fn lock(&self) -> MutexGuard<'_, VenueBooks> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn book(books: &VenueBooks, instrument: usize) -> Result<&BookMirror> {
    books.book(instrument).ok_or_else(|| Error::other("VENUE_BOOKS", format!("no instrument={instrument}")))
}

fn update(u: BookUpdate) -> Update {
    (u.instrument, u.first_seq, u.last_seq, u.bids, u.asks)
}

#[pymethods]
impl PyVenueBooks {
    #[new]
    fn new(instruments: usize) -> Self {
        Self { inner: Arc::new(Mutex::new(VenueBooks::new(instruments))) }
    }

    /// Applies a batch of raw 120-byte output records; returns the records the venue's Python
    /// side needs (every one but the book deltas; see the engine's `venue_books`).
    fn apply<'py>(&self, py: Python<'py>, batch: PyReadonlyArray1<'py, u8>) -> Result<Bound<'py, PyArray1<u8>>> {
        let bytes = batch.as_slice().map_err(|e| Error::type_error(e.to_string()))?;
        let mut kept = Vec::new();
        py.detach(|| self.lock().apply(bytes, &mut kept))?;
        Ok(PyArray1::from_vec(py, kept))
    }

    /// The mirrors as a state document (JSON text; see the engine's `venue_state`).
    fn to_state(&self, py: Python<'_>) -> String {
        py.detach(|| self.lock().to_state())
    }

    /// Replaces the mirrors with a state document's (`VENUE_STATE` if it does not load; the
    /// mirrors are then unchanged).
    fn load_state(&self, py: Python<'_>, state: &str) -> Result<()> {
        py.detach(|| self.lock().load_state(state)).map_err(state_error)
    }

    /// The mirrors as a binary state document (what the venue saves; see the engine's
    /// `venue_state`).
    fn to_state_bin<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &py.detach(|| self.lock().to_state_bin()))
    }

    /// `load_state` for a binary state document from `to_state_bin`.
    fn load_state_bin(&self, py: Python<'_>, state: &[u8]) -> Result<()> {
        py.detach(|| self.lock().load_state_bin(state)).map_err(state_error)
    }

    /// Whether `instrument`'s book updates are collected (someone watches its topic).
    fn watch(&self, instrument: usize, watched: bool) {
        self.lock().watch(instrument, watched);
    }

    /// One event of a command outside a batch (a restart's replay of the journal).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (instrument, kind, order_id, other_id, side, price, qty, remaining, other, flags))]
    fn event(
        &self,
        instrument: usize,
        kind: u8,
        order_id: u64,
        other_id: u64,
        side: u8,
        price: i64,
        qty: i64,
        remaining: i64,
        other: i64,
        flags: u8,
    ) {
        let e = BookEvent { kind, order_id, other_id, side, price, qty, remaining, other, flags };
        self.lock().event(instrument, &e);
    }

    /// Ends a command outside a batch.
    fn command_done(&self, instrument: usize) {
        self.lock().command_done(instrument);
    }

    /// The book updates collected since the last call: `(instrument, first_seq, last_seq,
    /// bids, asks)`, levels `(price, qty)` best first, `qty == 0` gone.
    fn take_updates(&self) -> Vec<Update> {
        self.lock().take_updates().into_iter().map(update).collect()
    }

    /// Book sequence of `instrument`: +1 for every level change.
    fn seq(&self, instrument: usize) -> Result<u64> {
        Ok(book(&self.lock(), instrument)?.seq())
    }

    /// Up to `limit` levels `(price, qty)` of a side (0 buy, 1 sell), best first.
    fn depth(&self, instrument: usize, side: u8, limit: usize) -> Result<Vec<(i64, i64)>> {
        Ok(book(&self.lock(), instrument)?.depth(side, limit))
    }

    /// The best price of a side, or None.
    fn best(&self, instrument: usize, side: u8) -> Result<Option<i64>> {
        Ok(book(&self.lock(), instrument)?.best(side))
    }

    /// The lots an order has resting, or None if it does not rest.
    fn resting(&self, instrument: usize, order_id: u64) -> Result<Option<i64>> {
        Ok(book(&self.lock(), instrument)?.resting(order_id))
    }

    /// The lots resting ahead of an order at its price, or None if it does not rest.
    fn queue_ahead(&self, instrument: usize, order_id: u64) -> Result<Option<i64>> {
        Ok(book(&self.lock(), instrument)?.queue_ahead(order_id))
    }

    /// The FIFO's total per level of a side, `(price, lots)` by price.
    fn queue_totals(&self, instrument: usize, side: u8) -> Result<Vec<(i64, i64)>> {
        Ok(book(&self.lock(), instrument)?.queue_totals(side))
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyVenueBooks>()
}

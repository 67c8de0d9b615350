//! The venue's order entry served from Rust (`wintermute_front`): an HTTP listener for
//! `POST /api/orders` and `DELETE /api/orders/{id}` that shares the venue's order table,
//! ledger and book mirrors and sends through a gateway of its own. Started and stopped by
//! `wintermute.service.order_entry`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use wintermute_front::{EntryCounters, Front, InstrumentText};

use crate::errors::{Error, Result};
use crate::pipeline::PyGateway;
use crate::venue_books::PyVenueBooks;
use crate::venue_orders::PyVenueOrders;

/// The running listener.
#[pyclass(module = "wintermute._core", name = "OrderEntry", frozen)]
pub struct PyOrderEntry {
    front: Mutex<Option<Front>>,
    address: (String, u16),
    counters: Arc<EntryCounters>,
}

#[pymethods]
impl PyOrderEntry {
    /// Starts listening on `bind` (`host:port`); `instruments`: `(symbol, tick, lot, min_qty,
    /// max_qty, min_price, max_price)` in the engine's id order, as decimal text
    /// (`str(Decimal)`); `keys`: `(key, account)`; `statuses`: venue error code -> HTTP status.
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (orders, books, gateway, instruments, keys, bind, *, rate_limit_per_s, rate_limit_burst, max_body_bytes, ack_timeout_s, statuses, threads=2))]
    fn new(
        py: Python<'_>,
        orders: &Bound<'_, PyVenueOrders>,
        books: &Bound<'_, PyVenueBooks>,
        gateway: &Bound<'_, PyGateway>,
        instruments: Vec<InstrumentText>,
        keys: Vec<(String, u32)>,
        bind: &str,
        rate_limit_per_s: f64,
        rate_limit_burst: u32,
        max_body_bytes: usize,
        ack_timeout_s: f64,
        statuses: HashMap<String, u16>,
        threads: usize,
    ) -> Result<Self> {
        let ledger = orders.get().ledger.as_ref().ok_or_else(|| Error::type_error("the order table has no ledger"))?;
        let parts = (Arc::clone(&orders.get().inner), Arc::clone(&ledger.get().inner), Arc::clone(&books.get().inner));
        let parts = (parts.0, parts.1, parts.2, gateway.get().gateway.clone());
        let limits = (rate_limit_per_s, rate_limit_burst, max_body_bytes, ack_timeout_s);
        let start = || Front::start_venue(parts, &instruments, keys, bind, limits, statuses, threads);
        let front = py.detach(start).map_err(|e| Error::other("CONFIG", e))?;
        let (ip, port) = (front.local_addr().ip().to_string(), front.local_addr().port());
        let counters = front.counters();
        Ok(Self { front: Mutex::new(Some(front)), address: (ip, port), counters })
    }

    /// `(host, port)` it listens on.
    #[getter]
    fn address(&self) -> (String, u16) {
        self.address.clone()
    }

    /// Commands it sent and the engine refused, named as `Venue.counters` names the venue's
    /// own (`command_place`, `command_cancel`, `rejected_<CODE>`; those not zero).
    fn counters(&self) -> HashMap<String, u64> {
        self.counters.snapshot().into_iter().collect()
    }

    /// Stops it (idempotent).
    fn stop(&self, py: Python<'_>) {
        let front = self.front.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        py.detach(|| {
            if let Some(front) = front {
                front.stop();
            }
        });
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyOrderEntry>()
}

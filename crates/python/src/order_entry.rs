//! The venue's order entry served from Rust (`wintermute_front`): an HTTP listener for
//! `POST /api/orders` and `DELETE /api/orders/{id}` that shares the venue's order table,
//! ledger and book mirrors and sends through a gateway of its own. Started and stopped by
//! `wintermute.service.order_entry`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use wintermute_engine::venue_entry::{EntryInstrument, VenueEntry};
use wintermute_front::{ApiKey, Front, FrontConfig};

use crate::errors::{Error, Result};
use crate::pipeline::PyGateway;
use crate::venue_books::PyVenueBooks;
use crate::venue_orders::PyVenueOrders;

/// The running listener.
#[pyclass(module = "wintermute._core", name = "OrderEntry", frozen)]
pub struct PyOrderEntry {
    front: Mutex<Option<Front>>,
    address: (String, u16),
}

#[pymethods]
impl PyOrderEntry {
    /// Starts listening on `bind` (`host:port`); `instruments`: `(symbol, tick, lot, min_qty,
    /// max_qty, min_price, max_price)` in the engine's id order, as plain decimal text; `keys`:
    /// `(key, account)`; `statuses`: venue error code -> HTTP status.
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (orders, books, gateway, instruments, keys, bind, *, rate_limit_per_s, rate_limit_burst, max_body_bytes, ack_timeout_s, statuses, threads=2))]
    fn new(
        py: Python<'_>,
        orders: &Bound<'_, PyVenueOrders>,
        books: &Bound<'_, PyVenueBooks>,
        gateway: &Bound<'_, PyGateway>,
        instruments: Vec<(String, String, String, String, String, String, String)>,
        keys: Vec<(String, u32)>,
        bind: &str,
        rate_limit_per_s: f64,
        rate_limit_burst: u32,
        max_body_bytes: usize,
        ack_timeout_s: f64,
        statuses: HashMap<String, u16>,
        threads: usize,
    ) -> Result<Self> {
        let orders = orders.get();
        let ledger = orders.ledger.as_ref().ok_or_else(|| Error::type_error("the order table has no ledger"))?;
        let instruments = (instruments.iter())
            .map(|(s, t, l, q0, q1, p0, p1)| EntryInstrument::new(s, [t, l, q0, q1, p0, p1]))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::other("CONFIG", e))?;
        let entry = VenueEntry::new(
            Arc::clone(&orders.inner),
            Arc::clone(&ledger.get().inner),
            Arc::clone(&books.get().inner),
            gateway.get().gateway.clone(),
            instruments,
        );
        let bind = bind.parse().map_err(|e| Error::other("CONFIG", format!("order_entry_bind={bind:?}: {e}")))?;
        let config = FrontConfig {
            keys: keys.into_iter().map(|(key, account)| ApiKey { key, account }).collect(),
            rate_limit_per_s,
            rate_limit_burst,
            max_body_bytes,
            ack_timeout: Duration::from_secs_f64(ack_timeout_s.max(0.0)),
            statuses,
            threads,
            ..FrontConfig::new(bind)
        };
        let front = py.detach(|| Front::start(entry, config)).map_err(|e| Error::other("CONFIG", e))?;
        let addr = front.local_addr();
        Ok(Self { front: Mutex::new(Some(front)), address: (addr.ip().to_string(), addr.port()) })
    }

    /// `(host, port)` it listens on.
    #[getter]
    fn address(&self) -> (String, u16) {
        self.address.clone()
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

//! `wintermute._core.RouteSimulators`: a live config's hedge routes served by their venue
//! simulators on 127.0.0.1, plain or behind TLS (`wintermute_router::sim_routes`), for tests
//! of `wintermute mm --live` and `wintermute route kill` in another process.

use std::path::PathBuf;

use pyo3::prelude::*;
use wintermute_mm::live_config::LiveSetup;
use wintermute_router::sim_routes::RouteSimulators;

use crate::errors::{Error, Result};

/// The simulators of a config's routes (see `wintermute_router::sim_routes`).
#[pyclass(module = "wintermute._core", name = "RouteSimulators", frozen)]
struct PyRouteSimulators {
    inner: RouteSimulators,
}

#[pymethods]
impl PyRouteSimulators {
    /// Starts a simulator per `[hedge] routes` venue of the JSON config (its instrument's tick
    /// and lot), behind TLS with this PEM certificate chain and key when both are given.
    #[new]
    #[pyo3(signature = (config_json, tick_size, lot_size, *, tls_cert_chain = None, tls_key = None))]
    fn new(
        py: Python<'_>,
        config_json: &str,
        tick_size: &str,
        lot_size: &str,
        tls_cert_chain: Option<&str>,
        tls_key: Option<&str>,
    ) -> Result<Self> {
        let setup = LiveSetup::from_json(config_json, tick_size, lot_size)?;
        let inner = py.detach(|| RouteSimulators::start(&setup, tls_cert_chain.zip(tls_key)))?;
        Ok(PyRouteSimulators { inner })
    }

    /// (venue, url) per route.
    fn urls(&self) -> Vec<(&'static str, String)> {
        self.inner.urls()
    }

    /// (venue, WebSocket url) per route that has one (Kraken, Coinbase).
    fn ws_urls(&self) -> Vec<(&'static str, String)> {
        self.inner.ws_urls()
    }

    /// Writes each route's key file into `dir`: (venue, path).
    fn write_key_files(&self, dir: PathBuf) -> Result<Vec<(&'static str, PathBuf)>> {
        self.inner.write_key_files(&dir).map_err(|e| Error::other("ROUTE_SIM", e))
    }

    /// The open orders on `venue`'s simulator (None: no such route).
    fn open_orders(&self, venue: &str) -> Option<usize> {
        self.inner.open_orders(venue)
    }

    /// Places `n` resting orders on `venue` with the route's key (GIL released).
    fn place_resting(&self, py: Python<'_>, venue: &str, n: usize) -> Result<usize> {
        py.detach(|| self.inner.place_resting(venue, n)).map_err(|e| Error::other("ROUTE_SIM", e))
    }

    /// Stops the simulators (GIL released). Idempotent.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.inner.stop());
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRouteSimulators>()
}

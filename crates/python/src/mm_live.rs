//! `wintermute._core.MmLive`: the live market maker of `wintermute_mm::live_runner` on a
//! running pipeline, fed by a running `Market`'s books on its own Rust thread, its hedges sent
//! to the `[hedge]` routes' local simulators (`wintermute_router::paper`; the user-facing
//! wrapper is `wintermute.mm.LiveMarketMaker`). Its state crosses as JSON.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use wintermute_engine::pipeline::{GatewayLease, SubmitError};
use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
use wintermute_mm::live_config::LiveSetup;
use wintermute_mm::live_runner::{FeedBooks, RunnerOptions};
use wintermute_router::paper::PaperMarketMaker;

use crate::errors::Result;
use crate::market::PyMarket;
use crate::pipeline::{PyGateway, PySubscription};

/// A live market maker's thread (see `wintermute.mm.LiveMarketMaker`).
#[pyclass(module = "wintermute._core", name = "MmLive", frozen)]
struct PyMmLive {
    inner: PaperMarketMaker,
    books: FeedBooks,
}

#[pymethods]
impl PyMmLive {
    /// Starts quoting `instrument` (its tick and lot as decimal text) as `account` through
    /// `gateway`, reading `subscription` (with book deltas; nobody else may use either), off
    /// `market`'s books, as the JSON config says; hedges go to the simulators of the config's
    /// `[hedge]` routes, started here on 127.0.0.1, or with `live` to the venues themselves.
    #[new]
    #[pyo3(signature = (config_json, gateway, subscription, market, *, account, instrument, tick_size, lot_size,
                        first_client_id = 1 << 40, idle_sleep_us = 200, live = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        config_json: &str,
        gateway: &Bound<'_, PyGateway>,
        subscription: &Bound<'_, PySubscription>,
        market: &Bound<'_, PyMarket>,
        account: u32,
        instrument: &Bound<'_, PyAny>,
        tick_size: &str,
        lot_size: &str,
        first_client_id: u64,
        idle_sleep_us: u64,
        live: bool,
    ) -> Result<Self> {
        let setup = LiveSetup::from_json(config_json, tick_size, lot_size)?;
        let g = gateway.get();
        let id = g.instruments.resolve(instrument)?;
        let cfg = EngineVenueConfig::new(account, id, setup.our_fees);
        let lease = GatewayLease::take(&g.gateway).map_err(SubmitError::from)?;
        let venue = EngineVenue::shared(cfg, lease, Arc::clone(&subscription.get().state));
        let books = FeedBooks::new(Arc::clone(&market.get().inner));
        let idle_sleep = Duration::from_micros(idle_sleep_us);
        let options = RunnerOptions { first_client_id, idle_sleep, ..RunnerOptions::default() };
        let inner = py.detach(|| wintermute_router::live::start_hedged(setup, venue, books.clone(), options, live))?;
        Ok(PyMmLive { inner, books })
    }

    /// The latest state as JSON (see `wintermute_mm::live_runner::LiveSnapshot`).
    fn snapshot_json(&self) -> String {
        self.inner.snapshot().to_json()
    }

    /// The hedge routes' simulators: (venue, "127.0.0.1:port").
    fn paper_venues(&self) -> Vec<(&'static str, String)> {
        self.inner.venues().into_iter().map(|(name, addr)| (name, addr.to_string())).collect()
    }

    /// The operator's kill switch.
    fn set_kill_switch(&self, on: bool) {
        self.inner.runner().set_kill_switch(on);
    }

    /// Reads `market`'s books from now on.
    fn replace_market(&self, market: &Bound<'_, PyMarket>) {
        self.books.replace(Arc::clone(&market.get().inner));
    }

    /// Whether the thread runs.
    #[getter]
    fn running(&self) -> bool {
        self.inner.runner().is_running()
    }

    /// Pulls the quotes, ends the thread, then stops the simulators (GIL released). Idempotent.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.inner.stop());
    }
}

/// Checks a live config for an instrument of `tick_size` and `lot_size` without starting
/// anything, with `live` its routes' URLs and keys too (raises `ConfigError` naming the key).
#[pyfunction]
#[pyo3(signature = (config_json, tick_size, lot_size, live = false))]
fn check_live_config(config_json: &str, tick_size: &str, lot_size: &str, live: bool) -> Result<()> {
    let setup = LiveSetup::from_json(config_json, tick_size, lot_size)?;
    Ok(wintermute_router::live::check_routes(&setup, live)?)
}

/// The kill switch on every hedge route's venue (`live`: the venues; else each route's `url`):
/// (venue, symbol, endpoint, canceled or None, error or None) per venue (GIL released).
#[pyfunction]
#[pyo3(signature = (config_json, tick_size, lot_size, live = false))]
fn route_kill(py: Python<'_>, config_json: &str, tick_size: &str, lot_size: &str, live: bool) -> Result<Vec<KillRow>> {
    let setup = LiveSetup::from_json(config_json, tick_size, lot_size)?;
    let outcomes = py.detach(|| wintermute_router::live::kill_routes(&setup, live))?;
    Ok(outcomes
        .into_iter()
        .map(|k| (k.venue, k.symbol, k.endpoint, k.result.as_ref().ok().copied(), k.result.err()))
        .collect())
}

type KillRow = (&'static str, String, String, Option<usize>, Option<String>);

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMmLive>()?;
    m.add_function(wrap_pyfunction!(check_live_config, m)?)?;
    m.add_function(wrap_pyfunction!(route_kill, m)?)
}

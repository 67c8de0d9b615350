//! `wintermute._core.MmLive`: the live market maker of `wintermute_mm::live_runner` on a
//! running pipeline, fed by a running `Market`'s books on its own Rust thread, its hedges sent
//! to the `[hedge]` routes' local simulators (`wintermute_router::paper`; the user-facing
//! wrapper is `wintermute.mm.LiveMarketMaker`). Its state crosses as JSON.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use wintermute_engine::pipeline::{GatewayLease, SubmitError};
use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::live_config::LiveSetup;
use wintermute_mm::live_runner::{BookSource, FeedBooks, RunnerOptions};
use wintermute_mm::live_strategy::LiveStrategyConfig;
use wintermute_mm::stepped_books::SteppedBooks;
use wintermute_router::paper::{LiveStrategy, PaperMarketMaker};

use crate::errors::{Error, Result};
use crate::market::PyMarket;
use crate::mm_strategy::{LivePythonSink, PythonSink};
use crate::pipeline::{PyGateway, PySubscription};

/// A live market maker's thread (see `wintermute.mm.LiveMarketMaker`).
#[pyclass(module = "wintermute._core", name = "MmLive", frozen)]
struct PyMmLive {
    inner: PaperMarketMaker,
    books: Option<FeedBooks>,
}

fn pair(side: &Option<(String, String)>) -> Option<(&str, &str)> {
    side.as_ref().map(|(p, q)| (p.as_str(), q.as_str()))
}

/// Reference books set by hand (`wintermute_mm::stepped_books`), for a stepped market.
#[pyclass(module = "wintermute._core", name = "MmSteppedBooks", frozen)]
struct PySteppedBooks(SteppedBooks);

#[pymethods]
impl PySteppedBooks {
    /// `streams` books (the config's pricing venues, in order), none seen yet.
    #[new]
    fn new(streams: usize) -> Self {
        PySteppedBooks(SteppedBooks::new(streams))
    }

    /// Sets book `i` live with its best bid and ask, (price, quantity) as decimal text.
    #[pyo3(signature = (i, bid, ask))]
    fn set_live(&self, i: usize, bid: Option<(String, String)>, ask: Option<(String, String)>) -> Result<()> {
        self.0.set_live(i, pair(&bid), pair(&ask)).map_err(|e| Error::other("INVALID_DECIMAL", e))
    }

    /// Book `i` saw a sequence gap and resyncs (not live until the next `set_live`).
    fn resync(&self, i: usize) {
        self.0.resync(i);
    }
}

/// Our venue as the market maker trades on it: `gateway` leased, `subscription` shared.
fn our_venue(
    gateway: &Bound<'_, PyGateway>,
    subscription: &Bound<'_, PySubscription>,
    account: u32,
    instrument: &Bound<'_, PyAny>,
    fees: FeeSchedule,
) -> Result<EngineVenue> {
    let g = gateway.get();
    let cfg = EngineVenueConfig::new(account, g.instruments.resolve(instrument)?, fees);
    let lease = GatewayLease::take(&g.gateway).map_err(SubmitError::from)?;
    Ok(EngineVenue::shared(cfg, lease, Arc::clone(&subscription.get().state)))
}

/// Where the runner reads the reference books: the stepped `books` if given, else `market`.
fn source_of(market: Option<&FeedBooks>, books: Option<&Bound<'_, PySteppedBooks>>) -> Result<Box<dyn BookSource>> {
    match (books, market) {
        (Some(b), _) => Ok(Box::new(b.get().0.clone())),
        (None, Some(m)) => Ok(Box::new(m.clone())),
        (None, None) => Err(Error::type_error("MmLive: give a market or stepped books")),
    }
}

/// A Python strategy object for the runner: its own thread, the GIL once per batch.
fn python_strategy(
    strategy: Py<PyAny>,
    name: String,
    link: LiveStrategyConfig,
    idle: Duration,
) -> LiveStrategy<LivePythonSink> {
    LiveStrategy { name, sink: LivePythonSink(PythonSink::new(strategy)), link, idle, host: python_host }
}

/// The strategy thread's life with one interpreter thread state, detached but between batches
/// (each batch then only takes the GIL, not a fresh thread state).
fn python_host(run: &mut (dyn FnMut() + Send)) {
    Python::attach(|py| py.detach(run));
}

#[pymethods]
impl PyMmLive {
    /// Starts quoting `instrument` (its tick and lot as decimal text) as `account` through
    /// `gateway`, reading `subscription` (with book deltas; nobody else may use either), off
    /// `market`'s books (or the stepped `books`), as the JSON config says; hedges go to the
    /// simulators of the config's `[hedge]` routes, started here on 127.0.0.1, or with `live` to
    /// the venues themselves. With `strategy` (a `wintermute.mm_strategy.Strategy`), it decides
    /// the quotes on a thread of its own; `unanswered`: its cancels and amends awaiting answers at most.
    #[new]
    #[pyo3(signature = (config_json, gateway, subscription, market, *, account, instrument, tick_size, lot_size,
                        first_client_id = 1 << 40, idle_sleep_us = 200, books = None, strategy = None,
                        strategy_name = String::new(), max_batch = 4096, queue = 8192, unanswered = 1024,
                        live = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        config_json: &str,
        gateway: &Bound<'_, PyGateway>,
        subscription: &Bound<'_, PySubscription>,
        market: Option<&Bound<'_, PyMarket>>,
        account: u32,
        instrument: &Bound<'_, PyAny>,
        tick_size: &str,
        lot_size: &str,
        first_client_id: u64,
        idle_sleep_us: u64,
        books: Option<&Bound<'_, PySteppedBooks>>,
        strategy: Option<Py<PyAny>>,
        strategy_name: String,
        max_batch: usize,
        queue: usize,
        unanswered: usize,
        live: bool,
    ) -> Result<Self> {
        let setup = LiveSetup::from_json(config_json, tick_size, lot_size)?;
        let venue = our_venue(gateway, subscription, account, instrument, setup.our_fees)?;
        let feed = market.map(|m| FeedBooks::new(Arc::clone(&m.get().inner)));
        let source = source_of(feed.as_ref(), books)?;
        let idle_sleep = Duration::from_micros(idle_sleep_us);
        let options = RunnerOptions { first_client_id, idle_sleep, ..RunnerOptions::default() };
        let link = LiveStrategyConfig { max_batch, queue, unanswered, ..LiveStrategyConfig::default() };
        let strategy = strategy.map(|s| python_strategy(s, strategy_name, link, idle_sleep));
        let inner = py.detach(|| {
            wintermute_router::live::start_hedged_with(setup, venue, feed.clone(), source, options, strategy, live)
        })?;
        Ok(PyMmLive { inner, books: feed })
    }

    /// The latest state as JSON (see `wintermute_mm::live_runner::LiveSnapshot`).
    fn snapshot_json(&self) -> String {
        self.inner.snapshot().to_json()
    }

    /// The hedge routes' simulators: (venue, "127.0.0.1:port").
    fn paper_venues(&self) -> Vec<(&'static str, String)> {
        self.inner.venues().into_iter().map(|(name, addr)| (name, addr.to_string())).collect()
    }

    /// The operator's kill switch (quoting and hedging held while on).
    fn set_kill_switch(&self, on: bool) {
        self.inner.runner().set_kill_switch(on);
    }

    /// Our venue's kill switch (global or the market maker's account), as the service reports it.
    fn set_venue_kill_switch(&self, on: bool) {
        self.inner.runner().set_venue_kill_switch(on);
    }

    /// Reads `market`'s books from now on (not with stepped books).
    fn replace_market(&self, market: &Bound<'_, PyMarket>) {
        if let Some(books) = &self.books {
            books.replace(Arc::clone(&market.get().inner));
        }
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
    m.add_class::<PySteppedBooks>()?;
    m.add_function(wrap_pyfunction!(check_live_config, m)?)?;
    m.add_function(wrap_pyfunction!(route_kill, m)?)
}

//! Market data from Python: `feeds_verify` (replay a recording offline), `feeds_serve` (a local
//! replay server speaking each exchange's protocol), `feeds_watch` (the connectors, keeping
//! books in sync, with a live callback) and `feeds_synth` (a seeded synthetic market). Options
//! arrive as JSON documents read by `wintermute_feeds::options`, which checks them and
//! fills the defaults; results go back as JSON. Network work runs with the GIL released.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use serde::Serialize;
use wintermute_feeds::net::blocking::{recorded_subscription, replay_serve_blocking, watch_blocking_with};
use wintermute_feeds::options::{self, ServeOptions, ServeSummary, SyntheticOptions, WatchOptions};
use wintermute_feeds::{verify_path, Venue};

use crate::errors::{Error, Result};

pub(crate) fn venue(name: &str) -> Result<Venue> {
    Ok(options::venue_named(name)?)
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::type_error(e.to_string()))
}

/// A Python callable that Rust calls back while the GIL is released: the first exception it
/// raises is kept (later calls are skipped) and raised once the Rust call has returned.
struct Callback {
    callable: Option<Py<PyAny>>,
    error: Option<PyErr>,
}

impl Callback {
    fn new(callable: Option<Py<PyAny>>) -> Self {
        Callback { callable, error: None }
    }

    fn call(&mut self, f: impl FnOnce(Python<'_>, &Py<PyAny>) -> PyResult<Py<PyAny>>) {
        if let (Some(callable), None) = (&self.callable, &self.error) {
            self.error = Python::attach(|py| f(py, callable)).err();
        }
    }

    fn raise(self) -> PyResult<()> {
        self.error.map_or(Ok(()), Err)
    }
}

/// Replays a recording (cryptofeed raw text, its JSON-lines variant, or Wintermute's own format)
/// and returns the per-stream report as JSON: `{"streams": [...], "errors": n}`.
#[pyfunction]
fn feeds_verify(py: Python<'_>, path: &str) -> Result<String> {
    let report = py.detach(|| verify_path(Path::new(path)))?;
    Ok(report.to_json())
}

/// The venue and symbols a recording subscribed to.
#[pyfunction]
fn feeds_recorded_subscription(path: &str) -> Result<(String, Vec<String>)> {
    let (v, symbols) = recorded_subscription(Path::new(path))?;
    Ok((v.name().to_owned(), symbols))
}

/// Serves a recording over WebSocket (and Binance's REST snapshot over HTTP) on 127.0.0.1
/// until the options' `seconds` pass or, with `exit_when_drained`, every frame was sent and
/// clients left. `on_ready(ws_url, rest_url)` is called once listening. `options`: a JSON
/// document of `wintermute_feeds::options::ServeOptions`. Returns the server's counters
/// (`ServeSummary`) as JSON.
#[pyfunction]
fn feeds_serve(py: Python<'_>, path: &str, on_ready: Py<PyAny>, options: &str) -> Result<String> {
    let (options, limits) = ServeOptions::from_json(options)?.resolve()?;
    let mut ready = Callback::new(Some(on_ready));
    let stats = py.detach(|| {
        replay_serve_blocking(Path::new(path), options, limits, |ws, rest| ready.call(|py, f| f.call1(py, (ws, rest))))
    });
    ready.raise()?;
    to_json(&ServeSummary::from(&stats?))
}

/// Runs the connector of `options` (a JSON document of
/// `wintermute_feeds::options::WatchOptions`: venue, symbols, endpoints, duration, ...),
/// calling `on_tick(document)` about every `tick` seconds with
/// `{"report": ..., "counters": ...}`; returns the final report as JSON (streams, counters).
#[pyfunction]
#[pyo3(signature = (options, on_tick=None))]
fn feeds_watch(py: Python<'_>, options: &str, on_tick: Option<Py<PyAny>>) -> Result<String> {
    let (config, limits, tick) = WatchOptions::from_json(options)?.resolve()?;
    let mut on_tick = Callback::new(on_tick);
    let report = py.detach(|| {
        watch_blocking_with(&config, limits, tick, |report, counters| {
            on_tick.call(|py, f| f.call1(py, (options::tick_json(report, counters),)));
        })
    });
    on_tick.raise()?;
    Ok(report?.to_json())
}

/// Generates a seeded synthetic market (`options`: a JSON document of
/// `wintermute_feeds::options::SyntheticOptions`) and writes it to `path` in the
/// Wintermute recording format; returns its summary (`SyntheticSummary`) as JSON.
#[pyfunction]
fn feeds_synth(py: Python<'_>, options: &str, path: PathBuf) -> Result<String> {
    let config = SyntheticOptions::from_json(options)?.config()?;
    to_json(&py.detach(|| options::write_synthetic(&config, &path))?)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(feeds_synth, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_verify, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_recorded_subscription, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_serve, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_watch, m)?)
}

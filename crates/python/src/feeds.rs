//! Market data from Python: `feeds_verify` (replay a recording offline), `feeds_serve` (a local
//! replay server speaking each exchange's protocol) and `feeds_watch` (the connectors, keeping
//! books in sync, with a live callback). Network work runs with the GIL released.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use wintermute_feeds::binance_ticks::TickScale;
use wintermute_feeds::net::blocking::{
    recorded_subscription, replay_serve_blocking, watch_blocking_with, ServeLimits, WatchLimits,
};
use wintermute_feeds::net::client::FeedConfig;
use wintermute_feeds::net::endpoints::Protocol;
use wintermute_feeds::net::replay_server::{Fault, Pace, ReplayOptions};
use wintermute_feeds::synthetic::{generate, SyntheticConfig};
use wintermute_feeds::{verify_path, FeedError, Venue};

use crate::errors::Result;

/// `{symbol: (tick_size, lot_size)}` as the connector's per-symbol scales, sorted by symbol.
pub(crate) fn tick_scales(scales: Option<HashMap<String, (String, String)>>) -> Result<Vec<(String, TickScale)>> {
    let mut out = Vec::new();
    for (symbol, (tick, lot)) in scales.unwrap_or_default() {
        let scale = TickScale::new(&tick, &lot).map_err(|e| FeedError::Config {
            field: "scales",
            reason: format!("scales[{symbol:?}]=({tick:?}, {lot:?}): {e}"),
        })?;
        out.push((symbol, scale));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

pub(crate) fn venue(name: &str) -> Result<Venue> {
    let known = Venue::ALL.into_iter().find(|v| v.name() == name);
    Ok(known.ok_or_else(|| FeedError::Config {
        field: "venue",
        reason: format!("venue={name:?}: expected binance, coinbase or kraken"),
    })?)
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
/// until `seconds` pass or, with `exit_when_drained`, every frame was sent and clients left.
/// `on_ready(ws_url, rest_url)` is called once listening. Returns the server's counters.
/// `drop_frames` / `corrupt_frames`: indices of recorded frames to lose on the wire (dropped, or
/// cut in half), e.g. the gaps of a synthetic market. `exchange_info`: `{symbol: (tick_size,
/// lot_size)}` served at Binance's `GET /api/v3/exchangeInfo`.
#[pyfunction]
#[pyo3(signature = (path, on_ready, *, pace="recorded", port=0, http_port=0, seconds=None, exit_when_drained=false, drop_frames=Vec::new(), corrupt_frames=Vec::new(), exchange_info=None))]
#[allow(clippy::too_many_arguments)]
fn feeds_serve<'py>(
    py: Python<'py>,
    path: &str,
    on_ready: Py<PyAny>,
    pace: &str,
    port: u16,
    http_port: u16,
    seconds: Option<f64>,
    exit_when_drained: bool,
    drop_frames: Vec<usize>,
    corrupt_frames: Vec<usize>,
    exchange_info: Option<HashMap<String, (String, String)>>,
) -> Result<Bound<'py, PyDict>> {
    let pace: Pace = pace.parse()?;
    let mut binance_exchange_info: Vec<(String, String, String)> =
        exchange_info.unwrap_or_default().into_iter().map(|(s, (tick, lot))| (s, tick, lot)).collect();
    binance_exchange_info.sort();
    let faults =
        drop_frames.into_iter().map(Fault::Drop).chain(corrupt_frames.into_iter().map(Fault::Corrupt)).collect();
    let options = ReplayOptions {
        addr: ([127, 0, 0, 1], port).into(),
        http_addr: ([127, 0, 0, 1], http_port).into(),
        pace,
        faults,
        binance_exchange_info,
        ..ReplayOptions::default()
    };
    let limits = ServeLimits { duration: seconds.map(Duration::from_secs_f64), exit_when_drained };
    let mut callback_error = None;
    let stats = py.detach(|| {
        replay_serve_blocking(Path::new(path), options, limits, |ws, rest| {
            Python::attach(|py| {
                if let Err(e) = on_ready.call1(py, (ws, rest)) {
                    callback_error = Some(e);
                }
            })
        })
    });
    if let Some(e) = callback_error {
        return Err(e.into());
    }
    let stats = stats?;
    let d = PyDict::new(py);
    d.set_item("connections", stats.connections)?;
    d.set_item("frames_sent", stats.frames_sent)?;
    d.set_item("frames_total", stats.total)?;
    d.set_item("frames_replayed", stats.cursor)?;
    d.set_item("subscribes", stats.subscribes.len())?;
    d.set_item("ws_snapshots", stats.ws_snapshots)?;
    d.set_item("rest_recorded", stats.rest_recorded)?;
    d.set_item("rest_synthesized", stats.rest_synthesized)?;
    Ok(d)
}

/// Runs the connector for `venue` and `symbols` against `ws_base` / `rest_base` (default: the
/// exchange's own endpoints) for `seconds`, calling `on_tick(report_json)` about every `tick`
/// seconds; returns the final report as JSON (streams, counters). `max_attempts` bounds the
/// connection attempts in a row (default: retry with backoff until `seconds` run out).
/// `scales` (Binance): `{symbol: (tick_size, lot_size)}` for every subscribed symbol runs the
/// books on integer ticks and lots; `fetch_scales` fetches the missing ones from Binance's
/// `exchangeInfo` (at `rest_base`) first.
#[pyfunction]
#[pyo3(signature = (venue_name, symbols, *, ws_base=None, rest_base=None, seconds=5.0, max_frames=None, record=None, on_tick=None, tick=0.5, max_attempts=None, protocol=None, tls_ca_file=None, scales=None, fetch_scales=false))]
#[allow(clippy::too_many_arguments)]
fn feeds_watch(
    py: Python<'_>,
    venue_name: &str,
    symbols: Vec<String>,
    ws_base: Option<String>,
    rest_base: Option<String>,
    seconds: f64,
    max_frames: Option<u64>,
    record: Option<PathBuf>,
    on_tick: Option<Py<PyAny>>,
    tick: f64,
    max_attempts: Option<u32>,
    protocol: Option<&str>,
    tls_ca_file: Option<PathBuf>,
    scales: Option<HashMap<String, (String, String)>>,
    fetch_scales: bool,
) -> Result<String> {
    let venue = venue(venue_name)?;
    let mut config = match protocol {
        None => FeedConfig::new(venue, symbols),
        Some(name) => {
            let protocol: Protocol = name.parse()?;
            if protocol.venue() != venue {
                let reason = format!("protocol={name} is not a {venue_name} protocol");
                return Err(FeedError::Config { field: "protocol", reason }.into());
            }
            FeedConfig::for_protocol(protocol, symbols)
        }
    };
    config.tls_ca_file = tls_ca_file;
    if let Some(ws) = ws_base {
        config.ws_base = ws;
    }
    if let Some(rest) = rest_base {
        config.rest_base = rest;
    }
    config.record = record;
    config.max_attempts = max_attempts;
    config.binance_scales = tick_scales(scales)?;
    config.binance_fetch_scales = fetch_scales;
    // Checked here so a bad configuration raises before anything connects.
    if !fetch_scales {
        config.binance_tick_feed()?;
    }
    let limits = WatchLimits { duration: Duration::from_secs_f64(seconds.max(0.0)), max_frames };
    let mut callback_error = None;
    let report = py.detach(|| {
        watch_blocking_with(&config, limits, Duration::from_secs_f64(tick.max(0.01)), |report, counters| {
            if let (Some(cb), None) = (&on_tick, &callback_error) {
                let json = format!(
                    "{{\"report\":{},\"counters\":{}}}",
                    report.to_json(),
                    serde_json::to_string(counters).unwrap_or_else(|_| "null".into())
                );
                Python::attach(|py| {
                    if let Err(e) = cb.call1(py, (json,)) {
                        callback_error = Some(e);
                    }
                });
            }
        })
    });
    if let Some(e) = callback_error {
        return Err(e.into());
    }
    Ok(report?.to_json())
}

/// Generates a seeded synthetic market in `venue`'s protocol and writes it to `path` in the
/// Wintermute recording format; returns its summary (frames, trades, the gap frames to drop or
/// corrupt when serving, the final book as exact text).
#[pyfunction]
#[pyo3(signature = (venue_name, path, *, seed=7, steps=2000, gap_rate=0.0, gap_spacing=10, burst_rate=0.01, trade_rate=0.1, depth=40, kraken_depth=25, symbol=None, start_ns=None))]
#[allow(clippy::too_many_arguments)]
fn feeds_synth<'py>(
    py: Python<'py>,
    venue_name: &str,
    path: PathBuf,
    seed: u64,
    steps: usize,
    gap_rate: f64,
    gap_spacing: usize,
    burst_rate: f64,
    trade_rate: f64,
    depth: usize,
    kraken_depth: usize,
    symbol: Option<String>,
    start_ns: Option<i64>,
) -> Result<Bound<'py, PyDict>> {
    let mut cfg = SyntheticConfig::new(venue(venue_name)?, seed);
    cfg.steps = steps;
    cfg.gap_rate = gap_rate;
    cfg.gap_spacing = gap_spacing;
    cfg.burst_rate = burst_rate;
    cfg.trade_rate = trade_rate;
    cfg.depth = depth;
    cfg.kraken_depth = kraken_depth;
    if let Some(symbol) = symbol {
        cfg.symbol = symbol;
    }
    if let Some(ns) = start_ns {
        cfg.start_ns = ns;
    }
    let market = py.detach(|| generate(&cfg))?;
    let write = py.detach(|| std::fs::write(&path, market.recording.as_bytes()));
    write.map_err(|e| FeedError::Io { path: path.display().to_string(), message: e.to_string() })?;
    let (mut drop, mut corrupt) = (Vec::new(), Vec::new());
    for f in &market.faults {
        match f {
            Fault::Drop(k) => drop.push(*k),
            Fault::Corrupt(k) => corrupt.push(*k),
            _ => {}
        }
    }
    let text = |l: &wintermute_feeds::book::Level| (l.price.as_str().to_owned(), l.qty.as_str().to_owned());
    let d = PyDict::new(py);
    d.set_item("venue", market.venue.name())?;
    d.set_item("symbol", &market.symbol)?;
    d.set_item("frames", market.frames)?;
    d.set_item("trades", market.trades)?;
    d.set_item("gaps", market.gaps.clone())?;
    d.set_item("drop_frames", drop)?;
    d.set_item("corrupt_frames", corrupt)?;
    d.set_item("bids", market.truth.bids().map(text).collect::<Vec<_>>())?;
    d.set_item("asks", market.truth.asks().map(text).collect::<Vec<_>>())?;
    Ok(d)
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(feeds_synth, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_verify, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_recorded_subscription, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_serve, m)?)?;
    m.add_function(wrap_pyfunction!(feeds_watch, m)?)
}

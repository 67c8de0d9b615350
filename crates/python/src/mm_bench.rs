//! `wintermute bench mm`: the market maker's tick-to-order latency on our venue
//! ([`wintermute_bench::mm_latency`]), and the Rust rows of `wintermute bench backtest`
//! ([`wintermute_bench::mm_backtest`]), run with the GIL released.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use wintermute_bench::mm_backtest::{self, RustStrategy};
use wintermute_bench::mm_latency::{self, HostJitter, MmBenchConfig, MmBenchResult};
use wintermute_bench::mm_peer;

use crate::errors::{Error, Result};
use crate::pipeline::latency_dict;

fn host_dict<'py>(py: Python<'py>, h: &HostJitter) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("seconds", h.seconds)?;
    d.set_item("gaps_over_10us_per_s", h.gaps_over_10us_per_s)?;
    d.set_item("gaps_over_100us_per_s", h.gaps_over_100us_per_s)?;
    d.set_item("longest_gap_ns", h.longest_gap_ns)?;
    d.set_item("lost_percent", h.lost_percent)?;
    Ok(d)
}

fn result_dict<'py>(py: Python<'py>, r: &MmBenchResult) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("system", &r.system)?;
    for (k, v) in [
        ("offered_per_s", r.offered_per_s),
        ("messages", r.messages),
        ("commands", r.commands),
        ("fills", r.fills),
        ("cut_short", r.cut_short),
    ] {
        d.set_item(k, v)?;
    }
    for (k, s) in [
        ("tick_to_accept", &r.tick_to_accept),
        ("tick_to_submit", &r.tick_to_submit),
        ("fill_to_hedge", &r.fill_to_hedge),
        ("pipeline_end_to_end", &r.pipeline_end_to_end),
    ] {
        d.set_item(k, latency_dict(py, s)?)?;
    }
    d.set_item("host", host_dict(py, &r.host)?)?;
    Ok(d)
}

/// One run of the market maker's latency benchmark, as a dict.
#[pyfunction]
#[pyo3(signature = (rate, *, seconds=2.0, fill_every=20, jitter_seconds=1.0, busy_spin=true, seed=42))]
fn mm_latency_bench<'py>(
    py: Python<'py>,
    rate: u64,
    seconds: f64,
    fill_every: u64,
    jitter_seconds: f64,
    busy_spin: bool,
    seed: u64,
) -> Result<Bound<'py, PyDict>> {
    let config = MmBenchConfig { seconds, fill_every, jitter_seconds, busy_spin, seed, ..MmBenchConfig::new(rate) };
    let r = py.detach(|| mm_latency::run(&config)).map_err(|e| Error::other("BENCH", e.to_string()))?;
    result_dict(py, &r)
}

/// One backtest with a Rust strategy (`builtin`, `builtin_batched`, `idle`, `idle_batched`;
/// [`wintermute_bench::mm_backtest`]) for `wintermute bench backtest`: its summary as JSON.
#[pyfunction]
#[pyo3(signature = (config_json, strategy, max_batch=4096))]
fn mm_backtest_bench(py: Python<'_>, config_json: &str, strategy: &str, max_batch: usize) -> Result<String> {
    let which =
        RustStrategy::from_name(strategy).ok_or_else(|| Error::other("BENCH", format!("strategy={strategy}?")))?;
    Ok(py.detach(|| mm_backtest::run(config_json, which, max_batch))?.summary_json())
}

/// The tape of the venue a backtest config quotes on ([`wintermute_bench::mm_peer`]), for
/// `wintermute bench backtest-peer`: `(rows, tick_size, lot_size, venue)`, the rows as
/// little-endian `i64`, six per event.
#[pyfunction]
fn mm_backtest_tape<'py>(py: Python<'py>, config_json: &str) -> Result<(Bound<'py, PyBytes>, f64, f64, String)> {
    let tape = py.detach(|| mm_peer::quoted_tape(config_json))?;
    let bytes: Vec<u8> = tape.rows.iter().flatten().flat_map(|v| v.to_le_bytes()).collect();
    Ok((PyBytes::new(py, &bytes), tape.tick_size, tape.lot_size, tape.venue))
}

/// Adds the market-making benchmarks to `wintermute._core`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mm_latency_bench, m)?)?;
    m.add_function(wrap_pyfunction!(mm_backtest_bench, m)?)?;
    m.add_function(wrap_pyfunction!(mm_backtest_tape, m)?)?;
    Ok(())
}

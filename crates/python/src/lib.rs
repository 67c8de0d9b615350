//! `wintermute._core`: the PyO3 extension module behind the `wintermute` Python package.
//!
//! This crate holds no logic of its own (STYLE.md, habits 1-3). Each binding converts its
//! arguments, releases the GIL for anything non-trivial, calls `wintermute-core` or
//! `wintermute-feeds`, and returns the engine's error enums, which [`errors`] turns into the
//! exceptions of `wintermute.errors` in one place.
//!
//! One file per concern, each with a `register` function that adds its classes and functions to
//! the module. Wiring a new file is two lines: its `mod` below, and its `register` call in
//! [`_core`].
// The workspace lint wall (root Cargo.toml) denies unsafe code; the bindings forbid it outright.
#![forbid(unsafe_code)]

use pyo3::prelude::*;
use pyo3::types::PyDict;

// ---- binding modules: one `mod` line each ----------------------------------------------------
mod audit;
mod book;
mod convert;
mod errors;
mod event;
mod fast_book;
mod feeds;
mod journal;
mod l2;
mod market;
mod mm;
mod mm_bench;
mod mm_live;
mod mm_strategy;
mod order_entry;
mod order_grid;
mod pipeline;
mod records;
mod redis_tier;
mod route_sims;
mod routing_bench;
mod venue_books;
mod venue_ledger;
mod venue_orders;
mod venue_state;
mod workload;

/// The package version, shared by the Rust crates and the Python distribution.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How this extension was built: version, profile and target, for bug reports and benchmarks.
#[pyfunction]
fn build_info(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let info = PyDict::new(py);
    info.set_item("version", VERSION)?;
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    info.set_item("profile", profile)?;
    info.set_item("target_arch", std::env::consts::ARCH)?;
    info.set_item("target_os", std::env::consts::OS)?;
    Ok(info)
}

/// The `wintermute._core` module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::check_classes(m.py())?;
    m.add("__version__", VERSION)?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    // ---- binding modules: one `register` line each ------------------------------------------
    audit::register(m)?;
    book::register(m)?;
    fast_book::register(m)?;
    workload::register(m)?;
    feeds::register(m)?;
    journal::register(m)?;
    l2::register(m)?;
    market::register(m)?;
    mm::register(m)?;
    mm_bench::register(m)?;
    mm_live::register(m)?;
    route_sims::register(m)?;
    routing_bench::register(m)?;
    mm_strategy::register(m)?;
    order_entry::register(m)?;
    order_grid::register(m)?;
    pipeline::register(m)?;
    records::register(m)?;
    redis_tier::register(m)?;
    venue_books::register(m)?;
    venue_ledger::register(m)?;
    venue_orders::register(m)?;
    venue_state::register(m)?;
    Ok(())
}

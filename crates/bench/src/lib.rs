//! # wintermute-bench
//!
//! Wintermute's benchmarks, kept out of the library crates (as rtrb keeps its comparison crate
//! apart): nothing here is on a product path, and the library crates do not depend on it (their
//! tests and benches may, as a dev-dependency).
//!
//! - [`workload`]: deterministic, seeded command streams for an order book (exchange-core's
//!   mix, a full-depth feed, the Python comparison, worst cases);
//! - [`catalog`]: those workloads by name, as command records (what Python gets);
//! - [`native_book`]: an order book driven by a Rust loop, timed (the "native" row of
//!   `wintermute bench`);
//! - [`tick_replay`] and [`feed_replay`]: level updates and recorded exchange messages through
//!   the feed books, timed (`wintermute bench feeds`);
//! - [`pipeline`]: the open-loop pipeline benchmark (constant offered rate, coordinated-omission
//!   correction) behind `examples/pipeline_bench.rs` and `wintermute bench pipeline`;
//! - [`mm_latency`]: the market maker's tick-to-order latency on our venue, open loop, behind
//!   `examples/mm_bench.rs` and `wintermute bench mm`;
//! - [`routing`]: an order decision -> the signed request of each venue (`wintermute bench
//!   routing`, beside ccxt's `create_order`);
//! - [`mm_peer`]: the quoted venue's backtest tape as integer rows, for
//!   `wintermute bench backtest-peer` (the same events replayed by hftbacktest).
//!
//! The bindings (`wintermute._core`) call these in one line each, with the GIL released.
//! Examples: `cargo run --release -p wintermute-bench --example latency` (the order book alone)
//! and `--example pipeline_bench` (the whole pipeline).

#![warn(missing_debug_implementations)]

pub mod catalog;
pub mod feed_replay;
pub mod mm_backtest;
pub mod mm_latency;
pub mod mm_peer;
pub mod native_book;
pub mod pipeline;
pub mod routing;
pub mod tick_replay;
pub mod workload;

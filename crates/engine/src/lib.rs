//! # wintermute-engine
//!
//! The runtime around the core's order books:
//!
//! - [`spsc`]: bounded single-producer/single-consumer rings, the only queues between engine
//!   threads (the `wintermute-spsc` crate, re-exported: the workspace's audited ring `unsafe`
//!   code, in a crate of its own so that Miri and ThreadSanitizer test it alone);
//! - [`wait`]: what a consumer thread does when its ring is empty (spin, yield or park);
//! - [`journal`]: the append-only, CRC-framed, memory-mapped log of sequenced input commands,
//!   book snapshots, and recovery (snapshot + journal tail = the same state and events);
//! - [`journaled_engine`]: the in-thread engine with an optional journal in front (journal,
//!   then execute; recovery when the journal is opened), behind Python's `wintermute.Engine`;
//! - [`risk`]: pre-trade limits and kill switches, and post-trade positions and PnL;
//! - [`pipeline`]: the runtime that joins them: gateway rings -> risk -> matching (journal,
//!   books) -> subscriptions, one thread per stage (or risk and matching merged on small
//!   machines), with backpressure and a clean shutdown;
//! - [`analytics`]: latency histograms per pipeline stage, rates, ring occupancy;
//! - [`venue_books`]: the service venue's mirrors of the books (levels, FIFO queue positions),
//!   fed with drained output batches;
//! - [`venue_orders`]: the service venue's order table (states, client order ids, holds) and
//!   the commands waiting for the engine's verdict, fed with the same batches;
//! - [`venue_input`]: the venue's order input checks (a quantity or price read as Python's
//!   `Decimal` reads it, checked against the instrument's bounds and grid, in lots or ticks);
//! - [`venue_ledger`]: the service venue's balances (free and locked), holds, fills, fees and
//!   positions with average-cost PnL, moved by the order table's effects;
//! - [`audit_rows`]: the audit trail's rows replayed from a journal, as columns and PostgreSQL
//!   binary `COPY` data.
//!
//! The open-loop pipeline benchmark (`pipeline_bench`, `wintermute bench pipeline`) lives apart
//! from the library, in the `wintermute-bench` crate.
//!
//! Unsafe code is denied crate-wide. One place opts out, with a `SAFETY` comment on every
//! block: one function in `journal::segment` that maps a segment file (memmap2 offers no safe
//! file mapping).

// The workspace lint wall (root Cargo.toml) applies; this crate also wants Debug on public types.
#![warn(missing_debug_implementations)]

pub mod analytics;
pub mod audit_rows;
pub mod journal;
pub mod journaled_engine;
pub mod pipeline;
pub mod risk;
pub use wintermute_spsc as spsc;
pub mod venue_books;
pub mod venue_entry;
pub mod venue_input;
pub mod venue_ledger;
pub mod venue_orders;
pub mod venue_state;
pub mod wait;

//! The engine runtime: threads joined by bounded SPSC rings, from gateways to subscribers.
//!
//! ```
//! use wintermute_core::{Command, Event, InstrumentSpec, NewOrder, Side};
//! use wintermute_engine::pipeline::{OutputKind, Pipeline, PipelineConfig, RiskConfig};
//!
//! let spec = InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1000, 1, 100_000).unwrap();
//! let config = PipelineConfig::new(vec![spec]).risk(RiskConfig::permissive());
//! let (pipeline, mut handles) = Pipeline::start(config).unwrap();
//! let (gateway, sub) = (&mut handles.gateways[0], &mut handles.subscriptions[0]);
//! gateway.submit(0, Command::New(NewOrder::limit(1, 7, Side::Sell, 200, 10))).unwrap();
//! gateway.submit(0, Command::New(NewOrder::limit(2, 8, Side::Buy, 201, 4))).unwrap();
//!
//! let done = pipeline.shutdown().unwrap(); // drains everything, joins the threads
//! assert_eq!(done.stats.counters.sequenced, 2);
//! let mut outputs = Vec::new();
//! sub.poll(&mut outputs);
//! assert!(outputs.iter().any(|o| matches!(o.kind, OutputKind::Event(Event::Trade { qty: 4, .. }))));
//! assert_eq!(done.engine.book(0).best_ask(), Some((200, 6)));
//! ```
//!
//! # Shape
//!
//! ```text
//! Gateway 0 --SPSC--\                                   /--SPSC--> Subscription 0
//! Gateway 1 --SPSC---> risk --SPSC--> matching ---------+--SPSC--> Subscription 1
//! Gateway n --SPSC--/     ^                |
//!                         \-----SPSC-------/  post-trade (events risk needs)
//! ```
//!
//! - [`Gateway`]s: one per producer thread, each with its own ring, so producers never share
//!   a lock or a cache line; full ring: block or hand the command back ([`Backpressure`]).
//! - **risk** ([`risk_stage`]): polls the gateway rings round-robin, runs the pre-trade
//!   [`crate::risk::RiskEngine::check`]; a rejection travels on as a marked message.
//! - **matching** ([`match_stage`]): owns the [`Engine`](wintermute_core::Engine) (every book) and the journal:
//!   journal append, then [`crate::journal::apply`], then publication.
//! - [`Subscription`]s: every output, in order, drained in batches (or, configured without
//!   book deltas, every output but the level updates: an execution feed).
//!
//! With [`Topology::Merged`] one thread does risk and matching (the default below 4 cores:
//! two engine threads plus a producer on two cores only fight over them).
//!
//! # Control and snapshots
//!
//! [`Pipeline::control`] hands out a [`Control`]: change limits, default limits, kill switches
//! and reference prices while the pipeline runs, and request snapshots ([`control`]). Each
//! change is journaled in order with the commands. Snapshots of books and risk state are taken
//! by [`SnapshotPolicy`] and on request, at a consistent cut in both topologies
//! ([`snapshots`]).
//!
//! Single writer: the books belong to the matching thread, the risk engine to the risk thread
//! (post-trade updates included, see [`risk_stage`]); the rings are the only thing shared on
//! the matching path, besides the stop flag a thread reads once per loop and, for threads that
//! park, the `unpark` that wakes them. Latency per stage is measured on the messages (see
//! [`crate::analytics`]); measurements reach readers by a swap every stats interval.
//!
//! # Lifecycle
//!
//! [`Pipeline::start`] recovers the books from the journal when there is one: the newest
//! valid snapshot (with its risk state, when the pipeline runs with risk), then the journal
//! tail — the replayed events rebuild post-trade risk (open orders, positions), the replayed
//! control records the risk settings — then starts the threads. What it used is in
//! [`Pipeline::recovery`]. A snapshot that does not check out (damaged, written without risk
//! state for a pipeline with risk, other instruments, or past the journal's end) is passed over
//! and reported there: the next older one (or the journal from its start) gives the same state,
//! because journal segments are only removed behind the oldest snapshot kept
//! ([`SnapshotPolicy::prune_segments`]), and never unless asked; when the records a recovery
//! needs are gone it fails ([`crate::journal::JournalError::Missing`]) rather than replay across the gap.
//!
//! [`RiskConfig`] is the risk state *before the journal's first record*: it seeds a new journal.
//! Once a journal holds controls or snapshots, change settings through [`Control`] (journaled),
//! not the config: a snapshot restores the settings it holds, whatever the config says. [`Pipeline::shutdown`] closes the gateways, drains every
//! ring, joins every thread, flushes the journal and returns the final stats and books.
//! Dropping a `Pipeline` does the same and discards the result. Both wait for the
//! subscriptions to take the last outputs: keep polling them from another thread (or drop
//! them) while shutting down, unless their rings are large enough to hold what is in flight.
//!
//! # Where things are
//!
//! Dependencies run one way, from the bottom of this table up: what moves through the rings
//! knows nothing of the stages, the stages nothing of the threads that run them.
//!
//! | layer | files |
//! |---|---|
//! | start and run | `startup.rs` ([`Pipeline::start`]), `runtime.rs` ([`Pipeline`]: stats, shutdown), `recovery.rs` ([`RecoveryInfo`]), `stats.rs` ([`PipelineStats`]), `error.rs` ([`PipelineError`]) |
//! | threads | `threads.rs`: the merged, risk and matching loops; the snapshot writer in [`snapshots`] and the journal syncer in [`durability`] |
//! | stages | [`risk_stage`], [`match_stage`], [`snapshots`] (cuts and the writer) |
//! | ends | [`gateway`] (producers), [`subscription`] (consumers) |
//! | messages | [`message`]: what the rings carry and subscribers receive; [`control`]: the control handle and its request and reply, which messages carry |
//! | below | [`crate::spsc`] rings, [`crate::wait`] strategies and wakers, [`crate::journal`], [`crate::risk`] |
//!
//! [`config`] is what a pipeline is built from; the start and the stages read it.

pub mod config;
pub mod control;
pub mod drain;
pub mod durability;
pub mod gateway;
pub mod match_stage;
pub mod message;
pub mod output_record;
pub mod record_batch;
pub mod risk_stage;
pub mod shared_gateway;
pub mod snapshots;
pub mod subscription;

mod error;
mod recovery;
mod runtime;
mod startup;
mod stats;
mod threads;

pub use config::{
    available_cores, Backpressure, GatewayConfig, PipelineConfig, RiskConfig, SubscriptionConfig, ThreadConfig,
    Topology,
};
pub use control::{Control, ControlError, SnapshotInfo, DEFAULT_CONTROL_TIMEOUT};
pub use drain::{shutdown_draining, shutdown_in_background, BufferedSubscription, SharedSubscription};
pub use durability::JournalSync;
pub use error::PipelineError;
pub use gateway::{Gateway, GatewayStats, SubmitError};
pub use message::{CommandId, Output, OutputKind, Stamps};
pub use recovery::RecoveryInfo;
pub use runtime::{Pipeline, Shutdown};
pub use shared_gateway::{GatewayLease, GatewayLent, SharedGateway};
pub use snapshots::SnapshotPolicy;
pub use startup::Handles;
pub use stats::{PipelineStats, ThreadStats};
pub use subscription::{OutputsSignal, Subscription};

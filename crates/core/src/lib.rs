//! # wintermute-core
//!
//! The hot path of Wintermute: exact fixed-point instruments and a price-time-priority order
//! book with matching. No I/O, no threads, no locks: each [`OrderBook`] is owned by one thread
//! (single writer), and the outside world sees it through the [`Event`]s it emits.
//!
//! ```
//! use wintermute_core::{InstrumentSpec, OrderBook, NewOrder, Side, Event};
//! let spec = InstrumentSpec::from_decimals("BTC-USD", "0.5", "1", "1", "1000", "1", "100000").unwrap();
//! let mut book = OrderBook::new(spec);
//! let mut events = Vec::new();
//! book.submit(&NewOrder::limit(1, 7, Side::Sell, 200, 10), &mut events).unwrap();
//! book.submit(&NewOrder::limit(2, 8, Side::Buy, 201, 4), &mut events).unwrap();
//! assert!(events.iter().any(|e| matches!(e, Event::Trade { price: 200, qty: 4, .. })));
//! assert_eq!(book.best_ask(), Some((200, 6)));
//! ```
//!
//! The rules are written down in `docs/matching.md`; tests check this book against an
//! independent reference model of that page.

// The workspace lint wall (root Cargo.toml) applies; this crate also wants Debug on public types.
#![warn(missing_debug_implementations)]

pub mod decimal;
pub mod engine;
pub mod error;
pub mod event;
pub mod inline_str;
pub mod instrument;
pub mod order;
pub mod order_book;
mod order_id_map;
mod price_ladder;
pub mod records;
pub mod rng;
pub mod slot_bitmap;

/// Price in integer ticks.
pub type Price = i64;
/// Quantity in integer lots.
pub type Qty = i64;
/// Client order id.
pub type OrderId = u64;
/// Account id.
pub type AccountId = u32;
/// Event sequence number (per book, from 1).
pub type Seq = u64;

pub use engine::{Engine, InstrumentId};
pub use error::OrderError;
pub use event::{CancelReason, CountingSink, Event, EventSink, RejectReason};
pub use instrument::{InstrumentError, InstrumentSpec};
pub use order::{Command, NewOrder, OrderType, Side, StpMode, TimeInForce};
pub use order_book::{BookSnapshot, LevelView, OrderBook, OrderView, QueuePosition, SnapshotError};

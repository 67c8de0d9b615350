//! Wintermute market data: exchange protocols, recordings, and local books that are provably in
//! sync with the exchanges.
//!
//! # A tour
//!
//! Data flows one way through the modules:
//!
//! 1. [`recording`]: recorded sessions (cryptofeed's raw text and JSON lines, and our own JSON
//!    lines, written by [`recording::RecordingWriter`]) as a stream of [`recording::Record`]s.
//! 2. Parsers, one per venue: [`binance`], [`coinbase`], [`kraken`]. They read exchange frames
//!    with a zero-copy JSON scanner, keep every price and quantity as exact decimal text plus a
//!    fixed-point value (the core's [`Decimal`](wintermute_core::decimal::Decimal), read by its
//!    strict exchange reader `Decimal::parse_unsigned`; never a float), and reuse their buffers, so steady-state
//!    parsing does not allocate.
//! 3. [`book::L2Book`]: a price-level book keyed by exact fixed-point price that keeps the
//!    exchange's text for each level (Kraken's checksum hashes it).
//! 4. [`sync`]: per-venue book builders with the documented sync procedures (Binance update-id
//!    chaining, Coinbase snapshots and sequence numbers, Kraken CRC-32 checksums), a
//!    `Buffering → Live → Resyncing` state machine, and counters; Binance also on integer books
//!    ([`sync::BinanceTickFeed`], ticks and lots per symbol's [`binance_ticks::TickScale`]).
//! 5. [`verify`]: replay a recording through all of it and report per stream ([`verify_path`]).
//! 6. [`net`]: the live side: a WebSocket connector per venue (subscribe, keepalive, reconnect,
//!    resync) driving the same builders, and a replay server that serves recordings on 127.0.0.1.
//! 7. [`consolidated`]: several venues' books for one instrument merged into a consolidated BBO,
//!    a microprice fair value and a crossed/locked-between-venues flag.
//!
//! ```
//! use wintermute_feeds::sync::{FeedHandler, KrakenBooks};
//! let mut books = KrakenBooks::new();
//! books.on_frame(0, r#"[320,{"as":[["5.0","1.0","0"]],"bs":[["4.0","2.0","0"]]},"book-10","XBT/USD"]"#).unwrap();
//! books.on_frame(0, r#"[320,{"b":[["4.5","1.0","0"]],"c":"1936044276"},"book-10","XBT/USD"]"#).unwrap();
//! let stream = books.stream("XBT/USD").unwrap();
//! assert_eq!(stream.book.best_bid().unwrap().price.as_str(), "4.5");
//! assert_eq!((stream.stats.checksum_ok, stream.stats.checksum_bad), (1, 0));
//! ```
//!
//! Errors are one enum, [`FeedError`], with `key=value` context.
// The workspace lint wall (root Cargo.toml) applies; this crate also documents every public item.
#![warn(missing_docs)]

pub mod binance;
pub mod binance_ticks;
pub mod book;
pub mod coinbase;
pub mod consolidated;
pub mod error;
pub(crate) mod json;
pub mod kraken;
pub mod l1;
pub mod market;
pub mod message;
pub mod net;
pub mod normalized;
pub mod options;
pub mod recording;
pub mod sync;
pub mod synthetic;
pub mod tick_book;
mod tick_scale;
pub mod timestamp;
pub mod verify;

pub use error::FeedError;
pub use message::{Aggressor, LevelUpdate, Symbol, Trade, Venue};
pub use tick_book::{BatchError, TickBook, TickBookError};
pub use verify::{verify_path, verify_str, StreamReport, VerifyReport};

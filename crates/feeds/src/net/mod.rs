//! Live market data over the network: a connector per venue and a local replay server.
//!
//! * [`client`]: connect, subscribe, keep alive, detect a dead connection, reconnect with backoff
//!   and jitter, resync books (Binance REST snapshots, Coinbase/Kraken resubscriptions), all
//!   driving the same [`FeedHandler`](crate::sync::FeedHandler) builders that `verify` uses.
//! * [`replay_server`]: a recording served on 127.0.0.1 in the venue's own protocol, at recorded
//!   pace or as fast as possible, with injectable faults; how the connectors are tested without
//!   the internet (`tests/live_replay.rs`).
//! * [`blocking`]: `replay_serve_blocking` and `watch_blocking`, for the Python bindings and the
//!   `wintermute feeds serve` / `watch` commands (no async runtime needed by the caller).
//! * [`endpoints`]: the venues' URLs and subscribe messages.
//! * [`exchange_info`]: Binance tick and lot sizes from `exchangeInfo`, for the integer books.
//! * [`http`]: the minimal HTTP/1.1 GET the Binance snapshot needs (`http://` and `https://`).
//! * [`tls`]: rustls for `wss://` and `https://`, certificates verified against Mozilla's roots
//!   (plus an optional PEM file of extra authorities); verification cannot be turned off.

pub mod blocking;
pub mod client;
pub mod dialect;
pub mod endpoints;
pub mod exchange_info;
pub mod http;
pub(crate) mod reference;
pub mod replay_server;
pub mod tls;

//! Kraken spot: a REST order client and a local simulator of the venue.
//!
//! - [`client::KrakenRestClient`]: place (limit GTC / IOC, market, post-only), amend, cancel,
//!   cancel all (the kill switch), reconcile; nonces, `API-Sign`, the call counters enforced
//!   before sending.
//! - [`reports`]: Kraken's `{"error":[..],"result":..}` answers, orders and trades ->
//!   normalized execution reports.
//! - [`sim::KrakenSim`]: a Kraken-compatible REST venue on 127.0.0.1 that checks keys,
//!   signatures, nonces, counters and parameters as Kraken documents them, and fills orders
//!   against a book, checks funds, and answers WebSocket v2 order entry on the same exchange.
//! - [`ws_client::KrakenWsClient`]: WebSocket v2 order entry (`add_order`, `amend_order`,
//!   `cancel_order`, `batch_add`, `batch_cancel`, `cancel_all`, the dead man's switch
//!   `cancel_all_orders_after`) with a
//!   `GetWebSocketsToken` token, and the `executions` channel (snapshot and updates) into the
//!   same normalized reports and per-order state machine; with a REST client of the same key
//!   ([`ws_client::KrakenWsClient::with_rest`]) it fetches its own tokens and settles over REST
//!   what a reconnect's snapshot cannot tell.
//! - [`ws_messages`]: the v2 messages, written and parsed (exact decimals, no panics).
//! - [`rate`]: Kraken's API call counter and trading counter, one model for both sides.
//! - [`ids`]: txids, `cl_ord_id` forms and nonces.
//! - [`assets`]: Kraken's asset names, REST (`XXBT`) and v2 (`BTC`), on one name.

pub mod assets;
pub mod client;
pub mod ids;
pub mod rate;
pub mod reports;
pub mod sim;
mod sim_balances;
mod sim_batch;
mod sim_batch_rest;
mod sim_funds;
mod sim_orders;
mod sim_sessions;
mod sim_ws;
pub mod ws_client;
pub mod ws_messages;

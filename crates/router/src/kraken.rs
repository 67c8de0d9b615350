//! Kraken spot: a REST order client and a local simulator of the venue.
//!
//! - [`client::KrakenRestClient`]: place (limit GTC / IOC, market, post-only), amend, cancel,
//!   cancel all (the kill switch), reconcile; nonces, `API-Sign`, the call counters enforced
//!   before sending.
//! - [`reports`]: Kraken's `{"error":[..],"result":..}` answers, orders and trades ->
//!   normalized execution reports.
//! - [`sim::KrakenSim`]: a Kraken-compatible REST venue on 127.0.0.1 that checks keys,
//!   signatures, nonces, counters and parameters as Kraken documents them, and fills orders
//!   against a book.
//! - [`rate`]: Kraken's API call counter and trading counter, one model for both sides.
//! - [`ids`]: txids, `cl_ord_id` forms and nonces.

pub mod client;
pub mod ids;
pub mod rate;
pub mod reports;
pub mod sim;
mod sim_orders;

//! Binance spot: a REST order client and a local simulator of the venue.
//!
//! - [`client::BinanceRestClient`]: place (LIMIT GTC/IOC/FOK, MARKET, LIMIT_MAKER), cancel,
//!   query, reconcile; server-time offset; request-weight tracking from headers; 429/418 with
//!   `Retry-After` honoured.
//! - [`reports`]: Binance's order and trade JSON -> normalized execution reports.
//! - [`sim::BinanceSim`]: a Binance-compatible REST venue on 127.0.0.1 that checks signatures,
//!   timestamps, parameters, filters and weights as Binance documents them, and fills orders
//!   against a depth snapshot.

pub mod client;
pub mod reports;
pub mod sim;
mod sim_errors;
mod sim_exchange;

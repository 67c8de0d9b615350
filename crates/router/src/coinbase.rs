//! Coinbase Advanced Trade: a REST order client and a local simulator of the venue.
//!
//! - [`client::CoinbaseRestClient`]: place (limit GTC, post-only, IOC, FOK, market), cancel,
//!   reconcile, kill switch; an ES256 JWT per request; the per-second request limit enforced
//!   before sending.
//! - [`reports`]: Coinbase's order, fill and error JSON -> normalized execution reports.
//! - [`sim::CoinbaseSim`]: a Coinbase-compatible REST venue on 127.0.0.1 that verifies each
//!   request's JWT with the key's public key and checks parameters as Coinbase documents them.
//! - [`user_ws::CoinbaseUserWs`]: the `user` WebSocket channel (a JWT without `uri`, renewed)
//!   into normalized reports and the order state machine; fills derived from the running totals.
//! - [`sim_ws`]: the simulator's `user` channel on the same exchange as its REST front.
//! - [`route::CoinbaseRoute`]: the REST client and the `user` channel as one venue client for
//!   the market maker's adapter: updates pushed by the channel mark the orders that moved, REST
//!   fetches their fills (maker flag from `liquidity_indicator`); nothing is polled while the
//!   channel is up.

pub mod client;
pub mod reports;
pub mod route;
pub mod sim;
pub mod sim_ws;
pub mod user_ws;

//! Binance spot: a REST order client, a WebSocket API order client and a local simulator of
//! the venue serving both.
//!
//! - [`client::BinanceRestClient`]: place (LIMIT GTC/IOC/FOK, MARKET, LIMIT_MAKER), cancel,
//!   amend keeping queue priority, cancel-replace (`POST /api/v3/order/cancelReplace`), cancel
//!   every open order of a symbol, query, reconcile; server-time offset; request-weight tracking
//!   from headers; 429/418 with `Retry-After` honoured.
//!   The REST companion of the WebSocket API client on live and paper routes.
//! - [`ws_client::BinanceWsClient`]: the same over the WebSocket API (`order.place`,
//!   `order.cancel`, `order.cancelReplace`, `order.amend.keepPriority`, `openOrders.cancelAll`,
//!   a pipelined batch of orders), user data (`executionReport`; the balance events
//!   `outboundAccountPosition` and `balanceUpdate` as [`crate::order::BalanceUpdate`]s) through
//!   `userDataStream.subscribe`, rate limits from the answers' `rateLimits`; with its REST
//!   companion (`BinanceWsClient::with_rest`), the client of Binance's live and paper routes.
//! - [`ws_api`]: the WebSocket API's frames: signed requests out, answers and events in.
//! - [`reports`]: Binance's order and trade JSON -> normalized execution reports.
//! - [`sim::BinanceSim`]: a Binance-compatible venue on 127.0.0.1 (REST and the WebSocket API,
//!   one exchange) that checks signatures, timestamps, parameters, filters and weights as
//!   Binance documents them, fills orders against a depth snapshot, and pushes
//!   `executionReport`s and the balance events to subscribed WebSocket sessions.

#[macro_use]
mod venue_client;

pub mod client;
mod outcomes;
pub mod reports;
pub mod sim;
mod sim_errors;
mod sim_exchange;
pub mod ws_api;
pub mod ws_client;

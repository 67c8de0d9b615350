//! Order routing to external venues.
//!
//! The market maker's hedger and quoter, a Python strategy or the CLI send orders to a venue
//! through one of this crate's venue clients; what the venue says back becomes normalized
//! [`order_state::ExecutionReport`]s, applied to one [`order_state::OrderState`] per order, so
//! duplicate, reordered or late reports never lose or double-count a fill.
//!
//! - [`signing`]: each venue's request signature, pinned to the venues' documented examples.
//! - [`order_state`]: the per-order state machine and the normalized execution report.
//! - [`binance`]: Binance spot REST and WebSocket API order clients and a local Binance spot
//!   simulator (127.0.0.1, both protocols) that checks every request the way Binance documents
//!   it.
//! - [`kraken`]: a Kraken spot REST order client and a local Kraken spot simulator (127.0.0.1)
//!   that checks every request the way Kraken documents it.
//! - [`order`]: the venue-neutral order, instrument grid and parse error every client shares.
//! - [`venue`]: the interface every venue client offers the market maker's adapter, and
//!   reconciliation and the kill switch: one algorithm over every venue client's steps.
//! - [`sim`]: the matching engine and the HTTP and WebSocket servers the simulators share.
//! - [`credentials`]: keys from the environment or key files, never printed.
//! - [`execution_adapter`]: the market maker's `Execution` interface over a routed venue.
//! - [`balances`], [`route_balances`]: a venue account's balances, exact, from the REST
//!   snapshot and the user-data stream; a route's copy of them, which its orders are checked
//!   against.
//! - [`paper`]: the live market maker's hedge routes on paper: each venue's simulator started
//!   in-process, its book following the feeds, and a route through the real client.
//! - [`live`]: the hedge routes at the venues' real `https://` endpoints with the routes' keys
//!   (`--live`), and the kill switch across every route's venue.
//! - [`sim_routes`]: a live config's routes served by their simulators on 127.0.0.1, plain or
//!   behind TLS, for another process's `--live` run or kill switch to reach (tests).
//! - [`http`]: the one HTTP/1.1 connection every REST client shares, plain or over TLS.
//!
//! See `docs/order-routing.md` for what is supported and how to configure keys.

pub mod balances;
pub mod binance;
pub mod coinbase;
pub mod credentials;
pub mod execution_adapter;
pub mod grid_guard;
pub mod http;
pub mod kraken;
pub mod live;
pub mod order;
pub mod order_state;
pub mod paper;
pub mod reservations;
pub mod route_balances;
pub mod signing;
pub mod sim;
pub mod sim_routes;
pub mod time;
pub mod venue;
pub mod ws;

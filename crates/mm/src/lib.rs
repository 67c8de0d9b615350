//! Wintermute market making: a market maker that quotes on our venue (and, through the same
//! execution interface, on external venues) off a fair value built from the external venues'
//! books.
//!
//! Integers inside: prices are `i64` ticks and quantities `i64` lots of the instrument we quote;
//! the quote models compute in `f64` (they need `ln` and `exp`) and their output is rounded onto
//! the tick grid, away from the touch, before it becomes an order. Money (PnL, fees) is exact
//! integer arithmetic.
//!
//! ## Pricing: from external books to quote actions
//! [`config`] reads the pricing configuration (JSON, every key checked, errors name the key).
//! [`instrument_map`] maps our instrument onto each venue's (symbol, quote currency, basis) and
//! converts a feed book's top onto our grid exactly. [`fair_value`] combines the venues' tops
//! into one weighted microprice, dropping stale venues. [`estimate`] measures volatility and
//! trade intensity online. [`models`] price a bid and an ask around the fair value (fixed spread,
//! Avellaneda–Stoikov, GLFT), and [`quoter`] turns them into a ladder on the tick grid and into
//! the few [`quote_actions`] (place, amend, cancel) that move the resting orders onto it, without
//! flicker and without allocating. [`pricer`] wires all of these from one configuration, and
//! [`quote_orders`] turns the actions into [`execution`] commands with one client id per slot.
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod backtest;
pub mod batched;
pub mod config;
pub mod engine_venue;
pub mod estimate;
pub mod execution;
pub mod fair_value;
pub mod fees;
pub mod fifo_place;
pub mod fill_model;
pub mod hedger;
pub mod in_flight;
pub mod instrument_map;
pub mod interlock;
pub mod l2_book;
pub mod live;
pub mod live_config;
pub mod live_hedge;
pub mod live_runner;
pub mod live_snapshot;
pub mod live_strategy;
pub mod metrics;
pub mod models;
pub mod participants;
pub mod priced_market_maker;
pub mod pricer;
pub mod queue;
pub mod quote_actions;
pub mod quote_orders;
pub mod quoter;
pub mod sim_venue;
pub mod stepped_books;
pub mod strategy;
pub mod types;

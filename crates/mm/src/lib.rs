//! Wintermute market making: a market maker that quotes on our venue (and, through the same
//! execution interface, on external venues) off a fair value built from the external venues'
//! books.
//!
//! Integers inside: prices are `i64` ticks and quantities `i64` lots of the instrument we quote;
//! the quote models compute in `f64` (they need `ln` and `exp`) and their output is rounded onto
//! the tick grid, away from the touch, before it becomes an order. Money (PnL, fees) is exact
//! integer arithmetic.
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod execution;
pub mod fees;
pub mod hedger;
pub mod interlock;
pub mod l2_book;
pub mod metrics;
pub mod participants;
pub mod queue;
pub mod sim_venue;
pub mod types;

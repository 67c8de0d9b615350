//! Shared pieces of the venues' funds tests: exact decimals and what a simulator says one key
//! holds.
#![allow(dead_code)]

use wintermute_core::decimal::Decimal;
use wintermute_router::sim::funds::AssetBalance;

pub fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap().normalized()
}

/// The (balance, held) of `asset` in a simulator's statement of one key (its `balances_of`).
pub fn held(statement: &[(String, AssetBalance)], asset: &str) -> (Decimal, Decimal) {
    let b = statement.iter().find(|(a, _)| a == asset).map(|(_, b)| *b).unwrap();
    (b.balance.normalized(), b.held.normalized())
}

//! Shared pieces of the venues' funds tests: exact decimals, what a simulator says one key
//! holds, and the steps every route's balance tests take (waiting for the balances, losing the
//! stream, reconciling against a fresh snapshot).
#![allow(dead_code)]

use std::time::Duration;

use wintermute_core::decimal::Decimal;
use wintermute_router::balances::{AccountBalances, BalanceDifference, BalanceStats};
use wintermute_router::execution_adapter::{BalanceReconcileError, RoutedExecution};
use wintermute_router::reservations::Reserve;
use wintermute_router::sim::funds::AssetBalance;
use wintermute_router::sim::SimServer;

pub fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap().normalized()
}

/// The (balance, held) of `asset` in a simulator's statement of one key (its `balances_of`).
pub fn held(statement: &[(String, AssetBalance)], asset: &str) -> (Decimal, Decimal) {
    let b = statement.iter().find(|(a, _)| a == asset).map(|(_, b)| *b).unwrap();
    (b.balance.normalized(), b.held.normalized())
}

/// Waits (the simulator runs meanwhile) until the route's balances satisfy `done`, at most 5 s.
pub async fn balances_until(exec: &RoutedExecution, done: impl Fn(&AccountBalances) -> bool) -> AccountBalances {
    for _ in 0..500 {
        if let Some(b) = exec.balances().filter(|b| done(b)) {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("balances never got there: {:?}", exec.balances());
}

/// The route's (free, locked) of `asset`, as normalized text.
pub fn free_locked(b: &AccountBalances, asset: &str) -> (String, String) {
    let x = b.get(asset).unwrap();
    (x.free.normalized().to_string(), x.locked.normalized().to_string())
}

/// Every asset the balances hold, in order, to compare before and after.
pub fn shown(b: &AccountBalances) -> Vec<(String, wintermute_router::balances::AssetBalance)> {
    b.assets().map(|(a, x)| (a.to_owned(), *x)).collect()
}

/// Closes the simulator's WebSocket connections and waits (at most 1 s) until none is open.
pub async fn hang_up<V>(sim: &SimServer<V>) {
    sim.drop_ws_connections();
    for _ in 0..100 {
        if sim.ws_connections() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reconciles the route's balances against a fresh snapshot (the call blocks, so it runs off
/// the runtime's thread) and gives the route back.
pub async fn reconcile(
    exec: RoutedExecution,
) -> (Result<wintermute_router::balances::BalanceReconciliation, BalanceReconcileError>, RoutedExecution) {
    tokio::task::spawn_blocking(move || (exec.reconcile_balances(Duration::from_secs(5)), exec)).await.unwrap()
}

/// Reconciles and checks that the route's balances were the venue's (`why` says how the route
/// learned everything): no difference, and nothing refused, resynced or found different since
/// the start. The balances' counts, for more checks.
pub async fn reconcile_finds_nothing(exec: RoutedExecution, why: &str) -> (BalanceStats, RoutedExecution) {
    let (r, exec) = reconcile(exec).await;
    assert_eq!(r.unwrap().differences, vec![], "{why}");
    let stats = exec.balances().unwrap().stats();
    assert_eq!((stats.refused, stats.forced_resyncs, stats.reconcile_differences), (0, 0, 0));
    (stats, exec)
}

/// Reconciles after the venue's `asset` changed unseen: the one difference is `asset`,
/// tracked as (`tracked_free`, 0), with the venue's free `venue_free`; the snapshot is adopted
/// and counted as a difference, not a forced resync. The difference, for more checks.
pub async fn reconcile_finds_one(
    exec: RoutedExecution,
    asset: &str,
    tracked_free: &str,
    venue_free: &str,
) -> (BalanceDifference, RoutedExecution) {
    let (r, exec) = reconcile(exec).await;
    let r = r.unwrap();
    assert!(!r.was_unknown);
    assert_eq!(r.differences.len(), 1, "{r:?}");
    let d = r.differences[0].clone();
    assert_eq!(d.asset, asset);
    assert_eq!(d.tracked, Some((dec(tracked_free), Decimal::ZERO)));
    assert_eq!(d.venue.map(|(free, _)| free), Some(dec(venue_free)));
    let b = exec.balances().unwrap();
    assert_eq!(b.free(asset), Some(dec(venue_free)), "the snapshot is adopted");
    assert_eq!((b.stats().reconcile_differences, b.stats().forced_resyncs), (1, 0));
    (d, exec)
}

/// Waits (at most 5 s) until nothing is reserved and the route's (free, locked) of `assets`
/// are what `venue` says the venue holds of them (in the same order).
pub async fn settled<F: std::future::Future<Output = Vec<(String, String)>>>(
    exec: &RoutedExecution,
    assets: &[&str],
    venue: impl Fn() -> F,
) -> AccountBalances {
    for _ in 0..500 {
        let theirs = venue().await;
        if let Some(b) = exec.balances().filter(|b| !b.resync_due()) {
            let ours: Vec<(String, String)> = assets.iter().map(|a| free_locked(&b, a)).collect();
            if ours == theirs && exec.reserved() == Reserve::default() {
                return b;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never settled: reserved={:?} balances={:?}", exec.reserved(), exec.balances());
}

//! A Coinbase route's account balances end to end, over 127.0.0.1: Coinbase has no balance
//! stream, so the route (`CoinbaseRoute` under the market maker's `RoutedExecution`) polls
//! `GET /api/v3/brokerage/accounts` every second, and each order's reservation bridges the gap
//! until a poll requested after its acknowledgment shows its hold. An order the free balance
//! less the reservations cannot cover is refused before it is sent; a deposit and a fill show
//! at the next poll; a reconciliation reports what changed since the last. The simulator checks
//! funds (a buy holds its fee too); the book is the recorded BAND-GBP (best bid 14.7693, best
//! ask 14.8024).

mod coinbase_common;
mod execution_common;
mod funds_common;

use std::time::Duration;

use coinbase_common::*;
use execution_common::{events_until, new_order};
use funds_common::{balances_until, free_locked, reconcile_finds_nothing, reconcile_finds_one};
use wintermute_core::decimal::Decimal;
use wintermute_mm::execution::{ExecError, ExecEvent, Execution, OrderTif};
use wintermute_mm::types::{Side as MmSide, VenueId};
use wintermute_router::balances::AccountBalances;
use wintermute_router::coinbase::route::CoinbaseRoute;
use wintermute_router::coinbase::sim::CoinbaseSim;
use wintermute_router::coinbase::user_ws::CoinbaseUserWs;
use wintermute_router::execution_adapter::{RoutedExecution, RoutedExecutionConfig};
use wintermute_router::reservations::Reserve;
use wintermute_router::signing::CoinbaseJwtSigner;

fn run<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), f).await.expect("the test finished in 30 s") })
}

fn dec(text: &str) -> Decimal {
    Decimal::parse(text).unwrap()
}

/// A simulator checking funds with these balances, and the route over it.
async fn route(balances: &[(&str, &str)], reconcile_every: Duration) -> (CoinbaseSim, RoutedExecution) {
    let key = pkcs8();
    let (mut sim, rest) = sim_and_client(&key, |cfg| {
        cfg.check_funds = true;
        cfg.balances = balances.iter().map(|(a, b)| ((*a).to_owned(), dec(b))).collect();
    })
    .await;
    let ws_addr = sim.start_ws().await.unwrap();
    let channel = CoinbaseUserWs::new(ws_addr, CoinbaseJwtSigner::new(KEY_NAME, &key).unwrap(), vec![product()]);
    let config = RoutedExecutionConfig {
        venue: VenueId::External(2),
        instrument: product().instrument,
        assets: ("BAND".into(), "GBP".into()),
        reconcile_every,
        in_flight: 16,
        check_balances: true,
    };
    (sim, RoutedExecution::spawn(CoinbaseRoute::new(rest, channel), config).unwrap())
}

fn venue_free_locked(sim: &CoinbaseSim, asset: &str) -> (String, String) {
    let all = sim.balances_of(KEY_NAME);
    let b = all.iter().find(|(a, _)| a == asset).map(|(_, b)| *b).unwrap();
    (b.available.normalized().to_string(), b.held.normalized().to_string())
}

/// GBP in the instrument's notional units (tick × lot: 0.0001 × 0.01 = 1e-6 GBP).
fn gbp(price: &str, qty: &str) -> i64 {
    ticks(price) * lots(qty)
}

/// Waits (at most 5 s: a poll a second) until nothing is reserved and the route's balances are
/// the venue's.
async fn settled(exec: &RoutedExecution, sim: &CoinbaseSim) -> AccountBalances {
    let assets = ["BAND", "GBP"];
    funds_common::settled(exec, &assets, || std::future::ready(assets.map(|a| venue_free_locked(sim, a)).to_vec()))
        .await
}

#[test]
fn the_route_polls_the_accounts_and_its_reservations_bridge_the_gap() {
    run(async {
        let (sim, mut exec) = route(&[("GBP", "1000"), ("BAND", "100")], Duration::from_millis(10)).await;
        let b = balances_until(&exec, |b| !b.resync_due()).await;
        assert_eq!(free_locked(&b, "GBP"), ("1000".into(), "0".into()));
        assert_eq!(free_locked(&b, "BAND"), ("100".into(), "0".into()));

        // 100 BAND at 14.7000 is 1470 GBP; 1000 GBP covers 68.02 BAND.
        let e = exec.submit(0, &new_order(1, MmSide::Buy, ticks("14.7000"), lots("100"), OrderTif::Gtc)).unwrap_err();
        assert!(matches!(e, ExecError::InsufficientBalance { coverable, .. } if coverable == lots("68.02")), "{e}");
        let e = exec.submit(0, &new_order(2, MmSide::Sell, ticks("14.9000"), lots("150"), OrderTif::Gtc)).unwrap_err();
        assert!(matches!(e, ExecError::InsufficientBalance { coverable, .. } if coverable == lots("100")), "{e}");

        // A buy rests: reserved from `submit`, then released by the first poll that shows its hold.
        exec.submit(0, &new_order(3, MmSide::Buy, ticks("14.7000"), lots("10"), OrderTif::Gtc)).unwrap();
        assert_eq!(exec.reserved(), Reserve { base_lots: 0, quote_units: gbp("14.7000", "10") });
        let e = exec.submit(0, &new_order(4, MmSide::Buy, ticks("14.7000"), lots("60"), OrderTif::Gtc)).unwrap_err();
        // 853 GBP available: 58.02 BAND.
        assert!(matches!(e, ExecError::InsufficientBalance { coverable, .. } if coverable == lots("58.02")), "{e}");
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
        assert!(events.iter().all(|e| e.client_id() == 3), "nothing of the refused orders was sent: {events:?}");
        let b = settled(&exec, &sim).await;
        assert!(b.get("GBP").unwrap().locked > dec("147"), "the hold, its fee included: {b:?}");

        // A deposit, then a fill: each at the next poll.
        sim.set_balance_of(KEY_NAME, "GBP", dec("1100"));
        let b = settled(&exec, &sim).await;
        let g = b.get("GBP").unwrap();
        assert_eq!(g.free.raw() + g.locked.raw(), dec("1100").raw());
        sim.trade_at("BAND-GBP", "14.7000", "10").unwrap();
        let b = settled(&exec, &sim).await;
        assert_eq!(free_locked(&b, "BAND"), ("110".into(), "0".into()));
        let (stats, _exec) = reconcile_finds_nothing(exec, "the polls told the route everything").await;
        assert!(stats.snapshots >= 4, "{stats:?}");
    });
}

#[test]
fn a_reconciliation_reports_what_changed_since_the_last_poll() {
    run(async {
        // No idle ticks: the route polls only when it works.
        let (sim, exec) = route(&[("GBP", "1000")], Duration::from_secs(3600)).await;
        balances_until(&exec, |b| !b.resync_due()).await;
        sim.set_balance_of(KEY_NAME, "GBP", dec("1025.5"));
        let (d, _exec) = reconcile_finds_one(exec, "GBP", "1000", "1025.5").await;
        assert_eq!(d.venue, Some((dec("1025.5"), dec("0"))));
    });
}

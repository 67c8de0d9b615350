//! A Coinbase route's account balances end to end, over 127.0.0.1: Coinbase has no balance
//! stream, so the route (`CoinbaseRoute` under the market maker's `RoutedExecution`) polls
//! `GET /api/v3/brokerage/accounts` every second, and each order's reservation bridges the gap
//! until a poll requested after its acknowledgment shows its hold. An order the free balance
//! less the reservations cannot cover is refused before it is sent; a deposit and a fill show
//! at the next poll; a reconciliation reports what changed since the last. The simulator checks
//! funds (a buy holds its fee too, at the 0.6 % taker fee it charges, and so does the route's
//! check); the book is the recorded BAND-GBP (best bid 14.7693, best ask 14.8024).

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

/// The simulator's taker fee, 0.6 %, in millionths: what it holds of a buy's fee.
const SIM_FEE_PPM: u32 = 6_000;

fn insufficient(e: ExecError) -> (u64, i64, i64) {
    match e {
        ExecError::InsufficientBalance { client_id, qty, coverable, .. } => (client_id, qty, coverable),
        other => panic!("not a refusal for funds: {other:?}"),
    }
}

/// A simulator checking funds with these balances (charging a 0.6 % fee), and the route over
/// it, knowing that fee.
async fn route(balances: &[(&str, &str)], reconcile_every: Duration) -> (CoinbaseSim, RoutedExecution) {
    route_paying(balances, reconcile_every, Some(SIM_FEE_PPM)).await
}

/// The same, the route's client told this taker fee (`None`: Coinbase's default).
async fn route_paying(
    balances: &[(&str, &str)],
    reconcile_every: Duration,
    taker_fee_ppm: Option<u32>,
) -> (CoinbaseSim, RoutedExecution) {
    let key = pkcs8();
    let (mut sim, mut rest) = sim_and_client(&key, |cfg| {
        cfg.check_funds = true;
        cfg.fee_rate = dec("0.006");
        cfg.balances = balances.iter().map(|(a, b)| ((*a).to_owned(), dec(b))).collect();
    })
    .await;
    rest.set_taker_fee_ppm(taker_fee_ppm);
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

        // 100 BAND at 14.7000 is 1470 GBP; 1000 GBP covers 67.62 BAND and its 0.6 % fee.
        let e = exec.submit(0, &new_order(1, MmSide::Buy, ticks("14.7000"), lots("100"), OrderTif::Gtc)).unwrap_err();
        assert!(matches!(e, ExecError::InsufficientBalance { coverable, .. } if coverable == lots("67.62")), "{e}");
        let e = exec.submit(0, &new_order(2, MmSide::Sell, ticks("14.9000"), lots("150"), OrderTif::Gtc)).unwrap_err();
        assert!(matches!(e, ExecError::InsufficientBalance { coverable, .. } if coverable == lots("100")), "{e}");

        // A buy rests: reserved from `submit`, then released by the first poll that shows its hold.
        exec.submit(0, &new_order(3, MmSide::Buy, ticks("14.7000"), lots("10"), OrderTif::Gtc)).unwrap();
        // 147 GBP and its 0.882 fee.
        assert_eq!(exec.reserved(), Reserve { base_lots: 0, quote_units: gbp("14.7000", "10") + 882_000 });
        let e = exec.submit(0, &new_order(4, MmSide::Buy, ticks("14.7000"), lots("60"), OrderTif::Gtc)).unwrap_err();
        // 852.118 GBP unreserved: 57.62 BAND and its fee.
        assert!(matches!(e, ExecError::InsufficientBalance { coverable, .. } if coverable == lots("57.62")), "{e}");
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
fn a_buy_counts_the_taker_fee_coinbase_holds_with_it_before_it_is_sent() {
    run(async {
        // 68 BAND at 14.7000 is 999.6 GBP, and its 0.6 % fee 5.9976: 1005.5976 in all. A route
        // that counts no fee sends it, and Coinbase refuses it for funds.
        let (sim, mut blind) = route_paying(&[("GBP", "1000")], Duration::from_millis(10), Some(0)).await;
        balances_until(&blind, |b| !b.resync_due()).await;
        blind.submit(0, &new_order(1, MmSide::Buy, ticks("14.7000"), lots("68"), OrderTif::Gtc)).unwrap();
        let events =
            events_until(&mut blind, |e| e.iter().any(|e| matches!(e, ExecEvent::Rejected { client_id: 1, .. }))).await;
        assert!(!events.iter().any(|e| matches!(e, ExecEvent::Accepted { .. })), "{events:?}");
        assert_eq!(venue_free_locked(&sim, "GBP"), ("1000".into(), "0".into()));
        drop(blind);

        // The route that knows the account's fee refuses it before sending; what it covers, the
        // venue takes, and holds the notional and the fee.
        let (sim, mut exec) = route(&[("GBP", "1000")], Duration::from_millis(10)).await;
        balances_until(&exec, |b| !b.resync_due()).await;
        let e = exec.submit(0, &new_order(2, MmSide::Buy, ticks("14.7000"), lots("68"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(insufficient(e), (2, lots("68"), lots("67.62")));
        exec.submit(0, &new_order(3, MmSide::Buy, ticks("14.7000"), lots("67.62"), OrderTif::Gtc)).unwrap();
        let events =
            events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 3, .. }))).await;
        assert!(events.iter().all(|e| e.client_id() == 3), "{events:?}");
        // 994.014 GBP and its 5.964084 fee: the route reserved all of it.
        assert_eq!(venue_free_locked(&sim, "GBP"), ("0.021916".into(), "999.978084".into()));
        assert_eq!(exec.reserved(), Reserve { base_lots: 0, quote_units: 999_978_084 });
        drop(exec);

        // A route that does not know the account's fee assumes Coinbase's default taker fee
        // (1.20 %, the entry tier's): 1000 GBP covers 67.22 BAND at 14.7000 with it.
        let (_sim, mut exec) = route_paying(&[("GBP", "1000")], Duration::from_millis(10), None).await;
        balances_until(&exec, |b| !b.resync_due()).await;
        let e = exec.submit(0, &new_order(4, MmSide::Buy, ticks("14.7000"), lots("68"), OrderTif::Gtc)).unwrap_err();
        assert_eq!(insufficient(e), (4, lots("68"), lots("67.22")));
        exec.submit(0, &new_order(5, MmSide::Buy, ticks("14.7000"), lots("67.22"), OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 5, .. }))).await;
        assert_eq!(exec.reserved(), Reserve { base_lots: 0, quote_units: 999_991_608 });
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

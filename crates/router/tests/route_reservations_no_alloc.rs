//! A Binance route's and a Kraken route's `submit` checks an order against the free balance less the reservations
//! and reserves for it with atomics: after warm-up, new orders (accepted or refused for funds),
//! amends up and down, replaces and cancels allocate nothing on the caller's thread (the
//! counting allocator counts only the test's own thread; the route's worker and the simulator
//! allocate when they like, and the simulator does not run while the calls are counted).

mod common;
mod execution_common;
mod funds_common;
mod kraken_common;
mod kraken_route_common;
mod route_balances_common;

use std::time::Duration;

use common::*;
use execution_common::events_until;
use route_balances_common::*;
use wintermute_mm::execution::{ExecCommand, ExecError, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif};
use wintermute_mm::types::Side as MmSide;
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::reservations::Reserve;
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// One round from client id `id0` (prices and quantities read beforehand: `l` is 0.001 BTC,
/// `big` 1 BTC, `price` 57000.00): what the calls answered (accepted, refused for funds).
fn round(exec: &mut RoutedExecution, id0: u64, events: &mut ExecEvents, [price, l, big]: [i64; 3]) -> (u32, u32) {
    let (mut accepted, mut refused) = (0, 0);
    let mut count = |r: Result<(), ExecError>| match r {
        Ok(()) => accepted += 1,
        Err(ExecError::InsufficientBalance { .. }) => refused += 1,
        Err(e) => panic!("{e:?}"),
    };
    let buy = |id, qty| OrderRequest { client_id: id, side: MmSide::Buy, price, qty, tif: OrderTif::Gtc };
    count(exec.submit(0, &ExecCommand::New(buy(id0, l))));
    for k in 1..50 {
        count(exec.submit(0, &ExecCommand::New(buy(id0 + k, big))));
    }
    count(exec.submit(0, &ExecCommand::Amend { client_id: id0, new_qty: 2 * l }));
    count(exec.submit(0, &ExecCommand::Amend { client_id: id0, new_qty: big }));
    count(exec.replace(0, id0, &buy(id0 + 50, 3 * l)));
    count(exec.submit(0, &ExecCommand::Cancel { client_id: id0 + 50 }));
    events.clear();
    exec.poll(0, events);
    (accepted, refused)
}

#[test]
fn checking_and_reserving_in_submit_allocates_nothing() {
    run(async {
        let sim = funded_sim(&[("USDT", "1000")]).await;
        let exec = route(&sim, Duration::from_millis(10));
        rounds_allocate_nothing(exec, [ticks("57000"), lots("0.001"), lots("1")]).await;
    });
}

#[test]
fn checking_and_reserving_in_submit_allocates_nothing_on_a_kraken_route() {
    run(async {
        let sim = kraken_route_common::funded_kraken(&[("ZUSD", "1000")]).await;
        let exec = kraken_route_common::kraken_route(&sim, Duration::from_millis(10));
        let k = |p: &str, l: &str, b: &str| [kraken_common::ticks(p), kraken_common::lots(l), kraken_common::lots(b)];
        rounds_allocate_nothing(exec, k("57000", "0.001", "1")).await;
    });
}

/// 20 rounds (the first a warm-up): none allocates on the caller's thread, and every round's
/// reservations are released before the next.
async fn rounds_allocate_nothing(mut exec: RoutedExecution, grid: [i64; 3]) {
    {
        balances_until(&exec, |b| !b.resync_due()).await;
        let mut events = ExecEvents::new();
        let (mut accepted, mut refused, mut allocations) = (0, 0, 0);
        for r in 0..20u64 {
            let mut answers = (0, 0);
            let n = alloc::count(|| answers = round(&mut exec, 1 + r * 100, &mut events, grid));
            if r > 0 {
                allocations += n;
            }
            accepted += answers.0;
            refused += answers.1;
            // The venue answers; everything ends and is released before the next round.
            let end = 1 + r * 100 + 50;
            events_until(&mut exec, |e| {
                e.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id, .. } if *client_id == end))
            })
            .await;
            for _ in 0..500 {
                if exec.reserved() == Reserve::default() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(exec.reserved(), Reserve::default());
        }
        assert!(accepted >= 20 * 4 && refused >= 20 * 49, "accepted={accepted} refused={refused}");
        assert_eq!(allocations, 0);
    }
}

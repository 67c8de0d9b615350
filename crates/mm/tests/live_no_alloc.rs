//! After warm-up, the live path allocates nothing per event on the market maker's thread: an
//! external book update, the decision, the commands through the gateway, and reading our
//! venue's answers (acks, cancels, fills) from the subscription. The counting allocator counts
//! only this test's thread (the pipeline's own threads are the engine's business, tested there).

mod support;

use wintermute_core::{Command, NewOrder, Side};
use wintermute_mm::types::VenueId;
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// `n` rounds: the external book moves (a requote: cancels and places through risk), every
/// 4th round another trader lifts our ask, and we read until nothing is in flight.
fn rounds(r: &mut support::Rig, from: usize, n: usize) {
    let mid_at = |i: usize| 1_000 + 2 * (i as i64 % 50);
    for i in from..from + n {
        let (old, mid) = (mid_at(i.wrapping_sub(1)), mid_at(i));
        let now = r.now();
        // The side moving away from the other first, so the book is never crossed.
        let order = if mid > old { [Side::Sell, Side::Buy] } else { [Side::Buy, Side::Sell] };
        for side in order {
            let (new_price, old_price) = match side {
                Side::Buy => (mid - 1, old - 1),
                Side::Sell => (mid + 1, old + 1),
            };
            r.mm.on_level(now, VenueId::External(0), side, new_price, 5).unwrap();
            if old_price != new_price {
                r.mm.on_level(now, VenueId::External(0), side, old_price, 0).unwrap();
            }
        }
        r.settle();
        if i % 4 == 0 {
            // Our quotes rest and nothing is in flight: the market order fills against them.
            let side = if i % 8 == 0 { Side::Buy } else { Side::Sell };
            let fills = r.mm.counters().fills;
            r.other.submit(0, Command::New(NewOrder::market(i as u64 + 1, support::OTHER, side, 1))).unwrap();
            r.poll_until(|m| m.counters().fills > fills);
            r.settle();
        }
    }
}

#[test]
fn the_live_path_allocates_nothing_per_event_after_warm_up() {
    let mut r = support::rig(true);
    rounds(&mut r, 0, 300);
    alloc::reset();
    alloc::arm_thread();
    rounds(&mut r, 300, 2_000);
    alloc::disarm_thread();
    let allocations = alloc::allocations();
    let c = r.mm.counters();
    assert!(c.commands > 4_000 && c.fills == 575, "the rounds did work: {c:?}");
    assert_eq!(allocations, 0, "allocations on the market maker's thread: {c:?}");
    assert!(r.mm.venue().open_orders() <= 2, "only the live quotes are held open: {}", r.mm.venue().open_orders());
}

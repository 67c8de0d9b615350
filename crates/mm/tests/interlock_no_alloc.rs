//! The interlock allocates nothing per event: after `Interlock::new`, a long mixed sequence of
//! book updates, sync-state changes, resyncs, feed events, timer checks, risk and kill-switch calls and stats
//! reads makes no heap allocation (a counting global allocator; this file is its own binary). Only
//! the test's own thread is counted: the test harness's thread may allocate meanwhile.

use wintermute_feeds::sync::{FeedEvent, ResyncReason, SyncState};
use wintermute_mm::interlock::{Interlock, InterlockConfig};
use wintermute_mm::types::{Level, Top, VenueId};
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn no_interlock_event_allocates() {
    let cfg = InterlockConfig { venues: 3, stale_after_ns: 1_000, cross_threshold_ticks: 1 };
    let mut lock = Interlock::new(cfg, 0).unwrap();
    let (mut transitions, mut allowed) = (0u64, 0u64);
    alloc::arm_thread();
    for step in 0..100_000i64 {
        let v = VenueId::External((step % 3) as u8);
        let now = step * 100;
        let price = 1_000 + (step / 7) % 5;
        let top = Top { bid: Level { price, qty: 1 }, ask: Level { price: price + 2, qty: 1 }, ts_ns: now };
        let event = match step % 50 {
            0 => lock.on_resync(v, now, ResyncReason::Gap).unwrap(),
            1..=3 => lock.on_sync_state(v, now, SyncState::Live).unwrap(),
            10 => lock.set_kill_switch(now, step % 100 == 10),
            20 => lock.set_risk_block(now, step % 200 == 20),
            30 => lock.on_timer(now + 5_000),
            40 => lock.on_feed_event(v, now, &FeedEvent::Ignored, Some(top)).unwrap(),
            _ => lock.on_book(v, now, top).unwrap(),
        };
        transitions += u64::from(event.is_some());
        allowed += u64::from(lock.quoting_allowed());
        std::hint::black_box(lock.stats(now));
    }
    alloc::disarm_thread();
    assert_eq!(alloc::allocations(), 0);
    assert!(transitions > 1_000 && allowed > 10_000, "the sequence exercises both states: {transitions} {allowed}");
}

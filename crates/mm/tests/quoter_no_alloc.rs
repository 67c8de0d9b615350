//! The pricing path allocates nothing after warm-up: thousands of venue tops, trades, fills and
//! quote decisions through [`Pricer`] (fair value, EWMA volatility, fitted intensities, GLFT,
//! the quoter) run under a counting global allocator that must count zero.
//!
//! The counter is armed per thread (a thread-local flag), so the test harness's own threads
//! (its output capture, its timer) never count: only what this test's thread allocates while armed.

use wintermute_core::rng::SplitMix64;
use wintermute_mm::config::PricingConfig;
use wintermute_mm::pricer::Pricer;
use wintermute_mm::quote_actions::{ActionBuffer, QuoteAction};
use wintermute_mm::quoter::Decision;
use wintermute_mm::types::{Level, Side, Top, VenueId};
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Three venues (one with a measured basis), GLFT, EWMA volatility, fitted intensities, three
/// levels per side (as the pricing benchmark's).
const CONFIG: &str = include_str!("data/pricing_glft_three_venues.json");

/// Drives `steps` events from `start_ns`; returns (decisions that requoted, pulls, actions).
fn drive(
    pricer: &mut Pricer,
    rng: &mut SplitMix64,
    out: &mut ActionBuffer,
    start_ns: i64,
    steps: i64,
) -> (u64, u64, u64) {
    let (mut requotes, mut pulls, mut actions) = (0, 0, 0);
    let mut inventory = 0i64;
    let mut mid = 6_000_000i64;
    for step in 0..steps {
        let now = start_ns + step * 1_000_000; // one event per millisecond
        mid += rng.range(-2, 2);
        let venue = rng.below(3) as u8;
        // Every 5000 steps, a 100 ms silence of every venue makes the fair value stale (the
        // quoter pulls, then quotes again when the venues are back).
        if step % 5000 < 4900 {
            let basis = if venue == 1 { 350 } else { 0 };
            let spread = rng.range(1, 4);
            let top = Top {
                bid: Level { price: mid + basis - spread, qty: rng.range(1, 500) },
                ask: Level { price: mid + basis + spread, qty: rng.range(1, 500) },
                ts_ns: now,
            };
            pricer.on_top(VenueId::External(venue), top).unwrap();
            if rng.chance(0.3) {
                let aggressor = rng.side();
                let depth = rng.exp(3.0);
                let price = if aggressor == Side::Buy { mid + depth } else { mid - depth };
                pricer.on_trade(now, aggressor, price);
            }
        }
        match pricer.decide(now, inventory, None, out).unwrap() {
            Decision::Requoted(_) => requotes += 1,
            Decision::Pulled => pulls += 1,
            Decision::Held => {}
        }
        actions += out.len() as u64;
        // Now and then the best bid or ask fills in part.
        if rng.chance(0.02) {
            let side = rng.side();
            if let Some(l) = pricer.quoter().resting(side, 0) {
                let qty = rng.range(1, l.qty);
                pricer.on_fill(side, 0, qty).unwrap();
                inventory += if side == Side::Buy { qty } else { -qty };
            }
        }
        // Keep the slice in use, as a caller would.
        for a in out.as_slice() {
            if let QuoteAction::Place { qty, .. } = a {
                assert!(*qty > 0);
            }
        }
    }
    (requotes, pulls, actions)
}

#[test]
fn the_pricing_path_allocates_nothing_after_warm_up() {
    let mut cfg = PricingConfig::from_json(CONFIG).unwrap();
    // Tops stale after 50 ms, so that the walk's 100 ms silences make the fair value stale.
    for venue in &mut cfg.venues {
        venue.stale_after_ms = 50;
    }
    let mut pricer = Pricer::from_config(&cfg).unwrap();
    let mut out = ActionBuffer::for_levels(pricer.levels());
    let mut rng = SplitMix64::new(7);
    // Warm-up: one simulated second.
    drive(&mut pricer, &mut rng, &mut out, 1_700_000_000_000_000_000, 1_000);

    alloc::reset();
    alloc::arm_thread();
    let (requotes, pulls, actions) = drive(&mut pricer, &mut rng, &mut out, 1_700_000_001_000_000_000, 50_000);
    alloc::disarm_thread();

    assert_eq!(alloc::allocations(), 0, "allocations on the pricing path");
    // The run did exercise the path: many requotes, the stale gaps pulled, thousands of actions.
    assert!(requotes > 1_000, "requotes {requotes}");
    assert!(pulls >= 9, "pulls {pulls}");
    assert!(actions > 5_000, "actions {actions}");
    eprintln!("50000 events: {requotes} requotes, {pulls} pulls, {actions} actions, 0 allocations");

    // The counter does count: an allocation while armed is seen.
    alloc::arm_thread();
    let boxed = std::hint::black_box(Box::new(out.len()));
    alloc::disarm_thread();
    drop(boxed);
    assert!(alloc::allocations() >= 1);
}

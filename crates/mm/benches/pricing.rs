//! Pricing benchmarks: the cost of one market-data event on the quoting path.
//!
//! - `pricing/top_and_decide`: one venue's new top into the fair value (three venues, one with a
//!   measured basis) and the EWMA volatility, then one quote decision (GLFT, fitted intensities
//!   on both sides, three levels per side), actions into a reused buffer. Tops come from a
//!   seeded random walk, so some decisions hold and some requote.
//! - `pricing/fair_value`: the consolidated fair value of three fresh venues alone.
//! - `pricing/decide_held`: a decision with no trigger (the common case between moves).
//!
//! Run briefly: `cargo bench -p wintermute-mm --bench pricing -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use wintermute_core::rng::SplitMix64;
use wintermute_mm::config::PricingConfig;
use wintermute_mm::pricer::Pricer;
use wintermute_mm::quote_actions::ActionBuffer;
use wintermute_mm::types::{Level, Side, Top, VenueId};

/// Three venues (one with a measured basis), GLFT, EWMA volatility, fitted intensities, three
/// levels per side; each venue's top stale after 1 s.
const CONFIG: &str = include_str!("../tests/data/pricing_glft_three_venues.json");

const N: usize = 1 << 16;

/// `N` (venue, top) events 100 µs apart from a random walk, and a pricer warmed on them
/// (trades recorded on both sides so the intensities are fitted).
fn setup() -> (Pricer, Vec<(u8, Top)>) {
    let mut pricer = Pricer::from_config(&PricingConfig::from_json(CONFIG).unwrap()).unwrap();
    let mut rng = SplitMix64::new(3);
    let mut mid = 6_000_000i64;
    let mut events = Vec::with_capacity(N);
    for i in 0..N {
        if rng.chance(0.2) {
            mid += rng.range(-1, 1);
        }
        let venue = rng.below(3) as u8;
        let basis = if venue == 1 { 350 } else { 0 };
        let spread = rng.range(1, 3);
        let ts_ns = i as i64 * 100_000;
        events.push((
            venue,
            Top {
                bid: Level { price: mid + basis - spread, qty: rng.range(1, 500) },
                ask: Level { price: mid + basis + spread, qty: rng.range(1, 500) },
                ts_ns,
            },
        ));
    }
    for (venue, top) in &events {
        pricer.on_top(VenueId::External(*venue), *top).unwrap();
        let depth = rng.exp(3.0);
        pricer.on_trade(top.ts_ns, Side::Buy, mid + depth);
        pricer.on_trade(top.ts_ns, Side::Sell, mid - depth);
    }
    (pricer, events)
}

fn pricing(c: &mut Criterion) {
    let mut g = c.benchmark_group("pricing");
    let (mut pricer, events) = setup();
    let mut out = ActionBuffer::for_levels(pricer.levels());
    let span = events.last().unwrap().1.ts_ns + 100_000;
    let (mut i, mut lap) = (0usize, 1i64);
    g.bench_function("top_and_decide", |b| {
        b.iter(|| {
            let (venue, mut top) = events[i];
            top.ts_ns += lap * span; // time keeps moving forward across laps
            i += 1;
            if i == N {
                i = 0;
                lap += 1;
            }
            pricer.on_top(VenueId::External(venue), top).unwrap();
            black_box(pricer.decide(top.ts_ns, 0, None, &mut out).unwrap());
        })
    });
    let now = lap * span + events[i].1.ts_ns;
    g.bench_function("fair_value", |b| b.iter(|| black_box(pricer.fair_value_engine().fair_value(black_box(now)))));
    pricer.decide(now, 0, None, &mut out).unwrap();
    g.bench_function("decide_held", |b| {
        b.iter(|| black_box(pricer.decide(black_box(now), 0, None, &mut out).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, pricing);
criterion_main!(benches);

//! How long one interlock event and one participants step take (ignored: a measurement, not a
//! check; run with `cargo test --release -p wintermute-mm --test interlock_speed -- --ignored
//! --nocapture`).

use std::time::Instant;

use wintermute_core::{InstrumentSpec, OrderBook};
use wintermute_feeds::synthetic::latent::{LatentParams, LatentPath};
use wintermute_mm::interlock::{Interlock, InterlockConfig};
use wintermute_mm::participants::{run_on_book, LatentTicks, Participants, ParticipantsConfig};
use wintermute_mm::types::{Level, Top, VenueId};

#[test]
#[ignore = "a measurement; run in release"]
fn measure_interlock_event_and_participants_step_cost() {
    let cfg = InterlockConfig { venues: 3, stale_after_ns: 1_000_000_000, cross_threshold_ticks: 2 };
    let mut lock = Interlock::new(cfg, 0).unwrap();
    for i in 0..3u8 {
        lock.on_sync_state(VenueId::External(i), 0, wintermute_feeds::sync::SyncState::Live).unwrap();
    }
    let n = 10_000_000i64;
    let started = Instant::now();
    let mut transitions = 0u64;
    for step in 0..n {
        let price = 100_000 + (step >> 4) % 7;
        let top = Top { bid: Level { price, qty: 1 }, ask: Level { price: price + 2, qty: 1 }, ts_ns: step };
        let event = lock.on_book(VenueId::External((step % 3) as u8), step * 1_000, top).unwrap();
        transitions += u64::from(event.is_some());
    }
    let per_event = started.elapsed().as_nanos() as f64 / n as f64;
    eprintln!("interlock: {per_event:.1} ns per book event, 3 venues ({transitions} transitions)");

    let spec = InstrumentSpec::from_decimals("BTC-USD", "0.01", "1", "1", "1000", "1", "1000000").unwrap();
    let start = 1_700_000_000_000_000_000;
    let latent = LatentTicks::new(LatentPath::new(LatentParams::new(1)), start, 1_000_000).unwrap();
    let mut p = Participants::new(ParticipantsConfig::new(1, start), &spec, latent).unwrap();
    let mut book = OrderBook::new(spec);
    let started = Instant::now();
    let summary = run_on_book(&mut p, &mut book, start + 3_600_000_000_000, |_, _| {});
    let per_command = started.elapsed().as_nanos() as f64 / summary.commands as f64;
    eprintln!(
        "participants on the book: {} commands ({} trades) for one simulated hour, {per_command:.0} ns per command",
        summary.commands, summary.trades
    );
}

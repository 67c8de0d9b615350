//! After warm-up, the execution path (submit, market data, poll on the simulated venue) and the
//! metrics (PnL, markouts, fill stats, queue error stats) allocate nothing per event. The counting
//! allocator counts only the test's own thread (the harness's threads allocate when they like).

use wintermute_mm::execution::{ExecCommand, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::metrics::fills::QuoteState;
use wintermute_mm::metrics::pnl::{FillRole, Mark};
use wintermute_mm::metrics::TradingMetrics;
use wintermute_mm::queue::{QueueErrorStats, QueueModel};
use wintermute_mm::sim_venue::{SimVenue, SimVenueConfig};
use wintermute_mm::types::{Level, Side, VenueId};
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// One round of a market maker's life on a simulated venue, starting at `t0`.
fn round(
    t0: i64,
    id0: u64,
    venue: &mut SimVenue,
    metrics: &mut TradingMetrics,
    errors: &mut QueueErrorStats,
    events: &mut ExecEvents,
) -> u64 {
    let mut fills = 0;
    let quote =
        |id, side, price| ExecCommand::New(OrderRequest { client_id: id, side, price, qty: 3, tif: OrderTif::Gtc });
    venue.submit(t0, &quote(id0, Side::Buy, 99)).unwrap();
    venue.submit(t0, &quote(id0 + 1, Side::Sell, 101)).unwrap();
    venue
        .submit(
            t0 + 1,
            &ExecCommand::New(OrderRequest {
                client_id: id0 + 2,
                side: Side::Buy,
                price: 102,
                qty: 2,
                tif: OrderTif::Ioc,
            }),
        )
        .unwrap();
    metrics.fills.on_order(3);
    metrics.fills.on_order(3);
    for k in 0..20i64 {
        let t = t0 + 10 + k * 1_000_000;
        venue.on_level(t, Side::Buy, 99 - k % 3, 5 + k % 4).unwrap();
        venue.on_level(t, Side::Sell, 101 + k % 3, 5 + k % 5).unwrap();
        venue.on_trade(t, 101, 2, Side::Buy).unwrap();
        venue.on_trade(t, 99, 2, Side::Sell).unwrap();
        events.clear();
        venue.poll(t, events);
        let fair = Mark::from_ticks_f64(100.0 + (k % 7) as f64 * 0.1).unwrap();
        metrics.pnl.on_mark(fair);
        metrics.markouts.on_market(t, 100.0, fair.to_ticks_f64());
        metrics.fills.on_quote_state(t, QuoteState { bid_live: true, ask_live: k % 2 == 0, ..Default::default() });
        for e in events.iter() {
            if let ExecEvent::Filled { fill, .. } = *e {
                fills += 1;
                metrics.pnl.on_fill(&fill, FillRole::Quote, fair);
                metrics.markouts.on_fill(fill.ts_ns, fill.side, fill.price);
                metrics.fills.on_fill(fill.ts_ns, fill.qty, Some(0));
                metrics.fills.on_inventory(fill.ts_ns, metrics.pnl.position());
                errors.record_position(1.5, 1);
                errors.record_outcome(0.4, true);
            }
        }
    }
    // Whatever still rests is canceled (unknown ids are rejected: also events).
    venue.submit(t0 + 30_000_000, &ExecCommand::Cancel { client_id: id0 }).unwrap();
    venue.submit(t0 + 30_000_000, &ExecCommand::Cancel { client_id: id0 + 1 }).unwrap();
    events.clear();
    venue.poll(t0 + 40_000_000, events);
    fills
}

#[test]
fn the_execution_and_metrics_paths_allocate_nothing_after_warm_up() {
    let mut cfg = SimVenueConfig::new(VenueId::External(0), 5, 5, FeeSchedule::new(-10, 50).unwrap());
    cfg.queue_model = QueueModel::power(2.0).unwrap();
    cfg.depth = 8;
    let mut venue = SimVenue::new(cfg).unwrap();
    venue.on_snapshot(0, &[Level { price: 99, qty: 4 }], &[Level { price: 101, qty: 4 }]).unwrap();
    let mut metrics = TradingMetrics::new(Mark::from_ticks(100), 1_024, 256, 1_000);
    let mut errors = QueueErrorStats::new(64);
    let mut events = ExecEvents::new();
    let warm = round(0, 1, &mut venue, &mut metrics, &mut errors, &mut events);
    assert!(warm > 0, "the scenario must produce fills");
    let mut fills = 0;
    let allocations = alloc::count(|| {
        for r in 1..200i64 {
            fills += round(r * 100_000_000, 10 * r as u64, &mut venue, &mut metrics, &mut errors, &mut events);
        }
    });
    assert!(fills > 200, "fills={fills}");
    assert_eq!(allocations, 0);
}

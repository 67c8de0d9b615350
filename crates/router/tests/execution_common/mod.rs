//! Shared set-up of the tests of the market maker's `Execution` interface over a venue client:
//! the adapter on a client, a new-order command, and polling until the events say enough.
#![allow(dead_code)]

use std::time::Duration;

use wintermute_mm::execution::{ExecCommand, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif, RejectReason};
use wintermute_mm::types::{Side, VenueId};
use wintermute_router::execution_adapter::{RoutedExecution, RoutedExecutionConfig};
use wintermute_router::order::Instrument;
use wintermute_router::venue::VenueClient;

/// The adapter over `client` for the market maker's venue `External(venue)`, trading
/// `instrument` (base and quote `assets`), reconciling every 10 ms.
pub fn adapter<C: VenueClient>(client: C, venue: u8, instrument: Instrument, assets: (&str, &str)) -> RoutedExecution {
    let config = RoutedExecutionConfig {
        venue: VenueId::External(venue),
        instrument,
        assets: (assets.0.into(), assets.1.into()),
        reconcile_every: Duration::from_millis(10),
        in_flight: 16,
        check_balances: true,
    };
    RoutedExecution::spawn(client, config).unwrap()
}

/// Polls until `done` holds for the events so far (the simulator runs while this sleeps).
pub async fn events_until(exec: &mut RoutedExecution, done: impl Fn(&[ExecEvent]) -> bool) -> Vec<ExecEvent> {
    let mut all = Vec::new();
    let mut buf = ExecEvents::new();
    for _ in 0..1000 {
        buf.clear();
        exec.poll(0, &mut buf);
        all.extend(buf.iter().copied());
        if done(&all) {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("events never completed: {all:?}");
}

/// A new order of `qty` lots at `price` ticks.
pub fn new_order(client_id: u64, side: Side, price: i64, qty: i64, tif: OrderTif) -> ExecCommand {
    ExecCommand::New(OrderRequest { client_id, side, price, qty, tif })
}

/// Submits a GTC buy (client id 7) of `qty` lots at `price` ticks that the venue refuses for
/// funds, and checks that the market maker sees the refusal as `RejectReason::Risk`.
pub async fn a_funds_refusal_is_risk(exec: &mut RoutedExecution, price: i64, qty: i64) {
    exec.submit(0, &new_order(7, Side::Buy, price, qty, OrderTif::Gtc)).unwrap();
    let events = events_until(exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Rejected { .. }))).await;
    assert!(
        events.iter().any(|e| matches!(e, ExecEvent::Rejected { client_id: 7, reason: RejectReason::Risk, .. })),
        "{events:?}"
    );
}

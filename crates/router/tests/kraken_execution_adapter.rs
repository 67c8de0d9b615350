//! The market maker's `Execution` interface over the Kraken client, against the simulator.

mod common;
mod execution_common;
mod kraken_common;
mod kraken_execution;

use common::run;
use execution_common::{adapter, events_until};
use kraken_common::*;
use kraken_execution::new;
use wintermute_mm::execution::{ExecCommand, ExecEvent, Execution, OrderTif, RejectReason};
use wintermute_mm::types::Side;
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::kraken::sim::KrakenSim;

fn kraken_adapter(sim: &KrakenSim) -> RoutedExecution {
    adapter(client_with(sim, ROOMY), 2, pair().instrument, ("XXBT", "ZUSD"))
}

#[test]
fn an_ioc_hedge_fills_against_the_recorded_kraken_book_and_its_remainder_is_canceled() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut exec = kraken_adapter(&sim);
        kraken_execution::an_ioc_hedge_fills_against_the_book_and_its_remainder_is_canceled(&mut exec).await;
    });
}

#[test]
fn a_crossing_post_only_quote_is_rejected_as_would_cross() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut exec = kraken_adapter(&sim);
        exec.submit(0, &new(2, Side::Buy, "58729.4", "0.01", OrderTif::PostOnly)).unwrap();
        let events = events_until(&mut exec, |e| !e.is_empty()).await;
        assert!(
            matches!(events[0], ExecEvent::Rejected { client_id: 2, reason: RejectReason::WouldCross, .. }),
            "{events:?}"
        );
    });
}

#[test]
fn a_resting_quote_fills_as_maker_is_amended_in_place_and_cancel_reaches_the_venue() {
    run(async {
        let sim = sim_with(roomy).await;
        let mut exec = kraken_adapter(&sim);
        kraken_execution::a_resting_quote_fills_as_maker(&mut exec, &sim).await;
        exec.submit(1, &ExecCommand::Amend { client_id: 3, new_qty: lots("0.1") }).unwrap();
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Amended { .. }))).await;
        assert!(events
            .iter()
            .any(|e| matches!(e, ExecEvent::Amended { client_id: 3, open_qty, .. } if *open_qty == lots("0.1"))));
        assert_eq!(sim.open_order_count(), 1);
        let first = wintermute_router::kraken::ids::uuid_cl_ord_id(3, 0);
        assert_eq!(sim.open_order_qty(&first), Some(lots("0.3")), "amended in place: 0.2 filled + 0.1 open");
        sim.trade_at("XBTUSD", "58740", "1").unwrap();
        let events =
            events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { open_qty: 0, .. }))).await;
        assert!(events.iter().any(|e| matches!(e, ExecEvent::Filled { fill, .. } if fill.qty == lots("0.1"))));
        exec.submit(2, &new(4, Side::Sell, "58750", "0.5", OrderTif::Gtc)).unwrap();
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { client_id: 4, .. }))).await;
        exec.submit(3, &ExecCommand::Cancel { client_id: 4 }).unwrap();
        let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
        assert!(events.iter().any(|e| matches!(e, ExecEvent::Canceled { client_id: 4, .. })), "{events:?}");
        assert_eq!(sim.open_order_count(), 0);
        exec.submit(4, &ExecCommand::Cancel { client_id: 3 }).unwrap();
        let events = events_until(&mut exec, |e| !e.is_empty()).await;
        assert!(matches!(events[0], ExecEvent::Rejected { reason: RejectReason::UnknownOrder, .. }), "{events:?}");
    });
}

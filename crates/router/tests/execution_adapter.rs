//! The market maker's `Execution` interface over the Binance client, against the simulator.

mod binance_execution;
mod common;
mod execution_common;

use binance_execution::{big_weight, new};
use common::*;
use execution_common::{adapter, events_until};
use wintermute_mm::execution::{ExecError, ExecEvent, Execution, OrderTif, RejectReason};
use wintermute_mm::types::{Side, VenueId};
use wintermute_router::binance::sim::BinanceSim;
use wintermute_router::execution_adapter::RoutedExecution;

fn binance_adapter(sim: &BinanceSim) -> RoutedExecution {
    adapter(hmac_client(sim), 1, instrument(), ("BTC", "USDT"))
}

#[test]
fn an_ioc_hedge_fills_against_the_recorded_book_and_its_remainder_is_canceled() {
    run(binance_execution::an_ioc_hedge_fills_against_the_recorded_book_and_its_remainder_is_canceled(binance_adapter));
}

#[test]
fn a_crossing_post_only_quote_is_rejected_as_would_cross() {
    run(async {
        let sim = sim_with(big_weight()).await;
        let mut exec = binance_adapter(&sim);
        exec.submit(0, &new(2, Side::Buy, "58001.04", "0.01", OrderTif::PostOnly)).unwrap();
        let events = events_until(&mut exec, |e| !e.is_empty()).await;
        assert!(
            matches!(events[0], ExecEvent::Rejected { client_id: 2, reason: RejectReason::WouldCross, .. }),
            "{events:?}"
        );
    });
}

#[test]
fn a_resting_quote_reports_maker_fills_found_by_periodic_reconciliation() {
    run(binance_execution::a_resting_quote_reports_maker_fills_found_by_periodic_reconciliation(binance_adapter));
}

#[test]
fn cancel_and_amend_reach_the_venue_and_an_unknown_cancel_is_rejected() {
    run(binance_execution::cancel_and_amend_reach_the_venue_and_an_unknown_cancel_is_rejected(binance_adapter));
}

#[test]
fn local_checks_refuse_bad_quantities_reused_ids_and_time_going_back() {
    run(async {
        let sim = sim_with(big_weight()).await;
        let mut exec = binance_adapter(&sim);
        assert!(matches!(
            exec.submit(5, &new(5, Side::Buy, "57000", "0", OrderTif::Gtc)),
            Err(ExecError::BadQty { .. })
        ));
        exec.submit(5, &new(5, Side::Buy, "57000", "0.01", OrderTif::Gtc)).unwrap();
        assert!(matches!(
            exec.submit(6, &new(5, Side::Buy, "57000", "0.01", OrderTif::Gtc)),
            Err(ExecError::DuplicateClientId { .. })
        ));
        assert!(matches!(
            exec.submit(4, &new(6, Side::Buy, "57000", "0.01", OrderTif::Gtc)),
            Err(ExecError::TimeWentBack { .. })
        ));
        assert_eq!(exec.venue(), VenueId::External(1));
    });
}

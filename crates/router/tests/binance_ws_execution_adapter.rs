//! The market maker's `Execution` interface over the Binance WebSocket API client, against the
//! simulator's WebSocket front: the adapter, reconciliation and cancels run over `VenueClient`
//! unchanged (the client connects on the adapter's worker thread).

mod binance_execution;
mod common;
mod execution_common;

use common::*;
use execution_common::adapter;
use wintermute_router::binance::sim::BinanceSim;
use wintermute_router::execution_adapter::RoutedExecution;

fn binance_adapter(sim: &BinanceSim) -> RoutedExecution {
    adapter(ws_hmac_client(sim), 1, instrument(), ("BTC", "USDT"))
}

#[test]
fn an_ioc_hedge_fills_against_the_recorded_book_and_its_remainder_is_canceled() {
    run(binance_execution::an_ioc_hedge_fills_against_the_recorded_book_and_its_remainder_is_canceled(binance_adapter));
}

#[test]
fn a_resting_quote_reports_maker_fills_found_by_periodic_reconciliation() {
    run(binance_execution::a_resting_quote_reports_maker_fills_found_by_periodic_reconciliation(binance_adapter));
}

#[test]
fn cancel_and_amend_reach_the_venue_and_an_unknown_cancel_is_rejected() {
    run(binance_execution::cancel_and_amend_reach_the_venue_and_an_unknown_cancel_is_rejected(binance_adapter));
}

//! The scenarios of the market maker's `Execution` interface over a Binance client against the
//! simulator that hold on every transport: each test file (`execution_adapter.rs` over REST,
//! `binance_ws_execution_adapter.rs` over the WebSocket API) runs them with its own client.
#![allow(dead_code)]

use super::common::*;
use super::execution_common::{events_until, new_order};
use wintermute_mm::execution::{ExecCommand, ExecEvent, Execution, OrderTif, RejectReason};
use wintermute_mm::types::{Liquidity, Side};
use wintermute_router::binance::sim::{BinanceSim, SimConfig};
use wintermute_router::execution_adapter::RoutedExecution;

/// The adapter over a client of `sim` (the market maker's venue `External(1)`, BTCUSDT).
pub type Adapter = fn(&BinanceSim) -> RoutedExecution;

pub fn new(client_id: u64, side: Side, price: &str, qty: &str, tif: OrderTif) -> ExecCommand {
    new_order(client_id, side, ticks(price), lots(qty), tif)
}

pub fn big_weight() -> impl FnOnce(&mut SimConfig) {
    |cfg| cfg.weight_limit_1m = 100_000_000
}

pub async fn an_ioc_hedge_fills_against_the_recorded_book_and_its_remainder_is_canceled(binance_adapter: Adapter) {
    let sim = sim_with(big_weight()).await;
    let mut exec = binance_adapter(&sim);
    exec.submit(0, &new(1, Side::Buy, "58001.06", "3", OrderTif::Ioc)).unwrap();
    let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
    assert!(matches!(events[0], ExecEvent::Accepted { client_id: 1, .. }), "{events:?}");
    let fills: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Filled { fill, open_qty, .. } => {
                Some((fill.price, fill.qty, *open_qty, fill.liquidity, fill.fee))
            }
            _ => None,
        })
        .collect();
    let first = lots("2.524693");
    let second = lots("0.000532");
    assert_eq!(fills.len(), 2);
    assert_eq!(
        (fills[0].0, fills[0].1, fills[0].2, fills[0].3),
        (ticks("58001.04"), first, lots("3") - first, Liquidity::Taker)
    );
    assert_eq!((fills[1].0, fills[1].1, fills[1].2), (ticks("58001.06"), second, lots("3") - first - second));
    assert!(fills.iter().all(|f| f.4 > 0), "a taker pays a fee");
    let canceled = events.iter().find_map(|e| match e {
        ExecEvent::Canceled { canceled_qty, .. } => Some(*canceled_qty),
        _ => None,
    });
    assert_eq!(canceled, Some(lots("3") - first - second));
}

pub async fn a_resting_quote_reports_maker_fills_found_by_periodic_reconciliation(binance_adapter: Adapter) {
    let sim = sim_with(big_weight()).await;
    let mut exec = binance_adapter(&sim);
    exec.submit(0, &new(3, Side::Sell, "58010", "0.5", OrderTif::Gtc)).unwrap();
    events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
    sim.trade_at("BTCUSDT", "58011", "0.2").unwrap();
    sim.trade_at("BTCUSDT", "58012", "0.3").unwrap();
    let events =
        events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { open_qty: 0, .. }))).await;
    let fills: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Filled { fill, .. } => Some(fill),
            _ => None,
        })
        .collect();
    assert_eq!(fills.iter().map(|f| f.qty).sum::<i64>(), lots("0.5"));
    assert!(fills.iter().all(|f| f.liquidity == Liquidity::Maker && f.price == ticks("58010") && f.order_id == 3));
}

pub async fn cancel_and_amend_reach_the_venue_and_an_unknown_cancel_is_rejected(binance_adapter: Adapter) {
    let sim = sim_with(big_weight()).await;
    let mut exec = binance_adapter(&sim);
    exec.submit(0, &new(4, Side::Buy, "57000", "0.05", OrderTif::Gtc)).unwrap();
    exec.submit(0, &ExecCommand::Amend { client_id: 4, new_qty: lots("0.02") }).unwrap();
    let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Amended { .. }))).await;
    assert!(events
        .iter()
        .any(|e| matches!(e, ExecEvent::Amended { client_id: 4, open_qty, .. } if *open_qty == lots("0.02"))));
    assert_eq!(sim.open_order_count("BTCUSDT"), 1);
    exec.submit(0, &ExecCommand::Cancel { client_id: 4 }).unwrap();
    let events = events_until(&mut exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
    assert!(events
        .iter()
        .any(|e| matches!(e, ExecEvent::Canceled { client_id: 4, canceled_qty, .. } if *canceled_qty == lots("0.02"))));
    assert_eq!(sim.open_order_count("BTCUSDT"), 0);
    exec.submit(0, &ExecCommand::Cancel { client_id: 99 }).unwrap();
    let events = events_until(&mut exec, |e| !e.is_empty()).await;
    assert!(matches!(events[0], ExecEvent::Rejected { client_id: 99, reason: RejectReason::UnknownOrder, .. }));
}

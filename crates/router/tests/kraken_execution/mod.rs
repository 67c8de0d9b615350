//! The Kraken `Execution` steps that hold over both clients (REST and WebSocket v2), against the
//! simulator's recorded XBTUSD book: `kraken_execution_adapter.rs` and
//! `kraken_ws_execution_adapter.rs` each run them on an adapter over their own client.
#![allow(dead_code)]

use super::execution_common::{events_until, new_order};
use super::kraken_common::{lots, ticks};
use wintermute_mm::execution::{ExecCommand, ExecEvent, Execution, OrderTif};
use wintermute_mm::types::{Liquidity, Side};
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::kraken::sim::KrakenSim;

pub fn new(client_id: u64, side: Side, price: &str, qty: &str, tif: OrderTif) -> ExecCommand {
    new_order(client_id, side, ticks(price), lots(qty), tif)
}

/// An IOC buy of 3 at 58729.5 (client id 1) fills twice as taker against the recorded book, and
/// its remainder is canceled.
pub async fn an_ioc_hedge_fills_against_the_book_and_its_remainder_is_canceled(exec: &mut RoutedExecution) {
    exec.submit(0, &new(1, Side::Buy, "58729.5", "3", OrderTif::Ioc)).unwrap();
    let events = events_until(exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Canceled { .. }))).await;
    assert!(matches!(events[0], ExecEvent::Accepted { client_id: 1, .. }), "{events:?}");
    let fills: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Filled { fill, open_qty, .. } => Some((fill.price, fill.qty, *open_qty, fill.liquidity)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fills,
        vec![
            (ticks("58729.4"), lots("0.45"), lots("2.55"), Liquidity::Taker),
            (ticks("58729.5"), lots("1.4948"), lots("1.0552"), Liquidity::Taker),
        ]
    );
    let canceled = events.iter().find_map(|e| match e {
        ExecEvent::Canceled { canceled_qty, .. } => Some(*canceled_qty),
        _ => None,
    });
    assert_eq!(canceled, Some(lots("1.0552")));
}

/// A resting sell of 0.5 at 58740 (client id 3) that a public trade of 0.2 at 58741 fills as
/// maker, 0.3 left open.
pub async fn a_resting_quote_fills_as_maker(exec: &mut RoutedExecution, sim: &KrakenSim) {
    exec.submit(0, &new(3, Side::Sell, "58740", "0.5", OrderTif::Gtc)).unwrap();
    events_until(exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Accepted { .. }))).await;
    sim.trade_at("XBTUSD", "58741", "0.2").unwrap();
    let events = events_until(exec, |e| e.iter().any(|e| matches!(e, ExecEvent::Filled { .. }))).await;
    let fill = events.iter().find_map(|e| match e {
        ExecEvent::Filled { fill, open_qty, .. } => Some((fill.qty, fill.liquidity, fill.order_id, *open_qty)),
        _ => None,
    });
    assert_eq!(fill, Some((lots("0.2"), Liquidity::Maker, 3, lots("0.3"))));
}

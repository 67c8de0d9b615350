//! The simulated external venue as the backtester drives it (no latency of its own, every
//! answer polled at once): the queue models, crossing books, IOC walks that never beat the
//! book; and the PnL ledger's identity under random fills.

use proptest::prelude::*;
use wintermute_mm::execution::{ExecCommand, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::metrics::pnl::{FillRole, Mark, PnlLedger, MARK_SCALE};
use wintermute_mm::queue::QueueModel;
use wintermute_mm::sim_venue::{SimVenue, SimVenueConfig};
use wintermute_mm::types::{Fill, Liquidity, Side, VenueId};

/// (order id, price, qty, open qty left) of each fill.
type Fills = Vec<(u64, i64, i64, i64)>;

fn venue() -> SimVenue {
    venue_with(QueueModel::RiskAverse)
}

fn venue_with(model: QueueModel) -> SimVenue {
    let mut cfg = SimVenueConfig::new(VenueId::External(0), 0, 0, FeeSchedule::free());
    cfg.queue_model = model;
    let mut v = SimVenue::new(cfg).unwrap();
    for (side, price, qty) in [(Side::Buy, 100, 5), (Side::Buy, 99, 7), (Side::Sell, 102, 4), (Side::Sell, 103, 6)] {
        v.on_level(0, side, price, qty).unwrap();
    }
    v
}

/// The fills the venue has answered by now.
fn fills(v: &mut SimVenue) -> Fills {
    let mut events = ExecEvents::new();
    v.poll(0, &mut events);
    let got = events
        .iter()
        .filter_map(|e| match *e {
            ExecEvent::Filled { client_id, fill, open_qty } => Some((client_id, fill.price, fill.qty, open_qty)),
            _ => None,
        })
        .collect();
    got
}

/// Sends an order; true when it rests or trades (not rejected).
fn send(v: &mut SimVenue, id: u64, side: Side, price: i64, qty: i64, tif: OrderTif) -> bool {
    v.submit(0, &ExecCommand::New(OrderRequest { client_id: id, side, price, qty, tif })).unwrap();
    let mut events = ExecEvents::new();
    v.poll(0, &mut events);
    let rejected = events.iter().any(|e| matches!(e, ExecEvent::Rejected { .. }));
    !rejected
}

fn place(v: &mut SimVenue, id: u64, side: Side, price: i64, qty: i64) -> bool {
    send(v, id, side, price, qty, OrderTif::PostOnly)
}

#[test]
fn a_trade_at_our_price_takes_the_lots_ahead_of_us_first() {
    let mut v = venue();
    assert!(place(&mut v, 1, Side::Buy, 100, 3)); // 5 lots ahead
    assert_eq!(v.queue_position(1).unwrap().ahead_lots(), 5);
    v.on_trade(0, 100, 4, Side::Sell).unwrap();
    assert!(fills(&mut v).is_empty(), "4 of the 5 lots ahead traded");
    v.on_trade(0, 100, 3, Side::Sell).unwrap();
    assert_eq!(fills(&mut v), vec![(1, 100, 2, 1)]);
}

#[test]
fn a_level_shrinking_below_our_estimate_caps_the_lots_ahead() {
    let mut v = venue();
    assert!(place(&mut v, 1, Side::Buy, 100, 3));
    v.on_level(0, Side::Buy, 100, 1).unwrap(); // cancels ahead of us
    v.on_trade(0, 100, 2, Side::Sell).unwrap();
    assert_eq!(fills(&mut v).iter().map(|f| f.2).sum::<i64>(), 1);
}

#[test]
fn the_probabilistic_model_moves_us_forward_on_cancels_and_the_risk_averse_one_does_not() {
    for (model, expect_fill) in [(QueueModel::RiskAverse, 0), (QueueModel::power(1.0).unwrap(), 1)] {
        let mut v = venue_with(model);
        assert!(place(&mut v, 1, Side::Buy, 100, 2)); // 5 lots ahead, none behind
                                                      // Five lots join behind us, then 4 are cancelled (10 -> 6). Risk-averse: all behind us
                                                      // (5 ahead). Power n=1: split 5:5, half from ahead (3 ahead). A 4-lot trade then
                                                      // reaches us only in the second case.
        v.on_level(0, Side::Buy, 100, 10).unwrap();
        v.on_level(0, Side::Buy, 100, 6).unwrap();
        v.on_trade(0, 100, 4, Side::Sell).unwrap();
        assert_eq!(fills(&mut v).iter().map(|f| f.2).sum::<i64>(), expect_fill, "{model:?}");
    }
}

#[test]
fn a_trade_through_our_price_or_a_book_crossing_it_fills_us_at_our_price_up_to_what_it_shows() {
    let mut v = venue();
    assert!(place(&mut v, 1, Side::Sell, 103, 2));
    v.on_trade(0, 104, 1, Side::Buy).unwrap();
    // Never more than the trade's size (the book showed no more).
    assert_eq!(fills(&mut v), vec![(1, 103, 1, 1)]);
    assert!(place(&mut v, 2, Side::Buy, 100, 2));
    v.on_level(0, Side::Sell, 100, 9).unwrap();
    assert_eq!(fills(&mut v), vec![(2, 100, 2, 0)]);
}

#[test]
fn a_post_only_order_that_would_cross_is_rejected() {
    let mut v = venue();
    assert!(!place(&mut v, 1, Side::Buy, 102, 1));
    assert!(!place(&mut v, 2, Side::Sell, 100, 1));
    assert!(place(&mut v, 3, Side::Sell, 101, 1));
}

#[test]
fn an_ioc_walks_the_book_and_never_takes_more_than_each_level_shows() {
    let mut v = venue();
    v.submit(
        0,
        &ExecCommand::New(OrderRequest { client_id: 9, side: Side::Buy, price: 103, qty: 20, tif: OrderTif::Ioc }),
    )
    .unwrap();
    let got: Vec<(i64, i64, i64)> = fills(&mut v).iter().map(|f| (f.1, f.2, f.3)).collect();
    assert_eq!(got, vec![(102, 4, 16), (103, 6, 10)]);
    v.submit(
        0,
        &ExecCommand::New(OrderRequest { client_id: 10, side: Side::Sell, price: 100, qty: 20, tif: OrderTif::Ioc }),
    )
    .unwrap();
    // The limit stops the walk at 100.
    assert_eq!(fills(&mut v).iter().map(|f| (f.1, f.2)).collect::<Vec<_>>(), vec![(100, 5)]);
}

proptest! {
    #[test]
    fn the_ledger_parts_add_up_to_the_total_after_every_fill(
        fills in prop::collection::vec((any::<bool>(), 1i64..1_000_000, 1i64..1_000, -100i64..1_000, 1_000i64..2_000_000, any::<bool>()), 1..200)
    ) {
        // The backtest's use of the metrics ledger: marked at the quoted venue's mid
        // (`bid + ask` halved exactly), maker fills at the mark, hedges against the mark they
        // were decided at.
        let mut ledger = PnlLedger::new(Mark::default());
        for (buy, price, qty, ppm, mark2, maker) in fills {
            let decided = ledger.mark();
            let mark = Mark(mark2 * (MARK_SCALE / 2));
            ledger.on_mark(mark);
            let liquidity = if maker { Liquidity::Maker } else { Liquidity::Taker };
            let fee = FeeSchedule::new(ppm, ppm.abs()).unwrap().fee(price, qty, liquidity);
            let side = if buy { Side::Buy } else { Side::Sell };
            let role = if maker { FillRole::Quote } else { FillRole::Hedge { decision: decided } };
            let fill = Fill { ts_ns: 0, venue: VenueId::Ours, order_id: 1, side, price, qty, liquidity, fee };
            let parts = ledger.on_fill(&fill, role, mark);
            prop_assert_eq!(ledger.total(), parts.total());
        }
    }
}

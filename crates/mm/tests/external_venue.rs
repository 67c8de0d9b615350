//! The simulated external venue's fills: the risk-averse queue model, crossing books, IOC
//! walks that never beat the book; and the PnL ledger's identity under random fills.

use proptest::prelude::*;
use wintermute_mm::backtest::external::{ExternalVenue, VenueFill};
use wintermute_mm::backtest::tape::{MdEvent, MdKind};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::metrics::pnl::{FillRole, Mark, PnlLedger, MARK_SCALE};
use wintermute_mm::queue::QueueModel;
use wintermute_mm::types::{Fill, Liquidity, Side, VenueId};

fn ev(kind: MdKind, side: Side, price: i64, qty: i64) -> MdEvent {
    MdEvent { ts_exch: 0, ts_recv: 0, price, qty, venue: 0, kind, side }
}

fn venue() -> ExternalVenue {
    venue_with(QueueModel::RiskAverse)
}

fn venue_with(model: QueueModel) -> ExternalVenue {
    let mut v = ExternalVenue::new(FeeSchedule::free(), model);
    let mut out = Vec::new();
    v.apply(&ev(MdKind::Clear, Side::Buy, 0, 0), &mut out);
    for (side, price, qty) in [(Side::Buy, 100, 5), (Side::Buy, 99, 7), (Side::Sell, 102, 4), (Side::Sell, 103, 6)] {
        v.apply(&ev(MdKind::Level, side, price, qty), &mut out);
    }
    v
}

#[test]
fn a_trade_at_our_price_takes_the_lots_ahead_of_us_first() {
    let mut v = venue();
    let mut out: Vec<VenueFill> = Vec::new();
    assert!(v.place(1, Side::Buy, 100, 3)); // 5 lots ahead
    v.apply(&ev(MdKind::Trade, Side::Sell, 100, 4), &mut out);
    assert!(out.is_empty(), "4 of the 5 lots ahead traded");
    v.apply(&ev(MdKind::Trade, Side::Sell, 100, 3), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].price, out[0].qty, out[0].remaining, out[0].queue_ahead), (100, 2, 1, 5));
}

#[test]
fn a_level_shrinking_below_our_estimate_caps_the_lots_ahead() {
    let mut v = venue();
    let mut out = Vec::new();
    assert!(v.place(1, Side::Buy, 100, 3));
    v.apply(&ev(MdKind::Level, Side::Buy, 100, 1), &mut out); // cancels ahead of us
    v.apply(&ev(MdKind::Trade, Side::Sell, 100, 2), &mut out);
    assert_eq!(out.iter().map(|f| f.qty).sum::<i64>(), 1);
}

#[test]
fn the_probabilistic_model_moves_us_forward_on_cancels_and_the_risk_averse_one_does_not() {
    for (model, expect_fill) in [(QueueModel::RiskAverse, 0), (QueueModel::power(1.0).unwrap(), 1)] {
        let mut v = venue_with(model);
        let mut out = Vec::new();
        assert!(v.place(1, Side::Buy, 100, 2)); // 5 lots ahead, none behind
                                                // Five lots join behind us, then 4 are cancelled (10 -> 6). Risk-averse: all behind us
                                                // (5 ahead). Power n=1: split 5:5, half from ahead (3 ahead). A 4-lot trade then
                                                // reaches us only in the second case.
        v.apply(&ev(MdKind::Level, Side::Buy, 100, 10), &mut out);
        v.apply(&ev(MdKind::Level, Side::Buy, 100, 6), &mut out);
        v.apply(&ev(MdKind::Trade, Side::Sell, 100, 4), &mut out);
        assert_eq!(out.iter().map(|f| f.qty).sum::<i64>(), expect_fill, "{model:?}");
    }
}

#[test]
fn a_trade_through_our_price_or_a_book_crossing_it_fills_us_entirely_at_our_price() {
    let mut v = venue();
    let mut out = Vec::new();
    assert!(v.place(1, Side::Sell, 103, 2));
    v.apply(&ev(MdKind::Trade, Side::Buy, 104, 1), &mut out);
    assert_eq!((out[0].price, out[0].qty, out[0].remaining), (103, 2, 0));
    out.clear();
    assert!(v.place(2, Side::Buy, 100, 2));
    v.apply(&ev(MdKind::Level, Side::Sell, 100, 9), &mut out);
    assert_eq!((out[0].order_id, out[0].price, out[0].qty), (2, 100, 2));
}

#[test]
fn a_post_only_order_that_would_cross_is_rejected() {
    let mut v = venue();
    assert!(!v.place(1, Side::Buy, 102, 1));
    assert!(!v.place(2, Side::Sell, 100, 1));
    assert!(v.place(3, Side::Sell, 101, 1));
}

#[test]
fn an_ioc_walks_the_book_and_never_takes_more_than_each_level_shows() {
    let mut v = venue();
    let mut out = Vec::new();
    v.take(9, Side::Buy, 103, 20, &mut out);
    let got: Vec<(i64, i64, i64)> = out.iter().map(|f| (f.price, f.qty, f.remaining)).collect();
    assert_eq!(got, vec![(102, 4, 6), (103, 6, 0)]);
    out.clear();
    v.take(10, Side::Sell, 100, 20, &mut out); // limit stops at 100
    assert_eq!(out.iter().map(|f| (f.price, f.qty)).collect::<Vec<_>>(), vec![(100, 5)]);
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

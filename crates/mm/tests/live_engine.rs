//! The live market maker on our own venue, through a running pipeline with risk: quotes reach
//! the engine's book at the pricer's prices, follow the external book, stop under a kill
//! switch, and fills come back into the inventory (and a hedge decision).

mod support;

use support::{rig, OTHER};
use wintermute_core::{Command, NewOrder, Side};
use wintermute_mm::execution::{ExecCommand, ExecEvent, OrderRequest, OrderTif};
use wintermute_mm::types::{Fill, Level, Liquidity, VenueId};

fn placed(cmds: &[ExecCommand]) -> Vec<(Side, i64, i64)> {
    cmds.iter()
        .filter_map(|c| match c {
            ExecCommand::New(OrderRequest { side, price, qty, tif: OrderTif::PostOnly, .. }) => {
                Some((*side, *price, *qty))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn quotes_appear_in_our_engines_book_at_the_prices_the_pricer_decided() {
    let mut r = rig(false);
    r.external(1_000, 1_002); // fair value 1001: bid 1001 - 3, ask 1001 + 3
    let decided = [r.mm.pricer().quoter().resting(Side::Buy, 0), r.mm.pricer().quoter().resting(Side::Sell, 0)];
    assert_eq!(decided, [Some(Level { price: 998, qty: 10 }), Some(Level { price: 1_004, qty: 10 })]);
    assert_eq!(placed(r.mm.sent()), vec![(Side::Buy, 998, 10), (Side::Sell, 1_004, 10)]);
    r.settle();
    let top = r.mm.venue().our_top();
    assert_eq!((top.bid, top.ask), (decided[0].unwrap(), decided[1].unwrap()));
    assert_eq!(r.mm.venue().open_orders(), 2);
    let done = r.pipeline.shutdown().unwrap();
    assert_eq!(done.engine.book(0).best_bid(), Some((998, 10)));
    assert_eq!(done.engine.book(0).best_ask(), Some((1_004, 10)));
}

#[test]
fn moving_the_external_book_moves_our_resting_orders_through_risk() {
    let mut r = rig(false);
    r.external(1_000, 1_002);
    r.settle();
    let old = [r.mm.quote_orders().id(Side::Buy, 0).unwrap(), r.mm.quote_orders().id(Side::Sell, 0).unwrap()];
    r.external(1_010, 1_012); // fair value 1011: past the 1-tick threshold
    let cancels = r.mm.sent().iter().filter(|c| matches!(c, ExecCommand::Cancel { .. })).count();
    assert_eq!(cancels, 2, "{:?}", r.mm.sent());
    assert_eq!(placed(r.mm.sent()), vec![(Side::Buy, 1_008, 10), (Side::Sell, 1_014, 10)]);
    r.settle();
    assert_eq!(r.mm.venue().open_orders(), 2);
    assert!(old.iter().all(|id| r.mm.venue().fifo_place(*id).is_none()), "the old quotes are gone");
    let top = r.mm.venue().our_top();
    assert_eq!((top.bid.price, top.ask.price), (1_008, 1_014));
    // Below the threshold nothing is sent.
    r.external(1_010, 1_013);
    assert!(r.mm.sent().is_empty());
    let done = r.pipeline.shutdown().unwrap();
    assert_eq!(done.stats.counters.sequenced, 6, "2 places, 2 cancels, 2 places: all passed risk");
    assert_eq!(done.engine.book(0).best_bid(), Some((1_008, 10)));
}

#[test]
fn a_kill_switch_pulls_the_quotes_and_refuses_new_ones() {
    let mut r = rig(false);
    r.external(1_000, 1_002);
    r.settle();
    r.pipeline.control().set_account_kill(support::MM, true).unwrap();
    r.external(1_010, 1_012); // cancels pass risk; the new quotes are refused
    r.poll_until(|m| m.is_halted() && m.venue().in_flight() == 0);
    assert!(r.mm.counters().risk_rejections >= 1);
    assert_eq!(r.mm.venue().open_orders(), 0);
    let top = r.mm.venue().our_top();
    assert_eq!((top.bid.qty, top.ask.qty), (0, 0), "nothing of ours rests");
    r.external(1_020, 1_022);
    assert!(r.mm.sent().is_empty(), "halted: no quote until resume");
    let done = r.pipeline.shutdown().unwrap();
    assert_eq!(done.engine.book(0).best_bid(), None);
    assert_eq!(done.engine.book(0).best_ask(), None);
}

#[test]
fn fills_come_back_into_inventory_with_fees_and_a_hedge_decision() {
    let mut r = rig(true);
    r.external(1_000, 1_002);
    r.settle();
    r.other(Command::New(NewOrder::market(1, OTHER, Side::Buy, 4))); // lifts our ask at 1004
    let mut fill: Option<Fill> = None;
    r.poll_until(|m| {
        for e in m.events().iter() {
            if let ExecEvent::Filled { fill: f, .. } = e {
                fill = Some(*f);
            }
        }
        fill.is_some()
    });
    let f = fill.unwrap();
    assert_eq!((f.side, f.price, f.qty, f.liquidity, f.venue), (Side::Sell, 1_004, 4, Liquidity::Maker, VenueId::Ours));
    assert_eq!(f.fee, -401_600, "a 100 ppm rebate on 1004 x 4 tick-lots, in millionths");
    assert_eq!(r.mm.inventory(), -4);
    let h = r.mm.last_hedge().expect("past the 3-lot threshold");
    assert_eq!(
        (h.venue, h.side, h.qty, h.touch_price, h.limit_price),
        (VenueId::External(0), Side::Buy, 4, 1_002, 1_004)
    );
}

#[test]
fn the_fifo_place_of_our_quote_follows_the_engines_queue_exactly() {
    let mut r = rig(false);
    r.other_limit(1, Side::Buy, 998, 7);
    r.other_limit(2, Side::Buy, 998, 2);
    // Gateways are not ordered against each other: wait until the book shows them.
    r.poll_until(|m| m.venue().level_qty(Side::Buy, 998) == 9);
    r.external(1_000, 1_002); // our bid joins 998 behind 9 lots
    let ours = r.mm.quote_orders().id(Side::Buy, 0).unwrap();
    let step = |r: &mut support::Rig, level: i64, ahead: i64| {
        r.poll_until(|m| m.venue().level_qty(Side::Buy, 998) == level && m.venue().in_flight() == 0);
        assert_eq!(r.mm.venue().queue_ahead(ours), Some(ahead), "level {level}");
    };
    step(&mut r, 19, 9);
    r.other_limit(3, Side::Buy, 998, 5); // behind us
    step(&mut r, 24, 9);
    r.other(Command::Cancel { order_id: 3 }); // behind us: no change
    step(&mut r, 19, 9);
    r.other(Command::New(NewOrder::market(4, OTHER, Side::Sell, 3))); // trades order 1 (front)
    step(&mut r, 16, 6);
    r.other(Command::Cancel { order_id: 2 }); // ahead of us
    step(&mut r, 14, 4);
    r.other(Command::Amend { order_id: 1, price: None, qty: Some(1) }); // down, keeps its place ahead
    step(&mut r, 11, 1);
    r.other(Command::Amend { order_id: 1, price: None, qty: Some(5) }); // up: to the back, behind us
    step(&mut r, 15, 0);
    assert!(r.mm.venue().fifo_place(ours).unwrap().is_exact());
}

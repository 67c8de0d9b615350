//! The simulated external venue: taking at arrival-time books within the cap, resting orders
//! filled through the queue model, rejects, latency; and a property test that no fill is ever at
//! a price or size the book did not show.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use wintermute_mm::execution::{
    ExecCommand, ExecError, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif, RejectReason,
};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::sim_venue::{SimVenue, SimVenueConfig};
use wintermute_mm::types::{Fill, Level, Liquidity, Side, VenueId};

const V: VenueId = VenueId::External(0);

fn venue(order_latency: i64, response_latency: i64) -> SimVenue {
    let fees = FeeSchedule::new(-10, 50).unwrap();
    SimVenue::new(SimVenueConfig::new(V, order_latency, response_latency, fees)).unwrap()
}

fn order(client_id: u64, side: Side, price: i64, qty: i64, tif: OrderTif) -> ExecCommand {
    ExecCommand::New(OrderRequest { client_id, side, price, qty, tif })
}

fn drain(v: &mut SimVenue, now: i64) -> Vec<ExecEvent> {
    let mut buf = ExecEvents::new();
    v.poll(now, &mut buf);
    buf.iter().copied().collect()
}

fn fills(events: &[ExecEvent]) -> Vec<(i64, i64, Liquidity)> {
    events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Filled { fill, .. } => Some((fill.price, fill.qty, fill.liquidity)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_ioc_walks_the_book_as_of_its_arrival_and_stops_at_the_cap() {
    let mut v = venue(10, 3);
    v.on_snapshot(
        0,
        &[Level { price: 99, qty: 5 }],
        &[Level { price: 100, qty: 2 }, Level { price: 101, qty: 3 }, Level { price: 103, qty: 5 }],
    )
    .unwrap();
    v.submit(0, &order(1, Side::Buy, 102, 10, OrderTif::Ioc)).unwrap();
    v.on_level(5, Side::Sell, 100, 1).unwrap(); // before arrival: seen
    v.on_level(9, Side::Sell, 101, 4).unwrap(); // before arrival: seen
    v.on_level(10, Side::Sell, 102, 9).unwrap(); // at arrival: applied after the order
    assert!(drain(&mut v, 12).is_empty(), "answers travel back 3 ns");
    let events = drain(&mut v, 13);
    assert_eq!(events[0], ExecEvent::Accepted { client_id: 1, ts_ns: 10 });
    assert_eq!(fills(&events), vec![(100, 1, Liquidity::Taker), (101, 4, Liquidity::Taker)]);
    assert_eq!(events.last(), Some(&ExecEvent::Canceled { client_id: 1, canceled_qty: 5, ts_ns: 10 }));
    // Taken out of the book; the later update at 102 stands.
    assert_eq!(v.book().1, &[Level { price: 102, qty: 9 }, Level { price: 103, qty: 5 }]);
}

#[test]
fn taker_fees_are_charged_on_each_fill() {
    let mut v = venue(0, 0);
    v.on_snapshot(0, &[], &[Level { price: 1_000, qty: 4 }]).unwrap();
    v.submit(1, &order(7, Side::Buy, 1_000, 3, OrderTif::Ioc)).unwrap();
    let f: Vec<Fill> = drain(&mut v, 1)
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Filled { fill, .. } => Some(*fill),
            _ => None,
        })
        .collect();
    // 3 lots at 1000 = 3000 tick-lots; 50 ppm = 0.15 tick-lots = 150_000 money units.
    assert_eq!(f[0].fee, 150_000);
    assert_eq!((f[0].order_id, f[0].venue, f[0].ts_ns), (7, V, 1));
}

#[test]
fn a_post_only_that_would_cross_and_a_cancel_of_nothing_are_rejected() {
    let mut v = venue(0, 0);
    v.on_snapshot(0, &[Level { price: 99, qty: 1 }], &[Level { price: 100, qty: 1 }]).unwrap();
    v.submit(1, &order(1, Side::Buy, 100, 1, OrderTif::PostOnly)).unwrap();
    v.submit(1, &ExecCommand::Cancel { client_id: 42 }).unwrap();
    let events = drain(&mut v, 1);
    assert_eq!(
        events,
        vec![
            ExecEvent::Rejected { client_id: 1, reason: RejectReason::WouldCross, ts_ns: 1 },
            ExecEvent::Rejected { client_id: 42, reason: RejectReason::UnknownOrder, ts_ns: 1 },
        ]
    );
    assert_eq!(v.book().1, &[Level { price: 100, qty: 1 }]);
}

#[test]
fn local_checks_refuse_bad_commands_and_leave_nothing_in_flight() {
    let mut v = venue(5, 0);
    assert_eq!(
        v.submit(0, &order(1, Side::Buy, 100, 0, OrderTif::Gtc)),
        Err(ExecError::BadQty { client_id: 1, qty: 0 })
    );
    v.submit(0, &order(2, Side::Buy, 90, 1, OrderTif::Gtc)).unwrap();
    assert_eq!(
        v.submit(1, &order(2, Side::Buy, 91, 1, OrderTif::Gtc)),
        Err(ExecError::DuplicateClientId { venue: V, client_id: 2 })
    );
    v.submit(3, &ExecCommand::Cancel { client_id: 2 }).unwrap();
    let err = v.submit(2, &ExecCommand::Cancel { client_id: 2 }).unwrap_err();
    assert!(err.to_string().contains("now_ns=2 last_ns=3"), "{err}");
    // Nor before market data already applied.
    v.on_trade(4, 50, 1, Side::Buy).unwrap();
    assert_eq!(
        v.submit(3, &ExecCommand::Cancel { client_id: 2 }),
        Err(ExecError::TimeWentBack { venue: V, now_ns: 3, last_ns: 4 })
    );
    let events = drain(&mut v, 100);
    assert_eq!(
        events,
        vec![
            ExecEvent::Accepted { client_id: 2, ts_ns: 5 },
            ExecEvent::Canceled { client_id: 2, canceled_qty: 1, ts_ns: 8 },
        ]
    );
}

#[test]
fn a_resting_order_fills_when_trades_pass_the_queue_ahead_of_it() {
    let mut v = venue(0, 0);
    v.on_snapshot(0, &[Level { price: 99, qty: 4 }], &[Level { price: 101, qty: 3 }]).unwrap();
    v.submit(0, &order(5, Side::Sell, 101, 4, OrderTif::PostOnly)).unwrap();
    drain(&mut v, 0);
    assert_eq!(v.queue_position(5).unwrap().ahead(), 3.0);
    v.on_trade(1, 101, 2, Side::Buy).unwrap(); // 1 left ahead
    assert!(fills(&drain(&mut v, 1)).is_empty());
    v.on_trade(2, 101, 3, Side::Buy).unwrap(); // passes the front by 2
    assert_eq!(fills(&drain(&mut v, 2)), vec![(101, 2, Liquidity::Maker)]);
    // A trade printed through our price (above our ask) fills us, up to its size.
    v.on_trade(3, 102, 1, Side::Buy).unwrap();
    assert_eq!(fills(&drain(&mut v, 3)), vec![(101, 1, Liquidity::Maker)]);
    v.on_trade(4, 103, 5, Side::Buy).unwrap();
    let events = drain(&mut v, 4);
    assert_eq!(fills(&events), vec![(101, 1, Liquidity::Maker)]);
    match events[0] {
        ExecEvent::Filled { fill, open_qty, .. } => {
            assert_eq!(open_qty, 0);
            assert_eq!(fill.fee, -1_010); // 101 tick-lots * -10 ppm
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(v.open_qty(5), None);
    // Trades on our own side (sellers hitting bids) never fill a resting sell.
    v.submit(5, &order(6, Side::Sell, 101, 1, OrderTif::PostOnly)).unwrap();
    v.on_trade(6, 99, 50, Side::Sell).unwrap();
    assert!(fills(&drain(&mut v, 6)).is_empty());
}

#[test]
fn one_trade_through_several_of_our_orders_fills_no_more_than_its_size() {
    let mut v = venue(0, 0);
    v.on_snapshot(0, &[], &[Level { price: 110, qty: 9 }]).unwrap();
    v.submit(0, &order(1, Side::Sell, 101, 2, OrderTif::PostOnly)).unwrap();
    v.submit(0, &order(2, Side::Sell, 102, 2, OrderTif::PostOnly)).unwrap();
    drain(&mut v, 0);
    v.on_trade(1, 105, 3, Side::Buy).unwrap();
    let total: i64 = fills(&drain(&mut v, 1)).iter().map(|f| f.1).sum();
    assert_eq!(total, 3);
}

#[test]
fn a_resting_bid_crossed_by_the_asks_fills_up_to_what_they_show() {
    let mut v = venue(0, 0);
    v.on_snapshot(0, &[], &[Level { price: 101, qty: 3 }]).unwrap();
    v.submit(0, &order(9, Side::Buy, 99, 5, OrderTif::Gtc)).unwrap();
    drain(&mut v, 0);
    v.on_level(1, Side::Sell, 98, 3).unwrap();
    assert_eq!(fills(&drain(&mut v, 1)), vec![(99, 3, Liquidity::Maker)]);
    assert_eq!(v.book().1, &[Level { price: 101, qty: 3 }]);
    assert_eq!(v.open_qty(9), Some(2));
}

#[test]
fn amending_down_keeps_the_queue_and_amending_up_goes_to_the_back() {
    let mut v = venue(0, 0);
    v.on_snapshot(0, &[Level { price: 99, qty: 6 }], &[]).unwrap();
    v.submit(0, &order(3, Side::Buy, 99, 5, OrderTif::Gtc)).unwrap();
    v.on_trade(1, 99, 4, Side::Sell).unwrap();
    v.on_level(1, Side::Buy, 99, 10).unwrap(); // 2 left ahead of us, 8 joined behind
    v.submit(2, &ExecCommand::Amend { client_id: 3, new_qty: 2 }).unwrap();
    drain(&mut v, 2);
    assert_eq!(v.queue_position(3).unwrap().ahead(), 2.0);
    v.submit(3, &ExecCommand::Amend { client_id: 3, new_qty: 4 }).unwrap();
    let events = drain(&mut v, 3);
    assert_eq!(events, vec![ExecEvent::Amended { client_id: 3, open_qty: 4, ts_ns: 3 }]);
    assert_eq!(v.queue_position(3).unwrap().ahead(), 10.0);
}

// ---- property: never a fill at a price or size the book did not show --------------------

#[derive(Debug, Clone)]
enum Step {
    Level { dt: i64, side: Side, price: i64, qty: i64 },
    Ioc { dt: i64, side: Side, cap: i64, qty: i64 },
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0i64..10, side(), 0i64..12, 0i64..8).prop_map(|(dt, side, off, qty)| Step::Level {
            dt: 2 * dt,
            side,
            // Bids at 90..101, asks at 100..111 (they may touch or cross: the venue's problem).
            price: if side == Side::Buy { 90 + off } else { 100 + off },
            qty,
        }),
        (0i64..10, side(), -3i64..8, 1i64..25).prop_map(|(dt, side, cap, qty)| Step::Ioc {
            dt: 2 * dt,
            side,
            cap,
            qty
        }),
    ]
}

const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/sim_venue.txt");

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    })]
    #[test]
    fn ioc_fills_are_always_at_a_shown_level_within_the_cap_and_its_shown_size(
        // Odd latencies over even timestamps: no update shares a nanosecond with an arrival (the
        // tie rule is its own unit test above), so "the book at arrival" is unambiguous.
        latency in (0i64..15).prop_map(|k| 2 * k + 1),
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let mut v = venue(latency, 0);
        // The reference: every level update, in order, with its index.
        let mut updates: Vec<(i64, Side, i64, i64)> = Vec::new();
        let mut orders: BTreeMap<u64, (Side, i64, i64)> = BTreeMap::new(); // id -> side, limit, arrival
        let mut events = Vec::new();
        let mut t = 0;
        let mut next_id = 1;
        for s in &steps {
            match *s {
                Step::Level { dt, side, price, qty } => {
                    t += dt;
                    v.on_level(t, side, price, qty).unwrap();
                    updates.push((t, side, price, qty));
                }
                Step::Ioc { dt, side, cap, qty } => {
                    t += dt;
                    // The cap is set off the mid-ish price 100 (a stale decision price).
                    let limit = if side == Side::Buy { 100 + cap } else { 100 - cap };
                    v.submit(t, &order(next_id, side, limit, qty, OrderTif::Ioc)).unwrap();
                    orders.insert(next_id, (side, limit, t + latency));
                    next_id += 1;
                }
            }
            events.extend(drain(&mut v, t));
        }
        events.extend(drain(&mut v, t + 1_000));
        // Fills taken per (book side, price, index of the update that set that level).
        let mut taken: BTreeMap<(u8, i64, usize), i64> = BTreeMap::new();
        // Every IOC ends: its fills plus its canceled remainder are its quantity.
        let mut accounted: BTreeMap<u64, i64> = BTreeMap::new();
        for e in &events {
            match *e {
                ExecEvent::Filled { client_id, fill, .. } => *accounted.entry(client_id).or_default() += fill.qty,
                ExecEvent::Canceled { client_id, canceled_qty, .. } => *accounted.entry(client_id).or_default() += canceled_qty,
                _ => {}
            }
        }
        let submitted: Vec<i64> = steps.iter().filter_map(|s| match s { Step::Ioc { qty, .. } => Some(*qty), _ => None }).collect();
        prop_assert_eq!(accounted.len(), submitted.len());
        for (id, qty) in &accounted {
            prop_assert_eq!(*qty, submitted[(*id - 1) as usize]);
        }
        for e in &events {
            let ExecEvent::Filled { client_id, fill, .. } = *e else { continue };
            let (side, limit, arrival) = orders[&client_id];
            prop_assert_eq!(fill.ts_ns, arrival);
            prop_assert_eq!(fill.liquidity, Liquidity::Taker);
            // Within the cap.
            match side {
                Side::Buy => prop_assert!(fill.price <= limit, "buy at {} over cap {}", fill.price, limit),
                Side::Sell => prop_assert!(fill.price >= limit, "sell at {} under cap {}", fill.price, limit),
            }
            // A level the book showed at arrival: the last update of that price on the other
            // side stamped at or before the arrival, with a positive quantity.
            let book_side = side.opposite();
            let last = updates
                .iter()
                .enumerate()
                .rfind(|(_, u)| u.0 < arrival && u.1 == book_side && u.2 == fill.price);
            let Some((idx, &(_, _, _, shown))) = last else {
                return Err(TestCaseError::fail(format!("fill at {} never shown before {}", fill.price, arrival)));
            };
            prop_assert!(shown > 0, "fill at {} on a removed level", fill.price);
            let total = taken.entry((book_side as u8, fill.price, idx)).or_insert(0);
            *total += fill.qty;
            prop_assert!(*total <= shown, "took {} at {} where {} was shown", total, fill.price, shown);
        }
    }
}

#[test]
fn an_amend_sets_the_total_so_the_fills_the_sender_had_not_seen_come_off_it() {
    // 5 ns each way. A bid of 10 alone at 99; 4 of it fill at 10 (reported at 15).
    let mut v = venue(5, 5);
    v.on_snapshot(0, &[], &[Level { price: 101, qty: 5 }]).unwrap();
    v.submit(0, &order(3, Side::Buy, 99, 10, OrderTif::Gtc)).unwrap();
    drain(&mut v, 10);
    v.on_trade(10, 99, 4, Side::Sell).unwrap();
    assert_eq!(v.open_qty(3), Some(6));
    // Sent at 12, before the fill was reported: "8 open" is a total of 8, 4 of it filled.
    v.submit(12, &ExecCommand::Amend { client_id: 3, new_qty: 8 }).unwrap();
    let events = drain(&mut v, 22);
    assert_eq!(fills(&events), vec![(99, 4, Liquidity::Maker)]);
    assert_eq!(events.last(), Some(&ExecEvent::Amended { client_id: 3, open_qty: 4, ts_ns: 17 }));
    // Sent after the fill was reported: "6 open" is a total of 10, 6 open (up: priority lost).
    v.submit(23, &ExecCommand::Amend { client_id: 3, new_qty: 6 }).unwrap();
    assert_eq!(drain(&mut v, 33), vec![ExecEvent::Amended { client_id: 3, open_qty: 6, ts_ns: 28 }]);
    // 2 more fill at 40; an amend to 1 sent before that was reported (a total of 5, 6 filled)
    // leaves nothing open: it cancels the order.
    v.on_trade(40, 99, 2, Side::Sell).unwrap();
    assert_eq!(v.open_qty(3), Some(4));
    v.submit(41, &ExecCommand::Amend { client_id: 3, new_qty: 1 }).unwrap();
    let events = drain(&mut v, 60);
    assert_eq!(fills(&events), vec![(99, 2, Liquidity::Maker)]);
    assert_eq!(events.last(), Some(&ExecEvent::Canceled { client_id: 3, canceled_qty: 4, ts_ns: 46 }));
    assert_eq!(v.open_qty(3), None);
}

//! The hedger: the best fee-adjusted venue, sizes back to the target, the cap; hedge fills
//! through the simulated venue never beat the book, and their slippage against the decision
//! fair value lands in the PnL ledger.

use std::collections::BTreeMap;

use proptest::prelude::*;
use wintermute_mm::execution::{ExecCommand, ExecEvent, ExecEvents, Execution};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::hedger::{HedgeConfig, HedgeConfigError, HedgeVenue, Hedger, PendingHedges};
use wintermute_mm::metrics::pnl::{FillRole, Mark, PnlLedger};
use wintermute_mm::sim_venue::{SimVenue, SimVenueConfig};
use wintermute_mm::types::{Level, Side, Top, VenueId};

fn top(bid: (i64, i64), ask: (i64, i64), ts_ns: i64) -> Top {
    Top { bid: Level { price: bid.0, qty: bid.1 }, ask: Level { price: ask.0, qty: ask.1 }, ts_ns }
}

fn hv(i: u8, t: Top, taker_ppm: i64) -> HedgeVenue {
    HedgeVenue { venue: VenueId::External(i), top: t, fees: FeeSchedule::new(0, taker_ppm).unwrap() }
}

#[test]
fn a_long_inventory_sells_back_to_the_target_on_the_best_bid_after_fees() {
    let hedger = Hedger::new(HedgeConfig::new(10, 2, 3, 1_000).unwrap());
    let fair = Mark::from_ticks(1_000);
    let venues = [
        hv(0, top((1_000, 5), (1_002, 5), 0), 1_000), // 1000 - 1.0 fee = 999.0 per lot
        hv(1, top((999, 5), (1_001, 5), 0), 0),       // 999.0: a tie, the first listed wins
        hv(2, top((1_000, 1), (1_003, 5), 0), 500),   // 1000 - 0.5 = 999.5: best
        hv(3, top((1_010, 9), (1_011, 9), -5_000), 0), // best of all, but stale
    ];
    let d = hedger.decide(500, 12, fair, &venues).unwrap();
    assert_eq!((d.venue, d.side, d.qty), (VenueId::External(2), Side::Sell, 10));
    assert_eq!((d.touch_price, d.limit_price, d.decision_fair, d.ts_ns), (1_000, 997, fair, 500));
    let without_best = hedger.decide(500, 12, fair, &venues[..2]).unwrap();
    assert_eq!(without_best.venue, VenueId::External(0));
}

#[test]
fn a_short_inventory_buys_on_the_cheapest_ask_and_inside_the_threshold_nothing_happens() {
    let hedger = Hedger::new(HedgeConfig::new(10, 0, 0, 1_000).unwrap());
    let venues = [hv(0, top((99, 1), (101, 1), 0), 2_000), hv(1, top((99, 1), (101, 1), 0), 1_000)];
    let d = hedger.decide(0, -11, Mark::from_ticks(100), &venues).unwrap();
    assert_eq!((d.venue, d.side, d.qty, d.limit_price), (VenueId::External(1), Side::Buy, 11, 101));
    assert_eq!(hedger.decide(0, 10, Mark::from_ticks(100), &venues), None);
    assert_eq!(hedger.decide(0, -10, Mark::from_ticks(100), &venues), None);
    // No venue shows an ask.
    let empty = [hv(0, top((99, 1), (0, 0), 0), 0)];
    assert_eq!(hedger.decide(0, -11, Mark::from_ticks(100), &empty), None);
}

#[test]
fn bad_hedge_configuration_is_a_clear_error() {
    assert_eq!(HedgeConfig::new(0, 0, 1, 1), Err(HedgeConfigError::BadThreshold { threshold: 0 }));
    assert_eq!(HedgeConfig::new(5, 5, 1, 1), Err(HedgeConfigError::BadTarget { target: 5, threshold: 5 }));
    assert_eq!(HedgeConfig::new(5, 1, -1, 1), Err(HedgeConfigError::BadSlippageCap { slippage_cap_ticks: -1 }));
    let msg = HedgeConfig::new(5, 1, 1, 0).unwrap_err().to_string();
    assert!(msg.contains("max_top_age_ns=0"), "{msg}");
}

#[test]
fn pending_hedges_keep_each_decision_fair_value_until_done() {
    let mut p = PendingHedges::new(1);
    p.insert(7, Mark(5)).unwrap();
    assert_eq!(p.insert(8, Mark(6)), Err((8, Mark(6))));
    assert_eq!(p.decision_fair(7), Some(Mark(5)));
    assert_eq!(p.remove(7), Some(Mark(5)));
    assert!(p.is_empty());
}

fn book_side(side: Side) -> impl Strategy<Value = Vec<Level>> {
    proptest::collection::btree_map(0i64..10, 1i64..6, 1..6).prop_map(move |m| {
        let mut levels: Vec<Level> = m
            .into_iter()
            .map(|(off, qty)| Level { price: if side == Side::Sell { 1_001 + off } else { 999 - off }, qty })
            .collect();
        if side == Side::Buy {
            levels.sort_by_key(|l| std::cmp::Reverse(l.price));
        }
        levels
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn hedge_fills_never_beat_the_book_at_arrival_and_their_slippage_is_booked(
        books in proptest::collection::vec((book_side(Side::Buy), book_side(Side::Sell), 0i64..800), 1..4),
        inventory in prop_oneof![-60i64..-11, 11i64..60],
        cap in 0i64..6,
        latency in 1i64..20,
        moves in proptest::collection::vec((0u8..2, 0i64..10, 0i64..6), 0..10),
        fair_ticks in 990.0f64..1_010.0,
    ) {
        let hedger = Hedger::new(HedgeConfig::new(10, 0, cap, 1_000).unwrap());
        let venues: Vec<HedgeVenue> = books
            .iter()
            .enumerate()
            .map(|(i, (bids, asks, fee))| hv(i as u8, top((bids[0].price, bids[0].qty), (asks[0].price, asks[0].qty), 0), *fee))
            .collect();
        let fair = Mark::from_ticks_f64(fair_ticks).unwrap();
        let d = hedger.decide(0, inventory, fair, &venues).unwrap();
        let VenueId::External(i) = d.venue else { unreachable!() };
        let (bids, asks, fee) = &books[i as usize];
        let fees = FeeSchedule::new(0, *fee).unwrap();
        let mut sim = SimVenue::new(SimVenueConfig::new(d.venue, latency, 0, fees)).unwrap();
        sim.on_snapshot(0, bids, asks).unwrap();
        // The reference book the IOC meets on arrival: the snapshot plus the moves before it.
        let mut reference: [BTreeMap<i64, i64>; 2] = [
            bids.iter().map(|l| (l.price, l.qty)).collect(),
            asks.iter().map(|l| (l.price, l.qty)).collect(),
        ];
        sim.submit(0, &ExecCommand::New(d.order(1))).unwrap();
        for (k, &(s, off, qty)) in moves.iter().enumerate() {
            let t = 1 + k as i64 * latency / 10;
            let (side, price) = if s == 0 { (Side::Buy, 999 - off) } else { (Side::Sell, 1_001 + off) };
            sim.on_level(t, side, price, qty).unwrap();
            if t < latency {
                if qty == 0 { reference[s as usize].remove(&price); } else { reference[s as usize].insert(price, qty); }
            }
        }
        let mut events = ExecEvents::new();
        sim.poll(latency + 100, &mut events);
        let mut ledger = PnlLedger::new(fair);
        let mut expected_slippage = 0i128;
        let mut first = true;
        for e in events.iter() {
            let ExecEvent::Filled { fill, .. } = *e else { continue };
            match d.side {
                Side::Buy => {
                    let best = *reference[1].keys().next().unwrap();
                    prop_assert!(fill.price >= best, "bought at {} under the best ask {}", fill.price, best);
                    prop_assert!(fill.price <= d.limit_price);
                    if first { prop_assert_eq!(fill.price, best); }
                    expected_slippage += fair.value(fill.qty) - fill.price as i128 * fill.qty as i128 * 1_000_000;
                }
                Side::Sell => {
                    let best = *reference[0].keys().next_back().unwrap();
                    prop_assert!(fill.price <= best, "sold at {} over the best bid {}", fill.price, best);
                    prop_assert!(fill.price >= d.limit_price);
                    if first { prop_assert_eq!(fill.price, best); }
                    expected_slippage -= fair.value(fill.qty) - fill.price as i128 * fill.qty as i128 * 1_000_000;
                }
            }
            first = false;
            ledger.on_fill(&fill, FillRole::Hedge { decision: d.decision_fair }, fair);
        }
        prop_assert_eq!(ledger.parts().hedge_slippage, expected_slippage);
        prop_assert_eq!(ledger.parts().total(), ledger.total());
    }
}

//! The pricing side wired to the execution side: the quoter's actions become venue commands
//! through `QuoteOrders`, a simulated venue fills one of them, the fill maps back to its ladder
//! slot, and the requote tops the slot up with an amend (the order keeps its id).

use wintermute_mm::config::PricingConfig;
use wintermute_mm::execution::{ExecCommand, ExecEvent, ExecEvents, Execution};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::pricer::Pricer;
use wintermute_mm::quote_actions::{ActionBuffer, QuoteAction};
use wintermute_mm::quote_orders::QuoteOrders;
use wintermute_mm::quoter::{Decision, RequoteReason};
use wintermute_mm::sim_venue::{SimVenue, SimVenueConfig};
use wintermute_mm::types::{Level, Side, Top, VenueId};

const VENUE: VenueId = VenueId::External(0);
const MS: i64 = 1_000_000;

fn pricer() -> Pricer {
    let cfg = PricingConfig::from_json(
        r#"{
      "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"},
      "venues": [{"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 1000}],
      "model": {"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 0.0},
      "volatility": {"fixed": {"sigma": 1.0}},
      "intensity": {"fixed": {"bid": {"a": 1.0, "k": 1.0}, "ask": {"a": 1.0, "k": 1.0}}},
      "quoting": {"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                  "max_spread_ticks": 100, "max_inventory_lots": 50, "inventory_unit_lots": 10,
                  "requote_threshold_ticks": 0.5, "requote_interval_ms": 1000}
    }"#,
    )
    .unwrap();
    Pricer::from_config(&cfg).unwrap()
}

fn send(actions: &ActionBuffer, orders: &mut QuoteOrders, venue: &mut SimVenue, now: i64) -> Vec<ExecCommand> {
    let commands: Vec<_> = actions.as_slice().iter().filter_map(|a| orders.command(*a)).collect();
    for c in &commands {
        venue.submit(now, c).unwrap();
    }
    commands
}

#[test]
fn a_fill_on_the_venue_maps_back_to_its_slot_and_the_requote_amends_it() {
    let mut pricer = pricer();
    let mut venue = SimVenue::new(SimVenueConfig::new(VENUE, 0, 0, FeeSchedule::free())).unwrap();
    let mut orders = QuoteOrders::new(1_000);
    let mut actions = ActionBuffer::for_levels(pricer.levels());
    let mut events = ExecEvents::new();

    // The venue's book: 999 x 5 / 1001 x 5 -> fair value 1000, quotes 997 / 1003.
    venue.on_level(0, Side::Buy, 999, 5).unwrap();
    venue.on_level(0, Side::Sell, 1001, 5).unwrap();
    let top = Top { bid: Level { price: 999, qty: 5 }, ask: Level { price: 1001, qty: 5 }, ts_ns: 0 };
    pricer.on_top(VENUE, top).unwrap();
    assert_eq!(pricer.decide(0, 0, None, &mut actions), Ok(Decision::Requoted(RequoteReason::First)));
    assert_eq!(
        actions.as_slice(),
        [
            QuoteAction::Place { side: Side::Buy, level: 0, price: 997, qty: 10 },
            QuoteAction::Place { side: Side::Sell, level: 0, price: 1003, qty: 10 }
        ]
    );
    send(&actions, &mut orders, &mut venue, 0);
    venue.poll(0, &mut events);
    let accepted = events.iter().filter(|e| matches!(e, ExecEvent::Accepted { .. })).count();
    assert_eq!(accepted, 2, "{:?}", events.iter().collect::<Vec<_>>());
    let ask_id = orders.id(Side::Sell, 0).unwrap();

    // A buyer prints 4 lots at 1003: our ask (nothing ahead of it at that price) fills 4.
    venue.on_trade(MS, 1003, 4, Side::Buy).unwrap();
    events.clear();
    venue.poll(MS, &mut events);
    let mut inventory = 0;
    for e in events.iter() {
        if let ExecEvent::Filled { client_id, fill, .. } = *e {
            assert_eq!(orders.slot_of(client_id), Some((Side::Sell, 0)));
            pricer.on_fill(Side::Sell, 0, fill.qty).unwrap();
            inventory -= fill.qty;
        }
    }
    assert_eq!(inventory, -4);

    // The fill triggers a requote; the prices are unchanged, so the ask is amended back to 10.
    assert_eq!(pricer.decide(MS, inventory, None, &mut actions), Ok(Decision::Requoted(RequoteReason::Fill)));
    let sent = send(&actions, &mut orders, &mut venue, MS);
    assert_eq!(sent, [ExecCommand::Amend { client_id: ask_id, new_qty: 10 }]);
    events.clear();
    venue.poll(MS, &mut events);
    assert!(
        events.iter().any(|e| matches!(*e, ExecEvent::Amended { client_id, open_qty: 10, .. } if client_id == ask_id)),
        "{:?}",
        events.iter().collect::<Vec<_>>()
    );
}

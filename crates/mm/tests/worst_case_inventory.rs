//! The one inventory limit holds in the worst case, orders in flight counted.
//!
//! The built-in market maker ([`PricedMarketMaker`], quoting on two venues with one limit) runs
//! against a model of the venues in which every message travels on its own: the orders, amends
//! and cancels it sends reach their venue one by one (each order's commands in the order sent),
//! its orders fill there, and the fill reports and answers come back one by one (each order's in
//! the order the venue made them), all in an order proptest picks. After every step, the
//! **worst-case inventory** on each side, computed by the model from the venues' side of things
//! alone, must be within `max_inventory_lots`: the venues' true inventory plus every lot that
//! could still fill on that side if every order did fill as much as it could before each of its
//! commands arrives (an order whose new order is in flight: its quantity once it arrives; a
//! resting one: its open lots; an amend: the venue amends the order's total quantity, so the
//! fills the sender had not been told of come off the new open quantity; a cancel: what is open
//! until it arrives).

use std::collections::VecDeque;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use wintermute_mm::config::PricingConfig;
use wintermute_mm::priced_market_maker::PricedMarketMaker;
use wintermute_mm::strategy::{Context, Strategy as _};
use wintermute_mm::types::{Fill, Level, Liquidity, Side, Top, VenueId};

const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/worst_case_inventory.txt");

fn pricing(levels: usize, size: i64, max: i64, spacing: i64) -> PricingConfig {
    let sizes = vec![size.to_string(); levels].join(", ");
    PricingConfig::from_json(&format!(
        r#"{{
          "instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.1", "lot_size": "0.0001"}},
          "venues": [{{"name": "binance", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 100000}}],
          "model": {{"kind": "fixed_spread", "half_spread_ticks": 1.0, "skew_ticks_per_unit": 0.5}},
          "volatility": {{"fixed": {{"sigma": 2.0}}}},
          "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 0.3}}, "ask": {{"a": 1.0, "k": 0.3}}}}}},
          "quoting": {{"levels": {levels}, "sizes_lots": [{sizes}], "level_spacing_ticks": {spacing}, "min_spread_ticks": 2,
                      "max_spread_ticks": 200, "max_inventory_lots": {max}, "inventory_unit_lots": 2,
                      "requote_threshold_ticks": 0.5, "requote_interval_ms": 1000}}
        }}"#
    ))
    .unwrap()
}

/// A command on its way to a venue.
#[derive(Debug, Clone, Copy)]
enum ToVenue {
    New(i64),
    /// The new open quantity asked for, and the lots of the order's fills the sender had been
    /// told of when it sent it.
    Amend {
        qty: i64,
        told: i64,
    },
    Cancel,
}

/// A message on its way back.
#[derive(Debug, Clone, Copy)]
enum ToUs {
    Fill { qty: i64, price: i64, remaining: i64 },
    Answer { open: i64 },
}

#[derive(Debug)]
struct Order {
    venue: VenueId,
    side: Side,
    price: i64,
    /// Open lots at the venue (0: not arrived yet, or gone).
    open: i64,
    /// Lots filled at the venue.
    filled: i64,
    /// Lots of its fills we have been told of.
    told: i64,
    to_venue: VecDeque<ToVenue>,
    to_us: VecDeque<ToUs>,
}

/// The venues, the messages between us and them, and what we have been told.
#[derive(Debug, Default)]
struct World {
    now: i64,
    reference: Top,
    orders: Vec<Order>,
    /// Our position at the venues, and as we have been told of it.
    venue_inventory: i64,
    inventory_told: i64,
    fills: u64,
}

impl Context for World {
    fn now_ns(&self) -> i64 {
        self.now
    }
    fn top(&self, venue: VenueId) -> Top {
        match venue {
            VenueId::External(0) => self.reference,
            _ => Top::default(),
        }
    }
    fn book_live(&self, _venue: VenueId) -> bool {
        true
    }
    fn inventory(&self) -> i64 {
        self.inventory_told
    }
    /// Order ids are 1 + the order's index.
    fn place(&mut self, venue: VenueId, side: Side, price: i64, qty: i64) -> u64 {
        assert!(qty > 0, "a place of {qty} lots");
        self.orders.push(Order {
            venue,
            side,
            price,
            open: 0,
            filled: 0,
            told: 0,
            to_venue: VecDeque::from([ToVenue::New(qty)]),
            to_us: VecDeque::new(),
        });
        self.orders.len() as u64
    }
    fn take(&mut self, _: VenueId, _: Side, _: i64, _: i64) -> u64 {
        panic!("no hedging here")
    }
    fn amend(&mut self, venue: VenueId, order_id: u64, qty: i64) {
        let o = &mut self.orders[order_id as usize - 1];
        assert_eq!(o.venue, venue);
        let told = o.told;
        o.to_venue.push_back(ToVenue::Amend { qty, told });
    }
    fn cancel(&mut self, venue: VenueId, order_id: u64) {
        let o = &mut self.orders[order_id as usize - 1];
        assert_eq!(o.venue, venue);
        o.to_venue.push_back(ToVenue::Cancel);
    }
    fn answers_commands(&self) -> bool {
        true
    }
}

/// The most lots an order may still fill, `open` open now with `filled` filled, `commands`
/// still to arrive: before each command arrives it may fill any part of what is open (all
/// of it: it is gone, and the rest are refused); an amend then opens its total quantity less
/// everything filled.
fn worst(open: i64, filled: i64, commands: &[ToVenue]) -> i64 {
    let Some((&first, rest)) = commands.split_first() else { return open };
    match first {
        ToVenue::New(qty) => worst(qty, filled, rest),
        // Gone: refused.
        ToVenue::Cancel | ToVenue::Amend { .. } if open == 0 => 0,
        ToVenue::Cancel => open,
        ToVenue::Amend { qty, told } => {
            // Filling x < open lots first, then the amend: the optimum is at an end (x = 0 or
            // x = open - 1), or filling everything (the amend is refused).
            let after = |x: i64| {
                let reopened = told + qty - (filled + x);
                x + if reopened > 0 { worst(reopened, filled + x, rest) } else { 0 }
            };
            open.max(after(0)).max(after(open - 1))
        }
    }
}

impl World {
    /// The worst-case inventory: (longest, shortest) position reachable.
    fn worst_case(&self) -> (i64, i64) {
        let (mut buys, mut sells) = (0, 0);
        for o in &self.orders {
            let commands: Vec<ToVenue> = o.to_venue.iter().copied().collect();
            let w = worst(o.open, o.filled, &commands);
            match o.side {
                Side::Buy => buys += w,
                Side::Sell => sells += w,
            }
        }
        (self.venue_inventory + buys, self.venue_inventory - sells)
    }

    /// Indexes of the orders for which `has` holds.
    fn pick(&self, k: usize, has: impl Fn(&Order) -> bool) -> Option<usize> {
        let candidates: Vec<usize> = (0..self.orders.len()).filter(|&i| has(&self.orders[i])).collect();
        (!candidates.is_empty()).then(|| candidates[k % candidates.len()])
    }
}

#[derive(Debug, Clone, Copy)]
enum Step {
    /// The reference venue's mid moves by this many ticks.
    Book(i64),
    /// An order's next command reaches its venue.
    Arrive(usize),
    /// An order fills up to this many lots at its venue.
    Fill(usize, i64),
    /// An order's next message reaches us.
    Deliver(usize),
    Timer,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (-3i64..=3).prop_map(Step::Book),
        4 => any::<usize>().prop_map(Step::Arrive),
        3 => (any::<usize>(), 1i64..=12).prop_map(|(k, q)| Step::Fill(k, q)),
        4 => any::<usize>().prop_map(Step::Deliver),
        1 => Just(Step::Timer),
    ]
}

/// Runs `steps`; returns the largest worst-case |inventory| seen, and the fills.
fn run(levels: usize, size: i64, max: i64, spacing: i64, steps: &[Step]) -> Result<(i64, u64), TestCaseError> {
    let cfg = pricing(levels, size, max, spacing);
    let venues = [VenueId::External(0), VenueId::External(1)];
    let mut mm = PricedMarketMaker::on_venues(&cfg, &venues, None).unwrap();
    let mut w = World::default();
    let mut mid = 10_000i64;
    let mut largest = 0;
    for (n, &s) in steps.iter().enumerate() {
        w.now += 1_000_000;
        match s {
            Step::Book(d) => {
                mid += d;
                w.reference =
                    Top { bid: Level { price: mid - 1, qty: 5 }, ask: Level { price: mid + 1, qty: 5 }, ts_ns: w.now };
                let top = w.reference;
                mm.on_book(&mut w, VenueId::External(0), &top);
            }
            Step::Arrive(k) => {
                if let Some(i) = w.pick(k, |o| !o.to_venue.is_empty()) {
                    let o = &mut w.orders[i];
                    match o.to_venue.pop_front().unwrap() {
                        ToVenue::New(qty) => o.open = qty,
                        ToVenue::Amend { qty, told } => {
                            if o.open > 0 {
                                o.open = (told + qty - o.filled).max(0);
                            }
                            let open = o.open;
                            o.to_us.push_back(ToUs::Answer { open });
                        }
                        ToVenue::Cancel => {
                            o.open = 0;
                            o.to_us.push_back(ToUs::Answer { open: 0 });
                        }
                    }
                }
            }
            Step::Fill(k, lots) => {
                if let Some(i) = w.pick(k, |o| o.open > 0) {
                    let o = &mut w.orders[i];
                    let qty = lots.min(o.open);
                    o.open -= qty;
                    o.filled += qty;
                    let (remaining, price) = (o.open, o.price);
                    o.to_us.push_back(ToUs::Fill { qty, price, remaining });
                    w.venue_inventory += if o.side == Side::Buy { qty } else { -qty };
                    w.fills += 1;
                }
            }
            Step::Deliver(k) => {
                if let Some(i) = w.pick(k, |o| !o.to_us.is_empty()) {
                    let o = &mut w.orders[i];
                    let (venue, side) = (o.venue, o.side);
                    match o.to_us.pop_front().unwrap() {
                        ToUs::Fill { qty, price, remaining } => {
                            o.told += qty;
                            w.inventory_told += if side == Side::Buy { qty } else { -qty };
                            let fill = Fill {
                                ts_ns: w.now,
                                venue,
                                order_id: i as u64 + 1,
                                side,
                                price,
                                qty,
                                liquidity: Liquidity::Maker,
                                fee: 0,
                            };
                            mm.on_fill(&mut w, &fill, remaining);
                        }
                        ToUs::Answer { open } => mm.on_answer(&mut w, venue, i as u64 + 1, open),
                    }
                }
            }
            Step::Timer => mm.on_timer(&mut w),
        }
        let (long, short) = w.worst_case();
        prop_assert!(
            long <= max && -short <= max,
            "step {n} ({s:?}): worst-case inventory {long} long / {} short past the limit {max}",
            -short
        );
        largest = largest.max(long).max(-short);
    }
    Ok((largest, w.fills))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_worst_case_inventory_never_passes_the_limit(
        levels in 1usize..=3,
        size in 1i64..=10,
        max in 1i64..=30,
        spacing in 1i64..=2,
        steps in proptest::collection::vec(step(), 1..250),
    ) {
        run(levels, size, max, spacing, &steps)?;
    }
}

#[test]
fn the_quotes_reach_the_limit_and_fill_there_with_everything_in_flight() {
    // The test means something only if the market maker quotes up to the limit: on a fixed
    // path of moves, arrivals, fills and late reports, the worst case reaches the limit.
    let mut steps = Vec::new();
    for round in 0..60usize {
        steps.push(Step::Book([1, -2, 3, 0, -1][round % 5]));
        steps.extend([Step::Arrive(round), Step::Arrive(round + 1), Step::Arrive(round + 2)]);
        steps.push(Step::Fill(round, 4));
        if round % 3 == 0 {
            steps.extend([Step::Deliver(round), Step::Deliver(round + 1), Step::Deliver(round + 2)]);
        }
    }
    let (largest, fills) = run(2, 5, 12, 1, &steps).unwrap();
    assert!(fills > 10, "{fills} fills");
    assert_eq!(largest, 12, "the worst case reaches the limit");
}

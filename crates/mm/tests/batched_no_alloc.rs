//! The batch boundary allocates nothing after warm-up: tens of thousands of events (tops,
//! trades, fills, orders gone, timers) buffered by a [`BatchedStrategy`], handed over in batches
//! to a Rust sink (the built-in market maker replayed per event), and its commands sent back
//! through the context, under a counting global allocator that must count zero.

use wintermute_core::rng::SplitMix64;
use wintermute_mm::batched::per_event::PerEvent;
use wintermute_mm::batched::BatchedStrategy;
use wintermute_mm::config::PricingConfig;
use wintermute_mm::priced_market_maker::{HedgeRule, PricedMarketMaker};
use wintermute_mm::strategy::{Context, PublicTrade, Stamp, Strategy};
use wintermute_mm::types::{Fill, Level, Liquidity, Side, Top, VenueId};
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

const PRICING: &str = r#"{
  "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"},
  "venues": [
    {"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 50},
    {"name": "kraken", "symbol": "XBT/USD", "quote_currency": "USD", "weight": 2.0, "stale_after_ms": 50}
  ],
  "model": {"kind": "glft", "gamma": 0.05},
  "volatility": {"ewma": {"sample_ms": 100, "half_life_s": 10.0, "initial_sigma": 3.0}},
  "intensity": {"fixed": {"bid": {"a": 2.0, "k": 0.5}, "ask": {"a": 2.0, "k": 0.5}}},
  "quoting": {"levels": 2, "sizes_lots": [10, 20], "level_spacing_ticks": 2, "min_spread_ticks": 2,
              "max_spread_ticks": 400, "max_inventory_lots": 200, "inventory_unit_lots": 10,
              "requote_threshold_ticks": 1.0, "requote_interval_ms": 500}
}"#;

/// A driver that numbers orders in sequence and counts what it is sent.
#[derive(Debug, Default)]
struct Driver {
    now: i64,
    step: u64,
    next_id: u64,
    inventory: i64,
    tops: [Top; 3],
    sent: u64,
    stamped: u64,
}

impl Context for Driver {
    fn now_ns(&self) -> i64 {
        self.now
    }
    fn top(&self, venue: VenueId) -> Top {
        match venue {
            VenueId::Ours => self.tops[2],
            VenueId::External(v) => self.tops[v as usize % 2],
        }
    }
    fn book_live(&self, _venue: VenueId) -> bool {
        true
    }
    fn inventory(&self) -> i64 {
        self.inventory
    }
    fn place(&mut self, _: VenueId, _: Side, _: i64, _: i64) -> u64 {
        self.sent += 1;
        self.next_id += 1;
        self.next_id - 1
    }
    fn take(&mut self, venue: VenueId, side: Side, price: i64, qty: i64) -> u64 {
        self.place(venue, side, price, qty)
    }
    fn amend(&mut self, _: VenueId, _: u64, _: i64) {
        self.sent += 1;
    }
    fn cancel(&mut self, _: VenueId, _: u64) {
        self.sent += 1;
    }
    fn stamp(&self) -> Stamp {
        Stamp { ts_ns: self.now, step: self.step, mark: 0 }
    }
    fn decided_at(&mut self, at: Option<Stamp>) {
        self.stamped += at.is_some() as u64;
    }
    fn next_order_id(&self) -> Option<u64> {
        Some(self.next_id)
    }
}

/// `steps` events, one per 100 µs, a batch ended every 10 (as an order latency of 1 ms would).
fn drive<S: Strategy>(s: &mut S, d: &mut Driver, rng: &mut SplitMix64, steps: u64) {
    let mut mid = 6_000_000i64;
    for _ in 0..steps {
        d.step += 1;
        d.now += 100_000;
        mid += rng.range(-2, 2);
        match rng.below(20) {
            0..=13 => {
                let v = rng.below(3) as usize;
                let spread = rng.range(1, 4);
                let top = Top {
                    bid: Level { price: mid - spread, qty: rng.range(1, 500) },
                    ask: Level { price: mid + spread, qty: rng.range(1, 500) },
                    ts_ns: d.now,
                };
                d.tops[v] = top;
                let venue = if v == 2 { VenueId::Ours } else { VenueId::External(v as u8) };
                s.on_book(d, venue, &top);
            }
            14..=16 => {
                let aggressor = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
                let trade = PublicTrade { ts_ns: d.now, venue: VenueId::External(0), price: mid, qty: 3, aggressor };
                s.on_trade(d, &trade);
            }
            17 => {
                let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
                let order_id = d.next_id.saturating_sub(rng.below(4) + 1);
                let fill = Fill {
                    ts_ns: d.now,
                    venue: VenueId::Ours,
                    order_id,
                    side,
                    price: mid,
                    qty: 5,
                    liquidity: Liquidity::Maker,
                    fee: -3,
                };
                d.inventory += if side == Side::Buy { 5 } else { -5 };
                s.on_fill(d, &fill, 5);
            }
            18 => s.on_order_gone(d, VenueId::Ours, d.next_id.saturating_sub(1)),
            _ => s.on_timer(d),
        }
        if d.step.is_multiple_of(10) {
            s.on_batch_end(d);
        }
    }
}

#[test]
fn batching_events_and_sending_the_commands_allocates_nothing_after_warm_up() {
    let cfg = PricingConfig::from_json(PRICING).unwrap();
    let hedge = HedgeRule { venue: VenueId::External(0), threshold_lots: 50, slippage_ticks: 5 };
    let mm = PricedMarketMaker::new(&cfg, VenueId::Ours, Some(hedge)).unwrap();
    let mut strategy = BatchedStrategy::new(PerEvent::new(mm), 64);
    let mut driver = Driver { now: 1_700_000_000_000_000_000, next_id: 1, ..Driver::default() };
    let mut rng = SplitMix64::new(11);
    drive(&mut strategy, &mut driver, &mut rng, 5_000);

    let before = (strategy.stats(), driver.sent);
    alloc::reset();
    alloc::arm_thread();
    drive(&mut strategy, &mut driver, &mut rng, 50_000);
    alloc::disarm_thread();

    assert_eq!(alloc::allocations(), 0, "allocations at the batch boundary");
    assert!(strategy.failure().is_none(), "{:?}", strategy.failure());
    let stats = strategy.stats();
    // The run did exercise the path: thousands of batches and commands.
    assert_eq!(stats.events - before.0.events, 50_000);
    assert!(stats.batches - before.0.batches >= 5_000, "{stats:?}");
    assert!(driver.sent - before.1 > 5_000, "commands sent {}", driver.sent - before.1);
    assert_eq!(driver.stamped, stats.commands, "each command is sent as of its event");
    eprintln!("50000 events: {stats:?}, 0 allocations");

    // The counter does count: an allocation while armed is seen.
    alloc::arm_thread();
    let boxed = std::hint::black_box(Box::new(stats.events));
    alloc::disarm_thread();
    drop(boxed);
    assert!(alloc::allocations() >= 1);
}

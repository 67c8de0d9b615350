//! A pipeline with risk and a live market maker on it, for the tests of our venue.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};
use wintermute_engine::pipeline::{Gateway, Pipeline, PipelineConfig, RiskConfig, Topology};
use wintermute_engine::risk::AccountLimits;
use wintermute_mm::config::PricingConfig;
use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::hedger::HedgeConfig;
use wintermute_mm::live::{LiveConfig, LiveMarketMaker};
use wintermute_mm::pricer::Pricer;

/// The market maker's account.
pub const MM: u32 = 1;
/// Another trader's account.
pub const OTHER: u32 = 2;

/// One venue, fixed spread 3 ticks each side of the fair value, 10 lots, one level, skew 1 tick
/// per 10 lots of inventory, requote past 1 tick.
pub const PRICING: &str = r#"{
  "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"},
  "venues": [{"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD",
               "weight": 1.0, "stale_after_ms": 60000}],
  "model": {"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 1.0},
  "volatility": {"fixed": {"sigma": 1.0}},
  "intensity": {"fixed": {"bid": {"a": 1.0, "k": 1.0}, "ask": {"a": 1.0, "k": 1.0}}},
  "quoting": {"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
              "max_spread_ticks": 100, "max_inventory_lots": 50, "inventory_unit_lots": 10,
              "requote_threshold_ticks": 1.0, "requote_interval_ms": 60000}
}"#;

/// A running pipeline (merged topology, risk on), the market maker on gateway 0 and another
/// trader's gateway (1).
pub struct Rig {
    pub pipeline: Pipeline,
    pub mm: LiveMarketMaker,
    pub other: Gateway,
}

/// Starts a rig; `hedge`: hedge past 3 lots back to 0.
pub fn rig(hedge: bool) -> Rig {
    rig_with(PRICING, hedge)
}

/// As [`rig`], priced by the pricing config `pricing` (JSON).
pub fn rig_with(pricing: &str, hedge: bool) -> Rig {
    let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.0001", 1, 1_000_000, 1, 10_000_000).unwrap();
    let risk = RiskConfig::permissive().account(MM, AccountLimits::UNLIMITED).account(OTHER, AccountLimits::UNLIMITED);
    let config = PipelineConfig::new(vec![spec]).risk(risk).topology(Topology::Merged).gateways(2);
    let (pipeline, mut handles) = Pipeline::start(config).unwrap();
    let other = handles.gateways.pop().unwrap();
    let gateway = handles.gateways.pop().unwrap();
    let sub = handles.subscriptions.pop().unwrap();
    let venue = EngineVenue::new(EngineVenueConfig::new(MM, 0, FeeSchedule::new(-100, 200).unwrap()), gateway, sub);
    let pricer = Pricer::from_config(&PricingConfig::from_json(pricing).unwrap()).unwrap();
    let cfg = LiveConfig {
        hedge: hedge.then(|| HedgeConfig::new(3, 0, 2, 60_000_000_000).unwrap()),
        hedge_fees: vec![FeeSchedule::new(0, 500).unwrap()],
        ..LiveConfig::default()
    };
    Rig { pipeline, mm: LiveMarketMaker::new(pricer, venue, &cfg), other }
}

impl Rig {
    /// The pipeline clock, now.
    pub fn now(&self) -> i64 {
        self.mm.venue().clock_ns()
    }

    /// Polls until `done` holds (5 s at most).
    pub fn poll_until(&mut self, mut done: impl FnMut(&LiveMarketMaker) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done(&self.mm) {
            assert!(Instant::now() < deadline, "timed out; counters {:?}", self.mm.counters());
            let now = self.now();
            self.mm.poll(now).unwrap();
            std::thread::yield_now();
        }
    }

    /// Polls until our venue has nothing in flight.
    pub fn settle(&mut self) {
        self.poll_until(|m| m.venue().in_flight() == 0);
    }

    /// The external venue's top becomes `bid`/`ask` with 5 lots each (one update per side).
    pub fn external(&mut self, bid: i64, ask: i64) {
        use wintermute_mm::types::{Level, Top, VenueId};
        let now = self.now();
        let top = Top { bid: Level { price: bid, qty: 5 }, ask: Level { price: ask, qty: 5 }, ts_ns: now };
        self.mm.on_top(now, VenueId::External(0), top).unwrap();
    }

    /// Another trader's command.
    pub fn other(&mut self, command: Command) {
        self.other.submit(0, command).unwrap();
    }

    /// Another trader's resting limit order.
    pub fn other_limit(&mut self, id: u64, side: Side, price: i64, qty: i64) {
        self.other(Command::New(NewOrder::limit(id, OTHER, side, price, qty)));
    }
}

//! A pipeline with risk and a live market maker on it, for the tests of our venue; reference
//! books set by hand and the two-venue pricing, for the tests of the live runner.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};
use wintermute_engine::pipeline::{Gateway, Handles, Pipeline, PipelineConfig, RiskConfig, Topology};
use wintermute_engine::risk::AccountLimits;
use wintermute_feeds::sync::SyncState;
use wintermute_mm::config::PricingConfig;
use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
use wintermute_mm::fees::FeeSchedule;
use wintermute_mm::hedger::HedgeConfig;
use wintermute_mm::live::{LiveConfig, LiveMarketMaker};
use wintermute_mm::live_config::{LiveSetup, StreamKey};
use wintermute_mm::live_runner::{BookSource, FeedTrade, FeedTrades, LiveRunner, LiveSnapshot, RefBook};
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

/// Starts a pipeline on BTC-USD (ticks 0.01, lots 0.0001; merged topology) with risk on and
/// no limits for `MM` and `OTHER`, and two gateways: `MM`'s (0) and `OTHER`'s (1).
pub fn start_pipeline() -> (Pipeline, Handles) {
    let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.0001", 1, 1_000_000, 1, 10_000_000).unwrap();
    let risk = RiskConfig::permissive().account(MM, AccountLimits::UNLIMITED).account(OTHER, AccountLimits::UNLIMITED);
    let config = PipelineConfig::new(vec![spec]).risk(risk).topology(Topology::Merged).gateways(2);
    Pipeline::start(config).unwrap()
}

/// A pipeline as [`start_pipeline`] starts it, the live setup of the runner config `config`
/// (ticks 0.01, lots 0.0001), `MM`'s venue on gateway 0 with the setup's fees for ours, and
/// `OTHER`'s gateway.
pub fn live_venue(config: &str) -> (Pipeline, LiveSetup, EngineVenue, Gateway) {
    let (pipeline, mut handles) = start_pipeline();
    let other = handles.gateways.pop().unwrap();
    let gateway = handles.gateways.pop().unwrap();
    let sub = handles.subscriptions.pop().unwrap();
    let setup = LiveSetup::from_json(config, "0.01", "0.0001").unwrap();
    let venue = EngineVenue::new(EngineVenueConfig::new(MM, 0, setup.our_fees), gateway, sub);
    (pipeline, setup, venue, other)
}

/// Starts a rig; `hedge`: hedge past 3 lots back to 0.
pub fn rig(hedge: bool) -> Rig {
    rig_with(PRICING, hedge)
}

/// As [`rig`], priced by the pricing config `pricing` (JSON).
pub fn rig_with(pricing: &str, hedge: bool) -> Rig {
    let (pipeline, mut handles) = start_pipeline();
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

/// 1.0 in the reference books' fixed point (10^18).
pub const E18: i128 = 1_000_000_000_000_000_000;

/// The live runner's `pricing` on two venues, Coinbase (`BTC-USD`, stream 0) and Kraken
/// (`XBT/USD`, stream 1), weighted alike: fixed spread 3 ticks each side of the fair value, skew
/// 1 tick per 10 lots of inventory, 10 lots on one level, requote past 1 tick.
pub const TWO_VENUE_PRICING: &str = r#"{
    "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.0001"},
    "venues": [
      {"name": "coinbase", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 60000},
      {"name": "kraken", "symbol": "XBT/USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 60000}
    ],
    "model": {"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 1.0},
    "volatility": {"fixed": {"sigma": 1.0}},
    "intensity": {"fixed": {"bid": {"a": 1.0, "k": 1.0}, "ask": {"a": 1.0, "k": 1.0}}},
    "quoting": {"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                "max_spread_ticks": 100, "max_inventory_lots": 50, "inventory_unit_lots": 10,
                "requote_threshold_ticks": 1.0, "requote_interval_ms": 60000}
  }"#;

/// A live runner config: the fields `fields` (a JSON object's members, without braces) and
/// [`TWO_VENUE_PRICING`] as its `pricing`.
pub fn two_venue_config(fields: &str) -> String {
    format!("{{\n  {fields},\n  \"pricing\": {TWO_VENUE_PRICING}\n}}")
}

/// Reference books (and public trades) the test sets by hand: the live runner's book source.
#[derive(Clone)]
pub struct ManualBooks {
    pub books: Arc<Mutex<Vec<RefBook>>>,
    /// Handed to the runner oldest first, as many as its buffer takes per read.
    pub trades: Arc<Mutex<Vec<FeedTrade>>>,
}

impl ManualBooks {
    /// `venues` books, none live yet, and no trades.
    pub fn new(venues: usize) -> Self {
        Self { books: Arc::new(Mutex::new(vec![RefBook::default(); venues])), trades: Arc::default() }
    }

    /// Venue `i` live with `bid`/`ask` in cents (= ticks), 1.0 each.
    pub fn live(&self, i: usize, bid: i128, ask: i128) {
        let b = &mut self.books.lock().unwrap()[i];
        b.state = Some(SyncState::Live);
        b.bid = Some((bid * E18 / 100, E18));
        b.ask = Some((ask * E18 / 100, E18));
    }

    /// Changes venue `i`'s book by hand.
    pub fn with(&self, i: usize, f: impl FnOnce(&mut RefBook)) {
        f(&mut self.books.lock().unwrap()[i]);
    }
}

impl BookSource for ManualBooks {
    fn read(&mut self, _streams: &[StreamKey], out: &mut [RefBook]) {
        for (o, b) in out.iter_mut().zip(self.books.lock().unwrap().iter()) {
            *o = *b;
        }
    }

    fn read_trades(&mut self, _streams: &[StreamKey], out: &mut FeedTrades) {
        let mut trades = self.trades.lock().unwrap();
        let taken = trades.iter().take_while(|t| out.push(**t)).count();
        trades.drain(..taken);
    }
}

/// Waits (`timeout` at most) until the runner's snapshot satisfies `done`; returns it.
pub fn wait_snapshot(
    runner: &LiveRunner,
    what: &str,
    timeout: Duration,
    done: impl Fn(&LiveSnapshot) -> bool,
) -> LiveSnapshot {
    let deadline = Instant::now() + timeout;
    loop {
        let s = runner.snapshot();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {s:#?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

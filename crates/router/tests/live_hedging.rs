//! The live market maker's hedges, sent: a runner quoting on a running pipeline, whose
//! inventory crosses the hedge threshold when another trader lifts its ask, sends the hedge as
//! an IOC through `RoutedExecution` and the venue's real REST client to the local simulator on
//! 127.0.0.1 (Binance; Binance and Kraken side by side), the simulator fills it against its
//! book, and the inventory, the PnL and its parts reflect the hedge fills to the last unit.

mod common;
mod live_venues;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::run;
use live_venues::{binance_route, book, kraken_route, money, pricing, BINANCE, KRAKEN};
use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};
use wintermute_engine::pipeline::{Gateway, Pipeline, PipelineConfig, RiskConfig, Topology};
use wintermute_engine::risk::AccountLimits;
use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
use wintermute_mm::live_config::{LiveSetup, StreamKey};
use wintermute_mm::live_hedge::HedgeRoute;
use wintermute_mm::live_runner::{BookSource, LiveRunner, LiveSnapshot, RefBook, RunnerOptions};
use wintermute_mm::types::VenueId;
use wintermute_router::binance::sim::BinanceSim;
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::kraken::sim::KrakenSim;

const MM: u32 = 1;
const OTHER: u32 = 2;

/// Fixed spread 3 ticks each side of the fair value, 10 lots; hedge past 3 lots back to flat,
/// capped 2 ticks through the touch. `venues` and `hedge` fill in the rest.
fn config(venues: &str, hedge: &str) -> String {
    format!(
        r#"{{
  "timer_ms": 20, "hedge_threshold_lots": 3, "hedge_slippage_ticks": 2, {hedge}
  "pricing": {pricing}
}}"#,
        pricing = pricing(venues)
    )
}

/// Reference books the test sets by hand.
#[derive(Clone)]
struct Manual(Arc<Mutex<Vec<RefBook>>>);

impl BookSource for Manual {
    fn read(&mut self, _streams: &[StreamKey], out: &mut [RefBook]) {
        out.copy_from_slice(&self.0.lock().unwrap());
    }
}

struct Rig {
    pipeline: Pipeline,
    runner: LiveRunner,
    other: Gateway,
}

/// A pipeline (risk on) with the market maker on gateway 0, our fills paying `fees.ours`.
fn rig(config: &str, books: Vec<RefBook>, routes: Vec<HedgeRoute>) -> Rig {
    let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.001", 1, 1_000_000, 1, 100_000_000).unwrap();
    let risk = RiskConfig::permissive().account(MM, AccountLimits::UNLIMITED).account(OTHER, AccountLimits::UNLIMITED);
    let pipeline_config = PipelineConfig::new(vec![spec]).risk(risk).topology(Topology::Merged).gateways(2);
    let (pipeline, mut handles) = Pipeline::start(pipeline_config).unwrap();
    let other = handles.gateways.pop().unwrap();
    let gateway = handles.gateways.pop().unwrap();
    let sub = handles.subscriptions.pop().unwrap();
    let setup = LiveSetup::from_json(config, "0.01", "0.001").unwrap();
    let venue = EngineVenue::new(EngineVenueConfig::new(MM, 0, setup.our_fees), gateway, sub);
    let source = Box::new(Manual(Arc::new(Mutex::new(books))));
    let runner = LiveRunner::start_hedged(setup, venue, source, RunnerOptions::default(), routes).unwrap();
    Rig { pipeline, runner, other }
}

/// Waits (10 s at most; the simulators run meanwhile) until the snapshot satisfies `done`.
async fn wait(r: &Rig, what: &str, done: impl Fn(&LiveSnapshot) -> bool) -> LiveSnapshot {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = r.runner.snapshot();
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {s:#?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn resting(s: &LiveSnapshot) -> bool {
    s.quotes.len() == 2 && s.quotes.iter().all(|q| q.queue_ahead.is_some())
}

/// BTCUSDT on our grid: asks 60000.02 x 0.003, 60000.05 x 0.002, 60000.10 x 0.05 (bids mirrored).
async fn binance(fee_rate: &str) -> (BinanceSim, RoutedExecution) {
    let bids = [("59999.98", "0.003"), ("59999.95", "0.002"), ("59999.90", "0.05")];
    let asks = [("60000.02", "0.003"), ("60000.05", "0.002"), ("60000.10", "0.05")];
    binance_route(0, (&bids, &asks), fee_rate, |_| {}, 16).await
}

/// XBTUSD on our grid: asks 60000.01 x 0.01, bids 59999.99 x 0.01.
async fn kraken(fee_rate: &str) -> (KrakenSim, RoutedExecution) {
    kraken_route(1, (&[("59999.99", "0.01")], &[("60000.01", "0.01")]), fee_rate, 16).await
}

#[test]
fn a_hedge_goes_to_the_binance_simulator_and_its_fills_reach_inventory_and_pnl_exactly() {
    run(async {
        let (sim, exec) = binance("0.001").await;
        let hedge = r#""hedge_on": "binance", "hedge": {"routes": ["binance"]},
            "fees": {"ours": {"maker_ppm": -100, "taker_ppm": 200}, "binance": {"maker_ppm": 1000, "taker_ppm": 1000}},"#;
        let routes = vec![HedgeRoute { venue: VenueId::External(0), execution: Box::new(exec) }];
        let mut r = rig(&config(BINANCE, hedge), vec![book(5_999_998, 6_000_002)], routes);
        let s = wait(&r, "two resting quotes", resting).await;
        assert_eq!((s.quotes[0].price, s.quotes[1].price), (5_999_997, 6_000_003));
        assert_eq!(s.hedging.routes, vec!["binance"]);
        // Lifting 4 lots of our ask takes the inventory to -4, past the 3-lot threshold.
        r.other.submit(0, Command::New(NewOrder::market(1, OTHER, Side::Buy, 4))).unwrap();
        let s = wait(&r, "the hedge done", |s| s.hedging.orders.first().is_some_and(|o| o.status == "canceled")).await;
        // A buy of 4 capped at 60000.04: 3 lots at 60000.02, the 4th lot's 60000.05 is past
        // the cap, so it is canceled and the inventory stays within the threshold.
        let o = s.hedging.orders[0];
        assert_eq!((o.venue, o.side, o.qty, o.limit_price, o.filled), (0, "buy", 4, 6_000_004, 3));
        assert_eq!(sim.trades().iter().map(|t| (t.1.as_str(), t.2)).collect::<Vec<_>>(), vec![("wm1", 3)]);
        let h = &s.hedging;
        assert_eq!((h.orders_sent, h.fills, h.filled_qty, h.net_filled, h.canceled_qty), (1, 1, 3, 3, 1));
        assert_eq!((h.partial, h.unfilled, h.rejected, h.send_errors, h.in_flight), (1, 0, 0, 0, 0));
        assert_eq!((s.counters.fills, s.counters.hedge_fills), (1, 1));
        assert_eq!(s.inventory, -4 + 3);
        // Our quote: sold 4 at 6000003 against a fair value of 6000000, a 100 ppm rebate.
        let quote_fee = -(money(6_000_003, 4) / 1_000_000 * 100);
        // The hedge: bought 3 at 6000002 against the decision's 6000000; Binance charges a
        // buyer 0.1 % in BTC: 0.000003 BTC at 60000.02 is 0.18000006 USDT, 18000.006
        // tick-lots.
        let hedge_fee = 18_000_006_000;
        assert_eq!(s.pnl.spread_capture, money(3, 4));
        assert_eq!(s.pnl.hedge_slippage, -money(2, 3));
        assert_eq!(s.pnl.fees, -quote_fee - hedge_fee);
        assert_eq!(s.pnl.inventory_mtm, 0, "every lot entered at the fair value it is marked at");
        let cash = money(6_000_003, 4) - money(6_000_002, 3) - quote_fee - hedge_fee;
        assert_eq!(s.pnl.total, cash + money(6_000_000, s.inventory), "total from cash and position");
        assert_eq!(s.pnl.total, s.pnl.spread_capture + s.pnl.inventory_mtm + s.pnl.fees + s.pnl.hedge_slippage);
        r.runner.stop();
        r.pipeline.shutdown().unwrap();
    });
}

#[test]
fn the_hedger_picks_the_cheaper_of_two_routed_venues_and_the_kraken_simulator_fills_it_whole() {
    run(async {
        let (binance_sim, binance_exec) = binance("0.001").await;
        let (kraken_sim, kraken_exec) = kraken("0.0001").await;
        let hedge = r#""hedge_on": "kraken", "hedge": {"routes": ["binance", "kraken"]},
            "fees": {"ours": {"maker_ppm": 0, "taker_ppm": 0}, "binance": {"maker_ppm": 1000, "taker_ppm": 1000},
                     "kraken": {"maker_ppm": 100, "taker_ppm": 100}},"#;
        let routes = vec![
            HedgeRoute { venue: VenueId::External(0), execution: Box::new(binance_exec) },
            HedgeRoute { venue: VenueId::External(1), execution: Box::new(kraken_exec) },
        ];
        let books = vec![book(5_999_998, 6_000_002), book(5_999_999, 6_000_001)];
        let mut r = rig(&config(&format!("{BINANCE}, {KRAKEN}"), hedge), books, routes);
        wait(&r, "two resting quotes", resting).await;
        r.other.submit(0, Command::New(NewOrder::market(1, OTHER, Side::Buy, 4))).unwrap();
        let s = wait(&r, "the hedge filled", |s| s.hedging.orders.first().is_some_and(|o| o.status == "filled")).await;
        // Kraken's 60000.01 plus 1 bp beats Binance's 60000.02 plus 10 bp: the whole hedge there.
        let o = s.hedging.orders[0];
        assert_eq!((o.venue, o.side, o.qty, o.filled), (1, "buy", 4, 4));
        assert_eq!(kraken_sim.trades().iter().map(|t| t.2).collect::<Vec<_>>(), vec![4]);
        assert!(binance_sim.trades().is_empty());
        assert_eq!((s.hedging.partial, s.hedging.canceled_qty, s.hedging.net_filled), (0, 0, 4));
        assert_eq!(s.inventory, 0);
        // Kraken charges 1 bp in USD: 0.004 at 60000.01 is 240.00004 USD, a fee of 0.024000004
        // USD, 2400.0004 tick-lots.
        assert_eq!(s.pnl.fees, -2_400_000_400);
        assert_eq!(s.pnl.hedge_slippage, -money(1, 4));
        assert_eq!(s.pnl.spread_capture, money(3, 4));
        let cash = money(6_000_003, 4) - money(6_000_001, 4) - 2_400_000_400;
        assert_eq!(s.pnl.total, cash);
        assert_eq!(s.pnl.total, s.pnl.spread_capture + s.pnl.inventory_mtm + s.pnl.fees + s.pnl.hedge_slippage);
        r.runner.stop();
        r.pipeline.shutdown().unwrap();
    });
}

//! Batched strategies in the backtester: the built-in market maker run through the batch
//! boundary (`PerEvent`: events buffered, handed over once per batch, commands sent as of the
//! event they were decided after) trades exactly as it does when called per event; a sink's
//! failure or a bad command halts the run with the reason.

use std::convert::Infallible;
use std::path::Path;

use wintermute_mm::backtest::{market_maker, run, run_batched, BacktestConfig, BacktestResult};
use wintermute_mm::batched::per_event::PerEvent;
use wintermute_mm::batched::{
    Batch, BatchFailure, BatchSink, BatchedStrategy, Command, CommandBuffer, CommandError, StrategyEvent,
};
use wintermute_mm::types::{Side, Top, VenueId};

/// Two reference venues, quoting on our venue, hedging past 10 lots on binance, with the
/// interlock: every path of the built-in market maker.
fn synthetic(seed: u64, extra: &str) -> BacktestConfig {
    let json = format!(
        r#"{{"seed": {seed},
        "market": {{"kind": "synthetic", "duration_s": 20.0,
                   "venues": [{{"name": "binance", "spread_ticks": 2, "updates_per_s": 400}},
                              {{"name": "kraken", "spread_ticks": 3, "lag_ms": 30, "noise_ticks": 1.0, "updates_per_s": 200}}]}},
        "pricing": {{
          "instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.1", "lot_size": "0.0001"}},
          "venues": [{{"name": "binance", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 2.0, "stale_after_ms": 300}},
                     {{"name": "kraken", "symbol": "BTC-USD", "quote_currency": "USD", "weight": 1.0, "stale_after_ms": 300}}],
          "model": {{"kind": "fixed_spread", "half_spread_ticks": 2.0, "skew_ticks_per_unit": 0.5}},
          "volatility": {{"fixed": {{"sigma": 2.0}}}},
          "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 0.3}}, "ask": {{"a": 1.0, "k": 0.3}}}}}},
          "quoting": {{"levels": 2, "sizes_lots": [2, 3], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                      "max_spread_ticks": 200, "max_inventory_lots": 20, "inventory_unit_lots": 2,
                      "requote_threshold_ticks": 1.0, "requote_interval_ms": 500}}}},
        "hedge_on": "binance", "hedge_threshold_lots": 10,
        "interlock": {{"stale_after_ms": 200, "cross_threshold_ticks": 8}},
        "fees": {{"ours": {{"maker_ppm": -20, "taker_ppm": 50}}, "binance": {{"maker_ppm": 10, "taker_ppm": 40}}}}
        {extra}}}"#
    );
    serde_json::from_str(&json).unwrap()
}

fn recorded() -> BacktestConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../data/binance/binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade.cfraw.txt",
    );
    let json = format!(
        r#"{{"market": {{"kind": "recorded", "path": "{}", "venue": "binance", "symbol": "BTCUSDT",
                        "tick_size": "0.01", "lot_size": "0.000001"}},
            "latency": {{"order_ms": 5.0}},
            "pricing": {{
              "instrument": {{"symbol": "BTCUSDT", "quote_currency": "USDT", "tick_size": "0.01", "lot_size": "0.000001"}},
              "venues": [{{"name": "binance", "symbol": "BTCUSDT", "quote_currency": "USDT", "weight": 1.0, "stale_after_ms": 5000}}],
              "model": {{"kind": "fixed_spread", "half_spread_ticks": 20.0, "skew_ticks_per_unit": 2.0}},
              "volatility": {{"fixed": {{"sigma": 2.0}}}},
              "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 0.3}}, "ask": {{"a": 1.0, "k": 0.3}}}}}},
              "quoting": {{"levels": 1, "sizes_lots": [1000], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                          "max_spread_ticks": 100000, "max_inventory_lots": 100000, "inventory_unit_lots": 1000,
                          "requote_threshold_ticks": 1.0, "requote_interval_ms": 1000}}}},
            "fees": {{"binance:BTCUSDT": {{"maker_ppm": -10, "taker_ppm": 1000}}}}}}"#,
        path.display()
    );
    serde_json::from_str(&json).unwrap()
}

fn through_batches(cfg: &BacktestConfig, capacity: usize) -> (BacktestResult, wintermute_mm::batched::BatchStats) {
    let built = cfg.build().unwrap();
    let mm = market_maker(cfg, &built).unwrap();
    let mut strategy = BatchedStrategy::new(PerEvent::new(mm), capacity);
    let result = run_batched(cfg, &mut strategy, "per-event", None).unwrap();
    assert!(strategy.failure().is_none());
    (result, strategy.stats())
}

/// Everything a run traded and measured is the same.
fn assert_same_trading(direct: &BacktestResult, batched: &BacktestResult) {
    let (a, b) = (&direct.summary, &batched.summary);
    assert_eq!(a.digest, b.digest, "digest (every event, order and fill)");
    assert_eq!(direct.fills, batched.fills);
    assert_eq!(direct.series, batched.series);
    assert_eq!(a.pnl_exact, b.pnl_exact);
    assert_eq!((a.orders, a.amends, a.cancels, a.rejects), (b.orders, b.amends, b.cancels, b.rejects));
    assert_eq!(a.markouts, b.markouts);
    assert_eq!(a.markouts_fair, b.markouts_fair);
    assert_eq!(a.queue_error, b.queue_error);
}

#[test]
fn the_market_maker_through_batches_trades_exactly_as_when_called_per_event() {
    let cfg = synthetic(5, "");
    let direct = run(&cfg, None).unwrap();
    assert!(direct.summary.fills > 50, "the run must trade: {}", direct.summary.fills);
    assert!(direct.summary.taker_lots > 0, "and hedge");
    let interlock = direct.summary.interlock.as_ref().unwrap();
    assert!(interlock.pulls.values().sum::<u64>() > 0, "and pull: {interlock:?}");
    for capacity in [1, 7, 4096] {
        let (batched, stats) = through_batches(&cfg, capacity);
        assert_same_trading(&direct, &batched);
        assert_eq!(batched.summary.model, "per-event");
        assert!(stats.largest as usize <= capacity);
        if capacity > 1 {
            assert!(stats.events > 2 * stats.batches, "events are batched: {stats:?}");
        }
        assert_eq!(batched.summary.batching.unwrap().events, stats.events);
    }
}

#[test]
fn a_longer_order_latency_makes_longer_batches_and_the_same_trading() {
    let cfg = synthetic(9, r#", "latency": {"order_ms": 20.0, "our_feed_ms": 2.0}"#);
    let direct = run(&cfg, None).unwrap();
    let (batched, stats) = through_batches(&cfg, 4096);
    assert_same_trading(&direct, &batched);
    let (_, short) = through_batches(&synthetic(9, ""), 4096);
    let mean = |s: wintermute_mm::batched::BatchStats| s.events as f64 / s.batches as f64;
    assert!(mean(stats) > 2.0 * mean(short), "20 ms batches {stats:?} vs 1 ms batches {short:?}");
}

#[test]
fn on_a_recorded_venue_the_batched_market_maker_trades_exactly_as_called_per_event() {
    let cfg = recorded();
    let direct = run(&cfg, None).unwrap();
    assert!(direct.summary.fills > 0, "the run must trade: {:?}", direct.summary.fills);
    let (batched, stats) = through_batches(&cfg, 4096);
    assert_same_trading(&direct, &batched);
    assert!(stats.events > stats.batches);
}

/// On each top change of the first external venue (exogenous: our orders do not move it), cancels
/// its working order and joins our venue's bid with one lot (and on every 50th sends a post-only
/// buy at our ask, which the venue refuses); fails on the `fail_at`-th batch; `wrong_id` gives
/// its orders an id off by one, `zero_qty` a size of 0.
#[derive(Debug, Default)]
struct Joiner {
    ours: Top,
    working: Option<u64>,
    batches: usize,
    fail_at: Option<usize>,
    wrong_id: bool,
    zero_qty: bool,
    seen: [usize; 6],
}

impl BatchSink for Joiner {
    type Error = String;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), String> {
        self.batches += 1;
        if self.fail_at == Some(self.batches) {
            return Err(format!("failed at batch {}", self.batches));
        }
        let mut next = batch.next_order_id.ok_or("no ids")?;
        for (i, e) in batch.events.iter().enumerate() {
            let kind = match e {
                StrategyEvent::Book { .. } => 0,
                StrategyEvent::Trade(_) => 1,
                StrategyEvent::Fill { .. } => 2,
                StrategyEvent::OrderGone { .. } => 3,
                StrategyEvent::Timer => 4,
                StrategyEvent::Answer { .. } => 5,
            };
            self.seen[kind] += 1;
            match e {
                StrategyEvent::Book { venue: VenueId::Ours, top, .. } => self.ours = *top,
                StrategyEvent::Book { venue: VenueId::External(0), .. } => {
                    if let Some(id) = self.working.take() {
                        out.push(i, Command::Cancel { venue: VenueId::Ours, order_id: id });
                    }
                    let top = self.ours;
                    if top.bid.qty > 0 {
                        let order_id = if self.wrong_id { next + 1 } else { next };
                        let qty = if self.zero_qty { 0 } else { 1 };
                        let price = top.bid.price;
                        out.push(i, Command::Place { venue: VenueId::Ours, side: Side::Buy, price, qty, order_id });
                        self.working = Some(next);
                        next += 1;
                    }
                    if self.seen[0].is_multiple_of(50) && top.ask.qty > 0 {
                        let price = top.ask.price;
                        out.push(
                            i,
                            Command::Place { venue: VenueId::Ours, side: Side::Buy, price, qty: 1, order_id: next },
                        );
                        next += 1;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

fn run_joiner(sink: Joiner) -> (BacktestResult, BatchedStrategy<Joiner>) {
    let cfg = synthetic(3, "");
    let mut strategy = BatchedStrategy::new(sink, 256);
    let result = run_batched(&cfg, &mut strategy, "joiner", None).unwrap();
    (result, strategy)
}

#[test]
fn a_sink_sees_every_kind_of_event_and_its_orders_reach_our_venue() {
    let (result, strategy) = run_joiner(Joiner::default());
    assert!(strategy.failure().is_none());
    let seen = strategy.sink().seen;
    // No answers: this sink does not take them.
    assert!(seen[..5].iter().all(|&n| n > 0) && seen[5] == 0, "book, trade, fill, order gone, timer, answer: {seen:?}");
    let s = &result.summary;
    assert!(s.orders > 100 && s.cancels > 100, "{} orders {} cancels", s.orders, s.cancels);
    assert!(s.fills > 0, "a buy at the bid gets hit by the takers");
    assert!(s.fills_per_order > 0.0);
}

#[test]
fn a_sink_that_fails_halts_the_run_with_its_error() {
    let (full, _) = run_joiner(Joiner::default());
    let (result, strategy) = run_joiner(Joiner { fail_at: Some(50), ..Joiner::default() });
    assert_eq!(strategy.failure(), Some(&BatchFailure::Sink("failed at batch 50".to_string())));
    assert_eq!(strategy.stats().batches, 50);
    assert!(result.summary.loop_events < full.summary.loop_events / 10, "the run stopped early");
}

#[test]
fn an_order_id_the_driver_did_not_give_halts_the_run() {
    let (_, strategy) = run_joiner(Joiner { wrong_id: true, ..Joiner::default() });
    match strategy.failure() {
        Some(BatchFailure::Command(CommandError::OrderId { index: 0, expected, got })) => {
            assert_eq!(*expected, got + 1)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_zero_quantity_halts_the_run_before_the_order_is_sent() {
    let (result, strategy) = run_joiner(Joiner { zero_qty: true, ..Joiner::default() });
    assert!(
        matches!(strategy.failure(), Some(BatchFailure::Command(CommandError::Field { field: "qty", .. }))),
        "{:?}",
        strategy.failure()
    );
    assert_eq!(result.summary.orders, 0);
}

#[test]
fn a_sink_that_sends_nothing_trades_nothing() {
    struct Idle;
    impl BatchSink for Idle {
        type Error = Infallible;
        fn on_batch(&mut self, _: &Batch<'_>, _: &mut CommandBuffer) -> Result<(), Infallible> {
            Ok(())
        }
    }
    let mut strategy = BatchedStrategy::new(Idle, 64);
    let r = run_batched(&synthetic(3, ""), &mut strategy, "idle", None).unwrap();
    assert_eq!((r.summary.orders, r.summary.fills), (0, 0));
    assert!(strategy.stats().events > 1_000);
}

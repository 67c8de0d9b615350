//! The live market maker quoting on an external venue (`quote_on = "<venue>"`): its quotes go
//! through `RoutedExecution` and the venue's real REST client to the local simulator on
//! 127.0.0.1 (Kraken, Binance), rest there at the quoter's prices, follow the fair value, fill
//! when another participant trades through them (inventory, PnL and fees exact), and are
//! canceled at the venue by the kill switch and by a stale reference book; a post-only quote
//! the venue refuses is counted and shown, and quoting goes on. With `quote_on` a list, the
//! quotes rest on two simulators at once (Kraken and Binance), each venue's ladder priced,
//! counted and refused on its own, both venues' fills in the one inventory and PnL, and the
//! kill switch canceling on both.

mod common;
mod live_venues;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::run;
use live_venues::{binance_route, book, kraken_route, money, pricing, BINANCE, KRAKEN, KRAKEN_SECRET, LOT_RAW};
use wintermute_core::InstrumentSpec;
use wintermute_engine::pipeline::{Pipeline, PipelineConfig, RiskConfig, Topology};
use wintermute_engine::risk::AccountLimits;
use wintermute_mm::batched::{Batch, BatchSink, Command, CommandBuffer, StrategyEvent};
use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
use wintermute_mm::live_config::{LiveSetup, StreamKey};
use wintermute_mm::live_hedge::HedgeRoute;
use wintermute_mm::live_runner::{BookSource, LiveRunError, LiveRunner, LiveSnapshot, RefBook, RunnerOptions};
use wintermute_mm::live_strategy::{link, LiveStrategyConfig, StrategyThread};
use wintermute_mm::types::{Side, VenueId};
use wintermute_router::binance::sim::{BinanceSim, SimConfig};
use wintermute_router::execution_adapter::RoutedExecution;
use wintermute_router::kraken::ids::uuid_cl_ord_id;
use wintermute_router::kraken::sim::KrakenSim;

const MM: u32 = 1;

/// Fixed spread 3 ticks each side of the fair value, 10 lots, no skew; quoting on `quote_on`,
/// whose maker fee is 0.1 %; `extra` adds keys.
fn config(quote_on: &str, venue: &str, extra: &str) -> String {
    config_on(
        &format!("{quote_on:?}"),
        &format!(r#""{quote_on}": {{"maker_ppm": 1000, "taker_ppm": 2000}}"#),
        venue,
        extra,
    )
}

/// As [`config`], `quote_on` and `fees` given as JSON text.
fn config_on(quote_on: &str, fees: &str, venue: &str, extra: &str) -> String {
    format!(
        r#"{{
  "timer_ms": 20, "quote_on": {quote_on}, {extra}
  "fees": {{{fees}}},
  "pricing": {pricing}
}}"#,
        pricing = pricing(venue)
    )
}

/// The reference book the test sets by hand; while `flicker` is on, each read shows one lot
/// more or less on the bid, so the book keeps changing (fresh) at the same prices.
#[derive(Clone)]
struct Manual {
    book: Arc<Mutex<RefBook>>,
    flicker: Arc<AtomicBool>,
    odd: bool,
}

impl BookSource for Manual {
    fn read(&mut self, _streams: &[StreamKey], out: &mut [RefBook]) {
        let mut book = *self.book.lock().unwrap();
        if self.flicker.load(Ordering::Acquire) {
            self.odd = !self.odd;
            if let Some((p, q)) = book.bid {
                book.bid = Some((p, q + i128::from(self.odd) * LOT_RAW));
            }
        }
        for b in out.iter_mut() {
            *b = book;
        }
    }
}

struct Rig {
    pipeline: Pipeline,
    runner: LiveRunner,
    feed: Manual,
}

/// A pipeline (our venue: nothing of ours rests there) and the runner quoting through `quote`.
fn rig(config: &str, first: RefBook, quote: RoutedExecution) -> Rig {
    rig_on(config, first, vec![HedgeRoute { venue: VenueId::External(0), execution: Box::new(quote) }])
}

/// As [`rig`], quoting through `quotes` (one per `quote_on` venue, in its order); every
/// reference stream shows the same book.
fn rig_on(config: &str, first: RefBook, quotes: Vec<HedgeRoute>) -> Rig {
    let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.001", 1, 1_000_000, 1, 100_000_000).unwrap();
    let risk = RiskConfig::permissive().account(MM, AccountLimits::UNLIMITED);
    let pipeline_config = PipelineConfig::new(vec![spec]).risk(risk).topology(Topology::Merged).gateways(1);
    let (pipeline, mut handles) = Pipeline::start(pipeline_config).unwrap();
    let gateway = handles.gateways.pop().unwrap();
    let sub = handles.subscriptions.pop().unwrap();
    let setup = LiveSetup::from_json(config, "0.01", "0.001").unwrap();
    let venue = EngineVenue::new(EngineVenueConfig::new(MM, 0, setup.our_fees), gateway, sub);
    let feed = Manual { book: Arc::new(Mutex::new(first)), flicker: Arc::new(AtomicBool::new(false)), odd: false };
    let options = RunnerOptions::default();
    let runner = LiveRunner::start_routed(setup, venue, Box::new(feed.clone()), options, vec![], quotes).unwrap();
    Rig { pipeline, runner, feed }
}

/// Waits (10 s at most; the simulator runs meanwhile) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// XBTUSD on our grid, its book 60000.00 / 60000.04 (1.0 a side), a 0.1 % fee.
async fn kraken() -> (KrakenSim, RoutedExecution) {
    kraken_at(0).await
}

/// As [`kraken`], the route to pricing venue `venue`.
async fn kraken_at(venue: u8) -> (KrakenSim, RoutedExecution) {
    kraken_route(venue, (&[("60000.00", "1")], &[("60000.04", "1")]), "0.001", 64).await
}

/// BTCUSDT on our grid, its book 60000.00 / 60000.04 (1.0 a side), a 0.1 % fee.
async fn binance() -> (BinanceSim, RoutedExecution) {
    binance_at(0).await
}

/// As [`binance`], the route to pricing venue `venue`.
async fn binance_at(venue: u8) -> (BinanceSim, RoutedExecution) {
    let limits = |cfg: &mut SimConfig| {
        cfg.weight_limit_1m = 100_000_000;
        cfg.orders_limit_10s = 100_000;
    };
    binance_route(venue, (&[("60000.00", "1")], &[("60000.04", "1")]), "0.001", limits, 64).await
}

/// Stops the runner off the test's thread, which serves the simulator meanwhile (stopping
/// waits for the venue to answer the cancels).
async fn stop(runner: LiveRunner) -> LiveRunner {
    tokio::task::spawn_blocking(move || {
        runner.stop();
        runner
    })
    .await
    .unwrap()
}

fn prices(s: &LiveSnapshot) -> Vec<(&'static str, i64, i64)> {
    s.quotes.iter().map(|q| (q.side, q.price, q.qty)).collect()
}

#[test]
fn quotes_rest_on_the_kraken_simulator_follow_the_fair_value_and_a_trade_through_one_fills_it_exactly() {
    run(async {
        let (sim, exec) = kraken().await;
        let r = rig(&config("kraken", KRAKEN, ""), book(6_000_000, 6_000_004), exec);
        until("two quotes resting on Kraken", || sim.open_order_count() == 2).await;
        let s = r.runner.snapshot();
        // Fair 60000.02, 3 ticks each side; nothing rests on our own venue.
        assert_eq!(prices(&s), vec![("buy", 5_999_999, 10), ("sell", 6_000_005, 10)]);
        assert!(s.quotes.iter().all(|q| q.queue_ahead.is_none()));
        let q = s.quote_venues.first().cloned().expect("quoting on an external venue");
        assert_eq!((q.venue, q.open, q.orders_sent, q.rejected), ("kraken", 2, 2, 0));
        // Nobody's buy rests above 59999.99, nobody's sell below 60000.05.
        assert_eq!(sim.trade_at("XBTUSD", "60000.00", "0.001").unwrap(), 0);
        assert_eq!(sim.trade_at("XBTUSD", "60000.04", "0.001").unwrap(), 0);

        // The market moves up 10 ticks: both quotes are canceled and placed again.
        *r.feed.book.lock().unwrap() = book(6_000_010, 6_000_014);
        sim.set_book("XBTUSD", &[(6_000_010, 1_000)], &[(6_000_014, 1_000)]).unwrap();
        until("the quotes moved", || {
            let s = r.runner.snapshot();
            prices(&s) == vec![("buy", 6_000_009, 10), ("sell", 6_000_015, 10)]
                && s.quote_venues.first().is_some_and(|q| q.canceled == 2 && q.open == 2)
                && sim.open_order_count() == 2
        })
        .await;
        assert_eq!(sim.trade_at("XBTUSD", "60000.10", "0.001").unwrap(), 0);
        assert_eq!(sim.trade_at("XBTUSD", "60000.14", "0.001").unwrap(), 0);

        // Another participant sells 4 lots at 60000.09: our bid fills as a maker.
        assert_eq!(sim.trade_at("XBTUSD", "60000.09", "0.004").unwrap(), 1);
        until("the fill in the inventory", || r.runner.snapshot().inventory == 4).await;
        // The quoter tops the bid back up to 10 lots: Kraken amends it in place (4 filled + 10).
        until("the bid amended in place", || {
            let s = r.runner.snapshot();
            s.quote_venues.first().is_some_and(|q| q.amends == 1)
                && s.quotes.first().and_then(|b| sim.open_order_qty(&uuid_cl_ord_id(b.order_id, 0))) == Some(14)
        })
        .await;
        let s = r.runner.snapshot();
        assert_eq!(sim.open_order_count(), 2, "amended, not replaced");
        let q = s.quote_venues.first().cloned().unwrap();
        // Kraken's 0.1 % in USD: 0.004 at 60000.09 is 240.00036 USD, a fee of 0.24000036 USD,
        // 24000.036 tick-lots.
        let fee = 24_000_036_000;
        assert_eq!((q.fills, q.filled_qty, q.fees), (1, 4, fee));
        assert_eq!(s.counters.fills, 1);
        assert_eq!(s.pnl.spread_capture, money(3, 4), "bought 3 ticks under the fair value 60000.12");
        assert_eq!(s.pnl.fees, -fee);
        assert_eq!(s.pnl.inventory_mtm, 0);
        assert_eq!(s.pnl.total, money(6_000_012 - 6_000_009, 4) - fee);
        assert_eq!(s.pnl.total, s.pnl.spread_capture + s.pnl.inventory_mtm + s.pnl.fees + s.pnl.hedge_slippage);

        // Stopping cancels the quotes at the venue.
        let runner = stop(r.runner).await;
        assert_eq!(sim.open_order_count(), 0);
        assert_eq!(runner.snapshot().quote_venues[0].clone().open, 0);
        r.pipeline.shutdown().unwrap();
    });
}

#[test]
fn the_kill_switch_cancels_the_quotes_at_the_binance_simulator_and_the_release_brings_them_back() {
    run(async {
        let (sim, exec) = binance().await;
        let r = rig(&config("binance", BINANCE, ""), book(6_000_000, 6_000_004), exec);
        until("two quotes resting on Binance", || sim.open_order_count("BTCUSDT") == 2).await;
        assert_eq!(prices(&r.runner.snapshot()), vec![("buy", 5_999_999, 10), ("sell", 6_000_005, 10)]);
        r.runner.set_kill_switch(true);
        until("the quotes canceled at Binance", || sim.open_order_count("BTCUSDT") == 0).await;
        until("the snapshot shows the pull", || {
            let s = r.runner.snapshot();
            s.halted && s.quotes.is_empty() && s.interlock.causes == vec!["kill_switch"]
        })
        .await;
        // The venue's cancels and their reports arrive apart: wait for both reports.
        until("both cancels reported", || r.runner.snapshot().quote_venues[0].canceled == 2).await;
        let q = r.runner.snapshot().quote_venues[0].clone();
        assert_eq!((q.cancels, q.canceled, q.open), (2, 2, 0));
        r.runner.set_kill_switch(false);
        until("the quotes back at Binance", || sim.open_order_count("BTCUSDT") == 2).await;
        // A trade through the ask fills it (Binance charges a seller 0.1 % of the USDT).
        assert_eq!(sim.trade_at("BTCUSDT", "60000.05", "0.002").unwrap(), 1);
        until("the fill in the inventory", || r.runner.snapshot().inventory == -2).await;
        let s = r.runner.snapshot();
        // 0.002 at 60000.05 is 120.0001 USDT; 0.1 % is 0.1200001 USDT, 12000.01 tick-lots.
        assert_eq!(s.pnl.fees, -12_000_010_000);
        assert_eq!(s.pnl.spread_capture, money(3, 2));
        stop(r.runner).await;
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        r.pipeline.shutdown().unwrap();
    });
}

#[test]
fn a_quote_moving_to_another_price_on_binance_is_one_cancel_replace_request() {
    run(async {
        let (sim, exec) = binance().await;
        let r = rig(&config("binance", BINANCE, ""), book(6_000_000, 6_000_004), exec);
        until("two quotes resting on Binance", || sim.open_order_count("BTCUSDT") == 2).await;
        assert_eq!(sim.rest_requests("POST", "/api/v3/order"), 2);
        // The market moves up 10 ticks: each quote's cancel and place go as one request.
        *r.feed.book.lock().unwrap() = book(6_000_010, 6_000_014);
        sim.set_book("BTCUSDT", &[(6_000_010, 1_000)], &[(6_000_014, 1_000)]).unwrap();
        until("the quotes moved", || {
            let s = r.runner.snapshot();
            prices(&s) == vec![("buy", 6_000_009, 10), ("sell", 6_000_015, 10)]
                && s.quote_venues.first().is_some_and(|q| q.canceled == 2 && q.open == 2)
                && sim.open_order_count("BTCUSDT") == 2
        })
        .await;
        assert_eq!(sim.rest_requests("POST", "/api/v3/order/cancelReplace"), 2, "one request per moved quote");
        assert_eq!(sim.rest_requests("DELETE", "/api/v3/order"), 0, "no separate cancel");
        assert_eq!(sim.rest_requests("POST", "/api/v3/order"), 2, "no separate place");
        let q = r.runner.snapshot().quote_venues[0].clone();
        assert_eq!((q.orders_sent, q.cancels, q.rejected), (4, 2, 0));
        // The moved quotes are the ones resting: a trade through the new bid fills it.
        assert_eq!(sim.trade_at("BTCUSDT", "60000.09", "0.004").unwrap(), 1);
        until("the fill in the inventory", || r.runner.snapshot().inventory == 4).await;
        stop(r.runner).await;
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        r.pipeline.shutdown().unwrap();
    });
}

#[test]
fn a_stale_reference_book_cancels_the_quotes_at_the_venue() {
    run(async {
        let (sim, exec) = kraken().await;
        let extra = r#""interlock": {"stale_after_ms": 300, "cross_threshold_ticks": 100},"#;
        let r = rig(&config("kraken", KRAKEN, extra), book(6_000_000, 6_000_004), exec);
        r.feed.flicker.store(true, Ordering::Release);
        until("two quotes resting on Kraken", || sim.open_order_count() == 2).await;
        // The book stops changing: 300 ms later it is stale and the quotes are canceled there.
        r.feed.flicker.store(false, Ordering::Release);
        until("the quotes canceled at Kraken", || sim.open_order_count() == 0).await;
        let s = r.runner.snapshot();
        assert!(s.interlock.pulls.contains(&("stale", 1)), "{:?}", s.interlock);
        // It changes again: fresh, and the quotes come back.
        r.feed.flicker.store(true, Ordering::Release);
        until("the quotes back", || sim.open_order_count() == 2).await;
        stop(r.runner).await;
        r.pipeline.shutdown().unwrap();
    });
}

#[test]
fn a_post_only_quote_the_venue_refuses_is_counted_and_shown_and_quoting_goes_on() {
    run(async {
        let (sim, exec) = kraken().await;
        // The venue's book has moved through our bid-to-be (its ask at 59999.99); the feed has not.
        sim.set_book("XBTUSD", &[(5_999_990, 1_000)], &[(5_999_999, 1_000)]).unwrap();
        let r = rig(&config("kraken", KRAKEN, ""), book(6_000_000, 6_000_004), exec);
        until("the bid refused", || r.runner.snapshot().quote_venues.first().is_some_and(|q| q.would_cross >= 1)).await;
        let s = r.runner.snapshot();
        let q = s.quote_venues.first().cloned().unwrap();
        assert!(q.rejected >= 1 && q.last_reject.as_deref().is_some_and(|e| e.contains("WouldCross")), "{q:?}");
        assert!(s.running && !s.halted && s.error.is_none(), "not fatal: {s:#?}");
        assert_eq!(s.counters.risk_rejections, 0);
        until("the ask resting", || sim.open_order_count() == 1).await;
        // The venue's book comes back: after the hold the bid is placed again and rests.
        sim.set_book("XBTUSD", &[(6_000_000, 1_000)], &[(6_000_004, 1_000)]).unwrap();
        // The runner's snapshot is published apart from the venue's acknowledgments: wait for
        // both to show the two quotes before comparing prices.
        until("both resting", || sim.open_order_count() == 2 && r.runner.snapshot().quotes.len() == 2).await;
        let s = r.runner.snapshot();
        assert_eq!(prices(&s), vec![("buy", 5_999_999, 10), ("sell", 6_000_005, 10)]);
        stop(r.runner).await;
        r.pipeline.shutdown().unwrap();
    });
}

fn views(s: &LiveSnapshot) -> Vec<(&'static str, usize, u64, u64)> {
    s.quote_venues.iter().map(|q| (q.venue, q.open, q.fills, q.rejected)).collect()
}

#[test]
fn quotes_rest_on_kraken_and_binance_at_once_each_priced_counted_and_refused_on_its_own() {
    run(async {
        // Pricing venues: Binance (0), Kraken (1); quoting on Kraken first, then Binance.
        let (ksim, kexec) = kraken_at(1).await;
        let (bsim, bexec) = binance_at(0).await;
        // Binance's book has moved through our bid-to-be (its ask at 59999.99); the feed has not.
        bsim.set_book("BTCUSDT", &[(5_999_990, 1_000)], &[(5_999_999, 1_000)]).unwrap();
        let fees =
            r#""kraken": {"maker_ppm": 1000, "taker_ppm": 2000}, "binance": {"maker_ppm": 1000, "taker_ppm": 2000}"#;
        let venues = format!("{BINANCE}, {KRAKEN}");
        let quotes = vec![
            HedgeRoute { venue: VenueId::External(1), execution: Box::new(kexec) },
            HedgeRoute { venue: VenueId::External(0), execution: Box::new(bexec) },
        ];
        let r = rig_on(&config_on(r#"["kraken", "binance"]"#, fees, &venues, ""), book(6_000_000, 6_000_004), quotes);
        until("both Kraken quotes and Binance's ask resting", || {
            ksim.open_order_count() == 2 && bsim.open_order_count("BTCUSDT") == 1
        })
        .await;
        until("the refusal shown", || r.runner.snapshot().quote_venues[1].would_cross >= 1).await;
        let s = r.runner.snapshot();
        // Only Binance refused (its own count and hold); Kraken's quotes went on.
        let b = s.quote_venues[1].clone();
        assert_eq!(b.venue, "binance");
        assert!(b.would_cross >= 1 && b.last_reject.as_deref().is_some_and(|e| e.contains("WouldCross")), "{b:?}");
        assert_eq!((s.quote_venues[0].venue, s.quote_venues[0].rejected), ("kraken", 0));
        // Binance's book comes back: after its hold the bid is placed there again.
        bsim.set_book("BTCUSDT", &[(6_000_000, 1_000)], &[(6_000_004, 1_000)]).unwrap();
        until("both venues' quotes resting", || {
            ksim.open_order_count() == 2
                && bsim.open_order_count("BTCUSDT") == 2
                && views(&r.runner.snapshot()).iter().all(|v| v.1 == 2)
        })
        .await;
        let s = r.runner.snapshot();
        // One ladder per venue, each 3 ticks around the fair value 60000.02, client ids apart.
        let quoted: Vec<_> = s.quotes.iter().map(|q| (q.venue, q.side, q.price, q.qty)).collect();
        assert_eq!(
            quoted,
            vec![
                ("kraken", "buy", 5_999_999, 10),
                ("kraken", "sell", 6_000_005, 10),
                ("binance", "buy", 5_999_999, 10),
                ("binance", "sell", 6_000_005, 10),
            ]
        );
        assert!(s.quotes[2].order_id >= s.quotes[0].order_id + (1 << 32), "{:?}", s.quotes);

        // Someone sells 4 lots into our Kraken bid, someone buys 2 lots of our Binance ask.
        assert_eq!(ksim.trade_at("XBTUSD", "59999.99", "0.004").unwrap(), 1);
        assert_eq!(bsim.trade_at("BTCUSDT", "60000.05", "0.002").unwrap(), 1);
        until("both fills in the one inventory", || {
            let s = r.runner.snapshot();
            s.inventory == 2 && s.counters.fills == 2
        })
        .await;
        let s = r.runner.snapshot();
        assert_eq!(views(&s)[0].2, 1, "one fill on Kraken");
        assert_eq!(views(&s)[1].2, 1, "one fill on Binance");
        // Each venue's 0.1 %: 0.004 at 59999.99 and 0.002 at 60000.05.
        let (kfee, bfee) = (money(5_999_999, 4) / 1_000, money(6_000_005, 2) / 1_000);
        assert_eq!((s.quote_venues[0].fees, s.quote_venues[1].fees), (kfee, bfee));
        assert_eq!(s.pnl.fees, -(kfee + bfee));
        assert_eq!(s.pnl.spread_capture, money(3, 4) + money(3, 2));
        assert_eq!(s.pnl.total, s.pnl.spread_capture + s.pnl.inventory_mtm + s.pnl.fees + s.pnl.hedge_slippage);

        // The kill switch cancels on both venues; the release brings both ladders back.
        r.runner.set_kill_switch(true);
        until("nothing resting anywhere", || ksim.open_order_count() == 0 && bsim.open_order_count("BTCUSDT") == 0)
            .await;
        until("the snapshot shows both venues empty", || {
            let s = r.runner.snapshot();
            s.halted && s.quotes.is_empty() && views(&s).iter().all(|v| v.1 == 0)
        })
        .await;
        r.runner.set_kill_switch(false);
        until("both ladders back", || ksim.open_order_count() == 2 && bsim.open_order_count("BTCUSDT") == 2).await;

        // Stopping cancels on both venues.
        let runner = stop(r.runner).await;
        assert_eq!((ksim.open_order_count(), bsim.open_order_count("BTCUSDT")), (0, 0));
        assert!(views(&runner.snapshot()).iter().all(|v| v.1 == 0));
        r.pipeline.shutdown().unwrap();
    });
}

/// A batched strategy that, after its first batch, bids 5 lots at 59999.99 on Kraken (pricing
/// venue 0) and 5 lots on our venue (not quoted on: refused); it records every event.
#[derive(Clone, Default)]
struct KrakenBidder(Arc<Mutex<Vec<StrategyEvent>>>);

impl BatchSink for KrakenBidder {
    type Error = std::convert::Infallible;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Self::Error> {
        let mut seen = self.0.lock().unwrap();
        if seen.is_empty() {
            let id = batch.next_order_id.unwrap();
            let last = batch.events.len() - 1;
            let on = |venue, order_id| Command::Place { venue, side: Side::Buy, price: 5_999_999, qty: 5, order_id };
            out.push(last, on(VenueId::External(0), id));
            out.push(last, on(VenueId::Ours, id + 1));
        }
        seen.extend_from_slice(batch.events);
        Ok(())
    }
}

#[test]
fn a_strategys_orders_go_to_the_kraken_simulator_and_its_fill_there_reaches_it_and_the_inventory() {
    run(async {
        let (sim, exec) = kraken().await;
        let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.001", 1, 1_000_000, 1, 100_000_000).unwrap();
        let risk = RiskConfig::permissive().account(MM, AccountLimits::UNLIMITED);
        let pipeline_config = PipelineConfig::new(vec![spec]).risk(risk).topology(Topology::Merged).gateways(1);
        let (pipeline, mut handles) = Pipeline::start(pipeline_config).unwrap();
        let setup = LiveSetup::from_json(&config("kraken", KRAKEN, ""), "0.01", "0.001").unwrap();
        let venue = EngineVenue::new(
            EngineVenueConfig::new(MM, 0, setup.our_fees),
            handles.gateways.pop().unwrap(),
            handles.subscriptions.pop().unwrap(),
        );
        let feed =
            Manual { book: Arc::new(Mutex::new(book(6_000_000, 6_000_004))), flicker: Arc::default(), odd: false };
        let (port, strategy_feed) = link(LiveStrategyConfig::default());
        let bidder = KrakenBidder::default();
        let thread = StrategyThread::spawn(strategy_feed, bidder.clone(), Duration::from_micros(200)).unwrap();
        let quotes = vec![HedgeRoute { venue: VenueId::External(0), execution: Box::new(exec) }];
        let options = RunnerOptions::default();
        let runner = LiveRunner::start_with_strategy(
            setup,
            venue,
            Box::new(feed),
            options,
            (vec![], quotes),
            "Bidder".into(),
            port,
        )
        .unwrap();
        until("the strategy's bid resting on Kraken", || sim.open_order_count() == 1).await;
        let gone = |seen: &[StrategyEvent], v: VenueId| {
            seen.iter().any(|e| matches!(e, StrategyEvent::OrderGone { venue, .. } if *venue == v))
        };
        until("the bid for our venue refused", || gone(&bidder.0.lock().unwrap(), VenueId::Ours)).await;
        until("the snapshot shows it", || runner.snapshot().strategy.is_some_and(|st| st.working == 1)).await;
        let s = runner.snapshot();
        assert_eq!(s.strategy.as_ref().map(|st| st.refused), Some(1), "{:?}", s.strategy);
        assert_eq!(
            s.quotes.iter().map(|q| (q.venue, q.side, q.price, q.qty)).collect::<Vec<_>>(),
            vec![("kraken", "buy", 5_999_999, 5)]
        );

        // Someone sells 3 lots into it at Kraken: the strategy gets the fill, 2 lots left.
        assert_eq!(sim.trade_at("XBTUSD", "59999.99", "0.003").unwrap(), 1);
        let fill = |seen: &[StrategyEvent]| {
            seen.iter().find_map(|e| match e {
                StrategyEvent::Fill { fill, remaining, position } => {
                    Some((fill.venue, fill.qty, *remaining, *position))
                }
                _ => None,
            })
        };
        until("the fill handed to the strategy", || fill(&bidder.0.lock().unwrap()).is_some()).await;
        assert_eq!(fill(&bidder.0.lock().unwrap()), Some((VenueId::External(0), 3, 2, 3)));
        until("the fill in the inventory and the PnL", || {
            let s = runner.snapshot();
            s.inventory == 3 && s.quote_venues[0].fills == 1
        })
        .await;
        let s = runner.snapshot();
        let fee = money(5_999_999, 3) / 1_000;
        assert_eq!((s.pnl.fees, s.pnl.spread_capture), (-fee, money(3, 3)));

        // The kill switch cancels it at Kraken, and the strategy is told it is gone.
        runner.set_kill_switch(true);
        until("nothing resting at Kraken", || sim.open_order_count() == 0).await;
        until("the strategy told", || gone(&bidder.0.lock().unwrap(), VenueId::External(0))).await;
        let runner = stop(runner).await;
        thread.stop();
        assert_eq!(runner.snapshot().quote_venues[0].open, 0);
        pipeline.shutdown().unwrap();
    });
}

#[test]
fn quote_routes_that_are_not_quote_ons_venues_in_its_order_are_refused() {
    run(async {
        let (_k, kexec) = kraken_at(1).await;
        let (_b, bexec) = binance_at(0).await;
        let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.001", 1, 1_000_000, 1, 100_000_000).unwrap();
        let pipeline_config = PipelineConfig::new(vec![spec]).topology(Topology::Merged).gateways(1);
        let (pipeline, mut handles) = Pipeline::start(pipeline_config).unwrap();
        let fees = r#""kraken": {"maker_ppm": 0, "taker_ppm": 0}"#;
        let venues = format!("{BINANCE}, {KRAKEN}");
        let setup =
            LiveSetup::from_json(&config_on(r#"["kraken", "binance"]"#, fees, &venues, ""), "0.01", "0.001").unwrap();
        let venue = EngineVenue::new(
            EngineVenueConfig::new(MM, 0, setup.our_fees),
            handles.gateways.pop().unwrap(),
            handles.subscriptions.pop().unwrap(),
        );
        let feed = Manual { book: Arc::new(Mutex::new(book(1, 2))), flicker: Arc::default(), odd: false };
        // Binance's route first: not quote_on's order.
        let quotes = vec![
            HedgeRoute { venue: VenueId::External(0), execution: Box::new(bexec) },
            HedgeRoute { venue: VenueId::External(1), execution: Box::new(kexec) },
        ];
        let e = LiveRunner::start_routed(setup, venue, Box::new(feed), RunnerOptions::default(), vec![], quotes)
            .unwrap_err();
        assert!(matches!(e, LiveRunError::QuoteRoute(_)), "{e}");
        assert!(e.to_string().contains("in order"), "{e}");
        pipeline.shutdown().unwrap();
    });
}

#[test]
fn a_quote_route_for_another_venue_than_quote_on_is_refused() {
    run(async {
        let (_sim, exec) = kraken().await;
        let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.001", 1, 1_000_000, 1, 100_000_000).unwrap();
        let pipeline_config = PipelineConfig::new(vec![spec]).topology(Topology::Merged).gateways(1);
        let (pipeline, mut handles) = Pipeline::start(pipeline_config).unwrap();
        let setup = LiveSetup::from_json(&config("ours", KRAKEN, ""), "0.01", "0.001").unwrap();
        let venue = EngineVenue::new(
            EngineVenueConfig::new(MM, 0, setup.our_fees),
            handles.gateways.pop().unwrap(),
            handles.subscriptions.pop().unwrap(),
        );
        let feed = Manual { book: Arc::new(Mutex::new(book(1, 2))), flicker: Arc::default(), odd: false };
        let route = HedgeRoute { venue: VenueId::External(0), execution: Box::new(exec) };
        let e = LiveRunner::start_routed(setup, venue, Box::new(feed), RunnerOptions::default(), vec![], vec![route])
            .unwrap_err();
        assert!(matches!(e, LiveRunError::QuoteRoute(_)), "{e}");
        pipeline.shutdown().unwrap();
    });
}

#[test]
fn with_live_the_quote_venue_is_a_route_of_its_own_whose_url_and_keys_are_checked_first() {
    use wintermute_router::live::{live_routes, route_clients, Mode};
    let venues = format!("{BINANCE}, {KRAKEN}");
    let with = |live: &str| {
        let extra = format!(r#""hedge": {{"live": {{"kraken": {live}}}}},"#);
        LiveSetup::from_json(&config("kraken", &venues, &extra), "0.01", "0.001").unwrap()
    };
    let no_env = |_: &str| None;
    let e = route_clients(&with(r#"{"url": "http://127.0.0.1:1"}"#), Mode::Live, &no_env).unwrap_err();
    assert_eq!(e.key().as_deref(), Some("hedge.live.kraken.url"), "{e}");
    let e = route_clients(&with(r#"{"url": "https://127.0.0.1:1"}"#), Mode::Live, &no_env).unwrap_err();
    assert_eq!(e.key().as_deref(), Some("hedge.live.kraken"), "{e}");
    assert!(!e.to_string().contains(KRAKEN_SECRET));
    // With keys: one route, Kraken's (pricing venue 1), taken apart as the quote route.
    let env = |name: &str| match name {
        "WINTERMUTE_KRAKEN_API_KEY" => Some("k".to_owned()),
        "WINTERMUTE_KRAKEN_API_SECRET" => Some(KRAKEN_SECRET.to_owned()),
        _ => None,
    };
    let setup = with(r#"{"url": "https://127.0.0.1:1"}"#);
    let targets = route_clients(&setup, Mode::Live, &env).unwrap();
    assert_eq!(targets.iter().map(|t| (t.venue.name(), t.index)).collect::<Vec<_>>(), vec![("kraken", 1)]);
    // Before a route starts its venue's grid is asked for: nobody answers on port 1.
    let e = live_routes(&setup, &env).map(|_| ()).unwrap_err();
    assert_eq!(e.key().as_deref(), Some("hedge.live.kraken.url"), "{e}");
    assert!(e.to_string().contains("grid could not be read"), "{e}");
}

//! The live market maker on its own thread: reference books in from a source, quotes on a
//! running pipeline with risk, the interlock pulling them on a resync, the operator's kill
//! switch and risk's, fills into PnL, and a clean stop that leaves nothing on the book; a kill
//! switch holds hedging too (the hedge in flight completes, nothing new is sent until release).

mod support;

use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use support::{live_venue, two_venue_config, wait_snapshot, ManualBooks, MM, OTHER};
use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};
use wintermute_engine::pipeline::{Gateway, Pipeline, PipelineConfig, Topology};
use wintermute_feeds::sync::SyncState;
use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
use wintermute_mm::execution::{ExecCommand, ExecError, ExecEvent, ExecEvents, Execution, OrderRequest};
use wintermute_mm::live_config::LiveSetup;
use wintermute_mm::live_hedge::HedgeRoute;
use wintermute_mm::live_runner::{LiveRunner, LiveSnapshot, RunnerOptions};
use wintermute_mm::types::{Fill, Liquidity, VenueId};

/// Two venues, fixed spread 3 ticks (0.01) each side, 10 lots (0.0001) on one level.
static CONFIG: LazyLock<String> = LazyLock::new(|| {
    two_venue_config(
        r#""seed": 1, "timer_ms": 20, "hedge_on": "coinbase", "hedge_threshold_lots": 3,
  "fees": {"ours": {"maker_ppm": -100, "taker_ppm": 200}, "coinbase": {"maker_ppm": 0, "taker_ppm": 500}},
  "interlock": {"stale_after_ms": 60000, "cross_threshold_ticks": 50}"#,
    )
});

struct Rig {
    pipeline: Pipeline,
    runner: LiveRunner,
    books: ManualBooks,
    other: Gateway,
}

fn rig() -> Rig {
    rig_hedged(Vec::new())
}

/// A hedge route the test answers by hand: it keeps every order sent and hands back the events
/// the test pushes.
#[derive(Clone, Default)]
struct Gate {
    orders: Arc<Mutex<Vec<OrderRequest>>>,
    answers: Arc<Mutex<Vec<ExecEvent>>>,
}

impl Execution for Gate {
    fn venue(&self) -> VenueId {
        VenueId::External(0)
    }

    fn submit(&mut self, _now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        if let ExecCommand::New(order) = command {
            self.orders.lock().unwrap().push(*order);
        }
        Ok(())
    }

    fn poll(&mut self, _now_ns: i64, out: &mut ExecEvents) {
        for e in self.answers.lock().unwrap().drain(..) {
            out.push(e).unwrap();
        }
    }
}

fn rig_hedged(routes: Vec<HedgeRoute>) -> Rig {
    let (pipeline, setup, venue, other) = live_venue(&CONFIG);
    let books = ManualBooks::new(2);
    let runner =
        LiveRunner::start_hedged(setup, venue, Box::new(books.clone()), RunnerOptions::default(), routes).unwrap();
    Rig { pipeline, runner, books, other }
}

/// A rig without risk that quotes on Kraken (venue 1) only, through `route`, both venues' books
/// live at 100.00 / 100.02.
fn rig_quoting_on_kraken(route: Box<dyn Execution + Send>) -> Rig {
    let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.0001", 1, 1_000_000, 1, 10_000_000).unwrap();
    let config = PipelineConfig::new(vec![spec]).topology(Topology::Merged).gateways(2);
    let (pipeline, mut handles) = Pipeline::start(config).unwrap();
    let other = handles.gateways.pop().unwrap();
    let text = CONFIG.replace(r#""seed": 1,"#, r#""seed": 1, "quote_on": "kraken","#);
    let setup = LiveSetup::from_json(&text, "0.01", "0.0001").unwrap();
    assert_eq!(setup.quote_venues, vec![1]);
    let venue = EngineVenue::new(
        EngineVenueConfig::new(MM, 0, setup.our_fees),
        handles.gateways.pop().unwrap(),
        handles.subscriptions.pop().unwrap(),
    );
    let books = ManualBooks::new(2);
    let route = HedgeRoute { venue: VenueId::External(1), execution: route };
    let options = RunnerOptions::default();
    let runner = LiveRunner::start_routed(setup, venue, Box::new(books.clone()), options, vec![], vec![route]).unwrap();
    books.live(0, 10_000, 10_002);
    books.live(1, 10_000, 10_002);
    Rig { pipeline, runner, books, other }
}

/// Waits (5 s at most) until the snapshot satisfies `done`; returns it.
fn wait(r: &Rig, what: &str, done: impl Fn(&LiveSnapshot) -> bool) -> LiveSnapshot {
    wait_snapshot(&r.runner, what, Duration::from_secs(5), done)
}

fn prices(s: &LiveSnapshot) -> Vec<(&'static str, i64, i64, Option<i64>)> {
    s.quotes.iter().map(|q| (q.side, q.price, q.qty, q.queue_ahead)).collect()
}

fn resting(s: &LiveSnapshot) -> bool {
    s.quotes.len() == 2 && s.quotes.iter().all(|q| q.queue_ahead.is_some())
}

fn pulls(s: &LiveSnapshot, cause: &str) -> u64 {
    s.interlock.pulls.iter().find(|(c, _)| *c == cause).map_or(0, |p| p.1)
}

#[test]
fn quotes_rest_on_the_book_and_follow_the_reference_books() {
    let r = rig();
    let s = wait(&r, "the interlock holding before the books are live", |s| s.counters.turns > 0 && s.ts_ns > 0);
    assert!(s.quotes.is_empty() && !s.interlock.quoting, "{s:#?}");
    assert!(s.interlock.causes.contains(&"not_live"));
    r.books.live(0, 10_000, 10_002);
    r.books.live(1, 10_000, 10_002);
    let s = wait(&r, "two resting quotes", resting);
    // Fair value 10001 ticks: bid 10001 - 3, ask 10001 + 3, nothing ahead of us.
    assert_eq!(prices(&s), vec![("buy", 9_998, 10, Some(0)), ("sell", 10_004, 10, Some(0))]);
    assert_eq!(s.fair_value, Some(10_001.0));
    assert!(s.interlock.quoting && s.interlock.returns >= 1);
    r.books.live(0, 10_010, 10_012);
    r.books.live(1, 10_010, 10_012);
    let s = wait(&r, "the quotes to move", |s| resting(s) && s.quotes[0].price == 10_008);
    assert_eq!(prices(&s), vec![("buy", 10_008, 10, Some(0)), ("sell", 10_014, 10, Some(0))]);
    r.runner.stop();
    let done = r.pipeline.shutdown().unwrap();
    assert_eq!(done.engine.book(0).best_bid(), None, "stop cancelled our quotes");
    assert_eq!(done.engine.book(0).best_ask(), None);
}

#[test]
fn a_resync_and_a_cross_pull_the_quotes_and_they_return_when_the_books_are_healthy() {
    let r = rig();
    r.books.live(0, 10_000, 10_002);
    r.books.live(1, 10_000, 10_002);
    wait(&r, "quotes", resting);
    r.books.with(0, |b| {
        b.gaps += 1;
        b.state = Some(SyncState::Resyncing);
    });
    let s = wait(&r, "the pull on a gap", |s| s.quotes.is_empty());
    assert_eq!(pulls(&s, "sequence_gap"), 1, "{:?}", s.interlock);
    assert!(s.halted && !s.interlock.quoting);
    r.books.live(0, 10_000, 10_002);
    wait(&r, "the return after the resync", resting);
    // Kraken's bid 1 dollar over Coinbase's ask: crossed past 50 ticks.
    r.books.live(1, 10_102, 10_104);
    let s = wait(&r, "the pull on a cross", |s| s.quotes.is_empty());
    assert_eq!(pulls(&s, "crossed"), 1, "{:?}", s.interlock);
    r.books.live(1, 10_000, 10_002);
    let s = wait(&r, "the return after the cross", resting);
    assert!(s.interlock.returns >= 3);
    drop(r.runner);
    r.pipeline.shutdown().unwrap();
}

#[test]
fn the_operators_kill_switch_and_risks_pull_the_quotes() {
    let r = rig();
    r.books.live(0, 10_000, 10_002);
    r.books.live(1, 10_000, 10_002);
    wait(&r, "quotes", resting);
    r.runner.set_kill_switch(true);
    let s = wait(&r, "the kill switch pull", |s| s.quotes.is_empty());
    assert_eq!(pulls(&s, "kill_switch"), 1);
    assert!(s.interlock.causes.contains(&"kill_switch"));
    r.runner.set_kill_switch(false);
    wait(&r, "quotes back", resting);
    // Risk: the pipeline's kill switch on our account refuses the next quotes.
    r.pipeline.control().set_account_kill(MM, true).unwrap();
    r.books.live(0, 10_020, 10_022);
    r.books.live(1, 10_020, 10_022);
    let s = wait(&r, "the risk pull", |s| s.counters.risk_rejections >= 1 && s.quotes.is_empty());
    assert!(pulls(&s, "risk") >= 1, "{:?}", s.interlock);
    r.pipeline.control().set_account_kill(MM, false).unwrap();
    let s = wait(&r, "quotes back after the retry", |s| resting(s) && s.quotes[0].price == 10_018);
    assert!(s.interlock.quoting);
    r.runner.stop();
    let done = r.pipeline.shutdown().unwrap();
    assert_eq!(done.engine.book(0).best_bid(), None);
}

#[test]
fn a_fill_moves_inventory_pnl_and_decides_a_hedge() {
    let mut r = rig();
    r.books.live(0, 10_000, 10_002);
    r.books.live(1, 10_000, 10_002);
    wait(&r, "quotes", resting);
    r.other.submit(0, Command::New(NewOrder::market(1, OTHER, Side::Buy, 4))).unwrap(); // lifts our ask
    let s = wait(&r, "the fill", |s| s.counters.fills == 1 && s.inventory == -4 && !s.hedges.is_empty());
    // Sold 4 at 10004 against a fair value of 10001: 3 ticks x 4 lots of spread, a 100 ppm rebate.
    assert_eq!(s.pnl.spread_capture, 12_000_000);
    assert_eq!(s.pnl.fees, 4_001_600);
    assert_eq!(s.pnl.total, s.pnl.spread_capture + s.pnl.inventory_mtm + s.pnl.fees + s.pnl.hedge_slippage);
    let h = s.hedges[0];
    // Buy back past the 3-lot threshold, on Kraken: the same ask as Coinbase's, without
    // Coinbase's 500 ppm taker fee.
    assert_eq!((h.venue, h.side, h.qty, h.touch_price), (1, "buy", 4, 10_002));
    r.runner.stop();
    r.pipeline.shutdown().unwrap();
}

#[test]
fn a_kill_switch_holds_hedging_lets_the_hedge_in_flight_complete_and_hedging_resumes_on_release() {
    let gate = Gate::default();
    let route = HedgeRoute { venue: VenueId::External(0), execution: Box::new(gate.clone()) };
    let mut r = rig_hedged(vec![route]);
    r.books.live(0, 10_000, 10_002);
    r.books.live(1, 10_000, 10_002);
    wait(&r, "quotes", resting);
    // Lifting 6 lots of our ask: inventory -6, past the 3-lot threshold: a buy of 6 is sent.
    r.other.submit(0, Command::New(NewOrder::market(1, OTHER, Side::Buy, 6))).unwrap();
    let s = wait(&r, "the hedge sent", |s| s.hedging.orders_sent == 1);
    let first = gate.orders.lock().unwrap()[0];
    assert_eq!((first.side, first.qty), (Side::Buy, 6));
    assert_eq!((s.hedging.hold, s.hedging.holds, s.hedging.in_flight), (None, 0, 6));
    r.runner.set_kill_switch(true);
    let s = wait(&r, "the hold", |s| s.hedging.hold.is_some() && s.quotes.is_empty());
    assert_eq!(
        (s.hedging.hold, s.hedging.kill_switch.clone(), s.hedging.holds),
        (Some("kill_switch"), vec!["operator"], 1)
    );
    // The IOC in flight completes while held: 2 lots filled, 4 canceled. Its fill counts.
    let fill = Fill {
        ts_ns: s.ts_ns,
        venue: VenueId::External(0),
        order_id: first.client_id,
        side: Side::Buy,
        price: 10_002,
        qty: 2,
        liquidity: Liquidity::Taker,
        fee: 7,
    };
    gate.answers.lock().unwrap().extend([
        ExecEvent::Accepted { client_id: first.client_id, ts_ns: s.ts_ns },
        ExecEvent::Filled { client_id: first.client_id, fill, open_qty: 4 },
        ExecEvent::Canceled { client_id: first.client_id, canceled_qty: 4, ts_ns: s.ts_ns },
    ]);
    let s = wait(&r, "the hedge in flight done", |s| s.hedging.fills == 1 && s.hedging.in_flight == 0);
    assert_eq!((s.inventory, s.hedging.filled_qty, s.hedging.canceled_qty, s.hedging.fees), (-4, 2, 4, 7));
    assert_eq!(s.counters.hedge_fills, 1);
    // -4 is past the threshold: a hedge is due, and held.
    let s = wait(&r, "the due hedge shown", |s| s.hedging.due);
    assert_eq!(s.hedging.hold, Some("kill_switch"));
    // Our venue's kill switch too, then the operator's released: still held (one hold).
    r.runner.set_venue_kill_switch(true);
    r.runner.set_kill_switch(false);
    let s = wait(&r, "the venue's kill switch alone", |s| s.hedging.kill_switch == vec!["venue"]);
    assert_eq!((s.hedging.hold, s.hedging.holds), (Some("kill_switch"), 1));
    std::thread::sleep(Duration::from_millis(200)); // ten timer ticks
    assert_eq!(gate.orders.lock().unwrap().len(), 1, "nothing sent while a kill switch is engaged");
    assert!(r.runner.snapshot().quotes.is_empty());
    r.runner.set_venue_kill_switch(false);
    let s = wait(&r, "the hedge of the rest sent on release", |s| s.hedging.orders_sent == 2);
    let second = gate.orders.lock().unwrap()[1];
    assert_eq!((second.side, second.qty), (Side::Buy, 4));
    assert_eq!((s.hedging.hold, s.hedging.kill_switch.len(), s.hedging.holds), (None, 0, 1));
    wait(&r, "quotes back", resting);
    let ts_ns = s.ts_ns;
    gate.answers.lock().unwrap().push(ExecEvent::Canceled { client_id: second.client_id, canceled_qty: 4, ts_ns });
    r.runner.stop();
    r.pipeline.shutdown().unwrap();
}

/// A quote route the test answers by hand: it keeps every command sent.
#[derive(Clone, Default)]
struct QuoteGate {
    commands: Arc<Mutex<Vec<ExecCommand>>>,
    answers: Arc<Mutex<Vec<ExecEvent>>>,
}

impl Execution for QuoteGate {
    fn venue(&self) -> VenueId {
        VenueId::External(1)
    }

    fn submit(&mut self, _now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        self.commands.lock().unwrap().push(*command);
        Ok(())
    }

    fn poll(&mut self, _now_ns: i64, out: &mut ExecEvents) {
        for e in self.answers.lock().unwrap().drain(..) {
            out.push(e).unwrap();
        }
    }
}

#[test]
fn quotes_on_kraken_go_through_its_route_and_its_fills_refusals_and_cancels_come_back() {
    use wintermute_mm::execution::{OrderTif, RejectReason};
    let gate = QuoteGate::default();
    let r = rig_quoting_on_kraken(Box::new(gate.clone()));
    // Fair 100.01: a post-only bid at 99.98 and ask at 100.04, sent to Kraken's route.
    let s = wait(&r, "two quotes sent", |s| s.quote_venues.first().is_some_and(|q| q.orders_sent == 2));
    let sent = gate.commands.lock().unwrap().clone();
    let news: Vec<OrderRequest> =
        sent.iter().filter_map(|c| if let ExecCommand::New(o) = c { Some(*o) } else { None }).collect();
    assert_eq!(
        news.iter().map(|o| (o.side, o.price, o.qty, o.tif)).collect::<Vec<_>>(),
        vec![(Side::Buy, 9_998, 10, OrderTif::PostOnly), (Side::Sell, 10_004, 10, OrderTif::PostOnly)]
    );
    assert_eq!(s.quote_venues.first().map(|q| (q.venue, q.open)), Some(("kraken", 2)));
    let (bid, ask) = (news[0].client_id, news[1].client_id);
    // The venue refuses the bid (it would cross there): counted, shown, not fatal.
    gate.answers.lock().unwrap().extend([
        ExecEvent::Rejected { client_id: bid, reason: RejectReason::WouldCross, ts_ns: 0 },
        ExecEvent::Accepted { client_id: ask, ts_ns: 0 },
    ]);
    let s = wait(&r, "the refusal", |s| s.quote_venues.first().is_some_and(|q| q.rejected == 1));
    let q = s.quote_venues.first().cloned().unwrap();
    assert_eq!((q.would_cross, q.open), (1, 1));
    assert_eq!(q.last_reject, Some(format!("client_id={bid} reason=WouldCross")));
    assert!(s.running && !s.halted && s.error.is_none() && s.counters.risk_rejections == 0, "{s:#?}");
    // Another participant lifts 4 lots of the ask there; Kraken's fee is 5 units.
    let fill = Fill {
        ts_ns: 0,
        venue: VenueId::External(1),
        order_id: ask,
        side: Side::Sell,
        price: 10_004,
        qty: 4,
        liquidity: Liquidity::Maker,
        fee: 5,
    };
    gate.answers.lock().unwrap().push(ExecEvent::Filled { client_id: ask, fill, open_qty: 6 });
    let s = wait(&r, "the fill", |s| s.inventory == -4);
    assert_eq!((s.counters.fills, s.pnl.spread_capture, s.pnl.fees), (1, 12_000_000, -5));
    assert_eq!(s.quote_venues.first().map(|q| (q.fills, q.filled_qty, q.fees)), Some((1, 4, 5)));
    // The kill switch cancels the ask at the venue.
    r.runner.set_kill_switch(true);
    wait(&r, "the pull", |s| s.halted);
    let cancel = ExecCommand::Cancel { client_id: ask };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gate.commands.lock().unwrap().contains(&cancel) {
        assert!(Instant::now() < deadline, "no cancel sent: {:?}", gate.commands.lock().unwrap());
        std::thread::sleep(Duration::from_millis(5));
    }
    // (After the refusal's hold the bid may have been placed again: every cancel is answered.)
    let canceled: Vec<u64> = gate
        .commands
        .lock()
        .unwrap()
        .iter()
        .filter_map(|c| if let ExecCommand::Cancel { client_id } = c { Some(*client_id) } else { None })
        .collect();
    for client_id in canceled {
        gate.answers.lock().unwrap().push(ExecEvent::Canceled { client_id, canceled_qty: 6, ts_ns: 0 });
    }
    let s = wait(&r, "nothing open there", |s| s.quote_venues.first().is_some_and(|q| q.open == 0));
    assert!(s.quote_venues.first().is_some_and(|q| q.canceled >= 1));
    r.runner.stop();
    r.pipeline.shutdown().unwrap();
}

/// A quote route that has a cancel-replace request: it keeps each `replace` apart from the
/// commands.
#[derive(Clone, Default)]
struct ReplaceGate {
    gate: QuoteGate,
    replaces: Arc<Mutex<Vec<(u64, OrderRequest)>>>,
}

impl Execution for ReplaceGate {
    fn venue(&self) -> VenueId {
        self.gate.venue()
    }

    fn submit(&mut self, now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        self.gate.submit(now_ns, command)
    }

    fn replace(&mut self, _now_ns: i64, cancel: u64, new: &OrderRequest) -> Result<(), ExecError> {
        self.replaces.lock().unwrap().push((cancel, *new));
        Ok(())
    }

    fn poll(&mut self, now_ns: i64, out: &mut ExecEvents) {
        self.gate.poll(now_ns, out);
    }
}

#[test]
fn a_moved_quote_is_one_replace_and_a_corrected_quantity_is_amended_back_at_once() {
    let gate = ReplaceGate::default();
    let r = rig_quoting_on_kraken(Box::new(gate.clone()));
    wait(&r, "two quotes sent", |s| s.quote_venues.first().is_some_and(|q| q.orders_sent == 2));
    let news: Vec<OrderRequest> = gate
        .gate
        .commands
        .lock()
        .unwrap()
        .iter()
        .filter_map(|c| if let ExecCommand::New(o) = c { Some(*o) } else { None })
        .collect();
    let (bid, ask) = (news[0].client_id, news[1].client_id);
    gate.gate.answers.lock().unwrap().extend([
        ExecEvent::Accepted { client_id: bid, ts_ns: 0 },
        ExecEvent::Accepted { client_id: ask, ts_ns: 0 },
        // The venue says the ask rests 3 lots (an amend whose answer was lost, settled).
        ExecEvent::Amended { client_id: ask, open_qty: 3, ts_ns: 0 },
    ]);
    // The corrected quantity forces a requote (not the timer's): the ask is amended back to
    // its 10 lots, the bid left alone.
    let amend_back = ExecCommand::Amend { client_id: ask, new_qty: 10 };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gate.gate.commands.lock().unwrap().contains(&amend_back) {
        assert!(Instant::now() < deadline, "no amend back: {:?}", gate.gate.commands.lock().unwrap());
        std::thread::sleep(Duration::from_millis(5));
    }
    let qty_of = |s: &LiveSnapshot, side: &str| s.quotes.iter().find(|q| q.side == side).map(|q| q.qty);
    let s = wait(&r, "the ask's ladder quantity", |s| qty_of(s, "sell") == Some(10));
    assert_eq!(qty_of(&s, "buy"), Some(10));

    // The market moves up 10 ticks: each quote's cancel and place go as one replace.
    r.books.live(0, 10_010, 10_012);
    r.books.live(1, 10_010, 10_012);
    // (The two streams move one after the other: the quotes may move twice.)
    let done = |r: &[(u64, OrderRequest)]| {
        let last: Vec<(Side, i64)> = r.iter().rev().take(2).map(|(_, o)| (o.side, o.price)).collect();
        last.contains(&(Side::Buy, 10_008)) && last.contains(&(Side::Sell, 10_014))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done(&gate.replaces.lock().unwrap()) {
        assert!(Instant::now() < deadline, "no replaces: {:?}", gate.replaces.lock().unwrap());
        std::thread::sleep(Duration::from_millis(5));
    }
    let replaces = gate.replaces.lock().unwrap().clone();
    // Each replace cancels the slot's live order: the first ones the quotes placed, then the
    // orders the replaces before placed; every new order at the full size.
    let mut live = [bid, ask];
    for (cancel, new) in &replaces {
        let k = live.iter().position(|id| id == cancel).unwrap_or_else(|| panic!("{cancel} not live: {replaces:?}"));
        live[k] = new.client_id;
        assert_eq!(new.qty, 10);
    }
    let commands = gate.gate.commands.lock().unwrap().clone();
    assert!(!commands.iter().any(|c| matches!(c, ExecCommand::Cancel { .. })), "{commands:?}");
    assert_eq!(commands.len(), 3, "only the first two orders and the amend back went as commands: {commands:?}");
    assert_eq!(commands[2], amend_back);
    let n = replaces.len() as u64;
    let s = wait(&r, "the counts", |s| s.quote_venues.first().is_some_and(|q| q.orders_sent == 2 + n));
    let q = s.quote_venues.first().cloned().unwrap();
    assert_eq!(q.cancels, n, "each replace counted as one cancel");
    let prices: Vec<(&str, i64, i64)> = s.quotes.iter().map(|q| (q.side, q.price, q.qty)).collect();
    assert_eq!(prices, vec![("buy", 10_008, 10), ("sell", 10_014, 10)]);
    r.runner.stop();
    r.pipeline.shutdown().unwrap();
}

//! A batched strategy on the live runner sees what the backtester shows a strategy: the
//! external venues' public trades on our grid (a buy's price rounded up, a sell's down, a trade
//! without an aggressor skipped), our venue's top with **our own orders in it**, and our venue's
//! public trades (anyone's), each as the same [`StrategyEvent`] the backtester hands over.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use support::{live_venue, two_venue_config, ManualBooks, E18, OTHER};
use wintermute_core::{Command as EngineCommand, NewOrder, Side};
use wintermute_engine::pipeline::{Gateway, Pipeline};
use wintermute_feeds::sync::SyncState;
use wintermute_mm::batched::{Batch, BatchSink, Command, CommandBuffer, StrategyEvent};
use wintermute_mm::live_runner::{FeedTrade, LiveRunner, RefBook, RunnerOptions};
use wintermute_mm::live_strategy::{link, LiveStrategyConfig, StrategyThread};
use wintermute_mm::strategy::PublicTrade;
use wintermute_mm::types::{Level, VenueId};

static CONFIG: LazyLock<String> =
    LazyLock::new(|| two_venue_config(r#""timer_ms": 20, "fees": {"ours": {"maker_ppm": 0, "taker_ppm": 0}}"#));

/// Records every event; places one bid (9_990 x 5) after its first batch.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<StrategyEvent>>>);

impl BatchSink for Recorder {
    type Error = Infallible;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Infallible> {
        let mut seen = self.0.lock().unwrap();
        if seen.is_empty() {
            let order_id = batch.next_order_id.unwrap();
            let bid = Command::Place { venue: VenueId::Ours, side: Side::Buy, price: 9_990, qty: 5, order_id };
            out.push(batch.events.len() - 1, bid);
        }
        seen.extend_from_slice(batch.events);
        Ok(())
    }
}

fn wait<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn trades(seen: &[StrategyEvent]) -> Vec<PublicTrade> {
    seen.iter().filter_map(|e| if let StrategyEvent::Trade(t) = e { Some(*t) } else { None }).collect()
}

fn our_tops(seen: &[StrategyEvent]) -> Vec<(Level, Level)> {
    seen.iter()
        .filter_map(|e| match e {
            StrategyEvent::Book { venue: VenueId::Ours, top, live: true } => Some((top.bid, top.ask)),
            _ => None,
        })
        .collect()
}

/// A live runner with `sink` as its strategy (named `name`, fed through `config`), over a
/// pipeline whose external venues' books are both live (100 bid, 100.02 ask); `other` trades
/// as someone else on our venue.
struct Live {
    pipeline: Pipeline,
    other: Gateway,
    source: ManualBooks,
    runner: LiveRunner,
    thread: StrategyThread,
}

impl Live {
    fn start<K>(sink: K, name: &str, config: LiveStrategyConfig) -> Live
    where
        K: BatchSink + Send + 'static,
        K::Error: std::fmt::Display,
    {
        let (pipeline, setup, venue, other) = live_venue(&CONFIG);
        let source = ManualBooks::new(2);
        let (port, feed) = link(config);
        let thread = StrategyThread::spawn(feed, sink, Duration::from_micros(200)).unwrap();
        let runner = LiveRunner::start_with_strategy(
            setup,
            venue,
            Box::new(source.clone()),
            RunnerOptions::default(),
            (Vec::new(), Vec::new()),
            name.into(),
            port,
        )
        .unwrap();
        for i in 0..2 {
            source.books.lock().unwrap()[i] = RefBook {
                state: Some(SyncState::Live),
                bid: Some((100 * E18, E18)),
                ask: Some((10_002 * E18 / 100, E18)),
                ..RefBook::default()
            };
        }
        Live { pipeline, other, source, runner, thread }
    }

    fn stop(self) {
        self.runner.stop();
        self.thread.stop();
        self.pipeline.shutdown().unwrap();
    }
}

#[test]
fn a_strategy_live_sees_the_venues_trades_our_venues_trades_and_our_top_with_our_orders_in_it() {
    let recorder = Recorder::default();
    let mut live = Live::start(recorder.clone(), "Recorder", LiveStrategyConfig::default());
    // Its bid rests: our venue's top is that bid (nobody else's order is there).
    let seen = || recorder.0.lock().unwrap().clone();
    let bid = Level { price: 9_990, qty: 5 };
    wait("our bid in our top", || our_tops(&seen()).contains(&(bid, Level::default())).then_some(()));
    // Someone else's ask joins: the top shows both; a buyer takes 1 lot of it: a public trade on
    // our venue, and the ask is 2 lots.
    live.other.submit(0, EngineCommand::New(NewOrder::limit(7, OTHER, Side::Sell, 10_050, 3))).unwrap();
    let ask = Level { price: 10_050, qty: 3 };
    wait("the ask in our top", || our_tops(&seen()).contains(&(bid, ask)).then_some(()));
    live.other.submit(0, EngineCommand::New(NewOrder::market(8, OTHER, Side::Buy, 1))).unwrap();
    let after = Level { price: 10_050, qty: 2 };
    wait("the ask after the trade", || our_tops(&seen()).contains(&(bid, after)).then_some(()));
    let ours = trades(&seen());
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert_eq!((ours[0].venue, ours[0].price, ours[0].qty, ours[0].aggressor), (VenueId::Ours, 10_050, 1, Side::Buy));
    assert_eq!(our_tops(&seen()), vec![(bid, Level::default()), (bid, ask), (bid, after)]);
    // The external venues' trades: kraken's buy at 100.005 (between ticks: up, to 10_001) of
    // 0.00015 (1 lot), one without an aggressor (skipped), coinbase's sell at 99.99 of 0.0003.
    live.source.trades.lock().unwrap().extend([
        FeedTrade { stream: 1, price: 100_005 * E18 / 1000, qty: 15 * E18 / 100_000, aggressor: Some(Side::Buy) },
        FeedTrade { stream: 0, price: 100 * E18, qty: E18, aggressor: None },
        FeedTrade { stream: 0, price: 9_999 * E18 / 100, qty: 3 * E18 / 10_000, aggressor: Some(Side::Sell) },
    ]);
    let all = wait("the venues' trades", || {
        let t = trades(&seen());
        (t.len() == 3).then_some(t)
    });
    let got: Vec<_> = all[1..].iter().map(|t| (t.venue, t.price, t.qty, t.aggressor)).collect();
    assert_eq!(got, vec![(VenueId::External(1), 10_001, 1, Side::Buy), (VenueId::External(0), 9_999, 3, Side::Sell)]);
    let deadline = Instant::now() + Duration::from_secs(5);
    // Counted in the snapshot (taken on the timer).
    let s = loop {
        let st = live.runner.snapshot().strategy.unwrap();
        if st.trades == 3 || Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!((s.trades, s.our_tops, s.dropped_trades, s.missed_events), (3, 3, 0, 0));
    live.stop();
}

/// Each batch: amends (to 3 lots) then cancels the orders it placed the batch before, places a
/// new bid and ask, and once cancels an order that is not ours; `rounds` batches long. Counts
/// the cancels and amends it sent and the answers it got. Slow: 2 ms a batch.
#[derive(Clone, Default)]
struct Churner(Arc<Mutex<Churn>>);

#[derive(Default)]
struct Churn {
    rounds: usize,
    working: Vec<u64>,
    sent: u64,
    answers: Vec<(u64, i64)>,
    unknown_sent: bool,
}

impl BatchSink for Churner {
    type Error = Infallible;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Infallible> {
        std::thread::sleep(Duration::from_millis(2));
        let mut c = self.0.lock().unwrap();
        for e in batch.events {
            if let StrategyEvent::Answer { order_id, open_qty, .. } = *e {
                c.answers.push((order_id, open_qty));
            }
        }
        if c.rounds == 0 {
            return Ok(());
        }
        c.rounds -= 1;
        let last = batch.events.len() - 1;
        for order_id in std::mem::take(&mut c.working) {
            out.push(last, Command::Amend { venue: VenueId::Ours, order_id, qty: 3 });
            out.push(last, Command::Cancel { venue: VenueId::Ours, order_id });
            c.sent += 2;
        }
        if !c.unknown_sent {
            c.unknown_sent = true;
            out.push(last, Command::Cancel { venue: VenueId::Ours, order_id: 77 });
            c.sent += 1;
        }
        let id = batch.next_order_id.unwrap();
        out.push(last, Command::Place { venue: VenueId::Ours, side: Side::Buy, price: 9_990, qty: 5, order_id: id });
        out.push(
            last,
            Command::Place { venue: VenueId::Ours, side: Side::Sell, price: 10_010, qty: 5, order_id: id + 1 },
        );
        c.working.extend([id, id + 1]);
        Ok(())
    }

    fn takes_answers(&self) -> bool {
        true
    }
}

#[test]
fn a_flooded_events_ring_still_delivers_one_answer_to_every_cancel_and_amend() {
    let churner = Churner::default();
    churner.0.lock().unwrap().rounds = 40;
    // An events ring of 4 and a strategy 2 ms a batch behind a flood of trades.
    let config = LiveStrategyConfig { queue: 4, max_batch: 64, ..LiveStrategyConfig::default() };
    let live = Live::start(churner.clone(), "Churner", config);
    let trade = FeedTrade { stream: 0, price: 100 * E18, qty: E18, aggressor: Some(Side::Sell) };
    let done = || {
        let c = churner.0.lock().unwrap();
        c.rounds == 0 && c.answers.len() as u64 == c.sent
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "answers {} of {}", churner.0.lock().unwrap().answers.len(), {
            churner.0.lock().unwrap().sent
        });
        live.source.trades.lock().unwrap().extend(std::iter::repeat_n(trade, 50));
        std::thread::sleep(Duration::from_micros(500));
    }
    let s = wait("the snapshot's counts", || live.runner.snapshot().strategy.filter(|s| s.dropped_trades > 0));
    assert!(s.full > 0 && s.dropped_trades > 0, "the events ring was flooded: {s:?}");
    let c = churner.0.lock().unwrap();
    assert!(c.sent >= 80, "{}", c.sent);
    // The unknown order's cancel is answered at once (gone); each amend answered with 3 open
    // or 0 (its cancel took it first), each cancel with 0.
    assert!(c.answers.contains(&(77, 0)));
    assert!(c.answers.iter().all(|&(_, open)| open == 0 || open == 3), "{:?}", c.answers);
    assert!(c.answers.iter().any(|&(_, open)| open == 3));
    let per_order = |id: u64| c.answers.iter().filter(|a| a.0 == id).count();
    assert!(c.answers.iter().all(|a| a.0 == 77 || per_order(a.0) == 2), "two answers per order: {:?}", c.answers);
    drop(c);
    // Nothing more comes: exactly one answer per command.
    std::thread::sleep(Duration::from_millis(50));
    let c = churner.0.lock().unwrap();
    assert_eq!(c.answers.len() as u64, c.sent);
    drop(c);
    live.stop();
}

/// Places one bid on our venue after its first batch (again if it is refused: quoting may not
/// be allowed yet), then sends what the test queues; keeps every answer.
#[derive(Clone, Default)]
struct Scripted {
    to_send: Arc<Mutex<Vec<Command>>>,
    answers: Arc<Mutex<Vec<(u64, i64)>>>,
    placed: Arc<Mutex<Option<u64>>>,
}

impl BatchSink for Scripted {
    type Error = Infallible;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Infallible> {
        for e in batch.events {
            match *e {
                StrategyEvent::Answer { order_id, open_qty, .. } => {
                    self.answers.lock().unwrap().push((order_id, open_qty));
                }
                StrategyEvent::OrderGone { order_id, .. } => {
                    let mut placed = self.placed.lock().unwrap();
                    if *placed == Some(order_id) {
                        *placed = None;
                    }
                }
                _ => {}
            }
        }
        let last = batch.events.len() - 1;
        let mut placed = self.placed.lock().unwrap();
        if placed.is_none() {
            let order_id = batch.next_order_id.unwrap();
            out.push(last, Command::Place { venue: VenueId::Ours, side: Side::Buy, price: 9_990, qty: 5, order_id });
            *placed = Some(order_id);
        }
        for c in self.to_send.lock().unwrap().drain(..) {
            out.push(last, c);
        }
        Ok(())
    }

    fn takes_answers(&self) -> bool {
        true
    }
}

#[test]
fn a_refused_amend_is_answered_with_the_order_as_it_was_and_the_order_keeps_working() {
    let sink = Scripted::default();
    let live = Live::start(sink.clone(), "Scripted", LiveStrategyConfig::default());
    let working = |n: u64| live.runner.snapshot().strategy.filter(|s| s.working == n);
    wait("the bid working", || working(1));
    let id = sink.placed.lock().unwrap().unwrap();
    let answers = |want: &[(u64, i64)]| (sink.answers.lock().unwrap().as_slice() == want).then_some(());
    // An amend past the instrument's largest size: our venue refuses it and the order stays;
    // the refusal is the amend's answer, with the 5 lots still open.
    sink.to_send.lock().unwrap().push(Command::Amend { venue: VenueId::Ours, order_id: id, qty: 20_000_000 });
    wait("the refusal's answer", || answers(&[(id, 5)]));
    std::thread::sleep(Duration::from_millis(50));
    assert!(working(1).is_some(), "still working: {:?}", live.runner.snapshot().strategy);
    // Its cancel: answered 0 once the venue says it is gone.
    sink.to_send.lock().unwrap().push(Command::Cancel { venue: VenueId::Ours, order_id: id });
    wait("the cancel's answer", || answers(&[(id, 5), (id, 0)]));
    wait("nothing working", || working(0));
    live.stop();
}

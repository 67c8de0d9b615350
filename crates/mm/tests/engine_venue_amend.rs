//! Our venue amends by total, as an exchange does: an amend sent while fills it has not been
//! told of are still on their way counts those fills against the new total, so an amend from
//! `old` to `new` open lots fills at most `max(old, new)` from the moment it is sent.
//!
//! Deterministic: a second subscription watches the engine's output, and each amend is sent
//! only once the racing fill has happened in the engine, before our venue has read it.

use std::time::{Duration, Instant};

use wintermute_core::{Command, Event, InstrumentSpec, NewOrder, Side};
use wintermute_engine::pipeline::{Gateway, OutputKind, Pipeline, PipelineConfig, RiskConfig, Subscription, Topology};
use wintermute_engine::risk::AccountLimits;
use wintermute_mm::engine_venue::{EngineVenue, EngineVenueConfig};
use wintermute_mm::execution::{ExecCommand, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif};
use wintermute_mm::fees::FeeSchedule;

const MM: u32 = 1;
const OTHER: u32 = 2;

struct Desk {
    _pipeline: Pipeline,
    venue: EngineVenue,
    other: Gateway,
    watch: Subscription,
    taker_id: u64,
}

impl Desk {
    /// A desk whose market maker's account has `limits`.
    fn start(limits: AccountLimits) -> Self {
        let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.0001", 1, 1_000_000, 1, 10_000_000).unwrap();
        let risk = RiskConfig::permissive().account(MM, limits).account(OTHER, AccountLimits::UNLIMITED);
        let config =
            PipelineConfig::new(vec![spec]).risk(risk).topology(Topology::Merged).gateways(2).subscriptions(2, 1 << 12);
        let (pipeline, mut handles) = Pipeline::start(config).unwrap();
        let watch = handles.subscriptions.pop().unwrap();
        let sub = handles.subscriptions.pop().unwrap();
        let other = handles.gateways.pop().unwrap();
        let gateway = handles.gateways.pop().unwrap();
        let venue = EngineVenue::new(EngineVenueConfig::new(MM, 0, FeeSchedule::new(0, 0).unwrap()), gateway, sub);
        Desk { _pipeline: pipeline, venue, other, watch, taker_id: 1_000 }
    }

    /// A desk with our sell order 7 of 10 lots at 1,004 resting; the events it gave.
    fn resting_sell() -> (Self, Vec<ExecEvent>) {
        Self::resting_sell_with(AccountLimits::UNLIMITED)
    }

    /// [`Self::resting_sell`] with `limits` on the market maker's account.
    fn resting_sell_with(limits: AccountLimits) -> (Self, Vec<ExecEvent>) {
        let mut d = Self::start(limits);
        let order = OrderRequest { client_id: 7, side: Side::Sell, price: 1_004, qty: 10, tif: OrderTif::Gtc };
        d.submit(ExecCommand::New(order));
        let events = d.settle();
        (d, events)
    }

    fn submit(&mut self, command: ExecCommand) {
        let now = self.venue.clock_ns();
        self.venue.submit(now, &command).unwrap();
    }

    /// Polls our venue until nothing is in flight; returns every event it handed out.
    fn settle(&mut self) -> Vec<ExecEvent> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut all = Vec::new();
        let mut events = ExecEvents::new();
        loop {
            events.clear();
            let now = self.venue.clock_ns();
            self.venue.poll(now, &mut events);
            all.extend(events.iter().copied());
            if self.venue.in_flight() == 0 && events.is_empty() {
                return all;
            }
            assert!(Instant::now() < deadline, "timed out; events so far {all:?}");
            std::thread::yield_now();
        }
    }

    /// Another trader buys `qty` lots at market, and the test waits until the engine has
    /// traded them (our venue has not read the fill yet).
    fn buy_unseen(&mut self, qty: i64) {
        self.taker_id += 1;
        self.other.submit(0, Command::New(NewOrder::market(self.taker_id, OTHER, Side::Buy, qty))).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut traded = 0;
        while traded < qty {
            self.watch.read(64, |o| {
                if let OutputKind::Event(Event::Trade { qty, .. }) = o.kind {
                    traded += qty;
                }
            });
            assert!(Instant::now() < deadline, "the taker did not trade");
            std::thread::yield_now();
        }
    }
}

fn fills_and_answer(events: &[ExecEvent]) -> (Vec<(i64, i64)>, Option<ExecEvent>) {
    let fills = events
        .iter()
        .filter_map(|e| match *e {
            ExecEvent::Filled { fill, open_qty, .. } => Some((fill.qty, open_qty)),
            _ => None,
        })
        .collect();
    let answer = events.iter().rev().find(|e| !matches!(e, ExecEvent::Filled { .. })).copied();
    (fills, answer)
}

#[test]
fn an_amend_racing_unseen_fills_sets_the_total_on_our_venue() {
    let (mut d, placed) = Desk::resting_sell();
    assert!(matches!(placed[..], [ExecEvent::Accepted { client_id: 7, .. }]));

    // We know 10 open and want 6 in all; 3 fill before the amend arrives: 3 filled + 3 open.
    // (Setting the remaining quantity would have left 6 open: 9 in all.)
    d.buy_unseen(3);
    d.submit(ExecCommand::Amend { client_id: 7, new_qty: 6 });
    let (fills, answer) = fills_and_answer(&d.settle());
    assert_eq!(fills, [(3, 7)]);
    assert!(matches!(answer, Some(ExecEvent::Amended { client_id: 7, open_qty: 3, .. })), "{answer:?}");

    // Two unseen fills (1 and 1) and an amend up from 3 to 5 open as we know it (8 in all):
    // 5 filled + 3 open.
    d.buy_unseen(1);
    d.buy_unseen(1);
    d.submit(ExecCommand::Amend { client_id: 7, new_qty: 5 });
    let (fills, answer) = fills_and_answer(&d.settle());
    assert_eq!(fills, [(1, 2), (1, 1)]);
    assert!(matches!(answer, Some(ExecEvent::Amended { client_id: 7, open_qty: 3, .. })), "{answer:?}");
    assert_eq!(d.venue.open_orders(), 1);
}

#[test]
fn unseen_fills_that_reach_the_new_total_cancel_the_order_on_our_venue() {
    let (mut d, _) = Desk::resting_sell();
    // We know 10 open and want 4 in all; 6 fill first: nothing is left to keep open.
    d.buy_unseen(6);
    d.submit(ExecCommand::Amend { client_id: 7, new_qty: 4 });
    let (fills, answer) = fills_and_answer(&d.settle());
    assert_eq!(fills, [(6, 4)]);
    assert!(matches!(answer, Some(ExecEvent::Canceled { client_id: 7, canceled_qty: 4, .. })), "{answer:?}");
    assert_eq!(d.venue.open_orders(), 0);
}

#[test]
fn amends_sent_back_to_back_each_count_the_one_before() {
    let (mut d, _) = Desk::resting_sell();
    // Down to 4, then up to 8 before the first is answered, a fill of 2 racing both: the
    // second amend's view is the first's 4 open; 2 filled + 6 open = the 8 asked for.
    d.submit(ExecCommand::Amend { client_id: 7, new_qty: 4 });
    d.buy_unseen(2);
    d.submit(ExecCommand::Amend { client_id: 7, new_qty: 8 });
    let events = d.settle();
    let (fills, answer) = fills_and_answer(&events);
    assert_eq!(fills.iter().map(|f| f.0).sum::<i64>(), 2);
    assert!(matches!(answer, Some(ExecEvent::Amended { client_id: 7, open_qty: 6, .. })), "{events:?}");
}

/// The answers (`Amended` open lots, or `None` for a refusal) of the amends in `events`.
fn amend_answers(events: &[ExecEvent]) -> Vec<Option<i64>> {
    events
        .iter()
        .filter_map(|e| match *e {
            ExecEvent::Amended { open_qty, .. } => Some(Some(open_qty)),
            ExecEvent::Rejected { .. } => Some(None),
            _ => None,
        })
        .collect()
}

#[test]
fn a_refused_amend_leaves_the_amend_behind_it_exact() {
    // Risk refuses orders over 14 lots. We know 10 open; up to 15 (refused), then down to 13
    // before that answer: the engine takes the refused amend's 5 for unseen fills and leaves
    // 8, the second amend's own step (13 - 15) from 10.
    let limits = AccountLimits { max_order_qty: 14, ..AccountLimits::UNLIMITED };
    let (mut d, _) = Desk::resting_sell_with(limits);
    d.submit(ExecCommand::Amend { client_id: 7, new_qty: 15 });
    d.submit(ExecCommand::Amend { client_id: 7, new_qty: 13 });
    let events = d.settle();
    assert_eq!(amend_answers(&events), [None, Some(8)], "{events:?}");
    // The view is the order's 8 open lots: an amend to 9 rests 9 (a view left at the 10 the
    // engine had when the first was refused would leave 7).
    d.submit(ExecCommand::Amend { client_id: 7, new_qty: 9 });
    let events = d.settle();
    assert_eq!(amend_answers(&events), [Some(9)], "{events:?}");
}

#[test]
fn many_amends_in_flight_some_refused_keep_the_view_exact() {
    // Risk refuses orders over 14 lots. From 10 open, five amends in flight at once and a fill
    // of 2 racing them. Each refused amend takes its step back; each applied one moves the
    // order by its own step (its lots less the one before's):
    //   12 (+2): 10 open after the fill;  17: refused;  16 (-1 from 17): 9 open;
    //   25: refused;  23 (-2 from 25): 7 open.
    let limits = AccountLimits { max_order_qty: 14, ..AccountLimits::UNLIMITED };
    let (mut d, _) = Desk::resting_sell_with(limits);
    d.submit(ExecCommand::Amend { client_id: 7, new_qty: 12 });
    d.buy_unseen(2);
    for qty in [17, 16, 25, 23] {
        d.submit(ExecCommand::Amend { client_id: 7, new_qty: qty });
    }
    let events = d.settle();
    let (fills, _) = fills_and_answer(&events);
    assert_eq!(fills.iter().map(|f| f.0).sum::<i64>(), 2, "{events:?}");
    // The first amend answers 12 or 10, as the fill came after or before it.
    let answers = amend_answers(&events);
    assert_eq!(answers[1..], [None, Some(9), None, Some(7)], "{events:?}");
    // The view is the order's 7 open lots: each next amend lands exactly where it asks.
    for want in [5, 11, 3] {
        d.submit(ExecCommand::Amend { client_id: 7, new_qty: want });
        let events = d.settle();
        assert_eq!(amend_answers(&events), [Some(want)], "{events:?}");
    }
}

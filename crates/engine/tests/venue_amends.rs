//! Amends of one venue order in flight together: the venue's order table
//! (`VenueOrders::expect_amend` hands out each amend's `seen_remaining`) against a real book,
//! with commands queued before the engine runs them and the engine's outputs reaching the
//! table late, interleaved at random with fills by other accounts.
//!
//! The model: an amend by total to `total` lots leaves the order `total` lots in all (filled
//! ones included), whatever amends of the order are in flight ahead of it and whatever fills
//! the table has not seen yet. An amend the engine refuses (a price out of the band, a risk
//! rejection, an order that ended meanwhile) changes nothing, and an amend already in flight
//! behind a refused one changes the order by its own step: its total is short of the refused
//! amend's change (`docs/service.md`, "Amends in flight"). So the order's total after the last
//! amend the engine applied, `L`, is `total(L)` less the changes of the refused amends that
//! were in flight ahead of `L`; with no refusal, exactly `total(L)`.

use std::collections::VecDeque;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use wintermute_core::{CancelReason, Command, Event, InstrumentSpec, NewOrder, OrderBook, Side};
use wintermute_engine::pipeline::output_record::encode_output;
use wintermute_engine::pipeline::{CommandId, Output, OutputKind, Stamps};
use wintermute_engine::risk::RiskError;
use wintermute_engine::venue_orders::{
    hold_units, AmendLots, Answer, CommandKind, Effect, NewOrder as VenueOrder, OrderType, Status, Tif, VenueOrders,
    SELL,
};

/// Failing seeds are kept (and replayed first) in the crate's `proptest-regressions/` folder.
const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/venue_amends.txt");

const VENUE: u16 = 0;
const OTHERS: u16 = 1;
const ACCOUNT: u32 = 7;
const PRICE: i64 = 100;
const MAX_PRICE: i64 = 1_000;

struct Sent {
    gateway: u16,
    seq: u64,
    command: Command,
    /// Index in `Venue::amends`.
    amend: Option<usize>,
}

#[derive(Debug, Clone)]
struct AmendSent {
    total: i64,
    /// The change to the venue's view it carries (`qty - seen_remaining`).
    step: i64,
    /// Amends of the order in flight when it was sent.
    ahead: Vec<usize>,
    applied: bool,
}

/// The venue's side (its order table) and the engine (a book), with what travels between.
struct Venue {
    book: OrderBook,
    table: VenueOrders,
    order_id: u64,
    placed: i64,
    /// Sent, not run by the engine yet.
    sent: VecDeque<Sent>,
    /// Run, not applied to the table yet: (the amend, if one of the venue's, its records).
    outputs: VecDeque<(Option<usize>, Vec<u8>)>,
    seqs: [u64; 2],
    next_other_id: u64,
    amends: Vec<AmendSent>,
    /// Amends sent whose answer the table has not seen.
    in_flight: Vec<usize>,
    /// What the book says our order traded.
    filled: i64,
    /// How the order ended on the book, if it did.
    ended: Option<&'static str>,
    refusals: usize,
    events: Vec<Event>,
    /// What the table handed back for the last outputs it applied.
    effects: Vec<Effect>,
}

/// Appends the output record of command `s` to `records`, as the pipeline writes it.
fn output(records: &mut Vec<u8>, s: &Sent, kind: OutputKind, last: bool) {
    let command = CommandId { gateway: s.gateway, seq: s.seq };
    let o = Output { command, instrument: 0, journal_seq: 0, kind, last, stamps: Stamps::default() };
    encode_output(&o, records);
}

impl Venue {
    /// A venue whose account 7 rests a sell of `qty` lots at 100, answered.
    fn new(qty: i64) -> Self {
        let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.001", 1, 1_000, 1, MAX_PRICE).unwrap();
        let mut v = Self {
            book: OrderBook::new(spec),
            table: VenueOrders::new(1, VENUE, 100),
            order_id: 0,
            placed: qty,
            sent: VecDeque::new(),
            outputs: VecDeque::new(),
            seqs: [0, 0],
            next_other_id: 1_000_000,
            amends: Vec::new(),
            in_flight: Vec::new(),
            filled: 0,
            ended: None,
            refusals: 0,
            events: Vec::new(),
            effects: Vec::new(),
        };
        let o = VenueOrder {
            account: ACCOUNT,
            client_order_id: None,
            instrument: 0,
            side: SELL,
            order_type: OrderType::Limit,
            tif: Tif::Gtc,
            price: Some(PRICE),
            qty,
            held: hold_units(SELL, qty, PRICE),
            now_ns: 1,
        };
        v.order_id = v.table.place(&o).unwrap();
        let seq = v.next_seq(VENUE);
        v.table.expect(seq, CommandKind::Place, Some(v.order_id), false).unwrap();
        let new = NewOrder::limit(v.order_id, ACCOUNT, Side::Sell, PRICE, qty);
        v.sent.push_back(Sent { gateway: VENUE, seq, command: Command::New(new), amend: None });
        v.settle();
        assert_eq!(v.table.order(v.order_id).unwrap().status, Status::New);
        v
    }

    fn next_seq(&mut self, gateway: u16) -> u64 {
        self.seqs[usize::from(gateway)] += 1;
        self.seqs[usize::from(gateway)]
    }

    /// `Venue.amend`: the order to `total` lots in all, at `price` if given.
    fn amend(&mut self, total: i64, price: Option<i64>) -> Result<AmendLots, String> {
        let seq = self.seqs[usize::from(VENUE)] + 1;
        let lots = self.table.expect_amend(seq, self.order_id, total, false).map_err(|e| e.code.to_owned())?;
        self.next_seq(VENUE);
        let (qty, seen_remaining) = (lots.qty, lots.seen_remaining);
        let command = Command::AmendTotal { order_id: self.order_id, price, qty, seen_remaining };
        let i = self.amends.len();
        let ahead = self.in_flight.clone();
        self.amends.push(AmendSent { total, step: qty - seen_remaining, ahead, applied: false });
        self.in_flight.push(i);
        self.sent.push_back(Sent { gateway: VENUE, seq, command, amend: Some(i) });
        Ok(lots)
    }

    /// Another account's market buy of `qty` lots (it trades with our order, the only ask).
    fn take(&mut self, qty: i64) {
        let seq = self.next_seq(OTHERS);
        self.next_other_id += 1;
        let command = Command::New(NewOrder::market(self.next_other_id, 9, Side::Buy, qty));
        self.sent.push_back(Sent { gateway: OTHERS, seq, command, amend: None });
    }

    /// The engine runs the next command (refused by pre-trade risk with `risk_refuses`, if an
    /// amend). Whether there was one.
    fn run(&mut self, risk_refuses: bool) -> bool {
        self.run_refusing(risk_refuses.then_some(RiskError::GlobalKillSwitch))
    }

    /// [`Self::run`], an amend refused by pre-trade risk for `risk`, if given.
    fn run_refusing(&mut self, risk: Option<RiskError>) -> bool {
        let Some(s) = self.sent.pop_front() else { return false };
        let mut records = Vec::new();
        self.events.clear();
        if let Some(risk) = risk.filter(|_| s.amend.is_some()) {
            output(&mut records, &s, OutputKind::RiskRejected(risk), true);
            self.refusals += 1;
        } else {
            match self.book.execute(&s.command, &mut self.events) {
                Err(e) => {
                    output(&mut records, &s, OutputKind::Refused(e), true);
                    self.refusals += usize::from(s.amend.is_some());
                }
                Ok(()) if self.events.is_empty() => {
                    output(&mut records, &s, OutputKind::NoEvents, true);
                }
                Ok(()) => {
                    let n = self.events.len();
                    for (k, e) in self.events.iter().enumerate() {
                        output(&mut records, &s, OutputKind::Event(*e), k + 1 == n);
                    }
                }
            }
            for e in &self.events {
                match *e {
                    Event::Trade { maker_order_id, qty, maker_remaining, .. } if maker_order_id == self.order_id => {
                        self.filled += qty;
                        if maker_remaining == 0 {
                            self.ended = Some("filled");
                        }
                    }
                    Event::Amended { order_id, .. } if order_id == self.order_id => {
                        self.amends[s.amend.expect("only the venue amends its order")].applied = true;
                    }
                    Event::Canceled { order_id, reason, .. } if order_id == self.order_id => {
                        assert_eq!(reason, CancelReason::FilledBeforeAmend);
                        self.amends[s.amend.expect("only the venue amends its order")].applied = true;
                        self.ended = Some("canceled");
                    }
                    Event::Rejected { order_id, .. } if order_id == self.order_id => self.refusals += 1,
                    _ => {}
                }
            }
        }
        self.outputs.push_back((s.amend, records));
        true
    }

    /// The table applies the next command's outputs. Whether there were some.
    fn deliver(&mut self) -> bool {
        let Some((amend, records)) = self.outputs.pop_front() else { return false };
        let mut effects = Vec::new();
        self.table.apply(&records, 2, &mut effects).unwrap();
        self.effects = effects;
        if let Some(i) = amend {
            self.in_flight.retain(|j| *j != i);
        }
        if self.sent.is_empty() && self.outputs.is_empty() {
            self.check_caught_up();
        }
        true
    }

    /// Everything run and delivered.
    fn settle(&mut self) {
        while self.run(false) {}
        while self.deliver() {}
    }

    /// With nothing in flight, the table's order is the book's.
    fn check_caught_up(&self) {
        let o = self.table.order(self.order_id).expect("the table holds the order");
        assert_eq!(o.filled, self.filled, "fills the table saw");
        assert_eq!(self.table.amend_in_flight(self.order_id), None);
        assert_eq!(self.table.waiting().count(), 0);
        match self.book.order(self.order_id) {
            Some(b) => {
                assert!(o.status.is_open(), "{o:?}");
                assert_eq!(o.qty - o.filled, b.remaining, "the table's open lots are the book's");
            }
            None => assert!(matches!(o.status, Status::Filled | Status::Canceled), "{o:?}"),
        }
    }

    /// The order's total as the model has it: see the module docs.
    fn expected_total(&self) -> i64 {
        let Some(last) = self.amends.iter().rposition(|a| a.applied) else { return self.placed };
        let a = &self.amends[last];
        a.total - a.ahead.iter().filter(|j| !self.amends[**j].applied).map(|j| self.amends[*j].step).sum::<i64>()
    }

    /// After everything settled: the book's order against the model.
    fn check_model(&self) {
        let total = self.expected_total();
        match (self.book.order(self.order_id), self.ended) {
            (Some(b), None) => assert_eq!(b.remaining, total - self.filled, "open lots: total {total} less filled"),
            (None, Some("filled")) => assert_eq!(self.filled, total, "filled to its total"),
            (None, Some(_)) => assert!(self.filled >= total, "canceled: fills {} reached {total}", self.filled),
            (b, e) => panic!("book {b:?}, ended {e:?}"),
        }
        self.check_caught_up();
    }
}

#[test]
fn two_amends_sent_before_either_answer_both_count() {
    let mut v = Venue::new(10);
    // Down to 6, then up to 8: the second counts on the first, not on the 10 the table shows.
    assert_eq!(v.amend(6, None), Ok(AmendLots { qty: 6, seen_remaining: 10 }));
    assert_eq!(v.amend(8, None), Ok(AmendLots { qty: 8, seen_remaining: 6 }));
    v.settle();
    assert_eq!(v.book.order(v.order_id).unwrap().remaining, 8);
    assert_eq!(v.table.order(v.order_id).unwrap().qty, 8);
    // Down twice, with a fill neither amend saw: 7 lots in all, 4 filled, 3 open.
    assert_eq!(v.amend(9, None).map(|l| l.seen_remaining), Ok(8));
    v.take(4);
    assert_eq!(v.amend(7, None), Ok(AmendLots { qty: 7, seen_remaining: 9 }));
    v.settle();
    assert_eq!((v.filled, v.book.order(v.order_id).unwrap().remaining), (4, 3));
    v.check_model();
}

#[test]
fn fills_seen_while_amends_are_in_flight_come_off_the_view_once() {
    let mut v = Venue::new(10);
    v.take(2);
    v.amend(12, None).unwrap(); // sent before the fill is seen: 12 open as the table sees it
    assert!(v.run(false) && v.run(false)); // the fill, then the amend (which takes it off)
    assert!(v.deliver()); // the fill reaches the table: 10 open as it sees it now
    assert_eq!(v.table.amend_in_flight(v.order_id), Some(10));
    assert_eq!(v.amend(9, None), Ok(AmendLots { qty: 7, seen_remaining: 10 }));
    v.settle();
    assert_eq!((v.filled, v.book.order(v.order_id).unwrap().remaining), (2, 7));
    v.check_model();
}

#[test]
fn a_refused_amend_takes_its_change_back_and_the_next_one_lands_exactly() {
    let mut v = Venue::new(10);
    // Up to 14 at a price out of the band: refused. The amend to 12 in flight behind it
    // counted on 14 (a step of -2): it leaves 8; the table's view follows the book.
    v.amend(14, Some(MAX_PRICE + 1)).unwrap();
    assert_eq!(v.amend(12, None), Ok(AmendLots { qty: 12, seen_remaining: 14 }));
    assert!(v.run(false) && v.deliver());
    assert_eq!(v.table.amend_in_flight(v.order_id), Some(8), "the refused step taken back");
    v.settle();
    assert_eq!(v.book.order(v.order_id).unwrap().remaining, 8);
    // The next amend, sent after the refusal was seen, lands exactly.
    assert_eq!(v.amend(11, None), Ok(AmendLots { qty: 11, seen_remaining: 8 }));
    v.settle();
    assert_eq!(v.book.order(v.order_id).unwrap().remaining, 11);
    v.check_model();
    // A risk rejection with nothing behind it: the view is the table's order again.
    v.amend(5, None).unwrap();
    assert!(v.run(true) && v.deliver());
    assert_eq!(v.table.amend_in_flight(v.order_id), None);
    assert_eq!(v.amend(6, None), Ok(AmendLots { qty: 6, seen_remaining: 11 }));
    v.settle();
    assert_eq!(v.book.order(v.order_id).unwrap().remaining, 6);
    v.check_model();
}

/// The table's answer to the last command it applied: `(code, reason, the order's total)` of a
/// failure (panics on anything else).
fn failed_answer(v: &Venue) -> (&'static str, Option<String>, Option<i64>) {
    let answers: Vec<&Answer> = v
        .effects
        .iter()
        .filter_map(|e| if let Effect::Answer { answer, .. } = e { Some(answer) } else { None })
        .collect();
    match answers.as_slice() {
        [Answer::Failed { error, order, counted: true }] => {
            (error.code, error.reason.clone(), order.as_ref().map(|o| o.qty))
        }
        other => panic!("not one failed answer: {other:?} (effects {:?})", v.effects),
    }
}

#[test]
fn a_risk_rejected_amend_is_answered_with_the_risk_reason_and_its_change_taken_back() {
    let mut v = Venue::new(10);
    // Up to 14, refused by pre-trade risk; the amend to 12 in flight behind it counted on 14.
    v.amend(14, None).unwrap();
    assert_eq!(v.amend(12, None), Ok(AmendLots { qty: 12, seen_remaining: 14 }));
    let too_big = RiskError::MaxOrderQty { account: ACCOUNT, instrument: 0, qty: 14, limit: 12 };
    assert!(v.run_refusing(Some(too_big)) && v.deliver());
    // The refusal is answered with the risk's reason, the order as it was: 10 lots, its hold
    // untouched (no unlock); the view takes the refused +4 back.
    assert_eq!(failed_answer(&v), ("RISK_REJECTED", Some("MAX_ORDER_QTY".to_owned()), Some(10)));
    assert!(!v.effects.iter().any(|e| matches!(e, Effect::Unlock { .. })), "{:?}", v.effects);
    assert_eq!(v.table.amend_in_flight(v.order_id), Some(8), "the refused step taken back");
    let o = v.table.order(v.order_id).unwrap();
    assert_eq!((o.qty, o.held, o.status), (10, hold_units(SELL, 10, PRICE), Status::New));
    v.settle();
    assert_eq!(v.book.order(v.order_id).unwrap().remaining, 8);
    v.check_model();

    // A kill switch, nothing behind it: answered as one, the view the table's order again.
    v.amend(5, None).unwrap();
    assert!(v.run_refusing(Some(RiskError::GlobalKillSwitch)) && v.deliver());
    assert_eq!(failed_answer(&v), ("KILL_SWITCH", Some("GLOBAL_KILL_SWITCH".to_owned()), Some(8)));
    assert_eq!(v.table.amend_in_flight(v.order_id), None);
    assert_eq!(v.amend(6, None), Ok(AmendLots { qty: 6, seen_remaining: 8 }));
    v.settle();
    assert_eq!(v.book.order(v.order_id).unwrap().remaining, 6);
    v.check_model();
}

#[test]
fn amends_of_an_order_that_ended_in_between_are_refused_and_forgotten() {
    let mut v = Venue::new(10);
    v.amend(12, None).unwrap();
    v.take(12); // fills all 12 before the table sees the amend
    v.amend(15, None).unwrap(); // the engine will have no such order
    assert!(v.run(false) && v.run(false) && v.run(false));
    assert_eq!((v.filled, v.ended), (12, Some("filled")));
    v.settle();
    assert_eq!(v.table.order(v.order_id).unwrap().status, Status::Filled);
    assert_eq!(v.amend(20, None), Err("UNKNOWN_ORDER".to_owned()), "no amend of a final order");
    v.check_model();
}

#[test]
fn an_amend_the_table_refuses_leaves_its_view_as_it_was() {
    let mut v = Venue::new(10);
    v.take(3);
    v.settle();
    v.amend(9, None).unwrap();
    assert_eq!(v.amend(3, None), Err("INVALID_QTY".to_owned()), "no more than the 3 filled");
    assert_eq!(v.table.amend_in_flight(v.order_id), Some(6));
    // A command never sent: forgotten, and its change with it.
    let seq = v.seqs[usize::from(VENUE)] + 1;
    assert_eq!(v.table.expect_amend(seq, v.order_id, 5, false).unwrap().seen_remaining, 6);
    assert!(v.table.forget(seq));
    assert_eq!(v.table.amend_in_flight(v.order_id), Some(6));
    v.settle();
    assert_eq!(v.book.order(v.order_id).unwrap().remaining, 6);
    v.check_model();
}

/// A random run: amends (some refused when `refusals`), fills by others, the engine and the
/// table each catching up at their own pace.
fn random_run(seed: u64, steps: usize, refusals: bool) -> Venue {
    let mut rng = seed;
    let mut below = |n: u64| {
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (rng >> 33) % n
    };
    let mut v = Venue::new(1 + below(20) as i64);
    for _ in 0..steps {
        match below(10) {
            0..=2 => {
                let Some(o) = v.table.order(v.order_id).filter(|o| o.status.is_open()) else { continue };
                let total = o.filled + 1 + below(20) as i64;
                let price = match below(10) {
                    0 if refusals => Some(MAX_PRICE + 1),
                    1 => Some(PRICE + below(3) as i64),
                    _ => None,
                };
                v.amend(total, price).unwrap();
            }
            3..=4 => v.take(1 + below(4) as i64),
            5..=7 => {
                let risk = refusals && below(8) == 0;
                v.run(risk);
            }
            _ => {
                v.deliver();
            }
        }
    }
    v.settle();
    v.check_model();
    v
}

#[test]
fn random_runs_go_through_fills_refusals_and_amends_in_flight_behind_others() {
    let (mut behind, mut refused, mut ended) = (0, 0, 0);
    for seed in 0..200 {
        let v = random_run(seed, 200, seed % 2 == 0);
        behind += v.amends.iter().filter(|a| a.applied && !a.ahead.is_empty()).count();
        refused += v.refusals;
        ended += usize::from(v.ended.is_some());
    }
    assert!(behind > 200 && refused > 50 && ended > 20, "behind={behind} refused={refused} ended={ended}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn amends_in_flight_leave_the_total_asked_for_less_what_filled(seed in any::<u64>(), refusals in any::<bool>()) {
        let v = random_run(seed, 150, refusals);
        if !refusals {
            // No refusal: the last amend the book applied is exact, whatever was in flight.
            let total = v.amends.iter().rev().find(|a| a.applied).map_or(v.placed, |a| a.total);
            prop_assert_eq!(v.expected_total(), total);
        }
    }
}

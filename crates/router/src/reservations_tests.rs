use std::cell::Cell;
use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;

use super::*;

#[derive(Debug, Default)]
struct Totals {
    base: Cell<i64>,
    quote: Cell<i64>,
}

impl Reserved for Totals {
    fn add(&self, r: Reserve) {
        self.base.set(self.base.get() + r.base_lots);
        self.quote.set(self.quote.get() + r.quote_units);
    }
    fn sub(&self, r: Reserve) {
        self.base.set(self.base.get() - r.base_lots);
        self.quote.set(self.quote.get() - r.quote_units);
    }
}

#[test]
fn an_order_needs_its_lots_to_sell_and_its_notional_to_buy() {
    assert_eq!(Reserve::of(Side::Sell, 100, 7), Reserve { base_lots: 7, quote_units: 0 });
    assert_eq!(Reserve::of(Side::Buy, 100, 7), Reserve { base_lots: 0, quote_units: 700 });
    assert_eq!(Reserve::of(Side::Buy, i64::MAX, 2).quote_units, i64::MAX, "saturates: covered by nothing");
    let r = Reserve { base_lots: 3, quote_units: 10 };
    assert_eq!(r.less(Reserve { base_lots: 5, quote_units: 4 }), Reserve { base_lots: 0, quote_units: 6 });
}

#[test]
fn a_reservation_waits_for_a_position_received_after_the_orders_first_report() {
    let totals = Totals::default();
    let mut ledger = Ledger::default();
    totals.add(Reserve::of(Side::Buy, 10, 5));
    ledger.hold(Entry { client_id: 1, reserve: Reserve::of(Side::Buy, 10, 5), not_before_ns: i64::MIN, positions: 1 });
    let view = |at| move |_| OrderView::Reported { report_ns: at };
    ledger.on_position(&totals, AssetSide::Quote, 100, |_| OrderView::Pending);
    assert_eq!(totals.quote.get(), 50, "not answered: held");
    ledger.on_position(&totals, AssetSide::Quote, 100, view(100));
    assert_eq!(totals.quote.get(), 50, "a position received with the report may predate it");
    ledger.on_position(&totals, AssetSide::Base, 101, view(100));
    assert_eq!(totals.quote.get(), 50, "another asset says nothing of it");
    ledger.on_snapshot(&totals, 100, view(100));
    assert_eq!(totals.quote.get(), 50, "a snapshot requested before the report");
    ledger.on_position(&totals, AssetSide::Quote, 101, view(100));
    assert_eq!((totals.quote.get(), ledger.entries().len()), (0, 0));
}

#[test]
fn an_order_that_took_nothing_releases_at_once_and_an_amend_waits_for_its_answer() {
    let totals = Totals::default();
    let mut ledger = Ledger::default();
    ledger.reserve(
        &totals,
        Entry { client_id: 1, reserve: Reserve::of(Side::Sell, 1, 4), not_before_ns: i64::MIN, positions: 1 },
    );
    ledger.reserve(
        &totals,
        Entry { client_id: 2, reserve: Reserve::of(Side::Sell, 1, 3), not_before_ns: i64::MAX, positions: 1 },
    );
    ledger.reserve(
        &totals,
        Entry { client_id: 3, reserve: Reserve::of(Side::Sell, 1, 2), not_before_ns: i64::MAX, positions: 1 },
    );
    ledger.settle(&totals, |id| if id == 1 { OrderView::EndedUnfilled } else { OrderView::Pending });
    assert_eq!(totals.base.get(), 5);
    ledger.amend_answered(&totals, 3, None);
    assert_eq!(totals.base.get(), 3, "a refused amend holds nothing");
    ledger.amend_answered(&totals, 2, Some((50, 1)));
    ledger.on_position(&totals, AssetSide::Base, 40, |_| OrderView::Reported { report_ns: 10 });
    assert_eq!(totals.base.get(), 3, "a position before the amend's answer");
    ledger.on_position(&totals, AssetSide::Base, 51, |_| OrderView::Reported { report_ns: 10 });
    assert_eq!(totals.base.get(), 0);
    let two = Entry { client_id: 4, reserve: Reserve::of(Side::Buy, 1, 1), not_before_ns: i64::MIN, positions: 2 };
    ledger.reserve(&totals, two);
    ledger.on_position(&totals, AssetSide::Quote, 60, |_| OrderView::Reported { report_ns: 10 });
    assert_eq!(totals.quote.get(), 1, "one of the two positions it waits for");
    ledger.on_position(&totals, AssetSide::Quote, 61, |_| OrderView::Reported { report_ns: 10 });
    assert_eq!((totals.quote.get(), ledger.entries().len()), (0, 0));
}

// A venue model: orders lock at acknowledgment, fills at the order's price, cancels; after the
// reports of each change it streams the changed assets' positions. The route's side reserves on
// submit and releases by the ledger's rule as the stream is delivered, late and in order.

#[derive(Debug, Clone, Copy)]
enum Op {
    Submit { buy: bool, price: i64, qty: i64 },
    Ack { pick: usize, reject: bool },
    Fill { pick: usize, qty: i64 },
    Cancel { pick: usize },
    Deliver { n: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 1i64..20, 1i64..10).prop_map(|(buy, price, qty)| Op::Submit { buy, price, qty }),
        (any::<usize>(), prop::bool::weighted(0.1)).prop_map(|(pick, reject)| Op::Ack { pick, reject }),
        (any::<usize>(), 1i64..10).prop_map(|(pick, qty)| Op::Fill { pick, qty }),
        any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        (0usize..6).prop_map(|n| Op::Deliver { n }),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum St {
    Sent,
    Open,
    Ended,
}

#[derive(Debug, Clone, Copy)]
struct VOrder {
    buy: bool,
    price: i64,
    qty: i64,
    filled: i64,
    st: St,
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Report { id: u64, st: St, filled: i64 },
    Position { base: bool, free: i64 },
}

/// What the route has read of one order.
#[derive(Debug, Clone, Copy, Default)]
struct Seen {
    reported: bool,
    ended: bool,
    filled: i64,
    first_ns: i64,
}

#[derive(Debug, Default)]
struct World {
    // The venue.
    free: [i64; 2], // [base, quote]
    orders: BTreeMap<u64, VOrder>,
    stream: VecDeque<Event>,
    // The route.
    tracked: [i64; 2],
    seen: BTreeMap<u64, Seen>,
    clock: i64,
    next_id: u64,
}

impl World {
    fn view(seen: &BTreeMap<u64, Seen>, id: u64) -> OrderView {
        match seen.get(&id) {
            None => OrderView::Gone,
            Some(s) if !s.reported => OrderView::Pending,
            Some(s) if s.ended && s.filled == 0 => OrderView::EndedUnfilled,
            Some(s) => OrderView::Reported { report_ns: s.first_ns },
        }
    }

    /// What the venue would still let a new order take: its free less what is sent and not
    /// yet acknowledged.
    fn venue_available(&self) -> [i64; 2] {
        let mut a = self.free;
        for o in self.orders.values().filter(|o| o.st == St::Sent) {
            if o.buy {
                a[1] -= o.qty * o.price;
            } else {
                a[0] -= o.qty;
            }
        }
        a
    }

    fn positions(&mut self, before: [i64; 2]) {
        for (k, base) in [(0, true), (1, false)] {
            if self.free[k] != before[k] {
                self.stream.push_back(Event::Position { base, free: self.free[k] });
            }
        }
    }

    fn pick(&self, pick: usize, st: St) -> Option<u64> {
        let ids: Vec<u64> = self.orders.iter().filter(|(_, o)| o.st == st).map(|(&id, _)| id).collect();
        (!ids.is_empty()).then(|| ids[pick % ids.len()])
    }

    fn step(&mut self, op: Op, ledger: &mut Ledger, totals: &Totals) {
        match op {
            Op::Submit { buy, price, qty } => {
                let need = Reserve::of(if buy { Side::Buy } else { Side::Sell }, price, qty);
                let available = [self.tracked[0] - totals.base.get(), self.tracked[1] - totals.quote.get()];
                if need.base_lots > available[0] || need.quote_units > available[1] {
                    return; // refused before it is sent
                }
                self.next_id += 1;
                let id = self.next_id;
                totals.add(need);
                ledger.hold(Entry { client_id: id, reserve: need, not_before_ns: i64::MIN, positions: 1 });
                self.orders.insert(id, VOrder { buy, price, qty, filled: 0, st: St::Sent });
                self.seen.insert(id, Seen::default());
            }
            Op::Ack { pick, reject } => {
                let Some(id) = self.pick(pick, St::Sent) else { return };
                let before = self.free;
                let o = self.orders.get_mut(&id).unwrap();
                let (k, amount) = if o.buy { (1, o.qty * o.price) } else { (0, o.qty) };
                if reject || self.free[k] < amount {
                    o.st = St::Ended;
                    self.stream.push_back(Event::Report { id, st: St::Ended, filled: 0 });
                    return;
                }
                o.st = St::Open;
                self.free[k] -= amount;
                self.stream.push_back(Event::Report { id, st: St::Open, filled: 0 });
                self.positions(before);
            }
            Op::Fill { pick, qty } => {
                let Some(id) = self.pick(pick, St::Open) else { return };
                let before = self.free;
                let o = self.orders.get_mut(&id).unwrap();
                let qty = qty.min(o.qty - o.filled);
                o.filled += qty;
                if o.filled == o.qty {
                    o.st = St::Ended;
                }
                // The lock turns into what was bought or sold.
                if o.buy {
                    self.free[0] += qty;
                } else {
                    self.free[1] += qty * o.price;
                }
                let (st, filled) = (o.st, o.filled);
                self.stream.push_back(Event::Report { id, st, filled });
                self.positions(before);
            }
            Op::Cancel { pick } => {
                let Some(id) = self.pick(pick, St::Open) else { return };
                let before = self.free;
                let o = self.orders.get_mut(&id).unwrap();
                o.st = St::Ended;
                let open = o.qty - o.filled;
                if o.buy {
                    self.free[1] += open * o.price;
                } else {
                    self.free[0] += open;
                }
                let filled = o.filled;
                self.stream.push_back(Event::Report { id, st: St::Ended, filled });
                self.positions(before);
            }
            Op::Deliver { n } => self.deliver(n, ledger, totals),
        }
    }

    /// Reads `n` events as the route's client does (reports into its order table at once,
    /// balance updates queued), then applies the queued updates as the route's worker does
    /// after each step: the table already holds reports read after an update.
    fn deliver(&mut self, n: usize, ledger: &mut Ledger, totals: &Totals) {
        let mut queued = Vec::new();
        for _ in 0..n {
            let Some(event) = self.stream.pop_front() else { break };
            self.clock += 1;
            match event {
                Event::Report { id, st, filled } => {
                    let s = self.seen.get_mut(&id).unwrap();
                    if !s.reported {
                        s.first_ns = self.clock;
                    }
                    s.reported = true;
                    s.ended |= st == St::Ended;
                    s.filled = filled;
                }
                Event::Position { base, free } => queued.push((base, free, self.clock)),
            }
        }
        let seen = &self.seen;
        for (base, free, at) in queued {
            self.tracked[usize::from(!base)] = free;
            let asset = if base { AssetSide::Base } else { AssetSide::Quote };
            ledger.on_position(totals, asset, at, |id| Self::view(seen, id));
        }
        ledger.settle(totals, |id| Self::view(seen, id));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the venue does and however late its stream, what the route lets a new order
    /// take never exceeds what the venue would (no order passes the check on funds another
    /// took); once the stream is read and nothing is unanswered, the reservations are 0 and
    /// the route's available balance is the venue's to the unit (nothing counted twice).
    #[test]
    fn reservations_never_overcommit_and_return_to_zero(
        start in (0i64..60, 0i64..600),
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let totals = Totals::default();
        let mut ledger = Ledger::default();
        let mut w = World { free: [start.0, start.1], tracked: [start.0, start.1], ..World::default() };
        for op in ops {
            w.step(op, &mut ledger, &totals);
            let available = [w.tracked[0] - totals.base.get(), w.tracked[1] - totals.quote.get()];
            let venue = w.venue_available();
            prop_assert!(available[0] <= venue[0] && available[1] <= venue[1], "{available:?} > {venue:?}: {w:?}");
        }
        // The venue answers everything; the stream is read to its end.
        while let Some(id) = w.pick(0, St::Sent) {
            let _ = id;
            w.step(Op::Ack { pick: 0, reject: false }, &mut ledger, &totals);
        }
        w.deliver(usize::MAX, &mut ledger, &totals);
        prop_assert_eq!((totals.base.get(), totals.quote.get()), (0, 0), "{:?}", ledger.entries());
        prop_assert!(ledger.entries().is_empty());
        prop_assert_eq!(w.tracked, w.free);
    }
}

#[test]
fn a_buy_holds_its_fee_where_the_venue_holds_it_rounded_up() {
    // 1,719,666 lots at 580,000 ticks and 0.26 %: 997,406,280,000 units and a 2,593,256,328 fee.
    let r = Reserve::of(Side::Buy, 580_000, 1_719_666).with_buy_fee(2_600);
    assert_eq!(r, Reserve { base_lots: 0, quote_units: 999_999_536_328 });
    assert_eq!(Reserve::of(Side::Buy, 3, 1).with_buy_fee(1).quote_units, 4, "rounded up");
    assert_eq!(Reserve::of(Side::Sell, 100, 7).with_buy_fee(4_000), Reserve::of(Side::Sell, 100, 7));
    assert_eq!(Reserve::of(Side::Buy, 100, 7).with_buy_fee(0), Reserve::of(Side::Buy, 100, 7));
    assert_eq!(Reserve::of(Side::Buy, i64::MAX, 2).with_buy_fee(4_000).quote_units, i64::MAX, "saturates");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    /// The lots a free quote balance covers with the fee are the most whose reservation (the
    /// notional and the fee, rounded up) fits in it: one lot more does not.
    #[test]
    fn the_lots_covered_with_the_fee_are_the_most_whose_reservation_fits(
        quote in 0i64..1_000_000_000_000_000_000,
        price in 1i64..100_000_000,
        fee in 0u32..100_000,
    ) {
        let free = crate::balances::FreeUnits { base_lots: 0, quote_units: quote };
        let lots = free.coverable_paying(Side::Buy, price, fee);
        prop_assert!(lots >= 0);
        prop_assert!(Reserve::of(Side::Buy, price, lots).with_buy_fee(fee).quote_units <= quote);
        prop_assert!(Reserve::of(Side::Buy, price, lots + 1).with_buy_fee(fee).quote_units > quote);
    }
}

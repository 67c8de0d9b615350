//! Real data: NASDAQ AAPL order-level messages (LOBSTER sample, see `data/PROVENANCE.md`)
//! replayed into an [`OrderBook`], with the book's top 10 levels per side compared against
//! LOBSTER's own reconstruction after every message, and every visible execution replayed as
//! an IOC taker whose maker must be the order the exchange says was executed (price-time
//! priority checked against the real exchange).
//!
//! ## What the data can and cannot tell
//! LOBSTER's level-10 message file only holds the events that touch the 10 visible levels of
//! each side. A price level that drifts beyond the 10th level can change unseen (orders added
//! or deleted there leave no message) and is unknown when it comes back into view. So each side
//! keeps a per-price "in view" flag: a price that leaves the window becomes *stale*;
//! when it comes back into the window it is *resynchronized* once from that row (a synthetic
//! order is added for missing quantity; surplus is taken from synthetic orders first, then from
//! the back of the queue). A row is **checked** when no price needed a quantity change by
//! resynchronization at that row; then all of its up to 20 levels are compared, and none may
//! differ. Liquidity that predates the sample comes from the first orderbook row as one
//! synthetic order per level; messages about pre-sample order ids act on that synthetic order.

use std::fs;

use wintermute_core::{Event, InstrumentSpec, NewOrder, OrderBook, OrderId, OrderView, Price, Qty, Side, TimeInForce};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/lobster/");
const MESSAGES: &str = "AAPL_2012-06-21_34200000_57600000_message_10_first999.csv";
const ORDERBOOK: &str = "AAPL_2012-06-21_34200000_57600000_orderbook_10_first999.csv";

/// LOBSTER prices are dollars x 10,000; AAPL's tick is $0.01.
const LOBSTER_UNITS_PER_TICK: i64 = 100;
/// Ids of orders this test makes up (LOBSTER ids are far below).
const SYNTHETIC_ID_BASE: OrderId = 1_000_000_000;
const TAKER_ID_BASE: OrderId = 2_000_000_000;
const MAKER_ACCOUNT: u32 = 1;
const TAKER_ACCOUNT: u32 = 2;

#[derive(Debug, Clone, Copy)]
struct Message {
    line: usize,
    kind: u8,
    order_id: OrderId,
    size: Qty,
    price: Price,
    side: Side,
}

/// One orderbook row: up to 10 (price, size) levels per side, best first. Indexed by `Side::index`.
#[derive(Debug, Clone)]
struct Row {
    levels: [Vec<(Price, Qty)>; 2],
}

fn read(name: &str) -> String {
    let path = format!("{DATA}{name}");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read LOBSTER sample {path}: {e}"))
}

fn ticks(lobster_price: i64, line: usize) -> Price {
    assert_eq!(lobster_price % LOBSTER_UNITS_PER_TICK, 0, "line {line}: price {lobster_price} is off the $0.01 grid");
    lobster_price / LOBSTER_UNITS_PER_TICK
}

fn parse_messages(text: &str) -> Vec<Message> {
    let field = |fields: &[&str], i: usize, line: usize| -> i64 {
        fields[i].parse().unwrap_or_else(|e| panic!("message line {line}, column {i}: {:?}: {e}", fields[i]))
    };
    text.lines()
        .enumerate()
        .map(|(i, text)| {
            let line = i + 1;
            let fields: Vec<&str> = text.split(',').collect();
            assert_eq!(fields.len(), 6, "message line {line}: expected 6 columns: {text:?}");
            let kind = field(&fields, 1, line) as u8;
            Message {
                line,
                kind,
                order_id: field(&fields, 2, line) as OrderId,
                size: field(&fields, 3, line),
                // A halt (type 7) carries a code (-1, 0, 1) in the price column, not a price.
                price: if kind == 7 { 0 } else { ticks(field(&fields, 4, line), line) },
                side: match field(&fields, 5, line) {
                    1 => Side::Buy,
                    -1 => Side::Sell,
                    other => panic!("message line {line}: direction {other} is neither 1 nor -1"),
                },
            }
        })
        .collect()
}

fn parse_rows(text: &str) -> Vec<Row> {
    text.lines()
        .enumerate()
        .map(|(i, text)| {
            let values: Vec<i64> = text
                .split(',')
                .map(|v| v.parse().unwrap_or_else(|e| panic!("orderbook line {}: {v:?}: {e}", i + 1)))
                .collect();
            assert_eq!(values.len(), 40, "orderbook line {}: expected 40 columns", i + 1);
            let side = |offset: usize| {
                (0..10)
                    .map(|level| (values[4 * level + offset], values[4 * level + offset + 1]))
                    .filter(|&(_, size)| size > 0) // LOBSTER pads missing levels with size 0
                    .map(|(price, size)| (ticks(price, i + 1), size))
                    .collect()
            };
            Row { levels: [side(2), side(0)] }
        })
        .collect()
}

/// Whether `price` lies inside the row's visible window on `side` (at or better than the
/// 10th level; everything when fewer than 10 levels exist).
fn in_view(row: &Row, side: Side, price: Price) -> bool {
    let levels = &row.levels[side.index()];
    match (levels.len() < 10, levels.last(), side) {
        (true, _, _) | (_, None, _) => true,
        (false, Some(&(worst, _)), Side::Buy) => price >= worst,
        (false, Some(&(worst, _)), Side::Sell) => price <= worst,
    }
}

fn is_synthetic(order: &OrderView) -> bool {
    (SYNTHETIC_ID_BASE..TAKER_ID_BASE).contains(&order.order_id)
}

/// The book being replayed, plus what the test knows about each price.
struct Replay {
    book: OrderBook,
    next_synthetic: OrderId,
    /// The grid of prices that occur in the files, and per side whether each is in view.
    lowest_price: Price,
    fresh: [Vec<bool>; 2],
    executions_checked: usize,
}

impl Replay {
    fn new(first_row: &Row, lowest_price: Price, highest_price: Price) -> Self {
        let spec = InstrumentSpec::from_units("AAPL", "0.01", "1", 1, 10_000_000, 1, 100_000_000)
            .expect("the AAPL spec is valid");
        let grid = (highest_price - lowest_price + 1) as usize;
        let fresh = [Side::Buy, Side::Sell]
            .map(|side| (0..grid).map(|i| in_view(first_row, side, lowest_price + i as Price)).collect());
        let mut replay = Self {
            book: OrderBook::new(spec),
            next_synthetic: SYNTHETIC_ID_BASE,
            lowest_price,
            fresh,
            executions_checked: 0,
        };
        for side in [Side::Buy, Side::Sell] {
            for &(price, size) in &first_row.levels[side.index()] {
                replay.add_synthetic(side, price, size);
            }
        }
        replay
    }

    fn run(
        &mut self,
        command: impl FnOnce(&mut OrderBook, &mut Vec<Event>) -> Result<(), wintermute_core::OrderError>,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        command(&mut self.book, &mut events).unwrap_or_else(|e| panic!("replay command failed validation: {e}"));
        events
    }

    fn add_synthetic(&mut self, side: Side, price: Price, size: Qty) {
        self.next_synthetic += 1;
        let order = NewOrder::limit(self.next_synthetic, MAKER_ACCOUNT, side, price, size);
        let events = self.run(|book, sink| book.submit(&order, sink));
        assert!(!events.iter().any(|e| matches!(e, Event::Trade { .. })), "synthetic order traded: {events:?}");
    }

    /// Takes `size` lots off a resting order (priority kept), canceling it at zero.
    fn reduce(&mut self, order_id: OrderId, size: Qty) {
        let order = self.book.order(order_id).unwrap_or_else(|| panic!("order {order_id} should be live"));
        assert!(order.remaining >= size, "order {order_id} has {} lots, cannot take {size}", order.remaining);
        if order.remaining == size {
            self.run(|book, sink| book.cancel(order_id, sink));
        } else {
            let events = self.run(|book, sink| book.amend(order_id, None, Some(order.remaining - size), sink));
            assert!(matches!(events[0], Event::Amended { priority_kept: true, .. }), "{events:?}");
        }
    }

    /// The order a message is about: the live order with its id, or, for an id that predates
    /// the sample, the synthetic order standing in for that level's old liquidity.
    fn target(&self, message: &Message) -> OrderId {
        if let Some(order) = self.book.order(message.order_id) {
            assert_eq!((order.side, order.price), (message.side, message.price), "message {message:?}");
            return message.order_id;
        }
        self.book
            .orders_at(message.side, message.price)
            .iter()
            .find(|o| is_synthetic(o))
            .unwrap_or_else(|| panic!("message {message:?}: unknown id and no pre-sample liquidity at its price"))
            .order_id
    }

    fn apply(&mut self, message: &Message) {
        let index = message.side.index();
        let at = (message.price - self.lowest_price) as usize;
        if message.kind != 5 && message.kind != 7 {
            assert!(self.fresh[index][at], "message {message:?} is about a price out of view");
        }
        match message.kind {
            1 => {
                let order = NewOrder::limit(message.order_id, MAKER_ACCOUNT, message.side, message.price, message.size);
                let events = self.run(|book, sink| book.submit(&order, sink));
                assert!(!events.iter().any(|e| matches!(e, Event::Trade { .. })), "add {message:?} traded: {events:?}");
            }
            2 => self.reduce(self.target(message), message.size),
            3 => {
                let target = self.target(message);
                if target == message.order_id {
                    let remaining = self.book.order(target).map(|o| o.remaining);
                    assert_eq!(remaining, Some(message.size), "delete {message:?} of a different size");
                }
                self.reduce(target, message.size);
            }
            4 => self.execute_visible(message),
            5 | 7 => {} // hidden execution, trading halt: the visible book does not change
            kind => panic!("message line {}: unknown type {kind}", message.line),
        }
    }

    /// A visible execution: an IOC taker from the other side at the maker's price for the
    /// executed size must trade exactly once, with exactly that maker.
    fn execute_visible(&mut self, message: &Message) {
        let maker = self.target(message);
        let taker_id = TAKER_ID_BASE + message.line as OrderId;
        let taker = NewOrder::limit(taker_id, TAKER_ACCOUNT, message.side.opposite(), message.price, message.size)
            .with_tif(TimeInForce::Ioc);
        let events = self.run(|book, sink| book.submit(&taker, sink));
        let trades: Vec<_> = events.iter().filter(|e| matches!(e, Event::Trade { .. })).collect();
        match trades.as_slice() {
            [Event::Trade { maker_order_id, price, qty, .. }] => {
                assert_eq!(
                    (*maker_order_id, *price, *qty),
                    (maker, message.price, message.size),
                    "execution {message:?}: the book matched another maker (price-time priority)"
                );
            }
            _ => panic!("execution {message:?}: expected one trade with order {maker}, got {events:?}"),
        }
        self.executions_checked += 1;
    }

    /// Marks prices leaving the window as stale and resynchronizes those coming back into it.
    /// Returns how many prices needed a quantity change.
    fn follow_window(&mut self, row: &Row) -> usize {
        let mut changed = 0;
        for side in [Side::Buy, Side::Sell] {
            for at in 0..self.fresh[side.index()].len() {
                let price = self.lowest_price + at as Price;
                if !in_view(row, side, price) {
                    self.fresh[side.index()][at] = false;
                } else if !self.fresh[side.index()][at] {
                    self.fresh[side.index()][at] = true;
                    let shown = row.levels[side.index()].iter().find(|l| l.0 == price).map_or(0, |l| l.1);
                    changed += usize::from(self.resync(side, price, shown));
                }
            }
        }
        changed
    }

    /// Makes the level at `price` hold `target` lots. Returns whether anything changed.
    fn resync(&mut self, side: Side, price: Price, target: Qty) -> bool {
        let queue = self.book.orders_at(side, price);
        let held: Qty = queue.iter().map(|o| o.remaining).sum();
        if target > held {
            self.add_synthetic(side, price, target - held);
        }
        let mut surplus = held - target;
        let synthetic_first =
            queue.iter().filter(|o| is_synthetic(o)).chain(queue.iter().rev().filter(|o| !is_synthetic(o)));
        for order in synthetic_first {
            if surplus <= 0 {
                break;
            }
            let take = surplus.min(order.remaining);
            self.reduce(order.order_id, take);
            surplus -= take;
        }
        target != held
    }

    fn top(&self, side: Side) -> Vec<(Price, Qty)> {
        self.book.depth(side, 10).iter().map(|l| (l.price, l.qty)).collect()
    }
}

#[test]
fn aapl_replay_matches_lobster_reconstruction_and_priority() {
    let messages = parse_messages(&read(MESSAGES));
    let rows = parse_rows(&read(ORDERBOOK));
    assert_eq!(messages.len(), rows.len(), "one orderbook row per message");
    let prices = rows
        .iter()
        .flat_map(|r| r.levels.iter().flatten().map(|l| l.0))
        .chain(messages.iter().filter(|m| m.kind != 7).map(|m| m.price));
    let (lowest, highest) = prices.fold((Price::MAX, Price::MIN), |(lo, hi), p| (lo.min(p), hi.max(p)));

    // Row 0 is the book after message 1 (an add): take that order out of the synthetic level
    // and add it for real, behind the older liquidity.
    let first = messages[0];
    assert_eq!(first.kind, 1, "the replay expects the first message to be an add");
    let mut replay = Replay::new(&rows[0], lowest, highest);
    let stand_in = replay.target(&Message { order_id: 0, ..first });
    replay.reduce(stand_in, first.size);
    replay.apply(&first);
    assert_eq!(replay.top(Side::Sell), rows[0].levels[Side::Sell.index()]);
    assert_eq!(replay.top(Side::Buy), rows[0].levels[Side::Buy.index()]);

    // `checked`: rows compared; `checked_changes`: those after a message that changes the visible
    // book (types 1-4; a hidden execution or a halt leaves it as it was).
    let (mut checked, mut checked_changes, mut resynchronized, mut mismatches) = (0, 0, Vec::new(), Vec::new());
    for (message, row) in messages.iter().zip(&rows).skip(1) {
        replay.apply(message);
        if replay.follow_window(row) > 0 {
            resynchronized.push(message.line);
            continue;
        }
        checked += 1;
        checked_changes += usize::from(matches!(message.kind, 1..=4));
        for side in [Side::Buy, Side::Sell] {
            let (got, want) = (replay.top(side), &row.levels[side.index()]);
            if &got != want {
                mismatches
                    .push(format!("after line {} {message:?}, {side:?}: book {got:?}, LOBSTER {want:?}", message.line));
            }
        }
        if let (Some((bid, _)), Some((ask, _))) = (replay.book.best_bid(), replay.book.best_ask()) {
            assert!(bid < ask, "crossed book after line {}: {bid} >= {ask}", message.line);
        }
    }
    eprintln!(
        "LOBSTER AAPL: {checked} rows checked, {checked_changes} of them after a book-changing message; {} rows \
         resynchronized (lines {resynchronized:?}); {} executions matched their maker",
        resynchronized.len(),
        replay.executions_checked
    );
    assert!(
        mismatches.is_empty(),
        "{} of {checked} rows differ; first: {:#?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(3)]
    );
    assert!(checked_changes >= 900, "only {checked_changes} rows after a book-changing message could be checked");
    assert!(replay.executions_checked >= 90, "only {} executions checked", replay.executions_checked);
}

//! Differential property tests: thousands of random command streams run through the optimized
//! [`OrderBook`] and through the reference model (`common/reference_model.rs`, written from
//! `docs/matching.md` alone). After every command both must give the same result (the same
//! events, or the same validation error) and the same state, and the book's invariants must hold.
//!
//! Most streams use a narrow price range around a small band (orders cross often, prices fall on
//! and beyond both band edges), three accounts (self-trade prevention triggers), a small id pool
//! (duplicates, cancels of unknown ids, reuse of dead ids) and quantities around the limits;
//! cancels and amends mostly pick a live order. A few longer streams use a wide band and the
//! whole id range (see [`Profile`]). Besides the model comparison: snapshot/restore at a random
//! point changes nothing, the same stream gives byte-identical JSON events, and a coverage check
//! shows the generator reaches every rule.
//!
//! `PROPTEST_CASES` overrides the number of streams. Failures are saved (and replayed first on
//! the next run) in `crates/core/proptest-regressions/differential.txt`: commit that file.

mod common;

use std::fmt;

use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngAlgorithm};
use wintermute_core::{
    AccountId, Command, Event, InstrumentSpec, NewOrder, OrderBook, OrderError, OrderId, OrderType, Price, Qty, Side,
    StpMode, TimeInForce,
};

use common::reference_model::ReferenceBook;
use common::{
    assert_invariants, assert_same_state, assert_seq_contiguous, same_error, test_spec, total_resting_qty, MAX_PRICE,
    MAX_QTY, MIN_PRICE,
};

const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/differential.txt");

/// `default_cases` streams unless `PROPTEST_CASES` says otherwise; failures persisted in the
/// crate's `proptest-regressions/` folder.
fn config(default_cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default_cases);
    let defaults = ProptestConfig::default();
    // ChaCha (the default) is a third of the run time in debug builds; XorShift is plenty here.
    let rng_algorithm = match std::env::var_os("PROPTEST_RNG_ALGORITHM") {
        Some(_) => defaults.rng_algorithm,
        None => RngAlgorithm::XorShift,
    };
    ProptestConfig {
        cases,
        rng_algorithm,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..defaults
    }
}

// ----- generators -----

/// The two universes streams are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// `common::test_spec`: 11 prices, 3 accounts, 40 ids: constant crossing, self-trade
    /// prevention and id reuse.
    Narrow,
    /// A band of +/-(2^60 - 1) ticks (the widest a spec allows) with orders clustered near 0,
    /// near both edges and scattered everywhere in between; ids over the whole `u64` range;
    /// GTC-heavy, so books grow to 100+ orders. It exercises what a narrow band cannot: sparse,
    /// far-apart levels, prices near the limits of the arithmetic, bigger id maps.
    Wide,
}

/// The largest band `InstrumentSpec` accepts: prices within +/-(2^60 - 1) ticks.
const WIDE_EDGE: Price = (1 << 60) - 1;
const WIDE_MAX_QTY: Qty = 1_000_000;

impl Profile {
    fn spec(self) -> InstrumentSpec {
        match self {
            Profile::Narrow => test_spec(),
            Profile::Wide => InstrumentSpec::from_units("WIDE", "0.01", "1", 1, WIDE_MAX_QTY, -WIDE_EDGE, WIDE_EDGE)
                .expect("the wide instrument spec is valid"),
        }
    }

    fn price(self) -> BoxedStrategy<Price> {
        match self {
            Profile::Narrow => prop_oneof![
                8 => 98..=102i64,
                2 => MIN_PRICE..=MAX_PRICE,
                1 => prop_oneof![Just(MIN_PRICE - 1), Just(MAX_PRICE + 1), Just(i64::MIN), Just(i64::MAX)],
            ]
            .boxed(),
            // Read as "distance from the middle on the order's own side" (see `new_order`):
            // mostly passive, sometimes through the middle or through the whole book.
            Profile::Wide => prop_oneof![
                6 => 0..=8i64,
                3 => 1..=WIDE_EDGE,
                2 => WIDE_EDGE - 4..=WIDE_EDGE,
                1 => -6..=0i64,
                1 => -WIDE_EDGE..=-WIDE_EDGE + 4,
                1 => prop_oneof![Just(-WIDE_EDGE - 1), Just(WIDE_EDGE + 1), Just(i64::MIN), Just(i64::MAX)],
            ]
            .boxed(),
        }
    }

    fn qty(self) -> BoxedStrategy<Qty> {
        let max = self.max_qty();
        // Wide books only grow if big orders are rare: a market order for ~max sweeps a side.
        let big = match self {
            Profile::Narrow => 13..=max,
            Profile::Wide => 13..=200,
        };
        prop_oneof![
            12 => 1..=12i64,
            2 => big,
            1 => prop_oneof![Just(0), Just(-1), Just(i64::MIN), Just(max), Just(max + 1), Just(i64::MAX)],
        ]
        .boxed()
    }

    fn max_qty(self) -> Qty {
        match self {
            Profile::Narrow => MAX_QTY,
            Profile::Wide => WIDE_MAX_QTY,
        }
    }

    fn order_id(self) -> BoxedStrategy<OrderId> {
        match self {
            Profile::Narrow => (1..=40u64).boxed(),
            Profile::Wide => prop_oneof![
                3 => 1..=400u64,
                3 => any::<u64>(),
                1 => prop_oneof![Just(0), Just(u64::MAX), Just(u64::MAX - 1), Just(1 << 32)],
            ]
            .boxed(),
        }
    }

    fn account(self) -> BoxedStrategy<AccountId> {
        match self {
            Profile::Narrow => (1..=3u32).boxed(),
            Profile::Wide => prop_oneof![4 => 1..=3u32, 1 => Just(0), 1 => Just(u32::MAX)].boxed(),
        }
    }
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), Just(Side::Sell)]
}

fn stp() -> impl Strategy<Value = StpMode> {
    prop_oneof![
        4 => Just(StpMode::None),
        1 => Just(StpMode::CancelNewest),
        1 => Just(StpMode::CancelOldest),
        1 => Just(StpMode::CancelBoth),
        1 => Just(StpMode::Decrement),
    ]
}

/// Time in force; the wide universe rests more (GTC-heavy) so that its books grow.
fn tif(profile: Profile) -> impl Strategy<Value = TimeInForce> {
    let gtc = match profile {
        Profile::Narrow => 5,
        Profile::Wide => 16,
    };
    prop_oneof![gtc => Just(TimeInForce::Gtc), 2 => Just(TimeInForce::Ioc), 2 => Just(TimeInForce::Fok)]
}

fn display_qty() -> impl Strategy<Value = Option<Qty>> {
    prop_oneof![6 => Just(None), 3 => (1..=5i64).prop_map(Some), 1 => (-1..=0i64).prop_map(Some)]
}

fn new_order(profile: Profile) -> impl Strategy<Value = NewOrder> {
    let identity = (profile.order_id(), profile.account(), side(), stp());
    let market = match profile {
        Profile::Narrow => 0.15,
        Profile::Wide => 0.05,
    };
    let kind = (prop::bool::weighted(market), tif(profile), prop::bool::weighted(0.12), display_qty());
    (identity, kind, profile.price(), profile.qty()).prop_map(
        move |((order_id, account, side, stp), (market, tif, post_only, display_qty), price, qty)| {
            // Wide prices are distances from the middle: bids below 0, asks above.
            let price = match (profile, side) {
                (Profile::Wide, Side::Buy) => price.saturating_neg(),
                _ => price,
            };
            NewOrder {
                order_id,
                account,
                side,
                order_type: if market { OrderType::Market } else { OrderType::Limit },
                tif,
                price,
                qty,
                post_only,
                display_qty,
                stp,
            }
        },
    )
}

/// Which order a cancel or amend is about: mostly a live one (picked when the stream is
/// built), sometimes any id of the pool (often unknown).
#[derive(Debug, Clone, Copy)]
enum Target {
    Live(prop::sample::Index),
    Any(OrderId),
}

/// A command whose target may still be "some live order".
#[derive(Debug, Clone, Copy)]
enum Step {
    Command(Command),
    Cancel(Target),
    Amend(Target, Option<Price>, Option<Qty>),
    /// An amend by total: price, quantity, and how many lots the sender's view of the order's
    /// remaining is above the book's (the fills it has not seen; sometimes below: a bad view).
    AmendTotal(Target, Option<Price>, Qty, Qty),
}

fn target(profile: Profile) -> impl Strategy<Value = Target> {
    prop_oneof![
        4 => any::<prop::sample::Index>().prop_map(Target::Live),
        1 => profile.order_id().prop_map(Target::Any),
    ]
}

fn step(profile: Profile) -> impl Strategy<Value = Step> {
    // The wide universe leans on resting orders, to grow books of hundreds of orders.
    let (new, cancel, amend, total, mass) = match profile {
        Profile::Narrow => (55, 12, 14, 8, 3),
        Profile::Wide => (700, 60, 100, 50, 1),
    };
    prop_oneof![
        new => new_order(profile).prop_map(|order| Step::Command(Command::New(order))),
        cancel => target(profile).prop_map(Step::Cancel),
        amend => amend_step(profile),
        total => amend_total_step(profile),
        mass => (prop::option::of(profile.account()), prop::option::of(side()))
            .prop_map(|(account, side)| Step::Command(Command::MassCancel { account, side })),
    ]
}

/// An amend of some order: a new price, a new quantity, both, or (rarely) neither.
fn amend_step(profile: Profile) -> impl Strategy<Value = Step> {
    let price = prop::option::weighted(0.6, profile.price());
    let qty = prop::option::weighted(0.7, profile.qty());
    (target(profile), price, qty).prop_map(|(target, price, qty)| Step::Amend(target, price, qty))
}

/// An amend by total of some order: maybe a new price, a quantity, and the sender's view
/// mostly behind by none or a few fills.
fn amend_total_step(profile: Profile) -> impl Strategy<Value = Step> {
    let price = prop::option::weighted(0.3, profile.price());
    let unseen = prop_oneof![4 => Just(0i64), 6 => 1..=6i64, 1 => Just(-1i64), 1 => Just(i64::MAX / 2)];
    (target(profile), price, profile.qty(), unseen)
        .prop_map(|(target, price, qty, unseen)| Step::AmendTotal(target, price, qty, unseen))
}

/// Turns steps into plain commands, resolving "some live order" against the reference model.
fn resolve(profile: Profile, steps: Vec<Step>) -> Vec<Command> {
    let mut model = ReferenceBook::new(profile.spec());
    let mut commands = Vec::with_capacity(steps.len());
    for step in steps {
        let pick = |target| match target {
            Target::Any(order_id) => order_id,
            Target::Live(index) => {
                let live = model.snapshot().orders;
                if live.is_empty() {
                    0
                } else {
                    live[index.index(live.len())].order_id
                }
            }
        };
        let command = match step {
            Step::Command(command) => command,
            Step::Cancel(target) => Command::Cancel { order_id: pick(target) },
            Step::Amend(target, price, qty) => {
                let order_id = pick(target);
                let price = side_price(profile, &model, order_id, price);
                Command::Amend { order_id, price, qty }
            }
            Step::AmendTotal(target, price, qty, unseen) => {
                let order_id = pick(target);
                let price = side_price(profile, &model, order_id, price);
                let remaining = model.order(order_id).map_or(1, |o| o.remaining);
                Command::AmendTotal { order_id, price, qty, seen_remaining: remaining.saturating_add(unseen) }
            }
        };
        let _ = model.execute(&command);
        commands.push(command);
    }
    commands
}

/// An amend's price: wide prices are distances from the middle on the order's side (see
/// `new_order`).
fn side_price(profile: Profile, model: &ReferenceBook, order_id: OrderId, price: Option<Price>) -> Option<Price> {
    let is_bid = model.order(order_id).is_some_and(|o| o.side == Side::Buy);
    match profile {
        Profile::Wide if is_bid => price.map(Price::saturating_neg),
        _ => price,
    }
}

fn stream(profile: Profile, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Command>> {
    prop::collection::vec(step(profile), len).prop_map(move |steps| resolve(profile, steps))
}

// ----- driving the book -----

/// Runs one command through `execute` or through the dedicated method.
fn apply(book: &mut OrderBook, command: &Command, via_execute: bool, sink: &mut Vec<Event>) -> Result<(), OrderError> {
    if via_execute {
        return book.execute(command, sink);
    }
    match *command {
        Command::New(ref order) => book.submit(order, sink),
        Command::Cancel { order_id } => book.cancel(order_id, sink),
        Command::Amend { order_id, price, qty } => book.amend(order_id, price, qty, sink),
        Command::AmendTotal { order_id, price, qty, seen_remaining } => {
            book.amend_total(order_id, price, qty, seen_remaining, sink)
        }
        Command::MassCancel { account, side } => {
            book.mass_cancel(account, side, sink);
            Ok(())
        }
    }
}

/// Names the command a failed assertion is about (formatted only on failure).
struct At<'a> {
    index: usize,
    command: &'a Command,
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "after command #{} {:?}", self.index, self.command)
    }
}

/// Quantity bookkeeping of one command's events: what came in (accepted orders, amended
/// quantity) minus what left (both sides of every trade, every cancel) is what the book gained.
fn net_qty_change(events: &[Event]) -> Qty {
    events
        .iter()
        .map(|e| match *e {
            Event::Accepted { qty, .. } => qty,
            Event::Amended { old_qty, new_qty, .. } => new_qty - old_qty,
            Event::Trade { qty, .. } => -2 * qty,
            Event::Canceled { canceled_qty, .. } => -canceled_qty,
            Event::Rejected { .. } | Event::BookDelta { .. } => 0,
        })
        .sum()
}

/// Runs `commands` through the book and the model, checking everything after every command.
/// `via_execute`: drive the book through `execute` (else through `submit`, `cancel`, …);
/// `small_capacity`: start from `with_capacity(spec, 4)` so that every structure must grow.
fn run_differential(profile: Profile, commands: &[Command], via_execute: bool, small_capacity: bool) {
    let spec = profile.spec();
    let mut book =
        if small_capacity { OrderBook::with_capacity(spec.clone(), 4) } else { OrderBook::new(spec.clone()) };
    assert_eq!(book.spec(), &spec, "spec() is not the book's instrument");
    let mut model = ReferenceBook::new(spec);
    let mut events = Vec::new();
    let mut qty_before = 0;
    for (index, command) in commands.iter().enumerate() {
        let at = At { index, command };
        let seq_before = book.seq();
        events.clear();
        let got = apply(&mut book, command, via_execute, &mut events);
        match (got, model.execute(command)) {
            (Ok(()), Ok(expected)) => assert_eq!(events, expected, "events differ {at}"),
            (Err(got), Err(expected)) => {
                assert!(same_error(&got, &expected), "errors differ {at}: book {got:?}, model {expected:?}");
                assert!(events.is_empty(), "a validation error emitted events {at}: {events:?}");
            }
            (got, expected) => panic!("results differ {at}: book {got:?} with events {events:?}, model {expected:?}"),
        }
        let snapshot = book.snapshot();
        assert_same_state(&book, &snapshot, &model, &at);
        assert_invariants(&book, &snapshot, &at);
        assert_seq_contiguous(&events, seq_before, book.seq(), &at);
        let qty_after = total_resting_qty(&snapshot);
        assert_eq!(qty_after - qty_before, net_qty_change(&events), "quantity not conserved {at}: {events:?}");
        qty_before = qty_after;
        for event in &events {
            if let Event::Trade { qty, .. } = *event {
                assert!(qty > 0, "empty trade {at}: {event:?}");
            }
        }
    }
}

/// The JSON text of each command's outcome on a fresh book.
fn serialized_outcomes(commands: &[Command]) -> Vec<String> {
    let mut book = OrderBook::new(test_spec());
    let mut events = Vec::new();
    commands
        .iter()
        .map(|command| {
            events.clear();
            match book.execute(command, &mut events) {
                Ok(()) => serde_json::to_string(&events).expect("events serialize to JSON"),
                Err(err) => format!("error {}", err.reason().code()),
            }
        })
        .collect()
}

/// Splits `commands` at `split`: one book runs them all, another runs the first part, is
/// snapshotted (optionally through JSON), restored, and runs the rest. Both must agree.
fn check_restore(
    profile: Profile,
    commands: &[Command],
    split: usize,
    through_json: bool,
) -> Result<(), TestCaseError> {
    let mut uninterrupted = OrderBook::new(profile.spec());
    let mut first_part = OrderBook::new(profile.spec());
    let (mut expected, mut sink) = (Vec::new(), Vec::new());
    for command in &commands[..split] {
        let result = uninterrupted.execute(command, &mut expected).map_err(|e| e.reason());
        prop_assert_eq!(result, first_part.execute(command, &mut sink).map_err(|e| e.reason()));
    }
    let snapshot = first_part.snapshot();
    let mut restored = if through_json {
        let text = serde_json::to_string(&snapshot).expect("snapshot serializes to JSON");
        let parsed = serde_json::from_str(&text).expect("snapshot JSON parses back");
        let restored = OrderBook::restore(&parsed).expect("restore accepts a JSON round-tripped snapshot");
        let again = serde_json::to_string(&restored.snapshot()).expect("snapshot serializes to JSON");
        prop_assert_eq!(again, text, "restored book's snapshot differs from the one it came from");
        restored
    } else {
        let restored = OrderBook::restore(&snapshot).expect("restore accepts a book's own snapshot");
        prop_assert_eq!(restored.snapshot(), snapshot, "restored book's snapshot differs from the one it came from");
        restored
    };
    prop_assert_eq!(restored.seq(), first_part.seq());
    prop_assert_eq!(restored.order_count(), first_part.order_count());
    let mut continued = Vec::new();
    for (index, command) in commands.iter().enumerate().skip(split) {
        expected.clear();
        continued.clear();
        let want = uninterrupted.execute(command, &mut expected).map_err(|e| e.reason());
        let got = restored.execute(command, &mut continued).map_err(|e| e.reason());
        prop_assert_eq!(got, want, "result of command #{} {:?} differs after restore", index, command);
        prop_assert_eq!(&continued, &expected, "events of command #{} {:?} differ after restore", index, command);
    }
    prop_assert_eq!(restored.snapshot(), uninterrupted.snapshot());
    Ok(())
}

proptest! {
    #![proptest_config(config(3_000))]

    #[test]
    fn book_matches_reference_model(
        commands in stream(Profile::Narrow, 50..300),
        via_execute in any::<bool>(),
        small_capacity in any::<bool>(),
    ) {
        run_differential(Profile::Narrow, &commands, via_execute, small_capacity);
    }
}

proptest! {
    #![proptest_config(config(80))]

    #[test]
    fn wide_book_matches_reference_model(
        commands in stream(Profile::Wide, 200..1_000),
        via_execute in any::<bool>(),
        small_capacity in any::<bool>(),
    ) {
        run_differential(Profile::Wide, &commands, via_execute, small_capacity);
    }

    #[test]
    fn wide_snapshot_restore_midway_continues_identically(
        commands in stream(Profile::Wide, 200..1_000),
        split in any::<prop::sample::Index>(),
        through_json in any::<bool>(),
    ) {
        check_restore(Profile::Wide, &commands, split.index(commands.len() + 1), through_json)?;
    }
}

proptest! {
    #![proptest_config(config(300))]

    #[test]
    fn same_stream_gives_identical_serialized_events(commands in stream(Profile::Narrow, 50..300)) {
        prop_assert_eq!(serialized_outcomes(&commands), serialized_outcomes(&commands));
    }

    #[test]
    fn snapshot_restore_midway_continues_identically(
        commands in stream(Profile::Narrow, 50..300),
        split in any::<prop::sample::Index>(),
        through_json in any::<bool>(),
    ) {
        check_restore(Profile::Narrow, &commands, split.index(commands.len() + 1), through_json)?;
    }
}

/// What one command exercised, as feature names (for the coverage check below).
fn features(model: &ReferenceBook, command: &Command, result: &Result<Vec<Event>, OrderError>) -> Vec<String> {
    let mut out = Vec::new();
    let events = match result {
        Err(err) => return vec![format!("error {}", err.reason().code())],
        Ok(events) => events,
    };
    // The taker's self-trade mode: the new order's, or the amended order's.
    let taker_stp = match *command {
        Command::New(order) => Some(order.stp),
        Command::Amend { order_id, .. } | Command::AmendTotal { order_id, .. } => model.order(order_id).map(|o| o.stp),
        _ => None,
    };
    let mut makers = Vec::new();
    let mut trade_prices = Vec::new();
    for event in events {
        match *event {
            Event::Rejected { reason, .. } => {
                out.push(format!("rejected {} on {}", reason.code(), command_kind(command)))
            }
            Event::Canceled { reason, .. } => {
                out.push(format!("canceled {}", reason.code()));
                if reason == wintermute_core::CancelReason::SelfTrade {
                    out.push(format!("stp {taker_stp:?}"));
                }
            }
            Event::Trade { maker_order_id, price, .. } => {
                out.push(format!("trade on {}", command_kind(command)));
                if makers.contains(&maker_order_id) {
                    out.push("iceberg maker met again in one walk".to_owned());
                }
                makers.push(maker_order_id);
                if !trade_prices.contains(&price) {
                    trade_prices.push(price);
                }
            }
            Event::Amended { priority_kept, .. } => out.push(format!("amend priority kept={priority_kept}")),
            Event::Accepted { .. } => {
                if let Command::New(order) = command {
                    out.push(format!("accepted {:?} {:?} post_only={}", order.order_type, order.tif, order.post_only));
                    if order.display_qty.is_some() {
                        out.push("iceberg accepted".to_owned());
                    }
                    if order.order_type == OrderType::Limit && (order.price == MIN_PRICE || order.price == MAX_PRICE) {
                        out.push("limit at a band edge accepted".to_owned());
                    }
                }
            }
            Event::BookDelta { .. } => {}
        }
    }
    if trade_prices.len() >= 2 {
        out.push("trades at several levels".to_owned());
    }
    if let Command::MassCancel { account, side } = command {
        if !events.is_empty() {
            out.push(format!("mass cancel account={} side={}", account.is_some(), side.is_some()));
        }
    }
    out
}

fn command_kind(command: &Command) -> &'static str {
    match command {
        Command::New(_) => "new",
        Command::Cancel { .. } => "cancel",
        Command::Amend { .. } => "amend",
        Command::AmendTotal { .. } => "amend by total",
        Command::MassCancel { .. } => "mass cancel",
    }
}

/// The generator is only as good as what it reaches: run 200 streams through the model and
/// demand that every rule of `docs/matching.md` was exercised at least a few times.
#[test]
fn generated_streams_exercise_every_rule() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeMap;

    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..200 {
        let commands = stream(Profile::Narrow, 50..300).new_tree(&mut runner).expect("stream generation").current();
        let mut model = ReferenceBook::new(test_spec());
        for command in &commands {
            let before = model.clone();
            let result = model.execute(command);
            for feature in features(&before, command, &result) {
                *seen.entry(feature).or_default() += 1;
            }
        }
    }
    eprintln!("features exercised by 200 streams: {seen:#?}");
    let mut expected: Vec<String> = [
        "error DUPLICATE_ORDER_ID",
        "error UNKNOWN_ORDER",
        "error NON_POSITIVE_QTY",
        "error QTY_BELOW_MIN",
        "error QTY_ABOVE_MAX",
        "error PRICE_OUT_OF_BAND",
        "error INVALID_ORDER",
        "error INVALID_DISPLAY_QTY",
        "rejected POST_ONLY_WOULD_CROSS on new",
        "rejected POST_ONLY_WOULD_CROSS on amend",
        "rejected FOK_NOT_FILLABLE on new",
        "rejected FOK_SELF_TRADE on new",
        "canceled USER",
        "canceled UNFILLED",
        "canceled SELF_TRADE",
        "canceled MASS_CANCEL",
        "canceled FILLED_BEFORE_AMEND",
        "trade on new",
        "trade on amend",
        "trade on amend by total",
        "iceberg maker met again in one walk",
        "trades at several levels",
        "amend priority kept=true",
        "amend priority kept=false",
        "iceberg accepted",
        "limit at a band edge accepted",
        "accepted Limit Gtc post_only=true",
        "accepted Limit Ioc post_only=false",
        "accepted Limit Fok post_only=false",
        "accepted Market Ioc post_only=false",
        "accepted Market Fok post_only=false",
    ]
    .map(str::to_owned)
    .to_vec();
    for mode in [StpMode::CancelNewest, StpMode::CancelOldest, StpMode::CancelBoth, StpMode::Decrement] {
        expected.push(format!("stp {:?}", Some(mode)));
    }
    for (account, side) in [(false, false), (false, true), (true, false), (true, true)] {
        expected.push(format!("mass cancel account={account} side={side}"));
    }
    let rare: Vec<_> = expected.iter().filter(|f| seen.get(*f).copied().unwrap_or(0) < 5).collect();
    assert!(rare.is_empty(), "features exercised fewer than 5 times in 200 streams: {rare:?}");
}

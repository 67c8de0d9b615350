//! Deterministic, seeded benchmark workloads: command streams for an [`OrderBook`].
//!
//! Every generator drives a real [`OrderBook`] while it generates, so cancels and amends always
//! name an order that is live at that point of the stream, and "marketable" orders always meet
//! liquidity. Replaying `warmup` then `commands` on a fresh book built from `spec` reproduces
//! exactly the book the generator saw; no command of a generated stream returns an error.
//!
//! The random numbers come from the core's self-contained [`SplitMix64`]
//! (`wintermute_core::rng`), so a seed gives the same stream on every platform and every Rust
//! version.
//!
//! | generator | shape |
//! |---|---|
//! | [`exchange_core_mix`] | exchange-core's benchmark: ~1,000 resting orders on ~750 levels, then 82% move / 9% GTC / 3% IOC / 6% cancel, ~6% of commands trade |
//! | [`feed_mix`] | a full-depth (L3) feed: 50% add near the touch / 40% cancel / 10% execute (marketable IOC) |
//! | [`python_mix`] | the Python comparison: 60% add / 30% cancel / 10% cross, 1,000-order warm-up; also flat ([`python_mix_flat`]) |
//! | [`sweep_levels`] | 1,000 one-order levels, then one market order that sweeps them all |
//! | [`deep_queue`] | 100,000 orders on one level, then cancels from the middle and the back |
//! | [`big_book`] | 1,000,000 resting orders, then the feed mix on top |
//!
//! ```
//! use wintermute_bench::workload::exchange_core_mix;
//! let w = exchange_core_mix(1, 10_000);
//! let mut book = w.warmed_book();
//! let mut events = Vec::new();
//! for cmd in &w.commands {
//!     events.clear();
//!     book.execute(cmd, &mut events).unwrap();
//! }
//! ```

use std::collections::HashMap;

mod mix_stats;

pub use mix_stats::{mix_stats, MixStats};
pub use wintermute_core::rng::SplitMix64;
use wintermute_core::{Command, Event, InstrumentSpec, NewOrder, OrderBook, OrderId, Price, Qty, Side, TimeInForce};

/// The account every generated order belongs to (self-trade prevention is off everywhere).
pub const ACCOUNT: u32 = 1;
/// The mid price every generator starts from, in ticks (as the Python harness).
pub const START_MID: Price = 100_000;

/// A command stream: `warmup` builds the book (untimed), `commands` are the measured ones.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Short name, for reports.
    pub name: &'static str,
    pub spec: InstrumentSpec,
    pub warmup: Vec<Command>,
    pub commands: Vec<Command>,
    /// Most live orders at any point of the stream (pre-size the book with this).
    pub max_live_orders: usize,
    /// Most events a single command emitted (pre-size the event `Vec` with this).
    pub max_events_per_command: usize,
}

impl Workload {
    /// An empty book sized for this workload: no command of the stream grows its storage.
    pub fn empty_book(&self) -> OrderBook {
        OrderBook::with_capacity(self.spec.clone(), self.max_live_orders.max(1024))
    }

    /// A book sized for this workload with the warm-up applied.
    pub fn warmed_book(&self) -> OrderBook {
        let mut book = self.empty_book();
        let mut events = Vec::with_capacity(self.max_events_per_command);
        for cmd in &self.warmup {
            events.clear();
            book.execute(cmd, &mut events).expect("warm-up commands are valid");
        }
        book
    }
}

/// The instrument every workload uses: integer ticks and lots, a wide band.
pub fn bench_spec() -> InstrumentSpec {
    InstrumentSpec::from_units("BENCH-USD", "0.01", "1", 1, 1_000_000_000, 1, 1 << 40).expect("valid bench spec")
}

// ----- the generator's book -----------------------------------------------------------------

/// A real book plus the set of live order ids (for uniform picks), kept in sync from events.
struct Sim {
    book: OrderBook,
    events: Vec<Event>,
    live: Vec<OrderId>,
    index: HashMap<OrderId, usize>,
    next_id: OrderId,
    max_live: usize,
    max_events: usize,
    /// Commands of the current stream that emitted at least one trade.
    trading_commands: usize,
}

impl Sim {
    fn new(capacity: usize) -> Self {
        Self {
            book: OrderBook::with_capacity(bench_spec(), capacity),
            events: Vec::with_capacity(1024),
            live: Vec::with_capacity(capacity),
            index: HashMap::with_capacity(capacity),
            next_id: 1,
            max_live: 0,
            max_events: 0,
            trading_commands: 0,
        }
    }

    fn new_id(&mut self) -> OrderId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Runs `cmd` on the book, records it in `out`, and refreshes the live set.
    fn run(&mut self, cmd: Command, out: &mut Vec<Command>) {
        self.events.clear();
        self.book.execute(&cmd, &mut self.events).expect("generated commands are valid");
        out.push(cmd);
        let mut traded = false;
        for i in 0..self.events.len() {
            match self.events[i] {
                Event::Trade { maker_order_id, taker_order_id, .. } => {
                    traded = true;
                    self.sync(maker_order_id);
                    self.sync(taker_order_id);
                }
                Event::Canceled { order_id, .. } | Event::Amended { order_id, .. } => self.sync(order_id),
                Event::Accepted { order_id, .. } => self.sync(order_id),
                _ => {}
            }
        }
        self.trading_commands += traded as usize;
        self.max_live = self.max_live.max(self.live.len());
        self.max_events = self.max_events.max(self.events.len());
    }

    /// Makes the live set agree with the book about `id`.
    fn sync(&mut self, id: OrderId) {
        let in_book = self.book.order(id).is_some();
        match (in_book, self.index.get(&id).copied()) {
            (true, None) => {
                self.index.insert(id, self.live.len());
                self.live.push(id);
            }
            (false, Some(i)) => {
                self.index.remove(&id);
                let last = self.live.pop().expect("non-empty");
                if last != id {
                    self.live[i] = last;
                    self.index.insert(last, i);
                }
            }
            _ => {}
        }
    }

    fn random_live(&mut self, rng: &mut SplitMix64) -> Option<OrderId> {
        (!self.live.is_empty()).then(|| self.live[rng.below(self.live.len() as u64) as usize])
    }

    fn best(&self, side: Side) -> Option<Price> {
        match side {
            Side::Buy => self.book.best_bid().map(|(p, _)| p),
            Side::Sell => self.book.best_ask().map(|(p, _)| p),
        }
    }

    /// The mid of the book, or `fallback` if a side is empty.
    fn mid(&self, fallback: Price) -> Price {
        match (self.best(Side::Buy), self.best(Side::Sell)) {
            (Some(b), Some(a)) => (a + b) / 2,
            (Some(b), None) => b + 1,
            (None, Some(a)) => a - 1,
            (None, None) => fallback,
        }
    }

    /// `offset` ticks (>= 1) away from `mid` on `side`'s passive side, clamped so it never
    /// crosses the opposite touch.
    fn passive_price(&self, side: Side, mid: Price, offset: i64) -> Price {
        let opp = self.best(side.opposite());
        match side {
            Side::Buy => {
                let p = mid - offset;
                opp.map_or(p, |a| p.min(a - 1))
            }
            Side::Sell => {
                let p = mid + offset;
                opp.map_or(p, |b| p.max(b + 1))
            }
        }
        .max(1)
    }

    /// Size of a marketable order of the exchange-core mix hitting `touch`. Above the book's
    /// set point: the touch level's whole quantity (an IOC 0-99 lots more), so at least one
    /// maker leaves. Below it: a slice of the head order that leaves it on the book.
    fn take_size(&self, side: Side, touch: Price, above: bool, gtc: bool, rng: &mut SplitMix64) -> Qty {
        let queue = self.book.orders_at(side.opposite(), touch);
        let level: Qty = queue.iter().map(|o| o.visible).sum();
        let head = queue[0].visible;
        if above {
            level + if gtc { 0 } else { rng.range(0, 99) }
        } else if head > 1 {
            rng.range(1, head - 1)
        } else {
            1
        }
    }

    /// Visible quantity of the head order at the best level of `side`.
    fn head_visible(&self, side: Side) -> Option<Qty> {
        let price = self.best(side)?;
        Some(self.book.orders_at(side, price)[0].visible)
    }

    fn into_workload(self, name: &'static str, warmup: Vec<Command>, commands: Vec<Command>) -> Workload {
        Workload {
            name,
            spec: bench_spec(),
            warmup,
            commands,
            max_live_orders: self.max_live,
            max_events_per_command: self.max_events.max(16),
        }
    }
}

fn limit(id: OrderId, side: Side, price: Price, qty: Qty) -> Command {
    Command::New(NewOrder::limit(id, ACCOUNT, side, price, qty))
}

fn ioc(id: OrderId, side: Side, price: Price, qty: Qty) -> Command {
    Command::New(NewOrder::limit(id, ACCOUNT, side, price, qty).with_tif(TimeInForce::Ioc))
}

// ----- (a) exchange-core ------------------------------------------------------------------

/// Target book size of [`exchange_core_mix`].
pub const EXCHANGE_CORE_ORDERS: usize = 1_000;
/// Price levels per side the warm-up of [`exchange_core_mix`] fills (750 in all).
pub const EXCHANGE_CORE_DEPTH: i64 = 375;

/// The exchange-core benchmark mix (one instrument).
///
/// Warm-up: 1,000 GTC orders, half bids and half asks, one on each of the 375 levels next to the
/// mid on each side (750 levels), the other 250 on random levels among those.
///
/// Then, per command: **82% move** (amend the price of a random live order to a new price on its
/// own side, drawn from the same ~375-level band, biased towards the touch; a few re-price to
/// the opposite touch and trade), **9% GTC** limit (1 in 5 marketable at the opposite touch, the
/// rest passive), **3% IOC** (marketable limit, 0-3 ticks through the touch) and **6% cancel** of
/// a random live order.
///
/// The book is held near 1,000 orders by feedback around a set point of 1,050 live orders:
/// below it, IOCs and marketable GTCs take a slice of the touch's head order (no maker leaves)
/// and 1 move in 200 crosses; above it, they take the whole touch level (IOCs 0-99 lots more)
/// and 1 move in 25 crosses.
///
/// **Trade ratio.** With 9% adds against 6% cancels, a stationary book leaves a budget of about
/// 3 orders per 100 commands for trades to remove, and every trading command other than an IOC
/// slice removes at least one order (the taker or a maker). So "6% of commands trade" and "the
/// book stays at ~1,000" cannot both hold exactly; this mix keeps the book stationary and trades
/// on ~5.2% of commands (~5.4 trades per 100 commands). The tests print the measured mix.
pub fn exchange_core_mix(seed: u64, commands: usize) -> Workload {
    exchange_core_tuned(
        seed,
        commands,
        (EXCHANGE_CORE_CROSS_BELOW, EXCHANGE_CORE_CROSS_ABOVE, EXCHANGE_CORE_HIGH_WATER),
    )
}

/// 1 move in this many crosses while the book is at or below its target size.
const EXCHANGE_CORE_CROSS_BELOW: u64 = 200;
/// 1 move in this many crosses while the book is above its target size.
const EXCHANGE_CORE_CROSS_ABOVE: u64 = 25;
/// Book size above which the mix drains (the feedback's set point).
const EXCHANGE_CORE_HIGH_WATER: usize = 1_050;

fn exchange_core_tuned(seed: u64, commands: usize, tune: (u64, u64, usize)) -> Workload {
    let mut rng = SplitMix64::new(seed ^ 0xEC0E_EC0E);
    let mut sim = Sim::new(4 * EXCHANGE_CORE_ORDERS);
    let mut warmup = Vec::with_capacity(EXCHANGE_CORE_ORDERS);
    let mid = START_MID;
    // One order per level on 750 levels, in random order, then 250 more on random levels.
    let mut offsets: Vec<(Side, i64)> =
        (1..=EXCHANGE_CORE_DEPTH).flat_map(|d| [(Side::Buy, d), (Side::Sell, d)]).collect();
    for i in (1..offsets.len()).rev() {
        offsets.swap(i, rng.below(i as u64 + 1) as usize);
    }
    while offsets.len() < EXCHANGE_CORE_ORDERS {
        let side = if offsets.len().is_multiple_of(2) { Side::Buy } else { Side::Sell };
        offsets.push((side, rng.range(1, EXCHANGE_CORE_DEPTH)));
    }
    for (side, d) in offsets {
        let id = sim.new_id();
        let price = if side == Side::Buy { mid - d } else { mid + d };
        sim.run(limit(id, side, price, rng.range(1, 100)), &mut warmup);
    }
    sim.trading_commands = 0;

    let mut out = Vec::with_capacity(commands);
    // Distance from the mid, biased towards the touch (min of two uniforms: linear density).
    let depth = |rng: &mut SplitMix64| {
        1 + rng.below(EXCHANGE_CORE_DEPTH as u64).min(rng.below(EXCHANGE_CORE_DEPTH as u64)) as i64
    };
    for _ in 0..commands {
        let r = rng.below(100);
        let mid = sim.mid(START_MID);
        if r < 82 {
            // Move.
            let Some(id) = sim.random_live(&mut rng) else {
                let id = sim.new_id();
                let side = rng.side();
                let price = sim.passive_price(side, mid, depth(&mut rng));
                sim.run(limit(id, side, price, rng.range(1, 100)), &mut out);
                continue;
            };
            let order = sim.book.order(id).expect("live");
            let side = order.side;
            let above = sim.live.len() > tune.2;
            let cross_one_in = if above { tune.1 } else { tune.0 };
            let mut price = match (rng.below(cross_one_in) == 0, sim.best(side.opposite())) {
                // To the opposite touch: trades there, the remainder (if any) rests.
                (true, Some(touch)) => touch,
                _ => sim.passive_price(side, mid, depth(&mut rng)),
            };
            if price == order.price {
                // A move must move: step one tick away from the touch.
                price = match side {
                    Side::Buy => (price - 1).max(1),
                    Side::Sell => price + 1,
                };
            }
            sim.run(Command::Amend { order_id: id, price: Some(price), qty: None }, &mut out);
        } else if r < 91 {
            // GTC limit: 1 in 5 marketable (see the feedback above), the rest passive.
            let id = sim.new_id();
            let side = rng.side();
            let touch = sim.best(side.opposite());
            match touch {
                Some(t) if rng.below(5) == 0 => {
                    let qty = sim.take_size(side, t, sim.live.len() > tune.2, true, &mut rng);
                    sim.run(limit(id, side, t, qty), &mut out)
                }
                _ => {
                    let price = sim.passive_price(side, mid, depth(&mut rng));
                    sim.run(limit(id, side, price, rng.range(1, 100)), &mut out);
                }
            }
        } else if r < 94 {
            // IOC: marketable; sized by the book-size feedback.
            let id = sim.new_id();
            let mut side = rng.side();
            // Take from the other side when this one has nothing, or (below the set point) when
            // its head order shows a single lot and would leave the book.
            let thin = |s: Side| sim.head_visible(s.opposite()).is_none_or(|v| v <= 1 && sim.live.len() <= tune.2);
            if thin(side) && !thin(side.opposite()) || sim.best(side.opposite()).is_none() {
                side = side.opposite();
            }
            let Some(touch) = sim.best(side.opposite()) else {
                let price = sim.passive_price(side, mid, depth(&mut rng));
                sim.run(limit(id, side, price, rng.range(1, 100)), &mut out);
                continue;
            };
            let qty = sim.take_size(side, touch, sim.live.len() > tune.2, false, &mut rng);
            let price = match side {
                Side::Buy => touch + rng.range(0, 3),
                Side::Sell => (touch - rng.range(0, 3)).max(1),
            };
            sim.run(ioc(id, side, price, qty), &mut out);
        } else {
            // Cancel.
            match sim.random_live(&mut rng) {
                Some(id) => sim.run(Command::Cancel { order_id: id }, &mut out),
                None => {
                    let id = sim.new_id();
                    let side = rng.side();
                    let price = sim.passive_price(side, mid, depth(&mut rng));
                    sim.run(limit(id, side, price, rng.range(1, 100)), &mut out);
                }
            }
        }
    }
    sim.into_workload("exchange_core", warmup, out)
}

// ----- (b) feed ---------------------------------------------------------------------------

fn feed_like(name: &'static str, seed: u64, warmup_orders: usize, spread_levels: i64, commands: usize) -> Workload {
    let mut rng = SplitMix64::new(seed ^ 0xFEED_FEED);
    let mut sim = Sim::new(warmup_orders + commands / 4 + 1024);
    let mut warmup = Vec::with_capacity(warmup_orders);
    for i in 0..warmup_orders {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        let d = rng.range(1, spread_levels);
        let price = if side == Side::Buy { START_MID - d } else { START_MID + d };
        let id = sim.new_id();
        sim.run(limit(id, side, price, rng.range(1, 100)), &mut warmup);
    }
    sim.trading_commands = 0;
    let mut out = Vec::with_capacity(commands);
    for _ in 0..commands {
        let r = rng.below(100);
        if (50..90).contains(&r) && !sim.live.is_empty() {
            let id = sim.random_live(&mut rng).expect("non-empty");
            sim.run(Command::Cancel { order_id: id }, &mut out);
            continue;
        }
        let id = sim.new_id();
        let side = rng.side();
        if r >= 90 {
            // Execute: a marketable IOC at the opposite touch for the head order's size (one
            // maker leaves), or sometimes a slice of it.
            let taker_side = if sim.best(side.opposite()).is_some() { side } else { side.opposite() };
            if let Some(touch) = sim.best(taker_side.opposite()) {
                let head = sim.book.orders_at(taker_side.opposite(), touch)[0].visible;
                let qty = if rng.below(4) == 0 { rng.range(1, head) } else { head };
                sim.run(ioc(id, taker_side, touch, qty), &mut out);
                continue;
            }
        }
        // Add near the touch of its own side (geometric offset, mean ~4 ticks; may improve it).
        let own = sim.best(side);
        let mid = sim.mid(START_MID);
        let price = match own {
            Some(t) => {
                let off = rng.exp(4.0) - 1; // -1: one tick better than the touch
                let p = if side == Side::Buy { t - off } else { t + off };
                sim.passive_price(side, p, 0)
            }
            None => sim.passive_price(side, mid, 1 + rng.exp(4.0)),
        };
        sim.run(limit(id, side, price, rng.range(1, 100)), &mut out);
    }
    sim.into_workload(name, warmup, out)
}

/// A full-depth exchange feed: 1,000-order warm-up on ±500 levels, then 50% adds near the touch
/// of their side (exponential offset, mean 4 ticks, sometimes improving it), 40% cancels of a
/// random live order, 10% executions (a marketable IOC at the opposite touch for the head
/// order's visible size, 1 in 4 for a random part of it). Adds and removals balance, so the
/// book size wanders around its start.
pub fn feed_mix(seed: u64, commands: usize) -> Workload {
    feed_like("feed", seed, 1_000, 500, commands)
}

/// `n` resting orders (half bids, half asks, uniform on 10,000 levels per side), then `commands`
/// of the [`feed_mix`] on top: the cache-hostile case (1M orders: ~90 MB of book).
pub fn big_book(seed: u64, n: usize, commands: usize) -> Workload {
    feed_like("big_book", seed, n, 10_000, commands)
}

// ----- (c) python ---------------------------------------------------------------------------

/// Flat command kinds, as `python/wintermute/bench/workload.py`.
pub const FLAT_LIMIT: u8 = 0;
pub const FLAT_CANCEL: u8 = 1;
pub const FLAT_MARKET: u8 = 2;

/// `(kind, order_id, side, price, qty)`, the Python harness's five columns: kind
/// [`FLAT_LIMIT`] (a GTC limit), [`FLAT_CANCEL`] (side and price of the target, qty 0) or
/// [`FLAT_MARKET`] (an IOC market order, price 0); side 0 buy, 1 sell.
pub type FlatCommand = (u8, u64, u8, i64, i64);

/// The Python-comparison stream in flat form: `rows[..warmup]` build the book (untimed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatWorkload {
    pub warmup: usize,
    pub rows: Vec<FlatCommand>,
}

/// A flat row as a [`Command`] (account [`ACCOUNT`], no self-trade prevention).
pub fn flat_to_command(row: FlatCommand) -> Command {
    let (kind, order_id, side, price, qty) = row;
    let side = if side == 0 { Side::Buy } else { Side::Sell };
    match kind {
        FLAT_LIMIT => Command::New(NewOrder::limit(order_id, ACCOUNT, side, price, qty)),
        FLAT_CANCEL => Command::Cancel { order_id },
        FLAT_MARKET => Command::New(NewOrder::market(order_id, ACCOUNT, side, qty)),
        _ => panic!("unknown flat command kind {kind}"),
    }
}

impl FlatWorkload {
    /// The rows as five int64 columns: kind, order id, side, price, qty (the layout of
    /// `wintermute.bench.workload.Workload`).
    pub fn columns(&self) -> [Vec<i64>; 5] {
        let mut cols: [Vec<i64>; 5] = std::array::from_fn(|_| Vec::with_capacity(self.rows.len()));
        for &(kind, id, side, price, qty) in &self.rows {
            for (col, v) in cols.iter_mut().zip([i64::from(kind), id as i64, i64::from(side), price, qty]) {
                col.push(v);
            }
        }
        cols
    }

    /// As a [`Workload`] (e.g. to replay a stream the Python harness generated).
    pub fn to_workload(&self) -> Workload {
        let all: Vec<Command> = self.rows.iter().map(|&r| flat_to_command(r)).collect();
        let (warmup, commands) = all.split_at(self.warmup);
        // Replay once to learn the sizes.
        let mut sim = Sim::new(self.warmup * 2 + 1024);
        let mut sink = Vec::new();
        for &c in all.iter() {
            sim.run(c, &mut sink);
        }
        sim.into_workload("python", warmup.to_vec(), commands.to_vec())
    }
}

/// The Python-comparison mix, in flat form, with the default 1,000-order warm-up (see
/// [`python_mix_flat_warm`]).
pub fn python_mix_flat(seed: u64, commands: usize) -> FlatWorkload {
    python_mix_flat_warm(seed, commands, 1_000)
}

/// The Python-comparison mix, in flat form: the stream `python/wintermute/bench/workload.py`
/// hands every system of `wintermute bench` (through `wintermute._core.python_workload`).
/// `warmup` passive adds alternating bid/ask; then a shuffled plan of 60% **add** (a
/// passive GTC limit `1 + min(exp(mean 8), 200)` ticks off a random-walk mid on its own side,
/// never through the opposite touch, qty 1-100), 30% **cancel** of a uniformly picked live
/// order, 10% **cross** (half aggressive GTC limits 0-3 ticks through the opposite touch, half
/// market orders; qty 1-200). The mid moves -1/0/+1 tick per command and is kept inside the spread.
pub fn python_mix_flat_warm(seed: u64, commands: usize, warmup: usize) -> FlatWorkload {
    let mut rng = SplitMix64::new(seed ^ 0x9E37_0000_0000_7070);
    let mut sim = Sim::new(warmup + commands + 1024);
    let mut rows: Vec<FlatCommand> = Vec::with_capacity(warmup + commands);
    let mut sink = Vec::with_capacity(warmup + commands);
    let mut mid = START_MID;
    let side_u8 = |s: Side| s as u8;

    let add_passive = |sim: &mut Sim,
                       rng: &mut SplitMix64,
                       rows: &mut Vec<FlatCommand>,
                       sink: &mut Vec<Command>,
                       side: Side,
                       mid: Price| {
        let offset = 1 + rng.exp(8.0).min(200);
        let price = sim.passive_price(side, mid, offset);
        let qty = rng.range(1, 100);
        let id = sim.new_id();
        rows.push((FLAT_LIMIT, id, side_u8(side), price, qty));
        sim.run(limit(id, side, price, qty), sink);
    };

    for i in 0..warmup {
        let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
        add_passive(&mut sim, &mut rng, &mut rows, &mut sink, side, mid);
    }
    // Ties to even, as Python's `round`: the shares the Python tests expect.
    let n_add = (commands as f64 * 0.6).round_ties_even() as usize;
    let n_cancel = (commands as f64 * 0.3).round_ties_even() as usize;
    let mut plan: Vec<u8> = std::iter::repeat_n(0u8, n_add)
        .chain(std::iter::repeat_n(1u8, n_cancel))
        .chain(std::iter::repeat_n(2u8, commands - n_add - n_cancel))
        .collect();
    for i in (1..plan.len()).rev() {
        plan.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for step in plan {
        let r = rng.below(4);
        mid += match r {
            0 => 1,
            1 => -1,
            _ => 0,
        };
        if let Some(b) = sim.best(Side::Buy) {
            mid = mid.max(b);
        }
        if let Some(a) = sim.best(Side::Sell) {
            mid = mid.min(a);
        }
        if step == 1 && !sim.live.is_empty() {
            let id = sim.random_live(&mut rng).expect("non-empty");
            let o = sim.book.order(id).expect("live");
            rows.push((FLAT_CANCEL, id, side_u8(o.side), o.price, 0));
            sim.run(Command::Cancel { order_id: id }, &mut sink);
        } else if step == 2 && !sim.live.is_empty() {
            let mut side = rng.side();
            if sim.best(side.opposite()).is_none() {
                side = side.opposite();
            }
            let touch = sim.best(side.opposite()).expect("a live order exists on some side");
            let qty = rng.range(1, 200);
            let id = sim.new_id();
            if rng.chance(0.5) {
                let through = rng.range(0, 3);
                let price = if side == Side::Buy { touch + through } else { (touch - through).max(1) };
                rows.push((FLAT_LIMIT, id, side_u8(side), price, qty));
                sim.run(limit(id, side, price, qty), &mut sink);
            } else {
                rows.push((FLAT_MARKET, id, side_u8(side), 0, qty));
                sim.run(Command::New(NewOrder::market(id, ACCOUNT, side, qty)), &mut sink);
            }
        } else {
            let side = rng.side();
            add_passive(&mut sim, &mut rng, &mut rows, &mut sink, side, mid);
        }
    }
    FlatWorkload { warmup, rows }
}

/// The Python-comparison mix as a [`Workload`] (see [`python_mix_flat`]).
pub fn python_mix(seed: u64, commands: usize) -> Workload {
    python_mix_flat(seed, commands).to_workload()
}

// ----- (d) worst cases ----------------------------------------------------------------------

/// `n_levels` ask levels one tick apart with one order each (qty 10), then one market buy
/// for their whole quantity: one command that sweeps them all (2 events per level + 2).
pub fn sweep_levels(n_levels: usize) -> Workload {
    let warmup: Vec<Command> =
        (0..n_levels).map(|i| limit(i as u64 + 1, Side::Sell, START_MID + 1 + i as i64, 10)).collect();
    let commands = vec![Command::New(NewOrder::market(n_levels as u64 + 1, ACCOUNT, Side::Buy, 10 * n_levels as i64))];
    Workload {
        name: "sweep_levels",
        spec: bench_spec(),
        warmup,
        commands,
        max_live_orders: n_levels,
        max_events_per_command: 2 * n_levels + 2,
    }
}

/// `n` orders (ids 1..=n, qty 10) queued on one bid level, then `n / 2` cancels alternating
/// between the middle of the queue (ids n/2, n/2 - 1, ...) and its back (ids n, n - 1, ...).
pub fn deep_queue(n: usize) -> Workload {
    let n = n.max(4) as u64;
    let warmup: Vec<Command> = (1..=n).map(|id| limit(id, Side::Buy, START_MID, 10)).collect();
    let quarter = n / 4;
    let commands: Vec<Command> = (0..quarter)
        .flat_map(|i| [Command::Cancel { order_id: n / 2 - i }, Command::Cancel { order_id: n - i }])
        .collect();
    Workload {
        name: "deep_queue",
        spec: bench_spec(),
        warmup,
        commands,
        max_live_orders: n as usize,
        max_events_per_command: 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_flat_roundtrips() {
        assert_eq!(exchange_core_mix(3, 5_000).commands, exchange_core_mix(3, 5_000).commands);
        assert_ne!(exchange_core_mix(3, 5_000).commands, exchange_core_mix(4, 5_000).commands);
        let flat = python_mix_flat(3, 5_000);
        let w = flat.to_workload();
        let direct: Vec<Command> = flat.rows.iter().map(|&r| flat_to_command(r)).collect();
        assert_eq!([w.warmup.clone(), w.commands.clone()].concat(), direct);
        assert_eq!(w.commands.len(), 5_000);
        let [kind, id, side, price, qty] = flat.columns();
        assert_eq!(kind.len(), 6_000);
        let row = flat.rows[1234];
        assert_eq!(
            (kind[1234], id[1234], side[1234], price[1234], qty[1234]),
            (row.0 as i64, row.1 as i64, row.2 as i64, row.3, row.4)
        );
    }

    #[test]
    fn the_python_mix_takes_any_warmup_and_rounds_shares_like_python() {
        let flat = python_mix_flat_warm(9, 15, 0);
        assert_eq!(flat.warmup, 0);
        assert_eq!(flat.rows.len(), 15);
        let empty = python_mix_flat_warm(9, 0, 10);
        assert_eq!(empty.rows.len(), 10);
        assert!(empty.rows.iter().all(|r| r.0 == FLAT_LIMIT));
        // 15 commands: 9 adds, round(4.5) = 4 cancels (ties to even), 2 crosses.
        let cancels = python_mix_flat_warm(9, 15, 1_000).rows.iter().filter(|r| r.0 == FLAT_CANCEL).count();
        assert_eq!(cancels, 4);
    }
}

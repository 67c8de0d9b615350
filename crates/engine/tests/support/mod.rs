//! Helpers shared by the control, snapshot and load tests: instruments, 2-core-friendly
//! configs, a deterministic command mix, and a consumer that checks outputs as they arrive.
#![allow(dead_code)]

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use wintermute_core::rng::SplitMix64;
use wintermute_core::{Command, Engine, Event, InstrumentId, InstrumentSpec, NewOrder, Side, TimeInForce};
use wintermute_engine::pipeline::{Backpressure, CommandId, Gateway, Output, PipelineConfig, Subscription, Topology};
use wintermute_engine::risk::{ManualClock, RiskEngine};
use wintermute_engine::wait::WaitStrategy;

pub const SYMBOLS: [&str; 2] = ["BTC-USD", "ETH-USD"];

pub fn specs() -> Vec<InstrumentSpec> {
    SYMBOLS.iter().map(|s| InstrumentSpec::from_units(s, "0.5", "0.001", 1, 1000, 1, 1_000_000).unwrap()).collect()
}

pub fn initial_engine() -> Engine {
    let mut e = Engine::new();
    for spec in specs() {
        e.add_instrument(spec).unwrap();
    }
    e
}

/// A risk engine with the test instruments, money in 10^-6 units (as `RiskConfig::permissive`).
pub fn fresh_risk() -> RiskEngine<ManualClock> {
    let mut r = RiskEngine::new(ManualClock::new(), 6);
    for spec in specs() {
        r.add_instrument(&spec).unwrap();
    }
    r
}

pub fn park() -> WaitStrategy {
    WaitStrategy::park(Duration::from_micros(200))
}

/// A 2-core-friendly config: parking engine threads, blocking gateways.
pub fn config(topology: Topology, gateways: usize) -> PipelineConfig {
    PipelineConfig::for_cores(specs(), 2)
        .topology(topology)
        .engine_wait(park())
        .gateways(gateways)
        .gateway_ring(1024, Backpressure::Block(park()))
        .subscriptions(1, 1 << 14)
}

/// A deterministic command mix for gateway `g`: limits around a mid (many crossing, so trades
/// and positions), IOCs, cancels and amends of its own earlier orders, a few invalid ones
/// (qty 0). Order ids are unique per gateway; accounts `1 + 2g` and `2 + 2g`.
#[derive(Debug)]
pub struct CommandMix {
    g: u64,
    rng: SplitMix64,
    live: Vec<(InstrumentId, u64)>,
    next: u64,
}

impl CommandMix {
    pub fn new(g: u64) -> Self {
        Self {
            g,
            rng: SplitMix64::new(0x9E37_79B9_7F4A_7C15 ^ (g + 1).wrapping_mul(0x1234_5678_9ABC)),
            live: Vec::new(),
            next: 0,
        }
    }

    /// The next command. The live list is capped, so it stays small in long runs.
    pub fn next_command(&mut self) -> (InstrumentId, Command) {
        let rng = &mut self.rng;
        self.next += 1;
        let id = (self.g << 40) | self.next;
        let instrument = rng.below(2) as InstrumentId;
        let side = if rng.below(2) == 0 { Side::Buy } else { Side::Sell };
        let account = 1 + (self.g as u32) * 2 + rng.below(2) as u32;
        let price = 10_000 + rng.below(40) as i64 - 20;
        let roll = rng.below(100);
        if (roll < 55 || self.live.is_empty()) && self.live.len() < 4096 {
            let qty = if rng.below(200) == 0 { 0 } else { 1 + rng.below(20) as i64 };
            self.live.push((instrument, id));
            (instrument, Command::New(NewOrder::limit(id, account, side, price, qty)))
        } else if roll < 65 {
            let qty = 1 + rng.below(30) as i64;
            (instrument, Command::New(NewOrder::limit(id, account, side, price, qty).with_tif(TimeInForce::Ioc)))
        } else if roll < 90 || self.live.len() >= 4096 {
            let (inst, order_id) = self.live.swap_remove(rng.below(self.live.len() as u64) as usize);
            (inst, Command::Cancel { order_id })
        } else {
            let (inst, order_id) = self.live[rng.below(self.live.len() as u64) as usize];
            (inst, Command::Amend { order_id, price: Some(price), qty: Some(1 + rng.below(10) as i64) })
        }
    }

    /// `n` commands.
    pub fn take(&mut self, n: usize) -> Vec<(InstrumentId, Command)> {
        (0..n).map(|_| self.next_command()).collect()
    }
}

/// Everything a subscription delivered, checked as it arrives.
#[derive(Default)]
pub struct Collected {
    pub outputs: Vec<Output>,
    /// Per gateway: the next command seq expected.
    pub next: HashMap<u16, u64>,
    /// Outputs with `last == true`.
    pub lasts: u64,
}

impl Collected {
    /// Per-gateway order, contiguous outputs per command, exactly one `last` per command.
    pub fn check(&mut self, batch: &[Output], keep: bool) {
        for o in batch {
            let open = self.outputs.last().filter(|p| !p.last).map(|p| p.command);
            match open {
                Some(c) => assert_eq!(o.command, c, "outputs of one command must be contiguous"),
                None => {
                    let next = self.next.entry(o.command.gateway).or_insert(1);
                    assert_eq!(o.command.seq, *next, "gateway {} out of order or duplicated", o.command.gateway);
                }
            }
            if o.last {
                *self.next.entry(o.command.gateway).or_insert(1) += 1;
                self.lasts += 1;
            }
            if keep || !o.last {
                self.outputs.push(o.clone());
            } else {
                // Keep only the open command's outputs (enough for the contiguity check).
                self.outputs.clear();
                self.outputs.push(o.clone());
            }
        }
    }

    /// Commands completed per gateway.
    pub fn completed(&self, gateway: u16) -> u64 {
        self.next.get(&gateway).map_or(0, |n| n - 1)
    }
}

/// Drains `sub` on a thread until the pipeline has stopped publishing; `keep`: keep every
/// output (otherwise only counts and order are checked).
pub fn drain(mut sub: Subscription, keep: bool) -> thread::JoinHandle<Collected> {
    thread::spawn(move || {
        let mut c = Collected::default();
        let mut batch = Vec::new();
        loop {
            batch.clear();
            if sub.poll(&mut batch) == 0 {
                if sub.is_finished() {
                    break;
                }
                thread::sleep(Duration::from_micros(200));
                continue;
            }
            c.check(&batch, keep);
        }
        c
    })
}

/// Waits for the outputs of command `id` (the only command in flight).
pub fn answer(sub: &mut Subscription, id: CommandId) -> Vec<Output> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    loop {
        let mut batch = Vec::new();
        sub.poll(&mut batch);
        for o in batch {
            assert_eq!(o.command, id, "one command at a time");
            let last = o.last;
            out.push(o);
            if last {
                return out;
            }
        }
        assert!(Instant::now() < deadline, "no answer to {id:?}");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// Submits every command, blocking on a full ring.
pub fn produce(mut gw: Gateway, cmds: Vec<(InstrumentId, Command)>) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        for (inst, cmd) in cmds {
            gw.submit(inst, cmd).unwrap();
        }
        gw.stats().submitted
    })
}

/// The published events with their journal sequence numbers.
pub fn published_events(outputs: &[Output]) -> Vec<(u64, InstrumentId, Event)> {
    outputs.iter().filter_map(|o| o.event().map(|e| (o.journal_seq, o.instrument, *e))).collect()
}

pub fn assert_same_books(a: &Engine, b: &Engine) {
    assert_eq!(a.len(), b.len());
    for i in 0..a.len() as InstrumentId {
        assert_eq!(a.book(i).snapshot(), b.book(i).snapshot(), "book {i}");
    }
}

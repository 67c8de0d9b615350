//! [`PerEvent`]: any [`Strategy`] behind the batch boundary. It replays each batch's events
//! into the strategy one by one, through a [`Context`] that shows the state as of each event
//! (its time, each venue's last top and liveness, our position after the last fill), and
//! records what the strategy sends as commands tagged with that event.
//!
//! It is what a sink in another language does (the Python base class
//! `wintermute.mm_strategy.Strategy` keeps the same state the same way), written in Rust so
//! that the tests can compare a strategy run through the batches with the same strategy run
//! directly: the two must trade identically.

use std::convert::Infallible;

use super::{Batch, BatchSink, Command, CommandBuffer, StrategyEvent};
use crate::strategy::{Context, Stamp, Strategy};
use crate::types::{Side, Top, VenueId};

/// What the events of the batches so far say: each venue's top and liveness, our position.
#[derive(Debug, Clone, Default)]
struct View {
    /// Indexed by venue: 0 ours, `n + 1` the n-th external venue.
    venues: Vec<(Top, bool)>,
    position: i64,
}

fn slot(venue: VenueId) -> usize {
    match venue {
        VenueId::Ours => 0,
        VenueId::External(n) => n as usize + 1,
    }
}

impl View {
    fn set(&mut self, venue: VenueId, top: Top, live: bool) {
        let i = slot(venue);
        if i >= self.venues.len() {
            self.venues.resize(i + 1, (Top::default(), false));
        }
        self.venues[i] = (top, live);
    }

    fn get(&self, venue: VenueId) -> (Top, bool) {
        self.venues.get(slot(venue)).copied().unwrap_or_default()
    }
}

/// A sink that runs a Rust [`Strategy`] once per event of each batch (see the module docs).
#[derive(Debug)]
pub struct PerEvent<S> {
    strategy: S,
    view: View,
    /// Whether the driver answers cancels and amends.
    answered: bool,
}

impl<S: Strategy> PerEvent<S> {
    /// Wraps `strategy`.
    pub fn new(strategy: S) -> Self {
        PerEvent { strategy, view: View::default(), answered: false }
    }

    /// The strategy.
    pub fn strategy(&self) -> &S {
        &self.strategy
    }
}

/// The context of one replayed event.
struct Replay<'a> {
    view: &'a View,
    stamp: Stamp,
    index: usize,
    next_id: &'a mut u64,
    out: &'a mut CommandBuffer,
    answered: bool,
}

impl Replay<'_> {
    fn new_order(&mut self, venue: VenueId, side: Side, price: i64, qty: i64, ioc: bool) -> u64 {
        let order_id = *self.next_id;
        *self.next_id += 1;
        let command = if ioc {
            Command::Take { venue, side, price, qty, order_id }
        } else {
            Command::Place { venue, side, price, qty, order_id }
        };
        self.out.push(self.index, command);
        order_id
    }
}

impl Context for Replay<'_> {
    fn now_ns(&self) -> i64 {
        self.stamp.ts_ns
    }
    fn top(&self, venue: VenueId) -> Top {
        self.view.get(venue).0
    }
    fn book_live(&self, venue: VenueId) -> bool {
        self.view.get(venue).1
    }
    fn inventory(&self) -> i64 {
        self.view.position
    }
    fn place(&mut self, venue: VenueId, side: Side, price: i64, qty: i64) -> u64 {
        self.new_order(venue, side, price, qty, false)
    }
    fn take(&mut self, venue: VenueId, side: Side, price: i64, qty: i64) -> u64 {
        self.new_order(venue, side, price, qty, true)
    }
    fn amend(&mut self, venue: VenueId, order_id: u64, qty: i64) {
        self.out.push(self.index, Command::Amend { venue, order_id, qty });
    }
    fn cancel(&mut self, venue: VenueId, order_id: u64) {
        self.out.push(self.index, Command::Cancel { venue, order_id });
    }
    fn stamp(&self) -> Stamp {
        self.stamp
    }
    fn next_order_id(&self) -> Option<u64> {
        Some(*self.next_id)
    }
    fn answers_commands(&self) -> bool {
        self.answered
    }
}

impl<S: Strategy> BatchSink for PerEvent<S> {
    type Error = Infallible;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Infallible> {
        let mut next_id = batch.next_order_id.unwrap_or(0);
        for (index, (event, &stamp)) in batch.events.iter().zip(batch.stamps).enumerate() {
            match *event {
                StrategyEvent::Book { venue, top, live } => self.view.set(venue, top, live),
                StrategyEvent::Fill { position, .. } => self.view.position = position,
                _ => {}
            }
            let answered = self.answered;
            let ctx = &mut Replay { view: &self.view, stamp, index, next_id: &mut next_id, out, answered };
            let s = &mut self.strategy;
            match *event {
                StrategyEvent::Book { venue, top, .. } => s.on_book(ctx, venue, &top),
                StrategyEvent::Trade(trade) => s.on_trade(ctx, &trade),
                StrategyEvent::Fill { fill, remaining, .. } => s.on_fill(ctx, &fill, remaining),
                StrategyEvent::OrderGone { venue, order_id } => s.on_order_gone(ctx, venue, order_id),
                StrategyEvent::Timer => s.on_timer(ctx),
                StrategyEvent::Answer { venue, order_id, open_qty } => s.on_answer(ctx, venue, order_id, open_qty),
            }
        }
        Ok(())
    }

    fn fair_value(&self, now_ns: i64) -> Option<f64> {
        self.strategy.fair_value(now_ns)
    }

    fn takes_answers(&self) -> bool {
        true
    }

    fn set_answered(&mut self, answered: bool) {
        self.answered = answered;
    }
}

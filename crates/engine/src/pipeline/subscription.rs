//! Subscriptions: the rings of [`Output`]s from the matching stage to consumers.
//!
//! Every subscription receives every output, in the matching stage's order (so in each
//! gateway's submission order) — or, when configured without book deltas
//! ([`super::SubscriptionConfig::book_deltas`]), every output but the level updates: an
//! execution feed. A subscription drains in batches into a caller-owned `Vec`:
//!
//! ```no_run
//! # fn demo(mut sub: wintermute_engine::pipeline::Subscription) {
//! let mut batch = Vec::with_capacity(1024);
//! while !sub.is_finished() {
//!     batch.clear();
//!     if sub.poll(&mut batch) == 0 {
//!         std::thread::yield_now();
//!     }
//!     for output in &batch { /* ... */ }
//! }
//! # }
//! ```
//!
//! [`Subscription::read`] hands each output to a closure by reference instead, without copying
//! it out of the ring.
//!
//! The matching stage hands outputs over in batches: it writes them into the ring and makes
//! them visible with one shared-counter store after each batch of commands it took (and at
//! least every 64 outputs within a large batch). Under light load a batch is one command, so
//! nothing waits; under heavy load the subscriber reads many outputs per hand-over, from
//! cache lines the matching stage is done with. A command's outputs may be split between two
//! hand-overs; `last` marks its end either way.
//!
//! When a subscription's ring is full, the matching stage **waits** (with its wait strategy)
//! and counts a full-ring event: a slow consumer slows the pipeline down, it never loses
//! outputs. Drop a subscription you no longer read; the matching stage then skips it. A
//! subscription that is neither polled nor dropped holds the pipeline (and its shutdown) up.

use super::message::Output;
use crate::analytics::RingGauge;
use crate::spsc::{Consumer, Producer};
use crate::wait::Idle;

/// The consumer side of one output ring.
#[derive(Debug)]
pub struct Subscription {
    id: usize,
    consumer: Consumer<Output>,
}

impl Subscription {
    pub(crate) fn new(id: usize, consumer: Consumer<Output>) -> Self {
        Self { id, consumer }
    }

    /// This subscription's number (its index in the config).
    pub fn id(&self) -> usize {
        self.id
    }

    /// Appends every output available now to `out`; returns how many.
    pub fn poll(&mut self, out: &mut Vec<Output>) -> usize {
        let n = self.consumer.len();
        out.reserve(n);
        self.consumer.pop_batch(n, |o| out.push(o))
    }

    /// Appends at most `max` available outputs to `out`; returns how many.
    pub fn poll_max(&mut self, out: &mut Vec<Output>, max: usize) -> usize {
        self.consumer.pop_batch(max, |o| out.push(o))
    }

    /// Hands at most `max` available outputs to `f` by reference, in place in the ring (no
    /// copy); returns how many. The cheapest way to consume outputs one by one:
    ///
    /// ```no_run
    /// # fn demo(mut sub: wintermute_engine::pipeline::Subscription) {
    /// let mut completed = 0u64;
    /// sub.read(usize::MAX, |o| completed += u64::from(o.last));
    /// # }
    /// ```
    #[inline]
    pub fn read<F: FnMut(&Output)>(&mut self, max: usize, f: F) -> usize {
        self.consumer.read_batch(max, f)
    }

    /// Outputs waiting right now.
    pub fn len(&self) -> usize {
        self.consumer.len()
    }

    /// True when nothing is waiting right now.
    pub fn is_empty(&self) -> bool {
        self.consumer.is_empty()
    }

    /// Capacity of the ring.
    pub fn capacity(&self) -> usize {
        self.consumer.capacity()
    }

    /// True when the pipeline has stopped publishing and everything was read: nothing more
    /// will ever come.
    pub fn is_finished(&self) -> bool {
        self.consumer.is_abandoned() && self.consumer.is_empty()
    }
}

/// Most outputs the matching stage writes into a subscription ring before it hands them over,
/// even in the middle of a batch (see [`OutputPort::publish`]): large enough that the shared
/// counter moves once per many outputs, small enough that the subscriber starts reading
/// long before a large batch is done.
pub(crate) const PUBLISH_EVERY: usize = 64;

/// The matching stage's side of one output ring.
#[derive(Debug)]
pub(crate) struct OutputPort {
    producer: Producer<Output>,
    /// Index of this ring in the pipeline's ring table.
    pub(crate) ring: usize,
    /// The subscriber takes book deltas (see [`super::SubscriptionConfig::book_deltas`]).
    pub(crate) book_deltas: bool,
}

impl OutputPort {
    pub(crate) fn new(producer: Producer<Output>, ring: usize, book_deltas: bool) -> Self {
        Self { producer, ring, book_deltas }
    }

    /// Writes the output `make` builds into the ring (built in its slot, not copied there),
    /// waiting while the ring is full (unless nobody reads it any more). The subscriber sees
    /// it at the next [`OutputPort::flush`] — at the latest once [`PUBLISH_EVERY`] outputs are
    /// waiting — or before this port waits for room.
    #[inline]
    pub(crate) fn publish<F: Fn() -> Output>(&mut self, make: F, idle: &mut Idle, gauge: &mut RingGauge) {
        let mut waited = false;
        while !self.producer.push_deferred_with(&make) {
            // The subscriber can only free what it can see.
            self.producer.publish();
            if !waited {
                gauge.full();
                waited = true;
            }
            if self.producer.is_abandoned() {
                return;
            }
            idle.idle();
        }
        if waited {
            idle.reset();
        }
        if self.producer.unpublished() >= PUBLISH_EVERY {
            self.producer.publish();
        }
    }

    /// Hands every output written so far to the subscriber (one shared-counter store).
    #[inline]
    pub(crate) fn flush(&mut self) {
        self.producer.publish();
    }

    /// Samples the occupancy.
    pub(crate) fn observe(&self, gauge: &mut RingGauge) {
        gauge.observe(self.producer.len());
    }

    /// True when the subscription was dropped.
    pub(crate) fn is_abandoned(&self) -> bool {
        self.producer.is_abandoned()
    }
}

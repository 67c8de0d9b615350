//! Subscriptions: the rings of [`Output`]s from the matching stage to consumers.
//!
//! Every subscription receives every output, in the matching stage's order (so in each
//! gateway's submission order). A subscription drains in batches into a caller-owned `Vec`:
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
//! When a subscription's ring is full, the matching stage **waits** (with its wait strategy)
//! and counts a full-ring event: a slow consumer slows the pipeline down, it never loses
//! outputs. Drop a subscription you no longer read; the matching stage then skips it. A
//! subscription that is neither polled nor dropped holds the pipeline (and its shutdown) up.

use super::message::Output;
use crate::analytics::RingGauge;
use crate::spsc::{Consumer, Producer, PushError};
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

/// The matching stage's side of one output ring.
#[derive(Debug)]
pub(crate) struct OutputPort {
    producer: Producer<Output>,
    /// Index of this ring in the pipeline's ring table.
    pub(crate) ring: usize,
}

impl OutputPort {
    pub(crate) fn new(producer: Producer<Output>, ring: usize) -> Self {
        Self { producer, ring }
    }

    /// Pushes `output`, waiting while the ring is full (unless nobody reads it any more).
    #[inline]
    pub(crate) fn publish(&mut self, output: Output, idle: &mut Idle, gauge: &mut RingGauge) {
        let mut item = output;
        let mut waited = false;
        loop {
            match self.producer.push(item) {
                Ok(()) => {
                    if waited {
                        idle.reset();
                    }
                    return;
                }
                Err(PushError::Full(back)) => {
                    if !waited {
                        gauge.full();
                        waited = true;
                    }
                    if self.producer.is_abandoned() {
                        return;
                    }
                    item = back;
                    idle.idle();
                }
            }
        }
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

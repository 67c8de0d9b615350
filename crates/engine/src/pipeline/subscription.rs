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
//! outputs. A matching thread that parks on a full ring is woken by the subscriber's next
//! read that frees room (a flag the subscriber checks after each non-empty read; see
//! `RingSignal`). Drop a subscription you no longer read; the matching stage then skips it.
//! A subscription that is neither polled nor dropped holds the pipeline (and its shutdown) up.
//!
//! The other way round, a reader with nothing to read can sleep until outputs come
//! ([`Subscription::wait_for_outputs`]): it raises a flag, and the matching stage, after each
//! hand-over, checks it and unparks the reader. While the reader is reading, the matching
//! stage pays one fence per hand-over and nothing else; a lock and a wake-up only when the
//! reader sleeps.

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, Thread};
use std::time::Duration;

use super::message::Output;
use crate::analytics::RingGauge;
use crate::spsc::{Consumer, Producer};
use crate::wait::{Idle, Waker};

/// The two wake-ups of one output ring: the subscriber wakes the matching thread waiting for
/// room, and the matching thread wakes a subscriber waiting for outputs.
///
/// Room: the publisher raises `room_wanted` before each wait on the full ring and lowers it
/// once an output went in; the subscriber, after each read that freed room, checks it and
/// unparks the publisher. Outputs: the reader registers its thread and raises `reader_waiting`
/// before it checks the ring a last time and parks; the publisher, after each hand-over,
/// checks it and unparks the reader. In both, a SeqCst fence on each side, between its own
/// write (the flag; the ring's counter) and its read of the other's, guarantees that at least
/// one of them sees the other: either the waiting side finds what it waits for before it
/// parks, or the other side sees the flag.
#[derive(Debug)]
pub(crate) struct RingSignal {
    room_wanted: AtomicBool,
    publisher: Waker,
    reader_waiting: AtomicBool,
    reader: Mutex<Option<Thread>>,
    /// The publisher is gone (set before its last wake-up): a reader stops waiting.
    closed: AtomicBool,
}

impl RingSignal {
    pub(crate) fn new(publisher: Waker) -> Arc<Self> {
        Arc::new(Self {
            room_wanted: AtomicBool::new(false),
            publisher,
            reader_waiting: AtomicBool::new(false),
            reader: Mutex::new(None),
            closed: AtomicBool::new(false),
        })
    }

    /// Publisher: about to wait for room (then check the ring once more).
    #[inline]
    fn wait_for_room(&self) {
        self.room_wanted.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// Publisher: room was found.
    #[inline]
    fn room_found(&self) {
        self.room_wanted.store(false, Ordering::Relaxed);
    }

    /// Publisher: gone; wakes a sleeping reader for good.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.published();
    }

    /// Publisher: outputs were handed over.
    #[inline]
    fn published(&self) {
        fence(Ordering::SeqCst);
        if self.reader_waiting.load(Ordering::Relaxed) {
            self.wake_reader();
        }
    }

    #[cold]
    fn wake_reader(&self) {
        if let Some(reader) = self.reader.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            reader.unpark();
        }
    }

    /// Subscriber: room was freed.
    #[inline]
    fn freed(&self) {
        fence(Ordering::SeqCst);
        if self.room_wanted.load(Ordering::Relaxed) {
            self.publisher.wake();
        }
    }

    /// Subscriber: about to park until outputs come (then check the ring once more).
    fn wait_for_outputs(&self) {
        {
            let mut reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
            let me = thread::current();
            if reader.as_ref().map(Thread::id) != Some(me.id()) {
                *reader = Some(me);
            }
        }
        self.reader_waiting.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// Subscriber: done waiting.
    fn outputs_found(&self) {
        self.reader_waiting.store(false, Ordering::Relaxed);
    }
}

/// A subscription's wake-up for its reader, usable while the subscription itself is behind a
/// lock that the reader must not hold while it sleeps (see [`super::BufferedSubscription`]).
#[derive(Debug, Clone)]
pub struct OutputsSignal(Arc<RingSignal>);

impl OutputsSignal {
    /// Raises the reader's flag; then check for outputs once more and, if there are none,
    /// call [`OutputsSignal::sleep`].
    pub fn prepare(&self) {
        self.0.wait_for_outputs();
    }

    /// Parks the calling thread (the one that called [`OutputsSignal::prepare`]) for at most
    /// `timeout`, or until the matching stage hands outputs over or stops; then lowers the
    /// flag. It may return early (a spurious wake-up): check again.
    pub fn sleep(&self, timeout: Duration) {
        thread::park_timeout(timeout);
        self.0.outputs_found();
    }

    /// Lowers the flag without sleeping (outputs were found after [`OutputsSignal::prepare`]).
    pub fn cancel(&self) {
        self.0.outputs_found();
    }

    /// True once the matching stage stopped publishing into this ring: do not sleep.
    pub fn closed(&self) -> bool {
        self.0.closed.load(Ordering::Acquire)
    }
}

/// The consumer side of one output ring.
#[derive(Debug)]
pub struct Subscription {
    id: usize,
    consumer: Consumer<Output>,
    room: Arc<RingSignal>,
}

impl Subscription {
    pub(crate) fn new(id: usize, consumer: Consumer<Output>, room: Arc<RingSignal>) -> Self {
        Self { id, consumer, room }
    }

    /// Tells a publisher waiting for room that `n` outputs were taken; returns `n`.
    #[inline]
    fn taken(&self, n: usize) -> usize {
        if n > 0 {
            self.room.freed();
        }
        n
    }

    /// This subscription's number (its index in the config).
    pub fn id(&self) -> usize {
        self.id
    }

    /// Appends every output available now to `out`; returns how many.
    pub fn poll(&mut self, out: &mut Vec<Output>) -> usize {
        let n = self.consumer.len();
        out.reserve(n);
        let n = self.consumer.pop_batch(n, |o| out.push(o));
        self.taken(n)
    }

    /// Appends at most `max` available outputs to `out`; returns how many.
    pub fn poll_max(&mut self, out: &mut Vec<Output>, max: usize) -> usize {
        let n = self.consumer.pop_batch(max, |o| out.push(o));
        self.taken(n)
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
        let n = self.consumer.read_batch(max, f);
        self.taken(n)
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

    /// Waits until outputs are waiting or nothing more can come (the pipeline stopped), for
    /// at most `timeout`, sleeping (no polling): the matching stage wakes this thread when it
    /// hands outputs over. Returns true when outputs are waiting. It may return false before
    /// `timeout` passed (a spurious wake-up, or the pipeline stopped).
    pub fn wait_for_outputs(&self, timeout: Duration) -> bool {
        let signal = self.outputs_signal();
        if !self.is_empty() || self.consumer.is_abandoned() || signal.closed() {
            return !self.is_empty();
        }
        signal.prepare();
        if !self.is_empty() || self.consumer.is_abandoned() || signal.closed() {
            signal.cancel();
        } else {
            signal.sleep(timeout);
        }
        !self.is_empty()
    }

    /// This subscription's wake-up (see [`OutputsSignal`]).
    pub fn outputs_signal(&self) -> OutputsSignal {
        OutputsSignal(Arc::clone(&self.room))
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
    room: Arc<RingSignal>,
}

impl OutputPort {
    pub(crate) fn new(producer: Producer<Output>, ring: usize, book_deltas: bool, room: Arc<RingSignal>) -> Self {
        Self { producer, ring, book_deltas, room }
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
            self.hand_over();
            if !waited {
                gauge.full();
                waited = true;
            }
            if self.producer.is_abandoned() {
                self.room.room_found();
                return;
            }
            // Raised before the ring is checked again (at the top of the loop): a read that
            // frees room after that check sees it and wakes this thread.
            self.room.wait_for_room();
            if self.producer.slots() == 0 {
                idle.idle();
            }
        }
        if waited {
            self.room.room_found();
            idle.reset();
        }
        if self.producer.unpublished() >= PUBLISH_EVERY {
            self.hand_over();
        }
    }

    /// Hands every output written so far to the subscriber (one shared-counter store, and a
    /// fence to see whether the reader sleeps), when there are any.
    #[inline]
    pub(crate) fn flush(&mut self) {
        if self.producer.unpublished() > 0 {
            self.hand_over();
        }
    }

    #[inline]
    fn hand_over(&mut self) {
        self.producer.publish();
        self.room.published();
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

impl Drop for OutputPort {
    /// The pipeline stopped: a reader asleep in [`Subscription::wait_for_outputs`] wakes, and
    /// does not sleep again, to see that nothing more will come.
    fn drop(&mut self) {
        self.producer.publish();
        self.room.close();
    }
}

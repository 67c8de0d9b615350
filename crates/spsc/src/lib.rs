//! A bounded single-producer / single-consumer ring: the queue between two engine threads.
//!
//! ```
//! use wintermute_spsc::{PushError, RingBuffer};
//!
//! let (mut tx, mut rx) = RingBuffer::new(2);
//! tx.push(1).unwrap();
//! tx.push(2).unwrap();
//! // Full: the value comes back, nothing is allocated.
//! assert_eq!(tx.push(3), Err(PushError::Full(3)));
//! assert_eq!(rx.pop(), Some(1));
//! let mut seen = Vec::new();
//! rx.pop_batch(16, |v| seen.push(v));
//! assert_eq!(seen, [2]);
//! ```
//!
//! # How it works
//!
//! The ring is a power-of-two array of slots and two counters that only grow: `tail` (the next
//! slot to write, owned by the producer) and `head` (the next slot to read, owned by the
//! consumer). A counter maps to a slot with `counter & mask`; `tail - head` is the number of
//! items held. Each side writes only its own counter, with `Release`, after it has written (or
//! moved out of) the slot, and reads the other side's counter with `Acquire` — so a slot's
//! contents are always visible before the counter that hands it over.
//!
//! Two details keep the two cores from fighting over cache lines:
//! - `head` and `tail` sit on separate cache lines ([`CachePadded`]);
//! - each side keeps a *cached copy* of the other side's counter and re-reads the shared one only
//!   when the cached one says "full" (producer) or "empty" (consumer). In steady state a push
//!   touches no line the consumer writes, and vice versa.
//!
//! # Batches
//!
//! Moving items one by one costs a store to a shared counter per item, and lets the consumer
//! read a slot while the producer still writes the next one on the same cache line. Both
//! halves can batch instead:
//! - [`Producer::push_deferred`] (or [`Producer::push_deferred_with`], which builds the item
//!   in its slot) writes without handing over; [`Producer::publish`] hands over everything
//!   written so far with one store. A plain [`Producer::push`] publishes too, and so does
//!   dropping the producer. Deferred items count against the capacity: a producer that finds
//!   the ring full must publish before it waits, or the consumer can free nothing.
//! - [`Consumer::pop_batch`] moves up to `n` items out and [`Consumer::read_batch`] hands them
//!   out by reference, in place (no copy), with one store of `head` per batch.
//!
//! The slots' memory pages are touched when the ring is made, so the first lap of pushes
//! takes no page faults.
//!
//! ```
//! use wintermute_spsc::RingBuffer;
//!
//! let (mut tx, mut rx) = RingBuffer::new(8);
//! tx.push_deferred(1).unwrap();
//! assert!(tx.push_deferred_with(|| 2));
//! assert_eq!(rx.len(), 0); // written, not handed over
//! tx.publish();
//! let mut sum = 0;
//! rx.read_batch(8, |v| sum += v);
//! assert_eq!(sum, 3);
//! ```
//!
//! [`RingBuffer::new`] hands out exactly one [`Producer`] and one [`Consumer`]; neither is
//! `Clone`, and both need `&mut self` to move items, so the type system enforces "single
//! producer, single consumer". Both are `Send` when `T: Send` (move each to its thread).
//!
//! Items still in the ring when both halves are dropped are dropped with the ring.
//!
//! The ring is the workspace's main `unsafe` code, so it is a crate of its own with two
//! small dependencies (`crossbeam-utils` for cache-line padding, `thiserror`): every block says why it is sound,
//! and the tests run under Miri and under ThreadSanitizer in CI (`scripts/sanitize
//! [miri|tsan]`, nightly toolchain; Miri without isolation, as proptest reads the working
//! directory) without building the rest of the engine. `wintermute_engine::spsc` is this
//! crate.

#![allow(unsafe_code)]
#![warn(missing_debug_implementations)]

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crossbeam_utils::CachePadded;

/// Writes one byte of every memory page the slots span, so that the OS maps them now rather
/// than on the first lap of pushes (a page fault costs microseconds on the hot path).
fn touch_pages<T>(slots: &[UnsafeCell<MaybeUninit<T>>]) {
    const PAGE: usize = 4096;
    let bytes = std::mem::size_of_val(slots);
    let base = slots.as_ptr().cast::<u8>().cast_mut();
    // SAFETY: (each write) the offset is below `bytes`, so the byte is inside the slot array,
    // which nothing else has seen yet and which is `UnsafeCell<MaybeUninit<T>>`: writing any
    // byte through a pointer derived from it is allowed and claims nothing about a `T`.
    // Volatile, so that the writes are not folded into a zeroed (lazily mapped) allocation.
    let touch = |off: usize| unsafe { base.add(off).write_volatile(0) };
    let mut off = 0;
    while off < bytes {
        touch(off);
        off += PAGE;
    }
    // The last page too: the array need not start on a page boundary.
    if bytes > 0 {
        touch(bytes - 1);
    }
}

/// Why a push failed. The item is handed back, so a full ring never loses or allocates.
#[derive(Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PushError<T> {
    /// The ring held `capacity` items.
    #[error("ring buffer is full")]
    Full(T),
}

impl<T> PushError<T> {
    /// The item that could not be pushed.
    pub fn into_inner(self) -> T {
        match self {
            PushError::Full(v) => v,
        }
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Full(..)")
    }
}

/// The state both halves share.
struct Shared<T> {
    /// Next slot to read; written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// Next slot to write; written only by the producer.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    mask: usize,
}

// SAFETY: a `Shared<T>` moves `T` values from one thread to another, so `T: Send` is needed
// and enough: a slot is accessed by exactly one side at a time (the producer for slots in
// `[tail, head + capacity)`, the consumer for `[head, tail)`), and the hand-over is ordered by
// the Release store / Acquire load of `head` and `tail`. No `&T` is ever shared between
// threads, so `T: Sync` is not needed.
// (`Send` is automatic: every field is `Send` when `T: Send`.)
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    #[inline]
    fn slot(&self, counter: usize) -> *mut MaybeUninit<T> {
        self.slots[counter & self.mask].get()
    }
}

/// How many items ahead of the one being taken [`Consumer::pop_batch`] asks the CPU to fetch:
/// items the producer wrote are in its core's cache, and the transfer takes longer than the
/// work on one item.
const PREFETCH_AHEAD: usize = 2;

/// Asks the CPU to bring the cache lines of `*item` closer (a hint: it reads nothing, faults on
/// nothing, and is a no-op on targets without the instruction).
#[inline(always)]
fn prefetch<T>(item: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let first = item.cast::<i8>();
        let last = first.wrapping_add(std::mem::size_of::<T>().saturating_sub(1));
        // SAFETY: a prefetch is a hint that never dereferences its address (no fault, no
        // read the program can observe); SSE is part of the x86_64 baseline.
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(first);
            _mm_prefetch::<_MM_HINT_T0>(last);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = item;
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // `&mut self`: both halves are gone, so the published counters are final.
        let head = *self.head.get_mut();
        let tail = *self.tail.get_mut();
        let mut i = head;
        while i != tail {
            let slot = self.slots[i & self.mask].get_mut();
            // SAFETY: slots in `[head, tail)` were written by a push and not yet moved out by
            // a pop; each is dropped exactly once here, and nothing can touch them afterwards.
            unsafe { slot.assume_init_drop() };
            i = i.wrapping_add(1);
        }
    }
}

/// Creates rings. See the module docs.
#[derive(Debug)]
pub struct RingBuffer<T>(std::marker::PhantomData<T>);

impl<T> RingBuffer<T> {
    /// A ring holding up to `capacity` items, rounded up to a power of two (at least 1).
    ///
    /// # Panics
    /// If the rounded capacity does not fit in `usize`.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(capacity: usize) -> (Producer<T>, Consumer<T>) {
        let capacity = capacity.max(1).checked_next_power_of_two().expect("ring capacity overflows usize");
        let slots: Box<[UnsafeCell<MaybeUninit<T>>]> =
            (0..capacity).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect();
        touch_pages(&slots);
        let shared = Arc::new(Shared {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            mask: capacity - 1,
        });
        (
            Producer { shared: Arc::clone(&shared), tail: 0, published: 0, cached_head: 0 },
            Consumer { shared, head: 0, cached_tail: 0 },
        )
    }
}

/// The writing half of a ring.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// Our own counter: the next slot to write (the shared one equals `published`).
    tail: usize,
    /// The last `tail` stored to the shared counter (`tail` minus the deferred items).
    published: usize,
    /// Last value of the consumer's `head` we read.
    cached_head: usize,
}

impl<T> Drop for Producer<T> {
    /// Publishes what [`Producer::push_deferred`] wrote, so that nothing written is lost: the
    /// consumer reads it, or the ring drops it.
    fn drop(&mut self) {
        self.publish();
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer").field("capacity", &self.capacity()).field("len", &self.len()).finish()
    }
}

impl<T> Producer<T> {
    /// Appends `value` and hands it (with any item written by [`Producer::push_deferred`]
    /// before it) over to the consumer, or hands it back in [`PushError::Full`] when the ring
    /// is full.
    #[inline]
    pub fn push(&mut self, value: T) -> Result<(), PushError<T>> {
        self.push_deferred(value)?;
        // Always non-empty here: `value` itself is unpublished.
        self.publish();
        Ok(())
    }

    /// Appends `value` **without handing it over yet**: the consumer sees it (and everything
    /// written before it) at the next [`Producer::publish`], [`Producer::push`], or when the
    /// producer is dropped. Hands `value` back in [`PushError::Full`] when the ring is full —
    /// counting the items written but not yet published, which the consumer cannot free:
    /// publish before waiting for room.
    ///
    /// Writing a batch and publishing it once costs one store to the shared `tail` per batch
    /// instead of one per item, and lets the consumer read lines the producer is done with.
    #[inline]
    pub fn push_deferred(&mut self, value: T) -> Result<(), PushError<T>> {
        if self.tail.wrapping_sub(self.cached_head) == self.capacity() {
            self.cached_head = self.shared.head.load(Ordering::Acquire);
            if self.tail.wrapping_sub(self.cached_head) == self.capacity() {
                return Err(PushError::Full(value));
            }
        }
        // SAFETY: as in `push`: `tail - head < capacity`, so the slot at `tail` is free (the
        // consumer moved its previous value out before its Release store of `head`, which we
        // loaded with Acquire), and the consumer will not read it before we publish a `tail`
        // past it — with the Release store in `publish`, after this write.
        unsafe { (*self.shared.slot(self.tail)).write(value) };
        self.tail = self.tail.wrapping_add(1);
        Ok(())
    }

    /// [`Producer::push_deferred`] of the value `make` returns, built straight into its slot
    /// (no copy through the stack, once inlined). Returns false, without calling `make`, when
    /// the ring is full.
    #[inline]
    pub fn push_deferred_with<F: FnOnce() -> T>(&mut self, make: F) -> bool {
        if self.tail.wrapping_sub(self.cached_head) == self.capacity() {
            self.cached_head = self.shared.head.load(Ordering::Acquire);
            if self.tail.wrapping_sub(self.cached_head) == self.capacity() {
                return false;
            }
        }
        // SAFETY: as in `push_deferred`: the slot at `tail` is free and invisible to the
        // consumer until a later `publish`. If `make` panics, nothing was written and `tail`
        // has not moved.
        unsafe { (*self.shared.slot(self.tail)).write(make()) };
        self.tail = self.tail.wrapping_add(1);
        true
    }

    /// Hands every item written by [`Producer::push_deferred`] over to the consumer (one
    /// Release store; nothing when there is nothing new).
    #[inline]
    pub fn publish(&mut self) {
        if self.unpublished() > 0 {
            self.published = self.tail;
            self.shared.tail.store(self.tail, Ordering::Release);
        }
    }

    /// Items written by [`Producer::push_deferred`] that the consumer cannot see yet.
    #[inline]
    pub fn unpublished(&self) -> usize {
        self.tail.wrapping_sub(self.published)
    }

    /// Free slots right now (the consumer may free more at any moment).
    #[inline]
    pub fn slots(&self) -> usize {
        self.capacity() - self.len()
    }

    /// True when a push would fail right now.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.slots() == 0
    }

    /// Items in the ring right now (the consumer may take some at any moment).
    #[inline]
    pub fn len(&self) -> usize {
        self.tail.wrapping_sub(self.shared.head.load(Ordering::Acquire))
    }

    /// True when the ring holds nothing right now.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Most items the ring can hold (a power of two).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }

    /// True when the consumer has been dropped: nobody will read what is pushed.
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.shared) == 1
    }
}

/// The reading half of a ring.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// Our own counter (the shared one always equals it after a pop returns).
    head: usize,
    /// Last value of the producer's `tail` we read.
    cached_tail: usize,
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer").field("capacity", &self.capacity()).field("len", &self.len()).finish()
    }
}

/// Publishes the consumer's `head` when dropped, so a panicking closure in
/// [`Consumer::pop_batch`] never leaves moved-out slots counted as full.
struct PublishHead<'a, T> {
    consumer: &'a mut Consumer<T>,
}

impl<T> Drop for PublishHead<'_, T> {
    fn drop(&mut self) {
        self.consumer.shared.head.store(self.consumer.head, Ordering::Release);
    }
}

impl<T> Consumer<T> {
    /// Items readable now, up to `want`: the shared `tail` is re-read only when the cached
    /// copy shows fewer than `want`.
    #[inline]
    fn available(&mut self, want: usize) -> usize {
        if self.cached_tail.wrapping_sub(self.head) < want {
            self.cached_tail = self.shared.tail.load(Ordering::Acquire);
        }
        self.cached_tail.wrapping_sub(self.head)
    }

    /// Moves the value at `head` out. Caller guarantees `head` is in `[head, cached_tail)` and
    /// publishes `head` afterwards.
    #[inline]
    fn take(&mut self) -> T {
        // SAFETY: the caller checked `head < cached_tail`, a value of the producer's `tail`
        // loaded with Acquire: the producer wrote this slot before its Release store of that
        // tail, so the value is initialized and visible. It is moved out exactly once: `head`
        // advances right after, and the producer will not reuse the slot until it sees the new
        // `head`.
        let value = unsafe { (*self.shared.slot(self.head)).assume_init_read() };
        self.head = self.head.wrapping_add(1);
        value
    }

    /// Takes the oldest item, or `None` when the ring is empty.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.available(1) == 0 {
            return None;
        }
        let value = self.take();
        self.shared.head.store(self.head, Ordering::Release);
        Some(value)
    }

    /// The oldest item without taking it.
    #[inline]
    pub fn peek(&mut self) -> Option<&T> {
        if self.available(1) == 0 {
            return None;
        }
        // SAFETY: as in `take`, the slot at `head` is initialized and visible; the producer
        // cannot overwrite it while we hold `&mut self` (it stays behind `head`, which we do
        // not advance), so a shared borrow tied to `&mut self` is sound.
        Some(unsafe { (*self.shared.slot(self.head)).assume_init_ref() })
    }

    /// Takes up to `max` items in order, handing each to `f`; returns how many. The shared
    /// counters are read once and written once per batch, however many items move.
    #[inline]
    pub fn pop_batch<F: FnMut(T)>(&mut self, max: usize, mut f: F) -> usize {
        let n = self.available(max).min(max);
        if n == 0 {
            return 0;
        }
        let guard = PublishHead { consumer: self };
        for i in 0..n {
            if i + PREFETCH_AHEAD < n {
                let consumer = &*guard.consumer;
                prefetch(consumer.shared.slot(consumer.head.wrapping_add(PREFETCH_AHEAD)));
            }
            let value = guard.consumer.take();
            f(value);
        }
        drop(guard);
        n
    }

    /// Hands up to `max` items in order to `f` **by reference, in place in the ring** (no
    /// copy out), then drops each; returns how many. Like [`Consumer::pop_batch`], the shared
    /// counters are read once and written once per batch. The cheapest way to look at large
    /// items one by one.
    #[inline]
    pub fn read_batch<F: FnMut(&T)>(&mut self, max: usize, mut f: F) -> usize {
        /// Drops the item it points to when it goes out of scope (also while unwinding).
        struct DropInPlace<T>(*mut T);
        impl<T> Drop for DropInPlace<T> {
            fn drop(&mut self) {
                // SAFETY: built below from an initialized slot that this consumer owns until
                // `head` is published (after this drop); it is dropped exactly once, here.
                unsafe { std::ptr::drop_in_place(self.0) };
            }
        }
        let n = self.available(max).min(max);
        if n == 0 {
            return 0;
        }
        let guard = PublishHead { consumer: self };
        for _ in 0..n {
            let consumer = &mut *guard.consumer;
            // `MaybeUninit<T>` has the layout of `T`.
            let item = DropInPlace(consumer.shared.slot(consumer.head).cast::<T>());
            // Counted as taken before `f` runs: if `f` panics, `item` is dropped while unwinding
            // and the guard publishes `head` past it, so it is neither read again nor leaked.
            consumer.head = consumer.head.wrapping_add(1);
            // SAFETY: `head < cached_tail` (checked by `available`, a tail loaded with Acquire
            // after the producer wrote this slot), so the slot is initialized and visible. The
            // producer will not touch it until the guard publishes the new `head`, after
            // `item` has dropped it; the shared borrow ends before that drop.
            f(unsafe { &*item.0 });
            drop(item);
        }
        drop(guard);
        n
    }

    /// Takes everything the ring holds right now, handing each item to `f`; returns how many.
    pub fn drain<F: FnMut(T)>(&mut self, f: F) -> usize {
        self.pop_batch(usize::MAX, f)
    }

    /// Fills the front of `out` with the oldest items (overwriting what was there); returns
    /// how many were written.
    pub fn pop_into(&mut self, out: &mut [T]) -> usize {
        let mut slots = out.iter_mut();
        self.pop_batch(slots.len(), |v| {
            if let Some(slot) = slots.next() {
                *slot = v;
            }
        })
    }

    /// Items in the ring right now (the producer may add some at any moment).
    #[inline]
    pub fn len(&self) -> usize {
        self.shared.tail.load(Ordering::Acquire).wrapping_sub(self.head)
    }

    /// True when the ring holds nothing right now.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Most items the ring can hold (a power of two).
    #[inline]
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }

    /// True when the producer has been dropped: once empty, the ring stays empty.
    pub fn is_abandoned(&self) -> bool {
        Arc::strong_count(&self.shared) == 1
    }
}

#[cfg(test)]
mod tests;

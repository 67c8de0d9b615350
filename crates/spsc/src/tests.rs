use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use proptest::prelude::*;

use super::*;

/// Counts how many values were dropped, to prove every item is dropped exactly once.
#[derive(Debug)]
struct DropCounter {
    id: usize,
    drops: Arc<AtomicUsize>,
}

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn capacity_rounds_up_to_a_power_of_two() {
    for (asked, got) in [(0, 1), (1, 1), (2, 2), (3, 4), (5, 8), (1000, 1024), (1024, 1024)] {
        let (tx, rx) = RingBuffer::<u8>::new(asked);
        assert_eq!((tx.capacity(), rx.capacity()), (got, got), "asked {asked}");
    }
}

#[test]
fn push_until_full_then_pop_in_order() {
    let (mut tx, mut rx) = RingBuffer::new(4);
    assert!(rx.is_empty() && tx.is_empty());
    for i in 0..4 {
        assert_eq!(tx.push(i), Ok(()));
    }
    assert!(tx.is_full());
    assert_eq!(tx.push(99), Err(PushError::Full(99)));
    assert_eq!(tx.push(98).unwrap_err().into_inner(), 98);
    assert_eq!((tx.len(), rx.len(), tx.slots()), (4, 4, 0));
    assert_eq!(rx.peek(), Some(&0));
    for i in 0..4 {
        assert_eq!(rx.pop(), Some(i));
    }
    assert_eq!(rx.pop(), None);
    assert_eq!(rx.peek(), None);
    assert_eq!(tx.slots(), 4);
}

#[test]
fn counters_wrap_around_many_times() {
    let (mut tx, mut rx) = RingBuffer::new(2);
    for i in 0..1000u32 {
        tx.push(i).unwrap();
        if i % 2 == 1 {
            assert_eq!(rx.pop(), Some(i - 1));
            assert_eq!(rx.pop(), Some(i));
        }
    }
    assert!(rx.is_empty());
}

#[test]
fn pop_batch_respects_max_and_order() {
    let (mut tx, mut rx) = RingBuffer::new(8);
    for i in 0..6 {
        tx.push(i).unwrap();
    }
    let mut got = Vec::new();
    assert_eq!(rx.pop_batch(4, |v| got.push(v)), 4);
    assert_eq!(got, [0, 1, 2, 3]);
    assert_eq!(tx.slots(), 6, "a batch frees its slots for the producer");
    let mut out = [0; 8];
    assert_eq!(rx.pop_into(&mut out), 2);
    assert_eq!(out[..2], [4, 5]);
    assert_eq!(rx.drain(|_| {}), 0);
}

#[test]
fn pop_batch_survives_a_panicking_closure() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut tx, mut rx) = RingBuffer::new(4);
    for id in 0..4 {
        tx.push(DropCounter { id, drops: Arc::clone(&drops) }).unwrap();
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rx.pop_batch(4, |v| {
            if v.id == 1 {
                panic!("consumer bug");
            }
        })
    }));
    assert!(r.is_err());
    // Items 0 and 1 were handed out (and dropped); 2 and 3 are still in the ring.
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(rx.pop().map(|v| v.id), Some(2));
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn deferred_pushes_are_invisible_until_published() {
    let (mut tx, mut rx) = RingBuffer::new(4);
    tx.push_deferred(1).unwrap();
    tx.push_deferred(2).unwrap();
    assert_eq!((tx.unpublished(), tx.len(), rx.len()), (2, 2, 0));
    assert_eq!(rx.pop(), None, "not handed over yet");
    tx.publish();
    assert_eq!((tx.unpublished(), rx.len()), (0, 2));
    tx.push_deferred(3).unwrap();
    // A plain push publishes what was deferred before it, in order.
    tx.push(4).unwrap();
    assert_eq!(tx.push_deferred(5), Err(PushError::Full(5)), "deferred items count against capacity");
    let mut got = Vec::new();
    rx.pop_batch(8, |v| got.push(v));
    assert_eq!(got, [1, 2, 3, 4]);
    tx.push_deferred(6).unwrap();
    drop(tx);
    // Dropping the producer publishes.
    assert_eq!(rx.pop(), Some(6));
}

#[test]
fn deferred_items_of_a_dropped_producer_are_dropped_with_the_ring() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut tx, rx) = RingBuffer::new(4);
    for id in 0..3 {
        tx.push_deferred(DropCounter { id, drops: Arc::clone(&drops) }).unwrap();
    }
    drop(tx);
    assert_eq!(rx.len(), 3);
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
}

#[test]
fn read_batch_hands_references_in_order_and_drops_each_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut tx, mut rx) = RingBuffer::new(8);
    for id in 0..6 {
        tx.push(DropCounter { id, drops: Arc::clone(&drops) }).unwrap();
    }
    let mut seen = Vec::new();
    assert_eq!(rx.read_batch(4, |v| seen.push(v.id)), 4);
    assert_eq!(seen, [0, 1, 2, 3]);
    assert_eq!(drops.load(Ordering::SeqCst), 4, "read items are dropped in place");
    assert_eq!(tx.slots(), 6, "a read batch frees its slots for the producer");
    assert_eq!(rx.read_batch(8, |v| seen.push(v.id)), 2);
    assert_eq!(rx.read_batch(8, |_| unreachable!()), 0);
    assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
    assert_eq!(drops.load(Ordering::SeqCst), 6);
}

#[test]
fn read_batch_survives_a_panicking_closure() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (mut tx, mut rx) = RingBuffer::new(4);
    for id in 0..4 {
        tx.push(DropCounter { id, drops: Arc::clone(&drops) }).unwrap();
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rx.read_batch(4, |v| {
            if v.id == 1 {
                panic!("consumer bug");
            }
        })
    }));
    assert!(r.is_err());
    // Items 0 and 1 were read (and dropped, 1 while unwinding); 2 and 3 are still in the ring.
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.pop().map(|v| v.id), Some(2));
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

/// Deferred pushes published in batches, read by reference on another thread.
#[test]
fn two_threads_deferred_batches_and_reads_by_reference() {
    let count: u64 = if cfg!(miri) { 2_000 } else { 1_000_000 };
    let (mut tx, mut rx) = RingBuffer::new(64);
    let producer = thread::spawn(move || {
        let mut i = 0;
        while i < count {
            match tx.push_deferred(i) {
                Ok(()) => {
                    i += 1;
                    if i % 7 == 0 {
                        tx.publish();
                    }
                }
                Err(PushError::Full(_)) => {
                    tx.publish();
                    thread::yield_now();
                }
            }
        }
        // Dropping `tx` publishes the rest.
    });
    let mut expected = 0u64;
    while expected < count {
        let n = rx.read_batch(32, |&v| {
            assert_eq!(v, expected, "out of order or duplicated");
            expected += 1;
        });
        if n == 0 {
            thread::yield_now();
        }
    }
    producer.join().expect("producer panicked");
    assert_eq!(rx.pop(), None, "nothing extra arrives");
}

#[test]
fn remaining_items_are_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let (mut tx, mut rx) = RingBuffer::new(8);
        for id in 0..20 {
            // A refused item comes back inside the error and is dropped with it.
            let _ = tx.push(DropCounter { id, drops: Arc::clone(&drops) });
            if id % 3 == 0 {
                drop(rx.pop());
            }
        }
        // 7 popped and dropped; the refused ones were dropped too; the rest is held.
        let held = rx.len();
        let refused = 20 - 7 - held;
        assert_eq!(drops.load(Ordering::SeqCst), 7 + refused);
        drop(tx);
        assert!(rx.is_abandoned());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 20);
}

#[test]
fn abandonment_is_visible_to_both_halves() {
    let (tx, rx) = RingBuffer::<u8>::new(1);
    assert!(!tx.is_abandoned() && !rx.is_abandoned());
    drop(rx);
    assert!(tx.is_abandoned());
}

#[test]
fn halves_are_send_when_items_are() {
    fn send<T: Send>() {}
    send::<Producer<String>>();
    send::<Consumer<String>>();
}

/// Producer and consumer on two threads; every item must arrive exactly once and in order,
/// whatever the interleaving (the ring is small so it is often full and often empty).
#[test]
fn two_threads_deliver_every_item_once_in_order() {
    let count: u64 = if cfg!(miri) { 2_000 } else { 1_000_000 };
    let (mut tx, mut rx) = RingBuffer::new(64);
    let producer = thread::spawn(move || {
        let mut i = 0;
        while i < count {
            match tx.push(i) {
                Ok(()) => i += 1,
                Err(PushError::Full(_)) => thread::yield_now(),
            }
        }
    });
    let mut expected = 0u64;
    let mut sum = 0u64;
    while expected < count {
        let n = rx.pop_batch(32, |v| {
            assert_eq!(v, expected, "out of order or duplicated");
            expected += 1;
            sum = sum.wrapping_add(v);
        });
        if n == 0 {
            thread::yield_now();
        }
    }
    producer.join().expect("producer panicked");
    assert_eq!(rx.pop(), None, "nothing extra arrives");
    assert_eq!(sum, count * (count - 1) / 2);
}

/// Heap-owning items across threads: under Miri this checks there are no leaks, double frees
/// or data races on the slots.
#[test]
fn two_threads_with_owned_items_and_early_drop() {
    let drops = Arc::new(AtomicUsize::new(0));
    let total = if cfg!(miri) { 200 } else { 20_000 };
    let (mut tx, mut rx) = RingBuffer::new(16);
    let d = Arc::clone(&drops);
    let producer = thread::spawn(move || {
        for id in 0..total {
            let mut item = DropCounter { id, drops: Arc::clone(&d) };
            loop {
                match tx.push(item) {
                    Ok(()) => break,
                    Err(e) => {
                        item = e.into_inner();
                        thread::yield_now();
                    }
                }
            }
        }
    });
    // Read all but the last few, let the producer finish, then drop the consumer with those
    // still inside: the ring must drop them.
    let left_inside = 8;
    let mut next = 0;
    while next < total - left_inside {
        match rx.pop() {
            Some(v) => {
                assert_eq!(v.id, next);
                next += 1;
            }
            None => thread::yield_now(),
        }
    }
    producer.join().expect("producer panicked");
    assert!(rx.is_abandoned());
    assert_eq!(rx.len(), left_inside);
    assert_eq!(drops.load(Ordering::SeqCst), total - left_inside);
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), total);
}

#[derive(Debug, Clone)]
enum Op {
    Push(u16),
    Pop,
    Batch(usize),
    Peek,
    Deferred(u16),
    Publish,
    Read(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u16>().prop_map(Op::Push),
        3 => Just(Op::Pop),
        1 => (0usize..6).prop_map(Op::Batch),
        1 => Just(Op::Peek),
        2 => any::<u16>().prop_map(Op::Deferred),
        1 => Just(Op::Publish),
        1 => (0usize..6).prop_map(Op::Read),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 4 } else { 256 }, ..ProptestConfig::default() })]

    /// Single-threaded, the ring is a bounded `VecDeque`.
    #[test]
    fn behaves_like_a_bounded_vecdeque(cap in 1usize..9, ops in proptest::collection::vec(op(), 0..200)) {
        let (mut tx, mut rx) = RingBuffer::new(cap);
        let cap = tx.capacity();
        // `model` holds what the consumer can see; `deferred` what was written after it.
        let mut model = VecDeque::new();
        let mut deferred = VecDeque::new();
        for op in ops {
            match op {
                Op::Push(v) => {
                    let r = tx.push(v);
                    if model.len() + deferred.len() == cap {
                        prop_assert_eq!(r, Err(PushError::Full(v)));
                    } else {
                        prop_assert_eq!(r, Ok(()));
                        model.extend(deferred.drain(..));
                        model.push_back(v);
                    }
                }
                Op::Deferred(v) => {
                    let r = tx.push_deferred(v);
                    if model.len() + deferred.len() == cap {
                        prop_assert_eq!(r, Err(PushError::Full(v)));
                    } else {
                        prop_assert_eq!(r, Ok(()));
                        deferred.push_back(v);
                    }
                }
                Op::Publish => {
                    tx.publish();
                    model.extend(deferred.drain(..));
                }
                Op::Read(max) => {
                    let mut got = Vec::new();
                    let n = rx.read_batch(max, |v| got.push(*v));
                    let want: Vec<u16> = (0..max.min(model.len())).filter_map(|_| model.pop_front()).collect();
                    prop_assert_eq!(n, want.len());
                    prop_assert_eq!(got, want);
                }
                Op::Pop => prop_assert_eq!(rx.pop(), model.pop_front()),
                Op::Batch(max) => {
                    let mut got = Vec::new();
                    let n = rx.pop_batch(max, |v| got.push(v));
                    let want: Vec<u16> = (0..max.min(model.len())).filter_map(|_| model.pop_front()).collect();
                    prop_assert_eq!(n, want.len());
                    prop_assert_eq!(got, want);
                }
                Op::Peek => prop_assert_eq!(rx.peek().copied(), model.front().copied()),
            }
            prop_assert_eq!(tx.len(), model.len() + deferred.len());
            prop_assert_eq!(tx.unpublished(), deferred.len());
            prop_assert_eq!(rx.len(), model.len());
            prop_assert_eq!(rx.is_empty(), model.is_empty());
            prop_assert_eq!(tx.is_full(), model.len() + deferred.len() == cap);
        }
    }
}

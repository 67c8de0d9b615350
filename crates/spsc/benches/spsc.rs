//! The SPSC ring against rival bounded queues: one producer thread, one consumer thread,
//! `ITEMS` u64 values through a queue of `CAPACITY` slots. Each side yields when the queue is
//! full/empty (this runs on shared 2-core machines: nobody busy-spins forever).
//!
//! ```text
//! cargo bench -p wintermute-spsc --bench spsc
//! ```

use std::hint::black_box;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use wintermute_spsc::RingBuffer;

const ITEMS: u64 = 200_000;
const CAPACITY: usize = 1024;

fn ring(batch: bool) -> u64 {
    let (mut tx, mut rx) = RingBuffer::new(CAPACITY);
    let producer = thread::spawn(move || {
        for i in 0..ITEMS {
            let mut v = i;
            while let Err(e) = tx.push(v) {
                v = e.into_inner();
                thread::yield_now();
            }
        }
    });
    let (mut got, mut sum) = (0, 0u64);
    while got < ITEMS {
        let n = if batch {
            rx.pop_batch(256, |v| sum = sum.wrapping_add(v)) as u64
        } else {
            match rx.pop() {
                Some(v) => {
                    sum = sum.wrapping_add(v);
                    1
                }
                None => 0,
            }
        };
        if n == 0 {
            thread::yield_now();
        }
        got += n;
    }
    producer.join().expect("producer");
    sum
}

fn array_queue() -> u64 {
    let q = Arc::new(ArrayQueue::new(CAPACITY));
    let tx = Arc::clone(&q);
    let producer = thread::spawn(move || {
        for i in 0..ITEMS {
            let mut v = i;
            while let Err(back) = tx.push(v) {
                v = back;
                thread::yield_now();
            }
        }
    });
    let (mut got, mut sum) = (0, 0u64);
    while got < ITEMS {
        match q.pop() {
            Some(v) => {
                sum = sum.wrapping_add(v);
                got += 1;
            }
            None => thread::yield_now(),
        }
    }
    producer.join().expect("producer");
    sum
}

fn std_sync_channel() -> u64 {
    let (tx, rx) = sync_channel(CAPACITY);
    let producer = thread::spawn(move || {
        for i in 0..ITEMS {
            tx.send(i).expect("receiver alive");
        }
    });
    let sum = rx.iter().fold(0u64, u64::wrapping_add);
    producer.join().expect("producer");
    sum
}

fn queues(c: &mut Criterion) {
    let mut g = c.benchmark_group("spsc_2_threads");
    g.throughput(Throughput::Elements(ITEMS));
    g.sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    g.bench_function("wintermute_ring_pop", |b| b.iter(|| black_box(ring(false))));
    g.bench_function("wintermute_ring_pop_batch", |b| b.iter(|| black_box(ring(true))));
    g.bench_function("crossbeam_array_queue", |b| b.iter(|| black_box(array_queue())));
    g.bench_function("std_sync_channel", |b| b.iter(|| black_box(std_sync_channel())));
    g.finish();
}

criterion_group!(benches, queues);
criterion_main!(benches);

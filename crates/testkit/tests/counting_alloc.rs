//! The counting allocator counts what the armed scope allocates and nothing else.

use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn counts_this_threads_allocations_only_while_armed() {
    assert_eq!(alloc::count(|| {}), 0);
    let n = alloc::count(|| drop(std::hint::black_box(Vec::<u64>::with_capacity(8))));
    assert_eq!(n, 1);
    assert_eq!(alloc::bytes(), 64);
    let mut v: Vec<u8> = Vec::with_capacity(4);
    assert_eq!(alloc::count(|| v.extend_from_slice(&[1, 2, 3, 4, 5])), 1, "a growth is a reallocation");
    // Another thread's allocations do not count on a thread-armed counter...
    let other = std::thread::spawn(|| alloc::count(|| {}));
    assert_eq!(other.join().unwrap(), 0);
    alloc::reset();
    alloc::arm_thread();
    std::thread::spawn(|| drop(std::hint::black_box(vec![0u8; 32]))).join().unwrap();
    alloc::disarm_thread();
    let thread_only = alloc::allocations();
    // ...but do on a process-armed one.
    alloc::reset();
    alloc::arm_process();
    std::thread::spawn(|| drop(std::hint::black_box(vec![0u8; 32]))).join().unwrap();
    alloc::disarm_process();
    assert!(alloc::allocations() > thread_only, "{} vs {thread_only}", alloc::allocations());
}

//! Test-only helpers shared by the workspace's crates (a dev-dependency, never published).
//!
//! # The counting allocator
//! The no-allocation tests install [`CountingAlloc`] as the global allocator of their test
//! binary (each file under `tests/` is its own binary, so one file's counter sees only that
//! file's allocations):
//!
//! ```ignore
//! use wintermute_testkit::alloc::{self, CountingAlloc};
//!
//! #[global_allocator]
//! static GLOBAL: CountingAlloc = CountingAlloc;
//!
//! #[test]
//! fn the_hot_path_does_not_allocate() {
//!     let mut v = Vec::with_capacity(16);
//!     assert_eq!(alloc::count(|| v.push(1)), 0);
//! }
//! ```
//!
//! It forwards every call unchanged to the system allocator and counts allocations (and
//! reallocations, and their bytes) only while **armed**:
//!
//! * per thread ([`alloc::count`], [`alloc::arm_thread`]): only what the arming thread
//!   allocates counts, so the test harness's own threads (output capture, timers) never do —
//!   the right scope for code that runs on the test's thread;
//! * for the whole process ([`alloc::arm_process`]): every thread counts — for code that runs
//!   on threads of its own (the engine's pipeline).
//!
//! # A private certificate authority (feature `tls`)
//! [`tls::test_pki`] makes an authority and a server certificate it signed for 127.0.0.1, for
//! the tests of clients over TLS.
#![warn(missing_docs)]

#[cfg(feature = "tls")]
pub mod tls;

pub mod alloc {
    //! The counting global allocator (see the crate docs).

    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// A global allocator that forwards to [`System`] and counts while armed.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct CountingAlloc;

    static PROCESS_ARMED: AtomicBool = AtomicBool::new(false);
    static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
    static BYTES: AtomicU64 = AtomicU64::new(0);

    thread_local! {
        static THREAD_ARMED: Cell<bool> = const { Cell::new(false) };
    }

    /// Whether an allocation now counts (false while this thread's locals are torn down).
    #[inline]
    fn armed() -> bool {
        PROCESS_ARMED.load(Ordering::Relaxed) || THREAD_ARMED.try_with(Cell::get).unwrap_or(false)
    }

    #[inline]
    fn record(bytes: usize) {
        if armed() {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }

    // SAFETY: every call is forwarded unchanged to `System`; the counters are atomics and a
    // const-initialised thread-local `Cell`, none of which allocates.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for CountingAlloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: the caller's layout is passed on unchanged.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            record(layout.size());
            // SAFETY: the caller's layout is passed on unchanged.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            record(new_size);
            // SAFETY: the caller's pointer, layout and size are passed on unchanged.
            unsafe { System.realloc(ptr, layout, new_size) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller's pointer and layout are passed on unchanged.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    /// Sets the counters to zero.
    pub fn reset() {
        ALLOCATIONS.store(0, Ordering::SeqCst);
        BYTES.store(0, Ordering::SeqCst);
    }

    /// Allocations (and reallocations) counted since the last [`reset`].
    pub fn allocations() -> u64 {
        ALLOCATIONS.load(Ordering::SeqCst)
    }

    /// Bytes those allocations asked for.
    pub fn bytes() -> u64 {
        BYTES.load(Ordering::SeqCst)
    }

    /// Counts this thread's allocations from now on.
    pub fn arm_thread() {
        THREAD_ARMED.with(|a| a.set(true));
    }

    /// Stops counting this thread's allocations.
    pub fn disarm_thread() {
        THREAD_ARMED.with(|a| a.set(false));
    }

    /// Counts every thread's allocations from now on.
    pub fn arm_process() {
        PROCESS_ARMED.store(true, Ordering::SeqCst);
    }

    /// Stops counting every thread's allocations (threads armed on their own still count).
    pub fn disarm_process() {
        PROCESS_ARMED.store(false, Ordering::SeqCst);
    }

    /// The allocations this thread makes while `f` runs (the counters are reset first).
    pub fn count(f: impl FnOnce()) -> u64 {
        reset();
        arm_thread();
        f();
        disarm_thread();
        allocations()
    }
}

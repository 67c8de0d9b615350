//! Proves that the book's hot path does not touch the heap: after warm-up (book pre-sized with
//! `OrderBook::with_capacity`, event `Vec` reused), running the benchmark mixes performs zero
//! allocations. The counting global allocator of `wintermute-testkit` wraps `System` and counts
//! only the allocations of the test's own thread while it is armed.

use wintermute_bench::workload::{self, Workload};
use wintermute_core::{Command, Event, NewOrder, OrderBook, Side};
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocation count of a run of `w`'s commands on `book`, and the first command (index) that
/// allocated, if any.
fn count_allocs(w: &Workload, book: &mut OrderBook, events: &mut Vec<Event>) -> (u64, u64, Option<usize>) {
    let mut first = None;
    alloc::reset();
    alloc::arm_thread();
    for (i, cmd) in w.commands.iter().enumerate() {
        events.clear();
        let before = alloc::allocations();
        let r = book.execute(cmd, events);
        if first.is_none() && alloc::allocations() != before {
            first = Some(i);
        }
        if r.is_err() {
            alloc::disarm_thread();
            panic!("{}: command {i} failed: {r:?}", w.name);
        }
    }
    alloc::disarm_thread();
    (alloc::allocations(), alloc::bytes(), first)
}

#[test]
fn no_allocation_per_command_after_warm_up() {
    const N: usize = 200_000;
    let workloads = [workload::exchange_core_mix(42, N), workload::feed_mix(42, N), workload::python_mix(42, N)];
    let mut report = Vec::new();
    for w in &workloads {
        // Pre-sized book and event buffer; the warm-up (which places the ladder's window, the
        // book's one lazy allocation) runs unmeasured.
        let mut book = w.warmed_book();
        let mut events: Vec<Event> = Vec::with_capacity(w.max_events_per_command);
        let (allocs, bytes, first) = count_allocs(w, &mut book, &mut events);
        report.push(format!(
            "{}: {} commands (max {} live orders), sized book: {allocs} allocations ({bytes} bytes), first at {first:?}",
            w.name,
            w.commands.len(),
            w.max_live_orders
        ));
        assert_eq!(allocs, 0, "{}: {allocs} allocations ({bytes} bytes), first at command {first:?}", w.name);
    }

    // Informational: the default-sized book (`OrderBook::new`, 1,024 orders) on the same
    // streams, to show where an undersized book grows (slab Vec doubling, id-map rehash).
    for w in &workloads {
        let mut book = OrderBook::new(w.spec.clone());
        let mut events: Vec<Event> = Vec::with_capacity(w.max_events_per_command);
        for cmd in &w.warmup {
            events.clear();
            book.execute(cmd, &mut events).unwrap();
        }
        let (allocs, bytes, first) = count_allocs(w, &mut book, &mut events);
        report.push(format!(
            "{}: OrderBook::new (1,024): {allocs} allocations ({bytes} bytes), first at {first:?}",
            w.name
        ));
    }
    // Informational: a GTC far from the ladder's dense window (65,536 ticks around the first
    // price) goes to the ladder's ordered map, which allocates a B-tree node.
    {
        let w = &workloads[0];
        let mut book = w.warmed_book();
        let mut events: Vec<Event> = Vec::with_capacity(64);
        let far = Command::New(NewOrder::limit(u64::MAX - 1, 1, Side::Sell, workload::START_MID + 40_000, 1));
        let near = Command::New(NewOrder::limit(u64::MAX - 2, 1, Side::Sell, workload::START_MID + 400, 1));
        for (what, cmd) in [("near (in window)", near), ("far (outside window)", far)] {
            let n = alloc::count(|| {
                book.execute(&cmd, &mut events).unwrap();
            });
            report.push(format!("one GTC {what}: {n} allocations"));
            events.clear();
        }
    }
    for line in report {
        println!("{line}");
    }
}

//! `TickBook` updates inside its windows, window moves included, do not allocate.
//!
//! A counting global allocator (this file is its own test binary, so it counts only this test)
//! measures a stream of updates around a drifting mid: sets, deletes (of the best too), best
//! reads, and the window moves the drift causes once the levels that leave a window have been
//! seen in its ordered map before (warm-up). The batch API is measured the same way.

use wintermute_feeds::book::Side;
use wintermute_feeds::tick_book::{SIDE_ASK, SIDE_BID};
use wintermute_feeds::TickBook;
use wintermute_testkit::alloc::{count, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Updates within 200 ticks of a mid that drifts up then down by 300 ticks, one in four a
/// delete, a best delete every 16 updates. On a 1,024-tick window the bids' best leaves the
/// central part, so the bid window moves (both ways); levels span 200 ticks, so none leaves it.
fn ops() -> Vec<(Side, i64, i64)> {
    let mut out = Vec::new();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut mid = 100_000i64;
    for i in 0..60_000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if i.is_multiple_of(100) {
            mid += if i < 30_000 { 1 } else { -1 };
        }
        let off = (x % 200) as i64;
        let qty = if x & 3 == 0 { 0 } else { (x >> 8) as i64 % 1_000 + 1 };
        if x & 1 << 20 == 0 {
            out.push((Side::Buy, mid - 1 - off, qty));
        } else {
            out.push((Side::Sell, mid + 1 + off, qty));
        }
    }
    out
}

fn run(book: &mut TickBook, ops: &[(Side, i64, i64)]) -> i64 {
    let mut sum = 0i64;
    for (i, &(side, price, qty)) in ops.iter().enumerate() {
        book.set(side, price, qty).expect("valid update");
        if i.is_multiple_of(16) {
            if let Some((p, _)) = book.best_bid() {
                book.set(Side::Buy, p, 0).expect("delete best");
            }
        }
        sum = sum.wrapping_add(book.best_bid().map_or(0, |b| b.0)).wrapping_add(book.best_ask().map_or(0, |a| a.0));
    }
    sum
}

/// One test function: the parts run in order on one thread (the counter counts only the thread
/// that armed it).
#[test]
fn updates_and_batches_do_not_allocate() {
    updates_do_not_allocate_after_warm_up();
    batch_does_not_allocate();
}

fn updates_do_not_allocate_after_warm_up() {
    let ops = ops();
    let mut book = TickBook::with_window(1_024).expect("window");
    let first = run(&mut book, &ops);
    book.clear();
    // The windows are allocated once; only a level outside a window takes a map node, and no
    // level of this stream is ever more than 200 ticks from the best: nothing may allocate.
    let mut second = 0;
    let n = count(|| second = run(&mut book, &ops));
    assert_eq!(first, second, "same stream, same bests");
    assert_eq!(n, 0, "allocations in {} updates", ops.len());
}

fn batch_does_not_allocate() {
    let ops = ops();
    let sides: Vec<u8> = ops.iter().map(|o| if o.0 == Side::Buy { SIDE_BID } else { SIDE_ASK }).collect();
    let prices: Vec<i64> = ops.iter().map(|o| o.1).collect();
    let qtys: Vec<i64> = ops.iter().map(|o| o.2).collect();
    let (mut bids, mut asks) = (vec![0; ops.len()], vec![0; ops.len()]);
    let mut book = TickBook::new();
    let n = count(|| book.apply_batch(&sides, &prices, &qtys, &mut bids, &mut asks).expect("batch"));
    assert_eq!(n, 0);
    assert_eq!(book.best_bid().map(|b| b.0), Some(bids[ops.len() - 1]));
}

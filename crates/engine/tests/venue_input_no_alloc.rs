//! The venue's order input checks (`wintermute_engine::venue_input`) accept an order's plain
//! quantity and price without allocating: only a refusal (its message) allocates.

use std::hint::black_box;

use wintermute_engine::venue_input::{EntryInstrument, Field};
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn an_accepted_quantity_and_price_allocate_nothing() {
    let btc = EntryInstrument::new("BTC-USD", ["0.01", "0.001", "0.001", "100", "1", "1000000"]).unwrap();
    let orders = [("0.5", "100.25"), (" 1.250 ", "60000.01"), ("1.5e0", "1E+3"), ("12.345", "999999.99")];
    let mut sum = 0i64;
    let allocations = alloc::count(|| {
        for _ in 0..1000 {
            for (qty, price) in orders {
                sum += black_box(btc.units_of(Field::Qty, black_box(qty))).unwrap();
                sum += black_box(btc.units_of(Field::Price, black_box(price))).unwrap();
            }
        }
    });
    assert_eq!(allocations, 0);
    assert_eq!(sum, 1000 * (500 + 10_025 + 1_250 + 6_000_001 + 1_500 + 100_000 + 12_345 + 99_999_999));
    // The counter counts: a refusal's message is allocated.
    assert!(alloc::count(|| drop(black_box(btc.units_of(Field::Price, "100.001")))) > 0);
}

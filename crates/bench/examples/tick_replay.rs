//! Level updates through the feeds' integer L2 book (`TickBook`), timed: a seeded stream of
//! absolute level updates around a random-walk mid (90% near the touch, 10% far), applied with
//! the best bid and ask read after each one (`wintermute_bench::tick_replay`).
//!
//! ```text
//! cargo run --release -p wintermute-bench --example tick_replay -- [UPDATES] [REPEAT] [WINDOW]
//! ```
//! Deterministic (same stream every run), so `valgrind --tool=cachegrind` gives stable
//! instruction counts on a busy machine.

use wintermute_bench::tick_replay::replay_ticks;
use wintermute_core::rng::SplitMix64;
use wintermute_feeds::TickBook;

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let (n, repeat, window) = (
        args.first().copied().unwrap_or(1_000_000),
        args.get(1).copied().unwrap_or(5),
        args.get(2).copied().unwrap_or(4096),
    );
    let mut rng = SplitMix64::new(42);
    let mut mid: i64 = 1_000_000;
    let (mut sides, mut prices, mut qtys) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        mid += rng.range(-1, 1);
        let side = (rng.next_u64() & 1) as u8;
        let offset = if rng.chance(0.9) { 1 + rng.below(20) as i64 } else { 100 + rng.below(20_000) as i64 };
        sides.push(side);
        prices.push(if side == 0 { mid - offset } else { mid + offset });
        qtys.push(if rng.chance(0.3) { 0 } else { rng.range(1, 1_000) });
    }
    let mut book = TickBook::with_window(window).expect("a valid window");
    let r = replay_ticks(&mut book, &sides, &prices, &qtys, repeat).expect("a valid stream");
    println!(
        "tick_replay: {} updates in {:.3} s = {:.1} M updates/s (checksum {})",
        r.updates,
        r.seconds,
        r.updates as f64 / r.seconds / 1e6,
        r.checksum
    );
}

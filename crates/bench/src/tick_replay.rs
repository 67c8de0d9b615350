//! Level updates through a [`TickBook`] in a Rust loop, timed: the "native" row of
//! `wintermute bench feeds`, which the bindings' `tick_book_replay` calls with the GIL released.
//!
//! Each update is one `set`, followed by reading the best bid and ask (what a consumer of the
//! book does per update); the sum of the best prices comes back as a checksum, so the reads
//! cannot be optimized away.
//!
//! ```
//! use wintermute_bench::tick_replay::replay_ticks;
//! use wintermute_feeds::TickBook;
//!
//! let mut book = TickBook::with_window(64).unwrap();
//! let (sides, prices, qtys) = ([0u8, 1, 0], [100i64, 102, 100], [5i64, 7, 0]);
//! let r = replay_ticks(&mut book, &sides, &prices, &qtys, 2).unwrap();
//! assert_eq!(r.updates, 6);
//! // Best prices after each update: (100, 0), (100, 102), (0, 102); twice.
//! assert_eq!(r.checksum, 2 * (100 + 202 + 102));
//! ```

use std::time::Instant;

use wintermute_feeds::book::Side;
use wintermute_feeds::tick_book::{side_of, BatchError};
use wintermute_feeds::TickBook;

/// What one replay measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TickReplay {
    /// Updates applied over all passes.
    pub updates: usize,
    /// Wall-clock seconds of the timed passes.
    pub seconds: f64,
    /// Sum of the best bid and best ask prices (0 for an empty side) after every update.
    pub checksum: i64,
}

/// Applies the updates (`sides` 0 = bid / 1 = ask, prices in ticks, absolute quantities in lots)
/// to `book` `repeat` times, clearing it before each pass. The whole batch is checked first
/// (through [`TickBook::apply_batch`]): on an error nothing is timed and the error comes back.
pub fn replay_ticks(
    book: &mut TickBook,
    sides: &[u8],
    prices: &[i64],
    qtys: &[i64],
    repeat: usize,
) -> Result<TickReplay, BatchError> {
    let n = sides.len();
    let (mut bids, mut asks) = (vec![0i64; n], vec![0i64; n]);
    book.apply_batch(sides, prices, qtys, &mut bids, &mut asks)?;
    let ops: Vec<(Side, i64, i64)> = sides
        .iter()
        .zip(prices)
        .zip(qtys)
        .map(|((&s, &p), &q)| (side_of(s).expect("apply_batch checked the sides"), p, q))
        .collect();
    let mut checksum = 0i64;
    let start = Instant::now();
    for _ in 0..repeat {
        book.clear();
        for &(side, price, qty) in &ops {
            let _ = book.set(side, price, qty);
            let bid = book.best_bid().map_or(0, |b| b.0);
            let ask = book.best_ask().map_or(0, |a| a.0);
            checksum = checksum.wrapping_add(bid).wrapping_add(ask);
        }
    }
    Ok(TickReplay { updates: n * repeat, seconds: start.elapsed().as_secs_f64(), checksum })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_batch_is_refused_before_anything_runs() {
        let mut book = TickBook::with_window(64).unwrap();
        let err = replay_ticks(&mut book, &[0, 2], &[100, 101], &[1, 1], 3).unwrap_err();
        assert!(matches!(err, BatchError::Side { .. }), "{err}");
        assert_eq!(book.len(Side::Buy) + book.len(Side::Sell), 0);
        let err = replay_ticks(&mut book, &[0], &[100, 101], &[1], 1).unwrap_err();
        assert!(matches!(err, BatchError::Lengths { .. }), "{err}");
    }

    #[test]
    fn every_pass_starts_from_an_empty_book() {
        let mut book = TickBook::with_window(64).unwrap();
        let one = replay_ticks(&mut book, &[0, 1], &[100, 101], &[1, 1], 1).unwrap();
        let three = replay_ticks(&mut book, &[0, 1], &[100, 101], &[1, 1], 3).unwrap();
        assert_eq!(one.checksum, 100 + 201);
        assert_eq!(three.checksum, 3 * one.checksum);
        assert_eq!(book.best_bid(), Some((100, 1)));
    }
}

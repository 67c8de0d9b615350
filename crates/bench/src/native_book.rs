//! An order book driven by a Rust loop, timed: the "native" row of `wintermute bench` (no Python
//! per command), which the bindings' `Engine.run_native` calls with the GIL released.
//!
//! Events are counted ([`CountingSink`]), not kept. With `timed`, the clock is also read around
//! every command, and the latencies come back sorted.
//!
//! ```
//! use wintermute_bench::native_book::{decode_commands, run_commands};
//! use wintermute_bench::workload::feed_mix;
//! use wintermute_core::records::encode_command;
//!
//! let w = feed_mix(1, 1_000);
//! let bytes: Vec<u8> = w.commands.iter().flat_map(encode_command).collect();
//! let commands = decode_commands(&bytes).unwrap();
//! let mut book = w.warmed_book();
//! let run = run_commands(&mut book, &commands, true);
//! assert_eq!(run.ops, 1_000);
//! assert_eq!(run.latencies_ns.len(), 1_000);
//! assert!(run.events >= 1_000);
//! ```

use std::time::Instant;

use wintermute_core::records::{decode_command, COMMAND_SIZE};
use wintermute_core::{Command, CountingSink, OrderBook, OrderError};

/// What one native run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeRun {
    /// Commands run.
    pub ops: usize,
    /// Wall-clock seconds of the whole loop.
    pub seconds: f64,
    /// Events the book emitted.
    pub events: u64,
    /// Trades among them.
    pub trades: u64,
    /// Each command's latency in ns, sorted (empty unless the run was timed).
    pub latencies_ns: Vec<u64>,
}

/// Why command records could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// The bytes are not a whole number of records.
    #[error("commands: bytes={bytes} is not a whole number of {COMMAND_SIZE}-byte records")]
    Length { bytes: usize },
    /// A record holds an invalid command.
    #[error("command record index={index}: {source}")]
    Command {
        index: usize,
        #[source]
        source: OrderError,
    },
}

/// Decodes 48-byte command records (`wintermute_core::records`) into commands.
pub fn decode_commands(bytes: &[u8]) -> Result<Vec<Command>, RecordsError> {
    if !bytes.len().is_multiple_of(COMMAND_SIZE) {
        return Err(RecordsError::Length { bytes: bytes.len() });
    }
    bytes
        .chunks_exact(COMMAND_SIZE)
        .enumerate()
        .map(|(index, c)| {
            decode_command(c.try_into().expect("chunks_exact yields whole records"))
                .map_err(|source| RecordsError::Command { index, source })
        })
        .collect()
}

/// Runs `commands` on `book` in a loop; a command the book refuses counts as run (its
/// rejection is not an event). With `timed`, also times each command.
pub fn run_commands(book: &mut OrderBook, commands: &[Command], timed: bool) -> NativeRun {
    let mut sink = CountingSink::default();
    let mut latencies_ns = Vec::new();
    let start = Instant::now();
    if timed {
        latencies_ns.reserve(commands.len());
        for c in commands {
            let t = Instant::now();
            let _ = book.execute(c, &mut sink);
            latencies_ns.push(t.elapsed().as_nanos() as u64);
        }
        latencies_ns.sort_unstable();
    } else {
        for c in commands {
            let _ = book.execute(c, &mut sink);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    NativeRun { ops: commands.len(), seconds, events: sink.events, trades: sink.trades, latencies_ns }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{exchange_core_mix, python_mix};
    use wintermute_core::records::encode_command;
    use wintermute_core::Event;

    #[test]
    fn a_native_run_counts_the_same_events_as_the_book_emits() {
        let w = exchange_core_mix(7, 5_000);
        let mut expected = Vec::new();
        let mut reference = w.warmed_book();
        for c in &w.commands {
            reference.execute(c, &mut expected).unwrap();
        }
        let trades = expected.iter().filter(|e| matches!(e, Event::Trade { .. })).count() as u64;
        let mut book = w.warmed_book();
        let run = run_commands(&mut book, &w.commands, false);
        assert_eq!((run.ops, run.events, run.trades), (5_000, expected.len() as u64, trades));
        assert!(run.latencies_ns.is_empty(), "untimed runs keep no latencies");
        assert_eq!(book.order_count(), reference.order_count());
    }

    #[test]
    fn timed_runs_return_one_sorted_latency_per_command() {
        let w = python_mix(3, 2_000);
        let run = run_commands(&mut w.warmed_book(), &w.commands, true);
        assert_eq!(run.latencies_ns.len(), 2_000);
        assert!(run.latencies_ns.windows(2).all(|p| p[0] <= p[1]));
    }

    #[test]
    fn records_round_trip_and_bad_records_are_named() {
        let w = python_mix(3, 100);
        let bytes: Vec<u8> = w.commands.iter().flat_map(encode_command).collect();
        assert_eq!(decode_commands(&bytes).unwrap(), w.commands);
        let err = decode_commands(&bytes[..COMMAND_SIZE + 1]).unwrap_err();
        assert!(matches!(err, RecordsError::Length { bytes: 49 }), "{err}");
        let mut bad = bytes[..2 * COMMAND_SIZE].to_vec();
        bad[COMMAND_SIZE + 36] = 0xFF; // the second record's kind byte (offset 36)
        let err = decode_commands(&bad).unwrap_err();
        assert!(matches!(err, RecordsError::Command { index: 1, .. }), "{err}");
    }
}

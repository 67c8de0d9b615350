//! The workloads by name, as 48-byte command records: what `wintermute._core.generate_workload`
//! hands Python (the batch and native rows of `wintermute bench`, the demo).
//!
//! | name | generator |
//! |---|---|
//! | `exchange_core` | [`workload::exchange_core_mix`] |
//! | `feed` | [`workload::feed_mix`] |
//! | `python` | [`workload::python_mix`] |
//! | `sweep` | [`workload::sweep_levels`] (`commands` levels) |
//! | `deep_queue` | [`workload::deep_queue`] (`commands` orders) |
//! | `big_book` | [`workload::big_book`] (1,000,000 resting orders) |
//!
//! ```
//! use wintermute_bench::catalog::{generate, WorkloadRecords};
//! let WorkloadRecords { workload, warmup, commands } = generate("python", 42, 1_000).unwrap();
//! assert_eq!(commands.len(), 1_000 * 48);
//! assert_eq!(warmup.len(), workload.warmup.len() * 48);
//! ```

use wintermute_core::records::encode_command;
use wintermute_core::Command;

use crate::workload::{self, Workload};

/// The names [`generate`] knows, in the order of the table above.
pub const NAMES: [&str; 6] = ["exchange_core", "feed", "python", "sweep", "deep_queue", "big_book"];

/// A name [`generate`] does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown workload name={name:?}: expected exchange_core, feed, python, sweep, deep_queue or big_book")]
pub struct UnknownWorkload {
    pub name: String,
}

/// A generated workload and its streams as command records.
#[derive(Debug, Clone)]
pub struct WorkloadRecords {
    pub workload: Workload,
    /// The warm-up commands as records (`wintermute_core::records`).
    pub warmup: Vec<u8>,
    /// The measured commands as records.
    pub commands: Vec<u8>,
}

impl WorkloadRecords {
    /// The instrument's spec as the keyword arguments of `add_instrument`: `symbol`,
    /// `tick_size`, `lot_size`, `min_qty`, `max_qty`, `min_price`, `max_price` (decimal text).
    pub fn spec_fields(&self) -> [(&'static str, String); 7] {
        let s = &self.workload.spec;
        [
            ("symbol", s.symbol.clone()),
            ("tick_size", s.tick_size.clone()),
            ("lot_size", s.lot_size.clone()),
            ("min_qty", s.format_qty(s.min_qty)),
            ("max_qty", s.format_qty(s.max_qty)),
            ("min_price", s.format_price(s.min_price)),
            ("max_price", s.format_price(s.max_price)),
        ]
    }
}

/// The workload called `name`, generated from `seed` with `commands` measured commands.
pub fn workload(name: &str, seed: u64, commands: usize) -> Result<Workload, UnknownWorkload> {
    Ok(match name {
        "exchange_core" => workload::exchange_core_mix(seed, commands),
        "feed" => workload::feed_mix(seed, commands),
        "python" => workload::python_mix(seed, commands),
        "sweep" => workload::sweep_levels(commands.max(1)),
        "deep_queue" => workload::deep_queue(commands.max(1)),
        "big_book" => workload::big_book(seed, 1_000_000, commands),
        other => return Err(UnknownWorkload { name: other.to_owned() }),
    })
}

/// [`workload`], with both streams encoded as command records.
pub fn generate(name: &str, seed: u64, commands: usize) -> Result<WorkloadRecords, UnknownWorkload> {
    let w = workload(name, seed, commands)?;
    Ok(WorkloadRecords { warmup: records(&w.warmup), commands: records(&w.commands), workload: w })
}

/// Commands as concatenated 48-byte records.
pub fn records(commands: &[Command]) -> Vec<u8> {
    commands.iter().flat_map(encode_command).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native_book::decode_commands;

    #[test]
    fn every_name_generates_and_its_records_decode_to_its_commands() {
        for name in NAMES {
            let r = generate(name, 5, 200).unwrap();
            assert_eq!(decode_commands(&r.commands).unwrap(), r.workload.commands, "{name}");
            if name != "big_book" {
                assert_eq!(decode_commands(&r.warmup).unwrap(), r.workload.warmup, "{name}");
            }
        }
    }

    #[test]
    fn the_spec_fields_are_the_instruments_decimal_text() {
        let r = generate("exchange_core", 5, 10).unwrap();
        let fields: std::collections::HashMap<_, _> = r.spec_fields().into_iter().collect();
        let s = &r.workload.spec;
        assert_eq!(fields["symbol"], s.symbol);
        assert_eq!(fields["tick_size"], s.tick_size);
        assert_eq!(fields["max_price"], s.format_price(s.max_price));
        assert_eq!(fields["min_qty"], s.format_qty(s.min_qty));
        assert_eq!(fields.len(), 7);
    }

    #[test]
    fn unknown_names_are_refused_by_name() {
        let err = generate("nope", 1, 10).unwrap_err();
        assert_eq!(err, UnknownWorkload { name: "nope".into() });
        assert!(err.to_string().contains("name=\"nope\""), "{err}");
    }
}

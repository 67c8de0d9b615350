//! Journal append throughput with `FsyncPolicy::None` (records land in the page cache through
//! the memory map; no msync).
//!
//! ```text
//! cargo run -p wintermute-engine --profile bench --example journal_throughput -- \
//!     [records] [dir] [--segment-mib 64] [--no-roller] [--no-populate]
//! ```
//!
//! Defaults: 2,000,000 records in a fresh temporary directory (deleted afterwards), 64 MiB
//! segments, segments prepared by the roller thread (`--no-roller`: the writer creates and
//! unmaps them inside `append`), populated before they are written (`--no-populate`: the
//! writer takes the first-write page faults). Prints records/s and GB/s of framed records (72 bytes each),
//! the segment rolls and the longest of them, and the time of a final `sync`.

use std::time::Instant;

use wintermute_core::{Command, NewOrder, Side};
use wintermute_engine::journal::{FsyncPolicy, Journal, JournalConfig, RECORD_SIZE};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut positional = Vec::new();
    let (mut segment_mib, mut roller, mut populate) = (64u64, true, true);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-roller" => roller = false,
            "--no-populate" => populate = false,
            "--segment-mib" => segment_mib = args.next().ok_or("--segment-mib needs a value")?.parse()?,
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag:?}").into()),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let records: u64 = positional.next().map(|a| a.parse()).transpose()?.unwrap_or(2_000_000);
    let tmp = tempfile::tempdir()?;
    let dir = positional.next().map_or_else(|| tmp.path().to_path_buf(), std::path::PathBuf::from);

    let commands: Vec<Command> = (0..1024u64)
        .map(|i| {
            let side = if i % 2 == 0 { Side::Buy } else { Side::Sell };
            Command::New(NewOrder::limit(i, 1, side, 100_000 + (i % 50) as i64, 1 + (i % 9) as i64))
        })
        .collect();

    let config = JournalConfig::new(&dir)
        .segment_size(segment_mib << 20)
        .fsync(FsyncPolicy::None)
        .prepare_segments(roller)
        .populate(populate);
    let opened = Instant::now();
    let (mut journal, _) = Journal::open(config)?;
    let open = opened.elapsed();
    let start = Instant::now();
    for i in 0..records {
        journal.append((i % 4) as u32, &commands[(i % 1024) as usize])?;
    }
    let append = start.elapsed();
    let rolls = journal.roll_stats();
    let sync_start = Instant::now();
    journal.close()?;
    let sync = sync_start.elapsed();

    let bytes = records as f64 * RECORD_SIZE as f64;
    let secs = append.as_secs_f64();
    println!("dir: {}", dir.display());
    println!(
        "appended {records} records ({:.1} MB) in {:.3} s: {:.2} M records/s, {:.2} GB/s, {:.1} ns/record",
        bytes / 1e6,
        secs,
        records as f64 / secs / 1e6,
        bytes / secs / 1e9,
        secs * 1e9 / records as f64
    );
    println!(
        "segment rolls: {} ({} to a prepared spare, {} spares not populated), longest {:.1} µs",
        rolls.rolls,
        rolls.prepared,
        rolls.populate_failures,
        rolls.longest.as_secs_f64() * 1e6
    );
    println!("open (populating the first segment when on): {:.1} ms", open.as_secs_f64() * 1e3);
    println!("final sync (msync of the last segment): {:.3} s", sync.as_secs_f64());
    Ok(())
}

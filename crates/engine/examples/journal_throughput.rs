//! Journal append throughput with `FsyncPolicy::None` (records land in the page cache through
//! the memory map; no msync).
//!
//! ```text
//! cargo run -p wintermute-engine --profile bench --example journal_throughput -- \
//!     [records] [dir] [--segment-mib 64] [--no-roller] [--no-populate] [--mark-every N] [--tagged]
//! ```
//!
//! Defaults: 2,000,000 records in a fresh temporary directory (deleted afterwards), 64 MiB
//! segments, segments prepared by the roller thread (`--no-roller`: the writer creates and
//! unmaps them inside `append`), populated before they are written (`--no-populate`: the
//! writer takes the first-write page faults). `--mark-every N`: a new wall-clock time
//! (`Journal::mark_time`, a 40-byte time mark) every N records, as the pipeline sets one per
//! matching batch (1: one per record, a batch of one command each). `--tagged`: each record
//! carries a client order id (`Journal::append_tagged`, 112 bytes). Prints records/s and GB/s
//! of framed records (72 bytes each, 112 tagged, time marks included), the segment rolls and
//! the longest of them, and the time of a final `sync`.

use std::time::Instant;

use wintermute_core::{Command, NewOrder, Side};
use wintermute_engine::journal::{
    ClientOrderId, FsyncPolicy, Journal, JournalConfig, RECORD_SIZE, TAGGED_RECORD_SIZE, TIME_RECORD_SIZE,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut positional = Vec::new();
    let (mut segment_mib, mut roller, mut populate) = (64u64, true, true);
    let (mut mark_every, mut tagged) = (0u64, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-roller" => roller = false,
            "--no-populate" => populate = false,
            "--tagged" => tagged = true,
            "--mark-every" => mark_every = args.next().ok_or("--mark-every needs a value")?.parse()?,
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
    let tag = ClientOrderId::new("wm-1234567")?;
    let start = Instant::now();
    for i in 0..records {
        if mark_every > 0 && i % mark_every == 0 {
            journal.mark_time(1_765_000_000_000_000_000 + i);
        }
        let command = &commands[(i % 1024) as usize];
        if tagged {
            journal.append_tagged((i % 4) as u32, command, &tag)?;
        } else {
            journal.append((i % 4) as u32, command)?;
        }
    }
    let append = start.elapsed();
    let rolls = journal.roll_stats();
    let sync_start = Instant::now();
    journal.close()?;
    let sync = sync_start.elapsed();

    let size = if tagged { TAGGED_RECORD_SIZE } else { RECORD_SIZE };
    let marks = if mark_every > 0 { records.div_ceil(mark_every) } else { 0 };
    let bytes = records as f64 * size as f64 + marks as f64 * TIME_RECORD_SIZE as f64;
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

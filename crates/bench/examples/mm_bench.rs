//! The market maker's tick-to-order latency on our venue, from the command line: a thin CLI
//! over [`wintermute_bench::mm_latency`] (what is measured and how is documented there).
//!
//! ```text
//! cargo run -p wintermute-bench --release --example mm_bench -- \
//!     [--rates 10k,100k] [--seconds 2] [--fill-every 20] [--jitter-seconds 1] [--seed 42] [--repeat 1] [--park]
//! ```
//!
//! One row per (rate, repeat): p50 / p99 / p99.9 / max of message due -> quote accepted, of
//! message due -> commands in the gateway, and p50 / p99 of fill -> hedge decided, then the
//! host's jitter measured right after that run.

use std::error::Error;

use wintermute_bench::mm_latency::{run, MmBenchConfig};
use wintermute_bench::pipeline::parse_rate;

fn value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).map(String::as_str)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rates: Vec<u64> = value(&args, "--rates")
        .unwrap_or("10k,100k")
        .split(',')
        .map(|r| parse_rate(r)?.ok_or_else(|| "--rates: max is not an offered rate".into()))
        .collect::<Result<_, Box<dyn Error>>>()?;
    let repeat: usize = value(&args, "--repeat").unwrap_or("1").parse()?;
    println!(
        "{:<22}{:>9}{:>9} | {:>8}{:>8}{:>9}{:>10} | {:>8}{:>8}{:>9} | {:>8}{:>8} | host: gaps>=10us/s, >=100us/s, longest",
        "system", "msgs", "fills", "acc p50", "p99", "p99.9", "max", "sub p50", "p99", "p99.9", "hdg p50", "p99"
    );
    for _ in 0..repeat {
        for &rate in &rates {
            let mut c = MmBenchConfig::new(rate);
            if let Some(s) = value(&args, "--seconds") {
                c.seconds = s.parse()?;
            }
            if let Some(s) = value(&args, "--fill-every") {
                c.fill_every = s.parse()?;
            }
            if let Some(s) = value(&args, "--jitter-seconds") {
                c.jitter_seconds = s.parse()?;
            }
            c.busy_spin = !args.iter().any(|a| a == "--park");
            if let Some(s) = value(&args, "--seed") {
                c.seed = s.parse()?;
            }
            let r = run(&c)?;
            let us = |ns: u64| ns as f64 / 1e3;
            let (a, s, h) = (r.tick_to_accept, r.tick_to_submit, r.fill_to_hedge);
            println!(
                "{:<22}{:>9}{:>9} | {:>8.2}{:>8.2}{:>9.2}{:>10.1} | {:>8.2}{:>8.2}{:>9.2} | {:>8.2}{:>8.2} | {:.0}, {:.1}, {:.0} us",
                r.system,
                r.messages,
                r.fills,
                us(a.p50_ns),
                us(a.p99_ns),
                us(a.p999_ns),
                us(a.max_ns),
                us(s.p50_ns),
                us(s.p99_ns),
                us(s.p999_ns),
                us(h.p50_ns),
                us(h.p99_ns),
                r.host.gaps_over_10us_per_s,
                r.host.gaps_over_100us_per_s,
                us(r.host.longest_gap_ns),
            );
        }
    }
    println!("(latencies in µs; acc: message due -> quote accepted, read back; sub: message due -> commands in the gateway; hdg: fill in the engine -> hedge decided)");
    Ok(())
}

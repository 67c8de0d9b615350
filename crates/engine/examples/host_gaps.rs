//! How often the host takes the CPU away from spinning threads: N threads each read the clock
//! in a tight loop for S seconds and report the gaps between consecutive reads. A gap is time
//! the thread did not run (descheduled by the OS or the hypervisor); with the engine and the
//! load generator both spinning, every such gap stalls the pipeline.
//!
//! ```text
//! cargo run --release -p wintermute-engine --example host_gaps -- [THREADS] [SECONDS]
//! ```
//! (defaults: 1 then 2 threads, 3 s each).

use std::time::{Duration, Instant};

/// Upper bounds (µs) of the gap-length buckets; the last bucket is everything above.
const BOUNDS_US: [u64; 7] = [2, 5, 10, 20, 50, 100, 1_000];

/// What one spinning thread saw.
struct Gaps {
    /// Gaps over 1 ms.
    over_1ms: u64,
    longest: Duration,
    /// Total of the gaps over 100 µs.
    lost: Duration,
    /// Gaps of at least 1 µs, by length: `[1-2), [2-5), ... [100-1000), >= 1000` µs.
    buckets: [u64; BOUNDS_US.len() + 1],
    /// Total of the gaps of at least 1 µs.
    lost_1us: Duration,
}

fn spin(seconds: f64) -> Gaps {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let mut g =
        Gaps { over_1ms: 0, longest: Duration::ZERO, lost: Duration::ZERO, buckets: [0; 8], lost_1us: Duration::ZERO };
    let mut last = Instant::now();
    while last < end {
        let now = Instant::now();
        let gap = now - last;
        if gap >= Duration::from_micros(1) {
            let us = gap.as_micros() as u64;
            g.buckets[BOUNDS_US.iter().position(|&b| us < b).unwrap_or(BOUNDS_US.len())] += 1;
            g.lost_1us += gap;
            if gap > Duration::from_micros(100) {
                g.lost += gap;
                g.longest = g.longest.max(gap);
                g.over_1ms += u64::from(gap > Duration::from_millis(1));
            }
        }
        last = now;
    }
    g
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let threads: Vec<usize> = match args.first() {
        Some(n) => vec![n.parse().expect("THREADS: a number")],
        None => vec![1, 2],
    };
    let seconds: f64 = args.get(1).map_or(3.0, |s| s.parse().expect("SECONDS: a number"));
    for n in threads {
        let handles: Vec<_> = (0..n).map(|_| std::thread::spawn(move || spin(seconds))).collect();
        for (i, h) in handles.into_iter().enumerate() {
            let g = h.join().expect("spinning thread");
            println!(
                "{n} spinning thread(s), thread {i}: {} gaps > 1 ms in {seconds} s, longest {:?}, {:?} lost in gaps > \
                 100 µs",
                g.over_1ms, g.longest, g.lost
            );
            let labels = ["1-2", "2-5", "5-10", "10-20", "20-50", "50-100", "100-1000", ">1000"];
            let per_s = |c: u64| c as f64 / seconds;
            let buckets: Vec<String> =
                labels.iter().zip(g.buckets).map(|(l, c)| format!("{l}: {:.0}", per_s(c))).collect();
            println!(
                "    gaps >= 1 µs per second by length (µs): {}; {:.2}% of the time lost in them",
                buckets.join(", "),
                g.lost_1us.as_secs_f64() / seconds * 100.0
            );
        }
    }
}

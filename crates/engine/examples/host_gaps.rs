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

/// Gaps over 100 µs of one spinning thread: (count over 1 ms, longest, total of gaps over 100 µs).
fn spin(seconds: f64) -> (u64, Duration, Duration) {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let (mut over_1ms, mut longest, mut lost) = (0, Duration::ZERO, Duration::ZERO);
    let mut last = Instant::now();
    while last < end {
        let now = Instant::now();
        let gap = now - last;
        if gap > Duration::from_micros(100) {
            lost += gap;
            longest = longest.max(gap);
            over_1ms += u64::from(gap > Duration::from_millis(1));
        }
        last = now;
    }
    (over_1ms, longest, lost)
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
            let (over, longest, lost) = h.join().expect("spinning thread");
            println!(
                "{n} spinning thread(s), thread {i}: {over} gaps > 1 ms in {seconds} s, longest {longest:?}, \
                 {lost:?} lost in gaps > 100 µs"
            );
        }
    }
}

//! An idle pipeline costs next to no CPU: its engine threads park longer while nothing comes
//! (`Idle::lengthening_to`). That a producer's unpark ends a long park at once is tested in
//! `wait.rs` and `tests/pipeline.rs` (1 s parks).
//!
//! One test in its own binary: it reads its engine threads' CPU time from /proc by thread name,
//! so no other test's pipeline may run in this process at the same time.

#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};
use wintermute_engine::pipeline::{Backpressure, Pipeline, PipelineConfig, Subscription, Topology};
use wintermute_engine::wait::WaitStrategy;

/// CPU time (user + system) of every thread of this process named `name`, in clock ticks.
fn cpu_ticks_of(name: &str) -> u64 {
    let mut ticks = 0;
    for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task").flatten() {
        let Ok(comm) = std::fs::read_to_string(task.path().join("comm")) else { continue };
        if comm.trim_end() != name {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        // After the command name (which ends at the last ')'): utime is the 12th field, stime the 13th.
        let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..].split_whitespace().collect();
        ticks += fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    }
    ticks
}

fn wait_for_outputs(sub: &mut Subscription, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while seen.len() < want {
        assert!(Instant::now() < deadline, "only {} of {want} outputs came", seen.len());
        sub.wait_for_outputs(Duration::from_millis(100));
        sub.poll(&mut seen);
    }
}

#[test]
fn idle_engine_threads_use_next_to_no_cpu() {
    let spec = InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1000, 1, 1_000_000).expect("valid spec");
    // The 2-core default: 50 µs parks. Without lengthening, an idle thread wakes 20,000 times a
    // second (several percent of a core); with it, about a hundred times.
    let park = WaitStrategy::park(Duration::from_micros(50));
    for (topology, threads) in
        [(Topology::Merged, &["wm-engine"][..]), (Topology::Split, &["wm-risk", "wm-matching"][..])]
    {
        let config = PipelineConfig::for_cores(vec![spec.clone()], 2)
            .topology(topology)
            .engine_wait(park)
            .gateway_ring(1024, Backpressure::Block(park))
            .subscriptions(1, 1024);
        let (pipeline, handles) = Pipeline::start(config).expect("starts");
        let mut gateway = handles.gateways.into_iter().next().expect("one gateway");
        let mut sub = handles.subscriptions.into_iter().next().expect("one subscription");
        let order = |id: u64| Command::New(NewOrder::limit(id, 1, Side::Buy, 100 + id as i64, 1));

        gateway.submit(0, order(1)).expect("accepted");
        wait_for_outputs(&mut sub, 2);
        let before: Vec<u64> = threads.iter().map(|t| cpu_ticks_of(t)).collect();
        std::thread::sleep(Duration::from_secs(2));
        let used: Vec<u64> = threads.iter().zip(&before).map(|(t, b)| cpu_ticks_of(t) - b).collect();
        // Clock ticks are 10 ms: 3 ticks in 2 s is 1.5% of a core, at most.
        for (thread, used) in threads.iter().zip(&used) {
            assert!(*used <= 3, "{topology:?}: {thread} used {used} ticks of CPU in two idle seconds");
        }

        drop(gateway);
        pipeline.shutdown().expect("shuts down");
    }
}

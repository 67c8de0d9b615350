//! Proves that the pipeline's command path allocates nothing after warm-up — with risk, a
//! journal, the control inbox polled every round and a periodic-snapshot schedule counting
//! records — in both topologies. The counting global allocator of `wintermute-testkit` counts
//! every thread's allocations while armed; everything runs in the one `#[test]` below, and every
//! buffer the test itself uses is sized before arming.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use wintermute_engine::journal::{FsyncPolicy, JournalConfig};
use wintermute_engine::pipeline::{Pipeline, RiskConfig, SnapshotPolicy, Topology};

use support::{config, CommandMix};
use wintermute_testkit::alloc::{self, CountingAlloc};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocations while `measured` commands run, after `warm` commands of the same mix.
fn allocations(topology: Topology, warm: usize, measured: usize) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let journal = JournalConfig::new(dir.path()).fsync(FsyncPolicy::None);
    let mut cfg = config(topology, 1)
        .risk(RiskConfig::permissive())
        .journal(journal)
        .snapshots(SnapshotPolicy::every_records(1 << 40));
    cfg.stats_interval = Duration::from_secs(3_600); // no stats merge while measuring
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let mut gw = handles.gateways.into_iter().next().unwrap();
    let mut sub = handles.subscriptions.into_iter().next().unwrap();
    let mut mix = CommandMix::new(0);
    let warm_cmds = mix.take(warm);
    let measured_cmds = mix.take(measured);
    let expected = (warm + measured) as u64;
    let lasts = Arc::new(AtomicU64::new(0));
    let consumer = {
        let lasts = Arc::clone(&lasts);
        thread::spawn(move || {
            let mut batch = Vec::with_capacity(1 << 16);
            let mut seen = 0u64;
            while seen < expected {
                batch.clear();
                if sub.poll_max(&mut batch, 1 << 16) == 0 {
                    thread::sleep(Duration::from_micros(100));
                    continue;
                }
                seen += batch.iter().filter(|o| o.last).count() as u64;
                lasts.store(seen, Ordering::Release);
            }
            sub
        })
    };
    let wait_for = |n: u64| {
        while lasts.load(Ordering::Acquire) < n {
            thread::sleep(Duration::from_millis(1));
        }
    };
    for (instrument, command) in warm_cmds {
        gw.submit(instrument, command).unwrap();
    }
    wait_for(warm as u64);
    alloc::reset();
    alloc::arm_process();
    for (instrument, command) in measured_cmds {
        gw.submit(instrument, command).unwrap();
    }
    wait_for(expected);
    alloc::disarm_process();
    let n = alloc::allocations();
    let _sub = consumer.join().unwrap();
    drop(gw);
    pipeline.shutdown().unwrap();
    n
}

#[test]
fn the_command_path_allocates_nothing_after_warm_up() {
    for topology in [Topology::Merged, Topology::Split] {
        let n = allocations(topology, 200_000, 100_000);
        assert_eq!(n, 0, "{topology:?}: {n} allocations on the command path");
    }
}

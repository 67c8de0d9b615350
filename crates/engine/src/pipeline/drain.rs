//! Reading a pipeline's outputs for a consumer that is not always polling (Python's), and
//! shutting the pipeline down without waiting on such a consumer.
//!
//! [`Pipeline::shutdown`] waits until every subscription has taken the last outputs: a reader
//! that only polls when it likes (a Python thread holding the GIL, or nobody at all) would
//! block it forever once a subscription ring is full. A [`BufferedSubscription`] keeps a
//! backlog next to its ring: [`shutdown_draining`] runs the engine's shutdown on a helper
//! thread while the calling thread keeps moving everything published into each backlog, so
//! the matching stage never waits on a reader. Readers then take the backlog first, then the
//! ring ([`BufferedSubscription::take`]), in publication order.
//!
//! ```
//! use wintermute_core::InstrumentSpec;
//! use wintermute_engine::pipeline::{BufferedSubscription, Pipeline, PipelineConfig, shutdown_draining};
//!
//! let spec = InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1000, 1, 1_000_000).unwrap();
//! let (pipeline, handles) = Pipeline::start(PipelineConfig::for_cores(vec![spec], 2)).unwrap();
//! let subs: Vec<_> = handles.subscriptions.into_iter().map(BufferedSubscription::shared).collect();
//! let done = shutdown_draining(pipeline, &subs).unwrap();
//! assert_eq!(done.stats.counters.received, 0);
//! assert!(subs[0].lock().unwrap().finished());
//! ```

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{Output, Pipeline, PipelineError, Shutdown, Subscription};

/// How often [`shutdown_draining`] empties the rings while the engine shuts down.
const DRAIN_INTERVAL: Duration = Duration::from_micros(200);
/// The longest one sleep of [`BufferedSubscription::wait_take`] lasts before it looks again
/// (a backstop: the matching stage wakes it when outputs come, and when it stops).
const MAX_SLEEP: Duration = Duration::from_millis(50);
/// The longest [`BufferedSubscription::wait_take`] waits.
const MAX_WAIT: Duration = Duration::from_secs(86_400);

/// A subscription and what was drained from it on its reader's behalf (while the pipeline
/// shut down) but not read yet.
#[derive(Debug)]
pub struct BufferedSubscription {
    sub: Subscription,
    backlog: Vec<Output>,
}

/// A [`BufferedSubscription`] shared between its reader and [`shutdown_draining`].
pub type SharedSubscription = Arc<Mutex<BufferedSubscription>>;

impl BufferedSubscription {
    pub fn new(sub: Subscription) -> Self {
        Self { sub, backlog: Vec::new() }
    }

    /// A new one, shared.
    pub fn shared(sub: Subscription) -> SharedSubscription {
        Arc::new(Mutex::new(Self::new(sub)))
    }

    /// Locks a shared one (a reader that panicked leaves it usable).
    pub fn lock(shared: &SharedSubscription) -> MutexGuard<'_, Self> {
        shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves what is in the ring to the backlog (so the matching stage never waits on it).
    pub fn drain_to_backlog(&mut self) {
        self.sub.poll(&mut self.backlog);
    }

    /// Hands the backlog, then the ring, to `f`: at most `max` outputs in all, in order.
    /// Returns how many.
    pub fn take(&mut self, max: usize, mut f: impl FnMut(&Output)) -> usize {
        let from_backlog = self.backlog.len().min(max);
        self.backlog.drain(..from_backlog).for_each(|o| f(&o));
        let mut n = from_backlog;
        if n < max {
            // Straight from the ring (no copy of the outputs on the way).
            n += self.sub.read(max - n, f);
        }
        n
    }

    /// Outputs waiting now.
    pub fn available(&self) -> usize {
        self.backlog.len() + self.sub.len()
    }

    /// True once the pipeline stopped and every output was taken: nothing more will come.
    pub fn finished(&self) -> bool {
        self.backlog.is_empty() && self.sub.is_finished()
    }

    /// [`take`](Self::take) on a shared one: when nothing is available, waits up to `timeout`
    /// (at most a day) for the first output, without holding the lock while it waits (asleep: the matching stage wakes it). Returns
    /// how many were taken (0: timed out, or finished).
    pub fn wait_take(shared: &SharedSubscription, max: usize, timeout: Duration, f: impl FnMut(&Output)) -> usize {
        Self::wait_take_sized(shared, max, timeout, |_| {}, f)
    }

    /// [`wait_take`](Self::wait_take), telling `sized` how many outputs are about to be taken
    /// (once, under the lock, before the first `f`), so a caller can reserve room for exactly
    /// that many and never grow its buffer while they arrive, nor allocate when none do.
    pub fn wait_take_sized(
        shared: &SharedSubscription,
        max: usize,
        timeout: Duration,
        sized: impl FnOnce(usize),
        f: impl FnMut(&Output),
    ) -> usize {
        let deadline = Instant::now() + timeout.min(MAX_WAIT);
        loop {
            let mut s = Self::lock(shared);
            let n = max.min(s.available());
            let now = Instant::now();
            if n > 0 || s.finished() || now >= deadline {
                sized(n);
                return s.take(n, f);
            }
            // Sleep until the matching stage hands outputs over (it wakes this thread), the
            // pipeline stops, or the deadline; the flag is raised under the lock, before the
            // last look, so a hand-over after that look wakes us.
            let signal = s.sub.outputs_signal();
            signal.prepare();
            if s.available() > 0 || s.finished() || signal.closed() {
                signal.cancel();
                continue;
            }
            drop(s);
            signal.sleep((deadline - now).min(MAX_SLEEP));
        }
    }
}

/// Shuts `pipeline` down on a helper thread while this one keeps every subscription of `subs`
/// drained into its backlog, so the shutdown never waits for a reader. See the module docs.
pub fn shutdown_draining(pipeline: Pipeline, subs: &[SharedSubscription]) -> Result<Shutdown, PipelineError> {
    let drain = || subs.iter().for_each(|s| BufferedSubscription::lock(s).drain_to_backlog());
    let handle = std::thread::Builder::new()
        .name("wm-shutdown".into())
        .spawn(move || pipeline.shutdown())
        .map_err(|source| PipelineError::Spawn { name: "wm-shutdown", source })?;
    while !handle.is_finished() {
        drain();
        std::thread::sleep(DRAIN_INTERVAL);
    }
    drain();
    handle.join().unwrap_or(Err(PipelineError::ThreadPanicked { name: "wm-shutdown" }))
}

/// Shuts `pipeline` down in the background (as [`shutdown_draining`]), for an owner that is
/// going away and must not wait: accepted commands still run and are journaled.
pub fn shutdown_in_background(pipeline: Pipeline, subs: Vec<SharedSubscription>) {
    let spawned =
        std::thread::Builder::new().name("wm-drop".into()).spawn(move || drop(shutdown_draining(pipeline, &subs)));
    if let Err(e) = spawned {
        // No thread: the pipeline (moved into the closure) is dropped here instead, which
        // stops it the same way but waits for it.
        drop(e);
    }
}

#[cfg(test)]
#[path = "drain_tests.rs"]
mod tests;

//! Wait strategies: what a consumer thread does while its ring is empty.
//!
//! | strategy | latency | CPU when idle | use it when |
//! |---|---|---|---|
//! | [`WaitStrategy::BusySpin`] | lowest | one core at 100% | the thread has a core of its own |
//! | [`WaitStrategy::SpinThenYield`] | low | high, but shares the core | few spare cores |
//! | [`WaitStrategy::Park`] | park/unpark wake-up (µs) | none | more threads than cores; tests |
//!
//! A thread keeps one [`Idle`] per loop: call [`Idle::idle`] each time it found nothing to do
//! and [`Idle::reset`] when it found work, so the back-off starts again from spinning.
//!
//! ```
//! use std::time::Duration;
//! use wintermute_engine::spsc::RingBuffer;
//! use wintermute_engine::wait::{pop_wait, Idle, WaitStrategy};
//!
//! let (mut tx, mut rx) = RingBuffer::new(16);
//! let consumer = std::thread::spawn(move || {
//!     let mut idle = Idle::new(WaitStrategy::park(Duration::from_millis(1)));
//!     let mut sum = 0;
//!     // `pop_wait` returns None once the producer is gone and the ring is empty.
//!     while let Some(v) = pop_wait(&mut rx, &mut idle) {
//!         sum += v;
//!     }
//!     sum
//! });
//! for i in 1..=10 {
//!     tx.push(i).unwrap();
//! }
//! drop(tx);
//! assert_eq!(consumer.join().unwrap(), 55);
//! ```
//!
//! On the 2-core machines the tests run on, never busy-spin more threads than cores: use
//! `SpinThenYield` or `Park` there. A parked consumer wakes on its timeout or when the producer
//! calls [`std::thread::Thread::unpark`] on it (inside the engine, through a `Waker`, which
//! does so only for a consumer that parks); the timeout bounds the cost of a missed unpark.
//!
//! A loop whose every producer unparks it can let its parks grow once it has been idle for a
//! while ([`Idle::lengthening_to`]): after `patience` of parks at the configured timeout, each
//! further park doubles it, up to a ceiling; work found starts again from the configured
//! timeout. A command still wakes the thread (its producer unparks it); what grows is only how
//! often a long-idle thread wakes for nothing — the engine's threads do this, so an idle
//! pipeline costs next to no CPU, while one that is merely between commands keeps its short
//! parks (waking a thread that parked long ago costs more on a VM: its vCPU may be halted).
//!
use std::hint;
use std::sync::{Arc, OnceLock};
use std::thread::{self, Thread};
use std::time::Duration;

use crate::spsc::Consumer;

/// How a thread waits for work. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStrategy {
    /// Spin with a CPU pause hint, forever.
    BusySpin,
    /// Spin `spins` times, then `yield_now` on every further idle round.
    SpinThenYield { spins: u32 },
    /// Spin `spins` times, yield `yields` times, then park for at most `timeout` per round
    /// (an `unpark` ends the park early).
    Park { spins: u32, yields: u32, timeout: Duration },
}

impl WaitStrategy {
    /// Spin-then-yield with a default of 100 spins.
    pub const fn spin_then_yield() -> Self {
        WaitStrategy::SpinThenYield { spins: 100 }
    }

    /// Park with `timeout`, after 100 spins and 10 yields.
    pub const fn park(timeout: Duration) -> Self {
        WaitStrategy::Park { spins: 100, yields: 10, timeout }
    }
}

/// What [`Idle::idle`] did on one round (for tests and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleAction {
    Spin,
    Yield,
    Park,
}

/// The back-off state of one waiting loop.
#[derive(Debug, Clone)]
pub struct Idle {
    strategy: WaitStrategy,
    rounds: u32,
    /// The longest park ([`Idle::lengthening_to`]); zero: every park takes the strategy's timeout.
    longest_park: Duration,
    /// Parks at the strategy's timeout before they lengthen.
    patience_parks: u32,
}

impl Idle {
    /// A fresh back-off for `strategy`.
    pub const fn new(strategy: WaitStrategy) -> Self {
        Self { strategy, rounds: 0, longest_park: Duration::ZERO, patience_parks: 0 }
    }

    /// Lets parks lengthen once the loop has parked for `patience` (counted as parks at the
    /// strategy's timeout) since it last found work: each further park doubles the timeout, up
    /// to `longest` (no effect below the strategy's own timeout, or for a strategy that does
    /// not park). Only for a loop that every producer unparks when it gives it work: a park
    /// then ends when work comes, and its timeout only sets how often an idle thread wakes up
    /// to look.
    #[must_use]
    pub fn lengthening_to(mut self, longest: Duration, patience: Duration) -> Self {
        self.longest_park = longest;
        if let WaitStrategy::Park { timeout, .. } = self.strategy {
            let parks = patience.as_nanos().div_ceil(timeout.as_nanos().max(1));
            self.patience_parks = u32::try_from(parks).unwrap_or(u32::MAX);
        }
        self
    }

    /// How long the next round parks, if it parks: the strategy's timeout, and once the
    /// patience of [`Idle::lengthening_to`] is spent, doubled for each further park up to its
    /// ceiling. [`Idle::reset`] starts over.
    pub fn park_timeout(&self) -> Option<Duration> {
        let WaitStrategy::Park { spins, yields, timeout } = self.strategy else { return None };
        let parks = self.rounds.checked_sub(spins.saturating_add(yields))?;
        let Some(longer) = parks.checked_sub(self.patience_parks) else { return Some(timeout) };
        // 2^16 x the timeout is past any ceiling worth having; keeps the shift in range.
        let grown = timeout.saturating_mul(1 << (longer + 1).min(16));
        Some(grown.min(self.longest_park).max(timeout))
    }

    /// Waits one round (nothing to do right now) and says how.
    #[inline]
    pub fn idle(&mut self) -> IdleAction {
        let park = self.park_timeout();
        let round = self.rounds;
        self.rounds = self.rounds.saturating_add(1);
        let action = match self.strategy {
            WaitStrategy::BusySpin => IdleAction::Spin,
            WaitStrategy::SpinThenYield { spins } if round < spins => IdleAction::Spin,
            WaitStrategy::SpinThenYield { .. } => IdleAction::Yield,
            WaitStrategy::Park { spins, .. } if round < spins => IdleAction::Spin,
            WaitStrategy::Park { spins, yields, .. } if round < spins.saturating_add(yields) => IdleAction::Yield,
            WaitStrategy::Park { .. } => IdleAction::Park,
        };
        match (action, self.strategy) {
            (IdleAction::Spin, _) => hint::spin_loop(),
            (IdleAction::Yield, _) => thread::yield_now(),
            (IdleAction::Park, _) => match park {
                Some(timeout) => thread::park_timeout(timeout),
                None => thread::yield_now(),
            },
        }
        action
    }

    /// Work was found: the next idle round starts from the cheapest wait again.
    #[inline]
    pub fn reset(&mut self) {
        self.rounds = 0;
    }
}

/// Pops one item, waiting with `idle` while the ring is empty. Returns `None` only when the
/// producer has been dropped and the ring is empty.
pub fn pop_wait<T>(consumer: &mut Consumer<T>, idle: &mut Idle) -> Option<T> {
    loop {
        if let Some(v) = consumer.pop() {
            idle.reset();
            return Some(v);
        }
        if consumer.is_abandoned() {
            // The producer may have pushed just before it was dropped.
            return consumer.pop();
        }
        idle.idle();
    }
}

/// Unparks one consumer thread after its producer pushed, when that thread waits with
/// [`WaitStrategy::Park`] (otherwise waking is a no-op: a spinning thread needs no unpark).
/// The thread is filled in once it has started, so wakers can be made before it exists.
#[derive(Debug, Clone)]
pub(crate) struct Waker {
    target: Arc<OnceLock<Thread>>,
    enabled: bool,
}

impl Waker {
    /// A waker for the thread that will be put in `target`, which waits with `wait`.
    pub(crate) fn new(target: Arc<OnceLock<Thread>>, wait: WaitStrategy) -> Self {
        Self { target, enabled: matches!(wait, WaitStrategy::Park { .. }) }
    }

    #[inline]
    pub(crate) fn wake(&self) {
        if self.enabled {
            if let Some(t) = self.target.get() {
                t.unpark();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::spsc::RingBuffer;

    fn actions(strategy: WaitStrategy, n: usize) -> Vec<IdleAction> {
        let mut idle = Idle::new(strategy);
        (0..n).map(|_| idle.idle()).collect()
    }

    #[test]
    fn busy_spin_always_spins() {
        assert!(actions(WaitStrategy::BusySpin, 50).iter().all(|a| *a == IdleAction::Spin));
    }

    #[test]
    fn spin_then_yield_escalates_once() {
        let a = actions(WaitStrategy::SpinThenYield { spins: 3 }, 6);
        use IdleAction::*;
        assert_eq!(a, [Spin, Spin, Spin, Yield, Yield, Yield]);
    }

    #[test]
    fn park_escalates_spin_yield_park_and_reset_restarts() {
        use IdleAction::*;
        let mut idle = Idle::new(WaitStrategy::Park { spins: 2, yields: 1, timeout: Duration::from_micros(50) });
        let a: Vec<_> = (0..5).map(|_| idle.idle()).collect();
        assert_eq!(a, [Spin, Spin, Yield, Park, Park]);
        idle.reset();
        assert_eq!(idle.idle(), Spin);
    }

    #[test]
    fn parks_lengthen_after_the_patience_up_to_the_ceiling_and_start_over_after_work() {
        let ms = Duration::from_millis;
        let strategy = WaitStrategy::Park { spins: 1, yields: 1, timeout: ms(1) };
        // Patience 2 ms: two parks at the timeout, then 2, 4, 5 (the ceiling), 5.
        let mut idle = Idle::new(strategy).lengthening_to(ms(5), ms(2));
        let mut parks = Vec::new();
        for _ in 0..8 {
            parks.push(idle.park_timeout());
            idle.idle();
        }
        let want = [None, None, Some(ms(1)), Some(ms(1)), Some(ms(2)), Some(ms(4)), Some(ms(5)), Some(ms(5))];
        assert_eq!(parks, want);
        idle.reset();
        assert_eq!(idle.park_timeout(), None);
        // Without a ceiling, and with one below the timeout, every park takes the timeout.
        for mut idle in [Idle::new(strategy), Idle::new(strategy).lengthening_to(Duration::from_micros(10), ms(0))] {
            idle.idle();
            idle.idle();
            for _ in 0..3 {
                assert_eq!(idle.park_timeout(), Some(ms(1)));
                idle.idle();
            }
        }
        // Strategies that never park have no park timeout.
        let spin = Idle::new(WaitStrategy::spin_then_yield()).lengthening_to(ms(5), ms(2));
        assert_eq!(spin.park_timeout(), None);
    }

    #[test]
    fn park_timeout_bounds_each_wait() {
        let timeout = Duration::from_millis(2);
        let mut idle = Idle::new(WaitStrategy::Park { spins: 0, yields: 0, timeout });
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(idle.idle(), IdleAction::Park);
        }
        // Parks may return early (spurious wake-ups) but never hang: 3 parks well under 1 s.
        assert!(start.elapsed() < Duration::from_secs(1), "parks took {:?}", start.elapsed());
    }

    #[test]
    fn unpark_wakes_a_long_park() {
        let (mut tx, mut rx) = RingBuffer::new(4);
        let consumer = thread::spawn(move || {
            let mut idle = Idle::new(WaitStrategy::Park { spins: 0, yields: 0, timeout: Duration::from_secs(30) });
            pop_wait(&mut rx, &mut idle)
        });
        let start = Instant::now();
        // Give the consumer time to park, then push and unpark it.
        thread::sleep(Duration::from_millis(20));
        tx.push(7u32).unwrap();
        consumer.thread().unpark();
        assert_eq!(consumer.join().unwrap(), Some(7));
        assert!(start.elapsed() < Duration::from_secs(10), "unpark did not wake the consumer");
    }

    #[test]
    fn a_waker_unparks_its_thread_once_the_thread_is_known() {
        let target = Arc::new(OnceLock::new());
        let waker = Waker::new(Arc::clone(&target), WaitStrategy::park(Duration::from_secs(30)));
        waker.wake(); // no thread yet: nothing to do, and no panic
        let (tx, rx) = std::sync::mpsc::channel();
        let parked = thread::spawn(move || {
            let start = Instant::now();
            rx.recv().unwrap(); // the thread is registered
            thread::park_timeout(Duration::from_secs(30));
            start.elapsed()
        });
        target.set(parked.thread().clone()).unwrap();
        tx.send(()).unwrap();
        thread::sleep(Duration::from_millis(20));
        waker.wake();
        let took = parked.join().unwrap();
        assert!(took < Duration::from_secs(10), "the waker did not unpark: {took:?}");
    }

    #[test]
    fn a_waker_of_a_thread_that_does_not_park_does_nothing() {
        let target = Arc::new(OnceLock::new());
        target.set(thread::current()).unwrap();
        for strategy in [WaitStrategy::BusySpin, WaitStrategy::spin_then_yield()] {
            let waker = Waker::new(Arc::clone(&target), strategy);
            assert!(!waker.enabled, "{strategy:?}");
            waker.wake();
        }
    }

    #[test]
    fn every_strategy_moves_a_stream_between_threads() {
        for strategy in
            [WaitStrategy::BusySpin, WaitStrategy::spin_then_yield(), WaitStrategy::park(Duration::from_micros(200))]
        {
            let (mut tx, mut rx) = RingBuffer::new(16);
            let n = 20_000u64;
            let consumer = thread::spawn(move || {
                let mut idle = Idle::new(strategy);
                let mut next = 0;
                while let Some(v) = pop_wait(&mut rx, &mut idle) {
                    assert_eq!(v, next);
                    next += 1;
                }
                next
            });
            let mut idle = Idle::new(WaitStrategy::spin_then_yield());
            for i in 0..n {
                let mut item = i;
                while let Err(e) = tx.push(item) {
                    item = e.into_inner();
                    idle.idle();
                }
                idle.reset();
            }
            drop(tx);
            assert_eq!(consumer.join().unwrap(), n, "{strategy:?}");
        }
    }
}

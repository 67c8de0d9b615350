//! A venue's state as both fronts of its simulator (HTTP and WebSocket) and its test hooks share
//! it: the state behind a mutex, and a counter of changes that wakes the WebSocket sessions.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

/// A venue's state shared by its fronts (HTTP and WebSocket) and its test hooks, with a counter
/// of changes that wakes the WebSocket sessions.
#[derive(Debug)]
pub struct SimShared<V> {
    state: Mutex<V>,
    changes: watch::Sender<u64>,
    /// Faults injected by tests: (fault, the text a request must contain, how many more).
    faults: Mutex<Vec<(SimFault, String, u32)>>,
}

/// A fault a test injects into the next requests that contain a given text
/// ([`SimShared::fault_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimFault {
    /// The connection is closed before the venue sees the request: nothing happened.
    DropRequest,
    /// The venue processes the request, then the connection is closed without its answer.
    LoseResponse,
}

impl<V> SimShared<V> {
    /// Shares `venue`.
    pub fn new(venue: V) -> Arc<Self> {
        Arc::new(Self { state: Mutex::new(venue), changes: watch::Sender::new(0), faults: Mutex::new(Vec::new()) })
    }

    /// The state, locked; when the guard is dropped the change counter moves on (after the lock
    /// is released), so every WebSocket session looks for something to push.
    pub fn lock(&self) -> SimGuard<'_, V> {
        SimGuard { guard: Some(lock(&self.state)), changes: &self.changes }
    }

    /// The state, locked, without signalling a change when released (for reads that change
    /// nothing other sessions see).
    pub fn lock_quietly(&self) -> MutexGuard<'_, V> {
        lock(&self.state)
    }

    /// The next `n` requests (HTTP: its method and path, `DELETE /api/v3/order`; WebSocket: its
    /// text) containing `needle` get
    /// `fault` (an empty `needle`: every request).
    pub fn fault_next(&self, fault: SimFault, needle: &str, n: u32) {
        lock(&self.faults).push((fault, needle.to_owned(), n));
    }

    /// Whether the request `target` gets `fault` (counted down if so).
    pub fn take_fault(&self, fault: SimFault, target: &str) -> bool {
        let mut faults = lock(&self.faults);
        let hit = faults.iter_mut().find(|(f, needle, n)| *f == fault && *n > 0 && target.contains(needle.as_str()));
        match hit {
            Some((_, _, n)) => {
                *n -= 1;
                true
            }
            None => false,
        }
    }

    /// A receiver of the change counter.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// A locked venue state ([`SimShared::lock`]); dropping it signals a change.
pub struct SimGuard<'a, V> {
    guard: Option<MutexGuard<'a, V>>,
    changes: &'a watch::Sender<u64>,
}

impl<V> Deref for SimGuard<'_, V> {
    type Target = V;

    fn deref(&self) -> &V {
        // Present from construction until drop.
        self.guard.as_deref().unwrap_or_else(|| unreachable!("guard taken only in drop"))
    }
}

impl<V> DerefMut for SimGuard<'_, V> {
    fn deref_mut(&mut self) -> &mut V {
        self.guard.as_deref_mut().unwrap_or_else(|| unreachable!("guard taken only in drop"))
    }
}

impl<V> Drop for SimGuard<'_, V> {
    fn drop(&mut self) {
        drop(self.guard.take());
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Locks a simulator's state (a panic while holding it would be a simulator bug: keep serving).
pub fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

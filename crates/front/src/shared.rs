//! What every request of the listener reads.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use wintermute_engine::venue_entry::VenueEntry;

use crate::access::{KeyStore, RateLimits};

/// The venue's entry, the keys, the buckets and the limits.
pub(crate) struct Shared {
    pub(crate) entry: VenueEntry,
    pub(crate) keys: KeyStore,
    pub(crate) limits: RateLimits,
    /// `RateLimit-Limit` (the same on every answer).
    pub(crate) rate_limit: hyper::header::HeaderValue,
    pub(crate) max_body_bytes: usize,
    pub(crate) ack_timeout: Duration,
    /// Venue error code -> HTTP status (codes not listed: 400).
    pub(crate) statuses: HashMap<String, u16>,
    pub(crate) counters: Arc<EntryCounters>,
}

/// What the listener sent and what the engine refused, counted as the Python venue counts its
/// own (`Venue.counters`): commands sent by kind, and refusals the engine answered by code.
#[derive(Debug, Default)]
pub struct EntryCounters {
    place: AtomicU64,
    cancel: AtomicU64,
    /// Only when the engine refuses (a lock then, not per order).
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl EntryCounters {
    pub(crate) fn placed(&self) {
        self.place.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn canceling(&self) {
        self.cancel.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn rejected(&self, code: &'static str) {
        *self.rejected.lock().unwrap_or_else(PoisonError::into_inner).entry(code).or_default() += 1;
    }

    /// The counts under the Python venue's names: `command_place`, `command_cancel` and
    /// `rejected_<CODE>` (those not zero).
    pub fn snapshot(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for (name, n) in [("command_place", &self.place), ("command_cancel", &self.cancel)] {
            let n = n.load(Ordering::Relaxed);
            if n > 0 {
                out.push((name.to_owned(), n));
            }
        }
        let rejected = self.rejected.lock().unwrap_or_else(PoisonError::into_inner);
        out.extend(rejected.iter().map(|(code, n)| (format!("rejected_{code}"), *n)));
        out
    }
}

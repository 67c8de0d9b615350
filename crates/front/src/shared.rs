//! What every request of the listener reads.

use std::collections::HashMap;
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
}

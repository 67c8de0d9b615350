//! Who may call, and how often: API keys (the `X-API-Key` header names an account and a
//! role) and a token bucket per key, as the Python service's `wintermute.service.keys` and
//! `wintermute.service.http_limits` do. Key texts are never logged nor shown.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// One API key: the account it trades for.
#[derive(Clone)]
pub struct ApiKey {
    /// The key text (secret).
    pub key: String,
    /// The account its orders are for.
    pub account: u32,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKey(account={})", self.account)
    }
}

/// The keys, by key text.
#[derive(Debug, Default)]
pub struct KeyStore {
    keys: HashMap<Vec<u8>, ApiKey>,
}

/// Constant time for equal lengths (the key found by hashing is compared again, as the Python
/// store does with `hmac.compare_digest`).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl KeyStore {
    /// A store of `keys` (a key listed twice is an error naming its account, not the key).
    pub fn new(keys: Vec<ApiKey>) -> Result<Self, String> {
        let mut map = HashMap::with_capacity(keys.len());
        for k in keys {
            let account = k.account;
            if map.insert(k.key.as_bytes().to_vec(), k).is_some() {
                return Err(format!("API keys: a key is listed twice (account={account})"));
            }
        }
        Ok(Self { keys: map })
    }

    /// The key's record, or None for a missing or unknown key.
    pub fn lookup(&self, key: &[u8]) -> Option<&ApiKey> {
        self.keys.get(key).filter(|k| same(k.key.as_bytes(), key))
    }
}

/// `rate` tokens a second, at most `burst`; starts full.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    stamp: Instant,
}

/// A bucket's state after a request: whether it was allowed and the `RateLimit-*` figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    /// A token was there.
    pub allowed: bool,
    /// `RateLimit-Remaining`: whole tokens left.
    pub remaining: u64,
    /// `RateLimit-Reset`: seconds until the bucket is full again.
    pub reset_s: u64,
    /// `Retry-After` when refused: seconds until the next token (at least 1).
    pub retry_after_s: u64,
}

/// Token buckets per client (its key text, or its address without one).
#[derive(Debug)]
pub struct RateLimits {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<Vec<u8>, Bucket>>,
}

impl RateLimits {
    /// At most this many buckets are kept; past it the bucket map starts over (every client
    /// then starts full again).
    pub const MAX_BUCKETS: usize = 100_000;

    /// Buckets of `rate` tokens a second, at most `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self { rate, burst: f64::from(burst), buckets: Mutex::new(HashMap::new()) }
    }

    /// `RateLimit-Limit`.
    pub fn limit(&self) -> u64 {
        self.burst as u64
    }

    /// Takes a token from `who`'s bucket at `now`.
    pub fn take(&self, who: &[u8], now: Instant) -> Taken {
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // A known client's bucket is found by the borrowed text (no copy of it per request).
        if !buckets.contains_key(who) {
            if buckets.len() >= Self::MAX_BUCKETS {
                buckets.clear();
            }
            buckets.insert(who.to_vec(), Bucket { tokens: self.burst, stamp: now });
        }
        let b = buckets.get_mut(who).expect("the bucket is there");
        let elapsed = now.saturating_duration_since(b.stamp).as_secs_f64();
        b.tokens = self.burst.min(b.tokens + elapsed * self.rate);
        b.stamp = now;
        let allowed = b.tokens >= 1.0;
        if allowed {
            b.tokens -= 1.0;
        }
        Taken {
            allowed,
            remaining: b.tokens as u64,
            reset_s: ((self.burst - b.tokens) / self.rate).ceil() as u64,
            retry_after_s: (((1.0 - b.tokens) / self.rate).ceil() as u64).max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_key_is_found_only_by_its_exact_text() {
        let store = KeyStore::new(vec![ApiKey { key: "k-1".into(), account: 1 }]).unwrap();
        assert_eq!(store.lookup(b"k-1").map(|k| k.account), Some(1));
        assert!(store.lookup(b"k-2").is_none() && store.lookup(b"").is_none());
        let twice = vec![ApiKey { key: "a".into(), account: 1 }, ApiKey { key: "a".into(), account: 2 }];
        assert_eq!(KeyStore::new(twice).unwrap_err(), "API keys: a key is listed twice (account=2)");
        assert_eq!(format!("{:?}", store.lookup(b"k-1").unwrap()), "ApiKey(account=1)");
    }

    #[test]
    fn a_bucket_refuses_past_its_burst_and_refills_at_its_rate() {
        let limits = RateLimits::new(10.0, 2);
        let t0 = Instant::now();
        assert!(limits.take(b"a", t0).allowed);
        let second = limits.take(b"a", t0);
        assert_eq!((second.allowed, second.remaining), (true, 0));
        let third = limits.take(b"a", t0);
        assert_eq!((third.allowed, third.retry_after_s, third.reset_s), (false, 1, 1));
        assert!(limits.take(b"b", t0).allowed, "another client has its own bucket");
        assert!(limits.take(b"a", t0 + Duration::from_millis(110)).allowed);
    }
}

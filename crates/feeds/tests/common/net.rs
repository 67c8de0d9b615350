//! Connector tests' shared setup: a configuration pointed at a local replay server with short
//! timeouts, the options of a replay as fast as possible, and a run bounded in time.
#![allow(dead_code)]

use std::time::Duration;

use wintermute_feeds::net::client::{run_feed, stop_pair, Backoff, FeedConfig, FeedCounters};
use wintermute_feeds::net::replay_server::{Fault, Pace, ReplayOptions, ReplayServer};
use wintermute_feeds::sync::FeedHandler;
use wintermute_feeds::verify::handler_report;

/// `c` aimed at `server` (WebSocket and REST), with timeouts and backoff sized for 127.0.0.1
/// and at most 5 connection attempts.
pub fn local(mut c: FeedConfig, server: &ReplayServer) -> FeedConfig {
    c.ws_base = server.ws_url();
    c.rest_base = server.rest_url();
    c.connect_timeout = Duration::from_secs(2);
    c.http_timeout = Duration::from_secs(2);
    c.keepalive_after = Duration::from_secs(2);
    c.idle_timeout = Duration::from_secs(4);
    c.backoff = Backoff { initial: Duration::from_millis(20), max: Duration::from_millis(200), jitter: 0.5 };
    c.max_attempts = Some(5);
    c.resubscribe_interval = Duration::from_secs(2);
    c
}

/// A replay as fast as the client reads, with `faults` injected.
pub fn fast(faults: Vec<Fault>) -> ReplayOptions {
    ReplayOptions { pace: Pace::Fast, faults, ..Default::default() }
}

/// Runs the connector on `books` until `done` (panics on a connector error, or after `limit`
/// with the books' report).
pub async fn run_until<H: FeedHandler>(
    cfg: &FeedConfig,
    books: &mut H,
    limit: Duration,
    done: impl FnMut(&H, &FeedCounters) -> bool,
) -> FeedCounters {
    let (_handle, mut stop) = stop_pair();
    match tokio::time::timeout(limit, run_feed(cfg, books, &mut stop, done)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => panic!("connector failed: {e}"),
        Err(_) => panic!("timed out after {limit:?}: {}", handler_report(books).to_json()),
    }
}

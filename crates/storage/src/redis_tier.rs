//! [`RedisWriter`]: the Redis hot tier's one writer, pipelined, to a Redis server or a Redis
//! Cluster (`docs/storage.md`, *The Redis hot tier*).
//!
//! A round stages hashes ([`RedisWriter::stage_hash`]: conflated, the newest state of each
//! key kept until Redis has it) and stream entries ([`RedisWriter::push_entry`]), then
//! [`RedisWriter::flush`] writes them in one pipeline. Redis being away is an error of that
//! round ([`RedisTierError`]), never a wait: the entries of a failed round are dropped
//! (counted), the hashes stay staged, and until `retry` has passed a flush does not try again
//! (it drops the round's entries and returns [`Flushed::Waiting`]). The first round that
//! succeeds writes every staged hash, so the cache is current again at once.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use wintermute_storage::redis_fields::{key, xadd, KeyKind};
//! use wintermute_storage::redis_tier::{RedisOptions, RedisWriter};
//!
//! let mut w = RedisWriter::open("redis://127.0.0.1:6379/0", RedisOptions::default()).unwrap();
//! let mut hset = redis::cmd("HSET");
//! hset.arg("wm:{BTC-USD}:consolidated").arg("bid").arg("64000.25");
//! w.stage_hash("wm:{BTC-USD}:consolidated".into(), hset);
//! let mut entry = xadd(&key("wm", "BTC-USD", KeyKind::Ticks), 10_000);
//! entry.arg("bid").arg("64000.25");
//! w.push_entry(entry);
//! w.flush(Instant::now()).unwrap();
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant};

use redis::cluster::{ClusterClient, ClusterConnection};
use redis::{Client, Cmd, Connection, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError};
use wintermute_engine::audit_rows::{AuditColumns, AuditReplay};

use crate::redis_fields::{book_hset, trade_xadd, TRADE};

/// How a [`RedisWriter`] reaches Redis.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// The URL is a node of a Redis Cluster (the pipeline is split by slot).
    pub cluster: bool,
    /// Connect, read and write timeout.
    pub timeout: Duration,
    /// After a failed round, no new try before this much time.
    pub retry: Duration,
    /// `MAXLEN ~` of the streams.
    pub stream_len: u64,
    /// The key prefix of the rounds the writer encodes itself ([`RedisWriter::stage_audit`]).
    pub prefix: String,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            cluster: false,
            timeout: Duration::from_millis(250),
            retry: Duration::from_secs(1),
            stream_len: 10_000,
            prefix: "wm".into(),
        }
    }
}

/// Why a round was not written.
#[derive(Debug, thiserror::Error)]
pub enum RedisTierError {
    /// The URL cannot be used (reason `REDIS_URL`).
    #[error("redis url: {0}")]
    Url(String),
    /// No connection, a timeout or a dropped connection (reason `REDIS_UNREACHABLE`).
    #[error("redis unreachable: {0}")]
    Unreachable(String),
    /// Redis answered with an error (reason `REDIS_ERROR`).
    #[error("redis error: {0}")]
    Server(String),
}

impl RedisTierError {
    /// The machine-readable reason code.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Url(_) => "REDIS_URL",
            Self::Unreachable(_) => "REDIS_UNREACHABLE",
            Self::Server(_) => "REDIS_ERROR",
        }
    }

    fn of(e: &RedisError) -> Self {
        let unreachable = e.is_io_error()
            || e.is_timeout()
            || e.is_connection_dropped()
            || e.is_connection_refusal()
            || matches!(e.kind(), ErrorKind::Io | ErrorKind::ClusterConnectionNotFound);
        if unreachable {
            Self::Unreachable(e.to_string())
        } else {
            Self::Server(e.to_string())
        }
    }
}

/// What a [`RedisWriter::flush`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flushed {
    /// The round was written: `updates` hashes and entries; `recovered`: the previous round
    /// had failed.
    Written { updates: usize, recovered: bool },
    /// Redis was away and `retry` has not passed: the round's `dropped` entries were dropped,
    /// its hashes stay staged.
    Waiting { dropped: usize },
}

/// The client: one server or a cluster; its connection is opened on first use and again
/// after a failure.
enum Target {
    Single {
        client: Client,
        conn: Option<Connection>,
    },
    /// `nodes`: every node the cluster named when last asked (the URL's at first), so that a
    /// client built again after a failure starts from any live one.
    Cluster {
        client: ClusterClient,
        conn: Option<Box<ClusterConnection>>,
        nodes: Vec<ConnectionInfo>,
    },
}

/// Counters since the writer was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RedisCounters {
    /// Hashes and stream entries written.
    pub updates: u64,
    /// Stream entries not written (Redis away).
    pub dropped: u64,
    /// Failed rounds.
    pub errors: u64,
}

/// Writes the hot tier's hashes and streams, one pipeline a round (see the module
/// documentation). Not thread-safe: one writer per publisher thread.
pub struct RedisWriter {
    target: Target,
    options: RedisOptions,
    /// Staged hashes: key -> its newest `HSET`, in the order the keys were first staged.
    pending: Vec<(String, Cmd)>,
    index: HashMap<String, usize>,
    entries: Vec<Cmd>,
    down: bool,
    retry_at: Option<Instant>,
    counters: RedisCounters,
    text: String,
}

impl std::fmt::Debug for RedisWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisWriter")
            .field("cluster", &self.options.cluster)
            .field("pending", &self.pending.len())
            .field("down", &self.down)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl RedisWriter {
    /// A writer to the Redis at `url` (`redis://host:port/db`), or to the Redis Cluster that
    /// `url` is a node of. Connects on the first flush; fails only on a URL it cannot use.
    pub fn open(url: &str, options: RedisOptions) -> Result<Self, RedisTierError> {
        let bad = |e: RedisError| RedisTierError::Url(e.to_string());
        let target = if options.cluster {
            let nodes = vec![url.into_connection_info().map_err(bad)?];
            Target::Cluster { client: cluster_client(&nodes, options.timeout).map_err(bad)?, conn: None, nodes }
        } else {
            Target::Single { client: Client::open(url).map_err(bad)?, conn: None }
        };
        Ok(Self {
            target,
            options,
            pending: Vec::new(),
            index: HashMap::new(),
            entries: Vec::new(),
            down: false,
            retry_at: None,
            counters: RedisCounters::default(),
            text: String::new(),
        })
    }

    /// True while the last round failed.
    pub fn down(&self) -> bool {
        self.down
    }

    /// Hashes staged and not yet written.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    pub fn counters(&self) -> RedisCounters {
        self.counters
    }

    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// Closes the connection; the next round opens one again.
    pub fn close(&mut self) {
        match &mut self.target {
            Target::Single { conn, .. } => *conn = None,
            Target::Cluster { conn, .. } => *conn = None,
        }
    }

    /// Stages `hset` (an `HSET key field value ...`) as the newest state of hash `key`,
    /// replacing any staged one.
    pub fn stage_hash(&mut self, key: String, hset: Cmd) {
        match self.index.get(&key) {
            Some(&i) => self.pending[i].1 = hset,
            None => {
                self.index.insert(key.clone(), self.pending.len());
                self.pending.push((key, hset));
            }
        }
    }

    /// Stages a round: `hashes` (key, `HSET`) as [`Self::stage_hash`], `entries` as
    /// [`Self::push_entry`].
    pub fn stage(&mut self, hashes: impl IntoIterator<Item = (String, Cmd)>, entries: impl IntoIterator<Item = Cmd>) {
        for (key, hset) in hashes {
            self.stage_hash(key, hset);
        }
        self.entries.extend(entries);
    }

    /// Adds a stream entry (an `XADD`, see [`crate::redis_fields::xadd`]) to this round.
    pub fn push_entry(&mut self, xadd: Cmd) {
        self.entries.push(xadd);
    }

    /// Stages the audit writer's round (keys under the options' `prefix`): the books of `replay`'s touched instruments (top
    /// `levels` levels, as of journal sequence `seq`, stamped `ts_ns`) and an entry per trade
    /// row of `rows` after journal sequence `after_seq` and at or before `seq`. Returns the
    /// trade entries added.
    pub fn stage_audit(
        &mut self,
        replay: &AuditReplay,
        rows: &AuditColumns,
        after_seq: u64,
        seq: u64,
        ts_ns: u64,
        levels: usize,
    ) -> usize {
        let books = replay.engine().books();
        for &id in replay.touched() {
            if let Some(book) = books.get(id as usize) {
                let (key, hset) = book_hset(&self.options.prefix, book, seq, ts_ns, levels);
                self.stage_hash(key, hset);
            }
        }
        let before = self.entries.len();
        for i in 0..rows.len() {
            if rows.kind[i] == TRADE && (after_seq + 1..=seq).contains(&rows.journal_seq[i]) {
                let c = trade_xadd(&self.options.prefix, rows, i, self.options.stream_len, &mut self.text);
                self.entries.push(c);
            }
        }
        self.entries.len() - before
    }

    /// Writes the staged hashes and this round's entries in one pipeline (see the module
    /// documentation for what a failure keeps and drops).
    pub fn flush(&mut self, now: Instant) -> Result<Flushed, RedisTierError> {
        if self.down && self.retry_at.is_some_and(|at| now < at) {
            let dropped = self.entries.len();
            self.entries.clear();
            self.counters.dropped += dropped as u64;
            return Ok(Flushed::Waiting { dropped });
        }
        let updates = self.pending.len() + self.entries.len();
        let result = if updates == 0 { Ok(()) } else { self.exec() };
        self.entries.clear();
        match result {
            Ok(()) => {
                let recovered = self.down;
                self.pending.clear();
                self.index.clear();
                self.down = false;
                self.retry_at = None;
                self.counters.updates += updates as u64;
                Ok(Flushed::Written { updates, recovered })
            }
            Err(e) => {
                self.counters.errors += 1;
                self.counters.dropped += (updates - self.pending.len()) as u64;
                self.down = true;
                self.retry_at = Some(now + self.options.retry);
                Err(e)
            }
        }
    }

    /// One pipeline of the staged hashes and the round's entries (moved out of `entries`).
    fn exec(&mut self) -> Result<(), RedisTierError> {
        let timeout = self.options.timeout;
        let hashes = self.pending.iter().map(|(_, c)| c.clone());
        let entries = std::mem::take(&mut self.entries);
        match &mut self.target {
            Target::Single { client, conn } => {
                let mut pipe = redis::pipe();
                for c in hashes.chain(entries) {
                    pipe.add_command(c);
                }
                if conn.is_none() {
                    let c = client.get_connection_with_timeout(timeout).map_err(|e| RedisTierError::of(&e))?;
                    c.set_read_timeout(Some(timeout)).map_err(|e| RedisTierError::of(&e))?;
                    c.set_write_timeout(Some(timeout)).map_err(|e| RedisTierError::of(&e))?;
                    *conn = Some(c);
                }
                let c = conn.as_mut().expect("connected above");
                pipe.exec(c).map_err(|e| {
                    // A timeout or a broken connection leaves answers unread: start afresh.
                    *conn = None;
                    RedisTierError::of(&e)
                })
            }
            Target::Cluster { client, conn, nodes } => {
                let mut pipe = redis::cluster::cluster_pipe();
                for c in hashes.chain(entries) {
                    pipe.add_command(c);
                }
                if conn.is_none() {
                    let mut c = client.get_connection().map_err(|e| RedisTierError::of(&e))?;
                    let known = cluster_nodes(&mut c, &nodes[0]);
                    if !known.is_empty() {
                        *nodes = known;
                    }
                    *conn = Some(Box::new(c));
                }
                let c = conn.as_mut().expect("connected above");
                pipe.exec(c.as_mut()).map_err(|e| {
                    // The connection's pipelines do not look at the topology again after a
                    // node fails: start afresh, from any node still known, so a promoted
                    // replica is found as soon as the cluster names it.
                    *conn = None;
                    if let Ok(fresh) = cluster_client(nodes, timeout) {
                        *client = fresh;
                    }
                    RedisTierError::of(&e)
                })
            }
        }
    }
}

/// A cluster client starting from `nodes`, failing fast: one retry and no wait (the writer
/// retries by itself, every `retry`).
fn cluster_client(nodes: &[ConnectionInfo], timeout: Duration) -> Result<ClusterClient, RedisError> {
    ClusterClient::builder(nodes.to_vec())
        .connection_timeout(timeout)
        .response_timeout(timeout)
        .retries(1)
        .min_retry_wait(1)
        .max_retry_wait(10)
        .build()
}

/// The nodes `CLUSTER NODES` names that are not marked failed (their address in `like`'s
/// settings); empty if the cluster does not say.
fn cluster_nodes(conn: &mut ClusterConnection, like: &ConnectionInfo) -> Vec<ConnectionInfo> {
    redis::cmd("CLUSTER").arg("NODES").query::<String>(conn).map(|t| parse_cluster_nodes(&t, like)).unwrap_or_default()
}

/// The live nodes of a `CLUSTER NODES` reply (`id ip:port@cport[,hostname] flags ...` a line).
fn parse_cluster_nodes(text: &str, like: &ConnectionInfo) -> Vec<ConnectionInfo> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(_id), Some(addr), Some(flags)) = (f.next(), f.next(), f.next()) else { continue };
        if flags.split(',').any(|x| matches!(x, "fail" | "fail?" | "noaddr" | "handshake")) {
            continue;
        }
        let addr = addr.split(['@', ',']).next().unwrap_or("");
        let Some((host, port)) = addr.rsplit_once(':') else { continue };
        let (Ok(port), false) = (port.parse::<u16>(), host.is_empty()) else { continue };
        out.push(like.clone().set_addr(ConnectionAddr::Tcp(host.to_owned(), port)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_cluster_nodes_are_read_from_cluster_nodes() {
        let like = "redis://:secret@127.0.0.1:7000/0".into_connection_info().unwrap();
        let text = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7002@17002,host-b master - 0 0 2 connected 5461-10922
c3 127.0.0.1:7003@17003 master,fail - 0 0 3 connected 10923-16383
d4 :0@0 slave,noaddr c3 0 0 3 disconnected
e5 127.0.0.1:7005@17005 slave b2 0 0 2 connected
";
        let nodes = parse_cluster_nodes(text, &like);
        let addrs: Vec<String> = nodes.iter().map(|n| n.addr().to_string()).collect();
        assert_eq!(addrs, ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7005"]);
        assert!(nodes.iter().all(|n| n.redis_settings().password() == Some("secret")), "keeps the URL's settings");
        assert!(parse_cluster_nodes("garbage\n", &like).is_empty());
    }
}

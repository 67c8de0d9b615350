//! `RedisWriter` against a real Redis: `WINTERMUTE_TEST_REDIS_URL`, else the server on
//! 127.0.0.1:6379 when one answers, else a throwaway `redis-server` on a free port. Each test
//! writes under a key prefix of its own and deletes its keys. Without any server a test says
//! so and passes, except under `CI=true`, where that is a failure.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use redis::Commands;
use wintermute_core::{Command as EngineCommand, NewOrder, Side};
use wintermute_engine::audit_rows::{AuditInstrument, AuditReplay};
use wintermute_engine::journal::{FsyncPolicy, Journal, JournalConfig};
use wintermute_storage::redis_fields::{key, xadd, KeyKind};
use wintermute_storage::redis_tier::{Flushed, RedisOptions, RedisTierError, RedisWriter};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn answers(url: &str) -> bool {
    redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
        .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
        .is_ok()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `redis-server` on `port` (no persistence), killed on drop; None without the binary.
struct Server(Child);

impl Server {
    fn start(port: u16) -> Option<Self> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let server = Server(child);
        let url = format!("redis://127.0.0.1:{port}/0");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !answers(&url) {
            assert!(Instant::now() < deadline, "redis-server on port {port} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn no_server(why: &str) {
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and no Redis: {why}");
    eprintln!("no Redis ({why}): test not run");
}

/// A server's URL (and the server, when this test started it).
fn redis_url() -> Option<(String, Option<Server>)> {
    if let Ok(url) = std::env::var("WINTERMUTE_TEST_REDIS_URL") {
        assert!(answers(&url), "WINTERMUTE_TEST_REDIS_URL={url}: no server answers");
        return Some((url, None));
    }
    let local = "redis://127.0.0.1:6379/0".to_owned();
    if answers(&local) {
        return Some((local, None));
    }
    let port = free_port();
    match Server::start(port) {
        Some(s) => Some((format!("redis://127.0.0.1:{port}/0"), Some(s))),
        None => {
            no_server("no server on 127.0.0.1:6379 and no redis-server binary");
            None
        }
    }
}

/// A prefix of this test's own; its keys are deleted on drop.
struct Prefix {
    prefix: String,
    url: String,
}

impl Prefix {
    fn new(url: &str) -> Self {
        let prefix = format!("wmrusttest{}x{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        Self { prefix, url: url.to_owned() }
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let mut c = redis::Client::open(self.url.as_str()).unwrap().get_connection().unwrap();
        let keys: Vec<String> = c.scan_match(format!("{}:*", self.prefix)).unwrap().collect::<Result<_, _>>().unwrap();
        if !keys.is_empty() {
            let _: () = c.del(keys).unwrap();
        }
    }
}

fn btc() -> AuditInstrument {
    AuditInstrument::from_decimals("BTC-USD", "0.01", "0.001", "0.001", "100", "1", "1000000").unwrap()
}

/// A journal of a resting sell, a resting buy below it and a buy that trades with the sell.
fn journal(dir: &std::path::Path) {
    let (mut j, _) = Journal::open(JournalConfig::new(dir).fsync(FsyncPolicy::None)).unwrap();
    j.append(0, &EngineCommand::New(NewOrder::limit(1, 7, Side::Sell, 6_400_025, 1500))).unwrap();
    j.append(0, &EngineCommand::New(NewOrder::limit(2, 8, Side::Buy, 6_399_900, 5))).unwrap();
    j.append(0, &EngineCommand::New(NewOrder::limit(3, 9, Side::Buy, 6_400_100, 500))).unwrap();
    j.close().unwrap();
}

#[test]
fn an_audit_round_writes_the_documented_book_and_trade_fields() {
    let Some((url, _server)) = redis_url() else { return };
    let p = Prefix::new(&url);
    let dir = tempfile::tempdir().unwrap();
    journal(dir.path());
    let mut replay = AuditReplay::new(vec![btc()]).unwrap();
    let rows = replay.read(dir.path(), 0).unwrap();
    let options = RedisOptions { stream_len: 100, prefix: p.prefix.clone(), ..RedisOptions::default() };
    let mut w = RedisWriter::open(&url, options).unwrap();
    let trades = w.stage_audit(&replay, &rows, 0, replay.cursor(), 1_700, 10);
    assert_eq!(trades, 1);
    assert_eq!(w.flush(Instant::now()).unwrap(), Flushed::Written { updates: 2, recovered: false });

    let mut c = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let book: Vec<(String, String)> = c.hgetall(key(&p.prefix, "BTC-USD", KeyKind::Book)).unwrap();
    let expected = [
        ("seq", "3"),
        ("ts_ns", "1700"),
        ("bid", "63999.00"),
        ("bid_qty", "0.005"),
        ("ask", "64000.25"),
        ("ask_qty", "1.000"),
        ("bids", r#"[["63999.00", "0.005", 1]]"#),
        ("asks", r#"[["64000.25", "1.000", 1]]"#),
    ];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    assert_eq!(book, expected);
    let stream: Vec<(String, Vec<(String, String)>)> =
        redis::cmd("XRANGE").arg(key(&p.prefix, "BTC-USD", KeyKind::Trades)).arg("-").arg("+").query(&mut c).unwrap();
    assert_eq!(stream.len(), 1);
    let trade_ts = rows.ts_ns[rows.kind.iter().position(|&k| k == 3).unwrap()].to_string();
    let want = [("journal_seq", "3"), ("n", "1"), ("price", "64000.25"), ("qty", "0.500"), ("side", "buy")];
    let mut want: Vec<(String, String)> = want.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    want.push(("ts_ns".to_owned(), trade_ts));
    let fields = &stream[0].1;
    assert_eq!(fields, &want, "the fields in the documented order");

    // Only the trades in (after_seq, seq] are published.
    assert_eq!(w.stage_audit(&replay, &rows, 3, 3, 1_800, 10), 0);
    assert_eq!(w.stage_audit(&replay, &rows, 0, 2, 1_800, 10), 0);
    assert_eq!(w.stage_audit(&replay, &rows, 2, 3, 1_800, 10), 1);
}

#[test]
fn hashes_conflate_and_a_stream_is_trimmed() {
    let Some((url, _server)) = redis_url() else { return };
    let p = Prefix::new(&url);
    let mut w = RedisWriter::open(&url, RedisOptions { stream_len: 10, ..RedisOptions::default() }).unwrap();
    let k = key(&p.prefix, "ETH-USD", KeyKind::Consolidated);
    for bid in ["1.5", "1.6"] {
        let mut hset = redis::cmd("HSET");
        hset.arg(&k).arg("bid").arg(bid);
        w.stage_hash(k.clone(), hset);
    }
    assert_eq!(w.pending(), 1);
    let ticks = key(&p.prefix, "ETH-USD", KeyKind::Ticks);
    for i in 0..1_000 {
        let mut e = xadd(&ticks, 10);
        e.arg("i").arg(i);
        w.push_entry(e);
    }
    assert_eq!(w.flush(Instant::now()).unwrap(), Flushed::Written { updates: 1_001, recovered: false });
    assert_eq!(w.pending(), 0);
    let mut c = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let bid: String = c.hget(&k, "bid").unwrap();
    assert_eq!(bid, "1.6");
    let len: usize = redis::cmd("XLEN").arg(&ticks).query(&mut c).unwrap();
    assert!((10..1_000).contains(&len), "MAXLEN ~ 10 left {len} entries");
    assert_eq!(w.counters().updates, 1_001);
}

#[test]
fn redis_away_is_an_error_of_the_round_and_the_hashes_are_written_when_it_returns() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}/0");
    let options = RedisOptions { retry: Duration::from_millis(100), ..RedisOptions::default() };
    let mut w = RedisWriter::open(&url, options).unwrap();
    let k = "wmrustdown:{BTC-USD}:book".to_owned();
    let mut hset = redis::cmd("HSET");
    hset.arg(&k).arg("bid").arg("1");
    w.stage_hash(k.clone(), hset);
    w.push_entry(xadd("wmrustdown:{BTC-USD}:trades", 10).arg("n").arg(1).clone());
    let start = Instant::now();
    let err = w.flush(start).unwrap_err();
    assert!(matches!(err, RedisTierError::Unreachable(_)), "{err}");
    assert_eq!(err.reason(), "REDIS_UNREACHABLE");
    assert!(start.elapsed() < Duration::from_secs(2), "a refused connection must not block");
    assert!(w.down());
    assert_eq!((w.counters().errors, w.counters().dropped), (1, 1));
    // Within `retry`: no new try, the entry dropped, the hash kept.
    w.push_entry(xadd("wmrustdown:{BTC-USD}:trades", 10).arg("n").arg(2).clone());
    assert_eq!(w.flush(start).unwrap(), Flushed::Waiting { dropped: 1 });
    assert_eq!(w.pending(), 1);

    let Some(_server) = Server::start(port) else {
        return no_server("no redis-server binary to bring Redis back");
    };
    let later = Instant::now() + Duration::from_millis(200);
    assert_eq!(w.flush(later).unwrap(), Flushed::Written { updates: 1, recovered: true });
    assert!(!w.down());
    let mut c = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let bid: String = c.hget(&k, "bid").unwrap();
    assert_eq!(bid, "1");
    assert!(!c.exists::<_, bool>("wmrustdown:{BTC-USD}:trades").unwrap(), "dropped entries stay dropped");
}

#[test]
fn a_bad_url_is_an_error_not_a_panic() {
    let err = RedisWriter::open("http://127.0.0.1:1/", RedisOptions::default()).unwrap_err();
    assert_eq!(err.reason(), "REDIS_URL");
}

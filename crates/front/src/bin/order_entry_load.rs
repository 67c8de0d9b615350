//! A bounded, self-stopping load generator for REST order entry: `--connections` keep-alive
//! HTTP/1.1 connections to one address, each placing a limit order (`POST /api/orders`) and
//! canceling it (`DELETE /api/orders/{id}`) in a loop for `--seconds`. Prints one JSON line:
//! orders placed and canceled, requests, their rate, latency percentiles and the answers that
//! were not 201/200; with `--ids FILE`, writes the acknowledged order ids (one a line) for the
//! caller to check against the venue (`scripts/bench_order_entry.py`).
//!
//! A small client on purpose (one thread, a hand-written request and a minimal answer reader):
//! on a 2-core machine the client competes with the server for the cores.
//!
//! ```text
//! order_entry_load --addr 127.0.0.1:8001 --key demo-key-1 --connections 16 --seconds 10 \
//!     --symbol BTC-USD --qty 0.001 --price 1000
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Debug, Clone)]
struct Args {
    addr: String,
    keys: Vec<String>,
    connections: usize,
    seconds: f64,
    symbol: String,
    qty: String,
    price: String,
    ids: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        addr: String::new(),
        keys: Vec::new(),
        connections: 16,
        seconds: 10.0,
        symbol: "BTC-USD".into(),
        qty: "0.001".into(),
        price: "1000".into(),
        ids: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => a.addr = value,
            "--key" => a.keys = value.split(',').map(str::to_owned).collect(),
            "--connections" => a.connections = value.parse().map_err(|e| format!("--connections: {e}"))?,
            "--seconds" => a.seconds = value.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--symbol" => a.symbol = value,
            "--qty" => a.qty = value,
            "--price" => a.price = value,
            "--ids" => a.ids = Some(value),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if a.addr.is_empty() || a.keys.is_empty() {
        return Err("--addr and --key are needed".into());
    }
    if !(0.0..=600.0).contains(&a.seconds) || a.connections == 0 || a.connections > 4096 {
        return Err("--seconds in [0, 600], --connections in [1, 4096]".into());
    }
    Ok(a)
}

/// What one connection did.
#[derive(Debug, Default)]
struct Tally {
    latencies_ns: Vec<u64>,
    placed: Vec<u64>,
    canceled: u64,
    other: BTreeMap<u16, u64>,
}

async fn request(
    r: &mut BufReader<TcpStream>,
    head: &[u8],
    body: &[u8],
    line: &mut String,
    out: &mut Vec<u8>,
) -> std::io::Result<u16> {
    r.get_mut().write_all(head).await?;
    if !body.is_empty() {
        r.get_mut().write_all(body).await?;
    }
    line.clear();
    r.read_line(line).await?;
    let status: u16 =
        line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| std::io::Error::other("bad status line"))?;
    let mut length = 0usize;
    loop {
        line.clear();
        if r.read_line(line).await? == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().map_err(std::io::Error::other)?;
            }
        }
    }
    out.resize(length, 0);
    r.read_exact(out).await?;
    Ok(status)
}

fn order_id(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?;
    let rest = &text[text.find("\"order_id\":")? + 11..];
    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

async fn connection(a: Args, index: usize, deadline: Instant) -> std::io::Result<Tally> {
    let key = &a.keys[index % a.keys.len()];
    let stream = TcpStream::connect(&a.addr).await?;
    stream.set_nodelay(true)?;
    let mut r = BufReader::new(stream);
    let body =
        format!(r#"{{"symbol":"{}","side":"sell","type":"limit","qty":"{}","price":"{}"}}"#, a.symbol, a.qty, a.price);
    let place = format!(
        "POST /api/orders HTTP/1.1\r\nhost: {}\r\nx-api-key: {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        a.addr,
        body.len()
    );
    let (mut tally, mut line, mut out) = (Tally::default(), String::new(), Vec::new());
    while Instant::now() < deadline {
        let t0 = Instant::now();
        let status = request(&mut r, place.as_bytes(), body.as_bytes(), &mut line, &mut out).await?;
        tally.latencies_ns.push(t0.elapsed().as_nanos() as u64);
        let id = match (status, order_id(&out)) {
            (201, Some(id)) => id,
            _ => {
                *tally.other.entry(status).or_default() += 1;
                continue;
            }
        };
        tally.placed.push(id);
        let cancel = format!("DELETE /api/orders/{id} HTTP/1.1\r\nhost: {}\r\nx-api-key: {key}\r\n\r\n", a.addr);
        let t1 = Instant::now();
        let status = request(&mut r, cancel.as_bytes(), b"", &mut line, &mut out).await?;
        tally.latencies_ns.push(t1.elapsed().as_nanos() as u64);
        if status == 200 {
            tally.canceled += 1;
        } else {
            *tally.other.entry(status).or_default() += 1;
        }
    }
    Ok(tally)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1e3
}

fn main() {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("order_entry_load: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(a.seconds);
    let tallies = rt.block_on(async {
        let tasks: Vec<_> = (0..a.connections).map(|i| tokio::spawn(connection(a.clone(), i, deadline))).collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.map_err(std::io::Error::other).and_then(|r| r));
        }
        out
    });
    let elapsed = started.elapsed().as_secs_f64();
    let (mut latencies, mut placed, mut canceled, mut other, mut failed) =
        (Vec::new(), Vec::new(), 0, BTreeMap::new(), 0);
    for t in tallies {
        match t {
            Ok(t) => {
                latencies.extend(t.latencies_ns);
                placed.extend(t.placed);
                canceled += t.canceled;
                for (s, n) in t.other {
                    *other.entry(s).or_insert(0u64) += n;
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("order_entry_load: a connection failed: {e}");
            }
        }
    }
    latencies.sort_unstable();
    if let Some(path) = &a.ids {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("the ids file"));
        for id in &placed {
            writeln!(f, "{id}").expect("the ids file");
        }
    }
    let other: BTreeMap<String, u64> = other.into_iter().map(|(s, n)| (s.to_string(), n)).collect();
    let report = serde_json::json!({
        "seconds": elapsed,
        "connections": a.connections,
        "placed": placed.len(),
        "canceled": canceled,
        "requests": latencies.len(),
        "orders_per_s": placed.len() as f64 / elapsed,
        "requests_per_s": latencies.len() as f64 / elapsed,
        "p50_us": percentile(&latencies, 0.50),
        "p99_us": percentile(&latencies, 0.99),
        "p999_us": percentile(&latencies, 0.999),
        "other_statuses": other,
        "failed_connections": failed,
    });
    println!("{report}");
}

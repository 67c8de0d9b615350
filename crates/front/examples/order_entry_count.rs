//! The listener's cost per order without Python, for instruction counts: the engine (one
//! instrument, parked threads), the venue's order table, ledger and book mirrors, a drain
//! thread that does in Rust what the Python venue's drain thread does with each batch
//! (`VenueBooks::apply`, `VenueOrders::apply`, `VenueLedger::carry_out`), the listener, and
//! one keep-alive client placing a limit order and canceling it `--orders` times in a row
//! (`--threads`: the listener's runtime threads, 2 by default as the service starts it).
//!
//! ```text
//! CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
//!     cargo build --release -p wintermute-front --example order_entry_count -j2
//! valgrind --tool=callgrind target/release/examples/order_entry_count --orders 2000
//! valgrind --tool=callgrind target/release/examples/order_entry_count --orders 4000
//! ```
//!
//! The difference of the two totals over the 2,000 orders between them is the cost of one
//! order (a place and a cancel: two requests), every thread of the process together (the
//! client included: `client_orders` inclusive).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wintermute_core::decimal::Decimal;
use wintermute_core::InstrumentSpec;
use wintermute_engine::pipeline::output_record::encode_output;
use wintermute_engine::pipeline::{BufferedSubscription, Pipeline, PipelineConfig, SharedGateway, ThreadConfig};
use wintermute_engine::venue_books::VenueBooks;
use wintermute_engine::venue_ledger::{InstrumentAssets, LedgerConfig, VenueLedger};
use wintermute_engine::venue_orders::VenueOrders;
use wintermute_engine::wait::WaitStrategy;
use wintermute_front::{ApiKey, Front, FrontConfig};

fn main() {
    let (mut orders, mut threads) = (2000usize, 2usize);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next()) {
            ("--orders", Some(n)) => orders = n.parse().expect("--orders N"),
            ("--threads", Some(n)) => threads = n.parse().expect("--threads N"),
            _ => panic!("usage: order_entry_count [--orders N] [--threads N]"),
        }
    }
    let spec = InstrumentSpec::from_units("BTC-USD", "0.01", "0.001", 1, 100_000, 100, 100_000_000).unwrap();
    let park = WaitStrategy::Park { spins: 0, yields: 0, timeout: Duration::from_millis(1) };
    let mut config = PipelineConfig::for_cores(vec![spec], 2).gateways(2);
    config.risk_thread = ThreadConfig::new(park);
    config.matching_thread = ThreadConfig::new(park);
    let (pipeline, mut handles) = Pipeline::start(config).unwrap();
    let entry_gateway = SharedGateway::new(handles.gateways.remove(1));
    let venue_gateway = handles.gateways.remove(0);
    let sub = BufferedSubscription::shared(handles.subscriptions.remove(0));

    let d = |t: &str| Decimal::parse(t).unwrap();
    let ledger = VenueLedger::new(&LedgerConfig {
        instruments: vec![InstrumentAssets {
            base: "BTC".into(),
            quote: "USD".into(),
            tick: d("0.01"),
            lot: d("0.001"),
        }],
        maker_bps: d("0"),
        taker_bps: d("0"),
        defaults: vec![("BTC".into(), d("1000000")), ("USD".into(), d("1000000000"))],
        accounts: Vec::new(),
    })
    .unwrap();
    let table = Arc::new(Mutex::new(VenueOrders::new(1, venue_gateway.id(), 1_000_000)));
    let ledger = Arc::new(Mutex::new(ledger));
    let books = Arc::new(Mutex::new(VenueBooks::new(1)));

    // The venue's drain, in Rust.
    let stop = Arc::new(AtomicBool::new(false));
    let drain = {
        let (table, ledger, books, sub, stop) =
            (Arc::clone(&table), Arc::clone(&ledger), Arc::clone(&books), Arc::clone(&sub), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (mut raw, mut kept, mut effects) = (Vec::new(), Vec::new(), Vec::new());
            while !stop.load(Ordering::Relaxed) {
                raw.clear();
                BufferedSubscription::wait_take(&sub, 4096, Duration::from_millis(50), |o| encode_output(o, &mut raw));
                if raw.is_empty() {
                    continue;
                }
                kept.clear();
                books.lock().unwrap().apply(&raw, &mut kept).unwrap();
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
                table.lock().unwrap().apply(&kept, now as u64, &mut effects).unwrap();
                let failed = ledger.lock().unwrap().carry_out(&mut effects);
                assert!(failed.is_empty(), "{failed:?}");
                effects.clear();
            }
        })
    };

    let instruments = [(
        "BTC-USD".to_owned(),
        "0.01".to_owned(),
        "0.001".to_owned(),
        "0.001".to_owned(),
        "100".to_owned(),
        "1".to_owned(),
        "1000000".to_owned(),
    )];
    let mut front_config = FrontConfig::new("127.0.0.1:0".parse().unwrap());
    front_config.keys = vec![ApiKey { key: "demo-key-1".into(), account: 1 }];
    let front = Front::start_venue(
        (table, ledger, books, entry_gateway),
        &instruments,
        front_config.keys.iter().map(|k| (k.key.clone(), k.account)).collect(),
        &front_config.bind.to_string(),
        (1e9, 1_000_000_000, 65_536, 5.0),
        Default::default(),
        threads,
    )
    .unwrap();
    let t0 = Instant::now();
    client_orders(&front.local_addr().to_string(), orders);
    let elapsed = t0.elapsed();
    println!(
        "{orders} orders in {:.3} s ({:.0} orders/s)",
        elapsed.as_secs_f64(),
        orders as f64 / elapsed.as_secs_f64()
    );
    front.stop();
    stop.store(true, Ordering::Relaxed);
    drain.join().unwrap();
    drop(venue_gateway);
    pipeline.shutdown().unwrap();
}

/// One answer: its status and body.
fn exchange(stream: &mut TcpStream, reader: &mut BufReader<TcpStream>, request: &[u8]) -> (u16, Vec<u8>) {
    stream.write_all(request).unwrap();
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status: u16 = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = 0;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, body)
}

#[inline(never)]
fn client_orders(addr: &str, orders: usize) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let body = br#"{"symbol":"BTC-USD","side":"sell","qty":"0.001","price":"1000"}"#;
    let place = [
        format!(
            "POST /api/orders HTTP/1.1\r\nhost: x\r\nx-api-key: demo-key-1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes(),
        body.to_vec(),
    ]
    .concat();
    for _ in 0..orders {
        let (status, answer) = exchange(&mut stream, &mut reader, &place);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
        let text = std::str::from_utf8(&answer).unwrap();
        let id = text.split("\"order_id\":").nth(1).unwrap().split(',').next().unwrap();
        let cancel = format!("DELETE /api/orders/{id} HTTP/1.1\r\nhost: x\r\nx-api-key: demo-key-1\r\n\r\n");
        let (status, answer) = exchange(&mut stream, &mut reader, cancel.as_bytes());
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
        assert!(answer.windows(10).any(|w| w == b"\"canceled\""));
    }
}

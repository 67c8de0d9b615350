//! Feed benchmarks.
//!
//! - `replay/<venue>`: every recorded frame of a session (raw exchange JSON) parsed and applied
//!   to the venue's book builder (sync checks, book updates, Kraken truncation and checksums);
//!   throughput in messages/s. The builder is warmed by one replay first, as in a live session.
//! - `l2_book/1M_updates`: the L2 book alone, 1,000,000 level updates on about 2,000 levels
//!   around a random-walk mid (deletes included), best bid and ask read after each update.
//!
//! Run briefly: `cargo bench -p wintermute-feeds --bench feeds -- --warm-up-time 1 --measurement-time 3`

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wintermute_feeds::book::{L2Book, Side};
use wintermute_feeds::recording::{records, Record};
use wintermute_feeds::sync::{BinanceBooks, CoinbaseBooks, FeedHandler, KrakenBooks};
use wintermute_feeds::Decimal;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/");

enum Item {
    Frame(String),
    Http(String, String),
}

fn session(path: &str) -> Vec<Item> {
    let text = std::fs::read_to_string(format!("{DATA}{path}")).expect("recording");
    records(&text)
        .filter_map(|r| match r.expect("record") {
            Record::Received { payload, .. } => Some(Item::Frame(payload.into_owned())),
            Record::Http { url, body, .. } => Some(Item::Http(url.into_owned(), body.into_owned())),
            _ => None,
        })
        .collect()
}

fn replay(h: &mut dyn FeedHandler, items: &[Item]) {
    for it in items {
        let r = match it {
            Item::Frame(f) => h.on_frame(0, f),
            Item::Http(u, b) => h.on_http(0, u, b),
        };
        let _ = black_box(r);
    }
}

fn bench_replay(c: &mut Criterion) {
    let sessions: [(&str, &str, Box<dyn FeedHandler>); 3] = [
        (
            "binance",
            "binance/binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade.cfraw.txt",
            Box::new(BinanceBooks::new()),
        ),
        (
            "coinbase",
            "coinbase/coinbase_exchange_2021-04-17_level2_ticker_matches.cfraw.txt",
            Box::new(CoinbaseBooks::new()),
        ),
        ("kraken", "kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt", Box::new(KrakenBooks::new())),
    ];
    let mut group = c.benchmark_group("replay");
    for (name, path, mut handler) in sessions {
        let items = session(path);
        replay(handler.as_mut(), &items);
        group.throughput(Throughput::Elements(items.len() as u64));
        group.bench_function(name, |b| b.iter(|| replay(handler.as_mut(), &items)));
    }
    group.finish();
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// (side, price tick, qty index; qty index 0 = delete).
type Op = (Side, u32, u8);

/// Updates around a random-walk mid; the window is kept at ±1,000 ticks and uncrossed.
fn random_walk_ops(n: usize) -> (Vec<Op>, Vec<Decimal>, Vec<Decimal>) {
    const TICKS: u32 = 40_000;
    const WINDOW: u32 = 1_000;
    let prices: Vec<Decimal> =
        (0..TICKS).map(|t| Decimal::parse(&format!("{}.{:02}", 50_000 + t / 100, t % 100)).expect("price")).collect();
    let qtys: Vec<Decimal> = (0..64)
        .map(|q| Decimal::parse(&format!("{}.{:08}", q / 8, q * 1_234_567 % 100_000_000)).expect("qty"))
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut mid = TICKS / 2;
    let (mut bids, mut asks) = (BTreeSet::new(), BTreeSet::new());
    let mut ops = Vec::with_capacity(n);
    while ops.len() < n {
        if rng.below(10) == 0 {
            mid = if rng.below(2) == 0 { mid - 1 } else { mid + 1 };
            mid = mid.clamp(WINDOW + 2, TICKS - WINDOW - 2);
            let stale_bids: Vec<u32> = bids.iter().copied().filter(|&p| p >= mid || p < mid - WINDOW).collect();
            let stale_asks: Vec<u32> = asks.iter().copied().filter(|&p| p <= mid || p > mid + WINDOW).collect();
            for p in stale_bids {
                bids.remove(&p);
                ops.push((Side::Bid, p, 0));
            }
            for p in stale_asks {
                asks.remove(&p);
                ops.push((Side::Ask, p, 0));
            }
        }
        // Offsets concentrated near the touch.
        let off = (rng.below(WINDOW as u64) * rng.below(WINDOW as u64) / WINDOW as u64) as u32;
        let q = if rng.below(5) == 0 { 0 } else { 1 + rng.below(63) as u8 };
        if rng.below(2) == 0 {
            let p = mid - 1 - off;
            if q == 0 {
                bids.remove(&p)
            } else {
                bids.insert(p)
            };
            ops.push((Side::Bid, p, q));
        } else {
            let p = mid + 1 + off;
            if q == 0 {
                asks.remove(&p)
            } else {
                asks.insert(p)
            };
            ops.push((Side::Ask, p, q));
        }
    }
    ops.truncate(n);
    (ops, prices, qtys)
}

fn bench_book(c: &mut Criterion) {
    const N: usize = 1_000_000;
    let (ops, prices, qtys) = random_walk_ops(N);
    let mut book = L2Book::with_capacity(4_096);
    let run = |book: &mut L2Book| {
        book.clear();
        for &(side, p, q) in &ops {
            book.apply(side, prices[p as usize], qtys[q as usize]);
            black_box((book.best_bid(), book.best_ask()));
        }
    };
    run(&mut book);
    let levels = book.bids().len() + book.asks().len();
    eprintln!("l2_book: {levels} levels at the end of the 1M updates");
    let mut group = c.benchmark_group("l2_book");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.bench_function("1M_updates", |b| b.iter(|| run(&mut book)));
    group.finish();
}

criterion_group!(benches, bench_replay, bench_book);
criterion_main!(benches);

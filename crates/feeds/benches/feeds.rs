//! Feed benchmarks.
//!
//! - `replay/<venue>`: every recorded frame of a session (raw exchange JSON) parsed and applied
//!   to the venue's book builder (sync checks, book updates, Kraken truncation and checksums);
//!   throughput in messages/s. The builder is warmed by one replay first, as in a live session.
//! - `replay/binance_ticks`: the Binance session through the integer path
//!   ([`BinanceTickBooks`]: prices in ticks, quantities in lots, same sync procedure).
//! - `replay/binance_tick_feed`: the same session through the connector's integer
//!   [`FeedHandler`], [`BinanceTickFeed`] (counters, trades, tap branch; the connector's default
//!   window of 65,536 ticks, as `replay/binance_ticks`); `replay/binance_tick_feed_window4096`
//!   the same with 4,096-tick windows.
//! - `replay/binance_parse_only`: the Binance session's frames and snapshots parsed only (the
//!   parsing share of `replay/binance`).
//! - `l2_book/1M_updates`: the L2 book alone, 1,000,000 level updates on about 2,000 levels
//!   around a random-walk mid (deletes included), best bid and ask read after each update.
//! - `l2_book/tick_book_1M_updates`: the same updates in integer ticks and lots through
//!   [`TickBook`] (checked to end with the same levels as the decimal book).
//!
//! - `binance_depth20/{decimal_books,tick_books,tick_feed}`: 20,000 Binance diff-depth frames of
//!   20 level changes each (the random-walk updates in Binance's text form) after a snapshot,
//!   through the decimal builder, the integer path, and the integer [`FeedHandler`]
//!   ([`BinanceTickFeed`], what the connector drives); throughput in messages/s.
//! - `scaled_book/levels_as_decimals`: every level of the integer feed's book after those frames
//!   read back as exact decimals ([`BookView`] of a `ScaledBook`: ticks and lots to canonical
//!   decimal text); throughput in levels/s.
//!
//! Run briefly: `cargo bench -p wintermute-feeds --bench feeds -- --warm-up-time 1 --measurement-time 3`

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wintermute_core::decimal::Decimal;
use wintermute_feeds::binance::BinanceParser;
use wintermute_feeds::binance_ticks::{BinanceTickBook, BinanceTickBooks, TickScale};
use wintermute_feeds::book::{L2Book, Side};
use wintermute_feeds::recording::{records, Record};
use wintermute_feeds::sync::{BinanceBooks, BinanceTickFeed, BookView, CoinbaseBooks, FeedHandler, KrakenBooks};
use wintermute_feeds::TickBook;

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

fn replay<H: FeedHandler + ?Sized>(h: &mut H, items: &[Item]) {
    for it in items {
        let r = match it {
            Item::Frame(f) => h.on_frame(0, f),
            Item::Http(u, b) => h.on_http(0, u, b),
        };
        let _ = black_box(r);
    }
}

/// The session's instruments in April 2021 (tick sizes) with quantities in 1e-8 lots.
fn binance_tick_books() -> BinanceTickBooks {
    let mut books = BinanceTickBooks::new();
    for (symbol, tick) in [("BTCUSDT", "0.01"), ("ETHUSDT", "0.01"), ("DOTUSDT", "0.0001")] {
        let scale = TickScale::new(tick, "0.00000001").expect("scale");
        books.add(BinanceTickBook::new(symbol, scale, 1 << 16).expect("book"));
    }
    books
}

/// The same instruments on the connector's integer handler.
fn binance_tick_feed(window: usize) -> BinanceTickFeed {
    let scales: Vec<(String, TickScale)> = [("BTCUSDT", "0.01"), ("ETHUSDT", "0.01"), ("DOTUSDT", "0.0001")]
        .iter()
        .map(|&(s, tick)| (s.to_string(), TickScale::new(tick, "0.00000001").expect("scale")))
        .collect();
    BinanceTickFeed::new(&scales, window).expect("feed")
}

fn bench_replay(c: &mut Criterion) {
    let sessions: [(&str, &str, Box<dyn FeedHandler<Book = L2Book>>); 3] = [
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
        if name == "binance" {
            // The integer path: the same frames and snapshots into per-symbol TickBooks.
            let mut ticks = binance_tick_books();
            let run = |books: &mut BinanceTickBooks| {
                for it in &items {
                    let r = match it {
                        Item::Frame(f) => books.on_frame(f),
                        Item::Http(u, b) => books.on_http(u, b),
                    };
                    let _ = black_box(r);
                }
            };
            run(&mut ticks);
            assert_eq!(ticks.errors(), 0, "every recorded frame converts exactly");
            group.bench_function("binance_ticks", |b| b.iter(|| run(&mut ticks)));
            // The connector's integer handler on the same frames and snapshots.
            let mut feed = binance_tick_feed(wintermute_feeds::net::client::DEFAULT_BINANCE_TICK_WINDOW);
            replay(&mut feed, &items);
            assert_eq!(feed.unattributed_errors(), 0);
            assert!(feed.streams().iter().all(|s| s.stats.errors == 0 && s.stats.gaps == 0));
            group.bench_function("binance_tick_feed", |b| b.iter(|| replay(&mut feed, &items)));
            // The same with the TickBook default window (4,096 ticks): more snapshot levels in
            // the far list.
            let mut narrow = binance_tick_feed(wintermute_feeds::tick_book::DEFAULT_WINDOW);
            replay(&mut narrow, &items);
            group.bench_function("binance_tick_feed_window4096", |b| b.iter(|| replay(&mut narrow, &items)));
            // The parsing share of the Binance replay: the same frames and snapshots parsed only.
            let mut parser = BinanceParser::new();
            group.bench_function("binance_parse_only", |b| {
                b.iter(|| {
                    for it in &items {
                        match it {
                            Item::Frame(f) => drop(black_box(parser.parse(f).map(|_| ()))),
                            Item::Http(_, body) => drop(black_box(parser.parse_snapshot(body).map(|_| ()))),
                        }
                    }
                })
            });
        }
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
    let prices: Vec<Decimal> = (0..TICKS)
        .map(|t| Decimal::parse_unsigned(&format!("{}.{:02}", 50_000 + t / 100, t % 100)).expect("price"))
        .collect();
    let qtys: Vec<Decimal> = (0..64)
        .map(|q| Decimal::parse_unsigned(&format!("{}.{:08}", q / 8, q * 1_234_567 % 100_000_000)).expect("qty"))
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
                ops.push((Side::Buy, p, 0));
            }
            for p in stale_asks {
                asks.remove(&p);
                ops.push((Side::Sell, p, 0));
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
            ops.push((Side::Buy, p, q));
        } else {
            let p = mid + 1 + off;
            if q == 0 {
                asks.remove(&p)
            } else {
                asks.insert(p)
            };
            ops.push((Side::Sell, p, q));
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
    // The same updates in integers: price ticks of 0.01 and quantities in lots of 1e-8.
    let lot = 10_000_000_000i128;
    let lots: Vec<i64> = qtys.iter().map(|q| i64::try_from(q.raw() / lot).expect("lots")).collect();
    let tick_ops: Vec<(Side, i64, i64)> =
        ops.iter().map(|&(side, p, q)| (side, 5_000_000 + i64::from(p), lots[q as usize])).collect();
    let mut ticks = TickBook::new();
    let run_ticks = |book: &mut TickBook| {
        book.clear();
        for &(side, p, q) in &tick_ops {
            let _ = black_box(book.set(side, p, q));
            black_box((book.best_bid(), book.best_ask()));
        }
    };
    run_ticks(&mut ticks);
    // Both books must end identical, level for level.
    let as_ticks = |l: &wintermute_feeds::book::Level| {
        (
            i64::try_from(l.price.raw() / 10_000_000_000_000_000).expect("tick"),
            i64::try_from(l.qty.raw() / lot).expect("lot"),
        )
    };
    assert_eq!(ticks.levels(Side::Buy).collect::<Vec<_>>(), book.bids().map(as_ticks).collect::<Vec<_>>());
    assert_eq!(ticks.levels(Side::Sell).collect::<Vec<_>>(), book.asks().map(as_ticks).collect::<Vec<_>>());
    let mut group = c.benchmark_group("l2_book");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.bench_function("1M_updates", |b| b.iter(|| run(&mut book)));
    group.bench_function("tick_book_1M_updates", |b| b.iter(|| run_ticks(&mut ticks)));
    group.finish();
}

/// Binance diff-depth frames of 20 level changes each (the random-walk updates in Binance's text
/// form: 8-decimal prices on a 0.01 tick and quantities), chained update ids, after a snapshot.
fn depth20_frames(frames: usize) -> (String, Vec<String>) {
    let (ops, prices, qtys) = random_walk_ops(frames * 20);
    let text = |p: u32| format!("{}.{:02}000000", 50_000 + p / 100, p % 100);
    let mut out = Vec::with_capacity(frames);
    for (i, chunk) in ops.chunks(20).enumerate() {
        let level = |&(_, p, q): &Op| format!(r#"["{}","{}"]"#, text(p), qtys[q as usize].as_str());
        let bids: Vec<String> = chunk.iter().filter(|o| o.0 == Side::Buy).map(level).collect();
        let asks: Vec<String> = chunk.iter().filter(|o| o.0 == Side::Sell).map(level).collect();
        let id = 1_000 + i as u64;
        out.push(format!(
            r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1617566591307,"s":"BTCUSDT","U":{id},"u":{id},"b":[{}],"a":[{}]}}}}"#,
            bids.join(","),
            asks.join(",")
        ));
    }
    let _ = prices;
    (r#"{"lastUpdateId":999,"bids":[],"asks":[]}"#.to_string(), out)
}

fn bench_depth20(c: &mut Criterion) {
    const FRAMES: usize = 20_000;
    const URL: &str = "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000";
    let (snapshot, frames) = depth20_frames(FRAMES);
    let run_decimal = |books: &mut BinanceBooks| {
        books.on_http(0, URL, &snapshot).expect("snapshot");
        for f in &frames {
            let _ = black_box(books.on_frame(0, f));
        }
    };
    let run_ticks = |books: &mut BinanceTickBooks| {
        books.on_http(URL, &snapshot).expect("snapshot");
        for f in &frames {
            let _ = black_box(books.on_frame(f));
        }
    };
    let run_feed = |feed: &mut BinanceTickFeed| {
        feed.on_http(0, URL, &snapshot).expect("snapshot");
        for f in &frames {
            let _ = black_box(feed.on_frame(0, f));
        }
    };
    let mut decimal = BinanceBooks::new();
    let mut ticks = BinanceTickBooks::new();
    let scale = TickScale::new("0.01", "0.00000001").expect("scale");
    let mut feed = BinanceTickFeed::new(&[("BTCUSDT".to_string(), scale)], 1 << 13).expect("feed");
    run_feed(&mut feed);
    let fs = feed.stream("BTCUSDT").expect("stream");
    assert_eq!((fs.stats.updates, fs.stats.errors, feed.unattributed_errors()), (FRAMES as u64, 0, 0));
    ticks.add(BinanceTickBook::new("BTCUSDT", scale, 1 << 13).expect("book"));
    // One untimed pass each: both paths apply every frame and end with the same book.
    run_decimal(&mut decimal);
    run_ticks(&mut ticks);
    let stream = decimal.stream("BTCUSDT").expect("stream");
    let book = ticks.book("BTCUSDT").expect("book");
    assert_eq!(ticks.errors(), 0);
    assert_eq!((stream.stats.updates, book.stats().updates), (FRAMES as u64, FRAMES as u64));
    let as_ticks =
        |l: &wintermute_feeds::book::Level| i64::try_from(l.price.raw() / 10_000_000_000_000_000).expect("tick");
    let want: Vec<i64> = stream.book.bids().map(as_ticks).collect();
    assert_eq!(book.book().levels(Side::Buy).map(|l| l.0).collect::<Vec<_>>(), want);
    assert_eq!(
        feed.stream("BTCUSDT").expect("stream").book.ticks().levels(Side::Buy).map(|l| l.0).collect::<Vec<_>>(),
        want
    );
    let mut group = c.benchmark_group("binance_depth20");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.sample_size(20);
    group.bench_function("decimal_books", |b| b.iter(|| run_decimal(&mut decimal)));
    group.bench_function("tick_books", |b| b.iter(|| run_ticks(&mut ticks)));
    group.bench_function("tick_feed", |b| b.iter(|| run_feed(&mut feed)));
    group.finish();

    // The integer feed's book read back as exact decimals (`BookView` of a `ScaledBook`: each
    // level's ticks and lots formatted as canonical decimal text), every level of both sides.
    let book = &feed.stream("BTCUSDT").expect("stream").book;
    let levels = || book.side_levels(Side::Buy).chain(book.side_levels(Side::Sell));
    let mut group = c.benchmark_group("scaled_book");
    group.throughput(Throughput::Elements(levels().count() as u64));
    group.bench_function("levels_as_decimals", |b| {
        b.iter(|| levels().map(|l| black_box(l).price.text_bytes().len()).sum::<usize>())
    });
    group.finish();
}

criterion_group!(benches, bench_replay, bench_book, bench_depth20);
criterion_main!(benches);

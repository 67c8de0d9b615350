//! What the normalized-event tap costs: the real recordings replayed through each builder with the
//! tap disabled and enabled, interleaved, best of several rounds. A measurement, not a pass/fail
//! benchmark (ignored by default; run in release):
//!
//! ```sh
//! cargo test --release -p wintermute-feeds --test tap_overhead -- --ignored --nocapture
//! ```

mod common;

use std::time::Instant;

use common::*;
use wintermute_feeds::book::L2Book;
use wintermute_feeds::recording::Record;
use wintermute_feeds::sync::{BinanceBooks, CoinbaseBooks, FeedHandler, KrakenBooks};

fn replay(h: &mut dyn FeedHandler<Book = L2Book>, recs: &[Record<'static>]) -> u64 {
    let mut frames = 0;
    for r in recs {
        match r {
            Record::Received { conn, ts, payload } => {
                frames += 1;
                let _ = h.on_frame_at(*conn, payload, *ts);
            }
            Record::Http { conn, url, body, .. } => {
                let _ = h.on_http(*conn, url, body);
            }
            Record::Sent { conn, payload, .. } => h.on_sent(*conn, payload),
            Record::Connect { .. } => {}
        }
    }
    frames
}

/// Makes a fresh builder.
type Make = Box<dyn Fn() -> Box<dyn FeedHandler<Book = L2Book>>>;

/// Frames per second of the best of `rounds` replays on a fresh builder each time.
fn best(
    make: &dyn Fn() -> Box<dyn FeedHandler<Book = L2Book>>,
    tap: bool,
    recs: &[Record<'static>],
    rounds: usize,
) -> f64 {
    let mut best = 0.0f64;
    for _ in 0..rounds {
        let mut h = make();
        if tap {
            let venue = h.venue();
            h.tap_mut().unwrap().enable(venue, 1024);
        }
        replay(h.as_mut(), recs); // warm-up on this builder
        let start = Instant::now();
        let frames = replay(h.as_mut(), recs);
        best = best.max(frames as f64 / start.elapsed().as_secs_f64());
    }
    best
}

#[test]
#[ignore = "a measurement: run with --release -- --ignored --nocapture"]
fn tap_overhead() {
    let cases: [(&str, &str, Make); 3] = [
        ("kraken", KRAKEN_BOOK, Box::new(|| Box::new(KrakenBooks::new()))),
        ("binance", BINANCE, Box::new(|| Box::new(BinanceBooks::new()))),
        ("coinbase", COINBASE, Box::new(|| Box::new(CoinbaseBooks::new()))),
    ];
    for (name, path, make) in &cases {
        let recs = load(path);
        let (mut off, mut on) = (0.0f64, 0.0f64);
        for _ in 0..3 {
            off = off.max(best(make.as_ref(), false, &recs, 3));
            on = on.max(best(make.as_ref(), true, &recs, 3));
        }
        println!(
            "{name:8} tap off {:>6.3} M frames/s   tap on {:>6.3} M frames/s   on/off {:.2}",
            off / 1e6,
            on / 1e6,
            on / off
        );
    }
}

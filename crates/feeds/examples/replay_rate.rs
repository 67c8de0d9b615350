//! Replays a recorded session many times through its venue's book builder and prints the rate.
//! A quick, single-number complement to the criterion bench; under `perf stat -e instructions:u`
//! it gives instructions per message, which stay stable on a busy machine.
//!
//! ```text
//! cargo run --release -p wintermute-feeds --example replay_rate -- kraken data/kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt 50
//! ```

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use wintermute_feeds::book::L2Book;
use wintermute_feeds::recording::{read_recording, records, Record};
use wintermute_feeds::sync::{BinanceBooks, CoinbaseBooks, FeedHandler, KrakenBooks};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(venue), Some(path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: replay_rate binance|coinbase|kraken FILE [PASSES]");
        return ExitCode::FAILURE;
    };
    let passes: u32 = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(20);
    let mut handler: Box<dyn FeedHandler<Book = L2Book>> = match venue.as_str() {
        "binance" => Box::new(BinanceBooks::new()),
        "coinbase" => Box::new(CoinbaseBooks::new()),
        "kraken" => Box::new(KrakenBooks::new()),
        other => {
            eprintln!("unknown venue {other}");
            return ExitCode::FAILURE;
        }
    };
    let text = match read_recording(path.as_ref()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let recs: Vec<Record<'_>> = records(&text).filter_map(Result::ok).collect();
    let frames = recs.iter().filter(|r| matches!(r, Record::Received { .. } | Record::Http { .. })).count();
    let run = |h: &mut dyn FeedHandler<Book = L2Book>| {
        for r in &recs {
            let out = match r {
                Record::Received { conn, payload, .. } => h.on_frame(*conn, payload),
                Record::Http { conn, url, body, .. } => h.on_http(*conn, url, body),
                Record::Sent { conn, payload, .. } => {
                    h.on_sent(*conn, payload);
                    continue;
                }
                Record::Connect { .. } => continue,
            };
            let _ = black_box(out);
        }
    };
    run(handler.as_mut()); // warm-up
    let start = Instant::now();
    for _ in 0..passes {
        run(handler.as_mut());
    }
    let secs = start.elapsed().as_secs_f64();
    let msgs = f64::from(passes) * frames as f64;
    println!(
        "{venue}: {frames} frames x {passes} passes in {secs:.3} s = {:.0} messages/s ({:.0} ns/message)",
        msgs / secs,
        secs * 1e9 / msgs
    );
    ExitCode::SUCCESS
}

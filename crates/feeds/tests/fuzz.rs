//! Property-based fuzzing of every parser and builder: arbitrary strings, arbitrary bytes, and
//! real recorded messages with random mutations must never panic.
//!
//! Inputs per run (proptest cases; `PROPTEST_CASES=n` sets every property to `n` cases): 4
//! properties × 2,000 arbitrary inputs, 3 venues × 2,000 mutated real frames, 1,000 mutated
//! recording texts (replayed through `verify`), and 1,000 random decimals checked against an
//! independent computation: 16,000 inputs in all.

mod common;

use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use wintermute_core::decimal::Decimal;
use wintermute_feeds::binance::BinanceParser;
use wintermute_feeds::coinbase::CoinbaseParser;
use wintermute_feeds::kraken::KrakenParser;
use wintermute_feeds::recording::records;
use wintermute_feeds::sync::{BinanceBooks, CoinbaseBooks, FeedHandler, KrakenBooks};
use wintermute_feeds::verify_str;

/// Failing seeds are kept (and replayed first) in the crate's `proptest-regressions/` folder, the
/// one place for them in this workspace (see CONTRIBUTING.md): commit that file.
const REGRESSIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/proptest-regressions/fuzz.txt");

fn config(default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default_cases);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(REGRESSIONS))),
        ..Config::default()
    }
}

fn parse_everything(text: &str) {
    let _ = BinanceParser::new().parse(text);
    let _ = BinanceParser::new().parse_snapshot(text);
    let _ = CoinbaseParser::new().parse(text);
    let _ = KrakenParser::new().parse(text);
}

struct Sessions {
    binance: Vec<String>,
    coinbase: Vec<String>,
    kraken: Vec<String>,
    /// Builders that have loaded the sessions' snapshots (cloned per case).
    kraken_live: KrakenBooks,
    coinbase_live: CoinbaseBooks,
}

fn sessions() -> &'static Sessions {
    static S: OnceLock<Sessions> = OnceLock::new();
    S.get_or_init(|| {
        let kraken = frames(&load(KRAKEN_BOOK));
        let coinbase = frames(&load(COINBASE));
        let kraken_live = warmed(KrakenBooks::new(), &kraken, 14);
        let xbt = kraken_live.stream("XBT/USD").map(|s| s.state);
        assert_eq!(xbt, Some(wintermute_feeds::sync::SyncState::Live));
        Sessions {
            kraken_live,
            coinbase_live: warmed(CoinbaseBooks::new(), &coinbase, 20),
            binance: frames(&load(BINANCE)),
            coinbase,
            kraken,
        }
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
    Truncate(usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(b"0123456789.-eE\"[]{},: \\nrtuab".to_vec());
    prop_oneof![
        (any::<usize>(), interesting.clone()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), interesting).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..20).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

fn mutate(text: &str, muts: &[Mutation]) -> String {
    let mut b = text.as_bytes().to_vec();
    for m in muts {
        let len = b.len().max(1);
        match *m {
            Mutation::Flip(i, c) => {
                if !b.is_empty() {
                    b[i % len] = c;
                }
            }
            Mutation::Insert(i, c) => b.insert(i % (b.len() + 1), c),
            Mutation::Delete(i, n) => {
                let s = i % len;
                let e = (s + n).min(b.len());
                if s < e {
                    b.drain(s..e);
                }
            }
            Mutation::Truncate(i) => b.truncate(i % len),
            Mutation::Duplicate(i, n) => {
                let s = i % len;
                let e = (s + n).min(b.len());
                if s < e {
                    let piece = b[s..e].to_vec();
                    b.splice(s..s, piece);
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn warmed<H: FeedHandler>(mut h: H, frames: &[String], n: usize) -> H {
    for f in frames.iter().take(n) {
        let _ = h.on_frame(0, f);
    }
    h
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn parsers_survive_arbitrary_strings(text in ".{0,300}") {
        parse_everything(&text);
    }

    #[test]
    fn parsers_survive_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        parse_everything(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn parsers_survive_json_shaped_noise(text in r#"[\[\]{}",:0-9a-z. \-]{0,200}"#) {
        parse_everything(&text);
        let _ = KrakenBooks::new().on_frame(0, &text);
        let _ = CoinbaseBooks::new().on_frame(0, &text);
        let _ = BinanceBooks::new().on_frame(0, &text);
    }

    #[test]
    fn builders_survive_arbitrary_frames(text in ".{0,200}", url in ".{0,60}") {
        let mut b = BinanceBooks::new();
        let _ = b.on_frame(0, &text);
        let _ = b.on_http(0, &url, &text);
        let mut k = KrakenBooks::new();
        k.on_sent(0, &text);
        let _ = k.on_frame(0, &text);
    }

    #[test]
    fn kraken_survives_mutated_real_frames(i in any::<prop::sample::Index>(), muts in prop::collection::vec(mutation(), 1..4)) {
        let frames = &sessions().kraken;
        let mut books = sessions().kraken_live.clone();
        let f = i.get(frames);
        let m = mutate(f, &muts);
        let _ = KrakenParser::new().parse(&m);
        let _ = books.on_frame(0, &m);
        // The builder is still usable afterwards.
        let _ = books.on_frame(0, f);
    }

    #[test]
    fn binance_survives_mutated_real_frames(i in any::<prop::sample::Index>(), muts in prop::collection::vec(mutation(), 1..4)) {
        let frames = &sessions().binance;
        let f = i.get(frames);
        let m = mutate(f, &muts);
        let mut p = BinanceParser::new();
        let _ = p.parse(&m);
        let _ = p.parse_snapshot(&m);
        let mut books = BinanceBooks::new();
        let _ = books.on_frame(0, f);
        let _ = books.on_frame(0, &m);
        let _ = books.on_http(0, "https://api.binance.com/api/v3/depth?symbol=BTCUSDT", &m);
        let _ = books.on_frame(0, f);
    }

    #[test]
    fn coinbase_survives_mutated_real_frames(i in any::<prop::sample::Index>(), muts in prop::collection::vec(mutation(), 1..4)) {
        let frames = &sessions().coinbase;
        let f = i.get(frames);
        let m = mutate(f, &muts);
        let _ = CoinbaseParser::new().parse(&m);
        let mut books = sessions().coinbase_live.clone();
        let _ = books.on_frame(0, &m);
        let _ = books.on_frame(0, f);
    }
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn recording_readers_survive_mutated_recordings(start in 0usize..4000, muts in prop::collection::vec(mutation(), 1..6), jsonl in any::<bool>()) {
        let text = read(KRAKEN_BOOK);
        let lines: Vec<&str> = text.lines().skip(start % 14_000).take(8).collect();
        let mut chunk = lines.join("\n");
        if jsonl {
            chunk = format!("{{\"t\":\"header\"}}\n{{\"t\":\"recv\",\"conn\":1,\"ts\":1.5,\"data\":{:?}}}\n", chunk);
        }
        let m = mutate(&chunk, &muts);
        for r in records(&m) {
            let _ = r;
        }
        let report = verify_str(&m);
        let _ = report.to_json();
    }

    /// Decimal values agree with a computation that shares no code with the parser.
    #[test]
    fn decimals_parse_exactly(int in 0u64..10_000_000_000, frac in "[0-9]{0,18}") {
        let text = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
        let parsed = Decimal::parse_unsigned(&text);
        if text.len() > wintermute_core::decimal::INLINE_CAP {
            // Texts longer than the inline buffer are rejected, never cut.
            prop_assert!(parsed.is_err());
            return Ok(());
        }
        let d = parsed.unwrap();
        let padded = format!("{frac:0<18}");
        let expected = i128::from(int) * 10i128.pow(18) + padded.parse::<i128>().unwrap();
        prop_assert_eq!(d.raw(), expected);
        prop_assert_eq!(d.as_str(), text.as_str());
        prop_assert_eq!(Decimal::from_raw(expected).unwrap().raw(), expected);
    }
}

//! A recorded market built from several recordings of one venue: Kraken's book recording and
//! its trades recording (made on their own connections) merged by receive time.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use wintermute_feeds::recording::{read_recording, records, Record};
use wintermute_feeds::Venue;
use wintermute_mm::backtest::recorded::{self, merged_records, RecordedLatency};
use wintermute_mm::backtest::tape::MdKind;
use wintermute_mm::backtest::{run_json, BacktestError};

fn kraken(which: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../data/kraken/kraken_ws1_2021-04-05_{which}.cfraw.txt"))
}

fn conn(r: &Record<'_>) -> u32 {
    match r {
        Record::Connect { conn, .. }
        | Record::Sent { conn, .. }
        | Record::Received { conn, .. }
        | Record::Http { conn, .. } => *conn,
    }
}

/// The record with its connection number replaced (to compare a file's records with the
/// merged ones).
fn with_conn<'a>(r: &Record<'a>, to: u32) -> Record<'a> {
    let mut r = r.clone();
    match &mut r {
        Record::Connect { conn, .. }
        | Record::Sent { conn, .. }
        | Record::Received { conn, .. }
        | Record::Http { conn, .. } => *conn = to,
    }
    r
}

#[test]
fn merged_recordings_keep_every_record_once_in_receive_time_order_with_their_own_connections() {
    let texts = vec![read_recording(&kraken("book1000_checksum")).unwrap(), read_recording(&kraken("trade")).unwrap()];
    let names = vec!["book".to_string(), "trade".to_string()];
    let files: Vec<Vec<Record<'_>>> =
        texts.iter().map(|t| records(t).collect::<Result<Vec<_>, _>>().unwrap()).collect();
    assert!(files.iter().all(|f| f.len() > 10), "both files have records");
    // Both files number their connection 0: the merge must tell them apart.
    assert_eq!(conn(&files[0][0]), conn(&files[1][0]));
    let merged = merged_records(&texts, &names).unwrap();
    assert_eq!(merged.len(), files[0].len() + files[1].len());
    assert!(merged.windows(2).all(|w| w[0].ts() <= w[1].ts()), "ordered by receive time");
    // Each file's records appear in the merge in their own order; their connections are the
    // file's own (found by walking the merge against the file).
    let conns: Vec<BTreeSet<u32>> = (0..2)
        .map(|i| {
            let (mut remapped, mut k) = (BTreeSet::new(), 0);
            for r in &merged {
                if k < files[i].len() && with_conn(r, conn(&files[i][k])) == files[i][k] {
                    remapped.insert(conn(r));
                    k += 1;
                }
            }
            assert_eq!(k, files[i].len(), "every record of file {i} is in the merge, in order");
            remapped
        })
        .collect();
    assert!(conns[0].is_disjoint(&conns[1]), "{conns:?}");
    for (i, set) in conns.iter().enumerate() {
        let of_file: Vec<Record<'_>> = merged.iter().filter(|r| set.contains(&conn(r))).cloned().collect();
        let expected: Vec<Record<'_>> = files[i].iter().map(|r| with_conn(r, conn(&of_file[0]))).collect();
        assert_eq!(of_file, expected, "file {i}: its records alone, once each, in its order");
    }
    // Deterministic.
    assert_eq!(merged_records(&texts, &names).unwrap(), merged);
}

#[test]
fn equal_receive_times_put_the_earlier_file_first_and_a_bad_record_names_its_file() {
    let texts = [String::new(), String::new()];
    // Two empty recordings merge to nothing.
    assert_eq!(merged_records(&texts, &["a".into(), "b".into()]).unwrap(), Vec::<Record<'_>>::new());
    let book = read_recording(&kraken("book1000_checksum")).unwrap();
    let twice = [book.clone(), book];
    let merged = merged_records(&twice, &["x".into(), "y".into()]).unwrap();
    // The same file twice: each pair of equal records comes first from file 0 (connection 0),
    // then from file 1 (connection 1).
    assert_eq!(conn(&merged[0]), 0);
    assert_eq!(conn(&merged[1]), 1);
    assert_eq!(with_conn(&merged[1], 0), merged[0]);
    let broken = ["wss://ws.kraken.com <-> not-a-time\n".to_string()];
    let e = merged_records(&broken, &["broken.txt".into()]).unwrap_err().to_string();
    assert!(e.contains("broken.txt"), "{e}");
}

#[test]
fn kraken_trades_come_from_the_trades_recording_merged_with_the_book() {
    let load = |paths: &[PathBuf]| {
        recorded::load(paths, Venue::Kraken, "XBT/USD", "0.1", "0.00000001", RecordedLatency::Recorded).unwrap()
    };
    let trades = |t: &wintermute_mm::backtest::tape::Tape| t.events.iter().filter(|e| e.kind == MdKind::Trade).count();
    let book_only = load(&[kraken("book1000_checksum")]);
    assert_eq!(trades(&book_only), 0, "the book recording carries no trades");
    let both = load(&[kraken("book1000_checksum"), kraken("trade")]);
    assert!(trades(&both) > 0);
    let levels = |t: &wintermute_mm::backtest::tape::Tape| t.events.iter().filter(|e| e.kind != MdKind::Trade).count();
    assert_eq!(levels(&both), levels(&book_only), "the book is the same, trades added");
    // The order of the files does not matter but for equal times; deterministic.
    let again = load(&[kraken("book1000_checksum"), kraken("trade")]);
    assert_eq!(both.events, again.events);
}

#[test]
fn a_recorded_market_takes_path_or_recordings_but_not_both() {
    let market = |m: &str| {
        format!(
            r#"{{"market": {{"kind": "recorded", {m}, "venue": "kraken", "symbol": "XBT/USD",
                "tick_size": "0.1", "lot_size": "0.00000001"}}}}"#
        )
    };
    let (book, trade) = (kraken("book1000_checksum").display().to_string(), kraken("trade").display().to_string());
    let both = market(&format!(r#""path": "{book}", "recordings": ["{trade}"]"#));
    let e = run_json(&both, None).unwrap_err();
    assert!(matches!(e, BacktestError::Config { field: "market.recordings", .. }), "{e}");
    let neither = market(r#""feed_latency_ms": 1.0"#);
    let e = run_json(&neither, None).unwrap_err();
    assert!(matches!(e, BacktestError::Config { field: "market.path", .. }), "{e}");
    let missing = market(&format!(r#""recordings": ["{book}", "/nonexistent/trades.txt"]"#));
    let e = run_json(&missing, None).unwrap_err().to_string();
    assert!(e.contains("/nonexistent/trades.txt"), "{e}");
}

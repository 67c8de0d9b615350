use std::time::Duration;

use wintermute_core::records::{decode_command, encode_command, kind, COMMAND_SIZE, EVENT_SIZE};
use wintermute_core::{Command, Event, InstrumentSpec, NewOrder, RejectReason, Side};

use super::*;
use crate::journal::{FsyncPolicy, JournalConfig};

fn spec(symbol: &str) -> InstrumentSpec {
    InstrumentSpec::from_decimals(symbol, "0.01", "0.001", "0.001", "100", "1", "1000000").expect("valid spec")
}

fn config(dir: &std::path::Path) -> JournalConfig {
    JournalConfig::new(dir).fsync(FsyncPolicy::None)
}

fn buy(order_id: u64, price: i64) -> Command {
    Command::New(NewOrder::limit(order_id, 1, Side::Buy, price, 1_000))
}

fn with_btc() -> JournaledEngine {
    let mut e = JournaledEngine::new();
    assert_eq!(e.add_instrument(spec("BTC-USD")).expect("defined"), 0);
    e
}

#[test]
fn journaled_commands_are_replayed_when_the_journal_is_opened_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut live = with_btc();
    let opened = live.open_journal(config(dir.path())).expect("open");
    assert_eq!((opened.report.records, opened.replayed, opened.snapshot), (0, 0, None));
    live.execute(0, &buy(1, 100), &mut Vec::new()).expect("runs");
    live.execute(0, &buy(2, 101), &mut Vec::new()).expect("runs");
    // Refused by the book, journaled all the same: replay refuses it again.
    assert!(matches!(live.execute(0, &buy(2, 102), &mut Vec::new()), Err(JournaledError::Order(_))));
    assert_eq!(live.journal_seq(), Some(3));
    live.close_journal().expect("close");
    assert_eq!(live.journal_seq(), None);

    let mut again = with_btc();
    let opened = again.open_journal(config(dir.path())).expect("reopen");
    assert_eq!((opened.replayed, opened.refused), (3, 1));
    assert_eq!(again.engine().book(0).order_count(), 2);
    assert_eq!(again.engine().book(0).best_bid(), Some((101, 1_000)));
}

#[test]
fn recovery_starts_from_the_snapshot_written_on_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut live = with_btc();
    assert!(matches!(live.write_snapshot(), Err(JournaledError::NoJournal { .. })));
    live.open_journal(config(dir.path())).expect("open");
    live.execute(0, &buy(1, 100), &mut Vec::new()).expect("runs");
    let path = live.write_snapshot().expect("snapshot");
    live.execute(0, &buy(2, 150), &mut Vec::new()).expect("runs");
    live.sync_journal().expect("sync");
    drop(live);

    let mut again = with_btc();
    let opened = again.open_journal(config(dir.path())).expect("reopen");
    assert_eq!(opened.snapshot.as_deref(), Some(path.as_path()));
    assert_eq!(opened.replayed, 1, "only the record after the snapshot");
    assert_eq!(again.engine().book(0).order_count(), 2);
}

#[test]
fn the_journal_must_hold_the_whole_history_of_the_same_instruments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut late = with_btc();
    late.execute(0, &buy(1, 100), &mut Vec::new()).expect("runs unjournaled");
    assert!(matches!(late.open_journal(config(dir.path())), Err(JournaledError::NotFresh)));

    let mut live = with_btc();
    live.open_journal(config(dir.path())).expect("open");
    live.execute(0, &buy(1, 100), &mut Vec::new()).expect("runs");
    live.write_snapshot().expect("snapshot");
    live.close_journal().expect("close");

    let mut other = JournaledEngine::new();
    other.add_instrument(spec("ETH-USD")).expect("defined");
    let err = other.open_journal(config(dir.path())).expect_err("other instruments");
    assert!(err.to_string().contains("same instruments"), "{err}");
    assert!(matches!(err, JournaledError::InstrumentsDiffer { .. }));
}

#[test]
fn nothing_bypasses_an_open_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut e = with_btc();
    let snapshot = e.engine().book(0).snapshot();
    e.open_journal(config(dir.path())).expect("open");
    assert!(matches!(e.open_journal(config(dir.path())), Err(JournaledError::JournalOpen { op: "open_journal" })));
    assert!(matches!(e.add_instrument(spec("ETH-USD")), Err(JournaledError::JournalOpen { op: "add_instrument" })));
    assert!(matches!(e.restore(&snapshot), Err(JournaledError::JournalOpen { op: "restore" })));
    assert!(matches!(e.unjournaled_book("run_native", 0), Err(JournaledError::JournalOpen { .. })));
    e.close_journal().expect("close");
    assert_eq!(e.restore(&snapshot).expect("restores"), 0);
    assert!(e.unjournaled_book("run_native", 0).is_ok());
}

#[test]
fn an_unknown_instrument_id_is_refused_before_anything_is_journaled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut e = with_btc();
    e.open_journal(config(dir.path())).expect("open");
    let err = e.execute(7, &buy(1, 100), &mut Vec::new()).expect_err("unknown");
    assert_eq!(err.to_string(), "unknown instrument id=7");
    assert!(matches!(e.run_batch(7, &[]), Err(JournaledError::UnknownInstrumentId { id: 7 })));
    assert_eq!(e.journal_seq(), Some(0));
}

#[test]
fn a_batch_rejects_bad_records_and_goes_on() {
    let mut e = with_btc();
    let mut input = Vec::new();
    input.extend_from_slice(&encode_command(&buy(1, 100)));
    let mut bad = encode_command(&buy(2, 100));
    bad[36] = 9; // no such command kind
    input.extend_from_slice(&bad);
    input.extend_from_slice(&encode_command(&buy(1, 101))); // duplicate id: the book refuses
    input.extend_from_slice(&encode_command(&Command::Cancel { order_id: 1 }));
    let out = e.run_batch(0, &input).expect("runs");
    assert_eq!(out.len() % EVENT_SIZE, 0);
    let records: Vec<&[u8]> = out.chunks_exact(EVENT_SIZE).collect();
    let kinds: Vec<(u8, u32)> =
        records.iter().map(|r| (r[72], u32::from_le_bytes(r[68..72].try_into().unwrap()))).collect();
    assert_eq!(
        kinds,
        [
            (kind::ACCEPTED, 0),
            (kind::BOOK_DELTA, 0),
            (kind::REJECTED, 1),
            (kind::REJECTED, 2),
            (kind::CANCELED, 3),
            (kind::BOOK_DELTA, 3)
        ]
    );
    assert_eq!(records[2][74], RejectReason::InvalidOrder as u8);
    assert_eq!(records[3][74], RejectReason::DuplicateOrderId as u8);
    assert_eq!(&records[3][0..8], &[0; 8], "a refused command consumes no sequence number");
    assert_eq!(e.engine().book(0).order_count(), 0);
}

#[test]
fn a_batch_without_book_deltas_gives_the_same_records_less_the_level_updates() {
    let cmds = [
        buy(1, 100),
        buy(2, 101),
        Command::New(NewOrder::limit(3, 2, Side::Sell, 100, 1_500)), // fills 2, then part of 1
        Command::Amend { order_id: 1, price: None, qty: Some(200) },
        Command::Cancel { order_id: 1 },
        Command::Cancel { order_id: 1 }, // unknown by now: rejected
    ];
    let input: Vec<u8> = cmds.iter().flat_map(encode_command).collect();
    let (mut all, mut orders) = (with_btc(), with_btc());
    let with = all.run_batch(0, &input).expect("runs");
    let without = orders.run_batch_with(0, &input, false).expect("runs");
    let kept: Vec<u8> =
        with.chunks_exact(EVENT_SIZE).filter(|r| r[72] != kind::BOOK_DELTA).flatten().copied().collect();
    assert!(with.chunks_exact(EVENT_SIZE).any(|r| r[72] == kind::TRADE));
    assert!(kept.len() < with.len(), "the batch had level updates to leave out");
    assert_eq!(without, kept);
    assert_eq!(all.engine().book(0).snapshot(), orders.engine().book(0).snapshot());
}

#[test]
fn a_batch_without_a_journal_gives_the_records_and_book_of_a_journaled_one() {
    // Without a journal the records go straight to the book; with one, each is decoded into
    // the command journaled. Same bytes out, same book, over a random stream.
    let mut rng = wintermute_core::rng::SplitMix64::new(7);
    let mut input = Vec::new();
    for _ in 0..3_000 {
        let id = 1 + rng.below(40);
        let cmd = match rng.below(10) {
            0..=4 => Command::New(
                NewOrder::limit(id, 1 + rng.below(3) as u32, rng.side(), rng.range(9_990, 10_010), rng.range(1, 3_000))
                    .iceberg(if rng.below(4) == 0 { 500 } else { 0 }),
            ),
            5 | 6 => Command::Cancel { order_id: id },
            7 | 8 => {
                Command::Amend { order_id: id, price: Some(rng.range(9_990, 10_010)), qty: Some(rng.range(0, 3_000)) }
            }
            _ => Command::MassCancel { account: Some(1), side: None },
        };
        let mut rec = encode_command(&cmd);
        if rng.below(50) == 0 {
            rec[36] = 7; // no such kind
        }
        input.extend_from_slice(&rec);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut plain, mut journaled) = (with_btc(), with_btc());
    journaled.open_journal(config(dir.path())).expect("open");
    let want = journaled.run_batch(0, &input).expect("runs");
    let got = plain.run_batch(0, &input).expect("runs");
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the records differ");
    assert!(want.chunks_exact(EVENT_SIZE).any(|r| r[72] == kind::TRADE));
    assert!(want.chunks_exact(EVENT_SIZE).any(|r| r[72] == kind::REJECTED));
    assert_eq!(plain.engine().book(0).snapshot(), journaled.engine().book(0).snapshot());
}

#[test]
fn a_journaled_batch_is_replayed_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut live = with_btc();
    live.open_journal(config(dir.path())).expect("open");
    let input: Vec<u8> = (1..=5).flat_map(|id| encode_command(&buy(id, 100 + id as i64))).collect();
    assert_eq!(input.len(), 5 * COMMAND_SIZE);
    live.run_batch(0, &input).expect("runs");
    assert_eq!(live.journal_seq(), Some(5));
    live.close_journal().expect("close");
    let mut again = with_btc();
    assert_eq!(again.open_journal(config(dir.path())).expect("reopen").replayed, 5);
    assert_eq!(again.engine().book(0).best_bid(), Some((105, 1_000)));
    let first = decode_command(input[..COMMAND_SIZE].try_into().unwrap()).expect("decodes");
    assert_eq!(first, buy(1, 101));
}

#[test]
fn events_go_to_the_sink_given() {
    let mut e = with_btc();
    let mut events = Vec::new();
    e.execute(0, &buy(1, 100), &mut events).expect("runs");
    assert!(matches!(events[0], Event::Accepted { order_id: 1, .. }));
}

#[test]
fn fsync_policies_are_named() {
    let interval = Duration::from_millis(10);
    assert_eq!(fsync_policy("none", 5, interval).unwrap(), FsyncPolicy::None);
    assert_eq!(fsync_policy("every", 5, interval).unwrap(), FsyncPolicy::EveryRecord);
    assert_eq!(fsync_policy("batch", 5, interval).unwrap(), FsyncPolicy::Batch { records: 5, interval });
    let err = fsync_policy("sometimes", 5, interval).expect_err("unknown name");
    assert!(err.to_string().contains("fsync=\"sometimes\""), "{err}");
}

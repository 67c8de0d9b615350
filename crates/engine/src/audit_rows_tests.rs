use wintermute_core::{Command, NewOrder, Side};

use super::*;
use crate::journal::{FsyncPolicy, Journal, JournalConfig};

fn btc() -> AuditInstrument {
    AuditInstrument::from_decimals("BTC-USD", "0.01", "0.001", "0.001", "100", "1", "1000000").expect("valid")
}

fn journal(dir: &Path) -> Journal {
    Journal::open(JournalConfig::new(dir).fsync(FsyncPolicy::None).segment_size(1 << 20)).expect("opens").0
}

fn numeric_of(mantissa: i128, scale: u32) -> Vec<u8> {
    let (body, len) = numeric_body(mantissa, scale);
    body[..len].to_vec()
}

/// ndigits, weight, sign, dscale, digits: as PostgreSQL's `numeric_send` writes them.
fn numeric_bytes(weight: i16, sign: u16, dscale: i16, digits: &[i16]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    v.extend_from_slice(&weight.to_be_bytes());
    v.extend_from_slice(&sign.to_be_bytes());
    v.extend_from_slice(&dscale.to_be_bytes());
    for d in digits {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v
}

#[test]
fn numerics_are_written_in_base_10000_groups_with_the_steps_scale() {
    assert_eq!(numeric_of(6_400_025, 2), numeric_bytes(1, 0, 2, &[6, 4000, 2500]), "64000.25");
    assert_eq!(numeric_of(1, 3), numeric_bytes(-1, 0, 3, &[10]), "0.001");
    assert_eq!(numeric_of(1500, 3), numeric_bytes(0, 0, 3, &[1, 5000]), "1.500");
    assert_eq!(numeric_of(10_000, 0), numeric_bytes(1, 0, 0, &[1]), "10000");
    assert_eq!(numeric_of(0, 2), numeric_bytes(0, 0, 2, &[]), "0.00");
    assert_eq!(numeric_of(-5, 1), numeric_bytes(-1, 0x4000, 1, &[5000]), "-0.5");
    assert_eq!(numeric_of(1, 8), numeric_bytes(-2, 0, 8, &[1]), "0.00000001");
    assert_eq!(numeric_of(123_456_789, 5), numeric_bytes(0, 0, 5, &[1234, 5678, 9000]), "1234.56789");
}

#[test]
fn steps_keep_the_scale_they_were_written_with_and_refuse_other_text() {
    assert_eq!(Step::parse("0.010").expect("plain"), Step { mantissa: 10, scale: 3 });
    assert_eq!(Step::parse("10").expect("plain"), Step { mantissa: 10, scale: 0 });
    for bad in ["", ".", "1e-2", "-1", "1.2.3", "0.1x"] {
        assert!(Step::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn every_event_kind_becomes_its_row_with_the_orders_account_and_side() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut j = journal(dir.path());
    j.mark_time(1_000);
    j.append(0, &Command::New(NewOrder::limit(1, 7, Side::Sell, 6_400_025, 1500))).expect("append");
    j.append(0, &Command::New(NewOrder::limit(2, 8, Side::Buy, 6_400_100, 500))).expect("append");
    j.append(0, &Command::Amend { order_id: 1, price: None, qty: Some(900) }).expect("append");
    j.append(0, &Command::Cancel { order_id: 1 }).expect("append");
    j.append(0, &Command::Cancel { order_id: 1 }).expect("append"); // unknown now: rejected
    j.append_rejection(0, &Command::New(NewOrder::market(3, 9, Side::Buy, 5)), 1).expect("append");
    j.close().expect("close");

    let mut replay = AuditReplay::new(vec![btc()]).expect("replay");
    let rows = replay.read(dir.path(), 99).expect("reads");
    let kinds: Vec<_> = rows.kind.iter().map(|k| KIND_NAMES[usize::from(*k)]).collect();
    assert_eq!(kinds, ["accepted", "accepted", "trade", "amended", "canceled", "rejected", "rejected"]);
    assert_eq!(rows.journal_seq, [1, 2, 2, 3, 4, 5, 6]);
    assert_eq!(rows.n, [0, 0, 1, 0, 0, 0, 0]);
    assert_eq!(rows.ts_ns, [1_000; 7]);
    assert_eq!(rows.command, [0, 0, 0, 2, 1, 1, 0]);
    // The trade: the maker's account and order, the taker's as contra, the aggressor's side.
    assert_eq!((rows.account[2], rows.order_id[2], rows.side[2]), (7, 1, 0));
    assert_eq!((rows.contra_account[2], rows.contra_order_id[2], rows.leaves_qty[2]), (8, 2, 1000));
    assert_eq!(rows.decimal_text(0, rows.price[2], true), "64000.25");
    assert_eq!(rows.decimal_text(0, rows.qty[2], false), "0.500");
    // The amend and the cancel carry the resting order's account and side.
    assert_eq!((rows.account[3], rows.side[3], rows.old_qty[3], rows.qty[3]), (7, 1, 1000, 900));
    assert_ne!(rows.present[3] & present::ACCOUNT, 0);
    assert_eq!((rows.account[4], rows.qty[4]), (7, 900));
    assert_eq!(reason_name(rows.reason[4]), Some("USER"));
    // Rejected by the book (no account of its own in a cancel: the command's 0).
    assert_eq!(reason_name(rows.reason[5]), Some("UNKNOWN_ORDER"));
    assert_eq!(rows.present[5] & (present::SIDE | present::QTY), 0);
    // Rejected by risk: the command as asked; a market order has no price.
    assert_eq!(reason_name(rows.reason[6]), Some(RISK_CODES[0]));
    assert_eq!((rows.account[6], rows.order_id[6], rows.qty[6], rows.event_seq[6]), (9, 3, 5, 0));
    assert_eq!(rows.present[6] & present::PRICE, 0);
    assert_eq!(replay.cursor(), 6);
}

#[test]
fn reads_go_on_from_the_cursor_and_records_without_a_time_take_now() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut j = journal(dir.path());
    j.append(0, &Command::New(NewOrder::limit(1, 7, Side::Buy, 100, 1))).expect("append");
    j.sync().expect("sync");
    let mut replay = AuditReplay::new(vec![btc()]).expect("replay");
    let first = replay.read(dir.path(), 42).expect("reads");
    assert_eq!((first.journal_seq.clone(), first.ts_ns.clone()), (vec![1], vec![42]));
    assert!(replay.read(dir.path(), 43).expect("reads").is_empty(), "nothing new");
    j.append(0, &Command::Cancel { order_id: 1 }).expect("append");
    j.close().expect("close");
    let second = replay.read(dir.path(), 44).expect("reads");
    assert_eq!((second.journal_seq, second.account), (vec![2], vec![7]), "the order was remembered");
}

#[test]
fn an_unknown_instrument_is_an_error_that_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut j = journal(dir.path());
    j.append(0, &Command::New(NewOrder::limit(1, 7, Side::Buy, 100, 1))).expect("append");
    j.append(3, &Command::New(NewOrder::limit(2, 7, Side::Buy, 100, 1))).expect("append");
    j.close().expect("close");
    let mut replay = AuditReplay::new(vec![btc()]).expect("replay");
    let err = replay.read(dir.path(), 0).expect_err("instrument 3 is not there");
    assert!(matches!(err, JournalError::UnknownInstrument { seq: 2, instrument: 3 }), "{err}");
    assert_eq!(replay.cursor(), 0);
    assert!(replay.engine().book(0).snapshot().orders.is_empty(), "nothing was applied");
}

#[test]
fn copy_data_has_the_header_a_tuple_per_fresh_row_and_the_trailer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut j = journal(dir.path());
    j.mark_time(5);
    j.append(0, &Command::New(NewOrder::limit(u64::MAX, 7, Side::Buy, 100, 1))).expect("append");
    j.append(0, &Command::New(NewOrder::limit(2, 7, Side::Buy, 100, 1))).expect("append");
    j.close().expect("close");
    let rows = AuditReplay::new(vec![btc()]).expect("replay").read(dir.path(), 0).expect("reads");
    let mut all = Vec::new();
    assert_eq!(rows.copy_binary(&mut all, 0..2, 0), 2);
    let mut later = Vec::new();
    assert_eq!(rows.copy_binary(&mut later, 0..2, 1), 1, "rows at or before seq 1 are left out");
    assert_eq!(&all[..11], b"PGCOPY\n\xff\r\n\0");
    assert_eq!(&all[all.len() - 2..], &[0xff, 0xff]);
    let tuple = &all[19..];
    assert_eq!(&tuple[..2], &20i16.to_be_bytes(), "20 columns");
    assert_eq!(&tuple[2..6], &8i32.to_be_bytes());
    assert_eq!(&tuple[6..14], &1i64.to_be_bytes(), "journal_seq");
    // order_id: after journal_seq, n, event_seq, ts_ns, 3 texts and account.
    let at = 2 + 12 + 8 + 12 + 12 + (4 + 7) + (4 + 3) + (4 + 8) + 12;
    assert_eq!(&tuple[at..at + 12], [&8i32.to_be_bytes()[..], &(-1i64).to_be_bytes()].concat(), "u64::MAX bits");
    assert!(later.len() < all.len());
}

#[test]
fn every_reason_code_has_one_name() {
    let names = reason_names();
    assert_eq!(names.len(), 12 + 5 + RISK_CODES.len());
    assert!(names.iter().any(|(c, n)| *c == CANCEL + 1 && *n == "USER"));
    assert!(names.iter().any(|(c, n)| *c == CANCEL + 5 && *n == "FILLED_BEFORE_AMEND"));
    assert_eq!(reason_name(0), None);
    assert_eq!(reason_name(RISK), None);
}

/// Command `i` (from 1) of a small deterministic stream: resting orders, crosses, amends and
/// cancels of earlier orders, over five accounts, both sides and nine prices.
fn stream_command(i: u64) -> Command {
    let r = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    let older = 1 + r % i;
    match r % 7 {
        0 => Command::Cancel { order_id: older },
        1 => Command::Amend { order_id: older, price: None, qty: Some(1 + (r >> 8) as i64 % 9) },
        _ => {
            let side = if r & 8 == 0 { Side::Buy } else { Side::Sell };
            let (account, price, qty) =
                (1 + (r >> 4) as u32 % 5, 100 + (r >> 12) as i64 % 9, 1 + (r >> 16) as i64 % 20);
            Command::New(NewOrder::limit(i, account, side, price, qty))
        }
    }
}

/// Row `i` of `c`.
fn row_at(c: &AuditColumns, i: usize) -> Row {
    Row {
        journal_seq: c.journal_seq[i],
        n: c.n[i],
        event_seq: c.event_seq[i],
        ts_ns: c.ts_ns[i],
        instrument: c.instrument[i],
        command: c.command[i],
        kind: c.kind[i],
        account: c.account[i],
        order_id: c.order_id[i],
        side: c.side[i],
        price: c.price[i],
        qty: c.qty[i],
        leaves_qty: c.leaves_qty[i],
        old_price: c.old_price[i],
        old_qty: c.old_qty[i],
        contra_account: c.contra_account[i],
        contra_order_id: c.contra_order_id[i],
        contra_leaves_qty: c.contra_leaves_qty[i],
        reason: c.reason[i],
        priority_kept: c.priority_kept[i],
        present: c.present[i],
    }
}

/// The journal of `stream_command(1..=count)` with a snapshot of the replayed books after each
/// sequence of `snapshots_at` (as the engine writes them), and every row of a full replay.
fn journal_with_snapshots(dir: &Path, count: u64, snapshots_at: &[u64]) -> AuditColumns {
    use crate::journal::{write_snapshot, EngineSnapshot};
    let mut j = journal(dir);
    let mut full = AuditReplay::new(vec![btc()]).expect("replay");
    let mut all = AuditColumns {
        instruments: vec![("BTC-USD".into(), Step::parse("0.01").expect("step"), Step::parse("0.001").expect("step"))],
        ..AuditColumns::default()
    };
    for i in 1..=count {
        j.append(0, &stream_command(i)).expect("append");
        if snapshots_at.contains(&i) || i == count {
            j.sync().expect("sync");
            let rows = full.read(dir, 7).expect("reads");
            (0..rows.len()).for_each(|k| all.push(row_at(&rows, k)));
            if snapshots_at.contains(&i) {
                write_snapshot(dir, &EngineSnapshot::capture(full.engine(), i)).expect("snapshot");
            }
        }
    }
    j.close().expect("close");
    all
}

#[test]
fn a_resumed_replay_reads_only_the_records_after_the_snapshot_and_builds_the_same_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let all = journal_with_snapshots(dir.path(), 600, &[200, 450]);
    // A damaged snapshot newer than the good one is passed over.
    let damaged = dir.path().join(crate::journal::snapshot::snapshot_name(300));
    std::fs::write(damaged, b"wintermute-snapshot v2 len=1 crc32c=00000000\nx").expect("write");
    let mut resumed = AuditReplay::new(vec![btc()]).expect("replay");
    assert_eq!(resumed.resume(dir.path(), 400).expect("resumes"), Some(200), "the newest good one <= 400");
    assert_eq!(resumed.cursor(), 200);
    let tail = resumed.read(dir.path(), 7).expect("reads");
    assert_eq!(resumed.records_read(), 400, "records 201..=600 only");
    assert_eq!(resumed.touched(), [0]);
    let mut expected = AuditColumns { instruments: all.instruments.clone(), ..AuditColumns::default() };
    (0..all.len()).filter(|&k| all.journal_seq[k] > 200).for_each(|k| expected.push(row_at(&all, k)));
    assert!(expected.len() > 300, "a tail with rows: {}", expected.len());
    assert_eq!(tail, expected, "the full replay's rows after 200, field for field");
    // Cancels and amends of orders that rested in the snapshot (ids up to 200) carry their
    // owner: the accounts came from the snapshot's books.
    let older = (0..tail.len()).filter(|&k| matches!(tail.kind[k], 4 | 5) && tail.order_id[k] <= 200);
    assert!(older.clone().count() > 0, "the tail cancels or amends orders from before the snapshot");
    assert!(older.into_iter().all(|k| tail.present[k] & present::ACCOUNT != 0));
}

#[test]
fn resume_without_a_snapshot_early_enough_changes_nothing_and_a_used_replay_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    journal_with_snapshots(dir.path(), 50, &[40]);
    let mut replay = AuditReplay::new(vec![btc()]).expect("replay");
    assert_eq!(replay.resume(dir.path(), 39).expect("looks"), None);
    assert_eq!(replay.cursor(), 0);
    replay.read(dir.path(), 7).expect("reads");
    assert!(replay.resume(dir.path(), 50).is_err(), "after a read");
    let eth =
        AuditInstrument::from_decimals("ETH-USD", "0.01", "0.001", "0.001", "100", "1", "1000000").expect("valid");
    let err = AuditReplay::new(vec![eth]).expect("replay").resume(dir.path(), 50).expect_err("other books");
    assert!(err.to_string().contains("ETH-USD"), "{err}");
}

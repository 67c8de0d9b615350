//! Tests of the command and event records and of `RecordSink`.

use super::*;

#[test]
fn an_amend_record_of_the_format_before_amends_by_total_decodes_as_before() {
    // Bytes as the previous format wrote them (kind 2, flags "qty given", 24..32 zero): every
    // journal written before amends by total replays them as amends that set the remaining.
    let mut b = [0u8; COMMAND_SIZE];
    b[0] = 7;
    b[16] = 3;
    b[36] = 2;
    b[41] = flags::HAS_QTY;
    assert_eq!(decode_command(&b), Ok(Command::Amend { order_id: 7, price: None, qty: Some(3) }));
    // An amend by total has a kind of its own, so a reader that predates it refuses it.
    let total = encode_command(&Command::AmendTotal { order_id: 7, price: None, qty: 3, seen_remaining: 5 });
    assert_eq!((total[36], &total[24..32]), (4, &5i64.to_le_bytes()[..]));
}

#[test]
fn an_amend_is_by_total_when_the_seen_remaining_is_given_and_then_needs_a_qty() {
    assert_eq!(amend(1, Some(5), None, None), Ok(Command::Amend { order_id: 1, price: Some(5), qty: None }));
    let total = Command::AmendTotal { order_id: 1, price: None, qty: 2, seen_remaining: 3 };
    assert_eq!(amend(1, None, Some(2), Some(3)), Ok(total));
    assert!(matches!(amend(1, Some(5), None, Some(3)), Err(OrderError::InvalidOrder { order_id: 1, .. })));
}

#[test]
fn commands_round_trip() {
    let cmds = [
        Command::New(NewOrder::limit(7, 3, Side::Sell, -5, 10).iceberg(2).with_stp(StpMode::Decrement)),
        Command::New(NewOrder::market(8, 1, Side::Buy, 4).with_tif(TimeInForce::Fok)),
        Command::New(NewOrder::limit(9, 1, Side::Buy, 100, 1).post_only()),
        Command::Cancel { order_id: u64::MAX },
        Command::Amend { order_id: 1, price: Some(3), qty: None },
        Command::Amend { order_id: 1, price: None, qty: Some(0) },
        Command::AmendTotal { order_id: 2, price: None, qty: 5, seen_remaining: 9 },
        Command::AmendTotal { order_id: 2, price: Some(-4), qty: -1, seen_remaining: i64::MAX },
        Command::MassCancel { account: Some(0), side: None },
        Command::MassCancel { account: None, side: Some(Side::Sell) },
    ];
    for c in cmds {
        assert_eq!(decode_command(&encode_command(&c)), Ok(c));
    }
}

/// A random command record: mostly valid commands on a narrow book (crossing, partial
/// fills, icebergs, self-trade prevention, unknown and dead ids), and every byte field
/// sometimes out of range (unknown kinds, sides, types, time in force, STP codes).
fn random_record(rng: &mut crate::rng::SplitMix64) -> [u8; COMMAND_SIZE] {
    let mut b = [0u8; COMMAND_SIZE];
    let odd = |rng: &mut crate::rng::SplitMix64, valid: u64| {
        if rng.below(20) == 0 {
            valid + rng.below(3)
        } else {
            rng.below(valid)
        }
    };
    b[0..8].copy_from_slice(&(1 + rng.below(30)).to_le_bytes());
    b[8..16].copy_from_slice(&rng.range(95, 106).to_le_bytes());
    b[16..24].copy_from_slice(&rng.range(-1, 12).to_le_bytes());
    let display = if rng.below(5) == 0 { rng.range(0, 4) } else { 0 };
    b[24..32].copy_from_slice(&display.to_le_bytes());
    b[32..36].copy_from_slice(&(1 + rng.below(3) as u32).to_le_bytes());
    b[36] = match rng.below(44) {
        0..=19 => 0,
        20..=28 => 1,
        29..=37 => 2,
        38 => 3,
        39..=42 => 4,
        _ => 5 + rng.below(250) as u8,
    };
    if b[36] == 4 {
        // An amend by total: the remaining quantity its sender saw, often behind by a fill.
        b[24..32].copy_from_slice(&rng.range(0, 14).to_le_bytes());
    }
    b[37] = odd(rng, if b[36] == 3 { 3 } else { 2 }) as u8;
    b[38] = odd(rng, 2) as u8;
    b[39] = odd(rng, 3) as u8;
    b[40] = odd(rng, 5) as u8;
    b[41] = rng.below(16) as u8;
    b
}

#[test]
fn records_run_straight_give_the_events_errors_and_book_of_the_decoded_commands() {
    let spec = crate::InstrumentSpec::from_units("T", "0.01", "1", 1, 10, 96, 104).expect("valid spec");
    let (mut outcomes, mut refused) = ([0usize; 7], 0);
    for seed in 0..40 {
        let mut rng = crate::rng::SplitMix64::new(seed);
        let (mut decoded, mut direct) = (OrderBook::new(spec.clone()), OrderBook::new(spec.clone()));
        for i in 0..500 {
            let rec = random_record(&mut rng);
            let (mut want, mut got) = (Vec::new(), Vec::new());
            let expected = decode_command(&rec).and_then(|cmd| decoded.execute(&cmd, &mut want));
            let result = execute_record(&mut direct, &rec, &mut got);
            assert_eq!(result, expected, "seed {seed}, command {i}: {rec:?}");
            assert_eq!(got, want, "seed {seed}, command {i}: {rec:?}");
            refused += usize::from(result.is_err());
            for ev in &got {
                outcomes[usize::from(encode_event(ev, 0, 0)[72])] += 1;
            }
        }
        assert_eq!(direct.snapshot(), decoded.snapshot(), "seed {seed}");
    }
    // The streams reach every event kind, and refusals.
    assert!(outcomes[1..].iter().all(|&n| n > 0), "event kinds reached: {outcomes:?}");
    assert!(refused > 0);
}

#[test]
fn a_drain_hands_over_the_records_and_reserves_as_much_for_the_next_ones() {
    let mut sink = RecordSink { instrument: 3, command: 1, ..RecordSink::default() };
    let ev = Event::Canceled {
        seq: 9,
        order_id: 4,
        canceled_qty: 2,
        remaining_qty: 0,
        reason: crate::event::CancelReason::User,
    };
    sink.push(ev);
    sink.push(ev);
    let drained = sink.drain_records();
    assert_eq!(drained.len(), 2 * EVENT_SIZE);
    assert_eq!(drained[..EVENT_SIZE], encode_event(&ev, 3, 1));
    assert!(sink.is_empty());
    assert!(sink.capacity() >= 2 * EVENT_SIZE);
    let before = sink.records().as_ptr();
    for _ in 0..2 {
        sink.push(ev);
    }
    assert_eq!(sink.records().as_ptr(), before, "the reserved buffer is filled without reallocation");
}

#[test]
fn a_sink_that_skips_book_deltas_keeps_every_other_event_as_is() {
    let delta = Event::BookDelta { seq: 1, side: Side::Buy, price: 5, qty: 3, orders: 1 };
    let accepted = Event::Accepted { seq: 2, order_id: 9, account: 1, side: Side::Buy, price: 5, qty: 3 };
    let mut all = RecordSink::default();
    let mut orders = RecordSink { skip_book_deltas: true, ..RecordSink::default() };
    for ev in [delta, accepted] {
        all.push(ev);
        orders.push(ev);
    }
    assert_eq!(all.len(), 2);
    assert_eq!(orders.records(), &all.records()[EVENT_SIZE..]);
}

#[test]
fn records_pushed_match_encode_event_across_growth_and_drains() {
    use crate::event::CancelReason;
    let kinds = [
        Event::Accepted { seq: 1, order_id: 2, account: 3, side: Side::Sell, price: -4, qty: 5 },
        Event::Rejected { seq: 6, order_id: 7, reason: RejectReason::FokNotFillable },
        Event::Trade {
            seq: 8,
            maker_order_id: 9,
            taker_order_id: 10,
            maker_account: 11,
            taker_account: 12,
            price: 13,
            qty: 14,
            aggressor: Side::Sell,
            maker_remaining: 15,
            taker_remaining: 16,
        },
        Event::Canceled { seq: 17, order_id: 18, canceled_qty: 19, remaining_qty: 20, reason: CancelReason::SelfTrade },
        Event::Amended {
            seq: 21,
            order_id: 22,
            old_price: 23,
            new_price: 24,
            old_qty: 25,
            new_qty: 26,
            priority_kept: true,
        },
        Event::BookDelta { seq: 27, side: Side::Sell, price: u32::MAX.into(), qty: 28, orders: u32::MAX },
    ];
    let invalid = OrderError::InvalidOrder { order_id: 29, why: "test" };
    // Starts empty, then grows past several reallocations.
    let mut sink = RecordSink { instrument: 5, ..RecordSink::default() };
    for round in 0..2 {
        let mut expected = Vec::new();
        for n in 0..75u32 {
            sink.command = n;
            let ev = kinds[n as usize % kinds.len()];
            sink.push(ev);
            expected.extend_from_slice(&encode_event(&ev, 5, n));
            if n % 7 == 0 {
                sink.push_invalid(&invalid);
                expected.extend_from_slice(&encode_invalid(&invalid, 5, n));
            }
        }
        assert_eq!(sink.len(), expected.len() / EVENT_SIZE, "round {round}");
        assert_eq!(sink.records(), &expected[..], "round {round}");
        // The first round is drained (the next writes go to a fresh buffer), the second
        // handed over whole.
        if round == 0 {
            assert_eq!(sink.drain_records(), expected);
            assert!(sink.is_empty());
        } else {
            assert_eq!(std::mem::take(&mut sink).into_records(), expected);
        }
    }
    // Every byte a kind leaves empty is zero, whatever the record before it held.
    let delta = encode_event(&kinds[5], 5, 0);
    assert!(delta[8..24].iter().chain(&delta[48..64]).chain(&delta[74..]).all(|&b| b == 0));
}

/// The table of [`encode_event`], field by field at its byte offsets: the oracle the
/// word encoder is checked against.
fn reference_record(ev: &Event, instrument: u32, command: u32) -> [u8; EVENT_SIZE] {
    let mut b = [0u8; EVENT_SIZE];
    let mut put = |off: usize, bytes: &[u8]| b[off..off + bytes.len()].copy_from_slice(bytes);
    put(64, &instrument.to_le_bytes());
    put(68, &command.to_le_bytes());
    match *ev {
        Event::Accepted { seq, order_id, account, side, price, qty } => {
            put(0, &seq.to_le_bytes());
            put(8, &order_id.to_le_bytes());
            put(24, &price.to_le_bytes());
            put(32, &qty.to_le_bytes());
            put(56, &account.to_le_bytes());
            put(72, &[kind::ACCEPTED, side as u8]);
        }
        Event::Rejected { seq, order_id, reason } => {
            put(0, &seq.to_le_bytes());
            put(8, &order_id.to_le_bytes());
            put(72, &[kind::REJECTED, 0, reason as u8]);
        }
        Event::Trade {
            seq,
            maker_order_id,
            taker_order_id,
            maker_account,
            taker_account,
            price,
            qty,
            aggressor,
            maker_remaining,
            taker_remaining,
        } => {
            put(0, &seq.to_le_bytes());
            put(8, &maker_order_id.to_le_bytes());
            put(16, &taker_order_id.to_le_bytes());
            put(24, &price.to_le_bytes());
            put(32, &qty.to_le_bytes());
            put(40, &maker_remaining.to_le_bytes());
            put(48, &taker_remaining.to_le_bytes());
            put(56, &maker_account.to_le_bytes());
            put(60, &taker_account.to_le_bytes());
            put(72, &[kind::TRADE, aggressor as u8]);
        }
        Event::Canceled { seq, order_id, canceled_qty, remaining_qty, reason } => {
            put(0, &seq.to_le_bytes());
            put(8, &order_id.to_le_bytes());
            put(32, &canceled_qty.to_le_bytes());
            put(40, &remaining_qty.to_le_bytes());
            put(72, &[kind::CANCELED, 0, reason as u8]);
        }
        Event::Amended { seq, order_id, old_price, new_price, old_qty, new_qty, priority_kept } => {
            put(0, &seq.to_le_bytes());
            put(8, &order_id.to_le_bytes());
            put(24, &new_price.to_le_bytes());
            put(32, &new_qty.to_le_bytes());
            put(40, &old_qty.to_le_bytes());
            put(48, &old_price.to_le_bytes());
            put(72, &[kind::AMENDED, 0, 0, u8::from(priority_kept)]);
        }
        Event::BookDelta { seq, side, price, qty, orders } => {
            put(0, &seq.to_le_bytes());
            put(24, &price.to_le_bytes());
            put(32, &qty.to_le_bytes());
            put(40, &i64::from(orders).to_le_bytes());
            put(72, &[kind::BOOK_DELTA, side as u8]);
        }
    }
    b
}

#[test]
fn records_follow_the_table_byte_for_byte() {
    use crate::event::CancelReason;
    // Every field distinct and using its high bytes, so that a misplaced or truncated field
    // shows.
    let big = |n: u64| n << 56 | 0x0102_0304_0506_0700 | n;
    let events = [
        Event::Accepted {
            seq: big(1),
            order_id: big(2),
            account: u32::MAX - 3,
            side: Side::Sell,
            price: -4,
            qty: big(5) as i64,
        },
        Event::Rejected { seq: big(6), order_id: big(7), reason: RejectReason::FokNotFillable },
        Event::Trade {
            seq: big(8),
            maker_order_id: big(9),
            taker_order_id: big(10),
            maker_account: u32::MAX - 11,
            taker_account: 0x8000_0012,
            price: -13,
            qty: big(14) as i64,
            aggressor: Side::Sell,
            maker_remaining: big(15) as i64,
            taker_remaining: -16,
        },
        Event::Canceled {
            seq: big(17),
            order_id: big(18),
            canceled_qty: -19,
            remaining_qty: big(20) as i64,
            reason: CancelReason::SelfTrade,
        },
        Event::Amended {
            seq: big(21),
            order_id: big(22),
            old_price: -23,
            new_price: big(24) as i64,
            old_qty: -25,
            new_qty: big(26) as i64,
            priority_kept: true,
        },
        Event::Amended {
            seq: 0,
            order_id: 1,
            old_price: 2,
            new_price: 3,
            old_qty: 4,
            new_qty: 5,
            priority_kept: false,
        },
        Event::BookDelta { seq: big(27), side: Side::Sell, price: i64::MIN, qty: big(28) as i64, orders: u32::MAX },
        Event::BookDelta { seq: 1, side: Side::Buy, price: 2, qty: 0, orders: 0 },
    ];
    for ev in events {
        for (instrument, command) in [(0, 0), (u32::MAX, 7), (9, u32::MAX)] {
            assert_eq!(encode_event(&ev, instrument, command), reference_record(&ev, instrument, command), "{ev:?}");
            let mut sink = RecordSink { instrument, command, ..RecordSink::default() };
            sink.push(ev);
            assert_eq!(sink.records(), reference_record(&ev, instrument, command), "{ev:?}");
        }
    }
    let invalid = OrderError::InvalidOrder { order_id: big(29), why: "test" };
    let mut expected = reference_record(&Event::Rejected { seq: 0, order_id: big(29), reason: invalid.reason() }, 3, 4);
    assert_eq!(encode_invalid(&invalid, 3, 4), expected);
    let mut sink = RecordSink { instrument: 3, command: 4, ..RecordSink::default() };
    sink.push_invalid(&invalid);
    assert_eq!(sink.records(), expected);
    expected[74] = 200;
    assert_eq!(encode_rejection(big(29), 200, 3, 4), expected);
}

#[test]
fn a_huge_drain_reserves_at_most_the_cap() {
    // One record more than the cap holds.
    let huge = RecordSink::MAX_RESERVE / EVENT_SIZE + 1;
    let mut sink = RecordSink { buf: vec![[0; EVENT_SIZE]; huge], ..RecordSink::default() };
    assert_eq!(sink.drain_records().len(), huge * EVENT_SIZE);
    assert!(sink.capacity() <= RecordSink::MAX_RESERVE);
    assert!(sink.capacity() < huge * EVENT_SIZE);
}

#[test]
fn bad_records_are_errors_not_panics() {
    let mut b = encode_command(&Command::New(NewOrder::limit(1, 1, Side::Buy, 1, 1)));
    for (off, v) in [(36, 9u8), (37, 2), (38, 2), (39, 3), (40, 5)] {
        let mut x = b;
        x[off] = v;
        assert!(matches!(decode_command(&x), Err(OrderError::InvalidOrder { order_id: 1, .. })), "offset {off}");
    }
    b[36] = 3;
    b[37] = 7;
    assert!(decode_command(&b).is_err());
}

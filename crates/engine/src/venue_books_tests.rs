use super::*;

/// An output record: `e` of `instrument`, command `seq` of gateway 0.
fn record(instrument: u32, seq: u64, e: BookEvent, last: bool) -> Vec<u8> {
    let mut r = vec![0u8; OUTPUT_SIZE];
    r[8..16].copy_from_slice(&e.order_id.to_le_bytes());
    r[16..24].copy_from_slice(&e.other_id.to_le_bytes());
    r[24..32].copy_from_slice(&e.price.to_le_bytes());
    r[32..40].copy_from_slice(&e.qty.to_le_bytes());
    r[40..48].copy_from_slice(&e.remaining.to_le_bytes());
    r[48..56].copy_from_slice(&e.other.to_le_bytes());
    r[64..68].copy_from_slice(&instrument.to_le_bytes());
    r[72] = e.kind;
    r[73] = e.side;
    r[75] = e.flags;
    r[80..88].copy_from_slice(&seq.to_le_bytes());
    r[115] = u8::from(last);
    r
}

fn accepted(id: u64, side: u8, price: i64, qty: i64) -> BookEvent {
    BookEvent { kind: kind::ACCEPTED, order_id: id, side, price, qty, ..BookEvent::default() }
}

fn delta(side: u8, price: i64, qty: i64, orders: i64) -> BookEvent {
    BookEvent { kind: kind::BOOK_DELTA, side, price, qty, remaining: orders, ..BookEvent::default() }
}

fn trade(maker: u64, maker_left: i64, taker: u64, taker_left: i64, qty: i64) -> BookEvent {
    BookEvent {
        kind: kind::TRADE,
        order_id: maker,
        other_id: taker,
        qty,
        remaining: maker_left,
        other: taker_left,
        ..BookEvent::default()
    }
}

fn canceled(id: u64, left: i64) -> BookEvent {
    BookEvent { kind: kind::CANCELED, order_id: id, remaining: left, ..BookEvent::default() }
}

/// A command's records, the last one marked.
fn command(instrument: u32, seq: u64, events: &[BookEvent]) -> Vec<u8> {
    let n = events.len();
    events.iter().enumerate().flat_map(|(i, e)| record(instrument, seq, *e, i + 1 == n)).collect()
}

fn apply(books: &mut VenueBooks, batch: &[u8]) -> Vec<Vec<u8>> {
    let mut kept = Vec::new();
    let n = books.apply(batch, &mut kept).unwrap();
    assert_eq!(kept.len(), n * OUTPUT_SIZE);
    kept.chunks(OUTPUT_SIZE).map(<[u8]>::to_vec).collect()
}

#[test]
fn resting_orders_queue_in_arrival_order_and_the_queue_ahead_is_exact() {
    let mut books = VenueBooks::new(1);
    let mut batch = command(0, 1, &[accepted(1, BUY, 100, 5), delta(BUY, 100, 5, 1)]);
    batch.extend(command(0, 2, &[accepted(2, BUY, 100, 3), delta(BUY, 100, 8, 2)]));
    batch.extend(command(0, 3, &[accepted(3, BUY, 99, 4), delta(BUY, 99, 4, 1)]));
    apply(&mut books, &batch);
    let book = books.book(0).unwrap();
    assert_eq!(book.queue_ahead(1), Some(0));
    assert_eq!(book.queue_ahead(2), Some(5));
    assert_eq!(book.queue_ahead(3), Some(0));
    assert_eq!(book.depth(BUY, 10), vec![(100, 8), (99, 4)]);
    assert_eq!(book.best(BUY), Some(100));
    assert_eq!(book.best(SELL), None);
    assert_eq!(book.seq(), 3);
    assert_eq!(book.queue_totals(BUY), vec![(99, 4), (100, 8)]);
}

#[test]
fn a_trade_shrinks_the_maker_in_place_and_a_filled_maker_leaves_the_queue() {
    let mut books = VenueBooks::new(1);
    let mut batch = command(0, 1, &[accepted(1, SELL, 100, 5), delta(SELL, 100, 5, 1)]);
    batch.extend(command(0, 2, &[accepted(2, SELL, 100, 5), delta(SELL, 100, 10, 2)]));
    // A buy of 7 fills order 1 and takes 2 of order 2; nothing of it rests.
    batch.extend(command(
        0,
        3,
        &[accepted(3, BUY, 100, 7), trade(1, 0, 3, 2, 5), trade(2, 3, 3, 0, 2), delta(SELL, 100, 3, 1)],
    ));
    apply(&mut books, &batch);
    let book = books.book(0).unwrap();
    assert_eq!(book.resting(1), None);
    assert_eq!(book.resting(2), Some(3));
    assert_eq!(book.queue_ahead(2), Some(0));
    assert_eq!(book.resting(3), None);
    assert_eq!(book.queue_totals(SELL), book.depth(SELL, 10));
}

#[test]
fn a_taker_remainder_rests_at_the_back_and_a_cancel_removes_it() {
    let mut books = VenueBooks::new(1);
    let mut batch = command(0, 1, &[accepted(1, SELL, 100, 2), delta(SELL, 100, 2, 1)]);
    batch.extend(command(
        0,
        2,
        &[accepted(2, BUY, 100, 5), trade(1, 0, 2, 3, 2), delta(SELL, 100, 0, 0), delta(BUY, 100, 3, 1)],
    ));
    apply(&mut books, &batch);
    assert_eq!(books.book(0).unwrap().resting(2), Some(3));
    apply(&mut books, &command(0, 3, &[canceled(2, 0), delta(BUY, 100, 0, 0)]));
    let book = books.book(0).unwrap();
    assert_eq!(book.resting(2), None);
    assert!(book.depth(BUY, 10).is_empty() && book.depth(SELL, 10).is_empty());
    assert!(book.queue_totals(BUY).is_empty());
}

#[test]
fn an_amend_keeps_or_loses_priority_as_the_engine_says() {
    let mut books = VenueBooks::new(1);
    let mut batch = command(0, 1, &[accepted(1, BUY, 100, 5), delta(BUY, 100, 5, 1)]);
    batch.extend(command(0, 2, &[accepted(2, BUY, 100, 5), delta(BUY, 100, 10, 2)]));
    let keep = BookEvent { kind: kind::AMENDED, order_id: 1, price: 100, qty: 2, flags: 1, ..BookEvent::default() };
    batch.extend(command(0, 3, &[keep, delta(BUY, 100, 7, 2)]));
    apply(&mut books, &batch);
    assert_eq!(books.book(0).unwrap().queue_ahead(2), Some(2));
    let lose = BookEvent { kind: kind::AMENDED, order_id: 1, price: 100, qty: 4, ..BookEvent::default() };
    apply(&mut books, &command(0, 4, &[lose, delta(BUY, 100, 9, 2)]));
    let book = books.book(0).unwrap();
    assert_eq!(book.queue_ahead(2), Some(0));
    assert_eq!(book.queue_ahead(1), Some(5));
    assert_eq!(book.queue_totals(BUY), vec![(100, 9)]);
}

#[test]
fn book_deltas_are_dropped_and_the_last_mark_moves_to_the_last_kept_record() {
    let mut books = VenueBooks::new(1);
    let batch = command(0, 7, &[accepted(1, BUY, 100, 5), delta(BUY, 100, 5, 1)]);
    let kept = apply(&mut books, &batch);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0][72], kind::ACCEPTED);
    assert_eq!(kept[0][115], 1, "the accepted record now ends the command");
    assert_eq!(u32::from_le_bytes(kept[0][116..120].try_into().unwrap()), 1, "one delta dropped");
    assert_eq!(kept[0][..115], batch[..115], "everything else as the engine wrote it");
}

#[test]
fn a_command_cut_by_the_batch_end_keeps_its_final_delta_as_the_last_record() {
    let mut books = VenueBooks::new(1);
    let all = command(0, 1, &[accepted(1, BUY, 100, 5), delta(BUY, 100, 5, 1), delta(BUY, 99, 0, 0)]);
    let first = apply(&mut books, &all[..2 * OUTPUT_SIZE]);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0][115], 0, "the command is not over yet");
    let second = apply(&mut books, &all[2 * OUTPUT_SIZE..]);
    assert_eq!(second.len(), 1);
    assert_eq!((second[0][72], second[0][115]), (kind::BOOK_DELTA, 1));
    assert_eq!(u32::from_le_bytes(second[0][116..120].try_into().unwrap()), 2);
    assert_eq!(books.book(0).unwrap().resting(1), Some(5));
}

#[test]
fn updates_are_collected_per_command_only_for_watched_instruments() {
    let mut books = VenueBooks::new(2);
    books.watch(1, true);
    let mut batch = command(0, 1, &[accepted(1, BUY, 100, 5), delta(BUY, 100, 5, 1)]);
    batch.extend(command(1, 2, &[accepted(2, SELL, 101, 5), delta(SELL, 101, 5, 1)]));
    batch.extend(command(
        1,
        3,
        &[accepted(3, BUY, 101, 7), trade(2, 0, 3, 2, 5), delta(SELL, 101, 0, 0), delta(BUY, 101, 2, 1)],
    ));
    apply(&mut books, &batch);
    let updates = books.take_updates();
    assert_eq!(
        updates,
        vec![
            BookUpdate { instrument: 1, first_seq: 1, last_seq: 1, bids: vec![], asks: vec![(101, 5)] },
            BookUpdate { instrument: 1, first_seq: 2, last_seq: 3, bids: vec![(101, 2)], asks: vec![(101, 0)] },
        ]
    );
    assert!(books.take_updates().is_empty());
}

#[test]
fn outputs_that_are_not_events_pass_through_and_unknown_instruments_are_ignored() {
    let mut books = VenueBooks::new(1);
    let mut refused = record(5, 1, BookEvent { kind: kind::REJECTED, ..BookEvent::default() }, true);
    refused[114] = 4; // unknown_instrument
    let kept = apply(&mut books, &refused);
    assert_eq!(kept, vec![refused]);
    assert_eq!(books.book(0).unwrap().seq(), 0);
}

#[test]
fn a_batch_that_is_not_whole_records_is_an_error_and_changes_nothing() {
    let mut books = VenueBooks::new(1);
    let mut kept = Vec::new();
    let batch = command(0, 1, &[accepted(1, BUY, 100, 5), delta(BUY, 100, 5, 1)]);
    let err = books.apply(&batch[..OUTPUT_SIZE + 3], &mut kept).unwrap_err();
    assert_eq!(err, BatchSizeError { len: OUTPUT_SIZE + 3 });
    assert!(kept.is_empty());
    assert_eq!(books.book(0).unwrap().seq(), 0);
}

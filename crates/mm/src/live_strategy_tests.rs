use std::convert::Infallible;

use super::*;
use crate::types::{Fill, Level, Liquidity, Side, Top};

fn book(venue: u8, bid: i64) -> StrategyEvent {
    let top = Top { bid: Level { price: bid, qty: 1 }, ask: Level { price: bid + 2, qty: 1 }, ts_ns: 0 };
    StrategyEvent::Book { venue: VenueId::External(venue), top, live: true }
}

fn fill(qty: i64) -> StrategyEvent {
    let fill = Fill {
        ts_ns: 0,
        venue: VenueId::Ours,
        order_id: 1,
        side: Side::Buy,
        price: 10,
        qty,
        liquidity: Liquidity::Maker,
        fee: 0,
    };
    StrategyEvent::Fill { fill, remaining: 0, position: qty }
}

/// Records every batch; places one order after each batch's last event.
#[derive(Default)]
struct Recorder {
    batches: Vec<Vec<(StrategyEvent, i64)>>,
}

impl BatchSink for Recorder {
    type Error = Infallible;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Infallible> {
        self.batches.push(batch.events.iter().copied().zip(batch.stamps.iter().map(|s| s.ts_ns)).collect());
        let order_id = batch.next_order_id.unwrap();
        let command = Command::Place { venue: VenueId::Ours, side: Side::Buy, price: 1, qty: 1, order_id };
        out.push(batch.events.len() - 1, command);
        Ok(())
    }
}

#[test]
fn events_go_over_in_batches_and_commands_come_back_with_the_feeds_order_ids() {
    let (mut port, mut feed) = link(LiveStrategyConfig { max_batch: 2, queue: 8, first_order_id: 100, unanswered: 8 });
    let mut sink = Recorder::default();
    assert_eq!(feed.step(&mut sink).unwrap(), 0, "nothing waiting: no call");
    port.push(book(0, 10), 1);
    port.push(StrategyEvent::Timer, 2);
    port.push(book(1, 20), 3);
    assert_eq!(feed.step(&mut sink).unwrap(), 2);
    assert_eq!(feed.step(&mut sink).unwrap(), 1);
    assert_eq!(sink.batches, vec![vec![(book(0, 10), 1), (StrategyEvent::Timer, 2)], vec![(book(1, 20), 3)]]);
    let ids: Vec<u64> = std::iter::from_fn(|| port.pop_command())
        .map(|(c, _)| match c {
            Command::Place { order_id, .. } => order_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, vec![100, 101]);
    assert_eq!(port.stats().sent, 3);
    assert_eq!(port.feed_counters().batches.load(Ordering::Relaxed), 2);
}

#[test]
fn a_full_ring_conflates_books_and_timers_keeps_fills_aside_and_counts_what_it_drops() {
    let (mut port, mut feed) = link(LiveStrategyConfig { max_batch: 1024, queue: 2, first_order_id: 1, unanswered: 8 });
    let capacity = port.events.capacity();
    for i in 0..capacity {
        port.push(StrategyEvent::Timer, i as i64);
    }
    // Full: later tops of venue 0 replace each other, timers join, fills wait aside.
    port.push(book(0, 10), 100);
    port.push(book(0, 11), 101);
    port.push(book(0, 12), 102);
    port.push(StrategyEvent::Timer, 103);
    port.push(StrategyEvent::Timer, 104);
    for q in 1..=(PENDING_OTHER as i64 + 3) {
        port.push(fill(q), 200 + q);
    }
    let s = port.stats();
    assert_eq!((s.sent, s.conflated_books, s.conflated_timers, s.dropped), (capacity as u64, 2, 1, 3));
    // The strategy catches up: the fills first (in order), then venue 0's latest top, then one timer.
    let mut sink = Recorder::default();
    let mut seen = Vec::new();
    loop {
        while port.pop_command().is_some() {}
        port.flush_pending();
        if feed.step(&mut sink).unwrap() == 0 {
            break;
        }
        seen.extend(sink.batches.pop().unwrap());
    }
    let after_timers = &seen[capacity..];
    assert_eq!(after_timers.len(), PENDING_OTHER + 2);
    assert!(after_timers[..PENDING_OTHER].iter().enumerate().all(|(i, e)| *e == (fill(i as i64 + 1), 201 + i as i64)));
    assert_eq!(after_timers[PENDING_OTHER], (book(0, 12), 102));
    assert_eq!(after_timers[PENDING_OTHER + 1], (StrategyEvent::Timer, 104));
    assert_eq!(port.queued(), 0);
}

fn trade(price: i64) -> StrategyEvent {
    let t = crate::strategy::PublicTrade { ts_ns: 0, venue: VenueId::External(0), price, qty: 1, aggressor: Side::Buy };
    StrategyEvent::Trade(t)
}

#[test]
fn a_full_ring_keeps_trades_aside_up_to_half_the_side_buffer_and_conflates_our_venues_tops() {
    let (mut port, mut feed) = link(LiveStrategyConfig { max_batch: 1024, queue: 2, first_order_id: 1, unanswered: 8 });
    let capacity = port.events.capacity();
    for i in 0..capacity {
        port.push(StrategyEvent::Timer, i as i64);
    }
    let ours = |bid: i64| {
        let top = Top { bid: Level { price: bid, qty: 1 }, ask: Level::default(), ts_ns: 0 };
        StrategyEvent::Book { venue: VenueId::Ours, top, live: true }
    };
    port.push(ours(10), 100);
    port.push(ours(11), 101);
    for p in 0..(PENDING_OTHER as i64) {
        port.push(trade(p), 200 + p);
    }
    // A fill still finds room after the trades took their half.
    port.push(fill(1), 999);
    let s = port.stats();
    assert_eq!((s.conflated_books, s.dropped_trades, s.dropped), (1, (PENDING_OTHER / 2) as u64, 0));
    let mut sink = Recorder::default();
    let mut seen = Vec::new();
    loop {
        while port.pop_command().is_some() {}
        port.flush_pending();
        if feed.step(&mut sink).unwrap() == 0 {
            break;
        }
        seen.extend(sink.batches.pop().unwrap());
    }
    let after = &seen[capacity..];
    let half = PENDING_OTHER / 2;
    assert_eq!(after.len(), half + 2);
    assert!(after[..half].iter().enumerate().all(|(i, e)| *e == (trade(i as i64), 200 + i as i64)));
    assert_eq!(after[half], (fill(1), 999));
    assert_eq!(after[half + 1], (ours(11), 101), "our venue's latest top only");
}

/// Takes answers; cancels order 1 after each batch's last event, `cancels` batches long.
#[derive(Default)]
struct Canceler {
    seen: Vec<StrategyEvent>,
    cancels: usize,
}

impl BatchSink for Canceler {
    type Error = Infallible;

    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Infallible> {
        self.seen.extend_from_slice(batch.events);
        if self.cancels > 0 {
            self.cancels -= 1;
            out.push(batch.events.len() - 1, Command::Cancel { venue: VenueId::Ours, order_id: 1 });
        }
        Ok(())
    }

    fn takes_answers(&self) -> bool {
        true
    }
}

fn answer(open_qty: i64) -> StrategyEvent {
    StrategyEvent::Answer { venue: VenueId::Ours, order_id: 1, open_qty }
}

#[test]
fn an_answer_is_never_dropped_and_comes_after_the_events_pushed_before_it_even_on_a_flooded_ring() {
    let (mut port, mut feed) = link(LiveStrategyConfig { max_batch: 3, queue: 2, first_order_id: 1, unanswered: 4 });
    let mut sink = Canceler { cancels: 4, ..Canceler::default() };
    port.push(StrategyEvent::Timer, 0);
    assert_eq!(feed.step(&mut sink).unwrap(), 1);
    assert_eq!(feed.awaiting_answers(), 1);
    assert!(port.pop_command().is_some());
    // The ring floods: fills wait aside, tops conflate; the answer follows the fills pushed
    // before it, and the fill pushed after it follows it.
    for q in 1..=5 {
        port.push(fill(q), q);
        port.push(book(0, q), q);
    }
    port.push_answer(VenueId::Ours, 1, 0, 50);
    port.push(fill(6), 60);
    let mut seen = Vec::new();
    loop {
        while port.pop_command().is_some() {
            port.push_answer(VenueId::Ours, 1, 0, 70);
        }
        port.flush_pending();
        if feed.step(&mut sink).unwrap() == 0 {
            break;
        }
        seen.clone_from(&sink.seen);
    }
    let s = port.stats();
    assert!(s.full > 0 && s.conflated_books > 0, "the ring was flooded: {s:?}");
    let fills: Vec<usize> = (1..=6).map(|q| seen.iter().position(|e| *e == fill(q)).unwrap()).collect();
    let answers: Vec<usize> = seen.iter().enumerate().filter(|(_, e)| **e == answer(0)).map(|(i, _)| i).collect();
    assert_eq!(answers.len(), 4, "one answer per cancel: {seen:?}");
    assert!(fills[4] < answers[0] && answers[0] < fills[5], "{seen:?}");
    assert_eq!((s.answers, s.lost_answers, feed.awaiting_answers()), (4, 0, 0));
}

#[test]
fn a_batch_past_the_unanswered_limit_is_refused_whole_with_a_clear_error() {
    let (mut port, mut feed) = link(LiveStrategyConfig { max_batch: 8, queue: 8, first_order_id: 1, unanswered: 2 });
    /// Cancels three orders at once.
    struct Three;
    impl BatchSink for Three {
        type Error = Infallible;
        fn on_batch(&mut self, _batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Infallible> {
            for order_id in 1..=3 {
                out.push(0, Command::Cancel { venue: VenueId::Ours, order_id });
            }
            Ok(())
        }
    }
    port.push(StrategyEvent::Timer, 0);
    let e = feed.step(&mut Three).unwrap_err();
    assert_eq!(e, FeedError::Unanswered { awaiting: 0, sent: 3, limit: 2 });
    assert!(e.to_string().contains("awaiting=0 sent=3 limit=2"), "{e}");
    assert!(port.pop_command().is_none(), "nothing of the batch was sent");
    assert_eq!(feed.awaiting_answers(), 0);
}

/// Notes the room it is told of.
#[derive(Default)]
struct Room(Vec<Option<usize>>);

impl BatchSink for Room {
    type Error = Infallible;
    fn on_batch(&mut self, _batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Infallible> {
        out.push(0, Command::Amend { venue: VenueId::Ours, order_id: 1, qty: 1 });
        Ok(())
    }
    fn set_answer_room(&mut self, room: Option<usize>) {
        self.0.push(room);
    }
    fn takes_answers(&self) -> bool {
        true
    }
}

#[test]
fn a_sink_is_told_the_room_left_for_cancels_and_amends_before_each_batch() {
    let (mut port, mut feed) = link(LiveStrategyConfig { max_batch: 8, queue: 8, first_order_id: 1, unanswered: 4 });
    let mut sink = Room::default();
    for ts in 0..3 {
        port.push(StrategyEvent::Timer, ts);
        feed.step(&mut sink).unwrap();
    }
    port.push_answer(VenueId::Ours, 1, 1, 9);
    feed.step(&mut sink).unwrap();
    assert_eq!(sink.0, vec![Some(4), Some(3), Some(2), Some(2)]);
}

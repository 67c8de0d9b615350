//! A strategy that decides in batches, through a callback: [`BatchedStrategy`] buffers the
//! events it receives and hands them to a [`BatchSink`] once per batch; the sink returns order
//! commands, which go out through the same [`Context`] as any Rust strategy's.
//!
//! This is how a strategy written in Python runs (`wintermute.mm_strategy`): one call into
//! Python per batch, not per event. A sink decides **per event** — it walks the batch in order
//! and tags each command with the index of the event it was decided after ([`Decided`]) — and
//! the driver applies each command as of that event ([`Context::decided_at`] with the event's
//! [`Stamp`]). The backtester ends a batch before any of those commands could take effect (one
//! order latency after the batch's first event, and before each metrics sample), so a batched
//! strategy trades exactly as the same decisions made per event would: same orders, same fills,
//! same PnL ([`per_event::PerEvent`] runs any Rust strategy this way, and the tests compare it
//! with the strategy run directly, digest for digest).
//!
//! ```text
//!  driver ── on_book / on_trade / on_fill / on_order_gone / on_timer ──▶ events + stamps (buffer)
//!  driver ── on_batch_end ──▶ sink.on_batch(batch) ──▶ commands (buffer) ──▶ ctx.place / take / amend / cancel
//! ```
//!
//! A batch also ends when it holds `capacity` events. Nothing allocates once the buffers have
//! grown to the largest batch (the events buffer never grows past `capacity`;
//! `tests/batched_no_alloc.rs` counts).
//!
//! A sink error, or a command the driver cannot take (a non-positive size, an order id that is
//! not the driver's), halts the strategy ([`Strategy::halted`]): the driver ends the run and the
//! caller reads [`BatchedStrategy::failure`].

pub mod commands;
pub mod events;
pub mod per_event;

pub use commands::{Command, CommandBuffer, CommandError, Decided};
pub use events::{EventWordsError, StrategyEvent};

use crate::strategy::{Context, PublicTrade, Stamp, Strategy};
use crate::types::{Fill, Top, VenueId};

/// One batch, as a sink sees it.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The events, in the order they came.
    pub events: &'a [StrategyEvent],
    /// Where the driver was at each event (`stamps[i].ts_ns`: when event `i` was seen).
    pub stamps: &'a [Stamp],
    /// The id the batch's first new order (place or take) will get, then one more per new
    /// order in command order; `None` when the driver does not number orders in sequence.
    pub next_order_id: Option<u64>,
}

impl Batch<'_> {
    /// Writes the events as rows of [`events::EVENT_FIELDS`] into `out` (cleared first; no
    /// allocation once its capacity has grown to the largest batch's).
    pub fn write_words(&self, out: &mut Vec<i64>) -> Result<(), EventWordsError> {
        out.clear();
        for (event, stamp) in self.events.iter().zip(self.stamps) {
            out.extend_from_slice(&event.to_words(stamp.ts_ns)?);
        }
        Ok(())
    }
}

/// The callback a [`BatchedStrategy`] calls once per batch.
pub trait BatchSink {
    /// What the callback can fail with.
    type Error;
    /// Decides on `batch`: pushes its commands into `out` (empty on entry), each after the
    /// event it was decided after, in event order.
    fn on_batch(&mut self, batch: &Batch<'_>, out: &mut CommandBuffer) -> Result<(), Self::Error>;
    /// The sink's fair value at `now_ns`, ticks, if it keeps one (the reference of the
    /// fair-value markouts); read right after a batch ended.
    fn fair_value(&self, _now_ns: i64) -> Option<f64> {
        None
    }
    /// Whether the sink takes the answers to its cancels and amends
    /// ([`StrategyEvent::Answer`]); `false` by default.
    fn takes_answers(&self) -> bool {
        false
    }
    /// Whether the driver answers cancels and amends ([`Context::answers_commands`]), told
    /// before each batch.
    fn set_answered(&mut self, _answered: bool) {}
    /// How many more cancels and amends the driver takes before answers come back (`None`: no
    /// limit, the backtester's case), told before each batch; a live strategy thread refuses a
    /// batch that sends more ([`crate::live_strategy::FeedError::Unanswered`]).
    fn set_answer_room(&mut self, _room: Option<usize>) {}
}

/// Why a [`BatchedStrategy`] halted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchFailure<E> {
    /// The sink failed.
    Sink(E),
    /// A command could not be sent.
    Command(CommandError),
}

/// Counters of a [`BatchedStrategy`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Batches handed to the sink.
    pub batches: u64,
    /// Events in them.
    pub events: u64,
    /// Commands sent.
    pub commands: u64,
    /// The largest batch, events.
    pub largest: u64,
}

/// The batching strategy (see the module docs).
#[derive(Debug)]
pub struct BatchedStrategy<K: BatchSink> {
    sink: K,
    capacity: usize,
    events: Vec<StrategyEvent>,
    stamps: Vec<Stamp>,
    out: CommandBuffer,
    stats: BatchStats,
    failure: Option<BatchFailure<K::Error>>,
}

impl<K: BatchSink> BatchedStrategy<K> {
    /// A strategy handing batches of at most `capacity` (>= 1) events to `sink`.
    pub fn new(sink: K, capacity: usize) -> Self {
        let capacity = capacity.max(1);
        BatchedStrategy {
            sink,
            capacity,
            events: Vec::with_capacity(capacity),
            stamps: Vec::with_capacity(capacity),
            out: CommandBuffer::with_capacity(64),
            stats: BatchStats::default(),
            failure: None,
        }
    }

    /// The sink.
    pub fn sink(&self) -> &K {
        &self.sink
    }

    /// The counters.
    pub fn stats(&self) -> BatchStats {
        self.stats
    }

    /// Why it halted, if it did.
    pub fn failure(&self) -> Option<&BatchFailure<K::Error>> {
        self.failure.as_ref()
    }

    /// The sink and why it halted (if it did).
    pub fn into_parts(self) -> (K, Option<BatchFailure<K::Error>>) {
        (self.sink, self.failure)
    }

    #[inline]
    fn push<C: Context>(&mut self, ctx: &mut C, event: StrategyEvent) {
        if self.failure.is_some() {
            return;
        }
        self.events.push(event);
        self.stamps.push(ctx.stamp());
        if self.events.len() >= self.capacity {
            self.flush(ctx);
        }
    }

    /// Hands the buffered events to the sink and sends its commands.
    fn flush<C: Context>(&mut self, ctx: &mut C) {
        if self.events.is_empty() {
            return;
        }
        self.out.clear();
        self.sink.set_answered(ctx.answers_commands());
        let batch = Batch { events: &self.events, stamps: &self.stamps, next_order_id: ctx.next_order_id() };
        let result = self.sink.on_batch(&batch, &mut self.out);
        self.stats.batches += 1;
        self.stats.events += self.events.len() as u64;
        self.stats.largest = self.stats.largest.max(self.events.len() as u64);
        match result {
            Ok(()) => {
                if let Err(e) = self.send(ctx, batch.next_order_id) {
                    self.failure = Some(BatchFailure::Command(e));
                }
            }
            Err(e) => self.failure = Some(BatchFailure::Sink(e)),
        }
        self.events.clear();
        self.stamps.clear();
    }

    fn send<C: Context>(&mut self, ctx: &mut C, next_id: Option<u64>) -> Result<(), CommandError> {
        let mut last_after = 0;
        let result = self.out.as_slice().iter().enumerate().try_for_each(|(index, d)| {
            d.check(index, last_after)?;
            last_after = d.after;
            ctx.decided_at(Some(self.stamps[d.after]));
            let new_order = matches!(d.command, Command::Place { .. } | Command::Take { .. });
            if new_order && next_id.is_none() {
                return Err(CommandError::NoOrderIds { index });
            }
            let sent = match d.command {
                Command::Place { venue, side, price, qty, order_id } => {
                    Some((order_id, ctx.place(venue, side, price, qty)))
                }
                Command::Take { venue, side, price, qty, order_id } => {
                    Some((order_id, ctx.take(venue, side, price, qty)))
                }
                Command::Amend { venue, order_id, qty } => {
                    ctx.amend(venue, order_id, qty);
                    None
                }
                Command::Cancel { venue, order_id } => {
                    ctx.cancel(venue, order_id);
                    None
                }
            };
            self.stats.commands += 1;
            match sent {
                Some((expected, got)) if got != expected => Err(CommandError::OrderId { index, expected, got }),
                _ => Ok(()),
            }
        });
        ctx.decided_at(None);
        result
    }
}

impl<K: BatchSink> Strategy for BatchedStrategy<K> {
    const BATCHED: bool = true;

    fn on_book<C: Context>(&mut self, ctx: &mut C, venue: VenueId, top: &Top) {
        let live = ctx.book_live(venue);
        self.push(ctx, StrategyEvent::Book { venue, top: *top, live });
    }

    fn on_trade<C: Context>(&mut self, ctx: &mut C, trade: &PublicTrade) {
        self.push(ctx, StrategyEvent::Trade(*trade));
    }

    fn on_fill<C: Context>(&mut self, ctx: &mut C, fill: &Fill, remaining: i64) {
        let position = ctx.inventory();
        self.push(ctx, StrategyEvent::Fill { fill: *fill, remaining, position });
    }

    fn on_order_gone<C: Context>(&mut self, ctx: &mut C, venue: VenueId, order_id: u64) {
        self.push(ctx, StrategyEvent::OrderGone { venue, order_id });
    }

    fn on_timer<C: Context>(&mut self, ctx: &mut C) {
        self.push(ctx, StrategyEvent::Timer);
    }

    fn wants_answers(&self) -> bool {
        self.sink.takes_answers()
    }

    fn on_answer<C: Context>(&mut self, ctx: &mut C, venue: VenueId, order_id: u64, open_qty: i64) {
        if self.sink.takes_answers() {
            self.push(ctx, StrategyEvent::Answer { venue, order_id, open_qty });
        }
    }

    fn on_batch_end<C: Context>(&mut self, ctx: &mut C) {
        if self.failure.is_none() {
            self.flush(ctx);
        }
    }

    fn halted(&self) -> bool {
        self.failure.is_some()
    }

    fn fair_value(&self, now_ns: i64) -> Option<f64> {
        self.sink.fair_value(now_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::events::{EVENT_WORDS, KIND_ORDER_GONE, KIND_TIMER, VENUE_OURS};
    use super::*;

    #[test]
    fn a_batch_is_written_row_after_row_at_each_event_s_time() {
        let events = [StrategyEvent::Timer, StrategyEvent::OrderGone { venue: VenueId::External(1), order_id: 9 }];
        let stamps = [Stamp { ts_ns: 10, ..Stamp::default() }, Stamp { ts_ns: 20, ..Stamp::default() }];
        let batch = Batch { events: &events, stamps: &stamps, next_order_id: Some(1) };
        let mut out = vec![99; 3];
        batch.write_words(&mut out).unwrap();
        assert_eq!(out.len(), 2 * EVENT_WORDS);
        assert_eq!(&out[..4], &[KIND_TIMER, VENUE_OURS, 10, 10]);
        assert_eq!(&out[EVENT_WORDS..EVENT_WORDS + 5], &[KIND_ORDER_GONE, 1, 20, 0, 9]);
    }
}

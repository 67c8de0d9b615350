//! The event records of single commands, collected until the caller takes them: the in-thread
//! engine's integer fast path (Python's `Engine.submit_ticks` & co. and `take_events`), where
//! one call runs one command and events are read back in bulk.
//!
//! Each command's records carry its number since the last [`PendingEvents::take`] in their
//! `command` field (0, 1, 2, ...). A limit bounds the buffer of a caller that never takes.

use super::RecordSink;

/// A [`PendingEvents`] holding `limit` records or more: take them before the next command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{pending} events are pending (limit {limit}): call take_events() to collect them")]
pub struct PendingFull {
    pub pending: usize,
    pub limit: usize,
}

/// Event records of single commands, until taken. See the module docs.
#[derive(Debug)]
pub struct PendingEvents {
    sink: RecordSink,
    limit: usize,
    commands: u32,
}

impl PendingEvents {
    /// An empty buffer that refuses new commands once it holds `limit` records.
    pub fn new(limit: usize) -> Self {
        Self { sink: RecordSink::default(), limit, commands: 0 }
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.sink.len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.sink.is_empty()
    }

    /// Runs one command of `instrument`: `run` writes its events into the sink. Refused (and
    /// `run` not called) when the buffer is full; a command that fails leaves no number used.
    /// Returns how many records the command added.
    #[inline]
    pub fn record<E: From<PendingFull>>(
        &mut self,
        instrument: u32,
        run: impl FnOnce(&mut RecordSink) -> Result<(), E>,
    ) -> Result<usize, E> {
        if self.sink.len() >= self.limit {
            return Err(PendingFull { pending: self.sink.len(), limit: self.limit }.into());
        }
        let before = self.sink.len();
        self.sink.instrument = instrument;
        self.sink.command = self.commands;
        run(&mut self.sink)?;
        self.commands = self.commands.wrapping_add(1);
        Ok(self.sink.len() - before)
    }

    /// Takes every record held (80 bytes each), without copying them; the command numbers start
    /// again at 0. The next records go to a buffer reserved by [`RecordSink::drain_records`], so
    /// a caller that takes every few thousand commands never makes the buffer grow.
    pub fn take(&mut self) -> Vec<u8> {
        self.commands = 0;
        self.sink.drain_records()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventSink;
    use crate::records::EVENT_SIZE;
    use crate::{Event, Side};

    #[derive(Debug, PartialEq)]
    enum Failed {
        Full(PendingFull),
        Refused,
    }

    impl From<PendingFull> for Failed {
        fn from(e: PendingFull) -> Self {
            Failed::Full(e)
        }
    }

    fn accepted(order_id: u64) -> Event {
        Event::Accepted { seq: order_id, order_id, account: 0, side: Side::Buy, price: 1, qty: 1 }
    }

    fn emit(n: u64) -> impl FnOnce(&mut RecordSink) -> Result<(), Failed> {
        move |sink| {
            (0..n).for_each(|i| sink.push(accepted(i)));
            Ok(())
        }
    }

    fn command_of(records: &[u8], i: usize) -> u32 {
        let r = &records[i * EVENT_SIZE..];
        u32::from_le_bytes(r[68..72].try_into().expect("4 bytes"))
    }

    #[test]
    fn commands_are_numbered_from_zero_after_each_take() {
        let mut p = PendingEvents::new(100);
        assert_eq!(p.record(3, emit(2)), Ok(2));
        assert_eq!(p.record(3, |_| Err(Failed::Refused)), Err(Failed::Refused));
        assert_eq!(p.record(4, emit(1)), Ok(1));
        assert_eq!(p.len(), 3);
        let taken = p.take();
        assert!(p.is_empty());
        assert_eq!([command_of(&taken, 0), command_of(&taken, 1), command_of(&taken, 2)], [0, 0, 1]);
        assert_eq!(u32::from_le_bytes(taken[2 * EVENT_SIZE + 64..2 * EVENT_SIZE + 68].try_into().unwrap()), 4);
        p.record(3, emit(1)).expect("room");
        assert_eq!(command_of(&p.take(), 0), 0);
    }

    #[test]
    fn a_take_leaves_room_for_as_many_records_again() {
        let mut p = PendingEvents::new(100);
        p.record(0, emit(3)).expect("room");
        assert_eq!(p.take().len(), 3 * EVENT_SIZE);
        assert!(p.sink.capacity() >= 3 * EVENT_SIZE);
    }

    #[test]
    fn a_full_buffer_refuses_the_next_command_until_taken() {
        let mut p = PendingEvents::new(3);
        assert_eq!(p.record(0, emit(4)), Ok(4), "the limit is checked before a command, not during");
        let mut ran = false;
        let refused = p.record(0, |_| {
            ran = true;
            Ok::<(), Failed>(())
        });
        assert_eq!(refused, Err(Failed::Full(PendingFull { pending: 4, limit: 3 })));
        assert!(!ran);
        assert!(PendingFull { pending: 4, limit: 3 }.to_string().contains("take_events()"));
        p.take();
        assert_eq!(p.record(0, emit(1)), Ok(1));
    }
}

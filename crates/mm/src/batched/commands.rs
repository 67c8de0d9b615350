//! What a sink hands back: order commands, each tagged with the event of its batch it was
//! decided after ([`Decided`]), in a reusable [`CommandBuffer`]; and their flat form for a sink
//! in another language ([`CommandBuffer::push_words`]: rows of [`COMMAND_FIELDS`] 64-bit
//! integers).
//!
//! | field | meaning |
//! |---|---|
//! | `kind` | [`CMD_PLACE`] (post-only), [`CMD_TAKE`] (IOC), [`CMD_AMEND`] (size down), [`CMD_CANCEL`] |
//! | `after` | the index, in the batch, of the event it was decided after |
//! | `venue`, `side` | the codes of [`super::events`] |
//! | `price`, `qty` | ticks, lots (`price` unused by amend and cancel, `qty` by cancel) |
//! | `order_id` | amend, cancel: the order; place, take: the id the sink gave it, which must be the id the driver returns ([`super::Batch::next_order_id`] onwards) |

use super::events::{side_of, venue_of};
use crate::types::{Side, VenueId};

/// An order command, as [`crate::strategy::Context`] takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// A post-only limit order; `order_id` is the id the sink expects it to get.
    Place {
        /// Where.
        venue: VenueId,
        /// Side.
        side: Side,
        /// Price, ticks.
        price: i64,
        /// Lots (> 0).
        qty: i64,
        /// The id the sink gave it.
        order_id: u64,
    },
    /// An immediate-or-cancel limit order; `order_id` as for `Place`.
    Take {
        /// Where.
        venue: VenueId,
        /// Side.
        side: Side,
        /// Worst price, ticks.
        price: i64,
        /// Lots (> 0).
        qty: i64,
        /// The id the sink gave it.
        order_id: u64,
    },
    /// Lower a working order's quantity to `qty` (> 0).
    Amend {
        /// Where it rests.
        venue: VenueId,
        /// The order.
        order_id: u64,
        /// New quantity, lots.
        qty: i64,
    },
    /// Cancel a working order.
    Cancel {
        /// Where it rests.
        venue: VenueId,
        /// The order.
        order_id: u64,
    },
}

/// A command and the index of the event (in its batch) it was decided after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decided {
    /// Index of the event in the batch.
    pub after: usize,
    /// The command.
    pub command: Command,
}

/// `kind` of a post-only order.
pub const CMD_PLACE: i64 = 0;
/// `kind` of an IOC order.
pub const CMD_TAKE: i64 = 1;
/// `kind` of an amend.
pub const CMD_AMEND: i64 = 2;
/// `kind` of a cancel.
pub const CMD_CANCEL: i64 = 3;
/// The kinds by name, as Python reads them.
pub const COMMAND_KINDS: [(&str, i64); 4] =
    [("place", CMD_PLACE), ("take", CMD_TAKE), ("amend", CMD_AMEND), ("cancel", CMD_CANCEL)];

/// The fields of one command row, in order; every field is an `i64`.
pub const COMMAND_FIELDS: [&str; 7] = ["kind", "after", "venue", "side", "price", "qty", "order_id"];

/// Words per command row.
pub const COMMAND_WORDS: usize = COMMAND_FIELDS.len();

/// A command that cannot be sent; the batch's commands before it were sent, none after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// A flat command whose length is not a whole number of rows.
    #[error("strategy commands: words={words} is not a multiple of row={row}")]
    Ragged {
        /// Words given.
        words: usize,
        /// Words per row.
        row: usize,
    },
    /// A field with a value it cannot have.
    #[error("strategy command {index}: {field}={value} {why}")]
    Field {
        /// The command's index in the batch's commands.
        index: usize,
        /// The field.
        field: &'static str,
        /// Its value.
        value: i64,
        /// Why it is refused.
        why: &'static str,
    },
    /// A new order's id is not the one the driver gave it.
    #[error("strategy command {index}: order_id={expected} but the driver numbered it {got} (hand out ids from the batch's next_order_id, one per place or take, in order)")]
    OrderId {
        /// The command's index.
        index: usize,
        /// The id the sink gave it.
        expected: u64,
        /// The id the driver gave it.
        got: u64,
    },
    /// A new order where the driver does not number orders in sequence.
    #[error("strategy command {index}: this driver does not number its orders in sequence, so a batched strategy cannot place")]
    NoOrderIds {
        /// The command's index.
        index: usize,
    },
}

/// The commands of one batch, in order; reused from batch to batch (no allocation once its
/// capacity has grown to the largest batch's).
#[derive(Debug, Clone, Default)]
pub struct CommandBuffer {
    commands: Vec<Decided>,
}

impl CommandBuffer {
    /// An empty buffer with room for `capacity` commands.
    pub fn with_capacity(capacity: usize) -> Self {
        CommandBuffer { commands: Vec::with_capacity(capacity) }
    }

    /// Appends `command`, decided after event `after` of the batch.
    #[inline]
    pub fn push(&mut self, after: usize, command: Command) {
        self.commands.push(Decided { after, command });
    }

    /// Appends the commands of `words`, rows of [`COMMAND_FIELDS`]. Checks the codes (kind,
    /// venue, side, the event index against `events`, the batch's length); on an error nothing
    /// of `words` is kept.
    pub fn push_words(&mut self, words: &[i64], events: usize) -> Result<(), CommandError> {
        let rows = words.chunks_exact(COMMAND_WORDS);
        if !rows.remainder().is_empty() {
            return Err(CommandError::Ragged { words: words.len(), row: COMMAND_WORDS });
        }
        let start = self.commands.len();
        for (i, row) in rows.enumerate() {
            match decode(start + i, row, events) {
                Ok(d) => self.commands.push(d),
                Err(e) => {
                    self.commands.truncate(start);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// The commands.
    #[inline]
    pub fn as_slice(&self) -> &[Decided] {
        &self.commands
    }

    /// Commands held.
    #[inline]
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether it holds none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Forgets every command (keeps the capacity).
    #[inline]
    pub fn clear(&mut self) {
        self.commands.clear();
    }
}

fn decode(index: usize, row: &[i64], events: usize) -> Result<Decided, CommandError> {
    let bad = |field: &'static str, value: i64, why: &'static str| CommandError::Field { index, field, value, why };
    let [kind, after, venue, side, price, qty, order_id] = [row[0], row[1], row[2], row[3], row[4], row[5], row[6]];
    let after_ok = usize::try_from(after).ok().filter(|&a| a < events);
    let after = after_ok.ok_or_else(|| bad("after", after, "is not the index of an event of the batch"))?;
    let venue = venue_of(venue).ok_or_else(|| bad("venue", venue, "is not a venue code (-1: ours, 0..=255)"))?;
    let order_id = u64::try_from(order_id).map_err(|_| bad("order_id", order_id, "is negative"))?;
    let side = || side_of(side).ok_or_else(|| bad("side", side, "is not a side code (0: buy, 1: sell)"));
    let command = match kind {
        CMD_PLACE => Command::Place { venue, side: side()?, price, qty, order_id },
        CMD_TAKE => Command::Take { venue, side: side()?, price, qty, order_id },
        CMD_AMEND => Command::Amend { venue, order_id, qty },
        CMD_CANCEL => Command::Cancel { venue, order_id },
        _ => return Err(bad("kind", kind, "is not a command kind (0: place, 1: take, 2: amend, 3: cancel)")),
    };
    Ok(Decided { after, command })
}

impl Decided {
    /// Checks what the driver would refuse or misread: quantities and prices must be positive,
    /// and the events a batch's commands follow must not go back (`last_after`: the previous
    /// command's event).
    pub fn check(&self, index: usize, last_after: usize) -> Result<(), CommandError> {
        let bad = |field: &'static str, value: i64, why: &'static str| CommandError::Field { index, field, value, why };
        if self.after < last_after {
            return Err(bad("after", self.after as i64, "goes back to an earlier event than the command before"));
        }
        match self.command {
            Command::Place { price, qty, .. } | Command::Take { price, qty, .. } => {
                if price <= 0 {
                    return Err(bad("price", price, "must be > 0 ticks"));
                }
                if qty <= 0 {
                    return Err(bad("qty", qty, "must be > 0 lots"));
                }
            }
            Command::Amend { qty, .. } if qty <= 0 => return Err(bad("qty", qty, "must be > 0 lots (cancel instead)")),
            Command::Amend { .. } | Command::Cancel { .. } => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_decode_into_commands_with_their_event_index() {
        let mut out = CommandBuffer::with_capacity(4);
        let words = [CMD_PLACE, 0, -1, 1, 105, 2, 7, CMD_AMEND, 1, 0, 0, 0, 1, 7, CMD_CANCEL, 2, 0, 0, 0, 0, 7];
        out.push_words(&words, 3).unwrap();
        let place = Command::Place { venue: VenueId::Ours, side: Side::Sell, price: 105, qty: 2, order_id: 7 };
        let amend = Command::Amend { venue: VenueId::External(0), order_id: 7, qty: 1 };
        let cancel = Command::Cancel { venue: VenueId::External(0), order_id: 7 };
        let got: Vec<_> = out.as_slice().to_vec();
        assert_eq!(
            got,
            [
                Decided { after: 0, command: place },
                Decided { after: 1, command: amend },
                Decided { after: 2, command: cancel }
            ]
        );
    }

    #[test]
    fn a_bad_row_names_its_field_and_keeps_nothing_of_the_call() {
        let mut out = CommandBuffer::with_capacity(4);
        out.push(0, Command::Cancel { venue: VenueId::Ours, order_id: 1 });
        let words = [CMD_CANCEL, 0, -1, 0, 0, 0, 2, CMD_PLACE, 0, -1, 5, 100, 1, 3];
        let e = out.push_words(&words, 1).unwrap_err();
        assert_eq!(
            e,
            CommandError::Field { index: 2, field: "side", value: 5, why: "is not a side code (0: buy, 1: sell)" }
        );
        assert_eq!(out.len(), 1, "the call's first row is dropped too");
        for (words, field) in [
            ([9, 0, -1, 0, 1, 1, 1], "kind"),
            ([CMD_CANCEL, 1, -1, 0, 0, 0, 1], "after"),
            ([CMD_CANCEL, 0, -2, 0, 0, 0, 1], "venue"),
            ([CMD_CANCEL, 0, -1, 0, 0, 0, -1], "order_id"),
        ] {
            match out.push_words(&words, 1) {
                Err(CommandError::Field { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{words:?}: {other:?}"),
            }
        }
        assert_eq!(out.push_words(&[0; 8], 1), Err(CommandError::Ragged { words: 8, row: COMMAND_WORDS }));
    }

    #[test]
    fn non_positive_sizes_and_prices_and_going_back_in_the_batch_are_refused() {
        let place = |price, qty| Decided {
            after: 1,
            command: Command::Place { venue: VenueId::Ours, side: Side::Buy, price, qty, order_id: 1 },
        };
        assert!(place(100, 1).check(0, 1).is_ok());
        assert!(matches!(place(0, 1).check(0, 0), Err(CommandError::Field { field: "price", .. })));
        assert!(matches!(place(100, 0).check(0, 0), Err(CommandError::Field { field: "qty", .. })));
        assert!(matches!(place(100, 1).check(0, 2), Err(CommandError::Field { field: "after", .. })));
        let amend = Decided { after: 0, command: Command::Amend { venue: VenueId::Ours, order_id: 1, qty: 0 } };
        assert!(matches!(amend.check(0, 0), Err(CommandError::Field { field: "qty", .. })));
    }
}

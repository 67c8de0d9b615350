//! The record formats as data: every field's name and numpy type, and the name of every code a
//! record holds. Python builds its dtypes and code tables from these (`wintermute._core`
//! exports them; `wintermute.batch` reads them at import), so each exists once.
//!
//! Field types are numpy's type strings (`<u8`: little-endian u64, `u1`: u8, `V6`: 6 bytes of
//! padding); the fields are contiguous, in offset order, and fill the record exactly (tested
//! against the encoders below).

use super::{flags, kind, COMMAND_SIZE, EVENT_SIZE};
use crate::event::{CancelReason, Event, RejectReason};

/// One field of a record: name and numpy type string.
pub type Field = (&'static str, &'static str);

/// The 48-byte command record, field by field (see the table in [`super`]).
pub const COMMAND_FIELDS: [Field; 12] = [
    ("order_id", "<u8"),
    ("price", "<i8"),
    ("qty", "<i8"),
    ("display_qty", "<i8"),
    ("account", "<u4"),
    ("kind", "u1"),
    ("side", "u1"),
    ("order_type", "u1"),
    ("tif", "u1"),
    ("stp", "u1"),
    ("flags", "u1"),
    ("_pad", "V6"),
];

/// The 80-byte event record, field by field (see [`super::encode_event`]).
pub const EVENT_FIELDS: [Field; 16] = [
    ("seq", "<u8"),
    ("order_id", "<u8"),
    ("other_id", "<u8"),
    ("price", "<i8"),
    ("qty", "<i8"),
    ("remaining", "<i8"),
    ("other", "<i8"),
    ("account", "<u4"),
    ("other_account", "<u4"),
    ("instrument", "<u4"),
    ("command", "<u4"),
    ("kind", "u1"),
    ("side", "u1"),
    ("reason", "u1"),
    ("flags", "u1"),
    ("_pad", "V4"),
];

/// The numeric codes of a command record, by name: command kinds, sides, order types, times
/// in force, STP modes and flag bits (`wintermute.batch.NEW`, `BUY`, `FLAG_POST_ONLY`, ...).
pub const COMMAND_CODES: [(&str, u8); 22] = [
    ("NEW", 0),
    ("CANCEL", 1),
    ("AMEND", 2),
    ("MASS_CANCEL", 3),
    ("AMEND_TOTAL", 4),
    ("BUY", 0),
    ("SELL", 1),
    ("BOTH_SIDES", 2),
    ("LIMIT", 0),
    ("MARKET", 1),
    ("GTC", 0),
    ("IOC", 1),
    ("FOK", 2),
    ("STP_NONE", 0),
    ("STP_CANCEL_NEWEST", 1),
    ("STP_CANCEL_OLDEST", 2),
    ("STP_CANCEL_BOTH", 3),
    ("STP_DECREMENT", 4),
    ("FLAG_POST_ONLY", flags::POST_ONLY),
    ("FLAG_HAS_PRICE", flags::HAS_PRICE),
    ("FLAG_HAS_QTY", flags::HAS_QTY),
    ("FLAG_HAS_ACCOUNT", flags::HAS_ACCOUNT),
];

/// Event kind codes and their names (the `kind` of an event record).
pub const EVENT_KINDS: [(u8, &str); 6] = [
    (kind::ACCEPTED, "accepted"),
    (kind::REJECTED, "rejected"),
    (kind::TRADE, "trade"),
    (kind::CANCELED, "canceled"),
    (kind::AMENDED, "amended"),
    (kind::BOOK_DELTA, "book_delta"),
];

/// The kind code of an event.
pub const fn event_kind(ev: &Event) -> u8 {
    match ev {
        Event::Accepted { .. } => kind::ACCEPTED,
        Event::Rejected { .. } => kind::REJECTED,
        Event::Trade { .. } => kind::TRADE,
        Event::Canceled { .. } => kind::CANCELED,
        Event::Amended { .. } => kind::AMENDED,
        Event::BookDelta { .. } => kind::BOOK_DELTA,
    }
}

/// The name of an event's kind (`"accepted"`, ..., `"book_delta"`).
pub fn event_kind_name(ev: &Event) -> &'static str {
    let code = event_kind(ev);
    EVENT_KINDS.iter().find(|(k, _)| *k == code).map_or("unknown", |(_, name)| name)
}

/// Every reject reason code and its name (the `reason` of a `rejected` record).
pub fn reject_reasons() -> Vec<(u8, &'static str)> {
    (1..=u8::MAX).filter_map(RejectReason::from_u8).map(|r| (r as u8, r.code())).collect()
}

/// Every cancel reason code and its name (the `reason` of a `canceled` record).
pub const CANCEL_REASONS: [CancelReason; 5] = [
    CancelReason::User,
    CancelReason::Unfilled,
    CancelReason::SelfTrade,
    CancelReason::MassCancel,
    CancelReason::FilledBeforeAmend,
];

/// The size in bytes of a numpy type string of [`Field`].
pub fn field_size(numpy_type: &str) -> usize {
    let digits = numpy_type.trim_start_matches(|c: char| !c.is_ascii_digit());
    digits.parse().expect("field types end in their size")
}

/// The offset of field `name` in `fields`.
pub fn field_offset(fields: &[Field], name: &str) -> Option<usize> {
    let at = fields.iter().position(|(n, _)| *n == name)?;
    Some(fields[..at].iter().map(|(_, t)| field_size(t)).sum())
}

/// The record size that `fields` describe.
pub fn record_size(fields: &[Field]) -> usize {
    fields.iter().map(|(_, t)| field_size(t)).sum()
}

const _: () = assert!(COMMAND_SIZE == 48 && EVENT_SIZE == 80);

#[cfg(test)]
mod tests {
    use super::super::{encode_command, encode_event, encode_invalid};
    use super::*;
    use crate::error::OrderError;
    use crate::order::{Command, NewOrder, Side, StpMode, TimeInForce};

    fn code(name: &str) -> u8 {
        COMMAND_CODES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c).expect(name)
    }

    fn u64_field(rec: &[u8], fields: &[Field], name: &str) -> u64 {
        let at = field_offset(fields, name).expect(name);
        u64::from_le_bytes(rec[at..at + 8].try_into().expect("8 bytes"))
    }

    fn byte_field(rec: &[u8], fields: &[Field], name: &str) -> u8 {
        rec[field_offset(fields, name).expect(name)]
    }

    #[test]
    fn the_field_tables_fill_their_records_exactly() {
        assert_eq!(record_size(&COMMAND_FIELDS), COMMAND_SIZE);
        assert_eq!(record_size(&EVENT_FIELDS), EVENT_SIZE);
    }

    #[test]
    fn the_command_table_matches_the_encoder() {
        let order = NewOrder::limit(77, 9, Side::Sell, -5, 10).with_tif(TimeInForce::Fok).with_stp(StpMode::CancelBoth);
        let rec = encode_command(&Command::New(order.post_only()));
        let f = &COMMAND_FIELDS;
        assert_eq!(u64_field(&rec, f, "order_id"), 77);
        assert_eq!(u64_field(&rec, f, "price") as i64, -5);
        assert_eq!(u64_field(&rec, f, "qty"), 10);
        assert_eq!(byte_field(&rec, f, "kind"), code("NEW"));
        assert_eq!(byte_field(&rec, f, "side"), code("SELL"));
        assert_eq!(byte_field(&rec, f, "order_type"), code("LIMIT"));
        assert_eq!(byte_field(&rec, f, "tif"), code("FOK"));
        assert_eq!(byte_field(&rec, f, "stp"), code("STP_CANCEL_BOTH"));
        assert_eq!(byte_field(&rec, f, "flags"), code("FLAG_POST_ONLY"));
        let amend = encode_command(&Command::Amend { order_id: 3, price: Some(1), qty: None });
        assert_eq!(byte_field(&amend, f, "kind"), code("AMEND"));
        assert_eq!(byte_field(&amend, f, "flags"), code("FLAG_HAS_PRICE"));
        let total = encode_command(&Command::AmendTotal { order_id: 3, price: None, qty: 5, seen_remaining: 8 });
        assert_eq!(byte_field(&total, f, "kind"), code("AMEND_TOTAL"));
        assert_eq!((u64_field(&total, f, "qty"), u64_field(&total, f, "display_qty")), (5, 8));
        let mass = encode_command(&Command::MassCancel { account: Some(4), side: None });
        assert_eq!(byte_field(&mass, f, "kind"), code("MASS_CANCEL"));
        assert_eq!(byte_field(&mass, f, "side"), code("BOTH_SIDES"));
        assert_eq!(byte_field(&mass, f, "flags"), code("FLAG_HAS_ACCOUNT"));
        assert_eq!(byte_field(&encode_command(&Command::Cancel { order_id: 1 }), f, "kind"), code("CANCEL"));
        let market = encode_command(&Command::New(NewOrder::market(1, 1, Side::Buy, 1).with_tif(TimeInForce::Ioc)));
        assert_eq!(byte_field(&market, f, "order_type"), code("MARKET"));
        assert_eq!(byte_field(&market, f, "tif"), code("IOC"));
        assert_eq!(byte_field(&market, f, "side"), code("BUY"));
    }

    #[test]
    fn the_event_table_matches_the_encoder() {
        let ev = Event::Trade {
            seq: 5,
            maker_order_id: 6,
            taker_order_id: 7,
            maker_account: 8,
            taker_account: 9,
            price: 10,
            qty: 11,
            aggressor: Side::Sell,
            maker_remaining: 12,
            taker_remaining: 13,
        };
        let rec = encode_event(&ev, 14, 15);
        let f = &EVENT_FIELDS;
        for (name, want) in [("seq", 5), ("order_id", 6), ("other_id", 7), ("price", 10), ("qty", 11)] {
            assert_eq!(u64_field(&rec, f, name), want, "{name}");
        }
        assert_eq!(u64_field(&rec, f, "remaining"), 12);
        assert_eq!(u64_field(&rec, f, "other"), 13);
        let u32_field = |name| {
            let at = field_offset(f, name).expect("field");
            u32::from_le_bytes(rec[at..at + 4].try_into().expect("4 bytes"))
        };
        assert_eq!([u32_field("account"), u32_field("other_account")], [8, 9]);
        assert_eq!([u32_field("instrument"), u32_field("command")], [14, 15]);
        assert_eq!(byte_field(&rec, f, "kind"), event_kind(&ev));
        assert_eq!(event_kind_name(&ev), "trade");
        assert_eq!(byte_field(&rec, f, "side"), code("SELL"));
        let refused = encode_invalid(&OrderError::UnknownOrder { order_id: 1 }, 0, 0);
        assert_eq!(byte_field(&refused, f, "reason"), RejectReason::UnknownOrder as u8);
    }

    #[test]
    fn every_code_has_one_name() {
        let kinds: Vec<u8> = EVENT_KINDS.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, [1, 2, 3, 4, 5, 6]);
        let reasons = reject_reasons();
        assert_eq!(reasons.first(), Some(&(1, "DUPLICATE_ORDER_ID")));
        assert_eq!(
            reasons.iter().map(|(c, _)| usize::from(*c)).collect::<Vec<_>>(),
            (1..=reasons.len()).collect::<Vec<_>>()
        );
        assert!(reasons.contains(&(RejectReason::InvalidDisplayQty as u8, "INVALID_DISPLAY_QTY")));
        for (i, r) in CANCEL_REASONS.iter().enumerate() {
            assert_eq!(*r as usize, i + 1, "{}", r.code());
        }
    }
}

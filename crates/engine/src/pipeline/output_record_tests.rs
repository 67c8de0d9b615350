use wintermute_core::records::kind;
use wintermute_core::records::tables::{field_offset, Field, EVENT_FIELDS};
use wintermute_core::{Event, OrderError, RejectReason, Side};

use super::*;
use crate::pipeline::{CommandId, Stamps};
use crate::risk::{PriceBand, RiskError};

fn output(kind: OutputKind, last: bool) -> Output {
    Output {
        command: CommandId { gateway: 3, seq: 41 },
        instrument: 2,
        journal_seq: 17,
        kind,
        last,
        stamps: Stamps { ingress_ns: 1_000, risk_ns: 1_100, match_ns: 1_200, publish_ns: 1_750 },
    }
}

fn encoded(o: &Output) -> Vec<u8> {
    let mut out = Vec::new();
    encode_output(o, &mut out);
    assert_eq!(out.len(), OUTPUT_SIZE);
    out
}

/// The bytes of field `name` of an output record, found through the tables Python reads.
fn field<'a>(rec: &'a [u8], name: &str) -> &'a [u8] {
    let all: Vec<Field> = EVENT_FIELDS.iter().chain(OUTPUT_FIELDS.iter()).copied().collect();
    let at = field_offset(&all, name).expect(name);
    let size = wintermute_core::records::tables::field_size(all.iter().find(|(n, _)| *n == name).expect(name).1);
    &rec[at..at + size]
}

fn u64_of(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a[..b.len()].copy_from_slice(b);
    u64::from_le_bytes(a)
}

#[test]
fn the_field_table_fills_the_record() {
    assert_eq!(described_size(), OUTPUT_SIZE);
}

#[test]
fn an_event_output_carries_the_event_and_the_command_identity() {
    let ev = Event::Accepted { seq: 9, order_id: 5, account: 1, side: Side::Buy, price: 100, qty: 2 };
    let rec = encoded(&output(OutputKind::Event(ev), true));
    assert_eq!(u64_of(field(&rec, "seq")), 9);
    assert_eq!(u64_of(field(&rec, "order_id")), 5);
    assert_eq!(u64_of(field(&rec, "instrument")), 2);
    assert_eq!(field(&rec, "kind"), [kind::ACCEPTED]);
    assert_eq!(u64_of(field(&rec, "command_seq")), 41);
    assert_eq!(u64_of(field(&rec, "journal_seq")), 17);
    assert_eq!(u64_of(field(&rec, "ingress_ns")), 1_000);
    assert_eq!(u64_of(field(&rec, "latency_ns")), 750);
    assert_eq!(u64_of(field(&rec, "gateway")), 3);
    assert_eq!(field(&rec, "outcome"), [0]);
    assert_eq!(field(&rec, "last"), [1]);
    assert_eq!(field(&rec, "_pad2"), [0; 4]);
}

#[test]
fn every_outcome_has_its_code_and_name() {
    let refused = OutputKind::Refused(OrderError::UnknownOrder { order_id: 8 });
    let risk = OutputKind::RiskRejected(RiskError::MaxOpenOrders { account: 1, open: 3, limit: 3 });
    let cases = [
        (OutputKind::NoEvents, "no_events"),
        (refused, "refused"),
        (risk, "risk_rejected"),
        (OutputKind::UnknownInstrument, "unknown_instrument"),
        (OutputKind::Halted, "halted"),
    ];
    for (kind, name) in cases {
        let rec = encoded(&output(kind, false));
        let code = field(&rec, "outcome")[0];
        assert_eq!(OUTCOMES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n), Some(name));
        assert_eq!(field(&rec, "last"), [0]);
    }
}

#[test]
fn rejections_carry_their_reason_numbers() {
    let refused = encoded(&output(OutputKind::Refused(OrderError::UnknownOrder { order_id: 8 }), true));
    assert_eq!(field(&refused, "kind"), [kind::REJECTED]);
    assert_eq!(field(&refused, "reason"), [RejectReason::UnknownOrder as u8]);
    assert_eq!(u64_of(field(&refused, "order_id")), 8);

    let risk = RiskError::MaxOpenOrders { account: 1, open: 3, limit: 3 };
    let rec = encoded(&output(OutputKind::RiskRejected(risk), true));
    assert_eq!(field(&rec, "kind"), [kind::REJECTED]);
    assert_eq!(u64_of(field(&rec, "instrument")), 2);
    assert_eq!(RISK_CODES[usize::from(field(&rec, "reason")[0]) - 1], "MAX_OPEN_ORDERS");

    let unknown = encoded(&output(OutputKind::UnknownInstrument, true));
    assert_eq!(field(&unknown, "reason"), [RejectReason::UnknownInstrument as u8]);
}

#[test]
fn every_risk_error_has_a_reason_number() {
    let every = [
        RiskError::GlobalKillSwitch,
        RiskError::AccountKillSwitch { account: 1 },
        RiskError::UnknownAccount { account: 1 },
        RiskError::UnknownInstrument { instrument: 1 },
        RiskError::UnknownOrder { instrument: 1, order_id: 1 },
        RiskError::DuplicateOrderId { instrument: 1, order_id: 1 },
        RiskError::OrderRate { account: 1, per_second: 1, burst: 1 },
        RiskError::MaxOrderQty { account: 1, instrument: 1, qty: 1, limit: 1 },
        RiskError::PriceBand { account: 1, instrument: 1, price: 1, reference: 1, band: PriceBand::Ticks(1) },
        RiskError::MaxOrderNotional { account: 1, instrument: 1, notional: 1, limit: 1 },
        RiskError::NoReferencePrice { instrument: 1 },
        RiskError::MaxOpenOrders { account: 1, open: 1, limit: 1 },
        RiskError::MaxPosition { account: 1, instrument: 1, worst: 1, limit: 1 },
        RiskError::MaxGrossExposure { account: 1, worst: 1, limit: 1 },
        RiskError::MaxNetExposure { account: 1, worst: 1, limit: 1 },
        RiskError::Overflow { account: 1, instrument: 1, what: "x" },
        RiskError::Instrument { symbol: "X".into(), why: "y".into() },
    ];
    let numbers: Vec<u8> = every.iter().map(risk_reason).collect();
    assert_eq!(numbers, (1..=RISK_CODES.len() as u8).collect::<Vec<_>>());
}

#[test]
fn the_field_offsets_are_those_the_tables_describe() {
    let all: Vec<Field> = EVENT_FIELDS.iter().chain(OUTPUT_FIELDS.iter()).copied().collect();
    let offsets = [
        ("order_id", at::ORDER_ID),
        ("other_id", at::OTHER_ID),
        ("price", at::PRICE),
        ("qty", at::QTY),
        ("remaining", at::REMAINING),
        ("other", at::OTHER),
        ("instrument", at::INSTRUMENT),
        ("kind", at::KIND),
        ("side", at::SIDE),
        ("reason", at::REASON),
        ("flags", at::FLAGS),
        ("command_seq", at::COMMAND_SEQ),
        ("journal_seq", at::JOURNAL_SEQ),
        ("ingress_ns", at::INGRESS_NS),
        ("latency_ns", at::LATENCY_NS),
        ("gateway", at::GATEWAY),
        ("outcome", at::OUTCOME),
        ("last", at::LAST),
        ("_pad2", at::DROPPED),
    ];
    for (name, offset) in offsets {
        assert_eq!(field_offset(&all, name), Some(offset), "{name}");
    }
    let o = output(OutputKind::UnknownInstrument, true);
    let rec = encoded(&o);
    assert_eq!(u64_at(&rec, at::COMMAND_SEQ), 41);
    assert_eq!(i64_at(&rec, at::JOURNAL_SEQ), 17);
    assert_eq!(u32_at(&rec, at::INSTRUMENT), 2);
    assert_eq!(u16_at(&rec, at::GATEWAY), 3);
    assert_eq!(rec[at::LAST], 1);
}

//! The audit trail's rows, built in Rust: a journal's records replayed through books of their
//! own ([`AuditReplay`]) and turned into the columns of the `audit_events` table
//! ([`AuditColumns`]: integers, ticks and lots), and those columns encoded as PostgreSQL binary
//! `COPY` data ([`AuditColumns::copy_binary`], prices and quantities as exact `NUMERIC`).
//!
//! It produces exactly what Python's `wintermute.storage.replay.JournalReplay` produces, row
//! for row (a Python test runs both on thousands of random command streams): one row per
//! accepted, rejected, trade, canceled and amended event of each command record (`n` counts
//! them from 0 within the command), and one row per risk rejection record. Events without an
//! account (cancels, amends) take it from the order, remembered while it rests.
//!
//! ```
//! use wintermute_engine::audit_rows::{AuditInstrument, AuditReplay};
//! use wintermute_engine::journal::{FsyncPolicy, Journal, JournalConfig};
//! use wintermute_core::{Command, NewOrder, Side};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let (mut j, _) = Journal::open(JournalConfig::new(dir.path()).fsync(FsyncPolicy::None)).unwrap();
//! j.append(0, &Command::New(NewOrder::limit(1, 7, Side::Sell, 6_400_025, 1500))).unwrap();
//! j.append(0, &Command::New(NewOrder::limit(2, 8, Side::Buy, 6_400_100, 500))).unwrap();
//! j.close().unwrap();
//!
//! let btc = AuditInstrument::from_decimals("BTC-USD", "0.01", "0.001", "0.001", "100", "1", "1000000").unwrap();
//! let mut replay = AuditReplay::new(vec![btc]).unwrap();
//! let rows = replay.read(dir.path(), 0).unwrap();
//! assert_eq!(rows.len(), 3); // accepted, accepted, trade
//! assert_eq!(rows.decimal_text(0, rows.price[2], true), "64000.25");
//! let mut copy = Vec::new();
//! assert_eq!(rows.copy_binary(&mut copy, 0..rows.len(), 0), 3);
//! assert!(copy.starts_with(b"PGCOPY\n\xff\r\n\0"));
//! ```

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use wintermute_core::records::encode_command;
use wintermute_core::{CancelReason, Command, Engine, Event, InstrumentId, InstrumentSpec, RejectReason};

use crate::journal::snapshot::{list_snapshots, read_snapshot};
use crate::journal::{apply, read_records, JournalError, JournalRecord, Outcome};
use crate::risk::RISK_CODES;

/// Bits of [`AuditColumns::present`]: which nullable columns a row has.
pub mod present {
    pub const ACCOUNT: u16 = 1;
    pub const SIDE: u16 = 1 << 1;
    pub const PRICE: u16 = 1 << 2;
    pub const QTY: u16 = 1 << 3;
    pub const LEAVES_QTY: u16 = 1 << 4;
    pub const OLD_PRICE: u16 = 1 << 5;
    pub const OLD_QTY: u16 = 1 << 6;
    pub const CONTRA_ACCOUNT: u16 = 1 << 7;
    pub const CONTRA_ORDER_ID: u16 = 1 << 8;
    pub const CONTRA_LEAVES_QTY: u16 = 1 << 9;
    pub const REASON: u16 = 1 << 10;
    pub const PRIORITY_KEPT: u16 = 1 << 11;
}

/// The command names of [`AuditColumns::command`] (the command record's kind byte).
pub const COMMAND_NAMES: [&str; 5] = ["new", "cancel", "amend", "mass_cancel", "amend_total"];
/// The kind names of [`AuditColumns::kind`], from 1 (the event record's kind byte).
pub const KIND_NAMES: [&str; 6] = ["", "accepted", "rejected", "trade", "canceled", "amended"];
/// The side names of [`AuditColumns::side`].
pub const SIDE_NAMES: [&str; 2] = ["buy", "sell"];
/// Offsets of the three reason tables in [`AuditColumns::reason`]: the book's reject reasons
/// (`REJECT + code`), cancel reasons (`CANCEL + code`), risk codes (`RISK + number`).
pub const REJECT: u8 = 0;
pub const CANCEL: u8 = 64;
pub const RISK: u8 = 128;

/// The name of reason code `code` of [`AuditColumns::reason`] (`None`: not a code).
pub fn reason_name(code: u8) -> Option<&'static str> {
    match code {
        c if c >= RISK => RISK_CODES.get(usize::from(c - RISK).checked_sub(1)?).copied(),
        c if c >= CANCEL => Some(CancelReason::from_u8(c - CANCEL)?.code()),
        c => Some(RejectReason::from_u8(c)?.code()),
    }
}

/// Every reason code with its name.
pub fn reason_names() -> Vec<(u8, &'static str)> {
    (0..=u8::MAX).filter_map(|c| Some((c, reason_name(c)?))).collect()
}

/// An exact step: `mantissa * 10^-scale`, as its decimal text was written (`"0.010"` keeps
/// scale 3, as Python's `Decimal` does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub mantissa: i128,
    pub scale: u32,
}

impl Step {
    /// Reads plain decimal text (digits with at most one `.`).
    pub fn parse(text: &str) -> Result<Self, JournalError> {
        let bad = || JournalError::Config { why: format!("{text:?}: not plain decimal text") };
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        if int.is_empty() && frac.is_empty() || !(int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let scale = u32::try_from(frac.len()).map_err(|_| bad())?;
        let digits = format!("{int}{frac}");
        let mantissa = digits.parse::<i128>().map_err(|_| bad())?;
        if scale > 30 || mantissa >= 10i128.pow(18) {
            return Err(bad());
        }
        Ok(Self { mantissa, scale })
    }
}

/// An instrument as the audit rows need it: its book's spec, and its tick and lot size as
/// written (the decimals' scale follows them).
#[derive(Debug, Clone)]
pub struct AuditInstrument {
    pub spec: InstrumentSpec,
    pub tick: Step,
    pub lot: Step,
}

impl AuditInstrument {
    /// From the decimal text of an instrument's config (as `Engine.add_instrument` takes it).
    pub fn from_decimals(
        symbol: &str,
        tick_size: &str,
        lot_size: &str,
        min_qty: &str,
        max_qty: &str,
        min_price: &str,
        max_price: &str,
    ) -> Result<Self, JournalError> {
        let spec = InstrumentSpec::from_decimals(symbol, tick_size, lot_size, min_qty, max_qty, min_price, max_price)
            .map_err(|e| JournalError::Config { why: e.to_string() })?;
        Ok(Self { spec, tick: Step::parse(tick_size)?, lot: Step::parse(lot_size)? })
    }
}

/// Audit rows as columns, one entry per row in each (the `audit_events` columns, see
/// `wintermute/storage/schema.py`). Nullable columns hold 0 where [`Self::present`] lacks
/// their bit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditColumns {
    pub journal_seq: Vec<u64>,
    pub n: Vec<u32>,
    pub event_seq: Vec<u64>,
    pub ts_ns: Vec<u64>,
    /// Instrument ids (the replay's instruments, in order).
    pub instrument: Vec<u32>,
    /// Index into [`COMMAND_NAMES`].
    pub command: Vec<u8>,
    /// Index into [`KIND_NAMES`].
    pub kind: Vec<u8>,
    pub account: Vec<u32>,
    pub order_id: Vec<u64>,
    /// Index into [`SIDE_NAMES`].
    pub side: Vec<u8>,
    /// Ticks.
    pub price: Vec<i64>,
    /// Lots (this and the other quantities).
    pub qty: Vec<i64>,
    pub leaves_qty: Vec<i64>,
    pub old_price: Vec<i64>,
    pub old_qty: Vec<i64>,
    pub contra_account: Vec<u32>,
    pub contra_order_id: Vec<u64>,
    pub contra_leaves_qty: Vec<i64>,
    /// A code of [`reason_name`].
    pub reason: Vec<u8>,
    pub priority_kept: Vec<u8>,
    /// Bits of [`present`].
    pub present: Vec<u16>,
    /// The instruments' symbols and steps (for the decimals and the text columns).
    pub instruments: Vec<(String, Step, Step)>,
}

/// One row being built (all columns).
#[derive(Default, Clone, Copy)]
struct Row {
    journal_seq: u64,
    n: u32,
    event_seq: u64,
    ts_ns: u64,
    instrument: u32,
    command: u8,
    kind: u8,
    account: u32,
    order_id: u64,
    side: u8,
    price: i64,
    qty: i64,
    leaves_qty: i64,
    old_price: i64,
    old_qty: i64,
    contra_account: u32,
    contra_order_id: u64,
    contra_leaves_qty: i64,
    reason: u8,
    priority_kept: u8,
    present: u16,
}

impl AuditColumns {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.journal_seq.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.journal_seq.is_empty()
    }

    /// The 64-bit unsigned columns by name (for exports: one loop per element type).
    pub fn u64_columns(&self) -> [(&'static str, &[u64]); 5] {
        [
            ("journal_seq", &self.journal_seq),
            ("event_seq", &self.event_seq),
            ("ts_ns", &self.ts_ns),
            ("order_id", &self.order_id),
            ("contra_order_id", &self.contra_order_id),
        ]
    }

    /// The tick and lot columns by name.
    pub fn i64_columns(&self) -> [(&'static str, &[i64]); 6] {
        [
            ("price", &self.price),
            ("qty", &self.qty),
            ("leaves_qty", &self.leaves_qty),
            ("old_price", &self.old_price),
            ("old_qty", &self.old_qty),
            ("contra_leaves_qty", &self.contra_leaves_qty),
        ]
    }

    /// The 32-bit columns by name.
    pub fn u32_columns(&self) -> [(&'static str, &[u32]); 4] {
        [
            ("n", &self.n),
            ("instrument", &self.instrument),
            ("account", &self.account),
            ("contra_account", &self.contra_account),
        ]
    }

    /// The byte columns by name.
    pub fn u8_columns(&self) -> [(&'static str, &[u8]); 5] {
        [
            ("command", &self.command),
            ("kind", &self.kind),
            ("side", &self.side),
            ("reason", &self.reason),
            ("priority_kept", &self.priority_kept),
        ]
    }

    fn push(&mut self, r: Row) {
        self.journal_seq.push(r.journal_seq);
        self.n.push(r.n);
        self.event_seq.push(r.event_seq);
        self.ts_ns.push(r.ts_ns);
        self.instrument.push(r.instrument);
        self.command.push(r.command);
        self.kind.push(r.kind);
        self.account.push(r.account);
        self.order_id.push(r.order_id);
        self.side.push(r.side);
        self.price.push(r.price);
        self.qty.push(r.qty);
        self.leaves_qty.push(r.leaves_qty);
        self.old_price.push(r.old_price);
        self.old_qty.push(r.old_qty);
        self.contra_account.push(r.contra_account);
        self.contra_order_id.push(r.contra_order_id);
        self.contra_leaves_qty.push(r.contra_leaves_qty);
        self.reason.push(r.reason);
        self.priority_kept.push(r.priority_kept);
        self.present.push(r.present);
    }

    /// The exact decimal text of `units` ticks (`price`) or lots of instrument `instrument`, as
    /// Python's `Decimal` product writes it in plain notation (`"1.500"`).
    pub fn decimal_text(&self, instrument: u32, units: i64, price: bool) -> String {
        let (_, tick, lot) = &self.instruments[instrument as usize];
        let step = if price { tick } else { lot };
        let v = i128::from(units) * step.mantissa;
        let digits = v.unsigned_abs().to_string();
        let scale = step.scale as usize;
        let sign = if v < 0 { "-" } else { "" };
        if scale == 0 {
            return format!("{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (int, frac) = padded.split_at(padded.len() - scale);
        format!("{sign}{int}.{frac}")
    }

    /// Appends PostgreSQL binary `COPY` data (header, one tuple per row, trailer) for the rows
    /// of `rows` (clamped to the rows there are) whose `journal_seq` is after `after_seq`, in
    /// the column order of `wintermute.storage.schema.COLUMNS`; returns the rows written.
    /// Order ids are the `int8` of their bits; prices and quantities are `numeric` with the
    /// step's scale.
    pub fn copy_binary(&self, out: &mut Vec<u8>, rows: Range<usize>, after_seq: u64) -> usize {
        out.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        let mut written = 0;
        for i in rows.start.min(self.len())..rows.end.min(self.len()) {
            if self.journal_seq[i] <= after_seq {
                continue;
            }
            self.copy_row(out, i);
            written += 1;
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        written
    }

    fn copy_row(&self, out: &mut Vec<u8>, i: usize) {
        use present as p;
        let has = |bit: u16| self.present[i] & bit != 0;
        let iid = self.instrument[i];
        let (symbol, tick, lot) = &self.instruments[iid as usize];
        out.extend_from_slice(&20i16.to_be_bytes());
        int8(out, self.journal_seq[i] as i64);
        out.extend_from_slice(&4i32.to_be_bytes());
        out.extend_from_slice(&(self.n[i] as i32).to_be_bytes());
        int8(out, self.event_seq[i] as i64);
        int8(out, self.ts_ns[i] as i64);
        text(out, Some(symbol));
        text(out, Some(COMMAND_NAMES[usize::from(self.command[i])]));
        text(out, Some(KIND_NAMES[usize::from(self.kind[i])]));
        opt_int8(out, has(p::ACCOUNT).then(|| i64::from(self.account[i])));
        int8(out, self.order_id[i] as i64);
        text(out, has(p::SIDE).then(|| SIDE_NAMES[usize::from(self.side[i] & 1)]));
        numeric(out, has(p::PRICE).then(|| self.price[i]), *tick);
        numeric(out, has(p::QTY).then(|| self.qty[i]), *lot);
        numeric(out, has(p::LEAVES_QTY).then(|| self.leaves_qty[i]), *lot);
        numeric(out, has(p::OLD_PRICE).then(|| self.old_price[i]), *tick);
        numeric(out, has(p::OLD_QTY).then(|| self.old_qty[i]), *lot);
        opt_int8(out, has(p::CONTRA_ACCOUNT).then(|| i64::from(self.contra_account[i])));
        opt_int8(out, has(p::CONTRA_ORDER_ID).then(|| self.contra_order_id[i] as i64));
        numeric(out, has(p::CONTRA_LEAVES_QTY).then(|| self.contra_leaves_qty[i]), *lot);
        text(out, if has(p::REASON) { reason_name(self.reason[i]) } else { None });
        if has(p::PRIORITY_KEPT) {
            out.extend_from_slice(&1i32.to_be_bytes());
            out.push(self.priority_kept[i]);
        } else {
            out.extend_from_slice(&(-1i32).to_be_bytes());
        }
    }
}

fn int8(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&8i32.to_be_bytes());
    out.extend_from_slice(&v.to_be_bytes());
}

fn opt_int8(out: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => int8(out, v),
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

fn text(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(s) => {
            out.extend_from_slice(&(s.len() as i32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        None => out.extend_from_slice(&(-1i32).to_be_bytes()),
    }
}

/// `units * step` as a binary `numeric` field (length, then ndigits, weight, sign, dscale and
/// base-10000 digits), with the step's scale as its display scale.
fn numeric(out: &mut Vec<u8>, units: Option<i64>, step: Step) {
    let Some(units) = units else {
        out.extend_from_slice(&(-1i32).to_be_bytes());
        return;
    };
    let (body, len) = numeric_body(i128::from(units) * step.mantissa, step.scale);
    out.extend_from_slice(&(len as i32).to_be_bytes());
    out.extend_from_slice(&body[..len]);
}

/// The binary `numeric` of `mantissa * 10^-scale` (scale <= 30) and its length.
fn numeric_body(mantissa: i128, scale: u32) -> ([u8; 8 + 2 * 24], usize) {
    let abs = mantissa.unsigned_abs();
    let pow = 10u128.pow(scale);
    let (mut int, frac) = (abs / pow, abs % pow);
    let frac_groups = scale.div_ceil(4);
    let mut frac = frac * 10u128.pow(frac_groups * 4 - scale);
    // Groups, least significant first: the fraction's, then the integer's.
    let mut groups = [0u16; 24];
    let mut count = 0;
    for _ in 0..frac_groups {
        groups[count] = (frac % 10_000) as u16;
        frac /= 10_000;
        count += 1;
    }
    while int > 0 {
        groups[count] = (int % 10_000) as u16;
        int /= 10_000;
        count += 1;
    }
    // Trim zero groups at both ends: `lo..hi` (least significant first) is what is kept.
    let mut lo = 0;
    while lo < count && groups[lo] == 0 {
        lo += 1;
    }
    let mut hi = count;
    while hi > lo && groups[hi - 1] == 0 {
        hi -= 1;
    }
    let mut body = [0u8; 8 + 2 * 24];
    let ndigits = (hi - lo) as i16;
    // The most significant kept group sits `hi - frac_groups - 1` groups above the point.
    let weight = if ndigits == 0 { 0 } else { hi as i16 - frac_groups as i16 - 1 };
    let sign: u16 = if mantissa < 0 { 0x4000 } else { 0 };
    body[0..2].copy_from_slice(&ndigits.to_be_bytes());
    body[2..4].copy_from_slice(&weight.to_be_bytes());
    body[4..6].copy_from_slice(&sign.to_be_bytes());
    body[6..8].copy_from_slice(&(scale as i16).to_be_bytes());
    for (k, g) in groups[lo..hi].iter().rev().enumerate() {
        body[8 + 2 * k..10 + 2 * k].copy_from_slice(&g.to_be_bytes());
    }
    (body, 8 + 2 * usize::from(ndigits as u16))
}

/// Replays a journal incrementally and builds its audit rows ([`Self::read`]). Not thread-safe.
#[derive(Debug)]
pub struct AuditReplay {
    engine: Engine,
    steps: Vec<(String, Step, Step)>,
    /// (instrument, order id) -> (account, side) of resting orders.
    orders: HashMap<(InstrumentId, u64), (u32, u8)>,
    events: Vec<Event>,
    cursor: u64,
    /// Journal records read so far (every kind), since [`Self::new`].
    records_read: u64,
    /// Instruments whose books the last [`Self::read`] ran commands on, ascending.
    touched: Vec<InstrumentId>,
}

impl AuditReplay {
    /// A replay for an engine with `instruments` (in id order, as in its config).
    pub fn new(instruments: Vec<AuditInstrument>) -> Result<Self, JournalError> {
        let mut engine = Engine::new();
        let mut steps = Vec::with_capacity(instruments.len());
        for i in instruments {
            steps.push((i.spec.symbol.clone(), i.tick, i.lot));
            engine.add_instrument(i.spec).map_err(|e| JournalError::Config { why: e.to_string() })?;
        }
        Ok(Self {
            engine,
            steps,
            orders: HashMap::new(),
            events: Vec::new(),
            cursor: 0,
            records_read: 0,
            touched: Vec::new(),
        })
    }

    /// Starts a fresh replay (nothing read yet) from the newest engine snapshot in the journal
    /// directory `dir` taken at or before journal sequence `at_most`, instead of from the
    /// journal's first record: its books (and the resting orders' accounts and sides, which
    /// cancel and amend rows take) become the replay's, and [`Self::cursor`] its sequence, so
    /// the next [`Self::read`] reads only the records after it. Snapshots that do not check out
    /// are passed over. Returns the snapshot's sequence (`None`: there is none at or before
    /// `at_most`, and nothing changed). Fails, changing nothing, after a read, or when the
    /// snapshot's books are not the replay's instruments (symbols, in id order).
    pub fn resume(&mut self, dir: &Path, at_most: u64) -> Result<Option<u64>, JournalError> {
        if self.cursor != 0 || self.records_read != 0 {
            return Err(JournalError::Config { why: "resume: only a fresh replay can resume from a snapshot".into() });
        }
        for (seq, path) in list_snapshots(dir)? {
            if seq > at_most {
                continue;
            }
            let Ok(snapshot) = read_snapshot(&path) else { continue };
            if snapshot.journal_seq != seq {
                continue;
            }
            let symbols: Vec<&str> = snapshot.books.iter().map(|b| b.spec.symbol.as_str()).collect();
            let ours: Vec<&str> = self.steps.iter().map(|(s, _, _)| s.as_str()).collect();
            if symbols != ours {
                return Err(JournalError::Snapshot {
                    path,
                    why: format!("books {symbols:?}, the audit replay's instruments {ours:?}"),
                });
            }
            let engine = snapshot.restore(&path)?;
            let mut orders = HashMap::new();
            for (iid, book) in snapshot.books.iter().enumerate() {
                for o in &book.orders {
                    orders.insert((iid as InstrumentId, o.order_id), (o.account, o.side as u8));
                }
            }
            (self.engine, self.orders, self.cursor) = (engine, orders, seq);
            return Ok(Some(seq));
        }
        Ok(None)
    }

    /// The last journal sequence number read (any record).
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Journal records read so far (commands, controls, risk rejections), since [`Self::new`]:
    /// after [`Self::resume`], only the records after the snapshot.
    pub fn records_read(&self) -> u64 {
        self.records_read
    }

    /// The instruments whose books the last [`Self::read`] ran commands on (ascending ids).
    pub fn touched(&self) -> &[InstrumentId] {
        &self.touched
    }

    /// The replayed engine (its books as the journal had them at [`Self::cursor`]).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The rows of the records of the journal in `dir` after [`Self::cursor`], advancing it.
    /// A record without a time takes `now_ns`. Fails (and changes nothing) on a damaged
    /// record, an instrument the replay does not have or a risk reason it does not know.
    pub fn read(&mut self, dir: &Path, now_ns: u64) -> Result<AuditColumns, JournalError> {
        let records = read_records(dir, self.cursor)?.collect::<Result<Vec<_>, _>>()?;
        for record in &records {
            let (seq, instrument) = match record {
                JournalRecord::Command(e) => (e.seq, e.instrument),
                JournalRecord::Rejection(r) => {
                    if reason_name(RISK.saturating_add(r.reason)).is_none() || r.reason == 0 {
                        return Err(JournalError::InvalidRejection { seq: r.seq, why: "unknown risk reason" });
                    }
                    (r.seq, r.instrument)
                }
                JournalRecord::Control(_) => continue,
            };
            if instrument as usize >= self.steps.len() {
                return Err(JournalError::UnknownInstrument { seq, instrument });
            }
        }
        let mut out = AuditColumns { instruments: self.steps.clone(), ..AuditColumns::default() };
        self.records_read += records.len() as u64;
        self.touched.clear();
        for record in &records {
            if let JournalRecord::Command(e) = record {
                if let Err(at) = self.touched.binary_search(&e.instrument) {
                    self.touched.insert(at, e.instrument);
                }
            }
            self.cursor = self.cursor.max(record.seq());
            let time = if record.wall_ns() == 0 { now_ns } else { record.wall_ns() };
            match record {
                JournalRecord::Command(e) => self.command(&mut out, e.seq, e.instrument, &e.command, time)?,
                JournalRecord::Rejection(r) => {
                    let head = Row { journal_seq: r.seq, ts_ns: time, instrument: r.instrument, ..Row::default() };
                    let order_id = encoded(&r.command).order_id;
                    out.push(rejected(head, &r.command, order_id, RISK + r.reason));
                }
                JournalRecord::Control(_) => {}
            }
        }
        Ok(out)
    }

    fn command(
        &mut self,
        out: &mut AuditColumns,
        seq: u64,
        iid: InstrumentId,
        cmd: &Command,
        ts_ns: u64,
    ) -> Result<(), JournalError> {
        use present as p;
        self.events.clear();
        let outcome = apply(&mut self.engine, seq, iid, cmd, &mut self.events)?;
        let head = Row { journal_seq: seq, ts_ns, instrument: iid, command: encoded(cmd).kind, ..Row::default() };
        if let Outcome::Refused(e) = outcome {
            out.push(rejected(head, cmd, e.order_id(), REJECT + e.reason() as u8));
            return Ok(());
        }
        let mut n = 0;
        for ev in &self.events {
            let mut r = Row { n, ..head };
            match *ev {
                Event::Accepted { seq, order_id, account, side, price, qty } => {
                    self.orders.insert((iid, order_id), (account, side as u8));
                    r = Row { event_seq: seq, kind: 1, account, order_id, side: side as u8, price, qty, ..r };
                    r.present = p::ACCOUNT | p::SIDE | p::PRICE | p::QTY;
                }
                Event::Rejected { seq, order_id, reason } => {
                    r = Row { event_seq: seq, ..rejected(r, cmd, order_id, REJECT + reason as u8) };
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
                    if maker_remaining == 0 {
                        self.orders.remove(&(iid, maker_order_id));
                    }
                    if taker_remaining == 0 {
                        self.orders.remove(&(iid, taker_order_id));
                    }
                    r = Row {
                        event_seq: seq,
                        kind: 3,
                        account: maker_account,
                        order_id: maker_order_id,
                        side: aggressor as u8,
                        price,
                        qty,
                        leaves_qty: maker_remaining,
                        contra_account: taker_account,
                        contra_order_id: taker_order_id,
                        contra_leaves_qty: taker_remaining,
                        ..r
                    };
                    r.present = p::ACCOUNT
                        | p::SIDE
                        | p::PRICE
                        | p::QTY
                        | p::LEAVES_QTY
                        | p::CONTRA_ACCOUNT
                        | p::CONTRA_ORDER_ID
                        | p::CONTRA_LEAVES_QTY;
                }
                Event::Canceled { seq, order_id, canceled_qty, remaining_qty, reason } => {
                    r = Row { event_seq: seq, kind: 4, order_id, qty: canceled_qty, leaves_qty: remaining_qty, ..r };
                    r.reason = CANCEL + reason as u8;
                    r.present = p::QTY | p::LEAVES_QTY | p::REASON;
                    if let Some((account, side)) = self.orders.remove(&(iid, order_id)) {
                        (r.account, r.side) = (account, side);
                        r.present |= p::ACCOUNT | p::SIDE;
                    }
                }
                Event::Amended { seq, order_id, old_price, new_price, old_qty, new_qty, priority_kept } => {
                    r = Row {
                        event_seq: seq,
                        kind: 5,
                        order_id,
                        price: new_price,
                        qty: new_qty,
                        old_price,
                        old_qty,
                        ..r
                    };
                    r.priority_kept = u8::from(priority_kept);
                    r.present = p::PRICE | p::QTY | p::OLD_PRICE | p::OLD_QTY | p::PRIORITY_KEPT;
                    if let Some(&(account, side)) = self.orders.get(&(iid, order_id)) {
                        (r.account, r.side) = (account, side);
                        r.present |= p::ACCOUNT | p::SIDE;
                    }
                }
                Event::BookDelta { .. } => continue,
            }
            out.push(r);
            n += 1;
        }
        Ok(())
    }
}

/// The fields of a command as its 48-byte record holds them.
struct Encoded {
    order_id: u64,
    price: i64,
    qty: i64,
    account: u32,
    kind: u8,
    side: u8,
    market: bool,
}

fn encoded(cmd: &Command) -> Encoded {
    let b = encode_command(cmd);
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
    Encoded {
        order_id: u64_at(0),
        price: u64_at(8) as i64,
        qty: u64_at(16) as i64,
        account: u32::from_le_bytes(b[32..36].try_into().expect("4 bytes")),
        kind: b[36],
        side: b[37],
        market: b[38] == 1,
    }
}

/// A rejection: the command as asked (its account; a new order's side, price and size).
fn rejected(head: Row, cmd: &Command, order_id: u64, reason: u8) -> Row {
    use present as p;
    let c = encoded(cmd);
    let new = c.kind == 0;
    let mut r = Row { command: c.kind, kind: 2, account: c.account, order_id, reason, ..head };
    r.present = p::ACCOUNT | p::REASON;
    if new {
        r.qty = c.qty;
        r.present |= p::QTY;
        if c.side < 2 {
            r.side = c.side;
            r.present |= p::SIDE;
        }
        if !c.market {
            r.price = c.price;
            r.present |= p::PRICE;
        }
    }
    r
}

#[cfg(test)]
#[path = "audit_rows_tests.rs"]
mod tests;

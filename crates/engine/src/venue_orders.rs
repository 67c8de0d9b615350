//! The service venue's order table, applied in Rust: every order the venue placed (its state,
//! filled quantity, quote spent and what it still holds of its account's balance), the index
//! of client order ids that makes a repeated place idempotent, each account's open orders and
//! history, and the commands waiting for the engine's verdict (which REST request waits for
//! which outputs) — without a Python call per output.
//!
//! The venue (`wintermute.service.venue`) registers each order with [`VenueOrders::place`] and
//! each command it sends with [`VenueOrders::expect`] (keyed by its gateway and the command's
//! number there). Its drain thread hands every drained batch (the records left after
//! [`crate::venue_books::VenueBooks::apply`]) to [`VenueOrders::apply`], which updates the
//! table in the engine's order and returns what the Python side still does, as [`Effect`]s:
//! the public trades, each fill of one of the venue's orders (with the part of the hold it
//! used), holds to give back, order states to publish and the answers of finished commands.
//!
//! Everything is integer: prices in ticks, quantities in lots, the quote spent in ticks x lots;
//! a hold is in lots for a sell (the base asset) and in ticks x lots for a buy (the quote).
//!
//! States: `pending` (sent, no verdict yet; shown as `new`), `new`, `partially_filled`, and
//! the final `filled`, `canceled`, `expired` (an IOC/FOK/market remainder) and `rejected`.
//! A final order leaves its account's open orders; the table forgets the oldest final orders
//! beyond its history size. A rejected order's client order id is free again.
//!
//! # Amends in flight
//!
//! The venue amends by total ([`wintermute_core::Command::AmendTotal`]): each amend carries
//! the open quantity the venue sees (`seen_remaining`), and the engine takes what it finds
//! open less than that for fills the venue had not seen yet. An amend sent while an earlier
//! one of the same order still waits for the engine must count on that earlier one, or the
//! engine would take the earlier amend's change for unseen fills. So the table keeps, for each
//! order with amends in flight, the open lots they will leave as the venue sees it: the last
//! one's requested open lots, less the fills seen since it was sent
//! ([`VenueOrders::expect_amend`] hands out that view as the next amend's `seen_remaining`).
//! An amend that the engine does not apply (refused by the book or by risk, or never sent)
//! takes its change back from that view; an amend already in flight behind it then changes
//! the order by its own step (its total less the refused one's), and every amend sent after
//! the refusal is seen lands exactly.

use std::collections::{BTreeMap, VecDeque};

use wintermute_core::records::kind;
use wintermute_core::{CancelReason, RejectReason};

use crate::pipeline::output_record::{at, i64_at, u16_at, u32_at, u64_at, OUTCOMES, OUTPUT_SIZE, RISK_CODES};
use crate::venue_books::BatchSizeError;

/// Side codes of the records (`0` buy, `1` sell).
pub use crate::venue_books::{BUY, SELL};

mod state;
mod types;

/// The maps of ids and client order ids: `ahash`, randomly keyed as the risk stage's maps are
/// (SipHash was a tenth of the order entry's instructions per order).
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

pub use types::*;
use types::{table_error, AmendStep, Amending, Pending};

/// One event of an order's book, as the table reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderEvent {
    /// `wintermute_core::records::kind` code.
    pub kind: u8,
    /// The order (the maker of a trade).
    pub order_id: u64,
    /// The taker of a trade.
    pub other_id: u64,
    /// A trade's aggressor side.
    pub side: u8,
    /// Price in ticks (a trade's, an amend's new price).
    pub price: i64,
    /// Lots (a trade's, an amend's new remaining).
    pub qty: i64,
    /// Lots left (a cancel's).
    pub remaining: i64,
    /// A cancel's or rejection's reason code.
    pub reason: u8,
    /// The instrument's id.
    pub instrument: u32,
}

impl OrderEvent {
    /// The event of an output record.
    pub fn of_record(r: &[u8]) -> Self {
        Self {
            kind: r[at::KIND],
            order_id: u64_at(r, at::ORDER_ID),
            other_id: u64_at(r, at::OTHER_ID),
            side: r[at::SIDE],
            price: i64_at(r, at::PRICE),
            qty: i64_at(r, at::QTY),
            remaining: i64_at(r, at::REMAINING),
            reason: r[at::REASON],
            instrument: u32_at(r, at::INSTRUMENT),
        }
    }
}

const OUTCOME_EVENT: u8 = 0;
const OUTCOME_NO_EVENTS: u8 = 1;
const OUTCOME_REFUSED: u8 = 2;
const OUTCOME_RISK: u8 = 3;

fn reject_name(code: u8) -> String {
    RejectReason::from_u8(code).map_or_else(|| code.to_string(), |r| r.code().to_owned())
}

/// The venue's orders and the commands waiting for the engine (see the module docs).
#[derive(Debug)]
pub struct VenueOrders {
    history_size: usize,
    gateway: u16,
    next_id: u64,
    orders: HashMap<u64, Order>,
    /// account -> client order id -> order id.
    by_client: HashMap<u32, HashMap<String, u64>>,
    /// account -> when opened -> order id.
    open: HashMap<u32, BTreeMap<u64, u64>>,
    opened: u64,
    history: HashMap<u32, VecDeque<u64>>,
    closed: VecDeque<u64>,
    /// Commands waiting for the engine, by (gateway, command number there).
    pending: HashMap<(u16, u64), Pending>,
    /// Orders with by-total amends in flight: what they will leave open (module docs).
    amending: HashMap<u64, Amending>,
    /// Orders changed by the command being applied, in order of first change.
    touched: Vec<u64>,
    watched: HashMap<u32, ()>,
    /// Symbols count: events of other instruments are not the venue's.
    instruments: u32,
}

impl VenueOrders {
    /// An empty table for `instruments` instruments whose commands come from `gateway`;
    /// `history_size` final orders are remembered.
    pub fn new(instruments: u32, gateway: u16, history_size: usize) -> Self {
        Self {
            history_size,
            gateway,
            next_id: 1,
            orders: HashMap::default(),
            by_client: HashMap::default(),
            open: HashMap::default(),
            opened: 0,
            history: HashMap::default(),
            closed: VecDeque::new(),
            pending: HashMap::default(),
            amending: HashMap::default(),
            touched: Vec::new(),
            watched: HashMap::default(),
            instruments,
        }
    }

    /// The next order id [`Self::place`] gives.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Order ids continue after `last` (a restart over a journal).
    pub fn continue_after(&mut self, last: u64) {
        self.next_id = self.next_id.max(last + 1);
    }

    /// Whether the states of `account`'s orders are published ([`Effect::State`]).
    pub fn watch(&mut self, account: u32, watched: bool) {
        if watched {
            self.watched.insert(account, ());
        } else {
            self.watched.remove(&account);
        }
    }

    /// The watched accounts.
    pub fn watched(&self) -> impl Iterator<Item = u32> + '_ {
        self.watched.keys().copied()
    }

    /// An order the table holds (final ones until forgotten).
    pub fn order(&self, order_id: u64) -> Option<&Order> {
        self.orders.get(&order_id)
    }

    /// The order an account's client order id names.
    pub fn by_client(&self, account: u32, client_order_id: &str) -> Option<&Order> {
        self.client_id(account, client_order_id).and_then(|id| self.orders.get(&id))
    }

    fn client_id(&self, account: u32, client_order_id: &str) -> Option<u64> {
        self.by_client.get(&account).and_then(|m| m.get(client_order_id)).copied()
    }

    fn forget_client_id(&mut self, account: u32, client_order_id: &str, order_id: u64) {
        let Some(m) = self.by_client.get_mut(&account) else { return };
        if m.get(client_order_id) == Some(&order_id) {
            m.remove(client_order_id);
            if m.is_empty() {
                self.by_client.remove(&account);
            }
        }
    }

    /// Registers a new order as `pending` and returns its id. `DUPLICATE_CLIENT_ORDER_ID` if
    /// the account's client order id names an order already (the table is unchanged).
    pub fn place(&mut self, o: &NewOrder<'_>) -> Result<u64, OrderTableError> {
        if let Some(cid) = o.client_order_id {
            if self.client_id(o.account, cid).is_some() {
                return Err(table_error("DUPLICATE_CLIENT_ORDER_ID", format!("{cid} is in flight")));
            }
        }
        if o.side > SELL || o.qty <= 0 || (o.order_type == OrderType::Limit) != o.price.is_some() {
            return Err(table_error("INVALID_ORDER", "side, qty or price do not fit the order"));
        }
        let order_id = self.next_id;
        self.next_id += 1;
        let client_order_id = match o.client_order_id {
            Some(cid) => cid.to_owned(),
            None => {
                let mut cid = format!("wm-{order_id}");
                while self.client_id(o.account, &cid).is_some() {
                    cid.push('-'); // a client chose it
                }
                cid
            }
        };
        self.insert(order_id, client_order_id, o);
        Ok(order_id)
    }

    /// Registers an order with a given id (a restart's replay of the journal): like
    /// [`Self::place`], and later ids continue after it.
    pub fn restore(&mut self, order_id: u64, client_order_id: &str, o: &NewOrder<'_>) {
        self.continue_after(order_id);
        self.insert(order_id, client_order_id.to_owned(), o);
    }

    fn insert(&mut self, order_id: u64, client_order_id: String, o: &NewOrder<'_>) {
        self.by_client.entry(o.account).or_default().insert(client_order_id.clone(), order_id);
        self.orders.insert(
            order_id,
            Order {
                order_id,
                client_order_id,
                account: o.account,
                instrument: o.instrument,
                side: o.side,
                order_type: o.order_type,
                tif: o.tif,
                price: o.price,
                qty: o.qty,
                filled: 0,
                cum_quote: 0,
                status: Status::Pending,
                reject_reason: None,
                created_ns: o.now_ns,
                updated_ns: 0,
                held: o.held,
                opened: 0,
            },
        );
    }

    /// Finds one of `account`'s orders by id or client order id (`pending` ones and other
    /// accounts' are unknown; with `open_only`, final ones too).
    pub fn find(
        &self,
        account: u32,
        order_id: Option<u64>,
        client_order_id: Option<&str>,
        open_only: bool,
    ) -> Result<&Order, OrderTableError> {
        let order = match (order_id, client_order_id) {
            (Some(id), _) => self.orders.get(&id),
            (None, Some(cid)) => self.by_client(account, cid),
            (None, None) => return Err(table_error("INVALID_ORDER", "give order_id or client_order_id")),
        };
        let Some(order) = order.filter(|o| o.account == account && o.status != Status::Pending) else {
            return Err(table_error("UNKNOWN_ORDER", format!("no such order for account={account}")));
        };
        if open_only && !order.status.is_open() {
            let status = order.status.name();
            return Err(table_error("UNKNOWN_ORDER", format!("order {} is {status}", order.order_id)));
        }
        Ok(order)
    }

    /// `account`'s open orders, oldest first.
    pub fn open_orders(&self, account: u32) -> impl Iterator<Item = &Order> + '_ {
        self.open.get(&account).into_iter().flat_map(|m| m.values()).filter_map(|id| self.orders.get(id))
    }

    /// Open orders of every account.
    pub fn open_count(&self) -> usize {
        self.open.values().map(BTreeMap::len).sum()
    }

    /// `account`'s remembered orders (open and final), oldest first.
    pub fn history(&self, account: u32) -> impl Iterator<Item = &Order> + '_ {
        self.history.get(&account).into_iter().flat_map(|d| d.iter()).filter_map(|id| self.orders.get(id))
    }

    /// Remembers that command `command_seq` of the venue's gateway concerns `order_id` (none
    /// for a mass cancel); `traced` collects its [`Trace`]. `DUPLICATE_COMMAND` if that number
    /// waits already.
    pub fn expect(
        &mut self,
        command_seq: u64,
        kind: CommandKind,
        order_id: Option<u64>,
        traced: bool,
    ) -> Result<(), OrderTableError> {
        let trace = traced.then(Trace::default);
        self.wait_for(
            self.gateway,
            command_seq,
            Pending { kind, order_id, error: None, canceled: Vec::new(), trace, waiter: None, amend: None },
        )
    }

    /// Remembers that command `command_seq` of the venue's gateway amends `order_id` by total
    /// to `total` lots (filled ones included), as [`Self::expect`] does, and returns the
    /// quantities to send: the open lots asked for (`total` less the fills seen) and the open
    /// lots the venue sees (`seen_remaining`: the open lots the order's amends in flight will
    /// leave, if any; see the module docs). `UNKNOWN_ORDER` if the order is not open,
    /// `INVALID_QTY` if `total` does not exceed what filled, `DUPLICATE_COMMAND` if that number
    /// waits already; the table is then unchanged.
    pub fn expect_amend(
        &mut self,
        command_seq: u64,
        order_id: u64,
        total: i64,
        traced: bool,
    ) -> Result<AmendLots, OrderTableError> {
        let Some(o) = self.orders.get(&order_id).filter(|o| o.status.is_open()) else {
            return Err(table_error("UNKNOWN_ORDER", format!("order {order_id} is not open")));
        };
        let qty = total - o.filled;
        if qty <= 0 {
            let filled = o.filled;
            return Err(table_error("INVALID_QTY", format!("total={total} lots must exceed filled={filled} lots")));
        }
        let seen_remaining = self.amending.get(&order_id).map_or(o.qty - o.filled, |a| a.left);
        let trace = traced.then(Trace::default);
        let amend = Some(AmendStep { step: qty - seen_remaining, applied: false });
        let p = Pending {
            kind: CommandKind::Amend,
            order_id: Some(order_id),
            error: None,
            canceled: Vec::new(),
            trace,
            waiter: None,
            amend,
        };
        self.wait_for(self.gateway, command_seq, p)?;
        let a = self.amending.entry(order_id).or_insert(Amending { in_flight: 0, left: 0 });
        a.in_flight += 1;
        a.left = qty;
        Ok(AmendLots { qty, seen_remaining })
    }

    /// The open lots `order_id`'s amends in flight will leave as the venue sees it (None when
    /// none is in flight).
    pub fn amend_in_flight(&self, order_id: u64) -> Option<i64> {
        self.amending.get(&order_id).map(|a| a.left)
    }

    /// An amend by total that waited no more (answered, or never sent): one in flight less,
    /// and its change taken back from the view if the engine did not apply it.
    fn amend_done(&mut self, order_id: Option<u64>, step: Option<AmendStep>) {
        let (Some(id), Some(s)) = (order_id, step) else { return };
        let Some(a) = self.amending.get_mut(&id) else { return };
        a.in_flight -= 1;
        if !s.applied {
            a.left -= s.step;
        }
        if a.in_flight == 0 {
            self.amending.remove(&id);
        }
    }

    /// [`Self::expect`] for a command of another gateway (`gateway`, which must not be the
    /// venue's): its answer goes to `waiter`, called from [`Self::apply`] (under the caller's
    /// lock on the table: it must not block), instead of coming back as an [`Effect::Answer`].
    pub fn expect_answer(
        &mut self,
        gateway: u16,
        command_seq: u64,
        kind: CommandKind,
        order_id: Option<u64>,
        waiter: AnswerWaiter,
    ) -> Result<(), OrderTableError> {
        if gateway == self.gateway {
            return Err(table_error("DUPLICATE_COMMAND", format!("gateway={gateway} is the venue's own")));
        }
        let waiter = Some(waiter);
        self.wait_for(
            gateway,
            command_seq,
            Pending { kind, order_id, error: None, canceled: Vec::new(), trace: None, waiter, amend: None },
        )
    }

    fn wait_for(&mut self, gateway: u16, command_seq: u64, p: Pending) -> Result<(), OrderTableError> {
        if self.pending.contains_key(&(gateway, command_seq)) {
            let message = format!("command {command_seq} of gateway={gateway} waits already");
            return Err(table_error("DUPLICATE_COMMAND", message));
        }
        self.pending.insert((gateway, command_seq), p);
        Ok(())
    }

    /// Forgets a command of the venue's gateway that was never sent. Returns whether it waited.
    pub fn forget(&mut self, command_seq: u64) -> bool {
        self.forget_on(self.gateway, command_seq)
    }

    /// Forgets a command of `gateway` that was never sent (its waiter is dropped uncalled).
    pub fn forget_on(&mut self, gateway: u16, command_seq: u64) -> bool {
        let Some(p) = self.pending.remove(&(gateway, command_seq)) else { return false };
        self.amend_done(p.order_id, p.amend);
        true
    }

    /// Commands of the venue's gateway waiting for the engine.
    pub fn waiting(&self) -> impl Iterator<Item = u64> + '_ {
        self.pending.keys().filter(|(g, _)| *g == self.gateway).map(|(_, seq)| *seq)
    }

    /// A place that failed before any verdict: if the order is still `pending` and no
    /// waiting command concerns it (it was never sent), it is rejected with `code` and its
    /// hold comes back in `effects`. A place sent but not answered in time stays: the engine's
    /// answer still applies when it comes.
    pub fn give_up(&mut self, order_id: u64, code: &str, now_ns: u64, effects: &mut Vec<Effect>) {
        let sent = self.pending.values().any(|p| p.order_id == Some(order_id));
        if !sent && self.orders.get(&order_id).is_some_and(|o| o.status == Status::Pending) {
            self.reject(order_id, code, now_ns, effects);
            self.touched.retain(|id| *id != order_id);
            self.trim();
        }
    }

    /// Applies a batch of output records (in the engine's order) at time `now_ns`, appending
    /// what the Python side still does to `effects`.
    pub fn apply(&mut self, batch: &[u8], now_ns: u64, effects: &mut Vec<Effect>) -> Result<(), BatchSizeError> {
        if !batch.len().is_multiple_of(OUTPUT_SIZE) {
            return Err(BatchSizeError { len: batch.len() });
        }
        for r in batch.chunks_exact(OUTPUT_SIZE) {
            self.record(r, now_ns, effects);
        }
        Ok(())
    }

    fn record(&mut self, r: &[u8], now_ns: u64, effects: &mut Vec<Effect>) {
        let (gateway, seq) = (u16_at(r, at::GATEWAY), u64_at(r, at::COMMAND_SEQ));
        let key = self.pending.contains_key(&(gateway, seq)).then_some((gateway, seq));
        let outcome = r[at::OUTCOME];
        let last = r[at::LAST] != 0;
        if let Some(t) = key.and_then(|k| self.pending.get_mut(&k)).and_then(|p| p.trace.as_mut()) {
            if outcome == OUTCOME_EVENT && r[at::KIND] != kind::BOOK_DELTA {
                t.events.push(r[at::KIND]);
            }
            if last {
                t.book_deltas += u64::from(u32_at(r, at::DROPPED));
                t.outcome = outcome;
                t.command_seq = seq;
                t.journal_seq = u64_at(r, at::JOURNAL_SEQ);
                t.ingress_ns = u64_at(r, at::INGRESS_NS);
                t.latency_ns = u64_at(r, at::LATENCY_NS);
            } else if r[at::KIND] == kind::BOOK_DELTA {
                t.book_deltas += 1;
            }
        }
        let e = OrderEvent::of_record(r);
        match outcome {
            OUTCOME_EVENT if e.instrument < self.instruments => self.event(&e, key, now_ns, effects),
            OUTCOME_REFUSED => {
                if let Some(k) = key {
                    self.refused(k, e.reason, now_ns, effects);
                }
            }
            OUTCOME_RISK => {
                if let Some(p) = key.and_then(|k| self.pending.get_mut(&k)) {
                    let reason = usize::from(e.reason)
                        .checked_sub(1)
                        .and_then(|i| RISK_CODES.get(i))
                        .map_or_else(|| e.reason.to_string(), |c| (*c).to_owned());
                    let code = if reason.ends_with("KILL_SWITCH") { "KILL_SWITCH" } else { "RISK_REJECTED" };
                    let message = format!("pre-trade risk refused it: {reason}");
                    p.error = Some(CommandError { code, message, reason: Some(reason) });
                }
            }
            OUTCOME_EVENT | OUTCOME_NO_EVENTS => {}
            other => {
                if let Some(p) = key.and_then(|k| self.pending.get_mut(&k)) {
                    let name = OUTCOMES.iter().find(|(c, _)| *c == other).map_or("?", |(_, n)| n);
                    let message = format!("engine outcome {name}");
                    p.error = Some(CommandError { code: "UNAVAILABLE", message, reason: None });
                }
            }
        }
        if last {
            if let Some(k) = key {
                let p = self.pending.remove(&k).expect("a waiting command");
                self.amend_done(p.order_id, p.amend);
                self.answer(k, p, now_ns, effects);
            }
            self.publish_touched(effects);
            self.trim();
        }
    }

    /// One book event of a command (`pending`: the venue's waiting command it belongs to).
    /// A restart's replay of the journal calls it directly (then [`Self::command_done`]).
    pub fn event(&mut self, e: &OrderEvent, pending: Option<(u16, u64)>, now_ns: u64, effects: &mut Vec<Effect>) {
        match e.kind {
            kind::ACCEPTED => {
                if let Some(o) = self.orders.get_mut(&e.order_id).filter(|o| o.status == Status::Pending) {
                    o.status = Status::New;
                    self.opened += 1;
                    o.opened = self.opened;
                    self.open.entry(o.account).or_default().insert(o.opened, o.order_id);
                    self.history.entry(o.account).or_default().push_back(o.order_id);
                    self.touch(e.order_id, now_ns);
                }
            }
            kind::TRADE => {
                effects.push(Effect::Trade { instrument: e.instrument, price: e.price, qty: e.qty, side: e.side });
                for (order_id, maker) in [(e.order_id, true), (e.other_id, false)] {
                    self.fill(order_id, e.price, e.qty, maker, now_ns, effects);
                }
            }
            kind::CANCELED => {
                let open = self.orders.get(&e.order_id).is_some_and(|o| o.status.is_open());
                if open && e.remaining == 0 {
                    let unfilled = e.reason == CancelReason::Unfilled as u8;
                    let status = if unfilled { Status::Expired } else { Status::Canceled };
                    self.finish(e.order_id, status, now_ns, effects);
                    if let Some(p) = pending.and_then(|k| self.pending.get_mut(&k)) {
                        if p.kind == CommandKind::Mass {
                            p.canceled.push(e.order_id);
                        }
                        p.applied_to(e.order_id);
                    }
                }
            }
            kind::AMENDED => {
                if let Some(p) = pending.and_then(|k| self.pending.get_mut(&k)) {
                    p.applied_to(e.order_id);
                }
                if let Some(o) = self.orders.get_mut(&e.order_id) {
                    o.price = Some(e.price);
                    o.qty = o.filled + e.qty;
                    let hold = hold_units(o.side, e.qty, e.price);
                    let units = o.held - hold;
                    o.held = hold;
                    let (account, instrument, side) = (o.account, o.instrument, o.side);
                    effects.push(Effect::Unlock { account, instrument, side, units });
                    self.touch(e.order_id, now_ns);
                }
            }
            kind::REJECTED => {
                if let Some(k) = pending {
                    self.refused(k, e.reason, now_ns, effects);
                }
            }
            _ => {}
        }
    }

    /// Ends a command replayed with [`Self::event`]: its changed orders are not published.
    pub fn command_done(&mut self) {
        self.touched.clear();
        self.trim();
    }

    /// The book refused a command: a FOK place that cannot fill expires, the rest fail.
    fn refused(&mut self, key: (u16, u64), reason: u8, now_ns: u64, effects: &mut Vec<Effect>) {
        let Some(p) = self.pending.get_mut(&key) else { return };
        let name = reject_name(reason);
        if reason == RejectReason::FokNotFillable as u8 && p.kind == CommandKind::Place {
            if let Some(id) = p.order_id {
                self.finish(id, Status::Expired, now_ns, effects);
                return;
            }
        }
        let message = format!("the book refused it: {name}");
        p.error = Some(CommandError { code: "BOOK_REJECTED", message, reason: Some(name) });
    }

    /// A refused place (by the book or risk, while a journal is replayed; or never sent):
    /// rejected with `reason` and closed, if still `pending`.
    pub fn reject(&mut self, order_id: u64, reason: &str, now_ns: u64, effects: &mut Vec<Effect>) {
        let Some(o) = self.orders.get_mut(&order_id).filter(|o| o.status == Status::Pending) else { return };
        o.status = Status::Rejected;
        o.reject_reason = Some(reason.to_owned());
        self.close(order_id, effects);
        self.touch(order_id, now_ns);
    }

    /// A FOK place that could not fill, while a journal is replayed.
    pub fn expire(&mut self, order_id: u64, now_ns: u64, effects: &mut Vec<Effect>) {
        if self.orders.contains_key(&order_id) {
            self.finish(order_id, Status::Expired, now_ns, effects);
        }
    }

    fn fill(&mut self, order_id: u64, price: i64, lots: i64, maker: bool, now_ns: u64, effects: &mut Vec<Effect>) {
        let Some(o) = self.orders.get_mut(&order_id) else { return };
        let notional = i128::from(price) * i128::from(lots);
        let from_hold = if o.side == BUY {
            let per_unit = o.price.map_or(notional, |p| i128::from(p) * i128::from(lots));
            o.held.min(per_unit)
        } else {
            o.held.min(i128::from(lots))
        };
        o.held -= from_hold;
        o.filled += lots;
        if let Some(a) = self.amending.get_mut(&order_id) {
            a.left -= lots;
        }
        o.cum_quote += notional;
        effects.push(Effect::Fill {
            order_id,
            client_order_id: o.client_order_id.clone(),
            account: o.account,
            instrument: o.instrument,
            side: o.side,
            qty: lots,
            price,
            maker,
            from_hold,
            fee: 0,
            fee_scale: 0,
        });
        if o.filled >= o.qty {
            self.finish(order_id, Status::Filled, now_ns, effects);
        } else {
            o.status = Status::PartiallyFilled;
            self.touch(order_id, now_ns);
        }
    }

    fn finish(&mut self, order_id: u64, status: Status, now_ns: u64, effects: &mut Vec<Effect>) {
        let Some(o) = self.orders.get_mut(&order_id) else { return };
        o.status = status;
        let is_open = self.open.get(&o.account).is_some_and(|m| o.opened != 0 && m.contains_key(&o.opened));
        if !is_open {
            self.history.entry(o.account).or_default().push_back(order_id);
        }
        self.close(order_id, effects);
        self.touch(order_id, now_ns);
    }

    /// Gives back the order's hold and retires it (the oldest final orders are forgotten
    /// beyond the history size).
    fn close(&mut self, order_id: u64, effects: &mut Vec<Effect>) {
        self.amending.remove(&order_id);
        let Some(o) = self.orders.get_mut(&order_id) else { return };
        if o.held != 0 {
            effects.push(Effect::Unlock { account: o.account, instrument: o.instrument, side: o.side, units: o.held });
            o.held = 0;
        }
        if let Some(open) = self.open.get_mut(&o.account) {
            open.remove(&o.opened);
            if open.is_empty() {
                self.open.remove(&o.account);
            }
        }
        if o.status == Status::Rejected {
            let (account, cid) = (o.account, o.client_order_id.clone());
            self.forget_client_id(account, &cid, order_id);
        }
        self.closed.push_back(order_id);
    }

    /// Forgets the oldest final orders beyond the history size (at the end of a command, so
    /// that its answer still sees every order it concerned).
    fn trim(&mut self) {
        while self.closed.len() > self.history_size {
            let Some(old_id) = self.closed.pop_front() else { break };
            let Some(old) = self.orders.remove(&old_id) else { continue };
            self.forget_client_id(old.account, &old.client_order_id, old_id);
            // Usually the account's oldest; behind an order of the account still open, further
            // in (its history keeps the order the orders were placed in).
            if let Some(ids) = self.history.get_mut(&old.account) {
                if ids.front() == Some(&old_id) {
                    ids.pop_front();
                } else if let Some(at) = ids.iter().position(|id| *id == old_id) {
                    ids.remove(at);
                }
            }
        }
    }

    fn touch(&mut self, order_id: u64, now_ns: u64) {
        if let Some(o) = self.orders.get_mut(&order_id) {
            o.updated_ns = now_ns;
            if !self.touched.contains(&order_id) {
                self.touched.push(order_id);
            }
        }
    }

    fn publish_touched(&mut self, effects: &mut Vec<Effect>) {
        for id in self.touched.drain(..) {
            if let Some(o) = self.orders.get(&id).filter(|o| self.watched.contains_key(&o.account)) {
                effects.push(Effect::State(Box::new(o.clone())));
            }
        }
    }

    fn answer(&mut self, (_, command_seq): (u16, u64), mut p: Pending, now_ns: u64, effects: &mut Vec<Effect>) {
        let waiter = p.waiter.take();
        let answer = if let Some(error) = p.error {
            if let Some(id) = p.order_id.filter(|_| p.kind == CommandKind::Place) {
                let reason = error.reason.clone().unwrap_or_else(|| error.code.to_owned());
                self.reject(id, &reason, now_ns, effects);
            }
            let order = p.order_id.and_then(|id| self.orders.get(&id)).map(|o| Box::new(o.clone()));
            Answer::Failed { error, order, counted: true }
        } else if p.kind == CommandKind::Mass {
            Answer::Canceled(p.canceled.iter().filter_map(|id| self.orders.get(id)).cloned().collect())
        } else {
            match p.order_id.and_then(|id| self.orders.get(&id)) {
                Some(o) if p.kind == CommandKind::Cancel && o.status.is_open() => {
                    let message = format!("order {} is not open", o.order_id);
                    let error = CommandError { code: "UNKNOWN_ORDER", message, reason: None };
                    Answer::Failed { error, order: None, counted: false }
                }
                Some(o) => Answer::Order(Box::new(o.clone())),
                None => {
                    let message = "the order was forgotten before its answer".to_owned();
                    let error = CommandError { code: "UNKNOWN_ORDER", message, reason: None };
                    Answer::Failed { error, order: None, counted: true }
                }
            }
        };
        match waiter {
            Some(w) => w.send(answer),
            None => effects.push(Effect::Answer { command_seq, answer, trace: p.trace }),
        }
    }
}

/// The hold of `lots` at `price` ticks: lots for a sell, ticks x lots for a buy.
pub fn hold_units(side: u8, lots: i64, price: i64) -> i128 {
    if side == BUY {
        i128::from(lots) * i128::from(price)
    } else {
        i128::from(lots)
    }
}

#[cfg(test)]
#[path = "venue_orders_tests.rs"]
mod tests;

//! Our own venue as an [`Execution`]: the market maker's account submits through a pipeline
//! [`Gateway`] of its own, pre-trade risk checks it like any other account, and what the
//! matching engine did comes back from a [`Subscription`], mapped to [`ExecEvent`]s.
//!
//! ```text
//! submit(New / Amend / Cancel) ──> Gateway ──> risk ──> matching ──> Subscription ──> poll()
//!                                                                       │
//!                              Accepted / Amended / Filled / Canceled / Rejected, our top,
//!                              and the exact FIFO place of each resting order ([`FifoPlace`])
//! ```
//!
//! # Ids
//! A client id is the engine's order id (one range per market maker: keep it apart from other
//! accounts' ids on the same instrument, as order ids are unique per book). Outputs of our own
//! commands are recognized by their gateway; events of other commands that touch our orders
//! (a taker hitting our quote, a mass cancel) by the maker's account or by an order id we hold
//! open.
//!
//! # What maps to what
//! | engine output | event |
//! |---|---|
//! | `Accepted` of our new order | [`ExecEvent::Accepted`] |
//! | `Trade` with our order as maker or taker | [`ExecEvent::Filled`] (maker / taker, fee from the schedule) |
//! | `Canceled` of our order (request, IOC remainder, mass cancel, self-trade) | [`ExecEvent::Canceled`] |
//! | `Amended` of our order | [`ExecEvent::Amended`] |
//! | `Rejected` (post-only would cross; unknown order) | [`ExecEvent::Rejected`] (`WouldCross`, `UnknownOrder`) |
//! | `RiskRejected` (a limit, a kill switch) | [`ExecEvent::Rejected`] (`Risk`; an amend of an order risk no longer knows: `UnknownOrder`) |
//! | `Refused` by the book's validation, unknown instrument, halted | [`ExecEvent::Rejected`] (`UnknownOrder` or `Invalid`) |
//!
//! # Amends
//! An `Amend` goes to the engine as an amend by total (`Command::AmendTotal`,
//! `docs/matching.md`): its quantity is the open quantity wanted as the market maker knew the
//! order, and it carries that knowledge (the last amend's or the order's quantity less the
//! fills and cancels handed out since), so the engine takes off the fills still on their way,
//! as an exchange does: an amend from `old` to `new` open lots fills at most `max(old, new)`
//! from the moment it is sent ([`crate::in_flight`]). Fills that took it all cancel the order
//! (`Canceled`).
//!
//! Several amends of one order may be in flight at once: each counts on the ones before it
//! (its `seen_remaining` is the last one's quantity less the fills handed out since), and each
//! remembers its step (the open lots it asked for less those it saw). An amend the engine
//! refuses (risk, the book) takes its step back from that view, so an amend already in flight
//! behind it changes the order by its own step, and the view stays the order's open quantity
//! as the market maker knows it, however many amends are in flight.
//!
//! Event times are the matching stage's stamp
//! ([`wintermute_engine::pipeline::Stamps::match_ns`], the pipeline clock).
//! The subscription must take book deltas ([`wintermute_engine::pipeline::SubscriptionConfig`]'s
//! default): they give our venue's top ([`EngineVenue::our_top`]) and the queue places.
//!
//! # Shared handles
//! A pipeline run from Python keeps its gateways in [`SharedGateway`] slots and its
//! subscriptions behind locks ([`SharedSubscription`], so that its own shutdown can drain
//! every one). [`EngineVenue::shared`] takes the gateway out of its slot on a [`GatewayLease`]
//! (submits take no lock; others who try the gateway meanwhile get `SubmitError::Lent`; it goes
//! back when the venue is dropped, i.e. when the market maker's thread ends) and reads the
//! shared subscription (one uncontended lock per poll, not per command);
//! [`EngineVenue::new`] owns both outright. Either way nobody else may read the subscription.
//!
//! [`SharedGateway`]: wintermute_engine::pipeline::SharedGateway
//!
//! # No allocation
//! Open orders and commands in flight live in tables sized at construction; reading the
//! subscription hands each output over in place. After construction neither `submit` nor
//! `poll` allocates (a counting-allocator test, `tests/engine_venue_no_alloc.rs`).

use wintermute_core::{AccountId, Command, Event, InstrumentId, NewOrder, OrderId, TimeInForce};

use wintermute_engine::analytics::PipelineClock;
use wintermute_engine::pipeline::{
    BufferedSubscription, CommandId, Gateway, GatewayLease, Output, OutputKind, SharedSubscription, SubmitError,
    Subscription,
};
use wintermute_engine::risk::RiskError;

use crate::execution::{
    ClientOrderId, ExecCommand, ExecError, ExecEvent, ExecEvents, Execution, OrderTif, RejectReason,
    EXEC_EVENTS_CAPACITY,
};
use crate::fees::FeeSchedule;
use crate::fifo_place::FifoPlace;
use crate::l2_book::BookSide;
use crate::types::{Fill, Liquidity, Side, Top, VenueId};

/// How the market maker trades on our venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineVenueConfig {
    /// The venue id events carry (usually [`VenueId::Ours`]).
    pub venue: VenueId,
    /// The market maker's account: risk checks it like any other.
    pub account: AccountId,
    /// The instrument quoted (its index in the pipeline's config).
    pub instrument: InstrumentId,
    /// Fees booked on our fills (the engine's risk keeps its own fee rates).
    pub fees: FeeSchedule,
    /// Our open orders at once (quotes and IOCs in flight).
    pub max_open: usize,
    /// Commands sent and not yet answered, at once.
    pub max_in_flight: usize,
    /// Levels per side kept of our venue's book (for the top).
    pub depth: usize,
}

impl EngineVenueConfig {
    /// `account` quoting `instrument` on [`VenueId::Ours`]: 64 open orders, 256 commands in
    /// flight, 256 levels a side.
    pub fn new(account: AccountId, instrument: InstrumentId, fees: FeeSchedule) -> Self {
        Self { venue: VenueId::Ours, account, instrument, fees, max_open: 64, max_in_flight: 256, depth: 256 }
    }
}

/// A command in flight: its gateway sequence number and what it was.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    seq: u64,
    client_id: ClientOrderId,
    /// An amend by total: the open lots it asked for less the open lots it saw (`seen_open`
    /// when it was sent), taken back from `seen_open` if the engine refuses it.
    amend_step: Option<i64>,
}

/// One of our orders, from the submit of its `New` until it is done.
#[derive(Debug, Clone, Copy)]
struct OpenOrder {
    client_id: ClientOrderId,
    side: Side,
    price: i64,
    open_qty: i64,
    /// The open quantity as the market maker knows the order: its last amend's (or the new
    /// order's) quantity less the fills and cancels handed to it since. What an amend by total
    /// says it saw (`seen_remaining`), so that the fills still in the output ring come off.
    seen_open: i64,
    /// Accepted by the engine (it is on the book, or an IOC working).
    live: bool,
    place: FifoPlace,
}

/// Everything `poll` updates (apart from the subscription it reads).
#[derive(Debug)]
struct VenueState {
    cfg: EngineVenueConfig,
    gateway: u16,
    /// Commands in flight, oldest first: a ring over a fixed array.
    in_flight: Vec<InFlight>,
    head: usize,
    len: usize,
    open: Vec<OpenOrder>,
    bids: BookSide,
    asks: BookSide,
    top_ns: i64,
    /// Other orders' cancels since the last delta of this command: (id, lots, whole order).
    left: [(OrderId, i64, bool); 64],
    left_len: usize,
    /// The order id of the current command's taker (its own cancels never touch a level).
    taker: Option<OrderId>,
    /// Our command whose output is being read (`None`: another gateway's).
    current: Option<InFlight>,
    last_ns: i64,
    /// Every trade the last `poll` read, anyone's: (price, qty, aggressor).
    prints: Vec<(i64, i64, Side)>,
}

/// The gateway, owned or leased (see the module docs): ours alone either way, no lock.
#[derive(Debug)]
enum GatewayHandle {
    Owned(Gateway),
    Leased(GatewayLease),
}

impl GatewayHandle {
    fn with<R>(&mut self, f: impl FnOnce(&mut Gateway) -> R) -> R {
        match self {
            GatewayHandle::Owned(g) => f(g),
            GatewayHandle::Leased(l) => f(l.gateway()),
        }
    }

    fn submit(&mut self, instrument: wintermute_core::InstrumentId, cmd: Command) -> Result<CommandId, SubmitError> {
        self.with(|g| g.submit(instrument, cmd))
    }

    fn id(&mut self) -> u16 {
        self.with(|g| g.id())
    }
}

/// The subscription, owned or shared.
#[derive(Debug)]
enum OutputSource {
    Owned(Subscription),
    Shared(SharedSubscription),
}

impl OutputSource {
    fn read(&mut self, max: usize, f: impl FnMut(&Output)) -> usize {
        match self {
            OutputSource::Owned(s) => s.read(max, f),
            OutputSource::Shared(s) => BufferedSubscription::lock(s).take(max, f),
        }
    }
}

/// Our venue through the pipeline (see the module docs).
#[derive(Debug)]
pub struct EngineVenue {
    gateway: GatewayHandle,
    clock: PipelineClock,
    sub: OutputSource,
    state: VenueState,
}

fn side_book(state: &mut VenueState, side: Side) -> &mut BookSide {
    match side {
        Side::Buy => &mut state.bids,
        Side::Sell => &mut state.asks,
    }
}

impl EngineVenue {
    /// Our venue, submitting through `gateway` and reading `subscription` (which must carry
    /// book deltas and be read by nobody else). Allocates its tables here, once.
    pub fn new(cfg: EngineVenueConfig, gateway: Gateway, subscription: Subscription) -> Self {
        Self::build(cfg, GatewayHandle::Owned(gateway), OutputSource::Owned(subscription))
    }

    /// Our venue over a gateway leased from its owner (a pipeline run from Python; it goes
    /// back when this venue is dropped) and a subscription shared with it: see the module docs.
    /// Allocates its tables here, once.
    pub fn shared(cfg: EngineVenueConfig, gateway: GatewayLease, subscription: SharedSubscription) -> Self {
        Self::build(cfg, GatewayHandle::Leased(gateway), OutputSource::Shared(subscription))
    }

    fn build(cfg: EngineVenueConfig, mut gateway: GatewayHandle, sub: OutputSource) -> Self {
        let clock = gateway.with(|g| g.clock());
        let state = VenueState {
            gateway: gateway.id(),
            in_flight: vec![InFlight { seq: 0, client_id: 0, amend_step: None }; cfg.max_in_flight.max(1)],
            head: 0,
            len: 0,
            open: Vec::with_capacity(cfg.max_open.max(1)),
            bids: BookSide::new(Side::Buy, cfg.depth),
            asks: BookSide::new(Side::Sell, cfg.depth),
            top_ns: 0,
            left: [(0, 0, false); 64],
            left_len: 0,
            taker: None,
            current: None,
            last_ns: i64::MIN,
            prints: Vec::with_capacity(EXEC_EVENTS_CAPACITY),
            cfg,
        };
        EngineVenue { gateway, clock, sub, state }
    }

    /// Our venue's best bid and ask as the subscription has shown them so far (our own
    /// orders included), stamped with the last change.
    pub fn our_top(&self) -> Top {
        let s = &self.state;
        Top { bid: s.bids.best().unwrap_or_default(), ask: s.asks.best().unwrap_or_default(), ts_ns: s.top_ns }
    }

    /// The public trades on our venue (anyone's, ours included) that the last `poll` read, as
    /// (price, qty, aggressor), in the order they printed.
    pub fn public_trades(&self) -> &[(i64, i64, Side)] {
        &self.state.prints
    }

    /// Our venue's best bid and ask **without our own orders**: what the quotes must not
    /// cross (the quoter's `our_top`).
    pub fn others_top(&self) -> Top {
        let s = &self.state;
        let best = |side: Side, book: &BookSide| {
            book.levels()
                .iter()
                .map(|l| {
                    let ours: i64 = s
                        .open
                        .iter()
                        .filter(|o| o.live && o.side == side && o.price == l.price)
                        .map(|o| o.open_qty)
                        .sum();
                    crate::types::Level { price: l.price, qty: l.qty - ours }
                })
                .find(|l| l.qty > 0)
                .unwrap_or_default()
        };
        Top { bid: best(Side::Buy, &s.bids), ask: best(Side::Sell, &s.asks), ts_ns: s.top_ns }
    }

    /// Lots shown at `price` on `side` of our venue (ours included).
    pub fn level_qty(&self, side: Side, price: i64) -> i64 {
        match side {
            Side::Buy => self.state.bids.qty_at(price),
            Side::Sell => self.state.asks.qty_at(price),
        }
    }

    /// The FIFO place of one of our open orders (`None`: not ours, or not resting yet).
    pub fn fifo_place(&self, client_id: ClientOrderId) -> Option<FifoPlace> {
        self.state.open.iter().find(|o| o.client_id == client_id && o.place.has_joined()).map(|o| o.place)
    }

    /// Visible lots ahead of one of our resting orders (see [`FifoPlace`]).
    pub fn queue_ahead(&self, client_id: ClientOrderId) -> Option<i64> {
        self.fifo_place(client_id).and_then(|p| p.ahead())
    }

    /// Our open orders (sent and not done).
    pub fn open_orders(&self) -> usize {
        self.state.open.len()
    }

    /// Commands sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.state.len
    }

    /// The gateway's clock: the time base of every event.
    pub fn clock_ns(&self) -> i64 {
        self.clock.now_ns() as i64
    }

    /// The instrument and account this venue trades.
    pub fn config(&self) -> &EngineVenueConfig {
        &self.state.cfg
    }

    fn check(&self, now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        let s = &self.state;
        let venue = s.cfg.venue;
        if now_ns < s.last_ns {
            return Err(ExecError::TimeWentBack { venue, now_ns, last_ns: s.last_ns });
        }
        if s.len == s.in_flight.len() {
            return Err(ExecError::InFlightFull { venue, capacity: s.in_flight.len() });
        }
        match *command {
            ExecCommand::New(r) => {
                if r.qty <= 0 {
                    return Err(ExecError::BadQty { client_id: r.client_id, qty: r.qty });
                }
                if s.open.iter().any(|o| o.client_id == r.client_id) {
                    return Err(ExecError::DuplicateClientId { venue, client_id: r.client_id });
                }
                if s.open.len() == s.open.capacity() {
                    return Err(ExecError::InFlightFull { venue, capacity: s.open.capacity() });
                }
            }
            ExecCommand::Amend { client_id, new_qty } if new_qty <= 0 => {
                return Err(ExecError::BadQty { client_id, qty: new_qty });
            }
            ExecCommand::Amend { .. } | ExecCommand::Cancel { .. } => {}
        }
        Ok(())
    }
}

/// The engine command of `command`. An amend is by total (`docs/matching.md`, "Amend by
/// total"), with `seen_open`, the open quantity the market maker knew (`None`: not an open
/// order of ours; the engine refuses it as unknown).
fn engine_command(account: AccountId, command: &ExecCommand, seen_open: Option<i64>) -> (ClientOrderId, Command) {
    match *command {
        ExecCommand::New(r) => {
            let o = NewOrder::limit(r.client_id, account, r.side, r.price, r.qty);
            let o = match r.tif {
                OrderTif::Gtc => o,
                OrderTif::PostOnly => o.post_only(),
                OrderTif::Ioc => o.with_tif(TimeInForce::Ioc),
            };
            (r.client_id, Command::New(o))
        }
        ExecCommand::Amend { client_id, new_qty } => {
            let order_id = client_id;
            let cmd = match seen_open {
                Some(seen_remaining) => Command::AmendTotal { order_id, price: None, qty: new_qty, seen_remaining },
                None => Command::Amend { order_id, price: None, qty: Some(new_qty) },
            };
            (client_id, cmd)
        }
        ExecCommand::Cancel { client_id } => (client_id, Command::Cancel { order_id: client_id }),
    }
}

impl Execution for EngineVenue {
    fn venue(&self) -> VenueId {
        self.state.cfg.venue
    }

    fn submit(&mut self, now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        self.check(now_ns, command)?;
        let seen_open = match *command {
            ExecCommand::Amend { client_id, .. } => self.state.find(client_id).map(|i| self.state.open[i].seen_open),
            _ => None,
        };
        let (client_id, engine_cmd) = engine_command(self.state.cfg.account, command, seen_open);
        let id = self.gateway.submit(self.state.cfg.instrument, engine_cmd).map_err(|e| {
            let why = match e {
                SubmitError::Full { .. } => "ring full",
                SubmitError::Closed { .. } => "closed",
                // A lease holds the gateway: it is never lent from here.
                SubmitError::Lent { .. } => "lent",
            };
            ExecError::Unavailable { venue: self.state.cfg.venue, why }
        })?;
        let s = &mut self.state;
        s.last_ns = now_ns;
        let amend_step = match (*command, seen_open) {
            (ExecCommand::Amend { new_qty, .. }, Some(seen)) => Some(new_qty - seen),
            _ => None,
        };
        let slot = (s.head + s.len) % s.in_flight.len();
        s.in_flight[slot] = InFlight { seq: id.seq, client_id, amend_step };
        s.len += 1;
        match *command {
            ExecCommand::New(r) => s.open.push(OpenOrder {
                client_id,
                side: r.side,
                price: r.price,
                open_qty: r.qty,
                seen_open: r.qty,
                live: false,
                place: FifoPlace::new(),
            }),
            ExecCommand::Amend { new_qty, .. } => {
                if let Some(i) = s.find(client_id) {
                    s.open[i].seen_open = new_qty;
                }
            }
            ExecCommand::Cancel { .. } => {}
        }
        Ok(())
    }

    fn poll(&mut self, now_ns: i64, out: &mut ExecEvents) {
        let EngineVenue { sub, state, .. } = self;
        state.last_ns = state.last_ns.max(now_ns);
        state.prints.clear();
        // An output gives at most two events (a trade between two of our own orders).
        let room = (EXEC_EVENTS_CAPACITY - out.len()) / 2;
        sub.read(room, |o| state.on_output(o, out));
    }
}

impl VenueState {
    fn find(&self, order_id: OrderId) -> Option<usize> {
        self.open.iter().position(|o| o.client_id == order_id)
    }

    fn emit(out: &mut ExecEvents, event: ExecEvent) {
        // `poll` reads no more outputs than fit; a full buffer here is a bug in that bound.
        let pushed = out.push(event);
        debug_assert!(pushed.is_ok(), "event buffer sized by poll");
    }

    fn remove(&mut self, i: usize) {
        self.open.swap_remove(i);
    }

    /// The in-flight entry of our command `seq` (commands are answered in order).
    fn answered(&mut self, seq: u64, last: bool) -> Option<InFlight> {
        if self.len == 0 {
            return None;
        }
        let front = self.in_flight[self.head];
        if front.seq != seq {
            return None;
        }
        if last {
            self.head = (self.head + 1) % self.in_flight.len();
            self.len -= 1;
        }
        Some(front)
    }

    fn on_output(&mut self, o: &Output, out: &mut ExecEvents) {
        let ts = o.stamps.match_ns as i64;
        let ours = o.command.gateway == self.gateway;
        self.current = if ours { self.answered(o.command.seq, o.last) } else { None };
        let client = self.current.map(|c| c.client_id);
        match &o.kind {
            OutputKind::Event(e) => self.on_event(e, ts, client, out),
            OutputKind::NoEvents => {}
            // An amend of an order risk no longer holds (filled meanwhile) is no risk refusal.
            OutputKind::RiskRejected(RiskError::UnknownOrder { .. }) => {
                self.reject(client, RejectReason::UnknownOrder, ts, out)
            }
            OutputKind::RiskRejected(_) => self.reject(client, RejectReason::Risk, ts, out),
            OutputKind::Refused(err) => {
                let reason = match err.reason() {
                    wintermute_core::RejectReason::UnknownOrder => RejectReason::UnknownOrder,
                    _ => RejectReason::Invalid,
                };
                self.reject(client, reason, ts, out);
            }
            OutputKind::UnknownInstrument | OutputKind::Halted => self.reject(client, RejectReason::Invalid, ts, out),
        }
        if o.last {
            self.left_len = 0;
            self.taker = None;
        }
        self.current = None;
    }

    /// Our command was refused: a new order is gone; an amend or cancel leaves the order as it
    /// was. A refused amend takes its change back from the open lots the market maker knows
    /// (`seen_open`), which the amends sent after it counted on: each of those still in flight
    /// then changes the order by its own step, and the view stays exact (see the module docs).
    fn reject(&mut self, client: Option<ClientOrderId>, reason: RejectReason, ts: i64, out: &mut ExecEvents) {
        let Some(client_id) = client else { return };
        if let Some(i) = self.find(client_id) {
            if !self.open[i].live {
                self.remove(i);
            } else if let Some(step) = self.current.filter(|c| c.client_id == client_id).and_then(|c| c.amend_step) {
                self.open[i].seen_open -= step;
            }
        }
        Self::emit(out, ExecEvent::Rejected { client_id, reason, ts_ns: ts });
    }

    fn on_event(&mut self, e: &Event, ts: i64, client: Option<ClientOrderId>, out: &mut ExecEvents) {
        match *e {
            Event::Accepted { order_id, side, price, .. } => {
                self.taker = Some(order_id);
                match self.find(order_id) {
                    Some(i) if client == Some(order_id) => {
                        self.open[i].live = true;
                        Self::emit(out, ExecEvent::Accepted { client_id: order_id, ts_ns: ts });
                    }
                    _ => {
                        for o in self.open.iter_mut().filter(|o| o.side == side && o.price == price) {
                            o.place.on_other_joined(order_id);
                        }
                    }
                }
            }
            Event::Rejected { order_id, reason, .. } => {
                let reason = match reason {
                    wintermute_core::RejectReason::PostOnlyWouldCross => RejectReason::WouldCross,
                    wintermute_core::RejectReason::UnknownOrder => RejectReason::UnknownOrder,
                    _ => RejectReason::Invalid,
                };
                if client == Some(order_id) || self.find(order_id).is_some() {
                    self.reject(Some(order_id), reason, ts, out);
                }
            }
            Event::Trade {
                maker_order_id,
                taker_order_id,
                maker_account,
                taker_account,
                price,
                qty,
                aggressor,
                ..
            } => {
                let maker_side = aggressor.opposite();
                // At most one trade per output read, and `poll` reads fewer than the capacity.
                if self.prints.len() < self.prints.capacity() {
                    self.prints.push((price, qty, aggressor));
                }
                if maker_account == self.cfg.account {
                    self.fill(maker_order_id, maker_side, price, qty, Liquidity::Maker, ts, out);
                } else {
                    for o in self.open.iter_mut().filter(|o| o.side == maker_side && o.price == price) {
                        o.place.on_trade_ahead(qty);
                    }
                }
                if taker_account == self.cfg.account {
                    self.fill(taker_order_id, aggressor, price, qty, Liquidity::Taker, ts, out);
                }
            }
            Event::Canceled { order_id, canceled_qty, remaining_qty, .. } => match self.find(order_id) {
                Some(i) if self.open[i].live || client == Some(order_id) => {
                    if remaining_qty == 0 {
                        self.remove(i);
                    } else {
                        self.open[i].open_qty = remaining_qty;
                        self.open[i].seen_open -= canceled_qty;
                    }
                    Self::emit(out, ExecEvent::Canceled { client_id: order_id, canceled_qty, ts_ns: ts });
                }
                _ if self.taker == Some(order_id) => {}
                _ => {
                    if self.left_len < self.left.len() {
                        self.left[self.left_len] = (order_id, canceled_qty, remaining_qty == 0);
                        self.left_len += 1;
                    }
                }
            },
            Event::Amended { order_id, old_price, new_price, old_qty, new_qty, priority_kept, .. } => {
                if let Some(i) = self.find(order_id) {
                    let o = &mut self.open[i];
                    o.open_qty = new_qty;
                    o.price = new_price;
                    if !priority_kept {
                        o.place.rejoin();
                    }
                    Self::emit(out, ExecEvent::Amended { client_id: order_id, open_qty: new_qty, ts_ns: ts });
                } else {
                    // A price identifies a side's level: the other side cannot rest at it.
                    for o in self.open.iter_mut().filter(|o| o.price == old_price || o.price == new_price) {
                        if o.price == old_price {
                            o.place.on_other_amended(order_id, old_qty, new_qty, priority_kept, new_price == o.price);
                        } else {
                            o.place.on_other_joined(order_id);
                        }
                    }
                }
            }
            Event::BookDelta { side, price, qty, .. } => self.on_delta(side, price, qty, ts),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        order_id: OrderId,
        side: Side,
        price: i64,
        qty: i64,
        liquidity: Liquidity,
        ts: i64,
        out: &mut ExecEvents,
    ) {
        let Some(i) = self.find(order_id) else { return };
        let o = &mut self.open[i];
        o.open_qty -= qty;
        o.seen_open -= qty;
        let open_qty = o.open_qty;
        if liquidity == Liquidity::Maker {
            o.place.on_trade_ahead(i64::MAX);
        }
        let fee = self.cfg.fees.fee(price, qty, liquidity);
        let fill = Fill { ts_ns: ts, venue: self.cfg.venue, order_id, side, price, qty, liquidity, fee };
        if open_qty <= 0 {
            self.remove(i);
        }
        Self::emit(out, ExecEvent::Filled { client_id: order_id, fill, open_qty: open_qty.max(0) });
    }

    fn on_delta(&mut self, side: Side, price: i64, qty: i64, ts: i64) {
        side_book(self, side).set(price, qty);
        self.top_ns = ts;
        let left = &self.left[..self.left_len];
        for o in self.open.iter_mut().filter(|o| o.side == side && o.price == price && o.live) {
            if !o.place.has_joined() {
                o.place.on_join(qty, o.open_qty);
                continue;
            }
            for &(id, lots, gone) in left {
                o.place.on_left(id, lots, gone);
            }
            o.place.on_level(qty, o.open_qty);
        }
        self.left_len = 0;
    }
}

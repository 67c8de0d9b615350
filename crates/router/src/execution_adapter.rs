//! The market maker's [`Execution`] interface over a routed venue (any [`VenueClient`]: Binance
//! spot, Kraken spot).
//! Length: the handle, its worker and the worker's settling of lost answers are one protocol
//! over one pair of channels; the balances it keeps live in [`crate::route_balances`].
//!
//! [`RoutedExecution`] is what the hedger and quoter hold: `submit` checks locally and queues the
//! command for a worker thread without blocking or allocating; `poll` drains the events the
//! worker produced. The worker owns the venue client (its own single-threaded tokio runtime),
//! sends each command, reconciles every `reconcile_every` while orders are live (so resting
//! orders' fills arrive without a user-data stream), and after every step turns what changed in
//! the client's order table into [`ExecEvent`]s, each fill once (by venue trade id).
//!
//! Where the venue client streams the account's balances (Binance), the worker also keeps them
//! ([`crate::balances`], [`crate::route_balances`]): `submit` refuses a new order the free
//! balance does not cover ([`ExecError::InsufficientBalance`]) before it is queued, net of
//! what the route's orders sent and not yet in the venue's balances reserve
//! ([`crate::reservations`]; a replace's new order and an amend up are checked too),
//! [`RoutedExecution::balances`] shows them and [`RoutedExecution::reconcile_balances`] checks
//! them against a fresh snapshot.
//!
//! | Execution | Binance | Kraken |
//! |---|---|---|
//! | `New` GTC / PostOnly / IOC | LIMIT GTC / LIMIT_MAKER / LIMIT IOC, `newClientOrderId=wm<id>` | `ordertype=limit`, `oflags=post` / `timeinforce=IOC`, `cl_ord_id` a UUID holding the id |
//! | `Cancel` | DELETE by client id; `-2011` -> `Rejected(UnknownOrder)` | `CancelOrder` by `cl_ord_id`; `EOrder:Unknown order` -> `Rejected(UnknownOrder)` |
//! | `Amend` | a decrease: in place (`order/amend/keepPriority`), the order keeps its id and its queue place; an increase: one cancel-replace request (`order/cancelReplace`, `STOP_ON_FAILURE`) for the new open quantity at the same price (the venue client names the replacement; a failed cancel leaves the order as it was, `Rejected`); its fills report under the same id | in place: `AmendOrder` to the filled quantity plus the new open quantity |
//! | `replace` (a quote moved) | one cancel-replace request (`STOP_ON_FAILURE`): the old order canceled, the new one placed under its own id; a cancel the venue refuses is `Rejected` for the old order and the new one is then placed on its own | `CancelOrder`, then `AddOrder` |
//!
//! A cancel-replace whose answer is lost (a transport error) is reported once a reconciliation
//! settles it, as the venue has it: `Amended` with the open quantity of the order that is live
//! (the old one when the request never arrived, the replacement when it did), or `Canceled`
//! when both are gone. A cancel or amend of that order first reconciles. A cancel whose answer
//! is lost (alone, or as a replace's first half) is sent again when a reconciliation finds the
//! order still open: the request never reached the venue.
//!
//! Venue refusals map onto [`RejectReason`]: a post-only crossing (Binance `-2010` "would
//! immediately match", Kraken `EOrder:Post only order`) is `WouldCross`, unknown orders are
//! `UnknownOrder`, rate limits are `TooManyOrders`, and every other refusal (filters,
//! timestamps) is `Risk`; the venue's own code and message stay in the client's order table. Prices and quantities pass through unchanged: the instrument's
//! grid in the market maker must be the venue's (tick size and lot). Fees in the quote or base
//! asset become [`Money`] (base-asset fees at the fill price), rounded to the nearest unit;
//! fees in a third asset (BNB) are reported as 0 here and kept exactly in the router.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wintermute_core::decimal::Decimal;
use wintermute_mm::execution::{
    ClientOrderId, ExecCommand, ExecError, ExecEvent, ExecEvents, Execution, OrderRequest, OrderTif, RejectReason,
};
use wintermute_mm::types::{Fill, Liquidity, Money, VenueId, MONEY_SCALE};

use wintermute_mm::live_snapshot::RouteBalancesView;

use crate::balances::{AccountBalances, BalanceReconciliation};
use crate::grid_guard::GridGuard;
use crate::order::{Instrument, NewOrder, OrderType, TimeInForce};
use crate::order_state::{OrderStatus, ReportKind, Side};
use crate::reservations::{Entry, OrderView, Reserve};
pub use crate::route_balances::BalanceReconcileError;
use crate::route_balances::{BalanceTracking, SharedBalances};
use crate::venue::{ErrorKind, VenueClient};

mod reserving;

/// How the adapter runs.
#[derive(Debug, Clone)]
pub struct RoutedExecutionConfig {
    /// The market maker's id for this venue.
    pub venue: VenueId,
    /// The instrument traded (its grid is the market maker's).
    pub instrument: Instrument,
    /// Base and quote asset names, for fee conversion (`("BTC", "USDT")`).
    pub assets: (String, String),
    /// How often to reconcile while orders are live.
    pub reconcile_every: Duration,
    /// Commands queued at once before `submit` answers `InFlightFull`.
    pub in_flight: usize,
    /// Whether `submit` refuses a new order that the account's free balance, as the route
    /// tracks it, does not cover ([`ExecError::InsufficientBalance`]); balances are tracked and
    /// shown either way where the venue client streams them.
    pub check_balances: bool,
}

/// The market maker's handle on a routed venue.
pub struct RoutedExecution {
    venue: VenueId,
    commands: Option<SyncSender<Command>>,
    events: Option<Receiver<ExecEvent>>,
    held: Option<ExecEvent>,
    /// The orders live as far as the handle knows: side, price, open quantity (what an amend or
    /// a replace frees).
    live: HashMap<ClientOrderId, (wintermute_mm::types::Side, i64, i64)>,
    in_flight: usize,
    last_ns: i64,
    worker: Option<JoinHandle<()>>,
    balances: Arc<SharedBalances>,
    check_balances: bool,
    /// What the venue holds for a buy's fee, in millionths of its notional
    /// ([`VenueClient::buy_fee_held_ppm`]): counted in every buy's reservation.
    buy_fee_ppm: u32,
}

impl std::fmt::Debug for RoutedExecution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoutedExecution").field("venue", &self.venue).field("live", &self.live.len()).finish()
    }
}

impl Drop for RoutedExecution {
    /// Closes the command queue; the worker finishes the request in hand and exits. It is not
    /// joined: that request may wait on a venue served by the dropping thread itself.
    fn drop(&mut self) {
        self.commands.take();
        self.events.take();
        self.worker.take();
    }
}

impl RoutedExecution {
    /// Starts the worker thread that owns `client`.
    pub fn spawn<C: VenueClient>(client: C, config: RoutedExecutionConfig) -> std::io::Result<Self> {
        Self::spawn_inner(client, config, None)
    }

    /// [`Self::spawn`], halting on `guard`: once it is tripped (the venue's grid changed), the
    /// worker cancels every resting order (within `reconcile_every`) and refuses each new order
    /// with `Rejected(Risk)`, sending nothing ([`crate::grid_guard`]).
    pub fn spawn_guarded<C: VenueClient>(
        client: C,
        config: RoutedExecutionConfig,
        guard: Arc<GridGuard>,
    ) -> std::io::Result<Self> {
        Self::spawn_inner(client, config, Some(guard))
    }

    fn spawn_inner<C: VenueClient>(
        client: C,
        config: RoutedExecutionConfig,
        guard: Option<Arc<GridGuard>>,
    ) -> std::io::Result<Self> {
        let (command_tx, command_rx) = mpsc::sync_channel(config.in_flight);
        let (event_tx, event_rx) = mpsc::sync_channel(4096);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let venue = config.venue;
        let in_flight = config.in_flight;
        let check_balances = config.check_balances;
        let buy_fee_ppm = client.buy_fee_held_ppm();
        let (base, quote) = (client.balance_asset(&config.assets.0), client.balance_asset(&config.assets.1));
        let assets = (base.as_str(), quote.as_str());
        let tracking = BalanceTracking::new(client.venue(), venue, &config.instrument, assets, config.reconcile_every);
        let balances = Arc::clone(&tracking.shared);
        let mut worker = Worker {
            client,
            config,
            events: event_tx,
            orders: HashMap::new(),
            guard,
            halted: false,
            balances: tracking,
        };
        let handle = std::thread::Builder::new().name("router-exec".into()).spawn(move || {
            // The stream first (subscribed from here on), then the account's snapshot, before
            // the first command.
            runtime.block_on(worker.balances.open_stream(&mut worker.client));
            runtime.block_on(worker.balances.track(&mut worker.client, |_, _| OrderView::Gone));
            loop {
                match command_rx.recv_timeout(worker.config.reconcile_every) {
                    Ok(Command::Exec(command, reserve)) => {
                        worker.hold(&command, reserve);
                        runtime.block_on(worker.handle(command));
                    }
                    Ok(Command::Replace { cancel, new, reserve, freed }) => {
                        worker.balances.hold(Entry {
                            client_id: new.client_id,
                            reserve,
                            not_before_ns: i64::MIN,
                            positions: 1,
                        });
                        runtime.block_on(worker.replace(cancel, new, freed));
                    }
                    Ok(Command::ReconcileBalances(reply)) => {
                        let orders = &worker.orders;
                        let view = |c: &C, id| Worker::<C>::order_view(orders, c, id);
                        let _ = reply.send(runtime.block_on(worker.balances.reconcile(&mut worker.client, view)));
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        runtime.block_on(worker.balances.read_pushed(&mut worker.client));
                        if worker.orders.values().any(|o| !o.done_sent) {
                            let symbol = worker.config.instrument.symbol.clone();
                            // A failed reconciliation is retried at the next tick.
                            if runtime.block_on(worker.client.reconcile(&symbol)).is_ok() {
                                runtime.block_on(worker.cancel_again());
                            }
                        }
                    }
                    Err(RecvTimeoutError::Disconnected) => return,
                }
                if !worker.halted && worker.guard.as_ref().is_some_and(|g| g.is_halted()) {
                    runtime.block_on(worker.halt());
                }
                if worker.sync().is_err() {
                    return; // the handle is gone
                }
                let orders = &worker.orders;
                runtime.block_on(
                    worker.balances.track(&mut worker.client, |c, id| Worker::<C>::order_view(orders, c, id)),
                );
            }
        })?;
        Ok(Self {
            venue,
            commands: Some(command_tx),
            events: Some(event_rx),
            held: None,
            live: HashMap::with_capacity(1024),
            in_flight,
            last_ns: i64::MIN,
            worker: Some(handle),
            balances,
            check_balances,
            buy_fee_ppm,
        })
    }
}

/// What the handle queues for the worker.
#[derive(Debug)]
enum Command {
    /// A command and what `submit` reserved for it ([`crate::reservations`]).
    Exec(ExecCommand, Reserve),
    /// [`Execution::replace`]: `reserve` what `submit` reserved for `new`, `freed` what it
    /// counted on `cancel` giving back.
    Replace { cancel: ClientOrderId, new: OrderRequest, reserve: Reserve, freed: Reserve },
    /// [`RoutedExecution::reconcile_balances`], answered on the channel.
    ReconcileBalances(SyncSender<Result<BalanceReconciliation, BalanceReconcileError>>),
}

impl RoutedExecution {
    fn send(&self, command: Command) -> Result<(), ExecError> {
        let full = ExecError::InFlightFull { venue: self.venue, capacity: self.in_flight };
        let sender = self.commands.as_ref().ok_or(full)?;
        sender.try_send(command).map_err(|(TrySendError::Full(_) | TrySendError::Disconnected(_))| full)
    }
}

impl RoutedExecution {
    /// The route's account balances as its worker last published them (exact; unknown while
    /// a resync is due: [`AccountBalances::resync_due`]); `None` where the venue client streams
    /// none.
    pub fn balances(&self) -> Option<AccountBalances> {
        self.balances.balances()
    }

    /// What the route's orders reserve now of the free balances, not yet in the venue's
    /// balances ([`crate::reservations`]): 0 once the venue's balances include every order.
    pub fn reserved(&self) -> Reserve {
        self.balances.reserved()
    }

    /// Compares the tracked balances with a fresh REST snapshot of the account and adopts it
    /// (the route's queued commands first); waits at most `timeout` for the answer.
    pub fn reconcile_balances(&self, timeout: Duration) -> Result<BalanceReconciliation, BalanceReconcileError> {
        let no_answer = BalanceReconcileError::NoAnswer { venue: self.venue };
        let (tx, rx) = mpsc::sync_channel(1);
        let sender = self.commands.as_ref().ok_or(no_answer.clone())?;
        sender.send(Command::ReconcileBalances(tx)).map_err(|_| no_answer.clone())?;
        rx.recv_timeout(timeout).map_err(|_| no_answer)?
    }
}

fn mm_side(side: wintermute_mm::types::Side) -> Side {
    match side {
        wintermute_mm::types::Side::Buy => Side::Buy,
        wintermute_mm::types::Side::Sell => Side::Sell,
    }
}

impl Execution for RoutedExecution {
    fn venue(&self) -> VenueId {
        self.venue
    }

    fn submit(&mut self, now_ns: i64, command: &ExecCommand) -> Result<(), ExecError> {
        if now_ns < self.last_ns {
            return Err(ExecError::TimeWentBack { venue: self.venue, now_ns, last_ns: self.last_ns });
        }
        let reserve = match *command {
            ExecCommand::New(OrderRequest { client_id, qty, side, price, .. }) => {
                if qty <= 0 {
                    return Err(ExecError::BadQty { client_id, qty });
                }
                if self.live.contains_key(&client_id) {
                    return Err(ExecError::DuplicateClientId { venue: self.venue, client_id });
                }
                // What the venue would refuse for funds is refused here, before it is sent.
                self.reserve(client_id, side, price, qty, Reserve::default())?
            }
            ExecCommand::Amend { client_id, new_qty } if new_qty <= 0 => {
                return Err(ExecError::BadQty { client_id, qty: new_qty });
            }
            ExecCommand::Amend { client_id, new_qty } => match self.live.get(&client_id).copied() {
                // An increase needs what it adds; the order's open quantity is given back.
                Some((side, price, open)) if new_qty > open => {
                    self.reserve(client_id, side, price, new_qty, self.need(side, price, open))?
                }
                _ => Reserve::default(),
            },
            ExecCommand::Cancel { .. } => Reserve::default(),
        };
        if let Err(e) = self.send(Command::Exec(*command, reserve)) {
            self.balances.unreserve(reserve);
            return Err(e);
        }
        self.last_ns = now_ns;
        match *command {
            ExecCommand::New(r) => {
                self.live.insert(r.client_id, (r.side, r.price, r.qty));
            }
            ExecCommand::Amend { client_id, new_qty } => {
                // Until its answer, the smaller of the two is what a replace could count on.
                if let Some(order) = self.live.get_mut(&client_id) {
                    order.2 = order.2.min(new_qty);
                }
            }
            // Being canceled: nothing more to give back to a replace or an amend.
            ExecCommand::Cancel { client_id } => {
                if let Some(order) = self.live.get_mut(&client_id) {
                    order.2 = 0;
                }
            }
        }
        Ok(())
    }

    /// One request where the venue has a cancel-replace (Binance `order/cancelReplace`,
    /// `STOP_ON_FAILURE`): `cancel` canceled and `new` placed under its own id; else a cancel,
    /// then a place. The events are a `Cancel`'s and a `New`'s. A cancel the venue refuses
    /// (the order already gone) is `Rejected` for `cancel` and `new` is then placed on its own,
    /// as it would have been after a separate cancel.
    fn replace(&mut self, now_ns: i64, cancel: ClientOrderId, new: &OrderRequest) -> Result<(), ExecError> {
        if now_ns < self.last_ns {
            return Err(ExecError::TimeWentBack { venue: self.venue, now_ns, last_ns: self.last_ns });
        }
        if new.qty <= 0 {
            return Err(ExecError::BadQty { client_id: new.client_id, qty: new.qty });
        }
        if self.live.contains_key(&new.client_id) {
            return Err(ExecError::DuplicateClientId { venue: self.venue, client_id: new.client_id });
        }
        // The new order net of what the one it replaces gives back (its open quantity, same side).
        let freed = match self.live.get(&cancel) {
            Some(&(side, price, open)) if side == new.side => self.need(side, price, open),
            _ => Reserve::default(),
        };
        let reserve = self.reserve(new.client_id, new.side, new.price, new.qty, freed)?;
        if let Err(e) = self.send(Command::Replace { cancel, new: *new, reserve, freed }) {
            self.balances.unreserve(reserve);
            return Err(e);
        }
        self.last_ns = now_ns;
        self.live.insert(new.client_id, (new.side, new.price, new.qty));
        if let Some(old) = self.live.get_mut(&cancel) {
            old.2 = 0; // given back once, to `new`
        }
        Ok(())
    }

    /// What the free balance covers, as the worker last published it, less what the route's
    /// orders reserve ([`crate::reservations`]); `None` while unknown.
    fn coverable_qty(&self, side: wintermute_mm::types::Side, price: i64) -> Option<i64> {
        Some(self.balances.available_units()?.coverable_paying(mm_side(side), price, self.buy_fee_ppm).max(0))
    }

    fn balances_view(&self) -> Option<RouteBalancesView> {
        self.balances.view()
    }

    fn poll(&mut self, now_ns: i64, out: &mut ExecEvents) {
        self.last_ns = self.last_ns.max(now_ns);
        loop {
            let next = match self.held.take() {
                Some(event) => event,
                None => match self.events.as_ref().map(Receiver::try_recv) {
                    Some(Ok(event)) => event,
                    _ => return,
                },
            };
            if let Err(event) = out.push(next) {
                self.held = Some(event);
                return;
            }
            match next {
                ExecEvent::Filled { client_id, open_qty: 0, .. }
                | ExecEvent::Canceled { client_id, .. }
                | ExecEvent::Rejected { client_id, .. } => {
                    self.live.remove(&client_id);
                }
                ExecEvent::Filled { client_id, open_qty, .. } | ExecEvent::Amended { client_id, open_qty, .. } => {
                    if let Some(order) = self.live.get_mut(&client_id) {
                        order.2 = open_qty;
                    }
                }
                _ => {}
            }
        }
    }
}

/// What the worker has told the market maker about one order.
#[derive(Debug)]
struct Forwarded {
    request: OrderRequest,
    /// The venue client id of the live generation, and the ones it replaced.
    venue_ids: Vec<String>,
    accepted_sent: bool,
    fills_sent: HashSet<u64>,
    /// Lots of the live generation's fills forwarded so far (its open quantity is the rest).
    current_filled_sent: i64,
    done_sent: bool,
    /// A cancel-replace whose answer was lost: which half happened is unknown until a
    /// reconciliation says, and nothing was reported for it yet (see `settle_replacements`).
    replace_unsettled: bool,
    /// A cancel (or a replace's cancel half) whose answer was lost: sent again if a
    /// reconciliation finds the order still open (the request never reached the venue).
    cancel_unsettled: bool,
}

/// How an amend went ([`Worker::amend`]).
enum Amended {
    /// Refused (by the venue or locally): nothing changed.
    Refused,
    /// Amended in place: the order keeps its id.
    InPlace,
    /// Replaced by a new generation (or its cancel-replace's answer was lost).
    Replaced,
}

struct Worker<C> {
    client: C,
    config: RoutedExecutionConfig,
    events: SyncSender<ExecEvent>,
    orders: HashMap<ClientOrderId, Forwarded>,
    guard: Option<Arc<GridGuard>>,
    /// Whether the worker halted on its guard (resting orders canceled once).
    halted: bool,
    /// The account's balances ([`crate::route_balances`]).
    balances: BalanceTracking,
}

fn wall_ns() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

fn reject_reason(code_or_text: &str) -> RejectReason {
    if code_or_text.contains("would immediately match")
        || code_or_text.contains("Post only order")
        || code_or_text.contains("POST_ONLY")
    {
        RejectReason::WouldCross
    } else if code_or_text.contains("Unknown order")
        || code_or_text.contains("does not exist")
        || code_or_text.contains("UNKNOWN_CANCEL_ORDER")
    {
        RejectReason::UnknownOrder
    } else if code_or_text.contains("Rate limit exceeded") || code_or_text.contains("RATE_LIMIT_EXCEEDED") {
        RejectReason::TooManyOrders
    } else {
        RejectReason::Risk
    }
}

impl<C: VenueClient> Worker<C> {
    fn emit(&self, event: ExecEvent) {
        // Blocks while the handle's queue is full; fails only when the handle is gone.
        let _ = self.events.send(event);
    }

    /// The guard tripped: every live order canceled (their `Canceled` events follow from the
    /// table); a cancel whose outcome is unknown is settled by the next reconciliation.
    async fn halt(&mut self) {
        self.halted = true;
        let symbol = self.config.instrument.symbol.clone();
        let live: Vec<(ClientOrderId, String)> = self
            .orders
            .iter()
            .filter(|(_, o)| !o.done_sent)
            .filter_map(|(&c, o)| o.venue_ids.last().map(|v| (c, v.clone())))
            .collect();
        for (client_id, venue_id) in live {
            if self.cancel(client_id, &symbol, &venue_id).await.is_none() {
                self.cancel_lost(client_id);
            }
        }
    }

    async fn handle(&mut self, command: ExecCommand) {
        let symbol = self.config.instrument.symbol.clone();
        if self.guard.as_ref().is_some_and(|g| g.is_halted()) {
            if !self.halted {
                self.halt().await;
            }
            if let ExecCommand::New(request) = command {
                // The venue's grid is not ours any more: nothing is sent.
                self.balances.release(request.client_id);
                return self.emit(ExecEvent::Rejected {
                    client_id: request.client_id,
                    reason: RejectReason::Risk,
                    ts_ns: wall_ns(),
                });
            }
        }
        match command {
            ExecCommand::New(request) => {
                let venue_id = self.client.client_order_id(request.client_id, 0);
                self.track(request, venue_id.clone());
                self.place(&request, venue_id, request.qty).await;
            }
            ExecCommand::Cancel { client_id } => {
                self.settle_before(client_id, &symbol).await;
                let Some(venue_id) = self.live_venue_id(client_id) else {
                    return self.emit(ExecEvent::Rejected {
                        client_id,
                        reason: RejectReason::UnknownOrder,
                        ts_ns: wall_ns(),
                    });
                };
                if self.cancel(client_id, &symbol, &venue_id).await.is_none() {
                    self.cancel_lost(client_id);
                }
            }
            ExecCommand::Amend { client_id, new_qty } => {
                if self.amend_overdraws(client_id, new_qty) {
                    self.balances.ledger.amend_answered(&*self.balances.shared, client_id, None);
                    return self.emit(ExecEvent::Rejected { client_id, reason: RejectReason::Risk, ts_ns: wall_ns() });
                }
                // In place, the order has no new report: a balance after the answer includes it;
                // a new generation's first report says when (see `crate::reservations`).
                let waits_for = match self.amend(client_id, new_qty, &symbol).await {
                    Amended::Refused => None,
                    Amended::InPlace => Some((wall_ns(), 1)),
                    Amended::Replaced => Some((i64::MIN, 1)),
                };
                self.balances.ledger.amend_answered(&*self.balances.shared, client_id, waits_for);
            }
        }
    }

    /// An amend (see the table in the module docs): how the venue took it (a lost answer: as
    /// if replaced), so that a reservation for it waits on the venue's balances.
    async fn amend(&mut self, client_id: ClientOrderId, new_qty: i64, symbol: &str) -> Amended {
        self.settle_before(client_id, symbol).await;
        let Some(venue_id) = self.live_venue_id(client_id) else {
            self.emit(ExecEvent::Rejected { client_id, reason: RejectReason::UnknownOrder, ts_ns: wall_ns() });
            return Amended::Refused;
        };
        // In place where the venue amends (the order keeps its id and its fills).
        let filled = self.client.orders().get(&venue_id).map_or(0, |o| o.filled_qty());
        match self.client.amend(symbol, &venue_id, filled + new_qty).await {
            Ok(true) => {
                self.emit(ExecEvent::Amended { client_id, open_qty: new_qty, ts_ns: wall_ns() });
                return Amended::InPlace;
            }
            Ok(false) => {} // no amend on this venue: cancel-replace
            Err(err) => {
                let reason = match C::error_kind(&err) {
                    ErrorKind::RateLimited => RejectReason::TooManyOrders,
                    _ => reject_reason(&err.to_string()),
                };
                self.emit(ExecEvent::Rejected { client_id, reason, ts_ns: wall_ns() });
                return Amended::Refused;
            }
        }
        let Some(order) = self.orders.get(&client_id) else { return Amended::Refused };
        let request = order.request;
        let replacement = self.client.client_order_id(client_id, order.venue_ids.len());
        let next = self.new_order(&request, replacement.clone(), new_qty);
        match self.client.cancel_replace(symbol, &venue_id, &next).await {
            Ok(None) => {
                // No cancel-replace on this venue: cancel, then place.
                if self.cancel(client_id, symbol, &venue_id).await != Some(true) {
                    return Amended::Refused;
                }
                self.replaced_by(client_id, replacement.clone());
                self.place(&request, replacement, new_qty).await;
            }
            Ok(Some(reports)) => {
                let refused = reports.iter().find_map(|r| match &r.kind {
                    ReportKind::CancelRejected { reason, .. } if r.client_order_id == venue_id => Some(reason),
                    _ => None,
                });
                if let Some(reason) = refused {
                    // The new order was not attempted; the order stays as it was.
                    let reason = reject_reason(reason);
                    self.emit(ExecEvent::Rejected { client_id, reason, ts_ns: wall_ns() });
                    return Amended::Refused;
                }
                self.replaced_by(client_id, replacement);
            }
            Err(err) => match C::error_kind(&err) {
                // Unknown outcome: nothing is reported until a reconciliation settles
                // both halves; then the venue's truth is (see `settle_replacements`).
                ErrorKind::Transport => {
                    self.replaced_by(client_id, replacement);
                    if let Some(order) = self.orders.get_mut(&client_id) {
                        order.replace_unsettled = true;
                    }
                    return Amended::Replaced;
                }
                kind => {
                    let reason = match kind {
                        ErrorKind::RateLimited => RejectReason::TooManyOrders,
                        _ => reject_reason(&err.to_string()),
                    };
                    self.emit(ExecEvent::Rejected { client_id, reason, ts_ns: wall_ns() });
                    return Amended::Refused;
                }
            },
        }
        self.emit(ExecEvent::Amended { client_id, open_qty: new_qty, ts_ns: wall_ns() });
        Amended::Replaced
    }

    /// Before a cancel or amend of an order whose last cancel-replace is unsettled: a
    /// reconciliation, so the command goes to the generation the venue holds.
    async fn settle_before(&mut self, client_id: ClientOrderId, symbol: &str) {
        if self.orders.get(&client_id).is_some_and(|o| o.replace_unsettled && !o.done_sent) {
            // A failed reconciliation leaves the order unsettled; the command goes to the
            // replacement, and the next reconciliation settles both.
            let _ = self.client.reconcile(symbol).await;
            self.settle_replacements();
        }
    }

    /// A replacement that never reached the venue (its cancel-replace's answer was lost, and
    /// reconciliation found no such order): the order it was to replace is the live generation
    /// again, whether it is still live (then its real open quantity is reported, an `Amended`
    /// from `sync`) or gone too (then its end is: a cancel, or its fills).
    fn settle_replacements(&mut self) {
        let table = self.client.orders();
        for order in self.orders.values_mut().filter(|o| !o.done_sent && o.venue_ids.len() > 1) {
            let n = order.venue_ids.len();
            let (Some(prev), Some(cur)) = (table.get(&order.venue_ids[n - 2]), table.get(&order.venue_ids[n - 1]))
            else {
                continue;
            };
            let prev_back = !prev.status().is_terminal() || order.replace_unsettled;
            if cur.status() == OrderStatus::Rejected && prev_back {
                order.venue_ids.pop();
                let sent = &order.fills_sent;
                order.current_filled_sent = prev.fills().filter(|f| sent.contains(&f.trade_id)).map(|f| f.qty).sum();
            }
        }
    }

    /// [`Execution::replace`]: one cancel-replace request where the venue has one.
    async fn replace(&mut self, cancel: ClientOrderId, new: OrderRequest, freed: Reserve) {
        let symbol = self.config.instrument.symbol.clone();
        let halted = self.guard.as_ref().is_some_and(|g| g.is_halted());
        self.settle_before(cancel, &symbol).await;
        let old = self.live_venue_id(cancel);
        // What the new order counted on the old one giving back, should it give nothing back.
        let unfreed = Entry { client_id: new.client_id, reserve: freed, not_before_ns: i64::MIN, positions: 1 };
        let Some(old) = old.filter(|_| !halted) else {
            // Halted, or nothing to cancel: what a cancel and a new order would do.
            self.balances.reserve(unfreed);
            self.handle(ExecCommand::Cancel { client_id: cancel }).await;
            if !halted && self.overdrawn(new.side) {
                return self.refuse(new.client_id, RejectReason::Risk);
            }
            return self.handle(ExecCommand::New(new)).await;
        };
        let venue_id = self.client.client_order_id(new.client_id, 0);
        self.track(new, venue_id.clone());
        let next = self.new_order(&new, venue_id, new.qty);
        match self.client.cancel_replace(&symbol, &old, &next).await {
            Ok(None) => {
                // No cancel-replace on this venue: cancel, then place.
                let canceled = self.cancel(cancel, &symbol, &old).await;
                if canceled.is_none() {
                    self.cancel_lost(cancel);
                }
                if canceled != Some(true) {
                    self.balances.reserve(unfreed);
                    if self.overdrawn(new.side) {
                        return self.refuse(new.client_id, RejectReason::Risk);
                    }
                }
                self.place(&new, next.client_order_id, new.qty).await;
            }
            Ok(Some(reports)) => {
                let refused = reports.iter().find_map(|r| match &r.kind {
                    ReportKind::CancelRejected { reason, .. } if r.client_order_id == old => Some(reason.clone()),
                    _ => None,
                });
                if let Some(reason) = refused {
                    // The new order was not attempted: it is placed on its own (under the id
                    // of its next generation, the first one being refused at the venue).
                    self.balances.reserve(unfreed);
                    self.emit(ExecEvent::Rejected {
                        client_id: cancel,
                        reason: reject_reason(&reason),
                        ts_ns: wall_ns(),
                    });
                    if self.overdrawn(new.side) {
                        // What the old order was to give back is gone (it filled): the new one
                        // would take funds other orders counted on.
                        return self.refuse(new.client_id, RejectReason::Risk);
                    }
                    let retry = self.client.client_order_id(new.client_id, 1);
                    if let Some(order) = self.orders.get_mut(&new.client_id) {
                        order.venue_ids = vec![retry.clone()];
                    }
                    self.place(&new, retry, new.qty).await;
                }
            }
            Err(err) => match C::error_kind(&err) {
                // Unknown outcome: a reconciliation settles both orders (each from the table),
                // and the cancel is sent again if the old order is still open.
                ErrorKind::Transport => self.cancel_lost(cancel),
                kind => {
                    let reason = match kind {
                        ErrorKind::RateLimited => RejectReason::TooManyOrders,
                        _ => reject_reason(&err.to_string()),
                    };
                    // Neither half was sent (refused locally).
                    self.emit(ExecEvent::Rejected { client_id: cancel, reason, ts_ns: wall_ns() });
                    self.refuse(new.client_id, reason);
                }
            },
        }
    }

    /// Starts forwarding the order `request` (its first venue id `venue_id`).
    fn track(&mut self, request: OrderRequest, venue_id: String) {
        self.orders.insert(
            request.client_id,
            Forwarded {
                request,
                venue_ids: vec![venue_id],
                accepted_sent: false,
                fills_sent: HashSet::new(),
                current_filled_sent: 0,
                done_sent: false,
                replace_unsettled: false,
                cancel_unsettled: false,
            },
        );
    }

    fn live_venue_id(&self, client_id: ClientOrderId) -> Option<String> {
        let order = self.orders.get(&client_id).filter(|o| !o.done_sent)?;
        order.venue_ids.last().cloned()
    }

    /// The order's live generation is now `replacement` (its fills so far are the old ones').
    fn replaced_by(&mut self, client_id: ClientOrderId, replacement: String) {
        if let Some(order) = self.orders.get_mut(&client_id) {
            order.venue_ids.push(replacement);
            order.current_filled_sent = 0;
        }
    }

    fn new_order(&self, request: &OrderRequest, venue_id: String, qty: i64) -> NewOrder {
        let order_type = match request.tif {
            OrderTif::Gtc => OrderType::Limit { price: request.price, tif: TimeInForce::Gtc },
            OrderTif::Ioc => OrderType::Limit { price: request.price, tif: TimeInForce::Ioc },
            OrderTif::PostOnly => OrderType::PostOnly { price: request.price },
        };
        let side = match request.side {
            wintermute_mm::types::Side::Buy => Side::Buy,
            wintermute_mm::types::Side::Sell => Side::Sell,
        };
        NewOrder { symbol: self.config.instrument.symbol.clone(), client_order_id: venue_id, side, qty, order_type }
    }

    async fn place(&mut self, request: &OrderRequest, venue_id: String, qty: i64) {
        let order = self.new_order(request, venue_id, qty);
        match self.client.place(&order).await {
            Ok(_) => {}
            Err(err) => match C::error_kind(&err) {
                ErrorKind::Transport => {} // the table knows; reconcile settles a lost answer
                ErrorKind::RateLimited => self.refuse(request.client_id, RejectReason::TooManyOrders),
                ErrorKind::Other => self.refuse(request.client_id, RejectReason::Risk),
            },
        }
    }

    fn refuse(&mut self, client_id: ClientOrderId, reason: RejectReason) {
        if let Some(order) = self.orders.get_mut(&client_id) {
            order.done_sent = true;
        }
        self.balances.release(client_id);
        self.emit(ExecEvent::Rejected { client_id, reason, ts_ns: wall_ns() });
    }

    /// A cancel of `client_id` whose answer was lost ([`Self::cancel_again`]).
    fn cancel_lost(&mut self, client_id: ClientOrderId) {
        if let Some(order) = self.orders.get_mut(&client_id) {
            order.cancel_unsettled = true;
        }
    }

    /// After a reconciliation: each order whose cancel's answer was lost and that the venue
    /// still holds open (the cancel never reached it) is canceled again.
    async fn cancel_again(&mut self) {
        let symbol = self.config.instrument.symbol.clone();
        let lost: Vec<(ClientOrderId, String)> = self
            .orders
            .iter_mut()
            .filter(|(_, o)| o.cancel_unsettled && !o.done_sent)
            .filter_map(|(&c, o)| {
                o.cancel_unsettled = false;
                o.venue_ids.last().map(|v| (c, v.clone()))
            })
            .collect();
        for (client_id, venue_id) in lost {
            let open = self.client.orders().get(&venue_id).is_some_and(|o| !o.status().is_terminal());
            if open && self.cancel(client_id, &symbol, &venue_id).await.is_none() {
                self.cancel_lost(client_id);
            }
        }
    }

    /// Cancels one venue order: whether the venue canceled it, `None` when the answer was lost
    /// (reconciliation reports the outcome).
    async fn cancel(&mut self, client_id: ClientOrderId, symbol: &str, venue_id: &str) -> Option<bool> {
        match self.client.cancel(symbol, venue_id).await {
            Ok(reports) => {
                if let Some(ReportKind::CancelRejected { reason, .. }) =
                    reports.iter().map(|r| &r.kind).find(|k| matches!(k, ReportKind::CancelRejected { .. }))
                {
                    let reason = reject_reason(reason);
                    self.emit(ExecEvent::Rejected { client_id, reason, ts_ns: wall_ns() });
                    return Some(false);
                }
                Some(reports.iter().any(|r| r.kind == ReportKind::Canceled))
            }
            Err(err) if C::error_kind(&err) == ErrorKind::RateLimited => {
                self.emit(ExecEvent::Rejected { client_id, reason: RejectReason::TooManyOrders, ts_ns: wall_ns() });
                Some(false)
            }
            Err(_) => None, // unknown outcome: reconciliation reports it
        }
    }

    /// Forwards what changed in the client's table since the last sync.
    fn sync(&mut self) -> Result<(), ()> {
        let mut out = Vec::new();
        self.settle_replacements();
        let table = self.client.orders();
        for (&client_id, order) in self.orders.iter_mut().filter(|(_, o)| !o.done_sent) {
            let Some(current) = order.venue_ids.last().and_then(|id| table.get(id)) else { continue };
            let status = current.status();
            if !order.accepted_sent && !matches!(status, OrderStatus::PendingNew | OrderStatus::Rejected) {
                order.accepted_sent = true;
                out.push(ExecEvent::Accepted { client_id, ts_ns: wall_ns() });
            }
            let generations = order.venue_ids.len();
            for (n, venue_id) in order.venue_ids.iter().enumerate() {
                let Some(generation) = table.get(venue_id) else { continue };
                for fill in generation.fills() {
                    if order.fills_sent.insert(fill.trade_id) {
                        if n + 1 == generations {
                            order.current_filled_sent += fill.qty;
                        }
                        let fee = fee_money(&self.config, &fill.fee, &fill.fee_currency, fill.price);
                        out.push(ExecEvent::Filled {
                            client_id,
                            fill: Fill {
                                ts_ns: wall_ns(),
                                venue: self.config.venue,
                                order_id: client_id,
                                side: order.request.side,
                                price: fill.price,
                                qty: fill.qty,
                                liquidity: if fill.is_maker { Liquidity::Maker } else { Liquidity::Taker },
                                fee,
                            },
                            open_qty: current.qty - order.current_filled_sent,
                        });
                    }
                }
            }
            if order.replace_unsettled && !matches!(status, OrderStatus::PendingNew) && current.missing_qty() == 0 {
                // The lost cancel-replace is settled: the quantity the venue holds open, from
                // the replacement or from the order it did not replace (a generation that ended
                // reports its end below instead).
                order.replace_unsettled = false;
                if !status.is_terminal() {
                    let open_qty = current.qty - order.current_filled_sent;
                    out.push(ExecEvent::Amended { client_id, open_qty, ts_ns: wall_ns() });
                }
            }
            if status.is_terminal() && current.missing_qty() == 0 {
                order.done_sent = true;
                match status {
                    OrderStatus::Rejected => out.push(ExecEvent::Rejected {
                        client_id,
                        reason: reject_reason(current.reject_reason().unwrap_or("")),
                        ts_ns: wall_ns(),
                    }),
                    OrderStatus::Canceled | OrderStatus::Expired => out.push(ExecEvent::Canceled {
                        client_id,
                        canceled_qty: current.qty - current.filled_qty(),
                        ts_ns: wall_ns(),
                    }),
                    _ => {}
                }
            }
        }
        for event in out {
            self.events.send(event).map_err(|_| ())?;
        }
        Ok(())
    }
}

/// A venue fee in money units of the instrument (millionths of one tick·lot), rounded to the
/// nearest unit; 0 for a fee in neither the base nor the quote asset.
fn fee_money(config: &RoutedExecutionConfig, fee: &Decimal, currency: &str, price: i64) -> Money {
    let tick = config.instrument.tick_size.decimal();
    let lot = config.instrument.step_size.decimal();
    let (base, quote) = (&config.assets.0, &config.assets.1);
    // fee_quote = fee (quote) or fee * price (base); money = fee_quote / (tick * lot) * SCALE.
    let (mut num, mut den_scale) = (fee.mantissa(), fee.scale());
    if currency == base {
        let p = config.instrument.tick_size.value(price);
        num = num.saturating_mul(p.mantissa());
        den_scale += p.scale();
    } else if currency != quote {
        return 0;
    }
    // num / 10^den_scale / (tick.m * lot.m / 10^(tick.s + lot.s)) * SCALE
    let num = num.saturating_mul(MONEY_SCALE).saturating_mul(10i128.saturating_pow(tick.scale() + lot.scale()));
    let den = (tick.mantissa() * lot.mantissa()).saturating_mul(10i128.saturating_pow(den_scale));
    if den == 0 {
        return 0;
    }
    let (q, r) = (num / den, num % den);
    if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RoutedExecutionConfig {
        RoutedExecutionConfig {
            venue: VenueId::External(1),
            instrument: Instrument::new("BTCUSDT", "0.01", "0.000001").unwrap(),
            assets: ("BTC".into(), "USDT".into()),
            reconcile_every: Duration::from_millis(10),
            in_flight: 8,
            check_balances: true,
        }
    }

    #[test]
    fn fees_in_quote_and_base_become_exact_money_and_a_third_asset_is_zero() {
        let c = config();
        // One tick·lot is 0.01 * 0.000001 = 1e-8 USDT; 0.058 USDT is 5.8e6 tick·lots.
        assert_eq!(fee_money(&c, &Decimal::parse("0.058").unwrap(), "USDT", 5_800_000), 5_800_000 * MONEY_SCALE);
        // 0.000001 BTC at 58000.00 is 0.058 USDT.
        assert_eq!(fee_money(&c, &Decimal::parse("0.000001").unwrap(), "BTC", 5_800_000), 5_800_000 * MONEY_SCALE);
        assert_eq!(fee_money(&c, &Decimal::parse("0.1").unwrap(), "BNB", 5_800_000), 0);
    }
}

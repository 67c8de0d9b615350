//! Order entry into the service venue from Rust: what `Venue.place` and `Venue.cancel`
//! (`wintermute.service.venue`) do, for a listener that serves them without Python (the
//! `wintermute-front` crate's HTTP listener).
//!
//! A [`VenueEntry`] shares the venue's order table, ledger and book mirrors (the same
//! `Arc<Mutex<..>>`s the Python venue reads through its bindings) and owns a gateway of the
//! venue's pipeline of its own. It checks a request against the instrument's grid
//! ([`EntryInstrument`], the venue's one set of order input checks: [`crate::venue_input`]),
//! registers the order with its hold ([`place_with_hold`]), registers the command with the
//! table ([`VenueOrders::expect_answer`]) and submits it. The venue's drain thread applies the
//! engine's outputs to the table as always; the answer of one of this gateway's commands goes
//! to the [`AnswerWaiter`] given here instead of back to Python.
//!
//! # Locking order
//!
//! gateway slot → order table → ledger; the book mirrors are locked alone. The drain thread
//! takes the table, then the ledger (never the gateway slot); the Python venue's own calls
//! take the table and the ledger in that order too. Nothing here holds a lock while a caller
//! awaits: each call returns before the engine answers.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use wintermute_core::{records, Command};

use crate::journal::ClientOrderId;
use crate::pipeline::SharedGateway;
use crate::venue_books::VenueBooks;
use crate::venue_input::EntryInstrument;
use crate::venue_ledger::{place_with_hold, VenueLedger};
use crate::venue_orders::{
    hold_units, AnswerWaiter, CommandKind, NewOrder, Order, OrderTableError, OrderType, Status, Tif, VenueOrders, BUY,
    SELL,
};

fn error(code: &'static str, message: impl Into<String>) -> OrderTableError {
    OrderTableError { code, message: message.into() }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A new order as a request carries it (side, type and time in force already read).
#[derive(Debug, Clone, Copy)]
pub struct PlaceRequest<'a> {
    /// The instrument's symbol.
    pub symbol: &'a str,
    /// [`BUY`] or [`SELL`].
    pub side: u8,
    /// Limit or market.
    pub order_type: OrderType,
    /// Quantity text.
    pub qty: &'a str,
    /// Price text (limit orders only).
    pub price: Option<&'a str>,
    /// Time in force.
    pub tif: Tif,
    /// The client's id (already checked: 1 to 36 of letters, digits and `._:/-`).
    pub client_order_id: Option<&'a str>,
}

/// What a place did.
#[derive(Debug)]
pub enum Placed {
    /// Sent: the answer goes to the waiter.
    Sent,
    /// The client order id names an order the engine answered already: its state (nothing
    /// was sent, the waiter is dropped).
    Repeat(Box<Order>),
    /// The client order id names an order still waiting for the engine: ask again shortly.
    InFlight,
}

/// What a cancel did.
#[derive(Debug)]
pub enum Canceling {
    /// Sent: the answer goes to the waiter.
    Sent,
    /// The order had ended canceled or expired already: its state (a retried cancel).
    Done(Box<Order>),
}

/// Order entry into the venue through a gateway of its own (see the module docs).
#[derive(Debug, Clone)]
pub struct VenueEntry {
    orders: Arc<Mutex<VenueOrders>>,
    ledger: Arc<Mutex<VenueLedger>>,
    books: Arc<Mutex<VenueBooks>>,
    gateway: SharedGateway,
    instruments: Arc<Vec<EntryInstrument>>,
}

impl VenueEntry {
    /// Entry into the venue whose table, ledger and book mirrors these are, through
    /// `gateway` (not the venue's own, nor anyone else's); `instruments` in the engine's id
    /// order.
    pub fn new(
        orders: Arc<Mutex<VenueOrders>>,
        ledger: Arc<Mutex<VenueLedger>>,
        books: Arc<Mutex<VenueBooks>>,
        gateway: SharedGateway,
        instruments: Vec<EntryInstrument>,
    ) -> Self {
        Self { orders, ledger, books, gateway, instruments: Arc::new(instruments) }
    }

    /// The instruments, by id.
    pub fn instruments(&self) -> &[EntryInstrument] {
        &self.instruments
    }

    /// The exact lots resting ahead of an order at its price (None unless it rests).
    pub fn queue_ahead(&self, instrument: u32, order_id: u64) -> Option<i64> {
        lock(&self.books).book(instrument as usize).and_then(|b| b.queue_ahead(order_id))
    }

    fn instrument(&self, symbol: &str) -> Result<(u32, &EntryInstrument), OrderTableError> {
        match self.instruments.iter().position(|i| i.symbol == symbol) {
            Some(id) => Ok((id as u32, &self.instruments[id])),
            None => {
                let shown: String = symbol.chars().take(40).collect();
                Err(error("UNKNOWN_SYMBOL", format!("unknown symbol='{shown}'")))
            }
        }
    }

    /// What a market buy holds: what the asks visible now would cost.
    fn market_buy_hold(&self, instrument: u32, lots: i64) -> i128 {
        let books = lock(&self.books);
        let Some(book) = books.book(instrument as usize) else { return 0 };
        let (mut left, mut cost) = (lots, 0i128);
        for (price, qty) in book.depth(SELL, usize::MAX) {
            let take = left.min(qty);
            cost += i128::from(take) * i128::from(price);
            left -= take;
            if left == 0 {
                break;
            }
        }
        cost
    }

    /// Places `account`'s order (`Venue.place`): checked, registered with its hold, sent;
    /// `waiter` takes the engine's answer. Bad input, a balance too small or a gateway that
    /// refuses the command are errors, and leave the table and the ledger as they were.
    pub fn place(
        &self,
        account: u32,
        req: &PlaceRequest<'_>,
        now_ns: u64,
        waiter: AnswerWaiter,
    ) -> Result<Placed, OrderTableError> {
        let (inst_id, inst) = self.instrument(req.symbol)?;
        let lots = inst.lots_of(req.qty)?;
        let mut tif = req.tif;
        let ticks = match (req.order_type, req.price) {
            (OrderType::Limit, Some(p)) => Some(inst.ticks_of(p)?),
            (OrderType::Limit, None) => return Err(error("INVALID_PRICE", "a limit order needs a price")),
            (OrderType::Market, Some(_)) => return Err(error("INVALID_PRICE", "a market order takes no price")),
            (OrderType::Market, None) => {
                if tif == Tif::PostOnly {
                    return Err(error("INVALID_ORDER", "a market order cannot be post_only"));
                }
                if tif == Tif::Gtc {
                    tif = Tif::Ioc;
                }
                None
            }
        };
        if let Some(cid) = req.client_order_id {
            if let Some(o) = lock(&self.orders).by_client(account, cid) {
                return Ok(if o.status == Status::Pending {
                    Placed::InFlight
                } else {
                    Placed::Repeat(Box::new(o.clone()))
                });
            }
        }
        let held = match ticks {
            Some(t) => hold_units(req.side, lots, t),
            None if req.side == BUY => self.market_buy_hold(inst_id, lots),
            None => hold_units(req.side, lots, 0),
        };
        let o = NewOrder {
            account,
            client_order_id: req.client_order_id,
            instrument: inst_id,
            side: req.side,
            order_type: req.order_type,
            tif,
            price: ticks,
            qty: lots,
            held,
            now_ns,
        };
        let (order_id, tag) = {
            let mut table = lock(&self.orders);
            let mut ledger = lock(&self.ledger);
            let id = place_with_hold(&mut table, &mut ledger, &o)?;
            let cid = table.order(id).map_or("", |o| o.client_order_id.as_str());
            (id, ClientOrderId::new(cid).map_err(|e| e.to_string()))
        };
        let tif_code = match tif {
            Tif::Gtc | Tif::PostOnly => 0,
            Tif::Ioc => 1,
            Tif::Fok => 2,
        };
        let market = u8::from(req.order_type == OrderType::Market);
        let sent = records::new_order(
            order_id,
            account,
            req.side,
            market,
            tif_code,
            0,
            tif == Tif::PostOnly,
            ticks.unwrap_or(0),
            lots,
            0,
        )
        .map_err(|e| e.to_string())
        .and_then(|order| {
            let tag = tag?;
            self.send(CommandKind::Place, Some(order_id), waiter, |g| {
                g.submit_tagged(inst_id, Command::New(order), tag)
            })
        });
        if let Err(why) = sent {
            let mut effects = Vec::new();
            lock(&self.orders).give_up(order_id, "UNAVAILABLE", now_ns, &mut effects);
            lock(&self.ledger).carry_out(&mut effects);
            return Err(error("UNAVAILABLE", format!("the engine refused the command: {why}")));
        }
        Ok(Placed::Sent)
    }

    /// Cancels one of `account`'s open orders (`Venue.cancel` as the REST route calls it): an
    /// order that ended canceled or expired answers its state again; any other order the
    /// account has no open one of is `UNKNOWN_ORDER`.
    pub fn cancel(&self, account: u32, order_id: u64, waiter: AnswerWaiter) -> Result<Canceling, OrderTableError> {
        let inst_id = {
            let table = lock(&self.orders);
            match table.find(account, Some(order_id), None, true) {
                Ok(o) => o.instrument,
                Err(e) => return self.ended(&table, account, order_id).map(Canceling::Done).ok_or(e),
            }
        };
        let sent =
            self.send(CommandKind::Cancel, Some(order_id), waiter, |g| g.submit(inst_id, Command::Cancel { order_id }));
        sent.map(|()| Canceling::Sent)
            .map_err(|why| error("UNAVAILABLE", format!("the engine refused the command: {why}")))
    }

    /// The state of `account`'s order if it ended canceled or expired (a cancel that came
    /// after the end answers it).
    pub fn ended_order(&self, account: u32, order_id: u64) -> Option<Box<Order>> {
        self.ended(&lock(&self.orders), account, order_id)
    }

    fn ended(&self, table: &VenueOrders, account: u32, order_id: u64) -> Option<Box<Order>> {
        let o = table.find(account, Some(order_id), None, false).ok()?;
        matches!(o.status, Status::Canceled | Status::Expired).then(|| Box::new(o.clone()))
    }

    /// Registers the command the gateway will number next, then submits it (under the
    /// gateway slot's lock, so that the number is the one registered).
    fn send<E: std::fmt::Display>(
        &self,
        kind: CommandKind,
        order_id: Option<u64>,
        waiter: AnswerWaiter,
        submit: impl FnOnce(&mut crate::pipeline::Gateway) -> Result<crate::pipeline::CommandId, E>,
    ) -> Result<(), String> {
        let gateway = self.gateway.id();
        let done = self.gateway.with(|g| {
            let seq = g.stats().submitted + 1;
            lock(&self.orders).expect_answer(gateway, seq, kind, order_id, waiter).map_err(|e| e.message)?;
            match submit(g) {
                Ok(id) => {
                    debug_assert_eq!(id.seq, seq, "gateway numbering");
                    Ok(())
                }
                Err(e) => {
                    lock(&self.orders).forget_on(gateway, seq);
                    Err(e.to_string())
                }
            }
        });
        done.map_err(|e| e.to_string())?
    }
}

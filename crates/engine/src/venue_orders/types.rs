//! The order table's types: an order and its state, a command's answer and trace, and the
//! effects a batch leaves to the venue's Python side.

use serde::{Deserialize, Serialize};

/// An order's state (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Sent; the engine has not answered yet.
    Pending,
    /// Resting, nothing filled.
    New,
    /// Resting, part filled.
    PartiallyFilled,
    /// Final: all filled.
    Filled,
    /// Final: canceled.
    Canceled,
    /// Final: an IOC, FOK or market order's remainder left without trading.
    Expired,
    /// Final: refused by the book, pre-trade risk or the gateway.
    Rejected,
}

impl Status {
    /// The name the APIs show (`pending` shows as `new`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pending | Self::New => "new",
            Self::PartiallyFilled => "partially_filled",
            Self::Filled => "filled",
            Self::Canceled => "canceled",
            Self::Expired => "expired",
            Self::Rejected => "rejected",
        }
    }

    /// `new` or `partially_filled`.
    pub const fn is_open(self) -> bool {
        matches!(self, Self::New | Self::PartiallyFilled)
    }
}

/// Limit or market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderType {
    /// A limit order.
    Limit,
    /// A market order (no price).
    Market,
}

impl OrderType {
    /// `limit` / `market`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Limit => "limit",
            Self::Market => "market",
        }
    }

    /// The type of a name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "limit" => Some(Self::Limit),
            "market" => Some(Self::Market),
            _ => None,
        }
    }
}

/// Time in force, as the venue offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tif {
    /// Good till canceled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// GTC that the book refuses if it would trade at once.
    PostOnly,
}

impl Tif {
    /// `gtc` / `ioc` / `fok` / `post_only`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Gtc => "gtc",
            Self::Ioc => "ioc",
            Self::Fok => "fok",
            Self::PostOnly => "post_only",
        }
    }

    /// The time in force of a name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "gtc" => Some(Self::Gtc),
            "ioc" => Some(Self::Ioc),
            "fok" => Some(Self::Fok),
            "post_only" => Some(Self::PostOnly),
            _ => None,
        }
    }
}

/// One of the venue's orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The venue's order id (the engine's).
    pub order_id: u64,
    /// The client's id, or `wm-<order id>` when the client gave none.
    pub client_order_id: String,
    /// The account.
    pub account: u32,
    /// The instrument's id.
    pub instrument: u32,
    /// [`super::BUY`] or [`super::SELL`].
    pub side: u8,
    /// Limit or market.
    pub order_type: OrderType,
    /// Time in force.
    pub tif: Tif,
    /// Limit price in ticks (None: market).
    pub price: Option<i64>,
    /// Total quantity in lots.
    pub qty: i64,
    /// Lots filled.
    pub filled: i64,
    /// Quote spent or received, in ticks x lots.
    pub cum_quote: i128,
    /// State.
    pub status: Status,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// When the venue took it.
    pub created_ns: u64,
    /// When it last changed (0: never).
    pub updated_ns: u64,
    /// What it holds of its account's balance (lots for a sell, ticks x lots for a buy).
    pub held: i128,
    /// Its place among its account's open orders (when it opened).
    pub(super) opened: u64,
}

/// What a command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    /// A new order.
    Place,
    /// A cancel.
    Cancel,
    /// An amend.
    Amend,
    /// A mass cancel of an account's orders in one instrument.
    Mass,
}

/// Why a command failed: a venue error code, a message and the engine's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    /// `BOOK_REJECTED`, `RISK_REJECTED`, `KILL_SWITCH`, `UNAVAILABLE`, `UNKNOWN_ORDER`.
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// The engine's reason code (`POST_ONLY_WOULD_CROSS`, `MAX_ORDER_QTY`, ...), if any.
    pub reason: Option<String>,
}

/// What a traced command's outputs said (its span's events and attributes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// Event kinds of its outputs (book deltas aside), in order.
    pub events: Vec<u8>,
    /// The last output's outcome code.
    pub outcome: u8,
    /// The command's number on its gateway.
    pub command_seq: u64,
    /// Its journal sequence number.
    pub journal_seq: u64,
    /// Its ingress time (pipeline clock).
    pub ingress_ns: u64,
    /// Ingress to publication.
    pub latency_ns: u64,
    /// Book deltas it made (dropped by the book mirrors).
    pub book_deltas: u64,
}

/// A finished command's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The order's state (place, cancel, amend).
    Order(Box<Order>),
    /// The canceled orders' states (mass cancel).
    Canceled(Vec<Order>),
    /// It failed.
    Failed {
        /// The error.
        error: CommandError,
        /// The order it concerned (a place's order is rejected by then).
        order: Option<Box<Order>>,
        /// False for a cancel that came too late (the order had ended meanwhile): not the
        /// engine's rejection.
        counted: bool,
    },
}

/// A command waiting for the engine's verdict.
#[derive(Debug)]
pub(super) struct Pending {
    pub(super) kind: CommandKind,
    pub(super) order_id: Option<u64>,
    pub(super) error: Option<CommandError>,
    pub(super) canceled: Vec<u64>,
    pub(super) trace: Option<Trace>,
    /// Who takes the answer, for a command of another gateway than the venue's.
    pub(super) waiter: Option<AnswerWaiter>,
    /// An amend by total's change to the venue's view ([`super::VenueOrders::expect_amend`]).
    pub(super) amend: Option<AmendStep>,
}

impl Pending {
    /// The book applied the command to `order_id` (amended it, or canceled it for fills
    /// that reached an amend's total).
    pub(super) fn applied_to(&mut self, order_id: u64) {
        if self.order_id == Some(order_id) {
            if let Some(a) = self.amend.as_mut() {
                a.applied = true;
            }
        }
    }
}

/// What an amend by total in flight changed in the venue's view of its order.
#[derive(Debug, Clone, Copy)]
pub(super) struct AmendStep {
    /// The open lots it asked for less the open lots it saw.
    pub(super) step: i64,
    /// Whether the book applied it (an `amended` event, or the order canceled for fills that
    /// reached its total).
    pub(super) applied: bool,
}

/// An order's by-total amends in flight.
#[derive(Debug, Clone, Copy)]
pub(super) struct Amending {
    /// How many wait for the engine.
    pub(super) in_flight: u32,
    /// The open lots they will leave as the venue sees it: the last one's open lots, less
    /// the fills seen since it was sent (less the changes of those the engine refused).
    pub(super) left: i64,
}

/// The quantities of an amend by total ([`super::VenueOrders::expect_amend`]), in lots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmendLots {
    /// The open lots asked for: the new total less the fills seen.
    pub qty: i64,
    /// The open lots the venue sees: its `seen_remaining`.
    pub seen_remaining: i64,
}

/// Takes the answer of a command of another gateway ([`super::VenueOrders::expect_answer`]):
/// called once, from the drain's [`super::VenueOrders::apply`] under the table's lock, so it
/// must hand the answer over and return (a channel's send), never block.
pub struct AnswerWaiter(Box<dyn FnOnce(Answer) + Send>);

impl AnswerWaiter {
    /// A waiter that calls `f` with the answer.
    pub fn new(f: impl FnOnce(Answer) + Send + 'static) -> Self {
        Self(Box::new(f))
    }

    /// Hands `answer` over.
    pub fn send(self, answer: Answer) {
        (self.0)(answer);
    }
}

impl std::fmt::Debug for AnswerWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnswerWaiter")
    }
}

/// What the Python side does after a batch, in the engine's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A public trade: `(instrument, price, lots, aggressor side)`.
    Trade { instrument: u32, price: i64, qty: i64, side: u8 },
    /// One of the venue's orders traded in the trade before it.
    Fill {
        /// The order (after the fill).
        order_id: u64,
        /// Its client order id.
        client_order_id: String,
        /// Its account.
        account: u32,
        /// Its instrument.
        instrument: u32,
        /// Its side.
        side: u8,
        /// Lots filled.
        qty: i64,
        /// Trade price in ticks.
        price: i64,
        /// Maker (true) or taker.
        maker: bool,
        /// The part of the order's hold the fill uses (units as [`Order::held`]).
        from_hold: i128,
        /// The fee in the quote asset, `fee x 10^-fee_scale` (0 until the ledger charged it:
        /// [`crate::venue_ledger::VenueLedger::carry_out`]).
        fee: i128,
        /// Digits after the point of `fee`.
        fee_scale: u32,
    },
    /// Give back `units` of a hold (negative: hold more), units as [`Order::held`].
    Unlock { account: u32, instrument: u32, side: u8, units: i128 },
    /// An order's state at the end of a command (only for watched accounts).
    State(Box<Order>),
    /// A command of the venue finished: the gateway's command number, its answer and its
    /// trace (if traced).
    Answer { command_seq: u64, answer: Answer, trace: Option<Trace> },
}

/// Bad input to the table: a venue error code and a message; the table is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OrderTableError {
    /// `DUPLICATE_CLIENT_ORDER_ID`, `UNKNOWN_ORDER`, `INVALID_ORDER`, `DUPLICATE_COMMAND`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

pub(super) fn table_error(code: &'static str, message: impl Into<String>) -> OrderTableError {
    OrderTableError { code, message: message.into() }
}

/// A new order for [`super::VenueOrders::place`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder<'a> {
    /// The account.
    pub account: u32,
    /// The client's id (None: the venue names it `wm-<order id>`).
    pub client_order_id: Option<&'a str>,
    /// The instrument's id.
    pub instrument: u32,
    /// [`super::BUY`] or [`super::SELL`].
    pub side: u8,
    /// Limit or market.
    pub order_type: OrderType,
    /// Time in force.
    pub tif: Tif,
    /// Limit price in ticks (None: market).
    pub price: Option<i64>,
    /// Lots.
    pub qty: i64,
    /// Its hold (units as [`Order::held`]).
    pub held: i128,
    /// Now.
    pub now_ns: u64,
}

//! Commands a book accepts: new orders (with their type, time in force and self-trade mode),
//! cancels, amends and mass cancels. All prices are ticks and all quantities lots.

use serde::{Deserialize, Serialize};

use crate::{AccountId, OrderId, Price, Qty};

/// Side of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum Side {
    Buy = 0,
    Sell = 1,
}

impl Side {
    /// The other side.
    #[inline]
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// Array index (0 for buy/bids, 1 for sell/asks).
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// Order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum OrderType {
    /// Trades at `price` or better; the remainder rests (GTC) or is canceled (IOC/FOK).
    Limit = 0,
    /// Trades at any price; never rests. Time in force must be IOC or FOK.
    Market = 1,
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum TimeInForce {
    /// Good till canceled: the remainder rests on the book.
    Gtc = 0,
    /// Immediate or cancel: trade what is possible now, cancel the rest.
    Ioc = 1,
    /// Fill or kill: trade the whole quantity now or nothing at all.
    Fok = 2,
}

/// Self-trade prevention, applied when a taker would match a resting order of the same account.
/// The taker's mode decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum StpMode {
    /// No prevention: orders of one account may trade with each other.
    None = 0,
    /// Cancel the incoming (taker) order's remainder; the resting order stays.
    CancelNewest = 1,
    /// Cancel the resting (maker) order and keep matching.
    CancelOldest = 2,
    /// Cancel both the resting order and the taker's remainder.
    CancelBoth = 3,
    /// Reduce both by the smaller remaining quantity, without a trade; whichever reaches zero is gone.
    Decrement = 4,
}

/// A new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    /// Client-chosen id, unique among the book's live orders.
    pub order_id: OrderId,
    /// Owning account (for self-trade prevention and mass cancel).
    pub account: AccountId,
    pub side: Side,
    pub order_type: OrderType,
    pub tif: TimeInForce,
    /// Limit price in ticks (ignored for market orders).
    pub price: Price,
    /// Quantity in lots.
    pub qty: Qty,
    /// Reject instead of trading if the order would take liquidity (GTC limit only).
    pub post_only: bool,
    /// Iceberg: the quantity shown on the book at a time (GTC limit only, 0 < display <= qty).
    pub display_qty: Option<Qty>,
    pub stp: StpMode,
}

impl NewOrder {
    /// A GTC limit order with no extras.
    pub const fn limit(order_id: OrderId, account: AccountId, side: Side, price: Price, qty: Qty) -> Self {
        Self {
            order_id,
            account,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            price,
            qty,
            post_only: false,
            display_qty: None,
            stp: StpMode::None,
        }
    }

    /// An IOC market order.
    pub const fn market(order_id: OrderId, account: AccountId, side: Side, qty: Qty) -> Self {
        Self {
            order_id,
            account,
            side,
            order_type: OrderType::Market,
            tif: TimeInForce::Ioc,
            price: 0,
            qty,
            post_only: false,
            display_qty: None,
            stp: StpMode::None,
        }
    }

    /// The same order with another time in force.
    pub const fn with_tif(mut self, tif: TimeInForce) -> Self {
        self.tif = tif;
        self
    }

    /// The same order with another self-trade prevention mode.
    pub const fn with_stp(mut self, stp: StpMode) -> Self {
        self.stp = stp;
        self
    }

    /// The same order, post-only.
    pub const fn post_only(mut self) -> Self {
        self.post_only = true;
        self
    }

    /// The same order as an iceberg showing `display` lots at a time.
    pub const fn iceberg(mut self, display: Qty) -> Self {
        self.display_qty = Some(display);
        self
    }
}

/// One command to a book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    New(NewOrder),
    /// Cancel a live order.
    Cancel {
        order_id: OrderId,
    },
    /// Change a live order's price and/or remaining quantity: `qty` becomes its remaining
    /// quantity as given, whatever filled since the sender last looked. A quantity decrease at
    /// the same price keeps time priority; a price change or a quantity increase loses it (and
    /// may trade). To amend by total quantity, as exchanges do, see [`Command::AmendTotal`].
    Amend {
        order_id: OrderId,
        price: Option<Price>,
        qty: Option<Qty>,
    },
    /// Amend by total quantity (`docs/matching.md`, "Amend by total"): the sender asks for
    /// `qty` lots open as it saw the order, `seen_remaining` lots open. The fills it had not
    /// seen come off: the order's remaining becomes `qty - (seen_remaining - remaining)`, which
    /// is `new total - filled` when the sender sends `qty = new total - filled it saw`. Nothing
    /// left (<= 0): the order's rest is canceled (`CancelReason::FilledBeforeAmend`). Priority
    /// and price as [`Command::Amend`].
    AmendTotal {
        order_id: OrderId,
        price: Option<Price>,
        qty: Qty,
        seen_remaining: Qty,
    },
    /// Cancel every live order matching the filters (`None` matches all).
    MassCancel {
        account: Option<AccountId>,
        side: Option<Side>,
    },
}

//! One state machine per order, and the normalized execution report that drives it.
//!
//! Venues do not report in order. A fill can arrive before the acknowledgment, a report can
//! arrive twice (a WebSocket event and the REST reply to the same order), a cancel can race a
//! fill, and after a reconnect the same fills come back from the reconciliation query. So an
//! [`OrderState`] is built from the **set** of reports it has seen, not from their order:
//!
//! - fills are keyed by the venue's trade id: a second report of the same trade is a
//!   duplicate (ignored, counted), and the filled quantity is the sum over distinct trades;
//! - the venue's cumulative quantity is kept as the largest seen (it never decreases); when it
//!   is ahead of the fills seen, [`OrderState::missing_qty`] says how much to reconcile;
//! - the status is a function of that set ([`OrderState::status`]): filled once the fills add
//!   up to the order; else the terminal report seen (rejected, expired, canceled); else
//!   pending-cancel while our cancel is in flight; else partially filled, new or pending-new.
//!
//! Any permutation or duplication of a venue's report stream therefore ends in the same state
//! with the same fills (a property test checks it). Prices and quantities are integers on our
//! grid (ticks and lots; the venue's decimal text is converted exactly at the edge by
//! [`wintermute_core::decimal::Step`]), fees are exact decimals in the fee currency.

use std::collections::{BTreeMap, HashMap};

use wintermute_core::decimal::Decimal;

/// Which external venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Venue {
    /// Binance spot.
    Binance,
    /// Kraken spot.
    Kraken,
    /// Coinbase Advanced Trade.
    Coinbase,
}

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Sent, not yet acknowledged.
    PendingNew,
    /// Acknowledged, nothing filled.
    New,
    /// Some filled, the rest open.
    PartiallyFilled,
    /// All filled.
    Filled,
    /// Our cancel is in flight.
    PendingCancel,
    /// Canceled (possibly after partial fills).
    Canceled,
    /// Refused by the venue.
    Rejected,
    /// Ended by the venue without a cancel of ours (an IOC or FOK remainder, a market order's
    /// unfilled part).
    Expired,
}

impl OrderStatus {
    /// Whether the order can no longer trade.
    pub fn is_terminal(self) -> bool {
        matches!(self, OrderStatus::Filled | OrderStatus::Canceled | OrderStatus::Rejected | OrderStatus::Expired)
    }
}

/// One execution (a venue trade of our order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillReport {
    /// The venue's trade id: the key that deduplicates fills.
    pub trade_id: u64,
    /// Price in ticks.
    pub price: i64,
    /// Quantity in lots (> 0).
    pub qty: i64,
    /// Fee charged (exact; negative for a rebate).
    pub fee: Decimal,
    /// The fee's currency (`"USDT"`, `"BNB"`).
    pub fee_currency: String,
    /// Whether we were the maker.
    pub is_maker: bool,
}

/// What a report says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportKind {
    /// The order is live on the venue.
    New,
    /// A fill (partial or final: the status says which).
    Trade(FillReport),
    /// The order was canceled.
    Canceled,
    /// The venue refused the order.
    Rejected {
        /// The venue's error code, when it has one (Binance's `-2010`).
        code: Option<i64>,
        /// The venue's reason, verbatim.
        reason: String,
    },
    /// The venue ended the order (an IOC remainder).
    Expired,
    /// The venue refused our cancel (usually: unknown order, i.e. already filled or gone).
    CancelRejected {
        /// The venue's error code.
        code: Option<i64>,
        /// The venue's reason, verbatim.
        reason: String,
    },
}

/// A normalized execution report: what any venue said about one of our orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionReport {
    /// Which venue.
    pub venue: Venue,
    /// The venue's symbol (`"BTCUSDT"`).
    pub symbol: String,
    /// Our client order id.
    pub client_order_id: String,
    /// The venue's order id, when known.
    pub venue_order_id: Option<String>,
    /// What happened.
    pub kind: ReportKind,
    /// The venue's cumulative filled quantity (lots) as of this report, when it says.
    pub cum_qty: Option<i64>,
    /// The venue's time of the event, nanoseconds since the Unix epoch.
    pub exchange_ts_ns: i64,
    /// When we received it, nanoseconds since the Unix epoch.
    pub receive_ts_ns: i64,
}

impl ExecutionReport {
    /// A report of a venue's answer that carries no time or cumulative quantity of its own (a
    /// refusal, an acknowledgment by id, a cancel's outcome): `exchange_ts_ns` 0, no `cum_qty`.
    pub fn answered(
        venue: Venue,
        symbol: &str,
        client_order_id: &str,
        venue_order_id: Option<String>,
        kind: ReportKind,
        receive_ts_ns: i64,
    ) -> Self {
        Self {
            venue,
            symbol: symbol.to_owned(),
            client_order_id: client_order_id.to_owned(),
            venue_order_id,
            kind,
            cum_qty: None,
            exchange_ts_ns: 0,
            receive_ts_ns,
        }
    }

    /// The reconciliation's verdict on an order whose place answer was lost and that the venue
    /// knows nowhere: it never reached the book, so it is rejected.
    pub fn never_reached_the_book(venue: Venue, symbol: &str, client_order_id: &str, receive_ts_ns: i64) -> Self {
        let reason = "not found at the venue (never reached the book)".to_owned();
        Self::answered(venue, symbol, client_order_id, None, ReportKind::Rejected { code: None, reason }, receive_ts_ns)
    }
}

/// A report that could not be applied (the state is left untouched).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderStateError {
    /// The report names another order.
    #[error("report for another order: order={order} report={report}")]
    WrongOrder {
        /// This order's client id.
        order: String,
        /// The report's client id.
        report: String,
    },
    /// A fill with a non-positive quantity or price.
    #[error("bad fill: client_order_id={client_order_id} trade_id={trade_id} qty={qty} price={price}")]
    BadFill {
        /// Which order.
        client_order_id: String,
        /// Which trade.
        trade_id: u64,
        /// Its quantity.
        qty: i64,
        /// Its price.
        price: i64,
    },
    /// The same trade id came back with different contents.
    #[error("conflicting reports of one trade: client_order_id={client_order_id} trade_id={trade_id}")]
    ConflictingFill {
        /// Which order.
        client_order_id: String,
        /// Which trade.
        trade_id: u64,
    },
    /// Fills add up to more than the order's quantity.
    #[error("overfill: client_order_id={client_order_id} order_qty={order_qty} filled_qty={filled_qty}")]
    Overfill {
        /// Which order.
        client_order_id: String,
        /// The order's quantity.
        order_qty: i64,
        /// What the fills would add up to.
        filled_qty: i64,
    },
    /// No order with that client id in the table.
    #[error("report for an unknown order: venue={venue:?} client_order_id={client_order_id}")]
    UnknownOrder {
        /// Which venue.
        venue: Venue,
        /// The report's client id.
        client_order_id: String,
    },
}

/// What applying a report changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A fill not seen before; the order's status after it.
    NewFill {
        /// The venue's trade id.
        trade_id: u64,
        /// Status after the fill.
        status: OrderStatus,
    },
    /// The status changed (no new fill).
    Status(OrderStatus),
    /// Nothing new (a duplicate or a report already implied by others).
    Unchanged,
}

/// The terminal report kinds, ranked so that the choice among several never depends on order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ending {
    Canceled,
    Expired,
    Rejected,
}

/// One order's state, built from the set of reports seen.
#[derive(Debug, Clone)]
pub struct OrderState {
    /// Our client order id.
    pub client_order_id: String,
    /// The venue's order id, once a report carried it.
    pub venue_order_id: Option<String>,
    /// Buy or sell.
    pub side: Side,
    /// Order quantity in lots.
    pub qty: i64,
    acked: bool,
    cancel_requested: bool,
    cancel_rejected: bool,
    ending: Option<Ending>,
    reject_reason: Option<String>,
    fills: BTreeMap<u64, FillReport>,
    filled_qty: i64,
    venue_cum_qty: i64,
    duplicates: u64,
    first_report_ns: i64,
}

impl OrderState {
    /// A new order of `qty` lots, sent but not acknowledged.
    pub fn new(client_order_id: &str, side: Side, qty: i64) -> Self {
        Self {
            client_order_id: client_order_id.to_owned(),
            venue_order_id: None,
            side,
            qty,
            acked: false,
            cancel_requested: false,
            cancel_rejected: false,
            ending: None,
            reject_reason: None,
            fills: BTreeMap::new(),
            filled_qty: 0,
            venue_cum_qty: 0,
            duplicates: 0,
            first_report_ns: i64::MIN,
        }
    }

    /// Where the order stands (see the module docs for the rule).
    pub fn status(&self) -> OrderStatus {
        if self.filled_qty >= self.qty {
            return OrderStatus::Filled;
        }
        match self.ending {
            Some(Ending::Rejected) => return OrderStatus::Rejected,
            Some(Ending::Expired) => return OrderStatus::Expired,
            Some(Ending::Canceled) => return OrderStatus::Canceled,
            None => {}
        }
        if self.cancel_requested && !self.cancel_rejected {
            OrderStatus::PendingCancel
        } else if self.filled_qty > 0 {
            OrderStatus::PartiallyFilled
        } else if self.acked {
            OrderStatus::New
        } else {
            OrderStatus::PendingNew
        }
    }

    /// Lots filled (sum over distinct trades).
    pub fn filled_qty(&self) -> i64 {
        self.filled_qty
    }

    /// Lots still open on the venue (0 once terminal).
    pub fn open_qty(&self) -> i64 {
        if self.status().is_terminal() {
            0
        } else {
            self.qty - self.filled_qty
        }
    }

    /// Lots the venue says are filled that no fill seen accounts for (reconcile them).
    pub fn missing_qty(&self) -> i64 {
        (self.venue_cum_qty - self.filled_qty).max(0)
    }

    /// The fills seen, by trade id.
    pub fn fills(&self) -> impl Iterator<Item = &FillReport> + '_ {
        self.fills.values()
    }

    /// How many duplicate fill reports were ignored.
    pub fn duplicate_fills(&self) -> u64 {
        self.duplicates
    }

    /// When (our clock, `receive_ts_ns`) the first report that moved the order at the venue was
    /// received: its acknowledgment, a fill or its end (not a refused cancel, a duplicate);
    /// `i64::MIN` before any. From then on the venue holds the order's funds (or spent them), and
    /// it sends the account's balances after such a change, so a balance received later
    /// includes them ([`crate::reservations`]).
    pub fn first_report_ns(&self) -> i64 {
        self.first_report_ns
    }

    /// The venue's reason, when rejected.
    pub fn reject_reason(&self) -> Option<&str> {
        self.reject_reason.as_deref()
    }

    /// Marks our cancel as sent.
    pub fn request_cancel(&mut self) {
        self.cancel_requested = true;
    }

    /// Applies one report; an error leaves the state untouched.
    pub fn apply(&mut self, report: &ExecutionReport) -> Result<Applied, OrderStateError> {
        if report.client_order_id != self.client_order_id {
            return Err(OrderStateError::WrongOrder {
                order: self.client_order_id.clone(),
                report: report.client_order_id.clone(),
            });
        }
        if let ReportKind::Trade(fill) = &report.kind {
            self.check_fill(fill)?;
        }
        let before = self.status();
        if self.venue_order_id.is_none() {
            self.venue_order_id.clone_from(&report.venue_order_id);
        }
        if let Some(cum) = report.cum_qty {
            self.venue_cum_qty = self.venue_cum_qty.max(cum);
        }
        let mut new_fill = None;
        match &report.kind {
            ReportKind::New => self.acked = true,
            ReportKind::Trade(fill) => {
                self.acked = true;
                if self.fills.contains_key(&fill.trade_id) {
                    self.duplicates += 1;
                } else {
                    self.filled_qty += fill.qty;
                    self.venue_cum_qty = self.venue_cum_qty.max(self.filled_qty);
                    self.fills.insert(fill.trade_id, fill.clone());
                    new_fill = Some(fill.trade_id);
                }
            }
            ReportKind::Canceled => self.end(Ending::Canceled),
            ReportKind::Expired => self.end(Ending::Expired),
            ReportKind::Rejected { reason, .. } => {
                self.end(Ending::Rejected);
                // The smallest reason, so that two different rejections pick the same one
                // whatever their order.
                if self.reject_reason.as_deref().is_none_or(|r| reason.as_str() < r) {
                    self.reject_reason = Some(reason.clone());
                }
            }
            ReportKind::CancelRejected { .. } => self.cancel_rejected = true,
        }
        let after = self.status();
        let moved =
            new_fill.is_some() || (after != before && !matches!(report.kind, ReportKind::CancelRejected { .. }));
        if moved && self.first_report_ns == i64::MIN {
            self.first_report_ns = report.receive_ts_ns;
        }
        Ok(match new_fill {
            Some(trade_id) => Applied::NewFill { trade_id, status: after },
            None if after != before => Applied::Status(after),
            None => Applied::Unchanged,
        })
    }

    fn end(&mut self, ending: Ending) {
        self.ending = Some(self.ending.map_or(ending, |e| e.max(ending)));
    }

    fn check_fill(&self, fill: &FillReport) -> Result<(), OrderStateError> {
        if fill.qty <= 0 || fill.price <= 0 {
            return Err(OrderStateError::BadFill {
                client_order_id: self.client_order_id.clone(),
                trade_id: fill.trade_id,
                qty: fill.qty,
                price: fill.price,
            });
        }
        match self.fills.get(&fill.trade_id) {
            Some(seen) if seen != fill => Err(OrderStateError::ConflictingFill {
                client_order_id: self.client_order_id.clone(),
                trade_id: fill.trade_id,
            }),
            Some(_) => Ok(()),
            None if self.filled_qty + fill.qty > self.qty => Err(OrderStateError::Overfill {
                client_order_id: self.client_order_id.clone(),
                order_qty: self.qty,
                filled_qty: self.filled_qty + fill.qty,
            }),
            None => Ok(()),
        }
    }
}

/// Every order of one venue connection, by client order id.
#[derive(Debug, Default)]
pub struct OrderTable {
    orders: HashMap<String, OrderState>,
    unknown_reports: u64,
}

impl OrderTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts tracking an order (before it is sent).
    pub fn insert(&mut self, order: OrderState) {
        self.orders.insert(order.client_order_id.clone(), order);
    }

    /// Stops tracking an order (one that never reached the venue).
    pub fn remove(&mut self, client_order_id: &str) -> Option<OrderState> {
        self.orders.remove(client_order_id)
    }

    /// The order with this client id.
    pub fn get(&self, client_order_id: &str) -> Option<&OrderState> {
        self.orders.get(client_order_id)
    }

    /// The order with this client id, to change.
    pub fn get_mut(&mut self, client_order_id: &str) -> Option<&mut OrderState> {
        self.orders.get_mut(client_order_id)
    }

    /// Every order.
    pub fn iter(&self) -> impl Iterator<Item = &OrderState> + '_ {
        self.orders.values()
    }

    /// Reports naming an order this table does not hold (counted, not applied).
    pub fn unknown_reports(&self) -> u64 {
        self.unknown_reports
    }

    /// Applies a report to its order.
    pub fn apply(&mut self, report: &ExecutionReport) -> Result<Applied, OrderStateError> {
        match self.orders.get_mut(&report.client_order_id) {
            Some(order) => order.apply(report),
            None => {
                self.unknown_reports += 1;
                Err(OrderStateError::UnknownOrder {
                    venue: report.venue,
                    client_order_id: report.client_order_id.clone(),
                })
            }
        }
    }
}

#[cfg(test)]
#[path = "order_state_tests.rs"]
mod tests;

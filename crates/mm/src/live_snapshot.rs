//! What the live runner ([`crate::live_runner`]) shows: a snapshot of its state, taken every
//! timer tick, serializable as JSON. Prices in ticks, quantities in lots of our instrument,
//! money in 10^-6 tick × lot ([`crate::metrics::pnl`]).

use serde::Serialize;

/// One of our resting quotes.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct QuoteView {
    /// `buy` or `sell`.
    pub side: &'static str,
    /// Ladder level (0 nearest the touch).
    pub level: usize,
    /// Its order id on our venue.
    pub order_id: u64,
    /// Price, ticks.
    pub price: i64,
    /// Quantity, lots.
    pub qty: i64,
    /// Visible lots ahead of it in the FIFO queue (`None`: not resting yet).
    pub queue_ahead: Option<i64>,
}

/// PnL and its parts, money units (10^-6 tick × lot).
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
pub struct PnlView {
    /// Total (= the sum of the parts).
    pub total: i128,
    /// Spread capture.
    pub spread_capture: i128,
    /// Inventory mark-to-market.
    pub inventory_mtm: i128,
    /// Fees (rebates positive).
    pub fees: i128,
    /// Hedge slippage.
    pub hedge_slippage: i128,
}

/// Markouts at one horizon.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct MarkoutView {
    /// Horizon, ms.
    pub horizon_ms: i64,
    /// Fills measured.
    pub count: u64,
    /// Mean against our venue's mid, bps.
    pub vs_mid_bps: Option<f64>,
    /// Mean against the fair value, bps.
    pub vs_fair_bps: Option<f64>,
}

/// The interlock's state.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct InterlockView {
    /// Whether quoting is allowed.
    pub quoting: bool,
    /// Active causes.
    pub causes: Vec<&'static str>,
    /// Pulls so far per cause (every cause listed).
    pub pulls: Vec<(&'static str, u64)>,
    /// Returns so far.
    pub returns: u64,
    /// Share of the time quoting was allowed.
    pub uptime: f64,
}

/// A hedge decision.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct HedgeView {
    /// Reference venue index.
    pub venue: usize,
    /// `buy` or `sell`.
    pub side: &'static str,
    /// Lots.
    pub qty: i64,
    /// The IOC's limit, ticks.
    pub limit_price: i64,
    /// The touch it was chosen on, ticks.
    pub touch_price: i64,
    /// The fair value then, ticks.
    pub decision_fair: f64,
    /// When (the pipeline clock), ns.
    pub ts_ns: i64,
}

/// One hedge order sent to an external venue's route.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct HedgeOrderView {
    /// Its client id on the venue.
    pub client_id: u64,
    /// Reference venue index.
    pub venue: usize,
    /// `buy` or `sell`.
    pub side: &'static str,
    /// Lots asked.
    pub qty: i64,
    /// The IOC's limit (the slippage cap), ticks.
    pub limit_price: i64,
    /// Lots filled so far.
    pub filled: i64,
    /// What the fills cost or brought, money units (price × lots, before fees).
    pub notional: i128,
    /// The fills' fees, money units (rebates negative).
    pub fees: i128,
    /// The fair value when it was decided, ticks.
    pub decision_fair: f64,
    /// `sent`, `accepted`, `partially_filled`, `filled`, `canceled` (the IOC's remainder, after
    /// a partial fill or none) or `rejected`.
    pub status: &'static str,
    /// When it was sent (the pipeline clock), ns.
    pub ts_ns: i64,
}

/// The hedges sent through the routes ([`crate::live_hedge`]); all zero without routes.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct HedgingView {
    /// The venues hedges are routed to.
    pub routes: Vec<&'static str>,
    /// Hedge orders sent.
    pub orders_sent: u64,
    /// Hedge fills.
    pub fills: u64,
    /// Lots filled, both sides.
    pub filled_qty: i64,
    /// Lots filled, signed (buys positive): the hedges' share of the inventory.
    pub net_filled: i64,
    /// Lots canceled unfilled (the IOCs' remainders).
    pub canceled_qty: i64,
    /// Orders partly filled, the rest canceled.
    pub partial: u64,
    /// Orders canceled without a fill (nothing within the slippage cap).
    pub unfilled: u64,
    /// Orders the venue refused.
    pub rejected: u64,
    /// Orders that could not be sent (refused by the route's local checks).
    pub send_errors: u64,
    /// Signed lots still in flight.
    pub in_flight: i64,
    /// The latest orders, newest last.
    pub orders: Vec<HedgeOrderView>,
    /// The latest refusals and errors, newest last.
    pub last_errors: Vec<String>,
}

/// One reference stream.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReferenceView {
    /// Venue.
    pub venue: &'static str,
    /// Symbol.
    pub symbol: String,
    /// `buffering`, `live`, `resyncing` or `unseen`.
    pub state: &'static str,
    /// Best bid and ask on our grid, ticks (`None`: absent).
    pub bid: Option<i64>,
    /// Best ask.
    pub ask: Option<i64>,
}

/// Counters, as [`crate::live::LiveCounters`] plus the runner's own.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
pub struct CountersView {
    /// External book changes handled.
    pub updates: u64,
    /// Decisions that requoted.
    pub requotes: u64,
    /// Commands sent to our venue.
    pub commands: u64,
    /// Our fills.
    pub fills: u64,
    /// Our orders refused by risk.
    pub risk_rejections: u64,
    /// Quote pulls (every cause).
    pub pulls: u64,
    /// Hedge decisions.
    pub hedges: u64,
    /// Hedge fills applied to the inventory.
    pub hedge_fills: u64,
    /// Errors (the last one is `error`).
    pub errors: u64,
    /// Loop turns.
    pub turns: u64,
}

/// What the runner shows (see the module docs); prices in ticks, quantities in lots of our
/// instrument, money in 10^-6 tick × lot.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct LiveSnapshot {
    /// Whether the thread runs.
    pub running: bool,
    /// When the snapshot was taken (the pipeline clock), ns.
    pub ts_ns: i64,
    /// The fair value, ticks.
    pub fair_value: Option<f64>,
    /// Whether quoting is held (interlock, risk, kill switch).
    pub halted: bool,
    /// Our resting quotes, bids then asks, nearest the touch first.
    pub quotes: Vec<QuoteView>,
    /// Net lots bought.
    pub inventory: i64,
    /// PnL and its parts.
    pub pnl: PnlView,
    /// Markouts per horizon.
    pub markouts: Vec<MarkoutView>,
    /// The interlock.
    pub interlock: InterlockView,
    /// The latest hedge decisions, newest last.
    pub hedges: Vec<HedgeView>,
    /// The hedges sent and what came of them.
    pub hedging: HedgingView,
    /// The reference streams.
    pub references: Vec<ReferenceView>,
    /// Counters.
    pub counters: CountersView,
    /// The last error, if any.
    pub error: Option<String>,
}

impl LiveSnapshot {
    /// As JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

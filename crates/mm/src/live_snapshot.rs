//! What the live runner ([`crate::live_runner`]) shows: a snapshot of its state, taken every
//! timer tick, serializable as JSON. Prices in ticks, quantities in lots of our instrument,
//! money in 10^-6 tick × lot ([`crate::metrics::pnl`]).

use serde::Serialize;

/// One of our resting quotes.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct QuoteView {
    /// Where it rests: `ours`, or the quote venue's name (`kraken`).
    pub venue: &'static str,
    /// `buy` or `sell`.
    pub side: &'static str,
    /// Ladder level (0 nearest the touch).
    pub level: usize,
    /// Its order (client) id on that venue.
    pub order_id: u64,
    /// Price, ticks.
    pub price: i64,
    /// Quantity, lots.
    pub qty: i64,
    /// Visible lots ahead of it in our venue's FIFO queue (`None`: not resting yet, or on an
    /// external venue, whose queue is not seen).
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

/// A route's account balances as the route last knew them (exact decimal text).
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct RouteBalancesView {
    /// The route's venue.
    pub venue: &'static str,
    /// Whether they are known (false: no snapshot yet, or a resync is due after updates may
    /// have been missed; nothing is refused on them then).
    pub known: bool,
    /// Each asset: free and locked.
    pub assets: Vec<AssetBalanceView>,
    /// Streamed updates older than the state, ignored.
    pub stale_ignored: u64,
    /// Streamed updates refused (malformed or impossible: the state untouched).
    pub refused: u64,
    /// Resyncs forced by updates that may have been missed (dropped, or a reconnect).
    pub forced_resyncs: u64,
    /// Reconciliations against a fresh snapshot that found a difference.
    pub reconcile_differences: u64,
}

/// One asset of a [`RouteBalancesView`].
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct AssetBalanceView {
    /// The asset.
    pub asset: String,
    /// Free, decimal text.
    pub free: String,
    /// Locked by open orders, decimal text.
    pub locked: String,
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
    /// Hedges made smaller to what the route's free balance covers (sent at that size).
    pub balance_reduced: u64,
    /// Lots taken off hedges by `balance_reduced` (they stay inventory, hedged later).
    pub balance_reduced_qty: i64,
    /// Hedges not sent: the route's free balance covers not one lot of them.
    pub balance_skipped: u64,
    /// Each route's account balances, where the route tracks them.
    pub balances: Vec<RouteBalancesView>,
    /// Signed lots still in flight.
    pub in_flight: i64,
    /// The hedge fills' fees, money units (rebates negative).
    pub fees: i128,
    /// Why no new hedge order is sent now: `kill_switch` while a kill switch is engaged
    /// (`None`: hedges go out). Orders in flight still complete and their fills count.
    pub hold: Option<&'static str>,
    /// The kill switches engaged: `operator` (the runner's own) and `venue` (our venue's
    /// global or account kill switch, as the service reports it).
    pub kill_switch: Vec<&'static str>,
    /// Times a kill switch held hedging.
    pub holds: u64,
    /// Hedge decisions made while held, not sent (a fill that crossed the threshold).
    pub held_decisions: u64,
    /// Whether a hedge is due now (inventory past the threshold): while held, it waits for
    /// the release.
    pub due: bool,
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

/// A batched strategy's quoting ([`crate::live_strategy`]): what was handed over, how, and
/// what came back.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct StrategyView {
    /// The strategy (its class).
    pub name: String,
    /// Batches it handled.
    pub batches: u64,
    /// Events in them.
    pub events: u64,
    /// The largest batch.
    pub largest_batch: u64,
    /// Nanoseconds spent in the strategy's calls (the GIL included).
    pub busy_ns: u64,
    /// Events waiting for it now.
    pub queued: u64,
    /// Events handed over (into the queue).
    pub sent: u64,
    /// Times the queue was full (the strategy behind).
    pub full: u64,
    /// Tops replaced by a later one of the same venue while the queue was full.
    pub conflated_books: u64,
    /// Timer events joined while the queue was full.
    pub conflated_timers: u64,
    /// Fills and orders gone dropped (queue and side buffer full).
    pub dropped: u64,
    /// Public trades dropped (queue full and side buffer half full).
    pub dropped_trades: u64,
    /// Public trades handed over (the external venues' and ours).
    pub trades: u64,
    /// Our venue's tops handed over.
    pub our_tops: u64,
    /// The external venues' market-data events overwritten in the feed's ring before the
    /// runner read them (trades among them never reached the strategy).
    pub missed_events: u64,
    /// Commands it sent.
    pub commands: u64,
    /// Answers to its cancels and amends handed over (one per cancel and amend, never
    /// dropped).
    pub answers: u64,
    /// Its cancels and amends sent to a venue and not yet answered.
    pub unanswered: u64,
    /// Commands refused: new orders while quoting was held or off our venue, too many working.
    pub refused: u64,
    /// Its orders canceled by a pull (interlock, risk, kill switch).
    pub pulled: u64,
    /// Its orders working now.
    pub working: u64,
    /// Whether it failed (the error is the snapshot's `error`).
    pub failed: bool,
}

/// How long decisions took: from the loop turn that read the event (a top, a fill) to the
/// order handed to our venue's gateway, over the latest decisions (ns). The built-in model
/// decides within the turn; a strategy's order waits for its batch to come back.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq, Eq)]
pub struct DecisionView {
    /// Decisions measured so far.
    pub count: u64,
    /// Median of the latest ones.
    pub p50_ns: i64,
    /// 99th percentile of the latest ones.
    pub p99_ns: i64,
    /// The largest of the latest ones.
    pub max_ns: i64,
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
    /// Requotes cut short by orders in flight ([`crate::live::LiveCounters::cut_short`]).
    pub cut_short: u64,
    /// Errors (the last one is `error`).
    pub errors: u64,
    /// Loop turns.
    pub turns: u64,
}

/// The quotes on one external venue (`quote_on`) and what came of them.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct QuoteVenueView {
    /// The venue (`kraken`).
    pub venue: &'static str,
    /// Our orders open there now (sent and not done).
    pub open: usize,
    /// New orders sent.
    pub orders_sent: u64,
    /// Amends sent.
    pub amends: u64,
    /// Cancels sent.
    pub cancels: u64,
    /// Fills.
    pub fills: u64,
    /// Lots filled.
    pub filled_qty: i64,
    /// The fills' fees, money units (rebates negative).
    pub fees: i128,
    /// Orders the venue canceled.
    pub canceled: u64,
    /// Commands the venue refused.
    pub rejected: u64,
    /// Of those, post-only orders that would have crossed.
    pub would_cross: u64,
    /// The latest refusal (`client_id=... reason=...`).
    pub last_reject: Option<String>,
    /// Markouts per horizon of this venue's fills, against this venue's mid.
    pub markouts: Vec<MarkoutView>,
}

/// A live route's grid re-checks (`[hedge.live.<venue>] grid_check_s`): the venue's tick and
/// lot of the route's symbol asked again while running.
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
pub struct RouteGridView {
    /// The venue.
    pub venue: String,
    /// The route's symbol at the venue.
    pub symbol: String,
    /// Grids read and compared.
    pub checks: u64,
    /// Re-checks whose answer could not be read.
    pub unread: u64,
    /// Re-checks that found the venue's grid changed.
    pub changes: u64,
    /// Whether the route halted on a change (no new orders, its resting ones canceled).
    pub halted: bool,
    /// Why it halted (the route and both grids).
    pub cause: Option<String>,
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
    /// Our resting quotes, venue by venue (in `quote_on`'s order), bids then asks, nearest the
    /// touch first.
    pub quotes: Vec<QuoteView>,
    /// Net lots bought.
    pub inventory: i64,
    /// PnL and its parts.
    pub pnl: PnlView,
    /// Markouts per horizon, every venue's fills together (each against the mid of the venue
    /// it filled on).
    pub markouts: Vec<MarkoutView>,
    /// The interlock.
    pub interlock: InterlockView,
    /// The latest hedge decisions, newest last.
    pub hedges: Vec<HedgeView>,
    /// The hedges sent and what came of them.
    pub hedging: HedgingView,
    /// The quotes' venues, in `quote_on`'s order (empty: quoting on our venue alone; with
    /// `"ours"` among external venues, ours too).
    pub quote_venues: Vec<QuoteVenueView>,
    /// The reference streams.
    pub references: Vec<ReferenceView>,
    /// The batched strategy deciding the quotes (`None`: the built-in model).
    pub strategy: Option<StrategyView>,
    /// Decision latency.
    pub decisions: DecisionView,
    /// Counters.
    pub counters: CountersView,
    /// The last error, if any.
    pub error: Option<String>,
    /// The live routes' grid re-checks (empty on paper, or when none runs).
    pub grids: Vec<RouteGridView>,
}

impl LiveSnapshot {
    /// As JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

/// The latest decision latencies (a fixed ring, no allocation once made).
#[derive(Debug, Clone)]
pub struct DecisionTimes {
    latest: Vec<i64>,
    next: usize,
    count: u64,
}

/// Decision latencies kept for [`DecisionView`].
pub const DECISIONS_KEPT: usize = 4096;

impl Default for DecisionTimes {
    fn default() -> Self {
        DecisionTimes { latest: Vec::with_capacity(DECISIONS_KEPT), next: 0, count: 0 }
    }
}

impl DecisionTimes {
    /// One decision took `ns`.
    pub fn record(&mut self, ns: i64) {
        if self.latest.len() < DECISIONS_KEPT {
            self.latest.push(ns);
        } else {
            self.latest[self.next] = ns;
        }
        self.next = (self.next + 1) % DECISIONS_KEPT;
        self.count += 1;
    }

    /// What the snapshot shows.
    pub fn view(&self) -> DecisionView {
        let mut sorted = self.latest.clone();
        sorted.sort_unstable();
        let at = |q: f64| sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0);
        DecisionView {
            count: self.count,
            p50_ns: at(0.5),
            p99_ns: at(0.99),
            max_ns: sorted.last().copied().unwrap_or(0),
        }
    }
}

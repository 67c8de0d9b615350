//! Risk: pre-trade limits and kill switches in front of the books, and post-trade positions
//! and PnL behind them.
//!
//! ```
//! use wintermute_core::{Command, InstrumentSpec, NewOrder, Side};
//! use wintermute_engine::risk::{AccountLimits, ManualClock, RiskEngine, RiskError};
//!
//! let spec = InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1_000_000, 1, 1_000_000).unwrap();
//! let mut risk = RiskEngine::new(ManualClock::new(), 6); // notional unit: 10^-6 USD
//! let btc = risk.add_instrument(&spec).unwrap();
//! assert_eq!(risk.multiplier(btc), Some(500)); // 0.5 USD × 0.001 BTC = 500 × 10^-6 USD
//! risk.set_limits(7, AccountLimits { max_order_qty: 100, ..AccountLimits::UNLIMITED });
//!
//! let too_big = Command::New(NewOrder::limit(1, 7, Side::Buy, 100, 101));
//! let err = risk.check(btc, &too_big).unwrap_err();
//! assert_eq!(err.code(), "MAX_ORDER_QTY");
//! assert_eq!(err.to_string(), "risk limit max_order_qty: account=7 instrument=0 qty=101 limit=100");
//! ```
//!
//! # Units
//!
//! Prices are ticks and quantities lots, as everywhere. Money — notionals, exposures, cost,
//! PnL, fees — is in *notional units* of `10^-notional_scale` quote currency, chosen once per
//! [`RiskEngine`]. Each instrument gets an exact integer `multiplier` = tick size × lot size ×
//! 10^notional_scale (an instrument whose product is not a whole number of units is refused),
//! so the notional of `q` lots at `p` ticks is `p × q × multiplier`, computed in `i128`: exact,
//! and comparable across instruments quoted in the same currency.
//!
//! # Where it sits
//!
//! `check` runs before a command reaches its book and *reserves* a passing new order (it counts
//! as open from then on); the book's events are then fed to [`RiskEngine::on_event`], which
//! follows every order to its end and updates positions from trades. If the book refuses a
//! command in validation (no event), call [`RiskEngine::on_refused`] to release the reservation.
//! Every check is O(1): hash lookups and a handful of i128 operations.
//!
//! The checks, in order (the first failure is reported): global kill switch, account kill
//! switch, order rate, order quantity, price band, order notional, open orders, position,
//! gross exposure, net exposure. Cancels and mass cancels always pass, even when killed.
//!
//! # Changing settings at runtime
//!
//! Every change a running engine accepts (limits, default limits, kill switches, reference
//! prices) is one [`ControlRecord`] ([`control`]), applied by [`RiskEngine::apply_control`].
//! The journal writes these records in order with the commands (it depends on this module's
//! types; this module knows nothing of the journal).

pub mod control;
pub mod limits;
pub mod position;
pub mod state;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use wintermute_core::order::Side;
use wintermute_core::{AccountId, InstrumentId, InstrumentSpec, OrderId, Price, Qty};

pub use control::ControlRecord;
pub use limits::{AccountLimits, Clock, InstrumentLimits, ManualClock, MonotonicClock, PriceBand, RateLimit};
pub use position::{fee, Position};
pub use state::{AccountState, OrderState, RiskState, SlotState};

use limits::TokenBucket;

/// Why a command was refused. Each variant names the limit; the message carries `key=value`
/// context; [`RiskError::code`] gives a stable upper-snake-case code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RiskError {
    #[error("risk kill switch: global")]
    GlobalKillSwitch,
    #[error("risk kill switch: account={account}")]
    AccountKillSwitch { account: AccountId },
    #[error("risk unknown account={account}")]
    UnknownAccount { account: AccountId },
    #[error("risk unknown instrument={instrument}")]
    UnknownInstrument { instrument: InstrumentId },
    #[error("risk unknown order: instrument={instrument} order_id={order_id}")]
    UnknownOrder { instrument: InstrumentId, order_id: OrderId },
    #[error("risk duplicate order: instrument={instrument} order_id={order_id} is live")]
    DuplicateOrderId { instrument: InstrumentId, order_id: OrderId },
    #[error("risk limit order_rate: account={account} per_second={per_second} burst={burst}")]
    OrderRate { account: AccountId, per_second: u32, burst: u32 },
    #[error("risk limit max_order_qty: account={account} instrument={instrument} qty={qty} limit={limit}")]
    MaxOrderQty { account: AccountId, instrument: InstrumentId, qty: Qty, limit: Qty },
    #[error("risk limit price_band: account={account} instrument={instrument} price={price} reference={reference} band={band:?}")]
    PriceBand { account: AccountId, instrument: InstrumentId, price: Price, reference: Price, band: PriceBand },
    #[error(
        "risk limit max_order_notional: account={account} instrument={instrument} notional={notional} limit={limit}"
    )]
    MaxOrderNotional { account: AccountId, instrument: InstrumentId, notional: i128, limit: i128 },
    #[error("risk no reference price: instrument={instrument} (needed to value a market order)")]
    NoReferencePrice { instrument: InstrumentId },
    #[error("risk limit max_open_orders: account={account} open={open} limit={limit}")]
    MaxOpenOrders { account: AccountId, open: u32, limit: u32 },
    #[error("risk limit max_position: account={account} instrument={instrument} worst_position={worst} limit={limit}")]
    MaxPosition { account: AccountId, instrument: InstrumentId, worst: i128, limit: Qty },
    #[error("risk limit max_gross_exposure: account={account} worst_exposure={worst} limit={limit}")]
    MaxGrossExposure { account: AccountId, worst: i128, limit: i128 },
    #[error("risk limit max_net_exposure: account={account} worst_exposure={worst} limit={limit}")]
    MaxNetExposure { account: AccountId, worst: i128, limit: i128 },
    #[error("risk arithmetic overflow: account={account} instrument={instrument} in {what}")]
    Overflow { account: AccountId, instrument: InstrumentId, what: &'static str },
    #[error("risk instrument symbol={symbol}: {why}")]
    Instrument { symbol: String, why: String },
}

/// Risk rejection codes ([`RiskError::code`]), in the order of the `reason` numbers (1-based)
/// of risk rejections (in the pipeline's output records and the journal's rejection records:
/// append only, the numbers are on disk).
pub const RISK_CODES: [&str; 17] = [
    "GLOBAL_KILL_SWITCH",
    "ACCOUNT_KILL_SWITCH",
    "UNKNOWN_ACCOUNT",
    "UNKNOWN_INSTRUMENT",
    "UNKNOWN_ORDER",
    "DUPLICATE_ORDER_ID",
    "ORDER_RATE",
    "MAX_ORDER_QTY",
    "PRICE_BAND",
    "MAX_ORDER_NOTIONAL",
    "NO_REFERENCE_PRICE",
    "MAX_OPEN_ORDERS",
    "MAX_POSITION",
    "MAX_GROSS_EXPOSURE",
    "MAX_NET_EXPOSURE",
    "OVERFLOW",
    "INSTRUMENT",
];

/// The `reason` number of a risk rejection (0 for a code missing from [`RISK_CODES`], which a
/// test rules out).
pub fn risk_reason(e: &RiskError) -> u8 {
    RISK_CODES.iter().position(|c| *c == e.code()).map_or(0, |i| i as u8 + 1)
}

impl RiskError {
    /// Stable upper-snake-case code of the limit or condition.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::GlobalKillSwitch => "GLOBAL_KILL_SWITCH",
            Self::AccountKillSwitch { .. } => "ACCOUNT_KILL_SWITCH",
            Self::UnknownAccount { .. } => "UNKNOWN_ACCOUNT",
            Self::UnknownInstrument { .. } => "UNKNOWN_INSTRUMENT",
            Self::UnknownOrder { .. } => "UNKNOWN_ORDER",
            Self::DuplicateOrderId { .. } => "DUPLICATE_ORDER_ID",
            Self::OrderRate { .. } => "ORDER_RATE",
            Self::MaxOrderQty { .. } => "MAX_ORDER_QTY",
            Self::PriceBand { .. } => "PRICE_BAND",
            Self::MaxOrderNotional { .. } => "MAX_ORDER_NOTIONAL",
            Self::NoReferencePrice { .. } => "NO_REFERENCE_PRICE",
            Self::MaxOpenOrders { .. } => "MAX_OPEN_ORDERS",
            Self::MaxPosition { .. } => "MAX_POSITION",
            Self::MaxGrossExposure { .. } => "MAX_GROSS_EXPOSURE",
            Self::MaxNetExposure { .. } => "MAX_NET_EXPOSURE",
            Self::Overflow { .. } => "OVERFLOW",
            Self::Instrument { .. } => "INSTRUMENT",
        }
    }
}

/// Maker and taker fee rates in millionths of notional (negative: a rebate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FeeRates {
    pub maker_ppm: i64,
    pub taker_ppm: i64,
}

#[derive(Debug, Clone)]
struct InstrumentRisk {
    multiplier: i128,
    /// Reference price: the price band's centre and the mark for exposure and PnL.
    reference: Option<Price>,
}

/// One account's state in one instrument.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    position: Position,
    open_buy: Qty,
    open_sell: Qty,
    /// `position × reference × multiplier` at the last mark.
    exposure: i128,
    limits: Option<InstrumentLimits>,
}

/// The slot of an instrument an account never touched (`Slot::default()`, as a constant).
const EMPTY_SLOT: Slot = Slot {
    position: Position { qty: 0, cost: 0, realized: 0, fees: 0, bought: 0, sold: 0 },
    open_buy: 0,
    open_sell: 0,
    exposure: 0,
    limits: None,
};

#[derive(Debug, Clone)]
struct Account {
    limits: AccountLimits,
    fees: FeeRates,
    killed: bool,
    open_orders: u32,
    bucket: TokenBucket,
    slots: Vec<Slot>,
    /// Sums of the slots' exposures and of their absolute values.
    net: i128,
    gross: i128,
}

impl Account {
    fn new(limits: AccountLimits) -> Self {
        Self {
            limits,
            fees: FeeRates::default(),
            killed: false,
            open_orders: 0,
            bucket: TokenBucket::default(),
            slots: Vec::new(),
            net: 0,
            gross: 0,
        }
    }

    fn slot(&mut self, instrument: InstrumentId) -> &mut Slot {
        let i = instrument as usize;
        if self.slots.len() <= i {
            self.slots.resize(i + 1, Slot::default());
        }
        &mut self.slots[i]
    }

    /// The slot of `instrument` (an empty one if the account never touched it); borrowed,
    /// not copied: the checks read it on every order.
    fn slot_ref(&self, instrument: InstrumentId) -> &Slot {
        self.slots.get(instrument as usize).unwrap_or(&EMPTY_SLOT)
    }

    /// Re-marks one slot's exposure and keeps the sums.
    fn remark(&mut self, instrument: InstrumentId, mark: Price, multiplier: i128) {
        let slot = self.slot(instrument);
        let old = slot.exposure;
        let new = i128::from(slot.position.qty).saturating_mul(i128::from(mark)).saturating_mul(multiplier);
        slot.exposure = new;
        self.net = self.net - old + new;
        self.gross = self.gross - old.abs() + new.abs();
    }
}

/// A live order as risk sees it.
#[derive(Debug, Clone, Copy)]
struct OpenOrder {
    account: AccountId,
    side: Side,
    price: Price,
    remaining: Qty,
    /// False until the book's `Accepted` event (a reservation).
    accepted: bool,
}

/// Pre-trade checks and post-trade state for every account. See the module docs.
#[derive(Debug)]
pub struct RiskEngine<C: Clock = MonotonicClock> {
    clock: C,
    notional_scale: u32,
    instruments: Vec<InstrumentRisk>,
    accounts: HashMap<AccountId, Account, ahash::RandomState>,
    orders: HashMap<(InstrumentId, OrderId), OpenOrder, ahash::RandomState>,
    killed: bool,
    /// Limits an account seen for the first time starts with (`None`: its orders are refused).
    default_limits: Option<AccountLimits>,
}

impl<C: Clock> RiskEngine<C> {
    /// A risk engine reading `clock`, with money in units of `10^-notional_scale`.
    pub fn new(clock: C, notional_scale: u32) -> Self {
        Self {
            clock,
            notional_scale,
            instruments: Vec::new(),
            accounts: HashMap::default(),
            orders: HashMap::default(),
            killed: false,
            default_limits: None,
        }
    }

    /// Registers the next instrument (ids count from 0, as in `wintermute_core::Engine`:
    /// register in the same order). Fails if its multiplier is not a whole number of units.
    pub fn add_instrument(&mut self, spec: &InstrumentSpec) -> Result<InstrumentId, RiskError> {
        let bad = |why: String| RiskError::Instrument { symbol: spec.symbol.clone(), why };
        let (tick, lot) = (spec.tick().decimal(), spec.lot().decimal());
        let mantissa = tick.mantissa().checked_mul(lot.mantissa()).ok_or_else(|| bad("multiplier overflows".into()))?;
        let scale = tick.scale() + lot.scale();
        let multiplier = if self.notional_scale >= scale {
            10i128
                .checked_pow(self.notional_scale - scale)
                .and_then(|p| p.checked_mul(mantissa))
                .ok_or_else(|| bad("multiplier overflows".into()))?
        } else {
            let div = 10i128.checked_pow(scale - self.notional_scale).ok_or_else(|| bad("scale too large".into()))?;
            if mantissa % div != 0 {
                return Err(bad(format!(
                    "tick×lot={}e-{scale} is not a whole number of 1e-{} notional units",
                    mantissa, self.notional_scale
                )));
            }
            mantissa / div
        };
        let id = InstrumentId::try_from(self.instruments.len()).map_err(|_| bad("too many instruments".into()))?;
        self.instruments.push(InstrumentRisk { multiplier, reference: None });
        Ok(id)
    }

    /// Makes room for `orders` live (or reserved) orders in all, so that following up to that
    /// many allocates nothing (the map otherwise grows as orders come).
    pub fn reserve_orders(&mut self, orders: usize) {
        self.orders.reserve(orders.saturating_sub(self.orders.len()));
    }

    /// Notional units per lot per tick of `instrument`.
    pub fn multiplier(&self, instrument: InstrumentId) -> Option<i128> {
        self.instruments.get(instrument as usize).map(|i| i.multiplier)
    }

    /// Sets (or replaces) an account's limits; a new account starts flat.
    pub fn set_limits(&mut self, account: AccountId, limits: AccountLimits) {
        self.accounts.entry(account).and_modify(|a| a.limits = limits).or_insert_with(|| Account::new(limits));
    }

    /// An account's limits.
    pub fn limits(&self, account: AccountId) -> Option<AccountLimits> {
        self.accounts.get(&account).map(|a| a.limits)
    }

    /// Sets the limits an account seen for the first time starts with: its first new order
    /// creates it under them (`None`, the default: orders of unknown accounts are refused with
    /// `UNKNOWN_ACCOUNT`). Accounts created otherwise (fees, overrides, a kill switch, a fill
    /// replayed from the journal) start under them too, or unlimited when there are none.
    pub fn set_default_limits(&mut self, limits: Option<AccountLimits>) {
        self.default_limits = limits;
    }

    /// The limits of accounts seen for the first time.
    pub fn default_limits(&self) -> Option<AccountLimits> {
        self.default_limits
    }

    /// True when the global kill switch is on.
    pub fn global_kill(&self) -> bool {
        self.killed
    }

    /// True when `account`'s kill switch is on.
    pub fn account_kill(&self, account: AccountId) -> bool {
        self.accounts.get(&account).is_some_and(|a| a.killed)
    }

    /// An instrument's reference price.
    pub fn reference_price(&self, instrument: InstrumentId) -> Option<Price> {
        self.instruments.get(instrument as usize).and_then(|i| i.reference)
    }

    /// Applies one control (a runtime change of settings, see [`control`]).
    /// Fails, changing nothing, for an unknown instrument, and for a kill switch of an unknown
    /// account when there are no default limits (creating it would let its orders through).
    pub fn apply_control(&mut self, control: &ControlRecord) -> Result<(), RiskError> {
        match *control {
            ControlRecord::SetLimits { account, limits } => self.set_limits(account, limits),
            ControlRecord::SetDefaultLimits { limits } => self.set_default_limits(limits),
            ControlRecord::AccountKill { account, engaged } => {
                if self.default_limits.is_none() && !self.accounts.contains_key(&account) {
                    return Err(RiskError::UnknownAccount { account });
                }
                self.set_account_kill(account, engaged);
            }
            ControlRecord::GlobalKill { engaged } => self.set_global_kill(engaged),
            ControlRecord::ReferencePrice { instrument, price } => self.set_reference_price(instrument, price)?,
        }
        Ok(())
    }

    /// Overrides the lot-denominated limits of `account` in `instrument` (`None`: back to the
    /// account's). Unknown accounts are created with unlimited limits.
    pub fn set_instrument_limits(
        &mut self,
        account: AccountId,
        instrument: InstrumentId,
        limits: Option<InstrumentLimits>,
    ) {
        self.account_mut(account).slot(instrument).limits = limits;
    }

    /// Sets an account's fee rates.
    pub fn set_fees(&mut self, account: AccountId, fees: FeeRates) {
        self.account_mut(account).fees = fees;
    }

    /// Moves an instrument's reference price (band centre and mark). Re-marks every account's
    /// exposure in it: O(accounts), off the per-order path.
    pub fn set_reference_price(&mut self, instrument: InstrumentId, price: Price) -> Result<(), RiskError> {
        let inst = self.instruments.get_mut(instrument as usize).ok_or(RiskError::UnknownInstrument { instrument })?;
        inst.reference = Some(price);
        let m = inst.multiplier;
        for a in self.accounts.values_mut() {
            if (instrument as usize) < a.slots.len() {
                a.remark(instrument, price, m);
            }
        }
        Ok(())
    }

    /// Turns an account's kill switch on or off. While on, its new orders and amends that add
    /// risk are refused (cancels still pass).
    pub fn set_account_kill(&mut self, account: AccountId, killed: bool) {
        self.account_mut(account).killed = killed;
    }

    /// Turns the global kill switch on or off.
    pub fn set_global_kill(&mut self, killed: bool) {
        self.killed = killed;
    }

    /// An account's position in an instrument.
    pub fn position(&self, account: AccountId, instrument: InstrumentId) -> Option<Position> {
        self.accounts.get(&account).map(|a| a.slot_ref(instrument).position)
    }

    /// Live (and reserved) orders of an account.
    pub fn open_orders(&self, account: AccountId) -> u32 {
        self.accounts.get(&account).map_or(0, |a| a.open_orders)
    }

    /// Lots of an account's live (and reserved) orders in an instrument: `(buy, sell)`.
    pub fn open_qty(&self, account: AccountId, instrument: InstrumentId) -> (Qty, Qty) {
        self.accounts.get(&account).map_or((0, 0), |a| {
            let s = a.slot_ref(instrument);
            (s.open_buy, s.open_sell)
        })
    }

    /// `(net, gross)` exposure of an account at the current reference prices.
    pub fn exposure(&self, account: AccountId) -> (i128, i128) {
        self.accounts.get(&account).map_or((0, 0), |a| (a.net, a.gross))
    }

    /// Unrealized PnL of an account in an instrument at its reference price.
    pub fn unrealized(&self, account: AccountId, instrument: InstrumentId) -> Option<i128> {
        let inst = self.instruments.get(instrument as usize)?;
        let pos = self.position(account, instrument)?;
        Some(pos.unrealized(inst.reference?, inst.multiplier))
    }

    fn account_mut(&mut self, account: AccountId) -> &mut Account {
        let limits = self.default_limits.unwrap_or(AccountLimits::UNLIMITED);
        self.accounts.entry(account).or_insert_with(|| Account::new(limits))
    }
}

mod check;
mod post_trade;

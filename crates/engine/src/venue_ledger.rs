//! The service venue's ledger, applied in Rust: each account's spot balances (free and locked
//! per asset), the holds its orders take, fills spending from them, fees, and positions per
//! instrument with average-cost PnL.
//!
//! An order holds (locks) what it may spend: a buy its limit price times its quantity in the
//! quote asset, a sell its quantity in the base asset (the order table's hold units: ticks x
//! lots, or lots; [`crate::venue_orders::Order::held`]). A fill spends from the hold at the
//! fill's price (a buy filled below its limit gets the difference back), and its fee (basis
//! points of the notional) is charged in the quote asset. The venue's order table and the
//! ledger move together: [`place_with_hold`] takes an order's hold in the same step as the
//! table registers it, and [`VenueLedger::carry_out`] applies a batch's fills and holds given
//! back (the order table's [`Effect`]s) before the rest goes to Python.
//!
//! Everything is integer. Each asset has one unit, `10^-scale`, the finest any use of it needs:
//! a base asset its instruments' lot sizes, a quote asset tick x lot times the fee rates' own
//! digits (a fee is exact too), and the configured starting balances. Positions are in lots and
//! their entry value (cost) and realized PnL in ticks x lots x 10^[`PNL_DIGITS`]: the share of
//! the cost a partial close removes is the one quotient, rounded half to even at that unit.
//! Every sum is checked: an overflow is an error and changes nothing.
//!
//! The configuration's amounts come in as core [`Decimal`]s (exact, with the digits written:
//! `"2.50"` has two). Amounts leave as [`Shown`]: an integer and the scale a `Decimal` built from
//! the same operations would show (`98.500` after a fill of lots of `0.001`, `2` before any), so
//! the APIs print what they printed when the ledger was Python's `Decimal`s.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use wintermute_core::decimal::{write_scaled, Decimal, Notation};

use crate::venue_orders::{Effect, NewOrder, OrderTableError, VenueOrders, BUY};

/// Extra decimal digits of positions' cost and realized PnL beyond ticks x lots.
pub const PNL_DIGITS: u32 = 10;
/// The finest unit an asset may need (`10^-MAX_SCALE`).
pub const MAX_SCALE: u32 = 30;

/// An amount as the APIs show it: `units x 10^-scale`, the digits and exponent a Python
/// `Decimal` built from the same operations would have (`98.500` after a fill of lots of
/// `0.001`); [`fmt::Display`] writes it as Python's `str(Decimal)` does
/// ([`Notation::PythonStr`], core's one decimal writer).
///
/// Why not core's [`Decimal`]: it keeps at most 18 fractional digits and 31 characters of text
/// ([`INLINE_CAP`](wintermute_core::decimal::INLINE_CAP)), while an asset's unit goes down to
/// `10^-`[`MAX_SCALE`] (30) and positions' cost and realized PnL carry [`PNL_DIGITS`] more
/// digits (a cost of `12345.67890123456789012` is one a ledger shows exactly); and the scale,
/// not only the value, is part of what is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shown {
    /// The value in units of `10^-scale`.
    pub units: i128,
    /// Digits after the point.
    pub scale: u32,
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_scaled(f, self.units, self.scale, Notation::PythonStr)
    }
}

/// The value of a configuration decimal in units of `10^-scale` (`scale` >= its own); None on
/// overflow.
fn units(d: Decimal, scale: u32) -> Option<i128> {
    d.mantissa().checked_mul(pow10(scale.checked_sub(d.scale())?)?)
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Refused or impossible: a venue error code and a message; the ledger is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LedgerError {
    /// `INSUFFICIENT_BALANCE`, `OVERFLOW`, `INVALID_CONFIG`, `UNKNOWN_INSTRUMENT`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

fn error(code: &'static str, message: impl Into<String>) -> LedgerError {
    LedgerError { code, message: message.into() }
}

fn overflow() -> LedgerError {
    error("OVERFLOW", "an amount is out of the ledger's integer range")
}

impl From<LedgerError> for OrderTableError {
    fn from(e: LedgerError) -> Self {
        Self { code: e.code, message: e.message }
    }
}

/// One instrument of the ledger's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstrumentAssets {
    /// The asset bought and sold.
    pub base: String,
    /// The asset prices are in (and fees are charged in).
    pub quote: String,
    /// Price tick.
    pub tick: Decimal,
    /// Quantity lot.
    pub lot: Decimal,
}

/// What a ledger starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerConfig {
    /// The instruments, in the engine's id order.
    pub instruments: Vec<InstrumentAssets>,
    /// Maker fee in basis points of the notional.
    pub maker_bps: Decimal,
    /// Taker fee in basis points of the notional.
    pub taker_bps: Decimal,
    /// Every account's starting balances (asset, amount).
    pub defaults: Vec<(String, Decimal)>,
    /// Accounts with their own starting balances (instead of the defaults).
    pub accounts: Vec<(u32, Vec<(String, Decimal)>)>,
}

#[derive(Debug, Clone)]
struct Asset {
    name: String,
    scale: u32,
}

#[derive(Debug, Clone, Copy)]
struct Inst {
    base: usize,
    quote: usize,
    /// One lot in base units; its shown scale.
    lot: i128,
    lot_scale: u32,
    /// One tick x one lot in quote units; its shown scale.
    tick_lot: i128,
    tick_lot_scale: u32,
    /// A fee per tick x lot of notional in quote units, and its ideal shown scale (maker, taker).
    fee: [i128; 2],
    fee_scale: [u32; 2],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Holding {
    free: i128,
    locked: i128,
    free_scale: u32,
    locked_scale: u32,
}

/// A position: lots, entry value and realized PnL (ticks x lots x 10^PNL_DIGITS), fees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pos {
    qty: i128,
    cost: i128,
    realized: i128,
    fees: i128,
    fees_scale: u32,
}

#[derive(Debug, Clone, Default)]
struct Account {
    /// By asset id (None: never held nor asked about).
    holdings: Vec<Option<Holding>>,
    positions: HashMap<u32, Pos>,
}

/// One account's position in one instrument, as [`VenueLedger::positions`] shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionView {
    /// The instrument's id.
    pub instrument: u32,
    /// Net base quantity (bought minus sold).
    pub qty: Shown,
    /// Entry value of the open position, signed (quote).
    pub cost: Shown,
    /// Realized PnL (quote).
    pub realized: Shown,
    /// Fees paid (quote).
    pub fees: Shown,
}

/// A hold checked and ready to take ([`VenueLedger::plan_lock`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldPlan {
    account: u32,
    asset: usize,
    after: Holding,
}

/// Balances and positions per account (see the module docs).
#[derive(Debug, Clone)]
pub struct VenueLedger {
    assets: Vec<Asset>,
    instruments: Vec<Inst>,
    defaults: Vec<(usize, i128, u32)>,
    starts: HashMap<u32, Vec<(usize, i128, u32)>>,
    accounts: HashMap<u32, Account>,
}

fn asset_id(assets: &mut Vec<Asset>, name: &str) -> usize {
    assets.iter().position(|a| a.name == name).unwrap_or_else(|| {
        assets.push(Asset { name: name.to_owned(), scale: 0 });
        assets.len() - 1
    })
}

fn positive(d: Decimal, what: &str) -> Result<Decimal, LedgerError> {
    if !d.is_positive() {
        return Err(error("INVALID_CONFIG", format!("{what} must be positive")));
    }
    Ok(d)
}

fn bps_of(d: Decimal) -> Result<Decimal, LedgerError> {
    if d.raw() < 0 {
        return Err(error("INVALID_CONFIG", "fee rates must be >= 0"));
    }
    Ok(d)
}

impl VenueLedger {
    /// A ledger of `config` (`INVALID_CONFIG` for a non-positive tick or lot, a negative fee
    /// rate, or amounts finer than `10^-MAX_SCALE`).
    pub fn new(config: &LedgerConfig) -> Result<Self, LedgerError> {
        let mut assets = Vec::new();
        let rates = [bps_of(config.maker_bps)?, bps_of(config.taker_bps)?];
        let rate_scale = rates[0].scale().max(rates[1].scale());
        let mut ids = Vec::with_capacity(config.instruments.len());
        for i in &config.instruments {
            let (tick, lot) = (positive(i.tick, "tick")?, positive(i.lot, "lot")?);
            let (base, quote) = (asset_id(&mut assets, &i.base), asset_id(&mut assets, &i.quote));
            let quote_scale = tick.scale() + lot.scale() + rate_scale + 4;
            assets[base].scale = assets[base].scale.max(lot.scale());
            assets[quote].scale = assets[quote].scale.max(quote_scale);
            ids.push((base, quote, tick, lot));
        }
        let mut starts = HashMap::new();
        let start_of = |assets: &mut Vec<Asset>, list: &[(String, Decimal)]| {
            list.iter()
                .map(|(name, d)| {
                    let id = asset_id(assets, name);
                    assets[id].scale = assets[id].scale.max(d.scale());
                    (id, *d)
                })
                .collect::<Vec<_>>()
        };
        let defaults = start_of(&mut assets, &config.defaults);
        let per_account: Vec<_> = config.accounts.iter().map(|(a, l)| (*a, start_of(&mut assets, l))).collect();
        if let Some(a) = assets.iter().find(|a| a.scale > MAX_SCALE) {
            return Err(error("INVALID_CONFIG", format!("asset {} needs more than {MAX_SCALE} decimals", a.name)));
        }
        let start_units = |assets: &[Asset], list: Vec<(usize, Decimal)>| {
            list.into_iter()
                .map(|(id, d)| Ok((id, units(d, assets[id].scale).ok_or_else(overflow)?, d.scale())))
                .collect::<Result<Vec<_>, LedgerError>>()
        };
        for (account, list) in per_account {
            starts.insert(account, start_units(&assets, list)?);
        }
        let mut instruments = Vec::with_capacity(ids.len());
        for (base, quote, tick, lot) in ids {
            let q = assets[quote].scale;
            // One tick x one lot: `tick_lot x 10^-tick_lot_scale`, then in quote units.
            let tick_lot = tick.mantissa().checked_mul(lot.mantissa()).ok_or_else(overflow)?;
            let tick_lot_scale = tick.scale() + lot.scale();
            let tl = (q.checked_sub(tick_lot_scale).and_then(pow10))
                .and_then(|p| tick_lot.checked_mul(p))
                .ok_or_else(overflow)?;
            let mut fee = [0; 2];
            let mut fee_scale = [0; 2];
            for (k, r) in rates.iter().enumerate() {
                // tl is a multiple of 10^(rate_scale + 4): a fee is whole quote units.
                let per = units(*r, rate_scale).and_then(|m| m.checked_mul(tl / pow10(rate_scale + 4)?));
                fee[k] = per.ok_or_else(overflow)?;
                fee_scale[k] = tick.scale() + lot.scale() + r.scale();
            }
            let (lot_units, lot_scale) = (units(lot, assets[base].scale).ok_or_else(overflow)?, lot.scale());
            instruments.push(Inst {
                base,
                quote,
                lot: lot_units,
                lot_scale,
                tick_lot: tl,
                tick_lot_scale,
                fee,
                fee_scale,
            });
        }
        let defaults = start_units(&assets, defaults)?;
        Ok(Self { assets, instruments, defaults, starts, accounts: HashMap::new() })
    }

    fn inst(&self, instrument: u32) -> Result<Inst, LedgerError> {
        let i = usize::try_from(instrument).ok().and_then(|i| self.instruments.get(i));
        i.copied().ok_or_else(|| error("UNKNOWN_INSTRUMENT", format!("instrument {instrument} is not the ledger's")))
    }

    /// The asset, amount (in its units) and shown scale of a hold of `units`.
    fn hold_of(&self, instrument: u32, side: u8, units: i128) -> Result<(usize, i128, u32), LedgerError> {
        let i = self.inst(instrument)?;
        let (asset, per, scale) =
            if side == BUY { (i.quote, i.tick_lot, i.tick_lot_scale) } else { (i.base, i.lot, i.lot_scale) };
        Ok((asset, units.checked_mul(per).ok_or_else(overflow)?, scale))
    }

    fn start_account(&self, account: u32) -> Account {
        let start = self.starts.get(&account).unwrap_or(&self.defaults);
        let mut holdings = vec![None; self.assets.len()];
        for &(id, units, scale) in start {
            holdings[id] = Some(Holding { free: units, free_scale: scale, ..Holding::default() });
        }
        Account { holdings, positions: HashMap::new() }
    }

    fn holding(&mut self, account: u32, asset: usize) -> Holding {
        if !self.accounts.contains_key(&account) {
            let fresh = self.start_account(account);
            self.accounts.insert(account, fresh);
        }
        let acc = self.accounts.get_mut(&account).expect("just inserted");
        *acc.holdings[asset].get_or_insert_with(Holding::default)
    }

    fn set(&mut self, account: u32, asset: usize, h: Holding) {
        if let Some(acc) = self.accounts.get_mut(&account) {
            acc.holdings[asset] = Some(h);
        }
    }

    /// Checks that a hold of `units` (the order table's units) is free and returns it ready
    /// to take with [`Self::commit`]: `INSUFFICIENT_BALANCE` otherwise.
    pub fn plan_lock(&mut self, account: u32, instrument: u32, side: u8, units: i128) -> Result<HoldPlan, LedgerError> {
        let (asset, amount, scale) = self.hold_of(instrument, side, units)?;
        let h = self.holding(account, asset);
        if amount > h.free {
            let needs = self.shown(asset, amount, scale);
            let free = self.shown(asset, h.free, h.free_scale);
            let name = &self.assets[asset].name;
            let message = format!("account={account} asset={name} needs={needs} free={free}");
            return Err(error("INSUFFICIENT_BALANCE", message));
        }
        let after = moved(h, amount, scale).ok_or_else(overflow)?;
        Ok(HoldPlan { account, asset, after })
    }

    /// Takes a planned hold.
    pub fn commit(&mut self, plan: HoldPlan) {
        self.set(plan.account, plan.asset, plan.after);
    }

    /// `INSUFFICIENT_BALANCE` unless a hold of `units` more is free (nothing is taken).
    pub fn check(&mut self, account: u32, instrument: u32, side: u8, units: i128) -> Result<(), LedgerError> {
        self.plan_lock(account, instrument, side, units).map(|_| ())
    }

    /// Takes a hold of `units` if it is free (`INSUFFICIENT_BALANCE`, nothing taken, if not).
    pub fn lock(&mut self, account: u32, instrument: u32, side: u8, units: i128) -> Result<(), LedgerError> {
        let plan = self.plan_lock(account, instrument, side, units)?;
        self.commit(plan);
        Ok(())
    }

    /// Takes a hold without the check (a journal replayed at a restart: the check passed when
    /// the order was placed).
    pub fn hold(&mut self, account: u32, instrument: u32, side: u8, units: i128) -> Result<(), LedgerError> {
        let (asset, amount, scale) = self.hold_of(instrument, side, units)?;
        let after = moved(self.holding(account, asset), amount, scale).ok_or_else(overflow)?;
        self.set(account, asset, after);
        Ok(())
    }

    /// Gives back `units` of a hold (negative: holds more).
    pub fn release(&mut self, account: u32, instrument: u32, side: u8, units: i128) -> Result<(), LedgerError> {
        let neg = units.checked_neg().ok_or_else(overflow)?;
        self.hold(account, instrument, side, neg)
    }

    /// A fill of `lots` at `price` ticks of an order of `account`: `from_hold` (the order
    /// table's units) leaves the hold, the notional (buy) or the lots (sell) are paid, the
    /// other asset arrives, the fee is charged in the quote and the position moves. Returns
    /// the fee.
    #[allow(clippy::too_many_arguments)]
    pub fn fill(
        &mut self,
        account: u32,
        instrument: u32,
        side: u8,
        price: i64,
        lots: i64,
        maker: bool,
        from_hold: i128,
    ) -> Result<Shown, LedgerError> {
        let i = self.inst(instrument)?;
        let (_, held, hold_scale) = self.hold_of(instrument, side, from_hold)?;
        let ticks_lots = i128::from(price).checked_mul(i128::from(lots)).ok_or_else(overflow)?;
        let notional = ticks_lots.checked_mul(i.tick_lot).ok_or_else(overflow)?;
        let qty = i128::from(lots).checked_mul(i.lot).ok_or_else(overflow)?;
        let k = usize::from(!maker);
        let fee = ticks_lots.checked_mul(i.fee[k]).ok_or_else(overflow)?;
        let fee_shown = trim(fee, self.assets[i.quote].scale, i.fee_scale[k]);
        let (spend_asset, spend, spend_scale, get_asset, get, get_scale) = if side == BUY {
            (i.quote, notional, i.tick_lot_scale, i.base, qty, i.lot_scale)
        } else {
            (i.base, qty, i.lot_scale, i.quote, notional, i.tick_lot_scale)
        };
        // Everything computed first (checked), then written: an overflow changes nothing.
        let mut hs = [(spend_asset, self.holding(account, spend_asset)), (get_asset, self.holding(account, get_asset))];
        let out = at(&mut hs, spend_asset);
        out.locked = out.locked.checked_sub(held).ok_or_else(overflow)?;
        out.locked_scale = out.locked_scale.max(hold_scale);
        out.free = out.free.checked_add(held).and_then(|f| f.checked_sub(spend)).ok_or_else(overflow)?;
        out.free_scale = out.free_scale.max(hold_scale).max(spend_scale);
        let inn = at(&mut hs, get_asset);
        inn.free = inn.free.checked_add(get).ok_or_else(overflow)?;
        inn.free_scale = inn.free_scale.max(get_scale);
        let quote = at(&mut hs, i.quote);
        quote.free = quote.free.checked_sub(fee).ok_or_else(overflow)?;
        quote.free_scale = quote.free_scale.max(fee_shown.scale);
        let signed = if side == BUY { i128::from(lots) } else { -i128::from(lots) };
        let acc_pos = self.accounts.get(&account).and_then(|a| a.positions.get(&instrument)).copied();
        let pos = moved_position(acc_pos.unwrap_or_default(), signed, price, fee, fee_shown.scale)?;
        for (asset, h) in hs.into_iter().rev() {
            self.set(account, asset, h); // the same asset twice: the first one (all changes) wins
        }
        if let Some(acc) = self.accounts.get_mut(&account) {
            acc.positions.insert(instrument, pos);
        }
        Ok(fee_shown)
    }

    /// Carries out the ledger's part of a batch's effects (the order table's, in the engine's
    /// order): each hold given back ([`Effect::Unlock`], removed from `effects`) and each fill
    /// ([`Effect::Fill`], its fee filled in). A failure (an overflow) leaves the ledger as it
    /// was for that effect and is returned; the rest go on.
    pub fn carry_out(&mut self, effects: &mut Vec<Effect>) -> Vec<LedgerError> {
        let mut failed = Vec::new();
        effects.retain_mut(|e| match e {
            Effect::Unlock { account, instrument, side, units } => {
                if let Err(err) = self.release(*account, *instrument, *side, *units) {
                    failed.push(err);
                }
                false
            }
            Effect::Fill { account, instrument, side, qty, price, maker, from_hold, fee, fee_scale, .. } => {
                match self.fill(*account, *instrument, *side, *price, *qty, *maker, *from_hold) {
                    Ok(shown) => (*fee, *fee_scale) = (shown.units, shown.scale),
                    Err(err) => failed.push(err),
                }
                true
            }
            _ => true,
        });
        failed
    }

    fn shown(&self, asset: usize, units: i128, scale: u32) -> Shown {
        let s = self.assets[asset].scale;
        Shown { units: units / pow10(s - scale.min(s)).unwrap_or(1), scale: scale.min(s) }
    }

    /// `account`'s balances: (asset, free, locked) of every asset it holds or held (or was
    /// asked about), sorted by name.
    pub fn balances(&self, account: u32) -> Vec<(&str, Shown, Shown)> {
        let fresh;
        let acc = match self.accounts.get(&account) {
            Some(a) => a,
            None => {
                fresh = self.start_account(account);
                &fresh
            }
        };
        let mut out: Vec<_> = (acc.holdings.iter().enumerate())
            .filter_map(|(id, h)| h.map(|h| (id, h)))
            .map(|(id, h)| {
                let name = self.assets[id].name.as_str();
                (name, self.shown(id, h.free, h.free_scale), self.shown(id, h.locked, h.locked_scale))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(b.0));
        out
    }

    /// `account`'s positions, in instrument id order (`OVERFLOW` if one is out of range).
    pub fn positions(&self, account: u32) -> Result<Vec<PositionView>, LedgerError> {
        let Some(acc) = self.accounts.get(&account) else { return Ok(Vec::new()) };
        let mut out = Vec::with_capacity(acc.positions.len());
        for (&id, p) in &acc.positions {
            let i = self.inst(id)?;
            // One lot and one tick x lot at their own scales.
            let lot = i.lot / pow10(self.assets[i.base].scale - i.lot_scale).ok_or_else(overflow)?;
            let tl = i.tick_lot / pow10(self.assets[i.quote].scale - i.tick_lot_scale).ok_or_else(overflow)?;
            let pnl = |v: i128| {
                let units = v.checked_mul(tl).ok_or_else(overflow)?;
                Ok::<_, LedgerError>(Shown { units, scale: i.tick_lot_scale + PNL_DIGITS })
            };
            let qty = Shown { units: p.qty.checked_mul(lot).ok_or_else(overflow)?, scale: i.lot_scale };
            let fees = self.shown(i.quote, p.fees, p.fees_scale);
            out.push(PositionView { instrument: id, qty, cost: pnl(p.cost)?, realized: pnl(p.realized)?, fees });
        }
        out.sort_by_key(|p| p.instrument);
        Ok(out)
    }
}

/// The holding of `asset` among a fill's two (the first one if both are the same asset).
fn at(hs: &mut [(usize, Holding); 2], asset: usize) -> &mut Holding {
    let i = usize::from(hs[0].0 != asset);
    &mut hs[i].1
}

/// `h` with `amount` (at shown scale `scale`) moved from free to locked; None on overflow.
fn moved(h: Holding, amount: i128, scale: u32) -> Option<Holding> {
    Some(Holding {
        free: h.free.checked_sub(amount)?,
        locked: h.locked.checked_add(amount)?,
        free_scale: h.free_scale.max(scale),
        locked_scale: h.locked_scale.max(scale),
    })
}

/// `units` at `scale` without the trailing zeros below `ideal` (Python's exact division).
fn trim(mut units: i128, mut scale: u32, ideal: u32) -> Shown {
    while scale > ideal && units % 10 == 0 {
        units /= 10;
        scale -= 1;
    }
    Shown { units, scale }
}

/// `n / d` rounded half to even (`d` > 0).
fn div_round(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    let twice = r.unsigned_abs() * 2;
    let d = d.unsigned_abs();
    if twice > d || (twice == d && q % 2 != 0) {
        q + n.signum()
    } else {
        q
    }
}

/// `p` after a fill of `signed` lots at `price` ticks with `fee` (average cost).
fn moved_position(mut p: Pos, signed: i128, price: i64, fee: i128, fee_scale: u32) -> Result<Pos, LedgerError> {
    let o = overflow;
    p.fees = p.fees.checked_add(fee).ok_or_else(o)?;
    p.fees_scale = p.fees_scale.max(fee_scale);
    let unit = pow10(PNL_DIGITS).ok_or_else(o)?;
    let value = |lots: i128| lots.checked_mul(i128::from(price)).and_then(|v| v.checked_mul(unit)).ok_or_else(o);
    if p.qty == 0 || (p.qty > 0) == (signed > 0) {
        p.qty = p.qty.checked_add(signed).ok_or_else(o)?;
        p.cost = p.cost.checked_add(value(signed)?).ok_or_else(o)?;
        return Ok(p);
    }
    let held = p.qty.abs();
    let closing = signed.abs().min(held);
    let sign = p.qty.signum();
    // The share of the cost that leaves: cost x closing / held, split so that no product
    // outgrows the cost itself.
    let (whole, part) = (p.cost / held, p.cost % held);
    let share = part.checked_mul(closing).map(|x| div_round(x, held)).ok_or_else(o)?;
    let removed = whole.checked_mul(closing).and_then(|x| x.checked_add(share)).ok_or_else(o)?;
    let gained = value(closing)?.checked_mul(sign).ok_or_else(o)?;
    p.realized = p.realized.checked_add(gained).and_then(|r| r.checked_sub(removed)).ok_or_else(o)?;
    p.cost -= removed;
    p.qty += signed;
    if p.qty == 0 {
        p.cost = 0;
    }
    if signed.abs() > closing {
        p.cost = value(p.qty)?; // flipped: the rest opens a position the other way
    }
    Ok(p)
}

/// Registers a new order with the order table and takes its hold, as one step: the ledger's
/// `INSUFFICIENT_BALANCE` or the table's error leave both unchanged.
pub fn place_with_hold(
    orders: &mut VenueOrders,
    ledger: &mut VenueLedger,
    o: &NewOrder<'_>,
) -> Result<u64, OrderTableError> {
    let plan = ledger.plan_lock(o.account, o.instrument, o.side, o.held)?;
    let id = orders.place(o)?;
    ledger.commit(plan);
    Ok(id)
}

mod state;

#[cfg(test)]
#[path = "venue_ledger_tests.rs"]
mod tests;

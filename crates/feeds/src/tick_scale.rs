//! [`TickScale`]: an instrument's tick and lot, and the exact conversions between decimal text
//! and integer ticks and lots (the one-pass parser of Binance's `["price","qty"]` included).
//! Used by the Binance integer books (`binance_ticks`) and the scaled book views (`sync`). Text off the
//! grid is an error ([`FeedError::OffGrid`]), never rounded.

use crate::error::FeedError;
use crate::tick_book::MAX_PRICE;
use wintermute_core::decimal::{eight_digits, Decimal, InlineStr};

/// The venue whose text layout [`fast_level`] reads (and whose errors this module writes).
pub(crate) const VENUE: &str = "binance";
/// The `reason` of a price or quantity beyond what a [`TickScale`] holds.
pub(crate) const BEYOND_RANGE: &str = "beyond the integer book's range";

/// A Binance `BadField` error.
pub(crate) fn bad(field: &'static str, reason: &'static str) -> FeedError {
    FeedError::BadField { venue: VENUE, field, reason }
}

/// Most fractional digits a [`TickScale`] accepts (so 10^digits and 19-digit mantissas fit i64).
pub const MAX_DECIMALS: u32 = 18;
const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// An instrument's price tick and quantity lot, for exact decimal <-> integer conversion.
///
/// Binance publishes them per symbol in `GET /api/v3/exchangeInfo`: `PRICE_FILTER.tickSize` and
/// `LOT_SIZE.stepSize`. Prices and quantities are accepted up to [`TickScale::max_price`] ticks
/// and [`TickScale::max_qty`] lots: what converts back to an exact [`Decimal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickScale {
    price_decimals: u32,
    tick: i64,
    qty_decimals: u32,
    lot: i64,
    max_price: i64,
    max_qty: i64,
    tick_size: Decimal,
    lot_size: Decimal,
}

impl TickScale {
    /// From the tick size and lot size as decimal text (`"0.01"`, `"0.00001"`).
    pub fn new(tick_size: &str, lot_size: &str) -> Result<Self, FeedError> {
        let (price_decimals, tick) = step(tick_size, "tick_size")?;
        let (qty_decimals, lot) = step(lot_size, "lot_size")?;
        let tick_size = Decimal::parse_unsigned(tick_size).map_err(|_| bad("tick_size", "not a plain decimal"))?;
        let lot_size = Decimal::parse_unsigned(lot_size).map_err(|_| bad("lot_size", "not a plain decimal"))?;
        let max_price = max_units(tick_size.raw(), price_decimals).min(MAX_PRICE);
        let max_qty = max_units(lot_size.raw(), qty_decimals);
        Ok(TickScale { price_decimals, tick, qty_decimals, lot, max_price, max_qty, tick_size, lot_size })
    }

    /// A price's text in ticks (exact; off the grid or too large is an error).
    #[inline]
    pub fn price(&self, text: &str) -> Result<i64, FeedError> {
        let ticks = to_units(text, self.price_decimals, self.tick, "price")?;
        if ticks > self.max_price {
            return Err(bad("price", BEYOND_RANGE));
        }
        Ok(ticks)
    }

    /// A quantity's text in lots (exact; off the grid or too large is an error).
    #[inline]
    pub fn qty(&self, text: &str) -> Result<i64, FeedError> {
        let lots = to_units(text, self.qty_decimals, self.lot, "qty")?;
        if lots > self.max_qty {
            return Err(bad("qty", BEYOND_RANGE));
        }
        Ok(lots)
    }

    /// The tick size.
    pub fn tick_size(&self) -> Decimal {
        self.tick_size
    }

    /// The lot size.
    pub fn lot_size(&self) -> Decimal {
        self.lot_size
    }

    /// The largest price accepted, in ticks.
    pub fn max_price(&self) -> i64 {
        self.max_price
    }

    /// The largest quantity accepted, in lots.
    pub fn max_qty(&self) -> i64 {
        self.max_qty
    }

    /// `ticks` × tick size as an exact decimal (canonical text). Exact for every price up to
    /// [`TickScale::max_price`]; beyond it (never read from a frame) the result is zero.
    #[inline]
    pub fn price_decimal(&self, ticks: i64) -> Decimal {
        steps_decimal(ticks, self.tick, self.price_decimals)
    }

    /// `lots` × lot size as an exact decimal (canonical text); see [`TickScale::price_decimal`].
    #[inline]
    pub fn qty_decimal(&self, lots: i64) -> Decimal {
        steps_decimal(lots, self.lot, self.qty_decimals)
    }

    /// `ticks` × tick size in units of 10^-18 (the raw value of [`TickScale::price_decimal`]).
    #[inline]
    pub fn price_raw(&self, ticks: i64) -> i128 {
        i128::from(ticks).saturating_mul(self.tick_size.raw())
    }

    /// `lots` × lot size in units of 10^-18.
    #[inline]
    pub fn qty_raw(&self, lots: i64) -> i128 {
        i128::from(lots).saturating_mul(self.lot_size.raw())
    }
}

/// The most steps of `raw` (units of 10^-18) whose value still has exact decimal text within
/// [`INLINE_CAP`](wintermute_core::decimal::INLINE_CAP) characters: below 10^20 and, with `decimals` fractional digits, at most
/// `30 - decimals` integer digits.
fn max_units(raw: i128, decimals: u32) -> i64 {
    let int_digits = if decimals == 0 { 20 } else { 20.min(30 - decimals.min(30)) };
    let limit = 10i128.pow(int_digits + 18);
    i64::try_from((limit - 1) / raw).unwrap_or(i64::MAX)
}

/// `n` steps of `step` units of 10^-`decimals` as a decimal with canonical text (core's
/// [`Decimal::try_new_normalized`], in integer arithmetic: no `i128` division for the usual
/// value, which matters where whole books are published as decimals).
#[inline]
fn steps_decimal(n: i64, step: i64, decimals: u32) -> Decimal {
    let units = i128::from(n).checked_mul(i128::from(step)).filter(|u| *u >= 0);
    let decimal = units.and_then(|u| Decimal::try_new_normalized(u, decimals));
    debug_assert!(decimal.is_some(), "{n} steps of {step} beyond the scale's range");
    decimal.unwrap_or(Decimal::ZERO)
}

/// A step size's fractional digits and value in units of 10^-digits.
fn step(text: &str, field: &'static str) -> Result<(u32, i64), FeedError> {
    let digits = match text.split_once('.') {
        Some((_, frac)) => frac.trim_end_matches('0').len() as u32,
        None => 0,
    };
    if digits > MAX_DECIMALS {
        return Err(bad(field, "more than 18 fractional digits"));
    }
    let units = fixed(text.as_bytes(), digits).ok_or(bad(field, "not a plain decimal"))?;
    if units <= 0 {
        return Err(bad(field, "must be positive"));
    }
    Ok((digits, units))
}

/// Plain decimal text in units of 10^-`decimals`, exactly (extra fractional digits must be zeros).
#[inline]
fn fixed(s: &[u8], decimals: u32) -> Option<i64> {
    let n = s.len();
    let mut i = 0;
    let mut m: i64 = 0;
    while i < n && s[i].is_ascii_digit() {
        m = m.checked_mul(10)?.checked_add(i64::from(s[i] - b'0'))?;
        i += 1;
    }
    let mut digits = i;
    let mut frac = 0u32;
    if i < n && s[i] == b'.' {
        i += 1;
        let start = i;
        while i < n && s[i].is_ascii_digit() {
            if frac < decimals {
                m = m.checked_mul(10)?.checked_add(i64::from(s[i] - b'0'))?;
                frac += 1;
            } else if s[i] != b'0' {
                return None;
            }
            i += 1;
        }
        digits += i - start;
    }
    if i != n || digits == 0 {
        return None;
    }
    m.checked_mul(POW10[(decimals - frac) as usize])
}

#[inline]
fn to_units(text: &str, decimals: u32, step: i64, field: &'static str) -> Result<i64, FeedError> {
    let off_grid =
        || FeedError::OffGrid { venue: VENUE, symbol: InlineStr::EMPTY, field, value: InlineStr::truncated(text) };
    let Some(units) = fixed(text.as_bytes(), decimals) else {
        // Why not: malformed text, digits below the step (off the grid), or too large.
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || !digits(frac) || int.len() + frac.len() == 0 {
            return Err(bad(field, "not a plain decimal (digits and one '.')"));
        }
        let below_step = frac.bytes().skip(decimals as usize).any(|b| b != b'0');
        return Err(if below_step { off_grid() } else { bad(field, BEYOND_RANGE) });
    };
    // A power-of-ten step (the usual case) is 1 unit: no division.
    if step == 1 {
        return Ok(units);
    }
    if units % step != 0 {
        return Err(off_grid());
    }
    Ok(units / step)
}

/// One pass over `["price","qty"]` written plainly (digits, one `.`, no spaces), scanning and
/// converting at once: (ticks, lots, bytes used). Anything unusual, including every error case,
/// returns `None` and the general path (which reports the precise error) takes over.
#[inline]
pub(crate) fn fast_level(b: &[u8], scale: &TickScale) -> Option<(i64, i64, usize)> {
    if b.get(..2)? != b"[\"" {
        return None;
    }
    let (price, end) = fast_decimal(b, 2, scale.price_decimals)?;
    if b.get(end..end + 3)? != b"\",\"" {
        return None;
    }
    let (qty, end) = fast_decimal(b, end + 3, scale.qty_decimals)?;
    if b.get(end..end + 2)? != b"\"]" {
        return None;
    }
    let price = on_step(price, scale.tick)?;
    let qty = on_step(qty, scale.lot)?;
    (price <= scale.max_price && qty <= scale.max_qty).then_some((price, qty, end + 2))
}

/// Decimal digits from `b[i]` to the next byte that is not a digit or the one `.`, in units of
/// 10^-`decimals`: (units, index of the byte after the number). At most 18 significant digits.
#[inline]
fn fast_decimal(b: &[u8], mut i: usize, decimals: u32) -> Option<(i64, usize)> {
    let mut m: i64 = 0;
    let mut digits = 0u32;
    while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10) {
        m = m * 10 + i64::from(d);
        digits += 1;
        i += 1;
        if digits > 18 {
            return None;
        }
    }
    if digits == 0 {
        return None;
    }
    let mut frac = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        // Binance writes exactly 8 fractional digits: take them in one word when they are there.
        if let Some(word) = b.get(i..i + 8) {
            let v = u64::from_le_bytes(word.try_into().ok()?);
            if eight_digits(v) && !b.get(i + 8).is_some_and(u8::is_ascii_digit) {
                let (value, used) = fraction8(v, decimals)?;
                if digits + used > 18 {
                    return None;
                }
                m = m * POW10[used as usize] + value;
                return Some((m.checked_mul(POW10[(decimals - used) as usize])?, i + 8));
            }
        }
        while let Some(d) = b.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d < 10) {
            if frac < decimals {
                m = m * 10 + i64::from(d);
                frac += 1;
                digits += 1;
                if digits > 18 {
                    return None;
                }
            } else if d != 0 {
                return None;
            }
            i += 1;
        }
    }
    Some((m.checked_mul(POW10[(decimals - frac) as usize])?, i))
}

/// The value of 8 ASCII digits (little-endian word), as `i64`.
#[inline]
fn parse8(v: u64) -> i64 {
    wintermute_core::decimal::parse8(v) as i64
}

/// An 8-digit fraction at `decimals` places: (value of its first `min(decimals, 8)` digits, how
/// many), or `None` when a digit past `decimals` is not zero.
#[inline]
fn fraction8(v: u64, decimals: u32) -> Option<(i64, u32)> {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    if decimals >= 8 {
        return Some((parse8(v), 8));
    }
    if decimals == 0 {
        return (v == ZEROS).then_some((0, 0));
    }
    let keep = 8 * decimals;
    // Digits past `decimals` sit in the high bytes: they must all be '0'.
    if v >> keep != ZEROS >> keep {
        return None;
    }
    // Move the kept digits to the top and fill below with '0': the word then reads as them.
    Some((parse8((v << (64 - keep)) | (ZEROS >> keep)), decimals))
}

#[inline]
fn on_step(units: i64, step: i64) -> Option<i64> {
    if step == 1 {
        Some(units)
    } else if units % step == 0 {
        Some(units / step)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The decimals read back give exactly `Decimal::from_raw`'s value and text.
        #[test]
        fn decimals_are_from_raw_exactly(
            n in 0i64..=i64::MAX,
            tick in proptest::sample::select(vec!["1", "0.5", "0.01", "0.05", "0.0001", "0.00000001", "1000", "0.000000000000000001", "25"]),
        ) {
            let s = TickScale::new(tick, tick).unwrap();
            let n = n % (s.max_price() + 1);
            let want = Decimal::from_raw(i128::from(n) * s.tick_size().raw()).unwrap();
            let got = s.price_decimal(n);
            proptest::prop_assert_eq!((got.raw(), got.as_str()), (want.raw(), want.as_str()));
            let small = n % 100_000_000;
            let want = Decimal::from_raw(i128::from(small) * s.lot_size().raw()).unwrap();
            let got = s.qty_decimal(small);
            proptest::prop_assert_eq!((got.raw(), got.as_str()), (want.raw(), want.as_str()));
        }
    }

    #[test]
    fn eight_digit_fractions_in_one_word() {
        let level = |text: &str, s: &TickScale| fast_level(text.as_bytes(), s).map(|(p, q, _)| (p, q));
        let dot = TickScale::new("0.0001", "0.00000001").unwrap();
        assert_eq!(level(r#"["43.50830000","7.00000000"]"#, &dot), Some((435_083, 700_000_000)));
        assert_eq!(level(r#"["43.50830001","7.00000000"]"#, &dot), None, "off the tick");
        let btc = TickScale::new("0.01", "0.000001").unwrap();
        assert_eq!(level(r#"["58001.03000000","0.08620500"]"#, &btc), Some((5_800_103, 86_205)));
        assert_eq!(level(r#"["58001.03000000","0.08620501"]"#, &btc), None, "off the lot");
        let whole = TickScale::new("1", "1").unwrap();
        assert_eq!(level(r#"["7.00000000","12.00000000"]"#, &whole), Some((7, 12)));
        assert_eq!(level(r#"["7.10000000","1"]"#, &whole), None);
        assert_eq!(level(r#"["7.123456789","1"]"#, &dot), None, "nine digits: loop path, off the tick");
        assert_eq!(level(r#"["7.12340000","1"]"#, &dot).map(|l| l.0), Some(71_234));
    }

    #[test]
    fn scales_are_exact() {
        let s = TickScale::new("0.05", "0.001").unwrap();
        assert_eq!(s.price("100.05").unwrap(), 2001);
        assert_eq!(s.price("100.0500000").unwrap(), 2001);
        assert!(s.price("100.01").is_err(), "off the 0.05 grid");
        assert!(s.price("100.0501").is_err());
        assert_eq!(s.qty("1.5").unwrap(), 1500);
        assert_eq!(s.qty("0.00000000").unwrap(), 0);
        for bad in ["", ".", "1.2.3", "-1", "1e5", "99999999999999999999"] {
            assert!(s.price(bad).is_err(), "{bad}");
        }
        assert!(TickScale::new("0", "1").is_err());
        assert!(TickScale::new("abc", "1").is_err());
        assert_eq!(TickScale::new("1", "10").unwrap().qty("30").unwrap(), 3);
    }
}

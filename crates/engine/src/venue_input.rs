//! The venue's order input checks, in one place: an order's quantity and price, read as
//! Python's `decimal.Decimal` reads text, checked against its instrument's bounds and grid and
//! turned into lots and ticks, or refused with the venue's code and message. Both order
//! entries answer with them: the Python venue (`Venue.place`, `Venue.amend`, through the
//! bindings' `wintermute._core.OrderGrid`) and the Rust listener ([`crate::venue_entry`]).
//!
//! # What is read
//!
//! A quantity or price is text as `Decimal(text.strip())` reads it: Python's whitespace around
//! it, an optional sign, digits (any Unicode decimal digits; `_` anywhere is ignored) with at
//! most one point, an optional exponent (`1.5E+3`), or `Infinity` / `NaN` / `sNaN` (refused as
//! not finite). The value is exact whatever its digits or exponent: nothing is rounded and
//! nothing is written out (`1E+999999999` is compared, not expanded). The exponent's range is
//! Python's (`1E+1000000000000000000` is not a decimal there either).
//!
//! # The checks, in order
//!
//! | refused when | quantity | price |
//! |---|---|---|
//! | not a decimal, or not finite | `INVALID_QTY` | `INVALID_PRICE` |
//! | not positive | `INVALID_QTY` | (no such check) |
//! | outside `[min, max]` | `INVALID_QTY` | `INVALID_PRICE` |
//! | not a whole number of lots / ticks | `INVALID_QTY` | `OFF_TICK` |
//!
//! Messages show a value as Python's `str(Decimal)` does (`1E-7`, `-0`, `1.50E+3`), and text
//! that is not a decimal as Python's `repr` of its first 40 characters:
//!
//! ```
//! use wintermute_engine::venue_input::EntryInstrument;
//! let btc = EntryInstrument::new("BTC-USD", ["0.01", "0.001", "0.001", "100", "1", "1000000"]).unwrap();
//! assert_eq!(btc.lots_of("1.5").unwrap(), 1500);
//! assert_eq!(btc.ticks_of(" 1_00.25e0 ").unwrap(), 10025);
//! let e = btc.lots_of("1.5E+3").unwrap_err();
//! assert_eq!((e.code, e.message.as_str()), ("INVALID_QTY", "qty=1.5E+3 outside [0.001, 100] for BTC-USD"));
//! let e = btc.ticks_of("100.001").unwrap_err();
//! assert_eq!((e.code, e.message.as_str()), ("OFF_TICK", "price=100.001 is not a multiple of tick_size=0.01"));
//! assert_eq!(btc.ticks_of("abc").unwrap_err().message, "price='abc' is not a decimal");
//! ```
//!
//! An accepted value written in ASCII is checked without allocating (only a refusal's message
//! is: `tests/venue_input_no_alloc.rs`).
//!
//! The instrument's own bounds are read the same way; they must be exact in 10^-18 units
//! within an `i128`, and every in-bounds multiple of the grid must be an `i64` of lots or
//! ticks ([`EntryInstrument::new`]).

use std::borrow::Cow;
use std::fmt::Write as _;

use wintermute_core::decimal::{write_scaled, Notation};

use crate::venue_orders::OrderTableError;

/// Which value of an order a text is: its name in messages and its codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The quantity, in lots: `INVALID_QTY`.
    Qty,
    /// The limit price, in ticks: `INVALID_PRICE`, `OFF_TICK` off the grid.
    Price,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Qty => "qty",
            Field::Price => "price",
        }
    }

    fn code(self) -> &'static str {
        match self {
            Field::Qty => "INVALID_QTY",
            Field::Price => "INVALID_PRICE",
        }
    }

    fn off_grid_code(self) -> &'static str {
        match self {
            Field::Qty => "INVALID_QTY",
            Field::Price => "OFF_TICK",
        }
    }

    fn unit_name(self) -> &'static str {
        match self {
            Field::Qty => "lot_size",
            Field::Price => "tick_size",
        }
    }
}

/// Why a text was refused: not a decimal at all (the caller quotes it: [`not_a_decimal`]), or
/// any other refusal, with its code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not decimal text.
    NotDecimal,
    /// Refused with this code and message.
    Error(OrderTableError),
}

fn error(code: &'static str, message: String) -> OrderTableError {
    OrderTableError { code, message }
}

/// The refusal of a value that is not decimal text, `quoted` as Python's `repr` shows its
/// first 40 characters (`qty='abc' is not a decimal`).
pub fn not_a_decimal(field: Field, quoted: &str) -> OrderTableError {
    error(field.code(), format!("{}={quoted} is not a decimal", field.name()))
}

/// The refusal of a value of the wrong type (`type_name`: Python's `type(value).__name__`).
pub fn wrong_type(field: Field, type_name: &str) -> OrderTableError {
    error(field.code(), format!("{} must be a decimal string, not {type_name}", field.name()))
}

/// Python's `repr` of a `str`: exact for ASCII; other characters are kept, except control
/// characters and spaces, which are escaped (Python's own rule needs Unicode's categories).
pub fn python_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c if c.is_control() || c.is_whitespace() || c == '\u{ad}' => {
                let n = c as u32;
                let _ = match n {
                    0..=0xff => write!(out, "\\x{n:02x}"),
                    0x100..=0xffff => write!(out, "\\u{n:04x}"),
                    _ => write!(out, "\\U{n:08x}"),
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

// ---- reading text as Python's `Decimal` does ---------------------------------------------

/// The exponent range of the context `Decimal(text)` reads under (libmpdec's maximum
/// context): a finite value's adjusted exponent at most [`EMAX`], its exponent at least
/// [`ETINY`].
const EMAX: i128 = 999_999_999_999_999_999;
const ETINY: i128 = -1_999_999_999_999_999_997;

/// Python's `str.isspace()`.
fn is_python_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// The zero of each run of ten Unicode decimal digits beyond ASCII (Unicode 14, Python 3.11's;
/// `Decimal` reads them as the ASCII digits).
const DIGIT_ZEROS: [u32; 65] = [
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6, 0xE50, 0xED0, 0xF20,
    0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0,
    0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0,
    0x11450, 0x114D0, 0x11650, 0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0,
    0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

fn unicode_digit(c: char) -> Option<char> {
    let n = c as u32;
    let i = DIGIT_ZEROS.partition_point(|&z| z <= n);
    let d = n - DIGIT_ZEROS[i.checked_sub(1)?];
    (d < 10).then(|| char::from(b'0' + d as u8))
}

/// The ASCII text `Decimal` parses: Python's whitespace trimmed, `_` dropped, Unicode digits
/// as ASCII ones; `None` for any other character beyond ASCII (or a NUL). Borrowed when the
/// text is plain ASCII already.
fn normalize(text: &str) -> Option<Cow<'_, str>> {
    let text = text.trim_matches(is_python_space);
    if text.bytes().all(|b| b.is_ascii() && b != b'_' && b != 0) {
        return Some(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '_' => {}
            '\0' => return None,
            c if c.is_ascii() => out.push(c),
            c => out.push(unicode_digit(c)?),
        }
    }
    Some(Cow::Owned(out))
}

/// A decimal as `Decimal` holds it. Digits are ASCII, without leading zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value<'a> {
    /// `±coefficient × 10^exponent`; the coefficient's digits in two parts (before and after
    /// the point as written), both empty for zero.
    Finite {
        negative: bool,
        int: &'a str,
        frac: &'a str,
        exponent: i128,
    },
    Infinite {
        negative: bool,
    },
    NaN {
        negative: bool,
        signaling: bool,
        payload: &'a str,
    },
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// Reads normalized (ASCII) text with libmpdec's grammar and exponent range.
fn parse(text: &str) -> Option<Value<'_>> {
    let (negative, s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    for (prefix, signaling) in [("snan", true), ("nan", false)] {
        if let Some(payload) = strip_prefix_ignore_case(s, prefix) {
            let payload = payload.trim_start_matches('0');
            return all_digits(payload).then_some(Value::NaN { negative, signaling, payload });
        }
    }
    if let Some(rest) = strip_prefix_ignore_case(s, "inf") {
        return (rest.is_empty() || rest.eq_ignore_ascii_case("inity")).then_some(Value::Infinite { negative });
    }
    let (mantissa, exp_text) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let exp = match exp_text {
        None => 0,
        Some(t) => {
            let (neg, digits) = match t.as_bytes().first() {
                Some(b'-') => (true, &t[1..]),
                Some(b'+') => (false, &t[1..]),
                _ => (false, t),
            };
            if digits.is_empty() || !all_digits(digits) {
                return None;
            }
            let digits = digits.trim_start_matches('0');
            // Past 25 digits it is out of range whatever it is: saturate.
            let e = if digits.len() > 25 { 10i128.pow(25) } else { digits.parse::<i128>().unwrap_or(0) };
            if neg {
                -e
            } else {
                e
            }
        }
    };
    let exponent = exp - frac.len() as i128;
    let int = int.trim_start_matches('0');
    let frac = if int.is_empty() { frac.trim_start_matches('0') } else { frac };
    let digits = (int.len() + frac.len()).max(1) as i128;
    (exponent >= ETINY && exponent + digits - 1 <= EMAX).then_some(Value::Finite { negative, int, frac, exponent })
}

/// A finite value against the 10^-18 units of the instrument's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixed {
    /// Exactly this many units.
    Exact(i128),
    /// Strictly between this many units and one more.
    Between(i128),
    /// Beyond an `i128` of units, on this side (true: negative).
    Huge(bool),
}

impl Fixed {
    fn of(negative: bool, int: &str, frac: &str, exponent: i128) -> Fixed {
        let digits = || int.bytes().chain(frac.bytes());
        let n = (int.len() + frac.len()) as i128;
        if n == 0 {
            return Fixed::Exact(0);
        }
        let shift = exponent + 18; // the value in units: coefficient x 10^shift
        let whole_digits = n + shift;
        if whole_digits > 39 {
            return Fixed::Huge(negative);
        }
        let keep = whole_digits.clamp(0, n) as usize;
        let mut m: i128 = 0;
        for d in digits().take(keep) {
            match m.checked_mul(10).and_then(|m| m.checked_add(i128::from(d - b'0'))) {
                Some(v) => m = v,
                None => return Fixed::Huge(negative),
            }
        }
        if shift > 0 {
            match 10i128.checked_pow(shift as u32).and_then(|p| m.checked_mul(p)) {
                Some(v) => m = v,
                None => return Fixed::Huge(negative),
            }
        }
        let rest = digits().skip(keep).any(|d| d != b'0');
        match (negative, rest) {
            (false, false) => Fixed::Exact(m),
            (true, false) => Fixed::Exact(-m),
            (false, true) => Fixed::Between(m),
            (true, true) => Fixed::Between(-m - 1),
        }
    }

    fn below(self, bound: i128) -> bool {
        match self {
            Fixed::Exact(v) => v < bound,
            Fixed::Between(floor) => floor < bound,
            Fixed::Huge(negative) => negative,
        }
    }

    fn above(self, bound: i128) -> bool {
        match self {
            Fixed::Exact(v) => v > bound,
            Fixed::Between(floor) => floor >= bound,
            Fixed::Huge(negative) => !negative,
        }
    }

    fn positive(self) -> bool {
        match self {
            Fixed::Exact(v) => v > 0,
            Fixed::Between(floor) => floor >= 0,
            Fixed::Huge(negative) => !negative,
        }
    }
}

impl Value<'_> {
    /// Python's `str()` of it.
    fn python_str(&self) -> String {
        let mut out = String::new();
        match *self {
            Value::NaN { negative, signaling, payload } => {
                out.push_str(if negative { "-" } else { "" });
                out.push_str(if signaling { "sNaN" } else { "NaN" });
                out.push_str(payload);
            }
            Value::Infinite { negative } => out.push_str(if negative { "-Infinity" } else { "Infinity" }),
            Value::Finite { negative, int, frac, exponent } => {
                if negative {
                    out.push('-');
                }
                let digits: Cow<'_, str> = match (int.is_empty(), frac.is_empty()) {
                    (true, true) => "0".into(),
                    (false, true) => int.into(),
                    (true, false) => frac.into(),
                    (false, false) => format!("{int}{frac}").into(),
                };
                let n = digits.len() as i128;
                let adjusted = exponent + n - 1;
                if exponent <= 0 && adjusted >= -6 {
                    let point = n + exponent; // digits left of the point
                    if exponent == 0 {
                        out.push_str(&digits);
                    } else if point > 0 {
                        let (whole, part) = digits.split_at(point as usize);
                        let _ = write!(out, "{whole}.{part}");
                    } else {
                        out.push_str("0.");
                        out.push_str(&"0".repeat((-point) as usize));
                        out.push_str(&digits);
                    }
                } else {
                    let (first, rest) = digits.split_at(1);
                    out.push_str(first);
                    if !rest.is_empty() {
                        out.push('.');
                        out.push_str(rest);
                    }
                    let _ = write!(out, "E{}{}", if adjusted < 0 { '-' } else { '+' }, adjusted.unsigned_abs());
                }
            }
        }
        out
    }
}

/// Reads `text` as `Decimal(text.strip())` would; `None` if it is not decimal text.
fn read(text: &str, then: impl FnOnce(Value<'_>) -> Result<i64, Refused>) -> Result<i64, Refused> {
    let ascii = normalize(text).ok_or(Refused::NotDecimal)?;
    let value = parse(&ascii).ok_or(Refused::NotDecimal)?;
    then(value)
}

// ---- the instrument ----------------------------------------------------------------------

/// One of an instrument's bounds, or its tick or lot size: its value in 10^-18 units, and as
/// Python's `str(Decimal)` shows it.
#[derive(Debug, Clone)]
struct Bound {
    units: i128,
    shown: String,
    /// The value as digits and a count of fractional digits (for writing multiples of it).
    mantissa: i128,
    scale: u32,
}

impl Bound {
    fn read(symbol: &str, name: &str, text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{symbol}: {name}={} {why}", python_repr(text));
        let ascii = normalize(text).ok_or_else(|| bad("is not a decimal"))?;
        let value = parse(&ascii).ok_or_else(|| bad("is not a decimal"))?;
        let Value::Finite { negative, int, frac, exponent } = value else { return Err(bad("is not finite")) };
        let Fixed::Exact(units) = Fixed::of(negative, int, frac, exponent) else {
            return Err(bad("is not a whole number of 10^-18 within an i128"));
        };
        let coefficient = || -> Option<i128> {
            let mut m: i128 = 0;
            for d in int.bytes().chain(frac.bytes()) {
                m = m.checked_mul(10)?.checked_add(i128::from(d - b'0'))?;
            }
            let m = if exponent > 0 { m.checked_mul(10i128.checked_pow(exponent as u32)?)? } else { m };
            Some(if negative { -m } else { m })
        };
        let mantissa = coefficient().ok_or_else(|| bad("has too many digits"))?;
        let scale = u32::try_from(-exponent.min(0)).map_err(|_| bad("has too many digits"))?;
        Ok(Self { units, shown: value.python_str(), mantissa, scale })
    }
}

/// An instrument's grid and bounds, as the venue checks an order's price and quantity.
#[derive(Debug, Clone)]
pub struct EntryInstrument {
    /// The symbol.
    pub symbol: String,
    tick: Bound,
    lot: Bound,
    min_qty: Bound,
    max_qty: Bound,
    min_price: Bound,
    max_price: Bound,
}

impl EntryInstrument {
    /// From the config's decimal text (`str(Decimal)` or plain), in the order tick size, lot
    /// size, min and max quantity, min and max price. Tick and lot sizes must be positive,
    /// every value exact in 10^-18 units within an `i128`, and the bounds at most `i64::MAX`
    /// lots or ticks from zero.
    pub fn new(symbol: &str, [tick, lot, min_qty, max_qty, min_price, max_price]: [&str; 6]) -> Result<Self, String> {
        let read = |name, text| Bound::read(symbol, name, text);
        let i = Self {
            symbol: symbol.to_owned(),
            tick: read("tick_size", tick)?,
            lot: read("lot_size", lot)?,
            min_qty: read("min_qty", min_qty)?,
            max_qty: read("max_qty", max_qty)?,
            min_price: read("min_price", min_price)?,
            max_price: read("max_price", max_price)?,
        };
        if i.tick.units <= 0 || i.lot.units <= 0 {
            return Err(format!("{symbol}: tick and lot sizes must be positive"));
        }
        let fits = |b: &Bound, unit: &Bound| (b.units / unit.units).unsigned_abs() <= i64::MAX as u128;
        if !(fits(&i.min_qty, &i.lot) && fits(&i.max_qty, &i.lot)) {
            return Err(format!("{symbol}: the quantity bounds are more than i64::MAX lots"));
        }
        if !(fits(&i.min_price, &i.tick) && fits(&i.max_price, &i.tick)) {
            return Err(format!("{symbol}: the price bounds are more than i64::MAX ticks"));
        }
        Ok(i)
    }

    /// `text` as lots (`field` [`Field::Qty`]) or ticks ([`Field::Price`]): read (not decimal
    /// text: [`Refused::NotDecimal`]), finite, positive (a quantity), within the bounds, on
    /// the grid.
    pub fn units_of(&self, field: Field, text: &str) -> Result<i64, Refused> {
        read(text, |value| self.check(field, value).map_err(Refused::Error))
    }

    fn check(&self, field: Field, value: Value<'_>) -> Result<i64, OrderTableError> {
        let (name, code) = (field.name(), field.code());
        let Value::Finite { negative, int, frac, exponent } = value else {
            return Err(error(code, format!("{name}={} is not finite", value.python_str())));
        };
        let fixed = Fixed::of(negative, int, frac, exponent);
        if field == Field::Qty && !fixed.positive() {
            return Err(error(code, format!("{name}={} must be positive", value.python_str())));
        }
        let (min, max, unit) = match field {
            Field::Qty => (&self.min_qty, &self.max_qty, &self.lot),
            Field::Price => (&self.min_price, &self.max_price, &self.tick),
        };
        if fixed.below(min.units) || fixed.above(max.units) {
            let (shown, lo, hi, symbol) = (value.python_str(), &min.shown, &max.shown, &self.symbol);
            return Err(error(code, format!("{name}={shown} outside [{lo}, {hi}] for {symbol}")));
        }
        match fixed {
            // In bounds, so within i64 (`new`).
            Fixed::Exact(v) if v % unit.units == 0 => i64::try_from(v / unit.units).ok(),
            _ => None,
        }
        .ok_or_else(|| {
            let (shown, unit_name) = (value.python_str(), field.unit_name());
            error(field.off_grid_code(), format!("{name}={shown} is not a multiple of {unit_name}={}", unit.shown))
        })
    }

    /// An order quantity in lots: positive, within `[min_qty, max_qty]`, on the lot grid;
    /// `INVALID_QTY` otherwise.
    pub fn lots_of(&self, text: &str) -> Result<i64, OrderTableError> {
        self.quoting(Field::Qty, text)
    }

    /// A limit price in ticks: within `[min_price, max_price]` (`INVALID_PRICE`), on the tick
    /// grid (`OFF_TICK`).
    pub fn ticks_of(&self, text: &str) -> Result<i64, OrderTableError> {
        self.quoting(Field::Price, text)
    }

    fn quoting(&self, field: Field, text: &str) -> Result<i64, OrderTableError> {
        self.units_of(field, text).map_err(|refused| match refused {
            Refused::Error(e) => e,
            Refused::NotDecimal => {
                let head: String = text.chars().take(40).collect();
                not_a_decimal(field, &python_repr(&head))
            }
        })
    }

    fn write_plain(f: &mut impl std::fmt::Write, units: i128, unit_scales: &[&Bound]) -> std::fmt::Result {
        let (mut mantissa, mut scale) = (units, 0);
        for b in unit_scales {
            mantissa *= b.mantissa;
            scale += b.scale;
        }
        write_scaled(f, mantissa, scale, Notation::Plain)
    }

    fn plain(units: i128, unit_scales: &[&Bound]) -> String {
        let mut text = String::new();
        let _ = Self::write_plain(&mut text, units, unit_scales);
        text
    }

    /// `ticks` as price text (`format(ticks * tick_size, "f")`).
    pub fn price_text(&self, ticks: i64) -> String {
        Self::plain(i128::from(ticks), &[&self.tick])
    }

    /// `lots` as quantity text.
    pub fn qty_text(&self, lots: i64) -> String {
        Self::plain(i128::from(lots), &[&self.lot])
    }

    /// A quote amount in ticks x lots as text (`"0"` for none).
    pub fn quote_text(&self, units: i128) -> String {
        if units == 0 {
            return "0".to_owned();
        }
        Self::plain(units, &[&self.tick, &self.lot])
    }

    /// [`Self::price_text`] written to `f` (no allocation).
    pub fn write_price(&self, f: &mut impl std::fmt::Write, ticks: i64) -> std::fmt::Result {
        Self::write_plain(f, i128::from(ticks), &[&self.tick])
    }

    /// [`Self::qty_text`] written to `f` (no allocation).
    pub fn write_qty(&self, f: &mut impl std::fmt::Write, lots: i64) -> std::fmt::Result {
        Self::write_plain(f, i128::from(lots), &[&self.lot])
    }

    /// [`Self::quote_text`] written to `f` (no allocation).
    pub fn write_quote(&self, f: &mut impl std::fmt::Write, units: i128) -> std::fmt::Result {
        if units == 0 {
            return f.write_str("0");
        }
        Self::write_plain(f, units, &[&self.tick, &self.lot])
    }
}

#[cfg(test)]
#[path = "venue_input_tests.rs"]
mod tests;

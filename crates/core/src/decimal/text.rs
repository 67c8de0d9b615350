//! Writing decimal text: the one writer of `mantissa x 10^-scale` for every decimal the engine
//! prints — a [`Decimal`](super::Decimal)'s canonical text, a [`Step`](super::Step)'s multiples,
//! and amounts the service's ledger shows the way Python's `str(Decimal)` would.

use std::fmt;

/// How [`write_scaled`] writes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notation {
    /// Plain digits, always `scale` of them after the point: `0.00000015`, `98.500`, `0E-8` is
    /// `0.00000000`. The engine's decimal text (what [`super::Decimal::parse`] reads back).
    Plain,
    /// Python's `str(Decimal)` of the same digits and exponent: plain while fewer than six zeros
    /// stand between the point and the first digit (`0.0000012`), else scientific with the
    /// digits kept (`1.5E-7`, `0E-8`, `1.230E-7`).
    PythonStr,
}

/// 19 zeros, written a run at a time.
const ZEROS: &str = "0000000000000000000";

/// Writes `mantissa x 10^-scale` with its digits and exponent (`scale` fractional digits,
/// trailing zeros kept) in `notation`. Never allocates.
pub fn write_scaled(f: &mut impl fmt::Write, mantissa: i128, scale: u32, notation: Notation) -> fmt::Result {
    if notation == Notation::Plain {
        let mut buf = [0u8; PLAIN_BUF];
        if let Some(text) = plain_bytes(mantissa, scale, &mut buf) {
            // ASCII digits, a point and a sign only: the UTF-8 check cannot fail.
            return f.write_str(std::str::from_utf8(text).unwrap_or("0"));
        }
    }
    let mut buf = [0u8; 39];
    let digits = digits_of(mantissa.unsigned_abs(), &mut buf);
    let len = digits.len() as i64;
    // Digits left of the point (zero or negative: that many zeros after it, before the digits).
    let left = len - i64::from(scale);
    if mantissa < 0 {
        f.write_char('-')?;
    }
    if notation == Notation::PythonStr && left <= -6 {
        // Python's rule: scientific once the adjusted exponent (`left - 1`) is below -6.
        f.write_str(&digits[..1])?;
        if len > 1 {
            f.write_char('.')?;
            f.write_str(&digits[1..])?;
        }
        return write!(f, "E{}", left - 1);
    }
    if scale == 0 {
        return f.write_str(digits);
    }
    if left > 0 {
        let (int, frac) = digits.split_at(left as usize);
        f.write_str(int)?;
        f.write_char('.')?;
        return f.write_str(frac);
    }
    f.write_str("0.")?;
    let mut zeros = left.unsigned_abs();
    while zeros > 0 {
        let run = zeros.min(ZEROS.len() as u64);
        f.write_str(&ZEROS[..run as usize])?;
        zeros -= run;
    }
    f.write_str(digits)
}

/// Bytes [`plain_bytes`] writes into.
pub(crate) const PLAIN_BUF: usize = 64;

/// [`Notation::Plain`] text of `mantissa x 10^-scale` for a magnitude within `u64` (every
/// book price and quantity as a count of its step's units), as ASCII bytes written at the end of
/// `buf`: the digits from the last, the point placed as they pass it, in `u64` arithmetic.
/// `None` for a larger magnitude or a text longer than `buf` (`scale` above 61): the general
/// path of [`write_scaled`] writes those.
pub(crate) fn plain_bytes(mantissa: i128, scale: u32, buf: &mut [u8; PLAIN_BUF]) -> Option<&[u8]> {
    let mut m = u64::try_from(mantissa.unsigned_abs()).ok()?;
    // The longest text: a sign, `max(20, scale + 1)` digits and a point.
    if scale as usize + 3 > buf.len() {
        return None;
    }
    let mut n = buf.len();
    if scale > 0 {
        for _ in 0..scale {
            n -= 1;
            buf[n] = b'0' + (m % 10) as u8;
            m /= 10;
        }
        n -= 1;
        buf[n] = b'.';
    }
    loop {
        n -= 1;
        buf[n] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if mantissa < 0 {
        n -= 1;
        buf[n] = b'-';
    }
    Some(&buf[n..])
}

/// The decimal digits of `v` (at least one), written at the end of `buf`.
fn digits_of(mut v: u128, buf: &mut [u8; 39]) -> &str {
    const CHUNK: u128 = 10_000_000_000_000_000_000; // 10^19: each chunk fits a u64
    let mut n = buf.len();
    // Whole 19-digit chunks while the rest does not fit a u64 (one u128 division each).
    while v > u128::from(u64::MAX) {
        let mut low = (v % CHUNK) as u64;
        v /= CHUNK;
        for _ in 0..19 {
            n -= 1;
            buf[n] = b'0' + (low % 10) as u8;
            low /= 10;
        }
    }
    let mut low = v as u64;
    loop {
        n -= 1;
        buf[n] = b'0' + (low % 10) as u8;
        low /= 10;
        if low == 0 {
            break;
        }
    }
    // ASCII digits only: the UTF-8 check cannot fail.
    std::str::from_utf8(&buf[n..]).unwrap_or("0")
}

/// Text written into a fixed buffer (no heap): [`fmt::Error`] once it would outgrow `N` bytes.
pub(crate) struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    pub(crate) fn new() -> Self {
        Self { buf: [0; N], len: 0 }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only whole `&str`s are copied in: the UTF-8 check cannot fail.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.buf.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(mantissa: i128, scale: u32, notation: Notation) -> String {
        let mut s = String::new();
        write_scaled(&mut s, mantissa, scale, notation).expect("a String takes any text");
        s
    }

    /// Python's `str(Decimal)` for an exponent <= 0, written straight from its specification
    /// (the `to-sci-string` rule): digits `c`, exponent `-scale`, adjusted exponent
    /// `len(c) - 1 - scale`.
    fn python_str(mantissa: i128, scale: u32) -> String {
        let sign = if mantissa < 0 { "-" } else { "" };
        let c = mantissa.unsigned_abs().to_string();
        let adjusted = c.len() as i64 - 1 - i64::from(scale);
        if scale == 0 {
            return format!("{sign}{c}");
        }
        if adjusted >= -6 {
            let c = format!("{}{c}", "0".repeat((scale as usize + 1).saturating_sub(c.len())));
            let point = c.len() - scale as usize;
            return format!("{sign}{}.{}", &c[..point], &c[point..]);
        }
        let (first, rest) = c.split_at(1);
        let rest = if rest.is_empty() { String::new() } else { format!(".{rest}") };
        format!("{sign}{first}{rest}E{adjusted}")
    }

    /// Plain text, from the value's integer and fractional parts.
    fn plain(mantissa: i128, scale: u32) -> String {
        let sign = if mantissa < 0 { "-" } else { "" };
        let abs = mantissa.unsigned_abs().to_string();
        if scale == 0 {
            return format!("{sign}{abs}");
        }
        let padded = format!("{}{abs}", "0".repeat((scale as usize + 1).saturating_sub(abs.len())));
        let point = padded.len() - scale as usize;
        format!("{sign}{}.{}", &padded[..point], &padded[point..])
    }

    fn mantissa() -> impl Strategy<Value = i128> {
        prop_oneof![any::<i128>(), -10_000_000i128..10_000_000, Just(0), Just(i128::MIN), Just(i128::MAX)]
    }

    proptest! {
        #[test]
        fn python_notation_prints_what_python_str_of_the_decimal_prints(m in mantissa(), scale in 0u32..60) {
            prop_assert_eq!(text(m, scale, Notation::PythonStr), python_str(m, scale));
        }

        #[test]
        fn plain_notation_prints_every_fractional_digit(m in mantissa(), scale in 0u32..60) {
            prop_assert_eq!(text(m, scale, Notation::Plain), plain(m, scale));
        }
    }

    #[test]
    fn python_notation_switches_to_an_exponent_below_six_leading_zeros() {
        let py = |m, s| text(m, s, Notation::PythonStr);
        assert_eq!(py(98_500, 3), "98.500");
        assert_eq!(py(0, 3), "0.000");
        assert_eq!(py(2, 0), "2");
        assert_eq!(py(-1_500, 3), "-1.500");
        assert_eq!(py(5, 3), "0.005");
        assert_eq!(py(-12, 7), "-0.0000012");
        assert_eq!(py(1, 6), "0.000001");
        assert_eq!(py(1, 7), "1E-7");
        assert_eq!(py(123, 9), "1.23E-7");
        assert_eq!(py(1230, 10), "1.230E-7");
        assert_eq!(py(0, 6), "0.000000");
        assert_eq!(py(0, 8), "0E-8");
        assert_eq!(py(-15, 8), "-1.5E-7");
    }

    #[test]
    fn plain_notation_never_writes_an_exponent() {
        let plain = |m, s| text(m, s, Notation::Plain);
        assert_eq!(plain(123, 9), "0.000000123");
        assert_eq!(plain(0, 8), "0.00000000");
        assert_eq!(plain(-50, 2), "-0.50");
        assert_eq!(plain(i128::MIN, 0), "-170141183460469231731687303715884105728");
        assert_eq!(plain(1, 40), format!("0.{}1", "0".repeat(39)));
    }

    #[test]
    fn stack_text_refuses_what_does_not_fit() {
        use std::fmt::Write;
        let mut t = StackText::<4>::new();
        assert!(t.write_str("12.5").is_ok());
        assert!(t.write_str("0").is_err());
        assert_eq!(t.as_str(), "12.5");
    }
}

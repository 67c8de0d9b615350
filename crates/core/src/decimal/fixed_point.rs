//! The one reader of decimal text: plain decimals into fixed-point integers, exactly, without
//! allocating (the feed hot path runs it on every price and quantity of every frame).
//!
//! A fast path takes the usual exchange text (up to 19 characters; eight fractional digits, as
//! Binance writes every number, converted with one SWAR word operation); anything else goes to
//! the general path, which also gives the precise error.

/// Why text is not a plain decimal (see [`crate::decimal`] for the rules). `Copy` and
/// allocation-free: the feeds return it per bad frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a plain decimal: {why}")]
pub struct NotPlainDecimal {
    /// What is wrong with the text.
    pub why: &'static str,
}

/// 10^0 ..= 10^18, for the fast path of [`parse_fixed`].
const POW10: [u128; 19] = {
    let mut t = [1u128; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Reads unsigned plain decimal text (the rules of [`crate::decimal`]) into an integer count of
/// 10^-`scale` units, exactly.
///
/// Fractional digits beyond `scale` must be zeros; `scale` is at most 36. Used for every decimal
/// the engine reads: [`Decimal::parse`](super::Decimal::parse) (scale 18), the feeds' prices and
/// quantities (scale 18) and epoch timestamps in seconds (scale 9, giving nanoseconds). No
/// allocation, on success or on error.
pub fn parse_fixed(s: &[u8], scale: u32) -> Result<i128, NotPlainDecimal> {
    // Fast path: up to 19 characters hold at most 19 digits, which fit a u64 mantissa, and
    // mantissa x 10^18 fits an i128. Anything unusual goes to the general path below, which also
    // produces the precise error.
    if s.len() <= 19 && scale <= 18 {
        let mut mantissa: u64 = 0;
        let mut i = 0;
        while let Some(d) = s.get(i).map(|b| b.wrapping_sub(b'0')).filter(|&d| d < 10) {
            mantissa = mantissa * 10 + u64::from(d);
            i += 1;
        }
        let int_digits = i;
        let mut frac_digits = 0u32;
        let mut ok = true;
        if i < s.len() {
            ok = s[i] == b'.';
            let frac = &s[i + 1..];
            // Eight fractional digits (how Binance writes every price and quantity): one word,
            // checked and converted with SWAR arithmetic instead of eight loop turns.
            if let (true, Ok(word)) = (ok && scale >= 8, <[u8; 8]>::try_from(frac)) {
                let v = u64::from_le_bytes(word);
                if eight_digits(v) {
                    mantissa = mantissa * 100_000_000 + parse8(v);
                    frac_digits = 8;
                } else {
                    ok = false;
                }
            } else if ok {
                for &b in frac {
                    let d = b.wrapping_sub(b'0');
                    if d >= 10 {
                        ok = false;
                        break;
                    }
                    mantissa = mantissa * 10 + u64::from(d);
                    frac_digits += 1;
                }
            }
        }
        if ok && int_digits + frac_digits as usize > 0 && frac_digits <= scale {
            // mantissa < 10^19 and the factor <= 10^18: the product fits in a u128 (and i128).
            return Ok((u128::from(mantissa) * POW10[(scale - frac_digits) as usize]) as i128);
        }
    }
    parse_fixed_general(s, scale)
}

/// Whether the 8 bytes of `v` (little-endian) are all ASCII digits (simdjson's test).
#[inline]
pub fn eight_digits(v: u64) -> bool {
    ((v & 0xF0F0_F0F0_F0F0_F0F0) | ((v.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4))
        == 0x3333_3333_3333_3333
}

/// The value of 8 ASCII digits (little-endian word, first digit in the low byte): simdjson's
/// SWAR conversion.
#[inline]
pub fn parse8(v: u64) -> u64 {
    let mask = 0x0000_00FF_0000_00FF;
    let mul1 = 100 + (1_000_000 << 32);
    let mul2 = 1 + (10_000 << 32);
    let mut val = v.wrapping_sub(0x3030_3030_3030_3030);
    val = val.wrapping_mul(10).wrapping_add(val >> 8);
    (val & mask).wrapping_mul(mul1).wrapping_add(((val >> 16) & mask).wrapping_mul(mul2)) >> 32
}

fn parse_fixed_general(s: &[u8], scale: u32) -> Result<i128, NotPlainDecimal> {
    let err = |why| NotPlainDecimal { why };
    if s.is_empty() {
        return Err(err("empty"));
    }
    let mut int: i128 = 0;
    let mut frac: i128 = 0;
    let mut frac_digits = 0u32;
    let mut seen_dot = false;
    let mut digits = 0usize;
    for &b in s {
        match b {
            b'0'..=b'9' => {
                let d = i128::from(b - b'0');
                digits += 1;
                if !seen_dot {
                    int = int.checked_mul(10).and_then(|v| v.checked_add(d)).ok_or(err("integer part too large"))?;
                } else if frac_digits < scale {
                    frac = frac * 10 + d;
                    frac_digits += 1;
                } else if d != 0 {
                    return Err(err("too many fractional digits"));
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            b'.' => return Err(err("two decimal points")),
            _ => return Err(err("not a plain decimal")),
        }
    }
    if digits == 0 {
        return Err(err("no digits"));
    }
    let unit = 10i128.pow(scale);
    let frac = frac * 10i128.pow(scale - frac_digits);
    int.checked_mul(unit).and_then(|v| v.checked_add(frac)).ok_or(err("value too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The fast path and the general path agree on every short input.
        #[test]
        fn fast_path_agrees_with_general_path(
            text in prop_oneof!["[0-9.x]{0,21}", "[0-9]{0,11}\\.[0-9x/:]{8}", "[0-9]{0,3}\\.?[0-9]{0,9}"],
            scale in 0u32..=18,
        ) {
            let fast = parse_fixed(text.as_bytes(), scale).ok();
            let general = parse_fixed_general(text.as_bytes(), scale).ok();
            prop_assert_eq!(fast, general);
        }
    }

    #[test]
    fn reads_plain_decimals_at_any_scale() {
        assert_eq!(parse_fixed(b"58001.03000000", 8), Ok(5_800_103_000_000));
        assert_eq!(parse_fixed(b"1617666424.207714", 9), Ok(1_617_666_424_207_714_000));
        assert_eq!(parse_fixed(b".5", 1), Ok(5));
        assert_eq!(parse_fixed(b"5.", 0), Ok(5));
        assert_eq!(parse_fixed(b"1.500", 1), Ok(15), "extra fractional zeros are allowed");
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal_and_says_why() {
        for (text, why) in [
            ("", "empty"),
            (".", "no digits"),
            ("1.2.3", "two decimal points"),
            ("1e5", "not a plain decimal"),
            ("-1", "not a plain decimal"),
            ("1.25", "too many fractional digits"),
        ] {
            assert_eq!(parse_fixed(text.as_bytes(), 1), Err(NotPlainDecimal { why }), "{text:?}");
        }
    }
}

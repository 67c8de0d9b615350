//! Exchange timestamps: epoch seconds with a decimal fraction (Kraken, cryptofeed recordings)
//! and UTC RFC 3339 times (Coinbase), read exactly into nanoseconds since the epoch with the
//! core's decimal reader ([`wintermute_core::decimal::parse_fixed`]).

use wintermute_core::decimal::parse_fixed;

use crate::error::FeedError;

/// Reads an epoch time in seconds with a decimal fraction (`"1617666424.207714"`) as nanoseconds.
pub fn parse_epoch_seconds(s: &str) -> Result<i64, FeedError> {
    let ns = parse_fixed(s.as_bytes(), 9).map_err(FeedError::decimal("timestamp"))?;
    i64::try_from(ns).map_err(|_| FeedError::Decimal { field: "timestamp", reason: "out of range" })
}

/// Writes nanoseconds since the epoch as seconds with 9 fractional digits, trailing zeros kept.
pub fn format_epoch_seconds(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let abs = ns.unsigned_abs();
    format!("{sign}{}.{:09}", abs / 1_000_000_000, abs % 1_000_000_000)
}

/// Reads a UTC RFC 3339 time (`"2021-04-17T16:43:37.089723Z"`) as ns since the epoch.
///
/// Only the `Z` form the exchanges send is accepted; anything else gives `None`.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|c| c.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm) = (num(11..13)?, num(14..16)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 {
        return None;
    }
    let secs_text = s.get(17..s.len() - 1)?;
    let sec_ns = i64::try_from(parse_fixed(secs_text.as_bytes(), 9).ok()?).ok()?;
    if sec_ns >= 61_000_000_000 {
        return None;
    }
    // Days from civil (H. Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3_600 + mm * 60;
    secs.checked_mul(1_000_000_000)?.checked_add(sec_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2021-04-17T16:43:37.089723Z"), Some(1_618_677_817_089_723_000));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:01.5Z"), Some(951_868_801_500_000_000));
        assert_eq!(parse_rfc3339("2021-13-17T16:43:37Z"), None);
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn epoch_seconds_round_trip() {
        let ns = parse_epoch_seconds("1617666424.207714").unwrap();
        assert_eq!(ns, 1_617_666_424_207_714_000);
        assert_eq!(format_epoch_seconds(ns), "1617666424.207714000");
        assert_eq!(parse_epoch_seconds("1617566592.1065369").unwrap() % 1000, 900);
    }
}

//! Kraken's identifiers: order and trade txids (`OQCLML-BW3P3-BUCMWZ`), our client order ids
//! (`cl_ord_id`) and the request nonce.

/// Kraken's txid alphabet (base 32, as its ids look).
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The simulator's txid for its `n`-th order (`prefix` `'O'`) or trade (`'T'`): the prefix and
/// 16 base-32 digits of `n`, grouped 6-5-6 like Kraken's.
pub fn txid(prefix: u8, n: u64) -> String {
    let mut digits = [0u8; 16];
    let mut rest = u128::from(n);
    for d in digits.iter_mut().rev() {
        *d = ALPHABET[(rest % 32) as usize];
        rest /= 32;
    }
    let mut out = String::with_capacity(19);
    out.push(char::from(prefix));
    for (i, d) in digits.iter().enumerate() {
        if i == 5 || i == 10 {
            out.push('-');
        }
        out.push(char::from(*d));
    }
    out
}

/// The number in a simulator txid with this prefix (`None` for anything else).
pub fn parse_txid(prefix: u8, text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() != 19 || bytes[0] != prefix || bytes[6] != b'-' || bytes[12] != b'-' {
        return None;
    }
    let mut n: u128 = 0;
    for (i, &b) in bytes[1..].iter().enumerate() {
        if i == 5 || i == 11 {
            continue;
        }
        let d = ALPHABET.iter().position(|&a| a == b)?;
        n = n * 32 + d as u128;
    }
    u64::try_from(n).ok()
}

/// Whether `text` is a `cl_ord_id` Kraken takes: a long UUID (`6d1b345e-2821-40e2-ad83-4ecb18a06876`),
/// a short one (32 hex digits), or free text of at most 18 printable ASCII characters.
pub fn legal_cl_ord_id(text: &str) -> bool {
    let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
    let long_uuid =
        text.len() == 36 && text.split('-').map(str::len).eq([8, 4, 4, 4, 12]) && hex(&text.replace('-', ""));
    let short_uuid = text.len() == 32 && hex(text);
    let free = (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic());
    long_uuid || short_uuid || free
}

/// Our `cl_ord_id` for the adapter's order `id`, generation `generation`: a long UUID whose
/// first 16 hex digits are the id and last 12 the generation (any u64 id fits; 18 characters of
/// free text would not).
pub fn uuid_cl_ord_id(id: u64, generation: usize) -> String {
    let g = generation as u64 & 0xffff_ffff_ffff;
    format!("{:08x}-{:04x}-{:04x}-8000-{g:012x}", id >> 32, (id >> 16) & 0xffff, id & 0xffff)
}

/// Request nonces: microseconds since the epoch, strictly increasing even if the clock is not.
#[derive(Debug, Clone, Default)]
pub struct NonceSource {
    last: u64,
}

impl NonceSource {
    /// A source that starts above `last` (a nonce already used with the key).
    pub fn after(last: u64) -> Self {
        Self { last }
    }

    /// The next nonce.
    pub fn next(&mut self, now_us: u64) -> u64 {
        self.last = now_us.max(self.last + 1);
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txids_look_like_krakens_and_parse_back() {
        let id = txid(b'O', 1_000_001);
        assert_eq!(id.len(), 19);
        assert!(id.starts_with('O') && id.as_bytes()[6] == b'-' && id.as_bytes()[12] == b'-');
        assert_eq!(parse_txid(b'O', &id), Some(1_000_001));
        assert_eq!(parse_txid(b'T', &id), None);
        assert_eq!(parse_txid(b'O', &txid(b'O', u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_txid(b'O', "OQCLML-BW3P3-BUCMW1"), None);
    }

    #[test]
    fn client_order_ids_take_krakens_three_forms_only() {
        assert!(legal_cl_ord_id("6d1b345e-2821-40e2-ad83-4ecb18a06876"));
        assert!(legal_cl_ord_id("6d1b345e282140e2ad834ecb18a06876"));
        assert!(legal_cl_ord_id("my-order-1"));
        assert!(!legal_cl_ord_id("this-is-too-long-for-free-text"));
        assert!(!legal_cl_ord_id("has space"));
        assert!(!legal_cl_ord_id(""));
        let ours = uuid_cl_ord_id(u64::MAX, 3);
        assert!(legal_cl_ord_id(&ours), "{ours}");
        assert_ne!(uuid_cl_ord_id(7, 0), uuid_cl_ord_id(7, 1));
    }

    #[test]
    fn nonces_strictly_increase_even_when_the_clock_goes_back() {
        let mut n = NonceSource::default();
        assert_eq!(n.next(100), 100);
        assert_eq!(n.next(100), 101);
        assert_eq!(n.next(50), 102);
        assert_eq!(n.next(1000), 1000);
    }
}

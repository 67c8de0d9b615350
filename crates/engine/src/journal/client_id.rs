//! Client order ids in the journal: the name a trading client gave its new order, journaled
//! with the command (a *tagged* command record, see [`super::record`]) so that whoever keeps
//! an order table beside the engine (the service's venue) can rebuild it from the journal.
//!
//! # Layout (40 bytes)
//!
//! | off | type | field |
//! |----:|------|-------|
//! | 0 | u8 | length, 1 to [`ClientOrderId::MAX_LEN`] |
//! | 1 | 36 bytes | the id's ASCII bytes, then zeros |
//! | 37 | 3 bytes | 0 |
//!
//! An id is 1 to 36 of the ASCII letters, digits and `._:/-` (what the Binance-compatible API
//! accepts as `newClientOrderId`). It is a plain value: making, copying and journaling one
//! allocates nothing.

use std::fmt;

/// Bytes of a client order id on disk.
pub const CLIENT_ID_SIZE: usize = 40;

/// A client order id (see the module docs). Build one with [`ClientOrderId::new`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientOrderId {
    len: u8,
    bytes: [u8; ClientOrderId::MAX_LEN],
}

/// Why a string is not a client order id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("client order id must be 1 to 36 of the ASCII letters, digits and ._:/- ({why})")]
pub struct InvalidClientOrderId {
    pub why: &'static str,
}

fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-')
}

impl ClientOrderId {
    /// The longest id.
    pub const MAX_LEN: usize = 36;

    /// The id `text`; fails when it is empty, longer than [`Self::MAX_LEN`] or holds another
    /// character.
    pub fn new(text: &str) -> Result<Self, InvalidClientOrderId> {
        let raw = text.as_bytes();
        if raw.is_empty() {
            return Err(InvalidClientOrderId { why: "it is empty" });
        }
        if raw.len() > Self::MAX_LEN {
            return Err(InvalidClientOrderId { why: "it is longer than 36" });
        }
        if !raw.iter().all(|&b| allowed(b)) {
            return Err(InvalidClientOrderId { why: "it holds another character" });
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..raw.len()].copy_from_slice(raw);
        Ok(Self { len: raw.len() as u8, bytes })
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes get in (`new`, `decode`).
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The 40 bytes on disk.
    pub fn encode(&self) -> [u8; CLIENT_ID_SIZE] {
        let mut out = [0u8; CLIENT_ID_SIZE];
        out[0] = self.len;
        out[1..1 + Self::MAX_LEN].copy_from_slice(&self.bytes);
        out
    }

    /// The id in `b` (40 bytes, see the module docs): checks the length, the characters and
    /// the zero bytes.
    pub fn decode(b: &[u8; CLIENT_ID_SIZE]) -> Result<Self, InvalidClientOrderId> {
        let len = usize::from(b[0]);
        if len == 0 || len > Self::MAX_LEN {
            return Err(InvalidClientOrderId { why: "its length is not 1 to 36" });
        }
        if b[1 + len..].iter().any(|&x| x != 0) {
            return Err(InvalidClientOrderId { why: "nonzero bytes after it" });
        }
        let text = std::str::from_utf8(&b[1..1 + len]).map_err(|_| InvalidClientOrderId { why: "not ASCII" })?;
        Self::new(text)
    }
}

impl fmt::Debug for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientOrderId({:?})", self.as_str())
    }
}

impl fmt::Display for ClientOrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_its_bytes() {
        for text in ["a", "wm-17", "x.Y_z:0/9-", &"7".repeat(36)] {
            let id = ClientOrderId::new(text).expect("valid");
            assert_eq!(id.as_str(), text);
            assert_eq!(ClientOrderId::decode(&id.encode()), Ok(id));
        }
    }

    #[test]
    fn empty_long_and_odd_ids_are_refused() {
        assert!(ClientOrderId::new("").is_err());
        assert!(ClientOrderId::new(&"a".repeat(37)).is_err());
        for odd in ["a b", "é", "a\0", "a+b", "ü"] {
            assert!(ClientOrderId::new(odd).is_err(), "{odd:?}");
        }
    }

    #[test]
    fn damaged_bytes_do_not_decode() {
        let good = ClientOrderId::new("abc").expect("valid").encode();
        let mut zero_len = good;
        zero_len[0] = 0;
        assert!(ClientOrderId::decode(&zero_len).is_err());
        let mut long = good;
        long[0] = 37;
        assert!(ClientOrderId::decode(&long).is_err());
        let mut tail = good;
        tail[39] = 1;
        assert!(ClientOrderId::decode(&tail).is_err());
        let mut odd = good;
        odd[2] = b' ';
        assert!(ClientOrderId::decode(&odd).is_err());
    }
}

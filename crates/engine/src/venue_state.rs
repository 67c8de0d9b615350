//! The service venue's state as documents: its order table ([`crate::venue_orders`]), ledger
//! ([`crate::venue_ledger`]) and book mirrors ([`crate::venue_books`]) each save to and load
//! from a document of their own, so that a venue over a pruned journal starts from its saved
//! state and the journal records after it (see `docs/service.md`, "Restarts"). The venue's
//! trade tape and fills, kept in Python, save as one more document ([`History`]).
//!
//! Each part has two encodings of the same fields: binary ([postcard], version
//! [`STATE_VERSION`]: `to_state_bin` / `load_state_bin`), what a venue saves, and JSON (version
//! [`JSON_STATE_VERSION`]: `to_state` / `load_state`), what venues saved before and still
//! load. Every document says which part it is and its version first (`{"part": "orders",
//! "version": 1, ...}` in JSON, the same two fields first in binary). Loading checks both
//! first, then the fields, then that the document fits the venue it is loaded into
//! (instrument ids, asset names); any failure is a [`StateError`] and leaves the loaded-into
//! value as it was.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The version of the binary documents this build writes and reads.
pub const STATE_VERSION: u32 = 2;

/// The version of the JSON documents (written by venues before the binary ones; still read).
pub const JSON_STATE_VERSION: u32 = 1;

/// A state document that does not load: not one of ours, another version, damaged, or saved
/// by a venue with other instruments or assets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("venue state ({part}): {why}")]
pub struct StateError {
    /// `orders`, `ledger`, `books` or `history`.
    pub part: &'static str,
    /// What is wrong.
    pub why: String,
}

pub(crate) fn state_error(part: &'static str, why: impl Into<String>) -> StateError {
    StateError { part, why: why.into() }
}

#[derive(Deserialize)]
struct Tag {
    part: Option<String>,
    version: Option<u32>,
}

fn check_tag(part: &'static str, tag: Tag, version: u32) -> Result<(), StateError> {
    match (tag.part.as_deref(), tag.version) {
        (Some(p), Some(v)) if p == part && v == version => Ok(()),
        (Some(p), Some(v)) if p == part => {
            Err(state_error(part, format!("version {v}; this build reads version {version}")))
        }
        (p, _) => Err(state_error(part, format!("the document is part={p:?}, expected {part:?}"))),
    }
}

/// Parses a JSON document of `part`: its tag first (a clear error for a foreign document or
/// another version), then its fields.
pub(crate) fn parse<T: DeserializeOwned>(part: &'static str, json: &str) -> Result<T, StateError> {
    let tag: Tag = serde_json::from_str(json).map_err(|e| state_error(part, format!("not a state document: {e}")))?;
    check_tag(part, tag, JSON_STATE_VERSION)?;
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| state_error(part, e.to_string()))
}

#[derive(Deserialize)]
struct BinTag {
    part: String,
    version: u32,
}

/// Parses a binary document of `part`: its tag first, then its fields, every byte of them.
pub(crate) fn parse_bin<T: DeserializeOwned>(part: &'static str, bytes: &[u8]) -> Result<T, StateError> {
    let (tag, _) = postcard::take_from_bytes::<BinTag>(bytes)
        .map_err(|e| state_error(part, format!("not a binary state document: {e}")))?;
    check_tag(part, Tag { part: Some(tag.part), version: Some(tag.version) }, STATE_VERSION)?;
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| state_error(part, format!("damaged: {e}")))?;
    if !rest.is_empty() {
        return Err(state_error(part, format!("{} bytes after the document", rest.len())));
    }
    Ok(value)
}

/// A document's binary encoding.
pub(crate) fn to_bin<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("a state document serializes")
}

/// One field of a record of the venue's history: an integer or a text (a decimal's text, so
/// that it stays exact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cell {
    /// An integer (ids, times).
    Int(i64),
    /// A text (names, decimals).
    Text(String),
}

/// One record: its fields in order.
pub type Row = Vec<Cell>;

/// The venue's history, kept in Python: the trade tape by symbol and the fills by account,
/// each oldest first; each record is its fields in order (what they are is the venue's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// `(symbol, trades)`.
    pub tape: Vec<(String, Vec<Row>)>,
    /// `(account, fills)`.
    pub fills: Vec<(u32, Vec<Row>)>,
}

const HISTORY: &str = "history";

#[derive(Serialize, Deserialize)]
struct HistoryState {
    part: String,
    version: u32,
    tape: Vec<(String, Vec<Row>)>,
    fills: Vec<(u32, Vec<Row>)>,
}

impl History {
    /// The history as a binary document.
    pub fn to_state_bin(self) -> Vec<u8> {
        let Self { tape, fills } = self;
        to_bin(&HistoryState { part: HISTORY.to_owned(), version: STATE_VERSION, tape, fills })
    }

    /// The history of a binary document from [`Self::to_state_bin`].
    pub fn load_state_bin(bytes: &[u8]) -> Result<Self, StateError> {
        let s: HistoryState = parse_bin(HISTORY, bytes)?;
        Ok(Self { tape: s.tape, fills: s.fills })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> History {
        History {
            tape: vec![("BTC-USD".into(), vec![vec![Cell::Int(1), Cell::Text("100.5".into()), Cell::Int(-3)]])],
            fills: vec![(7, vec![vec![Cell::Int(i64::MAX)], vec![]]), (9, vec![])],
        }
    }

    #[test]
    fn a_history_round_trips_through_its_binary_document() {
        let h = history();
        assert_eq!(History::load_state_bin(&h.clone().to_state_bin()), Ok(h));
    }

    #[test]
    fn a_damaged_or_foreign_binary_document_does_not_load() {
        let bytes = history().to_state_bin();
        let why = |b: &[u8]| History::load_state_bin(b).unwrap_err().why;
        assert!(why(&bytes[..bytes.len() - 1]).starts_with("damaged"), "{}", why(&bytes[..bytes.len() - 1]));
        assert!(why(&[bytes.as_slice(), &[0]].concat()).contains("1 bytes after"));
        assert!(why(&[]).starts_with("not a binary state document"));
        let other =
            to_bin(&HistoryState { part: "orders".into(), version: STATE_VERSION, tape: vec![], fills: vec![] });
        assert!(why(&other).contains("expected \"history\""), "{}", why(&other));
        let old = to_bin(&HistoryState { part: HISTORY.into(), version: 1, tape: vec![], fills: vec![] });
        assert_eq!(why(&old), "version 1; this build reads version 2");
    }
}

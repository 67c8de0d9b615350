//! Saving and loading the book mirrors (see [`crate::venue_state`]): each book's sequence
//! number, levels and resting orders in queue order. Saved between commands: nothing of a
//! command being applied is part of it.

use std::collections::BTreeMap;

use super::HashMap;

use serde::{Deserialize, Serialize};

use super::{BookMirror, Place, VenueBooks, BUY, SELL};
use crate::venue_state::{parse, parse_bin, state_error, to_bin, StateError, JSON_STATE_VERSION, STATE_VERSION};

const PART: &str = "books";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BooksState {
    part: String,
    version: u32,
    books: Vec<MirrorState>,
}

/// `(side, price, [(arrival, order id, lots left)])`: one level's queue.
type Queue = (u8, i64, Vec<(u64, u64, i64)>);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MirrorState {
    seq: u64,
    arrivals: u64,
    /// `(price, lots)`, best first.
    bids: Vec<(i64, i64)>,
    asks: Vec<(i64, i64)>,
    /// Each level's queue, in queue order.
    queues: Vec<Queue>,
}

impl VenueBooks {
    /// The mirrors as a binary state document (the same mirrors give the same bytes).
    pub fn to_state_bin(&self) -> Vec<u8> {
        to_bin(&self.state(STATE_VERSION))
    }

    /// The mirrors as a JSON state document (the same mirrors give the same text).
    pub fn to_state(&self) -> String {
        serde_json::to_string(&self.state(JSON_STATE_VERSION)).expect("the book mirrors serialize")
    }

    fn state(&self, version: u32) -> BooksState {
        let books = (self.books.iter())
            .map(|b| {
                let mut queues: Vec<Queue> = (b.queues.iter())
                    .map(|(&(side, price), q)| {
                        (side, price, q.iter().map(|(a, (id, left))| (*a, *id, *left)).collect())
                    })
                    .collect();
                queues.sort_unstable_by_key(|(side, price, _)| (*side, *price));
                MirrorState {
                    seq: b.seq,
                    arrivals: b.arrivals,
                    bids: b.levels[usize::from(BUY)].iter().rev().map(|(p, q)| (*p, *q)).collect(),
                    asks: b.levels[usize::from(SELL)].iter().map(|(p, q)| (*p, *q)).collect(),
                    queues,
                }
            })
            .collect();
        BooksState { part: PART.to_owned(), version, books }
    }

    /// Replaces every mirror with those of a state document from [`Self::to_state`] (which
    /// books are watched stays). A document that is not one, or that does not fit (another
    /// number of books, an order in two places, an arrival past the count), is an error and
    /// the mirrors are unchanged.
    pub fn load_state(&mut self, json: &str) -> Result<(), StateError> {
        self.load(parse(PART, json)?)
    }

    /// [`Self::load_state`] for a binary document from [`Self::to_state_bin`].
    pub fn load_state_bin(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        self.load(parse_bin(PART, bytes)?)
    }

    fn load(&mut self, s: BooksState) -> Result<(), StateError> {
        if s.books.len() != self.books.len() {
            return Err(state_error(PART, format!("{} books, this venue has {}", s.books.len(), self.books.len())));
        }
        let mut books = Vec::with_capacity(s.books.len());
        for (i, m) in s.books.into_iter().enumerate() {
            let bad = |why: String| Err(state_error(PART, format!("book {i}: {why}")));
            let mut book = BookMirror { seq: m.seq, arrivals: m.arrivals, ..BookMirror::default() };
            book.levels[usize::from(BUY)] = m.bids.into_iter().collect();
            book.levels[usize::from(SELL)] = m.asks.into_iter().collect();
            let mut queues: HashMap<(u8, i64), BTreeMap<u64, (u64, i64)>> = HashMap::default();
            for (side, price, list) in m.queues {
                if side > SELL {
                    return bad(format!("side {side}"));
                }
                for (arrival, order_id, left) in list {
                    if arrival > m.arrivals || left <= 0 {
                        return bad(format!("order {order_id}: arrival {arrival}, lots {left}"));
                    }
                    if book.places.insert(order_id, Place { side, price, arrival }).is_some() {
                        return bad(format!("order {order_id} rests twice"));
                    }
                    if queues.entry((side, price)).or_default().insert(arrival, (order_id, left)).is_some() {
                        return bad(format!("arrival {arrival} twice"));
                    }
                }
            }
            book.queues = queues;
            books.push(book);
        }
        self.books = books;
        self.updates.clear();
        self.dropped = 0;
        Ok(())
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

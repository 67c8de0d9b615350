//! Several instruments in one engine object, each with its own [`OrderBook`].
//!
//! ```
//! use wintermute_core::{Engine, InstrumentSpec, NewOrder, Side};
//! let mut engine = Engine::new();
//! let btc = engine.add_instrument(InstrumentSpec::from_decimals("BTC-USD", "0.01", "0.0001", "0.0001", "100", "1", "1000000").unwrap()).unwrap();
//! let mut events = Vec::new();
//! engine.book_mut(btc).submit(&NewOrder::limit(1, 1, Side::Buy, 100, 5), &mut events).unwrap();
//! assert_eq!(engine.instrument_id("BTC-USD"), Some(btc));
//! ```

use std::collections::HashMap;

use crate::instrument::{InstrumentError, InstrumentSpec};
use crate::order_book::OrderBook;

/// Index of an instrument in its engine.
pub type InstrumentId = u32;

/// A set of books keyed by instrument.
#[derive(Debug, Default, Clone)]
pub struct Engine {
    books: Vec<OrderBook>,
    by_symbol: HashMap<String, InstrumentId>,
}

impl Engine {
    /// An engine with no instruments.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an instrument with an empty book; its id is returned.
    pub fn add_instrument(&mut self, spec: InstrumentSpec) -> Result<InstrumentId, InstrumentError> {
        self.add_book(OrderBook::new(spec))
    }

    /// Adds an existing book (e.g. one restored from a snapshot).
    pub fn add_book(&mut self, book: OrderBook) -> Result<InstrumentId, InstrumentError> {
        let symbol = book.spec().symbol.clone();
        if self.by_symbol.contains_key(&symbol) {
            return Err(InstrumentError::Duplicate { symbol });
        }
        let id = InstrumentId::try_from(self.books.len())
            .map_err(|_| InstrumentError::Invalid { symbol: symbol.clone(), why: "too many instruments".into() })?;
        self.books.push(book);
        self.by_symbol.insert(symbol, id);
        Ok(id)
    }

    /// Replaces an instrument's book (same symbol), e.g. after restoring a snapshot.
    pub fn replace_book(&mut self, book: OrderBook) -> Result<InstrumentId, InstrumentError> {
        let symbol = &book.spec().symbol;
        let id = self.instrument_id(symbol).ok_or_else(|| InstrumentError::Unknown { symbol: symbol.clone() })?;
        self.books[id as usize] = book;
        Ok(id)
    }

    /// The id of a symbol.
    pub fn instrument_id(&self, symbol: &str) -> Option<InstrumentId> {
        self.by_symbol.get(symbol).copied()
    }

    /// The id of a symbol, or an error naming it.
    pub fn require(&self, symbol: &str) -> Result<InstrumentId, InstrumentError> {
        self.instrument_id(symbol).ok_or_else(|| InstrumentError::Unknown { symbol: symbol.to_owned() })
    }

    /// A book by id (panics on an id this engine did not hand out; see [`Engine::get`]).
    pub fn book(&self, id: InstrumentId) -> &OrderBook {
        &self.books[id as usize]
    }

    /// A mutable book by id (panics on an id this engine did not hand out; see [`Engine::get_mut`]).
    pub fn book_mut(&mut self, id: InstrumentId) -> &mut OrderBook {
        &mut self.books[id as usize]
    }

    /// A book by id, if it exists.
    pub fn get(&self, id: InstrumentId) -> Option<&OrderBook> {
        self.books.get(id as usize)
    }

    /// A mutable book by id, if it exists.
    pub fn get_mut(&mut self, id: InstrumentId) -> Option<&mut OrderBook> {
        self.books.get_mut(id as usize)
    }

    /// All books, in id order.
    pub fn books(&self) -> &[OrderBook] {
        &self.books
    }

    /// Number of instruments.
    pub fn len(&self) -> usize {
        self.books.len()
    }

    /// True when there is no instrument.
    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }
}

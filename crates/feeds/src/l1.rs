//! The L1 cache: a fixed-capacity ring of the most recent items (normalized market-data events)
//! of one (venue, symbol) stream.
//!
//! [`EventRing::new`] allocates its whole capacity once; [`EventRing::push`] then never
//! allocates: while the ring is not full it appends into the reserved space, afterwards it
//! overwrites the oldest item. Items are `Copy`, so reading hands out copies and the writer is
//! never blocked by a reader holding a reference for long.
//!
//! ```
//! use wintermute_feeds::l1::EventRing;
//! let mut ring = EventRing::new(3);
//! for i in 1..=5u32 {
//!     ring.push(i);
//! }
//! assert_eq!(ring.iter().collect::<Vec<_>>(), [3, 4, 5]); // oldest first
//! assert_eq!((ring.len(), ring.capacity(), ring.pushed()), (3, 3, 5));
//! assert_eq!(ring.last(), Some(5));
//! ```

/// A ring of the last `capacity` items pushed (see the module docs).
#[derive(Debug, Clone)]
pub struct EventRing<T: Copy> {
    items: Vec<T>,
    capacity: usize,
    /// Index of the oldest item once the ring is full.
    head: usize,
    pushed: u64,
}

impl<T: Copy> EventRing<T> {
    /// An empty ring holding at most `capacity` items (at least 1), allocated now.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        EventRing { items: Vec::with_capacity(capacity), capacity, head: 0, pushed: 0 }
    }

    /// Appends `item`, overwriting the oldest one when full. Never allocates.
    pub fn push(&mut self, item: T) {
        if self.items.len() < self.capacity {
            self.items.push(item);
        } else {
            self.items[self.head] = item;
            self.head += 1;
            if self.head == self.capacity {
                self.head = 0;
            }
        }
        self.pushed += 1;
    }

    /// Items held now (at most the capacity).
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing was pushed yet.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Most items held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Items pushed since creation (including those overwritten since).
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// The newest item.
    pub fn last(&self) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        let i = if self.items.len() < self.capacity {
            self.items.len() - 1
        } else {
            (self.head + self.capacity - 1) % self.capacity
        };
        Some(self.items[i])
    }

    /// Items held, oldest first.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = T> + '_ {
        let (newer, older) = self.items.split_at(self.head);
        older.iter().chain(newer.iter()).copied().collect_exact(self.items.len())
    }

    /// The items pushed after the first `after` pushes that are still held, oldest first: what a
    /// reader that has seen `after` items has missed (the oldest of them may have been overwritten).
    pub fn since(&self, after: u64) -> impl Iterator<Item = T> + '_ {
        let missed = self.pushed.saturating_sub(after);
        let skip = self.items.len().saturating_sub(usize::try_from(missed).unwrap_or(usize::MAX));
        self.iter().skip(skip)
    }

    /// Removes every item, keeping the memory.
    pub fn clear(&mut self) {
        self.items.clear();
        self.head = 0;
    }
}

/// An iterator with a known length (a chain of two slices is not `ExactSizeIterator` by itself).
struct Exact<I> {
    inner: I,
    left: usize,
}

impl<I: Iterator> Iterator for Exact<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let item = self.inner.next()?;
        self.left -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<I: Iterator> ExactSizeIterator for Exact<I> {}

trait CollectExact: Iterator + Sized {
    fn collect_exact(self, len: usize) -> Exact<Self> {
        Exact { inner: self, left: len }
    }
}

impl<I: Iterator> CollectExact for I {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The ring always holds exactly the last `capacity` pushes, in order.
        #[test]
        fn holds_the_last_capacity_items(capacity in 1usize..20, n in 0u64..100, seen in 0u64..120) {
            let mut ring = EventRing::new(capacity);
            for i in 0..n {
                ring.push(i);
            }
            let want: Vec<u64> = (n.saturating_sub(capacity as u64)..n).collect();
            prop_assert_eq!(ring.iter().collect::<Vec<_>>(), want.clone());
            prop_assert_eq!(ring.iter().len(), want.len());
            prop_assert_eq!(ring.last(), want.last().copied());
            let since: Vec<u64> = want.iter().copied().filter(|&i| i >= seen).collect();
            prop_assert_eq!(ring.since(seen).collect::<Vec<_>>(), since);
        }
    }

    #[test]
    fn clear_keeps_capacity() {
        let mut ring = EventRing::new(4);
        for i in 0..6 {
            ring.push(i);
        }
        ring.clear();
        assert!(ring.is_empty());
        ring.push(9);
        assert_eq!(ring.iter().collect::<Vec<_>>(), [9]);
        assert_eq!(ring.pushed(), 7);
    }
}

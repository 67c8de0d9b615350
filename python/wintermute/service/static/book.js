// The venue's book as the page keeps it: a snapshot, then deltas in sequence. A delta that
// does not continue the sequence (first_seq != seq + 1) is a gap: the book asks for a fresh
// snapshot and ignores deltas until it arrives.

export class LiveBook {
  constructor(grid, { resubscribe }) {
    this.grid = grid;
    this.resubscribe = resubscribe;
    this.bids = new Map(); // ticks -> quantity text
    this.asks = new Map();
    this.seq = null;
    this.resyncing = true;
    this.resyncs = 0;
  }

  load(snapshot) {
    this.bids.clear();
    this.asks.clear();
    for (const [price, qty] of snapshot.bids) this.bids.set(this.grid.ticks(price), qty);
    for (const [price, qty] of snapshot.asks) this.asks.set(this.grid.ticks(price), qty);
    this.seq = snapshot.seq;
    this.resyncing = false;
  }

  /** Applies a delta; returns the ticks it changed, or null when it found a gap. */
  apply(delta) {
    if (this.resyncing) return null;
    if (this.seq === null || delta.first_seq !== this.seq + 1) {
      this.resync();
      return null;
    }
    const changed = [];
    for (const [side, levels] of [[this.bids, delta.bids], [this.asks, delta.asks]]) {
      for (const [price, qty] of levels) {
        const ticks = this.grid.ticks(price);
        if (Number(qty) === 0) side.delete(ticks);
        else side.set(ticks, qty);
        changed.push(ticks);
      }
    }
    this.seq = delta.seq;
    return changed;
  }

  resync() {
    this.resyncing = true;
    this.resyncs += 1;
    this.resubscribe();
  }

  bestBid() {
    let best = null;
    for (const t of this.bids.keys()) if (best === null || t > best) best = t;
    return best;
  }

  bestAsk() {
    let best = null;
    for (const t of this.asks.keys()) if (best === null || t < best) best = t;
    return best;
  }

  /** Levels best first: [[ticks, quantity text], ...]. */
  side(name) {
    const levels = [...(name === "bids" ? this.bids : this.asks).entries()];
    levels.sort((a, b) => (name === "bids" ? b[0] - a[0] : a[0] - b[0]));
    return levels;
  }
}

// The price ladder: one row per tick around the touch, bid and ask quantities with depth bars,
// and our own resting orders in the outer columns with the exact quantity ahead of each; the
// market maker's quotes (another account) are marked there too.

import { shortQty } from "./decimal.js";

const ROW_PX = 17;

export class Ladder {
  constructor(table, grid, { onPick }) {
    this.body = table.tBodies[0];
    this.grid = grid;
    this.onPick = onPick;
    this.centre = null;
    this.rows = [];
    this.size = 0;
    this.body.addEventListener("click", (event) => {
      const row = event.target.closest("tr");
      if (row && row.dataset.price) this.onPick(row.dataset.price);
    });
  }

  resize(height) {
    const size = Math.max(11, Math.floor(height / ROW_PX) - 2);
    if (size === this.size) return;
    this.size = size;
    this.body.replaceChildren();
    this.rows = [];
    for (let i = 0; i < size; i += 1) {
      const tr = document.createElement("tr");
      const cells = ["ours bid-side", "bid", "price", "ask", "ours ask-side"].map((cls) => {
        const td = document.createElement("td");
        td.className = cls;
        tr.append(td);
        return td;
      });
      this.body.append(tr);
      this.rows.push({ tr, cells });
    }
  }

  /** Keeps the touch in the middle half of the ladder (re-centring only when it leaves it). */
  place(bestBid, bestAsk) {
    const touch = bestBid !== null && bestAsk !== null ? Math.round((bestBid + bestAsk) / 2)
      : (bestBid ?? bestAsk);
    if (touch === null) return;
    const quarter = Math.floor(this.size / 4);
    if (this.centre === null || Math.abs(touch - this.centre) > quarter) this.centre = touch;
  }

  /** Redraws every row from the book, our open orders and the market maker's quotes (Maps
   * ticks -> [order, ...]). */
  render(book, ours, maker = new Map()) {
    const bestBid = book.bestBid();
    const bestAsk = book.bestAsk();
    this.place(bestBid, bestAsk);
    if (this.centre === null) return;
    const top = this.centre + Math.floor(this.size / 2);
    let most = 0;
    for (let i = 0; i < this.size; i += 1) {
      const t = top - i;
      most = Math.max(most, Number(book.bids.get(t) ?? 0), Number(book.asks.get(t) ?? 0));
    }
    for (let i = 0; i < this.size; i += 1) {
      const ticks = top - i;
      const { tr, cells } = this.rows[i];
      const price = this.grid.price(ticks);
      tr.dataset.price = price;
      cells[2].textContent = price;
      this.level(cells[1], book.bids.get(ticks), most);
      this.level(cells[3], book.asks.get(ticks), most);
      const mine = ours.get(ticks) ?? [];
      const mm = maker.get(ticks) ?? [];
      this.mine(cells[0], mine.filter((o) => o.side === "buy"), mm.filter((q) => q.side === "buy"));
      this.mine(cells[4], mine.filter((o) => o.side === "sell"), mm.filter((q) => q.side === "sell"));
      tr.classList.toggle("best-bid", ticks === bestBid);
      tr.classList.toggle("best-ask", ticks === bestAsk);
      tr.classList.toggle("spread", bestBid !== null && bestAsk !== null
        && ticks > bestBid && ticks < bestAsk);
      tr.classList.toggle("has-ours", mine.length > 0);
    }
  }

  level(td, qty, most) {
    if (!qty) {
      td.replaceChildren();
      return;
    }
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${most > 0 ? (100 * Number(qty)) / most : 0}%`;
    const text = document.createElement("span");
    text.textContent = shortQty(qty);
    td.replaceChildren(bar, text);
  }

  mine(td, orders, maker = []) {
    if (orders.length === 0 && maker.length === 0) {
      td.replaceChildren();
      return;
    }
    const quotes = maker.map((q) => {
      const span = document.createElement("span");
      span.className = "mm-order";
      span.dataset.orderId = String(q.order_id);
      span.textContent = `MM ${shortQty(q.qty)} ▲${q.queue_ahead === null ? "?" : shortQty(q.queue_ahead)}`;
      span.title = `market maker's quote ${q.order_id}: ${q.side} ${q.qty} @ ${q.price}; `
        + `${q.queue_ahead ?? "?"} ahead of it in the queue`;
      return span;
    });
    td.replaceChildren(...quotes, ...orders.map((o) => {
      const span = document.createElement("span");
      span.className = "our-order";
      span.dataset.orderId = String(o.order_id);
      span.dataset.queueAhead = o.queue_ahead ?? "";
      const left = (Number(o.qty) - Number(o.filled_qty)).toFixed(3);
      span.textContent = `${left} ▲${o.queue_ahead === null ? "?" : shortQty(o.queue_ahead)}`;
      span.title = `order ${o.order_id}: ${o.side} ${o.qty} @ ${o.price}, `
        + `filled ${o.filled_qty}; ${o.queue_ahead ?? "?"} ahead of it in the queue`;
      return span;
    }));
  }
}

// Our own orders: the order ticket (place, cancel, cancel all through the REST API with the
// page's API key) and the open orders with their exact queue positions. The list comes from
// GET /api/orders (which carries queue_ahead) and is refreshed when an order event arrives on
// the WebSocket, when the book changes at one of our prices, and every second.

const OPEN = new Set(["new", "partially_filled"]);

export class OwnOrders {
  constructor({ symbol, grid, onChange }) {
    this.symbol = symbol;
    this.grid = grid;
    this.onChange = onChange;
    this.key = null;
    this.orders = new Map(); // order id -> order
    this.pending = null;
    this.version = 0; // bumped by every update, so an older refresh's answer is dropped
    this.form = document.getElementById("ticket");
    this.result = document.getElementById("ticket-result");
    this.table = document.getElementById("my-orders");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.place();
    });
    document.getElementById("cancel-all").addEventListener("click", () => this.cancelAll());
    this.table.tBodies[0].addEventListener("click", (event) => {
      const button = event.target.closest("button[data-order-id]");
      if (button) this.cancel(button.dataset.orderId);
    });
    setInterval(() => this.refresh(), 1000);
  }

  useKey(key) {
    this.key = key;
    this.refresh();
  }

  async call(method, path, body) {
    const response = await fetch(path, {
      method,
      headers: { "X-API-Key": this.key ?? "", "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(data.message ?? response.statusText);
      error.code = data.code ?? String(response.status);
      throw error;
    }
    return data;
  }

  say(text, ok) {
    this.result.textContent = text;
    this.result.className = `result ${ok ? "ok" : "error"}`;
  }

  async place() {
    const f = new FormData(this.form);
    const type = f.get("type");
    const order = { symbol: this.symbol, side: f.get("side"), type, qty: String(f.get("qty")).trim(),
      tif: f.get("tif") };
    if (type === "limit") order.price = String(f.get("price")).trim();
    if (type === "market" && order.tif === "gtc") order.tif = "ioc";
    try {
      const o = await this.call("POST", "/api/orders", order);
      const where = o.queue_ahead !== null ? `, ${o.queue_ahead} ahead` : "";
      this.say(`order ${o.order_id} ${o.status}: ${o.side} ${o.qty} @ ${o.price ?? "market"}`
        + `, filled ${o.filled_qty}${where}`, true);
      this.update(o);
      this.refresh();
    } catch (e) {
      this.say(`${e.code}: ${e.message}`, false);
    }
  }

  async cancel(id) {
    try {
      const o = await this.call("DELETE", `/api/orders/${id}`);
      this.say(`order ${o.order_id} ${o.status}`, true);
      this.update(o);
    } catch (e) {
      this.say(`${e.code}: ${e.message}`, false);
    }
  }

  async cancelAll() {
    try {
      const canceled = await this.call("DELETE", `/api/orders?symbol=${encodeURIComponent(this.symbol)}`);
      this.say(`${canceled.length} canceled`, true);
      for (const o of canceled) this.update(o);
    } catch (e) {
      this.say(`${e.code}: ${e.message}`, false);
    }
  }

  /** An order's new state (from a REST answer or an order event). */
  update(o) {
    if (o.symbol !== this.symbol) return;
    this.version += 1;
    if (OPEN.has(o.status) && o.type === "limit") this.orders.set(o.order_id, o);
    else this.orders.delete(o.order_id);
    this.render();
  }

  /** Reloads the open orders and their queue positions (at most one request at a time). */
  refresh() {
    if (!this.key || this.pending) return;
    const version = this.version;
    this.pending = this.call("GET", `/api/orders?symbol=${encodeURIComponent(this.symbol)}`)
      .then((open) => {
        if (version !== this.version) return;
        this.orders = new Map(open.map((o) => [o.order_id, o]));
        this.render();
      })
      .catch((e) => this.say(`${e.code}: ${e.message}`, false))
      .finally(() => { this.pending = null; });
  }

  /** Whether a change of the book at these ticks moves one of our queues. */
  touches(ticks) {
    for (const o of this.orders.values()) if (ticks.includes(this.grid.ticks(o.price))) return true;
    return false;
  }

  /** Our open orders by price in ticks (for the ladder). */
  byTicks() {
    const out = new Map();
    for (const o of this.orders.values()) {
      const t = this.grid.ticks(o.price);
      if (!out.has(t)) out.set(t, []);
      out.get(t).push(o);
    }
    return out;
  }

  render() {
    const rows = [...this.orders.values()].map((o) => {
      const tr = document.createElement("tr");
      tr.dataset.orderId = String(o.order_id);
      const cells = [o.order_id, o.side, o.price, o.qty, o.filled_qty, o.queue_ahead ?? "–"];
      const classes = ["", o.side, "", "", "", "ahead"];
      cells.forEach((text, i) => {
        const td = document.createElement("td");
        td.textContent = String(text);
        if (classes[i]) td.className = classes[i];
        tr.append(td);
      });
      const td = document.createElement("td");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "cancel";
      button.dataset.orderId = String(o.order_id);
      td.append(button);
      tr.append(td);
      return tr;
    });
    this.table.tBodies[0].replaceChildren(...rows);
    this.onChange();
  }
}

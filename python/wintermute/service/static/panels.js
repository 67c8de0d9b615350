// The read-only panels: the trade tape, the external venues with the consolidated BBO, the
// engine's latency and throughput, and the market maker's state.

import { shortQty } from "./decimal.js";

const TAPE_ROWS = 60;

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

export function addTrades(table, trades) {
  const body = table.tBodies[0];
  for (const t of trades) {
    const tr = document.createElement("tr");
    const time = new Date(Number(BigInt(t.ts_ns) / 1000000n)).toLocaleTimeString([], { hour12: false });
    tr.append(cell(time), cell(t.taker_side, t.taker_side), cell(t.price, t.taker_side),
      cell(shortQty(t.qty)));
    body.prepend(tr);
  }
  while (body.rows.length > TAPE_ROWS) body.deleteRow(-1);
}

/** A price for display: trailing zeros past the cents dropped (60000.01000000 -> 60000.01). */
function shortPrice(text) {
  if (!text.includes(".")) return text;
  const [whole, fraction] = text.split(".");
  return `${whole}.${fraction.replace(/0+$/, "").padEnd(2, "0")}`;
}

/** A quantity cut (not rounded) to four decimals, for the narrow venue cells. */
function clipQty(text) {
  const [whole, fraction = ""] = text.split(".");
  return fraction ? `${whole}.${fraction.slice(0, 4)}` : whole;
}

function level(pair) {
  return pair ? `${clipQty(pair[1])} @ ${shortPrice(pair[0])}` : "–";
}

export function showMarket(message) {
  const body = document.querySelector("#venues tbody");
  const rows = Object.entries(message.venues).map(([name, v]) => {
    const tr = document.createElement("tr");
    tr.dataset.venue = name;
    const venue = cell(`${name}${v.merged === false ? " *" : ""}`);
    venue.title = `${v.symbol ?? ""}: ${v.frames ?? 0} frames`;
    const state = cell(v.resyncs ? `${v.state} ↻${v.resyncs}` : v.state, `state-${v.state}`);
    state.title = `${v.resyncs ?? 0} resyncs after sequence gaps`;
    tr.append(venue, state, cell(level(v.bid)), cell(level(v.ask)));
    return tr;
  });
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = cell("no external market attached");
    td.colSpan = 4;
    tr.append(td);
    rows.push(tr);
  }
  body.replaceChildren(...rows);
  const c = message.consolidated;
  const merged = c ? (c.merged ?? ["coinbase", "kraken"]) : [];
  document.getElementById("bbo-venues").textContent = merged
    .map((v) => ({ binance: "bn", coinbase: "cb", kraken: "kr" })[v] ?? v).join("+");
  document.getElementById("bbo-venues").title = `consolidated: ${merged.join(" + ")}`;
  document.getElementById("bbo-bid").textContent = c && c.bbo ? shortPrice(c.bbo[0]) : "–";
  document.getElementById("bbo-ask").textContent = c && c.bbo ? shortPrice(c.bbo[1]) : "–";
  const cross = document.getElementById("cross");
  cross.dataset.kind = c ? c.cross.kind : "";
  const micro = c && c.microprice ? `microprice ${clipQty(c.microprice)} · ` : "";
  cross.textContent = c ? `${micro}venues ${c.cross.kind === "none" ? "not crossed" : c.cross.kind}`
    + (c.cross.bid_venue ? ` (${c.cross.bid_venue} bid ≥ ${c.cross.ask_venue} ask)` : "")
    + " · * not merged" : "";
  showMarketMaker(message.market_maker ?? { state: "unknown" });
}

/** The hedges sent (the state's `hedging`): where they go or why they are held, what came of
 * them, what they cost, the latest orders and errors. */
function hedgingRows(h, pnl) {
  if (!h) return [];
  const sources = h.kill_switch.length ? ` (${h.kill_switch.join(", ")})` : "";
  const routes = h.routes.length ? `to ${h.routes.join(", ")}` : "decided only (no routes)";
  const hold = h.hold ? `held: ${h.hold.replace("_", " ")}${sources}` : "sending";
  const orders = h.orders.slice(-3).reverse().map((o) => `#${o.client_id} ${o.side} ${o.qty} on ${o.venue}`
    + ` ≤ ${o.limit_price}: ${o.status} ${o.filled}${o.avg_price ? ` @ ${o.avg_price}` : ""} fee ${o.fees}`);
  return [
    ["hedging", `${routes} · ${hold}${h.due ? " · hedge due" : ""}`],
    ["hedge orders", `${h.orders_sent} sent · ${h.fills} fills · ${h.rejected} refused`
      + ` · ${h.send_errors} not sent · ${h.in_flight} in flight`],
    ["hedge fills", `${h.filled_qty} filled (net ${h.net_filled}) · ${h.canceled_qty} canceled`
      + ` (${h.partial} partial, ${h.unfilled} unfilled)`],
    ["hedge PnL", `${h.pnl} (slippage ${pnl.hedge_slippage}, fees ${h.fees})`],
    ["kill-switch holds", `${h.holds} holds · ${h.held_decisions} decisions held`],
    ["hedge orders (latest)", orders.length ? orders.join("\n") : "none"],
    ["hedge errors", h.last_errors.length ? h.last_errors.slice(-3).join("\n") : "none"],
  ];
}

/** A Python strategy's rows (the state's `strategy`, when one quotes): its name, what it was
 * handed and in how many calls, its callback time per event, the commands it sent, what the
 * queue dropped, its error. */
function strategyRows(st, error) {
  if (!st) return [];
  const perEvent = st.events ? duration(Math.round(st.busy_ns / st.events)) : "–";
  return [
    ["strategy", `${st.name} · ${st.failed ? "failed" : "running"}`],
    ["strategy events", `${st.events} events in ${st.batches} batches (largest ${st.largest_batch})`
      + ` · ${st.trades} trades · ${st.our_tops} tops of ours · ${st.queued} queued`],
    ["strategy time", `${perEvent} per event`],
    ["strategy commands", `${st.commands} sent · ${st.refused} refused · ${st.pulled} pulled`
      + ` · ${st.working} working`],
    ["strategy queue", `${st.conflated_books} tops conflated · ${st.conflated_timers} timers merged`
      + ` · ${st.dropped} dropped · ${st.dropped_trades} trades dropped`],
    ["strategy errors", st.failed ? (error ?? "failed") : "none"],
  ];
}

/** The market maker's row values: name -> text (its quotes, inventory, PnL and parts, the
 * interlock with its pulls per cause, hedge decisions, the hedges sent, counters). */
function marketMakerRows(mm) {
  const pnl = mm.pnl;
  const lock = mm.interlock;
  const pulls = Object.entries(lock.pulls).filter(([, n]) => n > 0)
    .map(([cause, n]) => `${cause} ${n}`).join(" · ");
  const quotes = mm.quotes.map((q) => `${q.side} ${q.qty} @ ${q.price} ▲${q.queue_ahead ?? "?"}`);
  const hedges = mm.hedges.slice(-3).reverse()
    .map((h) => `${h.side} ${h.qty} on ${h.venue} ≤ ${h.limit_price} (fair ${h.decision_fair})`);
  const c = mm.counters;
  return [
    ["fair value", mm.fair_value ?? "–"],
    ["quotes", quotes.length ? quotes.join("\n") : "none resting"],
    ["inventory", mm.inventory],
    ["PnL", pnl.total],
    ["spread capture", pnl.spread_capture],
    ["inventory MTM", pnl.inventory_mtm],
    ["fees", pnl.fees],
    ["hedge slippage", pnl.hedge_slippage],
    ["interlock", lock.quoting ? "quoting allowed" : `pulled: ${lock.causes.join(", ") || "?"}`],
    ["pulls", pulls || "none"],
    ["hedges", hedges.length ? hedges.join("\n") : "none"],
    ...hedgingRows(mm.hedging, pnl),
    ...strategyRows(mm.strategy, mm.error),
    ["fills", `${c.fills} fills · ${c.requotes} requotes · ${c.commands} orders`],
    ["cut short", c.cut_short ? `${c.cut_short} requotes (orders in flight)` : "none"],
  ];
}

function showMarketMaker(mm) {
  const mmState = document.getElementById("mm-state");
  mmState.dataset.state = mm.state;
  mmState.textContent = mm.message ?? `market maker: ${mm.state}`;
  const rows = mm.quotes && mm.pnl && mm.interlock ? marketMakerRows(mm)
    // Whatever else a market maker reports, as name: value rows.
    : Object.entries(mm).filter(([name]) => name !== "state" && name !== "message")
      .map(([name, value]) => [name, typeof value === "object" ? JSON.stringify(value) : String(value)]);
  const fields = rows.flatMap(([name, value]) => {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.dataset.field = name;
    dd.textContent = value;
    return [dt, dd];
  });
  document.getElementById("mm-fields").replaceChildren(...fields);
}

function duration(ns) {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns} ns`;
}

function rate(x) {
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);
}

export class StatsPanel {
  constructor() {
    this.previous = null;
  }

  show(stats) {
    const lat = stats.latency_ns;
    for (const q of ["p50", "p95", "p99", "p999"]) {
      document.getElementById(`lat-${q}`).textContent = lat[q] ? duration(lat[q]) : "–";
    }
    const now = performance.now();
    if (this.previous) {
      const seconds = (now - this.previous.at) / 1000;
      const orders = (stats.received - this.previous.received) / seconds;
      document.getElementById("orders-rate").textContent = rate(Math.max(orders, 0));
    }
    this.previous = { at: now, received: stats.received };
    document.getElementById("outputs-rate").textContent = rate(stats.outputs_per_s);
    document.getElementById("received").textContent = stats.received.toLocaleString();
  }

  messages(perSecond) {
    document.getElementById("messages-rate").textContent = rate(perSecond);
  }
}

// The page: wires the live sockets to the panels. Everything it shows comes from the service:
// /api/ui/config, /api/instruments, /api/trades, /api/orders and the /ws and /ws/market
// WebSockets. window.wintermute exposes the live state for tests and curious users.

import { AlertsPanel } from "./alerts.js";
import { LiveBook } from "./book.js";
import { LiveSocket } from "./connection.js";
import { TickGrid } from "./decimal.js";
import { DepthChart } from "./depth_chart.js";
import { Ladder } from "./ladder.js";
import { OwnOrders } from "./orders.js";
import { StatsPanel, addTrades, showMarket } from "./panels.js";

const BOOK_DEPTH = 200;

async function json(path) {
  const response = await fetch(path);
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

async function main() {
  const config = await json("/api/ui/config");
  const symbol = config.symbol;
  const instrument = (await json("/api/instruments")).find((i) => i.symbol === symbol);
  const grid = new TickGrid(instrument.tick_size);
  setText("symbol", symbol);
  document.getElementById("ticket-qty").value = instrument.min_qty;

  // The market maker's resting quotes (from /ws/market), marked on the ladder.
  let makerQuotes = [];
  const makerByTicks = () => {
    const out = new Map();
    for (const q of makerQuotes) {
      const t = grid.ticks(q.price);
      if (!out.has(t)) out.set(t, []);
      out.get(t).push(q);
    }
    return out;
  };

  let frame = null;
  const redraw = () => {
    if (frame !== null) return;
    frame = requestAnimationFrame(() => {
      frame = null;
      ladder.render(book, own.byTicks(), makerByTicks());
      depth.render(book);
      setText("book-seq", book.seq ?? "–");
      setText("resyncs", String(book.resyncs));
      const bid = book.bestBid();
      const ask = book.bestAsk();
      const priceInput = document.getElementById("ticket-price");
      if (!priceInput.value && bid !== null) priceInput.value = grid.price(bid);
      setText("spread", bid !== null && ask !== null
        ? `${grid.price(bid)} / ${grid.price(ask)} · spread ${ask - bid} ticks` : "");
    });
  };

  const ladderPanel = document.getElementById("ladder-panel");
  const ladder = new Ladder(document.getElementById("ladder"), grid, {
    onPick: (price) => { document.getElementById("ticket-price").value = price; },
  });
  const depth = new DepthChart(document.getElementById("depth-chart"), grid);
  const stats = new StatsPanel();
  const alerts = new AlertsPanel(document.getElementById("alerts"), document.getElementById("alerts-note"));
  const own = new OwnOrders({ symbol, grid, onChange: redraw });
  const bookSubscription = { op: "subscribe", channel: "book", symbol, depth: BOOK_DEPTH };
  // A gap sends the book subscription again; the server answers with a fresh snapshot.
  const book = new LiveBook(grid, { resubscribe: () => live.send(bookSubscription) });

  const badge = document.getElementById("connection");
  const setState = (state) => {
    const shown = state === "live" && book.resyncing ? "resyncing" : state;
    badge.dataset.state = shown;
    badge.textContent = shown;
  };

  const live = new LiveSocket("/ws", {
    onState: setState,
    onOpen: () => {
      setText("reconnects", String(live.reconnects));
      own.refresh();
    },
    onMessage: (m) => {
      switch (m.type) {
        case "book_snapshot":
          if (m.symbol !== symbol) return;
          book.load(m);
          setState("live");
          redraw();
          break;
        case "book_delta": {
          if (m.symbol !== symbol) return;
          const changed = book.apply(m);
          if (changed === null) setState("live");
          else if (own.touches(changed)) own.refresh();
          redraw();
          break;
        }
        case "trades":
          addTrades(document.getElementById("tape"), m.trades);
          break;
        case "order":
          own.update(m.order);
          break;
        case "stats":
          stats.show(m);
          break;
        case "authenticated":
          setText("account", `account ${m.account}`);
          setText("ticket-account", `as account ${m.account}`);
          break;
        case "alert":
          alerts.add(m.alert);
          break;
        case "error":
          if (m.code === "AUDIT_OFF") alerts.off(m.message);
          else document.getElementById("ticket-result").textContent = `${m.code}: ${m.message}`;
          break;
        default:
          break;
      }
    },
  });
  live.subscribe(bookSubscription);
  live.subscribe({ op: "subscribe", channel: "trades", symbol });
  live.subscribe({ op: "subscribe", channel: "stats" });

  const market = new LiveSocket("/ws/market", {
    onMessage: (m) => {
      showMarket(m);
      makerQuotes = m.market_maker?.quotes ?? [];
      redraw();
    },
  });

  const useKey = (key) => {
    live.auth(key);
    live.subscribe({ op: "subscribe", channel: "orders" });
    live.subscribe({ op: "subscribe", channel: "alerts" });
    own.useKey(key);
  };
  const stored = sessionStorage.getItem("wintermute-api-key");
  if (config.api_key || stored) {
    useKey(config.api_key || stored);
  } else {
    document.getElementById("key-row").hidden = false;
    document.getElementById("use-key").addEventListener("click", () => {
      const key = document.getElementById("api-key").value.trim();
      if (!key) return;
      sessionStorage.setItem("wintermute-api-key", key);
      document.getElementById("key-row").hidden = true;
      useKey(key);
    });
  }

  addTrades(document.getElementById("tape"), await json(`/api/trades/${encodeURIComponent(symbol)}?limit=60`));

  const fit = () => {
    ladder.resize(ladderPanel.clientHeight - 40);
    redraw();
  };
  new ResizeObserver(fit).observe(ladderPanel);
  fit();

  let lastCount = 0;
  setInterval(() => {
    const count = live.messages + market.messages;
    stats.messages(count - lastCount);
    lastCount = count;
  }, 1000);

  window.wintermute = { book, live, market, own, ladder, grid, alerts };
}

main().catch((error) => {
  document.getElementById("connection").textContent = `error: ${error.message}`;
  throw error;
});

"""``wintermute bench backtest-peer``: our backtester against hftbacktest, a GLFT market maker on
the same L2 events, in the same run.

::

    wintermute bench backtest-peer [--market synthetic|recorded] [--seconds S] [--repeat N]
                                   [--step-ms MS] [--queue MODEL] [--depth D] [--json]

One backtest config (:func:`config`) names the market - a seeded synthetic venue
(``synthetic``, one external venue quoted through the queue model, no other participants) or
the Binance BTCUSDT recording in ``data/`` (``recorded``) - the GLFT parameters (gamma, a
fixed sigma and fixed intensity ``A``, ``k``, so that neither side estimates anything), the
order size and inventory limit, a constant order latency each way, maker/taker fees and the
queue model. The quoted venue's tape (``_core.mm_backtest_tape``: the events our backtester
replays, after the venue's own book builder) is converted to hftbacktest's event array
(:func:`to_hftbacktest`), and then:

- ``wintermute``: our Rust backtester runs the built-in market maker with that config (full
  fidelity: queue model, latencies, fees, PnL attribution, metrics sampling, markouts, digest);
- ``hftbacktest``: hftbacktest's backtester (the faster of its two depths for the tape: see
  :func:`hftbacktest_backtest`) replays the converted events with the same queue model family,
  constant order latency and fees (whole fills), and a GLFT market maker in its numba loop,
  written as hftbacktest's own GLFT example writes it (``elapse`` every ``--step-ms``, cancel
  what is off the new quote, post-only orders, a ``Recorder`` row every ``sample_ms``) with the
  same closed form and parameters.

Both rates are tape events over the seconds of the event loop (tape building, data loading and
numba compilation excluded: hftbacktest's loop is compiled on a short prefix first), best of
``--repeat``. The outcome figures are printed side by side; they are close, not equal: we
decide on every top change and requote past a threshold, hftbacktest every step; our fair value
and theirs read the same microprice but at different moments; and the queue models differ in
detail (see docs/market-making.md).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wintermute import _core

__all__ = [
    "GLFT",
    "add_parser",
    "config",
    "glft_coefficients",
    "hftbacktest_backtest",
    "hftbacktest_run",
    "run",
    "tape",
    "to_hftbacktest",
    "to_table",
]

ROOT = Path(__file__).resolve().parents[3]
RECORDING = (
    ROOT
    / "data"
    / "binance"
    / "binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade.cfraw.txt"
)

#: The market maker both sides run, per market: GLFT with fixed sigma (ticks/√s) and intensity
#: (``a`` per second, ``k`` per tick), one order of ``size_lots`` per side, at most
#: ``max_lots`` of inventory; fees in parts per million of notional.
GLFT: dict[str, dict[str, Any]] = {
    "synthetic": {
        "gamma": 0.05,
        "sigma": 5.0,
        "a": 1.0,
        "k": 0.5,
        "size_lots": 10,
        "max_lots": 200,
        "maker_ppm": -50,
        "taker_ppm": 500,
    },
    "recorded": {
        "gamma": 0.001,
        "sigma": 500.0,
        "a": 1.0,
        "k": 0.01,
        "size_lots": 1000,
        "max_lots": 20000,
        "maker_ppm": 0,
        "taker_ppm": 1000,
    },
}


def config(
    market: str = "synthetic",
    *,
    seconds: float = 120.0,
    order_ms: float = 1.0,
    queue: str = "risk_averse",
    seed: int = 7,
) -> dict[str, Any]:
    """The backtest config of ``market`` (``synthetic`` or ``recorded``)."""
    p = GLFT[market]
    if market == "synthetic":
        venue, symbol, quote, tick, lot = "binance", "BTCUSDT", "USDT", "0.1", "0.0001"
        mkt: dict[str, Any] = {
            "kind": "synthetic",
            "duration_s": seconds,
            "sigma_ticks": p["sigma"],
            "depth": 5,
            "trade_probability": 0.2,
            "venues": [
                {"name": venue, "spread_ticks": 6, "updates_per_s": 2000.0, "feed_latency_ms": 5}
            ],
            "participants": {
                "makers": 0,
                "maker_refresh_ms": 100,
                "maker_half_spread_ticks": 4,
                "maker_size_lots": 20,
                "noise_per_s": 0.0,
                "informed_per_s": 0.0,
                "informed_lead_ms": 500,
                "taker_max_lots": 10,
            },
        }
        fee_key = venue
    elif market == "recorded":
        venue, symbol, quote, tick, lot = "binance", "BTCUSDT", "USDT", "0.01", "0.000001"
        mkt = {
            "kind": "recorded",
            "path": str(RECORDING),
            "venue": venue,
            "symbol": symbol,
            "tick_size": tick,
            "lot_size": lot,
        }
        fee_key = f"{venue}:{symbol}"
    else:
        raise ValueError(f"market={market!r}: expected synthetic or recorded")
    return {
        "seed": seed,
        "market": mkt,
        "quote_on": fee_key,
        "queue_model": queue,
        "latency": {"order_ms": order_ms, "our_feed_ms": order_ms},
        "fees": {fee_key: {"maker_ppm": p["maker_ppm"], "taker_ppm": p["taker_ppm"]}},
        "sample_ms": 100,
        "timer_ms": 100,
        "markout_ms": [100, 1000, 5000],
        "pricing": {
            "instrument": {
                "symbol": symbol,
                "quote_currency": quote,
                "tick_size": tick,
                "lot_size": lot,
            },
            "venues": [
                {
                    "name": venue,
                    "symbol": symbol,
                    "quote_currency": quote,
                    "weight": 1.0,
                    "stale_after_ms": 1000,
                }
            ],
            "model": {"kind": "glft", "gamma": p["gamma"]},
            "volatility": {"fixed": {"sigma": p["sigma"]}},
            "intensity": {
                "fixed": {"bid": {"a": p["a"], "k": p["k"]}, "ask": {"a": p["a"], "k": p["k"]}}
            },
            "quoting": {
                "levels": 1,
                "sizes_lots": [p["size_lots"]],
                "level_spacing_ticks": 1,
                "min_spread_ticks": 2,
                "max_spread_ticks": 100_000,
                "max_inventory_lots": p["max_lots"],
                "inventory_unit_lots": p["size_lots"],
                "requote_threshold_ticks": 1.0,
                "requote_interval_ms": 1000,
            },
        },
    }


def glft_coefficients(gamma: float, a: float, k: float) -> tuple[float, float]:
    """``(c1, c2)`` of the GLFT closed form with ``xi = gamma`` and ``Delta = 1`` (the form
    hftbacktest's example and our model both use): the half-spread is ``c1 + sigma·c2/2``, the
    skew ``sigma·c2`` per order of inventory."""
    base = 1.0 + gamma / k
    return math.log(base) / gamma, math.sqrt(gamma / (2.0 * a * k) * base ** (k / gamma + 1.0))


def tape(cfg: dict[str, Any]) -> tuple[npt.NDArray[np.int64], float, float, str]:
    """The quoted venue's tape of ``cfg``: ``(rows, tick_size, lot_size, venue)``, one row
    ``[ts_exch, ts_recv, kind, side, price_ticks, qty_lots]`` per event (kind 0 level, 1 trade,
    2 clear, 3 invalid; side 0 buy, 1 sell)."""
    raw, tick, lot, venue = _core.mm_backtest_tape(json.dumps(cfg))
    rows = np.frombuffer(raw, dtype="<i8").reshape(-1, 6)
    return rows, tick, lot, venue


def to_hftbacktest(rows: npt.NDArray[np.int64], tick: float, lot: float) -> npt.NDArray[np.void]:
    """hftbacktest's event array for tape ``rows``: levels as depth events, trades as trade
    events (the aggressor's side flag), clears (a snapshot follows) and invalid books as a
    depth clear of both sides; prices and sizes scaled by ``tick`` and ``lot``.

    Rows whose receive times are in venue-time order carry both the exchange and the local flag;
    otherwise every event is written twice, once for the exchange (venue-time order) and once
    for the local side (receive-time order), interleaved by time, as hftbacktest's readers want.
    """
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_CLEAR_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
        event_dtype,
    )

    kind, side = rows[:, 2], rows[:, 3]
    base = np.where(kind == 0, DEPTH_EVENT, np.where(kind == 1, TRADE_EVENT, DEPTH_CLEAR_EVENT))
    flag = np.where(side == 0, BUY_EVENT, SELL_EVENT)
    ev = np.where(kind >= 2, base, base | flag).astype(np.uint64)
    events: npt.NDArray[np.void] = np.zeros(len(rows), event_dtype)
    events["ev"] = ev
    events["exch_ts"] = rows[:, 0]
    events["local_ts"] = rows[:, 1]
    events["px"] = np.where(kind >= 2, np.nan, rows[:, 4] * tick)
    events["qty"] = rows[:, 5] * lot
    if bool(np.all(np.diff(rows[:, 1]) >= 0)):
        events["ev"] |= np.uint64(EXCH_EVENT | LOCAL_EVENT)
        return events
    exch = events.copy()
    exch["ev"] |= np.uint64(EXCH_EVENT)
    local = events[np.argsort(rows[:, 1], kind="stable")]
    local["ev"] |= np.uint64(LOCAL_EVENT)
    both = np.concatenate([exch, local])
    key = np.concatenate([exch["exch_ts"], local["local_ts"]])
    return both[np.argsort(key, kind="stable")]


def _queue(asset: Any, model: str) -> Any:
    if model == "risk_averse":
        return asset.risk_adverse_queue_model()
    if model == "log":
        return asset.log_prob_queue_model()
    if model.startswith("power:"):
        return asset.power_prob_queue_model(float(model.split(":", 1)[1]))
    raise ValueError(f"queue={model!r}: expected risk_averse, log or power:N")


def _pick_depth(events: npt.NDArray[np.void], tick: float, depth: str) -> str:
    """``depth``, with ``auto`` resolved: ``roi`` when the prices span under 1 M ticks."""
    if depth != "auto":
        return depth
    px = events["px"][np.isfinite(events["px"])]
    return "roi" if (float(px.max()) - float(px.min())) / tick < 1e6 else "hashmap"


def hftbacktest_backtest(
    events: npt.NDArray[np.void],
    tick: float,
    lot: float,
    *,
    latency_ns: int = 0,
    fees_ppm: tuple[int, int] = (0, 0),
    queue: str = "risk_averse",
    depth: str = "auto",
) -> Any:
    """hftbacktest's backtester over ``events`` with the market depth ``depth``: ``roi``
    (``ROIVectorMarketDepthBacktest``, a price-indexed vector over the tape's price range, its
    faster depth on a narrow range), ``hashmap`` (``HashMapMarketDepthBacktest``, faster when a
    tape has far-away levels: the recording's snapshots span 25,000 to 145,606 USDT, 12 M
    ticks), or ``auto`` (``roi`` under 1 M ticks of range). Its no-partial-fill exchange (its
    partial-fill one stops with ``InvalidOrderStatus``, filling a filled order, on these
    tapes), a constant order latency each way, fees on traded value (maker, taker in ppm), the
    queue model ``queue``."""
    from hftbacktest import (
        BacktestAsset,
        HashMapMarketDepthBacktest,
        ROIVectorMarketDepthBacktest,
    )

    px = events["px"][np.isfinite(events["px"])]
    lo, hi = float(px.min()), float(px.max())
    margin = max(hi - lo, 1000 * tick)
    depth = _pick_depth(events, tick, depth)
    asset = (
        BacktestAsset()
        .data([events])
        .linear_asset(1.0)
        .constant_order_latency(latency_ns, latency_ns)
        .no_partial_fill_exchange()
        .trading_value_fee_model(fees_ppm[0] / 1e6, fees_ppm[1] / 1e6)
        .tick_size(tick)
        .lot_size(lot)
        .roi_lb(lo - margin)
        .roi_ub(hi + margin)
        .last_trades_capacity(0)
    )
    asset = _queue(asset, queue)
    if depth == "roi":
        return ROIVectorMarketDepthBacktest([asset])
    if depth == "hashmap":
        return HashMapMarketDepthBacktest([asset])
    raise ValueError(f"depth={depth!r}: expected auto, roi or hashmap")


def hftbacktest_run(
    events: npt.NDArray[np.void],
    cfg: dict[str, Any],
    tick: float,
    lot: float,
    *,
    step_ms: float,
    depth: str = "auto",
) -> dict[str, Any]:
    """One timed run of hftbacktest's GLFT on ``events`` with ``cfg``'s parameters."""
    from hftbacktest import Recorder

    pricing = cfg["pricing"]
    quoting = pricing["quoting"]
    intensity = pricing["intensity"]["fixed"]["bid"]
    c1, c2 = glft_coefficients(pricing["model"]["gamma"], intensity["a"], intensity["k"])
    sigma = pricing["volatility"]["fixed"]["sigma"]
    order_qty = quoting["sizes_lots"][0] * lot
    fee = next(iter(cfg["fees"].values()))
    step_ns = max(1, round(step_ms * 1e6))
    record_every = max(1, round(cfg["sample_ms"] * 1e6 / step_ns))
    hbt = hftbacktest_backtest(
        events,
        tick,
        lot,
        latency_ns=round(cfg["latency"]["order_ms"] * 1e6),
        fees_ppm=(fee["maker_ppm"], fee["taker_ppm"]),
        queue=cfg["queue_model"],
        depth=depth,
    )
    span_ns = int(events["local_ts"].max() - events["local_ts"].min())
    recorder = Recorder(1, span_ns // (record_every * step_ns) + 16)
    from wintermute.bench.mm_peer_loops import glft

    started = time.perf_counter()
    steps = glft(
        hbt,
        recorder.recorder,
        step_ns,
        c1 + 0.5 * sigma * c2,
        sigma * c2,
        order_qty,
        quoting["max_inventory_lots"] * lot,
        record_every,
    )
    seconds = time.perf_counter() - started
    state = hbt.state_values(0)
    book = hbt.depth(0)
    mid = (book.best_bid + book.best_ask) / 2.0
    position = hbt.position(0)
    out = {
        "loop_seconds": seconds,
        "steps": int(steps),
        "fills": int(state.num_trades),
        "pnl": state.balance + position * mid - state.fee,
        "fees": -state.fee,
        "final_inventory_lots": round(position / lot),
        "traded_lots": round(state.trading_volume / lot),
    }
    hbt.close()
    return out


def _warm_up(
    events: npt.NDArray[np.void], cfg: dict[str, Any], tick: float, lot: float, depth: str
) -> None:
    """Compiles hftbacktest's loop on a short prefix, outside the timings."""
    hftbacktest_run(events[: min(len(events), 5_000)], cfg, tick, lot, step_ms=1.0, depth=depth)


def run(
    cfg: dict[str, Any], *, repeat: int = 3, step_ms: float = 1.0, depth: str = "auto"
) -> dict[str, Any]:
    """Runs both rows (best of ``repeat``) and returns the ``--json`` document."""
    cfg = copy.deepcopy(cfg)
    rows, tick, lot, venue = tape(cfg)
    events = to_hftbacktest(rows, tick, lot)
    text = json.dumps(cfg)
    depth = _pick_depth(events, tick, depth)
    _warm_up(events, cfg, tick, lot, depth)
    # Alternating, so that both rows see the same spells of load on a shared machine.
    ours_runs, their_runs = [], []
    for _ in range(repeat):
        ours_runs.append(json.loads(_core.mm_backtest_bench(text, "builtin")))
        their_runs.append(hftbacktest_run(events, cfg, tick, lot, step_ms=step_ms, depth=depth))
    ours = min(ours_runs, key=lambda s: float(s["loop_seconds"]))
    theirs = min(their_runs, key=lambda r: float(r["loop_seconds"]))
    n = len(rows)
    if int(ours["md_events"]) != n:
        raise RuntimeError(f"our backtest replayed {ours['md_events']} events, the tape has {n}")
    markout = next((m for m in ours["markouts"] if m["horizon_ms"] == 1000), None)
    results = [
        {
            "system": "wintermute",
            "events": n,
            "loop_seconds": ours["loop_seconds"],
            "events_per_s": n / float(ours["loop_seconds"]),
            "fills": ours["fills"],
            "orders": ours["orders"],
            "pnl": ours["pnl"]["total"],
            "fees": ours["pnl"]["fees"],
            "final_inventory_lots": ours["final_inventory_lots"],
            "traded_lots": ours["maker_lots"] + ours["taker_lots"],
            "markout_1s_bps": None if markout is None else markout["mean_bps"],
        },
        {
            "system": "hftbacktest",
            "events": n,
            "loop_seconds": theirs["loop_seconds"],
            "events_per_s": n / theirs["loop_seconds"],
            "fills": theirs["fills"],
            "orders": None,
            "pnl": theirs["pnl"],
            "fees": theirs["fees"],
            "final_inventory_lots": theirs["final_inventory_lots"],
            "traded_lots": theirs["traded_lots"],
            "markout_1s_bps": None,
        },
    ]
    ratio = results[0]["events_per_s"] / results[1]["events_per_s"]
    notes = [
        f"ratio wintermute / hftbacktest: {ratio:.2f}x events/s on the same {n:,} events",
        f"hftbacktest: {len(events):,} event rows, {theirs['steps']:,} elapse steps of "
        f"{step_ms} ms, {depth} depth, no partial fills (its partial-fill "
        "exchange stops with InvalidOrderStatus on these tapes)",
        "rates: tape events / event-loop seconds (tape building, data loading and numba "
        f"compilation excluded), best of {repeat} alternating runs; machine: "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
        "outcomes differ by design: we decide on every top change (requote past 1 tick), "
        "hftbacktest every step; fills are counted per execution on both sides",
    ]
    workload = {
        "name": "mm_backtest_peer",
        "market": ours["market"],
        "venue": venue,
        "seed": cfg["seed"],
        "sim_seconds": ours["sim_seconds"],
        "order_ms": cfg["latency"]["order_ms"],
        "queue_model": cfg["queue_model"],
        "step_ms": step_ms,
        "depth": depth,
    }
    return {"workload": workload, "results": results, "ratio": ratio, "notes": notes}


def to_table(doc: dict[str, Any]) -> str:
    """A fixed-width table of a ``run`` document."""
    header = (
        f"{'system':<13}{'events':>12}{'loop s':>9}{'events/s':>11}{'fills':>8}"
        f"{'traded lots':>13}{'PnL':>11}{'fees':>9}{'final inv':>11}{'mk 1s bp':>10}"
    )
    lines = [header, "-" * len(header)]
    for r in doc["results"]:
        mk = "" if r["markout_1s_bps"] is None else f"{r['markout_1s_bps']:+.2f}"
        lines.append(
            f"{r['system']:<13}{r['events']:>12,}{r['loop_seconds']:>9.3f}"
            f"{r['events_per_s'] / 1e6:>10.2f}M{r['fills']:>8,}{r['traded_lots']:>13,}"
            f"{r['pnl']:>11.2f}{r['fees']:>9.2f}{r['final_inventory_lots']:>11,}{mk:>10}"
        )
    lines += ["", "notes:"] + [f"- {n}" for n in doc["notes"]]
    return "\n".join(lines)


def _main(args: argparse.Namespace) -> int:
    from wintermute import errors

    try:
        cfg = config(args.market, seconds=args.seconds, order_ms=args.order_ms, queue=args.queue)
        doc = run(cfg, repeat=args.repeat, step_ms=args.step_ms, depth=args.depth)
    except ImportError as e:
        print(f"wintermute bench backtest-peer: {e} (pip install '.[peers]')", file=sys.stderr)
        return 2
    except (errors.WintermuteError, ValueError, RuntimeError) as e:
        print(f"wintermute bench backtest-peer: {e}", file=sys.stderr)
        return 2
    print(json.dumps(doc, indent=2) if args.json else to_table(doc))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``backtest-peer`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser(
        "backtest-peer", help="our backtester against hftbacktest, GLFT on the same events"
    )
    p.add_argument("--market", choices=sorted(GLFT), default="synthetic", help="which tape")
    p.add_argument("--seconds", type=float, default=120.0, help="synthetic market's length")
    p.add_argument("--order-ms", type=float, default=1.0, help="order latency each way, ms")
    p.add_argument("--queue", default="risk_averse", help="risk_averse, log or power:N")
    p.add_argument("--step-ms", type=float, default=1.0, help="hftbacktest's elapse step, ms")
    p.add_argument(
        "--depth", choices=["auto", "roi", "hashmap"], default="auto", help="hftbacktest's depth"
    )
    p.add_argument("--repeat", type=int, default=3, help="runs per row (the best is kept)")
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.set_defaults(handler=_main)

"""Market making from Python: backtests of the built-in market maker and their reports.

The market maker and the backtester are Rust (``wintermute_mm``); this module loads a
configuration (TOML or JSON), runs it with the GIL released, saves a run directory and writes
its report::

    from wintermute import mm

    result = mm.run_backtest(mm.load_config("examples/mm.toml"))
    print(result.summary["pnl"]["total"], result.summary["fill_ratio"])
    mm.save_run(result, "runs/demo")
    mm.write_report("runs/demo")  # metrics.md, *.png, report.html

A run directory holds ``summary.json`` (the metrics), ``columns.npz`` (the sampled series and
every fill, as float64 arrays) and, once reported, ``metrics.md``, the plots and ``report.html``
(one self-contained page: the table and the plots inlined).

The same is on the command line::

    wintermute mm backtest --config examples/mm.toml --out runs/demo
    wintermute mm report runs/demo

A strategy written in Python (a subclass of ``wintermute.mm_strategy.Strategy``) runs in the
same backtester instead of the built-in market maker: ``run_backtest(config, strategy=obj)``,
or ``--strategy module:Class`` on the command line (the class is made with the config).

The same config runs live (``LiveMarketMaker``, ``paper``; see ``wintermute.mm_live``)::

    wintermute mm --config examples/mm_live.toml --duration 60
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wintermute import _core
from wintermute.config import read_document
from wintermute.errors import ConfigError
from wintermute.mm_live import LiveMarketMaker, paper, paper_config
from wintermute.mm_strategy import Strategy

__all__ = [
    "PLOTS",
    "BacktestResult",
    "LiveMarketMaker",
    "load_config",
    "load_run",
    "load_strategy",
    "metrics_rows",
    "paper",
    "paper_config",
    "progress_bar",
    "run_backtest",
    "save_run",
    "write_report",
]

Columns = dict[str, npt.NDArray[np.float64]]

#: The plots of a report, by file name.
PLOTS = ("pnl.png", "inventory.png", "spreads.png", "markouts.png", "queue.png")


@dataclass(frozen=True)
class BacktestResult:
    """A finished backtest: ``summary`` (the metrics, as ``summary.json`` holds them) and
    ``columns`` (series sampled every ``sample_ms``: ``t``, ``mid``, ``inventory``, ``pnl``,
    ``spread``, ``mtm``, ``fees``, ``hedge``, ``quoted_spread_ticks``, ``market_spread_ticks``;
    and one row per fill: ``fill_t``, ``fill_side``, ``fill_price``, ``fill_qty``,
    ``fill_maker``, ``fill_fee``, ``fill_queue_ahead``)."""

    summary: dict[str, Any]
    columns: Columns


def load_config(path: str | Path) -> dict[str, Any]:
    """Reads a backtest config from a ``.toml`` or ``.json`` file. A relative
    ``market.path`` (a recording) or entry of ``market.recordings`` is resolved against the
    config file's folder."""
    p = Path(path)
    config = read_document(p)
    market = config.get("market")

    def resolve(recording: str) -> str:
        return recording if Path(recording).is_absolute() else str((p.parent / recording).resolve())

    if isinstance(market, dict):
        if isinstance(market.get("path"), str):
            market["path"] = resolve(market["path"])
        if isinstance(market.get("recordings"), list):
            market["recordings"] = [
                resolve(r) if isinstance(r, str) else r for r in market["recordings"]
            ]
    return config


def load_strategy(spec: str, config: Mapping[str, Any]) -> Strategy:
    """The strategy ``spec`` names (``"package.module:Class"``, a subclass of
    ``wintermute.mm_strategy.Strategy``), made with ``config``. A spec that names nothing is a
    ``ConfigError`` (key ``strategy``)."""
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"strategy={spec!r}: expected module:Class", key="strategy")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"strategy={spec!r}: {e}", key="strategy") from e
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise ConfigError(f"strategy={spec!r} is not a Strategy subclass", key="strategy")
    strategy: Strategy = cls(config)
    return strategy


def _strategy_of(config: Mapping[str, Any]) -> Strategy | None:
    """The strategy of the config's ``strategy`` table (``class = "module:Class"``), if any."""
    table = config.get("strategy")
    if table is None:
        return None
    if not isinstance(table, Mapping) or not isinstance(table.get("class"), str):
        raise ConfigError("strategy: expected a table with class = 'module:Class'", key="strategy")
    return load_strategy(table["class"], config)


def run_backtest(
    config: Mapping[str, Any],
    progress: Callable[[float], None] | None = None,
    *,
    strategy: Strategy | None = None,
    max_batch: int | None = None,
) -> BacktestResult:
    """Runs the built-in market maker on ``config`` (a dict as :func:`load_config` returns),
    or ``strategy`` (a ``wintermute.mm_strategy.Strategy``; by default the one the config's
    ``strategy`` table names, if any). ``max_batch`` caps the events of one call into the
    strategy (default: the table's ``max_batch``, else 4096). ``progress``, if given, is
    called about ten times a second with the fraction done (0 to 1) while the run works in
    another thread. Raises ``ConfigError`` for a bad config, ``FeedError`` for market data
    that cannot be read, ``InvalidOrderError`` for a command the strategy could not send, and
    whatever the strategy raises."""
    text = json.dumps(config)
    if strategy is None:
        strategy = _strategy_of(config)
    if strategy is not None:
        table = config.get("strategy")
        if max_batch is None and isinstance(table, Mapping):
            max_batch = table.get("max_batch")
        cls = type(strategy)
        label = f"python:{cls.__module__}:{cls.__qualname__}"
        job = _core.MmBacktest(text, strategy, label, max_batch or 4096)
    elif progress is None:
        summary, columns = _core.run_backtest(text)
        return BacktestResult(json.loads(summary), dict(columns))
    else:
        job = _core.MmBacktest(text)
    if progress is None:
        summary, columns = job.run()
        return BacktestResult(json.loads(summary), dict(columns))
    outcome: list[tuple[str, dict[str, npt.NDArray[np.float64]]]] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(job.run())
        except BaseException as e:  # handed to the caller's thread below
            failure.append(e)

    worker = threading.Thread(target=work, name="mm-backtest", daemon=True)
    worker.start()
    while worker.is_alive():
        progress(job.progress())
        worker.join(0.1)
    if failure:
        raise failure[0]
    progress(1.0)
    summary, columns = outcome[0]
    return BacktestResult(json.loads(summary), dict(columns))


def save_run(
    result: BacktestResult, out: str | Path, config: Mapping[str, Any] | None = None
) -> Path:
    """Writes ``summary.json``, ``columns.npz`` (and ``config.json``) under ``out``."""
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    (d / "summary.json").write_text(json.dumps(result.summary, indent=2) + "\n")
    np.savez_compressed(d / "columns.npz", **result.columns)  # type: ignore[arg-type]
    if config is not None:
        (d / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return d


def load_run(run: str | Path) -> BacktestResult:
    """Reads a run directory written by :func:`save_run`."""
    d = Path(run)
    summary = json.loads((d / "summary.json").read_text())
    with np.load(d / "columns.npz") as data:
        columns = {name: np.asarray(data[name], dtype=np.float64) for name in data.files}
    return BacktestResult(summary, columns)


def metrics_rows(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The report's metrics table as (metric, value) rows."""
    pnl = summary["pnl"]
    rows = [
        ("market", str(summary["market"])),
        ("model", str(summary["model"])),
        ("quoted on", str(summary["quote_venue"])),
        ("simulated seconds", f"{summary['sim_seconds']:.1f}"),
        ("PnL total", f"{pnl['total']:.4f}"),
        ("  spread capture", f"{pnl['spread']:.4f}"),
        ("  inventory mark-to-market", f"{pnl['mtm']:.4f}"),
        ("  fees and rebates", f"{pnl['fees']:.4f}"),
        ("  hedge slippage", f"{pnl['hedge']:.4f}"),
        ("fills", str(summary["fills"])),
        ("orders / amends / cancels", "{orders} / {amends} / {cancels}".format(**summary)),
        ("fill ratio (lots filled / quoted)", f"{summary['fill_ratio']:.4f}"),
        ("fills per order", f"{summary['fills_per_order']:.4f}"),
        ("max inventory (lots)", str(summary["max_inventory_lots"])),
        ("quote uptime (two-sided)", f"{summary['uptime']:.3f}"),
        ("time at touch", f"{summary['time_at_touch']:.3f}"),
        ("queue ahead at placement (mean lots)", f"{summary['queue_ahead_mean_lots']:.1f}"),
        ("quote pulls", json.dumps(summary["pulls"])),
    ]
    lock = summary.get("interlock")
    if lock:
        pulls = {cause: n for cause, n in lock["pulls"].items() if n}
        rows.append(("interlock pulls by cause", json.dumps(pulls)))
        rows.append(("interlock: share of time quoting allowed", f"{lock['uptime']:.3f}"))
    rows.extend(
        (
            f"markout +{m['horizon_ms']} ms (bps, n={m['n']})",
            f"{m['mean_bps']:+.3f} ± {m['ci95_bps']:.3f}",
        )
        for m in summary["markouts"]
    )
    rows.extend(
        (
            f"markout vs fair value +{m['horizon_ms']} ms (bps, n={m['n']})",
            f"{m['mean_bps']:+.3f} ± {m['ci95_bps']:.3f}",
        )
        for m in summary.get("markouts_fair", [])
    )
    rows.extend(
        (
            f"queue estimator error, {q['model']} (mean / p90 lots, n={q['samples']})",
            f"{q['mean_abs_lots']:.3f} / {q['p90_abs_lots']:.3f}",
        )
        for q in summary.get("queue_error", [])
    )
    for c in summary.get("fill_calibration", []):
        deciles = ", ".join(
            f"{d['mean_predicted']:.2f}/{d['realized_rate']:.2f}"
            for d in c["deciles"]
            if d["count"]
        )
        rows.append(
            (
                f"fill probability within {c['horizon_ms']} ms, "
                f"{c.get('formula', 'exp')}, {c['model']} "
                f"(predicted/realized per decile, {c['predictions']} predictions, "
                f"{c['filled']} filled, {c['censored']} censored)",
                deciles or "no resolved prediction",
            )
        )
    batching = summary.get("batching")
    if batching:
        rows.append(
            (
                "strategy events / calls (Python batches)",
                f"{batching['events']} / {batching['batches']}",
            )
        )
    rows += [
        ("market-data events", str(summary["md_events"])),
        ("event loop events/s", f"{summary['md_events_per_s']:,.0f}"),
        ("digest", str(summary["digest"])),
    ]
    return rows


def _plots(result: BacktestResult, d: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = result.columns
    t = c["t"]
    written = []

    def save(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(d / name, dpi=90)
        plt.close(fig)
        written.append(d / name)

    fig, ax = plt.subplots(figsize=(8, 4))
    for name in ("pnl", "spread", "mtm", "fees", "hedge"):
        ax.plot(t, c[name], label=name, linewidth=2.0 if name == "pnl" else 1.0)
    ax.set(title="PnL and its parts", xlabel="seconds", ylabel="quote currency")
    # A fixed corner: "best" searches every point of the curves (slow on a long run, and
    # matplotlib warns when it takes over a second).
    ax.legend(loc="upper left")
    save(fig, "pnl.png")

    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(t, c["inventory"], color="tab:purple")
    ax.set(title="Inventory", xlabel="seconds", ylabel="base units")
    save(fig, "inventory.png")

    fig, ax = plt.subplots(figsize=(8, 3))
    quoted = np.where(c["quoted_spread_ticks"] >= 0, c["quoted_spread_ticks"], np.nan)
    market = np.where(c["market_spread_ticks"] >= 0, c["market_spread_ticks"], np.nan)
    ax.plot(t, quoted, label="our quoted spread", linewidth=0.8)
    ax.plot(t, market, label="market spread", linewidth=0.8)
    ax.set(title="Quoted spread vs market spread", xlabel="seconds", ylabel="ticks")
    ax.legend(loc="upper left")
    save(fig, "spreads.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    curves = [("vs our mid", result.summary["markouts"])]
    curves.append(("vs fair value", result.summary.get("markouts_fair", [])))
    for label, marks in curves:
        hs = [m["horizon_ms"] / 1000 for m in marks]
        means = [m["mean_bps"] for m in marks]
        ax.errorbar(hs, means, yerr=[m["ci95_bps"] for m in marks], marker="o", label=label)
    ax.legend()
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set(title="Markouts of maker fills (95% CI)", xlabel="horizon (s)", ylabel="bps")
    ax.set_xscale("log")
    save(fig, "markouts.png")

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ahead = c["fill_queue_ahead"][c["fill_maker"] > 0]
    ax.hist(ahead, bins=30, color="tab:green")
    ax.set(title="Queue ahead at placement, maker fills", xlabel="base units ahead", ylabel="fills")
    save(fig, "queue.png")
    return written


def write_report(run: str | Path) -> list[Path]:
    """Writes ``metrics.md``, the plots (:data:`PLOTS`) and ``report.html`` into the run
    directory; returns the files written."""
    d = Path(run)
    result = load_run(d)
    rows = metrics_rows(result.summary)
    table = "| metric | value |\n|---|---|\n" + "".join(f"| {k} | {v} |\n" for k, v in rows)
    (d / "metrics.md").write_text(table)
    pngs = _plots(result, d)
    inline = [(p.stem, base64.b64encode(p.read_bytes()).decode()) for p in pngs]
    images = "".join(f'<img alt="{n}" src="data:image/png;base64,{b}">\n' for n, b in inline)
    cells = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    title = html.escape(f"Backtest: {result.summary['model']} on {result.summary['market']}")
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "td{padding:2px 10px;border-bottom:1px solid #ddd}img{max-width:100%;display:block}</style>"
        f"</head><body><h1>{title}</h1><table>{cells}</table>{images}</body></html>\n"
    )
    (d / "report.html").write_text(page)
    return [d / "metrics.md", *pngs, d / "report.html"]


def progress_bar(stream: Any = None, width: int = 40) -> Callable[[float], None]:
    """A text progress bar on ``stream`` (stderr by default) for :func:`run_backtest`."""
    out = stream if stream is not None else sys.stderr
    started = time.monotonic()

    def show(fraction: float) -> None:
        done = int(width * min(max(fraction, 0.0), 1.0))
        elapsed = time.monotonic() - started
        out.write(f"\r[{'#' * done}{'.' * (width - done)}] {fraction * 100:5.1f}% {elapsed:6.1f}s")
        if fraction >= 1.0:
            out.write("\n")
        out.flush()

    return show

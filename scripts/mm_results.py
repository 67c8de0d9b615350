#!/usr/bin/env python3
"""Runs fixed spread, Avellaneda-Stoikov and GLFT on the synthetic market and on the recorded
venues (the example configs, same everything but the model) and prints the results table of
docs/market-making.md, then the queue models' fill-probability calibration on the synthetic
market's GLFT run.

Usage: ``PYTHONPATH=python python scripts/mm_results.py [--seconds S] [--out DIR]``
(``--seconds``: the synthetic run's length, default 600; ``--out``: also save each run there).
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path
from typing import Any

from wintermute import mm

ROOT = Path(__file__).resolve().parent.parent

#: The models compared, per example: pricing.model tables.
MODELS: dict[str, dict[str, dict[str, Any]]] = {
    "mm.toml": {
        "fixed": {"kind": "fixed_spread", "half_spread_ticks": 4.0, "skew_ticks_per_unit": 1.0},
        "A-S": {"kind": "avellaneda_stoikov", "gamma": 0.0005, "session_s": 60.0},
        "GLFT": {"kind": "glft", "gamma": 0.05},
    },
    "mm_recorded.toml": {
        "fixed": {"kind": "fixed_spread", "half_spread_ticks": 200.0, "skew_ticks_per_unit": 50.0},
        "A-S": {"kind": "avellaneda_stoikov", "gamma": 0.00001, "session_s": 60.0},
        "GLFT": {"kind": "glft", "gamma": 0.001},
    },
    "mm_recorded_kraken.toml": {
        "fixed": {"kind": "fixed_spread", "half_spread_ticks": 20.0, "skew_ticks_per_unit": 5.0},
        "A-S": {"kind": "avellaneda_stoikov", "gamma": 0.0001, "session_s": 60.0},
        "GLFT": {"kind": "glft", "gamma": 0.01},
    },
}

HEADER = (
    "| market | model | PnL | spread | MtM | fees | hedge | fills | fill ratio | "
    "markout 1 s vs mid (bps) | markout 1 s vs fair (bps) | markout 5 s vs mid (bps) | "
    "max inv (lots) | uptime | queue error mean / p90 (lots): risk-averse, power:2, log | "
    "events/s |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|"
)


def row(s: dict[str, Any], model: str) -> str:
    p = s["pnl"]

    def markout(key: str, h: int) -> str:
        m = next((m for m in s[key] if m["horizon_ms"] == h), None)
        return f"{m['mean_bps']:+.2f} ± {m['ci95_bps']:.2f}" if m and m["n"] else "n/a"

    queue = ", ".join(
        f"{q['mean_abs_lots']:.2f} / {q['p90_abs_lots']:.2f}" for q in s["queue_error"]
    )
    return (
        f"| {s['market']} | {model} | {p['total']:.2f} | {p['spread']:.2f} | {p['mtm']:.2f} | "
        f"{p['fees']:.2f} | {p['hedge']:.2f} | {s['fills']} | {s['fill_ratio']:.4f} | "
        f"{markout('markouts', 1000)} | {markout('markouts_fair', 1000)} | "
        f"{markout('markouts', 5000)} | {s['max_inventory_lots']} | {s['uptime']:.3f} | "
        f"{queue or 'n/a (no true queue)'} | {s['md_events_per_s'] / 1e6:.1f} M |"
    )


def calibration(s: dict[str, Any]) -> str:
    """The fill-probability calibration tables of one run, one per formula: per decile of
    predicted probability, each queue model's (and the true queue's) mean prediction, realized
    fill rate (Kaplan-Meier) and count."""
    cals = s["fill_calibration"]
    if not cals:
        return "no fill-probability calibration (no true queue)"
    first = cals[0]
    lines = [
        f"{s['market']}: {first['predictions']} predictions over {first['horizon_ms']} ms: "
        f"{first['filled']} filled, {first['censored']} censored, {first['survived']} survived, "
        f"{first['dropped']} dropped",
    ]
    for formula in dict.fromkeys(c.get("formula", "exp") for c in cals):
        group = [c for c in cals if c.get("formula", "exp") == formula]
        lines += [
            "",
            f"{formula}:",
            "",
            "| decile | " + " | ".join(c["model"] for c in group) + " |",
            "|---|" + "---:|" * len(group),
        ]
        for i in range(10):
            cells = []
            for c in group:
                d = c["deciles"][i]
                cells.append(
                    f"{d['mean_predicted']:.3f} / {d['realized_rate']:.3f} ({d['count']})"
                    if d["count"]
                    else "-"
                )
            lines.append(f"| {i / 10:.1f} to {(i + 1) / 10:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    print(HEADER)
    calibrated: dict[str, Any] | None = None
    for example, models in MODELS.items():
        base = mm.load_config(ROOT / "examples" / example)
        if base["market"]["kind"] == "synthetic":
            base["market"]["duration_s"] = args.seconds
        for name, model in models.items():
            config = copy.deepcopy(base)
            config["pricing"]["model"] = model
            result = mm.run_backtest(config)
            print(row(result.summary, name), flush=True)
            if name == "GLFT" and result.summary["fill_calibration"]:
                calibrated = result.summary
            if args.out is not None:
                slug = f"{Path(example).stem}-{name.replace('-', '').lower()}"
                mm.write_report(mm.save_run(result, args.out / slug, config))
    if calibrated is not None:
        print()
        print(calibration(calibrated))


if __name__ == "__main__":
    main()

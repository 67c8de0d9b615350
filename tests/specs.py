"""Config fragments that several test modules share (imported, never copied)."""

from __future__ import annotations

from typing import Any

#: The BTC-USD instrument of the pipeline tests, as a config table.
BTC: dict[str, Any] = {
    "symbol": "BTC-USD",
    "tick_size": "0.01",
    "lot_size": "0.001",
    "min_qty": "0.001",
    "max_qty": "100",
    "min_price": "1",
    "max_price": "1000000",
}

#: A parking wait strategy, for engine threads on a small, shared machine.
PARK: dict[str, Any] = {"kind": "park", "timeout_us": 200}

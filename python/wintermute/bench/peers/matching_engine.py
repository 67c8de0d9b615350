"""The ``matching-engine`` PyPI package (pure Python, sortedcontainers + msgspec; Python >= 3.12).

Its ``MatchingEngine.process`` takes a ``SequencedCommand`` and returns the events it caused. The
workload's commands are built into its ``NewOrder`` / ``CancelOrder`` structs before the run
(untimed): limits are GTC, market orders are ``MARKET`` + ``IOC`` with price 0, every order
belongs to account 1 with self-trade prevention off (the workload has a single trader), and the
sequence numbers are the command indexes. Its events are built on every call, as in real use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wintermute.bench.adapter import StepAdapter
from wintermute.bench.price_time_book import BUY
from wintermute.bench.workload import CANCEL, LIMIT, Workload


class MatchingEngineAdapter(StepAdapter[list[Any]]):
    name = "matching-engine"
    note = "matching-engine: its MatchingEngine.process on prebuilt msgspec commands"
    install_hint = "pip install matching-engine (requires Python >= 3.12)"
    module = "matching_engine"

    def prepare(self, workload: Workload) -> list[Any]:
        from matching_engine.domain import (
            CancelOrder,
            NewOrder,
            OrderType,
            SelfTradePrevention,
            SequencedCommand,
            Side,
            TimeInForce,
        )

        no_stp = SelfTradePrevention.NONE
        commands: list[Any] = []
        for seq, (kind, oid, side, price, qty) in enumerate(workload.rows(), start=1):
            if kind == CANCEL:
                command: Any = CancelOrder(order_id=oid, account=1)
            else:
                market = kind != LIMIT
                command = NewOrder(
                    order_id=oid,
                    account=1,
                    side=Side.BUY if side == BUY else Side.SELL,
                    price=0 if market else price,
                    qty=qty,
                    order_type=OrderType.MARKET if market else OrderType.LIMIT,
                    tif=TimeInForce.IOC if market else TimeInForce.GTC,
                    stp=no_stp,
                )
            commands.append(SequencedCommand(seq=seq, ts=0, command=command))
        return commands

    def session(self, prepared: list[Any]) -> Callable[[int], object]:
        from matching_engine.engine import MatchingEngine

        process = MatchingEngine().process

        def step(i: int) -> object:
            return process(prepared[i])

        return step

"""The systems `wintermute bench` runs, in report order.

To add a system, write an adapter (see :mod:`wintermute.bench.adapter`) and put an instance in
:data:`ADAPTERS`. Wintermute's own adapters go first
(:mod:`wintermute.bench.wintermute_adapters`).
"""

from __future__ import annotations

from wintermute.bench.adapter import Adapter
from wintermute.bench.peers.matching_engine import MatchingEngineAdapter
from wintermute.bench.peers.nautilus_trader import NautilusTraderAdapter
from wintermute.bench.peers.order_book import OrderBookAdapter
from wintermute.bench.peers.sortedcontainers_book import SortedContainersAdapter
from wintermute.bench.wintermute_adapters import (
    WintermuteNativeAdapter,
    WintermutePythonAdapter,
    WintermutePythonBatchAdapter,
    WintermutePythonBatchOrdersAdapter,
)

#: Every system the report knows, in report order.
SYSTEMS = (
    "wintermute-native",
    "wintermute-python",
    "wintermute-python-batch",
    "wintermute-python-batch-orders",
    "nautilus_trader",
    "order-book",
    "matching-engine",
    "sortedcontainers",
)

#: The adapters, in report order.
ADAPTERS: list[Adapter] = [
    WintermuteNativeAdapter(),
    WintermutePythonAdapter(),
    WintermutePythonBatchAdapter(),
    WintermutePythonBatchOrdersAdapter(),
    NautilusTraderAdapter(),
    OrderBookAdapter(),
    MatchingEngineAdapter(),
    SortedContainersAdapter(),
]

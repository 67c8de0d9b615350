"""Wintermute: a low-latency crypto trading engine with a Rust core, driven from Python.

>>> from wintermute import Engine
>>> eng = Engine()
>>> eng.add_instrument("ETH-USD", tick_size="0.05", lot_size="0.001", min_qty="0.001",
...                    max_qty="1000", min_price="1", max_price="100000")
0
>>> [e.kind for e in eng.submit("ETH-USD", 1, "buy", qty="2.5", price="3000.05")]
['accepted', 'book_delta']

The compiled extension ``wintermute._core`` is imported plainly: if it is missing (the package
was not built with maturin), importing ``wintermute`` fails loudly with the ImportError.
"""

from wintermute import batch, errors
from wintermute._core import TickBook, __version__, build_info
from wintermute.config import EngineConfig
from wintermute.engine import Engine, Event
from wintermute.pipeline import Pipeline

__all__ = [
    "Engine",
    "EngineConfig",
    "Event",
    "Pipeline",
    "TickBook",
    "__version__",
    "batch",
    "build_info",
    "errors",
]

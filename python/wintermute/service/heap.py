"""The server process's heap and the garbage collector's pauses.

CPython's cyclic collector walks every tracked container object of the generation it collects;
a full (generation 2) collection walks them all. A running service's heap is mostly what it
loaded at start (FastAPI, pydantic, numpy, uvicorn, the engine's bindings: about a hundred
thousand objects, alive for the whole run), and each full collection walked them again: pauses
of tens of milliseconds that land in the latency tail of whatever request or WebSocket message
was in flight (``docs/benchmarks.md``).

``freeze_heap`` moves everything alive once the server has started into the collector's
permanent generation (``gc.freeze``), so that later collections walk only what was allocated
since: the venue's orders, the requests in flight. ``wintermute serve`` and ``wintermute demo``
call it from the app's startup (``app.state.freeze_heap``); an app served from a notebook or a
test (``server.background``) does not, so their heap stays collectable. Objects frozen are never
collected by the cyclic collector (reference counting still frees them): call it once, after
start, not per request. ``gc.unfreeze()`` undoes it.

``wintermute bench gc`` measures a full collection's time with and without it.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_heap"]


def freeze_heap() -> int:
    """Collects once, then freezes every object alive (see the module docs); returns how many
    objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()

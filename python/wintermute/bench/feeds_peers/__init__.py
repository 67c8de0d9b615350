"""Peers of ``wintermute bench feeds``: other L2 books driven with the same level updates.

Each peer is a :class:`~wintermute.bench.feeds_peers.l2_books.L2Peer`: a name, the module whose
presence makes it available, and a ``session`` that builds a fresh book and returns a
``step(i)`` function applying update ``i`` and reading the best bid and ask.
"""

from __future__ import annotations

from wintermute.bench.feeds_peers.l2_books import L2_PEERS, L2Peer

__all__ = ["L2_PEERS", "L2Peer"]

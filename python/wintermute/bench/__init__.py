"""``wintermute bench``: the same seeded order stream through Wintermute and its peers.

The workload (:mod:`wintermute.bench.workload`) is 60% passive limit adds, 30% cancels of live
orders and 10% crossing orders on one instrument, after a warm-up book of 1,000 resting orders,
in integer ticks and lots. Every system gets the same commands; each is measured for throughput
(one timed loop) and per-command latency (a second, per-command-timed pass); see
:mod:`wintermute.bench.adapter`.

How each peer was adapted
-------------------------
``sortedcontainers``
    A full price-time matching engine in plain Python written for this benchmark
    (:mod:`wintermute.bench.price_time_book`): the "plain-Python engine" baseline. Runs the
    commands as they are.
``matching-engine`` (PyPI, pure Python, needs Python >= 3.12)
    Its ``MatchingEngine.process`` runs the commands as they are, converted beforehand into its
    msgspec ``NewOrder`` / ``CancelOrder`` structs; market orders are ``MARKET`` + ``IOC``;
    self-trade prevention off (one trader).
``order-book`` (PyPI, C)
    L2 only and no matching: it applies, per command, the price-level updates a matching engine
    would publish, derived beforehand with the reference book (:mod:`wintermute.bench.deltas`).
    A lower bound: matching decisions are not timed.
``nautilus_trader`` (``OrderBook``, Rust core behind Cython)
    A market-data L3 book with no matching: it applies, per command, the order-level ``add`` /
    ``update`` / ``delete`` a matching engine would publish, derived the same way, as prebuilt
    ``BookOrder`` objects. Also a lower bound.

Systems are registered in :data:`wintermute.bench.registry.ADAPTERS`; those whose package is not
installed are left out of the results and named in the report's notes.
"""

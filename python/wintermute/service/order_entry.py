"""Order entry served from Rust: ``POST /api/orders`` and ``DELETE /api/orders/{order_id}`` on
a second address, ``[service] order_entry_bind`` (off by default), next to the Python app.

The listener (``wintermute_front``, hyper on tokio, started here through
``_core.OrderEntry``) answers exactly as the Python routes do: the same ``X-API-Key`` keys,
request body (``NewOrder``), ``Order`` answer and ``{code, message}`` errors with the same
statuses, the same per-key rate limit (``RateLimit-*`` headers, 429 with ``Retry-After``; its
buckets are its own, apart from the Python app's) and body size limit (413). Its orders are
the venue's: it shares the venue's order table, ledger and book mirrors and sends through a
gateway of its own (``Venue.order_entry_parts``), so they show in ``GET /api/orders``, on the
WebSocket's account topic, in the journal and after a restart, and client order ids are
idempotent across both. Every other route stays with the Python app; pydantic's wording of a
refused body is not copied (same status and code, ``INVALID_REQUEST``, with its own message).

The app starts it with the server and stops it before the venue
(``wintermute.service.app``); ``start`` is for a venue run without the app::

    entry = start(venue, keys)
    host, port = entry.address
    ...
    entry.stop()
"""

from __future__ import annotations

import os

from wintermute import _core
from wintermute.service.error_responses import STATUS_OF_CODE
from wintermute.service.keys import KeyStore
from wintermute.service.venue import Venue

__all__ = ["start"]


def start(venue: Venue, keys: KeyStore, bind: str | None = None) -> _core.OrderEntry:
    """Starts the listener on ``bind`` (default: the venue's ``order_entry_bind``); the
    venue must have been made with ``order_entry_bind`` set (its gateway is reserved then)."""
    settings = venue.settings
    where = bind if bind is not None else settings.order_entry_bind
    if where is None:
        raise ValueError("order entry needs [service] order_entry_bind")
    # As the Python venue's checks read them (``_core.OrderGrid``): the same text, the same
    # bounds in the messages.
    instruments = [
        (
            i.symbol, str(i.tick_size), str(i.lot_size), str(i.min_qty), str(i.max_qty),
            str(i.min_price), str(i.max_price),
        )
        for i in venue.instruments()
    ]  # fmt: skip
    orders, books, gateway = venue.order_entry_parts()
    return _core.OrderEntry(
        orders, books, gateway, instruments,
        [(k.key, k.account) for k in keys.entries()], where,
        rate_limit_per_s=float(settings.rate_limit_per_s),
        rate_limit_burst=settings.rate_limit_burst, max_body_bytes=settings.max_body_bytes,
        ack_timeout_s=settings.ack_timeout_s, statuses=dict(STATUS_OF_CODE),
        threads=min(2, os.cpu_count() or 1),
    )  # fmt: skip

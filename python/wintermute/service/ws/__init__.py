"""The WebSocket API at ``/ws``: live book, best bid and offer, trades, the key's own orders and
fills, the engine's stats.

Messages are JSON objects; prices and quantities are decimal strings. The client sends::

    {"op": "subscribe", "channel": "book", "symbol": "BTC-USD", "depth": 50}
    {"op": "subscribe", "channel": "bbo", "symbol": "BTC-USD"}
    {"op": "subscribe", "channel": "trades", "symbol": "BTC-USD"}
    {"op": "auth", "key": "..."}           (or the X-API-Key header when connecting)
    {"op": "subscribe", "channel": "orders"}   (the key's account: orders and fills)
    {"op": "subscribe", "channel": "stats"}
    {"op": "subscribe", "channel": "alerts"}   (compliance alerts; needs a key)
    {"op": "unsubscribe", "channel": "book", "symbol": "BTC-USD"}
    {"op": "ping"}

and receives ``{"type": "subscribed", ...}``, then for a book a ``book_snapshot`` (``seq``,
``bids``, ``asks``) followed by ``book_delta`` messages (``first_seq``, ``seq``, changed levels,
``"0"`` quantity: level gone). Each delta's ``first_seq`` is the previous message's ``seq + 1``;
a client that sees anything else missed an update and subscribes again for a fresh snapshot.
``bbo`` messages carry the best bid and ask (``[price, qty]`` or null) and the book's ``seq``,
whenever the top changes; ``trades`` messages a list of trades; ``order`` and ``fill`` messages
the account's events (``{"type": "order", "order": {...}}``, as the REST API's order; an
order's message follows its fills); ``stats`` the engine's throughput and latency once a
second; ``alert`` messages (``{"type": "alert", "alert": {...}}``, as ``/api/audit/alerts``
answers) each compliance alert as soon as the audit trail stored it: every alert for the
admin key, for an account key those that name its account (an ``AUDIT_OFF`` error where the
service keeps no audit trail); ``error`` messages a ``code`` and a ``message``.

**Slow clients.** A slow client never slows the engine or the other clients. The venue
publishes each event once per topic (``fanout``), each message is encoded once and the same
frame is queued for every subscriber (``outlet``). Each connection holds at most ``ws_buffer``
unsent events. On the sequenced channels (``book``, ``trades``, ``orders``, ``alerts``) a client
that falls further behind is closed with code 1008, reason ``slow_consumer``; on ``bbo`` and
``stats`` only the newest pending message is kept (conflation). A socket that takes no message
for ``ws_send_timeout_s`` is closed with 1008 ``send_timeout``; 1013 ``server_behind`` if the
server itself fell behind the engine; 1001 ``shutdown`` when it stops
(``wintermute.service.ws.protocol``). A close takes at most ``CLOSE_GRACE_S`` for its frame to
leave, and a connection still open that long after it is aborted.

The modules: ``protocol`` (the client's requests, the close codes), ``messages`` (the server's
messages, encoded once), ``outlet`` (one client's bounded buffer and sender), ``levels`` (a
book feed's L2 book), ``fanout`` (the feeds), ``session`` (one connection, the route).
"""

from wintermute.service.ws.session import router

__all__ = ["router"]

"""Peers of the JSON -> book part of ``wintermute bench feeds``: their own handling of the
recorded venue messages, offline.

Each peer runs a recording's messages (``wintermute._core.feeds_recorded_messages``: WebSocket
frames, and any REST snapshots the recording session fetched) in one timed pass on a fresh object,
JSON decoding included, and returns the final best bid and ask per symbol (as decimal text, keyed
by the venue's own symbol as Wintermute reports it) for a cross-check.

Binance (depth diffs plus REST snapshots):

- ``cryptofeed`` (``cryptofeed.exchanges.Binance``): each frame through the feed's own
  ``message_handler`` (``json.loads`` with Decimal prices, update-id checks, its ``OrderBook``).
  Offline, two things are supplied: the symbol list (normally downloaded at start) from a minimal
  exchange-info document, and ``http_conn.read`` answering the snapshot request with the recorded
  snapshot (cryptofeed fetches it itself on the first depth message of a symbol).
- ``ccxt`` (``ccxt.pro.binance``): depth frames through ``handle_order_book`` (the update-id
  procedure and ``handle_deltas`` into ccxt's ``OrderBook``, float prices) with a stand-in for the
  WebSocket client object; each recorded snapshot through ``parse_order_book`` and
  ``order_book``, as ``watch_order_book`` does after its REST fetch. Markets are set offline.

Coinbase (the legacy Exchange feed: ``snapshot`` and ``l2update`` on ``level2``):

- ``ccxt`` (``ccxt.pro.coinbaseexchange``, the class whose ``handle_message`` dispatches these two
  types; ``ccxt.pro.coinbase`` speaks the Advanced Trade feed): every frame decoded, book frames
  through ``handle_order_book`` (``parse_order_book`` + ``reset`` for a snapshot, ``store`` per
  change, float prices). Markets are set offline.
- ``cryptofeed`` is not a peer here: see :data:`JSON_PEERS_LEFT_OUT`.

Kraken (WebSocket v1 ``book`` depth 1000, CRC-32 checksum on every update):

- ``cryptofeed`` (``cryptofeed.exchanges.Kraken``): each frame through the feed's own
  ``message_handler`` (``json.loads`` with Decimal prices, its ``OrderBook`` capped at 1,000
  levels) with ``checksum_validation=True``, so a checksum that does not match raises
  ``BadChecksum``. The symbol list is supplied offline from a minimal ``AssetPairs`` document.
- ``ccxt`` is not a peer here: see :data:`JSON_PEERS_LEFT_OUT`.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Message = tuple[str | None, str]
Tops = dict[str, tuple[str | None, str | None]]

#: The recorded Binance session's symbols: (exchange id, base, quote, tick size).
BINANCE_SYMBOLS = (
    ("BTCUSDT", "BTC", "USDT", "0.01"),
    ("ETHUSDT", "ETH", "USDT", "0.01"),
    ("DOTUSDT", "DOT", "USDT", "0.0001"),
)

#: The recorded Coinbase Exchange session's products (as the feed names them).
COINBASE_PRODUCTS = (
    "SKL-USD",
    "SKL-BTC",
    "BAND-GBP",
    "NMR-EUR",
    "BAND-BTC",
    "YFI-BTC",
    "DASH-BTC",
    "NU-GBP",
    "CRV-EUR",
    "SKL-GBP",
)

#: The recorded Kraken v1 session's pairs (``wsname``, as the feed names them).
KRAKEN_PAIRS = (
    "ALGO/XBT",
    "LSK/USD",
    "USDC/GBP",
    "FIL/XBT",
    "WAVES/ETH",
    "ICX/USD",
    "AUD/USD",
    "KAVA/USD",
    "DASH/EUR",
    "XBT/USD",
)


@dataclass(frozen=True)
class JsonPeer:
    """A peer that replays a venue's recorded messages: ``run(messages) -> (seconds, tops)``."""

    name: str
    venue: str
    module: str
    install_hint: str
    note: str
    run: Callable[[Sequence[Message]], tuple[float, Tops]]

    def available(self) -> bool:
        """Whether the peer's package is installed."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except ImportError:
            return False


def _text(value: Any) -> str:
    """A price as normalized decimal text (so ``58005.11000000`` == ``58005.11``)."""
    d = Decimal(str(value)).normalize()
    return format(d, "f")


def _replay_cryptofeed(
    feed: Any, messages: Sequence[Message], symbol: Callable[[str], str]
) -> tuple[float, Tops]:
    """Times ``feed``'s message handler over the stream frames of ``messages`` (one event
    loop, no sockets); returns the seconds and each book's top, by ``symbol(feed's pair)``."""
    frames = [text for url, text in messages if url is None]

    async def replay() -> float:
        handler = feed.message_handler
        start = time.perf_counter()
        for text in frames:
            await handler(text, None, 0.0)
        return time.perf_counter() - start

    seconds = asyncio.run(replay())
    tops: Tops = {}
    for pair, book in feed._l2_book.items():
        bids, asks = book.book.bids, book.book.asks
        bid = _text(bids.index(0)[0]) if len(bids) else None
        ask = _text(asks.index(0)[0]) if len(asks) else None
        tops[symbol(pair)] = (bid, ask)
    return seconds, tops


def _cryptofeed_binance(messages: Sequence[Message]) -> tuple[float, Tops]:
    from cryptofeed.defines import L2_BOOK
    from cryptofeed.exchanges import Binance
    from cryptofeed.symbols import Symbols

    info = {
        "symbols": [
            {
                "symbol": sid,
                "baseAsset": base,
                "quoteAsset": quote,
                "status": "TRADING",
                "filters": [{"filterType": "PRICE_FILTER", "tickSize": tick}],
            }
            for sid, base, quote, tick in BINANCE_SYMBOLS
        ]
    }
    syms, extra = Binance._parse_symbol_data(info)
    Symbols.set(Binance.id, syms, extra)
    snapshots = {
        url.split("symbol=")[1].split("&")[0].upper(): body for url, body in messages if url
    }

    async def on_book(book: Any, receipt: float) -> None:
        return None

    feed = Binance(
        symbols=[f"{b}-{q}" for _, b, q, _ in BINANCE_SYMBOLS],
        channels=[L2_BOOK],
        callbacks={L2_BOOK: on_book},
    )

    async def read(url: str, *args: Any, **kwargs: Any) -> str:
        symbol = url.split("symbol=")[1].split("&")[0].upper()
        return snapshots[symbol]

    feed.http_conn.read = read
    return _replay_cryptofeed(feed, messages, lambda pair: pair.replace("-", ""))


def _cryptofeed_kraken(messages: Sequence[Message]) -> tuple[float, Tops]:
    from cryptofeed.defines import L2_BOOK
    from cryptofeed.exchanges import Kraken
    from cryptofeed.symbols import Symbols

    asset_pairs = {"result": {pair.replace("/", ""): {"wsname": pair} for pair in KRAKEN_PAIRS}}
    syms, extra = Kraken._parse_symbol_data(asset_pairs)
    Symbols.set(Kraken.id, syms, extra)

    async def on_book(book: Any, receipt: float) -> None:
        return None

    feed = Kraken(
        symbols=list(syms),
        channels=[L2_BOOK],
        callbacks={L2_BOOK: on_book},
        checksum_validation=True,
    )
    return _replay_cryptofeed(feed, messages, lambda pair: syms[pair])


class _Client:
    """What ``handle_order_book`` needs of ccxt's WebSocket client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.subscriptions: dict[str, Any] = {}
        self.errors: list[Exception] = []

    def resolve(self, result: Any, message_hash: str) -> None:
        return None

    def reject(self, error: Exception, message_hash: str) -> None:
        self.errors.append(error)


def _ccxt_binance(messages: Sequence[Message]) -> tuple[float, Tops]:
    import ccxt.pro

    ex = ccxt.pro.binance()
    ex.set_markets(
        [
            {
                "id": sid,
                "symbol": f"{base}/{quote}",
                "base": base,
                "quote": quote,
                "baseId": base,
                "quoteId": quote,
                "type": "spot",
                "spot": True,
                "active": True,
                "precision": {},
                "limits": {},
            }
            for sid, base, quote, _ in BINANCE_SYMBOLS
        ]
    )
    by_id = {sid: f"{base}/{quote}" for sid, base, quote, _ in BINANCE_SYMBOLS}
    client = _Client("wss://stream.binance.com:9443/ws")
    loads, books = json.loads, ex.orderbooks
    start = time.perf_counter()
    for url, text in messages:
        msg = loads(text)
        if url is not None:
            symbol = by_id[url.split("symbol=")[1].split("&")[0].upper()]
            book = ex.order_book(ex.parse_order_book(msg, symbol))
            book["nonce"] = msg["lastUpdateId"]
            books[symbol] = book
            continue
        data = msg.get("data", msg)
        if data.get("e") == "depthUpdate":
            ex.handle_order_book(client, data)
    seconds = time.perf_counter() - start
    if client.errors:
        raise RuntimeError(f"ccxt rejected the recorded session: {client.errors[0]!r}")
    tops: Tops = {}
    for symbol, book in books.items():
        bid = _text(book["bids"][0][0]) if len(book["bids"]) else None
        ask = _text(book["asks"][0][0]) if len(book["asks"]) else None
        tops[symbol.replace("/", "")] = (bid, ask)
    return seconds, tops


def _ccxt_coinbase(messages: Sequence[Message]) -> tuple[float, Tops]:
    import ccxt.pro

    ex = ccxt.pro.coinbaseexchange()
    markets = []
    for product in COINBASE_PRODUCTS:
        base, quote = product.split("-")
        markets.append(
            {
                "id": product,
                "symbol": f"{base}/{quote}",
                "base": base,
                "quote": quote,
                "baseId": base,
                "quoteId": quote,
                "type": "spot",
                "spot": True,
                "active": True,
                "precision": {},
                "limits": {},
            }
        )
    ex.set_markets(markets)
    client = _Client(ex.urls["api"]["ws"])
    loads, handle = json.loads, ex.handle_order_book
    start = time.perf_counter()
    for url, text in messages:
        msg = loads(text)
        if url is None and msg.get("type") in ("snapshot", "l2update"):
            handle(client, msg)
    seconds = time.perf_counter() - start
    if client.errors:
        raise RuntimeError(f"ccxt rejected the recorded session: {client.errors[0]!r}")
    tops: Tops = {}
    for symbol, book in ex.orderbooks.items():
        bid = _text(book["bids"][0][0]) if len(book["bids"]) else None
        ask = _text(book["asks"][0][0]) if len(book["asks"]) else None
        tops[symbol.replace("/", "-")] = (bid, ask)
    return seconds, tops


JSON_PEERS: tuple[JsonPeer, ...] = (
    JsonPeer(
        "cryptofeed",
        "binance",
        "cryptofeed",
        "pip install cryptofeed",
        "json/binance/cryptofeed: Binance.message_handler per frame (json.loads, Decimal, "
        "update-id checks, its OrderBook); symbol list and snapshot requests answered offline",
        _cryptofeed_binance,
    ),
    JsonPeer(
        "ccxt",
        "binance",
        "ccxt",
        "pip install ccxt",
        "json/binance/ccxt: json.loads + ccxt.pro binance.handle_order_book per depth frame "
        "(update-id checks, handle_deltas into its float OrderBook); snapshots via "
        "parse_order_book/order_book; markets set offline",
        _ccxt_binance,
    ),
    JsonPeer(
        "ccxt",
        "coinbase",
        "ccxt",
        "pip install ccxt",
        "json/coinbase/ccxt: json.loads + ccxt.pro coinbaseexchange.handle_order_book per "
        "snapshot/l2update frame (parse_order_book + reset, store per change into its float "
        "OrderBook; no sequence check: l2update carries none); markets set offline",
        _ccxt_coinbase,
    ),
    JsonPeer(
        "cryptofeed",
        "kraken",
        "cryptofeed",
        "pip install cryptofeed",
        "json/kraken/cryptofeed: Kraken.message_handler per frame (json.loads, Decimal, its "
        "OrderBook capped at 1000 levels, checksum_validation=True: CRC-32 of each update that "
        "carries 'c' in its first object); symbol list supplied offline",
        _cryptofeed_kraken,
    ),
)

#: Venue and peer pairs that cannot be run on the recordings, with why: ``(venue, peer, reason)``.
JSON_PEERS_LEFT_OUT: tuple[tuple[str, str, str], ...] = (
    (
        "coinbase",
        "cryptofeed",
        "cryptofeed's Coinbase feed (2.4) is the Advanced Trade one: message_handler acts only on "
        "messages with 'channel' and 'events' (l2_data), so the Exchange feed's snapshot and "
        "l2update frames are all ignored and no book is built; cryptofeed has no Exchange-feed "
        "handler any more",
    ),
    (
        "kraken",
        "ccxt",
        "ccxt.pro.kraken (4.5) handles WebSocket v2 book messages only ({'channel': 'book', "
        "'type', 'data': [...]}); the recording's v1 frames ([channelID, {'as','bs'} or "
        "{'a','b','c'}, 'book-1000', pair]) are ignored by handle_message, and handle_order_book "
        "on them builds an empty book under symbol None (its v2 checksum check is off by default)",
    ),
)

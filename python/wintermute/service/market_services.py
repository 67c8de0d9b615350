"""The external market and what runs off it, as ``wintermute demo`` and ``wintermute serve``
start them: the sampled market (``wintermute.service.external_market``: the web UI's venue
panels and ``/ws/market``), the venues' books, trades and consolidated BBO published to Redis
(``wintermute.service.market_redis``; with a ``RedisSettings``), and the market-data recorder
into a store (``wintermute.storage.market_recorder``; with ``record_url``), following the
market across restarts::

    services = MarketServices(ExternalMarket(settings), redis=redis, record_url=url)
    ...
    services.stop()   # the publisher, the recorder (after it wrote what it held), the market
"""

from __future__ import annotations

from wintermute.service.external_market import ExternalMarket
from wintermute.service.market_redis import (
    ExternalMarketSource,
    MarketPublisher,
    redacted,
    redis_tier,
)
from wintermute.service.settings import RedisSettings

__all__ = ["MarketServices"]


class MarketServices:
    """``market`` with its Redis publisher (``redis``: where, None: off) and its recorder
    (``record_url``: the store, None: off); ``lines()`` says what runs, ``stop()`` stops them
    all, the market last."""

    def __init__(
        self,
        market: ExternalMarket,
        *,
        redis: RedisSettings | None = None,
        record_url: str | None = None,
    ) -> None:
        from wintermute.storage.market_recorder import BackgroundRecorder

        self.market = market
        self.redis = redis
        self.publisher: MarketPublisher | None = None
        self.recording: BackgroundRecorder | None = None
        try:
            if redis is not None:
                self.publisher = MarketPublisher(
                    redis_tier(redis), ExternalMarketSource(market, prefix=redis.prefix),
                    every_s=redis.every_s,
                ).start()  # fmt: skip
            if record_url is not None:
                self.recording = BackgroundRecorder(record_url, market.market)
                market.on_restart.append(self.recording.recorder.replace_market)
        except BaseException:
            self.stop()
            raise

    def lines(self) -> list[str]:
        """What runs, one line each (no secrets: the Redis URL without its password)."""
        out = [f"external market: {self.market.settings.describe()}"]
        if self.redis is not None:
            out.append(f"publishing the books to Redis at {redacted(self.redis.url)}")
        if self.recording is not None:
            where = redacted(self.recording.url)
            out.append(f"market data: recording the external venues into {where}")
        return out

    def stop(self) -> None:
        """Stops the publisher, the recorder and the market (idempotent)."""
        publisher, self.publisher = self.publisher, None
        if publisher is not None:
            publisher.stop()
            publisher.tier.close()
        recording, self.recording = self.recording, None
        if recording is not None:
            recording.close()
        self.market.stop()

"""Structured logs: one JSON object per line (``ts``, ``level``, ``logger``, ``msg`` and the
record's extra fields). API keys and secrets are never passed to a logger; as a second guard,
fields whose name says secret (``key``, ``secret``, ``token``, ``password``, ``signature``) are
written as ``"***"``.

>>> import logging
>>> record = logging.LogRecord("wintermute.service", logging.INFO, "", 0, "order", (), None)
>>> record.account, record.api_key = 7, "abc"
>>> JsonFormatter().format(record).endswith('"account": 7, "api_key": "***"}')
True
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import Any

__all__ = ["JsonFormatter", "configure_logging"]

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_SECRET_WORDS = ("key", "secret", "token", "password", "signature")


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        out: dict[str, Any] = {
            "ts": ts.isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name in _STANDARD or name.startswith("_"):
                continue
            secret = any(w in name.lower() for w in _SECRET_WORDS)
            out[name] = "***" if secret else value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure_logging(level: str = "info") -> None:
    """JSON lines on stderr for the service's and uvicorn's loggers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("wintermute", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # our access log has the route

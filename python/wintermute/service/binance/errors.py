"""Binance's error body ``{"code": -1121, "msg": "Invalid symbol."}`` and its codes.

Codes and messages follow Binance's spot error-code list; ccxt and Binance bots branch on the
code (``-1021`` -> resync the clock, ``-2015`` -> bad key, ``-2013`` -> order gone), so each
failure here carries the code Binance would send for it, with the HTTP status Binance uses
(400 for a bad request, 401 for a key it does not accept, 429 with ``Retry-After`` when a rate
limit is hit, 503 when the engine cannot answer). :func:`from_venue_error` turns the venue's
own errors into these.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["BinanceError", "Code", "from_venue_error"]


class Code(IntEnum):
    """The Binance error codes this API sends."""

    UNKNOWN = -1000
    UNAUTHORIZED = -1002
    TOO_MANY_REQUESTS = -1003
    SERVER_BUSY = -1008
    INVALID_MESSAGE = -1013  # filter failures
    UNKNOWN_ORDER_COMPOSITION = -1014
    TOO_MANY_ORDERS = -1015
    UNSUPPORTED_OPERATION = -1020
    INVALID_TIMESTAMP = -1021
    INVALID_SIGNATURE = -1022
    BAD_PARAM = -1100  # illegal characters in a parameter
    TOO_MANY_PARAMETERS = -1101
    MANDATORY_PARAM = -1102
    UNKNOWN_PARAM = -1103
    PARAM_EMPTY = -1105
    PARAM_NOT_REQUIRED = -1106
    BAD_PRECISION = -1111
    INVALID_TIF = -1115
    INVALID_ORDER_TYPE = -1116
    INVALID_SIDE = -1117
    BAD_SYMBOL = -1121
    OPTIONAL_PARAMS_BAD_COMBO = -1128
    INVALID_PARAMETER = -1130
    BAD_RECV_WINDOW = -1131
    NEW_ORDER_REJECTED = -2010
    CANCEL_REJECTED = -2011
    NO_SUCH_ORDER = -2013
    BAD_API_KEY_FMT = -2014
    REJECTED_MBX_KEY = -2015


class BinanceError(Exception):
    """A failure answered with Binance's body ``{"code", "msg"}`` and HTTP ``status``;
    ``retry_after`` (seconds) goes out as the ``Retry-After`` header."""

    def __init__(
        self, code: int, msg: str, *, status: int | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(f"code={code} msg={msg}")
        self.code = int(code)
        self.msg = msg
        self.retry_after = retry_after
        if status is None:
            status = _STATUS.get(self.code, 400)
        self.status = status

    def body(self) -> dict[str, object]:
        """The JSON body Binance sends for this error."""
        return {"code": self.code, "msg": self.msg}


_STATUS: dict[int, int] = {
    Code.UNAUTHORIZED: 401,
    Code.BAD_API_KEY_FMT: 401,
    Code.REJECTED_MBX_KEY: 401,
    Code.TOO_MANY_REQUESTS: 429,
    Code.TOO_MANY_ORDERS: 429,
    Code.SERVER_BUSY: 503,
    Code.UNKNOWN: 500,
}

#: The venue's rejection codes on order entry, as Binance's filter failures (-1013) or a
#: rejected new order (-2010).
_FILTER = {
    "INVALID_QTY": "Filter failure: LOT_SIZE",
    "OFF_TICK": "Filter failure: PRICE_FILTER",
    "INVALID_PRICE": "Filter failure: PRICE_FILTER",
}


def from_venue_error(code: str, message: str, *, cancel: bool = False) -> BinanceError:
    """The Binance error for the venue's ``VenueError(code, message)``; ``cancel`` picks the
    codes of a cancel request (-2011 for an order that is not open)."""
    if code == "UNKNOWN_SYMBOL":
        return BinanceError(Code.BAD_SYMBOL, "Invalid symbol.")
    if code in _FILTER:
        return BinanceError(Code.INVALID_MESSAGE, _FILTER[code])
    if code == "UNKNOWN_ORDER":
        if cancel:
            return BinanceError(Code.CANCEL_REJECTED, "Unknown order sent.")
        return BinanceError(Code.NO_SUCH_ORDER, "Order does not exist.")
    if code == "INSUFFICIENT_BALANCE":
        return BinanceError(
            Code.NEW_ORDER_REJECTED, "Account has insufficient balance for requested action."
        )
    if code == "DUPLICATE_CLIENT_ORDER_ID":
        return BinanceError(Code.NEW_ORDER_REJECTED, "Duplicate order sent.")
    if code == "FORBIDDEN":
        return BinanceError(
            Code.REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action."
        )
    if code == "UNAVAILABLE":
        return BinanceError(
            Code.SERVER_BUSY,
            "Server is currently overloaded with other requests. "
            "Please try again in a few minutes.",
        )
    reason = message or code
    if cancel:
        return BinanceError(Code.CANCEL_REJECTED, reason)
    return BinanceError(Code.NEW_ORDER_REJECTED, reason)

"""The exceptions Wintermute raises.

The Rust engine reports failures as error enums; the bindings (crates/python/src/errors.rs) map
each variant to one of these classes in one place, holding the classes as typed handles that are
imported (and checked) once, when ``wintermute._core`` loads: this module is the one definition
of each class, with its bases and docs. Every exception carries an optional machine-readable
``reason`` code (for example ``"UNKNOWN_ORDER"``) next to its human-readable message, so callers
can branch on the code and log the message.

The classes also derive from the built-in exception a Python caller would expect (``ValueError``
for bad input, ``LookupError`` for unknown keys), so generic handlers keep working::

    WintermuteError
    ├── InvalidDecimalError (ValueError)
    │   ├── PriceOffTickError
    │   └── QuantityOffLotError
    ├── InstrumentError (ValueError)
    ├── UnknownInstrumentError (LookupError)
    ├── OrderError (ValueError)
    │   ├── UnknownOrderError
    │   ├── DuplicateOrderIdError
    │   ├── InvalidQuantityError
    │   ├── InvalidPriceError
    │   └── InvalidOrderError
    ├── FeedError
    │   └── RecordingError
    ├── JournalError
    │   └── JournalCorruptError
    ├── ConfigError (ValueError)
    ├── GatewayFullError (BufferError)
    ├── GatewayClosedError (RuntimeError)
    └── ControlError (RuntimeError)
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "ControlError",
    "DuplicateOrderIdError",
    "FeedError",
    "GatewayClosedError",
    "GatewayFullError",
    "InstrumentError",
    "InvalidDecimalError",
    "InvalidOrderError",
    "InvalidPriceError",
    "InvalidQuantityError",
    "JournalCorruptError",
    "JournalError",
    "OrderError",
    "PriceOffTickError",
    "QuantityOffLotError",
    "RecordingError",
    "UnknownInstrumentError",
    "UnknownOrderError",
    "WintermuteError",
]


class WintermuteError(Exception):
    """Base class of every error Wintermute raises.

    ``reason`` is an optional machine-readable code such as ``"UNKNOWN_ORDER"``; the message is
    for humans.
    """

    reason: str | None

    def __init__(self, *args: object, reason: str | None = None) -> None:
        super().__init__(*args)
        self.reason = reason


class InvalidDecimalError(WintermuteError, ValueError):
    """Decimal text that cannot be parsed exactly, or a value off the instrument's tick/lot grid."""


class PriceOffTickError(InvalidDecimalError):
    """A price that is not a whole number of ticks of its instrument."""


class QuantityOffLotError(InvalidDecimalError):
    """A quantity that is not a whole number of lots of its instrument."""


class InstrumentError(WintermuteError, ValueError):
    """An invalid instrument specification, or one whose symbol is already registered."""


class UnknownInstrumentError(WintermuteError, LookupError):
    """An instrument symbol or id that the engine does not know."""


class OrderError(WintermuteError, ValueError):
    """An order command the engine rejected."""


class UnknownOrderError(OrderError):
    """A cancel or amend for an order id that is not live on the book."""


class DuplicateOrderIdError(OrderError):
    """A new order whose id is already live on the book."""


class InvalidQuantityError(OrderError):
    """An order quantity that is zero, negative, or outside the instrument's limits."""


class InvalidPriceError(OrderError):
    """An order price that is zero, negative, outside the price band, or given to a market order."""


class InvalidOrderError(OrderError):
    """An order whose fields do not make a valid combination (type, time in force, flags)."""


class FeedError(WintermuteError):
    """A market-data feed failure: unparsable message, sequence gap, or checksum mismatch."""


class RecordingError(FeedError):
    """A recorded feed file that cannot be read or replayed."""


class JournalError(WintermuteError):
    """A journal that cannot be opened, written or read (I/O, configuration, unknown instrument)."""


class JournalCorruptError(JournalError):
    """A journal record that fails its CRC (or does not decode) with valid records after it:
    recovery stops rather than skip it. The message names the segment file and byte offset."""


class ConfigError(WintermuteError, ValueError):
    """A config value that is missing, unknown, of the wrong type or out of range. ``key`` is
    the dotted path of the offending key (``gateways.capacity``, ``instruments[0].symbol``)
    when one is to blame."""

    key: str | None

    def __init__(self, *args: object, reason: str | None = None, key: str | None = None):
        super().__init__(*args, reason=reason)
        self.key = key


class GatewayFullError(WintermuteError, BufferError):
    """A gateway configured with ``backpressure = "reject"`` found its ring full: the command
    was not submitted (reason ``GATEWAY_FULL``)."""


class GatewayClosedError(WintermuteError, RuntimeError):
    """The threaded engine has stopped: the command was not submitted (reason
    ``GATEWAY_CLOSED``); or a live market maker trades through this gateway until it stops
    (reason ``GATEWAY_LENT``: nothing was submitted)."""


class ControlError(WintermuteError, RuntimeError):
    """A runtime control (limits, kill switch, reference price, snapshot) of the threaded
    engine failed. ``reason``: ``CONTROL_STOPPED`` (nothing applied), ``CONTROL_TIMEOUT`` (it
    may still apply), ``NO_RISK``, ``NO_JOURNAL``, ``JOURNAL_HALTED``, ``SNAPSHOT``, or the risk
    engine's code when it refused the change (e.g. ``UNKNOWN_INSTRUMENT``)."""

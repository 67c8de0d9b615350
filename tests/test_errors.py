"""The exception hierarchy of wintermute.errors."""

from __future__ import annotations

import pickle

import pytest

from wintermute import errors
from wintermute.errors import (
    ConfigError,
    ControlError,
    DuplicateOrderIdError,
    FeedError,
    GatewayClosedError,
    GatewayFullError,
    InstrumentError,
    InvalidDecimalError,
    InvalidOrderError,
    InvalidPriceError,
    InvalidQuantityError,
    JournalCorruptError,
    JournalError,
    OrderError,
    PriceOffTickError,
    QuantityOffLotError,
    RecordingError,
    UnknownInstrumentError,
    UnknownOrderError,
    WintermuteError,
)

# (class, every base it must have: its parent in the tree and the builtin it stands for)
HIERARCHY: list[tuple[type[Exception], tuple[type[Exception], ...]]] = [
    (WintermuteError, (Exception,)),
    (InvalidDecimalError, (WintermuteError, ValueError)),
    (PriceOffTickError, (InvalidDecimalError, ValueError)),
    (QuantityOffLotError, (InvalidDecimalError, ValueError)),
    (InstrumentError, (WintermuteError, ValueError)),
    (UnknownInstrumentError, (WintermuteError, LookupError)),
    (OrderError, (WintermuteError, ValueError)),
    (UnknownOrderError, (OrderError, ValueError)),
    (DuplicateOrderIdError, (OrderError, ValueError)),
    (InvalidQuantityError, (OrderError, ValueError)),
    (InvalidPriceError, (OrderError, ValueError)),
    (InvalidOrderError, (OrderError, ValueError)),
    (FeedError, (WintermuteError,)),
    (RecordingError, (FeedError,)),
    (JournalError, (WintermuteError,)),
    (JournalCorruptError, (JournalError,)),
    (ConfigError, (WintermuteError, ValueError)),
    (GatewayFullError, (WintermuteError, BufferError)),
    (GatewayClosedError, (WintermuteError, RuntimeError)),
    (ControlError, (WintermuteError, RuntimeError)),
]
CLASSES = [cls for cls, _ in HIERARCHY]


@pytest.mark.parametrize(("cls", "bases"), HIERARCHY, ids=lambda x: getattr(x, "__name__", ""))
def test_class_has_its_bases(cls: type[Exception], bases: tuple[type[Exception], ...]) -> None:
    for base in bases:
        assert issubclass(cls, base)


def test_all_exports_every_class_and_nothing_else() -> None:
    assert sorted(errors.__all__) == sorted(cls.__name__ for cls in CLASSES)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_class_is_documented(cls: type[Exception]) -> None:
    assert cls.__doc__
    assert cls.__doc__ != cls.__mro__[1].__doc__


def test_feed_errors_are_not_value_errors() -> None:
    assert not issubclass(FeedError, ValueError)
    assert not issubclass(UnknownInstrumentError, ValueError)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_reason_defaults_to_none(cls: type[WintermuteError]) -> None:
    error = cls("something went wrong")
    assert error.reason is None
    assert str(error) == "something went wrong"


def test_reason_is_kept_next_to_the_message() -> None:
    error = UnknownOrderError("order_id=7 is not live", reason="UNKNOWN_ORDER")
    assert error.reason == "UNKNOWN_ORDER"
    assert error.args == ("order_id=7 is not live",)


def test_caught_by_the_builtin_a_caller_expects() -> None:
    with pytest.raises(ValueError, match="off tick"):
        raise PriceOffTickError("price 1.005 is off tick 0.01", reason="PRICE_OFF_TICK")
    with pytest.raises(LookupError):
        raise UnknownInstrumentError("BTC-EUR", reason="UNKNOWN_INSTRUMENT")


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_pickling_keeps_type_message_and_reason(cls: type[WintermuteError]) -> None:
    error = cls("message", reason="REASON")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert copy.args == ("message",)
    assert copy.reason == "REASON"

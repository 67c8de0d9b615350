"""The venue's quantity and price checks (``wintermute.service.order_input``, run in Rust by
``_core.OrderGrid``) against a reference model written with Python's ``decimal``
(``wintermute.bench.order_input``, also the baseline of ``scripts/bench_order_input.py``): for any
value (huge, tiny, negative, with an exponent, Unicode digits, not a decimal at all, not even
text) both give the same lots or ticks, or the same code and message."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from wintermute import _core
from wintermute.bench.order_input import python_lots, python_ticks
from wintermute.errors import WintermuteError
from wintermute.service.order_input import grid_of, lots_of, ticks_of
from wintermute.service.venue_records import InstrumentInfo, VenueError

D = Decimal
INSTRUMENTS = [
    InstrumentInfo(
        "BTC-USD", "BTC", "USD", D("0.01"), D("0.001"), D("0.001"), D("100"), D("1"), D("1000000")
    ),
    # Exponents in the bounds, a negative price floor, a lot with a trailing zero.
    InstrumentInfo(
        "X-Y", "X", "Y", D("5"), D("0.00000010"), D("0.0000001"), D("1E+3"), D("-50"), D("1E+5")
    ),
    InstrumentInfo(
        "TINY", "T", "Y", D("1E-18"), D("1E-8"), D("1E-8"), D("1.5"), D("0"), D("0.000001")
    ),
]
GRIDS = [grid_of(i) for i in INSTRUMENTS]

# ---- the reference model: the checks as they were written in Python ----------------

Outcome = int | tuple[str, str]


def model_lots(value: object, inst: InstrumentInfo) -> Outcome:
    return checked(lambda: python_lots(value, inst))


def model_ticks(value: object, inst: InstrumentInfo) -> Outcome:
    return checked(lambda: python_ticks(value, inst))


def checked(call: Callable[[], int]) -> Outcome:
    try:
        return call()
    except VenueError as e:
        return e.code, e.message


# ---- what is thrown at it ----------------------------------------------------------------

_SPACE = st.sampled_from(["", "", " ", "\t\n", "\x1c", "\xa0", "\u3000", "\u2007", "\x00"])
_SIGN = st.sampled_from(["", "", "-", "+"])
# ASCII digits mostly; Unicode digits, underscores and a stray letter now and then.
_DIGITS = st.text(
    alphabet=st.sampled_from("0123456789" * 6 + "\u0661\uff15\U0001d7d9_x"), max_size=24
)
_EXPONENT = st.one_of(
    st.just(""),
    st.builds(
        lambda e, sign, n: f"{e}{sign}{n}",
        st.sampled_from("eE"),
        _SIGN,
        st.one_of(
            st.integers(0, 30),
            st.integers(0, 10**25),
            st.sampled_from(
                [999999999999999999, 10**18, 1999999999999999997, 1999999999999999998, 2**63]
            ),
        ),
    ),
)
_NUMBER = st.builds(
    lambda lead, sign, int_part, point, frac, exp, trail: (
        f"{lead}{sign}{int_part}{point}{frac}{exp}{trail}"
    ),
    _SPACE, _SIGN, _DIGITS, st.sampled_from(["", ".", "."]), _DIGITS, _EXPONENT, _SPACE,
)  # fmt: skip
_SPECIAL = st.builds(
    lambda sign, word, payload: f"{sign}{word}{payload}",
    _SIGN,
    st.sampled_from(["inf", "Infinity", "iNF", "infinit", "NaN", "nan", "sNaN", "snan"]),
    st.sampled_from(["", "", "0", "12", "007", "1.5"]),
)
_TEXT = st.one_of(
    _NUMBER,
    _NUMBER,
    _SPECIAL,
    st.text(max_size=50),
    st.from_regex(r"[0-9_.eE+\- ]{0,20}", fullmatch=True),
)
_DECIMALS = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda sign, digits, exp: Decimal((sign, tuple(digits), exp)),
        st.integers(0, 1),
        st.lists(st.integers(0, 9), min_size=1, max_size=45),
        st.one_of(st.integers(-60, 30), st.integers(-(10**6), 10**6)),
    ),
)
VALUES = st.one_of(
    _TEXT,
    _TEXT,
    _TEXT,
    _DECIMALS,
    st.integers(),
    st.integers(-(10**60), 10**60),
    st.one_of(st.floats(), st.none(), st.booleans(), st.binary(max_size=3), st.just([1])),
)


@settings(max_examples=3000, deadline=None)
@given(value=VALUES, which=st.integers(0, len(INSTRUMENTS) - 1))
@example(value="1.5", which=0)
@example(value=" 1_00.25e0 ", which=0)
@example(value="0.0000001", which=1)
@example(value="-0", which=0)
@example(value="1e-1999999999999999997", which=0)
@example(value="1e-1999999999999999998", which=0)
@example(value="0.0e1000000000000000000", which=0)
@example(value="\ud800", which=0)
@example(value=10**5000, which=0)
@example(value=-(10**40), which=1)
@example(value=Decimal("sNaN12"), which=0)
@example(value="1." + "0" * 100, which=0)
@example(value="-49.99999999999999999999999", which=1)
@example(value="-50", which=1)
def test_quantities_and_prices_are_what_the_reference_model_says(value: object, which: int) -> None:
    inst, grid = INSTRUMENTS[which], GRIDS[which]
    assert checked(lambda: lots_of(value, grid)) == model_lots(value, inst)
    assert checked(lambda: ticks_of(value, grid)) == model_ticks(value, inst)


def test_the_grid_answers_units_or_the_refusals_code_and_message() -> None:
    grid = GRIDS[0]
    assert (grid.symbol, grid.lots("0.5"), grid.ticks(D("100.25")), grid.lots(2)) == (
        "BTC-USD", 500, 10025, 2000,
    )  # fmt: skip
    assert grid.ticks("100.001") == (
        "OFF_TICK",
        "price=100.001 is not a multiple of tick_size=0.01",
    )
    assert grid.lots(0.5) == ("INVALID_QTY", "qty must be a decimal string, not float")
    with pytest.raises(VenueError) as e:
        ticks_of("1e-3", grid)
    assert (e.value.code, e.value.message) == (
        "INVALID_PRICE",
        "price=0.001 outside [1, 1000000] for BTC-USD",
    )


@pytest.mark.parametrize(
    "bounds",
    [
        ("0", "1", "1", "2", "1", "2"),  # a zero tick
        ("0.01", "1E-19", "1", "2", "1", "2"),  # finer than 10^-18
        ("0.01", "1", "1", "2", "1", "NaN"),
        ("1E-18", "1", "1", "2", "1", "100"),  # 10^20 ticks: past an i64
        ("0.01", "1", "1", "2", "1", "x"),
        ("0.01", 1.5, "1", "2", "1", "2"),  # a float
    ],
)
def test_an_instrument_the_checks_cannot_hold_is_refused(bounds: tuple[Any, ...]) -> None:
    with pytest.raises(WintermuteError) as e:
        _core.OrderGrid("X", *bounds)
    assert e.value.reason == "INVALID_INSTRUMENT"

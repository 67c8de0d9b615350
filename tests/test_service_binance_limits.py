"""Request weights and order counts: fixed windows, Binance's codes and Retry-After."""

from __future__ import annotations

import pytest

from wintermute.service.binance.errors import BinanceError, Code, from_venue_error
from wintermute.service.binance.weights import RateLimiter, RateLimits, depth_weight

T0 = 1_700_000_040_000  # any instant: each test starts from its window's start


def test_depth_weight_follows_binances_table_at_each_boundary() -> None:
    cases = {1: 5, 100: 5, 101: 25, 500: 25, 501: 50, 1000: 50, 1001: 250, 5000: 250}
    assert {limit: depth_weight(limit) for limit in cases} == cases


def test_weight_adds_up_within_a_minute_and_restarts_with_the_next() -> None:
    limiter = RateLimiter(RateLimits(weight_per_minute=100))
    start = T0 - T0 % 60_000
    assert limiter.spend_weight("a", 10, start + 1) == 10
    assert limiter.spend_weight("a", 20, start + 59_999) == 30
    assert limiter.spend_weight("b", 5, start + 2) == 5  # per client
    assert limiter.used_weight("a", start + 59_999) == 30
    assert limiter.spend_weight("a", 1, start + 60_000) == 1


def test_weight_over_the_limit_is_a_429_with_retry_after_until_the_minute_ends() -> None:
    limiter = RateLimiter(RateLimits(weight_per_minute=10))
    start = T0 - T0 % 60_000
    limiter.spend_weight("a", 10, start + 15_500)
    with pytest.raises(BinanceError) as e:
        limiter.spend_weight("a", 1, start + 15_500)
    assert (e.value.code, e.value.status, e.value.retry_after) == (Code.TOO_MANY_REQUESTS, 429, 45)
    assert limiter.used_weight("a", start + 15_500) == 10  # the refused request is not counted


def test_orders_over_the_ten_second_limit_are_refused_with_1015() -> None:
    limiter = RateLimiter(RateLimits(orders_per_10s=2, orders_per_day=100))
    start = T0 - T0 % 10_000
    assert limiter.count_order(1, start) == (1, 1)
    assert limiter.count_order(1, start + 1) == (2, 2)
    assert limiter.count_order(2, start + 1) == (1, 1)
    with pytest.raises(BinanceError) as e:
        limiter.count_order(1, start + 2_000)
    assert (e.value.code, e.value.status, e.value.retry_after) == (Code.TOO_MANY_ORDERS, 429, 8)
    assert limiter.count_order(1, start + 10_000) == (1, 3)
    assert limiter.order_counts(1, start + 10_000) == (1, 3)


def test_the_rate_limits_appear_in_exchange_info_form() -> None:
    limits = RateLimits(weight_per_minute=7, orders_per_10s=8, orders_per_day=9)
    got = {(r["rateLimitType"], r["interval"]): r["limit"] for r in limits.exchange_info()}
    assert got == {("REQUEST_WEIGHT", "MINUTE"): 7, ("ORDERS", "SECOND"): 8, ("ORDERS", "DAY"): 9}


@pytest.mark.parametrize(
    ("venue_code", "cancel", "code", "msg_part"),
    [
        ("UNKNOWN_SYMBOL", False, -1121, "Invalid symbol."),
        ("OFF_TICK", False, -1013, "PRICE_FILTER"),
        ("INVALID_PRICE", False, -1013, "PRICE_FILTER"),
        ("INVALID_QTY", False, -1013, "LOT_SIZE"),
        ("INSUFFICIENT_BALANCE", False, -2010, "insufficient balance"),
        ("DUPLICATE_CLIENT_ORDER_ID", False, -2010, "Duplicate order"),
        ("RISK_REJECTED", False, -2010, "max position"),
        ("UNKNOWN_ORDER", False, -2013, "Order does not exist."),
        ("UNKNOWN_ORDER", True, -2011, "Unknown order sent."),
        ("UNAVAILABLE", False, -1008, "overloaded"),
    ],
)
def test_each_venue_error_becomes_the_binance_code_for_it(
    venue_code: str, cancel: bool, code: int, msg_part: str
) -> None:
    err = from_venue_error(venue_code, "max position exceeded", cancel=cancel)
    assert err.code == code
    assert msg_part in err.msg
    assert err.body() == {"code": code, "msg": err.msg}

"""``wintermute bench routing``: the Rust signing edges beside ccxt's ``create_order`` building
the same requests (ccxt is in the ``dev`` extra: under CI a missing ccxt fails here)."""

from __future__ import annotations

import copy
import json

import pytest

from wintermute.bench import routing
from wintermute.cli import main


def test_ccxt_builds_the_same_orders_with_signatures_that_verify() -> None:
    requests = routing.ccxt_requests()
    assert sorted(requests) == ["binance-ed25519", "binance-hmac", "coinbase", "kraken"]
    routing.check_requests(requests)  # raises on any difference


@pytest.mark.parametrize(
    ("edge", "old", "new"),
    [
        ("binance-hmac", "price=58001.04", "price=58001.05"),  # another order
        ("binance-hmac", "quantity=0.12345&", "quantity=0.12345&x=1&"),  # signature no longer fits
        ("kraken", "price=58729.4", "price=58729.5"),
        ("coinbase", '"limit_price":"1480.69"', '"limit_price":"1480.7"'),
    ],
)
def test_the_request_check_catches_a_different_order(edge: str, old: str, new: str) -> None:
    requests = copy.deepcopy(routing.ccxt_requests())
    assert old in requests[edge]["body"]
    requests[edge]["body"] = requests[edge]["body"].replace(old, new)
    with pytest.raises(routing.RequestMismatchError):
        routing.check_requests(requests)


def test_a_short_run_times_every_edge_on_both_sides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "routing", "--rounds", "200", "--ccxt-rounds", "20", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    edges = [row["edge"] for row in result["rows"]]
    assert edges == ["binance-hmac", "binance-ed25519", "kraken", "coinbase"]
    for row in result["rows"]:
        w, c = row["wintermute"], row["ccxt"]
        assert (w["rounds"], c["rounds"]) == (200, 20)
        for side in (w, c):
            assert 0 < side["p50_ns"] <= side["p99_ns"] <= side["max_ns"], row
        assert row["ccxt_vs_wintermute_p50"] == pytest.approx(c["p50_ns"] / w["p50_ns"])

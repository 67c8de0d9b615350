"""The serializations of the compliance monitors' state (``monitors.py``): the whole state and
the per-account and per-instrument entries a store upserts over it, in each format a store may
hold. Plain values in and out (the monitor's own types stay in ``monitors.py``); every decoder
checks field by field and raises ``ValueError`` (or ``TypeError``) on anything else.

**Format 2** (written now): binary, exact integers of any size.

- The whole state, compressed (``zlib``): the number of accounts, then the accounts as
  columns (account numbers as the difference to the previous one, then the orders, trades,
  cancels and STP hits, then the ratio rules each is over as a bit mask of ``RULES``), each
  column one byte of width (1, 2, 4 or 8: unsigned integers of that many bytes, stored as
  byte planes: every value's lowest byte, then every value's next byte, and so on; 0:
  variable-length integers, for counts of 2**64 and up) and the values; then the number of
  instruments and, per instrument, its symbol, the last trade's price, its sequence and the
  reference price (texts as a length and UTF-8; no reference: length 0). Columns of small
  numbers compress well: about 4 to 5 bytes an account where JSON took 8, most of it the
  account numbers themselves.
- An account's entry: the rule mask, then (unless the account is gone) its four counts; an
  instrument's entry: the last price, its sequence and the reference, as in the whole state.

Variable-length integers are LEB128 (7 bits a byte, low first, the high bit says more follow;
no superfluous zero bytes). **Format 1** (written before): canonical JSON, the whole state
compressed; read so that a store written by an older version restores without a full replay
(the writer then stores a format 2 state whole)."""

from __future__ import annotations

import json
import sys
import zlib
from array import array
from collections.abc import Iterable
from decimal import Decimal
from itertools import accumulate
from typing import Any

__all__ = [
    "MAX_ACCOUNT",
    "RULES",
    "Account",
    "Band",
    "decode_account_entry",
    "decode_band_entry",
    "decode_state",
    "encode_account_entry",
    "encode_band_entry",
    "encode_state",
]

#: Every rule's name (the bit of each in a rule mask is its position).
RULES = ("order_to_trade", "cancel_rate", "stp_hits", "wash_trade", "price_band")
MAX_ACCOUNT = 2**32 - 1
#: An account's counts: orders, trades, cancels, STP hits.
Account = tuple[int, int, int, int]
#: An instrument's price band: the last trade's price, its sequence, the reference (or None).
Band = tuple[Decimal, int, Decimal | None]
_WIDTHS = {1: "B", 2: "H", 4: "I", 8: "Q"}
_BIG = sys.byteorder == "big"


# ---- checks of decoded values ---------------------------------------------------------------


def count(value: object) -> int:
    """A non-negative integer of a decoded state (not a bool, not a float)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a count")
    return value


def account_number(value: object) -> int:
    account = count(value)
    if account > MAX_ACCOUNT:
        raise ValueError(f"{value!r} is not an account number")
    return account


def decimal(value: object) -> Decimal:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not a decimal's text")
    out = Decimal(value)
    if not out.is_finite():
        raise ValueError(f"{value!r} is not a finite decimal")
    return out


def _symbol(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"instrument={value!r} is not a symbol")
    return value


def _rules(mask: int) -> list[str]:
    if mask >= 1 << len(RULES):
        raise ValueError(f"rule mask={mask} names no rule")
    return [r for i, r in enumerate(RULES) if mask >> i & 1]


def _mask(rules: Iterable[str]) -> int:
    return sum(1 << RULES.index(r) for r in set(rules))


# ---- format 2: binary -----------------------------------------------------------------------


def _put(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)


def _put_text(out: bytearray, text: str) -> None:
    data = text.encode()
    _put(out, len(data))
    out += data


def _put_column(out: bytearray, values: list[int]) -> None:
    top = max(values, default=0)
    width = next((w for w in _WIDTHS if top < 1 << (8 * w)), 0)
    out.append(width)
    if width == 0:
        for v in values:
            _put(out, v)
        return
    column = array(_WIDTHS[width], values)
    if _BIG:
        column.byteswap()
    raw = column.tobytes()
    for i in range(width):  # byte planes: the high bytes, mostly zeros, together
        out += raw[i::width]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def uint(self) -> int:
        n = shift = 0
        while True:
            if self.at >= len(self.data):
                raise ValueError("the data ends inside a number")
            byte = self.data[self.at]
            self.at += 1
            n |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                if byte == 0 and shift > 7:
                    raise ValueError("a number with a superfluous zero byte")
                return n

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise ValueError("the data ends inside a field")
        out = self.data[self.at : self.at + size]
        self.at += size
        return out

    def text(self) -> str:
        return self.take(self.uint()).decode()

    def column(self, n: int) -> list[int]:
        width = self.take(1)[0]
        if width == 0:
            return [self.uint() for _ in range(n)]
        if width not in _WIDTHS:
            raise ValueError(f"column width={width} is not 0, 1, 2, 4 or 8")
        planes, raw = self.take(n * width), bytearray(n * width)
        for i in range(width):
            raw[i::width] = planes[i * n : (i + 1) * n]
        column = array(_WIDTHS[width])
        column.frombytes(bytes(raw))
        if _BIG:
            column.byteswap()
        return column.tolist()

    def end(self) -> None:
        if self.at != len(self.data):
            raise ValueError(f"{len(self.data) - self.at} bytes after the end")


def _put_band(out: bytearray, band: Band) -> None:
    price, seq, reference = band
    _put_text(out, str(price))
    _put(out, seq)
    _put_text(out, "" if reference is None else str(reference))


def _read_band(r: _Reader) -> Band:
    price, seq, reference = r.text(), r.uint(), r.text()
    return decimal(price), seq, None if reference == "" else decimal(reference)


def _encode_2(
    accounts: dict[int, Account], over: dict[int, list[str]], bands: dict[str, Band]
) -> bytes:
    out = bytearray()
    numbers = sorted(accounts)
    _put(out, len(numbers))
    _put_column(out, [b - a for a, b in zip([0, *numbers], numbers, strict=False)])
    rows = list(map(accounts.__getitem__, numbers))
    for column in zip(*rows, strict=True) if rows else [()] * 4:
        _put_column(out, list(column))
    masks = {a: _mask(rules) for a, rules in over.items()}
    _put_column(out, [masks.get(a, 0) for a in numbers])
    _put(out, len(bands))
    for symbol in sorted(bands):
        _put_text(out, symbol)
        _put_band(out, bands[symbol])
    return zlib.compress(bytes(out), 6)


def _decode_2(data: bytes) -> tuple[dict[int, Account], dict[int, list[str]], dict[str, Band]]:
    r = _Reader(zlib.decompress(data))
    n = r.uint()
    steps = r.column(n)
    if 0 in steps[1:]:
        raise ValueError("account numbers out of order")
    numbers = list(accumulate(steps))
    if numbers:
        account_number(numbers[-1])  # the largest
    columns = [r.column(n) for _ in range(4)]
    accounts = dict(zip(numbers, zip(*columns, strict=True), strict=True))
    over = {a: _rules(m) for a, m in zip(numbers, r.column(n), strict=True) if m}
    bands: dict[str, Band] = {}
    for _ in range(r.uint()):
        symbol = _symbol(r.text())
        bands[symbol] = _read_band(r)
    r.end()
    return accounts, over, bands


# ---- format 1: JSON (read, and kept whole as it was stored) --------------------------------


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _band_json(band: Band) -> list[object]:
    price, seq, reference = band
    return [str(price), seq, None if reference is None else str(reference)]


def _band_from_json(entry: Any) -> Band:
    last_price, last_seq, reference = entry
    return decimal(last_price), count(last_seq), None if reference is None else decimal(reference)


def _encode_1(
    accounts: dict[int, Account], over: dict[int, list[str]], bands: dict[str, Band]
) -> bytes:
    rows = [[a, *counts] for a, counts in sorted(accounts.items())]
    by_rule: dict[str, list[int]] = {}
    for account, rule in sorted((a, r) for a, rules in over.items() for r in rules):
        by_rule.setdefault(rule, []).append(account)
    band_rows = [[symbol, *_band_json(b)] for symbol, b in sorted(bands.items())]
    return zlib.compress(_json({"accounts": rows, "bands": band_rows, "over": by_rule}), 1)


def _decode_1(data: bytes) -> tuple[dict[int, Account], dict[int, list[str]], dict[str, Band]]:
    doc = json.loads(zlib.decompress(data))
    if not isinstance(doc, dict) or set(doc) != {"accounts", "bands", "over"}:
        raise ValueError("not a monitor state document")
    accounts: dict[int, Account] = {}
    for entry in doc["accounts"]:
        account, orders, trades, cancels, stp_hits = entry
        accounts[account_number(account)] = (
            count(orders), count(trades), count(cancels), count(stp_hits)
        )  # fmt: skip
    over: dict[int, list[str]] = {}
    for rule, members in doc["over"].items():
        if rule not in RULES:
            raise ValueError(f"rule={rule!r} is not a rule")
        for a in members:
            over.setdefault(account_number(a), []).append(rule)
    bands: dict[str, Band] = {}
    for symbol, *entry in doc["bands"]:
        bands[_symbol(symbol)] = _band_from_json(entry)
    return accounts, over, bands


# ---- by format ------------------------------------------------------------------------------


def encode_state(
    fmt: int, accounts: dict[int, Account], over: dict[int, list[str]], bands: dict[str, Band]
) -> bytes:
    """A whole state's data in format ``fmt``: canonical (the same state, the same bytes)."""
    return _encode_1(accounts, over, bands) if fmt == 1 else _encode_2(accounts, over, bands)


def decode_state(
    fmt: int, data: bytes
) -> tuple[dict[int, Account], dict[int, list[str]], dict[str, Band]]:
    """The accounts' counts, the ratio rules each is over, the instruments' bands."""
    return _decode_1(data) if fmt == 1 else _decode_2(data)


def encode_account_entry(fmt: int, counts: Account | None, rules: Iterable[str]) -> bytes:
    """An account's entry (``counts`` None: the account is gone)."""
    if fmt == 1:
        return _json([None if counts is None else list(counts), sorted(rules)])
    out = bytearray()
    _put(out, _mask(rules))
    for c in counts or ():
        _put(out, c)
    return bytes(out)


def decode_account_entry(fmt: int, value: bytes) -> tuple[Account | None, list[str]]:
    if fmt == 1:
        counts, rules = json.loads(value)
        for rule in rules:
            if rule not in RULES:
                raise ValueError(f"rule={rule!r} is not a rule")
        if counts is None:
            return None, list(rules)
        orders, trades, cancels, stp_hits = counts
        return (count(orders), count(trades), count(cancels), count(stp_hits)), list(rules)
    r = _Reader(value)
    rules = _rules(r.uint())
    if r.at == len(value):
        return None, rules
    out = (r.uint(), r.uint(), r.uint(), r.uint())
    r.end()
    return out, rules


def encode_band_entry(fmt: int, band: Band) -> bytes:
    if fmt == 1:
        return _json(_band_json(band))
    out = bytearray()
    _put_band(out, band)
    return bytes(out)


def decode_band_entry(fmt: int, symbol: str, value: bytes) -> Band:
    _symbol(symbol)
    if fmt == 1:
        return _band_from_json(json.loads(value))
    r = _Reader(value)
    out = _read_band(r)
    r.end()
    return out

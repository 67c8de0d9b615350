"""Accounts' spot balances and positions, moved by the venue's fills.

Every amount is an exact ``Decimal``. An order holds (``locked``) what it may spend: a buy its
limit price times its quantity in the quote asset, a sell its quantity in the base asset; a
fill spends from the hold at the fill's price (a buy filled below its limit gets the
difference back), and fees are charged in the quote asset. Positions are the net base
quantity bought since start, with average-cost PnL.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from wintermute.service.venue_records import Balance, Position, VenueError

__all__ = ["Ledger"]

ZERO = Decimal(0)
PNL_QUANTUM = Decimal("1e-8")


@dataclass
class _Holding:
    free: Decimal = ZERO
    locked: Decimal = ZERO


@dataclass
class _Position:
    qty: Decimal = ZERO
    cost: Decimal = ZERO  # signed: the entry value of the open position
    realized: Decimal = ZERO
    fees: Decimal = ZERO


class Ledger:
    """Balances per account and asset; positions per account and symbol. Not thread-safe:
    the venue calls it under its lock."""

    def __init__(
        self, defaults: dict[str, Decimal], per_account: dict[int, dict[str, Decimal]]
    ) -> None:
        self._defaults = defaults
        self._per_account = per_account
        self._holdings: dict[int, dict[str, _Holding]] = {}
        self._positions: dict[int, dict[str, _Position]] = {}

    def _account(self, account: int) -> dict[str, _Holding]:
        held = self._holdings.get(account)
        if held is None:
            start = self._per_account.get(account, self._defaults)
            held = {asset: _Holding(free=amount) for asset, amount in start.items()}
            self._holdings[account] = held
        return held

    def _holding(self, account: int, asset: str) -> _Holding:
        return self._account(account).setdefault(asset, _Holding())

    def check(self, account: int, asset: str, amount: Decimal) -> None:
        """INSUFFICIENT_BALANCE unless ``amount`` of ``asset`` is free."""
        h = self._holding(account, asset)
        if amount > h.free:
            raise VenueError(
                "INSUFFICIENT_BALANCE",
                f"account={account} asset={asset} needs={amount} free={h.free}",
            )

    def lock(self, account: int, asset: str, amount: Decimal) -> None:
        """Holds ``amount`` of ``asset``; INSUFFICIENT_BALANCE (nothing held) if not free."""
        self.check(account, asset, amount)
        h = self._holding(account, asset)
        h.free -= amount
        h.locked += amount

    def hold(self, account: int, asset: str, amount: Decimal) -> None:
        """Holds ``amount`` of ``asset`` without the check (a journal replayed at a restart:
        the check passed when the order was placed)."""
        h = self._holding(account, asset)
        h.free -= amount
        h.locked += amount

    def unlock(self, account: int, asset: str, amount: Decimal) -> None:
        """Gives back ``amount`` of a hold."""
        h = self._holding(account, asset)
        h.locked -= amount
        h.free += amount

    def settle(
        self,
        account: int,
        *,
        spend_asset: str,
        spend: Decimal,
        from_hold: Decimal,
        get_asset: str,
        get: Decimal,
    ) -> None:
        """A fill: ``from_hold`` leaves the hold of ``spend_asset``, ``spend`` is paid (the
        difference goes back to free, or comes from it), ``get`` of ``get_asset`` arrives."""
        out = self._holding(account, spend_asset)
        out.locked -= from_hold
        out.free += from_hold - spend
        self._holding(account, get_asset).free += get

    def charge(self, account: int, asset: str, fee: Decimal) -> None:
        """Takes a fee from free."""
        self._holding(account, asset).free -= fee

    def record_fill(
        self, account: int, symbol: str, signed_qty: Decimal, price: Decimal, fee: Decimal
    ) -> None:
        """Moves ``account``'s position in ``symbol`` by a fill (average-cost PnL)."""
        p = self._positions.setdefault(account, {}).setdefault(symbol, _Position())
        p.fees += fee
        if p.qty == 0 or (p.qty > 0) == (signed_qty > 0):
            p.qty += signed_qty
            p.cost += signed_qty * price
            return
        closing = min(abs(signed_qty), abs(p.qty))
        avg = p.cost / p.qty
        sign = 1 if p.qty > 0 else -1
        p.realized += closing * (price - avg) * sign
        p.cost -= avg * closing * sign
        p.qty += signed_qty
        rest = abs(signed_qty) - closing
        if p.qty == 0:
            p.cost = ZERO
        if rest > 0:  # flipped: the rest opens a position the other way
            p.cost = p.qty * price

    def balances(self, account: int) -> list[Balance]:
        """Every asset the account holds or held, sorted by name."""
        return [
            Balance(asset, h.free, h.locked) for asset, h in sorted(self._account(account).items())
        ]

    def positions(self, account: int, marks: dict[str, Decimal | None]) -> list[Position]:
        """Positions with PnL at ``marks`` (symbol -> mark price, None: unknown)."""
        out = []
        for symbol, p in sorted(self._positions.get(account, {}).items()):
            mark = marks.get(symbol)
            avg = (p.cost / p.qty).quantize(PNL_QUANTUM) if p.qty else None
            unreal = (p.qty * mark - p.cost).quantize(PNL_QUANTUM) if mark is not None else ZERO
            out.append(
                Position(symbol, p.qty, avg, p.realized.quantize(PNL_QUANTUM), unreal, mark, p.fees)
            )
        return out

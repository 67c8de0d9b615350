"""The edges of the venue's ledger: accounts' spot balances and positions, kept in Rust.

The ledger itself (``_core.VenueLedger``, ``wintermute_engine::venue_ledger``) keeps every
amount as an integer in a unit per asset (the finest its instruments, fee rates and starting
balances need), takes each order's hold as the order table registers it and applies fills in
the drain thread's call into the order table. This module builds it from the venue's exact
``Decimal``s (read in Rust as every decimal of the bindings is, ``wintermute_core::decimal``)
and reads balances and positions back as ``Decimal``s, exactly.

An order holds (``locked``) what it may spend: a buy its limit price times its quantity in the
quote asset, a sell its quantity in the base asset; a fill spends from the hold at the fill's
price (a buy filled below its limit gets the difference back), and fees are charged in the
quote asset. Positions are the net base quantity bought since start, with average-cost PnL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, localcontext

from wintermute import _core
from wintermute.service.settings import FeeSchedule
from wintermute.service.venue_records import Balance, InstrumentInfo, Position

__all__ = ["balances", "decimal", "new_ledger", "positions"]

ZERO = Decimal(0)
PNL_QUANTUM = Decimal("1e-8")


def decimal(shown: tuple[int, int]) -> Decimal:
    """The ``Decimal`` of the ledger's ``(units, scale)``, exactly."""
    units, scale = shown
    return Decimal(f"{units}E-{scale}")


def new_ledger(
    instruments: Iterable[InstrumentInfo], fees: FeeSchedule, defaults: Mapping[str, Decimal],
    per_account: Mapping[int, Mapping[str, Decimal]],
) -> _core.VenueLedger:  # fmt: skip
    """A ledger of ``instruments`` (in the engine's id order) with ``fees`` and every account's
    starting balances (``defaults``, or the account's own in ``per_account``)."""
    return _core.VenueLedger(
        [(i.base, i.quote, i.tick_size, i.lot_size) for i in instruments],
        fees.maker_bps, fees.taker_bps, list(defaults.items()),
        [(account, list(amounts.items())) for account, amounts in per_account.items()],
    )  # fmt: skip


def balances(ledger: _core.VenueLedger, account: int) -> list[Balance]:
    """Every asset the account holds or held, sorted by name."""
    return [
        Balance(asset, decimal(free), decimal(locked))
        for asset, free, locked in ledger.balances(account)
    ]


def positions(
    ledger: _core.VenueLedger, account: int, symbols: list[str], marks: dict[str, Decimal | None]
) -> list[Position]:
    """Positions with PnL at ``marks`` (symbol -> mark price, None: unknown), sorted by symbol;
    ``symbols``: the instruments' symbols in id order."""
    out = []
    with localcontext() as ctx:
        ctx.prec = 80  # the cost has ten digits below the quote's: no rounding before quantize
        for inst_id, qty_, cost_, realized, fees in ledger.positions(account):
            symbol = symbols[inst_id]
            qty, cost = decimal(qty_), decimal(cost_)
            mark = marks.get(symbol)
            avg = (cost / qty).quantize(PNL_QUANTUM) if qty else None
            unreal = (qty * mark - cost).quantize(PNL_QUANTUM) if mark is not None else ZERO
            realized_pnl = decimal(realized).quantize(PNL_QUANTUM)
            out.append(Position(symbol, qty, avg, realized_pnl, unreal, mark, decimal(fees)))
    return sorted(out, key=lambda p: p.symbol)

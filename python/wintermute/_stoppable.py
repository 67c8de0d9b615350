"""What the package's running things (a market's feeds, a live market maker, the service's
order flow) share: ``with thing: ...`` stops the thing on leaving the block."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

_S = TypeVar("_S", bound="Stoppable")


class Stoppable:
    """Runs until ``stop()``; as a context manager, stopped on leaving the ``with`` block."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

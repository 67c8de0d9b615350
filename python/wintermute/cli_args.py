"""Argument types shared by the command line's parsers (``wintermute`` and its ``bench``
targets): each turns the text into a number or raises ``argparse.ArgumentTypeError`` with the
reason, which argparse prints with the option's name (exit status 2)::

    >>> import argparse
    >>> from wintermute.cli_args import positive_int
    >>> p = argparse.ArgumentParser(prog="x", exit_on_error=False)
    >>> _ = p.add_argument("--rounds", type=positive_int)
    >>> p.parse_args(["--rounds", "3"]).rounds
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a positive integer, got 0
"""

from __future__ import annotations

import argparse

__all__ = ["non_negative_int", "positive_float", "positive_int"]


def positive_int(text: str) -> int:
    """An integer above 0."""
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An integer at or above 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def positive_float(text: str) -> float:
    """A number above 0 (``nan`` is not)."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value

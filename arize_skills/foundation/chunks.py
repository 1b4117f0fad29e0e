"""Splitting inputs larger than one request takes into consecutive slices, one request each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

__all__ = ["chunked"]

T = TypeVar("T")


def chunked(items: Sequence[T], size: int, *, at_least_one: bool = False) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items.

    With ``at_least_one``, an empty ``items`` still yields one empty slice, for callers that build a request
    model from it and want the model to refuse the empty input rather than send nothing.
    """
    for start in range(0, max(len(items), 1) if at_least_one else len(items), size):
        yield items[start : start + size]

"""Finding the values a list repeats, for the checks that each name, label or ID appears once."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["repeated"]


def repeated(values: Iterable[str]) -> list[str]:
    """The values that appear more than once, each once, sorted."""
    seen: set[str] = set()
    again: set[str] = set()
    for value in values:
        (again if value in seen else seen).add(value)
    return sorted(again)

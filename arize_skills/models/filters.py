"""Writing AX filter expressions (the language of ``filter`` and ``query_filter``) from values."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["any_of", "quoted"]


def quoted(value: str) -> str:
    """``value`` as a filter string literal (single quotes, a quote inside doubled)."""
    return "'" + value.replace("'", "''") + "'"


def any_of(column: str, values: Iterable[str]) -> str:
    """A filter matching the records whose ``column`` equals one of ``values``."""
    return " OR ".join(f"{column} = {quoted(value)}" for value in values)

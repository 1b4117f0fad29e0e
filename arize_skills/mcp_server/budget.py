"""Token economy: compact rows, strings cut with a marker that says how to get the rest, lists kept within a
character budget, and the opaque cursors that page on from where a list stopped.

The pieces, smallest first::

    cut(text, 200, how="call get_trace(trace_id='t1', full=true)")
        → "first 200 chars…[cut 1,234 chars; call get_trace(trace_id='t1', full=true)]"

    compact(row, max_chars=300, how=lambda path: f"call get_trace(..., fields=['{path}'])")
        → the same dict without None/empty values, every long string cut (``how`` gets the dotted path),
          every long list cut to ``max_items`` with a marker item

    await collect(fetch, scope=scope_of("find", kind, name, space), cursor=cursor, limit=limit,
                  budget_chars=20_000, row=to_row)
        → Collected(rows, has_more, next_cursor, stopped_for_budget)

``collect`` walks backend pages (``fetch(backend_cursor) -> Page``), converts each item with ``row`` and stops at
``limit`` rows or once the rows' JSON passes ``budget_chars`` (the row that crosses it is kept, so every call
returns at least one row and paging always moves on). ``next_cursor`` remembers the backend cursor of the page it
stopped in and how many of that page's items were already returned, so no row is skipped or repeated. A cursor
is bound to its query (``scope``): passing it with other arguments is a ``ToolError`` saying so.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel

from ..client import Page
from ..foundation.cursors import fingerprint, seal, unseal

__all__ = [
    "DEFAULT_BUDGET_CHARS",
    "Collected",
    "Position",
    "collect",
    "compact",
    "cut",
    "decode_cursor",
    "encode_cursor",
    "json_size",
    "scope_of",
]

T = TypeVar("T")
RowT = TypeVar("RowT")

DEFAULT_BUDGET_CHARS = 6_000
"""A list result's default character budget for its rows (about 1,500 tokens): with the rest of the result, its
text stays under ``surface.MAX_RESULT_CHARS``."""


def cut(text: str, limit: int, how: str = "ask for this field alone") -> str:
    """``text`` itself when it has at most ``limit`` characters, else its start and a marker naming what was
    cut and ``how`` to get the full value."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[cut {len(text) - limit:,} chars; {how}]"


def compact(
    value: Any,
    *,
    max_chars: int = 300,
    max_items: int = 20,
    how: str | Callable[[str], str] = "ask for this field alone",
    keep_empty: bool = False,
    _path: str = "",
) -> Any:
    """A compact copy of a JSON-like value.

    Dicts lose ``None`` and empty values (unless ``keep_empty``), strings longer than ``max_chars`` are cut with
    a marker, lists longer than ``max_items`` keep their first items and end with a marker string. ``how`` is
    the instruction put in each marker, or a function of the dotted path of the value (``"attributes.input"``,
    ``"messages[3]"``) returning it.
    """

    def instruction(path: str) -> str:
        return how(path) if callable(how) else how

    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", by_alias=True)
    if isinstance(value, str):
        return cut(value, max_chars, instruction(_path or "value"))
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            path = f"{_path}.{key}" if _path else str(key)
            if not keep_empty and (item is None or (isinstance(item, str | list | dict) and not item)):
                continue
            result[str(key)] = compact(
                item, max_chars=max_chars, max_items=max_items, how=how, keep_empty=keep_empty, _path=path
            )
        return result
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items = [
            compact(
                item, max_chars=max_chars, max_items=max_items, how=how, keep_empty=keep_empty, _path=f"{_path}[{i}]"
            )
            for i, item in enumerate(value[:max_items])
        ]
        if len(value) > max_items:
            items.append(f"…[{len(value) - max_items:,} more items; {instruction(_path or 'value')}]")
        return items
    return value


def json_size(value: Any) -> int:
    """How many characters ``value`` takes as compact JSON (what a client shows the model)."""
    if isinstance(value, BaseModel):
        return len(value.model_dump_json(exclude_none=True))
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


def scope_of(*parts: Any) -> str:
    """A short fingerprint of a query's arguments; a cursor made for one scope is refused in another."""
    return fingerprint(*parts)


@dataclass(frozen=True)
class Position:
    """Where a list stopped: the backend cursor of the page it stopped in, and how many of its items were used."""

    backend_cursor: str | None
    skip: int = 0


def encode_cursor(scope: str, position: Position) -> str:
    """The opaque ``next_cursor`` for ``position`` in the query ``scope``."""
    return seal({"s": scope, "c": position.backend_cursor, "k": position.skip})


def decode_cursor(scope: str, cursor: str | None) -> Position:
    """The position a ``cursor`` argument points at (the start when ``None``).

    Raises:
        ToolError: the cursor is malformed, or was made for a call with other arguments.
    """
    if cursor is None:
        return Position(None, 0)
    try:
        data = unseal(cursor)
        position = Position(data["c"], int(data["k"]))
        if not isinstance(data["s"], str) or not (position.backend_cursor is None or isinstance(data["c"], str)):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise ToolError(
            "cursor: not a cursor this server made; pass next_cursor exactly as returned, or omit it to start over"
        ) from None
    if data["s"] != scope or position.skip < 0:
        raise ToolError(
            "cursor: it belongs to a call with other arguments; repeat the arguments of the call that returned it, "
            "or omit cursor to start over"
        )
    return position


@dataclass
class Collected(Generic[RowT]):
    """Rows gathered for one list result, and where to go on from."""

    rows: list[RowT]
    has_more: bool
    next_cursor: str | None
    stopped_for_budget: bool = False


async def collect(
    fetch: Callable[[str | None], Awaitable[Page[T]]],
    *,
    scope: str,
    cursor: str | None,
    limit: int,
    row: Callable[[T], RowT],
    budget_chars: int = DEFAULT_BUDGET_CHARS,
) -> Collected[RowT]:
    """Gather up to ``limit`` rows, and no more than ``budget_chars`` of them, from the position ``cursor`` names.

    ``fetch(backend_cursor)`` returns one backend page; its page size must not depend on ``limit`` (a cursor
    counts items into a page, so the page must hold the same items when the next call fetches it again).

    Raises:
        ToolError: a bad ``cursor`` (see ``decode_cursor``).
    """
    position = decode_cursor(scope, cursor)
    rows: list[RowT] = []
    used = 0
    backend_cursor, skip = position.backend_cursor, position.skip
    while True:
        page = await fetch(backend_cursor)
        items = page.items
        index = skip
        while index < len(items):
            converted = row(items[index])
            rows.append(converted)
            used += json_size(converted)
            index += 1
            over_budget = used >= budget_chars
            if len(rows) >= limit or over_budget:
                more_here = index < len(items)
                more = more_here or (page.has_more and page.next_cursor is not None)
                if not more:
                    return Collected(rows, False, None, False)
                after = Position(backend_cursor, index) if more_here else Position(page.next_cursor, 0)
                stopped = over_budget and len(rows) < limit
                return Collected(rows, True, encode_cursor(scope, after), stopped)
        if not page.has_more or page.next_cursor is None:
            return Collected(rows, False, None, False)
        backend_cursor, skip = page.next_cursor, 0

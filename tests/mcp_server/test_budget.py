"""Token economy helpers: cut strings with a marker, compact rows, and lists kept within a character budget."""

from __future__ import annotations

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from arize_skills.client import Page
from arize_skills.mcp_server.budget import (
    Position,
    collect,
    compact,
    cut,
    decode_cursor,
    encode_cursor,
    json_size,
    scope_of,
)


def test_a_short_string_is_kept_and_a_long_one_is_cut_with_how_to_get_the_rest() -> None:
    assert cut("short", 10) == "short"
    text = "x" * 1234 + "y" * 100
    cut_text = cut(text, 100, "call get_trace(trace_id='t1', full=true)")
    assert cut_text == "x" * 100 + "…[cut 1,234 chars; call get_trace(trace_id='t1', full=true)]"


def test_compact_drops_empty_values_and_cuts_nested_strings_and_lists_naming_their_path() -> None:
    row = {
        "id": "s1",
        "status": None,
        "events": [],
        "attributes": {"input": {"value": "q" * 50}, "tags": [f"t{i}" for i in range(5)], "note": ""},
        "score": 0.0,
        "ok": False,
    }
    result = compact(row, max_chars=10, max_items=3, how=lambda path: f"fields=['{path}']")
    assert result == {
        "id": "s1",
        "attributes": {
            "input": {"value": "q" * 10 + "…[cut 40 chars; fields=['attributes.input.value']]"},
            "tags": ["t0", "t1", "t2", "…[2 more items; fields=['attributes.tags']]"],
        },
        "score": 0.0,
        "ok": False,
    }
    assert compact({"a": None, "b": ""}, keep_empty=True) == {"a": None, "b": ""}


def test_json_size_counts_what_the_client_shows() -> None:
    assert json_size({"a": "é"}) == len('{"a":"é"}')


class Pages:
    """A backend list of ``count`` items in pages of ``size``; records each fetch."""

    def __init__(self, count: int, size: int, width: int = 10) -> None:
        self.items = [f"{i:04d}".ljust(width, ".") for i in range(count)]
        self.size = size
        self.fetched: list[str | None] = []

    async def fetch(self, cursor: str | None) -> Page[str]:
        self.fetched.append(cursor)
        start = int(cursor or 0)
        end = start + self.size
        more = end < len(self.items)
        return Page(self.items[start:end], more, str(end) if more else None)


def row(item: str) -> dict[str, str]:
    return {"v": item}


async def walk(pages: Pages, *, limit: int, budget: int) -> list[list[str]]:
    scope = scope_of("test", 1)
    calls: list[list[str]] = []
    cursor = None
    while True:
        got = await collect(pages.fetch, scope=scope, cursor=cursor, limit=limit, row=row, budget_chars=budget)
        calls.append([r["v"][:4] for r in got.rows])
        assert got.has_more == (got.next_cursor is not None)
        if not got.has_more:
            return calls
        cursor = got.next_cursor
        assert len(calls) < 100, "paging did not end"


@pytest.mark.parametrize("limit", [1, 3, 4, 5, 7, 20])
async def test_paging_across_backend_pages_returns_every_item_once_in_order(limit: int) -> None:
    pages = Pages(count=17, size=5)
    calls = await walk(pages, limit=limit, budget=1_000_000)
    flat = [v for call in calls for v in call]
    assert flat == [f"{i:04d}" for i in range(17)]
    assert all(len(call) == limit for call in calls[:-1])


async def test_the_budget_stops_a_list_early_and_the_cursor_goes_on_from_there() -> None:
    pages = Pages(count=12, size=5, width=40)
    one_row = json_size(row(pages.items[0]))
    got = await collect(pages.fetch, scope="s", cursor=None, limit=10, row=row, budget_chars=one_row * 3)
    assert len(got.rows) == 3
    assert got.stopped_for_budget and got.has_more
    rest = await collect(pages.fetch, scope="s", cursor=got.next_cursor, limit=10, row=row, budget_chars=10**6)
    assert [r["v"][:4] for r in rest.rows] == [f"{i:04d}" for i in range(3, 12)]
    assert not rest.has_more and not rest.stopped_for_budget


async def test_a_row_larger_than_the_budget_is_still_returned_so_paging_moves_on() -> None:
    pages = Pages(count=3, size=5, width=500)
    calls = await walk(pages, limit=10, budget=100)
    assert calls == [["0000"], ["0001"], ["0002"]]


async def test_a_list_that_ends_exactly_at_the_limit_says_there_is_no_more() -> None:
    pages = Pages(count=10, size=5)
    got = await collect(pages.fetch, scope="s", cursor=None, limit=10, row=row)
    assert len(got.rows) == 10
    assert got.has_more is False and got.next_cursor is None
    assert pages.fetched == [None, "5"]


def test_a_cursor_round_trips_and_is_refused_for_another_query_or_when_malformed() -> None:
    cursor = encode_cursor("scope-a", Position("backend-cursor", 3))
    assert decode_cursor("scope-a", cursor) == Position("backend-cursor", 3)
    assert decode_cursor("scope-a", None) == Position(None, 0)
    with pytest.raises(ToolError, match="other arguments"):
        decode_cursor("scope-b", cursor)
    for bad in ("%%%", "bm90IGpzb24", encode_cursor("scope-a", Position(None, 0))[:-3]):
        with pytest.raises(ToolError, match="not a cursor this server made"):
            decode_cursor("scope-a", bad)


def test_scopes_differ_when_any_argument_differs() -> None:
    assert scope_of("find", "project", None) == scope_of("find", "project", None)
    assert scope_of("find", "project", None) != scope_of("find", "project", "a")

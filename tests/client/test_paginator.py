"""``AsyncPaginator``: ``await`` gives the first page, ``async for`` every item; cursors go back unchanged."""

from __future__ import annotations

import json
from typing import Any

import httpx2
from pydantic import BaseModel

from arize_skills.client import AsyncArizeClient, Page
from arize_skills.client._resource import Resource

ORG = "T3JnYW5pemF0aW9uOjE6YWJjZA=="
TRICKY_CURSOR = "eyJwIjoxfQ+/==&x=1 y"


def space(n: int) -> dict[str, Any]:
    return {
        "id": f"space-{n}",
        "organization_id": ORG,
        "name": f"space {n}",
        "created_at": "2026-01-01T00:00:00Z",
        "is_private": False,
    }


class Pages:
    """A MockTransport handler serving ``/v2/spaces`` from fixed pages keyed by the cursor it receives."""

    def __init__(self, pages: dict[str | None, dict[str, Any]]) -> None:
        self.pages = pages
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        cursor = request.url.params.get("cursor")
        if cursor not in self.pages:
            return httpx2.Response(400, json={"title": "Bad Request", "detail": f"unknown cursor {cursor!r}"})
        return httpx2.Response(200, json=self.pages[cursor])

    @property
    def cursors(self) -> list[str | None]:
        return [r.url.params.get("cursor") for r in self.requests]


def three_pages() -> Pages:
    return Pages(
        {
            None: {"spaces": [space(1), space(2)], "pagination": {"has_more": True, "next_cursor": TRICKY_CURSOR}},
            TRICKY_CURSOR: {"spaces": [space(3), space(4)], "pagination": {"has_more": True, "next_cursor": "c3"}},
            "c3": {"spaces": [space(5)], "pagination": {"has_more": False}},
        }
    )


def mock_client(handler: Pages) -> AsyncArizeClient:
    return AsyncArizeClient(base_url="https://ax.example.test", transport=httpx2.MockTransport(handler))


async def test_awaiting_a_list_fetches_only_the_first_page() -> None:
    pages = three_pages()
    async with mock_client(pages) as client:
        page = await client.spaces.list(limit=2)
    assert isinstance(page, Page)
    assert [s.name for s in page.items] == ["space 1", "space 2"]
    assert page.has_more is True
    assert page.next_cursor == TRICKY_CURSOR
    assert len(page) == 2
    assert [s.id for s in page] == ["space-1", "space-2"]
    assert pages.cursors == [None]


async def test_async_for_walks_every_page_sending_each_cursor_back_unchanged() -> None:
    pages = three_pages()
    async with mock_client(pages) as client:
        names = [s.name async for s in client.spaces.list(name="space", limit=2)]
    assert names == ["space 1", "space 2", "space 3", "space 4", "space 5"]
    assert pages.cursors == [None, TRICKY_CURSOR, "c3"]
    for request in pages.requests:
        assert request.url.params.get("name") == "space"
        assert request.url.params.get("limit") == "2"


async def test_walking_stops_when_has_more_is_false_even_if_a_cursor_came_back() -> None:
    pages = Pages(
        {
            None: {"spaces": [space(1)], "pagination": {"has_more": True, "next_cursor": "c2"}},
            "c2": {"spaces": [space(2)], "pagination": {"has_more": False, "next_cursor": "c3"}},
            "c3": {"spaces": [space(3)], "pagination": {"has_more": False}},
        }
    )
    async with mock_client(pages) as client:
        ids = [s.id async for s in client.spaces.list()]
        last = [page async for page in client.spaces.list().pages()][-1]
    assert ids == ["space-1", "space-2"]
    assert pages.cursors == [None, "c2", None, "c2"]
    assert last.has_more is False
    assert last.next_cursor is None


async def test_walking_stops_when_has_more_comes_without_a_cursor() -> None:
    pages = Pages({None: {"spaces": [space(1)], "pagination": {"has_more": True}}})
    async with mock_client(pages) as client:
        ids = [s.id async for s in client.spaces.list()]
    assert ids == ["space-1"]
    assert pages.cursors == [None]


async def test_to_list_with_a_limit_fetches_only_the_pages_it_needs() -> None:
    pages = three_pages()
    async with mock_client(pages) as client:
        first_three = await client.spaces.list(limit=2).to_list(3)
        everything = await client.spaces.list(limit=2).to_list()
    assert [s.id for s in first_three] == ["space-1", "space-2", "space-3"]
    assert [s.id for s in everything] == [f"space-{n}" for n in range(1, 6)]
    assert pages.cursors == [None, TRICKY_CURSOR, None, TRICKY_CURSOR, "c3"]


async def test_to_list_with_a_limit_of_zero_fetches_nothing() -> None:
    pages = three_pages()
    async with mock_client(pages) as client:
        assert await client.spaces.list().to_list(0) == []
    assert pages.requests == []


async def test_pages_yields_each_page_in_order() -> None:
    pages = three_pages()
    async with mock_client(pages) as client:
        walked = [page async for page in client.spaces.list(limit=2).pages()]
    assert [len(p) for p in walked] == [2, 2, 1]
    assert [p.has_more for p in walked] == [True, True, False]
    assert [p.next_cursor for p in walked] == [TRICKY_CURSOR, "c3", None]


class Example(BaseModel):
    id: str


async def test_a_search_paginator_puts_the_cursor_in_the_body_and_keeps_the_rest_unchanged() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        bodies.append(body)
        if body.get("cursor") is None:
            return httpx2.Response(
                200, json={"examples": [{"id": "e1"}], "pagination": {"has_more": True, "next_cursor": "k+/="}}
            )
        return httpx2.Response(200, json={"examples": [{"id": "e2"}], "pagination": {"has_more": False}})

    async with AsyncArizeClient(base_url="https://ax.example.test", transport=httpx2.MockTransport(handler)) as client:
        paginator = Resource(client)._paginate(
            "/v2/datasets/d1/examples/search",
            "examples",
            Example,
            method="POST",
            body={"filter": "x = 1", "limit": 1},
            cursor_in_body=True,
        )
        ids = [e.id async for e in paginator]
    assert ids == ["e1", "e2"]
    assert bodies == [{"filter": "x = 1", "limit": 1}, {"filter": "x = 1", "limit": 1, "cursor": "k+/="}]


async def test_the_engine_pages_projects_two_at_a_time(client: AsyncArizeClient) -> None:
    created = [(await client.projects.create(f"paged-{n}")).id for n in range(5)]

    first = await client.projects.list(limit=2)
    assert len(first.items) == 2
    assert first.has_more is True
    assert first.next_cursor

    walked = [p async for p in client.projects.list(limit=2)]
    assert sorted(p.id for p in walked) == sorted(created)
    assert len({p.id for p in walked}) == 5

    sizes = [len(page) async for page in client.projects.list(limit=2).pages()]
    assert sizes == [2, 2, 1]

    assert len(await client.projects.list(limit=2).to_list(3)) == 3

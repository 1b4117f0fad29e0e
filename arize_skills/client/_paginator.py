"""``AsyncPaginator``: ``await`` it for the first page, ``async for`` over it for every item of every page."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["AsyncPaginator", "Page"]

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a list: its items, whether more follow, and the cursor for the next page."""

    items: list[T]
    has_more: bool
    next_cursor: str | None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class AsyncPaginator(Generic[T]):
    """A lazily fetched list.

    ``page = await client.datasets.list()`` fetches one page; ``async for dataset in client.datasets.list()``
    walks every page, sending each ``next_cursor`` back unchanged; ``pages()`` yields page by page.
    """

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[T]]], cursor: str | None = None) -> None:
        self._fetch = fetch
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self._fetch(self._cursor).__await__()

    async def page(self, cursor: str | None) -> Page[T]:
        """The page at ``cursor`` (a ``next_cursor`` this list returned; ``None`` for the first page)."""
        return await self._fetch(cursor)

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Every page in order."""
        cursor = self._cursor
        while True:
            page = await self._fetch(cursor)
            yield page
            if not page.has_more or not page.next_cursor:
                return
            cursor = page.next_cursor

    async def __aiter__(self) -> AsyncGenerator[T, None]:
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page.items:
                    yield item

    async def to_list(self, limit: int | None = None) -> list[T]:
        """Collect items across pages, stopping after ``limit`` items if given."""
        items: list[T] = []
        if limit is not None and limit <= 0:
            return items
        async with aclosing(self.__aiter__()) as walk:
            async for item in walk:
                items.append(item)
                if limit is not None and len(items) >= limit:
                    break
        return items

"""Base of the client's resource classes: they hold the client and borrow its request verbs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel

from ..models._base import Pagination
from ._paginator import AsyncPaginator, Page

if TYPE_CHECKING:
    from ._http import HttpCore
    from ._resolve import Resolver

__all__ = ["Resource", "ResourceClient", "given"]

M = TypeVar("M", bound=BaseModel)


def given(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that are not ``None`` (what a request body should carry)."""
    return {name: value for name, value in fields.items() if value is not None}


class ResourceClient(Protocol):
    """What a resource uses of its client (``AsyncArizeClient``), so resources need not import it."""

    @property
    def space(self) -> str | None: ...

    @property
    def resolve(self) -> Resolver: ...

    @property
    def _core(self) -> HttpCore: ...


class Resource:
    """A group of API operations on one kind of resource."""

    def __init__(self, client: ResourceClient) -> None:
        self._client = client

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        encoded: bytes | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        secrets: Sequence[str] = (),
    ) -> Any:
        return await self._client._core.request(
            method,
            path,
            params=params,
            json_body=body,
            json_bytes=encoded,
            idempotent=idempotent,
            headers=headers,
            secrets=secrets,
        )

    async def _get_model(self, model: type[M], path: str, *, params: Mapping[str, Any] | None = None) -> M:
        return model.model_validate(await self._request("GET", path, params=params))

    def _paginate(
        self,
        path: str | Callable[[], Awaitable[str]],
        key: str,
        model: type[M],
        *,
        params: Mapping[str, Any] | Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
        method: str = "GET",
        body: Mapping[str, Any] | Callable[[], Awaitable[Mapping[str, Any]]] | None = None,
        cursor_in_body: bool = False,
        convert: Callable[[Any], M] | None = None,
    ) -> AsyncPaginator[M]:
        """A paginator over ``path`` whose response lists items under ``key``.

        Most lists take ``limit``/``cursor`` as query parameters; the two search endpoints take them in the
        body (``cursor_in_body``). ``path``, ``params`` and ``body`` may be coroutine functions, called once at the
        first fetch, so that a resource given by name is resolved only when the list is actually read.
        """
        resolved: dict[str, Any] = {}

        async def fetch(cursor: str | None) -> Page[M]:
            if not resolved:
                resolved["path"] = path if isinstance(path, str) else await path()
                resolved["params"] = dict((await params()) if callable(params) else (params or {}))
                resolved["body"] = (await body()) if callable(body) else body
            query = dict(resolved["params"])
            payload = dict(resolved["body"]) if resolved["body"] is not None else None
            if cursor is not None:
                if cursor_in_body:
                    payload = {**(payload or {}), "cursor": cursor}
                else:
                    query["cursor"] = cursor
            data = await self._request(method, resolved["path"], params=query, body=payload, idempotent=True)
            parse = convert or model.model_validate
            items = [parse(item) for item in data.get(key, [])]
            pagination = Pagination.model_validate(data.get("pagination") or {})
            return Page(items, pagination.has_more, pagination.next_cursor if pagination.has_more else None)

        return AsyncPaginator(fetch)

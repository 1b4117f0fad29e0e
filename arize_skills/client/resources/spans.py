"""``client.spans``: list (``POST /v2/spans``), delete and annotate spans of a project."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from ...models._base import Pagination
from ...models.annotations import AnnotateRecordInput
from ...models.spans import (
    AnnotateSpansRequest,
    AnnotationGranularity,
    DeleteSpansRequest,
    DeleteSpansResponse,
    ListSpansRequest,
    Span,
)
from .._paginator import AsyncPaginator, Page
from .._resource import Resource

__all__ = ["ANNOTATE_BATCH", "DELETE_BATCH", "SESSION_ANNOTATE_BATCH", "Spans", "post_paginator"]

ANNOTATE_BATCH = 1000
SESSION_ANNOTATE_BATCH = 100
DELETE_BATCH = 5000

M = TypeVar("M", bound=BaseModel)


def given(**fields: Any) -> dict[str, Any]:
    """The keyword arguments that are not ``None`` (what a request body should carry)."""
    return {name: value for name, value in fields.items() if value is not None}


def post_paginator(
    resource: Resource,
    path: str,
    key: str,
    model: type[M],
    body: Callable[[], Awaitable[Mapping[str, Any]]],
    limit: int,
) -> AsyncPaginator[M]:
    """A paginator over a POST list whose ``limit``/``cursor`` are query parameters and whose body is built once,
    at the first fetch (so that names are resolved only when the list is read)."""
    built: list[Mapping[str, Any]] = []

    async def fetch(cursor: str | None) -> Page[M]:
        if not built:
            built.append(await body())
        params = {"limit": limit, "cursor": cursor}
        data = await resource._request("POST", path, params=params, body=built[0], idempotent=True)
        pagination = Pagination.model_validate(data.get("pagination") or {})
        items = [model.model_validate(item) for item in data.get(key, [])]
        return Page(items, pagination.has_more, pagination.next_cursor if pagination.has_more else None)

    return AsyncPaginator(fetch)


class Spans(Resource):
    """Spans of a tracing project: list with filters and column projection, delete, annotate."""

    def list(
        self,
        project: str,
        *,
        space: str | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        filter: str | None = None,
        included_columns: Sequence[str] | None = None,
        excluded_columns: Sequence[str] | None = None,
        truncate_string_length: int | None = None,
        limit: int = 50,
    ) -> AsyncPaginator[Span]:
        """Spans of a project (name or ID), newest first; the window defaults to the last 7 days (inclusive).

        ``filter`` is AX's SQL-like span filter (``span_kind = 'LLM' AND latency_ms > 1000``);
        ``included_columns`` / ``excluded_columns`` (one or the other) take full dotted paths such as
        ``attributes.llm.model_name`` or ``eval.hallucination.score``.
        """

        async def body() -> dict[str, Any]:
            project_id = await self._client.resolve.id_of("project", project, space=space)
            fields = given(
                project_id=project_id,
                start_time=start_time,
                end_time=end_time,
                filter=filter,
                included_columns=list(included_columns) if included_columns is not None else None,
                excluded_columns=list(excluded_columns) if excluded_columns is not None else None,
                truncate_string_length=truncate_string_length,
            )
            return ListSpansRequest.model_validate(fields).to_body()

        return post_paginator(self, "/v2/spans", "spans", Span, body, limit)

    async def delete(
        self,
        project: str,
        span_ids: Sequence[str],
        *,
        space: str | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
    ) -> DeleteSpansResponse:
        """Delete spans by ID (5000 per request, batched here); the window defaults to the last 2 years and its
        end is exclusive. Deletes are idempotent, so a partial-delete 503 is retried as a whole."""
        project_id = await self._client.resolve.id_of("project", project, space=space)
        ids = list(dict.fromkeys(span_ids))
        result = DeleteSpansResponse(completed=True)
        for start in range(0, max(len(ids), 1), DELETE_BATCH):
            fields = given(project_id=project_id, start_time=start_time, end_time=end_time)
            request = DeleteSpansRequest.model_validate({**fields, "span_ids": ids[start : start + DELETE_BATCH]})
            data = await self._request("DELETE", "/v2/spans", body=request.to_body())
            chunk = DeleteSpansResponse.model_validate(data)
            result.completed = result.completed and chunk.completed
            result.deleted_span_ids.extend(chunk.deleted_span_ids)
            result.not_deleted_span_ids.extend(chunk.not_deleted_span_ids)
        return result

    async def annotate(
        self,
        project: str,
        annotations: Sequence[AnnotateRecordInput | Mapping[str, Any]],
        *,
        space: str | None = None,
        granularity: AnnotationGranularity = "SPAN",
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
    ) -> None:
        """Write annotations (human labels) on spans, traces (root span IDs) or sessions (``session.id``).

        Each record is ``{"record_id": ..., "values": [{"name": <annotation config>, "label"/"score"/"text"}]}``.
        Batches over 1000 records (100 for ``SESSION``) are sent as several requests; each request is
        all-or-nothing on the server (a record not found in the window fails it with a 404). Annotating is an
        upsert, so a retried request is safe.
        """
        project_id = await self._client.resolve.id_of("project", project, space=space)
        records = [AnnotateRecordInput.model_validate(r) for r in annotations]
        size = SESSION_ANNOTATE_BATCH if granularity == "SESSION" else ANNOTATE_BATCH
        for start in range(0, max(len(records), 1), size):
            fields = given(project_id=project_id, start_time=start_time, end_time=end_time, granularity=granularity)
            request = AnnotateSpansRequest.model_validate({**fields, "annotations": records[start : start + size]})
            await self._request("POST", "/v2/spans/annotate", body=request.to_body(), idempotent=True)

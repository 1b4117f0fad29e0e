"""``client.spans``: list (``POST /v2/spans``), delete and annotate spans of a project."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from ...foundation.chunks import chunked
from ...models._base import RequestModel
from ...models.annotations import ANNOTATE_BATCH, SESSION_ANNOTATE_BATCH, AnnotateRecordInput
from ...models.spans import (
    AnnotateSpansRequest,
    AnnotationGranularity,
    DeleteSpansRequest,
    DeleteSpansResponse,
    ListSpansRequest,
    Span,
)
from .._paginator import AsyncPaginator
from .._resource import Resource, given

__all__ = ["DELETE_BATCH", "Spans", "project_list"]

DELETE_BATCH = 5000

M = TypeVar("M", bound=BaseModel)


def project_list(
    resource: Resource,
    path: str,
    key: str,
    model: type[M],
    request: type[RequestModel],
    *,
    project: str,
    space: str | None,
    limit: int,
    **fields: Any,
) -> AsyncPaginator[M]:
    """A paginator over a POST list of one project's spans or traces: ``limit``/``cursor`` are query parameters,
    and the body (``fields`` that are not ``None``, with the project resolved to its ID) is built once, at the
    first fetch, so that names are resolved only when the list is read."""

    async def body() -> dict[str, Any]:
        project_id = await resource._client.resolve.id_of("project", project, space=space)
        return request.model_validate(given(project_id=project_id, **fields)).to_body()

    return resource._paginate(path, key, model, method="POST", params={"limit": limit}, body=body)


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

        return project_list(
            self,
            "/v2/spans",
            "spans",
            Span,
            ListSpansRequest,
            project=project,
            space=space,
            limit=limit,
            start_time=start_time,
            end_time=end_time,
            filter=filter,
            included_columns=list(included_columns) if included_columns is not None else None,
            excluded_columns=list(excluded_columns) if excluded_columns is not None else None,
            truncate_string_length=truncate_string_length,
        )

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
        for chunk in chunked(ids, DELETE_BATCH, at_least_one=True):
            fields = given(project_id=project_id, start_time=start_time, end_time=end_time)
            request = DeleteSpansRequest.model_validate({**fields, "span_ids": chunk})
            data = await self._request("DELETE", "/v2/spans", body=request.to_body())
            part = DeleteSpansResponse.model_validate(data)
            result.completed = result.completed and part.completed
            result.deleted_span_ids.extend(part.deleted_span_ids)
            result.not_deleted_span_ids.extend(part.not_deleted_span_ids)
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
        for chunk in chunked(records, size, at_least_one=True):
            fields = given(project_id=project_id, start_time=start_time, end_time=end_time, granularity=granularity)
            request = AnnotateSpansRequest.model_validate({**fields, "annotations": chunk})
            await self._request("POST", "/v2/spans/annotate", body=request.to_body(), idempotent=True)

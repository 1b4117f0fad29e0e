"""``client.annotation_queues``: queues of records for people to label, their records, labels and people."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter

from ...models.annotation_queues import (
    AddAnnotationQueueRecordsRequest,
    AnnotateAnnotationQueueRecordRequest,
    AnnotateAnnotationQueueRecordResponse,
    AnnotationQueue,
    AnnotationQueueRecord,
    AssignAnnotationQueueRecordRequest,
    AssignAnnotationQueueRecordResponse,
    AssignmentMethod,
    CreateAnnotationQueueRecordsResponse,
    CreateAnnotationQueueRequest,
    DeleteAnnotationQueueRecordsRequest,
    RecordSource,
    UpdateAnnotationQueueRequest,
)
from ...models.annotations import AnnotationInput
from .._paginator import AsyncPaginator
from .._resource import Resource, given
from .projects import space_params
from .tasks import NOT_GIVEN, NotGiven

__all__ = ["AnnotationQueues", "RecordSourceInput"]

RecordSourceInput = RecordSource | Mapping[str, Any]
"""A record source: the request model, or its JSON (``{"record_type": "SPAN", "project_id": …, …}``)."""

_SOURCE = TypeAdapter[RecordSource](RecordSource)


def _sources(sources: Sequence[RecordSourceInput]) -> list[dict[str, Any]]:
    checked = [s if isinstance(s, BaseModel) else _SOURCE.validate_python(dict(s)) for s in sources]
    return [s.model_dump(mode="json", exclude_unset=True) for s in checked]


class AnnotationQueues(Resource):
    """Annotation queues, given by ID or exact name: list, get, create, update, delete; records, labels, people."""

    def list(
        self, *, space: str | None = None, name: str | None = None, limit: int = 50
    ) -> AsyncPaginator[AnnotationQueue]:
        """Queues, newest first, optionally in one space and by name substring."""
        params = {**space_params(space or self._client.space), "name": name, "limit": limit}
        return self._paginate("/v2/annotation-queues", "annotation_queues", AnnotationQueue, params=params)

    async def get(self, queue: str, *, space: str | None = None) -> AnnotationQueue:
        """One queue (with its annotation configs and people) by ID or exact name."""
        queue_id = await self._client.resolve.id_of("annotation_queue", queue, space=space)
        return await self._get_model(AnnotationQueue, f"/v2/annotation-queues/{queue_id}")

    async def create(
        self,
        name: str,
        *,
        annotation_configs: Sequence[str],
        annotator_emails: Sequence[str],
        instructions: str | None = None,
        assignment_method: AssignmentMethod | None = None,
        record_sources: Sequence[RecordSourceInput] | None = None,
        column_allowlist: Sequence[str] | None = None,
        space: str | None = None,
    ) -> AnnotationQueue:
        """Create a queue; ``annotation_configs`` are names or IDs, ``record_sources`` at most two (≤500 records)."""
        space_id = await self._client.resolve.space_id(space)
        config_ids = [
            await self._client.resolve.id_of("annotation_config", c, space=space_id) for c in annotation_configs
        ]
        fields: dict[str, Any] = {
            "name": name,
            "space_id": space_id,
            "annotation_config_ids": config_ids,
            "annotator_emails": list(annotator_emails),
            **given(instructions=instructions, assignment_method=assignment_method),
        }
        if record_sources:
            fields["record_sources"] = _sources(record_sources)
        if column_allowlist is not None:
            fields["column_allowlist"] = list(column_allowlist)
        body = CreateAnnotationQueueRequest.model_validate(fields).to_body()
        return AnnotationQueue.model_validate(await self._request("POST", "/v2/annotation-queues", body=body))

    async def update(
        self,
        queue: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        instructions: str | None | NotGiven = NOT_GIVEN,
        annotation_configs: Sequence[str] | NotGiven = NOT_GIVEN,
        annotator_emails: Sequence[str] | NotGiven = NOT_GIVEN,
        column_allowlist: Sequence[str] | None | NotGiven = NOT_GIVEN,
        space: str | None = None,
    ) -> AnnotationQueue:
        """Change what is given; lists replace what is stored and ``None`` clears instructions or the allowlist."""
        queue_id = await self._client.resolve.id_of("annotation_queue", queue, space=space)
        fields: dict[str, Any] = {}
        if not isinstance(name, NotGiven):
            fields["name"] = name
        if not isinstance(instructions, NotGiven):
            fields["instructions"] = instructions
        if not isinstance(annotation_configs, NotGiven):
            fields["annotation_config_ids"] = [
                await self._client.resolve.id_of("annotation_config", c, space=space) for c in annotation_configs
            ]
        if not isinstance(annotator_emails, NotGiven):
            fields["annotator_emails"] = list(annotator_emails)
        if not isinstance(column_allowlist, NotGiven):
            fields["column_allowlist"] = list(column_allowlist) if column_allowlist is not None else None
        body = UpdateAnnotationQueueRequest.model_validate(fields).to_body()
        data = await self._request("PATCH", f"/v2/annotation-queues/{queue_id}", body=body)
        return AnnotationQueue.model_validate(data)

    async def delete(self, queue: str, *, space: str | None = None) -> None:
        """Delete a queue and its records (labels written through it stay on the records)."""
        queue_id = await self._client.resolve.id_of("annotation_queue", queue, space=space)
        await self._request("DELETE", f"/v2/annotation-queues/{queue_id}")

    def list_records(self, queue_id: str, *, limit: int = 100) -> AsyncPaginator[AnnotationQueueRecord]:
        """A queue's records in the order they were added, with data, annotations, evaluations and people."""
        return self._paginate(
            f"/v2/annotation-queues/{queue_id}/records", "records", AnnotationQueueRecord, params={"limit": limit}
        )

    async def add_records(
        self, queue: str, record_sources: Sequence[RecordSourceInput], *, space: str | None = None
    ) -> builtins.list[AnnotationQueueRecord]:
        """Add records (at most two sources, ≤500 records); returns those added (none when all were there)."""
        queue_id = await self._client.resolve.id_of("annotation_queue", queue, space=space)
        body = AddAnnotationQueueRecordsRequest.model_validate({"record_sources": _sources(record_sources)})
        data = await self._request("POST", f"/v2/annotation-queues/{queue_id}/records", body=body.to_body())
        return CreateAnnotationQueueRecordsResponse.model_validate(data).record_sources

    async def delete_records(self, queue: str, record_ids: Sequence[str], *, space: str | None = None) -> None:
        """Remove records from a queue (≤100 a request); IDs not in it are passed over; labels stay."""
        queue_id = await self._client.resolve.id_of("annotation_queue", queue, space=space)
        body = DeleteAnnotationQueueRecordsRequest.model_validate({"record_ids": list(record_ids)})
        await self._request("DELETE", f"/v2/annotation-queues/{queue_id}/records", body=body.to_body())

    async def annotate_record(
        self, queue_id: str, record_id: str, annotations: Sequence[AnnotationInput | Mapping[str, Any]]
    ) -> AnnotateAnnotationQueueRecordResponse:
        """Upsert labels on a record by config name (omitted fields stay); they land on the record itself."""
        values = [a.to_body() if isinstance(a, BaseModel) else dict(a) for a in annotations]
        body = AnnotateAnnotationQueueRecordRequest.model_validate({"annotations": values}).to_body()
        path = f"/v2/annotation-queues/{queue_id}/records/{record_id}/annotate"
        return AnnotateAnnotationQueueRecordResponse.model_validate(await self._request("POST", path, body=body))

    async def assign_record(
        self, queue_id: str, record_id: str, emails: Sequence[str]
    ) -> AssignAnnotationQueueRecordResponse:
        """Replace a record's people (``[]`` removes them all); everyone assigned starts PENDING."""
        body = AssignAnnotationQueueRecordRequest.model_validate({"assigned_user_emails": list(emails)}).to_body()
        path = f"/v2/annotation-queues/{queue_id}/records/{record_id}/assign"
        return AssignAnnotationQueueRecordResponse.model_validate(await self._request("POST", path, body=body))

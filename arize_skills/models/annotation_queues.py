"""Annotation queues: records (spans, traces, sessions, dataset examples) put in front of people to label.

A queue names the annotation configs its people label with and who they are (by email). Records are added from
sources: span, trace or session IDs of a project within a window of at most 7 days, or examples of a dataset.
Labels written through a queue land on the record itself (the span, the trace's root span, the session's first
root span, or the example), exactly as ``annotate`` writes them, so every reader of annotations sees them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp
from .annotation_configs import AnnotationConfig
from .annotations import Annotation, AnnotationInput

__all__ = [
    "MAX_QUEUE_RECORDS_PER_REQUEST",
    "MAX_QUEUE_SESSIONS_PER_REQUEST",
    "QUEUE_SOURCE_WINDOW",
    "AddAnnotationQueueRecordsRequest",
    "AnnotateAnnotationQueueRecordRequest",
    "AnnotateAnnotationQueueRecordResponse",
    "AnnotationQueue",
    "AnnotationQueueAssignedUser",
    "AnnotationQueueList",
    "AnnotationQueueRecord",
    "AnnotationQueueRecordList",
    "AnnotatorUser",
    "AssignAnnotationQueueRecordRequest",
    "AssignAnnotationQueueRecordResponse",
    "AssignmentMethod",
    "CompletionStatus",
    "CreateAnnotationQueueRecordsResponse",
    "CreateAnnotationQueueRequest",
    "DeleteAnnotationQueueRecordsRequest",
    "ExampleRecordSource",
    "QueueEvaluation",
    "RecordGranularity",
    "RecordSource",
    "SessionRecordSource",
    "SourceType",
    "SpanRecordSource",
    "TraceRecordSource",
    "UpdateAnnotationQueueRequest",
]

MAX_QUEUE_RECORDS_PER_REQUEST = 500
"""AX's most records one create or add request may resolve to, across its sources."""
MAX_QUEUE_SESSIONS_PER_REQUEST = 100
"""AX's most session records one request may add."""
QUEUE_SOURCE_WINDOW = timedelta(days=7)
"""AX's longest window of a project record source."""

AssignmentMethod = Literal["ALL", "RANDOM"]
SourceType = Literal["SPANS", "DATASET"]
RecordGranularity = Literal["SPAN", "TRACE", "SESSION"]
CompletionStatus = Literal["PENDING", "COMPLETED"]

Email = Annotated[str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
RecordId = Annotated[str, Field(min_length=1, max_length=512)]
ColumnName = Annotated[str, Field(min_length=1, max_length=512)]


class ExampleRecordSource(RequestModel):
    """Examples of a dataset version (default: the latest); no ``example_ids`` means every example."""

    record_type: Literal["EXAMPLE"]
    dataset_id: str = Field(min_length=1)
    dataset_version_id: str | None = None
    example_ids: list[RecordId] | None = Field(default=None, min_length=1, max_length=MAX_QUEUE_RECORDS_PER_REQUEST)


class _ProjectSource(RequestModel):
    project_id: str = Field(min_length=1)
    start_time: Timestamp
    end_time: Timestamp

    @model_validator(mode="after")
    def _window(self) -> _ProjectSource:
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        if self.end_time - self.start_time > QUEUE_SOURCE_WINDOW:
            raise ValueError(f"the window (end_time - start_time) must not exceed {QUEUE_SOURCE_WINDOW.days} days")
        return self


class SpanRecordSource(_ProjectSource):
    """Spans of a project, by span ID, that start in the window."""

    record_type: Literal["SPAN"]
    span_ids: list[RecordId] = Field(min_length=1, max_length=MAX_QUEUE_RECORDS_PER_REQUEST)


class TraceRecordSource(_ProjectSource):
    """Traces of a project, by trace ID, whose root span starts in the window."""

    record_type: Literal["TRACE"]
    trace_ids: list[RecordId] = Field(min_length=1, max_length=MAX_QUEUE_RECORDS_PER_REQUEST)


class SessionRecordSource(_ProjectSource):
    """Sessions of a project, by ``session.id``, whose first trace's root span starts in the window."""

    record_type: Literal["SESSION"]
    session_ids: list[RecordId] = Field(min_length=1, max_length=MAX_QUEUE_SESSIONS_PER_REQUEST)


RecordSource = Annotated[
    ExampleRecordSource | SpanRecordSource | TraceRecordSource | SessionRecordSource,
    Field(discriminator="record_type"),
]


class CreateAnnotationQueueRequest(RequestModel):
    """``POST /v2/annotation-queues``: a queue, its configs and people, and optionally its first records."""

    name: Name
    space_id: str = Field(min_length=1)
    instructions: str | None = Field(default=None, max_length=5000)
    annotation_config_ids: list[str] = Field(min_length=1)
    annotator_emails: list[Email] = Field(min_length=1)
    assignment_method: AssignmentMethod | None = None
    record_sources: list[RecordSource] | None = Field(default=None, max_length=2)
    column_allowlist: list[ColumnName] | None = Field(default=None, max_length=1000)


class UpdateAnnotationQueueRequest(RequestModel):
    """``PATCH /v2/annotation-queues/{id}``; lists replace what is stored, ``null`` clears the clearable fields."""

    name: Name | None = None
    instructions: str | None = Field(default=None, min_length=1, max_length=5000)
    annotation_config_ids: list[str] | None = Field(default=None, min_length=1)
    annotator_emails: list[Email] | None = Field(default=None, min_length=1)
    column_allowlist: list[ColumnName] | None = Field(default=None, max_length=1000)


class AddAnnotationQueueRecordsRequest(RequestModel):
    """``POST /v2/annotation-queues/{id}/records``."""

    record_sources: list[RecordSource] = Field(min_length=1, max_length=2)


class DeleteAnnotationQueueRecordsRequest(RequestModel):
    """``DELETE /v2/annotation-queues/{id}/records``; IDs not in the queue are passed over."""

    record_ids: list[RecordId] = Field(min_length=1, max_length=100)


class AnnotateAnnotationQueueRecordRequest(RequestModel):
    """``POST …/records/{record_id}/annotate``: values upserted by config name; omitted fields stay as stored."""

    annotations: list[AnnotationInput] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _no_nulls(self) -> AnnotateAnnotationQueueRecordRequest:
        for value in self.annotations:
            nulls = sorted(
                f for f in ("label", "score", "text") if f in value.model_fields_set and getattr(value, f) is None
            )
            if nulls:
                raise ValueError(
                    f"annotation {value.name!r}: {', '.join(nulls)} cannot be null (omit a field to keep its value; "
                    "annotations written through a queue cannot be removed)"
                )
            if not {"label", "score", "text"} & value.model_fields_set:
                raise ValueError(f"annotation {value.name!r}: give a label, a score or a text")
        return self


class AssignAnnotationQueueRecordRequest(RequestModel):
    """``POST …/records/{record_id}/assign``: the record's people, replacing those assigned; ``[]`` removes all."""

    assigned_user_emails: list[Email] = Field(max_length=100)


class AnnotatorUser(ResponseModel):
    """A person, by ID and email."""

    id: str | None = None
    email: str | None = None


class AnnotationQueueAssignedUser(ResponseModel):
    """A person assigned to a record, and whether they have labelled it."""

    user: AnnotatorUser | None = None
    completion_status: CompletionStatus | None = None


class AnnotationQueue(ResponseModel):
    """A queue with its annotation configs and people (records are listed apart)."""

    id: str
    name: str
    space_id: str
    instructions: str | None = None
    annotation_configs: list[AnnotationConfig] = Field(default_factory=list)
    annotators: list[AnnotatorUser] = Field(default_factory=list)
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    column_allowlist: list[str] | None = None


class AnnotationQueueList(ResponseModel):
    """``GET /v2/annotation-queues``."""

    annotation_queues: list[AnnotationQueue]
    pagination: Pagination


class QueueEvaluation(ResponseModel):
    """An evaluation result on a queue record."""

    name: str | None = None
    score: float | None = None
    label: str | None = None
    explanation: str | None = None
    metadata: dict[str, Any] | None = None


class AnnotationQueueRecord(ResponseModel):
    """A record of a queue: its data as flat key-value pairs, its annotations, evaluations and people."""

    id: str
    annotation_queue_id: str
    source_type: SourceType | None = None
    granularity: RecordGranularity | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    annotations: list[Annotation] = Field(default_factory=list)
    trace_annotations: list[Annotation] = Field(default_factory=list)
    session_annotations: list[Annotation] = Field(default_factory=list)
    evaluations: list[QueueEvaluation] = Field(default_factory=list)
    assigned_users: list[AnnotationQueueAssignedUser] = Field(default_factory=list)


class AnnotationQueueRecordList(ResponseModel):
    """``GET /v2/annotation-queues/{id}/records``."""

    records: list[AnnotationQueueRecord]
    pagination: Pagination


class CreateAnnotationQueueRecordsResponse(ResponseModel):
    """``POST /v2/annotation-queues/{id}/records``: the records added (none when all were there already)."""

    record_sources: list[AnnotationQueueRecord] = Field(default_factory=list)


class AnnotateAnnotationQueueRecordResponse(ResponseModel):
    """The record's identity and the annotations just submitted."""

    id: str
    annotation_queue_id: str
    source_type: SourceType | None = None
    granularity: RecordGranularity | None = None
    annotations: list[Annotation] = Field(default_factory=list)


class AssignAnnotationQueueRecordResponse(ResponseModel):
    """The record's identity and the people now assigned to it."""

    id: str
    annotation_queue_id: str
    source_type: SourceType | None = None
    granularity: RecordGranularity | None = None
    assigned_users: list[AnnotationQueueAssignedUser] = Field(default_factory=list)

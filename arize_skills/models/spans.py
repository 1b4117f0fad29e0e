"""Spans (``POST /v2/spans`` list, ``DELETE /v2/spans``, ``POST /v2/spans/annotate``).

Span and trace IDs are OpenTelemetry hex strings, not global IDs. ``attributes`` is keyed by the *unprefixed*
OpenInference name (``input.value``, ``llm.token_count.total``); filters and column lists use the
``attributes.``-prefixed path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import Field

from ._base import Pagination, RequestModel, ResponseModel, Timestamp
from .annotations import AnnotateRecordInput, Annotation

__all__ = [
    "SPAN_KINDS",
    "AnnotateSpansRequest",
    "AnnotationGranularity",
    "DeleteSpansRequest",
    "DeleteSpansResponse",
    "ListSpansRequest",
    "Span",
    "SpanContext",
    "SpanEvaluation",
    "SpanEvent",
    "SpanKind",
    "SpanList",
    "SpanStatusCode",
]

SpanKind = Literal[
    "LLM",
    "CHAIN",
    "RETRIEVER",
    "EMBEDDING",
    "AGENT",
    "TOOL",
    "RERANKER",
    "GUARDRAIL",
    "EVALUATOR",
    "PROMPT",
    "DECISION",
    "UNKNOWN",
]
SPAN_KINDS: tuple[str, ...] = get_args(SpanKind)
"""Every ``SpanKind`` value."""

SpanStatusCode = Literal["OK", "ERROR", "UNSET"]
AnnotationGranularity = Literal["SPAN", "TRACE", "SESSION"]


class SpanContext(ResponseModel):
    """The span's identity: lowercase hex trace and span IDs."""

    trace_id: str
    span_id: str


class SpanEvent(ResponseModel):
    """A timestamped event recorded on a span (an exception, a log line)."""

    name: str
    timestamp: Timestamp | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class SpanEvaluation(ResponseModel):
    """An evaluation result on a span (``eval.<name>.label / .score / .explanation``)."""

    name: str
    score: float | None = None
    label: str | None = None
    explanation: str | None = None
    metadata: dict[str, Any] | None = None


class Span(ResponseModel):
    """A span as ``POST /v2/spans`` returns it.

    ``kind`` and ``status_code`` are plain strings so that a kind AX adds later does not break parsing; the
    values seen today are ``SpanKind`` and ``SpanStatusCode``.
    """

    name: str
    context: SpanContext
    kind: str = "UNKNOWN"
    parent_id: str | None = None
    start_time: Timestamp
    end_time: Timestamp | None = None
    status_code: str = "UNSET"
    status_message: str | None = None
    latency_ms: float | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    annotations: list[Annotation] = Field(default_factory=list)
    trace_annotations: list[Annotation] = Field(default_factory=list)
    evaluations: list[SpanEvaluation] = Field(default_factory=list)
    events: list[SpanEvent] = Field(default_factory=list)


class SpanList(ResponseModel):
    """``POST /v2/spans``."""

    spans: list[Span]
    pagination: Pagination


class ListSpansRequest(RequestModel):
    """``POST /v2/spans`` body. The window defaults to the last 7 days; both ends are inclusive.

    ``included_columns`` and ``excluded_columns`` (full dotted paths such as ``attributes.llm.model_name`` or
    ``eval.hallucination.score``) are mutually exclusive; fixed span fields are always returned.
    """

    project_id: str = Field(min_length=1)
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    filter: str | None = None
    included_columns: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    excluded_columns: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    truncate_string_length: int | None = Field(default=None, ge=1)


class DeleteSpansRequest(RequestModel):
    """``DELETE /v2/spans`` body. The window defaults to the last 2 years; ``end_time`` is exclusive here."""

    project_id: str = Field(min_length=1)
    span_ids: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1, max_length=5000)
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None


class DeleteSpansResponse(ResponseModel):
    """``DELETE /v2/spans``: which of the requested spans were deleted (the rest were not found)."""

    completed: bool
    deleted_span_ids: list[str] = Field(default_factory=list)
    not_deleted_span_ids: list[str] = Field(default_factory=list)


class AnnotateSpansRequest(RequestModel):
    """``POST /v2/spans/annotate`` body.

    ``record_id`` is a span ID (``SPAN``), a trace's root span ID (``TRACE``) or a ``session.id`` (``SESSION``).
    The window ends now by default and spans 31 days (7 for ``SESSION``, which also caps the batch at 100).
    """

    project_id: str = Field(min_length=1)
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    granularity: AnnotationGranularity | None = None
    annotations: list[AnnotateRecordInput] = Field(min_length=1, max_length=1000)

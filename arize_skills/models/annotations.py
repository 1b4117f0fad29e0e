"""Annotations: human labels written on spans, dataset examples and experiment runs."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from ._base import Name, RequestModel, ResponseModel, Timestamp

__all__ = [
    "ANNOTATE_BATCH",
    "SESSION_ANNOTATE_BATCH",
    "SESSION_ANNOTATE_WINDOW",
    "SPAN_ANNOTATE_WINDOW",
    "AnnotateRecordInput",
    "Annotation",
    "AnnotationInput",
    "Annotator",
]

ANNOTATE_BATCH = 1000
"""AX's most records per annotate request."""
SESSION_ANNOTATE_BATCH = 100
"""AX's most records per span annotate request at SESSION granularity."""
SPAN_ANNOTATE_WINDOW = timedelta(days=31)
"""AX's longest span annotate window (SPAN and TRACE granularity), which also ends no later than now."""
SESSION_ANNOTATE_WINDOW = timedelta(days=7)
"""AX's longest span annotate window at SESSION granularity."""


class AnnotationInput(RequestModel):
    """One annotation value; ``name`` must be an annotation config of the space. Omitted fields stay as stored."""

    name: Name
    score: float | None = None
    label: str | None = None
    text: str | None = None


class AnnotateRecordInput(RequestModel):
    """The annotations for one record (span ID, example ID or run ID)."""

    record_id: str = Field(min_length=1)
    values: list[AnnotationInput] = Field(min_length=1)


class Annotator(ResponseModel):
    """Who wrote an annotation."""

    id: str | None = None
    email: str | None = None


class Annotation(ResponseModel):
    """An annotation as read back on a span, example or run."""

    name: str
    score: float | None = None
    label: str | None = None
    text: str | None = None
    updated_at: Timestamp | None = None
    annotator: Annotator | None = None

"""Annotations: human labels written on spans, dataset examples and experiment runs."""

from __future__ import annotations

from pydantic import Field

from ._base import Name, RequestModel, ResponseModel, Timestamp

__all__ = ["AnnotateRecordInput", "Annotation", "AnnotationInput", "Annotator"]


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

"""Traces (``POST /v2/traces``): spans grouped under their root span."""

from __future__ import annotations

from pydantic import Field

from ._base import Pagination, RequestModel, ResponseModel, Timestamp
from .spans import Span

__all__ = ["ListTracesRequest", "Trace", "TraceList"]


class ListTracesRequest(RequestModel):
    """``POST /v2/traces`` body: same window defaults as spans; a trace matches when *any* of its spans does."""

    project_id: str = Field(min_length=1)
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    filter: str | None = None


class Trace(ResponseModel):
    """One trace, anchored on a root span inside the window; at most 1000 spans (``spans_truncated`` says so)."""

    trace_id: str
    root_span_id: str
    start_time: Timestamp
    end_time: Timestamp | None = None
    spans_truncated: bool = False
    spans: list[Span] = Field(default_factory=list)


class TraceList(ResponseModel):
    """``POST /v2/traces``."""

    traces: list[Trace]
    pagination: Pagination

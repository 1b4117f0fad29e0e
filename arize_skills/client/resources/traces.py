"""``client.traces``: list traces of a project (``POST /v2/traces``)."""

from __future__ import annotations

from datetime import datetime

from ...models.traces import ListTracesRequest, Trace
from .._paginator import AsyncPaginator
from .._resource import Resource
from .spans import project_list

__all__ = ["Traces"]


class Traces(Resource):
    """Traces of a tracing project, each anchored on its root span."""

    def list(
        self,
        project: str,
        *,
        space: str | None = None,
        start_time: datetime | str | None = None,
        end_time: datetime | str | None = None,
        filter: str | None = None,
        limit: int = 25,
    ) -> AsyncPaginator[Trace]:
        """Traces whose root span starts in the window (default: the last 7 days), newest first.

        A trace is returned when *any* of its spans matches ``filter``; each carries at most 1000 spans
        (``spans_truncated`` says when more exist — page ``client.spans.list`` with
        ``context.trace_id = '<id>'`` for all of them). ``limit`` is at most 50.
        """

        return project_list(
            self,
            "/v2/traces",
            "traces",
            Trace,
            ListTracesRequest,
            project=project,
            space=space,
            limit=limit,
            start_time=start_time,
            end_time=end_time,
            filter=filter,
        )

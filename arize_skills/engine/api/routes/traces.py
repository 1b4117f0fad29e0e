"""``POST /v2/traces``: traces anchored on root spans, newest root first.

AX rules implemented here: ``limit`` (default 25, at most 50) and ``cursor`` in the query; the window and filter
of ``/v2/spans``, except that a trace matches when *any* of its spans matches the filter; a trace appears once
per root span (``parent_id`` null) starting inside the window, and not at all without one; at most 1000 spans per
trace, oldest first, with ``spans_truncated`` set when more exist. ``start_time`` / ``end_time`` of a trace span
all its stored spans.
"""

from __future__ import annotations

import sqlite3

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....models.traces import ListTracesRequest, Trace
from ...query.filters import compile_span_filter
from ...store.spans import ns_to_datetime, span_page, spans_from_rows, trace_spans
from ..context import engine_of
from ..http import page_response, read_body, read_limit
from .projects import require_project
from .spans import paging

__all__ = ["MAX_TRACE_SPANS", "routes"]

MAX_TRACE_SPANS = 1000


async def list_traces(request: Request) -> Response:
    engine = engine_of(request)
    limit = read_limit(request, default=25, maximum=50)
    body = await read_body(request, ListTracesRequest)
    where = compile_span_filter(body.filter)
    page = paging(request, engine, body, "traces")

    def run(conn: sqlite3.Connection) -> tuple[list[Trace], str | None]:
        project = require_project(conn, body.project_id)
        roots, more = span_page(
            conn, project.num, page.start_ns, page.end_ns, where=where, after=page.after, limit=limit, roots=True
        )
        summaries = [trace_spans(conn, project.num, root, cap=MAX_TRACE_SPANS) for root in roots]
        spans = iter(spans_from_rows(conn, project.num, [row for s in summaries for row in s.rows]))
        traces = [
            Trace(
                trace_id=summary.root["trace_id"],
                root_span_id=summary.root["span_id"],
                start_time=ns_to_datetime(summary.start_ns),
                end_time=ns_to_datetime(summary.end_ns),
                spans_truncated=summary.truncated,
                spans=[next(spans) for _ in summary.rows],
            )
            for summary in summaries
        ]
        return traces, page.next_cursor(roots[-1] if roots else None, more)

    traces, cursor = await engine.store.read(run)
    return page_response("traces", traces, cursor)


routes = [Route("/v2/traces", list_traces, methods=["POST"])]

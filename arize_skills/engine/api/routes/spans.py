"""``/v2/spans``: list (POST), delete (DELETE with a body) and annotate.

AX rules implemented here:

* list: ``limit``/``cursor`` in the query (default 50, at most 500); window defaults to the last 7 days, both
  ends inclusive; newest ``start_time`` first; ``included_columns`` and ``excluded_columns`` together → 422;
  ``truncate_string_length`` cuts strings inside ``attributes`` and ends them with ``…``.
* delete: up to 5000 IDs; window defaults to the last 2 years with an *exclusive* end; answers which IDs were
  deleted and which were not found; their evaluations and annotations go with them.
* annotate: all-or-nothing — any record not found in the window is a 404 listing them, and nothing is written;
  ``TRACE`` records must be root span IDs; ``SESSION`` records are ``session.id`` values, written on the root
  span of the session's earliest trace in the window (window ≤ 7 days, ≤ 100 records); other windows ≤ 31 days,
  ending now by default, never in the future. Success is 202 with no body.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ....errors import ProblemError
from ....models.annotations import (
    SESSION_ANNOTATE_BATCH,
    SESSION_ANNOTATE_WINDOW,
    SPAN_ANNOTATE_WINDOW,
    AnnotationInput,
)
from ....models.spans import (
    AnnotateSpansRequest,
    DeleteSpansRequest,
    DeleteSpansResponse,
    ListSpansRequest,
    Span,
)
from ....models.traces import ListTracesRequest
from ...query.filters import compile_span_search
from ...store.annotations import check_annotation_batch, upsert_annotations
from ...store.spans import (
    ColumnProjection,
    delete_spans,
    resolve_window,
    session_root_spans,
    span_key,
    span_page,
    spans_from_rows,
    spans_in_window,
)
from ..context import EngineContext, engine_of
from ..http import decode_cursor, empty_response, encode_cursor, json_response, page_response, read_body, read_limit
from .projects import require_project

__all__ = ["LIST_WINDOW", "Paging", "paging", "routes"]

LIST_WINDOW = timedelta(days=7)
DELETE_WINDOW = timedelta(days=730)


@dataclass
class Paging:
    """Where a list request starts: its resolved window (kept across pages) and the keyset position."""

    start_ns: int
    end_ns: int
    after: tuple[int, int] | None
    scope: str

    def next_cursor(self, last: sqlite3.Row | None, more: bool) -> str | None:
        """The cursor that continues after ``last`` (``None`` on the last page)."""
        if not more or last is None:
            return None
        return encode_cursor([self.start_ns, self.end_ns, last["start_ns"], last["row"]], self.scope)


def paging(request: Request, engine: EngineContext, body: ListSpansRequest | ListTracesRequest, kind: str) -> Paging:
    """Decode the request's cursor, or resolve a fresh window (last 7 days to now by default).

    A cursor carries the window of the first page, so a defaulted ``end_time`` ("now") does not move while
    paging; it is bound to the whole request body, so changing the filter, window or columns invalidates it.
    """
    scope = f"{kind}|" + json.dumps(body.model_dump(mode="json"), sort_keys=True)
    position = decode_cursor(request.query_params.get("cursor"), scope)
    if position is None:
        start_ns, end_ns = resolve_window(body.start_time, body.end_time, now=engine.clock(), default_span=LIST_WINDOW)
        return Paging(start_ns, end_ns, None, scope)
    if not (isinstance(position, list) and len(position) == 4 and all(isinstance(p, int) for p in position)):
        raise ProblemError(400, "cursor is not valid for this request; start again without a cursor")
    return Paging(position[0], position[1], (position[2], position[3]), scope)


async def list_spans(request: Request) -> Response:
    engine = engine_of(request)
    limit = read_limit(request, default=50, maximum=500)
    body = await read_body(request, ListSpansRequest)
    if body.included_columns is not None and body.excluded_columns is not None:
        raise ProblemError(422, "included_columns and excluded_columns are mutually exclusive; send only one")
    search = compile_span_search(body.filter)
    page = paging(request, engine, body, "spans")
    projection = None
    if body.included_columns is not None or body.excluded_columns is not None:
        projection = ColumnProjection(body.included_columns, body.excluded_columns)

    def run(conn: sqlite3.Connection) -> tuple[list[Span], str | None]:
        project = require_project(conn, body.project_id)
        rows, more = span_page(
            conn,
            project.num,
            page.start_ns,
            page.end_ns,
            where=search.where if search else None,
            candidates=search.candidates if search else None,
            after=page.after,
            limit=limit,
        )
        spans = spans_from_rows(conn, project.num, rows, projection=projection, truncate=body.truncate_string_length)
        return spans, page.next_cursor(rows[-1] if rows else None, more)

    spans, cursor = await engine.store.read(run)
    return page_response("spans", spans, cursor)


async def remove_spans(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, DeleteSpansRequest)
    start_ns, end_ns = resolve_window(body.start_time, body.end_time, now=engine.clock(), default_span=DELETE_WINDOW)

    def run(conn: sqlite3.Connection) -> DeleteSpansResponse:
        project = require_project(conn, body.project_id)
        deleted, not_deleted = delete_spans(conn, project.num, body.span_ids, start_ns, end_ns)
        return DeleteSpansResponse(completed=True, deleted_span_ids=deleted, not_deleted_span_ids=not_deleted)

    return json_response(await engine.store.write(run))


async def annotate_spans(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, AnnotateSpansRequest)
    granularity = body.granularity or "SPAN"
    session = granularity == "SESSION"
    if session and len(body.annotations) > SESSION_ANNOTATE_BATCH:
        raise ProblemError(
            400,
            f"annotations: at most {SESSION_ANNOTATE_BATCH} records per request for SESSION granularity, got "
            f"{len(body.annotations)}; split the batch",
        )
    window = SESSION_ANNOTATE_WINDOW if session else SPAN_ANNOTATE_WINDOW
    start_ns, end_ns = resolve_window(
        body.start_time, body.end_time, now=engine.clock(), default_span=window, max_span=window, allow_future=False
    )
    record_ids = [record.record_id for record in body.annotations]

    def run(conn: sqlite3.Connection) -> None:
        project = require_project(conn, body.project_id)
        assert project.space_num is not None
        check_annotation_batch(conn, project.space_num, body.annotations)
        targets: dict[str, str] = {}
        not_root: list[str] = []
        if session:
            targets = session_root_spans(conn, project.num, record_ids, start_ns, end_ns)
        else:
            found = spans_in_window(conn, project.num, [i.lower() for i in record_ids], start_ns, end_ns)
            for record_id in record_ids:
                row = found.get(record_id.lower())
                if row is None:
                    continue
                if granularity == "TRACE" and row["parent_id"] is not None:
                    not_root.append(record_id)
                targets[record_id] = row["span_id"]
        missing = [i for i in record_ids if i not in targets]
        what = "sessions (session.id)" if session else "spans"
        if missing:
            raise ProblemError(
                404,
                f"{len(missing)} of {len(record_ids)} record_ids match no {what} of this project between "
                f"start_time and end_time: {ProblemError.listed(missing)}; nothing was written. Check the IDs, or "
                f"widen the window (at most {window.days} days, ending no later than now).",
                extra={"not_found_record_ids": missing},
            )
        if not_root:
            raise ProblemError(
                400,
                f"TRACE annotations need the trace's root span ID, but these spans have a parent: "
                f"{ProblemError.listed(not_root)}; nothing was written. Use the span whose parent_id is null, or "
                "granularity SPAN.",
            )
        items: list[tuple[str, list[AnnotationInput]]] = [
            (span_key(project.num, targets[record.record_id]), record.values) for record in body.annotations
        ]
        upsert_annotations(conn, "span", items, now=engine.now(), granularity=granularity)

    await engine.store.write(run)
    return empty_response(202)


routes = [
    Route("/v2/spans", list_spans, methods=["POST"]),
    Route("/v2/spans", remove_spans, methods=["DELETE"]),
    Route("/v2/spans/annotate", annotate_spans, methods=["POST"]),
]

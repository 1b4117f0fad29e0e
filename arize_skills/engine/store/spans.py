"""The span store: writing ingested spans, reading pages of spans and traces, and turning rows into ``Span``s.

Spans live in the ``spans`` table keyed by ``(project_num, span_id)``; times are integer nanoseconds since the
epoch (``start_ns``, ``end_ns``), ``attributes`` is a flat JSON object keyed exactly as the exporter sent the
attribute keys (OpenInference flattens lists, so ``llm.output_messages.0.message.content`` is one key).
Evaluations and annotations of a span are keyed ``<project number>:<span id>``, so re-ingesting a span keeps
them. These functions take a ``sqlite3.Connection`` and run inside ``Store.read`` / ``Store.write``.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ...errors import ProblemError
from ...models.annotations import Annotation
from ...models.spans import Span, SpanContext, SpanEvaluation, SpanEvent
from .annotations import annotations_for
from .db import sql_chunks
from .evaluations import EvaluationResult, evaluations_for
from .objects import StoredObject, delete_object
from .span_index import (
    Candidates,
    RowSet,
    candidate_rows,
    cheap_to_check,
    count_rows,
    drop_project_index,
    index_spans,
    probe_sql,
    unindex_spans,
)

__all__ = [
    "ELLIPSIS",
    "ColumnProjection",
    "MAX_SPAN_NS",
    "Filter",
    "SpanRecord",
    "TraceSummary",
    "LARGE_CANDIDATES",
    "SMALL_CANDIDATES",
    "datetime_to_ns",
    "delete_project_records",
    "delete_spans",
    "ns_to_datetime",
    "require_span_time",
    "resolve_window",
    "session_root_spans",
    "span_key",
    "span_page",
    "spans_from_rows",
    "spans_in_window",
    "trace_root_spans",
    "trace_spans",
    "truncate_strings",
    "upsert_spans",
]

ELLIPSIS = "…"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

MAX_SPAN_NS = 2**63 - 1
"""The latest span time SQLite can store: its INTEGER is signed 64-bit, in nanoseconds (2262-04-11)."""
_LATEST = datetime(2262, 4, 11, tzinfo=UTC)
_COLUMN_NAMES = (
    "row",
    "project_num",
    "trace_id",
    "span_id",
    "parent_id",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "latency_ms",
    "status_code",
    "status_message",
    "attributes",
    "events",
)

Filter = tuple[str, list[Any]]
"""A compiled filter: a SQL boolean expression over ``spans AS s`` and its parameters."""


@dataclass
class SpanRecord:
    """One span ready to be stored (what OTLP ingest produces)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    kind: str
    start_ns: int
    end_ns: int
    status_code: str
    status_message: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    resource: dict[str, Any] = field(default_factory=dict)


@dataclass
class TraceSummary:
    """A trace anchored on one root span, with (up to the cap) its spans' rows in start order."""

    root: sqlite3.Row
    start_ns: int
    end_ns: int
    rows: list[sqlite3.Row]
    truncated: bool


def _columns(alias: str) -> str:
    return ", ".join(f"{alias}.{name}" for name in _COLUMN_NAMES)


def datetime_to_ns(value: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime (exact to the microsecond)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def ns_to_datetime(value: int) -> datetime:
    """The aware UTC datetime of a nanosecond timestamp (truncated to the microsecond)."""
    return _EPOCH + timedelta(microseconds=value // 1_000)


def require_span_time(label: str, value: datetime) -> datetime:
    """``value`` if spans can have that time (1970-01-01 .. 2262-04-11: OTLP's epoch to the last nanosecond
    SQLite stores).

    Raises:
        ProblemError: 422 naming ``label`` and the range.
    """
    if not _EPOCH <= value < _LATEST:
        raise ProblemError(
            422,
            f"{label} ({value.isoformat()}) is outside the times spans can have, 1970-01-01 .. 2262-04-11; "
            "pass a time in that range",
        )
    return value


def span_key(project_num: int, span_id: str) -> str:
    """The key evaluations and annotations of a span are stored under."""
    return f"{project_num}:{span_id}"


def resolve_window(
    start: datetime | None,
    end: datetime | None,
    *,
    now: datetime,
    default_span: timedelta,
    max_span: timedelta | None = None,
    allow_future: bool = True,
) -> tuple[int, int]:
    """Turn an optional ``start_time`` / ``end_time`` into nanosecond bounds.

    ``end`` defaults to ``now`` and ``start`` to ``end - default_span``.

    Raises:
        ProblemError: 422 when start is after end, either is outside ``require_span_time``'s range, the window
            is longer than ``max_span``, or (with ``allow_future=False``) either end is in the future — beyond a
            minute of clock skew.
    """
    if start is not None:
        require_span_time("start_time", start)
    if end is not None:
        require_span_time("end_time", end)
    end = end or now
    start = start or end - default_span
    if not allow_future:
        limit = now + timedelta(minutes=1)
        for label, value in (("start_time", start), ("end_time", end)):
            if value > limit:
                raise ProblemError(422, f"{label} ({value.isoformat()}) is in the future; pass a time up to now")
    if start > end:
        raise ProblemError(
            422, f"start_time ({start.isoformat()}) is after end_time ({end.isoformat()}); swap or widen them"
        )
    if max_span is not None and end - start > max_span:
        raise ProblemError(
            422,
            f"the window from start_time to end_time is {end - start}, longer than the {max_span.days} days "
            "allowed; narrow it and send the rest in another request",
        )
    return datetime_to_ns(start), datetime_to_ns(end)


def upsert_spans(conn: sqlite3.Connection, project_num: int, records: Iterable[SpanRecord], *, now: str) -> int:
    """Store spans in a project, with their search index; a span whose ID is already stored there replaces it.
    Returns the count."""
    latest: dict[str, SpanRecord] = {}
    count = 0
    for r in records:
        # A span repeated in one batch is stored once, as its last copy, which is what one upsert each would leave.
        latest.pop(r.span_id, None)
        latest[r.span_id] = r
        count += 1
    span_ids = list(latest)
    stored: list[tuple[int, str]] = []
    for chunk in sql_chunks(span_ids):
        stored.extend(
            (row["row"], row["attributes"])
            for row in conn.execute(
                "SELECT row, attributes FROM spans WHERE project_num = ?"
                f" AND span_id IN ({','.join('?' * len(chunk))})",
                [project_num, *chunk],
            )
        )
    if stored:
        unindex_spans(conn, project_num, stored)
    resources: dict[int, str] = {}
    conn.executemany(
        "INSERT INTO spans (project_num, trace_id, span_id, parent_id, name, kind, start_ns, end_ns,"
        " status_code, status_message, attributes, events, resource, received_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (project_num, span_id) DO UPDATE SET trace_id = excluded.trace_id,"
        " parent_id = excluded.parent_id, name = excluded.name, kind = excluded.kind,"
        " start_ns = excluded.start_ns, end_ns = excluded.end_ns, status_code = excluded.status_code,"
        " status_message = excluded.status_message, attributes = excluded.attributes,"
        " events = excluded.events, resource = excluded.resource, received_at = excluded.received_at",
        [
            (
                project_num,
                r.trace_id,
                r.span_id,
                r.parent_id,
                r.name,
                r.kind,
                r.start_ns,
                r.end_ns,
                r.status_code,
                r.status_message,
                json.dumps(r.attributes, ensure_ascii=False),
                json.dumps(r.events, ensure_ascii=False),
                # The spans of one OTLP resource share its attributes: encoded once.
                resources.get(id(r.resource))
                or resources.setdefault(id(r.resource), json.dumps(r.resource, ensure_ascii=False)),
                now,
            )
            for r in latest.values()
        ],
    )
    rows: dict[str, int] = {}
    for chunk in sql_chunks(span_ids):
        found = conn.execute(
            f"SELECT span_id, row FROM spans WHERE project_num = ? AND span_id IN ({','.join('?' * len(chunk))})",
            [project_num, *chunk],
        )
        rows.update((str(span_id), int(row)) for span_id, row in found)
    index_spans(conn, project_num, [(rows[r.span_id], r.attributes) for r in latest.values()])
    return count


SMALL_CANDIDATES = 5_000
"""Up to this many candidate spans, a page is read from the candidates themselves (then sorted by start)."""
LARGE_CANDIDATES = 100_000
"""Candidates that have to be gathered first (``AttrPresent``, ``AttrText``) are used on the start-time walk below
this many; from it on, the walk meets matches soon enough checking the filter alone."""


def _smallest(conn: sqlite3.Connection, project_num: int, candidates: Candidates, small: int) -> tuple[RowSet, int]:
    """The choice with the fewest candidates, counting each up to ``small + 1`` (past that, one that can be probed
    span by span is preferred), and its count."""
    best: RowSet | None = None
    best_count = small + 2
    for choice in candidates.choices:
        counted = count_rows(conn, project_num, choice, small + 1)
        if best is None or counted < best_count:
            best, best_count = choice, counted
        elif counted == best_count and probe_sql(project_num, best) is None:
            best = choice
        if best_count <= small:
            break
    assert best is not None
    return best, best_count


def span_page(
    conn: sqlite3.Connection,
    project_num: int,
    start_ns: int,
    end_ns: int,
    *,
    where: Filter | None,
    after: tuple[int, int] | None,
    limit: int,
    roots: bool = False,
    candidates: Candidates | None = None,
    small: int = SMALL_CANDIDATES,
    large: int = LARGE_CANDIDATES,
) -> tuple[list[sqlite3.Row], bool]:
    """One page of a project's spans starting inside ``[start_ns, end_ns]``, newest first, and whether more follow.

    ``after`` is ``(start_ns, row)`` of the last span of the previous page (keyset paging, stable on ties). With
    ``roots``, the page holds root spans (no parent) whose trace has *any* span matching ``where``: one per trace.
    ``candidates`` (span filters only, from ``engine/query/filters.py``) are what the search indexes know of
    ``where``; ``where`` is still checked on every row, so they change how fast the page comes, never what it
    holds. Up to ``small`` candidates are read directly. Past that the start-time index is walked, skipping spans
    that are no candidates by an index seek each (attribute values), or by their gathered rows when fewer than
    ``large`` (fewer than about 10 * sqrt(spans) for evaluations and latency, whose check is an index seek
    itself); otherwise the walk checks the filter alone.
    """
    alias = "r" if roots else "s"
    source = f"spans AS {alias}"
    membership: tuple[str, list[Any]] | None = None
    if candidates is not None and where is not None and not roots:
        rows_of, counted = _smallest(conn, project_num, candidates, small)
        probe = probe_sql(project_num, rows_of) if counted > small else None
        gather = large
        if counted > small and probe is None and cheap_to_check(rows_of):
            # Walking costs about 50 / density seeks, gathering one per candidate: even at ~10 * sqrt(spans).
            newest = conn.execute("SELECT max(row) FROM spans").fetchone()[0] or 0
            gather = min(large, int(10 * math.sqrt(newest)))
        if counted <= small:
            rows_sql, rows_params = candidate_rows(project_num, rows_of)
            # Read by row ID only: the planner must not walk the start index over spans that cannot match.
            source = "spans AS s NOT INDEXED"
            membership = (f"s.row IN ({rows_sql})", rows_params)
        elif probe is not None:
            source = "spans AS s INDEXED BY spans_project_start"
            membership = probe
        elif count_rows(conn, project_num, rows_of, gather) < gather:
            rows_sql, rows_params = candidate_rows(project_num, rows_of)
            # The unary + keeps the row-ID set a filter on the walk instead of the way rows are found.
            source = "spans AS s INDEXED BY spans_project_start"
            membership = (f"+s.row IN ({rows_sql})", rows_params)
    sql = (
        f"SELECT {_columns(alias)} FROM {source} WHERE {alias}.project_num = ?"
        f"{f' AND {alias}.parent_id IS NULL' if roots else ''} AND {alias}.start_ns >= ? AND {alias}.start_ns <= ?"
    )
    params: list[Any] = [project_num, start_ns, end_ns]
    if membership is not None:
        sql += f" AND {membership[0]}"
        params.extend(membership[1])
    if where is not None and roots:
        sql += (
            " AND EXISTS (SELECT 1 FROM spans AS s WHERE s.project_num = r.project_num AND s.trace_id = r.trace_id"
            f" AND ({where[0]}))"
        )
    elif where is not None:
        sql += f" AND ({where[0]})"
    if where is not None:
        params.extend(where[1])
    if after is not None:
        sql += f" AND ({alias}.start_ns < ? OR ({alias}.start_ns = ? AND {alias}.row < ?))"
        params.extend([after[0], after[0], after[1]])
    sql += f" ORDER BY {alias}.start_ns DESC, {alias}.row DESC LIMIT ?"
    rows = conn.execute(sql, [*params, limit + 1]).fetchall()
    return rows[:limit], len(rows) > limit


def _delete_project_spans(conn: sqlite3.Connection, project_num: int) -> None:
    """Delete every span of a project with its search index (its evaluations and annotations are the caller's)."""
    drop_project_index(conn, project_num)
    conn.execute("DELETE FROM spans WHERE project_num = ?", (project_num,))


def trace_spans(conn: sqlite3.Connection, project_num: int, root: sqlite3.Row, *, cap: int) -> TraceSummary:
    """The spans of ``root``'s trace (at most ``cap``, oldest first) and the trace's overall time range."""
    bounds = conn.execute(
        "SELECT MIN(start_ns), MAX(end_ns) FROM spans WHERE project_num = ? AND trace_id = ?",
        (project_num, root["trace_id"]),
    ).fetchone()
    rows = conn.execute(
        f"SELECT {_columns('s')} FROM spans AS s WHERE s.project_num = ? AND s.trace_id = ?"
        " ORDER BY s.start_ns, s.row LIMIT ?",
        (project_num, root["trace_id"], cap + 1),
    ).fetchall()
    return TraceSummary(root, bounds[0], bounds[1], rows[:cap], len(rows) > cap)


def spans_in_window(
    conn: sqlite3.Connection, project_num: int, span_ids: Sequence[str], start_ns: int, end_ns: int
) -> dict[str, sqlite3.Row]:
    """The stored spans among ``span_ids`` (lowercase hex) starting inside ``[start_ns, end_ns]``, by span ID."""
    found: dict[str, sqlite3.Row] = {}
    for chunk in sql_chunks(span_ids):
        rows = conn.execute(
            "SELECT span_id, trace_id, parent_id FROM spans WHERE project_num = ? AND start_ns >= ?"
            f" AND start_ns <= ? AND span_id IN ({','.join('?' * len(chunk))})",
            [project_num, start_ns, end_ns, *chunk],
        )
        found.update({row["span_id"]: row for row in rows})
    return found


def session_root_spans(
    conn: sqlite3.Connection, project_num: int, session_ids: Sequence[str], start_ns: int, end_ns: int
) -> dict[str, str]:
    """For each session ID, the root span of the session's earliest trace inside the window (sessions with none
    are absent). A span belongs to a session through its ``session.id`` attribute."""
    roots: dict[str, str] = {}
    for chunk in sql_chunks(session_ids):
        rows = conn.execute(
            "SELECT json_extract(s.attributes, '$.\"session.id\"') AS session_id, r.span_id"
            " FROM spans AS s JOIN spans AS r ON r.project_num = s.project_num AND r.trace_id = s.trace_id"
            " AND r.parent_id IS NULL"
            " WHERE s.project_num = ? AND s.start_ns >= ? AND s.start_ns <= ? AND r.start_ns >= ? AND r.start_ns <= ?"
            f" AND json_extract(s.attributes, '$.\"session.id\"') IN ({','.join('?' * len(chunk))})"
            " ORDER BY r.start_ns, r.row",
            [project_num, start_ns, end_ns, start_ns, end_ns, *chunk],
        )
        for row in rows:
            roots.setdefault(str(row["session_id"]), row["span_id"])
    return roots


def trace_root_spans(
    conn: sqlite3.Connection, project_num: int, trace_ids: Sequence[str], start_ns: int, end_ns: int
) -> dict[str, str]:
    """For each trace ID, its root span when that starts inside the window (traces with none are absent)."""
    roots: dict[str, str] = {}
    for chunk in sql_chunks(trace_ids):
        rows = conn.execute(
            "SELECT trace_id, span_id FROM spans WHERE project_num = ? AND parent_id IS NULL"
            f" AND start_ns >= ? AND start_ns < ? AND trace_id IN ({','.join('?' * len(chunk))})",
            [project_num, start_ns, end_ns, *chunk],
        )
        for row in rows:
            roots.setdefault(row["trace_id"], row["span_id"])
    return roots


def delete_spans(
    conn: sqlite3.Connection, project_num: int, span_ids: Sequence[str], start_ns: int, end_ns: int
) -> tuple[list[str], list[str]]:
    """Delete the listed spans starting in ``[start_ns, end_ns)`` with their evaluations and annotations.

    Returns ``(deleted, not_deleted)`` span IDs as given (duplicates collapsed); IDs match case-insensitively.
    """
    unique = list(dict.fromkeys(span_ids))
    wanted = list(dict.fromkeys(i.lower() for i in unique))
    found: set[str] = set()
    for chunk in sql_chunks(wanted):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            "SELECT row, span_id, attributes FROM spans WHERE project_num = ? AND start_ns >= ? AND start_ns < ?"
            f" AND span_id IN ({marks})",
            [project_num, start_ns, end_ns, *chunk],
        ).fetchall()
        hits = [row["span_id"] for row in rows]
        found.update(hits)
        unindex_spans(conn, project_num, [(row["row"], row["attributes"]) for row in rows])
        for batch in sql_chunks(hits):
            keys = [span_key(project_num, s) for s in batch]
            key_marks = ",".join("?" * len(batch))
            conn.execute(f"DELETE FROM evaluations WHERE target_kind = 'span' AND target_key IN ({key_marks})", keys)
            conn.execute(f"DELETE FROM annotations WHERE target_kind = 'span' AND target_key IN ({key_marks})", keys)
            conn.execute(f"DELETE FROM spans WHERE project_num = ? AND span_id IN ({key_marks})", [project_num, *batch])
    deleted = [i for i in unique if i.lower() in found]
    not_deleted = [i for i in unique if i.lower() not in found]
    return deleted, not_deleted


def delete_project_records(conn: sqlite3.Connection, project: StoredObject) -> None:
    """Delete a project with every span in it and the spans' evaluations and annotations."""
    keys = [f"{project.num}:%"]
    conn.execute("DELETE FROM evaluations WHERE target_kind = 'span' AND target_key LIKE ?", keys)
    conn.execute("DELETE FROM annotations WHERE target_kind = 'span' AND target_key LIKE ?", keys)
    _delete_project_spans(conn, project.num)
    delete_object(conn, project)


class ColumnProjection:
    """``included_columns`` / ``excluded_columns`` applied to a span's attributes, evaluations and annotations.

    A path names a column and everything under it: ``attributes.llm`` covers ``attributes.llm.model_name``;
    ``eval.correctness`` covers ``eval.correctness.label``. An included path deeper than a stored attribute key
    (``attributes.metadata.user`` when the key is ``metadata``) keeps that attribute whole. An evaluation or
    annotation appears when any of its fields is wanted; its unwanted fields are emptied. Fixed span fields are
    never projected away, and names that match nothing are ignored.
    """

    _EVAL_FIELDS = ("label", "score", "explanation", "metadata")
    _ANNOTATION_FIELDS = {"label": "label", "score": "score", "text": "text", "updated_at": "updated_at"}

    def __init__(self, included: Sequence[str] | None, excluded: Sequence[str] | None) -> None:
        self.included = [p.strip() for p in included] if included is not None else None
        self.excluded = [p.strip() for p in excluded or ()]

    def wants(self, path: str) -> bool:
        """Whether the column at ``path`` is returned."""
        if self.included is not None:
            return any(path == p or path.startswith(p + ".") for p in self.included)
        return not any(path == p or path.startswith(p + ".") for p in self.excluded)

    def attributes(self, attributes: dict[str, Any]) -> dict[str, Any]:
        """The wanted attributes."""
        kept: dict[str, Any] = {}
        for key, value in attributes.items():
            path = "attributes." + key
            if self.wants(path) or (self.included is not None and any(p.startswith(path + ".") for p in self.included)):
                kept[key] = value
        return kept

    def evaluations(self, evaluations: list[EvaluationResult]) -> list[EvaluationResult]:
        """The wanted evaluations, with unwanted fields emptied."""
        kept: list[EvaluationResult] = []
        for evaluation in evaluations:
            wanted = {f: self.wants(f"eval.{evaluation['name']}.{f}") for f in self._EVAL_FIELDS}
            if not any(wanted.values()):
                continue
            projected = {"name": evaluation["name"]}
            projected.update({f: evaluation.get(f) for f in self._EVAL_FIELDS if wanted[f] and f in evaluation})
            kept.append(projected)
        return kept

    def annotations(self, annotations: list[Annotation]) -> list[Annotation]:
        """The wanted annotations, with unwanted fields emptied (``updated_by`` stands for the annotator)."""
        kept: list[Annotation] = []
        for annotation in annotations:
            base = f"annotation.{annotation.name}."
            wanted = {f: self.wants(base + f) for f in self._ANNOTATION_FIELDS}
            wanted_annotator = self.wants(base + "updated_by")
            if not any(wanted.values()) and not wanted_annotator:
                continue
            update: dict[str, Any] = {f: None for f, w in wanted.items() if not w}
            if not wanted_annotator:
                update["annotator"] = None
            kept.append(annotation.model_copy(update=update))
        return kept


def truncate_strings(value: Any, length: int) -> Any:
    """``value`` with every string longer than ``length`` cut to ``length`` characters followed by ``…``."""
    if isinstance(value, str):
        return value[:length] + ELLIPSIS if len(value) > length else value
    if isinstance(value, dict):
        return {k: truncate_strings(v, length) for k, v in value.items()}
    if isinstance(value, list):
        return [truncate_strings(v, length) for v in value]
    return value


def spans_from_rows(
    conn: sqlite3.Connection,
    project_num: int,
    rows: Sequence[sqlite3.Row],
    *,
    projection: ColumnProjection | None = None,
    truncate: int | None = None,
) -> list[Span]:
    """The wire shape of stored spans, with their evaluations, annotations and trace-level annotations.

    Trace- and session-level annotations are stored on a trace's root span and shown, as ``trace_annotations``,
    on every span of that trace.
    """
    keys = [span_key(project_num, row["span_id"]) for row in rows]
    evaluations = evaluations_for(conn, "span", keys)
    annotations = annotations_for(conn, "span", keys, granularity="SPAN")
    trace_level = _trace_annotations(conn, project_num, sorted({row["trace_id"] for row in rows}))
    spans: list[Span] = []
    for row, key in zip(rows, keys, strict=True):
        attributes: dict[str, Any] = json.loads(row["attributes"])
        span_evaluations = evaluations.get(key, [])
        span_annotations = annotations.get(key, [])
        trace_annotations = trace_level.get(row["trace_id"], [])
        if projection is not None:
            attributes = projection.attributes(attributes)
            span_evaluations = projection.evaluations(span_evaluations)
            span_annotations = projection.annotations(span_annotations)
            trace_annotations = projection.annotations(trace_annotations)
        if truncate is not None:
            attributes = truncate_strings(attributes, truncate)
        spans.append(
            Span(
                name=row["name"],
                context=SpanContext(trace_id=row["trace_id"], span_id=row["span_id"]),
                kind=row["kind"],
                parent_id=row["parent_id"],
                start_time=ns_to_datetime(row["start_ns"]),
                end_time=ns_to_datetime(row["end_ns"]),
                status_code=row["status_code"],
                status_message=row["status_message"],
                latency_ms=row["latency_ms"],
                attributes=attributes,
                annotations=span_annotations,
                trace_annotations=trace_annotations,
                evaluations=[SpanEvaluation.model_validate(e) for e in span_evaluations],
                events=[SpanEvent.model_validate(e) for e in json.loads(row["events"])],
            )
        )
    return spans


def _trace_annotations(
    conn: sqlite3.Connection, project_num: int, trace_ids: Sequence[str]
) -> dict[str, list[Annotation]]:
    roots: dict[str, list[str]] = defaultdict(list)
    for chunk in sql_chunks(trace_ids):
        rows = conn.execute(
            "SELECT trace_id, span_id FROM spans WHERE project_num = ? AND parent_id IS NULL"
            f" AND trace_id IN ({','.join('?' * len(chunk))})",
            [project_num, *chunk],
        )
        for row in rows:
            roots[row["trace_id"]].append(span_key(project_num, row["span_id"]))
    keys = [key for keys in roots.values() for key in keys]
    if not keys:
        return {}
    by_key: dict[str, list[Annotation]] = defaultdict(list)
    for granularity in ("TRACE", "SESSION"):
        for key, found in annotations_for(conn, "span", keys, granularity=granularity).items():
            by_key[key].extend(found)
    return {
        trace_id: [a for key in keys_of_trace for a in by_key.get(key, [])]
        for trace_id, keys_of_trace in roots.items()
        if any(key in by_key for key in keys_of_trace)
    }

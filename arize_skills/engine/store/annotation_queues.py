"""Annotation queue records: adding them from their sources, reading them with their data, labelling them.

A record points at what it puts in front of people: a span (``SPAN``), a trace's root span (``TRACE``), a
session's first root span (``SESSION``) or a dataset example (``EXAMPLE``), by the same target key its
annotations have, so labels written through a queue are the record's own annotations. People are known by email
(the local engine has no accounts): each email has a stable user ID, and ``local@arize-skills`` is the engine's own
user, the one every request here acts as.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from ...errors import ProblemError
from ...models._base import iso
from ...models.annotation_queues import (
    MAX_QUEUE_RECORDS_PER_REQUEST,
    MAX_QUEUE_SESSIONS_PER_REQUEST,
    AnnotationQueueAssignedUser,
    AnnotationQueueRecord,
    AnnotatorUser,
    ExampleRecordSource,
    QueueEvaluation,
    RecordSource,
    SessionRecordSource,
    SpanRecordSource,
)
from ...models.ids import decode_id, encode_id, new_suffix
from .annotations import LOCAL_ANNOTATOR, annotations_for
from .datasets import require_dataset, resolve_version
from .db import sql_chunks
from .documents import AnnotationQueueDoc
from .evaluations import evaluations_for
from .objects import StoredObject, require_object
from .spans import datetime_to_ns, session_root_spans, span_key, spans_from_rows, spans_in_window, trace_root_spans

__all__ = [
    "QUEUE_KIND",
    "RECORD_TYPE",
    "QueueRecordRow",
    "add_queue_records",
    "assign_record",
    "delete_queue_records",
    "delete_queue_rows",
    "mark_completed",
    "queue_record_page",
    "queue_records",
    "record_id",
    "render_records",
    "require_queue_record",
    "user_for",
]

QUEUE_KIND = "AnnotationQueue"
RECORD_TYPE = "AnnotationQueueRecord"


@dataclass(frozen=True)
class QueueRecordRow:
    """A stored queue record."""

    row: int
    queue_num: int
    suffix: str
    granularity: str
    target_kind: str
    target_key: str
    source_num: int

    @property
    def id(self) -> str:
        """The record's global ID."""
        return encode_id(RECORD_TYPE, self.row, self.suffix)

    @property
    def source_type(self) -> str:
        """``SPANS`` or ``DATASET``, as AX names a record's origin."""
        return "DATASET" if self.target_kind == "example" else "SPANS"


def record_id(row: sqlite3.Row) -> str:
    """The global ID of a stored record row."""
    return encode_id(RECORD_TYPE, row["row"], row["suffix"])


def user_for(email: str) -> AnnotatorUser:
    """The user an email names: the engine's own user, or a stable ID derived from the (lower-cased) email."""
    email = email.lower()
    if email == LOCAL_ANNOTATOR["email"]:
        return AnnotatorUser(id=LOCAL_ANNOTATOR["id"], email=email)
    number = int(hashlib.sha256(email.encode()).hexdigest()[:12], 16) + 2
    return AnnotatorUser(id=encode_id("User", number), email=email)


def _from_row(row: sqlite3.Row) -> QueueRecordRow:
    return QueueRecordRow(*(row[f.name] for f in fields(QueueRecordRow)))


def require_queue_record(conn: sqlite3.Connection, queue: StoredObject, record_id_text: str) -> QueueRecordRow:
    """A record of ``queue`` by global ID, or a 404 problem."""
    decoded = decode_id(record_id_text)
    row = None
    if decoded is not None and decoded.type_name == RECORD_TYPE:
        row = conn.execute(
            "SELECT * FROM annotation_queue_records WHERE row = ? AND suffix = ? AND queue_num = ?",
            (decoded.number, decoded.suffix, queue.num),
        ).fetchone()
    if row is None:
        raise ProblemError(404, f"annotation queue record '{record_id_text}' was not found in this queue")
    return _from_row(row)


# --- adding records --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    granularity: str
    target_kind: str
    target_key: str
    source_num: int


def _refuse_missing(missing: Sequence[str], given: int, what: str) -> None:
    """A 404 problem naming the IDs that name no record (nothing is added), when there are any."""
    if missing:
        raise ProblemError(
            404,
            f"{len(missing)} of {given} {what}: {ProblemError.listed(missing)}; nothing was added",
            extra={"not_found_record_ids": list(missing)},
        )


def _project_num(conn: sqlite3.Connection, project_id: str, space_num: int) -> int:
    project = require_object(conn, "Model", project_id, label="project")
    if project.space_num != space_num:
        raise ProblemError(422, f"project '{project_id}' is in another space than the annotation queue")
    return project.num


def _project_targets(conn: sqlite3.Connection, source: RecordSource, space_num: int) -> list[_Target]:
    assert not isinstance(source, ExampleRecordSource)
    project_num = _project_num(conn, source.project_id, space_num)
    start, end = datetime_to_ns(source.start_time), datetime_to_ns(source.end_time)
    # Each source maps the IDs it was given to the span its records are keyed on.
    if isinstance(source, SpanRecordSource):
        wanted = list(dict.fromkeys(source.span_ids))
        found = spans_in_window(conn, project_num, [i.lower() for i in wanted], start, end)
        spans = {i: found[i.lower()]["span_id"] for i in wanted if i.lower() in found}
        what, granularity = "span starting", "SPAN"
    elif isinstance(source, SessionRecordSource):
        wanted = list(dict.fromkeys(source.session_ids))
        spans = session_root_spans(conn, project_num, wanted, start, end)
        what, granularity = "session (session.id) with a trace", "SESSION"
    else:
        wanted = list(dict.fromkeys(source.trace_ids))
        roots = trace_root_spans(conn, project_num, [i.lower() for i in wanted], start, end)
        spans = {i: roots[i.lower()] for i in wanted if i.lower() in roots}
        what, granularity = "trace whose root span starts", "TRACE"
    missing = [i for i in wanted if i not in spans]
    _refuse_missing(missing, len(wanted), f"IDs match no {what} between start_time and end_time in this project")
    return [_Target(granularity, "span", span_key(project_num, spans[i]), project_num) for i in wanted]


def _example_targets(conn: sqlite3.Connection, source: ExampleRecordSource, space_num: int) -> list[_Target]:
    dataset = require_dataset(conn, source.dataset_id)
    if dataset.space_num != space_num:
        raise ProblemError(422, f"dataset '{source.dataset_id}' is in another space than the annotation queue")
    version = resolve_version(conn, dataset, source.dataset_version_id)
    if source.example_ids is None:
        every = conn.execute(
            "SELECT example_id FROM dataset_examples WHERE version_num = ? ORDER BY position LIMIT ?",
            (version.num, MAX_QUEUE_RECORDS_PER_REQUEST + 1),
        ).fetchall()
        if len(every) > MAX_QUEUE_RECORDS_PER_REQUEST:
            raise ProblemError(
                400,
                f"dataset '{dataset.name}' holds more than {MAX_QUEUE_RECORDS_PER_REQUEST} examples; name the "
                f"example_ids to add (at most {MAX_QUEUE_RECORDS_PER_REQUEST} records a request)",
            )
        return [_Target("EXAMPLE", "example", row["example_id"], dataset.num) for row in every]
    wanted = list(dict.fromkeys(source.example_ids))
    known: set[str] = set()
    for chunk in sql_chunks(wanted):
        rows = conn.execute(
            f"SELECT example_id FROM dataset_examples WHERE version_num = ? AND example_id IN "
            f"({','.join('?' * len(chunk))})",
            [version.num, *chunk],
        )
        known.update(row["example_id"] for row in rows)
    missing = [i for i in wanted if i not in known]
    _refuse_missing(
        missing, len(wanted), f"example_ids are not in version '{version.name}' of dataset '{dataset.name}'"
    )
    return [_Target("EXAMPLE", "example", i, dataset.num) for i in wanted]


def add_queue_records(
    conn: sqlite3.Connection, queue: StoredObject, sources: Sequence[RecordSource], *, now: str
) -> list[QueueRecordRow]:
    """Add the records the sources name (those the queue holds already are passed over); returns the new ones.

    Every ID must name a record (a 404 problem lists those that do not, and nothing is added); the sources may
    resolve to at most 500 records, at most 100 of them sessions.
    """
    assert queue.space_num is not None
    targets: list[_Target] = []
    for source in sources:
        if isinstance(source, ExampleRecordSource):
            targets += _example_targets(conn, source, queue.space_num)
        else:
            targets += _project_targets(conn, source, queue.space_num)
    if len(targets) > MAX_QUEUE_RECORDS_PER_REQUEST:
        raise ProblemError(
            400,
            f"the record sources name {len(targets)} records; at most {MAX_QUEUE_RECORDS_PER_REQUEST} may be added "
            "in one request, so split them",
        )
    sessions = sum(1 for t in targets if t.granularity == "SESSION")
    if sessions > MAX_QUEUE_SESSIONS_PER_REQUEST:
        raise ProblemError(
            400, f"the record sources name {sessions} sessions; at most {MAX_QUEUE_SESSIONS_PER_REQUEST} a request"
        )
    doc = AnnotationQueueDoc.load(queue.body)
    added: list[QueueRecordRow] = []
    for target in dict.fromkeys(targets):
        cursor = conn.execute(
            "INSERT OR IGNORE INTO annotation_queue_records (queue_num, suffix, granularity, target_kind,"
            " target_key, source_num, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                queue.num,
                new_suffix(),
                target.granularity,
                target.target_kind,
                target.target_key,
                target.source_num,
                now,
            ),
        )
        if cursor.rowcount == 0:
            continue
        row = conn.execute("SELECT * FROM annotation_queue_records WHERE row = ?", (cursor.lastrowid,)).fetchone()
        record = _from_row(row)
        people = doc.annotator_emails
        if doc.assignment_method == "RANDOM" and people:
            # Seeded by the record, so the pick is spread across people yet the same on every engine.
            people = [random.Random(record.row).choice(people)]
        _set_assignments(conn, record.row, people)
        added.append(record)
    return added


# --- people ----------------------------------------------------------------------------------------------------


def _set_assignments(conn: sqlite3.Connection, row: int, emails: Sequence[str]) -> None:
    for position, email in enumerate(dict.fromkeys(e.lower() for e in emails)):
        conn.execute(
            "INSERT INTO annotation_queue_assignments (record_row, email, completion_status, position)"
            " VALUES (?, ?, 'PENDING', ?)",
            (row, email, position),
        )


def assign_record(conn: sqlite3.Connection, record: QueueRecordRow, emails: Sequence[str]) -> None:
    """Replace the record's people; everyone assigned (again) starts ``PENDING``."""
    conn.execute("DELETE FROM annotation_queue_assignments WHERE record_row = ?", (record.row,))
    _set_assignments(conn, record.row, emails)


def mark_completed(conn: sqlite3.Connection, record: QueueRecordRow) -> None:
    """The engine's own user has labelled the record: its assignment, if it has one, is ``COMPLETED``."""
    conn.execute(
        "UPDATE annotation_queue_assignments SET completion_status = 'COMPLETED' WHERE record_row = ? AND email = ?",
        (record.row, LOCAL_ANNOTATOR["email"]),
    )


def _assigned(conn: sqlite3.Connection, rows: Sequence[int]) -> dict[int, list[AnnotationQueueAssignedUser]]:
    found: dict[int, list[AnnotationQueueAssignedUser]] = {}
    for chunk in sql_chunks(rows):
        assignments = conn.execute(
            "SELECT record_row, email, completion_status FROM annotation_queue_assignments WHERE record_row IN "
            f"({','.join('?' * len(chunk))}) ORDER BY record_row, position",
            list(chunk),
        )
        for a in assignments:
            found.setdefault(a["record_row"], []).append(
                AnnotationQueueAssignedUser(user=user_for(a["email"]), completion_status=a["completion_status"])
            )
    return found


def assigned_users(conn: sqlite3.Connection, record: QueueRecordRow) -> list[AnnotationQueueAssignedUser]:
    """The people of one record, in the order they were assigned."""
    return _assigned(conn, [record.row]).get(record.row, [])


# --- reading and deleting --------------------------------------------------------------------------------------


def queue_records(conn: sqlite3.Connection, queue_num: int) -> list[QueueRecordRow]:
    """Every record of a queue, in the order they were added."""
    rows = conn.execute("SELECT * FROM annotation_queue_records WHERE queue_num = ? ORDER BY row", (queue_num,))
    return [_from_row(row) for row in rows]


def queue_record_page(
    conn: sqlite3.Connection, queue_num: int, *, limit: int, after: int | None
) -> tuple[list[QueueRecordRow], bool]:
    """One page of a queue's records in the order they were added, and whether more follow."""
    rows = conn.execute(
        "SELECT * FROM annotation_queue_records WHERE queue_num = ? AND row > ? ORDER BY row LIMIT ?",
        (queue_num, after or 0, limit + 1),
    ).fetchall()
    return [_from_row(row) for row in rows[:limit]], len(rows) > limit


def _flat(prefix: str, value: Any, into: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flat(f"{prefix}.{key}", item, into)
    else:
        into[prefix] = value


def render_records(
    conn: sqlite3.Connection, queue: StoredObject, queue_id: str, records: Sequence[QueueRecordRow]
) -> list[AnnotationQueueRecord]:
    """Records as the API returns them: data (flat; only allowed columns), annotations, evaluations, people."""
    allow = AnnotationQueueDoc.load(queue.body).column_allowlist
    span_keys = [r.target_key for r in records if r.target_kind == "span"]
    example_ids = [r.target_key for r in records if r.target_kind == "example"]
    data = _span_data(conn, span_keys)
    data.update(_example_data(conn, records))
    evaluations = evaluations_for(conn, "span", span_keys)
    evaluations.update(evaluations_for(conn, "example", example_ids))
    span_level = annotations_for(conn, "span", span_keys, granularity="SPAN")
    trace_level = annotations_for(conn, "span", span_keys, granularity="TRACE")
    session_level = annotations_for(conn, "span", span_keys, granularity="SESSION")
    example_level = annotations_for(conn, "example", example_ids)
    people = _assigned(conn, [r.row for r in records])
    rendered: list[AnnotationQueueRecord] = []
    for record in records:
        values = data.get((record.target_kind, record.target_key), {})
        if allow:
            values = {k: v for k, v in values.items() if k in allow}
        spans = record.target_kind == "span"
        rendered.append(
            AnnotationQueueRecord(
                id=record.id,
                annotation_queue_id=queue_id,
                source_type=record.source_type,
                granularity=record.granularity if spans else None,
                data=values,
                annotations=(span_level if spans else example_level).get(record.target_key, []),
                trace_annotations=trace_level.get(record.target_key, []) if spans else [],
                session_annotations=session_level.get(record.target_key, []) if spans else [],
                evaluations=[QueueEvaluation(**e) for e in evaluations.get(record.target_key, [])],
                assigned_users=people.get(record.row, []),
            )
        )
    return rendered


def _span_data(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[tuple[str, str], dict[str, Any]]:
    by_project: dict[int, list[str]] = {}
    for key in keys:
        project, _, span_id = key.partition(":")
        by_project.setdefault(int(project), []).append(span_id)
    data: dict[tuple[str, str], dict[str, Any]] = {}
    for project_num, span_ids in by_project.items():
        for chunk in sql_chunks(span_ids):
            rows = conn.execute(
                f"SELECT * FROM spans WHERE project_num = ? AND span_id IN ({','.join('?' * len(chunk))})",
                [project_num, *chunk],
            ).fetchall()
            for span in spans_from_rows(conn, project_num, rows):
                flat: dict[str, Any] = {
                    "context.span_id": span.context.span_id,
                    "context.trace_id": span.context.trace_id,
                    "parent_id": span.parent_id,
                    "name": span.name,
                    "span_kind": span.kind,
                    "status_code": span.status_code,
                    "status_message": span.status_message,
                    "start_time": iso(span.start_time),
                    "end_time": iso(span.end_time) if span.end_time is not None else None,
                    "latency_ms": span.latency_ms,
                }
                for name, value in span.attributes.items():
                    _flat(f"attributes.{name}", value, flat)
                data[("span", span_key(project_num, span.context.span_id))] = flat
    return data


def _example_data(conn: sqlite3.Connection, records: Sequence[QueueRecordRow]) -> dict[tuple[str, str], dict[str, Any]]:
    data: dict[tuple[str, str], dict[str, Any]] = {}
    by_dataset: dict[int, list[str]] = {}
    for record in records:
        if record.target_kind == "example":
            by_dataset.setdefault(record.source_num, []).append(record.target_key)
    for dataset_num, example_ids in by_dataset.items():
        for chunk in sql_chunks(example_ids):
            # The latest version holding each example: examples keep their ID across versions.
            rows = conn.execute(
                "SELECT example_id, data FROM dataset_examples WHERE dataset_num = ? AND example_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY version_num",
                [dataset_num, *chunk],
            )
            for row in rows:
                data[("example", row["example_id"])] = {"id": row["example_id"], **json.loads(row["data"])}
    return data


def delete_queue_records(conn: sqlite3.Connection, queue: StoredObject, record_ids: Sequence[str]) -> None:
    """Delete the listed records of the queue (IDs not in it are passed over); their labels stay on the records."""
    rows: list[int] = []
    for text in record_ids:
        decoded = decode_id(text)
        if decoded is not None and decoded.type_name == RECORD_TYPE:
            rows.append(decoded.number)
    for chunk in sql_chunks(rows):
        marks = ",".join("?" * len(chunk))
        owned = [
            r["row"]
            for r in conn.execute(
                f"SELECT row FROM annotation_queue_records WHERE queue_num = ? AND row IN ({marks})",
                [queue.num, *chunk],
            )
        ]
        _delete_rows(conn, owned)


def delete_queue_rows(conn: sqlite3.Connection, queue: StoredObject) -> None:
    """Delete every record of a queue with its assignments (labels written through it stay on the records)."""
    _delete_rows(conn, [r.row for r in queue_records(conn, queue.num)])


def _delete_rows(conn: sqlite3.Connection, rows: Sequence[int]) -> None:
    for chunk in sql_chunks(rows):
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM annotation_queue_assignments WHERE record_row IN ({marks})", list(chunk))
        conn.execute(f"DELETE FROM annotation_queue_records WHERE row IN ({marks})", list(chunk))

"""Writing and reading annotations (human labels) on spans, examples and runs.

Annotations are keyed by ``(target_kind, target_key, granularity, name)``: ``target_kind`` is ``span``,
``example`` or ``run``; the key is ``<project number>:<span id>`` for spans, the example ID or the run ID.
Writes are upserts per (record, config name), and a field left out of the input keeps its stored value; an
annotation whose label, score and text are all set to null is removed.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence

from ...errors import ProblemError
from ...models.annotations import AnnotateRecordInput, Annotation, AnnotationInput
from ...models.ids import encode_id
from .db import sql_chunks
from .objects import StoredObject

__all__ = [
    "LOCAL_ANNOTATOR",
    "annotate_records",
    "annotations_for",
    "check_annotation_batch",
    "upsert_annotations",
]

LOCAL_ANNOTATOR = {"id": encode_id("User", 1), "email": "local@arize-skills"}

# Where the records of each kind live: (table, record ID column, owner column).
_RECORD_TABLES = {
    "example": ("dataset_examples", "example_id", "dataset_num"),
    "run": ("experiment_runs", "run_id", "experiment_num"),
}


def check_annotation_batch(conn: sqlite3.Connection, space_num: int, records: Sequence[AnnotateRecordInput]) -> None:
    """Reject a batch with repeated record IDs, a config name repeated on one record, or an unknown config name.

    Raises:
        ProblemError: 400 for repeats, 404 naming every config name the space does not have.
    """
    seen: set[str] = set()
    names: set[str] = set()
    for index, record in enumerate(records):
        if record.record_id in seen:
            raise ProblemError(400, f"annotations[{index}].record_id '{record.record_id}' appears more than once")
        seen.add(record.record_id)
        record_names = [value.name for value in record.values]
        if len(set(record_names)) != len(record_names):
            raise ProblemError(400, f"annotations[{index}] names the same annotation config more than once")
        names.update(record_names)
    known = {
        row[0]
        for row in conn.execute(
            f"SELECT name FROM objects WHERE kind = 'AnnotationConfig' AND space_num = ? "
            f"AND name IN ({','.join('?' * len(names))})",
            [space_num, *sorted(names)],
        )
    }
    missing = sorted(names - known)
    if missing:
        raise ProblemError(
            404,
            "no annotation config named "
            + ", ".join(repr(n) for n in missing)
            + " in this space; create it first (POST /v2/annotation-configs)",
        )


def upsert_annotations(
    conn: sqlite3.Connection,
    target_kind: str,
    items: Iterable[tuple[str, Sequence[AnnotationInput]]],
    *,
    now: str,
    granularity: str = "SPAN",
) -> int:
    """Upsert ``(target_key, values)`` pairs; returns the number of values written."""
    written = 0
    for key, values in items:
        for value in values:
            given = value.model_fields_set
            conn.execute(
                "INSERT INTO annotations (target_kind, target_key, granularity, name, label, score, text,"
                " annotator_id, annotator_email, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (target_kind, target_key, granularity, name) DO UPDATE SET"
                " label = CASE WHEN ? THEN excluded.label ELSE label END,"
                " score = CASE WHEN ? THEN excluded.score ELSE score END,"
                " text = CASE WHEN ? THEN excluded.text ELSE text END,"
                " annotator_id = excluded.annotator_id, annotator_email = excluded.annotator_email,"
                " updated_at = excluded.updated_at",
                (
                    target_kind,
                    key,
                    granularity,
                    value.name,
                    value.label,
                    value.score,
                    value.text,
                    LOCAL_ANNOTATOR["id"],
                    LOCAL_ANNOTATOR["email"],
                    now,
                    "label" in given,
                    "score" in given,
                    "text" in given,
                ),
            )
            if (
                {"label", "score", "text"} & given
                and value.label is None
                and value.score is None
                and value.text is None
            ):
                # A value set back to nothing is no annotation: an undone write leaves no empty row behind.
                conn.execute(
                    "DELETE FROM annotations WHERE target_kind = ? AND target_key = ? AND granularity = ? AND name = ?"
                    " AND label IS NULL AND score IS NULL AND text IS NULL",
                    (target_kind, key, granularity, value.name),
                )
            written += 1
    return written


def annotate_records(
    conn: sqlite3.Connection,
    target_kind: str,
    owner: StoredObject,
    records: Sequence[AnnotateRecordInput],
    *,
    now: str,
) -> None:
    """Annotate the examples of a dataset (``example``) or the runs of an experiment (``run``).

    The batch is checked against the owner's space first (``check_annotation_batch``); then the annotations of
    the records the owner holds are upserted, and record IDs it does not hold are skipped, as AX does.
    """
    assert owner.space_num is not None
    check_annotation_batch(conn, owner.space_num, records)
    table, id_column, owner_column = _RECORD_TABLES[target_kind]
    ids = [record.record_id for record in records]
    known = {
        row[0]
        for row in conn.execute(
            f"SELECT {id_column} FROM {table} WHERE {owner_column} = ? AND {id_column} IN ({','.join('?' * len(ids))})",
            [owner.num, *ids],
        )
    }
    items = [(r.record_id, r.values) for r in records if r.record_id in known]
    upsert_annotations(conn, target_kind, items, now=now)


def annotations_for(
    conn: sqlite3.Connection, target_kind: str, keys: Sequence[str], *, granularity: str | None = None
) -> dict[str, list[Annotation]]:
    """The annotations of each key (keys with none are absent), ordered by name."""
    found: dict[str, list[Annotation]] = defaultdict(list)
    for chunk in sql_chunks(keys):
        sql = f"SELECT * FROM annotations WHERE target_kind = ? AND target_key IN ({','.join('?' * len(chunk))})"
        params: list[object] = [target_kind, *chunk]
        if granularity is not None:
            sql += " AND granularity = ?"
            params.append(granularity)
        for row in conn.execute(sql + " ORDER BY name", params):
            found[row["target_key"]].append(
                Annotation(
                    name=row["name"],
                    score=row["score"],
                    label=row["label"],
                    text=row["text"],
                    updated_at=row["updated_at"],
                    annotator={"id": row["annotator_id"], "email": row["annotator_email"]},
                )
            )
    return dict(found)

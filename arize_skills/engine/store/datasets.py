"""Storage of datasets, their versions and examples.

A dataset is a ``Dataset`` object; each version a ``DatasetVersion`` object whose parent is the dataset. Examples
are rows of ``dataset_examples``, one per (version, example): ``example_id`` is stable across versions (a new
version copies every row), ``data`` holds the user fields as a JSON object, and ``position`` keeps insertion
order, which is also ``created_at`` then ``id`` order because example IDs are time-ordered. Example annotations
are keyed by the example ID, so they follow the example into every version.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import ProblemError
from .annotations import annotations_for
from .objects import StoredObject, list_objects, require_object, update_object

__all__ = [
    "DATASET_KIND",
    "INITIAL_VERSION_NAME",
    "VERSION_KIND",
    "ExampleRow",
    "delete_dataset_records",
    "example_payloads",
    "insert_examples",
    "new_record_id",
    "new_record_ids",
    "require_dataset",
    "resolve_version",
    "touch_dataset",
    "versions_of",
]

DATASET_KIND = "Dataset"
VERSION_KIND = "DatasetVersion"
INITIAL_VERSION_NAME = "v1"

_id_lock = threading.Lock()
_last_ms = 0
_counter = 0


def new_record_id() -> str:
    """A time-ordered UUID (RFC 9562 version 7 layout) that sorts after every ID issued before it here.

    Example and run IDs are compared as strings when paging ``ORDER BY id``, so issuing them in order makes that
    order the insertion order.
    """
    return new_record_ids(1)[0]


def new_record_ids(count: int) -> list[str]:
    """``count`` IDs, each as ``new_record_id`` makes it, in the order issued (one lock, one reading of the clock
    and one read of random bytes for them all: they carry the millisecond the batch began)."""
    global _last_ms, _counter
    noise = secrets.token_bytes(8 * count)
    ids: list[str] = []
    with _id_lock:
        now_ms = time.time_ns() // 1_000_000
        for index in range(count):
            if now_ms > _last_ms:
                _last_ms, _counter = now_ms, secrets.randbelow(0x800)
            else:
                _counter += 1
                if _counter > 0xFFF:
                    _last_ms, _counter = _last_ms + 1, 0
            random62 = int.from_bytes(noise[8 * index : 8 * index + 8], "big") >> 2
            value = (_last_ms << 80) | (0x7 << 76) | (_counter << 64) | (0b10 << 62) | random62
            digits = f"{value:032x}"
            ids.append(f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}")
    return ids


@dataclass
class ExampleRow:
    """One example of one version, as stored."""

    example_id: str
    position: int
    data: dict[str, Any]
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ExampleRow:
        """Read a ``dataset_examples`` row."""
        return cls(row["example_id"], row["position"], json.loads(row["data"]), row["created_at"], row["updated_at"])

    @classmethod
    def from_rows(cls, rows: Sequence[sqlite3.Row]) -> list[ExampleRow]:
        """Read ``dataset_examples`` rows, as ``from_row`` each (their stored fields decoded in one pass)."""
        if not rows:
            return []
        fields = json.loads("[" + ",".join(row["data"] for row in rows) + "]")
        return [
            cls(row["example_id"], row["position"], data, row["created_at"], row["updated_at"])
            for row, data in zip(rows, fields, strict=True)
        ]


def require_dataset(conn: sqlite3.Connection, dataset_id: str) -> StoredObject:
    """Load a dataset by global ID or raise a 404 problem."""
    return require_object(conn, DATASET_KIND, dataset_id, label="dataset")


def versions_of(conn: sqlite3.Connection, dataset: StoredObject) -> list[StoredObject]:
    """The dataset's versions, newest first."""
    versions, _ = list_objects(conn, VERSION_KIND, limit=1_000_000, parent_num=dataset.num)
    return versions


def resolve_version(conn: sqlite3.Connection, dataset: StoredObject, version_id: str | None) -> StoredObject:
    """The version ``version_id`` of ``dataset`` (404 if it is not one of its versions), or its latest version."""
    if version_id is None:
        versions, _ = list_objects(conn, VERSION_KIND, limit=1, parent_num=dataset.num)
        if not versions:
            raise ProblemError(500, f"dataset '{dataset.id}' has no version")
        return versions[0]
    version = require_object(conn, VERSION_KIND, version_id, label="dataset version")
    if version.parent_num != dataset.num:
        raise ProblemError(404, f"dataset version '{version_id}' was not found in dataset '{dataset.id}'")
    return version


def insert_examples(
    conn: sqlite3.Connection,
    dataset: StoredObject,
    version: StoredObject,
    examples: Sequence[Mapping[str, Any]],
    *,
    now: str,
) -> list[str]:
    """Add new examples at the end of ``version``; returns their new IDs in input order."""
    row = conn.execute(
        "SELECT COALESCE(MAX(position), -1) FROM dataset_examples WHERE version_num = ?", (version.num,)
    ).fetchone()
    start = int(row[0]) + 1
    ids = new_record_ids(len(examples))
    conn.executemany(
        "INSERT INTO dataset_examples (dataset_num, version_num, example_id, position, data, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (dataset.num, version.num, example_id, start + i, json.dumps(dict(example)), now, now)
            for i, (example_id, example) in enumerate(zip(ids, examples, strict=True))
        ],
    )
    return ids


def touch_dataset(conn: sqlite3.Connection, dataset: StoredObject, version: StoredObject, *, now: str) -> None:
    """Record that the examples of ``version`` changed (the SDK's example cache keys on ``updated_at``)."""
    update_object(conn, version, now=now)
    update_object(conn, dataset, now=now)


def example_payloads(conn: sqlite3.Connection, rows: Sequence[ExampleRow]) -> list[dict[str, Any]]:
    """The wire shape of examples: system fields, user fields at the top level, and ``annotations``."""
    notes = annotations_for(conn, "example", [r.example_id for r in rows])
    payloads = []
    for row in rows:
        payload: dict[str, Any] = {"id": row.example_id, "created_at": row.created_at, "updated_at": row.updated_at}
        data = row.data
        if "id" in data or "created_at" in data or "updated_at" in data:
            payload.update((k, v) for k, v in data.items() if k not in payload)
        else:
            payload.update(data)
        found = notes.get(row.example_id)
        payload["annotations"] = [a.model_dump(mode="json") for a in found] if found else []
        payloads.append(payload)
    return payloads


def delete_dataset_records(conn: sqlite3.Connection, dataset: StoredObject) -> None:
    """Delete the examples of every version of ``dataset``, their annotations, and the version objects."""
    conn.execute(
        "DELETE FROM annotations WHERE target_kind = 'example' AND target_key IN"
        " (SELECT example_id FROM dataset_examples WHERE dataset_num = ?)",
        (dataset.num,),
    )
    conn.execute("DELETE FROM dataset_examples WHERE dataset_num = ?", (dataset.num,))
    conn.execute("DELETE FROM objects WHERE kind = ? AND parent_num = ?", (VERSION_KIND, dataset.num))

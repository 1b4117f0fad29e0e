"""Stored objects: the engine's generic table of configuration-like resources.

Each resource (space, project, dataset, evaluator, task, …) is one row of ``objects`` with its kind, its owning
space, an optional parent (the evaluator of a version, the task of a run), its name and its JSON document. These
functions take a ``sqlite3.Connection`` and run inside ``Store.read`` / ``Store.write``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ...errors import ProblemError
from ...models.ids import decode_id, encode_id, new_suffix
from .documents import Document

D = TypeVar("D", bound=Document)

__all__ = [
    "StoredObject",
    "check_name_free",
    "commit_hash",
    "delete_object",
    "document",
    "find_by_name",
    "get_object",
    "insert_object",
    "list_objects",
    "other_named",
    "require_object",
    "space_id_of",
    "update_document",
    "update_object",
]


@dataclass
class StoredObject:
    """One row of ``objects`` with its document parsed."""

    kind: str
    num: int
    suffix: str
    space_num: int | None
    parent_num: int | None
    name: str | None
    body: dict[str, Any]
    created_at: str
    updated_at: str

    @property
    def id(self) -> str:
        """The object's global ID."""
        return encode_id(self.kind, self.num, self.suffix)

    @property
    def created(self) -> datetime:
        """``created_at`` as a datetime."""
        return datetime.fromisoformat(self.created_at)

    @property
    def updated(self) -> datetime:
        """``updated_at`` as a datetime."""
        return datetime.fromisoformat(self.updated_at)


def document(obj: StoredObject, model: type[D]) -> D:
    """``obj``'s document parsed as ``model`` (parse once per object and pass the model on, not per record)."""
    return model.load(obj.body)


def _row(row: sqlite3.Row) -> StoredObject:
    return StoredObject(
        kind=row["kind"],
        num=row["num"],
        suffix=row["suffix"],
        space_num=row["space_num"],
        parent_num=row["parent_num"],
        name=row["name"],
        body=json.loads(row["body"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def insert_object(
    conn: sqlite3.Connection,
    kind: str,
    *,
    body: dict[str, Any],
    now: str,
    name: str | None = None,
    space_num: int | None = None,
    parent_num: int | None = None,
) -> StoredObject:
    """Insert a new object and return it with its number and suffix assigned."""
    suffix = new_suffix()
    cur = conn.execute(
        "INSERT INTO objects (kind, suffix, space_num, parent_num, name, body, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (kind, suffix, space_num, parent_num, name, json.dumps(body), now, now),
    )
    assert cur.lastrowid is not None
    return StoredObject(kind, cur.lastrowid, suffix, space_num, parent_num, name, body, now, now)


def get_object(conn: sqlite3.Connection, kind: str, num: int) -> StoredObject | None:
    """The object of this kind and number, or ``None``."""
    row = conn.execute("SELECT * FROM objects WHERE kind = ? AND num = ?", (kind, num)).fetchone()
    return _row(row) if row else None


def require_object(conn: sqlite3.Connection, kind: str, object_id: str, *, label: str | None = None) -> StoredObject:
    """Decode a global ID of ``kind`` and load it, or raise a 404 problem naming the resource and the ID."""
    decoded = decode_id(object_id)
    found = None
    if decoded is not None and decoded.type_name == kind:
        found = get_object(conn, kind, decoded.number)
        if found is not None and decoded.suffix and decoded.suffix != found.suffix:
            found = None
    if found is None:
        raise ProblemError(404, f"{label or kind} '{object_id}' was not found")
    return found


def find_by_name(
    conn: sqlite3.Connection, kind: str, name: str, *, space_num: int | None = None, parent_num: int | None = None
) -> StoredObject | None:
    """The object of this kind with exactly this name in the given space / under the given parent, if any."""
    sql = "SELECT * FROM objects WHERE kind = ? AND name = ?"
    params: list[Any] = [kind, name]
    if space_num is not None:
        sql += " AND space_num = ?"
        params.append(space_num)
    if parent_num is not None:
        sql += " AND parent_num = ?"
        params.append(parent_num)
    row = conn.execute(sql + " LIMIT 1", params).fetchone()
    return _row(row) if row else None


def other_named(
    conn: sqlite3.Connection,
    kind: str,
    name: str,
    *,
    space_num: int | None = None,
    parent_num: int | None = None,
    own_num: int | None = None,
) -> StoredObject | None:
    """Another object of this kind already named ``name`` in the space / under the parent, if any.

    ``own_num`` is the object being renamed: finding itself is not a conflict.
    """
    other = find_by_name(conn, kind, name, space_num=space_num, parent_num=parent_num)
    return other if other is not None and other.num != own_num else None


def check_name_free(
    conn: sqlite3.Connection,
    kind: str,
    name: str,
    *,
    label: str,
    where: str = "in this space",
    space_num: int | None = None,
    parent_num: int | None = None,
    own_num: int | None = None,
) -> None:
    """Raise a 409 problem "<label> named '<name>' already exists <where>" when ``other_named`` finds one."""
    if other_named(conn, kind, name, space_num=space_num, parent_num=parent_num, own_num=own_num) is not None:
        raise ProblemError(409, f"{label} named '{name}' already exists {where}")


def list_objects(
    conn: sqlite3.Connection,
    kind: str,
    *,
    limit: int,
    after: int | None = None,
    newest_first: bool = True,
    space_nums: list[int] | None = None,
    parent_num: int | None = None,
    name_contains: str | None = None,
    where: list[tuple[str, Any]] | None = None,
    updated_after: tuple[str, int] | None = None,
    by_updated: bool = False,
) -> tuple[list[StoredObject], bool]:
    """One keyset page of objects and whether more follow.

    ``after`` is the ``num`` of the last object of the previous page. ``name_contains`` is AX's
    case-insensitive substring filter. ``where`` adds ``(sql, param)`` conditions such as
    ``("json_extract(body, '$.status') = ?", "PENDING")``; the SQL text there always comes from our code.
    ``by_updated``: most recently updated first instead, and the page follows ``updated_after``, the
    ``(updated_at, num)`` of the last object of the previous page.
    """
    sql = "SELECT * FROM objects WHERE kind = ?"
    params: list[Any] = [kind]
    if space_nums is not None:
        if not space_nums:
            return [], False
        sql += f" AND space_num IN ({','.join('?' * len(space_nums))})"
        params.extend(space_nums)
    if parent_num is not None:
        sql += " AND parent_num = ?"
        params.append(parent_num)
    if name_contains:
        sql += " AND instr(lower(name), lower(?)) > 0"
        params.append(name_contains)
    for condition, param in where or []:
        sql += f" AND {condition}"
        params.append(param)
    if by_updated:
        if updated_after is not None:
            sql += " AND (updated_at < ? OR (updated_at = ? AND num < ?))"
            params.extend([updated_after[0], *updated_after])
        sql += " ORDER BY updated_at DESC, num DESC"
    else:
        if after is not None:
            sql += " AND num < ?" if newest_first else " AND num > ?"
            params.append(after)
        sql += " ORDER BY num DESC" if newest_first else " ORDER BY num ASC"
    sql += " LIMIT ?"
    params.append(limit + 1)
    rows = [_row(r) for r in conn.execute(sql, params)]
    return rows[:limit], len(rows) > limit


def update_object(
    conn: sqlite3.Connection,
    obj: StoredObject,
    *,
    now: str,
    body: dict[str, Any] | None = None,
    name: str | None = None,
) -> StoredObject:
    """Store a new document and/or name for ``obj`` and bump ``updated_at``; returns the updated object."""
    if body is not None:
        obj.body = body
    if name is not None:
        obj.name = name
    obj.updated_at = now
    conn.execute(
        "UPDATE objects SET body = ?, name = ?, updated_at = ? WHERE num = ?",
        (json.dumps(obj.body), obj.name, now, obj.num),
    )
    return obj


def update_document(
    conn: sqlite3.Connection, obj: StoredObject, doc: Document, *, now: str, name: str | None = None
) -> StoredObject:
    """``update_object`` with a typed document: stores ``doc.to_body()``."""
    return update_object(conn, obj, now=now, body=doc.to_body(), name=name)


def space_id_of(conn: sqlite3.Connection, space_num: int | None) -> str:
    """The global ID of the space with this number."""
    space = get_object(conn, "Space", space_num) if space_num is not None else None
    if space is None:
        raise ProblemError(500, f"a stored object refers to a missing space ({space_num})")
    return space.id


def delete_object(conn: sqlite3.Connection, obj: StoredObject) -> None:
    """Delete ``obj`` (children are the caller's business)."""
    conn.execute("DELETE FROM objects WHERE num = ?", (obj.num,))


def commit_hash(material: dict[str, Any]) -> str:
    """The commit hash of a version: a SHA-1 of what names it (its content, owner, position and time) as JSON."""
    return hashlib.sha1(json.dumps(material, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

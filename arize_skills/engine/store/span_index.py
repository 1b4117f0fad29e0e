"""Search indexes over spans: which spans *may* match a filter condition, answered from indexes, not JSON scans.

A filter is always checked in full on every span a search returns (``engine/query/filters.py`` compiles it); these
indexes only narrow which spans are checked. Each lookup returns a **superset** of the spans whose value
satisfies the condition, so a search answered through them returns exactly the rows a full scan would.

Tables (migration ``m004_span_search_index``):

* ``span_attr_keys(id, key)``: each attribute path once. A path is what a filter writes after ``attributes.``
  (``metadata.<k>`` is the path ``metadata.<k>``): a flat key as sent (``llm.model_name``), or a key holding a
  JSON object or array, or a JSON-encoded string of one, followed by the path inside it (array positions in
  decimal: ``llm.input_messages.0.message.content``; ``metadata.environment`` from ``{"environment": …}``).
* ``span_attrs(project_num, key_id, value, span_row)``: one row per scalar value a path reads. A string of at
  most ``LONG_TEXT`` characters is kept as text (a longer one as the mark ``LONG``, its text being in
  ``span_text``), and, when it spells a number, also as that number; numbers as numbers; booleans as 1 / 0 (how
  ``json_extract`` reads them).
  ``CONTAINER`` marks a path whose value is an object or array (a filter compares its JSON text); ``OPAQUE``
  marks a path whose inside was not indexed (too large, too deep, or not parseable): a lookup of any path at or
  under it includes that span.
* ``span_text``: a contentless FTS5 table with the trigram tokenizer, one document per span (its rowid is the
  span's row) holding every string value of three or more characters. ``LIKE '%text%'`` looks up the trigrams
  of its longest literal run.

Evaluation lookups read the partial indexes ``evaluations_span_label`` / ``evaluations_span_score``, latency
lookups ``spans_project_latency``.

The index of a span is written with it by ``upsert_spans`` and removed with it (re-ingest, span and project
deletes), recomputed from the stored attributes, which is how the contentless FTS table is told what to forget.
Spans inserted into ``spans`` by other means are not indexed: always write them through ``upsert_spans``.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTAINER",
    "LONG",
    "OPAQUE",
    "LONG_TEXT",
    "AttrPresent",
    "AttrText",
    "AttrValues",
    "Candidates",
    "EvalLabel",
    "EvalScore",
    "Latency",
    "Lookup",
    "RowSet",
    "SpanIndexEntry",
    "backfill_span_index",
    "candidate_rows",
    "cheap_to_check",
    "count_rows",
    "drop_project_index",
    "index_entries",
    "index_spans",
    "probe_sql",
    "unindex_spans",
]

logger = logging.getLogger(__name__)

LONG_TEXT = 32
"""Strings longer than this are kept in ``span_text`` only: a string equal to a long literal contains it, so the
literal's trigrams find it (and ``span_attrs`` stays small)."""
CONTAINER = b"\x00"
OPAQUE = b"\x01"
LONG = b"\x02"
MAX_ENTRIES = 400
"""Values indexed per span at most; containers beyond the budget are marked ``OPAQUE``."""
MAX_CHILDREN = 200
"""A container with more children (say an embedding vector) is marked ``OPAQUE`` instead of indexed."""
MAX_DEPTH = 32
"""A filter path has at most 32 parts, so nothing deeper can be named."""
MIN_TEXT = 3
"""Shorter strings hold no trigram, and no ``LIKE`` with a literal run of three characters can match them."""

# What SQLite's json_valid may read as a JSON number (a superset of JSON's grammar, whitespace included).
_NUMBER_TEXT = re.compile(r"\s*-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

SpanIndexEntry = tuple[str, Any]
"""``(path, value)`` as stored in ``span_attrs`` (value: prefix text, number, ``CONTAINER`` or ``OPAQUE``)."""


def _number(value: int | float) -> int | float:
    if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
        return float(value)
    return value


def _number_of_text(text: str) -> int | float | None:
    if not _NUMBER_TEXT.match(text):
        return None
    try:
        return _number(int(text))
    except ValueError:
        number = float(text)
        return number if number == number and abs(number) != float("inf") else None


def _bindable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


# A string SQLite may read as a JSON number starts with JSON whitespace, a minus sign or a digit.
_NUMBER_START = frozenset(" \t\n\r-.0123456789")
_INFINITY = float("inf")


class _Walk:
    def __init__(self) -> None:
        self.entries: set[SpanIndexEntry] = set()
        self.texts: dict[str, None] = {}

    def add(self, path: str, value: Any) -> None:
        self.entries.add((path, value))

    def scalar(self, path: str, value: Any) -> bool:
        """Index a scalar; False when ``value`` is a container."""
        kind = type(value)
        if kind is str:
            if not value.isascii() and not _bindable(value):
                # A lone surrogate (from a JSON escape) cannot be bound; the exact check still sees the value.
                self.entries.add((path, OPAQUE))
                return True
            # A long string is found by its trigrams; its mark keeps ``IS NOT NULL`` answerable here.
            self.entries.add((path, value if len(value) <= LONG_TEXT else LONG))
            if len(value) >= MIN_TEXT:
                self.texts[value] = None
            if value[:1] in _NUMBER_START:
                number = _number_of_text(value)
                if number is not None:
                    self.entries.add((path, number))
        elif kind is int:
            self.entries.add((path, _number(value)))
        elif kind is bool:
            self.entries.add((path, int(value)))
        elif kind is float:
            if value == value and abs(value) != _INFINITY:
                self.entries.add((path, value))
        elif value is None:
            pass
        elif isinstance(value, dict | list):
            return False
        elif isinstance(value, str | int | float):
            # Subclasses (never made by the decoders) take the slow, general way.
            return self.scalar(path, str(value) if isinstance(value, str) else value.real)
        return True

    def container(self, path: str, value: dict[str, Any] | list[Any], depth: int, *, encoded: bool = False) -> None:
        # A filter reads a container's JSON text at its path; an encoded string is read as the string (indexed).
        if not encoded:
            self.add(path, CONTAINER)
        items: Iterable[tuple[str, Any]] = (
            value.items() if isinstance(value, dict) else ((str(i), v) for i, v in enumerate(value))
        )
        if depth >= MAX_DEPTH or len(value) > MAX_CHILDREN or len(self.entries) + len(value) > MAX_ENTRIES:
            self.add(path, OPAQUE)
            return
        for key, child in items:
            if not _bindable(key):
                self.add(path, OPAQUE)
                continue
            child_path = f"{path}.{key}"
            if not self.scalar(child_path, child):
                self.container(child_path, child, depth + 1)


def _json_like(text: str) -> bool:
    head = text[:1]
    if head in ("{", "["):
        return True
    return head.isspace() and text.lstrip()[:1] in ("{", "[")


def index_entries(attributes: dict[str, Any]) -> tuple[set[SpanIndexEntry], str]:
    """The ``span_attrs`` entries of a span's attributes, and its ``span_text`` document."""
    walk = _Walk()
    for key, value in attributes.items():
        if not walk.scalar(key, value):
            walk.container(key, value, 1)
        elif type(value) is str and _json_like(value):
            # The filter reads inside a JSON-encoded string at the top level only (engine/query/columns.py).
            try:
                parsed = json.loads(value, strict=False)
            except (ValueError, RecursionError):
                parsed = None
                walk.add(key, OPAQUE)
            if isinstance(parsed, dict | list):
                walk.container(key, parsed, 1, encoded=True)
    return walk.entries, "\n".join(walk.texts)


def _key_ids(conn: sqlite3.Connection, keys: Iterable[str], *, create: bool) -> dict[str, int]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    # One JSON parameter, so any number of keys binds one value (and this module needs no chunking of its own).
    if create:
        conn.execute("INSERT OR IGNORE INTO span_attr_keys (key) SELECT value FROM json_each(?)", (json.dumps(wanted),))
    rows = conn.execute(
        "SELECT key, id FROM span_attr_keys WHERE key IN (SELECT value FROM json_each(?))", (json.dumps(wanted),)
    )
    return {str(key): int(num) for key, num in rows}


def index_spans(conn: sqlite3.Connection, project_num: int, spans: Sequence[tuple[int, dict[str, Any]]]) -> None:
    """Index ``(span row, attributes)`` pairs of a project (spans not indexed yet, or unindexed first)."""
    computed = [(row, *index_entries(attributes)) for row, attributes in spans]
    ids = _key_ids(conn, (path for _, entries, _ in computed for path, _ in entries), create=True)
    conn.executemany(
        "INSERT OR IGNORE INTO span_attrs (project_num, key_id, value, span_row) VALUES (?, ?, ?, ?)",
        [(project_num, ids[path], value, row) for row, entries, _ in computed for path, value in entries],
    )
    conn.executemany(
        "INSERT INTO span_text (rowid, body) VALUES (?, ?)", [(row, text) for row, _, text in computed if text]
    )


def unindex_spans(conn: sqlite3.Connection, project_num: int, spans: Sequence[tuple[int, str]]) -> None:
    """Remove the index of ``(span row, stored attributes JSON)`` pairs, before the spans change or go."""
    computed = [(row, *index_entries(json.loads(attributes))) for row, attributes in spans]
    ids = _key_ids(conn, (path for _, entries, _ in computed for path, _ in entries), create=False)
    conn.executemany(
        "DELETE FROM span_attrs WHERE project_num = ? AND key_id = ? AND value = ? AND span_row = ?",
        [
            (project_num, ids[path], value, row)
            for row, entries, _ in computed
            for path, value in entries
            if path in ids
        ],
    )
    # A contentless FTS5 table forgets a document only when told its exact text again.
    conn.executemany(
        "INSERT INTO span_text (span_text, rowid, body) VALUES ('delete', ?, ?)",
        [(row, text) for row, _, text in computed if text],
    )


def _stored_spans(conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> Iterator[list[sqlite3.Row]]:
    after = -1
    while True:
        rows = conn.execute(
            f"SELECT row, project_num, attributes FROM spans WHERE row > ? AND {where} ORDER BY row LIMIT 5000",
            [after, *params],
        ).fetchall()
        if not rows:
            return
        yield rows
        after = rows[-1]["row"]


def drop_project_index(conn: sqlite3.Connection, project_num: int) -> None:
    """Remove the index of every span of a project (before its spans are deleted)."""
    for rows in _stored_spans(conn, "project_num = ?", [project_num]):
        texts = [(row["row"], index_entries(json.loads(row["attributes"]))[1]) for row in rows]
        conn.executemany(
            "INSERT INTO span_text (span_text, rowid, body) VALUES ('delete', ?, ?)", [t for t in texts if t[1]]
        )
    conn.execute("DELETE FROM span_attrs WHERE project_num = ?", (project_num,))


def backfill_span_index(conn: sqlite3.Connection) -> None:
    """Index every stored span (the data step of migration ``m004_span_search_index``)."""
    stored = conn.execute("SELECT count(*) FROM spans").fetchone()[0]
    if stored:
        # A large home takes minutes here (about 4 minutes a million spans), once; say so rather than seem hung.
        logger.warning("indexing %s stored spans for search (once, after an upgrade); the engine starts after", stored)
    for rows in _stored_spans(conn, "1", []):
        by_project: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        for row in rows:
            by_project.setdefault(row["project_num"], []).append((row["row"], json.loads(row["attributes"])))
        for project_num, spans in by_project.items():
            index_spans(conn, project_num, spans)


# --- lookups -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttrValues:
    """Spans where attribute ``path`` may equal one of ``values`` (strings as text, numbers as numbers)."""

    path: str
    values: tuple[str | int | float, ...]


@dataclass(frozen=True)
class AttrPresent:
    """Spans where attribute ``path`` may be present (not null)."""

    path: str


@dataclass(frozen=True)
class AttrText:
    """Spans where attribute ``path`` may contain ``needle`` (ASCII case-insensitively); at least 3 characters."""

    path: str
    needle: str


@dataclass(frozen=True)
class EvalLabel:
    """Spans with an evaluation ``name`` whose label is one of ``labels``."""

    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class EvalScore:
    """Spans with an evaluation ``name`` whose score satisfies every ``(operator, number)`` bound."""

    name: str
    bounds: tuple[tuple[str, int | float], ...]


@dataclass(frozen=True)
class Latency:
    """Spans whose ``latency_ms`` satisfies every ``(operator, number)`` bound."""

    bounds: tuple[tuple[str, int | float], ...]


Lookup = AttrValues | AttrPresent | AttrText | EvalLabel | EvalScore | Latency


@dataclass(frozen=True)
class RowSet:
    """The union of ``lookups``: a superset of the spans matching a condition."""

    lookups: tuple[Lookup, ...]


@dataclass(frozen=True)
class Candidates:
    """What the indexes know about a filter: each of ``choices`` holds every span the filter matches."""

    choices: tuple[RowSet, ...]


_SCORE_OPERATORS = frozenset({"=", "<", "<=", ">", ">="})


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


def _key_sql(path: str) -> tuple[str, list[Any]]:
    return "(SELECT id FROM span_attr_keys WHERE key = ?)", [path]


def _opaque_sql(project_num: int, path: str) -> tuple[str, list[Any]]:
    prefixes = _prefixes(path)
    return (
        "SELECT span_row FROM span_attrs WHERE project_num = ? AND value = ? AND key_id IN"
        f" (SELECT id FROM span_attr_keys WHERE key IN ({','.join('?' * len(prefixes))}))",
        [project_num, OPAQUE, *prefixes],
    )


def _bounds_sql(column: str, bounds: tuple[tuple[str, int | float], ...]) -> tuple[str, list[Any]]:
    if not bounds or not all(op in _SCORE_OPERATORS for op, _ in bounds):
        raise ValueError(f"not a numeric comparison: {bounds!r}")
    return " AND ".join(f"{column} {op} ?" for op, _ in bounds), [value for _, value in bounds]


def _eval_test(lookup: EvalLabel | EvalScore) -> tuple[str, list[Any]]:
    if isinstance(lookup, EvalLabel):
        return f"ev.label IN ({','.join('?' * len(lookup.labels))})", list(lookup.labels)
    return _bounds_sql("ev.score", lookup.bounds)


def _lookup_sql(project_num: int, lookup: Lookup, *, counting: bool = False) -> list[tuple[str, list[Any]]]:
    """SELECTs of span rows whose union is ``lookup``'s candidates (``counting``: of one row per candidate, which
    may then skip the join back to the span)."""
    if isinstance(lookup, Latency):
        latency_test, latency_params = _bounds_sql("sl.latency_ms", lookup.bounds)
        return [
            (
                f"SELECT sl.row FROM spans AS sl WHERE sl.project_num = ? AND {latency_test}",
                [project_num, *latency_params],
            )
        ]
    if isinstance(lookup, EvalLabel | EvalScore):
        prefix = f"{project_num}:"
        test, params = _eval_test(lookup)
        where = f"ev.target_kind = 'span' AND ev.name = ? AND {test} AND ev.target_key >= ? AND ev.target_key < ?"
        where_params = [lookup.name, *params, prefix, f"{project_num};"]
        # Without statistics the planner prefers the primary key's target_kind over the name-led indexes.
        index = "evaluations_span_label" if isinstance(lookup, EvalLabel) else "evaluations_span_score"
        if counting:
            return [(f"SELECT 1 FROM evaluations AS ev INDEXED BY {index} WHERE {where}", where_params)]
        return [
            (
                f"SELECT sp.row FROM evaluations AS ev INDEXED BY {index} JOIN spans AS sp ON sp.project_num = ?"
                f" AND sp.span_id = substr(ev.target_key, ?) WHERE {where}",
                [project_num, len(prefix) + 1, *where_params],
            )
        ]
    key, key_params = _key_sql(lookup.path)
    base = f"SELECT span_row FROM span_attrs WHERE project_num = ? AND key_id = {key}"
    selects: list[tuple[str, list[Any]]] = []
    if isinstance(lookup, AttrValues):
        values = _stored_values(lookup)
        selects.append((f"{base} AND value IN ({','.join('?' * len(values))})", [project_num, *key_params, *values]))
        selects.extend(
            ("SELECT rowid FROM span_text WHERE span_text MATCH ?", [_trigram_query(text)])
            for text in _long_texts(lookup)
        )
    elif isinstance(lookup, AttrPresent):
        selects.append((base, [project_num, *key_params]))
    else:
        # Numbers, booleans and containers are matched as text by LIKE, and the trigram table holds strings only.
        selects.append(("SELECT rowid FROM span_text WHERE span_text MATCH ?", [_trigram_query(lookup.needle)]))
        selects.append((f"{base} AND value < ''", [project_num, *key_params]))
        selects.append((f"{base} AND value = ?", [project_num, *key_params, CONTAINER]))
    selects.append(_opaque_sql(project_num, lookup.path))
    return selects


def _stored_values(lookup: AttrValues) -> list[Any]:
    """The ``span_attrs`` values of ``lookup`` (long strings are looked up in ``span_text``)."""
    kept = (v for v in lookup.values if not (isinstance(v, str) and len(v) > LONG_TEXT))
    return [*dict.fromkeys(kept), CONTAINER]


def _long_texts(lookup: AttrValues) -> list[str]:
    return [v for v in dict.fromkeys(lookup.values) if isinstance(v, str) and len(v) > LONG_TEXT]


MAX_TRIGRAMS = 24
"""A long needle is looked up by this many of its trigrams (any subset of them holds every span that has all)."""


def _trigram_query(needle: str) -> str:
    grams = list(dict.fromkeys(needle[i : i + 3] for i in range(len(needle) - 2)))
    if len(grams) > MAX_TRIGRAMS:
        step = len(grams) / MAX_TRIGRAMS
        grams = [grams[int(n * step)] for n in range(MAX_TRIGRAMS)]
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in grams)


def candidate_rows(project_num: int, rows: RowSet) -> tuple[str, list[Any]]:
    """One SELECT of the span rows of ``rows`` (duplicates possible)."""
    parts = [part for lookup in rows.lookups for part in _lookup_sql(project_num, lookup)]
    return " UNION ALL ".join(sql for sql, _ in parts), [p for _, params in parts for p in params]


def count_rows(conn: sqlite3.Connection, project_num: int, rows: RowSet, cap: int) -> int:
    """How many candidates ``rows`` holds (a span may count twice), counting at most ``cap``."""
    parts = [part for lookup in rows.lookups for part in _lookup_sql(project_num, lookup, counting=True)]
    sql = " UNION ALL ".join(part for part, _ in parts)
    params = [p for _, part_params in parts for p in part_params]
    found = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM ({sql}) LIMIT ?)", [*params, cap]).fetchone()
    return int(found[0])


def cheap_to_check(rows: RowSet) -> bool:
    """Whether the conditions behind ``rows`` are as cheap to check on a span as an index seek (evaluations and
    latency are; attribute values are read out of the span's JSON)."""
    return all(isinstance(lookup, EvalLabel | EvalScore | Latency) for lookup in rows.lookups)


def probe_sql(project_num: int, rows: RowSet) -> tuple[str, list[Any]] | None:
    """A test of one span ``s`` that holds for every candidate of ``rows``, each lookup an index seek by the span,
    for attribute values (``None`` for any other lookup: a long string, ``AttrPresent``, ``AttrText``, which need
    their rows gathered, and evaluations and latency, which are no cheaper to probe than to check)."""
    tests: list[str] = []
    params: list[Any] = []
    for lookup in rows.lookups:
        if isinstance(lookup, AttrValues) and not _long_texts(lookup):
            key, key_params = _key_sql(lookup.path)
            values = _stored_values(lookup)
            prefixes = _prefixes(lookup.path)
            tests.append(
                f"EXISTS (SELECT 1 FROM span_attrs WHERE project_num = ? AND key_id = {key}"
                f" AND value IN ({','.join('?' * len(values))}) AND span_row = s.row)"
                " OR EXISTS (SELECT 1 FROM span_attrs WHERE project_num = ? AND key_id IN"
                f" (SELECT id FROM span_attr_keys WHERE key IN ({','.join('?' * len(prefixes))}))"
                " AND value = ? AND span_row = s.row)"
            )
            params.extend([project_num, *key_params, *values, project_num, *prefixes, OPAQUE])
        else:
            return None
    return "(" + " OR ".join(tests) + ")", params

"""The span search indexes (``store/span_index.py``) change how fast a search is, never which spans it returns.

Every filter here is run two ways on spans written through ``upsert_spans``: as a plain scan of the compiled filter,
and through ``span_page`` with the index lookups, in each of its three ways of reading (the candidates themselves,
the start-time walk skipping non-candidates, the walk alone). Both must give the same spans in the same order,
and every lookup must hold every matching span.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.query.filters import span_candidates, span_filter_sql
from arize_skills.engine.store.db import Store
from arize_skills.engine.store.evaluations import upsert_evaluation
from arize_skills.engine.store.migrations import MIGRATIONS
from arize_skills.engine.store.span_index import Latency, candidate_rows, index_entries
from arize_skills.engine.store.spans import MAX_SPAN_NS, SpanRecord, delete_spans, span_page, upsert_spans

from . import test_filters
from .otlp_payloads import ingest, span

NESTED: dict[str, Any] = {"leaf": "bottom"}
for _ in range(40):
    NESTED = {"k": NESTED}

EXTRA: list[tuple[str, dict[str, Any]]] = [
    (
        "e1",
        {
            "n.text": " 12 ",
            "n.exp": "1e3",
            "n.int": 7,
            "n.float": 7.5,
            "n.big": 2**70,
            "flag": "TRUE",
            "long": "x" * 40 + "A",
            "obj": {"a": {"b": [1, "two", {"c": "deep"}]}},
            "json.str": json.dumps({"k": [10, "v"]}),
            "arr": [1, 2, 3],
            "vector": list(range(300)),
            "Mixed": "HeLLo World",
            "é": "ü",
            "digits": {"0": "zero", "01": "oneish"},
            "ctrl": "line\nbreak",
            "emptyobj": {},
            "esc": "a\\b",
            "sur": '{"k": "\\ud800", "ok": "fine"}',
        },
    ),
    (
        "e2",
        {
            "long": "x" * 40 + "B",
            "Mixed": "hello world",
            "n.text": "12",
            "obj": json.dumps({"a": {"b": [1, "two"]}}),
            "flag": True,
            "deep": NESTED,
            "bad.json": "{not json",
            "n.int": "7",
        },
    ),
    ("e3", {"n.int": 7.0, "Mixed": "HELLO WORLDS", "arr": "[1,2,3]", "obj": {"a": 5}}),
]

FILTERS = [
    # from the filter language's own tests
    "attributes.llm.model_name = 'gpt-4o'",
    "attributes.llm.model_name LIKE 'gpt-4o%'",
    "attributes.llm.output_messages.0.message.content = 'The answer is 4'",
    "attributes.llm.output_messages.0.message.content IS NOT NULL",
    "attributes.llm.output_messages.1.message.content IS NULL",
    "attributes.retrieval.documents.0.document.content = 'doc A'",
    "attributes.session.id = 'sess-2'",
    "attributes.input.value = 'It''s O''Brien'",
    "attributes.llm.model_name != 'gpt-4o'",
    "attributes.llm.model_name IS NULL",
    "attributes.llm.model_name NOT IN ('gpt-4o')",
    "attributes.\"llm.model_name\" = 'gpt-4o'",
    "attributes.`session.id` = 'sess-1'",
    "attributes.größe = 'L'",
    "attributes.llm.token_count.total > 500",
    "attributes.llm.token_count.total = 250",
    "attributes.llm.token_count.total = 250.0",
    "attributes.llm.token_count.total = '250'",
    "attributes.llm.token_count.total = '1200'",
    "attributes.llm.token_count.total IN (250, '1200')",
    "attributes.llm.token_count.total BETWEEN 100 AND 2000",
    "attributes.llm.token_count.total < 99999999999999999999999",
    "attributes.llm.model_name != 5",
    "attributes.user.id = '007'",
    "attributes.user.id = '7'",
    "attributes.user.id = 7",
    "attributes.llm.token_count.total = 1200",
    "attributes.percent = '50%'",
    "attributes.cached = true",
    "attributes.cached IN (true, false)",
    "metadata.environment = 'prod'",
    "metadata.environment IN ('prod', 'staging')",
    "metadata.tier = 2",
    "metadata.environment IS NULL",
    "metadata.environment IS NOT NULL",
    "attributes.metadata.environment = 'staging'",
    "attributes.llm.invocation_parameters.temperature < 0.5",
    "attributes.llm.invocation_parameters.temperature = 0.2",
    "attributes.tags.1 = 'beta'",
    "attributes.tags LIKE '%alpha%'",
    "attributes.input.value LIKE '100\\%%' ESCAPE '\\'",
    "attributes.input.value LIKE '%\\_sure\\_' ESCAPE '\\'",
    "attributes.input.value LIKE '%brien%'",
    "attributes.input.value NOT LIKE '%brien%'",
    "eval.correctness.label = 'correct'",
    "eval.correctness.label IN ('correct', 'incorrect')",
    "eval.correctness.label = 'correct' AND eval.correctness.score >= 0.9",
    "eval.correctness.score >= 0.8",
    "eval.correctness.score < '0.5'",
    "eval.correctness.score = 1",
    "eval.correctness.score BETWEEN 0 AND 0.85",
    "eval.correctness.label != 'correct'",
    "eval.\"My Eval\".label = 'good'",
    "eval.`My Eval`.score > 0.5",
    "eval.missing.label = 'x'",
    "eval.correctness.label = 1",
    # type and path rules on the extra spans
    "attributes.n.text = 12",
    "attributes.n.text = '12'",
    "attributes.n.text = ' 12 '",
    "attributes.n.text > 11",
    "attributes.n.exp = 1000",
    "attributes.n.exp = '1e3'",
    "attributes.n.exp = '1000'",
    "attributes.n.int = '7'",
    "attributes.n.int = 7",
    "attributes.n.int IN ('7', 8)",
    "attributes.n.float = 7.5",
    "attributes.n.big = 1180591620717411303424",
    "attributes.flag = 'TRUE'",
    "attributes.flag = true",
    "attributes.flag LIKE 'tr%'",
    "attributes.n.int LIKE '%7%'",
    f"attributes.long = '{'x' * 40}A'",
    f"attributes.long IN ('{'x' * 40}B', 'nope')",
    "attributes.long LIKE '%xxxA%'",
    'attributes.long LIKE \'%"""%\'',
    "attributes.input.value LIKE '%\"O''Brien\"%'",
    f"attributes.long = '{'x' * 40}'",
    "attributes.input.value = 'find docs'",
    "attributes.llm.output_messages.0.message.content IN ('The answer is 4', 'Sorry')",
    'attributes.metadata = \'{"environment": "prod", "tier": 2}\'',
    "attributes.metadata LIKE '%\"tier\": 2%'",
    "attributes.obj.a.b.1 = 'two'",
    "attributes.obj.a.b.2.c = 'deep'",
    "attributes.obj.a.b.2.c LIKE 'DEE%'",
    "attributes.obj.a = 5",
    "attributes.obj.a IS NOT NULL",
    "attributes.obj IS NOT NULL",
    "attributes.obj LIKE '%\"two\"%'",
    "attributes.json.str.k.0 = 10",
    "attributes.json.str.k.1 = 'v'",
    "attributes.arr.1 = 2",
    "attributes.arr LIKE '%2,3%'",
    "attributes.arr = '[1,2,3]'",
    "attributes.vector.250 = 250",
    "attributes.vector.5 = 5",
    "attributes.vector LIKE '%,299]%'",
    "attributes.Mixed LIKE '%hello w%'",
    "attributes.Mixed LIKE 'hello world'",
    "attributes.Mixed = 'hello world'",
    "attributes.é = 'ü'",
    "attributes.digits.0 = 'zero'",
    "attributes.digits.01 = 'oneish'",
    "attributes.ctrl LIKE '%line\nbre%'",
    "attributes.emptyobj = '{}'",
    "attributes.esc = 'a\\b'",
    "attributes.sur.ok = 'fine'",
    "attributes.sur LIKE '%fine%'",
    "attributes.deep" + ".k" * 30 + " IS NOT NULL",
    "attributes.bad.json = '{not json'",
    "attributes.nothing IS NOT NULL",
    "attributes.nothing LIKE '%abc%'",
    "latency_ms > 1000",
    "latency_ms >= '1000'",
    "latency_ms BETWEEN 40 AND 120",
    "latency_ms NOT BETWEEN 40 AND 120",
    "latency_ms != 40",
    "span_kind = 'LLM' AND latency_ms > 100",
    # combinations
    "attributes.n.int = 7 OR attributes.Mixed = 'hello world'",
    "attributes.n.int = 7 AND name = 'e1'",
    "attributes.n.int = 7 AND attributes.Mixed LIKE '%world%'",
    "attributes.n.int = 7 OR status_code = 'ERROR'",
    "NOT attributes.n.int = 7",
    "(attributes.Mixed LIKE '%hello%' OR eval.correctness.label = 'correct') AND latency_ms > 1",
]


def _record(span_id: str, name: str, attributes: dict[str, Any], start_ns: int, **fields: Any) -> SpanRecord:
    return SpanRecord(
        trace_id=fields.get("trace_id", "t-" + span_id),
        span_id=span_id,
        parent_id=fields.get("parent_id"),
        name=name,
        kind=fields.get("kind", "LLM"),
        start_ns=start_ns,
        end_ns=start_ns + fields.get("latency_ms", 10) * 1_000_000,
        status_code=fields.get("status", "OK"),
        status_message=fields.get("message"),
        attributes=attributes,
    )


def _populate(conn: sqlite3.Connection) -> None:
    for item in test_filters.SPANS:
        start = test_filters.ns(item["start"])
        record = _record(
            item["span_id"],
            item["name"],
            item["attributes"],
            start,
            trace_id=item["trace_id"],
            parent_id=item["parent_id"],
            kind=item["kind"],
            status=item["status"],
            message=item["message"],
            latency_ms=item["latency_ms"],
        )
        upsert_spans(conn, item["project"], [record], now="2024-05-01T00:00:00.000Z")
    base = test_filters.ns("2024-05-10T00:00:00+00:00")
    records = [_record(span_id, span_id, attributes, base + n) for n, (span_id, attributes) in enumerate(EXTRA)]
    upsert_spans(conn, 1, records, now="2024-05-01T00:00:00.000Z")
    for kind, key, name, label, score, explanation, metadata in test_filters.EVALUATIONS:
        upsert_evaluation(
            conn, kind, key, name, now="x", label=label, score=score, explanation=explanation, metadata=metadata
        )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(tmp_path / "search.db")
    await opened.write(_populate)
    yield opened
    opened.close()


def _scanned(conn: sqlite3.Connection, project: int, text: str) -> list[str]:
    sql, params = span_filter_sql(text)
    rows = conn.execute(
        f"SELECT s.span_id FROM spans AS s WHERE s.project_num = ? AND ({sql}) ORDER BY s.start_ns DESC, s.row DESC",
        [project, *params],
    )
    return [row[0] for row in rows]


def _searched(conn: sqlite3.Connection, project: int, text: str, small: int, large: int) -> list[str]:
    rows, more = span_page(
        conn,
        project,
        0,
        MAX_SPAN_NS,
        where=span_filter_sql(text),
        candidates=span_candidates(text) if small >= 0 else None,
        after=None,
        limit=500,
        small=small,
        large=large,
    )
    assert not more
    return [row["span_id"] for row in rows]


MODES = {
    "candidates read directly": (10**9, 10**9),
    "walk probing each span, or skipping gathered candidates": (0, 10**9),
    "walk probing each span, or checking the filter alone": (0, 0),
    "no candidates": (-1, 0),
}


@pytest.mark.parametrize("text", FILTERS)
async def test_an_indexed_search_returns_exactly_what_a_scan_returns(store: Store, text: str) -> None:
    def check(conn: sqlite3.Connection) -> None:
        for project in (1, 2):
            expected = _scanned(conn, project, text)
            for mode, (small, large) in MODES.items():
                assert _searched(conn, project, text, small, large) == expected, mode
            candidates = span_candidates(text)
            if candidates is None:
                continue
            matched = {
                row[0]
                for row in conn.execute(
                    "SELECT row FROM spans WHERE project_num = ? AND span_id IN (SELECT value FROM json_each(?))",
                    [project, json.dumps(expected)],
                )
            }
            for choice in candidates.choices:
                sql, params = candidate_rows(project, choice)
                assert matched <= {row[0] for row in conn.execute(sql, params)}, choice

    await store.read(check)


def test_the_lookups_a_filter_gets() -> None:
    assert span_candidates("status_code = 'ERROR'") is None
    assert span_candidates("attributes.x != 'a'") is None
    assert span_candidates("attributes.x LIKE '%ab%'") is None
    assert span_candidates("attributes.x = 1 OR name = 'a'") is None
    both = span_candidates("attributes.x = '5' AND eval.e.score > 0.5")
    assert both is not None and len(both.choices) == 2
    assert span_candidates("attributes.msgs.01.content = 'x'") is None
    assert span_candidates("latency_ms != 5") is None
    assert span_candidates("attributes.x LIKE '%a\x00bcd%'") is None
    assert span_candidates(f"attributes.x = '{'a' * 40}\x00'") is None
    latency = span_candidates("latency_ms BETWEEN 1 AND '5'")
    assert latency is not None and latency.choices[0].lookups == (Latency(((">=", 1), ("<=", 5))),)


def test_index_entries_cover_flat_nested_and_json_encoded_values() -> None:
    entries, text = index_entries(
        {"a.b": "Text", "n": 5, "ok": True, "s": "12", "m": json.dumps({"env": "prod", "l": [1]}), "none": None}
    )
    assert ("a.b", "Text") in entries and ("n", 5) in entries and ("ok", 1) in entries
    assert ("s", "12") in entries and ("s", 12) in entries
    assert ("m.env", "prod") in entries and ("m.l.0", 1) in entries and ("m.l", b"\x00") in entries
    assert not any(path == "none" for path, _ in entries)
    assert text.split("\n") == ["Text", json.dumps({"env": "prod", "l": [1]}), "prod"]


async def _index_rows(store: Store, rows: list[int]) -> int:
    def count(conn: sqlite3.Connection) -> int:
        marks = ",".join("?" * len(rows))
        return int(conn.execute(f"SELECT count(*) FROM span_attrs WHERE span_row IN ({marks})", rows).fetchone()[0])

    return await store.read(count)


async def _rows_of(store: Store, project: int, span_ids: list[str]) -> list[int]:
    def read(conn: sqlite3.Connection) -> list[int]:
        marks = ",".join("?" * len(span_ids))
        query = f"SELECT row FROM spans WHERE project_num = ? AND span_id IN ({marks})"
        return [int(row[0]) for row in conn.execute(query, [project, *span_ids])]

    return await store.read(read)


async def _found(store: Store, text: str) -> list[str]:
    return await store.read(lambda conn: _searched(conn, 1, text, 10**9, 10**9))


async def _integrity(store: Store) -> None:
    await store.write(lambda conn: conn.execute("INSERT INTO span_text (span_text) VALUES ('integrity-check')"))


async def test_re_ingesting_a_span_replaces_its_indexed_values(store: Store) -> None:
    first = _record("r1", "r1", {"k": "old value", "gone": 1}, 5)
    await store.write(lambda conn: upsert_spans(conn, 1, [first], now="x"))
    assert await _found(store, "attributes.k = 'old value'") == ["r1"]
    again = _record("r1", "r1", {"k": "new value"}, 6)
    # The same span twice in one batch: the last copy is what is stored and indexed.
    twice = [_record("r2", "r2", {"k": "first copy"}, 7), _record("r2", "r2", {"k": "second copy"}, 7)]
    await store.write(lambda conn: upsert_spans(conn, 1, [again, *twice], now="x"))
    for gone in ("attributes.k = 'old value'", "attributes.k LIKE '%old val%'", "attributes.gone = 1"):
        assert await _found(store, gone) == []
    assert await _found(store, "attributes.k = 'new value'") == ["r1"]
    assert await _found(store, "attributes.k LIKE '%copy%'") == ["r2"]
    assert await _found(store, "attributes.k = 'first copy'") == []

    def stale(conn: sqlite3.Connection) -> int:
        query = "SELECT count(*) FROM span_attrs WHERE value IN ('old value', 'first copy') OR key_id IN"
        query += " (SELECT id FROM span_attr_keys WHERE key = 'gone')"
        return int(conn.execute(query).fetchone()[0])

    assert await store.read(stale) == 0
    await _integrity(store)


async def test_deleting_spans_removes_their_index(store: Store) -> None:
    rows = await _rows_of(store, 1, ["e1", "e2"])
    assert await _index_rows(store, rows) > 0
    deleted, _ = await store.write(lambda conn: delete_spans(conn, 1, ["e1", "e2"], 0, MAX_SPAN_NS))
    assert sorted(deleted) == ["e1", "e2"]
    assert await _index_rows(store, rows) == 0

    def trigram_hits(conn: sqlite3.Connection) -> list[int]:
        return [int(row[0]) for row in conn.execute("SELECT rowid FROM span_text WHERE span_text MATCH '\"llo\"'")]

    assert set(await store.read(trigram_hits)) & set(rows) == set()
    await _integrity(store)
    assert await _found(store, "attributes.Mixed LIKE '%hello%'") == ["e3"]


async def test_deleting_a_project_removes_the_index_of_its_spans(
    engine: Engine, client: AsyncArizeClient, tmp_path: Path
) -> None:
    await ingest(engine, "doomed", [span("00000000000000a1", attributes={"input.value": "remove me please"})])
    await ingest(engine, "kept", [span("00000000000000a2", attributes={"input.value": "keep me please"})])
    await client.projects.delete("doomed", space=(await client.spaces.list()).items[0].id)

    def left(conn: sqlite3.Connection) -> tuple[int, int, list[int]]:
        rows = int(conn.execute("SELECT count(*) FROM span_attrs").fetchone()[0])
        spans = int(conn.execute("SELECT count(*) FROM spans").fetchone()[0])
        hits = [int(r[0]) for r in conn.execute("SELECT rowid FROM span_text WHERE span_text MATCH '\"ple\"'")]
        return rows, spans, hits

    rows, spans, hits = await engine.store.read(left)
    assert spans == 1 and rows > 0 and len(hits) == 1
    await _integrity(engine.store)
    kept = await client.spans.list("kept", filter="attributes.input.value LIKE '%please%'")
    assert [s.context.span_id for s in kept.items] == ["00000000000000a2"]


def _old_schema(path: Path) -> None:
    """A database as the version before the search indexes left it, holding the filter tests' spans."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for name, script, *_ in MIGRATIONS[:3]:
        for statement in filter(str.strip, script.split(";")):
            conn.execute(statement)
        conn.execute("INSERT INTO _migrations VALUES (?, datetime('now'))", (name,))
    conn.row_factory = sqlite3.Row
    test_filters._populate(conn)
    conn.close()


async def test_the_migration_indexes_spans_already_stored(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _old_schema(path)
    store = Store(path)
    try:

        def check(conn: sqlite3.Connection) -> None:
            assert conn.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)
            assert conn.execute("SELECT count(*) FROM span_attrs").fetchone()[0] > 0
            for text in FILTERS[:56]:
                for project in (1, 2):
                    assert _searched(conn, project, text, 10**9, 10**9) == _scanned(conn, project, text), text

        await store.read(check)
    finally:
        store.close()


async def test_the_rest_search_uses_the_indexes_with_the_same_answers(engine: Engine, client: AsyncArizeClient) -> None:
    spans = [
        span(f"{n + 1:016x}", attributes={"user.id": f"u{n % 3}", "input.value": f"question {n} kumquat" * (n % 2)})
        for n in range(12)
    ]
    await ingest(engine, "searched", spans)
    listed = await client.spans.list("searched", filter="attributes.user.id = 'u1'")
    assert sorted(s.context.span_id for s in listed.items) == [f"{n + 1:016x}" for n in range(12) if n % 3 == 1]
    found = await client.spans.list("searched", filter="attributes.input.value LIKE '%KUMQUAT%'")
    assert sorted(s.context.span_id for s in found.items) == [f"{n + 1:016x}" for n in range(12) if n % 2]


_POOL: list[Any] = [
    "a",
    "A",
    "abc",
    "ABCD",
    "12",
    " 12 ",
    "1e1",
    "007",
    12,
    10.0,
    0,
    1,
    True,
    False,
    None,
    "x" * 33,
    "x" * 33 + "y",
    "true",
    ["abc", 12],
    {"k": "abc", "n": 12},
    json.dumps({"k": "ABCD", "n": "12"}),
    json.dumps(["a", {"k": 1}]),
    "line\nabc",
]
_KEYS = ["p", "q.r", "q", "s"]
_PATHS = ["p", "q.r", "q", "s", "q.k", "q.n", "s.0", "s.1", "s.1.k", "p.k", "q.0"]


def _random_filter(rng: Any) -> str:
    def literal() -> str:
        value = rng.choice(["'a'", "'abc'", "'ABCD'", "'12'", "12", "10", "'10'", "1", "true", "'true'", "' 12 '"])
        return value if rng.random() < 0.9 else f"'{'x' * 33}'"

    path = "attributes." + rng.choice(_PATHS)
    shape = rng.randrange(6)
    if shape == 0:
        condition = f"{path} = {literal()}"
    elif shape == 1:
        condition = f"{path} IN ({literal()}, {literal()})"
    elif shape == 2:
        needle = rng.choice(["abc", "BCD", "12", "xxx", "bc", "ne\nab", 'k":'])
        condition = f"{path} LIKE '%{needle}%'"
    elif shape == 3:
        condition = f"{path} IS NOT NULL"
    elif shape == 4:
        condition = f"{path} != {literal()}"
    else:
        bound = rng.choice(["5", "'5'", "'abc'"])
        condition = f"{path} > {bound}"
    if rng.random() < 0.3:
        joiner = rng.choice(["AND", "OR"])
        condition = f"({condition}) {joiner} attributes.{rng.choice(_PATHS)} = {literal()}"
    return condition


async def test_random_attributes_and_filters_search_the_same_indexed_or_scanned(tmp_path: Path) -> None:
    import random

    rng = random.Random(20261204)
    records = [
        _record(f"z{n}", f"z{n}", {key: rng.choice(_POOL) for key in rng.sample(_KEYS, rng.randrange(5))}, n)
        for n in range(80)
    ]
    store = Store(tmp_path / "random.db")
    try:
        await store.write(lambda conn: upsert_spans(conn, 7, records, now="x"))
        filters = [_random_filter(rng) for _ in range(300)]

        def check(conn: sqlite3.Connection) -> None:
            for text in filters:
                expected = _scanned(conn, 7, text)
                for mode, (small, large) in MODES.items():
                    assert _searched(conn, 7, text, small, large) == expected, (text, mode)

        await store.read(check)
    finally:
        store.close()

"""The filter language, compiled to SQL and run against a real SQLite database with the engine's schema."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arize_skills.engine.query.filters import example_filter_sql, run_filter_sql, span_filter_sql
from arize_skills.engine.store.db import Store
from arize_skills.errors import FilterError, ProblemError

Compile = Callable[[str], tuple[str, list[Any]]]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns(moment: str) -> int:
    """Nanoseconds since the epoch of an ISO timestamp (test data only)."""
    return (datetime.fromisoformat(moment) - EPOCH) // timedelta(microseconds=1) * 1000


SPANS: list[dict[str, Any]] = [
    {
        "project": 1,
        "span_id": "s1",
        "trace_id": "t1",
        "parent_id": None,
        "name": "llm-ok",
        "kind": "LLM",
        "status": "OK",
        "message": None,
        "start": "2024-05-01T12:00:00+00:00",
        "latency_ms": 120,
        "attributes": {
            "llm.model_name": "gpt-4o",
            "input.value": "What is 2+2?",
            "output.value": "4",
            "llm.token_count.total": 250,
            "llm.output_messages.0.message.content": "The answer is 4",
            "llm.output_messages.0.message.role": "assistant",
            "metadata": json.dumps({"environment": "prod", "tier": 2}),
            "session.id": "sess-1",
            "user.id": "007",
            "größe": "L",
            "cached": True,
        },
    },
    {
        "project": 1,
        "span_id": "s2",
        "trace_id": "t2",
        "parent_id": "",
        "name": "llm-error",
        "kind": "LLM",
        "status": "ERROR",
        "message": "rate limited",
        "start": "2024-05-02T00:00:00+00:00",
        "latency_ms": 2500,
        "attributes": {
            "llm.model_name": "gpt-4o-mini",
            "input.value": "It's O'Brien",
            "llm.token_count.total": "1200",
            "llm.output_messages.0.message.content": "Sorry",
            "metadata": json.dumps({"environment": "staging"}),
            "session.id": "sess-2",
            "cached": False,
            "percent": "50%",
        },
    },
    {
        "project": 1,
        "span_id": "s3",
        "trace_id": "t1",
        "parent_id": "s1",
        "name": "retriever",
        "kind": "RETRIEVER",
        "status": "OK",
        "message": None,
        "start": "2024-05-03T00:00:00+00:00",
        "latency_ms": 40,
        "attributes": {
            "input.value": "find docs",
            "retrieval.documents.0.document.content": "doc A",
            "llm.invocation_parameters": json.dumps({"temperature": 0.2}),
            "tags": ["alpha", "beta"],
        },
    },
    {
        "project": 1,
        "span_id": "s4",
        "trace_id": "t3",
        "parent_id": None,
        "name": "chain",
        "kind": "CHAIN",
        "status": "UNSET",
        "message": None,
        "start": "2024-05-04T00:00:00+00:00",
        "latency_ms": 1000,
        "attributes": {"input.value": "100% _sure_", "metadata": "not json"},
    },
    {
        # Same span ID as s1 in another project: evaluations and annotations of s1 must not reach it.
        "project": 2,
        "span_id": "s1",
        "trace_id": "t9",
        "parent_id": None,
        "name": "other-project",
        "kind": "TOOL",
        "status": "OK",
        "message": None,
        "start": "2024-05-01T12:00:00+00:00",
        "latency_ms": 5,
        "attributes": {},
    },
]

EVALUATIONS = [
    ("span", "1:s1", "correctness", "correct", 1.0, "matches the reference", None),
    ("span", "1:s1", "My Eval", "good", 0.9, None, {"model": "gpt-4o", "tokens": 12}),
    ("span", "1:s2", "correctness", "incorrect", 0.0, "wrong answer", None),
    ("span", "1:s3", "correctness", "correct", 0.8, None, None),
    ("run", "1:s4", "correctness", "correct", 1.0, None, None),
    ("run", "run-1", "quality", "good", 0.9, "fine", {"judge": "gpt-4o"}),
    ("run", "run-2", "quality", "bad", 0.2, "off topic", {"judge": "claude"}),
]

ANNOTATIONS = [
    ("span", "1:s1", "SPAN", "Correctness", "Correct", 1.0, None, "alice@example.com", "2024-05-05T00:00:00.000Z"),
    ("span", "1:s1", "SPAN", "notes", None, None, "looks fine", "alice@example.com", "2024-05-05T00:00:00.000Z"),
    ("span", "1:s2", "TRACE", "Correctness", "Incorrect", 0.0, None, "bob@example.com", "2024-05-06T00:00:00.000Z"),
    ("span", "1:s2", "SPAN", "notes", None, None, "needs review", "bob@example.com", "2024-05-06T00:00:00.000Z"),
    ("example", "ex-2", "SPAN", "Correctness", "Correct", 1.0, None, "alice@example.com", "2024-06-02T00:00:00.000Z"),
    ("run", "run-3", "SPAN", "Review", "flagged", None, "timed out", "bob@example.com", "2024-06-03T00:00:00.000Z"),
]

EXAMPLES = [
    (
        "ex-1",
        {
            "topic": "arithmetic",
            "input": "What is 2+2?",
            "attributes.input.value": "2+2",
            "difficulty": "3",
            "meta": {"level": 2},
        },
        "2024-05-01T00:00:00.000Z",
    ),
    (
        "ex-2",
        {"topic": "geography", "input": "Capital of France?", "difficulty": 7, "My Column": "x"},
        "2024-06-01T00:00:00.000Z",
    ),
    (
        "ex-3",
        {"topic": "arithmetic", "input": "What is 3*3?", "difficulty": "10", "café": "oui", "C:\\temp": "dir"},
        "2024-06-15T00:00:00.000Z",
    ),
]

RUNS = [
    ("run-1", "ex-1", "4", None, {"model": "gpt-4o", "latency_ms": 120}),
    ("run-2", "ex-2", "Lyon", None, {"model": "gpt-4o-mini", "latency_ms": 900}),
    ("run-3", "ex-3", None, "timeout", {"model": "gpt-4o"}),
]


def _populate(conn: sqlite3.Connection) -> None:
    for span in SPANS:
        start = ns(span["start"])
        conn.execute(
            "INSERT INTO spans (project_num, trace_id, span_id, parent_id, name, kind, start_ns, end_ns, status_code,"
            " status_message, attributes, events, resource, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " '{}', '2024-05-01T00:00:00.000Z')",
            (
                span["project"],
                span["trace_id"],
                span["span_id"],
                span["parent_id"],
                span["name"],
                span["kind"],
                start,
                start + span["latency_ms"] * 1_000_000,
                span["status"],
                span["message"],
                json.dumps(span["attributes"], ensure_ascii=False),
                json.dumps([{"name": "exception"}] if span["status"] == "ERROR" else []),
            ),
        )
    for kind, key, name, label, score, explanation, metadata in EVALUATIONS:
        conn.execute(
            "INSERT INTO evaluations (target_kind, target_key, name, label, score, explanation, metadata, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, '2024-05-05T00:00:00.000Z')",
            (kind, key, name, label, score, explanation, json.dumps(metadata) if metadata else None),
        )
    conn.executemany(
        "INSERT INTO annotations (target_kind, target_key, granularity, name, label, score, text, annotator_email,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ANNOTATIONS,
    )
    for position, (example_id, data, created) in enumerate(EXAMPLES):
        conn.execute(
            "INSERT INTO dataset_examples (dataset_num, version_num, example_id, position, data, created_at,"
            " updated_at) VALUES (1, 1, ?, ?, ?, ?, ?)",
            (example_id, position, json.dumps(data), created, created),
        )
    for run_id, example_id, output, error, data in RUNS:
        conn.execute(
            "INSERT INTO experiment_runs (experiment_num, run_id, example_id, output, error, data, created_at)"
            " VALUES (1, ?, ?, ?, ?, ?, '2024-06-01T00:00:00.000Z')",
            (run_id, example_id, output, error, json.dumps(data)),
        )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store(tmp_path / "filters.db")
    await opened.write(_populate)
    yield opened
    opened.close()


async def _select(store: Store, compile_filter: Compile, text: str, label: str, table: str) -> set[str]:
    sql, params = compile_filter(text)

    def run(conn: sqlite3.Connection) -> set[str]:
        return {row[0] for row in conn.execute(f"SELECT {label} FROM {table} WHERE {sql}", params)}

    return await store.read(run)


async def spans(store: Store, text: str) -> set[str]:
    """Names of the spans the filter selects, across both projects."""
    return await _select(store, span_filter_sql, text, "s.name", "spans AS s")


async def examples(store: Store, text: str) -> set[str]:
    """IDs of the dataset examples the filter selects."""
    return await _select(store, example_filter_sql, text, "e.example_id", "dataset_examples AS e")


async def runs(store: Store, text: str) -> set[str]:
    """IDs of the experiment runs the filter selects."""
    return await _select(store, run_filter_sql, text, "r.run_id", "experiment_runs AS r")


def error_of(compile_filter: Compile, text: str) -> FilterError:
    with pytest.raises(FilterError) as caught:
        compile_filter(text)
    return caught.value


ALL_SPANS = {"llm-ok", "llm-error", "retriever", "chain", "other-project"}


# --- operators on fixed span columns ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status_code = 'ERROR'", {"llm-error"}),
        ("status_code == 'ERROR'", {"llm-error"}),
        ("status_code != 'OK'", {"llm-error", "chain"}),
        ("status_code <> 'OK'", {"llm-error", "chain"}),
        ("name = 'llm-ok'", {"llm-ok"}),
        ('name = "llm-ok"', {"llm-ok"}),
        ("name = 'LLM-OK'", set()),
        ("latency_ms > 1000", {"llm-error"}),
        ("latency_ms >= 1000", {"llm-error", "chain"}),
        ("latency_ms < 40", {"other-project"}),
        ("latency_ms <= 40", {"retriever", "other-project"}),
        ("latency_ms > 99.5", {"llm-ok", "llm-error", "chain"}),
        ("latency_ms > -1", ALL_SPANS),
        ("latency_ms < '100'", {"retriever", "other-project"}),
        ("latency_ms BETWEEN 40 AND 1000", {"llm-ok", "retriever", "chain"}),
        ("latency_ms NOT BETWEEN 40 AND 1000", {"llm-error", "other-project"}),
        ("status_message = 'rate limited'", {"llm-error"}),
        ("status_message IS NULL", ALL_SPANS - {"llm-error"}),
        ("status_message IS NOT NULL", {"llm-error"}),
        ("parent_id IS NULL", {"llm-ok", "llm-error", "chain", "other-project"}),
        ("parent_id = 's1'", {"retriever"}),
        ("context.trace_id = 't1'", {"llm-ok", "retriever"}),
        ("context.span_id = 's1'", {"llm-ok", "other-project"}),
        ("events LIKE '%exception%'", {"llm-error"}),
    ],
)
async def test_comparison_operators_select_the_matching_spans(store: Store, text: str, expected: set[str]) -> None:
    assert await spans(store, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("span_kind = 'LLM'", {"llm-ok", "llm-error"}),
        ("span_kind = 'llm'", {"llm-ok", "llm-error"}),
        ("kind = 'retriever'", {"retriever"}),
        ("span_kind IN ('LLM', 'chain')", {"llm-ok", "llm-error", "chain"}),
        ("span_kind NOT IN ('LLM', 'CHAIN')", {"retriever", "other-project"}),
        ("status_code in ('error', 'unset')", {"llm-error", "chain"}),
    ],
)
async def test_span_kind_and_status_code_match_whatever_the_case_of_the_literal(
    store: Store, text: str, expected: set[str]
) -> None:
    assert await spans(store, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name LIKE 'llm%'", {"llm-ok", "llm-error"}),
        ("name LIKE 'LLM%'", {"llm-ok", "llm-error"}),
        ("name LIKE '%-o_'", {"llm-ok"}),
        ("name NOT LIKE 'llm%'", {"retriever", "chain", "other-project"}),
        ("attributes.input.value LIKE '100\\%%' ESCAPE '\\'", {"chain"}),
        ("attributes.input.value LIKE '100%'", {"chain"}),
        ("attributes.input.value LIKE '%\\_sure\\_' ESCAPE '\\'", {"chain"}),
        ("span_kind LIKE 'retr%'", {"retriever"}),
    ],
)
async def test_like_uses_sql_wildcards_case_insensitively_with_an_optional_escape(
    store: Store, text: str, expected: set[str]
) -> None:
    assert await spans(store, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start_time >= '2024-05-02'", {"llm-error", "retriever", "chain"}),
        ("start_time < '2024-05-02T02:00:00+02:00'", {"llm-ok", "other-project"}),
        ("start_time = '2024-05-01T12:00:00Z'", {"llm-ok", "other-project"}),
        ("start_time = '2024-05-01 12:00:00.000000000'", {"llm-ok", "other-project"}),
        ("start_time > '2024-05-01T12:00:00.000000001Z'", {"llm-error", "retriever", "chain"}),
        ("end_time > '2024-05-02T00:00:02Z'", {"llm-error", "retriever", "chain"}),
        ("start_time BETWEEN '2024-05-02' AND '2024-05-03T00:00:00Z'", {"llm-error", "retriever"}),
    ],
)
async def test_start_and_end_time_compare_with_iso_timestamps_to_the_nanosecond(
    store: Store, text: str, expected: set[str]
) -> None:
    assert await spans(store, text) == expected


# --- boolean structure ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("span_kind = 'LLM' OR span_kind = 'CHAIN' AND latency_ms > 500", {"llm-ok", "llm-error", "chain"}),
        ("(span_kind = 'LLM' OR span_kind = 'CHAIN') AND latency_ms > 500", {"llm-error", "chain"}),
        ("latency_ms > 500 AND span_kind = 'CHAIN' OR span_kind = 'RETRIEVER'", {"chain", "retriever"}),
        ("NOT span_kind = 'LLM' AND latency_ms > 500", {"chain"}),
        ("NOT (span_kind = 'LLM' AND latency_ms > 500)", ALL_SPANS - {"llm-error"}),
        ("NOT NOT span_kind = 'TOOL'", {"other-project"}),
        ("span_kind = 'LLM' and not status_code = 'OK'", {"llm-error"}),
        ("((name = 'chain'))", {"chain"}),
        ("name = 'chain' OR (name = 'retriever' OR (name = 'llm-ok' AND latency_ms < 10))", {"chain", "retriever"}),
    ],
)
async def test_and_binds_tighter_than_or_and_not_binds_tightest(store: Store, text: str, expected: set[str]) -> None:
    assert await spans(store, text) == expected


async def test_hundreds_of_or_conditions_compile_within_sqlites_expression_depth(store: Store) -> None:
    text = " OR ".join(f"name = 'n{i}'" for i in range(499)) + " OR name = 'chain'"
    assert await spans(store, text) == {"chain"}


async def test_a_long_in_list_on_an_attribute_runs(store: Store) -> None:
    values = ", ".join(f"'m{i}'" for i in range(999))
    assert await spans(store, f"attributes.llm.model_name IN ({values}, 'gpt-4o')") == {"llm-ok"}


# --- attributes and metadata ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attributes.llm.model_name = 'gpt-4o'", {"llm-ok"}),
        ("attributes.llm.model_name LIKE 'gpt-4o%'", {"llm-ok", "llm-error"}),
        ("attributes.llm.output_messages.0.message.content = 'The answer is 4'", {"llm-ok"}),
        ("attributes.llm.output_messages.0.message.content IS NOT NULL", {"llm-ok", "llm-error"}),
        ("attributes.llm.output_messages.1.message.content IS NULL", ALL_SPANS),
        ("attributes.retrieval.documents.0.document.content = 'doc A'", {"retriever"}),
        ("attributes.session.id = 'sess-2'", {"llm-error"}),
        ("attributes.input.value = 'It''s O''Brien'", {"llm-error"}),
        ("attributes.input.value = \"It's O'Brien\"", {"llm-error"}),
        ("attributes.llm.model_name != 'gpt-4o'", {"llm-error"}),
        ("NOT attributes.llm.model_name = 'gpt-4o'", {"llm-error"}),
        ("attributes.llm.model_name IS NULL", {"retriever", "chain", "other-project"}),
        ("attributes.llm.model_name NOT IN ('gpt-4o')", {"llm-error"}),
        ("attributes.\"llm.model_name\" = 'gpt-4o'", {"llm-ok"}),
        ("attributes.`session.id` = 'sess-1'", {"llm-ok"}),
        ("attributes.größe = 'L'", {"llm-ok"}),
    ],
)
async def test_attributes_are_read_by_their_flat_openinference_key(store: Store, text: str, expected: set[str]) -> None:
    assert await spans(store, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attributes.llm.token_count.total > 500", {"llm-error"}),
        ("attributes.llm.token_count.total < 500", {"llm-ok"}),
        ("attributes.llm.token_count.total = 250", {"llm-ok"}),
        ("attributes.llm.token_count.total = 250.0", {"llm-ok"}),
        ("attributes.llm.token_count.total = '250'", {"llm-ok"}),
        ("attributes.llm.token_count.total = '1200'", {"llm-error"}),
        ("attributes.llm.token_count.total > '500'", {"llm-error"}),
        ("attributes.llm.token_count.total >= '300'", {"llm-error"}),
        ("attributes.llm.token_count.total IN (250, '1200')", {"llm-ok", "llm-error"}),
        ("attributes.llm.token_count.total NOT IN (250)", {"llm-error"}),
        ("attributes.llm.token_count.total BETWEEN 100 AND 2000", {"llm-ok", "llm-error"}),
        ("attributes.llm.model_name > 5", set()),
        ("attributes.llm.model_name != 5", {"llm-ok", "llm-error"}),
        ("attributes.user.id = '007'", {"llm-ok"}),
        ("attributes.user.id = '7'", set()),
        ("attributes.user.id = 7", set()),
        ("attributes.llm.token_count.total = 1200", {"llm-error"}),
        ("attributes.percent = '50%'", {"llm-error"}),
        ("attributes.percent > 10", set()),
    ],
)
async def test_attribute_values_compare_numerically_when_they_hold_numbers(
    store: Store, text: str, expected: set[str]
) -> None:
    assert await spans(store, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attributes.cached = true", {"llm-ok"}),
        ("attributes.cached = FALSE", {"llm-error"}),
        ("attributes.cached != true", {"llm-error"}),
        ("attributes.cached IN (true, false)", {"llm-ok", "llm-error"}),
    ],
)
async def test_true_and_false_match_json_booleans(store: Store, text: str, expected: set[str]) -> None:
    assert await spans(store, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metadata.environment = 'prod'", {"llm-ok"}),
        ("metadata.environment IN ('prod', 'staging')", {"llm-ok", "llm-error"}),
        ("metadata.tier = 2", {"llm-ok"}),
        ("metadata.environment IS NULL", {"retriever", "chain", "other-project"}),
        ("attributes.metadata.environment = 'staging'", {"llm-error"}),
        ("attributes.llm.invocation_parameters.temperature < 0.5", {"retriever"}),
        ("attributes.tags.1 = 'beta'", {"retriever"}),
    ],
)
async def test_keys_inside_json_valued_attributes_such_as_metadata_are_reachable(
    store: Store, text: str, expected: set[str]
) -> None:
    assert await spans(store, text) == expected


# --- evaluations and annotations on spans -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("eval.correctness.label = 'correct'", {"llm-ok", "retriever"}),
        ("eval.correctness.label = 'correct' AND eval.correctness.score >= 0.9", {"llm-ok"}),
        ("eval.correctness.score >= 0.8", {"llm-ok", "retriever"}),
        ("eval.correctness.score < '0.5'", {"llm-error"}),
        ("eval.correctness.explanation LIKE '%reference%'", {"llm-ok"}),
        ("eval.correctness.label IS NULL", {"chain", "other-project"}),
        ("eval.correctness.label != 'correct'", {"llm-error"}),
        ("eval.\"My Eval\".label = 'good'", {"llm-ok"}),
        ("eval.`My Eval`.score > 0.5", {"llm-ok"}),
        ("eval.\"My Eval\".metadata.model = 'gpt-4o'", {"llm-ok"}),
        ('eval."My Eval".metadata.tokens > 10', {"llm-ok"}),
        ("eval.missing.label IS NULL", ALL_SPANS),
    ],
)
async def test_eval_columns_read_the_evaluations_of_each_span(store: Store, text: str, expected: set[str]) -> None:
    assert await spans(store, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("annotation.Correctness.label = 'Correct'", {"llm-ok"}),
        ("annotation.Correctness.label = 'Incorrect'", {"llm-error"}),
        ("annotation.Correctness.score = 1", {"llm-ok"}),
        ("annotation.Correctness.updated_by = 'bob@example.com'", {"llm-error"}),
        ("annotation.Correctness.updated_at > '2024-05-05T12:00:00Z'", {"llm-error"}),
        ("annotation.Correctness.updated_at = '2024-05-05'", {"llm-ok"}),
        ("annotation.notes LIKE '%review%'", {"llm-error"}),
        ("annotation.notes.text = 'looks fine'", {"llm-ok"}),
        ("annotation.Correctness.label IS NULL", {"retriever", "chain", "other-project"}),
        ("annotation.correctness.label IS NOT NULL", set()),
    ],
)
async def test_annotation_columns_read_the_annotations_of_each_span(
    store: Store, text: str, expected: set[str]
) -> None:
    assert await spans(store, text) == expected


# --- dataset examples and experiment runs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("topic = 'arithmetic'", {"ex-1", "ex-3"}),
        ("input = 'What is 2+2?' AND topic = 'arithmetic'", {"ex-1"}),
        ("topic = 'geography' AND annotation.Correctness.label = 'Correct'", {"ex-2"}),
        ("annotation.Correctness.label IS NULL", {"ex-1", "ex-3"}),
        ("id = 'ex-2'", {"ex-2"}),
        ("id IN ('ex-1', 'ex-3')", {"ex-1", "ex-3"}),
        ("attributes.input.value = '2+2'", {"ex-1"}),
        ("meta.level = 2", {"ex-1"}),
        ("difficulty > 5", {"ex-2", "ex-3"}),
        ("difficulty > '5'", {"ex-2", "ex-3"}),
        ("difficulty = '3'", {"ex-1"}),
        ("\"My Column\" = 'x'", {"ex-2"}),
        ("`My Column` IS NULL", {"ex-1", "ex-3"}),
        ("created_at >= '2024-05-15'", {"ex-2", "ex-3"}),
        ("updated_at < '2024-06-01T00:00:00.001Z'", {"ex-1", "ex-2"}),
        ("nothing_here IS NULL", {"ex-1", "ex-2", "ex-3"}),
        ("café = 'oui'", {"ex-3"}),
        ("`C:\\temp` = 'dir'", {"ex-3"}),
    ],
)
async def test_example_search_filters_read_example_fields_ids_times_and_annotations(
    store: Store, text: str, expected: set[str]
) -> None:
    assert await examples(store, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("eval.quality.score < 0.5", {"run-2"}),
        ("eval.quality.label = 'good'", {"run-1"}),
        ("eval.quality.explanation LIKE 'off%'", {"run-2"}),
        ("eval.quality.metadata.judge = 'gpt-4o'", {"run-1"}),
        ("eval.quality.score IS NULL", {"run-3"}),
        ("output = 'approved'", set()),
        ("output = '4'", {"run-1"}),
        ("output = 4", {"run-1"}),
        ("output IS NULL", {"run-3"}),
        ("error LIKE 'time%'", {"run-3"}),
        ("example_id = 'ex-1'", {"run-1"}),
        ("id = 'run-2'", {"run-2"}),
        ("model = 'gpt-4o'", {"run-1", "run-3"}),
        ("latency_ms > 500", {"run-2"}),
        ("annotation.Review.label = 'flagged'", {"run-3"}),
        ("annotation.Review.text = 'timed out' OR eval.quality.score > 0.5", {"run-1", "run-3"}),
    ],
)
async def test_run_search_filters_read_run_columns_evaluations_and_annotations(
    store: Store, text: str, expected: set[str]
) -> None:
    assert await runs(store, text) == expected


async def test_an_evaluation_of_a_run_is_never_read_as_an_evaluation_of_a_span(store: Store) -> None:
    # EVALUATIONS holds a run evaluation whose key looks like span s4's key.
    assert "chain" not in await spans(store, "eval.correctness.label = 'correct'")


# --- safety -----------------------------------------------------------------------------------------------------


async def _span_count(store: Store) -> int:
    return await store.read(lambda conn: int(conn.execute("SELECT count(*) FROM spans").fetchone()[0]))


@pytest.mark.parametrize(
    "text",
    [
        "name = 'x'' OR 1=1 --'",
        "name = '; DROP TABLE spans; --'",
        "attributes.`x'); DROP TABLE spans; --` = 1",
        "eval.`x') OR 1=1 --`.label IS NULL",
        'annotation.`say "hi"`.label IS NULL',
        "metadata.`$.a` = 'x'",
    ],
)
async def test_sql_inside_values_and_names_is_only_ever_data(store: Store, text: str) -> None:
    sql, _ = span_filter_sql(text)
    assert "DROP" not in sql and "1=1" not in sql
    selected = await spans(store, text)
    assert selected == (ALL_SPANS if "IS NULL" in text else set())
    assert await _span_count(store) == len(SPANS)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("name = 'x' OR 1=1 --", 14),
        ('attributes.x"); DROP TABLE spans; --', 12),
        ('attributes."x""); DROP TABLE spans; --" = 1', 11),
        ("name = 'a'; DROP TABLE spans", 10),
        ("name = 'a' UNION SELECT * FROM spans", 11),
    ],
)
async def test_sql_outside_quotes_is_rejected_before_anything_runs(store: Store, text: str, position: int) -> None:
    assert error_of(span_filter_sql, text).position == position
    assert await _span_count(store) == len(SPANS)


def test_values_are_bound_as_parameters_and_never_appear_in_the_sql() -> None:
    sql, params = span_filter_sql(
        "name = 'marker-one' AND attributes.llm.model_name IN ('marker-two') AND eval.`marker three`.score > 0.25"
    )
    assert "marker" not in sql and "0.25" not in sql and "llm.model_name" not in sql
    assert sql.count("?") == len(params)
    assert {"marker-one", "marker-two", "marker three", 0.25, '$."llm.model_name"'} <= set(params)
    assert span_filter_sql("name = 'x'' OR 1=1 --'") == ("(s.name = ?)", ["x' OR 1=1 --"])


# --- errors -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("", 0, "the filter is empty"),
        ("   \t ", 0, "the filter is empty"),
        ("status_code = ", 13, "expected a value after '=', got the end of the filter"),
        (
            "status_code 'ERROR'",
            12,
            "expected an operator (=, !=, <, <=, >, >=, IN, LIKE, BETWEEN or IS) after the column",
        ),
        ("name = 'abc", 7, "unterminated string"),
        ('name = "abc', 7, "unterminated quoted name or string"),
        ("(status_code = 'OK'", 0, "this '(' is never closed"),
        ("((status_code = 'OK') AND name = 'x'", 0, "this '(' is never closed"),
        ("status_code = 'OK')", 18, "unmatched ')'"),
        ("(status_code = 'OK' name = 'x')", 20, "expected AND, OR or ')' after a condition, got the name name"),
        ("span_kind IN 'LLM'", 13, "expected '(' and a list of values after IN"),
        ("span_kind IN ()", 14, "the IN list is empty"),
        ("span_kind IN ('LLM'", 13, "this IN list is never closed"),
        ("span_kind IN ('LLM' 'TOOL')", 20, "expected ',' or ')' in the IN list, got the string 'TOOL'"),
        ("span_kind IN ('LLM',)", 20, "expected a value after ','"),
        ("status_code = 'OK' status_message = 'x'", 19, "expected AND, OR or the end of the filter"),
        ("name = 'x' AND", 14, "expected a column name, got the end of the filter"),
        ("AND name = 'x'", 0, "expected a column name, got the keyword AND"),
        ("in = 'x'", 0, 'quote a column named in as "in"'),
        ("'name' = 'x'", 0, "column names are not single-quoted"),
        ("name = OK", 7, "quote text values with single quotes ('OK')"),
        ("name = NULL", 7, "use IS NULL or IS NOT NULL"),
        ("name IS 'x'", 8, "expected NULL or NOT NULL after IS"),
        ("span_kind NOT 'LLM'", 14, "expected IN, LIKE or BETWEEN after NOT"),
        ("latency_ms BETWEEN 1 5", 21, "expected AND between the two BETWEEN values"),
        ("name LIKE 5", 10, "LIKE needs a quoted pattern"),
        ("name LIKE 'a' ESCAPE 'ab'", 21, "ESCAPE needs a single quoted character"),
        ("name ! 'x'", 5, "did you mean '!='"),
        ("latency_ms > 5ms", 14, "unexpected 'm' right after the number 5"),
        ("name = 'x' # comment", 11, "unexpected character '#'"),
        ("bogus = 1", 0, "unknown column 'bogus'; spans filters use span_kind"),
        ("trace_eval.x.label = 'a'", 0, "unknown column 'trace_eval'"),
        ("name.first = 'x'", 5, "name has no sub-fields"),
        ("context.parent_id = 'x'", 8, "unknown context field 'parent_id'"),
        ("context = 'x'", 7, "context needs a field"),
        ("attributes = 'x'", 10, "attributes needs a key"),
        ("attributes. = 'x'", 11, "expected a name after '.'"),
        ("attributes.\"\" = 'x'", 11, "a quoted name may not be empty"),
        ("\"\" = 'x'", 0, "a quoted name may not be empty"),
        ("eval = 'x'", 4, "eval needs a name and a field"),
        ("eval.correctness = 'x'", 16, "eval.correctness needs a field"),
        ("eval.correctness.grade = 'x'", 17, "unknown evaluation field 'grade'"),
        ("eval.correctness.label.x = 'x'", 23, "eval.correctness.label has no sub-fields"),
        ("eval.x.metadata = 1", 15, "needs a key"),
        ("annotation.Correctness = 'x'", 22, "annotation.Correctness needs a field"),
        ("annotation.Correctness.who = 'x'", 23, "unknown annotation field 'who'"),
        ("latency_ms > 'fast'", 13, "latency_ms is a number; expected a number, got 'fast'"),
        ("eval.c.score = 'high'", 15, "eval.c.score is a number"),
        ("span_kind = 5", 12, "span_kind holds text codes"),
        ("start_time > 'yesterday'", 13, "start_time is a time; expected an ISO-8601 timestamp"),
        ("start_time > '2024-02-30'", 13, "ISO-8601"),
        ("start_time > 1714560000", 13, "ISO-8601"),
        ("latency_ms LIKE '1%'", 0, "latency_ms is a number; LIKE works on text"),
        ("attributes.cached > true", 20, "true and false can only be compared with = or !="),
    ],
)
def test_a_malformed_filter_is_a_400_that_points_at_the_offending_token(text: str, position: int, message: str) -> None:
    error = error_of(span_filter_sql, text)
    assert isinstance(error, ProblemError) and error.status == 400
    assert message in error.message
    assert error.position == position
    assert error.detail.endswith(f"{text}\n{' ' * position}^")


def test_nesting_beyond_the_limit_is_an_error_not_a_crash() -> None:
    text = "(" * 70 + "name = 'x'" + ")" * 70
    error = error_of(span_filter_sql, text)
    assert "nests" in error.message and error.position == 64


def test_more_than_five_hundred_conditions_is_an_error() -> None:
    text = " OR ".join(f"name = 'n{i}'" for i in range(501))
    error = error_of(span_filter_sql, text)
    assert "at most 500 conditions" in error.message and text[error.position :].startswith("name = 'n500'")


@pytest.mark.parametrize("compile_filter", [span_filter_sql, example_filter_sql, run_filter_sql])
@pytest.mark.parametrize("text", ["", "  ", "\n"])
def test_every_kind_of_filter_rejects_an_empty_filter(compile_filter: Compile, text: str) -> None:
    assert "empty" in error_of(compile_filter, text).message


def test_example_and_run_filters_report_errors_at_the_offending_token() -> None:
    assert error_of(example_filter_sql, "topic = ").position == 7
    assert error_of(example_filter_sql, "annotation.Correctness.bad = 'x'").position == 23
    assert error_of(example_filter_sql, "created_at > 'soon'").position == 13
    assert error_of(run_filter_sql, "eval.quality.bogus < 1").position == 13
    assert error_of(run_filter_sql, "output = 'a' AND").position == 16


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("latency_ms < 99999999999999999999999", ALL_SPANS),
        ("latency_ms > -99999999999999999999999", ALL_SPANS),
        ("attributes.llm.token_count.total < 99999999999999999999999", {"llm-ok", "llm-error"}),
        ("latency_ms < '99999999999999999999999'", ALL_SPANS),
        ("start_time < '9999-12-31T23:59:59-05:00'", ALL_SPANS),
        ("start_time > '0001-01-01T00:00:00+05:00'", ALL_SPANS),
        ("annotation.Correctness.updated_at < '9999-12-31T23:59:59-05:00'", {"llm-ok", "llm-error"}),
        ("annotation.Correctness.updated_at > '0001-01-01T00:00:00+05:00'", {"llm-ok", "llm-error"}),
    ],
)
async def test_numbers_and_times_beyond_sqlites_range_still_compare(
    store: Store, text: str, expected: set[str]
) -> None:
    assert await spans(store, text) == expected


def test_an_error_in_a_multi_line_filter_shows_the_offending_line_with_the_caret_under_the_token() -> None:
    text = "span_kind = 'LLM'\n\tAND latency_ms >\n  AND name = 'x'"
    error = error_of(span_filter_sql, text)
    assert error.position == text.index("AND name")
    assert error.detail.endswith("\n  AND name = 'x'\n  ^")
    assert "expected a value after '>', got the keyword AND" in error.detail

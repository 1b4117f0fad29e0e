"""``create_dataset``, ``create_dataset_from_spans`` and ``get_dataset_examples`` end to end against the engine."""

from __future__ import annotations

import csv
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from tests.engine.otlp_payloads import ingest, span
from tests.mcp_server.conftest import FIXED_NOW, call, call_error

SPAN_TIME = FIXED_NOW - timedelta(hours=1)


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


async def examples_of(client: AsyncArizeClient, dataset: str) -> list[dict[str, Any]]:
    return [
        {"id": e.id, **e.fields} async for e in client.datasets.list_examples(dataset, space=client.space, limit=500)
    ]


async def dataset_names(client: AsyncArizeClient) -> list[str]:
    return [d.name async for d in client.datasets.list()]


# --- create_dataset -------------------------------------------------------------------------------------------


async def test_create_dataset_from_rows_returns_ids_version_count_and_columns(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    rows = [
        {"question": "What is 2+2?", "answer": "4", "topic": "math"},
        {"question": "Capital of France?", "answer": "Paris"},
    ]
    result = await call(mcp_client, "create_dataset", {"name": "qa", "rows": rows})

    stored = await client.datasets.get(result["dataset"]["id"])
    assert result["dataset"] == {"id": stored.id, "name": "qa"}
    assert result["space"]["name"] == "default"
    assert stored.versions and result["version"]["id"] == stored.versions[0].id
    assert result["example_count"] == 2
    assert result["columns"] == [
        {"name": "answer", "rows": 2},
        {"name": "question", "rows": 2},
        {"name": "topic", "rows": 1},
    ]
    assert result["notes"] == ["column 'topic' is empty in 1 of 2 rows"]
    examples = await examples_of(client, "qa")
    assert [(e["question"], e["answer"]) for e in examples] == [("What is 2+2?", "4"), ("Capital of France?", "Paris")]


async def test_a_2500_row_csv_is_written_in_chunks_with_numbers_kept_as_text(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "big.csv", ["question", "code"], [[f"q{i}", f"{i:04d}"] for i in range(2500)])

    result = await call(mcp_client, "create_dataset", {"name": "big", "file": str(path)})

    assert result["example_count"] == 2500
    assert result["source"].startswith(f"csv file {path}")
    examples = await examples_of(client, "big")
    assert len(examples) == 2500
    assert examples[0]["code"] == "0000" and examples[2499] == {**examples[2499], "question": "q2499", "code": "2499"}
    stored = await client.datasets.get(result["dataset"]["id"])
    assert stored.versions is not None and len(stored.versions) == 1


@pytest.mark.parametrize("kind", ["json", "jsonl", "parquet"])
async def test_create_dataset_reads_json_jsonl_and_parquet_files(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path, kind: str
) -> None:
    rows = [{"input": "hi", "tags": ["a", "b"], "n": 1}, {"input": "bye", "tags": [], "n": 2}]
    path = tmp_path / f"data.{kind}"
    if kind == "json":
        path.write_text(json.dumps(rows))
    elif kind == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)

    result = await call(mcp_client, "create_dataset", {"name": f"from-{kind}", "file": str(path)})

    assert result["example_count"] == 2
    examples = await examples_of(client, f"from-{kind}")
    assert [(e["input"], e["tags"], e["n"]) for e in examples] == [("hi", ["a", "b"], 1), ("bye", [], 2)]


async def test_bad_rows_are_reported_by_number_and_column_and_nothing_is_created(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"input": "ok"}\n{}\n{"input": "x", "id": "e1"}\nnot json\n[1, 2]\n{"input": "fine"}\n')

    error = await call_error(mcp_client, "create_dataset", {"name": "bad", "file": str(path)})

    assert "nothing was written" in error
    assert "row 2: is empty" in error
    assert "row 3, column 'id'" in error and "assigned by the server" in error
    assert "row 4: is not JSON" in error
    assert "row 5: is an array" in error
    assert await dataset_names(client) == []


async def test_create_dataset_refuses_a_taken_name_both_sources_and_unreadable_files(
    mcp_client: Client, client: AsyncArizeClient, tmp_path: Path
) -> None:
    await client.datasets.create("golden", [{"input": "q"}])
    assert "already has a dataset named 'golden'" in await call_error(
        mcp_client, "create_dataset", {"name": "golden", "rows": [{"input": "q"}]}
    )
    both = await call_error(mcp_client, "create_dataset", {"name": "n", "rows": [{"a": 1}], "file": "x.csv"})
    assert "give exactly one" in both
    missing = await call_error(mcp_client, "create_dataset", {"name": "n", "file": str(tmp_path / "nope.csv")})
    assert "does not exist" in missing and "absolute path" in missing
    (tmp_path / "data.txt").write_text("a,b\n1,2\n")
    unknown = await call_error(mcp_client, "create_dataset", {"name": "n", "file": str(tmp_path / "data.txt")})
    assert "file_format" in unknown
    (tmp_path / "lines.json").write_text('{"a": 1}\n{"a": 2}\n')
    not_array = await call_error(mcp_client, "create_dataset", {"name": "n", "file": str(tmp_path / "lines.json")})
    assert "JSONL" in not_array
    assert await dataset_names(client) == ["golden"]


async def test_a_csv_with_an_unnamed_or_duplicate_column_is_refused(mcp_client: Client, tmp_path: Path) -> None:
    unnamed = write_csv(tmp_path / "unnamed.csv", ["", "input"], [["0", "hi"]])
    assert "has no name" in await call_error(mcp_client, "create_dataset", {"name": "n", "file": str(unnamed)})
    twice = write_csv(tmp_path / "twice.csv", ["input", "input"], [["a", "b"]])
    assert "two columns named 'input'" in await call_error(
        mcp_client, "create_dataset", {"name": "n", "file": str(twice)}
    )


async def test_reading_parquet_without_pyarrow_says_to_install_it(
    mcp_client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist([{"input": "hi"}]), path)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)

    error = await call_error(mcp_client, "create_dataset", {"name": "n", "file": str(path)})

    assert "pyarrow" in error and "install" in error


async def test_near_duplicate_column_names_are_pointed_out(mcp_client: Client) -> None:
    result = await call(
        mcp_client, "create_dataset", {"name": "n", "rows": [{"input": "a", "Input": "b"}, {"input": "c"}]}
    )
    assert any("'Input', 'input'" in note for note in result["notes"])


# --- create_dataset_from_spans ------------------------------------------------------------------------------------


async def _seed_spans(engine: Engine) -> None:
    spans = [
        span(
            f"{i:016x}",
            trace_id=f"{i:032x}",
            start=SPAN_TIME + timedelta(minutes=i),
            attributes={
                "input.value": f"question {i}",
                "output.value": f"answer {i}",
                "metadata": json.dumps({"user": f"u{i}"}),
            },
        )
        for i in range(1, 4)
    ]
    spans.append(
        span(
            "00000000000000aa",
            trace_id="a" * 32,
            start=SPAN_TIME,
            attributes={"input.value": "no answer yet"},
        )
    )
    spans.append(span("00000000000000bb", trace_id="b" * 32, kind="TOOL", start=SPAN_TIME, attributes={}))
    await ingest(engine, "chat-app", spans)


async def test_create_dataset_from_spans_keeps_span_and_trace_ids_and_reports_missing_fields(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine
) -> None:
    await _seed_spans(engine)

    result = await call(
        mcp_client,
        "create_dataset_from_spans",
        {"name": "from-traffic", "project": "chat-app", "filter": "span_kind = 'LLM'"},
    )

    assert result["project"]["name"] == "chat-app"
    assert (result["spans_read"], result["example_count"], result["skipped_spans"]) == (4, 4, 0)
    assert result["columns"] == {"input": "attributes.input.value", "output": "attributes.output.value"}
    assert result["missing"] == [
        {"column": "output", "path": "attributes.output.value", "spans": 1, "sample_span_ids": ["00000000000000aa"]}
    ]
    examples = {e["span_id"]: e for e in await examples_of(client, "from-traffic")}
    assert set(examples) == {"0000000000000001", "0000000000000002", "0000000000000003", "00000000000000aa"}
    first = examples["0000000000000001"]
    assert (first["input"], first["output"], first["trace_id"]) == ("question 1", "answer 1", f"{1:032x}")
    assert "output" not in examples["00000000000000aa"]
    assert result["window_end"] == "2026-08-10T12:30:00.000Z"


async def test_span_ids_with_a_field_map_and_skip_incomplete(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine
) -> None:
    await _seed_spans(engine)

    result = await call(
        mcp_client,
        "create_dataset_from_spans",
        {
            "name": "picked",
            "project": "chat-app",
            "span_ids": ["0000000000000002", "00000000000000AA", "00000000000000ff"],
            "columns": {"question": "attributes.input.value", "reply": "output.value", "user": "metadata.user"},
            "skip_incomplete": True,
        },
    )

    assert result["span_ids_not_found"] == ["00000000000000ff"]
    assert (result["spans_read"], result["example_count"], result["skipped_spans"]) == (2, 1, 1)
    (example,) = await examples_of(client, "picked")
    assert {k: example[k] for k in ("question", "reply", "user", "span_id")} == {
        "question": "question 2",
        "reply": "answer 2",
        "user": "u2",
        "span_id": "0000000000000002",
    }


async def test_a_filter_that_matches_no_span_creates_nothing_and_says_what_to_check(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine
) -> None:
    await _seed_spans(engine)
    error = await call_error(
        mcp_client,
        "create_dataset_from_spans",
        {"name": "empty", "project": "chat-app", "filter": "span_kind = 'RETRIEVER'"},
    )
    assert "no span of project 'chat-app' matches" in error and "search_spans" in error
    old = await call_error(
        mcp_client,
        "create_dataset_from_spans",
        {"name": "empty", "project": "chat-app", "start_time": "-30d", "end_time": "-2d"},
    )
    assert "widen start_time" in old
    assert await dataset_names(client) == []


async def test_create_dataset_from_spans_refuses_bad_arguments(mcp_client: Client, engine: Engine) -> None:
    await _seed_spans(engine)
    assert "is not a span ID" in await call_error(
        mcp_client, "create_dataset_from_spans", {"name": "n", "project": "chat-app", "span_ids": ["x' OR 1=1"]}
    )
    assert "span_id / trace_id" in await call_error(
        mcp_client,
        "create_dataset_from_spans",
        {"name": "n", "project": "chat-app", "columns": {"span_id": "context.span_id"}},
    )
    assert "must be before end_time" in await call_error(
        mcp_client,
        "create_dataset_from_spans",
        {"name": "n", "project": "chat-app", "start_time": "-1d", "end_time": "-2d"},
    )
    assert "project 'nope' not found" in await call_error(
        mcp_client, "create_dataset_from_spans", {"name": "n", "project": "nope"}
    )


# --- get_dataset_examples -----------------------------------------------------------------------------------------


async def test_get_dataset_examples_pages_with_a_cursor_and_cuts_long_values(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    rows = [{"input": f"q{i}", "context": "x" * 1000, "topic": "math" if i % 2 else "geo"} for i in range(25)]
    await client.datasets.create("qa", rows)

    first = await call(mcp_client, "get_dataset_examples", {"dataset": "qa", "limit": 10})
    second = await call(
        mcp_client, "get_dataset_examples", {"dataset": "qa", "limit": 20, "cursor": first["next_cursor"]}
    )

    assert first["has_more"] is True and len(first["items"]) == 10
    assert second["has_more"] is False and second["next_cursor"] is None
    inputs = [e["values"]["input"] for e in first["items"] + second["items"]]
    assert inputs == [f"q{i}" for i in range(25)]
    context = first["items"][0]["values"]["context"]
    assert context.startswith("x" * 300) and "[cut 700 chars; call get_dataset_examples(dataset='qa'" in context
    assert first["columns"] == ["input", "context", "topic"]
    assert first["dataset"]["name"] == "qa" and first["version"]["id"]


async def test_get_dataset_examples_filters_and_projects_fields(mcp_client: Client, client: AsyncArizeClient) -> None:
    await client.datasets.create(
        "qa", [{"input": {"question": f"q{i}"}, "topic": "math" if i % 2 else "geo"} for i in range(6)]
    )

    result = await call(
        mcp_client,
        "get_dataset_examples",
        {"dataset": "qa", "filter": "topic = 'math'", "fields": ["input.question", "nope"]},
    )

    assert [e["values"] for e in result["items"]] == [{"input.question": f"q{i}"} for i in (1, 3, 5)]
    assert result["fields_not_found"] == ["nope"]
    none = await call(mcp_client, "get_dataset_examples", {"dataset": "qa", "filter": "topic = 'art'"})
    assert none["items"] == [] and "no example matches" in (none["note"] or "")
    bad = await call_error(mcp_client, "get_dataset_examples", {"dataset": "qa", "filter": "topic = "})
    assert "filter" in bad
    missing = await call_error(mcp_client, "get_dataset_examples", {"dataset": "nope"})
    assert "dataset 'nope' not found" in missing

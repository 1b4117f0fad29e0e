"""``create_dataset`` (from rows, files or spans) and ``get_dataset_examples`` end to end against the engine."""

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
    assert [(c["name"], c["rows"]) for c in result["columns"]] == [("answer", 2), ("question", 2), ("topic", 1)]
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


# --- create_dataset from spans ----------------------------------------------------------------------------------


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
        "create_dataset",
        {"name": "from-traffic", "project": "chat-app", "filter": "span_kind = 'LLM'"},
    )

    assert result["project"]["name"] == "chat-app"
    assert (result["spans_read"], result["example_count"], result["skipped_spans"]) == (4, 4, 0)
    columns = {c["name"]: c for c in result["columns"]}
    assert {name: c["source"] for name, c in columns.items()} == {
        "input": "attributes.input.value",
        "output": "attributes.output.value",
        "span_id": "context.span_id",
        "trace_id": "context.trace_id",
    }
    assert (columns["output"]["rows"], columns["output"]["missing_on"]) == (3, ["00000000000000aa"])
    assert columns["input"]["missing_on"] is None
    examples = {e["span_id"]: e for e in await examples_of(client, "from-traffic")}
    assert set(examples) == {"0000000000000001", "0000000000000002", "0000000000000003", "00000000000000aa"}
    first = examples["0000000000000001"]
    assert (first["input"], first["output"], first["trace_id"]) == ("question 1", "answer 1", f"{1:032x}")
    assert "output" not in examples["00000000000000aa"]
    assert result["window"]["end"] == "2026-08-10T12:30:00.000Z"


async def test_span_ids_with_a_field_map_and_skip_incomplete(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine
) -> None:
    await _seed_spans(engine)

    result = await call(
        mcp_client,
        "create_dataset",
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
        "create_dataset",
        {"name": "empty", "project": "chat-app", "filter": "span_kind = 'RETRIEVER'"},
    )
    assert "no span of project 'chat-app' matches" in error and "search_spans" in error
    old = await call_error(
        mcp_client,
        "create_dataset",
        {"name": "empty", "project": "chat-app", "start_time": "-30d", "end_time": "-2d"},
    )
    assert "widen start_time" in old
    assert await dataset_names(client) == []


async def test_create_dataset_from_spans_refuses_bad_arguments(mcp_client: Client, engine: Engine) -> None:
    await _seed_spans(engine)
    assert "is not a span ID" in await call_error(
        mcp_client, "create_dataset", {"name": "n", "project": "chat-app", "span_ids": ["x' OR 1=1"]}
    )
    assert "span_id / trace_id" in await call_error(
        mcp_client,
        "create_dataset",
        {"name": "n", "project": "chat-app", "columns": {"span_id": "context.span_id"}},
    )
    assert "must be before end_time" in await call_error(
        mcp_client,
        "create_dataset",
        {"name": "n", "project": "chat-app", "start_time": "-1d", "end_time": "-2d"},
    )
    assert "project 'nope' not found" in await call_error(
        mcp_client, "create_dataset", {"name": "n", "project": "nope"}
    )


async def test_create_dataset_takes_exactly_one_source_and_span_arguments_only_with_a_project(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine
) -> None:
    await _seed_spans(engine)
    both = await call_error(mcp_client, "create_dataset", {"name": "n", "rows": [{"a": 1}], "project": "chat-app"})
    assert "give exactly one" in both and "project" in both
    stray = await call_error(
        mcp_client, "create_dataset", {"name": "n", "rows": [{"a": 1}], "filter": "span_kind = 'LLM'"}
    )
    assert "filter: applies only with project=" in stray
    assert await dataset_names(client) == []


def rag_trace(number: int, *, retrievers: int = 1, minutes: int = 0) -> list[dict[str, Any]]:
    """One request of a RAG app: a CHAIN root with the question, ``retrievers`` RETRIEVER children with two
    documents each, and an LLM child with the prompt and the answer; span IDs end in 0 (root), 1.. (retrievers)
    and f (the LLM span)."""
    trace = f"{number:032x}"
    root = f"{number:015x}0"
    start = SPAN_TIME + timedelta(minutes=minutes or number)
    spans = [
        span(
            root,
            trace_id=trace,
            kind="CHAIN",
            name="rag",
            start=start,
            attributes={"input.value": f"question {number}"},
        )
    ]
    for r in range(1, retrievers + 1):
        spans.append(
            span(
                f"{number:015x}{r}",
                trace_id=trace,
                parent_id=root,
                kind="RETRIEVER",
                name=f"retrieve-{r}",
                start=start,
                attributes={
                    "retrieval.documents.0.document.content": f"doc {number}.{r}a",
                    "retrieval.documents.1.document.content": f"doc {number}.{r}b",
                },
            )
        )
    spans.append(
        span(
            f"{number:015x}f",
            trace_id=trace,
            parent_id=root,
            kind="LLM",
            name="generate",
            start=start,
            attributes={"input.value": f"prompt {number}", "output.value": f"answer {number}"},
        )
    )
    return spans


SIBLING_COLUMNS = {
    "question": "span_kind = 'CHAIN' -> attributes.input.value",
    "documents": "span_kind = 'RETRIEVER' -> attributes.retrieval.documents.contents",
    "answer": "attributes.output.value",
}


async def test_columns_can_come_from_the_one_other_span_of_the_same_trace_that_matches_a_filter(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine
) -> None:
    await ingest(engine, "rag", rag_trace(1) + rag_trace(2) + rag_trace(3))

    result = await call(
        mcp_client,
        "create_dataset",
        {"name": "rag-set", "project": "rag", "filter": "span_kind = 'LLM'", "columns": SIBLING_COLUMNS},
    )

    assert (result["spans_read"], result["example_count"]) == (3, 3)
    columns = {c["name"]: c for c in result["columns"]}
    assert columns["documents"]["source"] == SIBLING_COLUMNS["documents"]
    assert columns["documents"]["rows"] == 3 and columns["documents"]["missing_on"] is None
    examples = {e["span_id"]: e for e in await examples_of(client, "rag-set")}
    second = examples[f"{2:015x}f"]
    assert second["question"] == "question 2" and second["answer"] == "answer 2"
    assert second["documents"] == ["doc 2.1a", "doc 2.1b"]
    assert second["trace_id"] == f"{2:032x}"


async def test_a_trace_with_no_matching_other_span_leaves_the_column_missing_and_skip_incomplete_drops_it(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine
) -> None:
    await ingest(engine, "rag", rag_trace(1) + rag_trace(2, retrievers=0))

    kept = await call(
        mcp_client,
        "create_dataset",
        {"name": "kept", "project": "rag", "filter": "span_kind = 'LLM'", "columns": SIBLING_COLUMNS},
    )
    dropped = await call(
        mcp_client,
        "create_dataset",
        {
            "name": "dropped",
            "project": "rag",
            "filter": "span_kind = 'LLM'",
            "columns": SIBLING_COLUMNS,
            "skip_incomplete": True,
        },
    )

    documents = next(c for c in kept["columns"] if c["name"] == "documents")
    assert (documents["rows"], documents["missing_on"]) == (1, [f"{2:015x}f"])
    assert kept["example_count"] == 2
    assert (dropped["example_count"], dropped["skipped_spans"]) == (1, 1)
    assert [e["span_id"] for e in await examples_of(client, "dropped")] == [f"{1:015x}f"]


async def test_the_note_counts_apart_traces_without_a_matching_span_and_matching_spans_without_the_path(
    mcp_client: Client, engine: Engine
) -> None:
    bare = [s for s in rag_trace(3) if s["name"] != "retrieve-1"] + [
        span(f"{3:015x}1", trace_id=f"{3:032x}", parent_id=f"{3:015x}0", kind="RETRIEVER", start=SPAN_TIME)
    ]
    await ingest(engine, "rag", rag_trace(1) + rag_trace(2, retrievers=0) + bare)

    result = await call(
        mcp_client,
        "create_dataset",
        {"name": "noted", "project": "rag", "filter": "span_kind = 'LLM'", "columns": SIBLING_COLUMNS},
    )

    documents = next(c for c in result["columns"] if c["name"] == "documents")
    assert documents["missing"] == 2
    note = next(n for n in result["notes"] if n.startswith("column 'documents'"))
    assert "1 spans have no other span in their trace matching" in note
    assert "and on 1 more the matching span has no value at attributes.retrieval.documents.contents" in note


async def test_several_matching_spans_in_one_trace_create_nothing_and_name_them(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine
) -> None:
    await ingest(engine, "rag", rag_trace(1) + rag_trace(2, retrievers=2))

    error = await call_error(
        mcp_client,
        "create_dataset",
        {"name": "rag-set", "project": "rag", "filter": "span_kind = 'LLM'", "columns": SIBLING_COLUMNS},
    )

    assert "nothing was created" in error
    assert "columns['documents']" in error and f"trace {2:032x}" in error
    assert f"{2:015x}1 'retrieve-1'" in error and f"{2:015x}2 'retrieve-2'" in error
    assert "at most one other span per trace" in error
    assert await dataset_names(client) == []
    bad = await call_error(
        mcp_client,
        "create_dataset",
        {"name": "rag-set", "project": "rag", "columns": {"documents": " -> attributes.retrieval.documents"}},
    )
    assert "columns['documents']" in bad and "FILTER -> path" in bad


async def test_the_created_dataset_is_summed_up_in_one_line(mcp_client: Client, engine: Engine) -> None:
    await _seed_spans(engine)
    result = await mcp_client.call_tool("create_dataset", {"name": "rows", "rows": [{"q": "a"}, {"q": "b"}]})
    text = result.content[0].text if result.content[0].type == "text" else ""
    assert text.splitlines()[0].startswith("Created dataset 'rows' (id ")
    assert "2 examples" in text.splitlines()[0]

    result = await mcp_client.call_tool(
        "create_dataset", {"name": "spans", "project": "chat-app", "filter": "span_kind = 'LLM'"}
    )
    line = result.content[0].text.splitlines()[0] if result.content[0].type == "text" else ""
    assert line.startswith("Created dataset 'spans' (id ") and "4 examples from 4 spans of project 'chat-app'" in line
    assert "'output' missing on 1" in line


# --- get_dataset_examples -----------------------------------------------------------------------------------------


async def test_get_dataset_examples_pages_with_a_cursor_and_cuts_long_values(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    rows = [{"input": f"q{i}", "context": "x" * 1000, "topic": "math" if i % 2 else "geo"} for i in range(25)]
    await client.datasets.create("qa", rows)

    first = await call(mcp_client, "get_dataset_examples", {"dataset": "qa"})
    pages = [first]
    while pages[-1]["has_more"]:
        cursor = pages[-1]["next_cursor"]
        pages.append(await call(mcp_client, "get_dataset_examples", {"dataset": "qa", "cursor": cursor}))
        assert len(pages) < 10

    assert len(pages) >= 3
    assert pages[-1]["next_cursor"] is None
    inputs = [e["values"]["input"] for page in pages for e in page["items"]]
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


async def test_a_page_of_wide_examples_stays_under_8000_chars_and_pages_on(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    wide = [{f"column_{c:02d}": f"{i}-" + "y" * 400 for c in range(30)} for i in range(3)]
    await client.datasets.create("wide", wide)
    rows = [{"input": f"q{i}", "a": "x" * 500, "b": "x" * 500, "c": "x" * 500} for i in range(25)]
    await client.datasets.create("many", rows)

    for dataset in ("wide", "many"):
        result = await mcp_client.call_tool("get_dataset_examples", {"dataset": dataset})
        text = result.content[0].text if result.content[0].type == "text" else ""
        data = result.structured_content or {}
        assert len(text) <= 8000, (dataset, len(text))
        assert data["has_more"] is True and data["items"], dataset
        assert "more follow" in text.splitlines()[0], dataset
    one = (await call(mcp_client, "get_dataset_examples", {"dataset": "wide"}))["items"][0]
    assert len(one["values"]) == 30 and "[cut " in one["values"]["column_00"]
    projected = await call(mcp_client, "get_dataset_examples", {"dataset": "wide", "fields": ["column_01"]})
    assert projected["items"][0]["values"] == {"column_01": wide[0]["column_01"]}

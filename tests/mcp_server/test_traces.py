"""``search_spans`` and ``get_trace`` through the MCP protocol (both eras), against the engine."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from typing import Any

from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.store.evaluations import upsert_evaluation
from arize_skills.mcp_server import build_server
from arize_skills.mcp_server.budget import DEFAULT_BUDGET_CHARS
from arize_skills.settings import Settings
from tests.engine.otlp_payloads import ingest, span
from tests.mcp_server.conftest import FIXED_NOW, call, call_error

HOUR = timedelta(hours=1)
TRACE = "a" * 32
BIG = 50_000


def sid(n: int) -> str:
    """A span ID."""
    return format(n, "016x")


def llm(n: int, *, start: datetime, output: str = "", trace: str = TRACE, **kwargs: Any) -> dict[str, Any]:
    """An LLM span with an input, an output and a model name."""
    attributes = {
        "input.value": f"question {n}",
        "output.value": output or f"answer {n}",
        "llm.model_name": "gpt-4o",
        **kwargs.pop("attributes", {}),
    }
    return span(sid(n), trace_id=trace, start=start, name=f"call-{n}", attributes=attributes, **kwargs)


async def evaluate(engine: Engine, project: str, span_id: str, name: str, **values: Any) -> None:
    """Store an evaluation result on a span, as a task run does."""

    def write(conn: sqlite3.Connection) -> None:
        num = conn.execute(
            "SELECT s.project_num FROM spans AS s JOIN objects AS o ON o.num = s.project_num"
            " WHERE o.name = ? AND s.span_id = ?",
            (project, span_id),
        ).fetchone()[0]
        upsert_evaluation(conn, "span", f"{num}:{span_id}", name, now=engine.now(), **values)

    await engine.store.write(write)


async def walk(mcp: Client, tool: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """Every result of a listing tool, following next_cursor."""
    results = []
    cursor = None
    while True:
        result = await call(mcp, tool, {**arguments, **({"cursor": cursor} if cursor else {})})
        results.append(result)
        if not result["has_more"]:
            assert result["next_cursor"] is None
            return results
        cursor = result["next_cursor"]


# --- search_spans ------------------------------------------------------------------------------------------------


async def test_search_spans_returns_compact_rows_of_the_last_seven_days_newest_first(
    mcp_client: Client, engine: Engine
) -> None:
    await ingest(
        engine,
        "chat",
        [
            llm(1, start=FIXED_NOW - 3 * HOUR),
            llm(2, start=FIXED_NOW - 2 * HOUR, status=2, message="rate limited"),
            llm(3, start=FIXED_NOW - 8 * 24 * HOUR),
        ],
    )
    await evaluate(engine, "chat", sid(1), "correctness", label="correct", score=1.0, explanation="matches")

    result = await call(mcp_client, "search_spans", {"project": "chat"})

    assert result["project"]["name"] == "chat" and result["project"]["id"]
    assert result["window"]["end"].startswith("2026-08-10T12:30")
    assert result["window"]["start"].startswith("2026-08-03T12:30")
    assert [row["span_id"] for row in result["items"]] == [sid(2), sid(1)]
    failed, passed = result["items"]
    assert failed["status"] == "ERROR" and failed["status_message"] == "rate limited"
    assert passed == {
        "span_id": sid(1),
        "name": "call-1",
        "kind": "LLM",
        "status": "UNSET",
        "start_time": passed["start_time"],
        "latency_ms": 100.0,
        "input": "question 1",
        "output": "answer 1",
        "evals": {"correctness": {"label": "correct", "score": 1.0, "explanation": "matches"}},
        "trace_id": TRACE,
    }
    assert result["fields"] == ["input", "output", "evals"]
    assert result["has_more"] is False and result["next_cursor"] is None
    assert result["no_match"] is None


async def test_fields_pick_attribute_and_eval_paths_instead_of_the_default_columns(
    mcp_client: Client, engine: Engine
) -> None:
    await ingest(
        engine,
        "chat",
        [llm(1, start=FIXED_NOW - HOUR, attributes={"llm.token_count.total": 42, "metadata": '{"env": "prod"}'})],
    )
    await evaluate(engine, "chat", sid(1), "correctness", label="correct", score=1.0)
    await evaluate(engine, "chat", sid(1), "toxicity", label="clean", score=0.0)

    result = await call(
        mcp_client,
        "search_spans",
        {
            "project": "chat",
            "fields": [
                "attributes.llm.model_name",
                "attributes.llm.token_count.total",
                "metadata.env",
                "eval.toxicity",
            ],
        },
    )

    row = result["items"][0]
    assert row["attributes"] == {
        "attributes.llm.model_name": "gpt-4o",
        "attributes.llm.token_count.total": 42,
        "metadata.env": "prod",
    }
    assert row["evals"] == {"toxicity": {"label": "clean", "score": 0.0}}
    assert "input" not in row and "output" not in row


async def test_a_filter_selects_spans_and_a_bad_filter_or_field_is_refused_naming_it(
    mcp_client: Client, engine: Engine
) -> None:
    await ingest(
        engine,
        "chat",
        [llm(1, start=FIXED_NOW - HOUR), llm(2, start=FIXED_NOW - HOUR, status=2)],
    )

    result = await call(mcp_client, "search_spans", {"project": "chat", "filter": "status_code = 'ERROR'"})
    assert [row["span_id"] for row in result["items"]] == [sid(2)]
    assert result["filter"] == "status_code = 'ERROR'"

    text = await call_error(mcp_client, "search_spans", {"project": "chat", "filter": "status_code = = 'ERROR'"})
    assert "400" in text and "fix the argument" in text
    text = await call_error(mcp_client, "search_spans", {"project": "chat", "fields": ["prompt"]})
    assert "fields: 'prompt' is not a field" in text and "'attributes.<path>'" in text
    text = await call_error(mcp_client, "search_spans", {"project": "chat", "start_time": "yesterday"})
    assert "start_time" in text and "-7d" in text
    text = await call_error(mcp_client, "search_spans", {"project": "nope"})
    assert "project 'nope' not found" in text and "find(kind='project'" in text


async def test_a_project_with_large_payloads_stays_within_the_stated_budget_and_pages_through_every_span_once(
    mcp_client: Client, engine: Engine
) -> None:
    spans = [llm(n, start=FIXED_NOW - n * timedelta(minutes=1), output=f"{n}:" + "x" * BIG) for n in range(1, 61)]
    await ingest(engine, "big", spans)

    results = await walk(mcp_client, "search_spans", {"project": "big", "limit": 100})

    first = results[0]
    assert first["budget_chars"] == DEFAULT_BUDGET_CHARS
    slack = max(len(json.dumps(row)) for row in first["items"])
    for result in results:
        assert len(json.dumps(result)) <= DEFAULT_BUDGET_CHARS + slack + 1000
    assert len(results) > 1, "sixty 50 KB outputs cannot fit one answer"
    assert first["has_more"] and "cursor=next_cursor" in first["note"]
    seen = [row["span_id"] for result in results for row in result["items"]]
    assert seen == [sid(n) for n in range(1, 61)]
    output = first["items"][0]["output"]
    assert output.startswith("1:xxx") and len(output) < 500
    assert f"call get_trace(project='big', trace_id='{TRACE}', span_id='{sid(1)}', full=true)" in output


async def test_a_filter_that_matches_nothing_says_how_many_spans_the_window_holds_and_what_may_be_wrong(
    mcp_client: Client, engine: Engine
) -> None:
    await ingest(engine, "chat", [llm(n, start=FIXED_NOW - n * HOUR) for n in range(1, 6)])
    await evaluate(engine, "chat", sid(1), "correctness", label="correct")

    result = await call(
        mcp_client,
        "search_spans",
        {"project": "chat", "filter": "eval.Correctness.label = 'correct' AND attributes.llm.model = \"gpt-4o\""},
    )

    assert result["items"] == []
    diagnosis = result["no_match"]
    assert diagnosis["spans_in_window"] == 5 and diagnosis["count_complete"] is True
    hints = " | ".join(diagnosis["hints"])
    assert "eval named 'Correctness' (eval names seen: correctness)" in hints
    assert "attributes.llm.model;" in hints
    assert "single quotes" in hints
    assert "matched none of the 5 spans of project 'chat'" in result["note"]


async def test_an_empty_window_names_the_latest_span_and_an_empty_project_says_it_has_no_spans(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await ingest(engine, "old", [llm(1, start=FIXED_NOW - 20 * 24 * HOUR)])
    await client.projects.create("empty")

    result = await call(mcp_client, "search_spans", {"project": "old", "filter": "span_kind = 'LLM'"})
    assert result["items"] == []
    assert result["no_match"]["spans_in_window"] == 0
    assert result["no_match"]["latest_span_time"].startswith("2026-07-21T")
    assert "has no spans between" in result["note"] and "widen the window" in result["note"]
    assert "start_time='2026-07-21'" in result["no_match"]["hints"][0]

    widened = await call(mcp_client, "search_spans", {"project": "old", "start_time": "2026-07-21"})
    assert [row["span_id"] for row in widened["items"]] == [sid(1)]

    result = await call(mcp_client, "search_spans", {"project": "empty"})
    assert result["no_match"]["latest_span_time"] is None
    assert "no spans in the last 365 days" in result["note"]


async def test_a_cursor_keeps_the_window_of_the_first_page_while_the_clock_moves(
    engine: Engine, mcp_settings: Settings
) -> None:
    await ingest(engine, "chat", [llm(n, start=FIXED_NOW - n * timedelta(minutes=10)) for n in range(1, 6)])
    now = [FIXED_NOW]
    server = build_server(mcp_settings, engine=engine, clock=lambda: now[0])
    async with Client(server, mode="legacy") as mcp:
        first = await call(mcp, "search_spans", {"project": "chat", "limit": 2})
        await ingest(engine, "chat", [llm(99, start=FIXED_NOW + timedelta(minutes=30))])
        now[0] = FIXED_NOW + HOUR
        second = await call(mcp, "search_spans", {"project": "chat", "limit": 10, "cursor": first["next_cursor"]})
        text = await call_error(
            mcp, "search_spans", {"project": "chat", "filter": "span_kind = 'LLM'", "cursor": first["next_cursor"]}
        )
    assert [row["span_id"] for row in first["items"] + second["items"]] == [sid(n) for n in range(1, 6)]
    assert second["window"] == first["window"]
    assert "other arguments" in text


# --- get_trace ---------------------------------------------------------------------------------------------------


def trace_spans() -> list[dict[str, Any]]:
    """A trace: an agent root, two children (the second failed), and a grandchild with a 50 KB output."""
    base = FIXED_NOW - HOUR
    return [
        span(sid(10), trace_id=TRACE, name="agent", kind="AGENT", start=base, duration_ms=900),
        span(
            sid(12),
            trace_id=TRACE,
            parent_id=sid(10),
            name="tool",
            kind="TOOL",
            start=base + timedelta(milliseconds=500),
            status=2,
            message="timeout",
        ),
        span(
            sid(11),
            trace_id=TRACE,
            parent_id=sid(10),
            name="plan",
            kind="CHAIN",
            start=base + timedelta(milliseconds=10),
        ),
        span(
            sid(13),
            trace_id=TRACE,
            parent_id=sid(11),
            name="llm",
            kind="LLM",
            start=base + timedelta(milliseconds=20),
            attributes={"input.value": "plan it", "output.value": "p" * BIG, "llm.model_name": "gpt-4o"},
        ),
        span(sid(20), trace_id="b" * 32, name="other trace", start=base),
    ]


async def test_get_trace_shows_the_spans_as_a_tree_with_compact_values(mcp_client: Client, engine: Engine) -> None:
    await ingest(engine, "agent", trace_spans())
    await evaluate(engine, "agent", sid(13), "hallucination", label="factual", score=1.0)

    result = await call(mcp_client, "get_trace", {"project": "agent", "trace_id": TRACE.upper()})

    assert result["trace_id"] == TRACE
    assert [(row["name"], row["depth"]) for row in result["items"]] == [
        ("agent", 0),
        ("plan", 1),
        ("llm", 2),
        ("tool", 1),
    ]
    assert result["span_count"] == 4 and result["root_span_ids"] == [sid(10)]
    assert result["error_count"] == 1 and result["duration_ms"] == 900.0
    assert result["has_more"] is False and result["full"] is False
    llm_row = result["items"][2]
    assert llm_row["parent_id"] == sid(11)
    assert llm_row["evals"] == {"hallucination": {"label": "factual", "score": 1.0}}
    assert llm_row["output"].startswith("p" * 200 + "…[cut; over 2,000 chars; call get_trace(project='agent'")
    assert f"span_id='{sid(13)}', full=true)" in llm_row["output"]
    assert "attributes" not in llm_row
    assert result["items"][3]["status_message"] == "timeout"


async def test_get_trace_full_for_one_span_returns_its_whole_values_and_attributes(
    mcp_client: Client, engine: Engine
) -> None:
    await ingest(engine, "agent", trace_spans())

    result = await call(
        mcp_client, "get_trace", {"project": "agent", "trace_id": TRACE, "span_id": sid(13), "full": True}
    )

    assert [row["span_id"] for row in result["items"]] == [sid(13)]
    row = result["items"][0]
    assert row["output"] == "p" * BIG
    assert row["attributes"]["llm.model_name"] == "gpt-4o"
    assert row["attributes"]["openinference.span.kind"] == "LLM"
    assert "output.value" not in row["attributes"]


async def test_a_large_trace_is_paged_in_tree_order_within_the_budget(mcp_client: Client, engine: Engine) -> None:
    base = FIXED_NOW - HOUR
    spans = [span(sid(1), trace_id=TRACE, name="root", kind="CHAIN", start=base)]
    spans += [
        span(
            sid(100 + i),
            trace_id=TRACE,
            parent_id=sid(1),
            name=f"step-{i:03d}",
            start=base + timedelta(milliseconds=i + 1),
            attributes={"input.value": "i" * 1000, "output.value": "o" * 1000},
        )
        for i in range(120)
    ]
    await ingest(engine, "agent", spans)

    results = await walk(mcp_client, "get_trace", {"project": "agent", "trace_id": TRACE})

    assert len(results) > 1
    names = [row["name"] for result in results for row in result["items"]]
    assert names == ["root"] + [f"step-{i:03d}" for i in range(120)]
    slack = max(len(json.dumps(row)) for row in results[0]["items"])
    assert all(len(json.dumps(result)) <= DEFAULT_BUDGET_CHARS + slack + 1000 for result in results)
    assert "call again with cursor=next_cursor" in results[0]["note"]


async def test_get_trace_errors_say_what_to_check(mcp_client: Client, engine: Engine) -> None:
    await ingest(engine, "agent", trace_spans())

    text = await call_error(mcp_client, "get_trace", {"project": "agent", "trace_id": "c" * 32})
    assert "has no spans in project 'agent' between" in text and "start_time" in text
    text = await call_error(mcp_client, "get_trace", {"project": "agent", "trace_id": "x' OR '1'='1"})
    assert "trace_id" in text and "not a span or trace ID" in text
    text = await call_error(mcp_client, "get_trace", {"project": "agent", "trace_id": TRACE, "span_id": sid(20)})
    assert "span_id" in text and "has no span" in text

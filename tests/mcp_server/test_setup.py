"""AI integrations, annotation configs and ``annotate`` through the MCP protocol (both eras)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitRequestParams, ElicitResult

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.store.integrations import integration_secret
from arize_skills.engine.store.objects import get_object
from arize_skills.mcp_server.state import AppState
from arize_skills.models.ids import decode_id
from tests.engine.otlp_payloads import ingest, span
from tests.mcp_server.conftest import FIXED_NOW, call, call_error

SECRET = "sk-test-NEVER-SHOW-4f9a8b7c6d5e"
HEADER_SECRET = "hdr-NEVER-SHOW-0a1b2c3d4e"
HOUR = timedelta(hours=1)


@pytest.fixture(autouse=True)
def engine_clock_at_fixed_now(engine: Engine) -> Iterator[None]:
    """The engine agrees with the server's clock, so windows ending "now" mean the same moment to both."""
    engine.clock = lambda: FIXED_NOW
    yield


def sid(n: int) -> str:
    """A span ID."""
    return format(n, "016x")


async def stored_integration(engine: Engine, integration_id: str) -> tuple[str | None, dict[str, Any]]:
    """The key and the document the engine stored for an integration."""
    decoded = decode_id(integration_id)
    assert decoded is not None

    def read(conn: sqlite3.Connection) -> tuple[str | None, dict[str, Any]]:
        stored = get_object(conn, "LlmIntegration", decoded.number)
        assert stored is not None
        return integration_secret(conn, decoded.number), stored.body

    return await engine.store.read(read)


# --- create_ai_integration ---------------------------------------------------------------------------------------


async def test_an_integration_takes_its_key_from_the_named_variable_and_never_shows_it(
    mcp_client: Client, engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", SECRET)
    monkeypatch.setenv("TEST_HEADER_KEY", HEADER_SECRET)
    caplog.set_level(logging.DEBUG)

    result = await mcp_client.call_tool(
        "create_ai_integration",
        {
            "name": "openai-main",
            "provider": "OPEN_AI",
            "api_key_env": "TEST_OPENAI_KEY",
            "model_names": ["gpt-4o-mini"],
            "headers": {"x-api-key": "${TEST_HEADER_KEY}", "x-team": "evals"},
        },
    )

    assert not result.is_error, result.content
    data = result.structured_content or {}
    assert data["integration"]["name"] == "openai-main"
    assert data["has_api_key"] is True
    assert data["api_key_env"] == "TEST_OPENAI_KEY"
    assert data["model_names"] == ["gpt-4o-mini"]
    assert data["header_names"] == ["x-api-key", "x-team"]
    assert data["function_calling_enabled"] is True
    text = result.content[0].text if result.content[0].type == "text" else ""
    assert text.startswith(
        "Created AI integration 'openai-main' (OPEN_AI, key from $TEST_OPENAI_KEY; models gpt-4o-mini). Next: "
    )
    shown = str(result) + caplog.text
    assert SECRET not in shown and HEADER_SECRET not in shown
    key, doc = await stored_integration(engine, data["integration"]["id"])
    assert key == SECRET
    assert doc["headers"] == {"x-api-key": HEADER_SECRET, "x-team": "evals"}


async def test_a_missing_or_empty_key_variable_is_named_and_nothing_is_created(
    mcp_client: Client, client: AsyncArizeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMPTY_KEY", "  ")
    arguments = {"name": "x", "provider": "ANTHROPIC"}

    text = await call_error(mcp_client, "create_ai_integration", {**arguments, "api_key_env": "NO_SUCH_KEY_VAR"})
    assert "api_key_env: the environment variable NO_SUCH_KEY_VAR is not set" in text
    assert "restart the server" in text
    text = await call_error(mcp_client, "create_ai_integration", {**arguments, "api_key_env": "EMPTY_KEY"})
    assert "EMPTY_KEY is empty" in text
    text = await call_error(
        mcp_client, "create_ai_integration", {**arguments, "headers": {"authorization": "${NO_SUCH_HEADER_VAR}"}}
    )
    assert "headers['authorization']" in text and "NO_SUCH_HEADER_VAR is not set" in text
    assert (await client.ai_integrations.list()).items == []


async def test_a_key_pasted_in_place_of_a_variable_name_is_refused_without_being_repeated(
    mcp_client: Client, client: AsyncArizeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for pasted in (SECRET, "AbCdEfGh1234567890XyZwVuTsRq", "key with spaces"):
        result = await mcp_client.call_tool(
            "create_ai_integration", {"name": "x", "provider": "OPEN_AI", "api_key_env": pasted}
        )
        assert result.is_error
        text = str(result)
        assert "NAME of an environment variable" in text and "the value given is not shown" in text
        assert pasted not in text + caplog.text
    assert (await client.ai_integrations.list()).items == []


async def test_a_backend_refusal_reaches_the_model_without_the_key(
    mcp_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_OPENAI_KEY", SECRET)
    arguments = {"name": "dup", "provider": "OPEN_AI", "api_key_env": "TEST_OPENAI_KEY"}
    await call(mcp_client, "create_ai_integration", arguments)

    text = await call_error(mcp_client, "create_ai_integration", arguments)
    assert "409" in text and "already exists" in text and "find(kind='ai_integration')" in text
    assert SECRET not in text

    text = await call_error(
        mcp_client, "create_ai_integration", {"name": "azure", "provider": "AZURE_OPEN_AI", "model_names": ["gpt"]}
    )
    assert "base_url" in text and "AZURE_OPEN_AI" in text


# --- create_annotation_config ------------------------------------------------------------------------------------


async def test_creating_the_same_annotation_config_twice_returns_the_first_with_created_false(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    arguments = {
        "name": "correctness",
        "type": "CATEGORICAL",
        "labels": {"correct": 1, "incorrect": 0},
        "optimization_direction": "MAXIMIZE",
    }
    first = await call(mcp_client, "create_annotation_config", arguments)
    again = await call(
        mcp_client,
        "create_annotation_config",
        {"name": "correctness", "type": "CATEGORICAL", "labels": ["incorrect", "correct"]},
    )

    assert first["created"] is True and first["note"] is None
    line = (await mcp_client.call_tool("create_annotation_config", arguments)).content[0]
    assert line.type == "text" and line.text.startswith("Reused annotation config 'correctness' (id ")
    assert first["labels"] == [{"label": "correct", "score": 1.0}, {"label": "incorrect", "score": 0.0}]
    assert first["space"]["name"] == "default"
    assert again["created"] is False and again["config"] == first["config"]
    assert "already existed with this shape" in again["note"]
    assert [c.name for c in (await client.annotation_configs.list()).items] == ["correctness"]
    text = await call_error(
        mcp_client,
        "create_annotation_config",
        {**arguments, "labels": {"correct": 2, "incorrect": 0}},
    )
    assert (
        "labels correct (1), incorrect (0)" in text and "not CATEGORICAL with labels correct (2), incorrect (0)" in text
    )
    text = await call_error(mcp_client, "create_annotation_config", {**arguments, "optimization_direction": "MINIMIZE"})
    assert "direction MAXIMIZE" in text


async def test_a_config_name_taken_by_another_shape_is_refused_showing_the_existing_one(mcp_client: Client) -> None:
    await call(
        mcp_client, "create_annotation_config", {"name": "quality", "type": "CATEGORICAL", "labels": ["good", "bad"]}
    )

    text = await call_error(
        mcp_client, "create_annotation_config", {"name": "quality", "type": "CATEGORICAL", "labels": ["good", "poor"]}
    )
    assert "annotation config 'quality'" in text and "already exists" in text
    assert "CATEGORICAL with labels bad, good" in text and "not CATEGORICAL with labels good, poor" in text

    text = await call_error(
        mcp_client,
        "create_annotation_config",
        {"name": "quality", "type": "CONTINUOUS", "minimum_score": 0, "maximum_score": 1},
    )
    assert "not CONTINUOUS with scores from 0 to 1" in text


async def test_continuous_and_freeform_configs_and_their_argument_rules(mcp_client: Client) -> None:
    continuous = await call(
        mcp_client,
        "create_annotation_config",
        {"name": "rating", "type": "CONTINUOUS", "minimum_score": 1, "maximum_score": 5},
    )
    assert (continuous["minimum_score"], continuous["maximum_score"]) == (1.0, 5.0)
    freeform = await call(mcp_client, "create_annotation_config", {"name": "notes", "type": "FREEFORM"})
    assert freeform["type"] == "FREEFORM" and freeform["labels"] is None

    cases = [
        ({"type": "CATEGORICAL"}, "labels: a CATEGORICAL config needs its labels"),
        ({"type": "CATEGORICAL", "labels": ["a", "a"]}, "repeated: a"),
        ({"type": "CONTINUOUS", "minimum_score": 1}, "needs both"),
        ({"type": "CONTINUOUS", "minimum_score": 5, "maximum_score": 1}, "must be below maximum_score"),
        ({"type": "FREEFORM", "labels": ["x"]}, "labels: a FREEFORM config takes none of these"),
    ]
    for arguments, expected in cases:
        text = await call_error(mcp_client, "create_annotation_config", {"name": "other", **arguments})
        assert expected in text, (arguments, text)


async def test_create_annotation_config_is_annotated_as_an_idempotent_non_destructive_write(
    mcp_server: MCPServer[AppState],
) -> None:
    async with Client(mcp_server, mode="legacy") as mcp:
        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    hints = tools["create_annotation_config"].annotations
    assert hints is not None
    assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (False, False, True)
    annotate_hints = tools["annotate"].annotations
    assert annotate_hints is not None and annotate_hints.idempotent_hint is True
    creates = tools["create_ai_integration"].annotations
    assert creates is not None and creates.idempotent_hint is False and creates.read_only_hint is False


# --- annotate ----------------------------------------------------------------------------------------------------


async def quality_config(mcp: Client) -> None:
    await call(
        mcp,
        "create_annotation_config",
        {
            "name": "quality",
            "type": "CATEGORICAL",
            "labels": {"good": 1, "bad": 0},
        },
    )


async def span_annotations(client: AsyncArizeClient, project: str) -> dict[str, list[tuple[str, Any]]]:
    spans = [
        s
        async for s in client.spans.list(project, start_time=FIXED_NOW - 30 * 24 * HOUR, end_time=FIXED_NOW, limit=500)
    ]
    return {
        s.context.span_id: [(a.name, a.label or a.score or a.text) for a in s.annotations]
        for s in spans
        if s.annotations
    }


async def span_texts(client: AsyncArizeClient, project: str) -> dict[str, dict[str, str]]:
    spans = [
        s
        async for s in client.spans.list(project, start_time=FIXED_NOW - 30 * 24 * HOUR, end_time=FIXED_NOW, limit=500)
    ]
    return {s.context.span_id: {a.name: a.text for a in s.annotations if a.text} for s in spans if s.annotations}


async def test_annotating_spans_writes_the_ones_found_and_reports_unknown_ids_instead_of_failing_the_batch(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await ingest(engine, "chat", [span(sid(n), start=FIXED_NOW - n * HOUR) for n in range(1, 4)])
    await quality_config(mcp_client)
    await call(mcp_client, "create_annotation_config", {"name": "notes", "type": "FREEFORM"})

    result = await call(
        mcp_client,
        "annotate",
        {
            "project": "chat",
            "name": "quality",
            "records": {sid(1): "good", sid(2): "bad", sid(99): "bad"},
            "notes": {sid(2): "too long"},
        },
    )
    comment = await call(mcp_client, "annotate", {"project": "chat", "name": "notes", "records": {sid(1): "short"}})

    assert result["project"]["name"] == "chat" and result["granularity"] == "SPAN"
    assert (result["records"], result["matched"]) == (3, 2)
    assert result["unmatched_count"] == 1
    assert result["unmatched"] == [
        {"reason": "no span of the project has this ID in the window", "count": 1, "ids": [sid(99)]}
    ]
    assert "1 of 3 record IDs matched nothing" in result["note"]
    assert result["window"]["end"].startswith("2026-08-10T12:30")
    assert result["annotation_config"]["name"] == "quality"
    assert (comment["matched"], comment["annotation_config"]["name"]) == (1, "notes")
    assert await span_annotations(client, "chat") == {
        sid(1): [("notes", "short"), ("quality", "good")],
        sid(2): [("quality", "bad")],
    }
    texts = await span_texts(client, "chat")
    assert texts[sid(2)] == {"quality": "too long"}


async def test_when_no_record_id_matches_nothing_is_written_and_the_ids_are_named(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await ingest(engine, "chat", [span(sid(1), start=FIXED_NOW - HOUR)])
    await quality_config(mcp_client)
    records = {sid(7): "good", sid(8): "bad"}

    text = await call_error(mcp_client, "annotate", {"project": "chat", "name": "quality", "records": records})

    assert "2 of 2 record IDs match nothing between" in text and sid(7) in text and sid(8) in text
    assert "nothing was written" in text and "search_spans" in text and "start_time" in text
    assert await span_annotations(client, "chat") == {}


async def test_an_older_start_time_moves_the_whole_window_back(mcp_client: Client, engine: Engine) -> None:
    await ingest(engine, "chat", [span(sid(1), start=FIXED_NOW - 40 * 24 * HOUR)])
    await quality_config(mcp_client)
    records = {sid(1): "good"}

    missed = await call_error(mcp_client, "annotate", {"project": "chat", "name": "quality", "records": records})
    assert "1 of 1 record IDs match nothing" in missed
    result = await call(
        mcp_client, "annotate", {"project": "chat", "name": "quality", "records": records, "start_time": "-45d"}
    )

    assert result["matched"] == 1
    assert result["window"]["start"].startswith("2026-06-26") and result["window"]["end"].startswith("2026-07-27")


async def test_trace_and_session_annotations_check_root_spans_and_session_ids(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    trace = "a" * 32
    await ingest(
        engine,
        "chat",
        [
            span(sid(1), trace_id=trace, start=FIXED_NOW - HOUR, attributes={"session.id": "sess-1"}),
            span(sid(2), trace_id=trace, parent_id=sid(1), start=FIXED_NOW - HOUR, attributes={"session.id": "sess-1"}),
        ],
    )
    await quality_config(mcp_client)

    traces = await call(
        mcp_client,
        "annotate",
        {
            "project": "chat",
            "name": "quality",
            "granularity": "TRACE",
            "records": {sid(1): "good", sid(2): "bad"},
        },
    )
    assert (traces["matched"], traces["unmatched_count"]) == (1, 1)
    assert traces["unmatched"] == [
        {"reason": "not a root span: TRACE annotations need the trace's root span ID", "count": 1, "ids": [sid(2)]}
    ]

    sessions = await call(
        mcp_client,
        "annotate",
        {
            "project": "chat",
            "name": "quality",
            "granularity": "SESSION",
            "records": {"sess-1": "good", "sess-9": "bad"},
        },
    )
    assert sessions["matched"] == 1
    assert sessions["unmatched"][0]["ids"] == ["sess-9"]
    assert sessions["window"]["start"].startswith("2026-08-03")

    text = await call_error(
        mcp_client,
        "annotate",
        {
            "project": "chat",
            "name": "quality",
            "granularity": "SESSION",
            "start_time": "-10d",
            "records": {"sess-1": "good"},
        },
    )
    assert "match nothing between 2026-07-31T12:30:00Z and 2026-08-07T12:25:00Z" in text


async def test_annotating_examples_reports_ids_the_dataset_does_not_hold(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    dataset = await client.datasets.create("golden", [{"input": "q1"}, {"input": "q2"}])
    examples = await client.datasets.list_examples("golden").to_list()
    await client.datasets.append_examples("golden", [{"input": "q3"}])
    appended = [
        e for e in await client.datasets.list_examples("golden").to_list() if e.id not in {x.id for x in examples}
    ]
    await quality_config(mcp_client)

    result = await call(
        mcp_client,
        "annotate",
        {
            "dataset": dataset.id,
            "name": "quality",
            "records": {examples[0].id: "good", appended[0].id: "bad", "not-an-example": "bad"},
        },
    )

    assert result["dataset"] == {"id": dataset.id, "name": "golden"}
    assert result["matched"] == 2
    assert result["unmatched"] == [
        {"reason": "the dataset has no example with this ID", "count": 1, "ids": ["not-an-example"]}
    ]
    stored = {
        e.id: [(a.name, a.label) for a in e.annotations or []]
        for e in await client.datasets.list_examples("golden").to_list()
    }
    assert stored[examples[0].id] == [("quality", "good")]
    assert stored[appended[0].id] == [("quality", "bad")]
    assert stored[examples[1].id] == []


async def test_annotating_runs_reports_ids_the_experiment_does_not_hold(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    await client.datasets.create("golden", [{"input": "q1"}, {"input": "q2"}])
    examples = await client.datasets.list_examples("golden").to_list()
    await client.experiments.create(
        "baseline", [{"example_id": e.id, "output": "a"} for e in examples], dataset="golden"
    )
    runs = await client.experiments.list_runs("baseline", dataset="golden").to_list()
    await call(
        mcp_client,
        "create_annotation_config",
        {"name": "rating", "type": "CONTINUOUS", "minimum_score": 0, "maximum_score": 5},
    )

    result = await call(
        mcp_client,
        "annotate",
        {
            "experiment": "baseline",
            "dataset": "golden",
            "name": "rating",
            "records": {runs[0].id: 4, "run-gone": 1},
        },
    )

    assert result["experiment"]["name"] == "baseline"
    assert result["matched"] == 1
    assert result["unmatched"] == [
        {"reason": "the experiment has no run with this ID", "count": 1, "ids": ["run-gone"]}
    ]
    stored = {
        r.id: [(a.name, a.score) for a in r.annotations]
        for r in await client.experiments.list_runs("baseline", dataset="golden").to_list()
    }
    assert stored == {runs[0].id: [("rating", 4.0)], runs[1].id: []}


async def test_annotate_refuses_unknown_configs_and_values_that_do_not_fit_them_writing_nothing(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await ingest(engine, "chat", [span(sid(1), start=FIXED_NOW - HOUR)])
    await quality_config(mcp_client)
    await call(
        mcp_client,
        "create_annotation_config",
        {"name": "rating", "type": "CONTINUOUS", "minimum_score": 0, "maximum_score": 5},
    )
    base = {"project": "chat"}

    cases = [
        (
            {"name": "helpfulness", "records": {sid(1): "good"}},
            "create_annotation_config(name='helpfulness'",
        ),
        (
            {"name": "quality", "records": {sid(1): "great"}},
            "label 'great' is not a label of 'quality'; use one of good, bad",
        ),
        ({"name": "quality", "records": {sid(1): 1}}, "'quality' is CATEGORICAL; give a label"),
        ({"name": "rating", "records": {sid(1): 9}}, "score 9 is outside 'rating' (0 to 5)"),
        ({"name": "rating", "records": {sid(1): "high"}}, "'rating' is CONTINUOUS; give a score between 0 and 5"),
        (
            {"name": "quality", "records": {sid(1): "good"}, "notes": {sid(2): "why"}},
            "notes['0000000000000002']: no such record in records",
        ),
    ]
    for arguments, expected in cases:
        text = await call_error(mcp_client, "annotate", {**base, **arguments})
        assert expected in text, (arguments, text)
    text = await call_error(mcp_client, "annotate", {"name": "quality", "records": {"e": "good"}})
    assert "project, dataset, experiment: give the project (its spans)" in text
    text = await call_error(
        mcp_client,
        "annotate",
        {"project": "chat", "dataset": "d", "name": "quality", "records": {"e": "good"}},
    )
    assert "give the project (its spans)" in text
    text = await call_error(
        mcp_client,
        "annotate",
        {
            "dataset": "d",
            "start_time": "-1d",
            "name": "quality",
            "records": {"e": "good"},
        },
    )
    assert "only spans (project=) take them" in text
    assert await span_annotations(client, "chat") == {}


async def example_labels(client: AsyncArizeClient, dataset: str) -> list[str | None]:
    examples = await client.datasets.list_examples(dataset).to_list()
    return [next((a.label for a in e.annotations or [] if a.name == "quality"), None) for e in examples]


async def test_replacing_labels_the_records_hold_needs_the_users_yes_and_writing_new_ones_does_not(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    await client.datasets.create("golden", [{"input": f"q{i}"} for i in range(3)])
    first, second, third = [e.id for e in await client.datasets.list_examples("golden").to_list()]
    await quality_config(mcp_client)
    await call(mcp_client, "annotate", {"dataset": "golden", "name": "quality", "records": {first: "good"}})

    again = await call(
        mcp_client, "annotate", {"dataset": "golden", "name": "quality", "records": {first: "good", second: "bad"}}
    )
    refused = await call_error(
        mcp_client, "annotate", {"dataset": "golden", "name": "quality", "records": {first: "bad", third: "good"}}
    )
    unchanged = await example_labels(client, "golden")
    approved = await mcp_client.call_tool(
        "annotate",
        {"dataset": "golden", "name": "quality", "records": {first: "bad", third: "good"}, "confirm": True},
    )

    assert (again["matched"], again["replaced"]) == (2, 0)
    assert refused.startswith("Confirmation required: Replace the 'quality' values already on 1 of the 2 examples")
    assert f"{first!r}: 'good' → 'bad'" in refused and "call again with confirm=true" in refused
    assert unchanged == ["good", "bad", None]
    assert not approved.is_error, approved.content
    assert (approved.structured_content or {})["replaced"] == 1
    text = approved.content[0].text if approved.content[0].type == "text" else ""
    assert "1 of them held other values, replaced as the user approved" in text.splitlines()[0]
    assert await example_labels(client, "golden") == ["bad", "bad", "good"]


async def test_a_declined_replacement_writes_nothing_in_either_era(
    mcp_server: MCPServer[AppState], mcp_client_mode: str, client: AsyncArizeClient
) -> None:
    await client.datasets.create("golden", [{"input": "q1"}, {"input": "q2"}])
    first, second = [e.id for e in await client.datasets.list_examples("golden").to_list()]
    questions: list[str] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        questions.append(params.message)
        return ElicitResult(action="decline")

    async with Client(mcp_server, mode=mcp_client_mode, elicitation_callback=user) as mcp:
        await quality_config(mcp)
        await call(mcp, "annotate", {"dataset": "golden", "name": "quality", "records": {first: "good"}})
        refused = await call_error(
            mcp, "annotate", {"dataset": "golden", "name": "quality", "records": {first: "bad", second: "bad"}}
        )

    assert "nothing was changed" in refused
    assert len(questions) == 1 and "already on 1 of the 2 examples of dataset 'golden'" in questions[0]
    assert await example_labels(client, "golden") == ["good", None]


async def test_a_big_batch_is_written_in_chunks_with_progress(
    mcp_server: MCPServer[AppState], mcp_client_mode: str, client: AsyncArizeClient
) -> None:
    await client.datasets.create("big", [{"input": f"q{i}"} for i in range(2500)])
    ids = [e.id for e in await client.datasets.list_examples("big", limit=500).to_list()]
    await client.annotation_configs.create_categorical("quality", ["good", "bad"])
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(mcp_server, mode=mcp_client_mode) as mcp:
        result = await mcp.call_tool(
            "annotate",
            {
                "dataset": "big",
                "name": "quality",
                "records": {i: "good" if n % 2 else "bad" for n, i in enumerate(ids)},
            },
            progress_callback=on_progress,
        )

    assert not result.is_error, result.content
    data = result.structured_content or {}
    assert (data["matched"], data["unmatched_count"]) == (2500, 0)
    assert [p[0] for p in progress[-3:]] == [1000, 2000, 2500]
    assert progress[-1][2] == "annotated 2500 of 2500 records"
    labelled = [e for e in await client.datasets.list_examples("big", limit=500).to_list() if e.annotations]
    assert len(labelled) == 2500


async def test_an_annotate_result_with_hundreds_of_unknown_ids_stays_under_8000_chars(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    await client.datasets.create("golden", [{"input": "q1"}])
    (example,) = await client.datasets.list_examples("golden").to_list()
    await client.annotation_configs.create_categorical("quality", ["good", "bad"])
    unknown = [f"00000000-0000-4000-8000-{n:012d}" for n in range(400)]

    result = await mcp_client.call_tool(
        "annotate",
        {
            "dataset": "golden",
            "name": "quality",
            "records": {example.id: "good", **dict.fromkeys(unknown, "bad")},
        },
    )

    assert not result.is_error, result.content
    text = result.content[0].text if result.content[0].type == "text" else ""
    data = result.structured_content or {}
    assert len(text) <= 8000
    assert (data["matched"], data["unmatched_count"]) == (1, 400)
    (group,) = data["unmatched"]
    assert group["count"] == 400 and group["ids"] == unknown[: len(group["ids"])] and len(group["ids"]) >= 50
    line = text.splitlines()[0]
    assert line.startswith("Annotated 1 of 401 examples of dataset 'golden'")
    assert "400 IDs matched nothing" in line

"""``arize-skills quickstart`` as a new user runs it: a real subprocess with a fresh HOME, no account, no key."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.data.make_quickstart_traces import make_traces
from arize_skills.engine import Engine
from arize_skills.engine.runner.scheduler import CONTINUOUS_INTERVAL_ENV
from arize_skills.mcp_server import build_server
from arize_skills.quickstart import (
    LIVE_TRACES,
    Tools,
    _eval_column,
    _score_new_traffic,
    load_traces,
    prepare_traces,
    send_traces,
)
from arize_skills.settings import Settings
from tests.conftest import ticking_clock
from tests.engine.runner_support import add_spans, code_evaluator, project_task, qa_span, span_evals
from tests.stubs.llm_server import serve_stub

COMMAND = [sys.executable, "-m", "arize_skills", "quickstart"]


def run(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "NO_PROXY": "127.0.0.1,localhost", **extra}
    return subprocess.run([*COMMAND, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def expected() -> dict[str, int]:
    traces = load_traces()
    scenarios = Counter(t["scenario"] for t in traces)
    truth = Counter(t["truth"] for t in traces)
    return {
        "traces": len(traces),
        "errors": scenarios["tool_error_handled"] + scenarios["tool_error_ignored"],
        "slow": scenarios["slow"],
        "frustrated": scenarios["frustrated"],
        "frustrated_sessions": len({t["session_id"] for t in traces if t["scenario"] == "frustrated"}),
        "factual": truth["factual"],
        "hallucinated": truth["hallucinated"],
        "candidate_factual": sum(1 for t in traces if t["candidate_truth"] == "factual"),
    }


def test_the_bundled_traces_are_the_generators_output_with_every_failure_kind() -> None:
    bundled = load_traces()
    assert bundled == make_traces()
    assert 40 <= len(bundled) <= 80
    kinds = {
        s["attributes"][0]["value"]["stringValue"]
        for t in bundled
        for s in t["body"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    }
    assert kinds == {"AGENT", "CHAIN", "LLM", "TOOL", "RETRIEVER"}
    assert set(Counter(t["scenario"] for t in bundled)) == {
        "ok",
        "slow",
        "tool_error_handled",
        "tool_error_ignored",
        "hallucinated_order",
        "wrong_refund",
        "frustrated",
    }


def test_quickstart_runs_the_whole_loop_without_a_key_and_runs_again(tmp_path: Path) -> None:
    want = expected()
    first = run(tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    for section in (
        "== Traces",
        "== Dataset and labels",
        "== Code evaluators (backfilled)",
        "== Experiments",
        "== LLM judge",
        "== Next",
    ):
        assert section in out
    assert f"{want['traces']} traces" in out
    assert f"errored spans: {want['errors']} " in out
    assert f"slow tool calls (> 5 s): {want['slow']}" in out
    assert f"{want['traces']} examples from compose_reply spans" in out
    assert f"{want['factual']} factual, {want['hallucinated']} hallucinated ({want['traces']} written)" in out
    assert f"tool outputs that are not JSON: {want['errors']} " in out
    assert f"frustration keywords: {want['frustrated']} (in {want['frustrated_sessions']} sessions)" in out
    assert f"{want['factual']}/{want['traces']} factual" in out
    assert f"{want['candidate_factual']}/{want['traces']} factual" in out
    assert re.search(r"compare_experiments agrees: wins \d+, losses \d+", out)
    skipped = [line for line in out.splitlines() if "no LLM provider configured" in line]
    assert len(skipped) == 1 and "OPENAI_API_KEY" in skipped[0]
    assert "[1/6] Sending" in first.stderr and "[6/6]" in first.stderr
    assert (tmp_path / "home" / ".arize-skills" / "quickstart" / "engine.sqlite3").is_file()

    second = run(tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"{want['factual']} factual, {want['hallucinated']} hallucinated" in second.stdout


def test_with_an_llm_base_url_it_creates_previews_aligns_and_schedules_a_judge(tmp_path: Path) -> None:
    with serve_stub(label="factual") as stub:
        result = run(tmp_path, "--home", str(tmp_path / "state"), ARIZE_SKILLS_LLM_BASE_URL=stub.openai_url)
        requests = len(stub.requests)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "no LLM provider configured" not in out
    assert "[10/10]" in result.stderr
    assert "from the built-in hallucination template on CUSTOM" in out
    assert "preview on 3 real spans: factual x3" in out
    assert "alignment with the human labels:" in out
    # New traffic after the task is on: one compose_reply span per trace, each scored by the continuous task.
    assert f"{LIVE_TRACES} new traces arrived, {LIVE_TRACES} spans scored (COMPLETED)" in out
    assert requests >= 3 + expected()["traces"] + LIVE_TRACES


async def test_live_traffic_split_by_a_background_tick_is_all_scored_once_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the test ticks, and it ticks where the race put the background tick: in the middle of the send.
    monkeypatch.setenv(CONTINUOUS_INTERVAL_ENV, "3600")
    home, project, now = tmp_path / "home", "support-agent race", datetime.now(UTC)
    history = prepare_traces(load_traces()[:1], "history", project, now - timedelta(minutes=5))
    fresh = prepare_traces(load_traces()[:LIVE_TRACES], "live", project, now)
    mappings = {
        "input": "attributes.input.value",
        "output": "attributes.output.value",
        "context": "attributes.metadata.context",
    }
    settings = Settings.resolve(home=home, environ={}, profile_dir=tmp_path / "no-ax-profile")
    with serve_stub(label="factual") as stub:
        async with Engine.open(home, runner=True, clock=ticking_clock()) as engine:
            await send_traces(engine, history)
            async with Client(build_server(settings, engine=engine), mode="legacy", read_timeout_seconds=60) as mcp:
                tools = Tools(mcp)
                await tools(
                    "create_ai_integration",
                    name="stub",
                    provider="CUSTOM",
                    model_names=["stub-model"],
                    base_url=stub.openai_url,
                )
                judge = await tools("create_judge", name="judge", ai_integration="stub", prompt="hallucination")
                made = await tools(
                    "create_task",
                    name="live",
                    project=project,
                    is_continuous=True,
                    query_filter="name = 'compose_reply'",
                    evaluators=[{"evaluator": "judge", "column_mappings": mappings}],
                )
                judged_before = len(stub.requests)

                await send_traces(engine, fresh[:2])
                assert len(await engine.runner.tick_continuous()) == 1
                await send_traces(engine, fresh[2:])
                with anyio.fail_after(120):
                    live = await _score_new_traffic(engine, made["task"]["id"])

                judged = len(stub.requests) - judged_before
                scored_spans = await tools.search_all(
                    project=project,
                    start_time="-1d",
                    filter=f"eval.{_eval_column(judge, 'judge')}.label = 'factual'",
                    fields=["evals"],
                )
    assert (live.scored, live.status, live.runs) == (LIVE_TRACES, "COMPLETED", 2)
    assert judged == LIVE_TRACES
    assert sorted(row["span_id"] for row in scored_spans) == sorted(t["reply_span_id"] for t in fresh)


async def test_settling_without_a_serving_runner_executes_the_split_runs_and_scores_each_span_once(
    tmp_path: Path,
) -> None:
    async with (
        Engine.open(tmp_path / "engine", clock=ticking_clock()) as engine,
        AsyncArizeClient(transport=engine.transport()) as client,
    ):
        client.space = (await client.spaces.list()).items[0].id
        evaluator = await code_evaluator(client, "parses", "JSON_PARSEABLE", ["attributes.output.value"])
        task = await project_task(
            client, "app", [{"evaluator_id": evaluator}], task_type="CODE_EVALUATION", is_continuous=True
        )
        await add_spans(engine, "app", [qa_span(n) for n in (1, 2)])
        assert len(await engine.runner.tick_continuous()) == 1
        await add_spans(engine, "app", [qa_span(n) for n in (3, 4, 5)])

        with anyio.fail_after(30):
            await engine.runner.settle_continuous(task)
            await engine.runner.settle_continuous(task)

        runs = (await client.request("GET", f"/v2/tasks/{task}/runs"))["task_runs"]
        evals = await span_evals(client, "app")
    assert sorted((r["status"], r["num_successes"], r["num_skipped"]) for r in runs) == [
        ("COMPLETED", 2, 0),
        ("COMPLETED", 3, 0),
    ]
    assert {int(span_id, 16) for span_id, found in evals.items() if found} == {1, 2, 3, 4, 5}

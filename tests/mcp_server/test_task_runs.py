"""A task's runs, listed and diagnosed: ``get_task_runs`` lists them newest first (continuous runs too) and shows
one in full, and every diagnosis is true of the task and its data.

The table-driven test covers every ``Cause`` of ``Diagnosis``; the engine tests cover the diagnoses that read the
backend (a filter fix that parses and matches, the end of a window that excluded the spans).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, get_args

import pytest
from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.mcp_server.tools.task_runs import Cause, RunContext, diagnose
from arize_skills.models.tasks import TaskRun
from tests.engine.runner_support import add_spans
from tests.mcp_server.conftest import FIXED_NOW, call, call_error
from tests.mcp_server.test_tasks import call_text, offline_judge, recent_span, stub, stub_judge
from tests.stubs.llm_server import StubServer

__all__ = ["stub"]

REST_NAMES = ("override_evaluations", "data_start_time", "data_end_time", "experiment_ids", "/v2/", "PATCH ", "POST ")


# --- listing -----------------------------------------------------------------------------------------------------


async def test_get_task_runs_lists_every_run_of_a_task_newest_first_continuous_runs_included(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await stub_judge(client, stub)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    first = await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
    await engine.runner.run_until_idle()
    end = FIXED_NOW - timedelta(days=5)
    empty = await client.tasks.trigger_run("qa", data_start_time=end - timedelta(days=1), data_end_time=end)
    await engine.runner.run_until_idle()
    await call(mcp_client, "update_task", {"task": "qa", "is_continuous": True})
    await add_spans(engine, "app", [recent_span(i) for i in range(4, 6)])
    [continuous] = await engine.runner.tick_continuous()
    await engine.runner.run_until_idle()

    listing, text = await call_text(mcp_client, "get_task_runs", {"task": "qa"})

    assert [r["id"] for r in listing["items"]] == [continuous, empty.id, first["run"]["id"]]
    newest, cancelled, oldest = listing["items"]
    assert (newest["status"], newest["num_successes"]) == ("COMPLETED", 2)
    assert (oldest["status"], oldest["num_successes"], oldest["num_errors"], oldest["num_skipped"]) == (
        "COMPLETED",
        3,
        0,
        0,
    )
    assert oldest["window"] == "2026-08-09T12:30:00.000Z .. 2026-08-10T12:30:00.000Z"
    assert cancelled["status"] == "CANCELLED" and "holds no spans" in cancelled["failure_reason"]
    assert listing["task"]["name"] == "qa" and listing["has_more"] is False
    assert text.splitlines()[0].startswith("3 runs of task 'qa', newest first")
    assert not any(word in text for word in REST_NAMES)

    shown = await call(mcp_client, "get_task_runs", {"run_id": continuous})
    assert shown["diagnosis"]["cause"] == "scored"
    assert "is_continuous=true" not in json.dumps(shown["diagnosis"])


async def test_get_task_runs_pages_a_long_history_with_a_cursor_and_stays_short(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(1)])
    judge = await offline_judge(client)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    made = []
    for day in range(25):
        end = FIXED_NOW - timedelta(days=40 + day)
        made.append(
            (await client.tasks.trigger_run("qa", data_start_time=end - timedelta(hours=1), data_end_time=end)).id
        )
        await engine.runner.run_until_idle()

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        arguments: dict[str, Any] = {"task": "qa", **({"cursor": cursor} if cursor else {})}
        page, text = await call_text(mcp_client, "get_task_runs", arguments)
        seen += [r["id"] for r in page["items"]]
        if not page["has_more"]:
            break
        assert "more follow" in text.splitlines()[0]
        cursor = page["next_cursor"]

    assert seen == made[::-1]


async def test_get_task_runs_needs_a_task_or_a_run_and_a_run_of_that_task(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(1)])
    judge = await offline_judge(client)
    for name in ("qa", "other"):
        await call(mcp_client, "create_task", {"name": name, "project": "app", "evaluators": [{"evaluator": judge}]})
    started = await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})

    neither = await call_error(mcp_client, "get_task_runs", {})
    assert "task, run_id" in neither
    mismatch = await call_error(mcp_client, "get_task_runs", {"task": "other", "run_id": started["run"]["id"]})
    assert "belongs to task 'qa'" in mismatch
    unknown = await call_error(mcp_client, "get_task_runs", {"run_id": "VGFza1J1bjo5OTk6eHl6"})
    assert "404" in unknown


# --- diagnoses that read the backend -----------------------------------------------------------------------------


async def test_a_filter_that_matches_nothing_gets_a_suggested_fix_that_parses_and_matches(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i, extra={"llm.model_name": "gpt-4o"}) for i in range(1, 4)])
    judge = await offline_judge(client)
    typo = "attributes.llm.model_name = 'gpt4o'"
    fixed = "attributes.llm.model_name = 'gpt-4o'"
    await call(
        mcp_client,
        "create_task",
        {
            "name": "qa",
            "project": "app",
            "evaluators": [{"evaluator": judge}],
            "query_filter": typo,
            "is_continuous": True,
        },
    )

    refused = await call_error(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
    assert f'query_filter="{fixed}" matches 3 spans' in refused

    run = await client.tasks.trigger_run("qa", data_start_time=FIXED_NOW - timedelta(days=1), data_end_time=FIXED_NOW)
    await engine.runner.run_until_idle()
    result = await call(mcp_client, "get_task_runs", {"run_id": run.id})

    diagnosis = result["diagnosis"]
    assert diagnosis["cause"] == "filter_matched_nothing"
    assert f"update_task(task='qa', query_filter=\"{fixed}\")" in diagnosis["next_steps"][0]
    assert "matches 3 spans" in diagnosis["next_steps"][0]
    page = await client.spans.list("app", start_time=FIXED_NOW - timedelta(days=1), end_time=FIXED_NOW, filter=fixed)
    assert len(page.items) == 3


async def test_an_empty_window_diagnosis_names_the_end_of_the_window_that_excluded_the_spans(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(1)])
    await add_spans(engine, "old", [recent_span(2, minutes_ago=3 * 24 * 60)])
    judge = await offline_judge(client)
    for project in ("app", "old"):
        await call(
            mcp_client,
            "create_task",
            {"name": project, "project": project, "evaluators": [{"evaluator": judge}]},
        )
    end = FIXED_NOW - timedelta(days=5)
    too_early = await client.tasks.trigger_run("app", data_start_time=end - timedelta(days=1), data_end_time=end)
    too_late = await client.tasks.trigger_run(
        "old", data_start_time=FIXED_NOW - timedelta(days=1), data_end_time=FIXED_NOW
    )
    await engine.runner.run_until_idle()

    early = (await call(mcp_client, "get_task_runs", {"run_id": too_early.id}))["diagnosis"]
    late = (await call(mcp_client, "get_task_runs", {"run_id": too_late.id}))["diagnosis"]

    assert early["cause"] == late["cause"] == "empty_window"
    assert "end_time" in early["next_steps"][0] and "2026-08-10T12:29:00.000Z" in early["next_steps"][0]
    assert "start_time" not in early["next_steps"][0]
    assert "start_time='2026-08-07T11:30:00.000Z'" in late["next_steps"][0]
    assert "end_time" not in late["next_steps"][0]
    assert not any(word in json.dumps([early, late]) for word in REST_NAMES)


# --- every cause, true of the state ------------------------------------------------------------------------------


def run(status: str, s: int = 0, e: int = 0, k: int = 0, reason: str | None = None, **extra: Any) -> TaskRun:
    body: dict[str, Any] = {
        "id": "r1",
        "task_id": "t1",
        "status": status,
        "num_successes": s,
        "num_errors": e,
        "num_skipped": k,
        "failure_reason": reason,
        "run_started_at": "2026-08-10T12:00:00Z",
        "run_finished_at": "2026-08-10T12:00:30Z",
        "data_start_time": "2026-08-09T12:00:00Z",
        "data_end_time": "2026-08-10T12:00:00Z",
    }
    body.update(extra)
    return TaskRun.model_validate(body)


PROJECT = RunContext(task_name="qa")
CONTINUOUS = RunContext(task_name="qa", is_continuous=True)
DATASET = RunContext(task_name="qa", dataset_task=True)
SAMPLED = RunContext(task_name="qa", sampling_rate=0.1, matching=40)
ERRORS = [{"record": "s1", "evaluator": "j", "message": "variable 'output' has no value at attributes.output.value"}]

CASES: list[tuple[str, TaskRun, RunContext, str]] = [
    ("running", run("RUNNING", 2), PROJECT, "get_task_runs(run_id='r1'"),
    ("scored", run("COMPLETED", 5), PROJECT, "is_continuous=true"),
    ("scored", run("COMPLETED", 5), CONTINUOUS, "search_spans"),
    ("scored", run("COMPLETED", 5), DATASET, "label sample"),
    ("scored", run("COMPLETED", 6), SAMPLED, "ignore_sampling=true"),
    ("scored_with_errors", run("COMPLETED", 2, 3, errors_sample=ERRORS), PROJECT, "search_spans"),
    ("scored_with_errors", run("COMPLETED", 2, 3, errors_sample=ERRORS), DATASET, "get_experiment"),
    ("nothing_scored", run("COMPLETED"), PROJECT, "indexed"),
    ("nothing_scored", run("COMPLETED"), DATASET, "get_experiment"),
    ("already_scored", run("COMPLETED", k=4), PROJECT, "override=true"),
    (
        "already_scored",
        run(
            "CANCELLED",
            reason="all 4 runs selected already have eval.c from an earlier run and "
            "override_evaluations is false, so nothing was scored; trigger again with override_evaluations=true",
        ),
        DATASET,
        "override=true",
    ),
    (
        "empty_window",
        run(
            "CANCELLED",
            reason="the window a .. b holds no spans in project 'app' (the project has 3 spans); "
            "trigger again with data_start_time and data_end_time around them",
        ),
        RunContext(task_name="qa", window_hint="move end_time past 2026-08-10T12:29:00.000Z"),
        "end_time",
    ),
    (
        "empty_window",
        run(
            "CANCELLED",
            reason="the experiment 'b' hold no runs; upload runs (POST /v2/experiments/{id}/runs) or "
            "run the experiment, then trigger again",
        ),
        DATASET,
        "upload_experiment",
    ),
    (
        "filter_matched_nothing",
        run("CANCELLED", reason='none of the 3 spans in the window matches the filter: task query_filter "x"'),
        RunContext(task_name="qa", filter_fix="span_kind = 'LLM'", filter_fix_matches=3),
        "query_filter=\"span_kind = 'LLM'\"",
    ),
    (
        "filter_matched_nothing",
        run("CANCELLED", reason="none of the 3 runs of experiment 'b' matches the filter: task query_filter \"x\""),
        DATASET,
        "get_experiment",
    ),
    (
        "sampling_kept_nothing",
        run("CANCELLED", reason="sampling_rate 0.01 kept none of the 5 matching spans; raise sampling_rate"),
        RunContext(task_name="qa", sampling_rate=0.01, matching=5),
        "ignore_sampling=true",
    ),
    ("cancelled_by_user", run("CANCELLED", 2, reason="Cancelled by user after 2 of 9 records"), PROJECT, "kept"),
    (
        "credentials",
        run(
            "FAILED",
            reason="the AI integration 'x' rejected its credentials (401) — update its key (PATCH "
            "/v2/ai-integrations/abc with a new api_key), then trigger the run again",
        ),
        PROJECT,
        "create_ai_integration",
    ),
    ("provider_unreachable", run("FAILED", reason="could not reach the AI integration 'x': refused"), PROJECT, "base"),
    (
        "all_records_failed",
        run("FAILED", e=3, reason="all 3 spans failed; the most common error (3 of them): the judge call failed: 500"),
        PROJECT,
        "AI integration",
    ),
    (
        "setup_problem",
        run("FAILED", reason="evaluator 'j' has no version to run; create one"),
        PROJECT,
        "update_task",
    ),
    ("no_reason_given", run("CANCELLED"), PROJECT, "credentials"),
    ("no_reason_given", run("CANCELLED"), DATASET, "credentials"),
    ("other", run("FAILED", reason="something unforeseen happened"), PROJECT, "something unforeseen"),
]


def test_the_cases_cover_every_cause() -> None:
    assert {case[0] for case in CASES} == set(get_args(Cause))


@pytest.mark.parametrize(
    ("cause", "task_run", "context", "says"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_every_diagnosis_is_true_of_the_task_and_names_only_the_tools_parameters(
    cause: str, task_run: TaskRun, context: RunContext, says: str
) -> None:
    diagnosis = diagnose(task_run, context)

    text = " ".join([diagnosis.summary, *diagnosis.next_steps])
    assert diagnosis.cause == cause
    assert says in text
    assert diagnosis.next_steps
    assert not any(word in text for word in REST_NAMES), text
    if context.is_continuous:
        assert "is_continuous=true" not in text
    if context.dataset_task:
        assert "search_spans" not in text and " span" not in text, text
    if context.sampling_rate is not None and context.matching is not None and cause == "scored":
        assert f"left out {context.matching - (task_run.num_successes or 0)}" in diagnosis.summary

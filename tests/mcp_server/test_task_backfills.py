"""Backfills that say where every matching record went, and eval columns that hold values a task did not write.

Sampling: a sampled task's backfill says before and after how many matching spans sampling leaves out, the counts
add up, and ``ignore_sampling=true`` scores every matching span through a one-off copy of the task at rate 1 that
is deleted once its run ended (AX has no request field to override the rate of one run).

Eval columns: a task whose eval column already holds values it did not write (uploaded ``eval.<name>.*`` columns,
another task's results) says so when it is created, and ``override=true`` over those values needs the user's yes.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import anyio
from mcp import Client
from mcp.client.context import ClientRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.types import ElicitRequestParams, ElicitResult

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.store.db import sample_fraction
from arize_skills.mcp_server.state import AppState
from tests.engine.runner_support import add_spans, code_evaluator, judge_integration
from tests.mcp_server.conftest import FIXED_NOW, call, call_error
from tests.mcp_server.test_tasks import call_text, recent_span, run_count, stub, stub_judge, task_count
from tests.stubs.llm_server import StubServer

__all__ = ["stub"]

SPANS = 40
RATE = 0.1
KEPT = sum(1 for n in range(1, SPANS + 1) if sample_fraction(f"{n:016x}") < RATE)
"""How many of the test's spans the engine's sampling keeps at ``RATE`` (a hash of the span ID)."""


async def sampled_task(mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, SPANS + 1)])
    judge = await stub_judge(client, stub)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    await call(mcp_client, "update_task", {"task": "qa", "sampling_rate": RATE})


async def scored_spans(client: AsyncArizeClient, name: str = "correctness") -> int:
    page = await client.spans.list(
        "app",
        start_time=FIXED_NOW - timedelta(days=1),
        end_time=FIXED_NOW,
        filter=f"eval.{name}.label IS NOT NULL",
        limit=500,
    )
    return len(page.items)


# --- sampling ----------------------------------------------------------------------------------------------------


async def test_a_sampled_backfill_says_before_and_after_how_many_matching_spans_sampling_leaves_out(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await sampled_task(mcp_client, engine, client, stub)

    started, text = await call_text(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})

    before = started["tally"]
    assert (before["matching"], before["sampled_out"], before["to_score"]) == (SPANS, 36, 4)
    summary = text.splitlines()[0]
    assert "about 36 of the 40 matching spans" in summary and "sampling_rate 0.1" in summary
    assert "ignore_sampling=true" in summary

    await engine.runner.run_until_idle()
    result, text = await call_text(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})

    run, after = result["run"], result["tally"]
    assert run["num_successes"] == KEPT
    assert after["sampled_out"] == SPANS - KEPT
    assert run["num_successes"] + run["num_errors"] + run["num_skipped"] + after["sampled_out"] == after["matching"]
    assert f"sampling_rate 0.1 left out {SPANS - KEPT} of the {SPANS} matching spans" in result["diagnosis"]["summary"]
    assert "ignore_sampling=true" in json.dumps(result["diagnosis"]["next_steps"])
    assert f"sampling_rate 0.1 left out {SPANS - KEPT} of the {SPANS} matching spans" in text.splitlines()[0]


async def test_ignore_sampling_scores_every_matching_span_through_a_one_off_task_deleted_after_its_run(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await sampled_task(mcp_client, engine, client, stub)

    async with anyio.create_task_group() as group:
        group.start_soon(engine.runner.serve)
        with anyio.fail_after(60):
            outcome = await mcp_client.call_tool(
                "trigger_backfill", {"task": "qa", "start_time": "-1d", "ignore_sampling": True, "wait_seconds": 60}
            )
        group.cancel_scope.cancel()

    assert not outcome.is_error, outcome.content
    result = outcome.structured_content
    assert result is not None
    text = outcome.content[0].text  # type: ignore[union-attr]
    assert result["finished"] is True and result["run"]["num_successes"] == SPANS
    assert result["tally"]["sampled_out"] == 0
    assert result["one_off_task"]["name"].startswith("qa ")
    assert "one-off" in text.splitlines()[0] and "deleted" in text.splitlines()[0]
    assert [t.name for t in (await client.tasks.list()).items] == ["qa"]
    assert (await client.tasks.get("qa")).sampling_rate == RATE
    assert await scored_spans(client) == SPANS


async def test_an_unsampled_backfill_still_running_keeps_its_one_off_task_until_the_next_backfill_clears_it(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await sampled_task(mcp_client, engine, client, stub)

    started, text = await call_text(
        mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d", "ignore_sampling": True}
    )
    one_off = started["one_off_task"]["name"]
    assert started["tally"]["to_score"] == SPANS and started["tally"]["sampled_out"] == 0
    assert await task_count(client) == 2
    assert f"one-off task '{one_off}'" in text and "next trigger_backfill" in text

    await engine.runner.run_until_idle()
    done = await call(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})
    assert done["run"]["num_successes"] == SPANS

    refused = await call_error(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
    assert "nothing new to score" in refused
    assert [t.name for t in (await client.tasks.list()).items] == ["qa"]


# --- eval columns that hold values the task did not write ---------------------------------------------------------


async def uploaded_experiment(client: AsyncArizeClient) -> None:
    """Dataset 'qa-set' with experiment 'baseline' whose 3 runs carry uploaded eval.correctness scores."""
    dataset = await client.datasets.create("qa-set", [{"question": f"q{i}"} for i in range(3)])
    examples = (await client.datasets.list_examples(dataset.id)).items
    runs = [
        {"example_id": e.id, "output": "42", "eval.correctness.label": "incorrect", "eval.correctness.score": 0.0}
        for e in examples
    ]
    await client.experiments.create("baseline", runs, dataset=dataset.id)


async def uploaded_labels(client: AsyncArizeClient) -> list[str | None]:
    experiment = await client.experiments.get("baseline", dataset="qa-set")
    return [run.evaluation("correctness")["label"] for run in (await client.experiments.list_runs(experiment.id)).items]


async def dataset_task(mcp_client: Client, client: AsyncArizeClient, stub: StubServer) -> tuple[dict[str, Any], str]:
    await uploaded_experiment(client)
    judge = await stub_judge(client, stub, template="Q: {question}\nA: {output}\ncorrect or incorrect?")
    return await call_text(
        mcp_client,
        "create_task",
        {"name": "qa-eval", "experiments": ["baseline"], "evaluators": [{"evaluator": judge}]},
    )


async def test_a_task_whose_eval_column_holds_uploaded_scores_says_so_and_names_another_eval_column(
    mcp_client: Client, client: AsyncArizeClient, stub: StubServer
) -> None:
    created, text = await dataset_task(mcp_client, client, stub)

    [warning] = [w for w in created["warnings"] if "eval.correctness" in w]
    assert "already holds values on 3 of the 3 matching experiment runs" in warning
    assert "this task did not write" in warning and "update_judge" in warning
    assert "eval.correctness" in text.splitlines()[0]

    skipped = await call_error(mcp_client, "trigger_backfill", {"task": "qa-eval"})
    assert "already has eval.correctness" in skipped and "not written by this task" in skipped
    assert "override_evaluations" not in skipped


async def test_override_over_uploaded_scores_asks_first_and_says_how_many_it_would_overwrite(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await dataset_task(mcp_client, client, stub)

    refused = await call_error(mcp_client, "trigger_backfill", {"task": "qa-eval", "override": True})

    assert "Confirmation required: " in refused
    assert "overwrite eval.correctness on 3 experiment runs" in refused and "confirm=true" in refused
    assert await run_count(client, "qa-eval") == 0
    assert await uploaded_labels(client) == ["incorrect"] * 3

    started = await call(mcp_client, "trigger_backfill", {"task": "qa-eval", "override": True, "confirm": True})
    await engine.runner.run_until_idle()
    done = await call(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})
    assert done["run"]["num_successes"] == 3
    assert await uploaded_labels(client) == ["correct"] * 3


async def test_override_over_uploaded_scores_asks_through_elicitation_and_a_no_changes_nothing(
    mcp_server: MCPServer[AppState], mcp_client_mode: str, client: AsyncArizeClient, stub: StubServer
) -> None:
    questions: list[str] = []

    async def user(context: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult:
        questions.append(params.message)
        return ElicitResult(action="decline")

    async with Client(mcp_server, mode=mcp_client_mode, elicitation_callback=user) as mcp:
        await dataset_task(mcp, client, stub)
        refused = await call_error(mcp, "trigger_backfill", {"task": "qa-eval", "override": True})

    assert "nothing was changed" in refused
    assert len(questions) == 1 and "overwrite eval.correctness on 3 experiment runs" in questions[0]
    assert await run_count(client, "qa-eval") == 0
    assert await uploaded_labels(client) == ["incorrect"] * 3


async def same_column_judge(client: AsyncArizeClient, stub: StubServer, name: str, *, column: str) -> str:
    """A judge named ``name`` whose results go to ``eval.<column>``; returns its name."""
    integration = await judge_integration(client, stub, name=f"{name}-stub")
    await client.request(
        "POST",
        "/v2/evaluators",
        json_body={
            "space_id": client.space,
            "name": name,
            "type": "TEMPLATE",
            "version": {
                "commit_message": "v1",
                "template_config": {
                    "name": column,
                    "template": "Question: {input}\nAnswer: {output}\nIs it correct? Answer correct or incorrect.",
                    "include_explanations": True,
                    "use_function_calling": True,
                    "classification_choices": {"correct": 1, "incorrect": 0},
                    "llm_config": {
                        "ai_integration_id": integration,
                        "model_name": "stub-model",
                        "invocation_parameters": {},
                        "provider_parameters": {},
                    },
                },
            },
        },
    )
    return name


async def test_another_tasks_results_in_the_same_eval_column_are_not_this_tasks_to_overwrite_silently(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 5)])
    judge = await stub_judge(client, stub)
    await call(mcp_client, "create_task", {"name": "first", "project": "app", "evaluators": [{"evaluator": judge}]})
    await call(mcp_client, "trigger_backfill", {"task": "first", "start_time": "-1d"})
    await engine.runner.run_until_idle()
    # A second judge writing to the same eval column, as a judge named like another one does.
    strict = await same_column_judge(client, stub, "strict correctness", column="correctness")

    second, text = await call_text(
        mcp_client, "create_task", {"name": "second", "project": "app", "evaluators": [{"evaluator": strict}]}
    )
    assert any("eval.correctness already holds values on 4 of the 4 matching spans" in w for w in second["warnings"])
    assert "eval.correctness" in text.splitlines()[0]

    asked = await call_error(mcp_client, "trigger_backfill", {"task": "second", "start_time": "-1d", "override": True})
    assert "Confirmation required" in asked and "on 4 spans" in asked

    # The first task re-scores its own results without a question.
    own = await call(mcp_client, "trigger_backfill", {"task": "first", "start_time": "-1d", "override": True})
    assert own["run"]["status"] == "PENDING"
    renamed = await call_text(mcp_client, "update_task", {"task": "first", "query_filter": "span_kind = 'LLM'"})
    assert not any("already holds values" in w for w in renamed[0]["warnings"])


async def test_a_task_of_many_evaluators_keeps_every_result_under_8000_characters(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i, output=json.dumps({"answer": i})) for i in range(1, 31)])
    # Long names make every evaluator's part of a result long (its ref, its eval column, its label sample).
    names = [f"{'output_is_valid_json_' * 7}{i:02d}" for i in range(20)]
    for name in names:
        await code_evaluator(client, name, "JSON_PARSEABLE", ["attributes.output.value"])
    evaluators = [{"evaluator": f"{name} check"} for name in names]

    created, _ = await call_text(
        mcp_client, "create_task", {"name": "many", "project": "app", "evaluators": evaluators}
    )
    shown = len(created["evaluators"])
    assert f"{20 - shown} more evaluators (checked, attached) left out" in created["warnings"][-1]
    assert len((await client.tasks.get("many")).evaluators) == 20

    async with anyio.create_task_group() as group:
        group.start_soon(engine.runner.serve)
        with anyio.fail_after(60):
            done, _ = await call_text(
                mcp_client, "trigger_backfill", {"task": "many", "start_time": "-1d", "wait_seconds": 60}
            )
        group.cancel_scope.cancel()

    assert done["finished"] is True and done["run"]["num_successes"] == 20 * 30
    assert any("label samples of" in w for w in done["warnings"])
    detail, _ = await call_text(mcp_client, "get_task_runs", {"run_id": done["run"]["id"]})
    assert detail["label_samples"]

"""Task tools through the MCP protocol (both eras), against the engine: create, update, delete, backfill, runs.

The sampling, eval-column and run-listing behaviours have their own files (``test_task_backfills.py``,
``test_task_runs.py``), which share the helpers here.

Spans start minutes before ``FIXED_NOW`` (the server's clock), so '-1d' windows and the checks' 30-day lookback
find them. Runs execute when a test calls ``engine.runner.run_until_idle()``; the one test that waits inside the
tool serves the runner in the background for the length of the call instead (``engine.runner.serve``), so the
run progresses while the tool polls it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import anyio
import pytest
from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.store.documents import TaskRunDoc
from arize_skills.engine.store.objects import document, get_object
from arize_skills.engine.store.tasks import TASK_RUN_KIND, save_run
from arize_skills.mcp_server.tools.task_runs import diagnose
from arize_skills.models.ids import decode_id
from arize_skills.models.tasks import TaskRun
from tests.engine.otlp_payloads import span
from tests.engine.runner_support import (
    PROVIDER_KEY,
    add_spans,
    code_evaluator,
    judge_evaluator,
    judge_integration,
)
from tests.engine.tasks_setup import add_ai_integration
from tests.mcp_server.conftest import FIXED_NOW, call, call_error
from tests.stubs.llm_server import StubServer, serve_stub


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with serve_stub() as served:
        yield served


def recent_span(
    number: int,
    *,
    minutes_ago: float | None = None,
    kind: str = "LLM",
    output: str | None = None,
    no_output: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A span ``number`` minutes (or ``minutes_ago``) before ``FIXED_NOW`` with a question and an answer (``output``
    instead of the default answer; none with ``no_output``) and ``extra`` attributes."""
    attrs: dict[str, Any] = {"input.value": f"question {number}", "output.value": output or f"answer {number}"}
    if no_output:
        del attrs["output.value"]
    attrs.update(extra or {})
    ago = minutes_ago if minutes_ago is not None else number
    return span(
        f"{number:016x}",
        trace_id=f"{number:032x}",
        start=FIXED_NOW - timedelta(minutes=ago),
        attributes=attrs,
        kind=kind,
        name=f"llm-{number}",
    )


async def offline_judge(client: AsyncArizeClient, name: str = "correctness", template: str | None = None) -> str:
    """A judge on an integration with no key (for tests that never run it); returns the evaluator's name."""
    integration = await add_ai_integration(client)
    kwargs: dict[str, Any] = {"name": name}
    if template is not None:
        kwargs["template"] = template
    await judge_evaluator(client, integration, **kwargs)
    return f"{name} judge"


async def stub_judge(client: AsyncArizeClient, stub: StubServer, name: str = "correctness", **kwargs: Any) -> str:
    """A judge answering through the stub LLM server; returns the evaluator's name."""
    integration = await judge_integration(
        client, stub, name=f"{name}-stub", api_key=kwargs.pop("api_key", PROVIDER_KEY)
    )
    await judge_evaluator(client, integration, name=name, **kwargs)
    return f"{name} judge"


async def call_text(client: Client, tool: str, arguments: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Call a tool that must succeed; its structured result and the text a model reads (summary line first)."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    text = "\n".join(block.text for block in result.content if block.type == "text")
    assert len(text) <= 8000, len(text)
    return result.structured_content, text


async def task_count(client: AsyncArizeClient) -> int:
    return len((await client.tasks.list()).items)


async def run_count(client: AsyncArizeClient, task: str) -> int:
    return len((await client.tasks.list_runs(task)).items)


# --- create_task -------------------------------------------------------------------------------------------------


async def test_create_task_fills_standard_mappings_and_says_how_many_recent_spans_carry_them(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 7)])
    judge = await offline_judge(client)

    result = await call(
        mcp_client,
        "create_task",
        {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}], "query_filter": "span_kind = 'LLM'"},
    )

    assert result["type"] == "TEMPLATE_EVALUATION"
    assert result["project"]["name"] == "app"
    assert result["records_in_window"] == {"count": 6, "complete": True}
    assert result["records_matching"] == {"count": 6, "complete": True}
    [evaluator] = result["evaluators"]
    assert evaluator["column_mappings"] == {"input": "attributes.input.value", "output": "attributes.output.value"}
    assert [(v["variable"], v["source"], v["present"], v["sampled"]) for v in evaluator["variables"]] == [
        ("input", "default", 6, 6),
        ("output", "default", 6, 6),
    ]
    assert evaluator["eval_column"] == "eval.correctness"
    assert sorted(result["applied_defaults"]) == [
        f"{judge}: input → attributes.input.value",
        f"{judge}: output → attributes.output.value",
    ]
    assert result["warnings"] == []
    assert "trigger_backfill" in result["next_step"]
    stored = await client.tasks.get(result["task"]["id"])
    assert stored.query_filter == "span_kind = 'LLM'"
    assert stored.evaluators[0].column_mappings == evaluator["column_mappings"]


async def test_a_template_variable_with_no_mapping_is_refused_listing_the_paths_spans_carry(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i, extra={"llm.model_name": "gpt-4o"}) for i in range(1, 4)])
    judge = await offline_judge(
        client, "grounded", "Facts: {facts}\nAnswer: {output}\nIs it grounded? correct/incorrect"
    )

    error = await call_error(
        mcp_client, "create_task", {"name": "g", "project": "app", "evaluators": [{"evaluator": judge}]}
    )

    assert "nothing was written" in error
    assert "variable 'facts' has no mapping" in error
    assert '{"facts": ' in error
    assert "attributes.llm.model_name (3)" in error and "attributes.output.value (3)" in error
    assert "'output'" not in error.split("variable 'facts'")[0]
    assert await task_count(client) == 0


async def test_a_mapping_to_a_path_no_recent_span_has_is_refused_with_the_closest_paths_first(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await offline_judge(client)
    spec = {
        "evaluator": judge,
        "column_mappings": {"input": "attributes.input.value", "output": "attributes.output.text"},
    }

    error = await call_error(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [spec]})

    assert "'output' is mapped to 'attributes.output.text', which none of the 3 most recent matching spans has" in error
    paths = error.split("paths the sampled records carry (how many have each): ")[1]
    assert paths.startswith("attributes.output.value (3)")
    assert await task_count(client) == 0


async def test_a_filter_that_matches_no_recent_span_is_refused_unless_allowed(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 5)])
    judge = await offline_judge(client)
    arguments: dict[str, Any] = {
        "name": "retrievals",
        "project": "app",
        "evaluators": [{"evaluator": judge}],
        "query_filter": "span_kind = 'RETRIEVER'",
    }

    error = await call_error(mcp_client, "create_task", arguments)
    assert "query_filter \"span_kind = 'RETRIEVER'\" matches none of the 4 spans of project 'app'" in error
    assert "is_continuous=true" in error
    assert await task_count(client) == 0

    result = await call(mcp_client, "create_task", {**arguments, "is_continuous": True})
    assert result["records_matching"] == {"count": 0, "complete": True}
    assert result["warnings"][0].startswith("NO MATCHING RECORDS: query_filter")
    variables = result["evaluators"][0]["variables"]
    assert {(v["variable"], v["path"], v["sampled"]) for v in variables} == {
        ("input", "attributes.input.value", 0),
        ("output", "attributes.output.value", 0),
    }
    assert any("could not be checked" in w for w in result["warnings"])


async def test_an_evaluator_filter_that_matches_nothing_the_task_selects_is_refused(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await offline_judge(client)
    spec = {"evaluator": judge, "query_filter": "attributes.llm.model_name = 'gpt-5'"}

    error = await call_error(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [spec]})

    assert "evaluators[0] (evaluator 'correctness judge'): its filter" in error
    assert "matches none of the 3 spans the task selects" in error


async def test_a_filter_the_backend_cannot_parse_is_refused_naming_the_argument(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(1)])
    judge = await offline_judge(client)

    error = await call_error(
        mcp_client,
        "create_task",
        {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}], "query_filter": "span_kind = = 'LLM'"},
    )

    assert (
        error.startswith("query_filter: the backend refused the filter") or "query_filter: the backend refused" in error
    )
    assert await task_count(client) == 0


async def test_a_path_only_some_recent_spans_carry_is_created_with_a_warning(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    spans = [recent_span(i) for i in range(1, 4)] + [recent_span(i, no_output=True) for i in range(4, 7)]
    await add_spans(engine, "app", spans)
    judge = await offline_judge(client)

    result = await call(
        mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]}
    )

    output = next(v for v in result["evaluators"][0]["variables"] if v["variable"] == "output")
    assert (output["present"], output["sampled"]) == (3, 6)
    assert any("has a value on only 3 of 6 sampled spans" in w for w in result["warnings"])


async def test_a_code_evaluator_task_checks_the_paths_its_variables_name(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    await code_evaluator(client, "is_json", "JSON_PARSEABLE", ["attributes.output.value"])
    await code_evaluator(client, "msgs_json", "JSON_PARSEABLE", ["attributes.llm.output_messages"])

    result = await call(
        mcp_client, "create_task", {"name": "json", "project": "app", "evaluators": [{"evaluator": "is_json check"}]}
    )
    assert result["type"] == "CODE_EVALUATION"
    [variable] = result["evaluators"][0]["variables"]
    assert (variable["path"], variable["source"], variable["present"]) == ("attributes.output.value", "own_name", 3)
    assert result["evaluators"][0]["column_mappings"] == {}

    error = await call_error(
        mcp_client, "create_task", {"name": "msgs", "project": "app", "evaluators": [{"evaluator": "msgs_json check"}]}
    )
    assert "variable 'attributes.llm.output_messages' has no mapping" in error

    mapped = {"evaluator": "msgs_json check", "column_mappings": {"value": "attributes.output.value"}}
    fixed = await call(mcp_client, "create_task", {"name": "msgs", "project": "app", "evaluators": [mapped]})
    assert fixed["evaluators"][0]["column_mappings"] == {"value": "attributes.output.value"}


async def test_a_dataset_task_checks_its_mappings_against_the_experiment_runs(
    mcp_client: Client, client: AsyncArizeClient
) -> None:
    dataset = await client.datasets.create("qa-set", [{"question": f"q{i}", "expected": f"a{i}"} for i in range(3)])
    examples = (await client.datasets.list_examples(dataset.id)).items
    runs = [{"example_id": e.id, "output": f"a{i}"} for i, e in enumerate(examples)]
    await client.experiments.create("baseline", runs, dataset=dataset.id)
    judge = await offline_judge(client, "answers", "Q: {question}\nA: {output}\nIs it right? correct or incorrect")
    other = await offline_judge(client, "graded", "Q: {question}\nA: {answer}\ncorrect or incorrect")

    result = await call(
        mcp_client,
        "create_task",
        {"name": "qa-eval", "experiments": ["baseline"], "evaluators": [{"evaluator": judge}]},
    )
    assert result["dataset"]["name"] == "qa-set"
    assert [e["name"] for e in result["experiments"]] == ["baseline"]
    assert result["records_in_window"] == {"count": 3, "complete": True}
    variables = {v["variable"]: (v["path"], v["present"]) for v in result["evaluators"][0]["variables"]}
    assert variables == {"question": ("question", 3), "output": ("output", 3)}

    error = await call_error(
        mcp_client,
        "create_task",
        {"name": "graded", "experiments": ["baseline"], "evaluators": [{"evaluator": other}]},
    )
    assert "variable 'answer' has no mapping" in error
    assert "expected (3)" in error and "output (3)" in error


async def test_create_task_refuses_arguments_that_do_not_fit_together(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(1)])
    judge = await offline_judge(client)
    await code_evaluator(client, "is_json", "JSON_PARSEABLE", ["attributes.output.value"])
    evaluators = [{"evaluator": judge}]

    neither = await call_error(mcp_client, "create_task", {"name": "x", "evaluators": evaluators})
    assert "project, experiments: give exactly one" in neither
    mixed = await call_error(
        mcp_client,
        "create_task",
        {"name": "x", "project": "app", "evaluators": [*evaluators, {"evaluator": "is_json check"}]},
    )
    assert "cannot share a task" in mixed
    twice = await call_error(mcp_client, "create_task", {"name": "x", "project": "app", "evaluators": evaluators * 2})
    assert "evaluators[1]: evaluator 'correctness judge' is listed twice" in twice
    unknown = await call_error(
        mcp_client, "create_task", {"name": "x", "project": "app", "evaluators": [{"evaluator": "nope"}]}
    )
    assert "find(kind='evaluator'" in unknown
    assert await task_count(client) == 0


# --- update_task --------------------------------------------------------------------------------------------------


async def test_update_task_turns_continuous_on_and_clears_the_filter_with_an_empty_one(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await offline_judge(client)
    created = await call(
        mcp_client,
        "create_task",
        {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}], "query_filter": "span_kind = 'LLM'"},
    )

    turned = await call(mcp_client, "update_task", {"task": "qa", "is_continuous": True, "sampling_rate": 0.5})
    assert turned["task"] == created["task"]
    assert turned["changed"] == ["sampling_rate", "is_continuous"]
    assert turned["is_continuous"] is True and turned["checked"] is False
    assert turned["query_filter"] == "span_kind = 'LLM'"

    cleared = await call(mcp_client, "update_task", {"task": "qa", "query_filter": ""})
    assert cleared["query_filter"] is None and cleared["checked"] is True
    assert cleared["records_matching"] == {"count": 3, "complete": True}
    stored = await client.tasks.get(created["task"]["id"])
    assert (stored.sampling_rate, stored.is_continuous, stored.query_filter) == (0.5, True, None)

    nothing = await call_error(mcp_client, "update_task", {"task": "qa"})
    assert "nothing to update" in nothing


async def test_update_task_replacing_evaluators_says_what_was_removed_and_keeps_pins(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await offline_judge(client)
    helpful = await offline_judge(client, "helpful")
    pinned = (await client.evaluators.get(judge)).version
    assert pinned is not None
    created = await call(
        mcp_client,
        "create_task",
        {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}, {"evaluator": helpful}]},
    )
    # A pin made elsewhere (the AX UI, the SDK): create_task itself always runs the latest version.
    entries = [
        {"evaluator_id": e["evaluator"]["id"], "column_mappings": e["column_mappings"]} for e in created["evaluators"]
    ]
    entries[0]["evaluator_version_id"] = pinned.id
    await client.tasks.update("qa", evaluators=entries)
    await client.evaluators.create_version(
        judge,
        {
            "commit_message": "v2",
            "template_config": {
                "name": "correctness",
                "template": "Q {input} A {output}: correct or incorrect?",
                "include_explanations": True,
                "use_function_calling": True,
                "classification_choices": {"correct": 1, "incorrect": 0},
                "llm_config": {
                    "ai_integration_id": await add_ai_integration(client),
                    "model_name": "gpt-4o",
                    "invocation_parameters": {},
                    "provider_parameters": {},
                },
            },
        },
    )

    result = await call(mcp_client, "update_task", {"task": "qa", "evaluators": [{"evaluator": judge}]})

    assert result["warnings"][0] == (
        "evaluators replaced the task's whole evaluator list; removed: helpful judge "
        "(their results already written stay)"
    )
    assert f"kept its version pin {pinned.id}" in result["warnings"][1]
    [evaluator] = result["evaluators"]
    assert evaluator["version_id"] == pinned.id
    assert evaluator["column_mappings"] == {"input": "attributes.input.value", "output": "attributes.output.value"}
    stored = await client.tasks.get("qa")
    assert [(e.evaluator_name, e.evaluator_version_id) for e in stored.evaluators] == [(judge, pinned.id)]

    unknown = await call_error(mcp_client, "update_task", {"task": "qa", "evaluators": [{"evaluator": judge, "x": 1}]})
    assert "evaluators[0]: x: is not a field here" in unknown


async def test_update_task_refuses_a_new_filter_that_matches_no_recent_span(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await offline_judge(client)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})

    error = await call_error(mcp_client, "update_task", {"task": "qa", "query_filter": "status_code = 'ERROR'"})

    assert "query_filter \"status_code = 'ERROR'\" matches none of the 3 spans" in error
    assert (await client.tasks.get("qa")).query_filter is None


# --- trigger_backfill / get_task_runs ----------------------------------------------------------------------------


async def test_a_backfill_scores_spans_with_the_stub_judge_and_get_task_run_reads_back_the_labels(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 6)] + [recent_span(9, minutes_ago=3 * 24 * 60)])
    judge = await stub_judge(client, stub)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})

    started = await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d", "max_spans": 100})

    assert started["run"]["status"] == "PENDING" and started["finished"] is False
    assert started["window"] == "2026-08-09T12:30:00.000Z .. 2026-08-10T12:30:00.000Z"
    tally = started["tally"]
    assert (tally["in_window"], tally["matching"], tally["complete"]) == (5, 5, True)
    assert (tally["already_scored"], tally["to_score"], tally["sampled_out"]) == (0, 5, 0)
    assert started["diagnosis"] is None
    assert started["run"]["id"] in started["next_step"]

    await engine.runner.run_until_idle()
    result = await call(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})

    run = result["run"]
    assert (run["status"], run["num_successes"], run["num_errors"], run["num_skipped"]) == ("COMPLETED", 5, 0, 0)
    assert result["finished"] is True
    assert result["diagnosis"]["cause"] == "scored"
    assert result["task"]["name"] == "qa"
    [sample] = result["label_samples"]
    assert sample["eval_column"] == "eval.correctness"
    assert (sample["sampled"], sample["label_counts"], sample["mean_score"]) == (5, {"correct": 5}, 1.0)
    assert sample["examples"][0]["explanation"] == "stub explanation for correct"
    assert len(stub.requests) == 5


async def test_a_backfill_can_wait_for_the_run_sending_progress(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 5)])
    judge = await stub_judge(client, stub)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with anyio.create_task_group() as group:
        group.start_soon(engine.runner.serve)
        with anyio.fail_after(60):
            outcome = await mcp_client.call_tool(
                "trigger_backfill",
                {"task": "qa", "start_time": "-1d", "wait_seconds": 60},
                progress_callback=on_progress,
            )
        group.cancel_scope.cancel()

    assert not outcome.is_error, outcome.content
    result = outcome.structured_content
    assert result is not None
    assert result["finished"] is True and result["run"]["status"] == "COMPLETED"
    assert result["diagnosis"]["cause"] == "scored"
    assert result["label_samples"][0]["label_counts"] == {"correct": 4}
    assert seen[-1] == (4, 4, "COMPLETED: 4 scored, 0 errors, 0 skipped")
    assert [p[0] for p in seen] == sorted({p[0] for p in seen})
    assert all(total == 4 for _, total, _ in seen)


async def test_a_code_evaluator_backfill_labels_spans_true_or_false(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    spans = [recent_span(i, output=json.dumps({"answer": i})) for i in (1, 2, 3)]
    spans += [recent_span(4, output="not json")]
    await add_spans(engine, "app", spans)
    await code_evaluator(client, "is_json", "JSON_PARSEABLE", ["attributes.output.value"])
    await call(
        mcp_client, "create_task", {"name": "json", "project": "app", "evaluators": [{"evaluator": "is_json check"}]}
    )

    started = await call(mcp_client, "trigger_backfill", {"task": "json", "start_time": "-2h"})
    await engine.runner.run_until_idle()
    result = await call(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})

    assert result["run"]["num_successes"] == 4
    [sample] = result["label_samples"]
    assert sample["label_counts"] == {"true": 3, "false": 1}
    assert sample["mean_score"] == 0.75


async def test_a_backfill_window_that_holds_no_spans_is_refused_and_names_the_newest_span(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await offline_judge(client)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})

    error = await call_error(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-3d", "end_time": "-2d"})

    assert "the window 2026-08-07T12:30:00.000Z .. 2026-08-08T12:30:00.000Z holds no spans in project 'app'" in error
    assert "newest span of the last 90 days started at 2026-08-10T12:29:00.000Z" in error
    assert "move end_time past it" in error
    assert await run_count(client, "qa") == 0


async def test_the_first_backfill_of_a_task_needs_a_start_and_a_window_of_at_most_30_days(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(1)])
    judge = await offline_judge(client)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})

    no_start = await call_error(mcp_client, "trigger_backfill", {"task": "qa"})
    assert "start_time: task 'qa' has never run" in no_start and "'-7d'" in no_start
    too_long = await call_error(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-40d"})
    assert "a run covers at most 30" in too_long
    bad = await call_error(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "yesterday"})
    assert "start_time: 'yesterday' is not a time" in bad
    assert await run_count(client, "qa") == 0


async def test_a_backfill_over_spans_that_all_have_results_is_refused_unless_override(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await stub_judge(client, stub)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
    await engine.runner.run_until_idle()

    error = await call_error(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
    assert "every one of the 3 matching spans" in error and "already has eval.correctness" in error
    assert "override=true" in error
    assert await run_count(client, "qa") == 1

    again = await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d", "override": True})
    assert again["tally"]["already_scored"] == 3 and again["tally"]["to_score"] == 3
    await engine.runner.run_until_idle()
    result = await call(mcp_client, "get_task_runs", {"run_id": again["run"]["id"]})
    assert result["run"]["num_successes"] == 3


async def test_a_backfill_whose_task_filter_matches_nothing_in_the_window_is_refused(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await offline_judge(client)
    await call(
        mcp_client,
        "create_task",
        {
            "name": "errors",
            "project": "app",
            "evaluators": [{"evaluator": judge}],
            "query_filter": "status_code = 'ERROR'",
            "is_continuous": True,
        },
    )

    error = await call_error(mcp_client, "trigger_backfill", {"task": "errors", "start_time": "-1d"})

    assert "the task's query_filter \"status_code = 'ERROR'\" matches none of the 3 spans" in error
    assert await run_count(client, "errors") == 0


async def test_a_second_backfill_while_a_run_is_pending_says_to_wait_or_cancel(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 3)])
    judge = await offline_judge(client)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    first = await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})

    error = await call_error(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})

    assert "task 'qa' already has a run going" in error and first["run"]["id"] in error
    assert "cancel_task_run" in error


async def test_a_run_with_errors_names_the_most_common_error_and_the_fix(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    spans = [recent_span(i) for i in range(1, 3)] + [recent_span(i, no_output=True) for i in range(3, 6)]
    await add_spans(engine, "app", spans)
    judge = await stub_judge(client, stub)
    created = await call(
        mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]}
    )
    assert any("only 2 of 5" in w for w in created["warnings"])

    started = await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
    await engine.runner.run_until_idle()
    result = await call(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})

    assert (result["run"]["num_successes"], result["run"]["num_errors"]) == (2, 3)
    diagnosis = result["diagnosis"]
    assert diagnosis["cause"] == "scored_with_errors"
    assert "variable 'output' has no value" in diagnosis["most_common_error"]
    assert "column_mappings" in diagnosis["next_steps"][0]
    assert len(result["run"]["errors_sample"]) == 3


async def test_a_run_whose_judge_key_is_refused_is_diagnosed_as_credentials(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 5)])
    with serve_stub(expected_key=PROVIDER_KEY) as stub:
        judge = await stub_judge(client, stub, api_key="sk-wrong-key-for-this-test")
        await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
        started = await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
        await engine.runner.run_until_idle()

    result = await call(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})

    assert result["run"]["status"] == "FAILED"
    assert result["diagnosis"]["cause"] == "credentials"
    assert "create_ai_integration" in result["diagnosis"]["next_steps"][0]
    assert "sk-wrong-key" not in json.dumps(result)


async def test_an_already_scored_run_the_backend_cancelled_says_to_retrigger_with_override(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 3)])
    judge = await stub_judge(client, stub)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
    await engine.runner.run_until_idle()
    # Past the tool's guard, straight through the client, as another tool or the AX UI could.
    run = await client.tasks.trigger_run("qa", data_start_time=FIXED_NOW - timedelta(days=1), data_end_time=FIXED_NOW)
    await engine.runner.run_until_idle()

    result = await call(mcp_client, "get_task_runs", {"run_id": run.id})

    assert (result["run"]["status"], result["run"]["num_successes"]) == ("CANCELLED", 0)
    assert result["diagnosis"]["cause"] == "already_scored"
    assert "override=true" in result["diagnosis"]["next_steps"][0]
    # The engine's reason (like AX's) names the REST field; the agent can only pass the tool's own parameter.
    assert "override_evaluations" not in json.dumps(result) and "override is false" in result["run"]["failure_reason"]


async def test_a_run_cancelled_with_no_reason_says_the_backend_gave_none_and_what_to_check(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 3)])
    judge = await offline_judge(client)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    started = await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
    decoded = decode_id(started["run"]["id"])
    assert decoded is not None

    # AX can end a run CANCELLED 0/0/0 with no failure_reason; the engine always gives one, so store that state.
    def cancel_silently(conn: Any) -> None:
        stored = get_object(conn, TASK_RUN_KIND, decoded.number)
        assert stored is not None
        moment = "2026-08-10T12:30:00Z"
        doc = document(stored, TaskRunDoc)
        doc.status, doc.run_started_at, doc.run_finished_at = "CANCELLED", moment, "2026-08-10T12:30:02Z"
        save_run(conn, stored, doc, now=moment)

    await engine.store.write(cancel_silently)
    result = await call(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})

    diagnosis = result["diagnosis"]
    assert diagnosis["cause"] == "no_reason_given"
    assert "the backend gave no reason" in diagnosis["summary"]
    assert "2 s after it started" in diagnosis["summary"] and "credentials" in diagnosis["summary"]
    assert any("credentials" in step for step in diagnosis["next_steps"])
    assert any("column mappings" in step for step in diagnosis["next_steps"])


def test_a_long_cancel_with_no_reason_points_at_failing_llm_calls_first() -> None:
    run = TaskRun.model_validate(
        {
            "id": "r1",
            "task_id": "t1",
            "status": "CANCELLED",
            "num_successes": 0,
            "num_errors": 0,
            "num_skipped": 0,
            "run_started_at": "2026-08-10T12:00:00Z",
            "run_finished_at": "2026-08-10T12:03:10Z",
        }
    )
    diagnosis = diagnose(run)
    assert diagnosis.cause == "no_reason_given"
    assert "after 3 min" in diagnosis.summary
    assert "model name" in diagnosis.next_steps[0]


# --- cancel_task_run ---------------------------------------------------------------------------------------------


async def test_cancel_task_run_needs_the_users_yes_and_reports_what_was_kept(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 3)])
    judge = await offline_judge(client)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    started = await call(mcp_client, "trigger_backfill", {"task": "qa", "start_time": "-1d"})
    run_id = started["run"]["id"]

    refused = await call_error(mcp_client, "cancel_task_run", {"run_id": run_id})
    assert f"Confirmation required: Cancel run {run_id} of task 'qa' over 2026-08-09T12:30:00.000Z" in refused
    assert (await client.tasks.get_run(run_id)).status == "PENDING"

    result = await call(mcp_client, "cancel_task_run", {"run_id": run_id, "confirm": True})
    assert result["run"]["status"] == "CANCELLED"
    assert result["kept"] == "it had stored no results yet"
    assert result["confirmed_by"] == "argument"

    after = await call(mcp_client, "get_task_runs", {"run_id": run_id})
    assert after["diagnosis"]["cause"] == "cancelled_by_user"
    again = await call_error(mcp_client, "cancel_task_run", {"run_id": run_id, "confirm": True})
    assert f"run {run_id} is already CANCELLED: nothing to cancel" in again


async def test_get_task_run_of_an_unknown_run_says_so(mcp_client: Client) -> None:
    error = await call_error(mcp_client, "get_task_runs", {"run_id": "VGFza1J1bjo5OTk6eHl6"})
    assert "404" in error


async def test_a_dataset_task_backfill_scores_the_experiment_runs_and_reads_back_their_labels(
    mcp_client: Client, client: AsyncArizeClient, engine: Engine, stub: StubServer
) -> None:
    dataset = await client.datasets.create("qa-set", [{"question": f"q{i}"} for i in range(3)])
    examples = (await client.datasets.list_examples(dataset.id)).items
    await client.experiments.create(
        "baseline", [{"example_id": e.id, "output": "42"} for e in examples], dataset=dataset.id
    )
    judge = await stub_judge(client, stub, name="answers", template="Q: {question}\nA: {output}\ncorrect or incorrect?")
    await call(
        mcp_client,
        "create_task",
        {"name": "qa-eval", "experiments": ["baseline"], "evaluators": [{"evaluator": judge}]},
    )

    window = await call_error(mcp_client, "trigger_backfill", {"task": "qa-eval", "start_time": "-1d"})
    assert "a task over experiments scores their runs, not a time window" in window
    started = await call(mcp_client, "trigger_backfill", {"task": "qa-eval"})
    assert started["tally"]["in_window"] == 3
    assert [e["name"] for e in started["experiments"]] == ["baseline"]
    await engine.runner.run_until_idle()
    result = await call(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})

    assert result["task"]["name"] == "qa-eval"
    assert result["diagnosis"]["cause"] == "scored"
    assert result["label_samples"][0]["label_counts"] == {"correct": 3}


async def test_a_trace_level_judge_gets_its_filter_and_mappings_in_the_trace_shape(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)] + [recent_span(4, kind="CHAIN")])
    judge = await stub_judge(client, stub, name="trace_quality", granularity="TRACE")

    created = await call(
        mcp_client,
        "create_task",
        {"name": "traces", "project": "app", "evaluators": [{"evaluator": judge}], "query_filter": "span_kind = 'LLM'"},
    )
    assert created["records_matching"] == {"count": 3, "complete": True}
    spec = {"evaluator": judge, "query_filter": "span_kind = 'LLM'"}
    refused = await call_error(mcp_client, "create_task", {"name": "t2", "project": "app", "evaluators": [spec]})
    assert "evaluators[0].query_filter" in refused and "put the filter in the task's query_filter" in refused

    stored = await client.tasks.get("traces")
    assert stored.query_filter is None
    assert stored.query_filters is not None and stored.query_filters.filters
    assert stored.query_filters.filters[0].filter == "span_kind = 'LLM'"
    mappings = stored.evaluators[0].query_mappings or []
    assert {(m.variable_name, m.attribute_path) for m in mappings} == {
        ("input", "attributes.input.value"),
        ("output", "attributes.output.value"),
    }
    started = await call(mcp_client, "trigger_backfill", {"task": "traces", "start_time": "-1d"})
    await engine.runner.run_until_idle()
    result = await call(mcp_client, "get_task_runs", {"run_id": started["run"]["id"]})
    assert (result["run"]["status"], result["run"]["num_successes"]) == ("COMPLETED", 3)


async def test_update_task_refuses_new_mappings_to_paths_no_recent_span_has(
    mcp_client: Client, engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [recent_span(i) for i in range(1, 4)])
    judge = await offline_judge(client)
    await call(mcp_client, "create_task", {"name": "qa", "project": "app", "evaluators": [{"evaluator": judge}]})
    spec = {"evaluator": judge, "column_mappings": {"input": "attributes.input.value", "output": "attributes.answer"}}

    error = await call_error(mcp_client, "update_task", {"task": "qa", "evaluators": [spec]})

    assert "'output' is mapped to 'attributes.answer'" in error
    stored = await client.tasks.get("qa")
    assert stored.evaluators[0].column_mappings == {
        "input": "attributes.input.value",
        "output": "attributes.output.value",
    }

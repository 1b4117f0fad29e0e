"""Dataset-based evaluation tasks (experiment runs joined with their examples) and trace / session tasks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from tests.engine.otlp_payloads import span
from tests.engine.runner_support import (
    add_spans,
    at,
    backfill,
    get_run,
    judge_evaluator,
    judge_integration,
    project_task,
    span_evals,
    trigger,
)
from tests.stubs.llm_server import RecordedRequest, Reply, StubServer, ToolUse, serve_stub


@pytest.fixture
def stub() -> Any:
    with serve_stub() as served:
        yield served


def _prompt(request: RecordedRequest) -> str:
    return str(request.body["messages"][-1]["content"])


async def _dataset(client: AsyncArizeClient, outputs: dict[str, list[str]]) -> tuple[str, dict[str, str]]:
    """A dataset of three questions and one experiment per entry of ``outputs`` (its runs' outputs in order)."""
    examples = [{"question": f"what is {n}+{n}?", "expected": str(2 * n)} for n in range(3)]
    dataset = await client.request(
        "POST", "/v2/datasets", json_body={"name": "arith", "space_id": client.space, "examples": examples}
    )
    listed = await client.request("GET", f"/v2/datasets/{dataset['id']}/examples")
    example_ids = [e["id"] for e in listed["examples"]]
    experiments = {}
    for name, answers in outputs.items():
        created = await client.request(
            "POST",
            "/v2/experiments",
            json_body={
                "name": name,
                "dataset_id": dataset["id"],
                "experiment_runs": [{"example_id": e, "output": a} for e, a in zip(example_ids, answers, strict=True)],
            },
        )
        experiments[name] = created["id"]
    return dataset["id"], experiments


async def _runs(client: AsyncArizeClient, experiment_id: str) -> list[dict[str, Any]]:
    page = await client.request("GET", f"/v2/experiments/{experiment_id}/runs")
    runs: list[dict[str, Any]] = page["experiment_runs"]
    return runs


async def test_a_dataset_task_scores_experiment_runs_with_their_example_columns(
    engine: Engine, client: AsyncArizeClient
) -> None:
    def grade(request: RecordedRequest) -> Reply:
        prompt = _prompt(request)
        expected = prompt.split("Expected: ")[1].split("\n")[0]
        answer = prompt.split("Answer: ")[1].split("\n")[0]
        label = "correct" if expected == answer else "incorrect"
        return ToolUse("record_judgement", {"explanation": "compared", "label": label})

    dataset_id, experiments = await _dataset(client, {"good": ["0", "2", "4"], "bad": ["0", "3", "5"]})
    with serve_stub(responder=grade) as stub:
        integration = await judge_integration(client, stub)
        template = "Question: {question}\nExpected: {expected}\nAnswer: {answer}\nAnswer correct or incorrect."
        evaluator = await judge_evaluator(client, integration, template=template)
        task = await client.request(
            "POST",
            "/v2/tasks",
            json_body={
                "name": "grade",
                "type": "TEMPLATE_EVALUATION",
                "dataset_id": dataset_id,
                "experiment_ids": [experiments["good"]],
                "evaluators": [{"evaluator_id": evaluator, "column_mappings": {"answer": "output"}}],
            },
        )
        first = await trigger(client, task["id"])
        await engine.runner.run_until_idle()
        second = await trigger(client, task["id"], experiment_ids=[experiments["bad"]])
        await engine.runner.run_until_idle()

    done = await get_run(client, first["id"])
    assert (done["status"], done["num_successes"], done["data_start_time"]) == ("COMPLETED", 3, None)
    assert (await get_run(client, second["id"]))["num_successes"] == 3
    good = await _runs(client, experiments["good"])
    assert [r["eval.correctness.label"] for r in good] == ["correct"] * 3
    assert [r["eval.correctness.score"] for r in good] == [1.0] * 3
    bad = await _runs(client, experiments["bad"])
    assert [r["eval.correctness.label"] for r in bad] == ["correct", "incorrect", "incorrect"]
    assert bad[1]["eval.correctness.explanation"] == "compared"
    assert "Question: what is 1+1?\nExpected: 2\nAnswer: 3\nAnswer correct or incorrect." in {
        _prompt(r) for r in stub.requests
    }


async def test_a_dataset_task_filter_over_runs_that_matches_nothing_cancels_naming_it(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    dataset_id, experiments = await _dataset(client, {"exp": ["0", "2", "4"]})
    integration = await judge_integration(client, stub)
    evaluator = await judge_evaluator(client, integration, template="Is {output} right? correct or incorrect")
    task = await client.request(
        "POST",
        "/v2/tasks",
        json_body={
            "name": "grade",
            "type": "TEMPLATE_EVALUATION",
            "dataset_id": dataset_id,
            "experiment_ids": [experiments["exp"]],
            "query_filter": "output = '7'",
            "evaluators": [{"evaluator_id": evaluator}],
        },
    )

    run = await trigger(client, task["id"])
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["status"] == "CANCELLED"
    assert (
        "none of the 3 runs of experiment 'exp' matches the filter: task query_filter \"output = '7'\""
        in (done["failure_reason"])
    )


def _trace(number: int, tools: list[str], *, session: str | None = None, minutes: float = 0) -> list[dict[str, Any]]:
    trace_id = f"{number:032x}"
    root_id = f"{number:08x}00000000"
    common = {"session.id": session} if session else {}
    spans = [
        span(
            root_id,
            trace_id=trace_id,
            kind="CHAIN",
            name="agent",
            start=at(minutes),
            attributes={"input.value": f"ask {number}", "output.value": f"reply {number}", **common},
        )
    ]
    for index, tool in enumerate(tools, start=1):
        spans.append(
            span(
                f"{number:08x}{index:08x}",
                trace_id=trace_id,
                parent_id=root_id,
                kind="TOOL",
                name=tool,
                start=at(minutes + index / 60),
                attributes={"tool.name": tool, **common},
            )
        )
    return spans


async def test_a_trace_task_evaluates_each_matching_trace_and_writes_on_its_root_span(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(
        engine, "app", [*_trace(1, ["search", "lookup"]), *_trace(2, ["search"], minutes=5), *_trace(3, [], minutes=9)]
    )
    integration = await judge_integration(client, stub)
    template = "The user asked: {question}\nTools used: {tools}\nWere the tools right? correct or incorrect"
    evaluator = await judge_evaluator(client, integration, name="tool_use", template=template, granularity="TRACE")
    task = await project_task(
        client,
        "app",
        [
            {
                "evaluator_id": evaluator,
                "query_mappings": [
                    {"variable_name": "question", "query_ids": ["A"], "attribute_path": "attributes.input.value"},
                    {"variable_name": "tools", "query_ids": ["B"], "attribute_path": "attributes.tool.name"},
                ],
            }
        ],
        query_filters={
            "filters": [{"id": "A", "filter": "parent_id IS NULL"}, {"id": "B", "filter": "span_kind = 'TOOL'"}],
            "expression": "A AND B",
        },
    )

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"], done["num_errors"]) == ("COMPLETED", 2, 0)
    results = await span_evals(client, "app")
    scored = sorted(span_id for span_id, evals in results.items() if "tool_use" in evals)
    assert scored == [f"{1:08x}00000000", f"{2:08x}00000000"]
    prompts = {_prompt(r) for r in stub.requests}
    assert f"The user asked: ask 1\nTools used: {json.dumps(['search', 'lookup'], separators=(',', ':'))}" in "\n".join(
        prompts
    )
    assert any(p.startswith("The user asked: ask 2\nTools used: search\n") for p in prompts)


async def test_a_trace_task_whose_expression_matches_no_trace_names_the_queries(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", _trace(1, ["search"]))
    integration = await judge_integration(client, stub)
    evaluator = await judge_evaluator(
        client, integration, name="tool_use", template="{q} correct or incorrect", granularity="TRACE"
    )
    task = await project_task(
        client,
        "app",
        [
            {
                "evaluator_id": evaluator,
                "query_mappings": [{"variable_name": "q", "query_ids": [], "attribute_path": "name"}],
            }
        ],
        query_filters={"filters": [{"id": "A", "filter": "span_kind = 'RETRIEVER'"}]},
    )

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["status"] == "CANCELLED"
    assert "none of the 1 trace in the window" in done["failure_reason"]
    assert "A: \"span_kind = 'RETRIEVER'\"" in done["failure_reason"]


async def test_a_session_task_evaluates_each_session_on_its_earliest_traces_root(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    spans = [
        *_trace(1, ["search"], session="s-1", minutes=0),
        *_trace(2, [], session="s-1", minutes=10),
        *_trace(3, [], session="s-2", minutes=20),
        *_trace(4, [], minutes=30),
    ]
    await add_spans(engine, "app", spans)
    integration = await judge_integration(client, stub)
    evaluator = await judge_evaluator(
        client, integration, name="frustration", template="Turns: {turns}\ncorrect or incorrect", granularity="SESSION"
    )
    task = await project_task(
        client,
        "app",
        [
            {
                "evaluator_id": evaluator,
                "query_mappings": [
                    {"variable_name": "turns", "query_ids": ["A"], "attribute_path": "attributes.input.value"}
                ],
            }
        ],
        query_filters={"filters": [{"id": "A", "filter": "parent_id IS NULL"}]},
    )

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"]) == ("COMPLETED", 2)
    results = await span_evals(client, "app")
    scored = sorted(span_id for span_id, evals in results.items() if "frustration" in evals)
    assert scored == [f"{1:08x}00000000", f"{3:08x}00000000"]
    prompts = sorted(_prompt(r) for r in stub.requests)
    assert prompts[0].startswith(f"Turns: {json.dumps(['ask 1', 'ask 2'], separators=(',', ':'))}")
    assert prompts[1].startswith("Turns: ask 3\n")

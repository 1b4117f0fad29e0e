"""RUN_EXPERIMENT tasks: LLM generation and template evaluation over dataset examples, and chained evaluations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from tests.engine.runner_support import code_evaluator, get_run, judge_integration, trigger
from tests.stubs.llm_server import RecordedRequest, Reply, StubServer, Text, ToolUse, serve_stub

QUESTIONS = ["What is 2+2?", "Capital of France?", "Colour of the sky?"]


def _answer(request: RecordedRequest) -> Reply:
    if request.tools():
        prompt = request.body["messages"][-1]["content"]
        label = "correct" if "expected: 4" in prompt else "incorrect"
        return ToolUse("record_judgement", {"explanation": f"checked: {label}", "label": label})
    question = request.body["messages"][-1]["content"]
    return Text(f"reply to <{question}>")


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with serve_stub(responder=_answer) as served:
        yield served


async def _dataset(client: AsyncArizeClient) -> tuple[str, list[str]]:
    examples = [{"question": q, "expected": e} for q, e in zip(QUESTIONS, ["4", "Paris", "blue"], strict=True)]
    dataset = await client.request(
        "POST", "/v2/datasets", json_body={"name": "qa", "space_id": client.space, "examples": examples}
    )
    listed = await client.request("GET", f"/v2/datasets/{dataset['id']}/examples")
    return str(dataset["id"]), [e["id"] for e in listed["examples"]]


async def _task(client: AsyncArizeClient, dataset_id: str, config: dict[str, Any], name: str = "generate") -> str:
    created = await client.request(
        "POST",
        "/v2/tasks",
        json_body={"name": name, "type": "RUN_EXPERIMENT", "dataset_id": dataset_id, "run_configuration": config},
    )
    return str(created["id"])


def _generation(integration: str, content: str, style: str) -> dict[str, Any]:
    return {
        "experiment_type": "LLM_GENERATION",
        "ai_integration_id": integration,
        "model_name": "stub-model",
        "messages": [{"role": "SYSTEM", "content": "Be terse."}, {"role": "USER", "content": content}],
        "input_variable_format": style,
        "invocation_parameters": {"temperature": 0.2, "max_tokens": 50},
    }


async def _experiment_runs(client: AsyncArizeClient, experiment_id: str) -> list[dict[str, Any]]:
    page = await client.request("GET", f"/v2/experiments/{experiment_id}/runs")
    runs: list[dict[str, Any]] = page["experiment_runs"]
    return runs


async def test_llm_generation_makes_one_experiment_run_per_example_with_latency_and_tokens(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    dataset_id, example_ids = await _dataset(client)
    integration = await judge_integration(client, stub)
    task = await _task(client, dataset_id, _generation(integration, "Q: {question}", "F_STRING"))

    run = await trigger(client, task, experiment_name="gen-1")
    assert run["experiment_id"] is None
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"], done["num_errors"]) == ("COMPLETED", 3, 0)
    experiment = await client.request("GET", f"/v2/experiments/{done['experiment_id']}")
    assert experiment["name"] == "gen-1" and experiment["dataset_id"] == dataset_id
    runs = await _experiment_runs(client, done["experiment_id"])
    assert sorted(r["example_id"] for r in runs) == sorted(example_ids)
    by_example = {r["example_id"]: r for r in runs}
    first = by_example[example_ids[0]]
    assert first["output"] == "reply to <Q: What is 2+2?>"
    assert first["error"] is None and first["latency_ms"] > 0
    assert first["prompt_tokens"] == 6 and first["completion_tokens"] == 6 and first["total_tokens"] == 12
    sent = stub.requests[0].body
    assert sent["messages"][0] == {"role": "system", "content": "Be terse."}
    assert sent["temperature"] == 0.2


@pytest.mark.parametrize(
    ("content", "style", "expected"),
    [
        ("Q: {{question}} {{ dataset.expected }}", "MUSTACHE", "Q: What is 2+2? 4"),
        ("Q: {question} as written", "NONE", "Q: {question} as written"),
    ],
)
async def test_mustache_and_none_variable_formats(
    engine: Engine, client: AsyncArizeClient, stub: StubServer, content: str, style: str, expected: str
) -> None:
    dataset_id, example_ids = await _dataset(client)
    integration = await judge_integration(client, stub)
    task = await _task(client, dataset_id, _generation(integration, content, style))

    run = await trigger(client, task, experiment_name="gen", example_ids=[example_ids[0]])
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    (only,) = await _experiment_runs(client, done["experiment_id"])
    assert only["output"] == f"reply to <{expected}>"


async def test_max_examples_takes_the_first_examples_and_query_filter_narrows_them(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    dataset_id, example_ids = await _dataset(client)
    integration = await judge_integration(client, stub)
    task = await _task(client, dataset_id, _generation(integration, "{question}", "F_STRING"))

    capped = await trigger(client, task, experiment_name="capped", max_examples=2)
    await engine.runner.run_until_idle()
    filtered = await trigger(client, task, experiment_name="filtered", query_filter="expected != '4'", max_examples=1)
    await engine.runner.run_until_idle()

    capped_runs = await _experiment_runs(client, (await get_run(client, capped["id"]))["experiment_id"])
    assert sorted(r["example_id"] for r in capped_runs) == sorted(example_ids[:2])
    filtered_runs = await _experiment_runs(client, (await get_run(client, filtered["id"]))["experiment_id"])
    assert [r["example_id"] for r in filtered_runs] == [example_ids[1]]


async def test_a_missing_variable_stores_a_run_with_the_error_and_counts_it(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    dataset_id, _ = await _dataset(client)
    integration = await judge_integration(client, stub)
    task = await _task(client, dataset_id, _generation(integration, "{question} {context}", "F_STRING"))

    run = await trigger(client, task, experiment_name="broken")
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_errors"]) == ("FAILED", 3)
    assert "variable 'context' has no value" in done["failure_reason"]
    runs = await _experiment_runs(client, done["experiment_id"])
    assert all(r["output"] is None and "variable 'context'" in r["error"] for r in runs)
    assert stub.served == 0


async def test_template_evaluation_judges_each_example_and_stores_label_score_and_explanation_on_its_run(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    dataset_id, example_ids = await _dataset(client)
    integration = await judge_integration(client, stub)
    config = {
        "experiment_type": "TEMPLATE_EVALUATION",
        "ai_integration_id": integration,
        "template": "question: {{question}}\nexpected: {{truth}}\nAnswer correct or incorrect.",
        "provide_explanation": True,
        "classification_choices": {"correct": 1, "incorrect": 0},
        "column_mapping": {"truth": "expected"},
    }
    task = await _task(client, dataset_id, config, name="grade")

    run = await trigger(client, task, experiment_name="graded")
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"]) == ("COMPLETED", 3)
    runs = {r["example_id"]: r for r in await _experiment_runs(client, done["experiment_id"])}
    first = runs[example_ids[0]]
    assert first["output"] == "correct"
    assert (first["eval.evaluation.label"], first["eval.evaluation.score"]) == ("correct", 1.0)
    assert first["eval.evaluation.explanation"] == "checked: correct"
    assert runs[example_ids[1]]["eval.evaluation.score"] == 0.0
    assert all(r.forced_tool() == "record_judgement" for r in stub.requests)


async def test_evaluation_tasks_are_triggered_on_the_new_experiment_after_completion(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    dataset_id, example_ids = await _dataset(client)
    integration = await judge_integration(client, stub)
    generate = await _task(client, dataset_id, _generation(integration, "{question}", "F_STRING"))
    check = await code_evaluator(
        client,
        "mentions_reply",
        "CONTAINS_ANY_KEYWORD",
        ["output"],
        [{"name": "keywords", "type": "STRING_ARRAY", "default_value": ["reply"]}],
    )
    seed = await client.request(
        "POST",
        "/v2/experiments",
        json_body={
            "name": "seed",
            "dataset_id": dataset_id,
            "experiment_runs": [{"example_id": example_ids[0], "output": "x"}],
        },
    )
    evaluation = await client.request(
        "POST",
        "/v2/tasks",
        json_body={
            "name": "check outputs",
            "type": "CODE_EVALUATION",
            "dataset_id": dataset_id,
            "experiment_ids": [seed["id"]],
            "evaluators": [{"evaluator_id": check}],
        },
    )

    run = await trigger(client, generate, experiment_name="chained", evaluation_task_ids=[evaluation["id"]])
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["status"] == "COMPLETED"
    assert any("Triggered evaluation task 'check outputs'" in note for note in done["notes"])
    (chained,) = (await client.request("GET", f"/v2/tasks/{evaluation['id']}/runs"))["task_runs"]
    assert (chained["status"], chained["num_successes"]) == ("COMPLETED", 3)
    runs = await _experiment_runs(client, done["experiment_id"])
    assert [r["eval.mentions_reply.label"] for r in runs] == ["true"] * 3

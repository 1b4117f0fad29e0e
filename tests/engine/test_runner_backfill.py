"""Backfill runs of LLM-judge tasks over project spans: counts, skips, reasons, judges, filters and sampling."""

from __future__ import annotations

import json
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from tests.engine.runner_support import (
    PROVIDER_KEY,
    add_spans,
    at,
    backfill,
    get_run,
    iso,
    judge_evaluator,
    judge_integration,
    mapped,
    project_id,
    project_task,
    qa_span,
    span_evals,
)
from tests.stubs.llm_server import RecordedRequest, Reply, StubServer, Text, ToolUse, serve_stub


@pytest.fixture
def stub() -> Any:
    with serve_stub() as served:
        yield served


async def _judge_task(client: AsyncArizeClient, stub: StubServer, **task: Any) -> str:
    integration = await judge_integration(client, stub)
    evaluator = await judge_evaluator(client, integration)
    evaluators = task.pop("evaluators", None) or [mapped(evaluator)]
    return await project_task(client, "app", evaluators, **task)


async def test_a_backfill_scores_every_span_of_the_window_and_writes_label_score_and_explanation(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(i) for i in range(1, 8)])
    task = await _judge_task(client, stub)

    run = await backfill(client, task)
    assert run["status"] == "PENDING"
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"], done["num_errors"], done["num_skipped"]) == ("COMPLETED", 7, 0, 0)
    assert done["run_started_at"] and done["run_finished_at"] and done["failure_reason"] is None
    results = await span_evals(client, "app")
    assert len(results) == 7
    for result in results.values():
        assert result["correctness"]["label"] == "correct"
        assert result["correctness"]["score"] == 1.0
        assert result["correctness"]["explanation"] == "stub explanation for correct"
    prompts = sorted(r.body["messages"][-1]["content"] for r in stub.requests)
    assert prompts[0].startswith("Question: question 1\nAnswer: answer 1")


async def test_results_are_filterable_in_span_lists(engine: Engine, client: AsyncArizeClient) -> None:
    def by_question(request: RecordedRequest) -> Reply:
        label = "incorrect" if "question 2\n" in request.body["messages"][-1]["content"] else "correct"
        return ToolUse("record_judgement", {"explanation": f"because {label}", "label": label})

    await add_spans(engine, "app", [qa_span(i) for i in range(1, 4)])
    with serve_stub(responder=by_question) as stub:
        task = await _judge_task(client, stub)
        await backfill(client, task)
        await engine.runner.run_until_idle()

    body = {
        "project_id": await project_id(client, "app"),
        "start_time": iso(at(-60)),
        "end_time": iso(at(60)),
        "filter": "eval.correctness.label = 'incorrect'",
    }
    found = await client.request("POST", "/v2/spans", json_body=body)
    assert [s["context"]["span_id"] for s in found["spans"]] == [f"{2:016x}"]
    assert found["spans"][0]["evaluations"][0]["score"] == 0.0


async def test_already_labelled_spans_are_skipped_and_a_run_with_nothing_left_is_cancelled_with_0_0_0(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(i) for i in range(1, 6)])
    task = await _judge_task(client, stub)
    await backfill(client, task)
    await engine.runner.run_until_idle()
    calls = stub.served

    again = await backfill(client, task)
    await engine.runner.run_until_idle()
    second = await get_run(client, again["id"])
    assert second["status"] == "CANCELLED"
    assert (second["num_successes"], second["num_errors"], second["num_skipped"]) == (0, 0, 0)
    assert "override_evaluations" in second["failure_reason"]
    assert "all 5 spans" in second["failure_reason"] and "eval.correctness" in second["failure_reason"]
    assert stub.served == calls

    await add_spans(engine, "app", [qa_span(i) for i in (6, 7)])
    third = await backfill(client, task)
    await engine.runner.run_until_idle()
    done = await get_run(client, third["id"])
    assert (done["status"], done["num_successes"], done["num_skipped"]) == ("COMPLETED", 2, 5)
    assert stub.served == calls + 2


async def test_override_evaluations_scores_labelled_spans_again(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(i) for i in range(1, 4)])
    task = await _judge_task(client, stub)
    await backfill(client, task)
    await engine.runner.run_until_idle()

    stub.label = "incorrect"
    run = await backfill(client, task, override_evaluations=True)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"], done["num_skipped"]) == ("COMPLETED", 3, 0)
    assert {r["correctness"]["label"] for r in (await span_evals(client, "app")).values()} == {"incorrect"}


async def test_a_window_with_no_spans_is_cancelled_with_a_reason_giving_the_projects_span_range(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(i) for i in range(1, 4)])
    task = await _judge_task(client, stub)

    run = await backfill(client, task, data_start_time=at(-600), data_end_time=at(-300))
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["status"] == "CANCELLED"
    assert (done["num_successes"], done["num_errors"], done["num_skipped"]) == (0, 0, 0)
    reason = done["failure_reason"]
    assert "holds no spans in project 'app'" in reason
    assert "3 spans" in reason and iso(at(1)).replace("Z", "") in reason and iso(at(3)).replace("Z", "") in reason
    assert stub.served == 0


async def test_a_project_without_spans_gets_a_reason_saying_to_send_traces(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await client.request("POST", "/v2/projects", json_body={"name": "empty", "space_id": client.space})
    integration = await judge_integration(client, stub)
    evaluator = await judge_evaluator(client, integration)
    task = await project_task(client, "empty", [mapped(evaluator)])

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["status"] == "CANCELLED"
    assert "project 'empty' has no spans yet" in done["failure_reason"]


async def test_a_filter_that_matches_nothing_is_named_in_the_reason(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(i, tier="gold") for i in range(1, 4)])
    task = await _judge_task(client, stub, query_filter="attributes.tier = 'platinum'")

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["status"] == "CANCELLED"
    assert "none of the 3 spans" in done["failure_reason"]
    assert "task query_filter \"attributes.tier = 'platinum'\"" in done["failure_reason"]


async def test_task_and_evaluator_filters_are_anded(engine: Engine, client: AsyncArizeClient, stub: StubServer) -> None:
    spans = [qa_span(i, tier="gold" if i % 2 else "silver", region="eu" if i < 5 else "us") for i in range(1, 9)]
    await add_spans(engine, "app", spans)
    integration = await judge_integration(client, stub)
    evaluator = await judge_evaluator(client, integration)
    task = await project_task(
        client,
        "app",
        [mapped(evaluator, query_filter="attributes.region = 'eu'")],
        query_filter="attributes.tier = 'gold'",
    )

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["num_successes"] == 2
    assert set(await _scored(client)) == {f"{1:016x}", f"{3:016x}"}


async def _scored(client: AsyncArizeClient, name: str = "correctness") -> list[str]:
    return sorted(span_id for span_id, evals in (await span_evals(client, "app")).items() if name in evals)


async def test_max_spans_keeps_the_newest_spans_of_the_window(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(i) for i in range(1, 11)])
    task = await _judge_task(client, stub)

    run = await backfill(client, task, max_spans=3)
    await engine.runner.run_until_idle()

    assert (await get_run(client, run["id"]))["num_successes"] == 3
    assert await _scored(client) == [f"{i:016x}" for i in (8, 9, 10)]


async def test_sampling_is_deterministic_by_span_id(engine: Engine, client: AsyncArizeClient, stub: StubServer) -> None:
    await add_spans(engine, "app", [qa_span(i) for i in range(1, 201)])
    integration = await judge_integration(client, stub)
    first = await judge_evaluator(client, integration, name="first")
    second = await judge_evaluator(client, integration, name="second")
    task_a = await project_task(client, "app", [mapped(first)], name="a", sampling_rate=0.3)
    task_b = await project_task(client, "app", [mapped(second)], name="b", sampling_rate=0.3)

    await backfill(client, task_a)
    await backfill(client, task_b)
    await engine.runner.run_until_idle()
    sampled = await _scored(client, "first")
    assert 30 <= len(sampled) <= 90
    assert await _scored(client, "second") == sampled

    rerun = await backfill(client, task_a, override_evaluations=True)
    await engine.runner.run_until_idle()
    assert (await get_run(client, rerun["id"]))["num_successes"] == len(sampled)
    assert await _scored(client, "first") == sampled


async def test_a_variable_without_a_value_is_a_counted_error_naming_the_variable_and_its_mapping(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    spans = [qa_span(1), qa_span(2, **{"retrieval.documents.0.document.content": "doc two"})]
    await add_spans(engine, "app", spans)
    integration = await judge_integration(client, stub)
    template = "Question: {input}\nContext: {context}\nAnswer correct or incorrect."
    evaluator = await judge_evaluator(client, integration, template=template)
    mappings = {"input": "attributes.input.value", "context": "attributes.retrieval.documents.contents"}
    task = await project_task(client, "app", [{"evaluator_id": evaluator, "column_mappings": mappings}])

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"], done["num_errors"]) == ("COMPLETED", 1, 1)
    (sample,) = done["errors_sample"]
    assert sample["record"] == f"span {1:016x}" and sample["evaluator"] == "correctness judge"
    assert "variable 'context' has no value" in sample["message"]
    assert "column_mappings maps 'context' to 'attributes.retrieval.documents.contents'" in sample["message"]
    assert stub.served == 1
    assert 'Context: ["doc two"]' in stub.requests[0].body["messages"][-1]["content"]


async def test_an_unmapped_variable_on_every_span_fails_the_run_with_the_error_in_the_reason(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(i) for i in range(1, 4)])
    integration = await judge_integration(client, stub)
    evaluator = await judge_evaluator(client, integration, template="Is {reply} polite? Answer correct or incorrect.")
    task = await project_task(client, "app", [{"evaluator_id": evaluator}])

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"], done["num_errors"]) == ("FAILED", 0, 3)
    reason = done["failure_reason"]
    assert reason.startswith("all 3 records failed; the most common error (3 of them): variable 'reply' has no value")
    assert "no column_mappings entry" in reason and '"reply": "<column path>"' in reason
    assert stub.served == 0


async def test_an_unknown_label_is_an_error_not_a_guess(engine: Engine, client: AsyncArizeClient) -> None:
    answers = iter(["correct", "maybe", "incorrect"])

    def answer(request: RecordedRequest) -> Reply:
        return ToolUse("record_judgement", {"explanation": "hmm", "label": next(answers)})

    await add_spans(engine, "app", [qa_span(i) for i in range(1, 4)])
    with serve_stub(responder=answer) as stub:
        task = await _judge_task(client, stub)
        run = await backfill(client, task)
        await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"], done["num_errors"]) == ("COMPLETED", 2, 1)
    assert "maybe" in done["errors_sample"][0]["message"]
    labels = sorted(e["correctness"]["label"] for e in (await span_evals(client, "app")).values() if e)
    assert labels == ["correct", "incorrect"]


async def test_without_function_calling_the_label_and_explanation_are_parsed_from_text(
    engine: Engine, client: AsyncArizeClient
) -> None:
    def answer(request: RecordedRequest) -> Reply:
        assert not request.tools()
        return Text("EXPLANATION: the answer contradicts the question.\nLABEL: incorrect")

    await add_spans(engine, "app", [qa_span(1)])
    with serve_stub(responder=answer) as stub:
        integration = await judge_integration(client, stub)
        evaluator = await judge_evaluator(client, integration, function_calling=False)
        task = await project_task(client, "app", [mapped(evaluator)])
        await backfill(client, task)
        await engine.runner.run_until_idle()

    (result,) = (await span_evals(client, "app")).values()
    assert result["correctness"] == {
        "name": "correctness",
        "label": "incorrect",
        "score": 0.0,
        "explanation": "the answer contradicts the question.",
        "metadata": None,
    }


async def test_an_integration_without_function_calling_gets_text_requests(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(1)])
    integration = await judge_integration(client, stub, function_calling=False)
    evaluator = await judge_evaluator(client, integration, explanations=False)
    task = await project_task(client, "app", [mapped(evaluator)])

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    assert (await get_run(client, run["id"]))["num_successes"] == 1
    assert stub.requests[0].tools() == []
    assert "LABEL:" in stub.requests[0].body["messages"][-1]["content"]
    (result,) = (await span_evals(client, "app")).values()
    assert result["correctness"]["explanation"] is None


async def test_an_anthropic_integration_is_called_with_the_messages_protocol(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(i) for i in (1, 2)])
    integration = await judge_integration(client, stub, provider="ANTHROPIC")
    evaluator = await judge_evaluator(client, integration, choices={"correct": 1, "incorrect": 0})
    task = await project_task(client, "app", [mapped(evaluator)])
    stub.label = "incorrect"

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    assert (await get_run(client, run["id"]))["num_successes"] == 2
    assert {r.protocol for r in stub.requests} == {"anthropic"}
    assert all(r.auth_header == "x-api-key" for r in stub.requests)
    assert {e["correctness"]["score"] for e in (await span_evals(client, "app")).values()} == {0.0}


async def test_rejected_credentials_stop_the_run_early_with_a_reason_that_never_shows_the_key(
    engine: Engine, client: AsyncArizeClient
) -> None:
    from tests.stubs.llm_server import Failure

    await add_spans(engine, "app", [qa_span(i) for i in range(1, 41)])
    with serve_stub() as stub:
        stub.fail(*[Failure.unauthorized(echo_key=True)] * 40)
        task = await _judge_task(client, stub)
        run = await backfill(client, task)
        await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["status"] == "FAILED"
    assert done["failure_reason"].startswith("the AI integration 'stub-judge' rejected its credentials (401) — update")
    assert done["num_successes"] == 0 and 3 <= done["num_errors"] < 40
    assert stub.served < 40
    listed = await client.request("GET", f"/v2/tasks/{task}/runs")
    assert PROVIDER_KEY not in json.dumps(done) + json.dumps(listed)


async def test_a_deleted_integration_fails_the_run_before_any_call(
    engine: Engine, client: AsyncArizeClient, stub: StubServer
) -> None:
    await add_spans(engine, "app", [qa_span(1)])
    integration = await judge_integration(client, stub)
    evaluator = await judge_evaluator(client, integration)
    task = await project_task(client, "app", [mapped(evaluator)])
    await client.request("DELETE", f"/v2/ai-integrations/{integration}")

    run = await backfill(client, task)
    await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert done["status"] == "FAILED"
    assert (
        f"the AI integration {integration} of evaluator 'correctness judge' no longer exists" in done["failure_reason"]
    )
    assert stub.served == 0

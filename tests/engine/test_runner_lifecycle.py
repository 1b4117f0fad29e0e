"""Run lifecycle: progress while RUNNING, cancel mid-run, restart safety, and the background runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.runner.scheduler import Runner
from arize_skills.evals.providers import LlmClient, ProviderConfig
from tests.engine.runner_support import (
    add_spans,
    answer_then_hang,
    backfill,
    get_run,
    judge_evaluator,
    judge_integration,
    mapped,
    project_task,
    qa_span,
    span_evals,
    until,
)
from tests.stubs.llm_server import RecordedRequest, StubServer, serve_stub


def _one_call_at_a_time(config: ProviderConfig) -> LlmClient:
    return LlmClient(config, concurrency=1)


def _prompt_spans(requests: list[RecordedRequest]) -> set[str]:
    return {r.body["messages"][-1]["content"].split("\n")[0] for r in requests}


@pytest.fixture
def hanging_stub() -> Iterator[StubServer]:
    box: list[StubServer] = []
    with serve_stub(responder=answer_then_hang(box, 5)) as stub:
        box.append(stub)
        yield stub


async def test_cancel_stops_a_running_run_within_seconds_and_keeps_what_was_scored(
    engine: Engine, client: AsyncArizeClient, hanging_stub: StubServer
) -> None:
    engine.runner = Runner(engine, llm_client_factory=_one_call_at_a_time)
    await add_spans(engine, "app", [qa_span(i) for i in range(1, 21)])
    integration = await judge_integration(client, hanging_stub)
    task = await project_task(client, "app", [mapped(await judge_evaluator(client, integration))])
    run = await backfill(client, task)

    async def progressed() -> bool:
        current = await get_run(client, run["id"])
        return current["status"] == "RUNNING" and current["num_successes"] == 5

    async with anyio.create_task_group() as group:
        group.start_soon(engine.runner.run_until_idle)
        await until(progressed)
        cancelled = await client.request("POST", f"/v2/task-runs/{run['id']}/cancel")
        assert cancelled["status"] == "CANCELLED"
        with anyio.fail_after(5):
            await until(lambda: _finished(client, run["id"]))

    done = await get_run(client, run["id"])
    assert (done["status"], done["num_successes"], done["num_errors"]) == ("CANCELLED", 5, 0)
    assert done["failure_reason"] == (
        "Cancelled by user after 5 of 20 records (5 scored, 0 errors, 0 skipped); results already stored are kept."
    )
    assert len([e for e in (await span_evals(client, "app")).values() if e]) == 5


async def _finished(client: AsyncArizeClient, run_id: str) -> bool:
    return str((await get_run(client, run_id))["failure_reason"]).startswith("Cancelled by user after")


async def test_a_pending_run_cancelled_before_it_starts_is_never_executed(
    engine: Engine, client: AsyncArizeClient
) -> None:
    await add_spans(engine, "app", [qa_span(1)])
    with serve_stub() as stub:
        integration = await judge_integration(client, stub)
        task = await project_task(client, "app", [mapped(await judge_evaluator(client, integration))])
        run = await backfill(client, task)
        await client.request("POST", f"/v2/task-runs/{run['id']}/cancel")
        await engine.runner.run_until_idle()

    done = await get_run(client, run["id"])
    assert (done["status"], done["failure_reason"]) == ("CANCELLED", "Cancelled by user.")
    assert done["run_started_at"] is None and stub.served == 0


async def test_a_run_interrupted_by_an_engine_stop_resumes_at_the_next_start_without_scoring_twice(
    tmp_path: Path, hanging_stub: StubServer
) -> None:
    home = tmp_path / "engine"
    async with Engine.open(home) as engine, AsyncArizeClient(transport=engine.transport()) as client:
        client.space = (await client.spaces.list()).items[0].id
        engine.runner = Runner(engine, llm_client_factory=_one_call_at_a_time)
        await add_spans(engine, "app", [qa_span(i) for i in range(1, 11)])
        integration = await judge_integration(client, hanging_stub)
        task = await project_task(client, "app", [mapped(await judge_evaluator(client, integration))])
        run = await backfill(client, task)

        async def progressed() -> bool:
            return bool((await get_run(client, run["id"]))["num_successes"] == 5)

        async with anyio.create_task_group() as group:
            group.start_soon(engine.runner.run_until_idle)
            await until(progressed)
            group.cancel_scope.cancel()
        stopped = await get_run(client, run["id"])
    assert (stopped["status"], stopped["num_successes"]) == ("RUNNING", 5)
    first_phase = _prompt_spans(hanging_stub.requests[:5])

    hanging_stub.reset()
    async with Engine.open(home) as engine, AsyncArizeClient(transport=engine.transport()) as client:
        await engine.runner.run_until_idle()
        done = await get_run(client, run["id"])
        results = await span_evals(client, "app")

    assert (done["status"], done["num_successes"], done["num_errors"], done["num_skipped"]) == ("COMPLETED", 10, 0, 0)
    assert done["failure_reason"] is None
    assert any(note.startswith("Interrupted by an engine restart") for note in done["notes"])
    second_phase = _prompt_spans(hanging_stub.requests)
    assert len(hanging_stub.requests) == 5 and not first_phase & second_phase
    assert len(first_phase | second_phase) == 10
    assert all("correctness" in evals for evals in results.values()) and len(results) == 10


async def test_the_background_runner_executes_triggered_runs(tmp_path: Path) -> None:
    with serve_stub() as stub:
        async with (
            Engine.open(tmp_path / "engine", runner=True) as engine,
            AsyncArizeClient(transport=engine.transport()) as client,
        ):
            client.space = (await client.spaces.list()).items[0].id
            await add_spans(engine, "app", [qa_span(i) for i in range(1, 4)])
            integration = await judge_integration(client, stub)
            task = await project_task(client, "app", [mapped(await judge_evaluator(client, integration))])
            run = await backfill(client, task)

            done = await client.tasks.wait_for_run(run["id"], poll_interval=0.02, timeout=10)

    assert (done.status, done.num_successes) == ("COMPLETED", 3)


async def test_the_background_runner_ticks_continuous_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARIZE_SKILLS_CONTINUOUS_INTERVAL", "0.02")
    with serve_stub() as stub:
        async with (
            Engine.open(tmp_path / "engine", runner=True) as engine,
            AsyncArizeClient(transport=engine.transport()) as client,
        ):
            client.space = (await client.spaces.list()).items[0].id
            integration = await judge_integration(client, stub)
            evaluator = await judge_evaluator(client, integration)
            await project_task(client, "app", [mapped(evaluator)], is_continuous=True)
            await add_spans(engine, "app", [qa_span(i) for i in range(1, 3)])

            async def scored() -> bool:
                return len([e for e in (await span_evals(client, "app")).values() if e]) == 2

            await until(scored)
    assert stub.served == 2

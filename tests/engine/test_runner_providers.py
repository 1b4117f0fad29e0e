"""Provider trouble during a run: retried 429s and 5xx, malformed answers and hangs are per-record outcomes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.runner.scheduler import Runner
from arize_skills.evals.providers import LlmClient, ProviderConfig
from tests.engine.runner_support import (
    add_spans,
    backfill,
    get_run,
    judge_evaluator,
    judge_integration,
    mapped,
    project_task,
    qa_span,
)
from tests.stubs.llm_server import Failure, StubServer, serve_stub


def _client_factory(slept: list[float], **options: Any) -> Callable[[ProviderConfig], LlmClient]:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def make(config: ProviderConfig) -> LlmClient:
        return LlmClient(config, concurrency=1, sleep=sleep, **options)

    return make


async def _run(engine: Engine, client: AsyncArizeClient, stub: StubServer, spans: int = 3) -> dict[str, Any]:
    await add_spans(engine, "app", [qa_span(i) for i in range(1, spans + 1)])
    integration = await judge_integration(client, stub)
    task = await project_task(client, "app", [mapped(await judge_evaluator(client, integration))])
    run = await backfill(client, task)
    await engine.runner.run_until_idle()
    return await get_run(client, run["id"])


async def test_a_rate_limited_call_is_retried_after_retry_after_and_the_record_still_scores(
    engine: Engine, client: AsyncArizeClient
) -> None:
    slept: list[float] = []
    engine.runner = Runner(engine, llm_client_factory=_client_factory(slept))
    with serve_stub() as stub:
        stub.fail(Failure.rate_limited("3"), Failure.error(503), Failure.error(500))
        done = await _run(engine, client, stub)

    assert (done["status"], done["num_successes"], done["num_errors"]) == ("COMPLETED", 3, 0)
    assert slept[0] == 3.0 and len(slept) == 3
    assert stub.served == 6


async def test_a_malformed_answer_is_one_counted_error_and_the_run_goes_on(
    engine: Engine, client: AsyncArizeClient
) -> None:
    engine.runner = Runner(engine, llm_client_factory=_client_factory([], max_retries=0))
    with serve_stub() as stub:
        stub.fail(Failure.malformed())
        done = await _run(engine, client, stub)

    assert (done["status"], done["num_successes"], done["num_errors"]) == ("COMPLETED", 2, 1)
    assert done["errors_sample"][0]["message"].startswith("the judge call failed")


async def test_a_hanging_call_times_out_as_one_error(engine: Engine, client: AsyncArizeClient) -> None:
    engine.runner = Runner(engine, llm_client_factory=_client_factory([], timeout=0.3, max_retries=0))
    with serve_stub() as stub:
        stub.fail(Failure.hang())
        done = await _run(engine, client, stub)

    assert (done["status"], done["num_successes"], done["num_errors"]) == ("COMPLETED", 2, 1)
    assert "did not answer within 0.3s" in done["errors_sample"][0]["message"]


async def test_a_server_that_keeps_failing_fails_each_record_and_then_the_run(
    engine: Engine, client: AsyncArizeClient
) -> None:
    engine.runner = Runner(engine, llm_client_factory=_client_factory([], max_retries=1))
    with serve_stub() as stub:
        stub.fail(*[Failure.error(500)] * 6)
        done = await _run(engine, client, stub)

    assert (done["status"], done["num_successes"], done["num_errors"]) == ("FAILED", 0, 3)
    assert done["failure_reason"].startswith("all 3 records failed; the most common error (3 of them): the judge call")
    assert "500" in done["failure_reason"]

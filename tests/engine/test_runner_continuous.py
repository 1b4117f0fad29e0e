"""Continuous tasks: each tick runs over the spans received since the last one, honouring filters and sampling."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from tests.engine.runner_support import (
    add_spans,
    backfill,
    get_run,
    judge_evaluator,
    judge_integration,
    mapped,
    project_task,
    qa_span,
    span_evals,
)
from tests.stubs.llm_server import StubServer, serve_stub


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Setup:
    engine: Engine
    client: AsyncArizeClient
    clock: Clock
    stub: StubServer


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with serve_stub() as served:
        yield served


@pytest.fixture
async def setup(tmp_path: Path, stub: StubServer) -> AsyncIterator[Setup]:
    clock = Clock()
    async with (
        Engine.open(tmp_path / "engine", clock=clock) as engine,
        AsyncArizeClient(transport=engine.transport()) as client,
    ):
        client.space = (await client.spaces.list()).items[0].id
        yield Setup(engine, client, clock, stub)


async def _continuous_task(s: Setup, **extra: Any) -> str:
    integration = await judge_integration(s.client, s.stub)
    evaluator = await judge_evaluator(s.client, integration)
    return await project_task(s.client, "app", [mapped(evaluator)], is_continuous=True, **extra)


async def _receive(s: Setup, numbers: range | list[int], **attributes: Any) -> None:
    s.clock.advance()
    await add_spans(s.engine, "app", [qa_span(n, **attributes) for n in numbers])
    s.clock.advance()


async def _scored(s: Setup) -> set[int]:
    return {int(span_id, 16) for span_id, evals in (await span_evals(s.client, "app")).items() if evals}


async def test_each_tick_runs_over_the_spans_received_since_the_last_one(setup: Setup) -> None:
    s = setup
    await add_spans(s.engine, "app", [qa_span(n) for n in (1, 2)])
    s.clock.advance()
    task = await _continuous_task(s)

    await _receive(s, [3, 4, 5])
    (first,) = await s.engine.runner.tick_continuous()
    await s.engine.runner.run_until_idle()
    run = await get_run(s.client, first)
    assert (run["status"], run["num_successes"], run["num_skipped"]) == ("COMPLETED", 3, 0)
    assert await _scored(s) == {3, 4, 5}

    await _receive(s, [6])
    (second,) = await s.engine.runner.tick_continuous()
    await s.engine.runner.run_until_idle()
    assert (await get_run(s.client, second))["num_successes"] == 1
    assert await _scored(s) == {3, 4, 5, 6}

    s.clock.advance()
    assert await s.engine.runner.tick_continuous() == []
    runs = await s.client.request("GET", f"/v2/tasks/{task}/runs")
    assert len(runs["task_runs"]) == 2
    assert s.stub.served == 4


async def test_run_until_idle_with_tick_creates_and_executes_due_runs(setup: Setup) -> None:
    s = setup
    await _continuous_task(s)
    await _receive(s, [1, 2])

    await s.engine.runner.run_until_idle(tick=True)

    assert await _scored(s) == {1, 2}


async def test_a_tick_honours_the_task_filter_and_creates_no_run_when_no_new_span_matches(setup: Setup) -> None:
    s = setup
    await _continuous_task(s, query_filter="attributes.tier = 'gold'")

    await _receive(s, [1, 2], tier="silver")
    assert await s.engine.runner.tick_continuous() == []

    await _receive(s, [3], tier="gold")
    await _receive(s, [4], tier="silver")
    assert len(await s.engine.runner.tick_continuous()) == 1
    await s.engine.runner.run_until_idle()
    assert await _scored(s) == {3}


async def test_continuous_runs_sample_the_same_spans_as_a_backfill(setup: Setup) -> None:
    s = setup
    task = await _continuous_task(s, sampling_rate=0.5)
    await _receive(s, range(1, 61))
    await s.engine.runner.run_until_idle(tick=True)
    sampled = await _scored(s)
    assert 10 <= len(sampled) <= 50

    await s.client.request("PATCH", f"/v2/tasks/{task}", json_body={"is_continuous": False})
    rerun = await backfill(s.client, task, override_evaluations=True)
    await s.engine.runner.run_until_idle()
    assert (await get_run(s.client, rerun["id"]))["num_successes"] == len(sampled)
    assert await _scored(s) == sampled


async def test_turning_is_continuous_off_stops_the_schedule_and_turning_it_on_starts_from_then(setup: Setup) -> None:
    s = setup
    task = await _continuous_task(s)
    await s.client.request("PATCH", f"/v2/tasks/{task}", json_body={"is_continuous": False})

    await _receive(s, [1, 2])
    assert await s.engine.runner.tick_continuous() == []

    await s.client.request("PATCH", f"/v2/tasks/{task}", json_body={"is_continuous": True})
    await _receive(s, [3])
    await s.engine.runner.run_until_idle(tick=True)
    assert await _scored(s) == {3}


async def test_a_task_with_an_active_run_is_not_ticked_and_its_spans_wait_for_the_next_tick(setup: Setup) -> None:
    s = setup
    task = await _continuous_task(s)
    await _receive(s, [1, 2])
    backfilled = await backfill(s.client, task)
    assert await s.engine.runner.tick_continuous() == []

    await s.engine.runner.run_until_idle()
    assert (await get_run(s.client, backfilled["id"]))["num_successes"] == 2
    await _receive(s, [3])
    (tick,) = await s.engine.runner.tick_continuous()
    await s.engine.runner.run_until_idle()

    run = await get_run(s.client, tick)
    assert (run["status"], run["num_successes"], run["num_skipped"]) == ("COMPLETED", 1, 2)
    assert await _scored(s) == {1, 2, 3}
    assert s.stub.served == 3

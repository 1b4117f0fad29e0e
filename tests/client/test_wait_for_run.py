"""``client.tasks.wait_for_run`` and the retry policy of task calls, with an injected clock and sleep."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.store.objects import get_object, update_object
from arize_skills.errors import InternalServerError, RunTimeoutError
from arize_skills.models.ids import decode_id, encode_id
from arize_skills.models.tasks import TaskRun

from ..engine.tasks_setup import add_evaluator, span_task


class FakeTime:
    """A monotonic clock that only moves when the client sleeps, and a record of every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def timed_client(engine: Engine, fake_time: FakeTime) -> AsyncIterator[AsyncArizeClient]:
    """A client over the engine whose sleeps go to ``fake_time``."""
    async with AsyncArizeClient(transport=engine.transport(), sleep=fake_time.sleep) as opened:
        opened.space = (await opened.spaces.list()).items[0].id
        yield opened


async def pending_run(client: AsyncArizeClient, engine: Engine) -> str:
    """A project task with one PENDING run; returns the run ID."""
    assert client.space is not None
    project = await client.projects.create("app")
    judge = await add_evaluator(client, "correctness")
    task = await client.request("POST", "/v2/tasks", json_body=span_task(project.id, judge.id))
    start = datetime.now(UTC) - timedelta(hours=1)
    run = await client.tasks.trigger_run(task["id"], data_start_time=start)
    return run.id


async def advance_run(engine: Engine, run_id: str, **changes: Any) -> None:
    """Do what the runner does to a run: change its status and counts in the store."""
    decoded = decode_id(run_id)
    assert decoded is not None

    def write(conn: sqlite3.Connection) -> None:
        run = get_object(conn, "TaskRun", decoded.number)
        assert run is not None
        update_object(conn, run, now=engine.now(), body={**run.body, **changes})

    await engine.store.write(write)


async def test_wait_polls_until_the_runner_completes_the_run_and_reports_each_poll(
    timed_client: AsyncArizeClient, engine: Engine, fake_time: FakeTime
) -> None:
    run_id = await pending_run(timed_client, engine)
    seen: list[str] = []

    async def on_poll(run: TaskRun) -> None:
        seen.append(run.status)
        if len(seen) == 1:
            await advance_run(engine, run_id, status="RUNNING")
        elif len(seen) == 2:
            await advance_run(engine, run_id, status="COMPLETED", num_successes=7, num_errors=1, num_skipped=2)

    done = await timed_client.tasks.wait_for_run(
        run_id, poll_interval=2.0, timeout=60, on_poll=on_poll, clock=fake_time.clock
    )
    assert done.status == "COMPLETED" and (done.num_successes, done.num_errors, done.num_skipped) == (7, 1, 2)
    assert seen == ["PENDING", "RUNNING", "COMPLETED"]
    assert fake_time.sleeps == [2.0, 2.0]


async def test_the_first_poll_is_immediate_and_a_cancelled_run_is_returned_not_raised(
    timed_client: AsyncArizeClient, engine: Engine, fake_time: FakeTime
) -> None:
    run_id = await pending_run(timed_client, engine)
    await timed_client.tasks.cancel_run(run_id)
    run = await timed_client.tasks.wait_for_run(run_id)
    assert run.status == "CANCELLED" and run.failure_reason == "Cancelled by user."
    assert fake_time.sleeps == []


async def test_a_failed_run_is_returned_with_its_reason(
    timed_client: AsyncArizeClient, engine: Engine, fake_time: FakeTime
) -> None:
    run_id = await pending_run(timed_client, engine)
    await advance_run(engine, run_id, status="FAILED", failure_reason="the AI integration refused the key")
    run = await timed_client.tasks.wait_for_run(run_id, poll_interval=1, timeout=5)
    assert run.status == "FAILED" and run.failure_reason == "the AI integration refused the key"


async def test_wait_gives_up_at_the_deadline_with_the_run_id_and_last_status(
    timed_client: AsyncArizeClient, engine: Engine, fake_time: FakeTime
) -> None:
    run_id = await pending_run(timed_client, engine)
    polls: list[str] = []
    with pytest.raises(RunTimeoutError) as caught:
        await timed_client.tasks.wait_for_run(
            run_id, poll_interval=3, timeout=10, on_poll=lambda run: polls.append(run.status), clock=fake_time.clock
        )
    assert caught.value.run_id == run_id and caught.value.last_status == "PENDING"
    assert isinstance(caught.value, TimeoutError)
    assert "within 10s" in str(caught.value) and "PENDING" in str(caught.value)
    assert fake_time.sleeps == [3, 3, 3, 1]
    assert len(polls) == 5


def _status_transport(statuses: list[str], requests: list[httpx2.Request]) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        status = statuses.pop(0) if len(statuses) > 1 else statuses[0]
        return httpx2.Response(200, json={"id": "run", "task_id": "task", "status": status})

    return httpx2.MockTransport(handler)


async def test_terminal_statuses_are_recognised_in_any_case(fake_time: FakeTime) -> None:
    requests: list[httpx2.Request] = []
    transport = _status_transport(["pending", "Running", "failed"], requests)
    async with AsyncArizeClient(transport=transport, sleep=fake_time.sleep) as client:
        run = await client.tasks.wait_for_run("run", poll_interval=1, timeout=30, clock=fake_time.clock)
    assert run.status == "failed" and len(requests) == 3 and fake_time.sleeps == [1, 1]


@pytest.mark.parametrize(
    ("poll_interval", "timeout", "name"),
    [
        (0, 10, "poll_interval"),
        (-1, 10, "poll_interval"),
        (math.nan, 10, "poll_interval"),
        (1, 0, "timeout"),
        (1, -5, "timeout"),
        (1, math.inf, "timeout"),
    ],
)
async def test_wait_rejects_a_non_positive_interval_or_timeout_before_polling(
    fake_time: FakeTime, poll_interval: float, timeout: float, name: str
) -> None:
    requests: list[httpx2.Request] = []
    async with AsyncArizeClient(transport=_status_transport(["PENDING"], requests), sleep=fake_time.sleep) as client:
        with pytest.raises(ValueError, match=f"{name} must be a positive number"):
            await client.tasks.wait_for_run("run", poll_interval=poll_interval, timeout=timeout)
    assert requests == []


async def test_a_500_on_trigger_is_not_retried_while_a_500_on_a_read_is(fake_time: FakeTime) -> None:
    task_id = encode_id("Task", 1, "abcd")
    calls: dict[str, int] = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        key = f"{request.method} {request.url.path}"
        calls[key] = calls.get(key, 0) + 1
        if key == f"GET /v2/tasks/{task_id}":
            return httpx2.Response(
                200, json={"id": task_id, "name": "t", "type": "TEMPLATE_EVALUATION", "project_id": "p"}
            )
        return httpx2.Response(500, json={"status": 500, "title": "Internal Server Error", "detail": "boom"})

    async with AsyncArizeClient(transport=httpx2.MockTransport(handler), sleep=fake_time.sleep) as client:
        with pytest.raises(InternalServerError, match="boom"):
            await client.tasks.trigger_run(task_id, data_start_time=datetime.now(UTC) - timedelta(days=1))
        assert calls[f"POST /v2/tasks/{task_id}/trigger"] == 1
        with pytest.raises(InternalServerError):
            await client.tasks.get_run("run")
        assert calls["GET /v2/task-runs/run"] == 3
        with pytest.raises(InternalServerError):
            await client.tasks.cancel_run("run")
        assert calls["POST /v2/task-runs/run/cancel"] == 1
    assert len(fake_time.sleeps) == 2

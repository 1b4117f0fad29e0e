"""One home, one runner: a second process on a home never executes its runs nor takes over the holder's live run.

Every test runs two real processes on one home: ``arize-skills engine serve`` as a subprocess, and a second
``engine serve`` or an embedded engine (what ``arize-skills mcp`` opens) in the test process.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from mcp import Client

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.runner.lock import LOCK_FILE
from arize_skills.mcp_server import build_server
from arize_skills.settings import Settings
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
    until,
)
from tests.served import ServedCommand, served_command
from tests.stubs.llm_server import StubServer, serve_stub

pytestmark = pytest.mark.skipif(os.name != "posix", reason="flock and kill -9")

READY = re.compile(r"arize-skills engine on (http://\S+)")
SPANS = 10
ANSWERED = 5
INTERRUPTED = "Interrupted by an engine restart"


def engine_serve(home: Path) -> AbstractContextManager[ServedCommand]:
    """``arize-skills engine serve --home HOME --port 0`` as a subprocess for the length of the block."""
    return served_command(
        ["engine", "serve", "--home", str(home), "--port", "0", "--otlp-grpc-port", "0"], dict(os.environ), READY
    )


@pytest.fixture
def hanging_stub() -> Iterator[StubServer]:
    box: list[StubServer] = []
    with serve_stub(responder=answer_then_hang(box, ANSWERED)) as stub:
        box.append(stub)
        yield stub


@dataclass
class HeldRun:
    """A judge run the holder subprocess is executing: ``ANSWERED`` of ``SPANS`` records stored, the rest hanging."""

    holder: ServedCommand
    url: str
    run_id: str


async def _task_over_spans(home: Path, stub: StubServer) -> str:
    """A judge task over ``SPANS`` spans in ``home`` (made before any runner holds it); returns its ID."""
    async with Engine.open(home) as engine, AsyncArizeClient(transport=engine.transport()) as client:
        client.space = (await client.spaces.list()).items[0].id
        await add_spans(engine, "app", [qa_span(i) for i in range(1, SPANS + 1)])
        integration = await judge_integration(client, stub)
        return await project_task(client, "app", [mapped(await judge_evaluator(client, integration))])


@pytest.fixture
async def held_run(tmp_path: Path, hanging_stub: StubServer) -> AsyncIterator[HeldRun]:
    home = tmp_path / "state"
    task = await _task_over_spans(home, hanging_stub)
    with engine_serve(home) as holder:
        url = holder.wait_url()
        async with AsyncArizeClient(base_url=url) as client:
            run = await backfill(client, task)

            async def half_scored() -> bool:
                found = await get_run(client, run["id"])
                return bool((found["status"], found["num_successes"]) == ("RUNNING", ANSWERED))

            await until(half_scored, timeout=30.0)
        yield HeldRun(holder=holder, url=url, run_id=str(run["id"]))


async def test_a_second_engine_serve_on_a_held_home_refuses_to_start_naming_the_holders_pid_and_url(
    tmp_path: Path,
) -> None:
    home = tmp_path / "state"
    with engine_serve(home) as first:
        url = first.wait_url()
        with engine_serve(home) as second:
            code = second.process.wait(timeout=60)
            second.stop()
        message = "".join(second.stderr)
        async with AsyncArizeClient(base_url=url) as client:
            assert (await client.spaces.list()).items, "the first engine still serves"

    assert code == 1
    assert f"pid {first.process.pid}" in message and url in message
    assert "--home" in message and "Traceback" not in message


async def test_engine_serve_starts_on_a_home_whose_runner_was_killed_and_records_itself_as_the_holder(
    tmp_path: Path,
) -> None:
    home = tmp_path / "state"
    with engine_serve(home) as first:
        first.wait_url()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=30)
    with engine_serve(home) as second:
        url = second.wait_url()
        held = (home / LOCK_FILE).read_text()
        second.stop()

    assert f'"pid": {second.process.pid}' in held and url in held


async def test_an_embedded_engine_on_a_held_home_neither_recovers_nor_scores_the_holders_live_run(
    tmp_path: Path, held_run: HeldRun, hanging_stub: StubServer
) -> None:
    asked = len(hanging_stub.requests)
    async with (
        Engine.open(tmp_path / "state", runner=True) as engine,
        AsyncArizeClient(transport=engine.transport()) as client,
    ):
        # Bounded: a runner that wrongly took the run over would hang on the stub.
        with anyio.move_on_after(5):
            await engine.runner.run_until_idle()
        holder = engine.runner_holder
        run = await get_run(client, held_run.run_id)

    assert holder is not None and (holder.pid, holder.url) == (held_run.holder.process.pid, held_run.url)
    assert (run["status"], run["num_successes"]) == ("RUNNING", ANSWERED)
    assert not any(note.startswith(INTERRUPTED) for note in run.get("notes") or [])
    assert len(hanging_stub.requests) == asked


async def test_an_embedded_engine_takes_the_runner_over_when_the_holder_is_killed_and_resumes_its_run_once(
    tmp_path: Path, held_run: HeldRun, hanging_stub: StubServer
) -> None:
    async with (
        Engine.open(tmp_path / "state", runner=True) as engine,
        AsyncArizeClient(transport=engine.transport()) as client,
    ):
        assert engine.runner_holder is not None
        hanging_stub.reset()
        held_run.holder.process.send_signal(signal.SIGKILL)
        held_run.holder.process.wait(timeout=30)

        done = await client.tasks.wait_for_run(held_run.run_id, poll_interval=0.02, timeout=30)
        run = await get_run(client, held_run.run_id)
        holder = engine.runner_holder

    assert holder is None
    assert (done.status, done.num_successes, done.num_errors) == ("COMPLETED", SPANS, 0)
    assert any(note.startswith(INTERRUPTED) for note in run["notes"])
    assert len(hanging_stub.requests) == SPANS - ANSWERED


async def test_the_status_tool_of_an_mcp_server_on_a_held_home_says_another_process_runs_its_tasks(
    tmp_path: Path,
) -> None:
    home = tmp_path / "state"
    settings = Settings.resolve(home=home, environ={}, profile_dir=tmp_path / "no-ax-profile")
    with engine_serve(home) as holder:
        url = holder.wait_url()
        async with Client(build_server(settings), mode="legacy") as mcp:
            result = await mcp.call_tool("status", {})
        holder.stop()

    assert result.structured_content is not None, result.content
    described = result.structured_content["backend_description"]
    assert f"pid {holder.process.pid}" in described and url in described
    assert "PENDING" in described

"""The served engine cannot be driven by a web page: foreign Host headers (DNS rebinding), foreign Origins and
non-JSON bodies are refused with problem documents, while our client, the arize SDK and OTLP exporters (tested in
``tests/conformance`` and ``test_otlp_ingest.py``) and the in-process engine keep working."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.api.guard import is_loopback
from arize_skills.models._base import iso
from tests.conftest import LiveEngine, serve_engine

from .tasks_setup import add_evaluator, span_task

TOKEN = "guard-test-token"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[LiveEngine]:
    """The engine on loopback without a token and without its task runner (a trigger leaves its run PENDING)."""
    with serve_engine(tmp_path / "engine", run_tasks=False) as engine:
        yield engine


@pytest.fixture
async def http(served: LiveEngine) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=served.url, timeout=10) as client:
        yield client


@dataclass
class ProjectTask:
    id: str
    trigger_path: str
    runs_path: str


@pytest.fixture
async def task(served: LiveEngine) -> ProjectTask:
    """A project task over LLM-judged spans, made through the client."""
    async with AsyncArizeClient(base_url=served.url) as client:
        spaces = await client.spaces.list()
        client.space = spaces.items[0].id
        project = await client.projects.create("chatbot")
        judge = await add_evaluator(client, "correctness")
        created = await client.request("POST", "/v2/tasks", json_body=span_task(project.id, judge.id))
    task_id = str(created["id"])
    return ProjectTask(task_id, f"/v2/tasks/{task_id}/trigger", f"/v2/tasks/{task_id}/runs")


def trigger_body() -> bytes:
    return json.dumps({"data_start_time": iso(datetime.now(UTC) - timedelta(days=1))}).encode()


def assert_problem(response: httpx2.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert problem["request_id"] == response.headers["x-request-id"]
    for word in words:
        assert word in problem["detail"]


async def run_count(http: httpx2.AsyncClient, task: ProjectTask) -> int:
    runs = await http.get(task.runs_path)
    assert runs.status_code == 200, runs.text
    return len(runs.json()["task_runs"])


async def test_a_dns_rebound_page_cannot_read_the_engine_through_a_foreign_host_header(
    http: httpx2.AsyncClient,
) -> None:
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example", "127.evil.example", ""):
        response = await http.get("/v2/spaces", headers={"Host": host})
        assert_problem(response, 403, "not a loopback address", "--token-env")
        assert "spaces" not in response.json()


async def test_loopback_host_names_with_or_without_a_port_are_answered(
    http: httpx2.AsyncClient, served: LiveEngine
) -> None:
    for host in (f"127.0.0.1:{served.port}", "127.0.0.1", f"localhost:{served.port}", "LOCALHOST", "[::1]:80"):
        response = await http.get("/v2/spaces", headers={"Host": host})
        assert response.status_code == 200, (host, response.text)


async def test_a_cross_site_simple_request_cannot_trigger_a_task_run(
    http: httpx2.AsyncClient, task: ProjectTask
) -> None:
    for origin in ("https://evil.example", "http://127.0.0.1.evil.example", "null"):
        response = await http.post(
            task.trigger_path, content=trigger_body(), headers={"Content-Type": "text/plain", "Origin": origin}
        )
        assert_problem(response, 403, "cross-origin", "web pages may not drive")
    assert await run_count(http, task) == 0


async def test_a_body_that_is_not_declared_json_is_a_415_and_starts_no_run(
    http: httpx2.AsyncClient, task: ProjectTask
) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = await http.post(task.trigger_path, content=trigger_body(), headers=headers)
        assert_problem(response, 415, "Content-Type: application/json")
    assert await run_count(http, task) == 0


async def test_json_bodies_from_programs_and_loopback_pages_are_served(
    http: httpx2.AsyncClient, task: ProjectTask, served: LiveEngine
) -> None:
    plain = await http.post(
        task.trigger_path, content=trigger_body(), headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert plain.status_code == 201, plain.text
    page = await http.get("/v2/spaces", headers={"Origin": f"http://localhost:{served.port}"})
    assert page.status_code == 200, page.text
    # A bodiless POST needs no Content-Type (the trigger body is optional).
    runs = await http.get(task.runs_path)
    run_id = runs.json()["task_runs"][0]["id"]
    cancelled = await http.post(f"/v2/task-runs/{run_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text


async def test_an_engine_that_requires_a_token_answers_any_host_that_carries_it(tmp_path: Path) -> None:
    with serve_engine(tmp_path / "engine", token=TOKEN, run_tasks=False) as served:
        async with httpx2.AsyncClient(base_url=served.url, timeout=10) as http:
            authorized = {"Host": "engine.lan:8765", "Authorization": f"Bearer {TOKEN}"}
            assert (await http.get("/v2/spaces", headers=authorized)).status_code == 200
            without = await http.get("/v2/spaces", headers={"Host": "engine.lan:8765"})
            assert_problem(without, 401)
            foreign = await http.get("/v2/spaces", headers={**authorized, "Origin": "https://evil.example"})
            assert_problem(foreign, 403, "cross-origin")


async def test_the_in_process_engine_answers_its_local_base_url(engine: Engine) -> None:
    async with AsyncArizeClient(transport=engine.transport()) as client:
        assert client.base_url.startswith("http://arize-skills.local")
        spaces = await client.spaces.list()
        assert spaces.items
    async with httpx2.AsyncClient(transport=engine.transport(), base_url="http://arize-skills.local") as http:
        refused = await http.post("/v2/spaces", content=b"{}", headers={"Content-Type": "text/plain"})
        assert_problem(refused, 415)


def test_only_names_of_this_machine_count_as_loopback() -> None:
    assert all(is_loopback(h) for h in ("localhost", "127.0.0.1", "127.8.9.1", "::1", "[::1]", "LocalHost"))
    assert not any(
        is_loopback(h) for h in ("127.evil.example", "localhost.evil.example", "0.0.0.0", "10.0.0.1", "", "::")
    )

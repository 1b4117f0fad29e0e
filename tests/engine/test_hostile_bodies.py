"""Hostile input is a 4xx problem document on every route, never a 500, and the connection keeps serving:
JSON nested past ``MAX_JSON_DEPTH`` (bodies, OTLP/JSON, cursors) and times no span can have (SQLite stores span
times as signed 64-bit nanoseconds)."""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from starlette.routing import Route

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine
from arize_skills.engine.api.routes import all_routes
from arize_skills.errors import ProblemError
from arize_skills.foundation.bounded_json import MAX_JSON_DEPTH, parse_json
from arize_skills.models._base import iso
from tests.conftest import serve_engine

from .otlp_payloads import export_body, post_traces
from .tasks_setup import add_evaluator, span_task

DEEP = 100_000
FAR_PAST, FAR_FUTURE = "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"


def deep_json(depth: int = DEEP) -> bytes:
    return b'{"a":' + b"[" * depth + b"]" * depth + b"}"


@pytest.fixture
async def http(engine: Engine) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=engine.transport(), base_url="http://arize-skills.local") as client:
        yield client


def assert_problem(response: httpx2.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    for word in words:
        assert word in response.json()["detail"]


def body_routes() -> list[tuple[str, str]]:
    """Every (method, path) that may read a body, path parameters filled with a made-up ID."""
    found = []
    for route in all_routes():
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"GET", "HEAD"}):
            found.append((method, re.sub(r"\{[^}]+\}", "RW50aXR5OjE=", route.path)))
    return found


@pytest.mark.parametrize(("method", "path"), body_routes())
async def test_json_nested_100k_deep_is_a_400_on_every_route_that_reads_a_body(
    http: httpx2.AsyncClient, method: str, path: str
) -> None:
    response = await http.request(method, path, content=deep_json(), headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/v2/tasks", "/v2/datasets", "/v1/traces", "/v2/spans", "/v2/spaces"])
async def test_json_nested_past_the_limit_names_the_limit(http: httpx2.AsyncClient, path: str) -> None:
    response = await http.post(path, content=deep_json(), headers={"Content-Type": "application/json"})
    assert_problem(response, 400, f"more than {MAX_JSON_DEPTH} deep")


def test_nesting_up_to_the_limit_parses_and_brackets_inside_strings_do_not_count() -> None:
    assert parse_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is not None
    with pytest.raises(ProblemError, match="deep"):
        parse_json(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    text = json.dumps({"text": "[{" * DEEP + '\\"' + "]}" * DEEP})
    assert parse_json(text.encode())["text"].startswith("[{[{")


async def test_a_deeply_nested_cursor_is_a_400(http: httpx2.AsyncClient) -> None:
    cursor = base64.urlsafe_b64encode(b"[" * 5_000 + b"]" * 5_000).decode().rstrip("=")
    response = await http.get("/v2/spaces", params={"cursor": cursor})
    assert_problem(response, 400, "cursor is not valid")


async def test_protobuf_nested_past_the_decoder_limit_is_a_400(engine: Engine) -> None:
    def field(number: int, payload: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    value = field(1, b"x")
    for _ in range(2_000):
        value = field(5, field(1, value))  # AnyValue{array_value: ArrayValue{values: [value]}}
    span = field(1, b"\x01" * 16) + field(2, b"\x02" * 8) + field(5, b"s") + field(9, field(1, b"k") + field(2, value))
    response = await post_traces(
        engine, field(1, field(2, field(2, span))), headers={"content-type": "application/x-protobuf"}
    )
    assert response.status_code == 400


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


async def test_a_hostile_body_leaves_the_keep_alive_connection_serving(tmp_path: Path) -> None:
    with (
        serve_engine(tmp_path / "engine", run_tasks=False) as served,
        socket.create_connection((served.host, served.port), timeout=10) as conn,
    ):
        reader = conn.makefile("rb")
        for body in (deep_json(), b"{}"):
            conn.sendall(
                b"POST /v2/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            status = reader.readline()
            headers = {}
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            problem = json.loads(reader.read(int(headers["content-length"])))
            assert status.split()[1] == b"400", problem
            assert headers.get("connection") != "close"
        assert "name" in problem["detail"]


async def test_a_span_window_no_span_can_have_is_a_422_on_every_span_route(
    client: AsyncArizeClient, http: httpx2.AsyncClient
) -> None:
    project = await client.projects.create("chatbot")
    annotation = {"record_id": "0102030405060708", "values": [{"name": "quality", "label": "good"}]}
    requests = [
        ("POST", "/v2/spans", {}),
        ("POST", "/v2/traces", {}),
        ("DELETE", "/v2/spans", {"span_ids": ["0102030405060708"]}),
        ("POST", "/v2/spans/annotate", {"annotations": [annotation]}),
    ]
    windows = [
        {"start_time": FAR_PAST, "end_time": FAR_FUTURE},
        {"end_time": FAR_PAST},
        {"start_time": FAR_FUTURE},
        {"start_time": "1960-01-01T00:00:00Z", "end_time": "1960-01-02T00:00:00Z"},
    ]
    for method, path, extra in requests:
        for window in windows:
            body = {"project_id": project.id, **extra, **window}
            response = await http.request(method, path, json=body)
            assert_problem(response, 422, "outside the times spans can have", "1970-01-01 .. 2262-04-11")


async def test_a_trigger_window_no_span_can_have_is_a_422_and_starts_no_run(
    client: AsyncArizeClient, http: httpx2.AsyncClient
) -> None:
    project = await client.projects.create("chatbot")
    judge = await add_evaluator(client, "correctness")
    task = await client.request("POST", "/v2/tasks", json_body=span_task(project.id, judge.id))
    for window in (
        {"data_start_time": FAR_PAST, "data_end_time": "0001-01-02T00:00:00Z"},
        {"data_start_time": "9999-12-30T00:00:00Z", "data_end_time": FAR_FUTURE},
    ):
        response = await http.post(f"/v2/tasks/{task['id']}/trigger", json=window)
        assert_problem(response, 422, "data_", "outside the times spans can have")
    runs = await client.request("GET", f"/v2/tasks/{task['id']}/runs")
    assert runs["task_runs"] == []
    ok = await http.post(
        f"/v2/tasks/{task['id']}/trigger", json={"data_start_time": iso(datetime.now(UTC) - timedelta(days=1))}
    )
    assert ok.status_code == 201, ok.text


async def test_otlp_spans_with_times_past_64_bit_nanoseconds_are_rejected_and_the_rest_stored(
    engine: Engine, client: AsyncArizeClient
) -> None:
    def span(span_id: str, start: int | str) -> dict[str, object]:
        return {
            "traceId": "0102030405060708090a0b0c0d0e0f10",
            "spanId": span_id,
            "name": f"span-{span_id}",
            "startTimeUnixNano": str(start),
            "endTimeUnixNano": str(start),
        }

    now_ns = int(datetime.now(UTC).timestamp() * 1e9)
    response = await post_traces(
        engine, export_body([span("0000000000000001", 2**64 - 1), span("0000000000000002", now_ns)], project="p")
    )
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "2262-04-11" in partial["errorMessage"]
    project = next(p for p in (await client.projects.list()).items if p.name == "p")
    stored = await client.request("POST", "/v2/spans", json_body={"project_id": project.id})
    assert [s["context"]["span_id"] for s in stored["spans"]] == ["0000000000000002"]


KINDS = ["Space", "Model", "Dataset", "DatasetVersion", "Experiment", "Evaluator", "EvaluatorVersion", "Task"]
KINDS += ["TaskRun", "LlmIntegration", "AnnotationConfig", "Organization"]


def id_routes() -> list[tuple[str, str, str]]:
    """Every (method, path template, parameter name) that takes an ID in its path."""
    found = []
    for route in all_routes():
        assert isinstance(route, Route)
        names = re.findall(r"\{([^}]+)\}", route.path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found += [(method, route.path, name) for name in names]
    return found


@pytest.mark.parametrize(("method", "path", "name"), id_routes())
async def test_an_id_whose_number_no_row_can_have_is_a_4xx_on_every_route(
    http: httpx2.AsyncClient, method: str, path: str, name: str
) -> None:
    for kind in KINDS:
        for number in ("99999999999999999999999", "9" * 5_000, "²"):
            made_up = base64.b64encode(f"{kind}:{number}".encode()).decode()
            body = b"{}" if method != "GET" else None
            response = await http.request(
                method,
                path.replace("{" + name + "}", made_up),
                content=body,
                headers={"Content-Type": "application/json"},
            )
            assert 400 <= response.status_code < 500, (kind, number, response.text)

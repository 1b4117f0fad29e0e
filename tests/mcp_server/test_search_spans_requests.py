"""What ``search_spans`` costs the backend: one project look-up per call, and one more request when nothing matches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from starlette.types import ASGIApp, Receive, Scope, Send

from arize_skills.mcp_server import build_server
from arize_skills.settings import Settings
from tests.conftest import serve_engine
from tests.engine.otlp_payloads import export_body, span
from tests.mcp_server.conftest import call


@dataclass
class Recorder:
    """Wraps the engine's ASGI app, remembering each request's method and path."""

    calls: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, app: ASGIApp) -> ASGIApp:
        async def record(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                self.calls.append((scope["method"], scope["path"]))
            await app(scope, receive, send)

        return record


@asynccontextmanager
async def ax_tools(home: Path, recorder: Recorder) -> AsyncIterator[tuple[Client, str]]:
    """The MCP server on the Arize AX backend, talking to an engine on loopback behind ``recorder``."""
    with serve_engine(home, run_tasks=False, wrap=recorder) as live:
        settings = Settings.resolve(
            environ={
                "ARIZE_API_KEY": "ak-search-requests",
                "ARIZE_SINGLE_HOST": "127.0.0.1",
                "ARIZE_SINGLE_PORT": str(live.port),
                "ARIZE_API_SCHEME": "http",
                "ARIZE_SPACE": "default",
            },
            home=home,
            profile_dir=home.parent / "no-ax-profile",
        )
        async with Client(build_server(settings)) as mcp:
            yield mcp, live.url


def _send(url: str, spans: list[dict[str, Any]]) -> None:
    response = httpx2.post(f"{url}/v1/traces", json=export_body(spans, project="chat"), timeout=60)
    assert response.status_code == 200, response.text


async def test_a_search_looks_the_project_up_once_and_a_miss_costs_one_more_request(tmp_path: Path) -> None:
    recorder = Recorder()
    now = datetime.now(UTC)
    async with ax_tools(tmp_path / "engine", recorder) as (mcp, url):
        _send(url, [span(f"{n:016x}", start=now - timedelta(hours=n)) for n in range(1, 4)])
        await call(mcp, "search_spans", {"project": "chat"})
        recorder.calls.clear()

        found = await call(mcp, "search_spans", {"project": "chat"})
        assert len(found["items"]) == 3
        assert recorder.calls == [("GET", "/v2/projects"), ("POST", "/v2/spans")]
        recorder.calls.clear()

        missed = await call(mcp, "search_spans", {"project": "chat", "filter": "attributes.nope = 'x'"})
        assert missed["no_match"]["spans_in_window"] == 3 and missed["no_match"]["count_complete"] is True
        assert recorder.calls == [("GET", "/v2/projects"), ("POST", "/v2/spans"), ("POST", "/v2/spans")]
        recorder.calls.clear()

        project_id = found["project"]["id"]
        old = await call(mcp, "search_spans", {"project": project_id, "start_time": "-30d", "end_time": "-20d"})
        assert old["items"] == [] and old["no_match"]["latest_span_time"] is not None
        assert "has no spans between" in old["note"] and "widen the window" in old["note"]
        assert recorder.calls == [("GET", f"/v2/projects/{project_id}"), ("POST", "/v2/spans"), ("POST", "/v2/spans")]

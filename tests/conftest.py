"""Shared fixtures: the engine in-process, a client over its ASGI app, and the engine on loopback HTTP."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from starlette.types import ASGIApp

from arize_skills.client import AsyncArizeClient
from arize_skills.engine import Engine, create_served_app

ENV_PREFIXES = ("ARIZE_", "OTEL_", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's Arize settings, ax profile or proxies; HOME is a fresh directory."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def ticking_clock() -> Callable[[], datetime]:
    """The wall clock, but never the same millisecond twice: a tick right after an ingest is always later than it.

    A continuous tick's window is half-open by time received, so on a fast machine a span received in the tick's
    own millisecond waits for the next tick; tests that tick right after an ingest need time to move.
    """
    last = datetime(2000, 1, 1, tzinfo=UTC)

    def now() -> datetime:
        nonlocal last
        last = max(datetime.now(UTC), last + timedelta(milliseconds=1))
        return last

    return now


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    """A fresh engine whose SQLite file lives in the test's temporary directory (its clock never repeats a
    millisecond: see ``ticking_clock``)."""
    async with Engine.open(tmp_path / "engine", clock=ticking_clock()) as opened:
        yield opened


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[AsyncArizeClient]:
    """A client talking to ``engine`` in-process, with the default space as its space."""

    async with AsyncArizeClient(transport=engine.transport()) as opened:
        spaces = await opened.spaces.list()
        opened.space = spaces.items[0].id
        yield opened


@dataclass
class LiveEngine:
    """An engine served by uvicorn on 127.0.0.1 in a background thread."""

    url: str
    host: str
    port: int
    home: Path


@contextmanager
def serve_engine(
    home: Path,
    *,
    token: str | None = None,
    run_tasks: bool = True,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
) -> Iterator[LiveEngine]:
    """Serve the engine in ``home`` with uvicorn on a free loopback port until the block ends (with its task
    runner unless ``run_tasks`` is false; behind ``wrap``, a network between client and engine, when given)."""
    # IPPROTO_TCP lets asyncio set TCP_NODELAY on accepted connections (else ~40 ms per response).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app: ASGIApp = create_served_app(home, token=token, run_tasks=run_tasks)
    config = uvicorn.Config(wrap(app) if wrap else app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    ready = threading.Event()

    def wait_started() -> None:
        while not server.started and thread.is_alive():
            ready.wait(0.01)

    waiter = threading.Thread(target=wait_started)
    waiter.start()
    waiter.join(timeout=20)
    assert server.started, "the engine did not start within 20 s"
    try:
        yield LiveEngine(url=f"http://127.0.0.1:{port}", host="127.0.0.1", port=port, home=home)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@pytest.fixture
def live_engine(tmp_path: Path) -> Iterator[LiveEngine]:
    """The engine on loopback HTTP, for clients we did not write (the arize SDK, OpenTelemetry exporters)."""
    with serve_engine(tmp_path / "live-engine") as served:
        yield served

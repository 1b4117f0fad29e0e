"""Fixtures of the MCP server tests: the server over the test's engine, and an in-process client in both eras.

``mcp_server`` is built over the ``engine`` fixture (a fresh engine in the test's temporary directory, with no
background runner: tests that need runs executed call ``await engine.runner.run_until_idle()``), so a test can
seed data with the ``client`` fixture and check it through the tools. ``mcp_client`` is parametrized over
``mode="legacy"`` (the initialize handshake deployed hosts use) and ``mode="auto"`` (the modern 2026-07-28 era
the SDK's own client picks): every test that uses it runs in both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mcp import Client
from mcp.server.mcpserver import MCPServer

from arize_skills.engine import Engine
from arize_skills.mcp_server import build_server
from arize_skills.mcp_server.state import AppState
from arize_skills.settings import Settings

T = TypeVar("T")

FIXED_NOW = datetime(2026, 8, 10, 12, 30, tzinfo=UTC)
"""The clock of ``mcp_server``: its instructions and ``status`` say today is 2026-08-10."""


@pytest.fixture
def mcp_settings(engine: Engine, tmp_path: Path) -> Settings:
    """Settings that choose the embedded backend, with the ``engine`` fixture's home."""
    return Settings.resolve(home=tmp_path / "engine", environ={}, profile_dir=tmp_path / "no-ax-profile")


@pytest.fixture
def mcp_server(engine: Engine, mcp_settings: Settings) -> MCPServer[AppState]:
    """The MCP server over the test's engine (which the test owns), its clock fixed at ``FIXED_NOW``."""
    return build_server(mcp_settings, engine=engine, clock=lambda: FIXED_NOW)


async def entered_in_own_task(manager: AbstractAsyncContextManager[T]) -> AsyncIterator[T]:
    """Enter ``manager`` and later exit it in one task of its own.

    pytest-asyncio runs an async fixture's setup and teardown in different tasks, while the client's task groups
    must be entered and exited in the same one.
    """
    entered: asyncio.Future[T] = asyncio.get_running_loop().create_future()
    release = asyncio.Event()

    async def host() -> None:
        try:
            async with manager as value:
                entered.set_result(value)
                await release.wait()
        except BaseException as exc:
            if not entered.done():
                entered.set_exception(exc)
            raise

    task = asyncio.create_task(host())
    try:
        yield await asyncio.wait_for(asyncio.shield(entered), timeout=60)
    finally:
        release.set()
        await asyncio.wait_for(task, timeout=60)


@pytest.fixture(params=["legacy", "auto"])
def mcp_client_mode(request: pytest.FixtureRequest) -> str:
    """``"legacy"`` then ``"auto"``: for tests that open their own ``Client`` (with callbacks) in both eras."""
    mode: str = request.param
    return mode


@pytest.fixture(params=["legacy", "auto"])
async def mcp_client(request: pytest.FixtureRequest, mcp_server: MCPServer[AppState]) -> AsyncIterator[Client]:
    """An in-process client of ``mcp_server``, once per protocol era."""
    async for opened in entered_in_own_task(Client(mcp_server, mode=request.param)):
        yield opened


async def call(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    """Call a tool that must succeed; its structured result."""
    result = await client.call_tool(tool, arguments or {})
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def call_error(client: Client, tool: str, arguments: dict[str, Any] | None = None) -> str:
    """Call a tool that must fail; the error text the model reads."""
    result = await client.call_tool(tool, arguments or {})
    assert result.is_error, result.structured_content
    texts = [block.text for block in result.content if block.type == "text"]
    return "\n".join(texts)

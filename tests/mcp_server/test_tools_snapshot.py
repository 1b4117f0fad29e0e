"""The tool surface (``tools/list``) matches the shipped listing, ``arize_skills/mcp_server/tools_listing.json``.

The server answers ``tools/list`` from that file until a call needs the tools (``mcp_server/listing.py``), so the
file must be exactly what registering the tools produces; it is also the surface's review copy. After a deliberate
change to a tool's name, description, arguments, result or annotations, regenerate it::

    ARIZE_SKILLS_UPDATE_SNAPSHOT=1 pytest tests/mcp_server/test_tools_snapshot.py

and commit ``tools_listing.json`` with the change.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer

from arize_skills.engine import Engine
from arize_skills.mcp_server import build_server
from arize_skills.mcp_server.listing import ToolsOnDemand, render_listing, wire_listing
from arize_skills.mcp_server.shipped import LISTING_FILE
from arize_skills.mcp_server.state import AppState
from arize_skills.settings import Settings

UPDATE_ENV = "ARIZE_SKILLS_UPDATE_SNAPSHOT"
# Read at import: the autouse fixture of tests/conftest.py clears every ARIZE_* variable before each test.
UPDATE = os.environ.get(UPDATE_ENV) == "1"


async def listed(server: MCPServer[AppState]) -> list[dict[str, Any]]:
    """What a host sees of each tool, in wire (camelCase) form, sorted by name."""
    async with Client(server, mode="legacy") as mcp:
        return wire_listing((await mcp.list_tools()).tools)


async def test_the_registered_tools_match_the_shipped_listing(mcp_server: ToolsOnDemand) -> None:
    mcp_server.ensure_tools()
    current = render_listing(await listed(mcp_server))
    if UPDATE:
        LISTING_FILE.write_text(current, encoding="utf-8")
    expected = LISTING_FILE.read_text(encoding="utf-8")
    if current != expected:
        was = {tool["name"]: tool for tool in json.loads(expected)}
        now = {tool["name"]: tool for tool in json.loads(current)}
        changed = sorted(name for name in was.keys() & now.keys() if was[name] != now[name])
        raise AssertionError(
            f"the tool surface changed: added {sorted(now.keys() - was.keys())}, removed "
            f"{sorted(was.keys() - now.keys())}, changed {changed}. If intended, run "
            f"{UPDATE_ENV}=1 pytest tests/mcp_server/test_tools_snapshot.py and commit tools_listing.json"
        )


async def test_a_new_server_lists_the_same_tools_before_registering_them_and_registers_them_on_first_call(
    mcp_settings: Settings, engine: Engine
) -> None:
    server = build_server(mcp_settings, engine=engine)
    assert server.tool_count == 0, "build_server must not register the tools: a cold start would pay for them"
    async with Client(server, mode="legacy") as mcp:
        before = wire_listing((await mcp.list_tools()).tools)
        assert server.tool_count == 0
        result = await mcp.call_tool("status", {})
        assert not result.is_error, result.content
        after = wire_listing((await mcp.list_tools()).tools)
    assert server.tool_count == len(before) > 0
    assert before == after == json.loads(LISTING_FILE.read_text(encoding="utf-8"))

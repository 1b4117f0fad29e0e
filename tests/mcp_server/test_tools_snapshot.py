"""The tool surface (``tools/list``) matches the checked-in snapshot, so every change to it shows in review.

After a deliberate change to a tool's name, description, arguments, result or annotations, regenerate it::

    ARIZE_SKILLS_UPDATE_SNAPSHOT=1 pytest tests/mcp_server/test_tools_snapshot.py

and commit ``tests/mcp_server/tools_snapshot.json`` with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.server.mcpserver import MCPServer

from arize_skills.mcp_server.state import AppState

SNAPSHOT = Path(__file__).with_name("tools_snapshot.json")
UPDATE_ENV = "ARIZE_SKILLS_UPDATE_SNAPSHOT"
# Read at import: the autouse fixture of tests/conftest.py clears every ARIZE_* variable before each test.
UPDATE = os.environ.get(UPDATE_ENV) == "1"
KEYS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")


async def surface(server: MCPServer[AppState]) -> list[dict[str, Any]]:
    """What a host sees of each tool, in wire (camelCase) form, sorted by name."""
    async with Client(server, mode="legacy") as mcp:
        tools = (await mcp.list_tools()).tools
    dumped = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
    return sorted(({key: tool[key] for key in KEYS if key in tool} for tool in dumped), key=lambda t: t["name"])


def render(tools: list[dict[str, Any]]) -> str:
    return json.dumps(tools, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


async def test_the_tool_surface_matches_the_checked_in_snapshot(mcp_server: MCPServer[AppState]) -> None:
    current = render(await surface(mcp_server))
    if UPDATE:
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.is_file(), f"no snapshot yet: run {UPDATE_ENV}=1 pytest {Path(__file__).name}"
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if current != expected:
        was = {tool["name"]: tool for tool in json.loads(expected)}
        now = {tool["name"]: tool for tool in json.loads(current)}
        changed = sorted(name for name in was.keys() & now.keys() if was[name] != now[name])
        raise AssertionError(
            f"the tool surface changed: added {sorted(now.keys() - was.keys())}, removed "
            f"{sorted(was.keys() - now.keys())}, changed {changed}. If intended, run "
            f"{UPDATE_ENV}=1 pytest tests/mcp_server/test_tools_snapshot.py and commit tools_snapshot.json"
        )

"""The tool listing shipped with the package, so a server starts without importing its tools.

Registering the tools means importing every tool family, the client's and the results' models and building their
schemas: most of a cold start. A host's first requests (``initialize``, ``tools/list``) need none of it, so the
server answers ``tools/list`` from ``tools_listing.json``, the listing of the registered tools as a host receives
it, and registers the tools when a call first needs them (``tools/call``, or the input schema a streamable-HTTP
request's headers are checked against). ``tests/mcp_server/test_tools_snapshot.py`` keeps the file equal to the
live listing; after a deliberate change to the tool surface, regenerate it::

    ARIZE_SKILLS_UPDATE_SNAPSHOT=1 pytest tests/mcp_server/test_tools_snapshot.py

The file is also the surface's review copy: every change to a tool shows in its diff.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, InputRequiredResult
from mcp.types import Tool as MCPTool

from .shipped import LISTING_FILE, read_shipped

if TYPE_CHECKING:
    from .state import AppState

__all__ = ["ToolsOnDemand", "render_listing", "wire_listing"]


def wire_listing(tools: list[MCPTool]) -> list[dict[str, Any]]:
    """Tools as a host receives them (camelCase JSON without empty keys), sorted by name."""
    dumped = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
    return sorted(dumped, key=lambda tool: str(tool["name"]))


def render_listing(tools: list[dict[str, Any]]) -> str:
    """The text of ``tools_listing.json`` for a wire listing."""
    return json.dumps(tools, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class ToolsOnDemand(MCPServer["AppState"]):
    """An ``MCPServer`` that lists its tools from ``tools_listing.json`` and registers them on first use.

    ``register`` adds every tool to the server; it runs once, when a call first needs a tool. Until then
    ``tools/list`` is the shipped listing, which the tests keep equal to what ``register`` produces.
    """

    def __init__(self, register: Callable[[MCPServer[AppState]], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._register = register
        self._registered = False

    @property
    def tool_count(self) -> int:
        """How many tools are registered (none until a call first needs them)."""
        return len(self._tool_manager.list_tools())

    def ensure_tools(self) -> None:
        """Register the tools unless they are registered already."""
        if not self._registered:
            self._registered = True
            self._register(self)

    async def list_tools(self) -> list[MCPTool]:
        """The shipped listing until the tools are registered, then the registered tools; sorted by name.

        A server that had a tool added directly (tests do) registers the rest first, so it lists them all.
        """
        if not self._registered:
            if self.tool_count == 0:
                return [MCPTool.model_validate(tool) for tool in read_shipped(LISTING_FILE)]
            self.ensure_tools()
        return sorted(await super().list_tools(), key=lambda tool: tool.name)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Call a tool, registering the tools first if need be."""
        self.ensure_tools()
        return await super().call_tool(name, arguments, context)

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        self.ensure_tools()
        return super()._tool_input_schema(name)

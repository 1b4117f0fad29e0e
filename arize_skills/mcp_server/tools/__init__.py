"""The tool families: one module per workflow, each exposing ``register(server)``, with its helpers beside it.

``register_all`` imports every module of this package (in name order) and calls the ``register`` of those that
have one: a workflow's module registers its tools, and its helper modules (``task_checks``, ``judge_common``, …)
have no ``register``. Adding a family is adding a module, with no list to edit. ``register_tool`` is how a family
registers each tool: it enforces the house rules (a docstring, structured output, annotations).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent

from ..arguments import ToolArguments
from ..surface import compact_input_schema, compact_output_schema, result_text
from ..types import ToolKind, ToolResult, tool_annotations

__all__ = ["family_modules", "register_all", "register_tool"]


def family_modules() -> list[str]:
    """The names of the tool family modules (those with a ``register``), in registration order."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__))
    return [
        name for name in names if callable(getattr(importlib.import_module(f"{__name__}.{name}"), "register", None))
    ]


def _description(doc: str) -> str:
    """A docstring as one line per paragraph (and per ``- `` bullet): hard wraps mean nothing to a model."""
    paragraphs = []
    for paragraph in doc.split("\n\n"):
        lines: list[str] = []
        for line in paragraph.splitlines():
            text = line.strip()
            if lines and not text.startswith("- "):
                lines[-1] = f"{lines[-1]} {text}"
            else:
                lines.append(text)
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def register_all(server: MCPServer[Any]) -> None:
    """Register every tool family on ``server``."""
    for name in family_modules():
        importlib.import_module(f"{__name__}.{name}").register(server)


def register_tool(
    server: MCPServer[Any],
    fn: Callable[..., Any],
    *,
    title: str,
    kind: ToolKind,
    calls_llm: bool = False,
) -> None:
    """Register ``fn`` (already wrapped with ``@tool_errors``) as a tool named after the function.

    The description is the function's docstring, hard wraps undone: say what the tool does and when to use it. The
    return annotation must be a ``ToolResult`` subclass, so the output schema is published and checked.
    """
    doc = inspect.getdoc(fn)
    if not doc:
        raise TypeError(f"tool {fn.__name__} needs a docstring: it is the description the model reads")
    tool = ToolArguments.from_function(
        _as_call_result(fn),
        description=_description(doc),
        annotations=tool_annotations(title, kind, calls_llm=calls_llm),
        structured_output=True,
    )
    if tool.fn_metadata.output_schema is None:
        raise TypeError(f"tool {fn.__name__} must return a ToolResult subclass")
    tool.parameters = compact_input_schema(tool.parameters)
    tool.fn_metadata.output_schema = compact_output_schema(tool.fn_metadata.output_schema)
    # MCPServer.add_tool builds a plain Tool; ours adds the argument step of arguments.py, so it is placed in the
    # SDK's tool manager directly.
    manager = server._tool_manager  # pyright: ignore[reportPrivateUsage]
    if manager.get_tool(tool.name) is not None:
        raise ValueError(f"tool {tool.name} is registered twice")
    manager._tools[tool.name] = tool  # pyright: ignore[reportPrivateUsage]


def _as_call_result(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[CallToolResult]]:
    """``fn`` returning its result as the SDK sends it: the structured result, and its compact text."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> CallToolResult:
        result = await fn(*args, **kwargs)
        if not isinstance(result, ToolResult):
            raise TypeError(f"tool {fn.__name__} returned {type(result).__name__}, not a ToolResult")
        line, said = result.summary_line()
        return CallToolResult(
            content=[TextContent(type="text", text=result_text(result, line, said=said))],
            structured_content=result.model_dump(mode="json", by_alias=True),
        )

    return wrapper

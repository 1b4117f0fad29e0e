"""The tool families: one module per workflow, each exposing ``register(server)``.

``register_all`` imports every module of this package whose name does not start with ``_`` (in name order) and
calls its ``register``; adding a family is adding a module, with no list to edit. ``register_tool`` is how a
family registers each tool: it enforces the house rules (a docstring, structured output, annotations).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import MCPServer

from ..types import ToolKind, tool_annotations

__all__ = ["family_modules", "register_all", "register_tool"]


def family_modules() -> list[str]:
    """The names of the tool family modules, in registration order."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))


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
        module = importlib.import_module(f"{__name__}.{name}")
        register = getattr(module, "register", None)
        if not callable(register):
            raise TypeError(f"tool family {module.__name__} has no register(server) function")
        register(server)


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
    server.add_tool(
        fn,
        description=_description(doc),
        annotations=tool_annotations(title, kind, calls_llm=calls_llm),
        structured_output=True,
    )

"""Shared argument types, result base models and annotation presets of the MCP tools.

Arguments: use these ``Annotated`` aliases so every tool describes and constrains the same thing the same way
(defaults go at the parameter: ``cursor: Cursor = None``, ``limit: Limit = 20``). Names or IDs are accepted
everywhere a resource is named.

Results: every tool returns a ``ToolResult`` subclass (a pydantic model, so the SDK publishes its output
schema); a result names each resource it mentions by both ``name`` and ``id`` (``Ref``), and every list result
derives from ``ListResult`` (``has_more`` + ``next_cursor``).

Annotations: ``tool_annotations(title, "read" | "create" | "ensure" | "update" | "delete", calls_llm=...)``.
``open_world_hint`` is true only for tools whose work reaches an LLM provider (a judge preview, a backfill, a
server-side experiment): the backend itself — Arize AX or the local engine — is the user's own closed domain of
projects, datasets and tasks, the same on either backend, so the hint does not change with the backend.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from .state import AppState

__all__ = [
    "AiIntegrationRef",
    "AnnotationConfigRef",
    "Confirm",
    "Cursor",
    "DatasetRef",
    "EndTime",
    "EvaluatorRef",
    "ExperimentRef",
    "Limit",
    "ListResult",
    "NameFilter",
    "ProjectRef",
    "Ref",
    "StartTime",
    "TaskRef",
    "TaskRunId",
    "ToolContext",
    "ToolKind",
    "ToolResult",
    "tool_annotations",
    "parse_time",
]

ToolContext = Context[AppState, Any]
"""Annotate a tool's context parameter with this; ``app_state(ctx)`` gives the ``AppState``."""


def _ref(kind: str) -> Any:
    return Field(min_length=1, max_length=512, description=f"{kind} name or ID.")


ProjectRef = Annotated[str, _ref("Project")]
DatasetRef = Annotated[str, _ref("Dataset")]
ExperimentRef = Annotated[str, _ref("Experiment")]
EvaluatorRef = Annotated[str, _ref("Evaluator (judge or code evaluator)")]
TaskRef = Annotated[str, _ref("Task")]
AiIntegrationRef = Annotated[str, _ref("AI integration")]
AnnotationConfigRef = Annotated[str, _ref("Annotation config")]
TaskRunId = Annotated[str, Field(min_length=1, max_length=512, description="A task run ID (get_task_runs).")]

NameFilter = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=255,
        description="Only names containing this (case-insensitive).",
    ),
]
Limit = Annotated[
    int,
    Field(ge=1, le=100, description="Rows per page."),
]
Cursor = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=2048,
        description="next_cursor of the last call.",
    ),
]
_TIME_FORMS = "ISO 8601, 'now' or an offset like '-7d', '-24h'."
StartTime = Annotated[
    str | None,
    Field(min_length=1, max_length=64, description=_TIME_FORMS),
]
EndTime = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=64,
        description="Default now.",
    ),
]
Confirm = Annotated[bool, Field(description="True once the user agreed.")]

_OFFSET_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(value: str, field: str, *, now: datetime | None = None) -> datetime:
    """Turn a ``StartTime`` / ``EndTime`` argument into an aware UTC datetime.

    Raises:
        ToolError: naming ``field`` and the accepted forms, when ``value`` is none of them.
    """
    now = now or datetime.now(UTC)
    text = value.strip()
    if text.lower() == "now":
        return now
    if len(text) >= 3 and text[0] == "-" and text[-1].lower() in _OFFSET_UNITS and text[1:-1].isdigit():
        return now - timedelta(**{_OFFSET_UNITS[text[-1].lower()]: int(text[1:-1])})
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ToolError(f"{field}: {value!r} is not a time. {_TIME_FORMS}") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class ToolResult(BaseModel):
    """Base of every tool result (its fields are the tool's output schema).

    The text a model reads is ``summary_line()`` and then the result as compact JSON (``surface.result_text``).
    """

    model_config = ConfigDict(extra="forbid")

    def summary_line(self) -> tuple[str, str | None]:
        """The result's one-line summary, and the name of the field it repeats (left out of the JSON after it).

        By default the ``summary`` field when the result has one, else "Done." and the ``next_step``; results
        with something sharper to say override this.
        """
        summary, next_step = getattr(self, "summary", None), getattr(self, "next_step", None)
        if isinstance(summary, str):
            return summary, "summary"
        if isinstance(next_step, str):
            return f"Done. Next: {next_step}", "next_step"
        return "Done.", None


class Ref(BaseModel):
    """A resource named by both its name and its ID."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The resource's ID.")
    name: str = Field(description="The resource's name.")


class ListResult(ToolResult):
    """Base of every list result; subclasses add ``items: list[TheirRow]``."""

    has_more: bool = Field(description="True when more rows follow; call again with cursor=next_cursor.")
    next_cursor: str | None = Field(
        default=None, description="Pass as cursor (with the same other arguments) to get the next rows."
    )

    def summary_line(self) -> tuple[str, str | None]:
        """How many rows, and whether more follow (and how to get them)."""
        items = getattr(self, "items", None)
        count = len(items) if isinstance(items, list) else 0
        more = "; more follow: call again with cursor=next_cursor" if self.has_more else ""
        return f"{count} row{'' if count == 1 else 's'}{more}.", None


ToolKind = Literal["read", "create", "ensure", "update", "delete"]


def tool_annotations(title: str, kind: ToolKind, *, calls_llm: bool = False) -> ToolAnnotations:
    """The ``ToolAnnotations`` of a tool.

    ``read``: reads only. ``create``: adds something new (a retry would add another). ``ensure``: creates
    something unless an identical one exists, which it returns (a retry changes nothing). ``update``: changes or
    replaces something in place (same call twice, same outcome). ``delete``: removes or stops something (confirm
    it first: see ``confirm.py``). ``calls_llm``: the tool's work reaches an LLM provider (open world).
    """
    return ToolAnnotations(
        title=title,
        read_only_hint=kind == "read",
        destructive_hint=kind in ("update", "delete"),
        idempotent_hint=kind != "create",
        open_world_hint=calls_llm,
    )

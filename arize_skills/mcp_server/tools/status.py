"""``status`` and ``find``: where the tools are pointed, and what is there.

This module is the pattern every tool family follows: module-level async tool functions wrapped with
``@tool_errors``, arguments typed with the shared ``Annotated`` aliases, a ``ToolResult`` subclass as the return
type, and a ``register(server)`` that calls ``register_tool`` for each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from ...client import AsyncPaginator, Page
from ...errors import ArizeSkillsError
from ...models.evaluators import EvaluatorTemplate
from ..budget import DEFAULT_BUDGET_CHARS, collect, scope_of
from ..errors import redact, tool_errors
from ..state import AppState, app_state
from ..types import Cursor, Limit, ListResult, NameFilter, Ref, SpaceArg, ToolContext, ToolResult
from . import register_tool

__all__ = ["FindKind", "FindResult", "FindRow", "StatusResult", "find", "register", "status"]

COUNT_CAP = 1000
"""``status`` counts at most this many resources of each kind (ten pages of a hundred)."""

PAGE_SIZE = 100
"""Backend page size of ``find`` (AX's maximum for resource lists); fixed, so cursors stay valid."""

FindKind = Literal[
    "project",
    "dataset",
    "experiment",
    "evaluator",
    "task",
    "ai_integration",
    "annotation_config",
    "space",
    "judge_template",
]


class ResourceCount(BaseModel):
    """How many resources of one kind the default space holds."""

    count: int = Field(description="How many were counted.")
    complete: bool = Field(description=f"False when counting stopped at {COUNT_CAP} (there are at least that many).")


class StatusResult(ToolResult):
    """The backend the tools talk to, its default space and what it holds."""

    backend: Literal["ax", "engine-url", "embedded"] = Field(
        description="ax: Arize AX (or an AX-compatible URL with a key); engine-url: a running local engine; "
        "embedded: the local engine inside this server."
    )
    backend_description: str = Field(description="The backend in words.")
    base_url: str | None = Field(description="The API base URL (none for the embedded engine).")
    has_api_key: bool = Field(description="Whether requests carry an API key (the key itself is never shown).")
    space: Ref | None = Field(description="The default space tools use when space= is omitted.")
    space_problem: str | None = Field(default=None, description="Why there is no default space, and what to set.")
    engine_home: str | None = Field(description="Where the embedded engine keeps its state (embedded only).")
    counts: dict[str, ResourceCount] | None = Field(
        description="Projects, datasets, evaluators and tasks in the default space (none if it could not be read)."
    )
    problem: str | None = Field(default=None, description="What failed while reading the backend, if anything.")
    sources: dict[str, str] = Field(description="Where each setting came from (argument, env VAR, ax profile, …).")
    version: str = Field(description="The arize-skills version.")
    today: str = Field(description="Today's date (UTC), for time windows.")


class FindRow(Ref):
    """One resource found: its ID, its name and a short summary."""

    about: str | None = Field(default=None, description="A short summary: type, parent, state.")


class FindResult(ListResult):
    """Resources of one kind, by name."""

    kind: FindKind = Field(description="The kind listed.")
    space: Ref | None = Field(description="The space searched (none for spaces and judge templates).")
    items: list[FindRow] = Field(description="The resources found, most relevant order of the backend.")
    note: str | None = Field(default=None, description="What to do next when the list is empty or was cut short.")


async def _count(pages: AsyncPaginator[Any]) -> ResourceCount:
    counted = 0
    async for page in pages.pages():
        counted += len(page.items)
        if counted >= COUNT_CAP and page.has_more:
            return ResourceCount(count=counted, complete=False)
    return ResourceCount(count=counted, complete=True)


@tool_errors
async def status(ctx: ToolContext) -> StatusResult:
    """Show which backend the tools talk to (Arize AX, a local engine URL, or the embedded local engine), the
    default space (name and ID), whether an API key is set, where each setting came from, and how many projects,
    datasets, evaluators and tasks the space holds. Use it first in a session, when a name is not found, or when
    the user asks where their data lives. Read-only; never shows a key."""
    state = app_state(ctx)
    settings = state.settings
    problem: str | None = None
    counts: dict[str, ResourceCount] | None = None
    try:
        space = await state.require_space()
        client = state.client
        counts = {
            "projects": await _count(client.projects.list(space=space.id, limit=PAGE_SIZE)),
            "datasets": await _count(client.datasets.list(space=space.id, limit=PAGE_SIZE)),
            "evaluators": await _count(client.evaluators.list(space=space.id, limit=PAGE_SIZE)),
            "tasks": await _count(client.tasks.list(space=space.id, limit=PAGE_SIZE)),
        }
    except ArizeSkillsError as exc:
        # Status must still say how things are configured when the backend cannot be read.
        problem = redact(str(exc), state.secrets)
    return StatusResult(
        backend=state.backend.kind,
        backend_description=state.backend.label,
        base_url=state.backend.base_url,
        has_api_key=state.client.has_api_key,
        space=Ref(id=state.space.id, name=state.space.name) if state.space else None,
        space_problem=state.space_problem,
        engine_home=str(settings.home) if state.engine is not None else None,
        counts=counts,
        problem=problem,
        sources=dict(settings.sources),
        version=state.version,
        today=state.clock().date().isoformat(),
    )


def _about(kind: FindKind, item: Any) -> str | None:
    """The summary of one listed resource (``item`` is its client model)."""
    parts: list[str] = []
    if kind == "project":
        parts = [item.project_type or ""]
    elif kind == "dataset":
        parts = [f"updated {item.updated_at.date().isoformat()}"]
    elif kind == "experiment":
        parts = [f"dataset {item.dataset_id}" if item.dataset_id else "standalone"]
    elif kind == "evaluator":
        parts = [item.type, (item.description or "")[:80]]
    elif kind == "task":
        target = f"project {item.project_id}" if item.project_id else f"dataset {item.dataset_id}"
        parts = [item.type, target, "continuous" if item.is_continuous else ""]
    elif kind == "ai_integration":
        parts = [item.provider, "key stored" if item.has_api_key else "no key stored"]
    elif kind == "annotation_config":
        parts = [item.type]
    elif kind == "space":
        parts = [f"organization {item.organization_id}"]
    return "; ".join(p for p in parts if p) or None


def _template_row(template: EvaluatorTemplate) -> FindRow:
    labels = ", ".join(template.rails)
    return FindRow(
        id=template.column_name,
        name=template.display_name,
        about=f"labels: {labels}; optimize: {template.direction.lower()}",
    )


def _lister(state: AppState, kind: FindKind, space_id: str | None, name: str | None) -> AsyncPaginator[Any]:
    client = state.client
    if kind == "project":
        return client.projects.list(space=space_id, name=name, limit=PAGE_SIZE)
    if kind == "dataset":
        return client.datasets.list(space=space_id, name=name, limit=PAGE_SIZE)
    if kind == "experiment":
        return client.experiments.list(space=space_id, name=name, limit=PAGE_SIZE)
    if kind == "evaluator":
        return client.evaluators.list(space=space_id, name=name, limit=PAGE_SIZE)
    if kind == "task":
        return client.tasks.list(space=space_id, name=name, limit=PAGE_SIZE)
    if kind == "ai_integration":
        return client.ai_integrations.list(space=space_id, name=name, limit=PAGE_SIZE)
    if kind == "annotation_config":
        return client.annotation_configs.list(space=space_id, name=name, limit=PAGE_SIZE)
    return client.spaces.list(name=name, limit=PAGE_SIZE)


@tool_errors
async def find(
    ctx: ToolContext,
    kind: Annotated[
        FindKind,
        Field(
            description="What to list: project, dataset, experiment, evaluator (judges and code evaluators), task, "
            "ai_integration, annotation_config, space, or judge_template (the built-in judge catalogue)."
        ),
    ],
    name: NameFilter = None,
    space: SpaceArg = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> FindResult:
    """List resources of one kind by name, with their IDs: projects, datasets, experiments, evaluators, tasks,
    AI integrations, annotation configs, spaces or built-in judge templates. Use it to learn the exact name or ID
    to pass to another tool, to check whether something exists before creating it, or when a tool says a name
    was not found. Spaces and judge templates are not inside a space (space= does not apply to them). Rows are
    compact; page on with cursor=next_cursor. Read-only."""
    state = app_state(ctx)
    space_ref: Ref | None = None
    fetch: Callable[[str | None], Awaitable[Page[Any]]]
    if kind == "judge_template":
        wanted = (name or "").lower()
        templates = [
            t
            for t in await state.client.evaluators.list_templates()
            if wanted in t.display_name.lower() or wanted in t.column_name.lower()
        ]

        async def all_templates(_: str | None) -> Page[Any]:
            return Page(list(templates), False, None)

        fetch = all_templates
    else:
        space_id: str | None = None
        if kind != "space":
            if space is None:
                default = await state.require_space()
                space_ref = Ref(id=default.id, name=default.name)
            else:
                found = await state.client.spaces.get(space)
                space_ref = Ref(id=found.id, name=found.name)
            space_id = space_ref.id
        fetch = _lister(state, kind, space_id, name).page

    def row(item: Any) -> FindRow:
        if isinstance(item, EvaluatorTemplate):
            return _template_row(item)
        return FindRow(id=item.id, name=item.name, about=_about(kind, item))

    scope = scope_of("find", kind, name, space_ref.id if space_ref else None)
    collected = await collect(
        fetch, scope=scope, cursor=cursor, limit=limit, row=row, budget_chars=DEFAULT_BUDGET_CHARS
    )
    note = None
    if not collected.rows and cursor is None:
        where = f" in space '{space_ref.name}'" if space_ref else ""
        note = (
            f"no {kind.replace('_', ' ')} matches{where}"
            + (f" (name containing {name!r}); try a shorter part of the name" if name else "")
            + ("" if kind in ("space", "judge_template") else "; pass space= to search another space")
        )
    elif collected.stopped_for_budget:
        note = "stopped early to keep the answer short; call again with cursor=next_cursor for more"
    return FindResult(
        kind=kind,
        space=space_ref,
        items=collected.rows,
        has_more=collected.has_more,
        next_cursor=collected.next_cursor,
        note=note,
    )


def register(server: MCPServer[Any]) -> None:
    """Register ``status`` and ``find``."""
    register_tool(server, status, title="Backend status", kind="read")
    register_tool(server, find, title="Find resources by name", kind="read")

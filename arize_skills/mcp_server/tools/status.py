"""``status`` and ``find``: where the tools are pointed, and what is there (the built-in judge templates too).

This module is the pattern every tool family follows: module-level async tool functions wrapped with
``@tool_errors``, arguments typed with the shared ``Annotated`` aliases, a ``ToolResult`` subclass as the return
type, and a ``register(server)`` that calls ``register_tool`` for each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, ConfigDict, Field

from ...client import AsyncPaginator, Page
from ...errors import ArizeSkillsError
from ...evals.judge import template_variables
from ...models.evaluators import EvaluatorTemplate, OptimizationDirection
from ..budget import DEFAULT_BUDGET_CHARS, collect, cut, scope_of
from ..errors import redact, tool_errors
from ..state import AppState, app_state
from ..types import Cursor, ListResult, NameFilter, Ref, ToolContext, ToolResult
from . import register_tool

__all__ = [
    "FindKind",
    "FindResult",
    "FindRow",
    "JudgeTemplate",
    "StatusResult",
    "find",
    "kind_label",
    "register",
    "status",
]

COUNT_CAP = 1000
"""``status`` counts at most this many resources of each kind (ten pages of a hundred)."""

PAGE_SIZE = 100
"""Backend page size of ``find`` (AX's maximum for resource lists); fixed, so cursors stay valid."""
ROWS = 50
"""At most this many rows per ``find`` call (fewer when they would make the answer long)."""
PROMPT_CHARS = 6000
"""A judge template's prompt is shown whole up to this many characters (the catalogue's are under 1,000)."""

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

    def summary_line(self) -> tuple[str, str | None]:
        """The backend, the default space and what it holds (or what went wrong)."""
        head = f"On {self.backend_description}"
        if self.space is None:
            return f"{head}; no default space: {self.space_problem or self.problem}", "backend_description"
        where = f"{head}; default space '{self.space.name}' (id {self.space.id})"
        if self.counts is None:
            return f"{where}; it could not be read: {self.problem}", "backend_description"
        held = ", ".join(
            f"{c.count}{'' if c.complete else '+'} {kind[:-1] if c.count == 1 else kind}"
            for kind, c in self.counts.items()
        )
        return f"{where}: {held}.", "backend_description"


class FindRow(Ref):
    """One resource found: its ID, its name and a short summary."""

    about: str | None = Field(default=None, description="A short summary: type, parent, state.")


class JudgeTemplate(BaseModel):
    """A built-in judge template in full."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Pass it to create_judge(template=...).")
    display_name: str = Field(description="Its display name.")
    labels: list[str] = Field(description="The labels the judge answers with.")
    scores: dict[str, float] = Field(description="The score of each label.")
    variables: list[str] = Field(description="The template variables; each needs a mapping to data.")
    direction: OptimizationDirection = Field(description="Whether a higher score is better (MAXIMIZE) or not.")
    granularity: str = Field(description="What it judges: SPAN, TRACE or SESSION.")
    prompt: str = Field(description="The whole prompt, with its {variable} placeholders.")


def kind_label(kind: str, count: int = 1) -> str:
    """A resource kind in words ("AI integration"), plural unless ``count`` is 1."""
    words = kind.replace("_", " ").replace("ai integration", "AI integration")
    return words if count == 1 else f"{words}s"


class FindResult(ListResult):
    """Resources of one kind, by name."""

    kind: FindKind = Field(description="The kind listed.")
    space: Ref | None = Field(description="The space searched (none for spaces and judge templates).")
    items: list[FindRow] = Field(description="The resources found, most relevant order of the backend.")
    template: JudgeTemplate | None = Field(default=None, description="The judge template named exactly, in full.")
    note: str | None = Field(default=None, description="What to do next when the list is empty or was cut short.")

    def summary_line(self) -> tuple[str, str | None]:
        """How many were found and where, the template named, or why nothing was found."""
        if self.template is not None:
            t = self.template
            return (
                f"Judge template '{t.name}': labels {', '.join(t.labels)}; variables {', '.join(t.variables)}; "
                "its prompt is below.",
                None,
            )
        if not self.items and self.note:
            return self.note[0].upper() + self.note[1:] + ".", "note"
        where = f" in space '{self.space.name}'" if self.space else ""
        more = "; more follow: call again with cursor=next_cursor" if self.has_more else ""
        return f"{len(self.items)} {kind_label(self.kind, len(self.items))}{where}{more}.", None


async def _count(pages: AsyncPaginator[Any]) -> ResourceCount:
    counted = 0
    async for page in pages.pages():
        counted += len(page.items)
        if counted >= COUNT_CAP and page.has_more:
            return ResourceCount(count=counted, complete=False)
    return ResourceCount(count=counted, complete=True)


@tool_errors
async def status(
    ctx: ToolContext,
    space: Annotated[
        str | None,
        Field(min_length=1, max_length=255, description="Switch every tool to this space (name or ID)."),
    ] = None,
) -> StatusResult:
    """The backend (Arize AX or local), its default space and what it holds. Call it first."""
    state = app_state(ctx)
    settings = state.settings
    problem: str | None = None
    counts: dict[str, ResourceCount] | None = None
    if space is not None:
        await state.use_space(space)
    try:
        space_info = await state.require_space()
        client = state.client
        counts = {
            "projects": await _count(client.projects.list(space=space_info.id, limit=PAGE_SIZE)),
            "datasets": await _count(client.datasets.list(space=space_info.id, limit=PAGE_SIZE)),
            "evaluators": await _count(client.evaluators.list(space=space_info.id, limit=PAGE_SIZE)),
            "tasks": await _count(client.tasks.list(space=space_info.id, limit=PAGE_SIZE)),
        }
    except ArizeSkillsError as exc:
        # Status must still say how things are configured when the backend cannot be read.
        problem = redact(str(exc), state.secrets)
    return StatusResult(
        backend=state.backend.kind,
        backend_description=state.backend_label(),
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
    variables = ", ".join(template_variables(template.template))
    return FindRow(
        id=template.column_name,
        name=template.display_name,
        about=f"labels: {labels}; variables: {variables}; optimize: {template.direction.lower()}",
    )


def _template_detail(template: EvaluatorTemplate) -> JudgeTemplate:
    return JudgeTemplate(
        name=template.column_name,
        display_name=template.display_name,
        labels=list(template.rails),
        scores={label: float(score) for label, score in template.classification_choices.items()},
        variables=template_variables(template.template),
        direction=template.direction,
        granularity=template.data_granularity or "SPAN",
        prompt=cut(template.template, PROMPT_CHARS, "the rest is in the backend's catalogue"),
    )


def _lister(state: AppState, kind: FindKind, space_id: str | None, name: str | None) -> AsyncPaginator[Any]:
    client = state.client
    in_space: dict[str, Callable[..., AsyncPaginator[Any]]] = {
        "project": client.projects.list,
        "dataset": client.datasets.list,
        "experiment": client.experiments.list,
        "evaluator": client.evaluators.list,
        "task": client.tasks.list,
        "ai_integration": client.ai_integrations.list,
        "annotation_config": client.annotation_configs.list,
    }
    if kind in in_space:
        return in_space[kind](space=space_id, name=name, limit=PAGE_SIZE)
    return client.spaces.list(name=name, limit=PAGE_SIZE)


@tool_errors
async def find(
    ctx: ToolContext,
    kind: Annotated[
        FindKind,
        Field(description="judge_template: built-in judges."),
    ],
    name: NameFilter = None,
    cursor: Cursor = None,
) -> FindResult:
    """List resources of a kind, with IDs; a judge_template named exactly shows its prompt."""
    state = app_state(ctx)
    space_ref: Ref | None = None
    fetch: Callable[[str | None], Awaitable[Page[Any]]]
    detail: JudgeTemplate | None = None
    if kind == "judge_template":
        wanted = (name or "").strip().lower()
        catalogue = await state.client.evaluators.list_templates()
        exact = [t for t in catalogue if wanted in (t.column_name.lower(), t.display_name.lower())]
        templates = exact[:1] or [
            t for t in catalogue if wanted in t.display_name.lower() or wanted in t.column_name.lower()
        ]
        detail = _template_detail(exact[0]) if exact else None

        async def all_templates(_: str | None) -> Page[Any]:
            return Page(list(templates), False, None)

        fetch = all_templates
    else:
        space_id: str | None = None
        if kind != "space":
            default = await state.require_space()
            space_ref = Ref(id=default.id, name=default.name)
            space_id = space_ref.id
        fetch = _lister(state, kind, space_id, name).page

    def row(item: Any) -> FindRow:
        if isinstance(item, EvaluatorTemplate):
            return _template_row(item)
        return FindRow(id=item.id, name=item.name, about=_about(kind, item))

    scope = scope_of("find", kind, name, space_ref.id if space_ref else None)
    collected = await collect(fetch, scope=scope, cursor=cursor, limit=ROWS, row=row, budget_chars=DEFAULT_BUDGET_CHARS)
    note = None
    if not collected.rows and cursor is None:
        where = f" in space '{space_ref.name}'" if space_ref else ""
        note = (
            f"no {kind_label(kind)} matches{where}"
            + (f" (name containing {name!r}); try a shorter part of the name" if name else "")
            + ("" if kind in ("space", "judge_template") else "; status(space=...) switches to another space")
        )
    elif collected.stopped_for_budget:
        note = "stopped early to keep the answer short; call again with cursor=next_cursor for more"
    return FindResult(
        kind=kind,
        space=space_ref,
        items=collected.rows,
        template=detail,
        has_more=collected.has_more,
        next_cursor=collected.next_cursor,
        note=note,
    )


def register(server: MCPServer[Any]) -> None:
    """Register ``status`` and ``find``."""
    register_tool(server, status, title="Backend status", kind="read")
    register_tool(server, find, title="Find resources by name", kind="read")

"""``delete``: remove a task, dataset, experiment, evaluator, annotation config or AI integration, once confirmed.

One tool for every kind, so confirmation and report are the same for each. A ``_Plan`` looks the resource up and
says what goes with it (a dataset's experiments, an evaluator's versions, a task's runs) and what stays or stops
working (results already written, judges left without their integration); the confirmation question is made from
it, and so is the result. The plan is made again after the user's yes, so what is deleted is what the question
named. A delete the backend would refuse (an evaluator a task still uses) is refused before the user is asked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from ...client import AsyncArizeClient
from ..confirm import Confirmed, confirmation
from ..errors import tool_errors
from ..state import AppState, app_state
from ..types import Confirm, Ref, ToolContext, ToolResult
from . import register_tool
from .status import kind_label

__all__ = ["DeleteKind", "DeleteResult", "delete", "register"]

DeleteKind = Literal["task", "dataset", "experiment", "evaluator", "annotation_config", "ai_integration"]

LISTED = 10
"""At most this many of the things that go with a resource are named one by one in the question."""
SHOWN = 50
"""At most this many of a dataset's experiments are listed in the result."""
JUDGES_SCANNED = 50
"""How many judges of the space are checked for the AI integration being deleted."""


@dataclass
class _Plan:
    """What a delete removes: the resource, what goes with it, what stays, and the call that removes it."""

    kind: DeleteKind
    target: Ref
    about: str | None
    remove: Callable[[], Awaitable[None]]
    also: list[str] = field(default_factory=list)
    note: str | None = None

    def question(self) -> str:
        about = f"; {self.about}" if self.about else ""
        also = f" with {_listed(self.also)}" if self.also else ""
        note = f" {self.note[0].upper()}{self.note[1:]}." if self.note else ""
        return (
            f"Delete {kind_label(self.kind)} '{self.target.name}' (id {self.target.id}{about}){also}?{note} "
            "This cannot be undone."
        )


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:LISTED])
    return shown if len(items) <= LISTED else f"{shown} and {len(items) - LISTED} more"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _names(refs: list[Ref]) -> str:
    return ", ".join(f"'{r.name}'" for r in refs[:LISTED]) + (
        f" and {len(refs) - LISTED} more" if len(refs) > LISTED else ""
    )


async def _task_plan(client: AsyncArizeClient, name: str) -> _Plan:
    found = await client.tasks.get(name)
    if found.project_id:
        target = f"project '{(await client.projects.get(found.project_id)).name}'"
    elif found.dataset_id:
        target = f"dataset '{(await client.datasets.get(found.dataset_id)).name}'"
    else:
        target = "its dataset"
    return _Plan(
        "task",
        Ref(id=found.id, name=found.name),
        f"{found.type} on {target}",
        lambda: client.tasks.delete(found.id),
        also=["its runs and schedule"],
        note="evaluation results it already wrote stay on the records",
    )


async def _dataset_plan(client: AsyncArizeClient, name: str) -> _Plan:
    found = await client.datasets.get(name)
    experiments = [e async for e in client.experiments.list(dataset=found.id, limit=100)]
    tasks = [Ref(id=t.id, name=t.name) async for t in client.tasks.list(dataset=found.id, limit=100)]
    versions = len(found.versions or [])
    also = [f"its examples and their annotations ({_plural(versions, 'version')})"]
    also += [f"experiment '{e.name}' ({e.id})" for e in experiments[:SHOWN]]
    if len(experiments) > SHOWN:
        also.append(f"{len(experiments) - SHOWN} more experiments")
    note = None
    if experiments:
        note = f"its {_plural(len(experiments), 'experiment')} and their runs go with it"
    if tasks:
        note = (note + "; " if note else "") + (
            f"tasks {_names(tasks)} run on it and will fail: delete them too (kind='task')"
        )
    return _Plan(
        "dataset", Ref(id=found.id, name=found.name), None, lambda: client.datasets.delete(found.id), also, note
    )


async def _experiment_plan(client: AsyncArizeClient, name: str) -> _Plan:
    found = await client.experiments.get(name)
    owner = f"of dataset '{(await client.datasets.get(found.dataset_id)).name}'" if found.dataset_id else "standalone"
    return _Plan(
        "experiment",
        Ref(id=found.id, name=found.name),
        owner,
        lambda: client.experiments.delete(found.id),
        also=["its runs with their evaluations and annotations"],
    )


async def _evaluator_plan(client: AsyncArizeClient, name: str) -> _Plan:
    found = await client.evaluators.get(name)
    users = [
        Ref(id=t.id, name=t.name)
        async for t in client.tasks.list(space=found.space_id, limit=100)
        if any(e.evaluator_id == found.id for e in t.evaluators)
    ]
    if users:
        which = f"task '{users[0].name}' ({users[0].id})" if len(users) == 1 else f"tasks {_names(users)}"
        raise ToolError(
            f"evaluator '{found.name}' ({found.id}) is used by {which}: remove it from them with update_task, or "
            "delete them (kind='task'), then call again; nothing was deleted"
        )
    versions = [v.id async for v in client.evaluators.list_versions(found.id, limit=100)]
    return _Plan(
        "evaluator",
        Ref(id=found.id, name=found.name),
        found.type,
        lambda: client.evaluators.delete(found.id),
        also=[_plural(len(versions), "version")],
        note="evaluation results it already wrote stay on the records",
    )


async def _annotation_config_plan(client: AsyncArizeClient, name: str) -> _Plan:
    found = await client.annotation_configs.get(name)
    return _Plan(
        "annotation_config",
        Ref(id=found.id, name=found.name),
        found.type,
        lambda: client.annotation_configs.delete(found.id),
        note="annotate can then no longer write labels under it",
    )


async def _ai_integration_plan(state: AppState, client: AsyncArizeClient, name: str) -> _Plan:
    found = await client.ai_integrations.get(name)
    space_id = (await state.require_space()).id
    judges: list[Ref] = []
    listed = await client.evaluators.list(space=space_id, limit=JUDGES_SCANNED)
    for evaluator in listed.items:
        if evaluator.type != "TEMPLATE":
            continue
        version = (await client.evaluators.get(evaluator.id)).version
        config = version.template_config if version is not None else None
        if config is not None and config.llm_config is not None and config.llm_config.ai_integration_id == found.id:
            judges.append(Ref(id=evaluator.id, name=evaluator.name))
    note = None
    if judges:
        note = f"judges {_names(judges)} use it and cannot run until they get another integration (update_judge)"
    return _Plan(
        "ai_integration",
        Ref(id=found.id, name=found.name),
        found.provider,
        lambda: client.ai_integrations.delete(found.id),
        note=note,
    )


async def _plan(state: AppState, kind: DeleteKind, name: str) -> _Plan:
    client = state.client
    if kind == "task":
        return await _task_plan(client, name)
    if kind == "dataset":
        return await _dataset_plan(client, name)
    if kind == "experiment":
        return await _experiment_plan(client, name)
    if kind == "evaluator":
        return await _evaluator_plan(client, name)
    if kind == "annotation_config":
        return await _annotation_config_plan(client, name)
    return await _ai_integration_plan(state, client, name)


async def _question(kind: DeleteKind, name: str, ctx: ToolContext) -> str:
    return (await _plan(app_state(ctx), kind, name)).question()


ConfirmDelete = Annotated[Confirmed, confirmation(_question)]


class DeleteResult(ToolResult):
    """What was deleted, and what went with it."""

    kind: DeleteKind = Field(description="The kind deleted.")
    deleted: Ref = Field(description="The resource deleted.")
    also_deleted: list[str] = Field(description="What went with it.")
    note: str | None = Field(default=None, description="What stays, or stops working.")
    confirmed_by: Literal["argument", "elicitation"] = Field(description="How the user confirmed.")

    def summary_line(self) -> tuple[str, str | None]:
        """What was deleted, by name and ID, with what."""
        also = f" with {_listed(self.also_deleted)}" if self.also_deleted else ""
        return f"Deleted {kind_label(self.kind)} '{self.deleted.name}' (id {self.deleted.id}){also}.", None


@tool_errors
async def delete(
    ctx: ToolContext,
    kind: Annotated[DeleteKind, Field(description="evaluator: judges and code evaluators.")],
    name: Annotated[str, Field(min_length=1, max_length=512, description="Name (default space) or ID.")],
    confirmed: ConfirmDelete,
    confirm: Confirm = False,
) -> DeleteResult:
    """Delete what the user asked to (a dataset with its experiments), after their yes."""
    state = app_state(ctx)
    plan = await _plan(state, kind, name)
    await plan.remove()
    return DeleteResult(
        kind=kind, deleted=plan.target, also_deleted=plan.also, note=plan.note, confirmed_by=confirmed.how
    )


def register(server: MCPServer[Any]) -> None:
    """Register ``delete``."""
    register_tool(server, delete, title="Delete a resource", kind="delete")

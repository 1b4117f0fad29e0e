"""What the judge tools share: loading a judge, matching names and the eval column a judge writes.

* Names an agent types (labels, templates, variables, columns, parameters) match exactly, else ignoring case,
  spaces, ``_`` and ``-`` when exactly one candidate matches that way (``match_name``).
* ``eval_column_holders`` looks, cheaply and boundedly, for values already stored under ``eval.<column>.*``
  (the recent experiments' runs and spans of the space) and for other evaluators writing that column: a judge
  writing there would collide with them.

The variable an AI integration's key was read from when this server created it is ``AppState.key_envs``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from ...client.resources.evaluators import column_name_for
from ...errors import ArizeSkillsError
from ...models.evaluators import EvaluatorWithVersion, TemplateConfig
from ..state import AppState

__all__ = [
    "HOLDERS_SHOWN",
    "ColumnMappingsArg",
    "JudgeRef",
    "eval_column_holders",
    "match_name",
    "match_mappings",
    "norm",
    "request_fields",
    "template_judge",
]

logger = logging.getLogger("arize_skills.mcp")

ColumnMappingsArg = Annotated[
    dict[str, str] | None,
    Field(description="{variable: path or column}."),
]
JudgeRef = Annotated[str, Field(min_length=1, max_length=512, description="Judge name or ID.")]

_SEPARATORS = re.compile(r"[\s_\-]+")
RECENT_EXPERIMENTS = 20
RECENT_PROJECTS = 10
RECENT_EVALUATORS = 20
SPANS_PER_PROJECT = 20
HOLDERS_SHOWN = 3


def norm(text: str) -> str:
    """``text`` as names are compared loosely: case folded, runs of spaces, ``_`` and ``-`` as one space."""
    return _SEPARATORS.sub(" ", text.casefold()).strip()


def match_name(value: str, names: Iterable[str]) -> str | None:
    """The one of ``names`` that is ``value``, else the only one equal to it but for case, spaces, ``_`` and
    ``-``; ``None`` when none is, or several are (ambiguous)."""
    candidates = list(dict.fromkeys(names))
    if value in candidates:
        return value
    loose = [name for name in candidates if norm(name) == norm(value)]
    return loose[0] if len(loose) == 1 else None


def match_mappings(
    mappings: Mapping[str, str], variables: Sequence[str], columns: Iterable[str] = ()
) -> tuple[dict[str, str], list[str]]:
    """``mappings`` keyed by the template variables they name (loosely, see ``match_name``), each value the one
    of ``columns`` it names loosely (dataset columns; span paths stay as given), and the keys that name no
    variable."""
    known = list(columns)
    resolved: dict[str, str] = {}
    unknown: list[str] = []
    for key, path in mappings.items():
        variable = match_name(key, variables)
        if variable is None:
            unknown.append(key)
            continue
        resolved[variable] = path if path in known else (match_name(path, known) or path)
    return resolved, unknown


async def eval_column_holders(state: AppState, column: str, *, evaluator_id: str | None = None) -> list[str]:
    """Where ``eval.<column>.*`` already holds values, or another evaluator writes it: the newest run of each of
    the space's recent experiments, the newest spans of its recent projects, its recent evaluators (other than
    ``evaluator_id``). Bounded lookups, each a best effort: a lookup the backend refuses is skipped."""
    client = state.client
    found: list[str] = []
    limiter = anyio.CapacityLimiter(8)

    def writes(name: str | None) -> bool:
        return name == column

    async def experiment(experiment_id: str, name: str) -> None:
        async with limiter:
            runs = (await client.experiments.list_runs(experiment_id, limit=1)).items
        if runs and any(v is not None for k, v in runs[0].evaluation(column).items() if k != "metadata"):
            found.append(f"experiment '{name}'")

    async def project(project_id: str, name: str) -> None:
        async with limiter:
            spans = (await client.spans.list(project_id, limit=SPANS_PER_PROJECT)).items
        if any(writes(e.name) for span in spans for e in span.evaluations):
            found.append(f"spans of project '{name}'")

    async def evaluator(found_id: str, name: str) -> None:
        async with limiter:
            version = (await client.evaluators.get(found_id)).version
        config = version.template_config or version.code_config if version is not None else None
        if config is not None and writes(config.name or column_name_for(name)):
            found.append(f"evaluator '{name}'")

    async def guarded(lookup: Callable[[str, str], Awaitable[None]], *args: str) -> None:
        try:
            await lookup(*args)
        except ArizeSkillsError as exc:
            logger.debug("eval column check skipped: %s", exc)

    try:
        experiments = (await client.experiments.list(limit=RECENT_EXPERIMENTS)).items
        projects = (await client.projects.list(limit=RECENT_PROJECTS)).items
        evaluators = (await client.evaluators.list(limit=RECENT_EVALUATORS)).items
    except ArizeSkillsError as exc:
        logger.debug("eval column check skipped: %s", exc)
        return []
    async with anyio.create_task_group() as group:
        lookups: list[tuple[Callable[[str, str], Awaitable[None]], str, str]] = [
            *((experiment, e.id, e.name) for e in experiments),
            *((project, p.id, p.name) for p in projects),
            *((evaluator, e.id, e.name) for e in evaluators if e.id != evaluator_id),
        ]
        for lookup, found_id, name in lookups:
            group.start_soon(guarded, lookup, found_id, name)
    return sorted(found)


async def template_judge(
    state: AppState, judge: str, version_id: str | None
) -> tuple[EvaluatorWithVersion, TemplateConfig]:
    """The judge (an LLM-as-judge evaluator) with its version (latest unless ``version_id``) and configuration.

    Raises:
        ToolError: the evaluator is a code or remote evaluator, or its version carries no prompt.
    """
    found = await state.client.evaluators.get(judge, version_id=version_id)
    version = found.version
    if found.type != "TEMPLATE":
        raise ToolError(
            f"judge: '{found.name}' is a {found.type} evaluator, not an LLM judge; this tool works on judges made "
            "with create_judge (find(kind='evaluator') lists the evaluators)"
        )
    config = version.template_config if version is not None else None
    if version is None or config is None or not config.template:
        raise ToolError(f"judge: '{found.name}' has no version with a prompt; create one with update_judge")
    return found, config


def request_fields(values: Mapping[str, Any] | None, model: type[BaseModel]) -> dict[str, Any]:
    """The stored parameters a request model accepts (responses may carry response-only fields)."""
    return {key: value for key, value in (values or {}).items() if key in model.model_fields and value is not None}

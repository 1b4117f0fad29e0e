"""Setting up evaluation work: AI integrations, annotation configs, and annotating.

``create_ai_integration`` takes the *name* of an environment variable holding the provider key and reads it in
this process: the key never passes through the conversation, and no result, error or log line carries it. Over
the HTTP transport only key-like variables (``*_KEY``, ``*_API_KEY``, ``*_TOKEN``, or those the server was started
with ``--allow-env``) may be sent (``sendable_env``, the one rule, which ``preview_judge`` keeps too): a caller must
not turn a database password into a bearer token sent to a URL of its choosing. On stdio any variable may be sent.
``create_annotation_config`` returns an identical config that already exists instead of failing. ``annotate``
makes spans, dataset examples and experiment runs behave the same way: it looks every record up first, writes
the ones found and reports the others by ID with the reason (AX silently ignores unknown example and run IDs, and
rejects a whole span batch over one unknown span).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from ...client import AsyncPaginator
from ...errors import ArizeSkillsError, ConflictError, NameNotFoundError
from ...evals.mapping import MISSING, span_value, span_view_of
from ...models.ai_integrations import AiIntegrationProvider
from ...models.annotation_configs import AnnotationConfig
from ...models.evaluators import OptimizationDirection
from ...models.spans import Span
from ..errors import to_tool_error, tool_errors
from ..state import AppState, app_state
from ..types import (
    Ref,
    ToolContext,
    ToolResult,
    parse_time,
)
from . import register_tool
from .traces import TimeWindow

__all__ = [
    "AiIntegrationResult",
    "AnnotateResult",
    "AnnotationConfigResult",
    "annotate",
    "create_ai_integration",
    "create_annotation_config",
    "register",
    "sendable_env",
]

# --- create_ai_integration ---------------------------------------------------------------------------------------

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_ENV_REFERENCE = re.compile(r"^\$\{([^}]*)\}$")
_KEY_SHAPES = re.compile(r"^(?:sk|pk|rk|key|xai|gsk|hf|ghp|glpat|AIza)[-_]|^(?=.*[a-z])(?=.*[0-9])(?=.*[A-Z]).{24,}$")
_CREDENTIAL_HEADER = re.compile(r"(?i)auth|key|token|secret|cookie|session|password|signature|credential")
_KEY_LIKE = re.compile(r"(?i)(?:^|_)(?:KEY|TOKEN)$")


def sendable_env(state: AppState, variable: str, argument: str) -> str:
    """``variable`` (stripped) if it names an environment variable this server may send as a key.

    Any variable on stdio (``state.allow_env`` is ``None``); over HTTP only key-like names (ending in ``_KEY``,
    ``_API_KEY`` or ``_TOKEN``) and those in ``state.allow_env``, and never one holding the server's own
    credentials (``state.secrets``: its Arize key, its bearer token) unless ``--allow-env`` names it.

    Raises:
        ToolError: naming ``argument``: not a variable name (never quoted back: it may be a key pasted by
            mistake), or a variable the HTTP transport does not send (the message names the fix).
    """
    name = variable.strip()
    if not _ENV_NAME.match(name) or _KEY_SHAPES.search(name):
        raise ToolError(
            f"{argument}: expected the NAME of an environment variable (letters, digits and underscores, such as "
            "OPENAI_API_KEY), never the key itself; the value given is not shown. Ask the user to export the key "
            "in the environment the MCP server starts with, then pass that variable's name"
        )
    if state.allow_env is not None and not _KEY_LIKE.search(name) and name not in state.allow_env:
        raise ToolError(
            f"{argument}: over HTTP this MCP server sends as keys only key-like environment variables (names "
            f"ending in _API_KEY, _KEY or _TOKEN), and {name} is not one — ask the user to put the key in such a "
            f"variable, or to restart the server with --allow-env {name} if sending it is intended"
        )
    value = os.environ.get(name)
    if state.allow_env is not None and value and value.strip() in state.secrets and name not in state.allow_env:
        raise ToolError(
            f"{argument}: {name} holds this MCP server's own credential (its Arize key or its HTTP token), which "
            "it never sends elsewhere over HTTP — put the provider's key in a variable of its own"
        )
    return name


def _env_secret(state: AppState, variable: str, argument: str) -> str:
    """The value of the environment variable named ``variable``, read in this process.

    Raises:
        ToolError: the name may not be sent (``sendable_env``), or the variable is unset or empty (the message
            names it).
    """
    name = sendable_env(state, variable, argument)
    value = os.environ.get(name)
    if value is None or not value.strip():
        raise ToolError(
            f"{argument}: the environment variable {name} is {'empty' if value is not None else 'not set'} in the "
            "MCP server's environment — ask the user to set it where the server is started (the env section of "
            "the MCP host's server config, or the shell that launches it) and restart the server; never paste "
            "the key into the conversation"
        )
    return value.strip()


class AiIntegrationResult(ToolResult):
    """The AI integration created (its key is never shown)."""

    integration: Ref = Field(description="The integration, by name and ID; judges and run_experiment use it.")
    provider: str = Field(description="The provider.")
    has_api_key: bool = Field(description="Whether a key is stored with it (the key itself is never shown).")
    api_key_env: str | None = Field(description="The environment variable the key was read from.")
    base_url: str | None = Field(description="The provider base URL, if set.")
    model_names: list[str] = Field(description="The models it offers.")
    header_names: list[str] = Field(description="The extra headers it sends (values are never shown).")
    function_calling_enabled: bool = Field(description="Whether judges may use function calling with it.")

    def summary_line(self) -> tuple[str, str | None]:
        """What was created, where its key comes from, and what uses it next."""
        key = (
            f"key from ${self.api_key_env}" if self.api_key_env else ("a stored key" if self.has_api_key else "no key")
        )
        models = ", ".join(self.model_names[:3]) or "no model listed"
        return (
            f"Created AI integration '{self.integration.name}' ({self.provider}, {key}; models {models}). "
            f"Next: create_judge(ai_integration='{self.integration.name}', ...) or run_experiment.",
            None,
        )


@tool_errors
async def create_ai_integration(
    ctx: ToolContext,
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=255,
            description="Unique per account.",
        ),
    ],
    provider: Annotated[
        AiIntegrationProvider,
        Field(description="CUSTOM: any OpenAI-compatible server."),
    ],
    api_key_env: Annotated[
        str | None,
        Field(description="Env var NAME of the key, e.g. 'OPENAI_API_KEY'."),
    ] = None,
    base_url: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=2048,
            description="Provider endpoint.",
        ),
    ] = None,
    model_names: Annotated[
        list[str] | None,
        Field(
            min_length=1,
            max_length=100,
            description="Azure: deployments.",
        ),
    ] = None,
    headers: Annotated[
        dict[str, str] | None,
        Field(description="Secrets as '${VAR}'."),
    ] = None,
    provider_metadata: Annotated[
        dict[str, str] | None,
        Field(description="AWS_BEDROCK, VERTEX_AI: see arize-setup."),
    ] = None,
    function_calling_enabled: Annotated[bool, Field(description="Judges answer by tool call.")] = True,
) -> AiIntegrationResult:
    """Give judges and run_experiment an LLM provider; the key is read from api_key_env, never asked for."""
    state = app_state(ctx)
    secrets: list[str] = []
    key: str | None = None
    if api_key_env is not None:
        key = _env_secret(state, api_key_env, "api_key_env")
        secrets.append(key)
    sent_headers: dict[str, str] | None = None
    if headers is not None:
        sent_headers = {}
        for header, value in headers.items():
            if not header.strip():
                raise ToolError("headers: a header name is empty; give each header a name")
            reference = _ENV_REFERENCE.match(value.strip())
            if reference:
                value = _env_secret(state, reference.group(1), f"headers[{header!r}]")
            if reference or _CREDENTIAL_HEADER.search(header):
                secrets.append(value)
            sent_headers[header] = value
    if provider in ("AZURE_OPEN_AI", "CUSTOM") and base_url is None:
        raise ToolError(f"base_url: a {provider} integration needs the provider's base URL (its endpoint)")
    try:
        created = await state.client.ai_integrations.create(
            name,
            provider=provider,
            api_key=key,
            base_url=base_url,
            model_names=model_names,
            headers=sent_headers,
            provider_metadata=provider_metadata,
            function_calling_enabled=function_calling_enabled,
        )
    except (ArizeSkillsError, ValueError) as exc:
        # The adapter redacts the server's own secrets; this call also holds the provider key and header values.
        raise to_tool_error(exc, (*state.secrets, *secrets)) from None
    if api_key_env is not None:
        # preview_judge reads the key from the same variable where the backend never returns it (AX, HTTP engine).
        state.key_envs[created.id] = api_key_env.strip()
    return AiIntegrationResult(
        integration=Ref(id=created.id, name=created.name),
        provider=created.provider,
        has_api_key=created.has_api_key,
        api_key_env=api_key_env.strip() if api_key_env is not None else None,
        base_url=created.base_url,
        model_names=list(created.model_names or []),
        header_names=sorted(created.headers or sent_headers or {}),
        function_calling_enabled=created.function_calling_enabled,
    )


# --- create_annotation_config ------------------------------------------------------------------------------------


class LabelArg(BaseModel):
    """A label of a new categorical config and its score, if it has one."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=255)
    score: float | None = None


class LabelScore(BaseModel):
    """A label of a categorical config and its score."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="The label.")
    score: float | None = Field(default=None, description="Its score, if it has one.")


class AnnotationConfigResult(ToolResult):
    """The annotation config, created now or found as it was asked for."""

    config: Ref = Field(description="The annotation config, by name and ID; annotate(name=...) uses it.")
    space: Ref = Field(description="The space it belongs to.")
    type: Literal["CATEGORICAL", "CONTINUOUS", "FREEFORM"] = Field(description="Its type.")
    labels: list[LabelScore] | None = Field(default=None, description="CATEGORICAL: its labels and scores.")
    minimum_score: float | None = Field(default=None, description="CONTINUOUS: the lowest score.")
    maximum_score: float | None = Field(default=None, description="CONTINUOUS: the highest score.")
    optimization_direction: str | None = Field(default=None, description="MAXIMIZE, MINIMIZE or NONE.")
    created: bool = Field(description="True if created now; false if an identical config already existed.")
    note: str | None = Field(default=None, description="What happened.")

    def summary_line(self) -> tuple[str, str | None]:
        """Created or reused, and the shape."""
        verb = "Created" if self.created else "Reused"
        if self.type == "CATEGORICAL":
            shape = "labels " + ", ".join(
                f"{v.label} ({v.score:g})" if v.score is not None else v.label for v in self.labels or []
            )
        elif self.type == "CONTINUOUS":
            shape = f"scores {self.minimum_score:g} to {self.maximum_score:g}"
        else:
            shape = "free text"
        return (
            f"{verb} annotation config '{self.config.name}' (id {self.config.id}): {self.type}, {shape}. "
            f"Next: annotate(name='{self.config.name}', ...).",
            "note",
        )


@dataclass(frozen=True)
class _Shape:
    type: str
    labels: tuple[tuple[str, float | None], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    direction: str | None = None

    @classmethod
    def of(cls, config: AnnotationConfig) -> _Shape:
        return cls(
            type=config.type,
            labels=tuple(
                sorted((v.label, float(v.score) if v.score is not None else None) for v in config.values or [])
            ),
            minimum=float(config.minimum_score) if config.minimum_score is not None else None,
            maximum=float(config.maximum_score) if config.maximum_score is not None else None,
            direction=config.optimization_direction if config.type != "FREEFORM" else None,
        )

    def describe(self) -> str:
        if self.type == "CATEGORICAL":
            shown = ", ".join(f"{label} ({score:g})" if score is not None else label for label, score in self.labels)
            what = f"labels {shown}"
        elif self.type == "CONTINUOUS":
            what = f"scores from {self.minimum:g} to {self.maximum:g}"
        else:
            return "FREEFORM (free text)"
        direction = f", direction {self.direction}" if self.direction else ""
        return f"{self.type} with {what}{direction}"

    def matches(self, existing: _Shape) -> bool:
        """Whether ``existing`` is this shape; a label score or a direction left out here matches any."""
        stored = dict(existing.labels)
        same_labels = {label for label, _ in self.labels} == set(stored) and all(
            score is None or stored[label] == score for label, score in self.labels
        )
        same = same_labels and (self.type, self.minimum, self.maximum) == (
            existing.type,
            existing.minimum,
            existing.maximum,
        )
        return same and (self.direction is None or self.direction == (existing.direction or "NONE"))


def _config_result(config: AnnotationConfig, space: Ref, *, created: bool, note: str | None) -> AnnotationConfigResult:
    return AnnotationConfigResult(
        config=Ref(id=config.id, name=config.name),
        space=space,
        type=config.type,
        labels=[LabelScore(label=v.label, score=v.score) for v in config.values]
        if config.type == "CATEGORICAL" and config.values is not None
        else None,
        minimum_score=config.minimum_score if config.type == "CONTINUOUS" else None,
        maximum_score=config.maximum_score if config.type == "CONTINUOUS" else None,
        optimization_direction=config.optimization_direction if config.type != "FREEFORM" else None,
        created=created,
        note=note,
    )


async def _space_ref(state: AppState) -> Ref:
    default = await state.require_space()
    return Ref(id=default.id, name=default.name)


async def _existing_config(state: AppState, name: str, space_id: str) -> AnnotationConfig | None:
    try:
        return await state.client.annotation_configs.get(name, space=space_id)
    except NameNotFoundError:
        return None


@tool_errors
async def create_annotation_config(
    ctx: ToolContext,
    name: Annotated[str, Field(min_length=1, max_length=255, description="E.g. 'correctness'.")],
    type: Annotated[
        Literal["CATEGORICAL", "CONTINUOUS", "FREEFORM"],
        Field(description="CATEGORICAL takes labels; CONTINUOUS scores."),
    ],
    labels: Annotated[
        list[str] | dict[str, float] | None,
        Field(min_length=1, max_length=500, description="['good', 'bad'] or {'good': 1, 'bad': 0}."),
    ] = None,
    minimum_score: Annotated[float | None, Field(description="CONTINUOUS only.")] = None,
    maximum_score: Annotated[float | None, Field(description="CONTINUOUS only.")] = None,
    optimization_direction: Annotated[
        OptimizationDirection | None, Field(description="MAXIMIZE if higher is better.")
    ] = None,
) -> AnnotationConfigResult:
    """Create a human label set; one of the same name and shape is returned as it is."""
    state = app_state(ctx)
    if type == "CATEGORICAL":
        if not labels:
            raise ToolError("labels: a CATEGORICAL config needs its labels, e.g. ['correct', 'incorrect']")
        if minimum_score is not None or maximum_score is not None:
            raise ToolError("minimum_score / maximum_score: only CONTINUOUS configs have them; drop them")
        values = (
            [LabelArg(label=k, score=v) for k, v in labels.items()]
            if isinstance(labels, dict)
            else [LabelArg(label=v) for v in labels]
        )
        names = [v.label for v in values]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ToolError(f"labels: each label must appear once; repeated: {', '.join(repeated)}")
        wanted = _Shape(
            "CATEGORICAL",
            labels=tuple(sorted((v.label, v.score) for v in values)),
            direction=optimization_direction,
        )
    elif type == "CONTINUOUS":
        if labels:
            raise ToolError("labels: only CATEGORICAL configs have labels; drop them or use type='CATEGORICAL'")
        if minimum_score is None or maximum_score is None:
            raise ToolError("minimum_score / maximum_score: a CONTINUOUS config needs both, e.g. 0 and 1")
        if minimum_score >= maximum_score:
            raise ToolError(f"minimum_score: {minimum_score:g} must be below maximum_score {maximum_score:g}")
        wanted = _Shape("CONTINUOUS", minimum=minimum_score, maximum=maximum_score, direction=optimization_direction)
    else:
        given = [
            arg
            for arg, value in (
                ("labels", labels),
                ("minimum_score", minimum_score),
                ("maximum_score", maximum_score),
                ("optimization_direction", optimization_direction),
            )
            if value is not None
        ]
        if given:
            raise ToolError(f"{', '.join(given)}: a FREEFORM config takes none of these; drop them")
        wanted = _Shape("FREEFORM")
    space_ref = await _space_ref(state)

    def reuse_or_refuse(existing: AnnotationConfig) -> AnnotationConfigResult:
        shape = _Shape.of(existing)
        if wanted.matches(shape):
            return _config_result(
                existing,
                space_ref,
                created=False,
                note=f"annotation config '{existing.name}' already existed with this shape; reused it, nothing "
                "was created",
            )
        raise ToolError(
            f"name: annotation config '{existing.name}' (id {existing.id}) already exists in space "
            f"'{space_ref.name}' as {shape.describe()}, not {wanted.describe()} — annotate with it as it is, or "
            "choose another name"
        )

    existing = await _existing_config(state, name, space_ref.id)
    if existing is not None:
        return reuse_or_refuse(existing)
    configs = state.client.annotation_configs
    try:
        if type == "CATEGORICAL":
            created = await configs.create_categorical(
                name,
                [v.model_dump(exclude_none=True) for v in values],
                optimization_direction=optimization_direction,
                space=space_ref.id,
            )
        elif type == "CONTINUOUS":
            assert minimum_score is not None and maximum_score is not None
            created = await configs.create_continuous(
                name,
                minimum_score=minimum_score,
                maximum_score=maximum_score,
                optimization_direction=optimization_direction,
                space=space_ref.id,
            )
        else:
            created = await configs.create_freeform(name, space=space_ref.id)
    except ConflictError:
        # Created by someone else between the look-up and the create: judge it like any existing config.
        existing = await _existing_config(state, name, space_ref.id)
        if existing is None:
            raise
        return reuse_or_refuse(existing)
    return _config_result(created, space_ref, created=True, note=None)


# --- annotate ----------------------------------------------------------------------------------------------------

ANNOTATE_CHUNK = 1000
SESSION_CHUNK = 100
LOOKUP_CHUNK = 50
"""Record IDs looked up per filter query (``id = 'a' OR id = 'b' ...``)."""
LOOKUP_PAGE = 500
UNMATCHED_ID_CHARS = 4000
"""Unmatched record IDs are listed up to about this many characters (with the count of all of them)."""
SPAN_WINDOW = timedelta(days=31)
SESSION_WINDOW = timedelta(days=7)
CLOCK_MARGIN = timedelta(minutes=5)
"""Kept off AX's window limit, so a server clock a little behind AX's does not make the window too long."""


class UnmatchedRecords(BaseModel):
    """Record IDs that matched nothing, for one reason."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(description="Why they matched nothing.")
    count: int = Field(description="How many record IDs matched nothing for this reason.")
    ids: list[str] = Field(description="The first of them (all, unless the list is long).")


class AnnotateResult(ToolResult):
    """What was annotated, and which record IDs matched nothing."""

    target: Literal["spans", "examples", "runs"] = Field(description="What was annotated.")
    project: Ref | None = Field(default=None, description="The project (spans).")
    dataset: Ref | None = Field(default=None, description="The dataset (examples).")
    experiment: Ref | None = Field(default=None, description="The experiment (runs).")
    granularity: str | None = Field(default=None, description="SPAN, TRACE or SESSION (spans).")
    window: TimeWindow | None = Field(default=None, description="The window spans were looked up in (spans).")
    annotation_config: Ref = Field(description="The annotation config written.")
    records: int = Field(description="How many record IDs were given.")
    matched: int = Field(description="How many of them were found and annotated (upserted).")
    unmatched_count: int = Field(description="How many record IDs matched nothing (none of these were written).")
    unmatched: list[UnmatchedRecords] = Field(description="The unmatched IDs, by reason.")
    note: str | None = Field(default=None, description="What happened and what to do next.")

    def summary_line(self) -> tuple[str, str | None]:
        """How many records of what were annotated, and how many IDs matched nothing."""
        owner = self.project or self.dataset or self.experiment
        kind = {"spans": "project", "examples": "dataset", "runs": "experiment"}[self.target]
        line = (
            f"Annotated {self.matched:,} of {self.records:,} {self.target} of {kind} '{owner.name if owner else ''}' "
            f"with '{self.annotation_config.name}'"
        )
        if self.unmatched_count:
            line += f"; {self.unmatched_count:,} IDs matched nothing and were not written (see unmatched)"
        return line + ".", "note"


def _annotation_values(
    records: Mapping[str, str | float], notes: Mapping[str, str] | None, config: AnnotationConfig
) -> dict[str, dict[str, Any]]:
    """``{record ID: values}`` for ``config``: a CATEGORICAL record's value is one of its labels, a CONTINUOUS
    one's a score in its range, a FREEFORM one's its text; a note is the text kept with a label or score.

    Raises:
        ToolError: naming the record whose value does not fit, or a note for no record.
    """
    name = config.name
    allowed = [v.label for v in config.values or []]
    low, high = config.minimum_score, config.maximum_score
    values: dict[str, dict[str, Any]] = {}
    for given_id, given in records.items():
        record_id = given_id.strip()
        at = f"records[{given_id!r}]"
        if not record_id or record_id in values:
            raise ToolError(f"{at}: each record ID must be given once and not be empty")
        if config.type == "CATEGORICAL":
            if not isinstance(given, str):
                raise ToolError(f"{at}: '{name}' is CATEGORICAL; give a label: one of {', '.join(allowed)}")
            if given not in allowed:
                raise ToolError(f"{at}: label {given!r} is not a label of '{name}'; use one of {', '.join(allowed)}")
            values[record_id] = {"label": given}
        elif config.type == "CONTINUOUS":
            if isinstance(given, str):
                raise ToolError(f"{at}: '{name}' is CONTINUOUS; give a score between {low:g} and {high:g}")
            if low is not None and high is not None and not low <= given <= high:
                raise ToolError(f"{at}: score {given:g} is outside '{name}' ({low:g} to {high:g})")
            values[record_id] = {"score": float(given)}
        else:
            if not isinstance(given, str) or not given.strip():
                raise ToolError(f"{at}: '{name}' is FREEFORM; give its text")
            values[record_id] = {"text": given}
    for given_id, note in (notes or {}).items():
        if config.type == "FREEFORM":
            raise ToolError(f"notes: '{name}' is FREEFORM; its text goes in records, drop notes")
        if given_id.strip() not in values:
            raise ToolError(f"notes[{given_id!r}]: no such record in records; a note goes with a record's value")
        values[given_id.strip()]["text"] = note
    return values


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _any_of(column: str, ids: Sequence[str]) -> str:
    return " OR ".join(f"{column} = {_quoted(i)}" for i in ids)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


async def _found(listing: AsyncPaginator[Any], key: Any) -> list[Any]:
    return [key(item) async for item in listing]


async def _spans_found(
    state: AppState,
    project_id: str,
    ids: Sequence[str],
    granularity: str,
    start: datetime,
    end: datetime | None,
) -> dict[str, str]:
    """Which record IDs name spans (or sessions) of the project in the window: ``{id: reason}`` for those that
    do not."""
    unmatched: dict[str, str] = {}
    session = granularity == "SESSION"
    column = "attributes.session.id" if session else "context.span_id"
    for chunk in _chunks(ids, LOOKUP_CHUNK):
        listing = state.client.spans.list(
            project_id,
            start_time=start,
            end_time=end,
            filter=_any_of(column, chunk if session else [i.lower() for i in chunk]),
            included_columns=[column] if session else ["context.span_id"],
            limit=LOOKUP_PAGE,
        )
        spans: list[Span] = [span async for span in listing]
        if session:
            seen = {str(span_value(span_view_of(s), column)) for s in spans} - {str(MISSING)}
            for record_id in chunk:
                if record_id not in seen:
                    unmatched[record_id] = "no span of the project has this session.id in the window"
            continue
        by_id = {s.context.span_id.lower(): s for s in spans}
        for record_id in chunk:
            span = by_id.get(record_id.lower())
            if span is None:
                unmatched[record_id] = "no span of the project has this ID in the window"
            elif granularity == "TRACE" and span.parent_id:
                unmatched[record_id] = "not a root span: TRACE annotations need the trace's root span ID"
    return unmatched


async def _examples_found(state: AppState, dataset_id: str, version_ids: Sequence[str], ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    versions: list[str | None] = [*version_ids] or [None]
    for version in versions:
        missing = [i for i in ids if i not in found]
        if not missing:
            break
        for chunk in _chunks(missing, LOOKUP_CHUNK):
            listing = state.client.datasets.search_examples(
                dataset_id, filter=_any_of("id", chunk), version=version, limit=LOOKUP_PAGE
            )
            found.update(await _found(listing, lambda e: e.id))
    return found


async def _runs_found(state: AppState, experiment_id: str, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ids, LOOKUP_CHUNK):
        listing = state.client.experiments.search_runs(experiment_id, filter=_any_of("id", chunk), limit=LOOKUP_PAGE)
        found.update(await _found(listing, lambda r: r.id))
    return found


def _span_window(
    state: AppState, granularity: str, start_time: str | None
) -> tuple[datetime, datetime | None, TimeWindow]:
    """The look-up and write window of span annotations: AX's longest (31 days, 7 for SESSION) ending now, or
    that long from ``start_time`` (ending now at the latest). ``None`` as the end means now."""
    now = state.clock()
    limit = SESSION_WINDOW if granularity == "SESSION" else SPAN_WINDOW
    if start_time is None:
        return _shown(now - limit + CLOCK_MARGIN, None, now)
    start = parse_time(start_time, "start_time", now=now)
    if start >= now:
        raise ToolError("start_time: it must be in the past; spans can be annotated up to now")
    last = start + limit - CLOCK_MARGIN
    return _shown(start, last if last < now else None, now)


def _shown(start: datetime, end: datetime | None, now: datetime) -> tuple[datetime, datetime | None, TimeWindow]:
    shown = TimeWindow(
        start=start.isoformat().replace("+00:00", "Z"), end=(end or now).isoformat().replace("+00:00", "Z")
    )
    return start, end, shown


def _grouped(unmatched: dict[str, str]) -> list[UnmatchedRecords]:
    """The unmatched IDs by reason, listed up to ``UNMATCHED_ID_CHARS`` in all."""
    groups: dict[str, UnmatchedRecords] = {}
    room = UNMATCHED_ID_CHARS
    for record_id, reason in unmatched.items():
        group = groups.setdefault(reason, UnmatchedRecords(reason=reason, count=0, ids=[]))
        group.count += 1
        if room >= len(record_id) + 3:
            group.ids.append(record_id)
            room -= len(record_id) + 3
    return list(groups.values())


@tool_errors
async def annotate(
    ctx: ToolContext,
    name: Annotated[str, Field(min_length=1, max_length=255, description="The annotation config.")],
    records: Annotated[
        dict[str, str | float],
        Field(
            min_length=1,
            max_length=10_000,
            description="ID → label, score or text.",
        ),
    ],
    notes: Annotated[dict[str, str] | None, Field(min_length=1, max_length=10_000, description="ID → reason.")] = None,
    project: Annotated[str | None, Field(min_length=1, max_length=512, description="Annotate its spans.")] = None,
    dataset: Annotated[
        str | None,
        Field(min_length=1, max_length=512, description="Annotate its examples."),
    ] = None,
    experiment: Annotated[str | None, Field(min_length=1, max_length=512, description="Annotate its runs.")] = None,
    granularity: Annotated[
        Literal["SPAN", "TRACE", "SESSION"],
        Field(description="TRACE: root span IDs; SESSION: session IDs."),
    ] = "SPAN",
    start_time: Annotated[
        str | None,
        Field(min_length=1, max_length=64, description="Default -31d (31-day window)."),
    ] = None,
) -> AnnotateResult:
    """Write human labels on spans, examples or runs; IDs that match nothing are reported."""
    state = app_state(ctx)
    target: Literal["spans", "examples", "runs"]
    if project is not None and dataset is None and experiment is None:
        target, argument, given = "spans", "project", project
    elif experiment is not None and project is None:
        target, argument, given = "runs", "experiment", experiment
    elif dataset is not None and project is None:
        target, argument, given = "examples", "dataset", dataset
    else:
        raise ToolError(
            "project, dataset, experiment: give the project (its spans), the dataset (its examples) or the "
            "experiment (its runs; add dataset= when its name is not unique)"
        )
    if target != "spans" and (start_time is not None or granularity != "SPAN"):
        raise ToolError("start_time / granularity: only spans (project=) take them; drop them")
    space_id = (await state.require_space()).id
    client = state.client
    result: dict[str, Any] = {"target": target}
    window: tuple[datetime, datetime | None] | None = None
    unmatched: dict[str, str]
    if target == "spans":
        found_project = await client.projects.get(given, space=space_id)
        owner_space = found_project.space_id
        result["project"] = Ref(id=found_project.id, name=found_project.name)
        result["granularity"] = granularity
        start, end, shown_window = _span_window(state, granularity, start_time)
        window = (start, end)
        result["window"] = shown_window
    elif target == "examples":
        found_dataset = await client.datasets.get(given, space=space_id)
        owner_space = found_dataset.space_id
        result["dataset"] = Ref(id=found_dataset.id, name=found_dataset.name)
    else:
        found_experiment = await client.experiments.get(given, dataset=dataset, space=space_id)
        owner_space = found_experiment.space_id
        result["experiment"] = Ref(id=found_experiment.id, name=found_experiment.name)

    config = await _existing_config(state, name, owner_space)
    if config is None:
        raise ToolError(
            f"name: no annotation config named {name!r} in the {argument}'s space — create it first with "
            f"create_annotation_config(name={name!r}, type=...), or check the name with find(kind='annotation_config')"
        )
    values = _annotation_values(records, notes, config)
    ids = list(values)

    await ctx.report_progress(0, len(ids), "looking up record IDs")
    if target == "spans":
        assert window is not None
        unmatched = await _spans_found(state, result["project"].id, ids, granularity, window[0], window[1])
    elif target == "examples":
        versions = [v.id for v in found_dataset.versions or []]
        found = await _examples_found(state, found_dataset.id, versions, ids)
        unmatched = {i: "the dataset has no example with this ID" for i in ids if i not in found}
    else:
        found = await _runs_found(state, found_experiment.id, ids)
        unmatched = {i: "the experiment has no run with this ID" for i in ids if i not in found}
    matched = [i for i in ids if i not in unmatched]
    if unmatched and not matched:
        some = "; ".join(f"{i!r} ({reason})" for i, reason in list(unmatched.items())[:20])
        more = f" and {len(unmatched) - 20} more" if len(unmatched) > 20 else ""
        where = f" between {result['window'].start} and {result['window'].end}" if target == "spans" else ""
        raise ToolError(
            f"records: {len(unmatched)} of {len(ids)} record IDs match nothing{where}: {some}{more}; nothing was "
            "written. Check the IDs"
            + (" (search_spans lists span IDs) or move the window with start_time" if target == "spans" else "")
        )

    chunk_size = SESSION_CHUNK if granularity == "SESSION" else ANNOTATE_CHUNK
    done = 0
    for chunk in _chunks(matched, chunk_size):
        bodies = [{"record_id": i, "values": [{"name": config.name, **values[i]}]} for i in chunk]
        if target == "spans":
            assert window is not None
            await client.spans.annotate(
                result["project"].id,
                bodies,
                granularity=granularity,
                start_time=window[0],
                end_time=window[1],
            )
        elif target == "examples":
            await client.datasets.annotate_examples(found_dataset.id, bodies)
        else:
            await client.experiments.annotate_runs(found_experiment.id, bodies)
        done += len(chunk)
        await ctx.report_progress(done, len(matched), f"annotated {done} of {len(matched)} records")

    note = None
    if unmatched:
        note = (
            f"{len(unmatched)} of {len(ids)} record IDs matched nothing and were not written (see unmatched); "
            f"the other {len(matched)} were annotated"
        )
    return AnnotateResult(
        **result,
        annotation_config=Ref(id=config.id, name=config.name),
        records=len(ids),
        matched=len(matched),
        unmatched_count=len(unmatched),
        unmatched=_grouped(unmatched),
        note=note,
    )


def register(server: MCPServer[Any]) -> None:
    """Register the setup tools."""
    register_tool(server, create_ai_integration, title="Create an AI integration", kind="create")
    register_tool(server, create_annotation_config, title="Create an annotation config", kind="ensure")
    register_tool(server, annotate, title="Annotate spans, examples or runs", kind="update")

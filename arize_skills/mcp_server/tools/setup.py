"""Setting up evaluation work: AI integrations, the built-in judge templates, annotation configs, and annotating.

``create_ai_integration`` takes the *name* of an environment variable holding the provider key and reads it in
this process: the key never passes through the conversation, and no result, error or log line carries it.
``create_annotation_config`` returns an identical config that already exists instead of failing. ``annotate``
makes spans, dataset examples and experiment runs behave the same way: it looks every record up first, writes
the ones found and reports the others by ID with the reason (AX silently ignores unknown example and run IDs, and
rejects a whole span batch over one unknown span).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from ...client import AsyncPaginator, Page
from ...errors import ArizeSkillsError, ConflictError, NameNotFoundError
from ...evals.judge import template_variables
from ...evals.mapping import MISSING, span_value, span_view_of
from ...models.ai_integrations import AiIntegrationProvider
from ...models.annotation_configs import AnnotationConfig
from ...models.evaluators import EvaluatorTemplate, OptimizationDirection
from ...models.spans import Span
from ..budget import DEFAULT_BUDGET_CHARS, collect, scope_of
from ..errors import to_tool_error, tool_errors
from ..state import AppState, app_state
from ..types import (
    Cursor,
    EndTime,
    ListResult,
    Ref,
    SpaceArg,
    StartTime,
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
    "JudgeTemplatesResult",
    "annotate",
    "create_ai_integration",
    "create_annotation_config",
    "list_judge_templates",
    "register",
]

# --- create_ai_integration ---------------------------------------------------------------------------------------

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_ENV_REFERENCE = re.compile(r"^\$\{([^}]*)\}$")
_KEY_SHAPES = re.compile(r"^(?:sk|pk|rk|key|xai|gsk|hf|ghp|glpat|AIza)[-_]|^(?=.*[a-z])(?=.*[0-9])(?=.*[A-Z]).{24,}$")
_CREDENTIAL_HEADER = re.compile(r"(?i)auth|key|token|secret|cookie|session|password|signature|credential")


def _env_secret(variable: str, argument: str) -> str:
    """The value of the environment variable named ``variable``, read in this process.

    Raises:
        ToolError: the name is not a variable name (it is never quoted back: it may be a key pasted by mistake),
            or the variable is unset or empty (the message names it).
    """
    name = variable.strip()
    if not _ENV_NAME.match(name) or _KEY_SHAPES.search(name):
        raise ToolError(
            f"{argument}: expected the NAME of an environment variable (letters, digits and underscores, such as "
            "OPENAI_API_KEY), never the key itself; the value given is not shown. Ask the user to export the key "
            "in the environment the MCP server starts with, then pass that variable's name"
        )
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


@tool_errors
async def create_ai_integration(
    ctx: ToolContext,
    name: Annotated[
        str,
        Field(
            min_length=1,
            max_length=255,
            description="The integration's name (unique per account); judges and run_experiment refer to it.",
        ),
    ],
    provider: Annotated[
        AiIntegrationProvider,
        Field(
            description="The LLM provider: OPEN_AI, AZURE_OPEN_AI (needs base_url), ANTHROPIC, AWS_BEDROCK and "
            "VERTEX_AI (need provider_metadata), GEMINI, NVIDIA_NIM, LITELLM, FIREWORKS, TOGETHER_AI, or CUSTOM "
            "(any OpenAI-compatible server: vLLM, Ollama, LM Studio; needs base_url)."
        ),
    ],
    api_key_env: Annotated[
        str | None,
        Field(
            description="The NAME of an environment variable of the MCP server that holds the provider's API key, "
            "e.g. 'OPENAI_API_KEY' — never the key itself. The server reads it; the key never enters the "
            "conversation. Omit for a provider that needs no key (a local server, Bedrock with a role)."
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=2048,
            description="The provider's base URL: an Azure OpenAI endpoint, or an OpenAI-compatible server "
            "('http://localhost:11434/v1'). Omit for the provider's default.",
        ),
    ] = None,
    model_names: Annotated[
        list[str] | None,
        Field(
            min_length=1,
            max_length=100,
            description="The model names judges may use with it, e.g. ['gpt-4o-mini'] (Azure: deployment names).",
        ),
    ] = None,
    headers: Annotated[
        dict[str, str] | None,
        Field(
            description="Extra HTTP headers sent to the provider. A value written '${VAR}' is read from that "
            "environment variable of the server: use this form for any secret. Values are never shown back."
        ),
    ] = None,
    provider_metadata: Annotated[
        dict[str, str] | None,
        Field(
            description="AWS_BEDROCK: {'kind': 'AWS', 'role_arn': ..., 'external_id'?: ...}; VERTEX_AI: "
            "{'kind': 'GCP', 'project_id': ..., 'location': ..., 'project_access_label': ...}. Omit otherwise."
        ),
    ] = None,
    function_calling_enabled: Annotated[
        bool, Field(description="Let judges ask for their label through function calling (tool calls).")
    ] = True,
) -> AiIntegrationResult:
    """Create an AI integration: access to an LLM provider that judges (LLM-as-judge evaluators) and
    run_experiment call. The provider key is given as the NAME of an environment variable of this MCP server
    (api_key_env='OPENAI_API_KEY'), which the server reads itself: never ask the user to paste a key into the
    conversation; if the variable is not set, ask them to set it where the server starts and restart it. The
    result says has_api_key, never the key. Use it once per provider account, before create_judge; find(kind=
    'ai_integration') lists the existing ones (reuse one rather than create a duplicate)."""
    state = app_state(ctx)
    secrets: list[str] = []
    key: str | None = None
    if api_key_env is not None:
        key = _env_secret(api_key_env, "api_key_env")
        secrets.append(key)
    sent_headers: dict[str, str] | None = None
    if headers is not None:
        sent_headers = {}
        for header, value in headers.items():
            if not header.strip():
                raise ToolError("headers: a header name is empty; give each header a name")
            reference = _ENV_REFERENCE.match(value.strip())
            if reference:
                value = _env_secret(reference.group(1), f"headers[{header!r}]")
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


# --- list_judge_templates ----------------------------------------------------------------------------------------


class JudgeTemplateRow(BaseModel):
    """A built-in judge template, in brief."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The template's name: pass it to create_judge(template=...).")
    display_name: str = Field(description="Its display name.")
    labels: list[str] = Field(description="The labels the judge answers with.")
    scores: dict[str, float] = Field(description="The score of each label.")
    variables: list[str] = Field(description="The template variables, each of which needs a mapping to data.")
    direction: OptimizationDirection = Field(description="Whether a higher score is better (MAXIMIZE) or not.")
    granularity: str = Field(description="What it judges: SPAN, TRACE or SESSION.")


class JudgeTemplateDetail(JudgeTemplateRow):
    """A built-in judge template in full."""

    prompt: str = Field(description="The whole prompt, with its {variable} placeholders.")


class JudgeTemplatesResult(ListResult):
    """The built-in judge template catalogue."""

    items: list[JudgeTemplateRow] = Field(description="The templates, in brief.")
    template: JudgeTemplateDetail | None = Field(
        default=None, description="The template asked for by name, in full (with its prompt)."
    )


def _template_row(template: EvaluatorTemplate) -> JudgeTemplateRow:
    return JudgeTemplateRow(
        name=template.column_name,
        display_name=template.display_name,
        labels=list(template.rails),
        scores={label: float(score) for label, score in template.classification_choices.items()},
        variables=template_variables(template.template),
        direction=template.direction,
        granularity=template.data_granularity or "SPAN",
    )


@tool_errors
async def list_judge_templates(
    ctx: ToolContext,
    name: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=255,
            description="A template's name (or display name) to show in full, with its prompt. Omit to list all.",
        ),
    ] = None,
    cursor: Cursor = None,
) -> JudgeTemplatesResult:
    """List the built-in LLM-as-judge templates (hallucination, QA correctness, relevance, toxicity, ...): each
    one's labels and their scores, template variables, optimization direction and granularity. Give name= to
    read one in full, prompt included. Use it before create_judge to start from a tested prompt; the variables
    tell which data each judge needs mapped (check those paths exist with search_spans). Read-only."""
    state = app_state(ctx)
    templates = await state.client.evaluators.list_templates()
    detail: JudgeTemplateDetail | None = None
    if name is not None:
        wanted = name.strip()
        found = next((t for t in templates if t.column_name == wanted), None) or next(
            (t for t in templates if wanted.lower() in (t.column_name.lower(), t.display_name.lower())), None
        )
        if found is None:
            names = ", ".join(t.column_name for t in templates)
            raise ToolError(f"name: no built-in judge template is named {wanted!r}; the templates are: {names}")
        templates = [found]
        detail = JudgeTemplateDetail(**_template_row(found).model_dump(), prompt=found.template)

    async def everything(_: str | None) -> Page[EvaluatorTemplate]:
        return Page(list(templates), False, None)

    collected = await collect(
        everything,
        scope=scope_of("list_judge_templates", name),
        cursor=cursor,
        limit=100,
        row=_template_row,
        budget_chars=DEFAULT_BUDGET_CHARS,
    )
    return JudgeTemplatesResult(
        items=collected.rows, template=detail, has_more=collected.has_more, next_cursor=collected.next_cursor
    )


# --- create_annotation_config ------------------------------------------------------------------------------------


class LabelArg(BaseModel):
    """A categorical label with an optional score."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=255, description="The label, e.g. 'correct'.")
    score: float | None = Field(default=None, description="Its score, e.g. 1 (optional).")


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


async def _space_ref(state: AppState, space: str | None) -> Ref:
    if space is None:
        default = await state.require_space()
        return Ref(id=default.id, name=default.name)
    found = await state.client.spaces.get(await state.client.resolve.space_id(space))
    return Ref(id=found.id, name=found.name)


async def _existing_config(state: AppState, name: str, space_id: str) -> AnnotationConfig | None:
    try:
        return await state.client.annotation_configs.get(name, space=space_id)
    except NameNotFoundError:
        return None


@tool_errors
async def create_annotation_config(
    ctx: ToolContext,
    name: Annotated[
        str, Field(min_length=1, max_length=255, description="The config's name, e.g. 'correctness' (unique in space).")
    ],
    type: Annotated[
        Literal["CATEGORICAL", "CONTINUOUS", "FREEFORM"],
        Field(
            description="CATEGORICAL: one label from a fixed set (give labels); CONTINUOUS: a number between "
            "minimum_score and maximum_score; FREEFORM: free text."
        ),
    ],
    labels: Annotated[
        list[str | LabelArg] | None,
        Field(
            min_length=1,
            max_length=500,
            description="CATEGORICAL only: the labels, as strings (['correct', 'incorrect']) or with scores "
            "([{'label': 'correct', 'score': 1}, {'label': 'incorrect', 'score': 0}]). Prefer two labels.",
        ),
    ] = None,
    minimum_score: Annotated[float | None, Field(description="CONTINUOUS only: the lowest score.")] = None,
    maximum_score: Annotated[float | None, Field(description="CONTINUOUS only: the highest score.")] = None,
    optimization_direction: Annotated[
        OptimizationDirection | None,
        Field(description="CATEGORICAL or CONTINUOUS: MAXIMIZE if a higher score is better, MINIMIZE, or NONE."),
    ] = None,
    space: SpaceArg = None,
) -> AnnotationConfigResult:
    """Create an annotation config: the named label set humans annotate spans, dataset examples and experiment
    runs with (annotate writes the labels). If a config with this name and the same shape already exists it is
    returned with created=false, so calling again is safe; a config of that name with another shape is an error
    that shows it. Use it before annotate, and to hold the human labels align_judge compares a judge with
    (a CATEGORICAL config with the judge's labels)."""
    state = app_state(ctx)
    if type == "CATEGORICAL":
        if not labels:
            raise ToolError("labels: a CATEGORICAL config needs its labels, e.g. ['correct', 'incorrect']")
        if minimum_score is not None or maximum_score is not None:
            raise ToolError("minimum_score / maximum_score: only CONTINUOUS configs have them; drop them")
        values = [LabelArg(label=v) if isinstance(v, str) else v for v in labels]
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
    space_ref = await _space_ref(state, space)

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
SHOWN_IDS = 100
"""At most this many matched and unmatched IDs are listed in a result."""
SPAN_WINDOW = timedelta(days=31)
SESSION_WINDOW = timedelta(days=7)
CLOCK_MARGIN = timedelta(minutes=5)
"""Kept off AX's window limit, so a server clock a little behind AX's does not make the window too long."""


class AnnotationValueArg(BaseModel):
    """One annotation of a record."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255, description="The annotation config's name.")
    label: str | None = Field(default=None, max_length=1000, description="The label (CATEGORICAL configs).")
    score: float | None = Field(default=None, description="The score (CONTINUOUS configs; optional otherwise).")
    text: str | None = Field(default=None, max_length=10_000, description="Free text (FREEFORM configs, or a note).")


class AnnotationRecordArg(BaseModel):
    """The annotations of one record: either name/label/score/text, or values for several configs."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(
        min_length=1,
        max_length=512,
        description="The record: a span ID (target spans; a trace's root span ID with granularity TRACE, a "
        "session.id with SESSION), a dataset example ID (examples) or an experiment run ID (runs).",
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=255,
        description="The annotation config; omit to use the tool's name argument.",
    )
    label: str | None = Field(default=None, max_length=1000, description="The label (CATEGORICAL configs).")
    score: float | None = Field(default=None, description="The score (CONTINUOUS configs; optional otherwise).")
    text: str | None = Field(default=None, max_length=10_000, description="Free text (FREEFORM configs, or a note).")
    values: list[AnnotationValueArg] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Several annotations of this record at once (instead of name/label/score/text).",
    )


class UnmatchedRecord(BaseModel):
    """A record ID that matched nothing, and why."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The record ID given.")
    reason: str = Field(description="Why it matched nothing.")


class AnnotateResult(ToolResult):
    """What was annotated, and which record IDs matched nothing."""

    target: Literal["spans", "examples", "runs"] = Field(description="What was annotated.")
    project: Ref | None = Field(default=None, description="The project (target spans).")
    dataset: Ref | None = Field(default=None, description="The dataset (target examples).")
    experiment: Ref | None = Field(default=None, description="The experiment (target runs).")
    granularity: str | None = Field(default=None, description="SPAN, TRACE or SESSION (target spans).")
    window: TimeWindow | None = Field(default=None, description="The window spans were looked up in (spans).")
    annotation_configs: list[Ref] = Field(description="The annotation configs written.")
    records: int = Field(description="How many distinct record IDs were given.")
    matched: int = Field(description="How many of them were found and annotated.")
    annotations_written: int = Field(description="How many annotation values were written (upserted).")
    matched_ids: list[str] = Field(description=f"The matched record IDs (at most {SHOWN_IDS} listed).")
    unmatched_count: int = Field(description="How many record IDs matched nothing (none of these were written).")
    unmatched: list[UnmatchedRecord] = Field(description=f"The unmatched IDs and why (at most {SHOWN_IDS} listed).")
    note: str | None = Field(default=None, description="What happened and what to do next.")


@dataclass
class _Batch:
    """The records of one call, grouped by ID: ``{record_id: {config name: values}}`` in input order."""

    records: dict[str, dict[str, dict[str, Any]]]
    where: dict[tuple[str, str], int]

    def bodies(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {"record_id": record_id, "values": [{"name": n, **v} for n, v in self.records[record_id].items()]}
            for record_id in ids
        ]


def _batch(records: Sequence[AnnotationRecordArg], default_name: str | None) -> _Batch:
    grouped: dict[str, dict[str, dict[str, Any]]] = {}
    where: dict[tuple[str, str], int] = {}
    for index, record in enumerate(records):
        flat = any(v is not None for v in (record.name, record.label, record.score, record.text))
        if record.values is not None and flat:
            raise ToolError(
                f"records[{index}]: give either values or name/label/score/text, not both (record {record.id!r})"
            )
        entries = record.values or [
            AnnotationValueArg.model_construct(
                name=record.name or default_name or "", label=record.label, score=record.score, text=record.text
            )
        ]
        for entry in entries:
            if not entry.name:
                raise ToolError(
                    f"records[{index}]: no annotation config named; give name in the record or the tool's name argument"
                )
            value = {
                k: v for k, v in (("label", entry.label), ("score", entry.score), ("text", entry.text)) if v is not None
            }
            if not value:
                raise ToolError(f"records[{index}]: give a label, a score or text for annotation '{entry.name}'")
            record_id = record.id.strip()
            if (record_id, entry.name) in where:
                raise ToolError(
                    f"records[{index}]: record {record_id!r} already has an annotation '{entry.name}' "
                    f"(records[{where[(record_id, entry.name)]}]); give each record and config once"
                )
            where[(record_id, entry.name)] = index
            grouped.setdefault(record_id, {})[entry.name] = value
    return _Batch(grouped, where)


def _check_values(batch: _Batch, configs: dict[str, AnnotationConfig]) -> None:
    """Every value fits its config: a CATEGORICAL label is one of its labels, a CONTINUOUS score is in range,
    a FREEFORM annotation has text."""
    for (record_id, name), index in batch.where.items():
        value = batch.records[record_id][name]
        config = configs[name]
        at = f"records[{index}] (record {record_id!r}, annotation '{name}')"
        if config.type == "CATEGORICAL":
            allowed = [v.label for v in config.values or []]
            if "label" not in value:
                raise ToolError(f"{at}: '{name}' is CATEGORICAL; give a label: one of {', '.join(allowed)}")
            if value["label"] not in allowed:
                raise ToolError(
                    f"{at}: label {value['label']!r} is not a label of '{name}'; use one of {', '.join(allowed)}"
                )
        elif config.type == "CONTINUOUS":
            low, high = config.minimum_score, config.maximum_score
            if "score" not in value:
                raise ToolError(f"{at}: '{name}' is CONTINUOUS; give a score between {low:g} and {high:g}")
            if low is not None and high is not None and not low <= value["score"] <= high:
                raise ToolError(f"{at}: score {value['score']:g} is outside '{name}' ({low:g} to {high:g})")
        elif "text" not in value:
            raise ToolError(f"{at}: '{name}' is FREEFORM; give text")


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
    state: AppState, granularity: str, start_time: str | None, end_time: str | None
) -> tuple[datetime, datetime | None, TimeWindow]:
    """The look-up and write window of span annotations: AX's default (the last 31 days, 7 for SESSION, ending
    now), or the one given, checked against AX's limits."""
    now = state.clock()
    limit = SESSION_WINDOW if granularity == "SESSION" else SPAN_WINDOW
    end = parse_time(end_time, "end_time", now=now) if end_time else None
    if end is not None and end > now:
        raise ToolError("end_time: it is in the future; spans can be annotated up to now")
    start = parse_time(start_time, "start_time", now=now) if start_time else (end or now) - limit + CLOCK_MARGIN
    if start >= (end or now):
        raise ToolError("start_time: it must be before end_time (or before now)")
    if (end or now) - start > limit:
        raise ToolError(
            f"start_time: the window may span at most {limit.days} days for granularity {granularity}; annotate "
            "older spans in several calls, each with its own start_time and end_time"
        )
    shown = TimeWindow(
        start=start.isoformat().replace("+00:00", "Z"), end=(end or now).isoformat().replace("+00:00", "Z")
    )
    return start, end, shown


@tool_errors
async def annotate(
    ctx: ToolContext,
    target: Annotated[
        Literal["spans", "examples", "runs"],
        Field(
            description="spans (of a project: give project), examples (of a dataset: give dataset) or runs (of "
            "an experiment: give experiment)."
        ),
    ],
    records: Annotated[
        list[AnnotationRecordArg],
        Field(
            min_length=1,
            max_length=10_000,
            description="The annotations: [{'id': <record ID>, 'label': 'correct'}] with name= set once, or "
            "[{'id': ..., 'name': 'correctness', 'label': 'correct', 'text': 'matches the source'}], or "
            "[{'id': ..., 'values': [{'name': 'correctness', 'label': 'correct'}, {'name': 'notes', 'text': ...}]}].",
        ),
    ],
    name: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=255,
            description="The annotation config for records that name none (create_annotation_config makes one).",
        ),
    ] = None,
    project: Annotated[
        str | None,
        Field(min_length=1, max_length=512, description="target spans: the project, by exact name or ID."),
    ] = None,
    dataset: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=512,
            description="target examples: the dataset, by exact name or ID (target runs: narrows the experiment "
            "name to this dataset).",
        ),
    ] = None,
    experiment: Annotated[
        str | None,
        Field(min_length=1, max_length=512, description="target runs: the experiment, by exact name or ID."),
    ] = None,
    granularity: Annotated[
        Literal["SPAN", "TRACE", "SESSION"],
        Field(
            description="target spans: SPAN (record IDs are span IDs), TRACE (root span IDs; the annotation is "
            "on the trace) or SESSION (record IDs are session.id values; at most 7 days back)."
        ),
    ] = "SPAN",
    start_time: StartTime = None,
    end_time: EndTime = None,
    on_unmatched: Annotated[
        Literal["skip", "fail"],
        Field(
            description="skip: write the records found and report the others; fail: write nothing if any record "
            "ID matches nothing."
        ),
    ] = "skip",
    space: SpaceArg = None,
) -> AnnotateResult:
    """Write human annotations (labels, scores, free text) on spans, dataset examples or experiment runs, by
    record ID, under annotation configs that must already exist (create_annotation_config). Every record ID is
    looked up first: the ones found are written (an upsert: a value given replaces the stored one) and the
    others are reported in unmatched with the reason, the same for every target, so nothing is silently
    dropped; on_unmatched='fail' writes nothing when any is unmatched. Spans are looked up in a window (default:
    the last 31 days, 7 for SESSION). Labels are checked against the config (a CATEGORICAL label must be one of
    its labels). Large batches are written in chunks, with progress. Use it to record human judgments, e.g. the
    labels align_judge compares a judge with."""
    state = app_state(ctx)
    needed = {"spans": ("project", project), "examples": ("dataset", dataset), "runs": ("experiment", experiment)}
    argument, given = needed[target]
    if given is None:
        raise ToolError(f"{argument}: target {target} needs {argument}= (its exact name or ID)")
    if target != "spans" and (start_time is not None or end_time is not None or granularity != "SPAN"):
        raise ToolError("start_time / end_time / granularity: only target spans takes them; drop them")
    batch = _batch(records, name)
    ids = list(batch.records)
    space_id = space if space is not None else (await state.require_space()).id
    client = state.client
    result: dict[str, Any] = {"target": target}
    window: tuple[datetime, datetime | None] | None = None
    unmatched: dict[str, str]
    if target == "spans":
        found_project = await client.projects.get(given, space=space_id)
        owner_space = found_project.space_id
        result["project"] = Ref(id=found_project.id, name=found_project.name)
        result["granularity"] = granularity
        start, end, shown_window = _span_window(state, granularity, start_time, end_time)
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

    configs: dict[str, AnnotationConfig] = {}
    for config_name in dict.fromkeys(n for names in batch.records.values() for n in names):
        config = await _existing_config(state, config_name, owner_space)
        if config is None:
            raise ToolError(
                f"name: no annotation config named {config_name!r} in the {argument}'s space — create it first "
                f"with create_annotation_config(name={config_name!r}, type=...), or check the name with "
                "find(kind='annotation_config')"
            )
        configs[config_name] = config
    _check_values(batch, configs)

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
    listed = [UnmatchedRecord(id=i, reason=r) for i, r in list(unmatched.items())[:SHOWN_IDS]]
    if unmatched and (on_unmatched == "fail" or not matched):
        some = "; ".join(f"{u.id!r} ({u.reason})" for u in listed[:20])
        more = f" and {len(unmatched) - 20} more" if len(unmatched) > 20 else ""
        where = f" between {result['window'].start} and {result['window'].end}" if target == "spans" else ""
        raise ToolError(
            f"records: {len(unmatched)} of {len(ids)} record IDs match nothing{where}: {some}{more}; nothing was "
            "written. Check the IDs"
            + (" (search_spans lists span IDs) or widen the window with start_time" if target == "spans" else "")
            + (", or pass on_unmatched='skip' to write the others" if matched else "")
        )

    chunk_size = SESSION_CHUNK if granularity == "SESSION" else ANNOTATE_CHUNK
    written = 0
    done = 0
    for chunk in _chunks(matched, chunk_size):
        bodies = batch.bodies(chunk)
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
        written += sum(len(body["values"]) for body in bodies)
        await ctx.report_progress(done, len(matched), f"annotated {done} of {len(matched)} records")

    note = None
    if unmatched:
        note = (
            f"{len(unmatched)} of {len(ids)} record IDs matched nothing and were not written (see unmatched); "
            f"the other {len(matched)} were annotated"
        )
    return AnnotateResult(
        **result,
        annotation_configs=[Ref(id=c.id, name=c.name) for c in configs.values()],
        records=len(ids),
        matched=len(matched),
        annotations_written=written,
        matched_ids=matched[:SHOWN_IDS],
        unmatched_count=len(unmatched),
        unmatched=listed,
        note=note,
    )


def register(server: MCPServer[Any]) -> None:
    """Register the setup tools."""
    register_tool(server, create_ai_integration, title="Create an AI integration", kind="create")
    register_tool(server, list_judge_templates, title="List built-in judge templates", kind="read")
    register_tool(server, create_annotation_config, title="Create an annotation config", kind="ensure")
    register_tool(server, annotate, title="Annotate spans, examples or runs", kind="update")

"""Setting up evaluation work: AI integrations and annotation configs.

``create_ai_integration`` takes the *name* of an environment variable holding the provider key and reads it in
this process: the key never passes through the conversation, and no result, error or log line carries it. Over
the HTTP transport only key-like variables (``*_KEY``, ``*_API_KEY``, ``*_TOKEN``, or those the server was started
with ``--allow-env``) may be sent (``sendable_env``, the one rule, which ``preview_judge`` keeps too): a caller must
not turn a database password into a bearer token sent to a URL of its choosing. On stdio any variable may be sent.
``create_annotation_config`` returns an identical config that already exists instead of failing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from ...errors import ArizeSkillsError, ConflictError, NameNotFoundError
from ...foundation.redact import is_credential_header
from ...foundation.repeats import repeated
from ...models.ai_integrations import AiIntegrationProvider
from ...models.annotation_configs import AnnotationConfig
from ...models.evaluators import OptimizationDirection
from ..errors import to_tool_error, tool_errors
from ..state import AppState, app_state
from ..types import (
    Ref,
    ToolContext,
    ToolResult,
)
from . import register_tool

__all__ = [
    "AiIntegrationResult",
    "AnnotationConfigResult",
    "create_ai_integration",
    "create_annotation_config",
    "existing_config",
    "register",
    "sendable_env",
]

# --- create_ai_integration ---------------------------------------------------------------------------------------

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_ENV_REFERENCE = re.compile(r"^\$\{([^}]*)\}$")
_KEY_SHAPES = re.compile(r"^(?:sk|pk|rk|key|xai|gsk|hf|ghp|glpat|AIza)[-_]|^(?=.*[a-z])(?=.*[0-9])(?=.*[A-Z]).{24,}$")
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
            if reference or is_credential_header(header):
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


async def existing_config(state: AppState, name: str, space_id: str) -> AnnotationConfig | None:
    """The annotation config named ``name`` in the space, or ``None``."""
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
        if twice := repeated(names):
            raise ToolError(f"labels: each label must appear once; repeated: {', '.join(twice)}")
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

    existing = await existing_config(state, name, space_ref.id)
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
        existing = await existing_config(state, name, space_ref.id)
        if existing is None:
            raise
        return reuse_or_refuse(existing)
    return _config_result(created, space_ref, created=True, note=None)


def register(server: MCPServer[Any]) -> None:
    """Register the setup tools."""
    register_tool(server, create_ai_integration, title="Create an AI integration", kind="create")
    register_tool(server, create_annotation_config, title="Create an annotation config", kind="ensure")

"""Prompts (``/v2/prompts``), their versions (``/v2/prompt-versions``) and labels.

A prompt is a named, versioned LLM call: each version holds the messages (a template whose variables follow
``input_variable_format``), the provider, optionally a model and the invocation and provider parameters, and a
commit message. Versions are immutable. A label (``production``, ``staging``, …) names one version of its prompt
at a time; setting it on another version moves it. The prompt's name is fixed at creation; only its description
can change.

The message and parameter request forms are the ones AX uses wherever a model is called (``LlmMessage`` of
run-experiment configurations, ``InvocationParamsRequest`` and ``ProviderParamsRequest`` of evaluators).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from ..foundation.repeats import repeated
from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp
from .evaluators import InvocationParamsRequest, ProviderParamsRequest
from .tasks import LlmMessage

__all__ = [
    "DEFAULT_INPUT_VARIABLE_FORMAT",
    "CreatePromptRequest",
    "CreatePromptVersionRequest",
    "InputVariableFormat",
    "InvocationParams",
    "LlmProvider",
    "MessageRole",
    "Prompt",
    "PromptList",
    "PromptMessage",
    "PromptVersion",
    "PromptVersionCreateRequest",
    "PromptVersionList",
    "PromptWithVersion",
    "ProviderParams",
    "SetPromptVersionLabelsRequest",
    "UpdatePromptRequest",
]

InputVariableFormat = Literal["F_STRING", "MUSTACHE", "NONE"]
"""``F_STRING``: ``{var}``; ``MUSTACHE``: ``{{var}}``; ``NONE``: deprecated, treated as ``F_STRING``."""

DEFAULT_INPUT_VARIABLE_FORMAT: InputVariableFormat = "F_STRING"

LlmProvider = Literal["OPEN_AI", "AZURE_OPEN_AI", "AWS_BEDROCK", "VERTEX_AI", "ANTHROPIC", "CUSTOM"]
MessageRole = Literal["USER", "ASSISTANT", "SYSTEM", "TOOL"]
Number = int | float


class CreatePromptVersionRequest(RequestModel):
    """``POST /v2/prompts/{id}/versions`` (and the ``version`` of a create): a new, immutable version.

    ``input_variable_format`` defaults to ``F_STRING``; without ``model`` the version names no model.
    """

    commit_message: str = Field(min_length=1, max_length=1000)
    input_variable_format: InputVariableFormat | None = None
    provider: LlmProvider
    model: str | None = Field(default=None, min_length=1)
    messages: list[LlmMessage] = Field(min_length=1)
    invocation_params: InvocationParamsRequest | None = None
    provider_params: ProviderParamsRequest | None = None


PromptVersionCreateRequest = CreatePromptVersionRequest
"""The initial version of ``CreatePromptRequest`` (AX names it apart; the fields are the same)."""


class CreatePromptRequest(RequestModel):
    """``POST /v2/prompts``: a prompt (name unique in its space) with its first version."""

    space_id: str = Field(min_length=1)
    name: Name
    description: str | None = None
    version: CreatePromptVersionRequest


class UpdatePromptRequest(RequestModel):
    """``PATCH /v2/prompts/{id}``: a new description (``null`` clears it). The name cannot change."""

    description: str | None = None


LabelName = Name
"""A label's name: 1–255 printable characters, compared case-sensitively."""


class SetPromptVersionLabelsRequest(RequestModel):
    """``PUT /v2/prompt-versions/{id}/labels``: every label the version should carry (``[]`` removes all).

    A label that names another version of the prompt moves to this one.
    """

    labels: list[LabelName]

    @field_validator("labels")
    @classmethod
    def _each_once(cls, value: list[str]) -> list[str]:
        again = repeated(value)
        if again:
            raise ValueError(f"each label may be given once; repeated: {', '.join(again)}")
        return value


# --- responses --------------------------------------------------------------------------------------------


class PromptMessage(ResponseModel):
    """One message of a stored version."""

    role: MessageRole | None = None
    content: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class InvocationParams(ResponseModel):
    """A version's invocation parameters as stored (only the ones that were given)."""

    temperature: Number | None = None
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    top_p: Number | None = None
    frequency_penalty: Number | None = None
    presence_penalty: Number | None = None
    stop: list[str] | None = None
    response_format: dict[str, Any] | None = None
    tool_config: dict[str, Any] | None = None
    top_k: int | None = None
    thinking_level: str | None = None
    thinking_budget: int | None = None
    reasoning_effort: str | None = None
    verbosity: str | None = None
    service_tier: str | None = None


class ProviderParams(ResponseModel):
    """A version's provider-specific parameters as stored."""

    azure_params: dict[str, Any] | None = None
    anthropic_headers: dict[str, Any] | None = None
    anthropic_version: str | None = None
    bedrock_options: dict[str, Any] | None = None
    region: str | None = None


_ABSENT_WHEN_UNSET = ("model", "invocation_params", "provider_params")


class PromptVersion(ResponseModel):
    """One version of a prompt, with the labels that currently name it."""

    id: str
    prompt_id: str
    commit_hash: str | None = None
    commit_message: str | None = None
    messages: list[PromptMessage] = Field(default_factory=list)
    input_variable_format: InputVariableFormat | None = None
    provider: LlmProvider | None = None
    model: str | None = None
    invocation_params: InvocationParams | None = None
    provider_params: ProviderParams | None = None
    created_at: Timestamp
    created_by_user_id: str | None = None
    labels: list[str] = Field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        """The JSON shape AX sends: ``model`` and the parameter objects are absent when the version set none,
        a parameter object holds only the parameters that were given, and a message only its given fields."""
        data = self.model_dump(mode="json", by_alias=True)
        data["messages"] = [
            message.model_dump(mode="json", by_alias=True, exclude_none=True) for message in self.messages
        ]
        for key in _ABSENT_WHEN_UNSET:
            if data.get(key) is None:
                data.pop(key, None)
        for key in ("invocation_params", "provider_params"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return data


class Prompt(ResponseModel):
    """A prompt without a version (the shape ``PATCH`` and list return)."""

    id: str
    name: str
    description: str | None = None
    space_id: str
    created_at: Timestamp
    updated_at: Timestamp
    created_by_user_id: str | None = None


class PromptWithVersion(Prompt):
    """A prompt with one resolved version: the first on create; latest, by ID or by label on get."""

    version: PromptVersion | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON shape AX sends (see ``PromptVersion.to_wire``)."""
        data = self.model_dump(mode="json", by_alias=True)
        data["version"] = self.version.to_wire() if self.version is not None else None
        return data


class PromptList(ResponseModel):
    """``GET /v2/prompts``: most recently updated first."""

    prompts: list[Prompt]
    pagination: Pagination


class PromptVersionList(ResponseModel):
    """``GET /v2/prompts/{id}/versions``: most recently created first."""

    prompt_versions: list[PromptVersion]
    pagination: Pagination

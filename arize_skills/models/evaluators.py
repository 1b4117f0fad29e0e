"""Evaluators (``/v2/evaluators``), their versions, and the built-in judge templates (``/v2/evaluator-templates``).

An evaluator is a named, versioned piece of evaluation logic: an LLM-as-judge template (``TEMPLATE``), a managed
or custom code evaluator (``CODE``) or a remote one (``REMOTE``). Each version carries exactly one configuration
whose kind matches the evaluator's ``type``.

The LLM parameter models (``InvocationParamsRequest``, ``ProviderParamsRequest``) are the request forms AX uses
wherever a model is called (evaluator ``llm_config`` and run-experiment run configurations alike).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from ..foundation.repeats import repeated
from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp

__all__ = [
    "EVAL_NAME_PATTERN",
    "AnthropicHeadersRequest",
    "AzureParamsRequest",
    "BedrockOptionsRequest",
    "CodeConfig",
    "CodeConfigRequest",
    "CreateEvaluatorRequest",
    "CreateEvaluatorVersionRequest",
    "CustomCodeConfigRequest",
    "DataGranularity",
    "DeleteEvaluatorVersionsRequest",
    "DeleteEvaluatorVersionsResponse",
    "Evaluator",
    "EvaluatorList",
    "EvaluatorLlmConfig",
    "EvaluatorLlmConfigRequest",
    "EvaluatorTemplate",
    "EvaluatorTemplateList",
    "EvaluatorType",
    "EvaluatorVersion",
    "EvaluatorVersionList",
    "EvaluatorWithVersion",
    "InvocationParamsRequest",
    "JsonSchemaConfigRequest",
    "ManagedCodeConfigRequest",
    "ManagedEvaluatorName",
    "OptimizationDirection",
    "ProviderParamsRequest",
    "RemoteConfig",
    "RemoteConfigInput",
    "ResponseFormatRequest",
    "StaticParam",
    "StaticParamRequest",
    "StaticParamType",
    "TemplateConfig",
    "TemplateConfigInput",
    "ToolConfigRequest",
    "UpdateEvaluatorRequest",
    "check_eval_name",
]

EvaluatorType = Literal["TEMPLATE", "CODE", "HARNESS", "REMOTE"]
OptimizationDirection = Literal["MAXIMIZE", "MINIMIZE", "NONE"]
DataGranularity = Literal["SPAN", "TRACE", "SESSION"]
ManagedEvaluatorName = Literal[
    "EXACT_MATCH", "MATCHES_REGEX", "JSON_PARSEABLE", "CONTAINS_ANY_KEYWORD", "CONTAINS_ALL_KEYWORDS"
]
StaticParamType = Literal["STRING", "STRING_ARRAY", "REGEX"]

EVAL_NAME_PATTERN = r"^[a-zA-Z0-9_\s\-&()]+$"
"""The eval column name rule: letters, digits, whitespace, ``_``, ``-``, ``&``, ``(`` and ``)``."""

_EVAL_NAME = re.compile(EVAL_NAME_PATTERN)


def check_eval_name(value: str) -> str:
    """Return ``value`` if it is a valid eval column name, else raise ``ValueError`` saying what is allowed."""
    if not _EVAL_NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid eval column name: use only letters, digits, spaces, '_', '-', '&', '(' and ')'"
        )
    return value


# --- LLM parameters (request form) -------------------------------------------------------------------------


class JsonSchemaConfigRequest(RequestModel):
    """The JSON schema of a ``JSON_SCHEMA`` response format."""

    name: str | None = None
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    strict: bool = False


class ResponseFormatRequest(RequestModel):
    """How the model must shape its output (default ``TEXT``)."""

    type: Literal["TEXT", "JSON_OBJECT", "JSON_SCHEMA"] | None = None
    json_schema: JsonSchemaConfigRequest | None = None


class ToolConfigRequest(RequestModel):
    """Tools offered to the model and how it may choose among them."""

    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None


class InvocationParamsRequest(RequestModel):
    """Model invocation parameters, request form. The response-only ``service_tier`` is rejected as unknown."""

    temperature: float | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    stop: list[str] | None = None
    response_format: ResponseFormatRequest | None = None
    tool_config: ToolConfigRequest | None = None
    top_k: int | None = Field(default=None, ge=1)
    thinking_level: Literal["low", "high"] | None = None
    thinking_budget: int | None = Field(default=None, ge=0)
    reasoning_effort: Literal["none", "low", "medium", "high", "xhigh"] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class AzureParamsRequest(RequestModel):
    """Azure OpenAI deployment parameters."""

    azure_deployment_name: str | None = None
    azure_openai_endpoint: str | None = None
    azure_openai_version: str | None = None


class AnthropicHeadersRequest(RequestModel):
    """Anthropic beta feature flags."""

    anthropic_beta: list[str] | None = None


class BedrockOptionsRequest(RequestModel):
    """AWS Bedrock options."""

    use_converse_endpoint: bool = False


class ProviderParamsRequest(RequestModel):
    """Provider-specific parameters, request form (send ``{}`` when there are none)."""

    azure_params: AzureParamsRequest | None = None
    anthropic_headers: AnthropicHeadersRequest | None = None
    anthropic_version: str | None = None
    bedrock_options: BedrockOptionsRequest | None = None
    region: str | None = None


class EvaluatorLlmConfigRequest(RequestModel):
    """The judge model: an AI integration, a model name, and both parameter objects (each may be ``{}``)."""

    ai_integration_id: str = Field(min_length=1)
    model_name: str = Field(min_length=1)
    invocation_parameters: InvocationParamsRequest
    provider_parameters: ProviderParamsRequest


# --- version configurations (request form) -----------------------------------------------------------------


class TemplateConfigInput(RequestModel):
    """An LLM-as-judge configuration.

    ``template`` uses single-brace ``{var}`` placeholders bound by a task's ``column_mappings``; do not ask for an
    explanation in it (``include_explanations`` adds that at run time). ``classification_choices`` maps each
    label named in the prompt to its score; omit it for freeform output. The server fills ``direction``
    (``MAXIMIZE``) and ``data_granularity`` (``SPAN``) when they are omitted.
    """

    name: Name
    template: str = Field(min_length=1)
    include_explanations: bool
    use_function_calling: bool
    use_structured_output: bool = True
    classification_choices: dict[str, int | float] | None = None
    direction: OptimizationDirection | None = None
    data_granularity: DataGranularity | None = None
    llm_config: EvaluatorLlmConfigRequest

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_eval_name(value)

    @field_validator("classification_choices")
    @classmethod
    def _choices(cls, value: dict[str, int | float] | None) -> dict[str, int | float] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must name at least one label, or be omitted for freeform output")
        for label in value:
            if not label.strip():
                raise ValueError("labels must not be empty")
        return value


class StaticParamRequest(RequestModel):
    """A static argument of a code evaluator: a string for ``STRING``/``REGEX``, a list of strings for
    ``STRING_ARRAY``. A ``REGEX`` value must compile."""

    name: str = Field(min_length=1)
    type: StaticParamType
    default_value: str | list[str]

    @model_validator(mode="after")
    def _value_matches_type(self) -> StaticParamRequest:
        if self.type == "STRING_ARRAY":
            if not isinstance(self.default_value, list):
                raise ValueError(f"static param '{self.name}' is STRING_ARRAY, so default_value must be a list")
        elif not isinstance(self.default_value, str):
            raise ValueError(f"static param '{self.name}' is {self.type}, so default_value must be a string")
        if self.type == "REGEX":
            try:
                re.compile(str(self.default_value))
            except re.error as exc:
                raise ValueError(f"static param '{self.name}' is not a valid regular expression: {exc}") from None
        return self


class _CodeConfigBase(RequestModel):
    name: Name
    variables: list[str]
    static_params: list[StaticParamRequest] | None = None
    query_filter: str | None = None
    data_granularity: DataGranularity | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_eval_name(value)

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.strip():
                raise ValueError("variable names must not be empty")
        return value

    @field_validator("static_params")
    @classmethod
    def _unique_params(cls, value: list[StaticParamRequest] | None) -> list[StaticParamRequest] | None:
        names = [p.name for p in value or []]
        if twice := repeated(names):
            raise ValueError(f"static param names must be unique; repeated: {', '.join(twice)}")
        return value


class ManagedCodeConfigRequest(_CodeConfigBase):
    """A built-in code evaluator. ``variables`` and ``static_params`` must fit the evaluator's registry entry
    (``arize_skills.evals.code_evaluators``)."""

    type: Literal["MANAGED"]
    managed_evaluator: ManagedEvaluatorName


class CustomCodeConfigRequest(_CodeConfigBase):
    """User-supplied Python: ``code`` defines the evaluator class, ``imports`` is prepended at run time."""

    type: Literal["CUSTOM"]
    code: str = Field(min_length=1)
    imports: str | None = None


CodeConfigRequest = Annotated[ManagedCodeConfigRequest | CustomCodeConfigRequest, Field(discriminator="type")]
"""A code evaluator configuration, discriminated by its inner ``type`` (``MANAGED`` | ``CUSTOM``)."""


class RemoteConfigInput(RequestModel):
    """A remote evaluator: an ``EVALUATOR`` integration from ``/v2/integrations``."""

    integration_id: str = Field(min_length=1)


class CreateEvaluatorVersionRequest(RequestModel):
    """A new version: a commit message and exactly one configuration, whose kind matches the evaluator's type."""

    commit_message: str = Field(min_length=1, max_length=1000)
    template_config: TemplateConfigInput | None = None
    code_config: CodeConfigRequest | None = None
    remote_config: RemoteConfigInput | None = None

    @model_validator(mode="after")
    def _exactly_one_config(self) -> CreateEvaluatorVersionRequest:
        given = [k for k in ("template_config", "code_config", "remote_config") if getattr(self, k) is not None]
        if len(given) != 1:
            found = f"got {', '.join(given)}" if given else "got none"
            raise ValueError(f"needs exactly one of template_config, code_config or remote_config ({found})")
        return self

    @property
    def config_type(self) -> Literal["TEMPLATE", "CODE", "REMOTE"]:
        """The evaluator type this version's configuration belongs to."""
        if self.template_config is not None:
            return "TEMPLATE"
        if self.code_config is not None:
            return "CODE"
        return "REMOTE"


class CreateEvaluatorRequest(RequestModel):
    """``POST /v2/evaluators``: an evaluator with its first version. ``HARNESS`` evaluators cannot be created."""

    space_id: str = Field(min_length=1)
    name: Name
    description: str | None = None
    type: EvaluatorType
    version: CreateEvaluatorVersionRequest

    @field_validator("type")
    @classmethod
    def _creatable(cls, value: str) -> str:
        if value == "HARNESS":
            raise ValueError("HARNESS evaluators are read-only; create a TEMPLATE, CODE or REMOTE evaluator")
        return value


class UpdateEvaluatorRequest(RequestModel):
    """``PATCH /v2/evaluators/{id}``: a new name and/or description (``null`` clears the description)."""

    name: Name | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateEvaluatorRequest:
        if not self.model_fields_set:
            raise ValueError("give at least one of name or description")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null; omit it to keep the current name")
        return self


class DeleteEvaluatorVersionsRequest(RequestModel):
    """``DELETE /v2/evaluators/{id}/versions``: 1–100 version IDs (duplicates are collapsed)."""

    version_ids: list[str] = Field(min_length=1, max_length=100)


# --- responses --------------------------------------------------------------------------------------------


class EvaluatorLlmConfig(ResponseModel):
    """The judge model of a template version."""

    ai_integration_id: str | None = None
    model_name: str | None = None
    invocation_parameters: dict[str, Any] | None = None
    provider_parameters: dict[str, Any] | None = None


class TemplateConfig(ResponseModel):
    """A stored LLM-as-judge configuration."""

    name: str | None = None
    template: str | None = None
    include_explanations: bool | None = None
    use_function_calling: bool | None = None
    use_structured_output: bool | None = True
    classification_choices: dict[str, int | float] | None = None
    direction: OptimizationDirection | None = None
    data_granularity: DataGranularity | None = None
    llm_config: EvaluatorLlmConfig | None = None


class StaticParam(ResponseModel):
    """A stored static argument of a code evaluator."""

    name: str | None = None
    type: StaticParamType | None = None
    default_value: str | list[str] | None = None


class CodeConfig(ResponseModel):
    """A stored code evaluator configuration (``type`` ``MANAGED`` or ``CUSTOM``)."""

    type: Literal["MANAGED", "CUSTOM"] | None = None
    name: str | None = None
    managed_evaluator: ManagedEvaluatorName | None = None
    code: str | None = None
    imports: str | None = None
    variables: list[str] | None = None
    static_params: list[StaticParam] | None = None
    query_filter: str | None = None
    data_granularity: DataGranularity | None = None


class RemoteConfig(ResponseModel):
    """A stored remote evaluator configuration."""

    integration_id: str | None = None


class EvaluatorVersion(ResponseModel):
    """One version of an evaluator; exactly one of the configurations is present, matching ``type``."""

    id: str
    evaluator_id: str
    commit_hash: str | None = None
    commit_message: str | None = None
    created_at: Timestamp
    created_by_user_id: str | None = None
    type: EvaluatorType
    template_config: TemplateConfig | None = None
    code_config: CodeConfig | None = None
    remote_config: RemoteConfig | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON shape AX sends: the common fields plus only the configuration of this version's type."""
        data = self.model_dump(mode="json", by_alias=True)
        keep = {"TEMPLATE": "template_config", "CODE": "code_config", "REMOTE": "remote_config"}.get(self.type)
        for key in ("template_config", "code_config", "remote_config"):
            if key != keep:
                data.pop(key, None)
        code = data.get("code_config")
        if code is not None:
            # A managed config has no code; a custom one names no managed evaluator.
            for key in ("code", "imports") if code.get("type") == "MANAGED" else ("managed_evaluator",):
                code.pop(key, None)
        return data


class Evaluator(ResponseModel):
    """An evaluator without its version (the shape ``PATCH`` and list return)."""

    id: str
    name: str
    description: str | None = None
    type: EvaluatorType
    space_id: str
    created_at: Timestamp
    updated_at: Timestamp
    created_by_user_id: str | None = None


class EvaluatorWithVersion(Evaluator):
    """An evaluator with one version (the latest unless a ``version_id`` was asked for)."""

    version: EvaluatorVersion | None = None

    def to_wire(self) -> dict[str, Any]:
        """The JSON shape AX sends (see ``EvaluatorVersion.to_wire``)."""
        data = self.model_dump(mode="json", by_alias=True)
        data["version"] = self.version.to_wire() if self.version is not None else None
        return data


class EvaluatorList(ResponseModel):
    """``GET /v2/evaluators``."""

    evaluators: list[Evaluator]
    pagination: Pagination


class EvaluatorVersionList(ResponseModel):
    """``GET /v2/evaluators/{id}/versions``."""

    evaluator_versions: list[EvaluatorVersion]
    pagination: Pagination


class DeleteEvaluatorVersionsResponse(ResponseModel):
    """Each requested ID lands in exactly one of the two lists; ``completed`` is always true."""

    completed: bool = True
    deleted_version_ids: list[str] = Field(default_factory=list)
    not_deleted_version_ids: list[str] = Field(default_factory=list)


class EvaluatorTemplate(ResponseModel):
    """A built-in LLM-as-judge template: map it onto ``POST /v2/evaluators`` to create an evaluator.

    ``column_name`` → ``template_config.name``; ``template``, ``classification_choices``, ``direction`` and
    ``data_granularity`` pass through unchanged; ``rails`` lists the same labels as ``classification_choices``.
    """

    column_name: str
    display_name: str
    template: str
    rails: list[str]
    classification_choices: dict[str, int | float]
    direction: OptimizationDirection
    data_granularity: DataGranularity | None = None


class EvaluatorTemplateList(ResponseModel):
    """``GET /v2/evaluator-templates`` (not paginated)."""

    evaluator_templates: list[EvaluatorTemplate]

"""Spaces (``/v2/spaces``)."""

from __future__ import annotations

from pydantic import Field

from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp

__all__ = [
    "CreateSpaceRequest",
    "DefaultAgentRuntimeInput",
    "DefaultLlmIntegration",
    "DefaultLlmIntegrationInput",
    "Space",
    "SpaceList",
    "UpdateSpaceRequest",
]


class DefaultLlmIntegration(ResponseModel):
    """The space's default LLM integration and model."""

    integration_id: str
    model_name: str | None = None


class Space(ResponseModel):
    """A space: the unit that owns projects, datasets, evaluators and tasks."""

    id: str
    organization_id: str
    name: str
    description: str | None = None
    created_at: Timestamp
    is_private: bool = False
    default_llm_integration: DefaultLlmIntegration | None = None
    ml_models_enabled: bool = False
    gradient_start_color: str | None = None
    gradient_end_color: str | None = None
    default_agent_runtime: dict[str, str] | None = None


class SpaceList(ResponseModel):
    """``GET /v2/spaces``."""

    spaces: list[Space]
    pagination: Pagination


class CreateSpaceRequest(RequestModel):
    """``POST /v2/spaces``."""

    name: Name
    organization_id: str
    description: str | None = Field(default=None, max_length=1000)
    is_private: bool = False


class DefaultLlmIntegrationInput(RequestModel):
    """A space's default LLM integration and model, as set by ``PATCH /v2/spaces/{id}``."""

    integration_id: str = Field(min_length=1)
    model_name: str = Field(min_length=1)


class DefaultAgentRuntimeInput(RequestModel):
    """A space's default agent-runtime integration, as set by ``PATCH /v2/spaces/{id}``."""

    integration_id: str = Field(min_length=1)


class UpdateSpaceRequest(RequestModel):
    """``PATCH /v2/spaces/{id}``; at least one field. ``null`` clears description and the two defaults."""

    name: Name | None = None
    description: str | None = Field(default=None, min_length=1, max_length=1000)
    is_private: bool | None = None
    default_llm_integration: DefaultLlmIntegrationInput | None = None
    ml_models_enabled: bool | None = None
    gradient_start_color: str | None = None
    gradient_end_color: str | None = None
    default_agent_runtime: DefaultAgentRuntimeInput | None = None

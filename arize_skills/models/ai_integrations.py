"""AI integrations (``/v2/ai-integrations``): access to an LLM provider, used by judges and run-experiment tasks.

The API key is write-only. Request models hold it as a ``SecretStr`` (so no ``repr``, ``str`` or log of a model
shows it) and reveal it only in ``to_body()``; responses carry ``has_api_key`` instead, and show the values of
credential-like headers as ``HEADER_MASK``.

One exception, on the local engine only: ``GET /v2/ai-integrations/{id}/credentials`` answers the key and the
unmasked headers (``AiIntegrationCredentials``) to an in-process caller that presents the engine's in-memory
secret in ``ENGINE_SECRET_HEADER``; to anyone else it is an unknown route (404). Arize AX has no such route.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp

__all__ = [
    "ENGINE_SECRET_HEADER",
    "HEADER_MASK",
    "MAX_HEADERS_BYTES",
    "AiIntegration",
    "AiIntegrationAuthType",
    "AiIntegrationCredentials",
    "AiIntegrationList",
    "AiIntegrationProvider",
    "AiIntegrationScoping",
    "AiIntegrationScopingRequest",
    "AwsProviderMetadataRequest",
    "CreateAiIntegrationRequest",
    "GcpProviderMetadataRequest",
    "ProviderMetadataRequest",
    "UpdateAiIntegrationRequest",
]

AiIntegrationProvider = Literal[
    "OPEN_AI",
    "AZURE_OPEN_AI",
    "AWS_BEDROCK",
    "VERTEX_AI",
    "ANTHROPIC",
    "CUSTOM",
    "NVIDIA_NIM",
    "GEMINI",
    "LITELLM",
    "FIREWORKS",
    "TOGETHER_AI",
]
AiIntegrationAuthType = Literal["DEFAULT", "PROXY_WITH_HEADERS", "BEARER_TOKEN", "OAUTH2_CLIENT_CREDENTIALS"]

MAX_HEADERS_BYTES = 8175
"""AX's limit on the serialized ``headers`` map."""

HEADER_MASK = "********"
"""What a response shows instead of a credential-like header's value; sent back in a PATCH, it keeps the value."""

ENGINE_SECRET_HEADER = "x-arize-skills-engine-secret"
"""The request header carrying the local engine's in-process secret (``Engine.credentials_secret``)."""


class AwsProviderMetadataRequest(RequestModel):
    """AWS Bedrock: the IAM role to assume (and its external ID)."""

    kind: Literal["AWS"]
    role_arn: str = Field(min_length=1)
    external_id: str | None = None


class GcpProviderMetadataRequest(RequestModel):
    """Vertex AI: the GCP project, region and a display label."""

    kind: Literal["GCP"]
    project_id: str = Field(min_length=1)
    location: str = Field(min_length=1)
    project_access_label: str = Field(min_length=1)


ProviderMetadataRequest = Annotated[
    AwsProviderMetadataRequest | GcpProviderMetadataRequest, Field(discriminator="kind")
]
"""Provider metadata, discriminated by ``kind`` (``AWS`` for Bedrock, ``GCP`` for Vertex AI)."""


class AiIntegrationScopingRequest(RequestModel):
    """Who may use the integration: a space, an organization, or (both null) the whole account."""

    organization_id: str | None = None
    space_id: str | None = None


def _check_headers(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > MAX_HEADERS_BYTES:
        raise ValueError(f"the serialized header map is {size} bytes; it must be at most {MAX_HEADERS_BYTES}")
    for name in value:
        if not name.strip():
            raise ValueError("header names must not be empty")
    return value


class _SecretBody(RequestModel):
    # A failed model-level check would otherwise quote the raw input, key included, in the error text.
    model_config = ConfigDict(hide_input_in_errors=True)

    api_key: SecretStr | None = None

    # Each subclass declares ``headers`` in its own field order; the check is the same for both.
    @field_validator("headers", check_fields=False)
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return _check_headers(value)

    def to_body(self) -> dict[str, Any]:
        """The JSON body to send; the only place the API key is revealed."""
        body = super().to_body()
        if "api_key" in self.model_fields_set:
            body["api_key"] = self.api_key.get_secret_value() if self.api_key is not None else None
        return body


class CreateAiIntegrationRequest(_SecretBody):
    """``POST /v2/ai-integrations``. Omitted ``scopings`` mean account-wide; names are unique per account."""

    name: Name
    provider: AiIntegrationProvider
    base_url: str | None = None
    model_names: list[str] | None = None
    headers: dict[str, str] | None = None
    enable_default_models: bool = False
    function_calling_enabled: bool = True
    auth_type: AiIntegrationAuthType = "DEFAULT"
    provider_metadata: ProviderMetadataRequest | None = None
    scopings: list[AiIntegrationScopingRequest] | None = None


_NOT_NULLABLE = (
    "name",
    "provider",
    "model_names",
    "enable_default_models",
    "function_calling_enabled",
    "auth_type",
    "scopings",
)


class UpdateAiIntegrationRequest(_SecretBody):
    """``PATCH /v2/ai-integrations/{id}``: at least one field. ``null`` clears ``api_key``, ``base_url``,
    ``headers`` and ``provider_metadata``; ``model_names`` and ``scopings`` replace the stored lists."""

    name: Name | None = None
    provider: AiIntegrationProvider | None = None
    base_url: str | None = None
    model_names: list[str] | None = None
    headers: dict[str, str] | None = None
    enable_default_models: bool | None = None
    function_calling_enabled: bool | None = None
    auth_type: AiIntegrationAuthType | None = None
    provider_metadata: ProviderMetadataRequest | None = None
    scopings: list[AiIntegrationScopingRequest] | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateAiIntegrationRequest:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        nulls = [name for name in _NOT_NULLABLE if name in self.model_fields_set and getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null; omit a field to keep its value")
        return self


class AiIntegrationScoping(ResponseModel):
    """One visibility rule: a space, an organization, or (both null) the whole account."""

    organization_id: str | None = None
    space_id: str | None = None


class AiIntegration(ResponseModel):
    """An AI integration. The key is never returned; ``has_api_key`` says whether one is stored."""

    id: str
    name: str
    provider: AiIntegrationProvider
    has_api_key: bool = False
    base_url: str | None = None
    model_names: list[str] | None = None
    headers: dict[str, str] | None = None
    enable_default_models: bool = False
    function_calling_enabled: bool = True
    auth_type: AiIntegrationAuthType | None = None
    provider_metadata: dict[str, Any] | None = None
    scopings: list[AiIntegrationScoping] = Field(default_factory=list)
    created_at: Timestamp
    updated_at: Timestamp
    created_by_user_id: str | None = None


class AiIntegrationCredentials(ResponseModel):
    """``GET /v2/ai-integrations/{id}/credentials`` (local engine, in-process callers only): what a provider call
    needs. The key is a ``SecretStr`` and the headers stay out of ``repr``, so neither shows by accident."""

    api_key: SecretStr | None = None
    headers: dict[str, str] = Field(default_factory=dict[str, str], repr=False)


class AiIntegrationList(ResponseModel):
    """``GET /v2/ai-integrations``."""

    ai_integrations: list[AiIntegration]
    pagination: Pagination

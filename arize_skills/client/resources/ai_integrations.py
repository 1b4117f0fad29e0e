"""``client.ai_integrations``: LLM provider access (alpha on AX). The API key is write-only.

A key passed here goes into a request model as a ``SecretStr`` and leaves it only as the request body; it is
never logged, never part of an exception and never in any ``repr``. Responses say ``has_api_key``.

``credentials`` is the one way back, and only from the local engine to a caller in its own process (an embedded
MCP server) that presents the engine's in-memory secret; to everyone else, Arize AX included, there is no such
route (404).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...models.ai_integrations import (
    ENGINE_SECRET_HEADER,
    AiIntegration,
    AiIntegrationAuthType,
    AiIntegrationCredentials,
    AiIntegrationProvider,
    AiIntegrationScopingRequest,
    AwsProviderMetadataRequest,
    CreateAiIntegrationRequest,
    GcpProviderMetadataRequest,
    UpdateAiIntegrationRequest,
)
from .._paginator import AsyncPaginator
from .._resource import Resource
from .projects import space_params
from .tasks import NOT_GIVEN, NotGiven

__all__ = ["AiIntegrations"]

ProviderMetadata = AwsProviderMetadataRequest | GcpProviderMetadataRequest | Mapping[str, Any]
Scoping = AiIntegrationScopingRequest | Mapping[str, Any]


def _plain(value: Any) -> Any:
    if isinstance(value, AiIntegrationScopingRequest | AwsProviderMetadataRequest | GcpProviderMetadataRequest):
        return value.model_dump(mode="json", exclude_unset=True)
    if isinstance(value, Mapping):
        return dict(value)
    return value


class AiIntegrations(Resource):
    """AI integrations: list, get, create, update, delete. Integrations are given by ID or exact name."""

    def list(
        self, *, space: str | None = None, name: str | None = None, limit: int = 50
    ) -> AsyncPaginator[AiIntegration]:
        """Integrations; with a space, those that space may use (scoped to it, to its organization, or
        account-wide)."""
        params = {**space_params(space or self._client.space), "name": name, "limit": limit}
        return self._paginate("/v2/ai-integrations", "ai_integrations", AiIntegration, params=params)

    async def get(self, integration: str, *, space: str | None = None) -> AiIntegration:
        """One integration by ID or exact name."""
        integration_id = await self._client.resolve.id_of("ai_integration", integration, space=space)
        return await self._get_model(AiIntegration, f"/v2/ai-integrations/{integration_id}")

    async def credentials(
        self, integration: str, *, engine_secret: str, space: str | None = None
    ) -> AiIntegrationCredentials:
        """The integration's API key and unmasked headers, from a local engine running in this process.

        ``engine_secret`` is that engine's ``credentials_secret``; it travels in one request header only and is
        redacted from any error. A served engine or Arize AX answers 404.

        Raises:
            NotFoundError: no such integration, or the backend does not give credentials to this caller.
        """
        integration_id = await self._client.resolve.id_of("ai_integration", integration, space=space)
        path = f"/v2/ai-integrations/{integration_id}/credentials"
        found = await self._request("GET", path, headers={ENGINE_SECRET_HEADER: engine_secret}, secrets=[engine_secret])
        return AiIntegrationCredentials.model_validate(found)

    async def create(
        self,
        name: str,
        *,
        provider: AiIntegrationProvider,
        api_key: str | None = None,
        base_url: str | None = None,
        model_names: Sequence[str] | None = None,
        headers: Mapping[str, str] | None = None,
        enable_default_models: bool | None = None,
        function_calling_enabled: bool | None = None,
        auth_type: AiIntegrationAuthType | None = None,
        provider_metadata: ProviderMetadata | None = None,
        scopings: Sequence[Scoping] | None = None,
    ) -> AiIntegration:
        """Create an integration (names are unique per account; no ``scopings`` means account-wide)."""
        given: dict[str, Any] = {
            "api_key": api_key,
            "base_url": base_url,
            "model_names": list(model_names) if model_names is not None else None,
            "headers": dict(headers) if headers is not None else None,
            "enable_default_models": enable_default_models,
            "function_calling_enabled": function_calling_enabled,
            "auth_type": auth_type,
            "provider_metadata": _plain(provider_metadata),
            "scopings": [_plain(s) for s in scopings] if scopings is not None else None,
        }
        fields = {k: v for k, v in given.items() if v is not None}
        request = CreateAiIntegrationRequest(name=name, provider=provider, **fields)
        data = await self._request("POST", "/v2/ai-integrations", body=request.to_body())
        return AiIntegration.model_validate(data)

    async def update(
        self,
        integration: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        provider: AiIntegrationProvider | NotGiven = NOT_GIVEN,
        api_key: str | None | NotGiven = NOT_GIVEN,
        base_url: str | None | NotGiven = NOT_GIVEN,
        model_names: Sequence[str] | NotGiven = NOT_GIVEN,
        headers: Mapping[str, str] | None | NotGiven = NOT_GIVEN,
        enable_default_models: bool | NotGiven = NOT_GIVEN,
        function_calling_enabled: bool | NotGiven = NOT_GIVEN,
        auth_type: AiIntegrationAuthType | NotGiven = NOT_GIVEN,
        provider_metadata: ProviderMetadata | None | NotGiven = NOT_GIVEN,
        scopings: Sequence[Scoping] | NotGiven = NOT_GIVEN,
        space: str | None = None,
    ) -> AiIntegration:
        """Change an integration. ``None`` removes ``api_key``, ``base_url``, ``headers`` or
        ``provider_metadata``; ``model_names`` and ``scopings`` replace the stored lists."""
        given: dict[str, Any] = {
            "name": name,
            "provider": provider,
            "api_key": api_key,
            "base_url": base_url,
            "model_names": list(model_names) if isinstance(model_names, Sequence) else model_names,
            "headers": dict(headers) if isinstance(headers, Mapping) else headers,
            "enable_default_models": enable_default_models,
            "function_calling_enabled": function_calling_enabled,
            "auth_type": auth_type,
            "provider_metadata": _plain(provider_metadata),
            "scopings": [_plain(s) for s in scopings] if isinstance(scopings, Sequence) else scopings,
        }
        request = UpdateAiIntegrationRequest(**{k: v for k, v in given.items() if not isinstance(v, NotGiven)})
        integration_id = await self._client.resolve.id_of("ai_integration", integration, space=space)
        data = await self._request("PATCH", f"/v2/ai-integrations/{integration_id}", body=request.to_body())
        return AiIntegration.model_validate(data)

    async def delete(self, integration: str, *, space: str | None = None) -> None:
        """Delete an integration (and its stored key)."""
        integration_id = await self._client.resolve.id_of("ai_integration", integration, space=space)
        await self._request("DELETE", f"/v2/ai-integrations/{integration_id}")

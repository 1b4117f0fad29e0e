"""``client.prompts``: versioned prompts, their labels (``production``, …) and tags."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from ...models.evaluators import InvocationParamsRequest, ProviderParamsRequest
from ...models.prompts import (
    CreatePromptRequest,
    CreatePromptVersionRequest,
    InputVariableFormat,
    LlmProvider,
    Prompt,
    PromptVersion,
    PromptWithVersion,
    SetPromptVersionLabelsRequest,
    UpdatePromptRequest,
)
from ...models.tags import AddTagsRequest, RemoveTagsRequest, RemoveTagsResponse, Tag, TagList
from ...models.tasks import LlmMessage
from .._paginator import AsyncPaginator
from .._resource import Resource, given
from .projects import space_params

__all__ = ["DEFAULT_COMMIT_MESSAGE", "MessageInput", "Prompts"]

DEFAULT_COMMIT_MESSAGE = "Initial version"

MessageInput = LlmMessage | Mapping[str, Any]
"""A prompt message: the request model or a dict such as ``{"role": "USER", "content": "Hello, {name}!"}``."""

ParamsInput = BaseModel | Mapping[str, Any]


def _as_body(value: ParamsInput) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return dict(value)


def _version_fields(
    *,
    commit_message: str,
    provider: LlmProvider,
    messages: Sequence[MessageInput],
    input_variable_format: InputVariableFormat | None,
    model: str | None,
    invocation_params: InvocationParamsRequest | Mapping[str, Any] | None,
    provider_params: ProviderParamsRequest | Mapping[str, Any] | None,
) -> dict[str, Any]:
    return {
        "commit_message": commit_message,
        "provider": provider,
        "messages": [_as_body(message) for message in messages],
        **given(
            input_variable_format=input_variable_format,
            model=model,
            invocation_params=_as_body(invocation_params) if invocation_params is not None else None,
            provider_params=_as_body(provider_params) if provider_params is not None else None,
        ),
    }


def _label_path(label: str) -> str:
    # A label is free text: "/", "?" or "%" in it must not change the path.
    return quote(label, safe="")


class Prompts(Resource):
    """Prompts and their versions, labels and tags; a prompt is given by ID or exact name (looked up in ``space``).

    The request bodies are checked here against the contract's models before anything is sent, so a bad message
    or parameter fails with a ``ValidationError`` naming the field.
    """

    def list(self, *, space: str | None = None, name: str | None = None, limit: int = 50) -> AsyncPaginator[Prompt]:
        """Prompts, most recently updated first, optionally in one space and by name substring."""
        params = {**space_params(space or self._client.space), "name": name, "limit": limit}
        return self._paginate("/v2/prompts", "prompts", Prompt, params=params)

    async def _prompt_id(self, prompt: str, space: str | None) -> str:
        return await self._client.resolve.id_of("prompt", prompt, space=space)

    async def create(
        self,
        name: str,
        *,
        messages: Sequence[MessageInput],
        provider: LlmProvider,
        commit_message: str = DEFAULT_COMMIT_MESSAGE,
        input_variable_format: InputVariableFormat | None = None,
        model: str | None = None,
        invocation_params: InvocationParamsRequest | Mapping[str, Any] | None = None,
        provider_params: ProviderParamsRequest | Mapping[str, Any] | None = None,
        description: str | None = None,
        space: str | None = None,
    ) -> PromptWithVersion:
        """Create a prompt with its first version (``input_variable_format`` defaults to ``F_STRING`` on the
        server; the name must be new in the space)."""
        space_id = await self._client.resolve.space_id(space)
        version = _version_fields(
            commit_message=commit_message,
            provider=provider,
            messages=messages,
            input_variable_format=input_variable_format,
            model=model,
            invocation_params=invocation_params,
            provider_params=provider_params,
        )
        fields = {"space_id": space_id, "name": name, "version": version, **given(description=description)}
        body = CreatePromptRequest.model_validate(fields).to_body()
        return PromptWithVersion.model_validate(await self._request("POST", "/v2/prompts", body=body))

    async def get(
        self, prompt: str, *, version_id: str | None = None, label: str | None = None, space: str | None = None
    ) -> PromptWithVersion:
        """A prompt with its latest version, with ``version_id``, or with the version ``label`` names."""
        if version_id is not None and label is not None:
            raise ValueError("give version_id or label, not both")
        prompt_id = await self._prompt_id(prompt, space)
        params = given(version_id=version_id, label=label)
        return await self._get_model(PromptWithVersion, f"/v2/prompts/{prompt_id}", params=params or None)

    async def update(self, prompt: str, *, description: str | None, space: str | None = None) -> Prompt:
        """Change a prompt's description (``None`` clears it); a prompt's name cannot change."""
        body = UpdatePromptRequest(description=description).to_body()
        prompt_id = await self._prompt_id(prompt, space)
        return Prompt.model_validate(await self._request("PATCH", f"/v2/prompts/{prompt_id}", body=body))

    async def delete(self, prompt: str, *, space: str | None = None) -> None:
        """Delete a prompt with all its versions (irreversible)."""
        prompt_id = await self._prompt_id(prompt, space)
        await self._request("DELETE", f"/v2/prompts/{prompt_id}")

    def list_versions(self, prompt: str, *, space: str | None = None, limit: int = 50) -> AsyncPaginator[PromptVersion]:
        """A prompt's versions, most recently created first."""

        async def path() -> str:
            return f"/v2/prompts/{await self._prompt_id(prompt, space)}/versions"

        return self._paginate(path, "prompt_versions", PromptVersion, params={"limit": limit})

    async def create_version(
        self,
        prompt: str,
        *,
        commit_message: str,
        messages: Sequence[MessageInput],
        provider: LlmProvider,
        input_variable_format: InputVariableFormat | None = None,
        model: str | None = None,
        invocation_params: InvocationParamsRequest | Mapping[str, Any] | None = None,
        provider_params: ProviderParamsRequest | Mapping[str, Any] | None = None,
        space: str | None = None,
    ) -> PromptVersion:
        """Add a version; it becomes the latest (labels stay where they are until moved)."""
        fields = _version_fields(
            commit_message=commit_message,
            provider=provider,
            messages=messages,
            input_variable_format=input_variable_format,
            model=model,
            invocation_params=invocation_params,
            provider_params=provider_params,
        )
        body = CreatePromptVersionRequest.model_validate(fields).to_body()
        prompt_id = await self._prompt_id(prompt, space)
        data = await self._request("POST", f"/v2/prompts/{prompt_id}/versions", body=body)
        return PromptVersion.model_validate(data)

    async def get_version(self, version_id: str) -> PromptVersion:
        """One prompt version by ID."""
        return await self._get_model(PromptVersion, f"/v2/prompt-versions/{version_id}")

    async def set_labels(self, version_id: str, labels: Sequence[str]) -> PromptVersion:
        """Make ``labels`` exactly the version's labels: each moves here from any other version of the prompt,
        and the version's labels not listed are removed (``[]`` removes them all). Idempotent."""
        body = SetPromptVersionLabelsRequest(labels=builtins.list(labels)).to_body()
        data = await self._request("PUT", f"/v2/prompt-versions/{version_id}/labels", body=body, idempotent=True)
        return PromptVersion.model_validate(data)

    async def set_label(self, version_id: str, label: str) -> PromptVersion:
        """Add one label to a version (moving it from another version of the prompt), keeping its other labels."""
        version = await self.get_version(version_id)
        labels = [*(existing for existing in version.labels if existing != label), label]
        return await self.set_labels(version_id, labels)

    async def get_by_label(self, prompt: str, label: str, *, space: str | None = None) -> PromptVersion:
        """The version ``label`` names."""
        prompt_id = await self._prompt_id(prompt, space)
        return await self._get_model(PromptVersion, f"/v2/prompts/{prompt_id}/labels/{_label_path(label)}")

    async def delete_label(self, version_id: str, label: str) -> None:
        """Remove one label from the version it names (``NotFoundError`` when it names another or none)."""
        await self._request("DELETE", f"/v2/prompt-versions/{version_id}/labels/{_label_path(label)}")

    async def list_tags(self, prompt: str, *, space: str | None = None) -> builtins.list[Tag]:
        """The tags attached to a prompt, most recently updated first."""
        prompt_id = await self._prompt_id(prompt, space)
        return (await self._get_model(TagList, f"/v2/prompts/{prompt_id}/tags")).tags

    async def add_tags(self, prompt: str, tag_ids: Sequence[str], *, space: str | None = None) -> builtins.list[Tag]:
        """Attach tags of the prompt's space (idempotent); returns the prompt's whole tag list."""
        body = AddTagsRequest(tag_ids=builtins.list(tag_ids)).to_body()
        prompt_id = await self._prompt_id(prompt, space)
        data = await self._request("POST", f"/v2/prompts/{prompt_id}/tags", body=body, idempotent=True)
        return TagList.model_validate(data).tags

    async def remove_tags(self, prompt: str, tag_ids: Sequence[str], *, space: str | None = None) -> RemoveTagsResponse:
        """Detach tags; an ID that was not attached comes back in ``not_deleted``."""
        body = RemoveTagsRequest(tag_ids=builtins.list(tag_ids)).to_body()
        prompt_id = await self._prompt_id(prompt, space)
        data = await self._request("DELETE", f"/v2/prompts/{prompt_id}/tags", body=body)
        return RemoveTagsResponse.model_validate(data)

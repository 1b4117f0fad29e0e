"""``client.tags``: the tags of a space, which resources (prompts, …) then carry."""

from __future__ import annotations

from typing import Any

from ...models.tags import CreateTagRequest, Tag, TagColor, UpdateTagRequest
from .._resource import Resource, given
from .tasks import NOT_GIVEN, NotGiven

__all__ = ["Tags"]


class Tags(Resource):
    """Tags: create, update, delete (AX has no route that lists or reads one tag; a resource lists its own)."""

    async def create(
        self, name: str, *, description: str | None = None, color: TagColor | None = None, space: str | None = None
    ) -> Tag:
        """Create a tag in ``space`` (its name must be new there, compared case-insensitively)."""
        space_id = await self._client.resolve.space_id(space)
        fields = {"name": name, "space_id": space_id, **given(description=description, color=color)}
        body = CreateTagRequest.model_validate(fields).to_body()
        return Tag.model_validate(await self._request("POST", "/v2/tags", body=body))

    async def update(
        self,
        tag_id: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        description: str | None | NotGiven = NOT_GIVEN,
        color: TagColor | None | NotGiven = NOT_GIVEN,
    ) -> Tag:
        """Rename a tag and/or change its description or color (``None`` clears those two)."""
        fields: dict[str, Any] = {
            key: value
            for key, value in (("name", name), ("description", description), ("color", color))
            if not isinstance(value, NotGiven)
        }
        body = UpdateTagRequest.model_validate(fields).to_body()
        return Tag.model_validate(await self._request("PATCH", f"/v2/tags/{tag_id}", body=body))

    async def delete(self, tag_id: str) -> None:
        """Delete a tag; it is detached from every resource that carried it."""
        await self._request("DELETE", f"/v2/tags/{tag_id}")

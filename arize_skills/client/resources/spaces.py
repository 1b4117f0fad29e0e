"""``client.spaces``."""

from __future__ import annotations

from ...models.spaces import CreateSpaceRequest, Space, UpdateSpaceRequest
from .._paginator import AsyncPaginator
from .._resource import Resource

__all__ = ["Spaces"]


class Spaces(Resource):
    """Spaces: list, get, create, update, delete."""

    def list(self, *, name: str | None = None, org_id: str | None = None, limit: int = 50) -> AsyncPaginator[Space]:
        """Spaces visible to the key; ``name`` is a case-insensitive substring filter."""
        params = {"name": name, "org_id": org_id, "limit": limit}
        return self._paginate("/v2/spaces", "spaces", Space, params=params)

    async def get(self, space: str) -> Space:
        """One space, by ID or exact name."""
        space_id = await self._client.resolve.space_id(space)
        return await self._get_model(Space, f"/v2/spaces/{space_id}")

    async def create(
        self, *, name: str, organization_id: str, description: str | None = None, is_private: bool = False
    ) -> Space:
        """Create a space in an organization."""
        request = CreateSpaceRequest(
            name=name, organization_id=organization_id, description=description, is_private=is_private
        )
        return Space.model_validate(await self._request("POST", "/v2/spaces", body=request.to_body()))

    async def update(self, space: str, *, name: str | None = None, description: str | None = None) -> Space:
        """Rename a space or change its description."""
        fields = {k: v for k, v in {"name": name, "description": description}.items() if v is not None}
        request = UpdateSpaceRequest.model_validate(fields)
        space_id = await self._client.resolve.space_id(space)
        return Space.model_validate(await self._request("PATCH", f"/v2/spaces/{space_id}", body=request.to_body()))

    async def delete(self, space: str) -> None:
        """Delete an empty space."""
        space_id = await self._client.resolve.space_id(space)
        await self._request("DELETE", f"/v2/spaces/{space_id}")

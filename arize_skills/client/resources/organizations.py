"""``client.organizations``."""

from __future__ import annotations

from typing import Any

from ...errors import NameNotFoundError
from ...models.ids import is_resource_id
from ...models.organizations import CreateOrganizationRequest, Organization, UpdateOrganizationRequest
from .._paginator import AsyncPaginator
from .._resource import Resource
from .tasks import NOT_GIVEN, NotGiven

__all__ = ["Organizations"]

RESOLVE_PAGE = 100


class Organizations(Resource):
    """Organizations: list, get, create, update, delete. Organizations are given by ID or exact name."""

    def list(self, *, name: str | None = None, limit: int = 50) -> AsyncPaginator[Organization]:
        """Organizations visible to the key; ``name`` is a case-insensitive substring filter."""
        params = {"name": name, "limit": limit}
        return self._paginate("/v2/organizations", "organizations", Organization, params=params)

    async def resolve_id(self, organization: str) -> str:
        """The ID of ``organization`` (an ID is returned as is; a name must match exactly, as the SDK does).

        Raises:
            NameNotFoundError: no organization has exactly this name.
        """
        if is_resource_id(organization):
            return organization
        async for found in self.list(name=organization, limit=RESOLVE_PAGE):
            if found.name == organization:
                return found.id
        raise NameNotFoundError(
            f"no organization is named exactly {organization!r}", kind="organization", name=organization
        )

    async def get(self, organization: str) -> Organization:
        """One organization, by ID or exact name."""
        organization_id = await self.resolve_id(organization)
        return await self._get_model(Organization, f"/v2/organizations/{organization_id}")

    async def create(self, *, name: str, description: str | None = None) -> Organization:
        """Create an organization; names are unique within the account (409 otherwise)."""
        request = CreateOrganizationRequest(name=name, description=description)
        body = request.model_dump(mode="json", exclude_none=True)
        return Organization.model_validate(await self._request("POST", "/v2/organizations", body=body))

    async def update(
        self,
        organization: str,
        *,
        name: str | NotGiven = NOT_GIVEN,
        description: str | None | NotGiven = NOT_GIVEN,
    ) -> Organization:
        """Rename an organization or change its description; ``description=None`` clears it."""
        given: dict[str, Any] = {"name": name, "description": description}
        fields = {k: v for k, v in given.items() if not isinstance(v, NotGiven)}
        if not fields:
            raise ValueError("give name= or description= (or both) to update an organization")
        body = UpdateOrganizationRequest.model_validate(fields).to_body()
        organization_id = await self.resolve_id(organization)
        path = f"/v2/organizations/{organization_id}"
        return Organization.model_validate(await self._request("PATCH", path, body=body))

    async def delete(self, organization: str) -> None:
        """Delete an organization that holds no spaces and no AI integrations scoped to it (409 otherwise)."""
        organization_id = await self.resolve_id(organization)
        await self._request("DELETE", f"/v2/organizations/{organization_id}")

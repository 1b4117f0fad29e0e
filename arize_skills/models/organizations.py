"""Organizations (``/v2/organizations``): the account-level containers that hold spaces."""

from __future__ import annotations

from pydantic import Field

from ._base import Name, Pagination, RequestModel, ResponseModel, Timestamp

__all__ = ["CreateOrganizationRequest", "Organization", "OrganizationList", "UpdateOrganizationRequest"]


class Organization(ResponseModel):
    """An organization: a group of spaces. Names are unique within the account."""

    id: str
    name: str
    description: str | None = None
    created_at: Timestamp


class OrganizationList(ResponseModel):
    """``GET /v2/organizations``."""

    organizations: list[Organization]
    pagination: Pagination


class CreateOrganizationRequest(RequestModel):
    """``POST /v2/organizations``; an omitted description is stored as an empty string, as AX does."""

    name: Name
    description: str | None = Field(default=None, max_length=1000)


class UpdateOrganizationRequest(RequestModel):
    """``PATCH /v2/organizations/{id}``; at least one field. ``description: null`` clears the description."""

    name: Name | None = None
    description: str | None = Field(default=None, max_length=1000)

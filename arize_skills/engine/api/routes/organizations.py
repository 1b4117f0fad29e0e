"""``/v2/organizations``: list, get, create, update and delete the organizations that hold spaces.

AX deletes an organization together with every space and resource in it. The engine refuses instead (409) while
the organization still holds spaces or AI integrations scoped to it, as it refuses to delete a non-empty space:
nothing is removed by surprise, and the default organization, home of the undeletable default space, stays.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ....errors import ProblemError
from ....models.organizations import CreateOrganizationRequest, Organization, UpdateOrganizationRequest
from ...store.documents import IntegrationDoc, OrganizationDoc
from ...store.integrations import LLM_INTEGRATION_KIND
from ...store.objects import (
    StoredObject,
    delete_object,
    document,
    find_by_name,
    insert_object,
    list_objects,
    require_object,
    update_document,
)
from ..context import engine_of
from ..http import query_str, read_body, read_limit, read_patch
from ..object_routes import delete_response, object_page_response, object_route, resource_routes, write_response

__all__ = ["ORGANIZATION_KIND", "organization_model", "require_organization", "routes"]

ORGANIZATION_KIND = "Organization"
SHOWN_DEPENDENTS = 5
"""How many blocking spaces or integrations a 409 names before summarising the rest."""


def require_organization(conn: sqlite3.Connection, organization_id: str) -> StoredObject:
    """Load an organization by global ID or raise a 404 problem."""
    return require_object(conn, ORGANIZATION_KIND, organization_id, label="organization")


def organization_model(organization: StoredObject) -> Organization:
    """The wire shape of a stored organization (one created without a description has ``""``, as on AX)."""
    return Organization(
        id=organization.id,
        name=organization.name or "",
        description=document(organization, OrganizationDoc).description,
        created_at=organization.created,
    )


def _name_taken(conn: sqlite3.Connection, name: str, *, other_than: int | None = None) -> None:
    found = find_by_name(conn, ORGANIZATION_KIND, name)
    if found is not None and found.num != other_than:
        raise ProblemError(409, f"an organization named '{name}' already exists; organization names are unique")


def _named(objects: list[StoredObject]) -> str:
    shown = ", ".join(f"'{o.name}' ({o.id})" for o in objects[:SHOWN_DEPENDENTS])
    more = len(objects) - SHOWN_DEPENDENTS
    return shown + (f" and {more} more" if more > 0 else "")


def _scoped_to(integration: StoredObject, organization: StoredObject) -> bool:
    scopings = document(integration, IntegrationDoc).scopings or []
    return any(s.organization_num == organization.num for s in scopings)


def _blocking_dependents(conn: sqlite3.Connection, organization: StoredObject) -> str | None:
    """Why the organization cannot be deleted yet, or ``None`` when nothing still depends on it."""
    spaces, _ = list_objects(conn, "Space", limit=10_000, newest_first=False, parent_num=organization.num)
    if spaces:
        return f"the organization still holds {len(spaces)} space(s): {_named(spaces)}; delete them first"
    integrations, _ = list_objects(conn, LLM_INTEGRATION_KIND, limit=10_000, newest_first=False)
    scoped = [i for i in integrations if _scoped_to(i, organization)]
    if scoped:
        return (
            f"{len(scoped)} AI integration(s) are scoped to the organization: {_named(scoped)}; "
            "delete them or change their scopings first"
        )
    return None


async def list_organizations(request: Request) -> Response:
    limit = read_limit(request)
    name = query_str(request, "name")

    def fetch(conn: sqlite3.Connection, after: Any) -> tuple[list[StoredObject], bool]:
        return list_objects(conn, ORGANIZATION_KIND, limit=limit, after=after, newest_first=False, name_contains=name)

    return await object_page_response(
        request,
        "organizations",
        scope=f"organizations|{name}",
        fetch=fetch,
        render=lambda conn, org: organization_model(org),
    )


get_organization = object_route("org_id", require_organization, lambda conn, org: organization_model(org))


async def create_organization(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateOrganizationRequest)

    def run(conn: sqlite3.Connection) -> Organization:
        _name_taken(conn, body.name)
        doc = OrganizationDoc(description=body.description if body.description is not None else "")
        organization = insert_object(conn, ORGANIZATION_KIND, name=body.name, body=doc.to_body(), now=engine.now())
        return organization_model(organization)

    return await write_response(request, run, 201)


async def update_organization(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_patch(request, UpdateOrganizationRequest, clearable=frozenset({"description"}))

    def run(conn: sqlite3.Connection) -> Organization:
        organization = require_organization(conn, request.path_params["org_id"])
        if body.name is not None:
            _name_taken(conn, body.name, other_than=organization.num)
        doc = document(organization, OrganizationDoc)
        doc.copy_sent(body, "description")
        updated = update_document(conn, organization, doc, now=engine.now(), name=body.name)
        return organization_model(updated)

    return await write_response(request, run)


async def delete_organization(request: Request) -> Response:
    engine = engine_of(request)

    def remove(conn: sqlite3.Connection, organization: StoredObject) -> None:
        reason = _blocking_dependents(conn, organization)
        if reason is not None and organization.num == engine.organization_num:
            reason = f"the engine's default organization '{organization.name}' cannot be deleted: {reason}"
        if reason is not None:
            raise ProblemError(409, reason)
        delete_object(conn, organization)

    return await delete_response(request, request.path_params["org_id"], require_organization, remove)


routes = resource_routes(
    "/v2/organizations",
    "org_id",
    list_organizations,
    create_organization,
    get_organization,
    update_organization,
    delete_organization,
)

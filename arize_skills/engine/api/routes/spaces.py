"""``/v2/spaces``."""

from __future__ import annotations

import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ....errors import ProblemError
from ....models.ids import decode_id
from ....models.spaces import CreateSpaceRequest, Space, UpdateSpaceRequest
from ...store.documents import SpaceDoc
from ...store.integrations import LLM_INTEGRATION_KIND
from ...store.objects import (
    StoredObject,
    check_name_free,
    delete_object,
    document,
    get_object,
    insert_object,
    list_objects,
    require_object,
    update_document,
)
from ..context import engine_of
from ..http import query_str, read_body, read_limit, read_patch
from ..object_routes import delete_response, object_page_response, object_response, resource_routes, write_response

__all__ = ["routes", "space_model"]

CLEARABLE_SPACE_FIELDS = frozenset({"description", "default_llm_integration", "default_agent_runtime"})
"""Fields of ``PATCH /v2/spaces/{id}`` where ``null`` means "clear"; elsewhere ``null`` is refused."""


def space_model(conn: sqlite3.Connection, space: StoredObject) -> Space:
    """The wire shape of a stored space."""
    org = get_object(conn, "Organization", space.parent_num) if space.parent_num is not None else None
    doc = document(space, SpaceDoc)
    return Space(
        id=space.id,
        organization_id=org.id if org else "",
        name=space.name or "",
        description=doc.description,
        created_at=space.created,
        is_private=doc.is_private,
        default_llm_integration=doc.default_llm_integration,
        ml_models_enabled=doc.ml_models_enabled,
        gradient_start_color=doc.gradient_start_color,
        gradient_end_color=doc.gradient_end_color,
        default_agent_runtime=doc.default_agent_runtime,
    )


async def list_spaces(request: Request) -> Response:
    limit = read_limit(request)
    org_id = query_str(request, "org_id")
    name = query_str(request, "name")

    def fetch(conn: sqlite3.Connection, after: Any) -> tuple[list[StoredObject], bool]:
        org_num = None
        if org_id is not None:
            decoded = decode_id(org_id)
            org = get_object(conn, "Organization", decoded.number) if decoded else None
            if org is None:
                raise ProblemError(404, f"organization '{org_id}' was not found")
            org_num = org.num
        return list_objects(
            conn, "Space", limit=limit, after=after, newest_first=False, parent_num=org_num, name_contains=name
        )

    scope = f"spaces|{org_id}|{name}"
    return await object_page_response(request, "spaces", scope=scope, fetch=fetch, render=space_model)


async def get_space(request: Request) -> Response:
    engine = engine_of(request)
    return await object_response(request, request.path_params["space_id"], engine.require_space, space_model)


async def create_space(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateSpaceRequest)

    def run(conn: sqlite3.Connection) -> Space:
        decoded = decode_id(body.organization_id)
        org = get_object(conn, "Organization", decoded.number) if decoded else None
        if org is None or org.kind != "Organization":
            raise ProblemError(404, f"organization '{body.organization_id}' was not found")
        check_name_free(conn, "Space", body.name, label="a space", where="in this organization", parent_num=org.num)
        doc = SpaceDoc(description=body.description, is_private=body.is_private)
        space = insert_object(conn, "Space", name=body.name, body=doc.to_body(), now=engine.now(), parent_num=org.num)
        conn.execute("UPDATE objects SET space_num = ? WHERE num = ?", (space.num, space.num))
        return space_model(conn, space)

    return await write_response(request, run, 201)


async def update_space(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_patch(request, UpdateSpaceRequest, clearable=CLEARABLE_SPACE_FIELDS)
    sent = body.model_fields_set
    if body.default_agent_runtime is not None:
        raise ProblemError(
            422,
            "default_agent_runtime: the local engine has no agent integrations (/v2/integrations) to point at; "
            "send null to clear it or omit it",
        )

    def run(conn: sqlite3.Connection) -> Space:
        space = engine.require_space(conn, request.path_params["space_id"])
        if body.default_llm_integration is not None:
            require_object(
                conn, LLM_INTEGRATION_KIND, body.default_llm_integration.integration_id, label="AI integration"
            )
        if body.name is not None and body.name != space.name:
            check_name_free(
                conn, "Space", body.name, label="a space", where="in this organization", parent_num=space.parent_num
            )
        doc = document(space, SpaceDoc)
        for field, value in body.model_dump(mode="json", include=sent - {"name"}).items():
            setattr(doc, field, value)  # the request's fields are the document's (``SpaceDoc``)
        return space_model(conn, update_document(conn, space, doc, now=engine.now(), name=body.name))

    return await write_response(request, run)


async def delete_space(request: Request) -> Response:
    engine = engine_of(request)

    def remove(conn: sqlite3.Connection, space: StoredObject) -> None:
        if space.num == engine.space_num:
            raise ProblemError(409, "the engine's default space cannot be deleted")
        owned = conn.execute("SELECT count(*) FROM objects WHERE space_num = ? AND num != ?", (space.num, space.num))
        if owned.fetchone()[0]:
            raise ProblemError(409, "the space still holds resources; delete them first")
        delete_object(conn, space)

    return await delete_response(request, request.path_params["space_id"], engine.require_space, remove)


routes = resource_routes("/v2/spaces", "space_id", list_spaces, create_space, get_space, update_space, delete_space)

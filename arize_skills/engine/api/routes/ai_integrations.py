"""``/v2/ai-integrations``: LLM provider access for judges and run-experiment tasks.

Names are unique per account. The API key is write-only: it goes to ``store.integrations``' secrets table and
every response carries ``has_api_key`` instead. No handler here logs a request body.

The one reader, ``GET /v2/ai-integrations/{id}/credentials`` (the key and the unmasked headers, for an embedded
MCP server's judge preview), exists only for a request carrying the engine's in-memory ``credentials_secret`` in
``ENGINE_SECRET_HEADER``. That secret never leaves the engine's process, so for every network client (the served
engine, the SDK) the route does not match at all: any method answers the unknown-route 404.
"""

from __future__ import annotations

import hmac
import json
import sqlite3
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from ....errors import ProblemError
from ....models.ai_integrations import (
    ENGINE_SECRET_HEADER,
    AiIntegration,
    AiIntegrationScopingRequest,
    CreateAiIntegrationRequest,
    UpdateAiIntegrationRequest,
)
from ....models.ids import decode_id
from ...store.annotations import LOCAL_ANNOTATOR
from ...store.documents import IntegrationDoc, IntegrationScopingDoc
from ...store.integrations import (
    HEADER_MASK,
    LLM_INTEGRATION_KIND,
    integration_model,
    integration_secret,
    require_integration,
    set_integration_secret,
)
from ...store.objects import (
    StoredObject,
    check_name_free,
    delete_object,
    document,
    get_object,
    insert_object,
    update_document,
)
from ..context import EngineContext, engine_of
from ..http import read_body, read_limit
from ..object_routes import (
    delete_route,
    object_page_response,
    object_route,
    read_response,
    resource_routes,
    space_list_params,
    write_response,
)

__all__ = ["routes"]

# Which provider each kind of provider metadata configures.
METADATA_PROVIDER = {"AWS": "AWS_BEDROCK", "GCP": "VERTEX_AI"}


def _check_api_key(api_key: str | None) -> None:
    if api_key is not None and not api_key.strip():
        raise ProblemError(400, "api_key must not be empty; pass null (on update) to remove the stored key")


def _check_metadata(doc: IntegrationDoc) -> None:
    metadata = doc.provider_metadata
    if metadata is None:
        return
    kind = metadata["kind"]
    wanted = METADATA_PROVIDER[kind]
    if doc.provider != wanted:
        raise ProblemError(
            422,
            f"provider_metadata of kind {kind} configures {wanted} integrations, but the provider is "
            f"{doc.provider}; change the provider or drop provider_metadata",
        )


def _resolve_scopings(
    conn: sqlite3.Connection, scopings: list[AiIntegrationScopingRequest] | None
) -> list[IntegrationScopingDoc]:
    resolved: list[IntegrationScopingDoc] = []
    for index, scoping in enumerate(scopings or []):
        where = f"scopings[{index}]"
        org_num: int | None = None
        space_num: int | None = None
        if scoping.organization_id is not None:
            decoded = decode_id(scoping.organization_id)
            is_org = decoded is not None and decoded.type_name == "Organization"
            org = get_object(conn, "Organization", decoded.number) if decoded is not None and is_org else None
            if org is None:
                raise ProblemError(
                    404, f"{where}.organization_id: organization '{scoping.organization_id}' was not found"
                )
            org_num = org.num
        if scoping.space_id is not None:
            decoded = decode_id(scoping.space_id)
            space = get_object(conn, "Space", decoded.number) if decoded and decoded.type_name == "Space" else None
            if space is None:
                raise ProblemError(404, f"{where}.space_id: space '{scoping.space_id}' was not found")
            if org_num is not None and space.parent_num != org_num:
                raise ProblemError(
                    422,
                    f"{where}: space '{scoping.space_id}' is not in organization '{scoping.organization_id}'; "
                    "give the space alone, or its own organization",
                )
            space_num = space.num
        entry = IntegrationScopingDoc(organization_num=org_num, space_num=space_num)
        if entry not in resolved:
            resolved.append(entry)
    return resolved


def _check_name_free(conn: sqlite3.Connection, name: str, own_num: int | None = None) -> None:
    check_name_free(
        conn,
        LLM_INTEGRATION_KIND,
        name,
        label="an AI integration",
        where="(names are unique per account)",
        own_num=own_num,
    )


def _visible_scope(
    engine: EngineContext, conn: sqlite3.Connection, space_id: str | None, space_name: str | None
) -> tuple[list[int], list[int]] | None:
    space_nums = engine.space_scope(conn, space_id, space_name)
    if space_nums is None:
        return None
    org_nums = set()
    for num in space_nums:
        space = get_object(conn, "Space", num)
        if space is not None and space.parent_num is not None:
            org_nums.add(space.parent_num)
    return space_nums, sorted(org_nums)


async def list_integrations(request: Request) -> Response:
    engine = engine_of(request)
    limit = read_limit(request)
    space_id, space_name, name = space_list_params(request)

    def fetch(conn: sqlite3.Connection, after: Any) -> tuple[list[StoredObject], bool]:
        sql = "SELECT num FROM objects WHERE kind = :kind"
        params: dict[str, Any] = {"kind": LLM_INTEGRATION_KIND, "limit": limit + 1}
        visible = _visible_scope(engine, conn, space_id, space_name)
        if visible is not None:
            if not visible[0]:
                return [], False
            # Visible to a space: account-wide (no scopings, or a scoping naming neither an organization nor a
            # space), scoped to the space's organization, or scoped to the space itself.
            sql += (
                " AND (COALESCE(json_array_length(body, '$.scopings'), 0) = 0 OR EXISTS ("
                "SELECT 1 FROM json_each(objects.body, '$.scopings') AS s WHERE"
                " json_extract(s.value, '$.space_num') IN (SELECT value FROM json_each(:spaces))"
                " OR (json_extract(s.value, '$.space_num') IS NULL AND ("
                "json_extract(s.value, '$.organization_num') IS NULL"
                " OR json_extract(s.value, '$.organization_num') IN (SELECT value FROM json_each(:orgs))))))"
            )
            params["spaces"], params["orgs"] = json.dumps(visible[0]), json.dumps(visible[1])
        if name is not None:
            sql += " AND instr(lower(name), lower(:name)) > 0"
            params["name"] = name
        if after is not None:
            sql += " AND num < :after"
            params["after"] = int(after)
        rows = conn.execute(sql + " ORDER BY num DESC LIMIT :limit", params).fetchall()
        found = [get_object(conn, LLM_INTEGRATION_KIND, row[0]) for row in rows[:limit]]
        return [obj for obj in found if obj is not None], len(rows) > limit

    scope = f"ai-integrations|{space_id}|{space_name}|{name}"
    return await object_page_response(request, "ai_integrations", scope=scope, fetch=fetch, render=integration_model)


get_integration = object_route("integration_id", require_integration, integration_model)


async def create_integration(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, CreateAiIntegrationRequest)
    api_key = body.api_key.get_secret_value() if body.api_key is not None else None
    _check_api_key(api_key)
    doc = IntegrationDoc(
        provider=body.provider,
        base_url=body.base_url,
        model_names=body.model_names,
        headers=body.headers,
        enable_default_models=body.enable_default_models,
        function_calling_enabled=body.function_calling_enabled,
        auth_type=body.auth_type,
        provider_metadata=body.provider_metadata.model_dump(mode="json") if body.provider_metadata else None,
        created_by_user_id=LOCAL_ANNOTATOR["id"],
    )
    _check_metadata(doc)

    def run(conn: sqlite3.Connection) -> AiIntegration:
        _check_name_free(conn, body.name)
        doc.scopings = _resolve_scopings(conn, body.scopings)
        integration = insert_object(conn, LLM_INTEGRATION_KIND, name=body.name, body=doc.to_body(), now=engine.now())
        set_integration_secret(conn, integration.num, api_key)
        return integration_model(conn, integration)

    return await write_response(request, run, 201)


async def update_integration(request: Request) -> Response:
    engine = engine_of(request)
    body = await read_body(request, UpdateAiIntegrationRequest)
    given = body.model_fields_set
    api_key = body.api_key.get_secret_value() if body.api_key is not None else None
    _check_api_key(api_key)

    def run(conn: sqlite3.Connection) -> AiIntegration:
        integration = require_integration(conn, request.path_params["integration_id"])
        doc = document(integration, IntegrationDoc)
        if body.name is not None:
            _check_name_free(conn, body.name, integration.num)
        # ``provider`` and ``model_names`` are never null when sent (the request model refuses it).
        if "provider" in given and body.provider is not None:
            doc.provider = body.provider
        doc.copy_sent(body, "base_url", "model_names", "enable_default_models", "function_calling_enabled", "auth_type")
        if "headers" in given:
            stored = doc.headers or {}
            # A masked value sent back (GET, edit, PATCH) means "keep the stored value".
            doc.headers = (
                {k: stored[k] if v == HEADER_MASK and k in stored else v for k, v in body.headers.items()}
                if body.headers is not None
                else None
            )
        if "provider_metadata" in given:
            metadata = body.provider_metadata
            doc.provider_metadata = metadata.model_dump(mode="json") if metadata is not None else None
        if "scopings" in given:
            doc.scopings = _resolve_scopings(conn, body.scopings)
        _check_metadata(doc)
        if "api_key" in given:
            set_integration_secret(conn, integration.num, api_key)
        updated = update_document(conn, integration, doc, now=engine.now(), name=body.name)
        return integration_model(conn, updated)

    return await write_response(request, run)


def _presents_engine_secret(scope: Scope) -> bool:
    """Whether the request carries the serving engine's ``credentials_secret`` (compared in constant time)."""
    app = scope.get("app")
    engine: EngineContext | None = getattr(getattr(app, "state", None), "engine", None)
    if engine is None:
        return False
    given = dict(scope.get("headers") or ()).get(ENGINE_SECRET_HEADER.encode(), b"")
    return hmac.compare_digest(given, engine.credentials_secret.encode())


class _InProcessRoute(Route):
    """A route that matches only requests presenting the engine's secret; to any other it is not there at all,
    so routing answers the unknown-route 404 (not 405, not 401) and the route does not advertise itself."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or not _presents_engine_secret(scope):
            return Match.NONE, {}
        return super().matches(scope)


async def integration_credentials(request: Request) -> Response:
    # Routing already checked the secret; checking again keeps the handler safe wherever it is mounted.
    if not _presents_engine_secret(request.scope):
        raise HTTPException(404)

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        integration = require_integration(conn, request.path_params["integration_id"])
        headers = dict(document(integration, IntegrationDoc).headers or {})
        return {"api_key": integration_secret(conn, integration.num), "headers": headers}

    return await read_response(request, run)


def _delete_integration(conn: sqlite3.Connection, integration: StoredObject) -> None:
    set_integration_secret(conn, integration.num, None)
    delete_object(conn, integration)


delete_integration = delete_route("integration_id", require_integration, _delete_integration)


routes = [
    *resource_routes(
        "/v2/ai-integrations",
        "integration_id",
        list_integrations,
        create_integration,
        get_integration,
        update_integration,
        delete_integration,
    ),
    _InProcessRoute("/v2/ai-integrations/{integration_id}/credentials", integration_credentials, methods=["GET"]),
]

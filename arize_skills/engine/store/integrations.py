"""AI integrations inside the engine: the one response converter, space access, and the one reader of the key.

An integration is an ``LlmIntegration`` object with no space (names are unique per account). Its document holds
everything but the API key; the key lives in the ``llm_integration_secrets`` table, which only
``integration_secret`` reads (for the task runner, when it calls the provider, and for the in-process credentials
route an embedded MCP server's preview uses). ``integration_model`` is the only way an integration becomes a
response, and it never looks at that table beyond asking whether a row exists.

Headers are returned, as AX returns them, except that values of credential-like headers (``Authorization``,
``x-api-key``, anything naming a token, secret, key, cookie or password) are shown as ``HEADER_MASK``; sending
the mask back in a PATCH keeps the stored value. ``HEADER_MASK`` belongs to the wire contract
(``arize_skills.models.ai_integrations``) and is re-exported here for the engine.

Document::

    provider, base_url, model_names, headers, enable_default_models, function_calling_enabled, auth_type,
    provider_metadata, scopings: [{organization_num, space_num}], created_by_user_id
"""

from __future__ import annotations

import sqlite3

from ...errors import ProblemError
from ...foundation.redact import is_credential_header
from ...models.ai_integrations import HEADER_MASK, AiIntegration, AiIntegrationScoping
from .documents import IntegrationDoc, IntegrationScopingDoc
from .objects import StoredObject, document, get_object, require_object

__all__ = [
    "HEADER_MASK",
    "LLM_INTEGRATION_KIND",
    "has_integration_secret",
    "integration_accessible",
    "integration_model",
    "integration_secret",
    "masked_headers",
    "require_accessible_integration",
    "require_integration",
    "set_integration_secret",
]

LLM_INTEGRATION_KIND = "LlmIntegration"
NOT_ACCESSIBLE = "LLM integration not found or not accessible to this space"


def require_integration(conn: sqlite3.Connection, integration_id: str) -> StoredObject:
    """Load an AI integration by global ID or raise a 404 problem."""
    return require_object(conn, LLM_INTEGRATION_KIND, integration_id, label="AI integration")


def integration_accessible(integration: StoredObject, space: StoredObject) -> bool:
    """Whether a space may use the integration: no scopings (account-wide), or a scoping naming the account,
    the space's organization, or the space itself."""
    scopings = document(integration, IntegrationDoc).scopings or []
    if not scopings:
        return True
    for scoping in scopings:
        space_num, org_num = scoping.space_num, scoping.organization_num
        if space_num == space.num:
            return True
        if space_num is None and (org_num is None or org_num == space.parent_num):
            return True
    return False


def require_accessible_integration(conn: sqlite3.Connection, integration_id: str, space: StoredObject) -> StoredObject:
    """Load an integration the space may use, or raise AX's 404 (the same answer whether missing or out of scope)."""
    try:
        integration = require_integration(conn, integration_id)
    except ProblemError:
        raise ProblemError(404, f"{NOT_ACCESSIBLE}: '{integration_id}'") from None
    if not integration_accessible(integration, space):
        raise ProblemError(404, f"{NOT_ACCESSIBLE}: '{integration_id}'")
    return integration


def set_integration_secret(conn: sqlite3.Connection, integration_num: int, api_key: str | None) -> None:
    """Store (or, with ``None``, remove) the integration's API key."""
    if api_key is None:
        conn.execute("DELETE FROM llm_integration_secrets WHERE integration_num = ?", (integration_num,))
        return
    conn.execute(
        "INSERT INTO llm_integration_secrets (integration_num, api_key) VALUES (?, ?)"
        " ON CONFLICT (integration_num) DO UPDATE SET api_key = excluded.api_key",
        (integration_num, api_key),
    )


def has_integration_secret(conn: sqlite3.Connection, integration_num: int) -> bool:
    """Whether an API key is stored for the integration (without reading it)."""
    row = conn.execute("SELECT 1 FROM llm_integration_secrets WHERE integration_num = ?", (integration_num,)).fetchone()
    return row is not None


def integration_secret(conn: sqlite3.Connection, integration_num: int) -> str | None:
    """The integration's API key, for the provider calls of the task runner and of the in-process credentials
    route (an embedded caller's preview), and nothing else."""
    row = conn.execute(
        "SELECT api_key FROM llm_integration_secrets WHERE integration_num = ?", (integration_num,)
    ).fetchone()
    return str(row[0]) if row is not None else None


def masked_headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    """``headers`` with the values of credential-like headers replaced by ``HEADER_MASK``."""
    if headers is None:
        return None
    return {name: HEADER_MASK if is_credential_header(name) else value for name, value in headers.items()}


def _scoping_model(conn: sqlite3.Connection, scoping: IntegrationScopingDoc) -> AiIntegrationScoping | None:
    space_num, org_num = scoping.space_num, scoping.organization_num
    space = get_object(conn, "Space", space_num) if space_num is not None else None
    org = get_object(conn, "Organization", org_num) if org_num is not None else None
    if (space_num is not None and space is None) or (org_num is not None and org is None):
        return None
    return AiIntegrationScoping(
        organization_id=org.id if org is not None else None, space_id=space.id if space is not None else None
    )


def integration_model(conn: sqlite3.Connection, integration: StoredObject) -> AiIntegration:
    """The wire shape of a stored integration: ``has_api_key`` instead of the key, credential headers masked."""
    doc = document(integration, IntegrationDoc)
    scopings = [_scoping_model(conn, s) for s in doc.scopings or []]
    return AiIntegration(
        id=integration.id,
        name=integration.name or "",
        provider=doc.provider,
        has_api_key=has_integration_secret(conn, integration.num),
        base_url=doc.base_url,
        model_names=doc.model_names,
        headers=masked_headers(doc.headers),
        enable_default_models=doc.enable_default_models,
        function_calling_enabled=doc.function_calling_enabled,
        auth_type=doc.auth_type,
        provider_metadata=doc.provider_metadata,
        scopings=[s for s in scopings if s is not None],
        created_at=integration.created,
        updated_at=integration.updated,
        created_by_user_id=doc.created_by_user_id,
    )

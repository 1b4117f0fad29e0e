"""Request and response helpers shared by every engine route.

Bodies are validated with the contract's request models (unknown keys and wrong types become a 400 problem
naming the field); list parameters follow AX's limits; cursors are opaque and bound to the query they came
from, so a cursor replayed against another query is a 400, not a silently wrong page.

Every JSON the engine reads from a request (bodies, OTLP/JSON, cursors) goes through ``parse_json``
(``foundation.bounded_json``), which refuses nesting too deep for Python's recursion before parsing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...errors import ProblemError
from ...foundation.bounded_json import MAX_JSON_DEPTH, parse_json
from ...foundation.cursors import fingerprint, seal, unseal
from ...models._base import ResponseModel

__all__ = [
    "MAX_JSON_DEPTH",
    "decode_cursor",
    "describe_validation_error",
    "empty_response",
    "encode_cursor",
    "json_response",
    "page_response",
    "problem_response",
    "parse_json",
    "query_bool",
    "query_str",
    "read_body",
    "read_limit",
]

M = TypeVar("M", bound=BaseModel)


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, each naming the field path and what is wrong with it."""
    lines = []
    for item in error.errors(include_url=False)[:10]:
        where = _location([p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))])
        if item["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown field (not part of this request's schema)")
        elif item["type"] in ("literal_error", "enum"):
            expected = item.get("ctx", {}).get("expected", "")
            lines.append(f"{where}: must be one of {expected}, got {json.dumps(item.get('input'), default=str)}")
        else:
            lines.append(f"{where}: {item['msg']}")
    more = len(error.errors()) - 10
    if more > 0:
        lines.append(f"… and {more} more")
    return "; ".join(lines)


async def read_body(request: Request, model: type[M], *, optional: bool = False) -> M:
    """Parse the JSON body into ``model``; 400 problems name what is wrong. An empty optional body is ``{}``."""
    raw = await request.body()
    if not raw.strip():
        if optional:
            raw = b"{}"
        else:
            raise ProblemError(400, "request body is required (a JSON object)")
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise ProblemError(400, "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProblemError(400, describe_validation_error(exc)) from None


async def read_patch(request: Request, model: type[M], *, clearable: frozenset[str] = frozenset()) -> M:
    """Parse a PATCH body: at least one field, and ``null`` only for the ``clearable`` ones."""
    body = await read_body(request, model)
    sent = body.model_fields_set
    if not sent:
        raise ProblemError(400, f"at least one of {', '.join(model.model_fields)} is required")
    for field in sorted(sent - clearable):
        if getattr(body, field) is None:
            raise ProblemError(400, f"{field} cannot be null: omit it to keep the current value")
    return body


def read_limit(request: Request, *, default: int = 50, maximum: int = 100) -> int:
    """The ``limit`` query parameter, checked against the route's maximum."""
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ProblemError(400, f"limit must be an integer between 1 and {maximum}, got {raw!r}") from None
    if not 1 <= value <= maximum:
        raise ProblemError(400, f"limit must be between 1 and {maximum}, got {value}")
    return value


def query_str(request: Request, name: str, *, max_length: int = 255) -> str | None:
    """An optional string query parameter (empty counts as absent)."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if len(value) > max_length:
        raise ProblemError(400, f"{name} must be at most {max_length} characters")
    return value


def query_bool(request: Request, name: str) -> bool | None:
    """An optional ``true``/``false`` query parameter."""
    value = request.query_params.get(name)
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ProblemError(400, f"{name} must be true or false, got {value!r}")


def encode_cursor(position: Any, scope: str) -> str:
    """An opaque cursor for ``position`` (any JSON value), bound to the query identified by ``scope``."""
    return seal({"p": position, "s": fingerprint(scope, length=12)})


def decode_cursor(cursor: str | None, scope: str) -> Any:
    """The position inside a cursor made by ``encode_cursor`` for the same ``scope``; ``None`` for no cursor."""
    if cursor is None or cursor == "":
        return None
    try:
        payload = unseal(cursor)
        if payload.get("s") != fingerprint(scope, length=12) or "p" not in payload:
            raise ValueError
    except ValueError:
        raise ProblemError(
            400,
            "cursor is not valid for this request: pass back the next_cursor of the previous page unchanged, "
            "with the same filters, or start again without a cursor",
        ) from None
    return payload["p"]


def json_response(payload: BaseModel | dict[str, Any], status: int = 200) -> Response:
    """A JSON response from a contract model (``None`` fields kept as ``null``) or a plain dict."""
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json", by_alias=True)
    return JSONResponse(payload, status_code=status)


def page_response(key: str, items: Sequence[ResponseModel | dict[str, Any]], next_cursor: str | None) -> Response:
    """A list response ``{key: [...], pagination: {has_more, next_cursor?}}``, as AX shapes it."""
    pagination: dict[str, Any] = {"has_more": next_cursor is not None}
    if next_cursor is not None:
        pagination["next_cursor"] = next_cursor
    rendered = [i.model_dump(mode="json", by_alias=True) if isinstance(i, BaseModel) else i for i in items]
    return JSONResponse({key: rendered, "pagination": pagination})


def empty_response(status: int = 204) -> Response:
    """A response with no body (204 for deletes, 202 for annotations)."""
    return Response(status_code=status)


PROBLEM_TYPE_BASE = "https://arize.com/docs/ax/rest-reference/errors#"


def problem_response(
    status: int, detail: str, *, request_id: str | None = None, extra: dict[str, Any] | None = None
) -> Response:
    """An RFC 9457 ``application/problem+json`` response in AX's shape."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + ProblemError.type_fragments.get(status, "error"),
        "title": ProblemError.titles.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if request_id:
        body["request_id"] = request_id
    body.update(extra or {})
    headers = {"x-request-id": request_id} if request_id else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)

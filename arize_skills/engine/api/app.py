"""The engine's Starlette app: the routes list, one problem handler, request IDs, the request guard and auth.

Every request is first checked by ``guard.RequestGuard`` (Host, Origin, Content-Type), then for the bearer token
when the engine has one.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...errors import ProblemError
from .context import EngineContext
from .guard import RequestGuard
from .http import problem_response
from .routes import all_routes

__all__ = ["build_app", "create_app"]

logger = logging.getLogger("arize_skills.engine")


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.status, exc.detail, request_id=_request_id(request), extra=exc.extra)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 404:
        detail = f"no route {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
    return problem_response(exc.status_code, detail, request_id=_request_id(request))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error in %s %s", request.method, request.url.path)
    return problem_response(500, "the local engine failed on this request", request_id=_request_id(request))


class _RequestContext:
    """Give every request an ID, apply the request guard and, when the engine has a token, require it.

    Written as plain ASGI middleware so that it adds nothing to streaming or body handling.
    """

    def __init__(self, app: ASGIApp, guard: RequestGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        refused = self.guard.refusal(scope)
        if refused is not None:
            await problem_response(*refused, request_id=request_id)(scope, receive, send)
            return
        engine: EngineContext | None = getattr(scope["app"].state, "engine", None)
        if engine is not None and engine.token is not None:
            header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            token = header[7:] if header.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(token.encode(), engine.token.encode()):
                response = problem_response(401, "missing or wrong API key", request_id=request_id)
                await response(scope, receive, send)
                return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def build_app(*, any_host: bool, lifespan: Any = None) -> Starlette:
    """The engine's app, with every route: ``any_host`` answers any Host header (in-process, or with a token);
    ``lifespan`` opens the engine it serves (``app.state.engine``)."""
    return Starlette(
        routes=all_routes(),
        middleware=[Middleware(_RequestContext, guard=RequestGuard(any_host=any_host))],
        exception_handlers={
            ProblemError: _on_problem,
            HTTPException: _on_http_exception,
            Exception: _on_unexpected,
        },
        lifespan=lifespan,
    )


def create_app(engine: EngineContext) -> Starlette:
    """The ASGI app of an already-open engine (in-process use and tests): any Host, since no socket reaches it."""
    app = build_app(any_host=True)
    app.state.engine = engine
    return app

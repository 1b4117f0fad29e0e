"""The engine's Starlette app: the routes list, one problem handler, request IDs, the request guard and auth.

Every request is first checked by ``guard.RequestGuard`` (Host, Origin, Content-Type), then for the bearer token
when the engine has one.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ProblemError
from .guard import RequestGuard
from .routes import all_routes

if TYPE_CHECKING:
    from .core import Engine
    from .runner_lock import RunnerLock

__all__ = ["create_app", "create_served_app", "problem_response"]

logger = logging.getLogger("arize_skills.engine")

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
        engine: Engine | None = getattr(scope["app"].state, "engine", None)
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


def _build(routes: list[BaseRoute], guard: RequestGuard, lifespan: Any = None) -> Starlette:
    return Starlette(
        routes=routes,
        middleware=[Middleware(_RequestContext, guard=guard)],
        exception_handlers={
            ProblemError: _on_problem,
            HTTPException: _on_http_exception,
            Exception: _on_unexpected,
        },
        lifespan=lifespan,
    )


def create_app(engine: Engine) -> Starlette:
    """The ASGI app of an already-open engine (in-process use and tests): any Host, since no socket reaches it."""
    app = _build(all_routes(), RequestGuard(any_host=True))
    app.state.engine = engine
    return app


def create_served_app(
    home: Path | str | None,
    *,
    token: str | None = None,
    run_tasks: bool = True,
    runner_lock: RunnerLock | None = None,
) -> Starlette:
    """An ASGI app that opens the engine in ``home`` in its lifespan (for ``arize-skills engine serve``).

    The engine's task runner serves in the lifespan too (``run_tasks=False`` leaves triggered runs PENDING);
    ``runner_lock`` is the home's runner lock the caller took (see ``Engine.open``). Without a token only
    loopback Host headers are answered; with one, any (see ``guard``).
    """
    from .core import Engine

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Engine.open(home, token=token, runner=run_tasks, runner_lock=runner_lock) as engine:
            app.state.engine = engine
            engine._app = app
            yield

    return _build(all_routes(), RequestGuard(any_host=token is not None), lifespan)
